/* SPDX-License-Identifier: MIT */
/*
 * Strings from the system (process, unit, interface, table, chain, set and zone names, rule
 * texts, bus messages) are data: anyone may choose them, and they reach JSON (which must be
 * valid UTF-8), the journal, stderr and terminals. They are sanitised once, where they are
 * read, and whatever prints them may check again with the same function.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Buffer size that holds the sanitised form of @len bytes, NUL included: "\xNN" per byte. */
#define PC_STRSAN_SIZE(len) (4 * (size_t)(len) + 1)

enum pc_strsan_mode {
	/*
	 * Bytes as read from the system: a backslash becomes "\\" too, so the output says
	 * unambiguously which bytes were there, and two names are equal exactly when their
	 * sanitised forms are (lookups by name keep working on sanitised names).
	 */
	PC_STRSAN_RAW,
	/*
	 * Text about to be written out (stderr, journal fields, a terminal), made of strings
	 * sanitised at entry: a backslash is kept, so this mode changes nothing in
	 * PC_STRSAN_RAW's output and an escape is never escaped twice; anything unsafe that
	 * an old or hostile peer let through is still escaped.
	 */
	PC_STRSAN_TEXT,
};

/*
 * The @len bytes at @data (NULs included) as a new NUL-terminated string of valid UTF-8
 * (no overlong forms, no surrogates, nothing above U+10FFFF) without control characters:
 * every byte that is not part of a valid character, every C0 control, DEL and each byte of
 * a C1 control (U+0080-U+009F) becomes "\xNN" (lowercase hex); in PC_STRSAN_RAW mode a
 * backslash becomes "\\". Returns 0 and the string in *ret, or -ENOMEM.
 */
int pc_strsan(const void *data, size_t len, enum pc_strsan_mode mode, char **ret);

/*
 * pc_strsan() into @buf of @size (>= 1) bytes: as many whole characters and escapes as fit,
 * never a part of one, always NUL-terminated. Returns the number of input bytes written
 * out (@len when everything fit; PC_STRSAN_SIZE(@len) bytes always do).
 */
size_t pc_strsan_buf(char *buf, size_t size, const void *data, size_t len,
		     enum pc_strsan_mode mode);

/* Replace the string *@s (NULL stays NULL) with pc_strsan() of it. Returns 0 or -ENOMEM. */
int pc_strsan_replace(char **s, enum pc_strsan_mode mode);

/* True when @s is already what pc_strsan() in PC_STRSAN_TEXT mode would return. */
bool pc_strsan_is_clean(const char *s);

/* True when @s (NULL too) is valid UTF-8, control characters allowed: what jansson takes. */
bool pc_utf8_valid(const char *s);

/*
 * Cut @s after its last complete UTF-8 character. For text from a fixed-size buffer that
 * snprintf may have cut in the middle of a (valid) multi-byte character.
 */
void pc_utf8_trim(char *s);

/* Number of characters (code points) in the valid UTF-8 string @s: its width in columns,
 * for the scripts where one character is one column. */
size_t pc_utf8_columns(const char *s);
