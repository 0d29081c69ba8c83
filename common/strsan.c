/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/strsan.h"

/*
 * Length of the well-formed UTF-8 character at @p (of @n bytes left), or 0 when the byte
 * at @p does not start one. Unicode table 3-7: the second byte's range depends on the
 * first, which is what excludes overlong forms, surrogates and code points above U+10FFFF.
 */
static size_t utf8_char_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0; /* a continuation byte, C0/C1 (overlong), F5-FF */
	if (p[0] == 0xe0)
		lo = 0xa0; /* below: overlong */
	else if (p[0] == 0xed)
		hi = 0x9f; /* above: surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90; /* below: overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f; /* above: beyond U+10FFFF */
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* A control character: C0, DEL, or C1 (U+0080-U+009F, encoded C2 80-C2 9F). */
static bool is_control(const unsigned char *p, size_t clen)
{
	if (clen == 1)
		return p[0] < 0x20 || p[0] == 0x7f;
	return clen == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

/*
 * The core of both pc_strsan() and pc_strsan_buf(): writes at most @size - 1 bytes and
 * the NUL to @out (@size >= 1) and returns the input bytes consumed.
 */
static size_t sanitise(char *out, size_t size, const unsigned char *in, size_t len,
		       enum pc_strsan_mode mode)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0;

	while (i < len) {
		size_t clen = utf8_char_len(in + i, len - i);

		if (clen == 0 || is_control(in + i, clen)) {
			/* Each byte of the invalid or control sequence on its own. */
			size_t nbytes = clen ? clen : 1;

			if (o + 4 * nbytes >= size)
				break;
			for (size_t k = 0; k < nbytes; k++) {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[in[i + k] >> 4];
				out[o++] = hex[in[i + k] & 0xf];
			}
			i += nbytes;
		} else if (in[i] == '\\' && mode == PC_STRSAN_RAW) {
			if (o + 2 >= size)
				break;
			out[o++] = '\\';
			out[o++] = '\\';
			i++;
		} else {
			if (o + clen >= size)
				break;
			memcpy(out + o, in + i, clen);
			o += clen;
			i += clen;
		}
	}
	out[o] = '\0';
	return i;
}

int pc_strsan(const void *data, size_t len, enum pc_strsan_mode mode, char **ret)
{
	char *out;

	if (len > (SIZE_MAX - 1) / 4)
		return -ENOMEM;
	out = malloc(PC_STRSAN_SIZE(len));
	if (!out)
		return -ENOMEM;
	sanitise(out, PC_STRSAN_SIZE(len), data, len, mode);
	/* Most names need no escape: give back what was over-allocated. */
	*ret = realloc(out, strlen(out) + 1) ?: out;
	return 0;
}

size_t pc_strsan_buf(char *buf, size_t size, const void *data, size_t len, enum pc_strsan_mode mode)
{
	return sanitise(buf, size, data, len, mode);
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether the @n bytes at @s are all printable ASCII (0x20-0x7e), and no backslash when
 * @no_backslash: eight at a time (a path's reason is a few hundred bytes, and one byte at
 * a time was 1% of the analysis on the bench host). */
static bool printable_ascii(const char *s, size_t n, bool no_backslash)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w, bad;

		memcpy(&w, s + i, 8);
		/* A byte below 0x20 (borrows past its high bit: only where it was clear), or
		 * at or above 0x7f (its high bit set, or set by adding 1). */
		bad = ((w - 0x20 * ONES) & ~w) | w | (w + ONES);
		if (no_backslash) {
			uint64_t x = w ^ ('\\' * ONES); /* a zero byte where a backslash was */

			bad |= (x - ONES) & ~x;
		}
		if (bad & HIGHS)
			break;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e || (c == '\\' && no_backslash))
			return false;
	}
	return true;
}

int pc_strsan_replace(char **s, enum pc_strsan_mode mode)
{
	char *clean;
	int r;

	if (!*s)
		return 0;
	/* Printable ASCII (and, raw, no backslash) comes out as it went in: no copy. Most
	 * strings are that, and this runs for every path's reason. */
	if (printable_ascii(*s, strlen(*s), mode == PC_STRSAN_RAW))
		return 0;
	r = pc_strsan(*s, strlen(*s), mode, &clean);
	if (r < 0)
		return r;
	free(*s);
	*s = clean;
	return 0;
}

static bool utf8_check(const char *s, bool controls)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		size_t clen = utf8_char_len(p, n);

		if (clen == 0 || (!controls && is_control(p, clen)))
			return false;
		p += clen;
		n -= clen;
	}
	return true;
}

bool pc_strsan_is_clean(const char *s)
{
	return utf8_check(s, false);
}

bool pc_utf8_valid(const char *s)
{
	return !s || utf8_check(s, true);
}

void pc_utf8_trim(char *s)
{
	size_t n = strlen(s), start = n;

	/* The last character starts at most 3 bytes before the end. */
	while (start > 0 && n - start < 4 && ((unsigned char)s[start - 1] & 0xc0) == 0x80)
		start--;
	if (start > 0 && n - start < 4)
		start--;
	else if (start == n)
		return;
	if (utf8_char_len((const unsigned char *)s + start, n - start) != n - start)
		s[start] = '\0';
}

size_t pc_utf8_columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}
