/* SPDX-License-Identifier: MIT */
/*
 * pc_src_result_take (nftpath_sources.c) against pc_src_result_clip: a group's results cut
 * to its pieces, one after the other, must come out the same whether each piece copies
 * them (clip) or a result wholly inside a piece moves there (take), and a result that
 * moved must meet no later piece. Random boxes (a shared base or none), tests (address
 * ranges some pieces decide, port ranges) and disjoint pieces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "portcheck/nftvm.h"

#define SPACE 1000 /* addresses 0..SPACE-1 of an IPv4 corner: small enough to compare */
#define PIECES_MAX 64

static unsigned rnd(unsigned *seed, unsigned n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) % n;
}

static void random_list(unsigned *seed, struct pc_ivlist *l, unsigned max_runs)
{
	pc_u128 at = rnd(seed, 50);
	unsigned runs = 1 + rnd(seed, max_runs);

	for (unsigned i = 0; i < runs && at < SPACE; i++) {
		pc_u128 hi = at + rnd(seed, 80);

		if (hi >= SPACE)
			hi = SPACE - 1;
		assert_int_equal(pc_ivlist_append(l, at, hi), 0);
		at = hi + 2 + rnd(seed, 200);
	}
}

static void random_result(unsigned *seed, struct pc_ivbase *base, struct pc_src_result *r)
{
	struct pc_ivlist clip = {0};
	struct pc_ivl all_ports = {PC_SRC_PORT_MIN, PC_SRC_PORT_MAX};
	const struct pc_ivlist ports = {.v = &all_ports, .n = 1, .cap = 1};

	*r = (struct pc_src_result){0};
	random_list(seed, &clip, 1 + rnd(seed, 4));
	assert_int_equal(pc_srcdim_from_list(&r->addr, &clip), 0);
	pc_ivlist_clear(&clip);
	if (base && rnd(seed, 2))
		r->addr.base = pc_ivbase_ref(base);
	assert_int_equal(pc_srcdim_from_list(&r->port, &ports), 0);
	r->n_lits = rnd(seed, 4);
	r->lits = calloc(r->n_lits ? r->n_lits : 1, sizeof(*r->lits));
	assert_non_null(r->lits);
	for (size_t i = 0; i < r->n_lits; i++) {
		pc_u128 a = rnd(seed, SPACE), b = a + rnd(seed, 400);

		r->lits[i] = (struct pc_src_lit){.kind = PC_SRC_LIT_RANGE,
						 .port = rnd(seed, 4) == 0,
						 .negated = rnd(seed, 2),
						 .a = a,
						 .b = b};
	}
	r->example =
	    pc_addr_from_u128(AF_INET, pc_srcdim_empty(&r->addr) ? 0 : pc_srcdim_first(&r->addr));
	r->example_port = 40000;
	r->res.verdict = rnd(seed, 2) ? PC_VERDICT_ACCEPT : PC_VERDICT_DROP;
}

static void copy_result(const struct pc_src_result *a, struct pc_src_result *b)
{
	*b = *a;
	assert_int_equal(pc_srcdim_copy(&a->addr, &b->addr), 0);
	assert_int_equal(pc_srcdim_copy(&a->port, &b->port), 0);
	b->lits = calloc(a->n_lits ? a->n_lits : 1, sizeof(*b->lits));
	assert_non_null(b->lits);
	memcpy(b->lits, a->lits, a->n_lits * sizeof(*b->lits));
}

static void assert_same_dim(const struct pc_srcdim *a, const struct pc_srcdim *b)
{
	struct pc_ivlist x = {0}, y = {0};

	assert_int_equal(pc_srcdim_to_list(a, &x), 0);
	assert_int_equal(pc_srcdim_to_list(b, &y), 0);
	assert_true(pc_ivlist_equal(&x, &y));
	pc_ivlist_clear(&x);
	pc_ivlist_clear(&y);
}

static void assert_same_result(const struct pc_src_result *a, const struct pc_src_result *b)
{
	assert_same_dim(&a->addr, &b->addr);
	assert_same_dim(&a->port, &b->port);
	assert_int_equal(a->n_lits, b->n_lits);
	for (size_t i = 0; i < a->n_lits; i++)
		assert_true(pc_src_lit_equal(&a->lits[i], &b->lits[i]));
	assert_true(pc_addr_equal(&a->example, &b->example));
	assert_int_equal(a->example_port, b->example_port);
	assert_int_equal(a->res.verdict, b->res.verdict);
	assert_int_equal(a->box_only, b->box_only);
}

static void result_clear(struct pc_src_result *r)
{
	pc_srcdim_clear(&r->addr);
	pc_srcdim_clear(&r->port);
	free(r->lits);
	pc_nft_result_clear(&r->res);
	*r = (struct pc_src_result){0};
}

static void test_take_is_clip(void **state)
{
	unsigned seed = 7, moved = 0, copied = 0;

	(void)state;
	for (unsigned round = 0; round < 3000; round++) {
		struct pc_ivlist bl = {0};
		struct pc_ivl pieces[PIECES_MAX];
		size_t n_pieces;
		struct pc_ivbase *base = NULL;
		struct pc_src_result orig, by_clip, by_take, by_take_out;

		if (rnd(&seed, 2)) {
			random_list(&seed, &bl, 12);
			base = pc_ivbase_new(&bl, SPACE - 1);
			assert_non_null(base);
		}
		random_result(&seed, base, &orig);
		copy_result(&orig, &by_take);
		/* Disjoint pieces covering the space, cut at random (an array of its own:
		 * pc_ivlist_append would join neighbours). */
		n_pieces = 0;
		for (pc_u128 lo = 0; lo < SPACE && n_pieces < PIECES_MAX;) {
			pc_u128 hi = lo + rnd(&seed, 300);

			if (hi >= SPACE || n_pieces == PIECES_MAX - 1)
				hi = SPACE - 1;
			pieces[n_pieces++] = (struct pc_ivl){lo, hi};
			lo = hi + 1;
		}
		for (size_t i = 0; i < n_pieces; i++) {
			pc_u128 lo = pieces[i].lo, hi = pieces[i].hi;
			int a = pc_src_result_clip(&orig, AF_INET, lo, hi, &by_clip);
			int b = pc_src_result_take(&by_take, AF_INET, lo, hi, &by_take_out);

			assert_int_equal(a, b);
			if (a == 1) {
				assert_same_result(&by_clip, &by_take_out);
				result_clear(&by_clip);
				result_clear(&by_take_out);
				if (pc_srcdim_empty(&by_take.addr))
					moved++;
				else
					copied++;
			}
		}
		result_clear(&orig);
		result_clear(&by_take);
		pc_ivbase_unref(base);
	}
	print_message("moved %u, copied %u\n", moved, copied);
	/* Both ways were taken, many times. */
	assert_true(moved > 100);
	assert_true(copied > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_take_is_clip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
