/* SPDX-License-Identifier: MIT */
/*
 * What the property tests that compare two evaluations of the generator's rulesets
 * (portclass_gen.h) share: test_portclass_prop.c compares ports of one class,
 * test_guard_prop.c the engine with and without rule port guards. The ruleset printed
 * for a failure, the comparison of two outcomes, the box of sources asked about, and
 * the sources and ports tried.
 */
#pragma once

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "portclass_gen.h"
#include "prop_host.h"

/* A ruleset as the generator's texts tell it, with its sets' elements. */
static inline void print_ruleset(const struct pc_nft_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_tables; i++) {
		const struct pc_nft_table *t = &rs->tables[i];

		printf("  table %s %s\n", pc_nft_family_name(t->family), t->name);
		for (size_t j = 0; j < t->n_sets; j++) {
			const struct pc_nft_set *s = &t->sets[j];

			printf("    set %s flags 0x%x key_len %u:", s->name, s->flags, s->key_len);
			for (size_t k = 0; k < s->n_elems; k++) {
				const struct pc_nft_set_elem *e = &s->elems[k];

				if (e->flags & NFT_SET_ELEM_CATCHALL)
					printf(" *");
				for (unsigned b = 0; b < e->key_len; b++)
					printf(b ? "%02x" : " %02x", e->key[b]);
				if (e->flags & NFT_SET_ELEM_INTERVAL_END)
					printf("(end)");
				else if (s->flags & NFT_SET_MAP)
					printf(":%d/%s/%u", e->verdict_code,
					       e->verdict_chain ? e->verdict_chain : "",
					       e->data_len ? e->data[0] : 0);
			}
			printf("\n");
		}
		for (size_t j = 0; j < t->n_chains; j++) {
			const struct pc_nft_chain *c = &t->chains[j];

			printf("    chain %s (hook %u, policy %u)\n", c->name, c->hooknum,
			       c->policy);
			for (size_t k = 0; k < c->n_rules; k++)
				printf("      [%" PRIu64 "] %s\n", c->rules[k].handle,
				       c->rules[k].text);
		}
	}
}

/* Whether two results are the same outcome: verdict, reject, deciding rule, forwarding
 * and endpoints, note; with @reasons the reasons of unknown outcomes too. */
static inline bool same_outcome(const struct pc_nft_result *s, const struct pc_nft_result *c,
				bool reasons)
{
	if (s->verdict != c->verdict || s->has_rule != c->has_rule ||
	    s->forwarded != c->forwarded || s->dnat_local != c->dnat_local ||
	    s->n_endpoints != c->n_endpoints || strcmp(s->note, c->note) ||
	    (reasons && strcmp(s->unknown_reason, c->unknown_reason)))
		return false;
	if (s->verdict == PC_VERDICT_REJECT && (s->reject.tcp_reset != c->reject.tcp_reset ||
						s->reject.icmp_type != c->reject.icmp_type ||
						s->reject.icmp_code != c->reject.icmp_code))
		return false;
	if (s->has_rule &&
	    (s->rule.policy != c->rule.policy || s->rule.handle != c->rule.handle ||
	     strcmp(s->rule.table, c->rule.table) || strcmp(s->rule.chain, c->rule.chain)))
		return false;
	for (size_t i = 0; i < s->n_endpoints; i++)
		if (!pc_addr_equal(&s->endpoints[i].addr, &c->endpoints[i].addr) ||
		    s->endpoints[i].port != c->endpoints[i].port)
			return false;
	return !(s->forwarded || s->dnat_local) ||
	       (pc_addr_equal(&s->fwd_addr, &c->fwd_addr) && s->fwd_port == c->fwd_port);
}

/* The sources asked about: the non-martian addresses x source ports 1-65535. */
static inline void source_box(int family, struct pc_ivlist *a, struct pc_ivlist *p)
{
	static const char *const m4[] = {"0.0.0.0/8",	       "127.0.0.0/8",	"224.0.0.0/4",
					 "255.255.255.255/32", "192.0.2.10/32", "192.0.2.255/32",
					 "198.51.100.1/32"};
	static const char *const m6[] = {"::/8", "ff00::/8", "2001:db8::10/128", "fe80::/10"};
	const char *const *m = family == AF_INET ? m4 : m6;
	size_t nm = family == AF_INET ? 7 : 4;
	unsigned bits = family == AF_INET ? 32 : 128;
	struct pc_ivlist all = {0}, out = {0};

	assert_int_equal(pc_ivlist_append(&all, 0, pc_u128_max(bits)), 0);
	for (size_t i = 0; i < nm; i++) {
		struct pc_prefix pf;
		pc_u128 lo;

		assert_int_equal(pc_prefix_from_string(m[i], &pf), 0);
		lo = pc_addr_to_u128(&pf.addr);
		assert_int_equal(pc_ivlist_append(&out, lo, lo | pc_u128_max(bits - pf.len)), 0);
	}
	assert_int_equal(pc_ivlist_normalize(&out), 0);
	assert_int_equal(pc_ivlist_subtract(&all, &out, a), 0);
	assert_int_equal(pc_ivlist_append(p, PC_SRC_PORT_MIN, PC_SRC_PORT_MAX), 0);
	pc_ivlist_clear(&all), pc_ivlist_clear(&out);
}

/* A source to try: in or near the prefixes the rules test, or anywhere. */
static inline struct pc_addr rnd_source(int family)
{
	static const char *const v4[] = {"203.0.113.7", "192.0.2.5", "198.51.100.77", "198.19.0.1",
					 "198.18.5.5"};
	static const char *const v6[] = {"2001:db8::99", "2001:db8:80ff::1", "2001:db8:c000::1",
					 "2001:db8:ffff::5"};
	struct pc_addr a;

	if (rnd(4) == 0) {
		pc_u128 v = family == AF_INET ? (pc_u128)(1 + rnd(126)) << 24 | rnd(1 << 24)
					      : (pc_u128)0x2001 << 112 | (pc_u128)rnd64();

		return pc_addr_from_u128(family, v);
	}
	assert_int_equal(pc_addr_from_string(family == AF_INET ? v4[rnd(5)] : v6[rnd(4)], &a), 0);
	return a;
}

/* Ports to try: near the ruleset's constants, and anywhere. */
static inline uint16_t pick_port(const struct gen *g)
{
	if (g->n_consts && rnd(3))
		return (uint16_t)(g->consts[rnd((uint32_t)g->n_consts)] +
				  (rnd(2) ? 0 : rnd(3) - 1));
	return (uint16_t)rnd(65536);
}

/* One seed's check: the ruleset is g's, the sources asked about box[family][addr/port]. */
typedef void (*prop_check_seed_fn)(struct gen *g, const struct pc_netif *ni, uint64_t seed,
				   const struct pc_ivlist box[2][2]);

/*
 * Run @check over seeds 1..@seeds, or A-B from the environment variable @env ("A-B"),
 * on the property tests' host with the non-martian sources of both families. Returns
 * how many seeds ran; *secs their time.
 */
static inline size_t prop_run_seeds(const char *env, uint64_t seeds, prop_check_seed_fn check,
				    double *secs)
{
	struct pc_netif ni = {0};
	struct pc_ivlist box[2][2] = {{{0}}};
	struct timespec t0, t1;
	struct gen g;
	uint64_t first = 1, last = seeds;

	prop_host(&ni);
	source_box(AF_INET, &box[0][0], &box[0][1]);
	source_box(AF_INET6, &box[1][0], &box[1][1]);
	if (getenv(env))
		sscanf(getenv(env), "%" SCNu64 "-%" SCNu64, &first, &last);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t seed = first; seed <= last; seed++) {
		check(&g, &ni, seed, box);
		pc_nft_ruleset_clear(&g.rs);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (int i = 0; i < 2; i++)
		pc_ivlist_clear(&box[i][0]), pc_ivlist_clear(&box[i][1]);
	pc_netif_free(&ni);
	return last >= first ? (size_t)(last - first + 1) : 0;
}
