/* SPDX-License-Identifier: MIT */
/* The growing string (strbuf.h): appends across its growth, printf longer than the room
 * left, an empty one, and a taken one starting over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/strbuf.h"

static void test_appends_across_growth(void **state)
{
	struct pc_strbuf b = {0};
	char want[8192] = "", piece[64];
	char *s;

	(void)state;
	for (int i = 0; i < 500; i++) {
		snprintf(piece, sizeof(piece), "%d,", i);
		strcat(want, piece);
		if (i % 2)
			pc_strbuf_printf(&b, "%d,", i);
		else
			pc_strbuf_puts(&b, piece);
	}
	s = pc_strbuf_take(&b);
	assert_string_equal(s, want);
	free(s);
	/* One printf far longer than the room left. */
	memset(want, 'x', 3000);
	want[3000] = 0;
	pc_strbuf_puts(&b, "a");
	pc_strbuf_printf(&b, "%s%d", want, 7);
	s = pc_strbuf_take(&b);
	assert_int_equal(strlen(s), 3002);
	assert_true(s[0] == 'a' && s[1] == 'x' && s[3000] == 'x' && s[3001] == '7');
	free(s);
	/* Nothing written: "". */
	s = pc_strbuf_take(&b);
	assert_string_equal(s, "");
	free(s);
	assert_null(b.s);
}

/* pc_strbuf_put_uint writes what printf's %llu does: zero, every power of ten and its
 * neighbours, the largest value. */
static void test_put_uint_is_printf(void **state)
{
	unsigned long long v[64];
	size_t n = 0;
	char want[32];

	(void)state;
	v[n++] = 0;
	v[n++] = ~0ULL;
	for (unsigned long long p = 1; p <= 1000000000000000000ULL; p *= 10) {
		v[n++] = p - 1;
		v[n++] = p;
		v[n++] = p + 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct pc_strbuf b = {0};
		char *s;

		pc_strbuf_puts(&b, "<");
		pc_strbuf_put_uint(&b, v[i]);
		pc_strbuf_puts(&b, ">");
		s = pc_strbuf_take(&b);
		snprintf(want, sizeof(want), "<%llu>", v[i]);
		assert_string_equal(s, want);
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_appends_across_growth),
	    cmocka_unit_test(test_put_uint_is_printf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
