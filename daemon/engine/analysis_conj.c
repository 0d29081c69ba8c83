/* SPDX-License-Identifier: MIT */
/*
 * A path's sources as conjunctions: per piece of the source space the engine's box and
 * the tests that carve it out (members); members with the same tests are one
 * conjunction, holding in their pieces; then conjunctions are merged where that is exact.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/nftvm.h"
#include "portcheck/util.h"

#include "analysis_conj.h"

static bool lits_equal(const struct pc_src_lit *a, size_t na, const struct pc_src_lit *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!pc_src_lit_equal(&a[i], &b[i]))
			return false;
	return true;
}

void conjs_clear(struct conj *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pc_ivlist_clear(&c[i].pieces);
		free(c[i].own);
	}
	free(c);
}

int conjs_of(const struct outcome_group *g, struct conj **ret, size_t *n_ret)
{
	struct conj *c = NULL;
	size_t n = 0;

	for (size_t i = 0; i < g->n_m; i++) {
		const struct src_member *m = &g->m[i];
		const struct pc_src_lit *l = m->r ? m->r->lits : NULL;
		size_t nl = m->r ? m->r->n_lits : 0;
		struct conj *slot = NULL;
		bool box = m->r && m->r->box_only;

		for (size_t k = 0; k < n && !slot && !box; k++)
			if (!c[k].box && lits_equal(c[k].lits, c[k].n_lits, l, nl))
				slot = &c[k];
		if (!slot) {
			slot = pc_array_grow(&c, &n, sizeof(*slot));
			if (!slot)
				goto oom;
			slot->lits = l;
			slot->n_lits = nl;
			slot->box = box ? m->r : NULL;
		}
		slot->n_pieces++;
		if (pc_ivlist_append(&slot->pieces, pc_addr_to_u128(&m->lo),
				     pc_addr_to_u128(&m->hi)) < 0)
			goto oom;
	}
	*ret = c;
	*n_ret = n;
	return 0;
oom:
	conjs_clear(c, n);
	return -ENOMEM;
}

/* --- merging conjunctions ---------------------------------------------------------------
 *
 * The engine's runs in different pieces record the tests that cut their box: a range
 * test that cuts nothing in one piece is not recorded there, so one outcome can come as
 * "piece A and not in S" and "piece B and not in S and not in R" where R lies in B alone,
 * or as "... and R" / "... and not R" pairs. Said as they come, a blocklist host's first
 * path read three conjunctions for what is one. Two rules merge them, exactly:
 *  - A = (PA, L), B = (PB, L + x): when every source of PA passes x, A ∪ B = (PA ∪ PB,
 *    L + x);
 *  - A = (PA, L + x), B = (PB, L + not x): with P = PA ∪ PB, when P ∩ x ⊆ PA and
 *    P \ x ⊆ PB, A ∪ B = (P, L);
 * and conjunctions with equal tests (which the second rule can make) join their pieces.
 * x is a test of the source address against one range (pieces are address intervals).
 */

static bool is_addr_range(const struct pc_src_lit *l)
{
	return l->kind == PC_SRC_LIT_RANGE && !l->port;
}

/* The sources of @p that pass the range test @x (its range, or what is outside it). */
static int passing(const struct pc_ivlist *p, const struct pc_src_lit *x, struct pc_ivlist *ret)
{
	struct pc_ivl one = {x->a, x->b};
	struct pc_ivlist range = {.v = &one, .n = 1, .cap = 1};

	return x->negated ? pc_ivlist_subtract(p, &range, ret)
			  : pc_ivlist_intersect(p, &range, ret);
}

/* The index of the one test of @b that @a lacks (an address range; the others equal and
 * in order), or -1. */
static ptrdiff_t extra_lit(const struct conj *a, const struct conj *b)
{
	if (b->n_lits != a->n_lits + 1)
		return -1;
	for (size_t x = 0; x < b->n_lits; x++) {
		bool same = is_addr_range(&b->lits[x]);

		for (size_t i = 0; same && i < a->n_lits; i++)
			same = pc_src_lit_equal(&a->lits[i], &b->lits[i < x ? i : i + 1]);
		if (same)
			return (ptrdiff_t)x;
	}
	return -1;
}

/* The index where @a and @b test one address range with opposite outcomes (everything
 * else equal and in order), or -1. */
static ptrdiff_t opposite_lit(const struct conj *a, const struct conj *b)
{
	ptrdiff_t k = -1;

	if (a->n_lits != b->n_lits)
		return -1;
	for (size_t i = 0; i < a->n_lits; i++) {
		struct pc_src_lit flipped = b->lits[i];

		if (pc_src_lit_equal(&a->lits[i], &b->lits[i]))
			continue;
		flipped.negated = !flipped.negated;
		if (k >= 0 || !is_addr_range(&a->lits[i]) ||
		    !pc_src_lit_equal(&a->lits[i], &flipped))
			return -1;
		k = (ptrdiff_t)i;
	}
	return k;
}

/* *into = a ∪ b (@into may be @a or @b). */
static int pieces_union(const struct pc_ivlist *a, const struct pc_ivlist *b,
			struct pc_ivlist *into)
{
	struct pc_ivlist u = {.v = malloc((a->n + b->n ? a->n + b->n : 1) * sizeof(*u.v))};

	if (!u.v)
		return -ENOMEM;
	if (a->n)
		memcpy(u.v, a->v, a->n * sizeof(*u.v));
	if (b->n)
		memcpy(u.v + a->n, b->v, b->n * sizeof(*u.v));
	u.n = u.cap = a->n + b->n;
	if (pc_ivlist_normalize(&u) < 0) { /* sorts and merges overlaps */
		pc_ivlist_clear(&u);
		return -ENOMEM;
	}
	pc_ivlist_clear(into);
	*into = u;
	return 0;
}

/* Rule 1 for (@a, @b): 1 merged into @b, 0 not, -ENOMEM. */
static int merge_extra(struct conj *a, struct conj *b)
{
	ptrdiff_t x = extra_lit(a, b);
	struct pc_ivlist pass = {0};
	bool all;

	if (x < 0)
		return 0;
	if (passing(&a->pieces, &b->lits[x], &pass) < 0) {
		pc_ivlist_clear(&pass);
		return -ENOMEM;
	}
	all = pc_ivlist_equal(&pass, &a->pieces);
	pc_ivlist_clear(&pass);
	if (!all)
		return 0;
	return pieces_union(&a->pieces, &b->pieces, &b->pieces) < 0 ? -ENOMEM : 1;
}

/* Rule 2 for (@a, @b): 1 merged into @a, 0 not, -ENOMEM. */
static int merge_opposite(struct conj *a, struct conj *b)
{
	ptrdiff_t k = opposite_lit(a, b);
	struct pc_ivlist p = {0}, in = {0}, out = {0};
	struct pc_src_lit flipped;
	struct pc_src_lit *lits;
	int r = -ENOMEM;

	if (k < 0)
		return 0;
	flipped = a->lits[k];
	flipped.negated = !flipped.negated;
	if (pieces_union(&a->pieces, &b->pieces, &p) < 0 || passing(&p, &a->lits[k], &in) < 0 ||
	    passing(&p, &flipped, &out) < 0)
		goto out;
	r = 0;
	if (!pc_ivlist_subset(&in, &a->pieces) || !pc_ivlist_subset(&out, &b->pieces))
		goto out;
	r = -ENOMEM;
	lits = malloc((a->n_lits - 1 ? a->n_lits - 1 : 1) * sizeof(*lits));
	if (!lits)
		goto out;
	for (size_t i = 0, j = 0; i < a->n_lits; i++)
		if ((ptrdiff_t)i != k)
			lits[j++] = a->lits[i];
	free(a->own);
	a->own = lits;
	a->lits = lits;
	a->n_lits--;
	pc_ivlist_clear(&a->pieces);
	a->pieces = p;
	p = (struct pc_ivlist){0};
	r = 1;
out:
	pc_ivlist_clear(&p);
	pc_ivlist_clear(&in);
	pc_ivlist_clear(&out);
	return r;
}

/* Drop c[i], keeping the order of the rest. */
static void conj_drop(struct conj *c, size_t *n, size_t i)
{
	pc_ivlist_clear(&c[i].pieces);
	free(c[i].own);
	memmove(&c[i], &c[i + 1], (*n - i - 1) * sizeof(*c));
	(*n)--;
}

/* Merge the conjunctions of one outcome while the rules above apply (each merge drops one:
 * at most n - 1), then count each one's pieces again. */
int conjs_merge(const struct outcome_groups *gs, struct conj *c, size_t *n)
{
	bool changed = true;

	while (changed) {
		changed = false;
		for (size_t i = 0; i < *n && !changed; i++) {
			for (size_t j = 0; j < *n && !changed; j++) {
				int r = 0;

				if (i == j || c[i].box || c[j].box)
					continue;
				if (i < j &&
				    lits_equal(c[i].lits, c[i].n_lits, c[j].lits, c[j].n_lits)) {
					r = pieces_union(&c[i].pieces, &c[j].pieces, &c[i].pieces);
					if (r == 0) {
						conj_drop(c, n, j);
						r = 1;
					}
				}
				if (r == 0) {
					r = merge_extra(&c[i], &c[j]);
					if (r == 1) /* into j */
						conj_drop(c, n, i);
				}
				if (r == 0 && i < j) {
					r = merge_opposite(&c[i], &c[j]);
					if (r == 1) /* into i */
						conj_drop(c, n, j);
				}
				if (r < 0)
					return r;
				changed = r == 1;
			}
		}
	}
	for (size_t i = 0; i < *n; i++) {
		if (c[i].box)
			continue;
		c[i].n_pieces = 0;
		for (size_t k = 0; k < gs->n_pieces; k++)
			c[i].n_pieces +=
			    pc_ivlist_find(&c[i].pieces, pc_addr_to_u128(&gs->lo[k])) >= 0;
	}
	return 0;
}

/* Whether a conjunction holds in every piece that reaches the listener here, or its tests
 * hold nowhere else. */
bool conj_everywhere(const struct outcome_groups *gs, const struct conj *c)
{
	return gs->n_pieces > 0 && (c->n_pieces == gs->n_pieces || c->pieces_implied);
}

/*
 * The pieces that reach the listener, as runs of neighbours @c holds in (*in) and does
 * not (*out). Only sources no path has (no client has them, or they cannot reach the
 * destination) lie between pieces, so a run may jump them.
 */
int conj_runs(const struct outcome_groups *gs, const struct conj *c, struct pc_ivlist *in,
	      struct pc_ivlist *out)
{
	size_t i = 0;

	while (i < gs->n_pieces) {
		bool covered = pc_ivlist_find(&c->pieces, pc_addr_to_u128(&gs->lo[i])) >= 0;
		size_t k = i;

		while (k + 1 < gs->n_pieces &&
		       (pc_ivlist_find(&c->pieces, pc_addr_to_u128(&gs->lo[k + 1])) >= 0) ==
			   covered)
			k++;
		if (pc_ivlist_append(covered ? in : out, pc_addr_to_u128(&gs->lo[i]),
				     pc_addr_to_u128(&gs->hi[k])) < 0)
			return -ENOMEM;
		i = k + 1;
	}
	return 0;
}
