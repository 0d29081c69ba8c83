/* SPDX-License-Identifier: MIT */
/*
 * Source dimensions (srcdim.h: base ∩ clip) against the obvious model: sets of a small
 * universe as bit maps. Random bases (none, fresh, shared by both operands, one and its
 * complement) and clips, every operation, every value; the top edge of 128 bits by hand;
 * ports; and the references of a base and its complement freed in either order.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/srcdim.h"

static unsigned nu; /* the universe: values [0, nu), the dimension's max nu - 1 */

static uint8_t *bm_new(void)
{
	uint8_t *b = calloc(nu, 1);

	assert_non_null(b);
	return b;
}

/* @l is sorted, disjoint, not adjacent, within [0, max]. */
static void assert_canon(const struct pc_ivlist *l, pc_u128 max)
{
	for (size_t i = 0; i < l->n; i++) {
		assert_true(l->v[i].lo <= l->v[i].hi && l->v[i].hi <= max);
		if (i > 0)
			assert_true(l->v[i - 1].hi < l->v[i].lo && l->v[i - 1].hi + 1 < l->v[i].lo);
	}
}

static void bm_of(const struct pc_ivlist *l, uint8_t *b)
{
	assert_canon(l, nu - 1);
	memset(b, 0, nu);
	for (size_t i = 0; i < l->n; i++)
		for (unsigned k = (unsigned)l->v[i].lo; k <= (unsigned)l->v[i].hi; k++)
			b[k] = 1;
}

/* @l is exactly @want (and canonical). */
static void assert_is(const struct pc_ivlist *l, const uint8_t *want)
{
	uint8_t *got = bm_new();

	bm_of(l, got);
	assert_memory_equal(got, want, nu);
	free(got);
}

/* The canonical list of a bit map. */
static void list_of(const uint8_t *b, struct pc_ivlist *l)
{
	unsigned start = 0;

	l->n = 0;
	for (unsigned x = 0; x < nu; x++) {
		if (b[x] && (x == 0 || !b[x - 1]))
			start = x;
		if (b[x] && (x == nu - 1 || !b[x + 1]))
			assert_int_equal(pc_ivlist_append(l, start, x), 0);
	}
}

/* A random set: 0..12 intervals of mixed lengths (merged when they meet), the edges often. */
static void random_bm(unsigned *s, uint8_t *b)
{
	const unsigned k = (unsigned)rand_r(s) % 13, span[] = {1, 8, nu / 16, nu / 2};

	memset(b, 0, nu);
	if (k == 12 && rand_r(s) % 2) /* dense: many short intervals, for the galloping */
		for (unsigned x = 0; x < nu; x++)
			b[x] = rand_r(s) % 3 == 0;
	for (unsigned i = 0; i < k; i++) {
		unsigned lo = (unsigned)rand_r(s) % nu, r = (unsigned)rand_r(s) % 4;
		unsigned len = 1 + (unsigned)rand_r(s) % span[r];

		if (rand_r(s) % 8 == 0)
			lo = 0;
		else if (rand_r(s) % 8 == 0)
			lo = len >= nu ? 0 : nu - len;
		for (unsigned x = lo; x < nu && x - lo < len; x++)
			b[x] = 1;
	}
}

static struct pc_ivbase *new_base(struct pc_ivlist *l, pc_u128 max)
{
	struct pc_ivbase *b = pc_ivbase_new(l, max);

	assert_non_null(b);
	return b;
}

/* A base made of the set @b (checked: it took the list, it holds the set, one reference). */
static struct pc_ivbase *base_of(const uint8_t *b)
{
	struct pc_ivlist l = {0};
	struct pc_ivbase *base;

	list_of(b, &l);
	base = new_base(&l, nu - 1);
	assert_true(l.n == 0 && l.v == NULL);
	assert_int_equal(base->refs, 1);
	assert_true(base->max == nu - 1);
	assert_is(&base->l, b);
	return base;
}

/* Whether @x is in @base: every value when there is none. */
static bool in_base(const struct pc_ivbase *base, unsigned x)
{
	return !base || pc_ivlist_find(&base->l, x) >= 0;
}

static struct pc_ivbase *comp(struct pc_ivbase *b)
{
	struct pc_ivbase *c = pc_ivbase_complement(b);

	assert_non_null(c);
	return c;
}

/* The complement of @b, checked, with @b's own; a new reference (kept in @held). */
static struct pc_ivbase *complement(struct pc_ivbase *b, struct pc_ivbase **held, int *nheld)
{
	struct pc_ivbase *c = comp(b), *cc;

	assert_true(c != b && c->max == b->max);
	assert_canon(&c->l, nu - 1);
	for (unsigned x = 0; x < nu; x++)
		assert_int_equal(in_base(b, x), !in_base(c, x));
	cc = comp(c); /* the complement's complement: @b itself */
	assert_ptr_equal(cc, b);
	pc_ivbase_unref(cc);
	cc = comp(b); /* made once */
	assert_ptr_equal(cc, c);
	pc_ivbase_unref(cc);
	held[(*nheld)++] = c;
	return c;
}

/* A random dimension on @base, its clip taken directly or made by from_list + narrow_base. */
static void make_dim(unsigned *s, struct pc_ivbase *base, struct pc_srcdim *d, uint8_t *want)
{
	uint8_t *c = bm_new();
	struct pc_ivlist l = {0};

	if (rand_r(s) % 6 == 0)
		memset(c, 1, nu);
	else
		random_bm(s, c);
	list_of(c, &l);
	if (rand_r(s) % 2) {
		d->base = base ? pc_ivbase_ref(base) : NULL;
		d->clip = l;
	} else {
		assert_int_equal(pc_srcdim_from_list(d, &l), 0);
		assert_null(d->base);
		assert_is(&d->clip, c);
		pc_ivlist_clear(&l);
		if (base) {
			assert_int_equal(pc_srcdim_narrow_base(d, base, true), 0);
			if (base->l.n > pc_srcdim_fold_max)
				assert_ptr_equal(d->base, base); /* no base: a reference */
		}
	}
	for (unsigned x = 0; x < nu; x++)
		want[x] = c[x] && in_base(base, x);
	free(c);
}

/* @d is @want by to_list (into a list not empty), has for every value, empty, first, next
 * (to_list's intervals), count, size, weight; its clip and base are canonical. */
static void check_dim(const struct pc_srcdim *d, const uint8_t *want)
{
	struct pc_ivlist l = {0};
	struct pc_srcdim_cursor cur = {0};
	struct pc_ivl iv;
	size_t i = 0, values = 0;
	unsigned least = nu;

	assert_int_equal(pc_ivlist_append(&l, nu / 2, nu / 2), 0); /* to_list clears first */
	assert_int_equal(pc_srcdim_to_list(d, &l), 0);
	assert_is(&l, want);
	assert_canon(&d->clip, nu - 1);
	if (d->base) {
		assert_canon(&d->base->l, nu - 1);
		assert_true(d->base->refs >= 1 && d->base->max == nu - 1);
	}
	for (unsigned x = 0; x < nu; x++) {
		assert_int_equal(pc_srcdim_has(d, x), want[x]);
		values += want[x];
		if (want[x] && least == nu)
			least = x;
	}
	assert_int_equal(pc_srcdim_empty(d), values == 0);
	assert_true(!values || pc_srcdim_first(d) == least);
	for (; pc_srcdim_next(d, &cur, &iv); i++)
		assert_true(i < l.n && iv.lo == l.v[i].lo && iv.hi == l.v[i].hi);
	assert_int_equal(i, l.n);
	assert_int_equal(pc_srcdim_count(d), l.n);
	assert_true(pc_srcdim_size(d) == (double)values);
	{
		size_t count = SIZE_MAX;

		assert_true(pc_srcdim_size_count(d, &count) == (double)values);
		assert_int_equal(count, l.n);
	}
	assert_true(pc_srcdim_weight(d) >= d->clip.n);
	pc_ivlist_clear(&l);
}

/* @d's values, read by to_list (canonical, within the dimension). */
static void dim_bm(const struct pc_srcdim *d, uint8_t *b)
{
	struct pc_ivlist l = {0};

	assert_int_equal(pc_srcdim_to_list(d, &l), 0);
	bm_of(&l, b);
	pc_ivlist_clear(&l);
}

/* d := copy of @a narrowed by the base @nb (in or out), against the model. */
static void check_narrow_base(const struct pc_srcdim *a, const uint8_t *wa, struct pc_ivbase *nb)
{
	uint8_t *want = bm_new();

	for (int in = 0; in < 2; in++) {
		struct pc_srcdim d;

		assert_int_equal(pc_srcdim_copy(a, &d), 0);
		assert_int_equal(pc_srcdim_narrow_base(&d, nb, in), 0);
		if (in && (a->base == NULL || a->base == nb) && nb->l.n > pc_srcdim_fold_max)
			assert_ptr_equal(d.base, nb); /* a reference: no intersection */
		for (unsigned x = 0; x < nu; x++)
			want[x] = wa[x] && in_base(nb, x) == in;
		check_dim(&d, want);
		pc_srcdim_clear(&d);
	}
	check_dim(a, wa); /* a copy: @a as it was */
	free(want);
}

/* A base for an operand: none, @b0, a fresh one, or @own or its complement (the fast
 * paths: a base shared by both operands, or one and its complement). */
static struct pc_ivbase *pick_base(unsigned *s, struct pc_ivbase *b0, struct pc_ivbase *own,
				   struct pc_ivbase **held, int *nheld)
{
	unsigned r = (unsigned)rand_r(s) % 5;
	uint8_t *bm;

	if (r == 0 || (r < 3 && !own))
		return r == 0 ? NULL : b0;
	if (r == 1)
		return own;
	if (r == 2)
		return complement(own, held, nheld);
	if (r == 3)
		return b0;
	bm = bm_new();
	random_bm(s, bm);
	held[*nheld] = base_of(bm);
	free(bm);
	return held[(*nheld)++];
}

/* One random case: two dimensions, a list, every operation. */
static void check_case(unsigned seed)
{
	unsigned s = seed;
	struct pc_ivbase *held[8], *b0 = NULL, *ab, *bb, *nb;
	int nheld = 0;
	struct pc_srcdim a, b, r, r2;
	struct pc_ivlist l = {0};
	uint8_t *m = calloc(6, nu), *wa = m, *wb = m + nu, *bl = m + 2 * nu, *want = m + 3 * nu,
		*g1 = m + 4 * nu, *g2 = m + 5 * nu;
	bool any = false, all = true;

	assert_non_null(m);
	random_bm(&s, bl);
	if (rand_r(&s) % 5)
		b0 = held[nheld++] = base_of(bl);
	ab = pick_base(&s, b0, b0, held, &nheld);
	bb = pick_base(&s, b0, ab, held, &nheld);
	make_dim(&s, ab, &a, wa);
	make_dim(&s, bb, &b, wb);
	random_bm(&s, bl);
	list_of(bl, &l);
	check_dim(&a, wa);
	check_dim(&b, wb);

	assert_int_equal(pc_srcdim_from_list(&r, &l), 0);
	assert_null(r.base);
	check_dim(&r, bl);
	pc_srcdim_clear(&r);
	assert_int_equal(pc_srcdim_copy(&a, &r), 0);
	check_dim(&r, wa);
	pc_srcdim_clear(&r);

	for (unsigned x = 0; x < nu; x++) {
		any |= wa[x] && bl[x];
		all &= !wa[x] || bl[x];
	}
	assert_int_equal(pc_srcdim_overlaps_list(&a, &l), any);
	assert_int_equal(pc_srcdim_subset_list(&a, &l), all);
	for (int in = 0; in < 2; in++) {
		assert_int_equal(pc_srcdim_copy(&a, &r), 0);
		assert_int_equal(pc_srcdim_narrow(&r, &l, in), 0);
		for (unsigned x = 0; x < nu; x++)
			want[x] = wa[x] && (in ? bl[x] : !bl[x]);
		check_dim(&r, want);
		pc_srcdim_clear(&r);
	}

	/* A copy within an interval: the values of a there, the base as narrow leaves it. */
	{
		unsigned x1 = (unsigned)rand_r(&s) % nu, x2 = (unsigned)rand_r(&s) % nu;
		unsigned lo = x1 < x2 ? x1 : x2, hi = x1 < x2 ? x2 : x1;
		struct pc_ivl one = {lo, hi};
		struct pc_ivlist l1 = {.v = &one, .n = 1, .cap = 1};

		assert_int_equal(pc_srcdim_copy_within(&a, lo, hi, &r), 0);
		assert_int_equal(pc_srcdim_copy(&a, &r2), 0);
		assert_int_equal(pc_srcdim_narrow(&r2, &l1, true), 0);
		for (unsigned x = 0; x < nu; x++)
			want[x] = wa[x] && x >= lo && x <= hi;
		check_dim(&r, want);
		assert_ptr_equal(r.base, r2.base);
		assert_int_equal(r.clip.n, r2.clip.n);
		assert_true(r.clip.n == 0 ||
			    memcmp(r.clip.v, r2.clip.v, r.clip.n * sizeof(*r.clip.v)) == 0);
		pc_srcdim_clear(&r);
		pc_srcdim_clear(&r2);
	}

	/* narrow_base by a's own base, its complement, b's, a fresh one; and without a base */
	if (ab) {
		check_narrow_base(&a, wa, ab);
		check_narrow_base(&a, wa, complement(ab, held, &nheld));
	}
	if (bb)
		check_narrow_base(&a, wa, bb);
	random_bm(&s, want);
	nb = held[nheld++] = base_of(want);
	check_narrow_base(&a, wa, nb);
	assert_int_equal(pc_srcdim_from_list(&r, &a.clip), 0);
	dim_bm(&r, g1);
	check_narrow_base(&r, g1, ab ? ab : nb);
	pc_srcdim_clear(&r);

	any = false;
	for (unsigned x = 0; x < nu; x++) {
		want[x] = wa[x] && wb[x];
		any |= want[x];
	}
	for (int swap = 0; swap < 2; swap++) { /* a op b, b op a */
		const struct pc_srcdim *x1 = swap ? &b : &a, *x2 = swap ? &a : &b;
		const uint8_t *w1 = swap ? wb : wa, *w2 = swap ? wa : wb;

		assert_int_equal(pc_srcdim_overlaps(x1, x2), any);
		r = (struct pc_srcdim){0};
		assert_int_equal(pc_srcdim_intersect(x1, x2, &r), 0);
		check_dim(&r, want);
		pc_srcdim_clear(&r);
		r = r2 = (struct pc_srcdim){0};
		assert_int_equal(pc_srcdim_subtract(x1, x2, &r, &r2), 0);
		dim_bm(&r, g1);
		dim_bm(&r2, g2);
		check_dim(&r, g1);
		check_dim(&r2, g2);
		for (unsigned x = 0; x < nu; x++) {
			assert_false(g1[x] && g2[x]); /* disjoint */
			assert_int_equal(g1[x] || g2[x], w1[x] && !w2[x]);
		}
		pc_srcdim_clear(&r);
		pc_srcdim_clear(&r2);
	}
	r = r2 = (struct pc_srcdim){0};
	assert_int_equal(pc_srcdim_subtract(&a, &a, &r, &r2), 0);
	assert_true(pc_srcdim_empty(&r) && pc_srcdim_empty(&r2));
	pc_srcdim_clear(&r);
	pc_srcdim_clear(&r2);

	while (nheld > 0) /* the dimensions hold their own references */
		pc_ivbase_unref(held[--nheld]);
	check_dim(&a, wa); /* the operands as they were */
	check_dim(&b, wb);
	pc_srcdim_clear(&a);
	pc_srcdim_clear(&b);
	pc_ivlist_clear(&l);
	free(m);
}

/* Every list a base (the engine folds lists of up to pc_srcdim_fold_max intervals into
 * the clip; the random ones are that small), then with folding as the engine has it. */
static void test_random8(void **state)
{
	size_t saved = pc_srcdim_fold_max;

	(void)state;
	nu = 256;
	pc_srcdim_fold_max = 0;
	for (unsigned seed = 1; seed <= 2000; seed++)
		check_case(seed);
	pc_srcdim_fold_max = 3;
	for (unsigned seed = 1; seed <= 2000; seed++)
		check_case(seed);
	pc_srcdim_fold_max = saved;
}

static void list2(struct pc_ivlist *l, pc_u128 lo1, pc_u128 hi1, pc_u128 lo2, pc_u128 hi2)
{
	l->n = 0;
	assert_int_equal(pc_ivlist_append(l, lo1, hi1), 0);
	if (lo2 <= hi2)
		assert_int_equal(pc_ivlist_append(l, lo2, hi2), 0);
}

/* Ports: 16 bits, fewer cases (every value is read), and a blocklist by hand. */
static void test_ports(void **state)
{
	struct pc_ivlist l = {0};
	struct pc_ivbase *b, *c;
	struct pc_srcdim d;
	struct pc_ivl iv;
	struct pc_srcdim_cursor cur = {0};

	(void)state;
	nu = 65536;
	for (unsigned seed = 1; seed <= 100; seed++)
		check_case(seed);

	list2(&l, 22, 22, 80, 80); /* a blocklist of ports */
	b = new_base(&l, 65535);
	c = comp(b);
	assert_true(c->l.n == 3 && c->l.v[1].lo == 23 && c->l.v[2].lo == 81 &&
		    c->l.v[2].hi == 65535);
	list2(&l, 0, 1023, 1, 0);
	assert_int_equal(pc_srcdim_from_list(&d, &l), 0);
	assert_int_equal(pc_srcdim_narrow_base(&d, b, false), 0); /* below 1024, not listed */
	assert_true(pc_srcdim_size(&d) == 1022.0 && pc_srcdim_count(&d) == 3);
	assert_true(!pc_srcdim_has(&d, 80) && pc_srcdim_has(&d, 1023) && !pc_srcdim_has(&d, 1024));
	assert_true(pc_srcdim_next(&d, &cur, &iv) && iv.lo == 0 && iv.hi == 21);
	pc_srcdim_clear(&d);
	pc_ivlist_clear(&l);
	pc_ivbase_unref(c);
	pc_ivbase_unref(b);
}

static bool is1(const struct pc_ivlist *l, pc_u128 lo, pc_u128 hi)
{
	return l->n == 1 && l->v[0].lo == lo && l->v[0].hi == hi;
}

/* *r = a ∩ nb or a \ nb, by narrow_base on a copy. */
static void narrowed(const struct pc_srcdim *a, struct pc_ivbase *nb, bool in, struct pc_srcdim *r)
{
	assert_int_equal(pc_srcdim_copy(a, r), 0);
	assert_int_equal(pc_srcdim_narrow_base(r, nb, in), 0);
}

/* Whether @d is the one interval [lo, hi]. */
static bool only(const struct pc_srcdim *d, pc_u128 lo, pc_u128 hi)
{
	struct pc_ivlist o = {0};
	bool r;

	assert_int_equal(pc_srcdim_to_list(d, &o), 0);
	r = is1(&o, lo, hi);
	pc_ivlist_clear(&o);
	return r;
}

/* 128 bits: the top edge, where hi + 1 wraps. */
static void test_edge128(void **state)
{
	const pc_u128 M = pc_u128_max(128);
	struct pc_ivlist l = {0};
	struct pc_ivbase *b, *c, *e, *ec, *t;
	struct pc_srcdim d, full, d2, r, r2;
	struct pc_srcdim_cursor cur = {0};
	struct pc_ivl iv;

	(void)state;
	assert_int_equal(pc_ivlist_append(&l, M - 10, M), 0); /* a list ending at max */
	b = new_base(&l, M);
	c = comp(b);
	assert_true(is1(&c->l, 0, M - 11) && c->max == M);
	t = pc_ivbase_complement(c);
	assert_ptr_equal(t, b);
	assert_int_equal(b->refs, 2);
	pc_ivbase_unref(t);
	e = new_base(&l, M); /* empty: its complement is [0, max] */
	ec = comp(e);
	assert_true(e->l.n == 0 && is1(&ec->l, 0, M));
	t = pc_ivbase_complement(ec);
	assert_ptr_equal(t, e);
	pc_ivbase_unref(t);

	/* every value: 2^128 of them, one interval, next does not wrap */
	list2(&l, 0, M, 1, 0);
	assert_int_equal(pc_srcdim_from_list(&full, &l), 0);
	assert_true(fabs(pc_srcdim_size(&full) - 0x1p128) < 0x1p80);
	assert_true(pc_srcdim_next(&full, &cur, &iv) && iv.lo == 0 && iv.hi == M);
	assert_false(pc_srcdim_next(&full, &cur, &iv));
	narrowed(&full, ec, true, &d2);
	assert_true(pc_srcdim_has(&d2, M) && pc_srcdim_has(&d2, 0) && pc_srcdim_count(&d2) == 1);
	pc_srcdim_clear(&d2);
	narrowed(&full, e, true, &d2);
	assert_true(pc_srcdim_empty(&d2) && pc_srcdim_count(&d2) == 0 && pc_srcdim_size(&d2) == 0);
	pc_srcdim_clear(&d2);

	/* base [M-10, M] clip {[3, 4], [M-5, M]}: [M-5, M] */
	list2(&l, 3, 4, M - 5, M);
	assert_int_equal(pc_srcdim_from_list(&d, &l), 0);
	assert_int_equal(pc_srcdim_narrow_base(&d, b, true), 0);
	assert_true(pc_srcdim_has(&d, M) && pc_srcdim_has(&d, M - 5));
	assert_false(pc_srcdim_has(&d, M - 6) || pc_srcdim_has(&d, 3) || pc_srcdim_has(&d, 0));
	assert_true(pc_srcdim_first(&d) == M - 5);
	assert_true(pc_srcdim_size(&d) == 6.0 && pc_srcdim_count(&d) == 1);
	assert_true(only(&d, M - 5, M));
	memset(&cur, 0, sizeof(cur));
	assert_true(pc_srcdim_next(&d, &cur, &iv) && iv.lo == M - 5 && iv.hi == M);
	assert_false(pc_srcdim_next(&d, &cur, &iv));
	list2(&l, M, M, 1, 0);
	assert_true(pc_srcdim_overlaps_list(&d, &l));
	list2(&l, 0, M - 6, 1, 0);
	assert_false(pc_srcdim_overlaps_list(&d, &l));
	list2(&l, M - 5, M, 1, 0);
	assert_true(pc_srcdim_subset_list(&d, &l));
	list2(&l, M - 5, M - 1, 1, 0);
	assert_false(pc_srcdim_subset_list(&d, &l));
	list2(&l, M, M, 1, 0);
	for (int in = 0; in < 2; in++) {
		assert_int_equal(pc_srcdim_copy(&d, &r), 0);
		assert_int_equal(pc_srcdim_narrow(&r, &l, in), 0);
		assert_true(in ? only(&r, M, M) : only(&r, M - 5, M - 1));
		pc_srcdim_clear(&r);
	}

	/* against the complement: [0, M-11], M - 10 values */
	narrowed(&full, b, false, &d2);
	assert_true(only(&d2, 0, M - 11));
	assert_true(fabs(pc_srcdim_size(&d2) - 0x1p128) < 0x1p80 && !pc_srcdim_has(&d2, M));
	assert_false(pc_srcdim_overlaps(&d, &d2) || pc_srcdim_overlaps(&d2, &d));
	r = (struct pc_srcdim){0};
	assert_int_equal(pc_srcdim_intersect(&d, &d2, &r), 0);
	assert_true(pc_srcdim_empty(&r));
	pc_srcdim_clear(&r);
	r = r2 = (struct pc_srcdim){0};
	assert_int_equal(pc_srcdim_subtract(&full, &d2, &r, &r2), 0);
	assert_true(pc_srcdim_size(&r) + pc_srcdim_size(&r2) == 11.0);
	assert_true(pc_srcdim_has(&r, M) || pc_srcdim_has(&r2, M));
	assert_false(pc_srcdim_has(&r, M - 11) || pc_srcdim_has(&r2, M - 11));
	pc_srcdim_clear(&r);
	pc_srcdim_clear(&r2);
	pc_srcdim_clear(&d2);
	narrowed(&full, c, false, &d2); /* \ complement: b */
	assert_true(only(&d2, M - 10, M));
	pc_srcdim_clear(&d2);

	/* {0, M}: its complement [1, M-1]; a dimension of both ends */
	pc_ivbase_unref(c);
	pc_ivbase_unref(b);
	list2(&l, 0, 0, M, M);
	b = new_base(&l, M);
	c = comp(b);
	assert_true(is1(&c->l, 1, M - 1));
	narrowed(&full, c, false, &d2);
	assert_true(pc_srcdim_count(&d2) == 2 && pc_srcdim_size(&d2) == 2.0);
	memset(&cur, 0, sizeof(cur));
	assert_true(pc_srcdim_next(&d2, &cur, &iv) && iv.lo == 0 && iv.hi == 0);
	assert_true(pc_srcdim_next(&d2, &cur, &iv) && iv.lo == M && iv.hi == M);
	assert_false(pc_srcdim_next(&d2, &cur, &iv));
	pc_srcdim_clear(&d2);

	pc_srcdim_clear(&d);
	pc_srcdim_clear(&full);
	pc_ivbase_unref(c);
	pc_ivbase_unref(b);
	pc_ivbase_unref(ec);
	pc_ivbase_unref(e);
	pc_ivlist_clear(&l);
}

/* A base and its complement unreffed in either order; dimensions outliving the caller's. */
static void test_refs(void **state)
{
	struct pc_ivlist l = {0};
	struct pc_ivbase *b, *c, *t;

	(void)state;
	for (int order = 0; order < 2; order++) {
		list2(&l, 10, 20, 30, 40);
		b = new_base(&l, 255);
		c = comp(b);
		t = pc_ivbase_complement(c);
		assert_ptr_equal(t, b);
		pc_ivbase_unref(t);
		if (order == 0) {
			pc_ivbase_unref(b); /* the base first: its complement stands alone */
			assert_int_equal(c->l.n, 3);
			t = comp(c); /* made anew, the same set */
			assert_true(t->l.n == 2 && t->l.v[0].lo == 10 && t->l.v[1].hi == 40);
			pc_ivbase_unref(t);
			pc_ivbase_unref(c);
		} else {
			pc_ivbase_unref(c); /* the complement first: the base keeps it */
			t = pc_ivbase_complement(b);
			assert_ptr_equal(t, c);
			pc_ivbase_unref(t);
			pc_ivbase_unref(b);
		}
	}
	pc_ivlist_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random8),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_edge128),
	    cmocka_unit_test(test_refs),
	};

	/* The hand-made cases are about bases: every list is one (test_random8 also folds). */
	pc_srcdim_fold_max = 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
