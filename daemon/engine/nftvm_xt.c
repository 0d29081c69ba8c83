/* SPDX-License-Identifier: MIT */
/*
 * xtables compat (nft_compat): the matches iptables-nft leaves as xtables extensions,
 * evaluated from their info blobs as the xt_*.c modules do (the targets:
 * nftvm_xt_target.c). A match
 * that does not match breaks the rule (NFT_BREAK), hotdrop drops, a target's XT_CONTINUE
 * continues and any other value is the verdict. The extension family is the table's
 * (ip: NFPROTO_IPV4, ip6: NFPROTO_IPV6); inet tables cannot hold xtables extensions.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_iprange.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_pkttype.h>
#include <linux/netfilter/xt_rpfilter.h>
#include <linux/netfilter/xt_state.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "nftvm_internal.h"
#include "portcheck/util.h"

enum xt_res {
	XT_NOMATCH,
	XT_MATCH,
	XT_HOTDROP,
	XT_ERR, /* vm_unknown() was called */
};

bool vm_xt_info_get(struct vm *vm, const struct pc_nft_expr *e, void *dst, size_t size)
{
	if (!e->xt.info || e->xt.info_len < size) {
		vm_unknown(vm, "%s: info of %u bytes, expected %zu", e->xt.name, e->xt.info_len,
			   size);
		return false;
	}
	memcpy(dst, e->xt.info, size);
	return true;
}

static void pkt_ports(const struct vm_pkt *p, uint16_t *sport, uint16_t *dport)
{
	*sport = ntohs(pkt_port(p, false));
	*dport = ntohs(pkt_port(p, true));
}

/* Whether the packet's source address / port is still the symbolic client's (not NAT'd). */
static bool sym_saddr(const struct vm *vm)
{
	return vm->sym && pkt_field_symbolic(vm->pkt, vm_pkt_addr_off(vm->pkt, false), 0,
					     pc_addr_size(vm->pkt->family));
}

static bool sym_sport(const struct vm *vm)
{
	return vm->sym && pkt_field_symbolic(vm->pkt, vm->pkt->thoff, VM_SYM_PORT, 2);
}

/* @port (host order) in [lo, hi]; split the symbolic sources when @sym. 1, 0, or -1 after
 * vm_unknown(). */
static int port_in(struct vm *vm, bool sym, uint16_t port, uint16_t lo, uint16_t hi)
{
	if (sym)
		return vm_sym_split_range(vm, true, lo, hi);
	return port >= lo && port <= hi;
}

/* --- matches ---------------------------------------------------------------------------- */

/* (k & m) == a, conntrack_addrcmp(); on the symbolic client address when @sym. 1, 0, or
 * -1 after vm_unknown(). */
static int addr_masked_eq(struct vm *vm, bool sym, const struct pc_addr *k,
			  const union nf_inet_addr *a, const union nf_inet_addr *m)
{
	const uint8_t *ab = (const uint8_t *)a, *mb = (const uint8_t *)m;
	unsigned n = pc_addr_size(k->family);

	if (sym) {
		pc_u128 mask = pc_u128_from_be(mb, n);

		return vm_sym_split_mask(vm, false, mask, pc_u128_from_be(ab, n) & mask);
	}
	for (unsigned i = 0; i < n; i++)
		if ((k->bytes[i] & mb[i]) != (ab[i] & mb[i]))
			return 0;
	return 1;
}

/* conntrack_mt() of xt_conntrack.c; @v3 for the port ranges of revision 3. */
/* The tuples' addresses against --ctorigsrc, --ctorigdst, --ctreplsrc, --ctrepldst: 1 all
 * pass, 0 not, -1 unknown. The original source, and the reply's destination until SNAT
 * changes it, are the client's: symbolic when the source is. */
static int conntrack_addrs_ok(struct vm *vm, const struct xt_conntrack_mtinfo3 *info)
{
	const struct vm_pkt *p = vm->pkt;
	bool client_rd = p->orig_src_sym && pc_addr_equal(&p->reply.dst, &p->orig.src);
	const struct {
		uint16_t flag;
		const struct pc_addr *k;
		bool sym;
		const union nf_inet_addr *a, *m;
	} t[] = {
	    {XT_CONNTRACK_ORIGSRC, &p->orig.src, vm->sym && p->orig_src_sym, &info->origsrc_addr,
	     &info->origsrc_mask},
	    {XT_CONNTRACK_ORIGDST, &p->orig.dst, false, &info->origdst_addr, &info->origdst_mask},
	    {XT_CONNTRACK_REPLSRC, &p->reply.src, false, &info->replsrc_addr, &info->replsrc_mask},
	    {XT_CONNTRACK_REPLDST, &p->reply.dst, vm->sym && client_rd, &info->repldst_addr,
	     &info->repldst_mask},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int eq;

		if (!(info->match_flags & t[i].flag))
			continue;
		eq = addr_masked_eq(vm, t[i].sym, t[i].k, t[i].a, t[i].m);
		if (eq < 0)
			return -1;
		if (eq ^ !(info->invert_flags & t[i].flag))
			return 0;
	}
	return 1;
}

/* --ctproto and the tuples' ports (@v3: host-order ranges, else network-order equality):
 * 1, 0, or -1 unknown. The original source port, and the reply's destination port until
 * SNAT changes it, are the client's. */
static int conntrack_ports_ok(struct vm *vm, const struct xt_conntrack_mtinfo3 *info, bool v3)
{
	const struct vm_pkt *p = vm->pkt;
	bool client_rd = p->orig_sport_sym && p->reply.dport == p->orig.sport;
	const struct {
		uint16_t flag, lo, hi, port;
		bool sym;
	} ports[] = {
	    {XT_CONNTRACK_ORIGSRC_PORT, info->origsrc_port, info->origsrc_port_high, p->orig.sport,
	     vm->sym && p->orig_sport_sym},
	    {XT_CONNTRACK_ORIGDST_PORT, info->origdst_port, info->origdst_port_high, p->orig.dport,
	     false},
	    {XT_CONNTRACK_REPLSRC_PORT, info->replsrc_port, info->replsrc_port_high, p->reply.sport,
	     false},
	    {XT_CONNTRACK_REPLDST_PORT, info->repldst_port, info->repldst_port_high, p->reply.dport,
	     vm->sym && client_rd},
	};

	/* ct_proto_port_check / ct_proto_port_check_v3 */
	if ((info->match_flags & XT_CONNTRACK_PROTO) &&
	    ((p->l4proto == info->l4proto) ^ !(info->invert_flags & XT_CONNTRACK_PROTO)))
		return 0;

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		bool inv = (info->invert_flags & ports[i].flag) != 0;
		int m;

		if (!(info->match_flags & ports[i].flag))
			continue;
		if (ports[i].flag == XT_CONNTRACK_REPLDST_PORT && p->sport_drawn) {
			vm_unknown(vm, "conntrack --ctrepldstport: the port SNAT drew at random");
			return -1;
		}
		if (v3) /* host-order ranges against ntohs(port) */
			m = port_in(vm, ports[i].sym, ntohs(ports[i].port), ports[i].lo,
				    ports[i].hi);
		else /* network-order equality */
			m = port_in(vm, ports[i].sym, ntohs(ports[i].port), ntohs(ports[i].lo),
				    ntohs(ports[i].lo));
		if (m < 0)
			return -1;
		if (m == inv)
			return 0;
	}
	return 1;
}

static enum xt_res conntrack_mt(struct vm *vm, const struct xt_conntrack_mtinfo3 *info,
				uint16_t state_mask, uint16_t status_mask, bool v3)
{
	struct vm_pkt *p = vm->pkt;
	unsigned statebit;
	bool ct = p->ct == VM_CT_NEW;

	if (vm->ct_order_ambiguous) {
		vm_unknown(vm, "conntrack match in a chain at the conntrack priority (-200)");
		return XT_ERR;
	}
	if (ct)
		statebit = XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
	else if (p->ct == VM_CT_UNTRACKED)
		statebit = XT_CONNTRACK_STATE_UNTRACKED;
	else
		statebit = XT_CONNTRACK_STATE_INVALID;

	if (info->match_flags & XT_CONNTRACK_STATE) {
		if (ct) {
			if (p->ct_status & IPS_SRC_NAT)
				statebit |= XT_CONNTRACK_STATE_SNAT;
			if (p->ct_status & IPS_DST_NAT)
				statebit |= XT_CONNTRACK_STATE_DNAT;
		}
		if (!!(state_mask & statebit) ^ !(info->invert_flags & XT_CONNTRACK_STATE))
			return XT_NOMATCH;
	}
	if (!ct)
		return (info->match_flags & XT_CONNTRACK_STATE) ? XT_MATCH : XT_NOMATCH;
	if ((info->match_flags & XT_CONNTRACK_DIRECTION) &&
	    (true ^ !(info->invert_flags & XT_CONNTRACK_DIRECTION)))
		return XT_NOMATCH; /* CTINFO2DIR(IP_CT_NEW) is IP_CT_DIR_ORIGINAL */

	switch (conntrack_addrs_ok(vm, info)) {
	case -1:
		return XT_ERR;
	case 0:
		return XT_NOMATCH;
	}
	switch (conntrack_ports_ok(vm, info, v3)) {
	case -1:
		return XT_ERR;
	case 0:
		return XT_NOMATCH;
	}

	if (info->match_flags & XT_CONNTRACK_STATUS) {
		if (p->ct_helper_unknown) {
			vm_unknown(vm, "conntrack --ctstatus after a ct helper assignment");
			return XT_ERR;
		}
		if (!!(status_mask & p->ct_status) ^ !(info->invert_flags & XT_CONNTRACK_STATUS))
			return XT_NOMATCH;
	}
	if (info->match_flags & XT_CONNTRACK_EXPIRES) {
		vm_unknown(vm, "conntrack --ctexpire: a runtime value");
		return XT_ERR;
	}
	return XT_MATCH;
}

static enum xt_res match_conntrack(struct vm *vm, const struct pc_nft_expr *e)
{
	struct xt_conntrack_mtinfo3 info = {};

	switch (e->xt.rev) {
	case 1: {
		struct xt_conntrack_mtinfo1 i1;

		if (!vm_xt_info_get(vm, e, &i1, sizeof(i1)))
			return XT_ERR;
		memcpy(&info, &i1, offsetof(struct xt_conntrack_mtinfo1, state_mask));
		return conntrack_mt(vm, &info, i1.state_mask, i1.status_mask, false);
	}
	case 2: {
		struct xt_conntrack_mtinfo2 i2;

		if (!vm_xt_info_get(vm, e, &i2, sizeof(i2)))
			return XT_ERR;
		memcpy(&info, &i2, sizeof(i2));
		return conntrack_mt(vm, &info, i2.state_mask, i2.status_mask, false);
	}
	case 3:
		if (!vm_xt_info_get(vm, e, &info, sizeof(info)))
			return XT_ERR;
		return conntrack_mt(vm, &info, info.state_mask, info.status_mask, true);
	default:
		vm_unknown(vm, "conntrack match revision %u", e->xt.rev);
		return XT_ERR;
	}
}

static enum xt_res match_state(struct vm *vm, const struct pc_nft_expr *e)
{
	struct xt_state_info info;
	unsigned statebit;

	if (!vm_xt_info_get(vm, e, &info, sizeof(info)))
		return XT_ERR;
	if (vm->ct_order_ambiguous) {
		vm_unknown(vm, "state match in a chain at the conntrack priority (-200)");
		return XT_ERR;
	}
	switch (vm->pkt->ct) {
	case VM_CT_NEW:
		statebit = XT_STATE_BIT(IP_CT_NEW);
		break;
	case VM_CT_UNTRACKED:
		statebit = XT_STATE_UNTRACKED;
		break;
	default:
		statebit = XT_STATE_INVALID;
		break;
	}
	return (info.statemask & statebit) ? XT_MATCH : XT_NOMATCH;
}

/* ports_match_v1 of xt_multiport.c (host-order ports). */
static enum xt_res match_multiport(struct vm *vm, const struct pc_nft_expr *e)
{
	struct xt_multiport_v1 m;
	uint16_t src, dst;
	bool sym = sym_sport(vm);

	if (e->xt.rev != 1) {
		vm_unknown(vm, "multiport match revision %u", e->xt.rev);
		return XT_ERR;
	}
	if (!vm_xt_info_get(vm, e, &m, sizeof(m)))
		return XT_ERR;
	pkt_ports(vm->pkt, &src, &dst);
	/* ports_match_v1(): each entry in turn, the first that holds decides. */
	for (unsigned i = 0; i < m.count && i < XT_MULTI_PORTS; i++) {
		uint16_t s = m.ports[i], en = s;
		int hit = 0;

		if (m.pflags[i]) {
			if (++i >= XT_MULTI_PORTS)
				break;
			en = m.ports[i];
		}
		switch (m.flags) {
		case XT_MULTIPORT_SOURCE:
			hit = port_in(vm, sym, src, s, en);
			break;
		case XT_MULTIPORT_DESTINATION:
			hit = dst >= s && dst <= en;
			break;
		case XT_MULTIPORT_EITHER:
			hit = (dst >= s && dst <= en) ? 1 : port_in(vm, sym, src, s, en);
			break;
		}
		if (hit < 0)
			return XT_ERR;
		if (hit)
			return (true ^ m.invert) ? XT_MATCH : XT_NOMATCH;
	}
	return m.invert ? XT_MATCH : XT_NOMATCH;
}

/* match_lookup_rt6() of xt_addrtype.c */
static uint16_t addrtype_rt6(struct vm *vm, uint32_t dev, const struct pc_addr *a, uint16_t mask)
{
	uint16_t ret = 0;
	struct vm_rt rt;

	if (dev && (mask & XT_ADDRTYPE_LOCAL) && vm_dev_has_addr(vm->net, dev, a))
		ret = XT_ADDRTYPE_LOCAL;
	vm_fib_lookup(vm->net, a, 0, &rt);
	if (!rt.found)
		return XT_ADDRTYPE_UNREACHABLE;
	switch (rt.type) {
	case RTN_UNREACHABLE:
	case RTN_BLACKHOLE:
	case RTN_PROHIBIT:
	case RTN_THROW:
		ret = XT_ADDRTYPE_UNREACHABLE;
		break;
	default:
		break;
	}
	if (!dev && rt.type == RTN_LOCAL)
		ret |= XT_ADDRTYPE_LOCAL;
	if (vm_rt_is_anycast(&rt, a))
		ret |= XT_ADDRTYPE_ANYCAST;
	return ret;
}

static bool addrtype_type6(struct vm *vm, uint32_t dev, const struct pc_addr *a, uint16_t mask)
{
	unsigned t = vm_ipv6_addr_type(a);

	if ((mask & XT_ADDRTYPE_MULTICAST) && !(t & VM_V6_MULTICAST))
		return false;
	if ((mask & XT_ADDRTYPE_UNICAST) && !(t & VM_V6_UNICAST))
		return false;
	if ((mask & XT_ADDRTYPE_UNSPEC) && t != 0)
		return false;
	if ((XT_ADDRTYPE_LOCAL | XT_ADDRTYPE_ANYCAST | XT_ADDRTYPE_UNREACHABLE) & mask)
		return (mask & addrtype_rt6(vm, dev, a, mask)) != 0;
	return true;
}

static bool addrtype_type(struct vm *vm, uint32_t dev, const struct pc_addr *a, uint16_t mask)
{
	if (a->family == AF_INET6)
		return addrtype_type6(vm, dev, a, mask);
	/* match_type(): 1 << inet_dev_addr_type() */
	return (mask & (1u << vm_inet_addr_type(vm->net, dev, a))) != 0;
}

static enum xt_res match_addrtype(struct vm *vm, const struct pc_nft_expr *e)
{
	struct xt_addrtype_info_v1 info;
	struct pc_addr s, d;
	uint32_t dev = 0;
	bool ret = true;

	if (e->xt.rev == 0) {
		struct xt_addrtype_info i0;

		if (!vm_xt_info_get(vm, e, &i0, sizeof(i0)))
			return XT_ERR;
		info = (struct xt_addrtype_info_v1){
		    .source = i0.source,
		    .dest = i0.dest,
		    .flags = (i0.invert_source ? XT_ADDRTYPE_INVERT_SOURCE : 0) |
			     (i0.invert_dest ? XT_ADDRTYPE_INVERT_DEST : 0)};
	} else if (e->xt.rev == 1) {
		if (!vm_xt_info_get(vm, e, &info, sizeof(info)))
			return XT_ERR;
	} else {
		vm_unknown(vm, "addrtype match revision %u", e->xt.rev);
		return XT_ERR;
	}
	if (info.flags & XT_ADDRTYPE_LIMIT_IFACE_IN)
		dev = vm->pkt->iif;
	else if (info.flags & XT_ADDRTYPE_LIMIT_IFACE_OUT)
		dev = vm->pkt->oif;
	if (vm->pkt->family == AF_INET6 && vm->net->ni->routing_blind_spot &&
	    ((info.source | info.dest) &
	     (XT_ADDRTYPE_LOCAL | XT_ADDRTYPE_ANYCAST | XT_ADDRTYPE_UNREACHABLE))) {
		vm_unknown(vm, "addrtype: %s", vm->net->ni->routing_blind_spot);
		return XT_ERR;
	}
	if (info.source && vm_route_class(vm) < 0)
		return XT_ERR;
	pkt_addr(vm->pkt, false, &s);
	pkt_addr(vm->pkt, true, &d);
	if (info.source)
		ret &= addrtype_type(vm, dev, &s, info.source) ^
		       !!(info.flags & XT_ADDRTYPE_INVERT_SOURCE);
	if (ret && info.dest)
		ret &= addrtype_type(vm, dev, &d, info.dest) ^
		       !!(info.flags & XT_ADDRTYPE_INVERT_DEST);
	return ret ? XT_MATCH : XT_NOMATCH;
}

static enum xt_res match_tcp(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_pkt *p = vm->pkt;
	struct xt_tcp t;
	uint16_t sport, dport;
	uint8_t flags;
	int in;

	if (!vm_xt_info_get(vm, e, &t, sizeof(t)))
		return XT_ERR;
	if (p->l4proto != IPPROTO_TCP) {
		/* The header would be read from whatever follows the IP header. */
		vm_unknown(vm, "tcp match on a non-TCP packet");
		return XT_ERR;
	}
	pkt_ports(p, &sport, &dport);
	in = port_in(vm, sym_sport(vm), sport, t.spts[0], t.spts[1]);
	if (in < 0)
		return XT_ERR;
	if (!(in ^ !!(t.invflags & XT_TCP_INV_SRCPT)))
		return XT_NOMATCH;
	if ((dport >= t.dpts[0] && dport <= t.dpts[1]) ^ !!(t.invflags & XT_TCP_INV_DSTPT))
		;
	else
		return XT_NOMATCH;
	flags = p->buf[p->thoff + 13];
	if (((flags ^ t.flg_cmp) & t.flg_mask & ~p->var[p->thoff + 13]) == 0 &&
	    (t.flg_mask & p->var[p->thoff + 13])) {
		vm_unknown(vm, "tcp flags (ECN): vary between clients");
		return XT_ERR;
	}
	if (!(((flags & t.flg_mask) == t.flg_cmp) ^ !!(t.invflags & XT_TCP_INV_FLAGS)))
		return XT_NOMATCH;
	if (t.option) {
		vm_unknown(vm, "tcp --tcp-option: TCP options depend on the client");
		return XT_ERR;
	}
	return XT_MATCH;
}

static enum xt_res match_udp(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_pkt *p = vm->pkt;
	struct xt_udp u;
	uint16_t sport, dport;
	int in;

	if (!vm_xt_info_get(vm, e, &u, sizeof(u)))
		return XT_ERR;
	if (p->l4proto != IPPROTO_UDP) {
		vm_unknown(vm, "udp match on a non-UDP packet");
		return XT_ERR;
	}
	pkt_ports(p, &sport, &dport);
	in = port_in(vm, sym_sport(vm), sport, u.spts[0], u.spts[1]);
	if (in < 0)
		return XT_ERR;
	if (!(in ^ !!(u.invflags & XT_UDP_INV_SRCPT)))
		return XT_NOMATCH;
	if (!((dport >= u.dpts[0] && dport <= u.dpts[1]) ^ !!(u.invflags & XT_UDP_INV_DSTPT)))
		return XT_NOMATCH;
	return XT_MATCH;
}

static enum xt_res match_mark(struct vm *vm, const struct pc_nft_expr *e)
{
	struct xt_mark_mtinfo1 m;

	if (e->xt.rev != 1) {
		vm_unknown(vm, "mark match revision %u", e->xt.rev);
		return XT_ERR;
	}
	if (!vm_xt_info_get(vm, e, &m, sizeof(m)))
		return XT_ERR;
	return (((vm->pkt->mark & m.mask) == m.mark) ^ m.invert) ? XT_MATCH : XT_NOMATCH;
}

static enum xt_res match_pkttype(struct vm *vm, const struct pc_nft_expr *e)
{
	struct xt_pkttype_info i;

	if (!vm_xt_info_get(vm, e, &i, sizeof(i)))
		return XT_ERR;
	return ((vm->pkt->pkt_type == i.pkttype) ^ !!i.invert) ? XT_MATCH : XT_NOMATCH;
}

static enum xt_res match_iprange(struct vm *vm, const struct pc_nft_expr *e)
{
	struct xt_iprange_mtinfo i;
	struct pc_addr s, d;
	unsigned n = pc_addr_size(vm->pkt->family);
	bool m;

	if (e->xt.rev != 1) {
		vm_unknown(vm, "iprange match revision %u", e->xt.rev);
		return XT_ERR;
	}
	if (!vm_xt_info_get(vm, e, &i, sizeof(i)))
		return XT_ERR;
	pkt_addr(vm->pkt, false, &s);
	pkt_addr(vm->pkt, true, &d);
	/* Both families compare big-endian addresses (ntohl / iprange_ipv6_lt). */
	if ((i.flags & IPRANGE_SRC) && sym_saddr(vm)) {
		int in =
		    vm_sym_split_range(vm, false, pc_u128_from_be((const uint8_t *)&i.src_min, n),
				       pc_u128_from_be((const uint8_t *)&i.src_max, n));

		if (in < 0)
			return XT_ERR;
		if (!in ^ !!(i.flags & IPRANGE_SRC_INV))
			return XT_NOMATCH;
	} else if (i.flags & IPRANGE_SRC) {
		m = memcmp(s.bytes, &i.src_min, n) < 0 || memcmp(s.bytes, &i.src_max, n) > 0;
		m ^= !!(i.flags & IPRANGE_SRC_INV);
		if (m)
			return XT_NOMATCH;
	}
	if (i.flags & IPRANGE_DST) {
		m = memcmp(d.bytes, &i.dst_min, n) < 0 || memcmp(d.bytes, &i.dst_max, n) > 0;
		m ^= !!(i.flags & IPRANGE_DST_INV);
		if (m)
			return XT_NOMATCH;
	}
	return XT_MATCH;
}

/* rpfilter_mt / rpfilter_mt6: the reverse route of the source must leave through the
 * incoming interface (or exist at all with --loose). */
static enum xt_res match_rpfilter(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_pkt *p = vm->pkt;
	struct xt_rpfilter_info i;
	bool invert, ok = false;
	struct pc_addr s, d;
	struct vm_rt rt;

	if (!vm_xt_info_get(vm, e, &i, sizeof(i)))
		return XT_ERR;
	invert = (i.flags & XT_RPFILTER_INVERT) != 0;
	if (vm_link_is_loopback(vm->net, p->iif))
		return (true ^ invert) ? XT_MATCH : XT_NOMATCH;
	pkt_addr(p, false, &s);
	pkt_addr(p, true, &d);
	if (p->family == AF_INET && s.bytes[0] == 0 &&
	    ((d.bytes[0] == 255 && d.bytes[1] == 255 && d.bytes[2] == 255 && d.bytes[3] == 255) ||
	     (d.bytes[0] == 224 && d.bytes[1] == 0 && d.bytes[2] == 0)))
		return (true ^ invert) ? XT_MATCH : XT_NOMATCH;
	if (vm->net->ni->routing_blind_spot) {
		vm_unknown(vm, "rpfilter: %s", vm->net->ni->routing_blind_spot);
		return XT_ERR;
	}
	if (vm_route_class(vm) < 0)
		return XT_ERR;
	vm_fib_lookup(
	    vm->net, &s,
	    p->family == AF_INET6 && (vm_ipv6_addr_type(&s) & VM_V6_LINKLOCAL) ? p->iif : 0, &rt);
	if (rt.found && rt.type == RTN_LOCAL)
		ok = (i.flags & XT_RPFILTER_ACCEPT_LOCAL) != 0;
	else if (rt.found &&
		 (rt.type == RTN_UNICAST || (p->family == AF_INET6 && rt.type != RTN_UNREACHABLE &&
					     rt.type != RTN_BLACKHOLE && rt.type != RTN_PROHIBIT &&
					     rt.type != RTN_THROW && rt.type != RTN_ANYCAST)))
		ok = rt.oif == p->iif || (i.flags & XT_RPFILTER_LOOSE);
	return (ok ^ invert) ? XT_MATCH : XT_NOMATCH;
}

static enum xt_res match_comment(struct vm *vm, const struct pc_nft_expr *e)
{
	(void)vm;
	(void)e;
	return XT_MATCH;
}

/* Under or over a rate or a count: runtime state decides. */
static enum xt_res match_limit(struct vm *vm, const struct pc_nft_expr *e)
{
	int c = vm_choose(vm, e->xt.name);

	return c < 0 ? XT_ERR : c == 0 ? XT_MATCH : XT_NOMATCH;
}

/* The matches modelled, by their xtables name. */
static const struct {
	const char *name;
	enum xt_res (*match)(struct vm *vm, const struct pc_nft_expr *e);
} xt_matches[] = {
    {"comment", match_comment},	  {"conntrack", match_conntrack},
    {"state", match_state},	  {"multiport", match_multiport},
    {"addrtype", match_addrtype}, {"tcp", match_tcp},
    {"udp", match_udp},		  {"mark", match_mark},
    {"pkttype", match_pkttype},	  {"iprange", match_iprange},
    {"rpfilter", match_rpfilter}, {"limit", match_limit},
    {"hashlimit", match_limit},	  {"connlimit", match_limit},
};

void vm_eval_xt_match(struct vm *vm, const struct pc_nft_expr *e)
{
	const char *n = e->xt.name;
	enum xt_res r;
	size_t i;

	if (vm->table && vm->table->family != NFPROTO_IPV4 && vm->table->family != NFPROTO_IPV6) {
		vm_unknown(vm, "xtables match %s in a table of family %u", n, vm->table->family);
		return;
	}
	for (i = 0; i < sizeof(xt_matches) / sizeof(xt_matches[0]); i++)
		if (strcmp(n, xt_matches[i].name) == 0)
			break;
	if (i == sizeof(xt_matches) / sizeof(xt_matches[0])) {
		vm_unknown(vm, "xtables match %s (revision %u) not modelled", n, e->xt.rev);
		return;
	}
	r = xt_matches[i].match(vm, e);
	switch (r) {
	case XT_MATCH:
		break;
	case XT_NOMATCH:
		vm->vcode = NFT_BREAK;
		break;
	case XT_HOTDROP:
		vm->vcode = NF_DROP;
		break;
	case XT_ERR:
		break;
	}
}
