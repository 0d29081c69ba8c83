/* SPDX-License-Identifier: MIT */
/*
 * Piece groups (issue #9): pieces of the source space split only by something between
 * them (an impossible range such as 127.0.0.0/8, a host's own address) are routed, bound
 * and classified alike, so the analysis hands them to the engine in one evaluation and
 * cuts the results per piece (analysis_sources.c group_pieces, analysis.c analyse_group).
 * The report must be exactly the one with an evaluation per piece, and the grouping must
 * really happen: the engine is counted through the linker (--wrap=pc_nft_eval_sources).
 */
#include "analysis_fixture.h"
#include "eval_count.h"

/* The report (version 2) and the engine calls it took. */
static json_t *report_json(struct fixture *f, bool group, unsigned *calls)
{
	json_t *j;

	pc_analysis_group_pieces = group;
	eval_calls = 0;
	run(f);
	*calls = eval_calls;
	pc_analysis_group_pieces = true;
	assert_int_equal(pc_report_to_json(&f->report, &j), 0);
	return j;
}

/* The report without the source forms (compact, keys sorted): the paths, their verdicts,
 * rules, reasons, and nothing of how their sources are written. */
static char *without_forms(const json_t *report)
{
	json_t *c = json_deep_copy(report), *l, *p;
	size_t i, k;
	char *text;

	assert_non_null(c);
	assert_int_equal(json_object_del(c, "sources"), 0);
	json_array_foreach(json_object_get(c, "listeners"), i, l)
	    json_array_foreach(json_object_get(l, "paths"), k, p) json_object_del(p, "sources");
	text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(c);
	assert_non_null(text);
	return text;
}

static uint32_t v4(const char *s)
{
	struct pc_addr a;

	assert_int_equal(pc_addr_from_string(s, &a), 0);
	return (uint32_t)pc_addr_to_u128(&a);
}

/* Whether an address literal of a source form (docs/json.md) holds for @a. */
static bool lit_holds(const json_t *lit, uint32_t a)
{
	const json_t *r = json_object_get(lit, "address"), *in = json_object_get(lit, "address_in");
	bool holds = false, neg = json_is_true(json_object_get(lit, "not"));
	size_t i;
	json_t *x;

	if (r) {
		holds = v4(json_string_value(json_array_get(r, 0))) <= a &&
			a <= v4(json_string_value(json_array_get(r, 1)));
	} else {
		assert_non_null(in); /* no set or port tests in these rulesets */
		json_array_foreach(in, i, x) holds =
		    holds || (v4(json_string_value(json_array_get(x, 0))) <= a &&
			      a <= v4(json_string_value(json_array_get(x, 1))));
	}
	return holds != neg;
}

static bool form_holds(const json_t *form, uint32_t a)
{
	size_t i, k;
	json_t *conj, *lit;

	json_array_foreach(json_object_get(form, "any_of"), i, conj)
	{
		bool all = true;

		json_array_foreach(json_object_get(conj, "all_of"), k, lit) all =
		    all && lit_holds(lit, a);
		if (all)
			return true;
	}
	return false;
}

/* Sources no client can have belong to no path, whatever the forms say of them
 * (docs/json.md): the fixture host's 127.0.0.1, 192.0.2.1, 198.51.100.1 and the
 * impossible ranges. */
static bool impossible(uint32_t a)
{
	return a >> 24 == 0 || a >> 24 == 127 || a >> 28 == 14 || a == UINT32_MAX ||
	       a == v4("192.0.2.1") || a == v4("198.51.100.1");
}

/* Every IPv4 path of both reports holds the same sources among @a[0..n). */
static void same_sources(const json_t *x, const json_t *y, const uint32_t *a, size_t n)
{
	const json_t *lx = json_object_get(x, "listeners"), *ly = json_object_get(y, "listeners");
	size_t checked = 0;

	for (size_t i = 0; i < json_array_size(lx); i++) {
		const json_t *px = json_object_get(json_array_get(lx, i), "paths"),
			     *py = json_object_get(json_array_get(ly, i), "paths");

		for (size_t k = 0; k < json_array_size(px); k++) {
			const json_t *p = json_array_get(px, k), *q = json_array_get(py, k);
			const json_t *fx, *fy;

			if (strcmp(json_string_value(json_object_get(p, "family")), "ipv4"))
				continue;
			fx = json_array_get(json_object_get(x, "sources"),
					    json_integer_value(json_object_get(p, "sources")));
			fy = json_array_get(json_object_get(y, "sources"),
					    json_integer_value(json_object_get(q, "sources")));
			assert_non_null(fx);
			assert_non_null(fy);
			for (size_t s = 0; s < n; s++) {
				if (impossible(a[s]))
					continue;
				if (form_holds(fx, a[s]) != form_holds(fy, a[s]))
					fail_msg("listener %zu path %zu: source %u.%u.%u.%u in one "
						 "form only",
						 i, k, a[s] >> 24, a[s] >> 16 & 255,
						 a[s] >> 8 & 255, a[s] & 255);
				checked += form_holds(fx, a[s]);
			}
		}
	}
	assert_true(checked > n); /* the forms hold some sources */
}

/* "ip saddr PREFIX VERDICT" at the head of filter_INPUT. */
static void saddr_rule(struct fixture *f, const char *prefix, bool accept)
{
	struct pc_nft_chain *c =
	    (struct pc_nft_chain *)pc_nft_chain_find(fw_table(&f->rs), "filter_INPUT");
	char text[96];
	struct pc_nft_rule *r, tmp;

	snprintf(text, sizeof(text), "ip saddr %s %s", prefix, accept ? "accept" : "drop");
	r = nb_rule(c, text);
	nb_nfproto(r, NFPROTO_IPV4);
	nb_addr_match(r, prefix, false, NFT_CMP_EQ);
	if (accept)
		nb_accept(r);
	else
		nb_drop(r);
	tmp = c->rules[c->n_rules - 1];
	memmove(&c->rules[1], &c->rules[0], (c->n_rules - 1) * sizeof(tmp));
	c->rules[0] = tmp;
}

/*
 * Source tests in several pieces of one group (the default route's pieces around
 * 127.0.0.0/8 and 224.0.0.0/4) and of the on-link group (192.0.2.0 and 192.0.2.2-254
 * around the host's 192.0.2.1), a firewalld source binding (its own pieces), and a test
 * straddling 127.0.0.0/8: the same report, fewer evaluations.
 */
static void test_grouped_equals_alone(void **state)
{
	static const char *const prefixes[] = {
	    "203.0.113.0/24", "100.64.0.0/10",	   "192.0.2.128/25",  "126.0.0.0/7",
	    "240.0.0.0/4",    "198.18.0.0/15",	   "127.0.0.0/8",     "224.0.0.0/4",
	    "192.0.2.0/24",   "192.0.2.1/32",	   "198.51.100.0/24", "198.51.100.1/32",
	    "0.0.0.0/8",      "255.255.255.255/32"};
	struct fixture *f = *state;
	unsigned grouped, alone;
	uint32_t samples[4 * ELEMENTSOF(prefixes) + 2000];
	size_t n = 0;
	json_t *x, *y;
	char *a, *b;

	saddr_rule(f, "203.0.113.0/24", false);
	saddr_rule(f, "100.64.0.0/10", true);
	saddr_rule(f, "192.0.2.128/25", false);
	saddr_rule(f, "126.0.0.0/7", false); /* 126/8 and 127/8: across the impossible range */
	saddr_rule(f, "240.0.0.0/4", false);
	fw_source_zone(&f->rs, "198.18.0.0/15", "trusted");
	fw_allow(&f->rs, "public", 8080);
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 80, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "::", 8080, false));
	listen_on(f, mk_listener(IPPROTO_UDP, "0.0.0.0", 53, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "192.0.2.1", 443, false));
	x = report_json(f, true, &grouped);
	y = report_json(f, false, &alone);
	/* The same paths, verdicts, rules, reasons and address ranges (first, total, share)
	 * ... */
	a = without_forms(x);
	b = without_forms(y);
	assert_string_equal(a, b);
	/* ... and the forms hold the same sources (written differently: one conjunction
	 * over a group's pieces against one per piece), around every bound and at random. */
	for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
		struct pc_prefix p;
		uint32_t lo, hi;

		assert_int_equal(pc_prefix_from_string(prefixes[i], &p), 0);
		lo = (uint32_t)pc_addr_to_u128(&p.addr);
		hi = lo | (p.len ? (uint32_t)(((uint64_t)1 << (32 - p.len)) - 1) : UINT32_MAX);
		samples[n++] = lo - 1, samples[n++] = lo, samples[n++] = hi, samples[n++] = hi + 1;
	}
	for (uint32_t seed = 1; n < ELEMENTSOF(samples); seed++)
		samples[n++] = seed * 2654435761u;
	same_sources(x, y, samples, n);
	/* IPv4 on eth0: 1-126, 128-192.0.1.255, 192.0.3-198.17, 198.20-198.51.99,
	 * 198.51.101-223, 240-255.254 are one group; 192.0.2.0 and 192.0.2.2-254 another. */
	assert_true(grouped > 0);
	assert_true(grouped * 3 < alone * 2);
	json_decref(x);
	json_decref(y);
	free(a);
	free(b);
}

/*
 * The engine's budgets (runs, ranges, tests) hold per evaluation: 250 single-address rules
 * in each of two pieces of one group take some 500 paths each, within budget for each
 * piece alone and beyond it for the two together. The grouped evaluation falls back to
 * one per piece and nothing turns unknown (the review's case: 2 unknown paths, exposure
 * unknown, before the fallback).
 */
static void test_group_within_budget(void **state)
{
	struct fixture *f = *state;
	unsigned grouped, alone;
	json_t *x, *y;
	char p[32], *a, *b;
	size_t unknown = 0;

	for (int i = 0; i < 250; i++) {
		snprintf(p, sizeof(p), "198.18.0.%d/32", i);
		saddr_rule(f, p, false);
		snprintf(p, sizeof(p), "203.0.113.%d/32", i);
		saddr_rule(f, p, false);
	}
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	x = report_json(f, true, &grouped);
	for (size_t i = 0; i < f->report.listeners[0].n_paths; i++)
		unknown += f->report.listeners[0].paths[i].verdict == PC_VERDICT_UNKNOWN;
	y = report_json(f, false, &alone);
	a = without_forms(x);
	b = without_forms(y);
	assert_string_equal(a, b);
	assert_int_equal(unknown, 0);
	assert_true(f->report.listeners[0].n_paths > 1000);
	json_decref(x);
	json_decref(y);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_grouped_equals_alone),
	    T(test_group_within_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
