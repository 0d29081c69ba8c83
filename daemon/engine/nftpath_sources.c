/* SPDX-License-Identifier: MIT */
/*
 * Every path of a box of sources (pc_nft_eval_sources): run the path of one concrete
 * source of the box with the source symbolic; the run ends with the exact box of sources
 * that take the same path (nftvm_sym.c). At each test of the source it leaves the
 * sources that answer otherwise as a box of their own (struct vm_sym_rest); the next run
 * starts from one of those, until none is left. The number of runs is the number of
 * distinct paths, however many addresses the ruleset names, and nothing is subtracted:
 * the boxes left are disjoint by construction (it took two box differences per box left
 * per run before, a fifth of the analysis on the bench's large host).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftpath_internal.h"
#include "portcheck/util.h"

pc_u128 pc_addr_to_u128(const struct pc_addr *a)
{
	return pc_u128_from_be(a->bytes, pc_addr_size(a->family));
}

struct pc_addr pc_addr_from_u128(int family, pc_u128 v)
{
	struct pc_addr a = {.family = family};

	pc_u128_to_be(v, a.bytes, pc_addr_size(family));
	return a;
}

static struct pc_src_result *result_add(struct pc_src_result **v, size_t *n)
{
	return pc_array_grow(v, n, sizeof(**v));
}

/* A port of the box: the usual ephemeral one when it is there. */
static uint16_t pick_port(const struct pc_srcdim *p)
{
	if (pc_srcdim_has(p, PC_FLOW_SOURCE_PORT))
		return PC_FLOW_SOURCE_PORT;
	return (uint16_t)pc_srcdim_first(p);
}

/* An address of the box to run with: its first, except that an IPv6 box that starts in
 * ::/8 (where nothing routes) uses 2000:: when it holds it, as an example reads better. */
static pc_u128 pick_addr(int family, const struct pc_srcdim *a)
{
	pc_u128 global = (pc_u128)0x2000 << 112, first = pc_srcdim_first(a);

	if (family == AF_INET6 && (first >> 120) == 0 && pc_srcdim_has(a, global))
		return global;
	return first;
}

/* What is left past a budget: unknown, told by the boxes themselves. */
static int rest_unknown(struct vm_sym_rest *w, int family, const char *why,
			struct pc_src_result **v, size_t *n)
{
	for (size_t i = 0; i < w->n; i++) {
		struct pc_src_result *res = result_add(v, n);

		if (!res)
			return -ENOMEM;
		res->addr = w->v[i].d[0];
		res->port = w->v[i].d[1];
		w->v[i] = (struct vm_box){0};
		res->example = pc_addr_from_u128(family, pc_srcdim_first(&res->addr));
		res->example_port = pick_port(&res->port);
		res->box_only = true;
		res->res.verdict = PC_VERDICT_UNKNOWN;
		snprintf(res->res.unknown_reason, sizeof(res->res.unknown_reason), "%s", why);
	}
	return 0;
}

/*
 * One run from a source of @from (a box left by an earlier run, or the whole input),
 * symbolic over the whole input @in: its box ends as every source that takes its path,
 * described by every test on the way. What it leaves goes to @rest.
 */
static int run_one(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
		   const struct pc_flow *flow, const struct vm_box *in, const struct vm_box *from,
		   const struct pc_src_classes *classes, struct vm_sym_rest *rest,
		   struct pc_src_result *ret)
{
	pc_u128 a = pick_addr(flow->family, &from->d[0]);
	uint16_t port = pick_port(&from->d[1]);
	struct vm_sym sym = {
	    .abytes = pc_addr_size(flow->family), .x = {a, port}, .rest = rest, .classes = classes};
	struct pc_flow f = *flow;
	int r;

	f.saddr = pc_addr_from_u128(flow->family, a);
	f.sport = port;
	rest->from = from;
	rest->decisions = 0;
	if (pc_srcdim_copy(&in->d[0], &sym.dim[0]) < 0 ||
	    pc_srcdim_copy(&in->d[1], &sym.dim[1]) < 0) {
		vm_sym_clear(&sym);
		return -ENOMEM;
	}
	r = path_eval(rs, ni, &f, &sym, false, &ret->res);
	rest->from = NULL;
	/* A run from a box left at decision k takes the path that left it up to k. One that
	 * ended before it did not (its box would hold sources other runs have): the runs are
	 * not replaying alike, and nothing said here would be sure. */
	if (r == 0 && rest->decisions < from->at)
		r = -EINVAL;
	if (r < 0 || rest->oom) {
		vm_sym_clear(&sym);
		return r < 0 ? r : -ENOMEM;
	}
	ret->addr = sym.dim[0];
	ret->port = sym.dim[1];
	ret->lits = sym.lits;
	ret->n_lits = sym.n_lits;
	ret->example = f.saddr;
	ret->example_port = port;
	return 0;
}

int pc_nft_eval_sources(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
			const struct pc_flow *flow, const struct pc_ivlist *addrs,
			const struct pc_ivlist *ports, struct pc_src_result **ret, size_t *n_ret)
{
	return pc_nft_eval_sources_classes(rs, ni, flow, addrs, ports, NULL, ret, n_ret);
}

int pc_nft_eval_sources_classes(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
				const struct pc_flow *flow, const struct pc_ivlist *addrs,
				const struct pc_ivlist *ports, const struct pc_src_classes *classes,
				struct pc_src_result **ret, size_t *n_ret)
{
	struct pc_src_result *v = NULL;
	struct vm_sym_rest rest = {0};
	struct vm_box in = {0}, *first;
	size_t n = 0, runs = 0, ranges = 0, tests = 0;
	char why[128];
	int r = -ENOMEM;

	if (pc_srcdim_from_list(&in.d[0], addrs) < 0 || pc_srcdim_from_list(&in.d[1], ports) < 0)
		goto out;
	if (pc_srcdim_empty(&in.d[0]) || pc_srcdim_empty(&in.d[1])) {
		r = 0;
		goto out;
	}
	first = pc_array_grow(&rest.v, &rest.n, sizeof(*first));
	if (!first)
		goto out;
	*first = (struct vm_box){.at = 0};
	if (pc_srcdim_copy(&in.d[0], &first->d[0]) < 0 ||
	    pc_srcdim_copy(&in.d[1], &first->d[1]) < 0)
		goto out;
	r = 0;
	/* The last box left first: the sources nearest the path just taken. */
	while (r == 0 && rest.n > 0) {
		struct vm_box cur = rest.v[--rest.n];
		struct pc_src_result *res;
		size_t left;

		if (++runs > PC_SRC_MAX_RUNS || ranges > PC_SRC_MAX_RANGES ||
		    tests > PC_SRC_MAX_TESTS) {
			if (runs > PC_SRC_MAX_RUNS)
				snprintf(why, sizeof(why),
					 "more than %u distinct paths through the ruleset for "
					 "these sources",
					 PC_SRC_MAX_RUNS);
			else
				snprintf(why, sizeof(why),
					 "the paths of these sources take more than %u ranges or "
					 "%u tests to tell apart",
					 PC_SRC_MAX_RANGES, PC_SRC_MAX_TESTS);
			rest.v[rest.n++] = cur; /* its slot is still there */
			r = rest_unknown(&rest, flow->family, why, &v, &n);
			break;
		}
		res = result_add(&v, &n);
		if (!res) {
			vm_box_clear(&cur);
			r = -ENOMEM;
			break;
		}
		left = rest.n;
		r = run_one(rs, ni, flow, &in, &cur, classes, &rest, res);
		if (r == -EINVAL) {
			/* Not sure of anything about what is left: unknown, said so, rather
			 * than the whole analysis failing. What this run left lies within
			 * its box, which goes back whole (its slot is still there). */
			n--;
			while (rest.n > left)
				vm_box_clear(&rest.v[--rest.n]);
			rest.v[rest.n++] = cur;
			r = rest_unknown(
			    &rest, flow->family,
			    "the engine's runs over these sources did not repeat alike "
			    "(an internal inconsistency)",
			    &v, &n);
			break;
		}
		vm_box_clear(&cur);
		if (r < 0) {
			n--;
			break;
		}
		/* What the boxes hold of their own: a shared base counts once. */
		ranges += pc_srcdim_weight(&res->addr) + pc_srcdim_weight(&res->port);
		tests += res->n_lits;
	}
out:
	vm_sym_rest_clear(&rest);
	vm_box_clear(&in);
	if (r < 0) {
		pc_src_results_free(v, n);
		return r;
	}
	*ret = v;
	*n_ret = n;
	return 0;
}

/*
 * An address range test that every source of [lo, hi] answers alike says nothing of the
 * piece: the piece's own bounds do. It was recorded because the evaluation spanned more
 * pieces (a group's); evaluated alone, the piece's box would not have been cut by it.
 */
static bool range_decided(const struct pc_src_lit *l, pc_u128 lo, pc_u128 hi)
{
	if (l->kind != PC_SRC_LIT_RANGE || l->port)
		return false;
	return l->negated ? hi < l->a || lo > l->b : lo >= l->a && hi <= l->b;
}

/* What cutting a result to [@lo, @hi] does besides its boxes, on *@ret holding them and a
 * copy of the result's tests: drop the address ranges every source of the piece answers
 * alike; an example inside the piece (@ex, the result's, when the box still holds it). */
static void clip_tests_example(struct pc_src_result *ret, int family, pc_u128 lo, pc_u128 hi,
			       pc_u128 ex)
{
	size_t k = 0;

	for (size_t i = 0; i < ret->n_lits; i++)
		if (!range_decided(&ret->lits[i], lo, hi))
			ret->lits[k++] = ret->lits[i];
	ret->n_lits = k;
	/* Any source of the box takes the path: one inside the piece now. */
	if (!pc_srcdim_has(&ret->addr, ex))
		ret->example = pc_addr_from_u128(family, pick_addr(family, &ret->addr));
}

int pc_src_result_clip(const struct pc_src_result *r, int family, pc_u128 lo, pc_u128 hi,
		       struct pc_src_result *ret)
{
	struct pc_ivl iv = {lo, hi};
	const struct pc_ivlist l = {.v = &iv, .n = 1, .cap = 1};
	pc_u128 ex = pc_addr_to_u128(&r->example);

	/* A group's results mostly lie in one of its pieces: the others are told apart
	 * without a copy, and without writing the slot (a kilobyte, most of it the outcome
	 * copied whole below). */
	if (!pc_srcdim_overlaps_list(&r->addr, &l))
		return 0;
	memset(ret, 0, offsetof(struct pc_src_result, res));
	if (pc_srcdim_copy_within(&r->addr, lo, hi, &ret->addr) < 0)
		goto oom;
	if (pc_srcdim_copy(&r->port, &ret->port) < 0)
		goto oom;
	if (r->n_lits) {
		ret->lits = reallocarray(NULL, r->n_lits, sizeof(*ret->lits));
		if (!ret->lits)
			goto oom;
		memcpy(ret->lits, r->lits, r->n_lits * sizeof(*ret->lits));
		ret->n_lits = r->n_lits;
	}
	ret->box_only = r->box_only;
	ret->res = r->res;
	ret->res.trace = NULL;
	ret->res.n_trace = 0;
	ret->example = r->example;
	ret->example_port = r->example_port;
	clip_tests_example(ret, family, lo, hi, ex);
	return 1;
oom:
	pc_srcdim_clear(&ret->addr);
	pc_srcdim_clear(&ret->port);
	free(ret->lits);
	*ret = (struct pc_src_result){0};
	return -ENOMEM;
}

int pc_src_result_take(struct pc_src_result *r, int family, pc_u128 lo, pc_u128 hi,
		       struct pc_src_result *ret)
{
	const struct pc_ivlist *c = &r->addr.clip;

	/* Not wholly inside (or a base of its own, which a copy would cut to the piece):
	 * a copy of what is. */
	if (c->n == 0 || c->v[0].lo < lo || c->v[c->n - 1].hi > hi ||
	    (r->addr.base && r->addr.base->own))
		return pc_src_result_clip(r, family, lo, hi, ret);
	if (pc_srcdim_empty(&r->addr)) /* its clip's bounds are, its values are not */
		return 0;
	/* What pc_src_result_clip makes of it, its boxes and tests moved rather than
	 * copied. */
	*ret = *r;
	ret->res.trace = NULL; /* a trace stays with r, freed with it (runs keep none) */
	ret->res.n_trace = 0;
	r->addr = (struct pc_srcdim){0}; /* no values: no later piece meets it */
	r->port = (struct pc_srcdim){0};
	r->lits = NULL;
	r->n_lits = 0;
	clip_tests_example(ret, family, lo, hi, pc_addr_to_u128(&ret->example));
	return 1;
}

void pc_src_results_free(struct pc_src_result *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pc_srcdim_clear(&v[i].addr);
		pc_srcdim_clear(&v[i].port);
		free(v[i].lits);
		pc_nft_result_clear(&v[i].res);
	}
	free(v);
}
