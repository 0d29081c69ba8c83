/* SPDX-License-Identifier: MIT */
/*
 * Interval lists (srcspace.h) against the obvious model: sets of a small universe as bit
 * maps. Random lists, every operation, every mask and value of 8 bits, and the galloping
 * searches against long lists (a blocklist and one piece).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/srcspace.h"

#define U 256 /* the universe: 8 bits */

typedef uint8_t bits[U];

/* A random sorted, disjoint list over [0, U) and its bit map: intervals of up to @maxlen
 * values (long ones hold runs of the other list's: the set operations copy those whole). */
static void random_list_of(unsigned *seed, struct pc_ivlist *l, bits b, unsigned maxlen)
{
	memset(b, 0, U);
	l->n = 0;
	for (unsigned x = (unsigned)rand_r(seed) % 16; x < U;) {
		unsigned len = 1 + (unsigned)rand_r(seed) % maxlen;
		unsigned hi = x + len - 1 < U ? x + len - 1 : U - 1;

		assert_int_equal(pc_ivlist_append(l, x, hi), 0);
		for (unsigned k = x; k <= hi; k++)
			b[k] = 1;
		x = hi + 2 + (unsigned)rand_r(seed) % 20;
	}
}

static void random_list(unsigned *seed, struct pc_ivlist *l, bits b)
{
	random_list_of(seed, l, b, 12);
}

/* @l is exactly @b: sorted, disjoint, not adjacent, and the same members. */
static void assert_list(const struct pc_ivlist *l, const bits b)
{
	bits got = {0};

	for (size_t i = 0; i < l->n; i++) {
		assert_true(l->v[i].lo <= l->v[i].hi);
		assert_true(l->v[i].hi < U);
		if (i > 0)
			assert_true(l->v[i - 1].hi + 1 < l->v[i].lo);
		for (unsigned k = (unsigned)l->v[i].lo; k <= (unsigned)l->v[i].hi; k++)
			got[k] = 1;
	}
	assert_memory_equal(got, b, U);
}

static void test_operations(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 2000; seed++) {
		unsigned s = seed;
		struct pc_ivlist a = {0}, b = {0}, r = {0};
		bits ba, bb, want;
		unsigned x = (unsigned)rand_r(&s) % U;

		/* A third of the runs: one list's intervals long, the other's short. */
		random_list_of(&s, &a, ba, seed % 3 == 1 ? 200 : 12);
		random_list_of(&s, &b, bb, seed % 3 == 2 ? 200 : 12);
		assert_int_equal(pc_ivlist_intersect(&a, &b, &r), 0);
		for (unsigned k = 0; k < U; k++)
			want[k] = ba[k] && bb[k];
		assert_list(&r, want);
		assert_int_equal(pc_ivlist_subtract(&a, &b, &r), 0);
		for (unsigned k = 0; k < U; k++)
			want[k] = ba[k] && !bb[k];
		assert_list(&r, want);
		assert_int_equal(pc_ivlist_find(&a, x) >= 0, ba[x]);
		{
			size_t k = 0;

			while (k < a.n && a.v[k].hi < x)
				k++;
			assert_int_equal(pc_ivlist_seek(&a, x), k);
		}
		for (unsigned k = 0; k < U; k++)
			want[k] = ba[k] && !bb[k];
		assert_int_equal(pc_ivlist_subset(&r, &a), true);
		assert_int_equal(pc_ivlist_subset(&a, &r), pc_ivlist_equal(&a, &r));
		pc_ivlist_clear(&a);
		pc_ivlist_clear(&b);
		pc_ivlist_clear(&r);
	}
}

static void test_masked(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 300; seed++) {
		unsigned s = seed;
		struct pc_ivlist w = {0}, r = {0};
		bits bw, want;
		unsigned mask = (unsigned)rand_r(&s) % U, value = (unsigned)rand_r(&s) % U & mask;

		random_list(&s, &w, bw);
		assert_int_equal(pc_ivlist_masked(&w, mask, value, 8, 1000, &r), 0);
		for (unsigned k = 0; k < U; k++)
			want[k] = bw[k] && (k & mask) == value;
		assert_list(&r, want);
		assert_int_equal(pc_u128_is_prefix_mask(mask, 8),
				 mask == 0 || ((~mask & 0xff) & ((~mask & 0xff) + 1)) == 0);
		pc_ivlist_clear(&w);
		pc_ivlist_clear(&r);
	}
}

/* A scattered mask over a large range is refused past the budget, not enumerated. */
static void test_masked_budget(void **state)
{
	struct pc_ivlist w = {0}, r = {0};

	(void)state;
	assert_int_equal(pc_ivlist_append(&w, 0, pc_u128_max(32)), 0);
	assert_int_equal(pc_ivlist_masked(&w, 1, 1, 32, 4096, &r), -E2BIG);
	pc_ivlist_clear(&w);
	pc_ivlist_clear(&r);
}

/* A piece against a long list (galloping): the same as the walk. */
static void test_long_lists(void **state)
{
	struct pc_ivlist set = {0}, piece = {0}, r = {0};

	(void)state;
	for (unsigned i = 0; i < 100000; i++)
		assert_int_equal(pc_ivlist_append(&set, (pc_u128)i * 4, (pc_u128)i * 4 + 1), 0);
	assert_int_equal(pc_ivlist_append(&piece, 200002, 200010), 0);
	assert_int_equal(pc_ivlist_intersect(&piece, &set, &r), 0);
	assert_int_equal(r.n, 2); /* 200004-200005, 200008-200009 */
	assert_true(r.v[0].lo == 200004 && r.v[0].hi == 200005);
	assert_true(r.v[1].lo == 200008 && r.v[1].hi == 200009);
	assert_int_equal(pc_ivlist_subtract(&piece, &set, &r), 0);
	assert_int_equal(r.n, 3); /* 200002-200003, 200006-200007, 200010 */
	assert_true(r.v[0].lo == 200002 && r.v[2].lo == 200010 && r.v[2].hi == 200010);
	assert_int_equal(pc_ivlist_intersect(&set, &piece, &r), 0);
	assert_int_equal(r.n, 2);
	pc_ivlist_clear(&set);
	pc_ivlist_clear(&piece);
	pc_ivlist_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_operations),
	    cmocka_unit_test(test_masked),
	    cmocka_unit_test(test_masked_budget),
	    cmocka_unit_test(test_long_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
