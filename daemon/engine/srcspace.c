/* SPDX-License-Identifier: MIT */
/*
 * Interval lists over one dimension of the source (srcspace.h). Every list is kept sorted,
 * disjoint and without adjacent intervals, so equal sets have equal lists.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/srcspace.h"

static pc_u128 low_mask(unsigned k)
{
	return k >= 128 ? ~(pc_u128)0 : (((pc_u128)1 << k) - 1);
}

double pc_u128_to_double(pc_u128 v)
{
	uint64_t high = (uint64_t)(v >> 64), low = (uint64_t)v;

	/* Plain 64-bit conversions: long double ones are a library call per value. */
	return high ? (double)high * 18446744073709551616.0 + (double)low : (double)low;
}

void pc_u128_to_be(pc_u128 v, uint8_t *b, unsigned n)
{
	for (unsigned i = n; i > 0; i--) {
		b[i - 1] = (uint8_t)v;
		v >>= 8;
	}
}

int pc_ivlist_append(struct pc_ivlist *l, pc_u128 lo, pc_u128 hi)
{
	if (l->n > 0 && l->v[l->n - 1].hi != ~(pc_u128)0 && l->v[l->n - 1].hi + 1 >= lo) {
		if (hi > l->v[l->n - 1].hi)
			l->v[l->n - 1].hi = hi;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct pc_ivl *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct pc_ivl){lo, hi};
	return 0;
}

/*
 * Room for what a set operation of @a and @b may produce, up to RESERVE_MAX intervals,
 * in one allocation: the boxes' lists are mostly tens of intervals, which grew through
 * five reallocations each (4, 8, ... 64) before. Past that, appends grow as they go.
 */
#define RESERVE_MAX 64

static int reserve(struct pc_ivlist *l, size_t a, size_t b)
{
	size_t want = a + b < RESERVE_MAX ? a + b : RESERVE_MAX;
	struct pc_ivl *v;

	if (l->cap >= want || want == 0)
		return 0;
	v = reallocarray(l->v, want, sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->cap = want;
	return 0;
}

/* Append the sorted, non-adjacent run @v[0..n): the first one through pc_ivlist_append (it
 * may touch the list's last interval), the rest copied at once. Untouched runs of a
 * blocklist's complement are most of what the set operations below produce. */
static int append_run(struct pc_ivlist *l, const struct pc_ivl *v, size_t n)
{
	if (n == 0)
		return 0;
	if (pc_ivlist_append(l, v[0].lo, v[0].hi) < 0)
		return -ENOMEM;
	v++;
	n--;
	if (n > l->cap - l->n) {
		size_t cap = l->n + n;
		struct pc_ivl *nv;

		if (cap < l->cap * 2)
			cap = l->cap * 2;
		nv = reallocarray(l->v, cap, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	memcpy(l->v + l->n, v, n * sizeof(*v));
	l->n += n;
	return 0;
}

static int ivl_cmp(const void *a, const void *b)
{
	const struct pc_ivl *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int pc_ivlist_normalize(struct pc_ivlist *l)
{
	size_t n = 0;

	bool sorted = true;

	if (l->n < 2)
		return 0;
	/* Lists mostly come in order (a set's elements, a projection's run): no sort then
	 * (it was a tenth of the analysis on the bench host). */
	for (size_t i = 1; i < l->n && sorted; i++)
		sorted = l->v[i - 1].lo <= l->v[i].lo;
	if (!sorted)
		qsort(l->v, l->n, sizeof(*l->v), ivl_cmp);
	for (size_t i = 1; i < l->n; i++) {
		struct pc_ivl *last = &l->v[n];

		if (last->hi == ~(pc_u128)0 || last->hi + 1 >= l->v[i].lo) {
			if (l->v[i].hi > last->hi)
				last->hi = l->v[i].hi;
		} else {
			l->v[++n] = l->v[i];
		}
	}
	l->n = n + 1;
	return 0;
}

/* The first index k >= from of @l with l->v[k].hi >= x (l->n when none): galloping, so
 * that a small list against a blocklist of 200,000 costs O(log n), not a walk. */
static size_t seek_hi(const struct pc_ivlist *l, size_t from, pc_u128 x)
{
	size_t lo = from, step = 1, hi;

	while (lo < l->n && l->v[lo].hi < x) {
		hi = lo + step;
		if (hi >= l->n || l->v[hi].hi >= x) {
			/* the answer is in (lo, min(hi, n)] */
			size_t a = lo + 1, b = hi < l->n ? hi : l->n;

			while (a < b) {
				size_t mid = a + (b - a) / 2;

				if (l->v[mid].hi < x)
					a = mid + 1;
				else
					b = mid;
			}
			return a;
		}
		lo = hi;
		step *= 2;
	}
	return lo;
}

size_t pc_ivlist_seek(const struct pc_ivlist *l, pc_u128 x)
{
	return seek_hi(l, 0, x);
}

size_t pc_ivlist_seek_from(const struct pc_ivlist *l, size_t from, pc_u128 x)
{
	return seek_hi(l, from, x);
}

/*
 * The operations below gallop on both lists: a small list against a blocklist's
 * complement of 200,000 intervals costs O(small * log big) plus what they produce.
 */
int pc_ivlist_intersect(const struct pc_ivlist *a, const struct pc_ivlist *b, struct pc_ivlist *ret)
{
	size_t i = 0, j = 0;

	ret->n = 0;
	if (a->n && b->n && reserve(ret, a->n, b->n) < 0)
		return -ENOMEM;
	while (i < a->n && j < b->n) {
		pc_u128 lo;

		i = seek_hi(a, i, b->v[j].lo);
		if (i >= a->n)
			break;
		j = seek_hi(b, j, a->v[i].lo);
		if (j >= b->n)
			break;
		if (b->v[j].lo > a->v[i].hi) {
			i++;
			continue;
		}
		lo = a->v[i].lo > b->v[j].lo ? a->v[i].lo : b->v[j].lo;
		/* The one that ends first, cut at the start; the next ones of its list that
		 * end before the other does lie wholly inside it (they start past the first's
		 * end): copied as a run. A box's clip of one range against a set's projection
		 * of tens is that run. */
		if (a->v[i].hi < b->v[j].hi) {
			size_t k = seek_hi(a, i + 1, b->v[j].hi);

			if (pc_ivlist_append(ret, lo, a->v[i].hi) < 0 ||
			    append_run(ret, a->v + i + 1, k - i - 1) < 0)
				return -ENOMEM;
			i = k;
		} else {
			size_t k = seek_hi(b, j + 1, a->v[i].hi);

			if (pc_ivlist_append(ret, lo, b->v[j].hi) < 0 ||
			    append_run(ret, b->v + j + 1, k - j - 1) < 0)
				return -ENOMEM;
			j = k;
		}
	}
	return 0;
}

bool pc_ivlist_overlaps(const struct pc_ivlist *a, const struct pc_ivlist *b)
{
	size_t i = 0, j = 0;

	while (i < a->n && j < b->n) {
		j = seek_hi(b, j, a->v[i].lo);
		if (j >= b->n)
			return false;
		if (b->v[j].lo <= a->v[i].hi)
			return true;
		/* b[j] starts after a[i]: the next a that could reach it */
		i = seek_hi(a, i, b->v[j].lo);
		if (i >= a->n)
			return false;
		if (a->v[i].lo <= b->v[j].hi)
			return true;
	}
	return false;
}

int pc_ivlist_subtract(const struct pc_ivlist *a, const struct pc_ivlist *b, struct pc_ivlist *ret)
{
	size_t i = 0, j = 0;

	ret->n = 0;
	if (a->n && reserve(ret, a->n, b->n) < 0)
		return -ENOMEM;
	while (i < a->n) {
		pc_u128 lo, hi;
		size_t k;
		bool done = false;

		j = seek_hi(b, j, a->v[i].lo);
		if (j >= b->n)
			return append_run(ret, a->v + i, a->n - i);
		/* a[i..k) end before b[j] starts: kept whole */
		k = seek_hi(a, i, b->v[j].lo);
		if (append_run(ret, a->v + i, k - i) < 0)
			return -ENOMEM;
		i = k;
		if (i >= a->n)
			break;
		lo = a->v[i].lo;
		hi = a->v[i].hi;
		j = seek_hi(b, j, lo);
		for (size_t m = j; m < b->n && b->v[m].lo <= hi; m++) {
			if (b->v[m].lo > lo && pc_ivlist_append(ret, lo, b->v[m].lo - 1) < 0)
				return -ENOMEM;
			if (b->v[m].hi >= hi) {
				done = true;
				break;
			}
			lo = b->v[m].hi + 1;
		}
		if (!done && pc_ivlist_append(ret, lo, hi) < 0)
			return -ENOMEM;
		i++;
	}
	return 0;
}

int pc_ivlist_copy(const struct pc_ivlist *a, struct pc_ivlist *ret)
{
	/* One allocation of the exact size: most copies are of a box's one or two
	 * intervals, and growing through pc_ivlist_append was most of their cost. */
	ret->n = 0;
	if (a->n == 0)
		return 0;
	if (ret->cap < a->n) {
		struct pc_ivl *v = reallocarray(ret->v, a->n, sizeof(*v));

		if (!v)
			return -ENOMEM;
		ret->v = v;
		ret->cap = a->n;
	}
	memcpy(ret->v, a->v, a->n * sizeof(*a->v));
	ret->n = a->n;
	return 0;
}

ptrdiff_t pc_ivlist_find(const struct pc_ivlist *l, pc_u128 x)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->v[mid].hi < x)
			lo = mid + 1;
		else if (l->v[mid].lo > x)
			hi = mid;
		else
			return (ptrdiff_t)mid;
	}
	return -1;
}

bool pc_ivlist_equal(const struct pc_ivlist *a, const struct pc_ivlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].lo != b->v[i].lo || a->v[i].hi != b->v[i].hi)
			return false;
	return true;
}

bool pc_ivlist_subset(const struct pc_ivlist *a, const struct pc_ivlist *b)
{
	size_t j = 0;

	for (size_t i = 0; i < a->n; i++) {
		j = seek_hi(b, j, a->v[i].lo);
		/* Lists have no adjacent intervals: one interval of b must hold all of it. */
		if (j == b->n || b->v[j].lo > a->v[i].lo || b->v[j].hi < a->v[i].hi)
			return false;
	}
	return true;
}

/* The smallest y >= x with (y & mask) == value, in *ret; false when there is none. */
static bool next_match(pc_u128 x, pc_u128 mask, pc_u128 value, unsigned bits, pc_u128 *ret)
{
	pc_u128 diff = (x ^ value) & mask;
	unsigned i = 127, j;

	if (!diff) {
		*ret = x;
		return true;
	}
	while (!((diff >> i) & 1))
		i--;
	if ((value >> i) & 1) {
		/* Bit i must become 1: above it x already fits; below, the least that fits. */
		*ret = (x & ~low_mask(i + 1)) | ((pc_u128)1 << i) | (value & low_mask(i));
		return true;
	}
	/* Bit i must become 0: carry into the lowest free bit above it that is 0. */
	for (j = i + 1; j < bits; j++)
		if (!((mask >> j) & 1) && !((x >> j) & 1))
			break;
	if (j >= bits)
		return false;
	*ret = (x & ~low_mask(j + 1)) | ((pc_u128)1 << j) | (value & low_mask(j));
	return true;
}

int pc_ivlist_masked(const struct pc_ivlist *within, pc_u128 mask, pc_u128 value, unsigned bits,
		     size_t max, struct pc_ivlist *ret)
{
	unsigned z = 0;

	ret->n = 0;
	mask &= low_mask(bits);
	if (value & ~mask)
		return 0;
	/* Values agreeing above the lowest masked bit form blocks of 2^z. */
	while (z < bits && !((mask >> z) & 1))
		z++;
	for (size_t i = 0; i < within->n; i++) {
		pc_u128 x = within->v[i].lo, hi = within->v[i].hi, y, e;

		for (;;) {
			if (!next_match(x, mask, value, bits, &y) || y > hi)
				break;
			e = y | low_mask(z);
			if (e > hi)
				e = hi;
			if (pc_ivlist_append(ret, y, e) < 0)
				return -ENOMEM;
			if (ret->n > max)
				return -E2BIG;
			if (e == hi)
				break;
			x = e + 1;
		}
	}
	return 0;
}

bool pc_u128_is_prefix_mask(pc_u128 mask, unsigned bits)
{
	pc_u128 inv = ~mask & low_mask(bits);

	/* The cleared bits are the low ones: inv + 1 is a power of two. */
	return (inv & (inv + 1)) == 0;
}

void pc_ivlist_clear(struct pc_ivlist *l)
{
	free(l->v);
	*l = (struct pc_ivlist){0};
}
