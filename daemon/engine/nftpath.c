/* SPDX-License-Identifier: MIT */
/*
 * The kernel's path for one new connection: the synthetic packet's bytes, the hooks it
 * meets and the routing decision between them.
 *
 *   ingress (netdev tables bound to the device, inet ingress chains)
 *   prerouting: base chains by priority; conntrack at -200 (NF_IP_PRI_CONNTRACK); the NAT
 *     hook at -100 (NF_IP_PRI_NAT_DST) running every nat-type chain of the hook, in their
 *     own priority order, until one binds (nf_nat_inet_fn), then the null binding; DNAT
 *     rewrites the packet there, so later chains see the new destination
 *   routing decision on the post-DNAT destination (ip_route_input_slow / ip6_route_input)
 *   input: base chains, the NAT hook at +100 (SNAT) among them
 *   or forward, then postrouting with its NAT hook at +100 (SNAT, masquerade)
 *
 * Ordering of base chains on a hook: by priority; at equal priority the kernel inserts a
 * new hook before the ones already there (nf_hook_entries_grow), so the later registration
 * runs first. The snapshot lists tables and chains in creation order, which is taken as the
 * registration order (an approximation when chains were added to older tables later).
 * Chains exactly at the conntrack or NAT hook's priority have an order relative to those
 * that depends on history; where it matters the result is unknown.
 *
 * Accept in a base chain continues with the next one; drop and reject are final.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftpath_internal.h"
#include "nftvm_internal.h"
#include "portcheck/util.h"

/* --- the synthetic packet --------------------------------------------------------------- */

static uint32_t csum_add(uint32_t sum, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 header (TTL 64, DF, no options) or IPv6 header (hop limit 64, no extension
 * headers), then a TCP SYN (data offset 5, no options, window 64240) or a UDP header with
 * no data; checksums filled in. The fields a real client chooses are marked as varying:
 * a comparison they decide is not exact. */
static void build_packet(struct vm_pkt *p, const struct pc_flow *f)
{
	bool v4 = f->family == AF_INET, tcp = f->l4proto == IPPROTO_TCP;
	uint32_t l4len = tcp ? 20 : 8, sum;
	uint8_t *ip = p->buf, *l4;
	uint8_t pseudo[40] = {};
	unsigned alen = v4 ? 4 : 16;

	memset(p->buf, 0, sizeof(p->buf));
	p->family = f->family;
	p->nfproto = v4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	p->l4proto = f->l4proto;
	p->thoff = v4 ? 20 : 40;
	p->len = p->thoff + l4len;
	l4 = ip + p->thoff;

	if (v4) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)p->len);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = f->l4proto;
		memcpy(ip + 12, f->saddr.bytes, 4);
		memcpy(ip + 16, f->daddr.bytes, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = f->l4proto;
		ip[7] = 64;
		memcpy(ip + 8, f->saddr.bytes, 16);
		memcpy(ip + 24, f->daddr.bytes, 16);
	}

	put16(l4, f->sport);
	put16(l4 + 2, f->dport);
	if (tcp) {
		put16(l4 + 4, 0x0001); /* sequence number, arbitrary */
		l4[12] = 5 << 4;
		l4[13] = 0x02; /* SYN */
		put16(l4 + 14, 64240);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
	}
	/* What differs between clients: IPv4 DSCP/ECN, length, id, DF, TTL, checksum; IPv6
	 * traffic class, flow label, length, hop limit; TCP sequence and ack numbers, data
	 * offset (options), ECN flags, window, checksum; UDP length and checksum. */
	memset(p->var, 0, sizeof(p->var));
	memset(p->sym, VM_SYM_NONE, sizeof(p->sym));
	if (v4) {
		memset(p->var + 1, 0xff, 5);
		p->var[6] = 0x40;
		p->var[8] = 0xff;
		memset(p->var + 10, 0xff, 2);
	} else {
		p->var[0] = 0x0f;
		memset(p->var + 1, 0xff, 5);
		p->var[7] = 0xff;
	}
	if (tcp) {
		memset(p->var + p->thoff + 4, 0xff, 9);
		p->var[p->thoff + 13] = 0xc0;
		memset(p->var + p->thoff + 14, 0xff, 4);
	} else {
		memset(p->var + p->thoff + 4, 0xff, 4);
	}

	/* Pseudo-header: addresses, then protocol and length. */
	memcpy(pseudo, f->saddr.bytes, alen);
	memcpy(pseudo + alen, f->daddr.bytes, alen);
	sum = csum_add(0, pseudo, alen * 2);
	sum += f->l4proto + l4len;
	sum = csum_add(sum, l4, l4len);
	put16(l4 + (tcp ? 16 : 6), csum_fold(sum) ? csum_fold(sum) : 0xffff);
}

void path_unknown(struct path *pt, const char *reason)
{
	if (pt->done)
		return;
	pt->done = true;
	pt->verdict = PC_VERDICT_UNKNOWN;
	snprintf(pt->reason, sizeof(pt->reason), "%s", reason);
}

void path_run(struct path *pt)
{
	struct vm_pkt *p = &pt->pkt;
	struct pc_addr d;
	uint32_t oif = 0;
	uint16_t dport;

	build_packet(p, pt->flow);
	if (pt->sym)
		vm_sym_mark_packet(p);
	p->iif = pt->flow->iif;
	p->pkt_type = 0; /* PACKET_HOST */

	if (!vm_link(pt->net, p->iif)) {
		path_route_unknown(pt, "the incoming interface is not in the network model");
		return;
	}
	/* Ingress runs in the device's receive path, before the IP layer looks at it. */
	if (!path_run_ingress(pt))
		return;
	if (p->family == AF_INET6 && !path_ipv6_rcv_ok(pt))
		return;
	pt->ct_enabled = path_ct_enabled(pt->rs, p->nfproto);
	if (!path_run_hook(pt, NF_INET_PRE_ROUTING, pt->ct_enabled, MANIP_DST))
		return;

	switch (path_route_input(pt, &oif)) {
	case ROUTE_DONE:
		return;
	case ROUTE_LOCAL:
		if (!path_run_hook(pt, NF_INET_LOCAL_IN, false, MANIP_SRC))
			return;
		pkt_addr(p, true, &d);
		dport = pkt_port(p, true);
		if (!pc_addr_equal(&d, &pt->flow->daddr) || ntohs(dport) != pt->flow->dport) {
			pt->dnat_local = true;
			pt->fwd_addr = d;
			pt->fwd_port = ntohs(dport);
		}
		break;
	case ROUTE_FORWARD:
		p->oif = oif;
		if (!path_run_hook(pt, NF_INET_FORWARD, false, -1))
			return;
		if (!path_run_hook(pt, NF_INET_POST_ROUTING, false, MANIP_SRC))
			return;
		pt->forwarded = true;
		pkt_addr(p, true, &pt->fwd_addr);
		pt->fwd_port = ntohs(pkt_port(p, true));
		break;
	}
	pt->done = true;
	pt->verdict = PC_VERDICT_ACCEPT;
}

static bool flow_valid(const struct pc_flow *f)
{
	return (f->family == AF_INET || f->family == AF_INET6) && f->saddr.family == f->family &&
	       f->daddr.family == f->family &&
	       (f->l4proto == IPPROTO_TCP || f->l4proto == IPPROTO_UDP);
}

/* The result of the path @first took in ruleset @rs. */
static void path_result(const struct path *first, const struct pc_nft_ruleset *rs,
			struct pc_nft_result *ret)
{
	struct pc_nft_result r = {};

	r.verdict = first->verdict;
	r.reject = first->verdict == PC_VERDICT_REJECT ? first->reject : (struct pc_reject){};
	r.has_rule = first->has_rule;
	r.rule = first->rule;
	r.forwarded = first->forwarded;
	r.dnat_local = first->dnat_local;
	r.fwd_addr = first->fwd_addr;
	r.fwd_port = first->fwd_port;
	memcpy(r.endpoints, first->endpoints, sizeof(r.endpoints));
	r.n_endpoints = first->n_endpoints;
	vm_strlcpy(r.note, first->note, sizeof(r.note));
	if (first->verdict == PC_VERDICT_UNKNOWN)
		vm_strlcpy(r.unknown_reason, first->reason, sizeof(r.unknown_reason));
	if (rs->blind_spot) {
		/* Filtering the snapshot cannot see may decide first; the path is still
		 * reported. */
		r.verdict = PC_VERDICT_UNKNOWN;
		vm_strlcpy(r.unknown_reason, rs->blind_spot, sizeof(r.unknown_reason));
	}
	*ret = r;
}

int path_eval(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
	      const struct pc_flow *flow, struct vm_sym *sym, bool want_trace,
	      struct pc_nft_result *ret)
{
	struct vm_trace tr = {};
	struct vm_choices ch = {};
	struct vm_net net;
	struct path first = {.rs = rs, .net = &net, .flow = flow, .ch = &ch, .sym = sym};
	struct pc_nft_result r;

	if (!flow_valid(flow)) {
		*ret = (struct pc_nft_result){.verdict = PC_VERDICT_UNKNOWN};
		snprintf(ret->unknown_reason, sizeof(ret->unknown_reason),
			 "not a TCP or UDP flow of one address family");
		return 0;
	}
	vm_net_init(&net, ni);
	if (want_trace)
		first.tr = &tr;
	path_run(&first);
	if (tr.oom || (sym && (sym->oom || sym->class_missing))) {
		free(tr.v);
		return sym && sym->class_missing && !sym->oom ? -EINVAL : -ENOMEM;
	}

	if (first.verdict != PC_VERDICT_UNKNOWN && ch.have_first &&
	    path_explore_choices(&first, &ch, want_trace ? &tr : NULL) < 0) {
		free(tr.v);
		return -ENOMEM;
	}
	if (sym && sym->class_missing) { /* in a run of the choices */
		free(tr.v);
		return -EINVAL;
	}

	path_result(&first, rs, &r);
	if (want_trace) {
		r.trace = tr.v;
		r.n_trace = tr.n;
	}
	*ret = r;
	return 0;
}

int pc_nft_eval_path(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
		     const struct pc_flow *flow, bool want_trace, struct pc_nft_result *ret)
{
	return path_eval(rs, ni, flow, NULL, want_trace, ret);
}

void pc_nft_result_clear(struct pc_nft_result *r)
{
	if (!r)
		return;
	free(r->trace);
	r->trace = NULL;
	r->n_trace = 0;
}
