/* SPDX-License-Identifier: MIT */
/*
 * The engine: what the kernel does with one new connection, computed by executing the
 * nftables snapshot the way nft_do_chain does, along the kernel's packet path (prerouting
 * base chains by priority, NAT first binding wins, routing decision on the post-DNAT
 * destination, input or forward base chains). Pure: snapshot and network model in, result
 * out. Never says accept when it cannot be sure: such results are PC_VERDICT_UNKNOWN with a
 * reason.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "portcheck/addr.h"
#include "portcheck/netif.h"
#include "portcheck/nft.h"
#include "portcheck/srcdim.h"
#include "portcheck/srcspace.h"
#include "portcheck/verdict.h"

/* The source port of synthetic connections: an ordinary ephemeral port (rulesets that
 * match on client source ports are rare; such a match decides only for this port). */
#define PC_FLOW_SOURCE_PORT 40000

/* A synthetic new connection: a TCP SYN or a UDP datagram. */
struct pc_flow {
	int family;	 /* AF_INET / AF_INET6 */
	uint8_t l4proto; /* IPPROTO_TCP / IPPROTO_UDP */
	struct pc_addr saddr, daddr;
	uint16_t sport, dport; /* host byte order */
	uint32_t iif;	       /* ifindex it arrives on */
};

enum pc_trace_action {
	PC_TRACE_NOMATCH,  /* the rule did not match (NFT_BREAK) */
	PC_TRACE_CONTINUE, /* matched, no verdict (counter, log, ...) */
	PC_TRACE_JUMP,
	PC_TRACE_GOTO,
	PC_TRACE_RETURN,
	PC_TRACE_ACCEPT,
	PC_TRACE_DROP,
	PC_TRACE_REJECT,
	PC_TRACE_NAT,	  /* dnat/snat/redirect/masquerade took effect */
	PC_TRACE_POLICY,  /* end of a base chain: its policy applied */
	PC_TRACE_UNKNOWN, /* evaluation stopped: not exactly evaluable */
};

/* Where a rule is; pointers point into the ruleset snapshot (valid while it lives). */
struct pc_rule_ref {
	uint32_t family; /* NFPROTO_* of the table */
	const char *table, *chain;
	uint64_t handle;  /* 0 for a chain policy */
	const char *text; /* rule text, or NULL; for a policy NULL */
	bool policy;	  /* the base chain's policy decided */
	/* The rule in the snapshot (NULL for a policy): its text may be filled after the
	 * evaluation (PC_NFT_READ_NO_TEXTS); read it with pc_rule_ref_text. */
	const struct pc_nft_rule *nft_rule;
};

/* The rule's text: the snapshot's (it may have come after the evaluation); for a result
 * without its rule, the one the evaluation saw; NULL when there is none. */
const char *pc_rule_ref_text(const struct pc_rule_ref *ref);

struct pc_trace_entry {
	uint32_t hook; /* NF_INET_* */
	struct pc_rule_ref rule;
	enum pc_trace_action action;
	char detail[96]; /* e.g. "jump filter_IN_public", "dnat to 198.51.100.2:8000" */
};

/* One of the destinations a random or hashed choice (numgen, jhash) DNATs to. */
#define PC_NFT_MAX_ENDPOINTS 16
struct pc_nft_endpoint {
	struct pc_addr addr;
	uint16_t port;
	double share; /* of new connections */
};

struct pc_nft_result {
	enum pc_verdict verdict;
	struct pc_reject reject; /* as seen on the wire, when verdict is REJECT */
	bool has_rule;
	struct pc_rule_ref rule; /* the rule (or policy) that decided */
	bool forwarded; /* DNAT'd (or routed) away from this host: never reaches a local socket */
	struct pc_addr fwd_addr; /* where it goes when forwarded or redirected */
	uint16_t fwd_port;
	bool
	    dnat_local; /* DNAT/redirect to a local address: fwd_* say which, may be another port */
	/* When a draw (numgen, jhash) picks the destination among several: each of them
	 * (fwd_* is the first); 0 when there is one. */
	struct pc_nft_endpoint endpoints[PC_NFT_MAX_ENDPOINTS];
	size_t n_endpoints;
	char unknown_reason[256]; /* set when verdict is UNKNOWN */
	/* Why, when no rule decided: the routing decision ("no route to 198.51.100.7: ICMP net
	 * unreachable", "... IPv4 forwarding is off: dropped"), a martian address. */
	char note[256];
	struct pc_trace_entry *trace; /* only when asked for */
	size_t n_trace;
};

/*
 * Evaluate @flow through @rs over the network model @ni (links, addresses, routes,
 * forwarding). @want_trace records every rule met. Returns 0 (the result may be UNKNOWN)
 * or -ENOMEM. Free the trace with pc_nft_result_clear.
 */
int pc_nft_eval_path(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
		     const struct pc_flow *flow, bool want_trace, struct pc_nft_result *ret);

/* --- symbolic sources ------------------------------------------------------------------ */

/* Source ports a client can have: every port but 0. */
#define PC_SRC_PORT_MIN 1
#define PC_SRC_PORT_MAX 65535

enum pc_src_lit_kind {
	PC_SRC_LIT_RANGE, /* lo <= x <= hi */
	PC_SRC_LIT_MASK,  /* (x & mask) == value */
	PC_SRC_LIT_SET,	  /* a key made of x and constants is in the set (with this data) */
};

/* One test a path's sources pass (or, negated, fail); x is the source address (IPv6 as 128
 * bits, IPv4 as 32) or the source port. Pointers point into the ruleset snapshot. */
struct pc_src_lit {
	enum pc_src_lit_kind kind;
	bool port; /* x is the source port, else the source address */
	bool negated;
	pc_u128 a, b; /* RANGE: lo, hi; MASK: mask, value */
	/* SET */
	const struct pc_nft_table *table;
	const struct pc_nft_set *set;
	uint32_t sym_field;	   /* the key's field that holds x (UINT32_MAX: no field layout) */
	uint32_t sym_off, sym_len; /* the key's bytes that hold x */
	uint8_t key[PC_NFT_DATA_MAX]; /* the other fields' constants (key_len bytes) */
	bool has_verdict;	      /* verdict maps: the element's verdict */
	struct pc_nft_verdict verdict;
	bool has_data; /* data maps: the element's data */
	struct pc_nft_data data;
};

/* The sources that take one path: a box (addresses x ports) and the tests that carve it
 * out of the sources asked about, the outcome, and a source of it. */
struct pc_src_result {
	struct pc_srcdim addr, port;
	struct pc_src_lit *lits;
	size_t n_lits;
	/* No tests carve it out: it is what was left past a budget, told by its box alone. */
	bool box_only;
	struct pc_addr example;
	uint16_t example_port;
	struct pc_nft_result res;
};

/* Distinct paths explored per call, and address and port ranges held by their boxes,
 * before the rest of the sources is reported unknown. */
#define PC_SRC_MAX_RUNS 1024
#define PC_SRC_MAX_RANGES (1u << 21)
#define PC_SRC_MAX_TESTS 100000
/* Intervals a scattered (non-prefix) source mask may produce before it is unknown. */
#define PC_SRC_MAX_MASK_INTERVALS 4096

/*
 * The source addresses routing tells apart: a partition of the family's address space
 * into classes, each a sorted list of disjoint intervals, such that looking a source up
 * in the routes (the reverse-path filter, an ICMP error's route back, fib and addrtype
 * on the source) answers alike for every source of a class.
 */
struct pc_src_classes {
	const struct pc_ivlist *v;
	size_t n;
};

/*
 * Every path that new connections from the sources @addrs x @ports take, where @flow
 * gives the rest (family, protocol, destination, incoming interface; its saddr and sport
 * are ignored). The source is symbolic: each test of it splits the sources only by its
 * outcome, so a set of 200,000 addresses costs two paths, not 200,000. The results
 * partition @addrs x @ports; an outcome the engine cannot be sure of is UNKNOWN for the
 * sources that reach it. Where the routing code looks the source up, the sources are
 * split by @classes (NULL: routing must not tell the sources apart, the caller split at
 * routes first, and the routing decision is taken for the example source). Returns 0 or
 * -ENOMEM (a source in no class, or runs that did not replay alike: the sources left are
 * UNKNOWN); free with pc_src_results_free.
 */
int pc_nft_eval_sources(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
			const struct pc_flow *flow, const struct pc_ivlist *addrs,
			const struct pc_ivlist *ports, struct pc_src_result **ret, size_t *n_ret);
int pc_nft_eval_sources_classes(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
				const struct pc_flow *flow, const struct pc_ivlist *addrs,
				const struct pc_ivlist *ports, const struct pc_src_classes *classes,
				struct pc_src_result **ret, size_t *n_ret);
void pc_src_results_free(struct pc_src_result *v, size_t n);
/* @r's sources with an address in [@lo, @hi], as a result of their own (its tests but the
 * address ranges all of [@lo, @hi] answers alike, its outcome, an example inside): 1, or
 * 0 when none is (*ret not written), or -ENOMEM (*ret empty). An array of them is freed with
 * pc_src_results_free. */
int pc_src_result_clip(const struct pc_src_result *r, int family, pc_u128 lo, pc_u128 hi,
		       struct pc_src_result *ret);
/* The same, except that when @r's addresses all lie in [@lo, @hi] its boxes and tests
 * move into *ret (@r is left with none, so no other interval meets it): for results
 * clipped to disjoint pieces and freed after. 1, 0, -ENOMEM as pc_src_result_clip. */
int pc_src_result_take(struct pc_src_result *r, int family, pc_u128 lo, pc_u128 hi,
		       struct pc_src_result *ret);
bool pc_src_lit_equal(const struct pc_src_lit *a, const struct pc_src_lit *b);
/* The values of x for which a set literal (not negated) holds, from the set's elements
 * (cached with the set's index: valid until the next lookup of the same set, which may
 * evict it; use it before anything else looks the set up). -ENOMEM, -EINVAL. */
int pc_src_lit_members(const struct pc_src_lit *lit, int family, const struct pc_ivlist **ret);
/* The same as a reference to the shared list (NULL when no source passes), valid however
 * the set is looked up since; let go of it with pc_ivbase_unref. -ENOMEM, -EINVAL. */
int pc_src_lit_members_ref(const struct pc_src_lit *lit, int family, struct pc_ivbase **ret);
/* How many elements a set holds as nft lists them (interval end elements and the catch-all
 * not counted), counted once with the set's index. */
size_t pc_nft_set_member_count(const struct pc_nft_set *s);
/* The address / value conversions of a source dimension. */
pc_u128 pc_addr_to_u128(const struct pc_addr *a);
struct pc_addr pc_addr_from_u128(int family, pc_u128 v);

void pc_nft_result_clear(struct pc_nft_result *r);

/* Whether the chain walk passes over the rules the packet's destination port cannot
 * match without evaluating them (daemon/engine/nftvm_guard.c); true. The tests compare
 * with false, which evaluates every rule. */
extern bool pc_nft_use_port_guards;
