/* SPDX-License-Identifier: MIT */
/*
 * A source dimension as base ∩ clip (srcdim.h). The base is shared and never changed;
 * every operation narrows the clip, takes a reference to a base, or, only when two
 * different big lists meet, makes a new base of what they share within the clip.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/srcdim.h"

static pc_u128 max_of(pc_u128 a, pc_u128 b)
{
	return a > b ? a : b;
}

static pc_u128 min_of(pc_u128 a, pc_u128 b)
{
	return a < b ? a : b;
}

struct pc_ivbase *pc_ivbase_new(struct pc_ivlist *l, pc_u128 max)
{
	struct pc_ivbase *b = calloc(1, sizeof(*b));

	if (!b) {
		pc_ivlist_clear(l);
		return NULL;
	}
	b->refs = 1;
	b->l = *l;
	*l = (struct pc_ivlist){0};
	b->max = max;
	return b;
}

struct pc_ivbase *pc_ivbase_ref(struct pc_ivbase *b)
{
	if (b)
		b->refs++;
	return b;
}

void pc_ivbase_unref(struct pc_ivbase *b)
{
	if (!b || --b->refs > 0)
		return;
	/* The complement holds no reference back: tell it this one is gone. */
	if (b->comp) {
		b->comp->comp_of = NULL;
		pc_ivbase_unref(b->comp);
	}
	/* comp_of holds a reference to b, so it is gone already; never left dangling. */
	if (b->comp_of)
		b->comp_of->comp = NULL;
	pc_ivlist_clear(&b->l);
	free(b->sums);
	free(b);
}

struct pc_ivbase *pc_ivbase_complement(struct pc_ivbase *b)
{
	struct pc_ivlist c = {0};
	struct pc_ivbase *x;
	pc_u128 next = 0;
	bool to_max = true;

	if (b->comp)
		return pc_ivbase_ref(b->comp);
	if (b->comp_of)
		return pc_ivbase_ref(b->comp_of);
	/* The gaps of a normalised list (apart, in order) are apart and in order too: at most
	 * one more than its intervals, written in place (a blocklist's 200,000, through
	 * pc_ivlist_append one by one, were a tenth of the fixed cost of an analysis). */
	c.v = reallocarray(NULL, b->l.n + 1, sizeof(*c.v));
	if (!c.v)
		return NULL;
	c.cap = b->l.n + 1;
	for (size_t i = 0; i < b->l.n; i++) {
		if (b->l.v[i].lo > next)
			c.v[c.n++] = (struct pc_ivl){next, b->l.v[i].lo - 1};
		if (b->l.v[i].hi >= b->max) {
			to_max = false;
			break;
		}
		next = b->l.v[i].hi + 1;
	}
	if (to_max)
		c.v[c.n++] = (struct pc_ivl){next, b->max};
	x = pc_ivbase_new(&c, b->max);
	if (!x)
		return NULL;
	b->comp = x; /* b's reference */
	x->comp_of = b;
	x->own = b->own; /* counted and cut like the base it came from */
	return pc_ivbase_ref(x);
}

static bool complements(const struct pc_ivbase *a, const struct pc_ivbase *b)
{
	return a && b && (a->comp == b || a->comp_of == b);
}

/* Prefix sums of the sizes (made once; NULL when out of memory: callers sum themselves). */
static const double *base_sums(const struct pc_ivbase *cb)
{
	struct pc_ivbase *b = (struct pc_ivbase *)cb; /* a cache: the values never change */

	if (!b->sums) {
		double *s = calloc(b->l.n + 1, sizeof(*s));

		if (!s)
			return NULL;
		for (size_t k = 0; k < b->l.n; k++)
			s[k + 1] = s[k] + pc_u128_to_double(b->l.v[k].hi - b->l.v[k].lo) + 1;
		b->sums = s;
	}
	return b->sums;
}

int pc_srcdim_from_list(struct pc_srcdim *d, const struct pc_ivlist *l)
{
	*d = (struct pc_srcdim){0};
	return pc_ivlist_copy(l, &d->clip);
}

int pc_srcdim_copy(const struct pc_srcdim *a, struct pc_srcdim *ret)
{
	*ret = (struct pc_srcdim){0};
	if (pc_ivlist_copy(&a->clip, &ret->clip) < 0) {
		pc_ivlist_clear(&ret->clip);
		return -ENOMEM;
	}
	ret->base = pc_ivbase_ref(a->base);
	return 0;
}

void pc_srcdim_clear(struct pc_srcdim *d)
{
	pc_ivbase_unref(d->base);
	pc_ivlist_clear(&d->clip);
	*d = (struct pc_srcdim){0};
}

/* An empty dimension (its base let go). */
static void make_empty(struct pc_srcdim *d)
{
	pc_ivbase_unref(d->base);
	d->base = NULL;
	d->clip.n = 0;
}

int pc_srcdim_to_list(const struct pc_srcdim *d, struct pc_ivlist *ret)
{
	if (!d->base)
		return pc_ivlist_copy(&d->clip, ret);
	return pc_ivlist_intersect(&d->base->l, &d->clip, ret);
}

/*
 * Whether a ∩ b ∩ [lo, hi] holds a value (a, b NULL: every value), leapfrogging: each
 * list is searched from its cursor (*ka, *kb, advanced; calls with ascending ranges
 * reuse them) for the first value at or after the other's, so that two big lists cost
 * the steps where they interleave, never a walk.
 */
static bool meet_in(const struct pc_ivlist *a, const struct pc_ivlist *b, pc_u128 lo, pc_u128 hi,
		    size_t *ka, size_t *kb, pc_u128 *ret)
{
	pc_u128 x = lo;

	for (;;) {
		if (a) {
			*ka = pc_ivlist_seek_from(a, *ka, x);
			if (*ka >= a->n || a->v[*ka].lo > hi)
				return false;
			x = max_of(x, a->v[*ka].lo);
		}
		if (!b) {
			*ret = x;
			return true;
		}
		*kb = pc_ivlist_seek_from(b, *kb, x);
		if (*kb >= b->n || b->v[*kb].lo > hi)
			return false;
		if (b->v[*kb].lo <= x) {
			*ret = x;
			return true;
		}
		x = b->v[*kb].lo; /* a has nothing of b before it: go on from there */
		if (!a) {
			*ret = x;
			return true;
		}
	}
}

bool pc_srcdim_has(const struct pc_srcdim *d, pc_u128 x)
{
	return pc_ivlist_find(&d->clip, x) >= 0 &&
	       (!d->base || pc_ivlist_find(&d->base->l, x) >= 0);
}

/* The least value of @d, if any. */
static bool dim_first(const struct pc_srcdim *d, pc_u128 *ret)
{
	size_t k = 0, unused = 0;

	for (size_t i = 0; i < d->clip.n; i++)
		if (meet_in(d->base ? &d->base->l : NULL, NULL, d->clip.v[i].lo, d->clip.v[i].hi,
			    &k, &unused, ret))
			return true;
	return false;
}

bool pc_srcdim_empty(const struct pc_srcdim *d)
{
	pc_u128 x;

	return !dim_first(d, &x);
}

pc_u128 pc_srcdim_first(const struct pc_srcdim *d)
{
	pc_u128 x = 0;

	dim_first(d, &x);
	return x;
}

/* The intervals of a ∩ b one by one (*i, *j start at 0), galloping on both. */
static bool meet_next(const struct pc_ivlist *a, const struct pc_ivlist *b, size_t *i, size_t *j,
		      struct pc_ivl *ret)
{
	while (*i < a->n && *j < b->n) {
		*i = pc_ivlist_seek_from(a, *i, b->v[*j].lo);
		if (*i >= a->n)
			return false;
		*j = pc_ivlist_seek_from(b, *j, a->v[*i].lo);
		if (*j >= b->n)
			return false;
		if (b->v[*j].lo > a->v[*i].hi) {
			(*i)++;
			continue;
		}
		*ret = (struct pc_ivl){max_of(a->v[*i].lo, b->v[*j].lo),
				       min_of(a->v[*i].hi, b->v[*j].hi)};
		if (a->v[*i].hi < b->v[*j].hi)
			(*i)++;
		else
			(*j)++;
		return true;
	}
	return false;
}

bool pc_srcdim_overlaps_list(const struct pc_srcdim *d, const struct pc_ivlist *l)
{
	size_t i = 0, j = 0, k = 0, unused = 0;
	struct pc_ivl p;
	pc_u128 x;

	if (!d->base)
		return pc_ivlist_overlaps(&d->clip, l);
	while (meet_next(&d->clip, l, &i, &j, &p))
		if (meet_in(&d->base->l, NULL, p.lo, p.hi, &k, &unused, &x))
			return true;
	return false;
}

bool pc_srcdim_subset_list(const struct pc_srcdim *d, const struct pc_ivlist *l)
{
	size_t j = 0, k = 0;

	if (!d->base)
		return pc_ivlist_subset(&d->clip, l);
	/* Each piece of base ∩ clip in turn, stopping at the first outside @l: cheap unless
	 * the answer is yes for a big dimension. */
	for (size_t i = 0; i < d->clip.n; i++) {
		const struct pc_ivl *c = &d->clip.v[i];

		for (k = pc_ivlist_seek_from(&d->base->l, k, c->lo);
		     k < d->base->l.n && d->base->l.v[k].lo <= c->hi; k++) {
			pc_u128 lo = max_of(c->lo, d->base->l.v[k].lo);
			pc_u128 hi = min_of(c->hi, d->base->l.v[k].hi);

			j = pc_ivlist_seek_from(l, j, lo);
			if (j >= l->n || l->v[j].lo > lo || l->v[j].hi < hi)
				return false;
			if (d->base->l.v[k].hi > c->hi)
				break; /* the next clip interval may still meet it */
		}
	}
	return true;
}

/* A base made for this box keeps only what its clip holds (else a path through two big
 * sets would keep their whole intersection however narrow its later tests make it);
 * small enough, it becomes the clip. -ENOMEM (d unchanged in value). */
static int cut_own_base(struct pc_srcdim *d)
{
	struct pc_ivlist x = {0};
	struct pc_ivbase *nb;

	if (!d->base || !d->base->own)
		return 0;
	if (pc_ivlist_intersect(&d->base->l, &d->clip, &x) < 0) {
		pc_ivlist_clear(&x);
		return -ENOMEM;
	}
	if (x.n <= pc_srcdim_fold_max) {
		pc_ivlist_clear(&d->clip);
		d->clip = x;
		pc_ivbase_unref(d->base);
		d->base = NULL;
		return 0;
	}
	if (x.n == d->base->l.n) { /* nothing cut */
		pc_ivlist_clear(&x);
		return 0;
	}
	nb = pc_ivbase_new(&x, d->base->max);
	if (!nb)
		return -ENOMEM;
	nb->own = true;
	pc_ivbase_unref(d->base);
	d->base = nb;
	return 0;
}

int pc_srcdim_copy_within(const struct pc_srcdim *a, pc_u128 lo, pc_u128 hi, struct pc_srcdim *ret)
{
	size_t i = pc_ivlist_seek(&a->clip, lo), j = i, n;

	*ret = (struct pc_srcdim){0};
	while (j < a->clip.n && a->clip.v[j].lo <= hi)
		j++;
	n = j - i;
	if (n && lo <= hi) {
		ret->clip.v = reallocarray(NULL, n, sizeof(*ret->clip.v));
		if (!ret->clip.v)
			return -ENOMEM;
		memcpy(ret->clip.v, a->clip.v + i, n * sizeof(*ret->clip.v));
		ret->clip.n = ret->clip.cap = n;
		ret->clip.v[0].lo = max_of(ret->clip.v[0].lo, lo);
		ret->clip.v[n - 1].hi = min_of(ret->clip.v[n - 1].hi, hi);
	}
	ret->base = pc_ivbase_ref(a->base);
	/* As pc_srcdim_narrow leaves it: a base of the box's own cut to the clip. */
	if (cut_own_base(ret) < 0) {
		pc_srcdim_clear(ret);
		return -ENOMEM;
	}
	return 0;
}

int pc_srcdim_narrow(struct pc_srcdim *d, const struct pc_ivlist *l, bool in)
{
	struct pc_ivlist tmp = {0};
	int r = in ? pc_ivlist_intersect(&d->clip, l, &tmp) : pc_ivlist_subtract(&d->clip, l, &tmp);

	if (r < 0) {
		pc_ivlist_clear(&tmp);
		return r;
	}
	pc_ivlist_clear(&d->clip);
	d->clip = tmp;
	return cut_own_base(d);
}

/* A new base of the values of @a's base, @b (either NULL: every value) and @clip, with
 * @b taken as its complement when @out; NULL when out of memory. */
static struct pc_ivbase *meet_bases(const struct pc_ivbase *a, const struct pc_ivbase *b, bool out,
				    const struct pc_ivlist *clip, pc_u128 max)
{
	struct pc_ivlist x = {0}, y = {0};
	int r;

	r = a ? pc_ivlist_intersect(&a->l, clip, &x) : pc_ivlist_copy(clip, &x);
	if (r >= 0 && b)
		r = out ? pc_ivlist_subtract(&x, &b->l, &y) : pc_ivlist_intersect(&x, &b->l, &y);
	else if (r >= 0) {
		y = x;
		x = (struct pc_ivlist){0};
	}
	pc_ivlist_clear(&x);
	if (r < 0) {
		pc_ivlist_clear(&y);
		return NULL;
	}
	{
		struct pc_ivbase *nb = pc_ivbase_new(&y, max);

		if (nb)
			nb->own = true;
		return nb;
	}
}

size_t pc_srcdim_fold_max = 256;

/*
 * d := d ∩ t, or d \ t when @out. A small list goes into the clip; a big one becomes the
 * base when d has none or only a small one (folded into the clip first); only two big
 * lists that are neither the same nor complements are intersected into a new base,
 * within the clip.
 */
static int dim_meet(struct pc_srcdim *d, struct pc_ivbase *t, bool out)
{
	struct pc_ivbase *nb;

	if (d->base == t) {
		if (out)
			make_empty(d);
		return 0;
	}
	if (complements(d->base, t)) {
		if (!out)
			make_empty(d);
		return 0;
	}
	if (t->l.n <= pc_srcdim_fold_max)
		return pc_srcdim_narrow(d, &t->l, !out);
	if (d->base && d->base->l.n <= pc_srcdim_fold_max) {
		if (pc_srcdim_narrow(d, &d->base->l, true) < 0)
			return -ENOMEM;
		pc_ivbase_unref(d->base);
		d->base = NULL;
	}
	if (!d->base) {
		d->base = out ? pc_ivbase_complement(t) : pc_ivbase_ref(t);
		return d->base ? 0 : -ENOMEM;
	}
	nb = meet_bases(d->base, t, out, &d->clip, t->max);
	if (!nb)
		return -ENOMEM;
	pc_ivbase_unref(d->base);
	d->base = nb;
	return 0;
}

int pc_srcdim_narrow_base(struct pc_srcdim *d, struct pc_ivbase *b, bool in)
{
	return dim_meet(d, b, !in);
}

bool pc_srcdim_overlaps(const struct pc_srcdim *a, const struct pc_srcdim *b)
{
	const struct pc_ivlist *ba = a->base ? &a->base->l : NULL;
	const struct pc_ivlist *bb = b->base ? &b->base->l : NULL;
	size_t i = 0, j = 0, ka = 0, kb = 0;
	struct pc_ivl p;
	pc_u128 x;

	if (complements(a->base, b->base))
		return false;
	if (a->base == b->base)
		bb = NULL;
	while (meet_next(&a->clip, &b->clip, &i, &j, &p))
		if (meet_in(ba, bb, p.lo, p.hi, &ka, &kb, &x))
			return true;
	return false;
}

int pc_srcdim_intersect(const struct pc_srcdim *a, const struct pc_srcdim *b, struct pc_srcdim *ret)
{
	if (pc_srcdim_copy(a, ret) < 0)
		return -ENOMEM;
	if (pc_srcdim_narrow(ret, &b->clip, true) < 0 ||
	    (b->base && dim_meet(ret, b->base, false) < 0)) {
		pc_srcdim_clear(ret);
		return -ENOMEM;
	}
	return 0;
}

int pc_srcdim_subtract(const struct pc_srcdim *a, const struct pc_srcdim *b, struct pc_srcdim *ret1,
		       struct pc_srcdim *ret2)
{
	/* a \ (B ∩ C) = (a \ C) ∪ ((a ∩ C) \ B): the second part only when b has a base. */
	*ret2 = (struct pc_srcdim){0};
	if (pc_srcdim_copy(a, ret1) < 0)
		return -ENOMEM;
	if (pc_srcdim_narrow(ret1, &b->clip, false) < 0)
		goto oom;
	if (!b->base)
		return 0;
	if (pc_srcdim_copy(a, ret2) < 0 || pc_srcdim_narrow(ret2, &b->clip, true) < 0 ||
	    dim_meet(ret2, b->base, true) < 0)
		goto oom;
	return 0;
oom:
	pc_srcdim_clear(ret1);
	pc_srcdim_clear(ret2);
	return -ENOMEM;
}

/* The base's intervals that meet [lo, hi]: [*k1, *k2), searched from *k1. */
static void base_span(const struct pc_ivlist *l, pc_u128 lo, pc_u128 hi, size_t *k1, size_t *k2)
{
	size_t e;

	*k1 = pc_ivlist_seek_from(l, *k1, lo);
	e = pc_ivlist_seek_from(l, *k1, hi);
	if (e < l->n && l->v[e].lo <= hi)
		e++;
	*k2 = e > *k1 ? e : *k1;
}

size_t pc_srcdim_count(const struct pc_srcdim *d)
{
	size_t n = 0, k1 = 0, k2;

	if (!d->base)
		return d->clip.n;
	/* Clip intervals are apart, so no two of their pieces join. */
	for (size_t i = 0; i < d->clip.n; i++) {
		const struct pc_ivlist *l = &d->base->l;
		pc_u128 lo = d->clip.v[i].lo, hi = d->clip.v[i].hi;

		if (k1 < l->n && l->v[k1].lo <= lo && hi <= l->v[k1].hi) {
			n++; /* within the last one's base interval (pc_srcdim_size_count) */
			continue;
		}
		base_span(l, lo, hi, &k1, &k2);
		n += k2 - k1;
	}
	return n;
}

double pc_srcdim_size(const struct pc_srcdim *d)
{
	return pc_srcdim_size_count(d, NULL);
}

double pc_srcdim_size_count(const struct pc_srcdim *d, size_t *count)
{
	const struct pc_ivlist *l = d->base ? &d->base->l : &d->clip;
	const double *sums = d->base ? base_sums(d->base) : NULL;
	size_t k1 = 0, k2, n = 0;
	double size = 0;

	if (!d->base) {
		for (size_t i = 0; i < l->n; i++)
			size += pc_u128_to_double(l->v[i].hi - l->v[i].lo) + 1;
		if (count)
			*count = l->n;
		return size;
	}
	for (size_t i = 0; i < d->clip.n; i++) {
		pc_u128 lo = d->clip.v[i].lo, hi = d->clip.v[i].hi;

		if (k1 < l->n && l->v[k1].lo <= lo && hi <= l->v[k1].hi) {
			/* Within the base interval the last one ended in, as most are (a
			 * blocklist's gaps are wide): what base_span gives, without its two
			 * searches (they were most of counting the paths' ranges). */
			n++;
			size += pc_u128_to_double(hi - lo) + 1;
			continue;
		}
		base_span(l, lo, hi, &k1, &k2);
		n += k2 - k1; /* as pc_srcdim_count counts them */
		if (k2 == k1)
			continue;
		/* The end pieces, clipped, exactly in 128 bits; only the whole intervals between
		 * them from the prefix sums (a difference of two huge sums minus an overhang
		 * lost a small clip inside a big interval). */
		size += pc_u128_to_double(min_of(hi, l->v[k1].hi) - max_of(lo, l->v[k1].lo)) + 1;
		if (k2 - 1 > k1)
			size += pc_u128_to_double(min_of(hi, l->v[k2 - 1].hi) -
						  max_of(lo, l->v[k2 - 1].lo)) +
				1;
		if (k2 - 1 > k1 + 1) {
			if (sums) {
				size += sums[k2 - 1] - sums[k1 + 1];
			} else {
				for (size_t k = k1 + 1; k < k2 - 1; k++)
					size += pc_u128_to_double(l->v[k].hi - l->v[k].lo) + 1;
			}
		}
		k1 = k2 - 1; /* the last one may reach into the next clip interval */
	}
	if (count)
		*count = n;
	return size > 0 ? size : 0;
}

bool pc_srcdim_next(const struct pc_srcdim *d, struct pc_srcdim_cursor *cur, struct pc_ivl *ret)
{
	const struct pc_ivlist *b;

	if (!d->base) {
		if (cur->c >= d->clip.n)
			return false;
		*ret = d->clip.v[cur->c++];
		return true;
	}
	b = &d->base->l;
	while (cur->c < d->clip.n) {
		const struct pc_ivl *c = &d->clip.v[cur->c];

		cur->b = pc_ivlist_seek_from(b, cur->b, c->lo);
		if (cur->b >= b->n)
			return false;
		if (b->v[cur->b].lo > c->hi) {
			cur->c++;
			continue;
		}
		*ret =
		    (struct pc_ivl){max_of(c->lo, b->v[cur->b].lo), min_of(c->hi, b->v[cur->b].hi)};
		if (b->v[cur->b].hi > c->hi)
			cur->c++; /* the base interval may go on into the next clip interval */
		else
			cur->b++;
		return true;
	}
	return false;
}

size_t pc_srcdim_weight(const struct pc_srcdim *d)
{
	if (d->base && d->base->own)
		return d->clip.n + d->base->l.n;
	return d->clip.n + (d->base ? 1 : 0);
}
