/* SPDX-License-Identifier: MIT */
/*
 * The forms memo's key (daemon/engine/analysis_formmemo.c) against the writers it stands
 * for: over variations of the inputs of words() and form_json(), two specs with equal
 * keys must give equal text. The variations are the ones the key takes on trust rather
 * than by copying them: the pieces that reach the listener enter only as each
 * conjunction's runs of them (conj_runs), so pieces that make other runs must make
 * another key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/rcstr.h"

#include "analysis_conj.h"
#include "analysis_internal.h"

/* 10.0.P.0/24 as a piece. */
static struct pc_addr addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return (struct pc_addr){.family = AF_INET, .bytes = {a, b, c, d}};
}

struct spec {
	struct pc_addr lo[4], hi[4];
	struct outcome_groups gs;
	struct pc_ivl held[4];
	struct conj c;
	struct form_spec f;
};

/* A group of @n pieces 10.0.p[i].0/24 and one conjunction (no tests) holding in the
 * pieces @in (indexes into p). */
static void spec_init(struct spec *s, const uint8_t *p, size_t n, const size_t *in, size_t n_in)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		s->lo[i] = addr4(10, 0, p[i], 0);
		s->hi[i] = addr4(10, 0, p[i], 255);
	}
	for (size_t i = 0; i < n_in; i++)
		s->held[i] =
		    (struct pc_ivl){pc_addr_to_u128(&s->lo[in[i]]), pc_addr_to_u128(&s->hi[in[i]])};
	s->gs = (struct outcome_groups){.n = 2, .lo = s->lo, .hi = s->hi, .n_pieces = n};
	s->c = (struct conj){.pieces = {.v = s->held, .n = n_in, .cap = n_in}, .n_pieces = n_in};
	s->f = (struct form_spec){.gs = &s->gs,
				  .conj = &s->c,
				  .n_conj = 1,
				  .family = AF_INET,
				  .port = 80,
				  .words = "w",
				  .example = s->lo[in[0]],
				  .example_port = 40000};
}

static char *text_of(const struct spec *s)
{
	char *t = NULL;

	assert_int_equal(form_json(&s->f, &t), 0);
	return t;
}

static int key_of(const struct spec *s, uint8_t *buf, size_t cap, size_t *len)
{
	struct form_key k = {.v = buf, .cap = cap};
	int r = form_memo_key(&s->f, &k);

	assert_false(k.heap);
	*len = k.len;
	return r;
}

static void test_equal_keys_equal_text(void **state)
{
	/* Pieces 1, 2, 3 and 1, 3, 4 (the same count), the conjunction in 1 and 3 of both:
	 * its pieces are the same intervals, but in the first 1 and 3 are apart (2 is
	 * between, not held) and in the second they are neighbours: one run. */
	static const uint8_t pa[] = {1, 2, 3}, pb[] = {1, 3, 4}, pc[] = {1, 2, 3};
	static const size_t ia[] = {0, 2}, ib[] = {0, 1}, ic[] = {0, 2};
	struct spec *s = calloc(3, sizeof(*s));
	uint8_t ka[1024], kb[1024], kc[1024];
	size_t la, lb, lc;
	char *ta, *tb, *tc;

	(void)state;
	assert_non_null(s);
	spec_init(&s[0], pa, 3, ia, 2);
	spec_init(&s[1], pb, 3, ib, 2);
	spec_init(&s[2], pc, 3, ic, 2);
	assert_int_equal(key_of(&s[0], ka, sizeof(ka), &la), 0);
	assert_int_equal(key_of(&s[1], kb, sizeof(kb), &lb), 0);
	assert_int_equal(key_of(&s[2], kc, sizeof(kc), &lc), 0);
	ta = text_of(&s[0]);
	tb = text_of(&s[1]);
	tc = text_of(&s[2]);
	/* The writers tell them apart ... */
	assert_string_not_equal(ta, tb);
	/* ... so the keys must, */
	assert_false(la == lb && memcmp(ka, kb, la) == 0);
	/* and the same inputs give the same key (the memo finds them at all). */
	assert_true(la == lc && memcmp(ka, kc, la) == 0);
	assert_string_equal(ta, tc);
	free(ta);
	free(tb);
	free(tc);
	free(s);
}

static void test_box_not_memoised(void **state)
{
	static const uint8_t p[] = {1};
	static const size_t in[] = {0};
	struct pc_src_result box = {0};
	struct spec s;
	uint8_t k[1024];
	size_t len;

	(void)state;
	spec_init(&s, p, 1, in, 1);
	s.c.box = &box;
	assert_int_equal(key_of(&s, k, sizeof(k), &len), 1);
}

/* The pool keeps one copy of each text: equal texts (also past its growth, with texts
 * that share a prefix) come back as the first one's reference, different ones apart. */
static void test_pool_interns(void **state)
{
	struct form_pool pool = {0};
	char *first[1000];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "{\"any\":%d}", i);
		first[i] = form_pool_intern(&pool, strdup(buf));
		assert_non_null(first[i]);
		assert_string_equal(first[i], buf);
	}
	for (int i = 0; i < 1000; i++) {
		char buf[64], *again;

		snprintf(buf, sizeof(buf), "{\"any\":%d}", i);
		again = form_pool_intern(&pool, strdup(buf));
		assert_ptr_equal(again, first[i]);
		pc_rcstr_unref(again);
		/* A longer text with this one as its prefix is another. */
		snprintf(buf, sizeof(buf), "{\"any\":%d}x", i);
		again = form_pool_intern(&pool, strdup(buf));
		assert_ptr_not_equal(again, first[i]);
		assert_string_equal(again, buf);
		pc_rcstr_unref(again);
	}
	assert_int_equal(pool.n, 2000);
	for (int i = 0; i < 1000; i++)
		pc_rcstr_unref(first[i]);
	form_pool_clear(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_equal_keys_equal_text),
	    cmocka_unit_test(test_box_not_memoised),
	    cmocka_unit_test(test_pool_interns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
