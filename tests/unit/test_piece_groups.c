/* SPDX-License-Identifier: MIT */
/*
 * Piece groups (issue #9): the analysis hands every piece of a family's source space to
 * the engine in one evaluation and cuts the results per piece (analysis_sources.c
 * group_pieces, analysis.c analyse_group). The engine splits the sources by routing class
 * (pieces with the same innermost bounding prefix) only where the routing code looks the
 * source up. The report must be the one with an evaluation per piece, and the grouping
 * must really happen: the engine is counted through the linker
 * (--wrap=pc_nft_eval_sources_classes).
 */
#include "analysis_fixture.h"
#include "eval_count.h"

#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_rpfilter.h>

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

/* The chain's last rule moved to its head. */
static void to_front(struct pc_nft_chain *c)
{
	struct pc_nft_rule tmp = c->rules[c->n_rules - 1];

	memmove(&c->rules[1], &c->rules[0], (c->n_rules - 1) * sizeof(tmp));
	c->rules[0] = tmp;
}

/* "ip saddr PREFIX VERDICT" at the head of filter_INPUT. */
static void saddr_rule(struct fixture *f, const char *prefix, bool accept)
{
	struct pc_nft_chain *c =
	    (struct pc_nft_chain *)pc_nft_chain_find(fw_table(&f->rs), "filter_INPUT");
	char text[96];
	struct pc_nft_rule *r;

	snprintf(text, sizeof(text), "ip saddr %s %s", prefix, accept ? "accept" : "drop");
	r = nb_rule(c, text);
	nb_nfproto(r, NFPROTO_IPV4);
	nb_addr_match(r, prefix, false, NFT_CMP_EQ);
	if (accept)
		nb_accept(r);
	else
		nb_drop(r);
	to_front(c);
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
	eval_multi_calls = 0;
	x = report_json(f, true, &grouped);
	/* The default route's class (five pieces) runs out too: its pieces alone then, not
	 * the rest of the class again from each (at most one class call per link and
	 * destination address, and the on-link class's). */
	assert_true(eval_multi_calls <= 2 * 2 * f->ni.n_links);
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

/* The IPv4 path of listener @li on @ifname whose sources hold @a, NULL when none does. */
static const json_t *path_holding(const json_t *report, size_t li, const char *ifname, uint32_t a)
{
	const json_t *paths =
	    json_object_get(json_array_get(json_object_get(report, "listeners"), li), "paths");
	const json_t *p, *found = NULL;
	size_t k;

	json_array_foreach(paths, k, p)
	{
		const json_t *form =
		    json_array_get(json_object_get(report, "sources"),
				   json_integer_value(json_object_get(p, "sources")));

		if (strcmp(json_string_value(json_object_get(p, "family")), "ipv4") ||
		    strcmp(json_string_value(json_object_get(p, "interface")), ifname) || !form ||
		    !form_holds(form, a))
			continue;
		assert_null(found); /* the paths of a link partition its sources */
		found = p;
	}
	return found;
}

/* What a path says of a source, with the addresses in its reason (the example source the
 * engine ran with, "the route back to 198.51.100.0 ...") left out: evaluated per piece, the
 * pieces 198.51.100.0 and 198.51.100.2-255 name each their own. */
static char *outcome_of(const json_t *p)
{
	json_t *c = json_deep_copy(p);
	char reason[1024], *o = reason, *text;
	const char *r = json_string_value(json_object_get(p, "reason"));

	assert_non_null(c);
	for (; r && *r && o < reason + sizeof(reason) - 2; r++)
		if (!(*r >= '0' && *r <= '9') && *r != '.')
			*o++ = *r;
	*o = 0;
	json_object_set_new(c, "reason", json_string(reason));
	json_object_del(c, "sources");
	json_object_del(c, "rule"); /* an index into each report's own table */
	text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(c);
	assert_non_null(text);
	return text;
}

/* The grouped and the per-piece reports of the fixture as it stands give every sampled
 * source of every listener and link the same outcome; the engine calls of each. */
static void grouped_equals_alone(struct fixture *f, unsigned *grouped, unsigned *alone)
{
	static const char *const links[] = {"eth0", "eth1"};
	static const char *const near[] = {"203.0.113.0", "203.0.113.255", "203.0.112.255",
					   "203.0.114.0", "100.64.0.0",	   "100.127.255.255",
					   "192.0.2.7",	  "198.51.100.0",  "198.51.100.7",
					   "192.0.2.255", "198.51.100.255"};
	uint32_t samples[600];
	size_t n = 0, held = 0;
	json_t *x, *y;

	x = report_json(f, true, grouped);
	y = report_json(f, false, alone);
	for (size_t i = 0; i < ELEMENTSOF(near); i++)
		samples[n++] = v4(near[i]);
	for (uint32_t seed = 1; n < ELEMENTSOF(samples); seed++)
		samples[n++] = seed * 2654435761u;
	assert_int_equal(json_array_size(json_object_get(x, "listeners")),
			 json_array_size(json_object_get(y, "listeners")));
	for (size_t li = 0; li < json_array_size(json_object_get(x, "listeners")); li++)
		for (size_t k = 0; k < ELEMENTSOF(links); k++)
			for (size_t i = 0; i < n; i++) {
				const json_t *p = path_holding(x, li, links[k], samples[i]);
				const json_t *q = path_holding(y, li, links[k], samples[i]);
				char *a, *b;

				if (impossible(samples[i]))
					continue;
				assert_true((p == NULL) == (q == NULL));
				if (!p)
					continue;
				a = outcome_of(p);
				b = outcome_of(q);
				assert_string_equal(a, b);
				free(a);
				free(b);
				held++;
			}
	assert_true(held > n);
	json_decref(x);
	json_decref(y);
}

/*
 * A family of more routing classes than the engine's runs budget (1,100 routes, the
 * reverse-path filter on: each class at least one run): its one evaluation runs out, and
 * the analysis goes on class by class. It must not retry the rest of the family from
 * every later piece (a budget's worth of runs each: minutes), and nothing turns unknown.
 */
static void test_many_classes_fall_back(void **state)
{
	struct fixture *f = *state;
	struct pc_link *eth0 = (struct pc_link *)pc_netif_link_by_index(&f->ni, 2);
	const struct pc_listener_report *lr;
	unsigned grouped;
	char p[32];

	for (int i = 0; i < 1100; i++) {
		snprintf(p, sizeof(p), "10.%d.%d.0/24", i / 256, i % 256);
		nb_route(&f->ni, p, RT_TABLE_MAIN, RTN_UNICAST, 3, NULL, 0);
	}
	eth0->has_inet_conf = true;
	eth0->inet.rp_filter = 2;
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	eval_class_calls = 0;
	json_decref(report_json(f, true, &grouped));
	/* One evaluation of the whole family per link and destination address (the
	 * fixture's two IPv4 addresses), then class by class; retrying from every later
	 * piece took 164 here. */
	assert_true(eval_class_calls <= 2 * f->ni.n_links);
	lr = &f->report.listeners[0];
	for (size_t i = 0; i < lr->n_paths; i++)
		assert_int_not_equal(lr->paths[i].verdict, PC_VERDICT_UNKNOWN);
	assert_true(grouped > 1100); /* class by class: the classes are single pieces */
}

/* The fixture's routes that tell classes apart (one out of eth1, a blackhole, eth0's
 * broadcast address), and two listeners. */
static void classes_host(struct fixture *f)
{
	nb_route(&f->ni, "203.0.113.0/24", RT_TABLE_MAIN, RTN_UNICAST, 3, NULL, 0);
	nb_route(&f->ni, "100.64.0.0/10", RT_TABLE_MAIN, RTN_BLACKHOLE, 0, NULL, 0);
	nb_route(&f->ni, "192.0.2.255/32", RT_TABLE_LOCAL, RTN_BROADCAST, 2, NULL, 0);
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 80, false));
}

/*
 * Every piece of a family goes into one evaluation, and the engine splits the sources by
 * their routing class where the routing code looks the source up. Here it does in three
 * ways, with routes that tell the classes apart (203.0.113.0/24 out of eth1, 100.64.0.0/10
 * a blackhole): the reverse-path filter (strict and loose), an ICMP error's route back
 * (reject), and fib on the source (firewalld's rpfilter rule). Each report must be the
 * one with an evaluation per piece.
 */
static void test_routing_classes(void **state)
{
	struct fixture *f = *state;
	struct pc_link *eth0 = (struct pc_link *)pc_netif_link_by_index(&f->ni, 2);
	struct pc_nft_chain *c =
	    (struct pc_nft_chain *)pc_nft_chain_find(fw_table(&f->rs), "filter_INPUT");
	struct pc_nft_rule *r;
	unsigned grouped, alone;

	classes_host(f);

	/* Nothing looks the source up: one evaluation per family and link. */
	grouped_equals_alone(f, &grouped, &alone);
	assert_true(grouped * 2 < alone);

	eth0->has_inet_conf = true;
	eth0->inet.rp_filter = 1;
	grouped_equals_alone(f, &grouped, &alone);
	eth0->inet.rp_filter = 2;
	grouped_equals_alone(f, &grouped, &alone);
	eth0->inet.rp_filter = 0;

	/* The zone's reject: an ICMP error needs a route back (none for the blackhole). */
	fw_allow(&f->rs, "public", 8080);
	grouped_equals_alone(f, &grouped, &alone);

	/* So does the routing code's own error: 8000 is sent on to a prohibited route. */
	{
		struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_IPV4, "nat");
		struct pc_nft_chain *pre =
		    nb_base_chain(t, "PREROUTING", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);

		r = nb_rule(pre, "tcp dport 8000 dnat to 198.18.0.2:8000");
		nb_l4proto(r, IPPROTO_TCP);
		nb_dport(r, 8000);
		nb_dnat_to(r, NFPROTO_IPV4, "198.18.0.2", 8000);
		nb_route(&f->ni, "198.18.0.0/15", RT_TABLE_MAIN, RTN_PROHIBIT, 0, NULL, 0);
		eth0->inet.forwarding = 1;
		listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 8000, false));
		grouped_equals_alone(f, &grouped, &alone);
	}

	r = nb_rule(c, "fib saddr . iif oif missing drop");
	nb_nfproto(r, NFPROTO_IPV4);
	nb_fib(r, NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT, NFT_FIB_RESULT_OIF,
	       NFT_REG_1);
	nb_cmp_u8(r, NFT_CMP_EQ, NFT_REG_1, 0);
	nb_drop(r);
	to_front(c);
	grouped_equals_alone(f, &grouped, &alone);
	assert_true(grouped < alone);
}

/* iptables-nft's matches on the source's route, alone in the run (a later lookup would
 * split the sources anyway): "-m @match ... -j DROP" in an ip table's base chain of
 * @hook, then the reports compared. */
static void xt_drop_compared(struct fixture *f, const char *table, const char *chain, uint32_t hook,
			     int prio, const char *text, const char *match, uint32_t rev,
			     const void *info, uint32_t len)
{
	struct pc_nft_chain *c = nb_base_chain(nb_table(&f->rs, NFPROTO_IPV4, table), chain,
					       "filter", hook, prio, NF_ACCEPT);
	struct pc_nft_rule *r;
	unsigned grouped, alone;

	classes_host(f);
	r = nb_rule(c, text);
	nb_xt(r, false, match, rev, info, len);
	nb_drop(r);
	grouped_equals_alone(f, &grouped, &alone);
}

static void test_routing_classes_xt(void **state)
{
	struct xt_addrtype_info_v1 at = {.source = 1u << RTN_BROADCAST};

	xt_drop_compared(*state, "filter", "INPUT", NF_INET_LOCAL_IN, 0,
			 "-m addrtype --src-type BROADCAST -j DROP", "addrtype", 1, &at,
			 sizeof(at));
}

static void test_routing_classes_rpfilter(void **state)
{
	struct xt_rpfilter_info rp = {.flags = XT_RPFILTER_INVERT};

	xt_drop_compared(*state, "raw", "PREROUTING", NF_INET_PRE_ROUTING, -300,
			 "-m rpfilter --invert -j DROP", "rpfilter", 0, &rp, sizeof(rp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_grouped_equals_alone),     T(test_group_within_budget),
	    T(test_routing_classes),	      T(test_routing_classes_xt),
	    T(test_routing_classes_rpfilter), T(test_many_classes_fall_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
