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
	struct pc_ivlist a, p;
};

struct work {
	struct box *v;
	size_t n;
};

static void box_clear(struct box *b)
{
	pc_ivlist_clear(&b->a);
	pc_ivlist_clear(&b->p);
}

static int work_push(struct work *w, struct box *b)
{
	struct box *slot;

	if (b->a.n == 0 || b->p.n == 0) {
		box_clear(b);
		return 0;
	}
	slot = pc_array_grow(&w->v, &w->n, sizeof(*slot));
	if (!slot) {
		box_clear(b);
		return -ENOMEM;
	}
	*slot = *b;
	return 0;
}

/* Take the box @ra x @rp out of every box left: (A \ Ra) x P and (A ∩ Ra) x (P \ Rp). */
static int work_remove(struct work *w, const struct pc_ivlist *ra, const struct pc_ivlist *rp)
{
	struct work out = {0};
	int r = 0;

	for (size_t i = 0; i < w->n; i++) {
		struct box *b = &w->v[i], x = {0}, y = {0};

		if (r == 0 &&
		    (pc_ivlist_subtract(&b->a, ra, &x.a) < 0 || pc_ivlist_copy(&b->p, &x.p) < 0 ||
		     pc_ivlist_intersect(&b->a, ra, &y.a) < 0 ||
		     pc_ivlist_subtract(&b->p, rp, &y.p) < 0))
			r = -ENOMEM;
		if (r == 0)
			r = work_push(&out, &x);
		else
			box_clear(&x);
		if (r == 0)
			r = work_push(&out, &y);
		else
			box_clear(&y);
		box_clear(b);
	}
	free(w->v);
	*w = out;
	return r;
}

static struct pc_src_result *result_add(struct pc_src_result **v, size_t *n)
{
	return pc_array_grow(v, n, sizeof(**v));
}

/* A port of the box: the usual ephemeral one when it is there. */
static uint16_t pick_port(const struct pc_ivlist *p)
{
	if (pc_ivlist_find(p, PC_FLOW_SOURCE_PORT) >= 0)
		return PC_FLOW_SOURCE_PORT;
	return (uint16_t)p->v[0].lo;
}

/* An address of the box to run with: its first, except that an IPv6 box that starts in
 * ::/8 (where nothing routes) uses 2000:: when it holds it, as an example reads better. */
static pc_u128 pick_addr(int family, const struct pc_ivlist *a)
{
	pc_u128 global = (pc_u128)0x2000 << 112;

	if (family == AF_INET6 && (a->v[0].lo >> 120) == 0) {
		ptrdiff_t k = pc_ivlist_find(a, global);

		if (k >= 0)
			return global;
	}
	return a->v[0].lo;
}

/* What is left after too many paths: unknown, as boxes without tests. */
static int rest_unknown(struct work *w, int family, struct pc_src_result **v, size_t *n)
{
	for (size_t i = 0; i < w->n; i++) {
		struct pc_src_result *res = result_add(v, n);

		if (!res)
			return -ENOMEM;
		res->addr = w->v[i].a;
		res->port = w->v[i].p;
		w->v[i] = (struct box){0};
		res->example = pc_addr_from_u128(family, res->addr.v[0].lo);
		res->example_port = pick_port(&res->port);
		res->res.verdict = PC_VERDICT_UNKNOWN;
		snprintf(res->res.unknown_reason, sizeof(res->res.unknown_reason),
			 "more than %d distinct paths through the ruleset for these sources",
			 PC_SRC_MAX_RUNS);
	}
	return 0;
}

/* One run from the concrete source (@a, @port), symbolic over @addrs x @ports. */
static int run_one(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
		   const struct pc_flow *flow, const struct pc_ivlist *addrs,
		   const struct pc_ivlist *ports, pc_u128 a, uint16_t port,
		   struct pc_src_result *ret)
{
	struct vm_sym sym = {.abytes = pc_addr_size(flow->family), .x = {a, port}};
	struct pc_flow f = *flow;
	int r;

	f.saddr = pc_addr_from_u128(flow->family, a);
	f.sport = port;
	if (pc_ivlist_copy(addrs, &sym.dim[0]) < 0 || pc_ivlist_copy(ports, &sym.dim[1]) < 0) {
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
	pc_ivlist_clear(&sym.tmp);
	return 0;
}

int pc_nft_eval_sources(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
			const struct pc_flow *flow, const struct pc_ivlist *addrs,
			const struct pc_ivlist *ports, struct pc_src_result **ret, size_t *n_ret)
{
	struct pc_src_result *v = NULL;
	struct work w = {0};
	struct box b = {0};
	size_t n = 0, runs = 0;
	int r;

	if (pc_ivlist_copy(addrs, &b.a) < 0 || pc_ivlist_copy(ports, &b.p) < 0) {
		box_clear(&b);
		return -ENOMEM;
	}
	r = work_push(&w, &b);
	while (r == 0 && w.n > 0) {
		const struct box *next = &w.v[w.n - 1];
		struct pc_src_result *res;

		if (++runs > PC_SRC_MAX_RUNS) {
			r = rest_unknown(&w, flow->family, &v, &n);
			break;
		}
		res = result_add(&v, &n);
		if (!res) {
			r = -ENOMEM;
			break;
		}
		r = run_one(rs, ni, flow, addrs, ports, pick_addr(flow->family, &next->a),
			    pick_port(&next->p), res);
		if (r < 0) {
			n--;
			break;
		}
		r = work_remove(&w, &res->addr, &res->port);
	}
	for (size_t i = 0; i < w.n; i++)
		box_clear(&w.v[i]);
	free(w.v);
	if (r < 0) {
		pc_src_results_free(v, n);
		return r;
	}
	*ret = v;
	*n_ret = n;
	return 0;
}

void pc_src_results_free(struct pc_src_result *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pc_ivlist_clear(&v[i].addr);
		pc_ivlist_clear(&v[i].port);
		free(v[i].lits);
		pc_nft_result_clear(&v[i].res);
	}
	free(v);
}
