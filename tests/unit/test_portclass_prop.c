/* SPDX-License-Identifier: MIT */
/*
 * Property test of the destination port classes (portclass.h) against the engine, on
 * random rulesets: deterministic per seed, SEEDS seeds.
 *
 * Each seed builds (portclass_gen.h) an ip, ip6 or inet filter table (input chain,
 * sometimes a regular chain reached by jump and goto, with returns, sometimes a prerouting
 * chain) and sometimes an ip nat table whose DNAT or redirect takes its port from an
 * immediate, or whose DNAT takes address and port from a map keyed by the port (sometimes
 * a port of the key's own interval: that port is not moved, the others are). Rules
 * test the destination port every way the scan models (cmp ==, !=, <, <=, >, >= on both
 * bytes or on the high byte, ranges, hash and interval sets, maybe inverted, verdict and
 * data maps with catch-all elements, `ct original proto-dst`, `ct reply proto-src`, the
 * port in any register, moved over by other loads, xtables' tcp/udp --dport and multiport
 * --dports/--ports in ip and ip6 tables) mixed with tests of the source address and port,
 * and end in accept, drop, reject, jump, goto, return or nothing. Some seeds add one use
 * the scan does not model (a mask, a concatenated key, DNAT or redirect keeping the port,
 * a hash, a byte order conversion, a payload write over the port from either header, an
 * unknown expression, a network header load reaching the port): those must be distinct.
 * Others add a use whose modelling is the scan's choice (a one-byte or four-byte load
 * around the port, a network header load near it without the family known, a set update
 * keyed by the port): there the property alone is checked.
 *
 * For ports near the ruleset's constants and random ones, and ports of their class (its
 * first, its last, a random one), for each family of the table and TCP and UDP:
 *  (a) pc_nft_eval_path gives the same outcome (verdict, reject, deciding rule, forwarding
 *      and endpoints, note) for random sources;
 *  (b) pc_nft_eval_sources over every non-martian source and source port gives as many
 *      results, with the same outcomes and the same boxes (as interval lists).
 * Why: the analysis evaluates one port of a class and gives its results to the others; a
 * class too coarse reports another port's verdict. And (c): a ruleset that only compares
 * the port with == gets the fewest classes up to the scan's v / v + 1 cuts (not distinct,
 * no class cut elsewhere), so that the property is not bought with useless classes; at
 * least 60% of the seeds must not be distinct, so that it is not vacuous.
 * A failure prints the seed, the ports, the flow, both outcomes and the ruleset.
 * PORTCLASS_SEEDS=A-B runs other seeds; PORTCLASS_VERBOSE=1 says why seeds are distinct;
 * PORTCLASS_REASONS=1 compares the reasons of unknown outcomes too.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "nftbuild.h"
#include "portclass_gen.h"
#include "prop_compare.h"
#include "portcheck/portclass.h"

#define SEEDS 1000
#define PORTS 16  /* ports tried per seed, each with up to 3 others of its class */
#define SOURCES 3 /* random sources per pair of ports and flow, for (a) */

/* --- reporting -------------------------------------------------------------------------- */

static void print_result_port(uint16_t port, const struct pc_nft_result *r)
{
	char who[16];

	snprintf(who, sizeof(who), "port %u", port);
	print_result(who, r);
}

static int failures;
static uint64_t failed_seeds[32];
static size_t n_failed_seeds;

/* A failure: the seed, what, the flow; the ruleset once per seed. */
static void __attribute__((format(printf, 6, 7)))
flunk(const struct gen *g, uint64_t seed, const struct pc_flow *f, uint16_t p, uint16_t q,
      const char *fmt, ...)
{
	va_list ap;
	bool first = !n_failed_seeds || failed_seeds[n_failed_seeds - 1] != seed;

	failures++;
	if (first && n_failed_seeds < 32)
		failed_seeds[n_failed_seeds++] = seed;
	printf("FAIL seed %" PRIu64 ", %s %s, ports %u and %u: ", seed,
	       f ? (f->family == AF_INET ? "IPv4" : "IPv6") : "-",
	       f ? (f->l4proto == IPPROTO_TCP ? "tcp" : "udp") : "-", p, q);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (first)
		print_ruleset(&g->rs);
}

/* --- the properties --------------------------------------------------------------------- */

static bool same_list(const struct pc_ivlist *a, const struct pc_ivlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].lo != b->v[i].lo || a->v[i].hi != b->v[i].hi)
			return false;
	return true;
}

/* Whether result @i of both runs has the same box (flattened: bases are shared). */
static bool same_box(const struct pc_src_result *x, const struct pc_src_result *y)
{
	struct pc_ivlist l[4] = {0};
	bool same;

	assert_int_equal(pc_srcdim_to_list(&x->addr, &l[0]), 0);
	assert_int_equal(pc_srcdim_to_list(&y->addr, &l[1]), 0);
	assert_int_equal(pc_srcdim_to_list(&x->port, &l[2]), 0);
	assert_int_equal(pc_srcdim_to_list(&y->port, &l[3]), 0);
	same = same_list(&l[0], &l[1]) && same_list(&l[2], &l[3]);
	for (int i = 0; i < 4; i++)
		pc_ivlist_clear(&l[i]);
	return same;
}

static size_t st_unknown, st_nat, st_verdict[3], st_pairs, st_paths, st_results, st_distinct,
    st_must, st_maybe, st_maybe_distinct, st_classes;

/* (a) and (b) for ports @p and @q of one class, the flow @f; @vp, @np: p's results. */
static bool check_pair(const struct gen *g, const struct pc_netif *ni, uint64_t seed,
		       struct pc_flow f, uint16_t p, uint16_t q, const struct pc_ivlist *ia,
		       const struct pc_ivlist *ip, const struct pc_src_result *vp, size_t np)
{
	struct pc_src_result *vq = NULL;
	size_t nq = 0;
	bool ok = true;

	st_pairs++;
	for (unsigned k = 0; k < SOURCES && ok; k++) {
		struct pc_nft_result rp = {0}, rq = {0};

		f.saddr = rnd_source(f.family);
		f.sport = (uint16_t)(rnd(2) ? 40000 + rnd(64) : 1 + rnd(65535));
		f.dport = p;
		assert_int_equal(pc_nft_eval_path(&g->rs, ni, &f, false, &rp), 0);
		f.dport = q;
		assert_int_equal(pc_nft_eval_path(&g->rs, ni, &f, false, &rq), 0);
		st_paths++;
		st_unknown += rp.verdict == PC_VERDICT_UNKNOWN;
		st_nat += rp.forwarded || rp.dnat_local;
		if (rp.verdict < PC_VERDICT_UNKNOWN)
			st_verdict[rp.verdict]++;
		if (!same_outcome(&rp, &rq, getenv("PORTCLASS_REASONS"))) {
			char a[PC_ADDRSTRLEN];

			flunk(g, seed, &f, p, q, "(a) source %s port %u: the outcomes differ",
			      pc_addr_to_string(&f.saddr, a), f.sport);
			print_result_port(p, &rp), print_result_port(q, &rq);
			ok = false;
		}
		pc_nft_result_clear(&rp), pc_nft_result_clear(&rq);
	}
	f.dport = q;
	assert_int_equal(pc_nft_eval_sources(&g->rs, ni, &f, ia, ip, &vq, &nq), 0);
	st_results += nq;
	if (ok && nq != np) {
		flunk(g, seed, &f, p, q, "(b) %zu and %zu results", np, nq);
		ok = false;
	}
	for (size_t i = 0; i < np && ok; i++) {
		if (!same_outcome(&vp[i].res, &vq[i].res, getenv("PORTCLASS_REASONS"))) {
			flunk(g, seed, &f, p, q, "(b) result %zu: the outcomes differ", i);
			print_result_port(p, &vp[i].res), print_result_port(q, &vq[i].res);
			ok = false;
		} else if (!same_box(&vp[i], &vq[i])) {
			flunk(g, seed, &f, p, q, "(b) result %zu (%s): the boxes differ", i,
			      pc_verdict_to_string(vp[i].res.verdict));
			ok = false;
		}
	}
	pc_src_results_free(vq, nq);
	return ok;
}

static void check_seed(struct gen *g, const struct pc_netif *ni, uint64_t seed,
		       const struct pc_ivlist box[2][2])
{
	struct pc_port_classes c = {0};
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};

	gen_ruleset(g, seed, false);
	assert_int_equal(pc_port_classes_of(&g->rs, &c), 0);
	st_must += g->must != NULL, st_maybe += g->maybe != NULL;
	if (g->must && !c.distinct)
		flunk(g, seed, NULL, 0, 0,
		      "the ruleset uses the port in a way not modelled (%s) "
		      "but the classes are not distinct",
		      g->must);
	if (c.distinct) {
		st_distinct++;
		st_maybe_distinct += g->maybe != NULL;
		if (!c.why[0])
			flunk(g, seed, NULL, 0, 0, "distinct without a reason");
		if (getenv("PORTCLASS_VERBOSE"))
			printf("seed %" PRIu64 " (%s): distinct: %s\n", seed,
			       g->must	  ? g->must
			       : g->maybe ? g->maybe
					  : "-",
			       c.why);
		pc_port_classes_clear(&c);
		return;
	}
	for (uint32_t x = 0; x < 65536; x++)
		st_classes += c.start[x] == x;
	if (g->maybe && getenv("PORTCLASS_VERBOSE"))
		printf("seed %" PRIu64 " (%s): modelled\n", seed, g->maybe);
	for (unsigned i = 0; i < PORTS; i++) {
		uint16_t p = pick_port(g), s = c.start[p], e = p, qs[3];
		bool bad = false;

		while (e < 65535 && c.start[e + 1] == s)
			e++;
		qs[0] = s, qs[1] = e, qs[2] = (uint16_t)(s + rnd((uint32_t)(e - s) + 1));
		for (int fi = 0; fi < 2 && !bad; fi++) {
			if ((g->tfamily == NFPROTO_IPV4 && fi) ||
			    (g->tfamily == NFPROTO_IPV6 && !fi))
				continue;
			for (int pi = 0; pi < 2 && !bad; pi++) {
				struct pc_flow f =
				    nb_flow(protos[pi], fi ? "2001:db8::99" : "192.0.2.99",
					    fi ? "2001:db8::10" : "192.0.2.10", p, ETH0);
				struct pc_src_result *vp = NULL;
				size_t np = 0;

				assert_int_equal(pc_nft_eval_sources(&g->rs, ni, &f, &box[fi][0],
								     &box[fi][1], &vp, &np),
						 0);
				for (int k = 0; k < 3 && !bad; k++)
					if (qs[k] != p && (k == 0 || qs[k] != qs[k - 1]))
						bad = !check_pair(g, ni, seed, f, p, qs[k],
								  &box[fi][0], &box[fi][1], vp, np);
				pc_src_results_free(vp, np);
			}
		}
		if (bad)
			printf("  (class %u-%u)\n", s, e);
	}
	pc_port_classes_clear(&c);
}

static void test_classes_against_engine(void **state)
{
	double secs;
	size_t n;

	(void)state;
	n = prop_run_seeds("PORTCLASS_SEEDS", SEEDS, check_seed, &secs);
	printf(
	    "%zu seeds in %.2f s: %zu distinct (%zu with a use not modelled, %zu of %zu with "
	    "one the scan may model), %.1f classes per other seed; %zu pairs of ports, %zu "
	    "concrete paths (%zu accepted, %zu dropped, %zu rejected, %zu unknown, %zu NAT'd), %zu "
	    "symbolic results compared; %d failures",
	    n, secs, st_distinct, st_must, st_maybe_distinct, st_maybe,
	    n > st_distinct ? (double)st_classes / (double)(n - st_distinct) : 0.0, st_pairs,
	    st_paths, st_verdict[0], st_verdict[1], st_verdict[2], st_unknown, st_nat, st_results,
	    failures);
	for (size_t i = 0; i < n_failed_seeds; i++)
		printf("%s%" PRIu64, i ? ", " : " (seeds ", failed_seeds[i]);
	printf("%s\n", n_failed_seeds ? ")" : "");
	assert_int_equal(failures, 0);
	/* Not vacuous: most seeds have classes to check. */
	assert_true(10 * (n - st_distinct) >= 6 * n);
}

/* (c) Rulesets that compare the port with == alone: never distinct, and their classes are
 * the fewest up to the v / v + 1 cuts: a class starts at each constant and after it, and
 * nowhere else. */
static void test_eq_only_complete(void **state)
{
	struct gen g;

	(void)state;
	for (uint64_t seed = 1; seed <= 100; seed++) {
		struct pc_port_classes c = {0};
		uint8_t want[65536 / 8] = {0};

		gen_ruleset(&g, seed, true);
		assert_int_equal(pc_port_classes_of(&g.rs, &c), 0);
		if (c.distinct) {
			flunk(&g, seed, NULL, 0, 0, "== alone, but distinct: %s", c.why);
		} else {
			for (size_t i = 0; i < g.n_consts; i++) {
				uint32_t x = g.consts[i];

				want[x / 8] |= (uint8_t)(1u << x % 8);
				if (x < 65535)
					want[(x + 1) / 8] |= (uint8_t)(1u << (x + 1) % 8);
			}
			for (uint32_t x = 1; x < 65536; x++) {
				bool w = want[x / 8] & (1u << x % 8), is = c.start[x] == x;

				if (w != is) {
					flunk(&g, seed, NULL, (uint16_t)x, c.start[x],
					      "== alone: %s class starts here", is ? "a" : "no");
					break;
				}
			}
		}
		pc_port_classes_clear(&c);
		pc_nft_ruleset_clear(&g.rs);
	}
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eq_only_complete),
	    cmocka_unit_test(test_classes_against_engine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
