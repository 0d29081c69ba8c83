/* SPDX-License-Identifier: MIT */
/*
 * Private parts of the packet path (nftpath*.c): one path of a synthetic packet through
 * the hooks and the routing decision, and what each part tells the others.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "nftvm_internal.h"

/* --- one path --------------------------------------------------------------------------- */

struct path {
	const struct pc_nft_ruleset *rs;
	const struct vm_net *net;
	const struct pc_flow *flow;
	struct vm_pkt pkt;
	struct vm_choices *ch;
	struct vm_trace *tr;
	struct vm_sym *sym; /* NULL: the flow's source is concrete */
	uint64_t steps;

	bool ct_enabled; /* conntrack runs for the packet's family (see ct_enabled()) */

	/* the outcome */
	bool done;
	enum pc_verdict verdict;
	struct pc_reject reject;
	bool has_rule;
	struct pc_rule_ref rule;
	bool forwarded, dnat_local;
	struct pc_addr fwd_addr;
	uint16_t fwd_port;
	struct pc_nft_endpoint endpoints[PC_NFT_MAX_ENDPOINTS]; /* a draw picks one */
	size_t n_endpoints;
	char reason[256];
	char note[256];
};

/* --- nftpath.c -------------------------------------------------------------------------- */

/* Run the path of pt->flow (with the choices pt->ch, the symbolic source pt->sym). */
void path_run(struct path *pt);
/* The choices @first met with @ch (limit, quota, numgen, ...): run every combination
 * (nftpath_choices.c). -ENOMEM. */
int path_explore_choices(struct path *first, const struct vm_choices *ch, struct vm_trace *tr);
/* The path is done with an unknown result; the first reason wins. */
void path_unknown(struct path *pt, const char *reason);
/* pc_nft_eval_path, with the source symbolic when @sym is set: the box in @sym narrows to
 * the sources that take the path of its concrete one. -ENOMEM. */
int path_eval(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
	      const struct pc_flow *flow, struct vm_sym *sym, bool want_trace,
	      struct pc_nft_result *ret);

/* --- nftpath_hooks.c -------------------------------------------------------------------- */

/* Whether conntrack runs for @nfproto (cached in the ruleset). */
bool path_ct_enabled(const struct pc_nft_ruleset *rs, uint8_t nfproto);
/* Run the base chains of @hook, conntrack when @with_ct, the NAT hook for @nat_manip (-1
 * for none). Returns true when the packet goes on. */
bool path_run_hook(struct path *pt, uint32_t hook, bool with_ct, int nat_manip);
/* Netdev ingress chains bound to the incoming device, and inet ingress chains. */
bool path_run_ingress(struct path *pt);

/* --- nftpath_route.c -------------------------------------------------------------------- */

enum route_res { ROUTE_LOCAL, ROUTE_FORWARD, ROUTE_DONE };

/* Checks of ip6_rcv_core() before any hook. */
bool path_ipv6_rcv_ok(struct path *pt);
/* The routing decision, not a rule, makes the result unknown. */
void path_route_unknown(struct path *pt, const char *reason);
/* The routing decision for the packet as prerouting left it. */
enum route_res path_route_input(struct path *pt, uint32_t *ret_oif);
