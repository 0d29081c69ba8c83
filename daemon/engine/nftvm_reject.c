/* SPDX-License-Identifier: MIT */
/*
 * The reject expression (nft_reject_{ipv4,ipv6,inet}_eval) and what the client sees of
 * it: an ICMP error or a TCP reset, or nothing when no reply can be routed.
 */
#include <arpa/inet.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "nftvm_internal.h"

#define ICMP_DEST_UNREACH_TYPE 3
#define ICMPV6_DEST_UNREACH_TYPE 1

/* Whether the kernel can route a reply to the packet's source (nf_reject_fill_skb_dst,
 * icmp_send, ip_route_me_harder all need one); with policy routing in place it is assumed
 * it can. */
static bool reply_routable(struct vm *vm)
{
	struct pc_addr s;
	struct vm_rt rt;

	if (vm->hook == VM_HOOK_INGRESS || vm->net->ni->routing_blind_spot)
		return true;
	if (vm_route_class(vm) < 0)
		return true; /* unknown */
	pkt_addr(vm->pkt, false, &s);
	vm_fib_lookup(vm->net, &s, 0, &rt);
	return rt.found && !vm_rt_is_error(&rt);
}

static void reject_done(struct vm *vm, bool sent)
{
	vm->vcode = NF_DROP;
	vm->rule_rejected = true;
	vm->rejected = true;
	vm->reject_silent = !sent;
	if (!sent)
		snprintf(vm->rule_detail, sizeof(vm->rule_detail),
			 "reject: nothing sent (no route back to the source)");
}

void vm_send_unreach(struct vm *vm, uint8_t code)
{
	bool v4 = vm->pkt->family == AF_INET;

	vm->reject = (struct pc_reject){
	    .icmp_type = v4 ? ICMP_DEST_UNREACH_TYPE : ICMPV6_DEST_UNREACH_TYPE,
	    .icmp_code = code,
	};
	reject_done(vm, reply_routable(vm));
	if (!vm->reject_silent)
		snprintf(vm->rule_detail, sizeof(vm->rule_detail), "reject: %s type %u code %u",
			 v4 ? "icmp" : "icmpv6", vm->reject.icmp_type, code);
}

void vm_send_reset(struct vm *vm)
{
	/* nf_reject_ip{,6}_tcphdr_get(): only a TCP segment without RST gets a reset; any
	 * other packet is just dropped. */
	if (vm->pkt->l4proto != IPPROTO_TCP) {
		vm->reject = (struct pc_reject){};
		reject_done(vm, false);
		snprintf(vm->rule_detail, sizeof(vm->rule_detail),
			 "reject with tcp reset: not TCP, nothing sent");
		return;
	}
	vm->reject = (struct pc_reject){.tcp_reset = true};
	reject_done(vm, reply_routable(vm));
	if (!vm->reject_silent)
		snprintf(vm->rule_detail, sizeof(vm->rule_detail), "reject with tcp reset");
}

/* nft_reject_icmp_code() / nft_reject_icmpv6_code() */
static int icmpx_code(bool v4, uint8_t code)
{
	static const uint8_t v4codes[] = {
	    [NFT_REJECT_ICMPX_NO_ROUTE] = 0,	      /* ICMP_NET_UNREACH */
	    [NFT_REJECT_ICMPX_PORT_UNREACH] = 3,      /* ICMP_PORT_UNREACH */
	    [NFT_REJECT_ICMPX_HOST_UNREACH] = 1,      /* ICMP_HOST_UNREACH */
	    [NFT_REJECT_ICMPX_ADMIN_PROHIBITED] = 13, /* ICMP_PKT_FILTERED */
	};
	static const uint8_t v6codes[] = {
	    [NFT_REJECT_ICMPX_NO_ROUTE] = 0,	     /* ICMPV6_NOROUTE */
	    [NFT_REJECT_ICMPX_PORT_UNREACH] = 4,     /* ICMPV6_PORT_UNREACH */
	    [NFT_REJECT_ICMPX_HOST_UNREACH] = 3,     /* ICMPV6_ADDR_UNREACH */
	    [NFT_REJECT_ICMPX_ADMIN_PROHIBITED] = 1, /* ICMPV6_ADM_PROHIBITED */
	};

	if (code > NFT_REJECT_ICMPX_MAX)
		return -1;
	return v4 ? v4codes[code] : v6codes[code];
}

void vm_eval_reject(struct vm *vm, const struct pc_nft_expr *e)
{
	bool v4 = vm->pkt->family == AF_INET;
	int code;

	switch (e->reject.type) {
	case NFT_REJECT_ICMP_UNREACH:
		/* The code as given, in the packet's own ICMP: an inet table's "icmp" reject
		 * met by an IPv6 packet sends ICMPv6 with that code. */
		vm_send_unreach(vm, e->reject.code);
		return;
	case NFT_REJECT_TCP_RST:
		vm_send_reset(vm);
		return;
	case NFT_REJECT_ICMPX_UNREACH:
		/* nft only emits icmpx in inet, netdev and bridge tables; what an ip or ip6
		 * table's reject does with it changed over kernel versions (nothing sent, or
		 * the mapped code). */
		if (vm->table &&
		    (vm->table->family == NFPROTO_IPV4 || vm->table->family == NFPROTO_IPV6)) {
			vm_unknown(vm, "reject with icmpx in an %s table",
				   vm->table->family == NFPROTO_IPV4 ? "ip" : "ip6");
			return;
		}
		code = icmpx_code(v4, e->reject.code);
		if (code < 0) {
			vm_unknown(vm, "reject with icmpx code %u", e->reject.code);
			return;
		}
		vm_send_unreach(vm, (uint8_t)code);
		return;
	default:
		vm_unknown(vm, "reject type %u", e->reject.type);
	}
}
