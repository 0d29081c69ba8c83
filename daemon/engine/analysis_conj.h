/* SPDX-License-Identifier: MIT */
/*
 * A path's sources as conjunctions (analysis_conj.c): the members of one outcome with
 * equal tests joined, then merged where that is exact. analysis_srcform.c tells them in
 * words, analysis_srcjson.c writes the JSON form.
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

/* Whether @c holds in every piece that reaches the listener here, or its tests hold
 * nowhere else. */
bool conj_everywhere(const struct outcome_groups *gs, const struct conj *c);
/* The pieces that reach the listener, as runs of neighbours @c holds in (*in) and does
 * not (*out). -ENOMEM. */
int conj_runs(const struct outcome_groups *gs, const struct conj *c, struct pc_ivlist *in,
	      struct pc_ivlist *out);

/* --- analysis_srcjson.c ---------------------------------------------------------------- */

/* What a path's sources form is written from. */
/* Explicit address ranges listed in "address_ranges". */
#define FORM_FIRST_RANGES 3

/* A path's "address_ranges": its first ranges, how many it has, how many addresses. */
struct form_ranges {
	struct pc_ivl first[FORM_FIRST_RANGES];
	size_t n_first;
	size_t total;
	double size;
};

/* The "address_ranges" of @g's members. -ENOMEM. */
int form_ranges_of(const struct outcome_group *g, struct form_ranges *ret);

struct form_spec {
	const struct outcome_groups *gs;
	const struct conj *conj;
	size_t n_conj;
	int family;
	/* Shared (the Status reply's sources table entry: sets by index into sets->report,
	 * @port as "destination_port", @words in it), or NULL: inline (Explain's version 1). */
	struct form_sets *sets;
	int port;
	const char *words;
	struct pc_addr example;
	uint16_t example_port;
	/* "address_ranges", or NULL (not when any_of lists plain ranges already) */
	const struct form_ranges *ranges;
};

/* The form as compact JSON text in *ret. -ENOMEM. */
int form_json(const struct form_spec *f, char **ret);
/* Whether a set literal names its set (a named set whose key layout shows where the
 * source is), rather than listing its members. */
bool lit_names_set(const struct pc_src_lit *l);
/* For a shared form: @l's key bytes into @key (PC_NFT_DATA_MAX) with the fields that read
 * "destination_port" (equal to @port) zeroed, and those fields as a bit mask. */
uint32_t lit_key_port_fields(const struct pc_src_lit *l, int port, uint8_t *key);
/* "accept", "drop", "continue", "return", "jump", "goto", or NULL for another code. */
const char *verdict_word(int32_t code);
