/* SPDX-License-Identifier: MIT */
/*
 * The engine's results for the pieces of one (listener, link, family): one evaluation per
 * piece, or per group of pieces routed, bound and classified alike (cut per piece
 * afterwards), taken from the listener class's cache when an earlier listener of the
 * class left them there; firewalld's view of each piece beside them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/fwzone.h"
#include "portcheck/nftvm.h"
#include "portcheck/report.h"

#include "analysis_internal.h"

/* The engine's verdict and firewalld's view for @flow; the trace when asked for. */
int evaluate_piece(const struct pc_analysis_input *in, const struct pc_link *link,
		   const struct pc_flow *flow, bool want_trace, struct piece *pc, bool engine)
{
	int r;

	if (in->nft && engine) {
		r = pc_nft_eval_path(in->nft, in->netif, flow, want_trace, &pc->res);
		if (r < 0)
			return r;
		pc->engine = true;
	} else if (!in->nft) {
		pc->res.verdict = PC_VERDICT_UNKNOWN;
		snprintf(pc->res.unknown_reason, sizeof(pc->res.unknown_reason),
			 "the nftables ruleset could not be read (%s)",
			 in->nft_error ? in->nft_error : "unknown error");
	}
	/* In panic mode firewalld's zones say nothing about what happens. */
	if (in->fw->running && !in->fw->panic) {
		pc_fwzone_view(in->fw, link->name, &flow->saddr, flow->l4proto, flow->dport,
			       &pc->fw);
		pc->fw_known = true;
	}
	return 0;
}

void eval_cache_clear(struct eval_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		pc_src_results_free(c->v[i].res, c->v[i].n);
	free(c->v);
	*c = (struct eval_cache){0};
}

void piece_results_reset(struct piece_results *pr)
{
	for (size_t i = 0; i < pr->count; i++)
		pc_src_results_free(pr->v[i], pr->n[i]);
	pr->count = 0;
}

void piece_results_clear(struct piece_results *pr)
{
	piece_results_reset(pr);
	free(pr->v);
	free(pr->n);
	*pr = (struct piece_results){0};
}

static int piece_results_add(struct piece_results *pr, struct pc_src_result *v, size_t n)
{
	/* Two arrays of one count, grown geometrically: one entry per piece of every
	 * listener. */
	size_t c = pr->count, d = c;
	struct pc_src_result **sv = pc_array_grow(&pr->v, &c, sizeof(*sv));
	size_t *sn = sv ? pc_array_grow(&pr->n, &d, sizeof(*sn)) : NULL;

	if (!sn)
		return -ENOMEM;
	*sv = v;
	*sn = n;
	pr->count = c;
	return 0;
}

/*
 * One piece [lo, hi] of the source space (every address in it routed alike, in one
 * firewalld binding): the engine's paths through the ruleset for every source address of
 * it and every source port, each added to the group of its outcome.
 */
static bool entry_is(const struct eval_entry *e, const struct pc_flow *flow,
		     const struct piece *cur, const struct pc_ivlist *al,
		     const struct pc_src_classes *classes)
{
	return e->family == flow->family && e->l4proto == flow->l4proto && e->iif == flow->iif &&
	       pc_addr_equal(&e->daddr, &flow->daddr) && pc_addr_equal(&e->lo, &cur->lo) &&
	       pc_addr_equal(&e->hi, &cur->hi) && e->n_ranges == al->n && e->classes == classes;
}

/*
 * The engine's paths for @flow from the sources @al x @pl: from the cache when the class's
 * first listener left them there (*owned false: the cache frees them), else evaluated
 * (and kept there when the class has more listeners).
 */
static int eval_sources(struct analysis *an, const struct pc_flow *flow, const struct piece *cur,
			const struct pc_ivlist *al, const struct pc_ivlist *pl,
			const struct pc_src_classes *classes, struct pc_src_result **res, size_t *n,
			bool *owned)
{
	struct eval_cache *c = &an->cache;
	struct eval_entry *e;
	int r;

	*owned = true;
	if (c->use && !c->fill && c->next < c->n &&
	    entry_is(&c->v[c->next], flow, cur, al, classes)) {
		*res = c->v[c->next].res;
		*n = c->v[c->next++].n;
		*owned = false;
		return 0;
	}
	r = pc_nft_eval_sources_classes(an->in->nft, an->in->netif, flow, al, pl, classes, res, n);
	if (r < 0 || !c->use || !c->fill)
		return r;
	e = pc_array_grow(&c->v, &c->n, sizeof(*e));
	if (!e)
		return 0; /* not kept: the others evaluate afresh */
	*e = (struct eval_entry){.family = flow->family,
				 .l4proto = flow->l4proto,
				 .iif = flow->iif,
				 .daddr = flow->daddr,
				 .lo = cur->lo,
				 .hi = cur->hi,
				 .n_ranges = al->n,
				 .classes = classes,
				 .res = *res,
				 .n = *n};
	*owned = false;
	return 0;
}

/* Results by their least source: address, then port. */
static int lowest_first(const void *a, const void *b)
{
	const struct pc_src_result *x = *(const struct pc_src_result *const *)a;
	const struct pc_src_result *y = *(const struct pc_src_result *const *)b;
	pc_u128 xa = pc_srcdim_first(&x->addr), ya = pc_srcdim_first(&y->addr);
	pc_u128 xp = pc_srcdim_first(&x->port), yp = pc_srcdim_first(&y->port);

	if (xa != ya)
		return xa < ya ? -1 : 1;
	return xp < yp ? -1 : xp > yp;
}

/*
 * Each of the engine's results for the piece @cur into the group of its outcome, taken
 * from the least source up: the paths of a listener come in the order of the sources
 * that first take them, whatever order the engine found them in.
 */
int add_piece_results(struct outcome_groups *gs, const struct piece *cur,
		      const struct pc_src_result *res, size_t n)
{
	struct src_member m = {.lo = cur->lo, .hi = cur->hi};
	const struct pc_src_result *small[8], **by = small;
	int r = 0;

	if (n > ELEMENTSOF(small)) {
		by = reallocarray(NULL, n, sizeof(*by));
		if (!by)
			return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++)
		by[k] = &res[k];
	qsort(by, n, sizeof(*by), lowest_first);
	for (size_t k = 0; k < n && r >= 0; k++) {
		m.r = by[k];
		r = groups_add_result(gs, cur, &by[k]->res, true, &m);
	}
	if (by != small)
		free(by);
	return r;
}

int analyse_piece(struct analysis *an, const struct pc_link *link, const struct pc_flow *flow,
		  struct piece *cur, struct outcome_groups *gs, struct piece_results *pr)
{
	const struct pc_analysis_input *in = an->in;
	bool owned;
	struct pc_ivl a = {pc_addr_to_u128(&cur->lo), pc_addr_to_u128(&cur->hi)};
	struct pc_ivl ports = {PC_SRC_PORT_MIN, PC_SRC_PORT_MAX};
	struct pc_ivlist al = {.v = &a, .n = 1, .cap = 1}, pl = {.v = &ports, .n = 1, .cap = 1};
	struct src_member m = {.lo = cur->lo, .hi = cur->hi};
	struct pc_src_result *res;
	size_t n;
	int r;

	/* firewalld's view: its bindings are piece bounds, so one source speaks for all. */
	r = evaluate_piece(in, link, flow, false, cur, false);
	if (r < 0)
		return r;
	if (!in->nft)
		return groups_add(gs, cur, &m);
	r = eval_sources(an, flow, cur, &al, &pl, NULL, &res, &n, &owned);
	if (r < 0)
		return r;
	r = owned ? piece_results_add(pr, res, n) : 0;
	if (r < 0) {
		pc_src_results_free(res, n);
		return r;
	}
	return add_piece_results(gs, cur, res, n);
}

bool pc_analysis_group_pieces = true;

/*
 * Pieces of one group (family_pieces: routed, bound and classified alike) in one
 * evaluation over all of them: @first, the first that can reach the listener, and the
 * group's later ones that can (@reach); the earlier ones cannot. Each piece then gets the
 * results cut to its own addresses (pend[], taken when the walk reaches it), so the paths
 * are built as if each piece had been evaluated alone. Nothing when @first is the only
 * one, or when an outcome is unknown (pend[first] stays undone: each piece alone).
 */
int analyse_group(struct analysis *an, const struct family_pieces *fp, const size_t *next,
		  const struct pc_src_classes *classes, size_t first, const bool *reach,
		  const struct pc_flow *flow, struct pending *pend, struct piece_results *pr)
{
	struct pc_ivl ports = {PC_SRC_PORT_MIN, PC_SRC_PORT_MAX};
	struct pc_ivlist al = {0}, pl = {.v = &ports, .n = 1, .cap = 1};
	struct piece key = {0}, cur;
	struct pc_src_result *res = NULL, *all = NULL;
	size_t n = 0, total = 0, cap = 0;
	bool owned = false;
	size_t members = 0;
	int r = 0;

	for (size_t j = first; j != SIZE_MAX && members < 2; j = next[j])
		members += reach[j];
	if (members < 2)
		return 0;
	for (size_t j = first; j != SIZE_MAX && r >= 0; j = next[j]) {
		if (!reach[j])
			continue;
		piece_range(fp, j, &cur);
		if (!al.n)
			key.lo = cur.lo;
		key.hi = cur.hi;
		r = pc_ivlist_append(&al, pc_addr_to_u128(&cur.lo), pc_addr_to_u128(&cur.hi));
	}
	if (r >= 0)
		r = eval_sources(an, flow, &key, &al, &pl, classes, &res, &n, &owned);
	/* The engine's budgets (runs, ranges, tests) hold per evaluation: pieces that share
	 * one may run out where each alone would not. Anything unknown: each piece alone. */
	for (size_t k = 0; r >= 0 && k < n; k++)
		if (res[k].res.verdict == PC_VERDICT_UNKNOWN) {
			r = 1;
			break;
		}
	if (r > 0) {
		if (owned)
			pc_src_results_free(res, n);
		pc_ivlist_clear(&al);
		return 0;
	}
	/* The pieces' results, one after the other in one array (pend[] points into it
	 * once it stops moving), freed with the listener's: one allocation per group, not
	 * one per piece sized for the group's results and shrunk after. */
	for (size_t j = first; j != SIZE_MAX && r >= 0; j = next[j]) {
		pc_u128 lo, hi;
		size_t nv = 0;

		if (!reach[j])
			continue;
		if (cap - total < n) {
			size_t want = total + n > 2 * cap ? total + n : 2 * cap;
			/* Not zeroed: pc_src_result_clip fills each slot it keeps, and no
			 * slot past the last kept one is read or freed. */
			struct pc_src_result *w = reallocarray(all, want, sizeof(*w));

			if (!w || (!all && piece_results_add(pr, w, 0) < 0)) {
				free(w);
				r = -ENOMEM;
				break;
			}
			all = pr->v[pr->count - 1] = w;
			cap = want;
		}
		piece_range(fp, j, &cur);
		lo = pc_addr_to_u128(&cur.lo);
		hi = pc_addr_to_u128(&cur.hi);
		for (size_t k = 0; k < n && r >= 0; k++) {
			struct pc_src_result *slot = &all[total + nv];

			/* The pieces are disjoint and the results freed after them (when not
			 * the class's cache's): one wholly inside this piece moves here. */
			r = owned ? pc_src_result_take(&res[k], flow->family, lo, hi, slot)
				  : pc_src_result_clip(&res[k], flow->family, lo, hi, slot);
			nv += r > 0;
			pr->n[pr->count - 1] = total + nv; /* what it frees */
		}
		pend[j] = (struct pending){.n = nv, .done = true};
		total += nv;
	}
	for (size_t j = first, at = 0; r >= 0 && j != SIZE_MAX; j = next[j])
		if (reach[j]) {
			pend[j].res = pend[j].n ? all + at : NULL;
			at += pend[j].n;
		}
	if (owned)
		pc_src_results_free(res, n);
	pc_ivlist_clear(&al);
	return r < 0 ? r : 0;
}
