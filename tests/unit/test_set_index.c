/* SPDX-License-Identifier: MIT */
/*
 * The sets' lookup index (nftvm_set.c) does not depend on the order the elements come in:
 * the kernel dumps an rbtree set from its largest key down, nft lists it sorted, other
 * backends in their own order, and the index skips the sort for sorted and reverse-sorted
 * input. For an interval set (rbtree: starts and interval ends, an open-ended last range),
 * a set of ranges with key ends (pipapo) and a hash set, in ascending, descending and
 * shuffled order, every key around every bound finds what a plain scan of the ranges
 * says.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nftbuild.h"
#include "nftvm_internal.h"

#define N 300

enum order { ASCENDING, DESCENDING, SHUFFLED };

/* Disjoint ranges [lo[i], hi[i]] with gaps, the last one open-ended when @open. */
static void make_ranges(uint32_t *lo, uint32_t *hi, bool open)
{
	uint32_t x = 1000;

	for (int i = 0; i < N; i++) {
		lo[i] = x;
		hi[i] = x + (uint32_t)(i % 7) * 3; /* single addresses too */
		x = hi[i] + 2 + (uint32_t)(i % 5);
	}
	if (open)
		hi[N - 1] = UINT32_MAX;
}

static void order_of(enum order o, int *idx, uint64_t seed)
{
	for (int i = 0; i < N; i++)
		idx[i] = o == DESCENDING ? N - 1 - i : i;
	for (int i = N - 1; o == SHUFFLED && i > 0; i--) {
		int j, t;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		j = (int)((seed >> 33) % (uint64_t)(i + 1));
		t = idx[i], idx[i] = idx[j], idx[j] = t;
	}
}

static int expected(const uint32_t *lo, const uint32_t *hi, uint32_t k)
{
	for (int i = 0; i < N; i++)
		if (lo[i] <= k && k <= hi[i])
			return i;
	return -1;
}

/* Every key around every bound: found in the range a scan finds, or nowhere. */
static void check(const struct pc_nft_set *s, const uint32_t *lo, const uint32_t *hi)
{
	for (int i = 0; i < N; i++) {
		uint32_t keys[] = {lo[i] - 1, lo[i], lo[i] + 1, hi[i] - 1, hi[i], hi[i] + 1};

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			uint32_t be = htonl(keys[k]);
			bool oom = false;
			const struct pc_nft_set_elem *e =
			    vm_set_find(s, (const uint8_t *)&be, &oom);
			int want = expected(lo, hi, keys[k]);

			assert_false(oom);
			if (want < 0) {
				if (e)
					fail_msg("key %u: found, in no range", keys[k]);
				continue;
			}
			if (!e)
				fail_msg("key %u: not found, in range %d", keys[k], want);
			assert_int_equal(ntohl(*(const uint32_t *)e->key), lo[want]);
		}
	}
}

/* rbtree: a start per range and an interval end after it (none after an open end). */
static void test_interval_set_any_order(void **state)
{
	uint32_t lo[N], hi[N];
	int idx[N];

	(void)state;
	for (int open = 0; open < 2; open++)
		for (int o = ASCENDING; o <= SHUFFLED; o++) {
			struct pc_nft_ruleset rs = {0};
			struct pc_nft_table *t = nb_table(&rs, NFPROTO_INET, "t");
			struct pc_nft_set *s = nb_set(t, "s", NFT_SET_INTERVAL, 4);

			make_ranges(lo, hi, open);
			order_of((enum order)o, idx, 7);
			for (int k = 0; k < N; k++) {
				int i = idx[k];
				uint32_t a = htonl(lo[i]), b = htonl(hi[i] + 1);

				/* The kernel's descending dump has each end before its start. */
				if (o == DESCENDING && hi[i] != UINT32_MAX)
					nb_elem(s, &b, 4, NFT_SET_ELEM_INTERVAL_END);
				nb_elem(s, &a, 4, 0);
				if (o != DESCENDING && hi[i] != UINT32_MAX)
					nb_elem(s, &b, 4, NFT_SET_ELEM_INTERVAL_END);
			}
			check(s, lo, hi);
			pc_nft_ruleset_clear(&rs);
		}
}

/* An element key shorter than the set's (the snapshot keeps what the kernel sent) is
 * padded with zeros, as the kernel's fixed-length compare would see it: 198.18 as 2
 * bytes is 198.18.0.0 in a set of 4-byte keys. */
static void test_short_key_is_padded(void **state)
{
	struct pc_nft_ruleset rs = {0};
	struct pc_nft_table *t = nb_table(&rs, NFPROTO_INET, "t");
	struct pc_nft_set *s = nb_set(t, "s", NFT_SET_INTERVAL, 4);
	const uint8_t start[2] = {198, 18}, end[4] = {198, 18, 1, 0};
	const uint8_t in[4] = {198, 18, 0, 200}, before[4] = {198, 17, 255, 255};
	bool oom = false;

	(void)state;
	nb_elem(s, start, 2, 0);
	nb_elem(s, end, 4, NFT_SET_ELEM_INTERVAL_END);
	assert_non_null(vm_set_find(s, in, &oom));
	assert_null(vm_set_find(s, before, &oom));
	assert_false(oom);
	pc_nft_ruleset_clear(&rs);
}

/* pipapo: each element a range with its key end. */
static void test_key_end_set_any_order(void **state)
{
	uint32_t lo[N], hi[N];
	int idx[N];

	(void)state;
	for (int o = ASCENDING; o <= SHUFFLED; o++) {
		struct pc_nft_ruleset rs = {0};
		struct pc_nft_table *t = nb_table(&rs, NFPROTO_INET, "t");
		struct pc_nft_set *s = nb_set(t, "s", NFT_SET_INTERVAL, 4);

		make_ranges(lo, hi, false);
		order_of((enum order)o, idx, 11);
		for (int k = 0; k < N; k++) {
			uint32_t a = htonl(lo[idx[k]]), b = htonl(hi[idx[k]]);

			nb_elem_range(s, &a, &b, 4);
		}
		check(s, lo, hi);
		pc_nft_ruleset_clear(&rs);
	}
}

/*
 * Overlapping ranges with key ends (pipapo takes a range that holds an earlier one; its
 * lookup gives the one inserted first, which the dump lists first): the first in the
 * dump's order wins, also when the dump's starts never go up (the review's case:
 * reversing that run made the later, wider element win).
 */
static void test_overlap_first_in_dump_wins(void **state)
{
	struct pc_nft_ruleset rs = {0};
	struct pc_nft_table *t = nb_table(&rs, NFPROTO_INET, "t");
	struct pc_nft_set *s = nb_set(t, "s", NFT_SET_INTERVAL, 4);
	uint32_t r[3][2] = {{5000, 6000}, {1000, 2000}, {1000, 3000}};
	const struct pc_nft_set_elem *e;
	uint32_t k = htonl(1500);
	bool oom = false;

	(void)state;
	for (int i = 0; i < 3; i++) {
		uint32_t a = htonl(r[i][0]), b = htonl(r[i][1]);

		nb_elem_range(s, &a, &b, 4);
	}
	e = vm_set_find(s, (const uint8_t *)&k, &oom);
	assert_false(oom);
	assert_ptr_equal(e, &s->elems[1]);
	k = htonl(2500); /* only the wider one */
	assert_ptr_equal(vm_set_find(s, (const uint8_t *)&k, &oom), &s->elems[2]);
	pc_nft_ruleset_clear(&rs);
}

/* A hash set: single keys. */
static void test_hash_set_any_order(void **state)
{
	uint32_t lo[N], hi[N];
	int idx[N];

	(void)state;
	for (int o = ASCENDING; o <= SHUFFLED; o++) {
		struct pc_nft_ruleset rs = {0};
		struct pc_nft_table *t = nb_table(&rs, NFPROTO_INET, "t");
		struct pc_nft_set *s = nb_set(t, "s", 0, 4);

		make_ranges(lo, hi, false);
		for (int i = 0; i < N; i++)
			hi[i] = lo[i];
		order_of((enum order)o, idx, 13);
		for (int k = 0; k < N; k++) {
			uint32_t a = htonl(lo[idx[k]]);

			nb_elem(s, &a, 4, 0);
		}
		check(s, lo, hi);
		pc_nft_ruleset_clear(&rs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_interval_set_any_order),
	    cmocka_unit_test(test_short_key_is_padded),
	    cmocka_unit_test(test_key_end_set_any_order),
	    cmocka_unit_test(test_hash_set_any_order),
	    cmocka_unit_test(test_overlap_first_in_dump_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
