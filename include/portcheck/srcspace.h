/* SPDX-License-Identifier: MIT */
/*
 * Sets of source values as sorted, disjoint, non-adjacent interval lists: one dimension
 * of the symbolic source (the address, IPv6 as 128 bits, or the port). Pure.
 */
#pragma once

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef unsigned __int128 pc_u128;

struct pc_ivl {
	pc_u128 lo, hi; /* inclusive */
};

struct pc_ivlist {
	struct pc_ivl *v;
	size_t n, cap;
};

/* The largest value of @bits bits (bits <= 128). Inline, as the next: the analysis calls
 * them millions of times (a call each was a few percent of it). */
static inline pc_u128 pc_u128_max(unsigned bits)
{
	return bits >= 128 ? ~(pc_u128)0 : (((pc_u128)1 << bits) - 1);
}

/* The value as a double (for shares of the space). */
double pc_u128_to_double(pc_u128 v);

/* Big-endian bytes <-> value. */
static inline pc_u128 pc_u128_from_be(const uint8_t *b, unsigned n)
{
	pc_u128 v = 0;

	/* Addresses and ports: whole words. */
	if (n == 4) {
		uint32_t w;

		memcpy(&w, b, 4);
		return be32toh(w);
	}
	if (n == 2) {
		uint16_t w;

		memcpy(&w, b, 2);
		return be16toh(w);
	}
	if (n == 16) {
		uint64_t hi, lo;

		memcpy(&hi, b, 8);
		memcpy(&lo, b + 8, 8);
		return (pc_u128)be64toh(hi) << 64 | be64toh(lo);
	}
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

void pc_u128_to_be(pc_u128 v, uint8_t *b, unsigned n);

/* Append [lo, hi] after every interval already there (lo above the last end; an adjacent
 * one is merged). Returns 0 or -ENOMEM. */
int pc_ivlist_append(struct pc_ivlist *l, pc_u128 lo, pc_u128 hi);
/* Sort and merge a list appended in any order (overlaps allowed). -ENOMEM. */
int pc_ivlist_normalize(struct pc_ivlist *l);
/* *ret = a ∩ b, a \ b (ret must not be a or b; it is cleared first). -ENOMEM. */
int pc_ivlist_intersect(const struct pc_ivlist *a, const struct pc_ivlist *b,
			struct pc_ivlist *ret);
int pc_ivlist_subtract(const struct pc_ivlist *a, const struct pc_ivlist *b, struct pc_ivlist *ret);
/* Whether @a and @b share a value (no allocation). */
bool pc_ivlist_overlaps(const struct pc_ivlist *a, const struct pc_ivlist *b);
int pc_ivlist_copy(const struct pc_ivlist *a, struct pc_ivlist *ret);
/* The index of the first interval that ends at or after @x (l->n when none). */
size_t pc_ivlist_seek(const struct pc_ivlist *l, pc_u128 x);
/* The same from index @from on (the answer is at or after it). */
size_t pc_ivlist_seek_from(const struct pc_ivlist *l, size_t from, pc_u128 x);
/* The index of the interval holding @x, or -1. */
ptrdiff_t pc_ivlist_find(const struct pc_ivlist *l, pc_u128 x);
bool pc_ivlist_equal(const struct pc_ivlist *a, const struct pc_ivlist *b);
/* True when every value of @a is in @b. */
bool pc_ivlist_subset(const struct pc_ivlist *a, const struct pc_ivlist *b);
/*
 * The values x of @within with (x & mask) == value, as intervals, in *ret. Returns 0,
 * -E2BIG when that takes more than @max intervals (a mask with cleared bits above set
 * ones scatters the values), or -ENOMEM.
 */
int pc_ivlist_masked(const struct pc_ivlist *within, pc_u128 mask, pc_u128 value, unsigned bits,
		     size_t max, struct pc_ivlist *ret);
/* True when @mask (of @bits bits) is a prefix mask: ones, then zeros. */
bool pc_u128_is_prefix_mask(pc_u128 mask, unsigned bits);
void pc_ivlist_clear(struct pc_ivlist *l);
