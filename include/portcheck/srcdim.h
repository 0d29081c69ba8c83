/* SPDX-License-Identifier: MIT */
/*
 * One dimension of a box of sources as the engine carries it: base ∩ clip, where the base
 * is a shared, immutable interval list (a big set's projection, its complement, or what
 * two of them made) and the clip a small interval list of its own. Pure.
 *
 * Why: "not in a blocklist of 200,000 ranges" is a list of 200,000 intervals. Copied,
 * narrowed by every later range test and summed on every path of every listener, it made
 * the analysis O(blocklist) per listener. As a base it is shared (a reference), range
 * tests narrow the clip, and counts come from the base's prefix sums: O(clip * log base).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "portcheck/srcspace.h"

/* A shared, immutable interval list. Made with pc_ivbase_new, shared with pc_ivbase_ref. */
struct pc_ivbase {
	unsigned refs;
	struct pc_ivlist l;
	pc_u128 max;		/* the dimension's largest value: complements are within [0, max] */
	struct pc_ivbase *comp; /* its complement once made (a reference held) */
	struct pc_ivbase *comp_of; /* the base this one is the complement of (not held) */
	double *sums;		   /* sums[k]: values in l.v[0..k) (made on demand) */
	/* Made for one box (two big lists met, srcdim.c meet_bases), not shared with a set:
	 * cut down with the box's clip as it narrows, and counted whole in its weight. */
	bool own;
};

/* A base that takes over the list @l (left empty); NULL when out of memory (@l cleared). */
struct pc_ivbase *pc_ivbase_new(struct pc_ivlist *l, pc_u128 max);
struct pc_ivbase *pc_ivbase_ref(struct pc_ivbase *b);
void pc_ivbase_unref(struct pc_ivbase *b);
/* The complement within [0, max], made once and kept with @b; a new reference, or NULL
 * when out of memory. */
struct pc_ivbase *pc_ivbase_complement(struct pc_ivbase *b);

/* The values base ∩ clip; base NULL: every value of the dimension. */
struct pc_srcdim {
	struct pc_ivbase *base;
	struct pc_ivlist clip;
};

/* The dimension's values are @l (copied; no base). -ENOMEM. */
int pc_srcdim_from_list(struct pc_srcdim *d, const struct pc_ivlist *l);
int pc_srcdim_copy(const struct pc_srcdim *a, struct pc_srcdim *ret);
/* A copy of @a's values in [@lo, @hi] (what pc_srcdim_copy and pc_srcdim_narrow by that
 * interval give, without copying the rest of the clip). -ENOMEM. */
int pc_srcdim_copy_within(const struct pc_srcdim *a, pc_u128 lo, pc_u128 hi, struct pc_srcdim *ret);
void pc_srcdim_clear(struct pc_srcdim *d);
/* Its values as one explicit list, in *ret (cleared first): O(base) when it has one. */
int pc_srcdim_to_list(const struct pc_srcdim *d, struct pc_ivlist *ret);

bool pc_srcdim_has(const struct pc_srcdim *d, pc_u128 x);
bool pc_srcdim_empty(const struct pc_srcdim *d);
/* The least value (the dimension must not be empty). */
pc_u128 pc_srcdim_first(const struct pc_srcdim *d);
/* Whether a value of @d is in @l; whether every value of @d is in @l. */
bool pc_srcdim_overlaps_list(const struct pc_srcdim *d, const struct pc_ivlist *l);
bool pc_srcdim_subset_list(const struct pc_srcdim *d, const struct pc_ivlist *l);
/* d := d ∩ l (@in) or d \ l: the clip is narrowed. -ENOMEM (d unchanged). */
int pc_srcdim_narrow(struct pc_srcdim *d, const struct pc_ivlist *l, bool in);
/* d := d ∩ b (@in) or d \ b, for a list shared as a base: into the clip when it has at
 * most pc_srcdim_fold_max intervals; else a reference when @d has no base (or a small one,
 * folded into the clip), the same or its complement; else the two big lists are
 * intersected within the clip into a new base. -ENOMEM. */
int pc_srcdim_narrow_base(struct pc_srcdim *d, struct pc_ivbase *b, bool in);
/* Lists up to this many intervals (256) meet a dimension in its clip, not as a base. A
 * variable only so that tests can make every list a base (0). It was 4,096: a 2,000-range
 * blocklist's complement was then copied with every box (the bench host's analysis took
 * 1.1 s at 2,000 elements, 0.46 s at 20,000); as a shared base it takes 0.35 s. */
extern size_t pc_srcdim_fold_max;
/* Whether @a and @b share a value. */
bool pc_srcdim_overlaps(const struct pc_srcdim *a, const struct pc_srcdim *b);
/* *ret = a ∩ b. -ENOMEM. */
int pc_srcdim_intersect(const struct pc_srcdim *a, const struct pc_srcdim *b,
			struct pc_srcdim *ret);
/* a \ b as two disjoint dimensions *ret1 ∪ *ret2 (either may be empty). -ENOMEM. */
int pc_srcdim_subtract(const struct pc_srcdim *a, const struct pc_srcdim *b, struct pc_srcdim *ret1,
		       struct pc_srcdim *ret2);
/* How many intervals its values make, and how many values (as a double). */
size_t pc_srcdim_count(const struct pc_srcdim *d);
double pc_srcdim_size(const struct pc_srcdim *d);
/* Both in one walk: the size, and the count in *@count (NULL: not wanted). */
double pc_srcdim_size_count(const struct pc_srcdim *d, size_t *count);
/* The intervals of its values in order: *cursor starts at {0}; false at the end. */
struct pc_srcdim_cursor {
	size_t c, b;
};
bool pc_srcdim_next(const struct pc_srcdim *d, struct pc_srcdim_cursor *cursor, struct pc_ivl *ret);
/* How many intervals it holds in memory of its own: its clip, and its base when that
 * was made for it (a set's shared base counts once). */
size_t pc_srcdim_weight(const struct pc_srcdim *d);
