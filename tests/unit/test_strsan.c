/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/strsan.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* pc_strsan() of @len bytes, checked for the promises every caller relies on. */
static char *san(const void *data, size_t len, enum pc_strsan_mode mode)
{
	char *out = NULL;
	json_t *j;

	assert_int_equal(pc_strsan(data, len, mode, &out), 0);
	assert_non_null(out);
	assert_true(strlen(out) < PC_STRSAN_SIZE(len));
	assert_true(pc_strsan_is_clean(out));
	/* jansson is the strictest consumer: it must take every output as is. */
	j = json_string(out);
	assert_non_null(j);
	json_decref(j);
	return out;
}

static void expect(const void *data, size_t len, enum pc_strsan_mode mode, const char *want)
{
	char *out = san(data, len, mode);

	assert_string_equal(out, want);
	free(out);
}

#define EXPECT(lit, want) expect(lit, sizeof(lit) - 1, PC_STRSAN_RAW, want)

/*
 * The oracle: decode the obvious way (lead byte gives the length, then reject overlong
 * forms, surrogates and values above U+10FFFF by value), a different method from the
 * table-driven one under test. Returns the length of the valid character at @p or 0.
 */
static size_t ref_char(const unsigned char *p, size_t n, uint32_t *ret_cp)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		len = 1, cp = p[0];
	else if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*ret_cp = cp;
	return len;
}

static void ref_sanitise(const unsigned char *p, size_t n, char *out)
{
	while (n > 0) {
		uint32_t cp;
		size_t len = ref_char(p, n, &cp);

		if (len && !(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))) {
			if (cp == '\\')
				out += sprintf(out, "\\\\");
			else
				out += sprintf(out, "%.*s", (int)len, (const char *)p);
		} else {
			len = len ? len : 1;
			for (size_t i = 0; i < len; i++)
				out += sprintf(out, "\\x%02x", p[i]);
		}
		p += len;
		n -= len;
	}
	*out = '\0';
}

static void check_against_ref(const unsigned char *p, size_t n)
{
	char want[64], got[64];
	size_t used;

	ref_sanitise(p, n, want);
	used = pc_strsan_buf(got, sizeof(got), p, n, PC_STRSAN_RAW);
	assert_int_equal(used, n);
	if (strcmp(got, want) != 0)
		fail_msg("%02x %02x %02x %02x (%zu bytes): got \"%s\", want \"%s\"", p[0],
			 n > 1 ? p[1] : 0, n > 2 ? p[2] : 0, n > 3 ? p[3] : 0, n, got, want);
}

/* Every sequence of 1 and 2 bytes, every 3 bytes after a multi-byte lead, and every 4
 * bytes after F0 and F4 (the leads with their own second-byte range) agree with the oracle. */
static void test_exhaustive(void **state)
{
	unsigned char b[4];

	for (unsigned a = 0; a < 256; a++) {
		b[0] = (unsigned char)a;
		check_against_ref(b, 1);
		for (unsigned c = 0; c < 256; c++) {
			b[1] = (unsigned char)c;
			check_against_ref(b, 2);
			if (a < 0xc0)
				continue;
			for (unsigned d = 0; d < 256; d++) {
				b[2] = (unsigned char)d;
				check_against_ref(b, 3);
			}
		}
	}
	for (unsigned a = 0xf0; a <= 0xf4; a += 4)
		for (unsigned c = 0x80; c < 0xc0; c++)
			for (unsigned d = 0x7f; d < 0xc1; d++)
				for (unsigned e = 0x7f; e < 0xc1; e++) {
					b[0] = (unsigned char)a, b[1] = (unsigned char)c;
					b[2] = (unsigned char)d, b[3] = (unsigned char)e;
					check_against_ref(b, 4);
				}
}

/* Every code point, encoded properly, passes unchanged unless it is a control, a surrogate
 * (which has no valid encoding) or the backslash. */
static void test_every_code_point(void **state)
{
	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		unsigned char b[4];
		char got[32], want[32];
		size_t n;

		if (cp < 0x80)
			b[0] = (unsigned char)cp, n = 1;
		else if (cp < 0x800)
			b[0] = 0xc0 | cp >> 6, b[1] = 0x80 | (cp & 0x3f), n = 2;
		else if (cp < 0x10000)
			b[0] = 0xe0 | cp >> 12, b[1] = 0x80 | (cp >> 6 & 0x3f),
			b[2] = 0x80 | (cp & 0x3f), n = 3;
		else
			b[0] = 0xf0 | cp >> 18, b[1] = 0x80 | (cp >> 12 & 0x3f),
			b[2] = 0x80 | (cp >> 6 & 0x3f), b[3] = 0x80 | (cp & 0x3f), n = 4;
		pc_strsan_buf(got, sizeof(got), b, n, PC_STRSAN_RAW);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff)) {
			char *w = want;

			for (size_t i = 0; i < n; i++)
				w += sprintf(w, "\\x%02x", b[i]);
		} else if (cp == '\\') {
			strcpy(want, "\\\\");
		} else {
			memcpy(want, b, n);
			want[n] = '\0';
		}
		if (strcmp(got, want) != 0)
			fail_msg("U+%04X: got \"%s\", want \"%s\"", cp, got, want);
	}
}

/* A name cut by the kernel in the middle of a character, at every cut point. */
static void test_split_characters(void **state)
{
	static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xe4\xb8\xad",
					    "\xf0\x9d\x84\x9e", "\xf4\x8f\xbf\xbf"};

	for (size_t i = 0; i < ELEMENTSOF(chars); i++) {
		size_t clen = strlen(chars[i]);

		for (size_t cut = 1; cut < clen; cut++) {
			char in[16], want[64], *w = want;

			memcpy(in, "nginx", 5);
			memcpy(in + 5, chars[i], cut);
			w += sprintf(w, "nginx");
			for (size_t k = 0; k < cut; k++)
				w += sprintf(w, "\\x%02x", (unsigned char)chars[i][k]);
			expect(in, 5 + cut, PC_STRSAN_RAW, want);
			/* Cut in the middle, followed by more text: only the fragment goes. */
			memcpy(in + 5 + cut, "ab", 2);
			sprintf(w, "ab");
			expect(in, 5 + cut + 2, PC_STRSAN_RAW, want);
		}
		/* Whole, it passes. */
		expect(chars[i], clen, PC_STRSAN_RAW, chars[i]);
	}
}

static void test_invalid_forms(void **state)
{
	/* Overlong forms of '/', NUL and the largest 1, 2 and 3-byte values. */
	EXPECT("\xc0\xaf", "\\xc0\\xaf");
	EXPECT("\xc0\x80", "\\xc0\\x80");
	EXPECT("\xc1\xbf", "\\xc1\\xbf");
	EXPECT("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
	EXPECT("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf");
	EXPECT("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");
	EXPECT("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf");
	/* The smallest of each length is fine. */
	EXPECT("\xc2\xa0\xe0\xa0\x80\xf0\x90\x80\x80", "\xc2\xa0\xe0\xa0\x80\xf0\x90\x80\x80");
	/* Surrogates, encoded as if they were characters (CESU-8). */
	EXPECT("\xed\xa0\x80", "\\xed\\xa0\\x80");
	EXPECT("\xed\xbf\xbf", "\\xed\\xbf\\xbf");
	EXPECT("\xed\x9f\xbf", "\xed\x9f\xbf"); /* U+D7FF */
	/* The last code point, and beyond. */
	EXPECT("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");
	EXPECT("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	EXPECT("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	EXPECT("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80");
	EXPECT("\xfe\xff", "\\xfe\\xff");
	/* Lone continuation bytes, and a lead byte followed by ASCII. */
	EXPECT("\x80\xbf", "\\x80\\xbf");
	EXPECT("\xe2(\xa1", "\\xe2(\\xa1");
	/* Latin-1 as it comes from an old system. */
	EXPECT("caf\xe9", "caf\\xe9");
}

static void test_controls(void **state)
{
	EXPECT("\033[31mred\033[0m", "\\x1b[31mred\\x1b[0m");
	EXPECT("a\nportcheckd: forged", "a\\x0aportcheckd: forged");
	EXPECT("\t\r\x7f", "\\x09\\x0d\\x7f");
	/* C1 controls: CSI (U+009B) is an escape sequence on some terminals; NEL a newline. */
	EXPECT("\xc2\x9b"
	       "31m",
	       "\\xc2\\x9b"
	       "31m");
	EXPECT("\xc2\x85", "\\xc2\\x85");
	EXPECT("\xc2\x80\xc2\x9f\xc2\xa0", "\\xc2\\x80\\xc2\\x9f\xc2\xa0");
	/* Printable ASCII passes, all of it. */
	EXPECT(" !\"#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~",
	       " !\"#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~");
}

static void test_empty_and_nul(void **state)
{
	expect("", 0, PC_STRSAN_RAW, "");
	expect(NULL, 0, PC_STRSAN_RAW, "");
	EXPECT("a\0b", "a\\x00b");
	EXPECT("\0", "\\x00");
}

/* The backslash is what makes the output unambiguous: a name that spells an escape is told
 * apart from one that holds the byte. */
static void test_backslash(void **state)
{
	char *a = san("\\x1b", 4, PC_STRSAN_RAW), *b = san("\033", 1, PC_STRSAN_RAW);

	assert_string_equal(a, "\\\\x1b");
	assert_string_equal(b, "\\x1b");
	free(a);
	free(b);
	EXPECT("C:\\", "C:\\\\");
	/* Output mode keeps it: what entry mode wrote is not escaped again. */
	expect("a\\b", 3, PC_STRSAN_TEXT, "a\\b");
	expect("\033\\", 2, PC_STRSAN_TEXT, "\\x1b\\");
}

/* Output mode is the identity on what entry mode wrote, for all of the inputs above. */
static void test_output_of_entry(void **state)
{
	static const char *const in[] = {
	    "nginx", "\xe4\xb8\xad\xe6", "\033[2J\\x", "\xc2\x9b\xed\xa0\x80", "caf\xe9\\\\", ""};

	for (size_t i = 0; i < ELEMENTSOF(in); i++) {
		char *e = san(in[i], strlen(in[i]), PC_STRSAN_RAW);

		assert_true(pc_strsan_is_clean(e));
		expect(e, strlen(e), PC_STRSAN_TEXT, e);
		free(e);
	}
	assert_false(pc_strsan_is_clean("\033"));
	assert_false(pc_strsan_is_clean("\xe2\x82"));
	assert_false(pc_strsan_is_clean("\xc2\x85"));
	assert_true(pc_strsan_is_clean("\\x1b \xe2\x82\xac"));
	/* Valid UTF-8 is a weaker promise: controls are valid. */
	assert_true(pc_utf8_valid(NULL));
	assert_true(pc_utf8_valid("\033[31m\xc2\x85"));
	assert_false(pc_utf8_valid("\xe2\x82"));
	assert_false(pc_utf8_valid("\xed\xa0\x80"));
}

/* Random bytes: always valid for jansson, always decodable back to the input. */
static void test_random(void **state)
{
	unsigned seed = 1;

	for (int round = 0; round < 20000; round++) {
		unsigned char in[24], back[24];
		size_t n = (size_t)(rand_r(&seed) % 24), m = 0;
		char *out;

		for (size_t i = 0; i < n; i++) {
			/* Mostly high bytes: that is where the interesting cases are. */
			int v = rand_r(&seed);

			in[i] = (unsigned char)(v & 1 ? 0x80 | (v >> 8) : v >> 8);
		}
		out = san(in, n, PC_STRSAN_RAW);
		for (const char *p = out; *p;) {
			if (p[0] == '\\' && p[1] == '\\') {
				back[m++] = '\\';
				p += 2;
			} else if (p[0] == '\\' && p[1] == 'x') {
				back[m++] =
				    (unsigned char)strtoul((char[]){p[2], p[3], 0}, NULL, 16);
				p += 4;
			} else {
				back[m++] = (unsigned char)*p++;
			}
			assert_true(m <= n);
		}
		assert_int_equal(m, n);
		assert_memory_equal(back, in, n);
		free(out);
	}
}

/* The bounded form writes whole characters and escapes only and says how far it got. */
static void test_bounded(void **state)
{
	char buf[8];

	assert_int_equal(pc_strsan_buf(buf, 1, "abc", 3, PC_STRSAN_RAW), 0);
	assert_string_equal(buf, "");
	assert_int_equal(pc_strsan_buf(buf, sizeof(buf), "abc", 3, PC_STRSAN_RAW), 3);
	assert_string_equal(buf, "abc");
	/* "ab\x1b" needs 7 bytes: "ab" fits, then the escape does not. */
	assert_int_equal(pc_strsan_buf(buf, 6, "ab\033", 3, PC_STRSAN_RAW), 2);
	assert_string_equal(buf, "ab");
	assert_int_equal(pc_strsan_buf(buf, 7, "ab\033", 3, PC_STRSAN_RAW), 3);
	assert_string_equal(buf, "ab\\x1b");
	/* A 4-byte character is all or nothing. */
	assert_int_equal(pc_strsan_buf(buf, 7, "abc\xf0\x9d\x84\x9e", 7, PC_STRSAN_RAW), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(pc_strsan_buf(buf, 8, "abc\xf0\x9d\x84\x9e", 7, PC_STRSAN_RAW), 7);
	assert_string_equal(buf, "abc\xf0\x9d\x84\x9e");
	/* So is "\\". */
	assert_int_equal(pc_strsan_buf(buf, 3, "a\\", 2, PC_STRSAN_RAW), 1);
	assert_string_equal(buf, "a");
}

static void test_replace(void **state)
{
	char *s = strdup("x\ny"), *n = NULL;

	assert_int_equal(pc_strsan_replace(&s, PC_STRSAN_RAW), 0);
	assert_string_equal(s, "x\\x0ay");
	free(s);
	assert_int_equal(pc_strsan_replace(&n, PC_STRSAN_RAW), 0);
	assert_null(n);
}

/* The fast path of pc_strsan_replace (printable ASCII eight bytes at a time) leaves
 * nothing unsafe: every byte value at every position of strings of 1 to 24 bytes, in
 * both modes, comes out as pc_strsan makes it. */
static void test_replace_every_byte_everywhere(void **state)
{
	(void)state;
	for (int mode = 0; mode < 2; mode++) {
		enum pc_strsan_mode m = mode ? PC_STRSAN_TEXT : PC_STRSAN_RAW;

		for (size_t len = 1; len <= 24; len++)
			for (size_t at = 0; at < len; at++)
				for (unsigned c = 1; c < 256; c++) {
					char in[32], *s, *want;

					for (size_t i = 0; i < len; i++)
						in[i] = (char)('a' + i % 26);
					in[at] = (char)c;
					in[len] = '\0';
					s = strdup(in);
					assert_non_null(s);
					assert_int_equal(pc_strsan(in, len, m, &want), 0);
					assert_int_equal(pc_strsan_replace(&s, m), 0);
					assert_string_equal(s, want);
					free(s);
					free(want);
				}
	}
}

static void trim(const char *in, const char *want)
{
	char buf[32];

	strcpy(buf, in);
	pc_utf8_trim(buf);
	assert_string_equal(buf, want);
}

static void test_trim_and_columns(void **state)
{
	trim("", "");
	trim("abc", "abc");
	trim("ab\xc3", "ab");
	trim("ab\xc3\xa9", "ab\xc3\xa9");
	trim("a\xe2\x82", "a");
	trim("a\xe2", "a");
	trim("\xf0\x9d\x84", "");
	trim("x\xf0\x9d\x84\x9e", "x\xf0\x9d\x84\x9e");
	trim("\\x1", "\\x1"); /* not UTF-8's business */
	assert_int_equal(pc_utf8_columns(""), 0);
	assert_int_equal(pc_utf8_columns("abc"), 3);
	assert_int_equal(pc_utf8_columns("caf\xc3\xa9 \xe2\x82\xac\xf0\x9d\x84\x9e"), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exhaustive),
	    cmocka_unit_test(test_every_code_point),
	    cmocka_unit_test(test_split_characters),
	    cmocka_unit_test(test_invalid_forms),
	    cmocka_unit_test(test_controls),
	    cmocka_unit_test(test_empty_and_nul),
	    cmocka_unit_test(test_backslash),
	    cmocka_unit_test(test_output_of_entry),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_replace),
	    cmocka_unit_test(test_trim_and_columns),
	    cmocka_unit_test(test_replace_every_byte_everywhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
