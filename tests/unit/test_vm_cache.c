/* SPDX-License-Identifier: MIT */
/*
 * The engine's per-snapshot cache (nftvm_cache.c): a jump's target found by name through
 * the sorted index is the chain the walk over the table's chains finds (the first of a
 * name, none for a missing one, chains without a name skipped), in tables of many chains
 * named in no order; the index follows chains added after it was built (the array moves)
 * and the base chains are listed in snapshot order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nftbuild.h"
#include "nftvm_internal.h"

#define N 600

static void check_names(const struct pc_nft_ruleset *rs, const struct pc_nft_table *t)
{
	char name[32];

	for (int i = -2; i < N + 2; i++) {
		snprintf(name, sizeof(name), "c%d", (i * 7919) % (N + 3));
		assert_ptr_equal(vm_chain_by_name(rs, t, name), vm_chain_find(t, name));
	}
	assert_ptr_equal(vm_chain_by_name(rs, t, "dup"), vm_chain_find(t, "dup"));
	assert_null(vm_chain_by_name(rs, t, "missing"));
	assert_null(vm_chain_by_name(rs, t, ""));
}

static void test_chain_by_name(void **state)
{
	struct pc_nft_ruleset rs = {0};
	struct pc_nft_table *t, *u;
	const struct vm_base_chain *b;
	struct pc_nft_chain *unnamed;
	char name[32];
	size_t n;

	(void)state;
	t = nb_table(&rs, NFPROTO_INET, "t");
	u = nb_table(&rs, NFPROTO_IPV4, "u");
	nb_base_chain(u, "in", "filter", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	t = &rs.tables[0]; /* the tables moved */
	nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	for (int i = N - 1; i >= 0; i--) {
		snprintf(name, sizeof(name), "c%d", (i * 37) % N);
		nb_chain(t, name);
	}
	nb_chain(t, "dup");
	nb_chain(t, "dup");
	unnamed = nb_chain(t, "x");
	free(unnamed->name);
	unnamed->name = NULL;
	check_names(&rs, t);
	assert_ptr_equal(vm_chain_by_name(&rs, t, "dup"), &t->chains[N + 1]);
	/* A chain of another table is not this table's. */
	assert_null(vm_chain_by_name(&rs, t, "in"));
	assert_ptr_equal(vm_chain_by_name(&rs, &rs.tables[1], "in"), &rs.tables[1].chains[0]);
	/* Base chains in snapshot order: t's input, then u's in. */
	assert_int_equal(vm_base_chains(&rs, &b, &n), 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(b[0].c, &rs.tables[0].chains[0]);
	assert_ptr_equal(b[1].c, &rs.tables[1].chains[0]);
	assert_true(b[0].order < b[1].order);
	/* More chains: the array moves, the index follows. */
	for (int i = N; i < N + 100; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		nb_chain(t, name);
	}
	check_names(&rs, t);
	assert_non_null(vm_chain_by_name(&rs, t, "c650"));
	pc_nft_ruleset_clear(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_by_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
