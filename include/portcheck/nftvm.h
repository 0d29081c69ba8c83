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
};

struct pc_trace_entry {
	uint32_t hook; /* NF_INET_* */
	struct pc_rule_ref rule;
	enum pc_trace_action action;
	char detail[96]; /* e.g. "jump filter_IN_public", "dnat to 198.51.100.2:8000" */
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

/*
 * Source addresses of @family where the outcome may change: every prefix bound, interval
 * bound and set element that the ruleset compares a source address with (through payload
 * loads of the network header's source address, with masks). Returns a sorted, unique
 * list of "piece starts" (always including the all-zero address) in a malloc'd array;
 * every address between two consecutive starts gets the same outcome. Returns the count
 * or -ENOMEM.
 */
int pc_nft_source_boundaries(const struct pc_nft_ruleset *rs, int family,
			     struct pc_addr **ret_starts);

void pc_nft_result_clear(struct pc_nft_result *r);
