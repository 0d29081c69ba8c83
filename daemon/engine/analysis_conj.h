/* SPDX-License-Identifier: MIT */
/*
 * A path's sources as conjunctions (analysis_conj.c): the members of one outcome with
 * equal tests joined, then merged where that is exact. analysis_srcform.c tells them in
 * words and in the JSON form.
 */
#pragma once

#include "analysis_internal.h"

struct conj {
	const struct pc_src_lit *lits;
	size_t n_lits;
	struct pc_ivlist pieces; /* the pieces it holds in, as address intervals */
	size_t n_pieces;
	/* No source of the pieces it does not hold in passes its tests: the pieces need
	 * not be said (e.g. "in set S" where S lies in one piece). */
	bool pieces_implied;
	/* What the engine left past a budget: told by its box (address and port ranges). */
	const struct pc_src_result *box;
	struct pc_src_lit *own; /* lits, when a merge made them (conjs_merge) */
};

/* The conjunctions of @g's members, in member order (*ret freed by conjs_clear). -ENOMEM. */
int conjs_of(const struct outcome_group *g, struct conj **ret, size_t *n_ret);
/* Merge them where the union is exact, and count each one's pieces among @gs's. -ENOMEM. */
int conjs_merge(const struct outcome_groups *gs, struct conj *c, size_t *n);
void conjs_clear(struct conj *c, size_t n);
