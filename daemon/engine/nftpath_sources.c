/* SPDX-License-Identifier: MIT */
/*
 * Every path of a box of sources (pc_nft_eval_sources): run the path of one concrete
 * source of the box with the source symbolic; the run ends with the exact box of sources
 * that take the same path (nftvm_sym.c). Take those out of what is left, and go on with a
 * source of the rest, until nothing is left. The number of runs is the number of distinct
 * paths, however many addresses the ruleset names.
 */
#include <errno.h>
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

struct box {
	struct pc_srcdim a, p;
};

struct work {
	struct box *v;
	size_t n, cap;
};

static void box_clear(struct box *b)
{
	pc_srcdim_clear(&b->a);
	pc_srcdim_clear(&b->p);
}

static int work_push(struct work *w, struct box *b)
{
	struct box *slot;

	if (pc_srcdim_empty(&b->a) || pc_srcdim_empty(&b->p)) {
		box_clear(b);
		return 0;
	}
	/* Grown geometrically: one run may split every box left. */
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		struct box *v = reallocarray(w->v, cap, sizeof(*v));

		if (!v) {
			box_clear(b);
			return -ENOMEM;
		}
		w->v = v;
		w->cap = cap;
	}
	slot = &w->v[w->n++];
	*slot = *b;
	return 0;
}

/* Push @a x @p (both taken over). */
static int push_dims(struct work *w, struct pc_srcdim *a, struct pc_srcdim *p)
{
	struct box b = {*a, *p};

	*a = *p = (struct pc_srcdim){0};
	return work_push(w, &b);
}

/*
 * Take the box @ra x @rp out of every box left: (A \ Ra) x P and (A ∩ Ra) x (P \ Rp).
 * A difference of dimensions comes in two parts (srcdim.h), so a box may leave four.
 */
static int work_remove(struct work *w, const struct pc_srcdim *ra, const struct pc_srcdim *rp)
{
	struct work out = {0};
	int r = 0;

	for (size_t i = 0; i < w->n; i++) {
		struct box *b = &w->v[i];
		struct pc_srcdim a1 = {0}, a2 = {0}, both = {0}, p1 = {0}, p2 = {0}, c[4] = {{0}};

		/* Most boxes lie apart from the region: kept as they are. */
		if (r == 0 && (!pc_srcdim_overlaps(&b->a, ra) || !pc_srcdim_overlaps(&b->p, rp))) {
			r = work_push(&out, b);
			*b = (struct box){0};
			continue;
		}
		if (r == 0 &&
		    (pc_srcdim_subtract(&b->a, ra, &a1, &a2) < 0 ||
		     pc_srcdim_intersect(&b->a, ra, &both) < 0 ||
		     pc_srcdim_subtract(&b->p, rp, &p1, &p2) < 0 ||
		     pc_srcdim_copy(&b->p, &c[0]) < 0 || pc_srcdim_copy(&b->p, &c[1]) < 0 ||
		     pc_srcdim_copy(&both, &c[2]) < 0))
			r = -ENOMEM;
		if (r == 0)
			r = push_dims(&out, &a1, &c[0]);
		if (r == 0)
			r = push_dims(&out, &a2, &c[1]);
		if (r == 0)
			r = push_dims(&out, &c[2], &p1);
		if (r == 0)
			r = push_dims(&out, &both, &p2);
		pc_srcdim_clear(&a1);
		pc_srcdim_clear(&a2);
		pc_srcdim_clear(&both);
		pc_srcdim_clear(&p1);
		pc_srcdim_clear(&p2);
		for (size_t k = 0; k < 4; k++)
			pc_srcdim_clear(&c[k]);
		box_clear(b);
	}
	for (size_t i = 0; i < w->n; i++)
		box_clear(&w->v[i]);
	free(w->v);
	*w = out;
	return r;
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
static int rest_unknown(struct work *w, int family, const char *why, struct pc_src_result **v,
			size_t *n)
{
	for (size_t i = 0; i < w->n; i++) {
		struct pc_src_result *res = result_add(v, n);

		if (!res)
			return -ENOMEM;
		res->addr = w->v[i].a;
		res->port = w->v[i].p;
		w->v[i] = (struct box){0};
		res->example = pc_addr_from_u128(family, pc_srcdim_first(&res->addr));
		res->example_port = pick_port(&res->port);
		res->box_only = true;
		res->res.verdict = PC_VERDICT_UNKNOWN;
		snprintf(res->res.unknown_reason, sizeof(res->res.unknown_reason), "%s", why);
	}
	return 0;
}

/* One run from the concrete source (@a, @port), symbolic over @addrs x @ports. */
static int run_one(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
		   const struct pc_flow *flow, const struct pc_srcdim *addrs,
		   const struct pc_srcdim *ports, pc_u128 a, uint16_t port,
		   struct pc_src_result *ret)
{
	struct vm_sym sym = {.abytes = pc_addr_size(flow->family), .x = {a, port}};
	struct pc_flow f = *flow;
	int r;

	f.saddr = pc_addr_from_u128(flow->family, a);
	f.sport = port;
	if (pc_srcdim_copy(addrs, &sym.dim[0]) < 0 || pc_srcdim_copy(ports, &sym.dim[1]) < 0) {
		vm_sym_clear(&sym);
		return -ENOMEM;
	}
	r = path_eval(rs, ni, &f, &sym, false, &ret->res);
	if (r < 0) {
		vm_sym_clear(&sym);
		return r;
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
	struct pc_src_result *v = NULL;
	struct work w = {0};
	struct box b = {0}, in = {0};
	size_t n = 0, runs = 0, ranges = 0, tests = 0;
	char why[128];
	int r;

	if (pc_srcdim_from_list(&in.a, addrs) < 0 || pc_srcdim_from_list(&in.p, ports) < 0 ||
	    pc_srcdim_copy(&in.a, &b.a) < 0 || pc_srcdim_copy(&in.p, &b.p) < 0) {
		box_clear(&in);
		box_clear(&b);
		return -ENOMEM;
	}
	r = work_push(&w, &b);
	while (r == 0 && w.n > 0) {
		const struct box *next = &w.v[w.n - 1];
		struct pc_src_result *res;

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
			r = rest_unknown(&w, flow->family, why, &v, &n);
			break;
		}
		res = result_add(&v, &n);
		if (!res) {
			r = -ENOMEM;
			break;
		}
		r = run_one(rs, ni, flow, &in.a, &in.p, pick_addr(flow->family, &next->a),
			    pick_port(&next->p), res);
		if (r < 0) {
			n--;
			break;
		}
		/* What the boxes hold of their own: a shared base counts once. */
		ranges += pc_srcdim_weight(&res->addr) + pc_srcdim_weight(&res->port);
		tests += res->n_lits;
		r = work_remove(&w, &res->addr, &res->port);
	}
	for (size_t i = 0; i < w.n; i++)
		box_clear(&w.v[i]);
	free(w.v);
	box_clear(&in);
	if (r < 0) {
		pc_src_results_free(v, n);
		return r;
	}
	*ret = v;
	*n_ret = n;
	return 0;
}

int pc_src_result_clip(const struct pc_src_result *r, int family, pc_u128 lo, pc_u128 hi,
		       struct pc_src_result *ret)
{
	struct pc_ivl iv = {lo, hi};
	const struct pc_ivlist l = {.v = &iv, .n = 1, .cap = 1};
	pc_u128 ex = pc_addr_to_u128(&r->example);

	*ret = (struct pc_src_result){0};
	if (pc_srcdim_copy(&r->addr, &ret->addr) < 0 || pc_srcdim_narrow(&ret->addr, &l, true) < 0)
		goto oom;
	if (pc_srcdim_empty(&ret->addr)) {
		pc_srcdim_clear(&ret->addr);
		return 0;
	}
	if (pc_srcdim_copy(&r->port, &ret->port) < 0)
		goto oom;
	if (r->n_lits) {
		ret->lits = reallocarray(NULL, r->n_lits, sizeof(*ret->lits));
		if (!ret->lits)
			goto oom;
		memcpy(ret->lits, r->lits, r->n_lits * sizeof(*ret->lits));
	}
	ret->n_lits = r->n_lits;
	ret->box_only = r->box_only;
	ret->res = r->res;
	ret->res.trace = NULL;
	ret->res.n_trace = 0;
	/* Any source of the box takes the path: one inside the piece now. */
	ret->example = pc_srcdim_has(&ret->addr, ex)
			   ? r->example
			   : pc_addr_from_u128(family, pick_addr(family, &ret->addr));
	ret->example_port = r->example_port;
	return 1;
oom:
	pc_srcdim_clear(&ret->addr);
	pc_srcdim_clear(&ret->port);
	free(ret->lits);
	*ret = (struct pc_src_result){0};
	return -ENOMEM;
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
