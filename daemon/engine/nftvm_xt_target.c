/* SPDX-License-Identifier: MIT */
/*
 * xtables compat targets (nft_compat): REJECT, the NAT targets (SNAT, DNAT, MASQUERADE,
 * REDIRECT, NETMAP), CT --notrack and the targets that only mark or log, evaluated from
 * their info blobs as the ipt_*.c / xt_*.c modules do. A target's XT_CONTINUE continues,
 * any other value is the verdict. The matches: nftvm_xt.c.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CT.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>
#include <stdio.h>
#include <string.h>

#include "nftvm_internal.h"
#include "portcheck/util.h"

/* The REJECT targets' table of what each "with" sends: -1 nothing (a drop), -2 a TCP
 * reset, else the ICMP(v6) code of a destination-unreachable. */
static void reject_with(struct vm *vm, const int *codes, size_t n, uint32_t with)
{
	if (with >= n || codes[with] == -1) {
		vm->vcode = NF_DROP;
		return;
	}
	if (codes[with] == -2)
		vm_send_reset(vm);
	else
		vm_send_unreach(vm, (uint8_t)codes[with]);
}

/* reject_tg (ipt_REJECT.c): every --reject-with as the ICMP code it sends. */
static void target_reject4(struct vm *vm, uint32_t with)
{
	static const int codes[] = {
	    [IPT_ICMP_NET_UNREACHABLE] = 0,  /* ICMP_NET_UNREACH */
	    [IPT_ICMP_HOST_UNREACHABLE] = 1, /* ICMP_HOST_UNREACH */
	    [IPT_ICMP_PROT_UNREACHABLE] = 2, /* ICMP_PROT_UNREACH */
	    [IPT_ICMP_PORT_UNREACHABLE] = 3, /* ICMP_PORT_UNREACH */
	    [IPT_ICMP_ECHOREPLY] = -1,	     /* "Doesn't happen": nothing sent */
	    [IPT_ICMP_NET_PROHIBITED] = 9,   /* ICMP_NET_ANO */
	    [IPT_ICMP_HOST_PROHIBITED] = 10, /* ICMP_HOST_ANO */
	    [IPT_TCP_RESET] = -2,
	    [IPT_ICMP_ADMIN_PROHIBITED] = 13, /* ICMP_PKT_FILTERED */
	};

	reject_with(vm, codes, ELEMENTSOF(codes), with);
}

/* reject_tg6 (ip6t_REJECT.c) */
static void target_reject6(struct vm *vm, uint32_t with)
{
	static const int codes[] = {
	    [IP6T_ICMP6_NO_ROUTE] = 0,	     /* ICMPV6_NOROUTE */
	    [IP6T_ICMP6_ADM_PROHIBITED] = 1, /* ICMPV6_ADM_PROHIBITED */
	    [IP6T_ICMP6_NOT_NEIGHBOUR] = 2,  /* ICMPV6_NOT_NEIGHBOUR */
	    [IP6T_ICMP6_ADDR_UNREACH] = 3,   /* ICMPV6_ADDR_UNREACH */
	    [IP6T_ICMP6_PORT_UNREACH] = 4,   /* ICMPV6_PORT_UNREACH */
	    [IP6T_ICMP6_ECHOREPLY] = -1,     /* "Do nothing" */
	    [IP6T_TCP_RESET] = -2,	     [IP6T_ICMP6_POLICY_FAIL] = 5, /* ICMPV6_POLICY_FAIL */
	    [IP6T_ICMP6_REJECT_ROUTE] = 6,				   /* ICMPV6_REJECT_ROUTE */
	};

	reject_with(vm, codes, ELEMENTSOF(codes), with);
}

/* The range of an xt NAT target as nf_nat_range2 (xt_nat.c, xt_REDIRECT.c,
 * xt_MASQUERADE.c): revision 0 of the IPv4 targets carries nf_nat_ipv4_multi_range_compat,
 * IPv6 and revision 1 nf_nat_range, revision 2 nf_nat_range2. */
static bool xt_nat_range(struct vm *vm, const struct pc_nft_expr *e, bool v4_compat,
			 struct vm_nat_range *ret)
{
	int family = vm->pkt->family;
	unsigned alen = pc_addr_size(family);

	*ret = (struct vm_nat_range){};
	if (v4_compat) {
		struct nf_nat_ipv4_multi_range_compat mr;

		if (!vm_xt_info_get(vm, e, &mr, sizeof(mr)))
			return false;
		if (mr.rangesize != 1) {
			vm_unknown(vm, "%s with %u ranges", e->xt.name, mr.rangesize);
			return false;
		}
		ret->flags = mr.range[0].flags;
		ret->min_addr.family = ret->max_addr.family = AF_INET;
		memcpy(ret->min_addr.bytes, &mr.range[0].min_ip, 4);
		memcpy(ret->max_addr.bytes, &mr.range[0].max_ip, 4);
		ret->min_port = ntohs(mr.range[0].min.all);
		ret->max_port = ntohs(mr.range[0].max.all);
		return true;
	}
	{
		/* nf_nat_range is nf_nat_range2 without base_proto at the end: read the
		 * revision's size into a zeroed range2. */
		struct nf_nat_range2 r = {};

		_Static_assert(offsetof(struct nf_nat_range2, base_proto) ==
				   sizeof(struct nf_nat_range),
			       "nf_nat_range is a prefix of nf_nat_range2");

		if (!vm_xt_info_get(vm, e, &r,
				    e->xt.rev >= 2 ? sizeof(r) : sizeof(struct nf_nat_range)))
			return false;
		ret->flags = r.flags;
		ret->min_addr.family = ret->max_addr.family = family;
		memcpy(ret->min_addr.bytes, &r.min_addr, alen);
		memcpy(ret->max_addr.bytes, &r.max_addr, alen);
		ret->min_port = ntohs(r.min_proto.all);
		ret->max_port = ntohs(r.max_proto.all);
		ret->base_port = ntohs(r.base_proto.all);
		return true;
	}
}

void vm_eval_xt_target(struct vm *vm, const struct pc_nft_expr *e)
{
	const char *n = e->xt.name;
	bool v4 = vm->table && vm->table->family == NFPROTO_IPV4;
	struct vm_nat_range r;

	if (vm->table && vm->table->family != NFPROTO_IPV4 && vm->table->family != NFPROTO_IPV6) {
		vm_unknown(vm, "xtables target %s in a table of family %u", n, vm->table->family);
		return;
	}
	if (strcmp(n, "REJECT") == 0) {
		uint32_t with;

		if (!vm_xt_info_get(vm, e, &with, sizeof(with)))
			return;
		if (v4)
			target_reject4(vm, with);
		else
			target_reject6(vm, with);
		return;
	}
	if (strcmp(n, "LOG") == 0 || strcmp(n, "NFLOG") == 0 || strcmp(n, "TCPMSS") == 0 ||
	    strcmp(n, "CHECKSUM") == 0 || strcmp(n, "CLASSIFY") == 0 || strcmp(n, "AUDIT") == 0)
		return; /* XT_CONTINUE: nothing the verdict depends on */
	if (strcmp(n, "MARK") == 0) {
		struct xt_mark_tginfo2 m;

		if (e->xt.rev != 2) {
			vm_unknown(vm, "MARK target revision %u", e->xt.rev);
			return;
		}
		if (!vm_xt_info_get(vm, e, &m, sizeof(m)))
			return;
		vm->pkt->mark = (vm->pkt->mark & ~m.mask) ^ m.mark;
		return;
	}
	if (strcmp(n, "NOTRACK") == 0) {
		vm_eval_notrack(vm);
		return;
	}
	if (strcmp(n, "CT") == 0) {
		uint16_t flags;

		if (!vm_xt_info_get(vm, e, &flags, sizeof(flags)))
			return;
		if (flags & XT_CT_NOTRACK) {
			vm_eval_notrack(vm);
			return;
		}
		vm_unknown(vm, "CT target with helper, zone or events: not modelled");
		return;
	}
	if (strcmp(n, "DNAT") == 0 || strcmp(n, "SNAT") == 0) {
		bool dnat = n[0] == 'D';

		if (!xt_nat_range(vm, e, v4 && e->xt.rev == 0, &r))
			return;
		vm_nat_setup(vm, &r, dnat ? MANIP_DST : MANIP_SRC);
		return;
	}
	if (strcmp(n, "REDIRECT") == 0) {
		if (!xt_nat_range(vm, e, v4, &r))
			return;
		vm_nat_redirect(vm, &r);
		return;
	}
	if (strcmp(n, "MASQUERADE") == 0) {
		if (!xt_nat_range(vm, e, v4, &r))
			return;
		vm_nat_masquerade(vm, &r);
		return;
	}
	vm_unknown(vm, "xtables target %s (revision %u) not modelled", n, e->xt.rev);
}
