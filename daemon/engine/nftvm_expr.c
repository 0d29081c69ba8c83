/* SPDX-License-Identifier: MIT */
/*
 * Expressions that look at the packet's context: meta (nft_meta_get_eval / set_eval), ct
 * (nft_ct_get_eval / set_eval), fib (nft_fib4_eval, nft_fib6_eval and their addrtype
 * variants), reject (nft_reject_{ipv4,ipv6,inet}_eval), nat, redir, masq and notrack.
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

/* NF_NAT_MANIP_SRC / NF_NAT_MANIP_DST (include/net/netfilter/nf_nat.h, not uapi) */
#define MANIP_SRC 0
#define MANIP_DST 1

#define ICMP_DEST_UNREACH_TYPE 3
#define ICMPV6_DEST_UNREACH_TYPE 1

static const uint8_t *pkt_saddr(const struct vm_pkt *p)
{
	return p->buf + (p->family == AF_INET ? 12 : 8);
}

static const uint8_t *pkt_daddr(const struct vm_pkt *p)
{
	return p->buf + (p->family == AF_INET ? 16 : 24);
}

static void pkt_addr(const struct vm_pkt *p, bool dst, struct pc_addr *ret)
{
	*ret = (struct pc_addr){.family = p->family};
	memcpy(ret->bytes, dst ? pkt_daddr(p) : pkt_saddr(p), pc_addr_size(p->family));
}

/* --- meta ------------------------------------------------------------------------------- */

static void store_ifname(uint8_t *dst, const struct pc_link *l)
{
	/* strscpy_pad(dest, dev ? dev->name : "", IFNAMSIZ): the kernel's bytes, not the
	 * sanitised name that reports show. */
	memset(dst, 0, IFNAMSIZ);
	if (l)
		memcpy(dst, l->kname, strnlen(l->kname, IFNAMSIZ - 1));
}

/* dev->type as the link dump gave it (ifi_type); a hand-built model without one knows
 * loopback from Ethernet only. */
static uint16_t link_type(const struct pc_link *l)
{
	if (l->type)
		return l->type;
	return l->loopback ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
}

static void meta_get(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_pkt *p = vm->pkt;
	const struct pc_link *in = vm_link(vm->net, p->iif), *out = vm_link(vm->net, p->oif);
	uint32_t len = 4;
	uint8_t *d;

	switch (e->meta.key) {
	case NFT_META_IIFNAME:
	case NFT_META_OIFNAME:
	case NFT_META_SDIFNAME:
		len = IFNAMSIZ;
		break;
	case NFT_META_TIME_NS:
		len = 8;
		break;
	case NFT_META_IIFKIND:
	case NFT_META_OIFKIND:
		len = IFNAMSIZ;
		break;
	default:
		break;
	}
	d = vm_reg_out(vm, e->meta.dreg, len);
	if (!d)
		return;

	switch (e->meta.key) {
	case NFT_META_LEN:
		/* The synthetic packet's length; a real SYN carries options (44 to 60 bytes
		 * for IPv4), a datagram data: every bit of it varies by client. */
		vm_store32(d, p->len);
		memset(vm_taint_of(vm, d), 0xff, 4);
		vm->taint_what = "meta length";
		return;
	case NFT_META_PROTOCOL:
		vm_store16(d, htons(p->family == AF_INET ? ETH_P_IP : ETH_P_IPV6));
		return;
	case NFT_META_PRIORITY:
		vm_store32(d, p->priority);
		return;
	case NFT_META_MARK:
		vm_store32(d, p->mark);
		return;
	case NFT_META_IIF:
		vm_store32(d, in ? in->ifindex : 0);
		return;
	case NFT_META_OIF:
		vm_store32(d, out ? out->ifindex : 0);
		return;
	case NFT_META_IIFNAME:
		store_ifname(d, in);
		return;
	case NFT_META_OIFNAME:
		store_ifname(d, out);
		return;
	case NFT_META_IIFTYPE:
	case NFT_META_OIFTYPE: {
		const struct pc_link *l = e->meta.key == NFT_META_IIFTYPE ? in : out;

		if (!l) {
			vm->vcode = NFT_BREAK;
			return;
		}
		vm_store16(d, link_type(l));
		return;
	}
	case NFT_META_SKUID:
	case NFT_META_SKGID:
	case NFT_META_CGROUP:
		/* A received packet has no full socket before the transport layer's lookup. */
		vm->vcode = NFT_BREAK;
		return;
	case NFT_META_NFTRACE:
		vm_store8(d, p->nftrace);
		return;
	case NFT_META_RTCLASSID:
		/* No dst before the routing decision; after it, no realms in the model. */
		if (vm->hook == NF_INET_PRE_ROUTING || vm->hook == VM_HOOK_INGRESS) {
			vm->vcode = NFT_BREAK;
			return;
		}
		vm_store32(d, 0);
		return;
	case NFT_META_SECMARK:
		vm_store32(d, p->secmark);
		return;
	case NFT_META_NFPROTO:
		vm_store8(d, vm->pf);
		return;
	case NFT_META_L4PROTO:
		vm_store8(d, p->l4proto);
		return;
	case NFT_META_PKTTYPE:
		vm_store8(d, p->pkt_type);
		return;
	case NFT_META_IIFGROUP:
	case NFT_META_OIFGROUP: {
		/* nft_meta_store_ifgroup(): no device, no group (a break, not group 0). */
		const struct pc_link *l = e->meta.key == NFT_META_IIFGROUP ? in : out;

		if (!l) {
			vm->vcode = NFT_BREAK;
			return;
		}
		vm_store32(d, l->group);
		return;
	}
	case NFT_META_SECPATH:
		/* The synthetic packet did not come through IPsec. */
		vm_store8(d, 0);
		return;
	case NFT_META_IIFKIND:
	case NFT_META_OIFKIND: {
		/* nft_meta_get_eval_kind(): a device without rtnl_link_ops (a physical NIC, lo)
		 * has no kind, and neither has a missing device: both break. */
		const struct pc_link *l = e->meta.key == NFT_META_IIFKIND ? in : out;

		if (!l || !l->kind[0]) {
			vm->vcode = NFT_BREAK;
			return;
		}
		memset(d, 0, IFNAMSIZ);
		memcpy(d, l->kind, strnlen(l->kind, IFNAMSIZ - 1));
		return;
	}
	case NFT_META_SDIF:
		/* No VRF in the model. */
		vm_store32(d, 0);
		return;
	case NFT_META_SDIFNAME:
		store_ifname(d, NULL);
		return;
	case NFT_META_CPU:
		vm_unknown(vm, "meta cpu: depends on the CPU that receives the packet");
		return;
	case NFT_META_PRANDOM:
		vm_unknown(vm, "meta random: a random number");
		return;
	case NFT_META_TIME_NS:
	case NFT_META_TIME_DAY:
	case NFT_META_TIME_HOUR:
		vm_unknown(vm, "meta time: depends on the time of day");
		return;
	default:
		vm_unknown(vm, "meta key %u not modelled", e->meta.key);
		return;
	}
}

static void meta_set(struct vm *vm, const struct pc_nft_expr *e)
{
	const uint8_t *s = vm_reg_in(vm, e->meta.sreg, 4);
	struct vm_pkt *p = vm->pkt;
	uint32_t v;

	if (!s)
		return;
	memcpy(&v, s, 4);
	switch (e->meta.key) {
	case NFT_META_MARK:
		p->mark = v;
		return;
	case NFT_META_PRIORITY:
		p->priority = v;
		return;
	case NFT_META_NFTRACE:
		p->nftrace = s[0] != 0;
		return;
	case NFT_META_SECMARK:
		p->secmark = v;
		return;
	case NFT_META_PKTTYPE:
		/* Only between the types skb_pkt_type_ok() allows. */
		if (s[0] != p->pkt_type && s[0] <= PACKET_OTHERHOST) {
			vm_unknown(vm, "meta pkttype set: the stack treats other packet types "
				       "differently");
			return;
		}
		return;
	default:
		vm_unknown(vm, "meta set of key %u not modelled", e->meta.key);
	}
}

void vm_eval_meta(struct vm *vm, const struct pc_nft_expr *e)
{
	if (e->meta.dreg)
		meta_get(vm, e);
	else
		meta_set(vm, e);
}

/* --- ct --------------------------------------------------------------------------------- */

static void ct_get(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_pkt *p = vm->pkt;
	const struct vm_tuple *tu;
	unsigned alen = pc_addr_size(p->family);
	uint32_t len = 4;
	uint8_t *d;

	switch (e->ct.key) {
	case NFT_CT_LABELS:
	case NFT_CT_SRC_IP6:
	case NFT_CT_DST_IP6:
		len = 16;
		break;
	case NFT_CT_SRC:
	case NFT_CT_DST:
		len = alen;
		break;
	case NFT_CT_BYTES:
	case NFT_CT_PKTS:
		len = 8;
		break;
	default:
		break;
	}
	d = vm_reg_out(vm, e->ct.dreg, len);
	if (!d)
		return;
	if (vm->ct_order_ambiguous) {
		vm_unknown(vm, "ct in a chain at the conntrack priority (-200): whether it runs "
			       "before or after conntrack depends on registration order");
		return;
	}

	if (e->ct.key == NFT_CT_STATE) {
		/* No entry: untracked when notrack said so, else the invalid bit (ctinfo 0,
		 * nf_ct_get() NULL). */
		switch (p->ct) {
		case VM_CT_NEW:
			vm_store32(d, NF_CT_STATE_BIT(IP_CT_NEW));
			break;
		case VM_CT_UNTRACKED:
			vm_store32(d, NF_CT_STATE_UNTRACKED_BIT);
			break;
		default:
			vm_store32(d, NF_CT_STATE_INVALID_BIT);
			break;
		}
		return;
	}
	if (p->ct != VM_CT_NEW) {
		vm->vcode = NFT_BREAK;
		return;
	}

	switch (e->ct.key) {
	case NFT_CT_DIRECTION:
		vm_store8(d, IP_CT_DIR_ORIGINAL);
		return;
	case NFT_CT_STATUS:
		if (p->ct_helper_unknown) {
			vm_unknown(vm, "ct status after a ct helper assignment (IPS_HELPER depends "
				       "on the helper's protocol)");
			return;
		}
		vm_store32(d, p->ct_status);
		return;
	case NFT_CT_MARK:
		vm_store32(d, p->ct_mark);
		return;
	case NFT_CT_SECMARK:
		vm_store32(d, 0);
		return;
	case NFT_CT_HELPER:
		if (p->ct_helper_unknown) {
			vm_unknown(vm, "ct helper after a ct helper assignment");
			return;
		}
		vm->vcode = NFT_BREAK; /* nfct_help() is NULL: no helper */
		return;
	case NFT_CT_L3PROTOCOL:
		vm_store8(d, p->nfproto);
		return;
	case NFT_CT_PROTOCOL:
		vm_store8(d, p->l4proto);
		return;
	case NFT_CT_ZONE:
		vm_store16(d, 0);
		return;
	case NFT_CT_LABELS:
		memcpy(d, p->ct_labels, 16);
		return;
	case NFT_CT_EXPIRATION:
	case NFT_CT_PKTS:
	case NFT_CT_BYTES:
	case NFT_CT_AVGPKT:
	case NFT_CT_ID:
		vm_unknown(vm, "ct key %u: a runtime value", e->ct.key);
		return;
	default:
		break;
	}

	if (!e->ct.has_dir || e->ct.dir > IP_CT_DIR_REPLY) {
		vm_unknown(vm, "ct key %u without a direction", e->ct.key);
		return;
	}
	tu = e->ct.dir == IP_CT_DIR_ORIGINAL ? &p->orig : &p->reply;
	switch (e->ct.key) {
	case NFT_CT_SRC:
		memcpy(d, tu->src.bytes, alen);
		return;
	case NFT_CT_DST:
		memcpy(d, tu->dst.bytes, alen);
		return;
	case NFT_CT_PROTO_SRC:
		vm_store16(d, tu->sport);
		return;
	case NFT_CT_PROTO_DST:
		vm_store16(d, tu->dport);
		return;
	case NFT_CT_SRC_IP:
	case NFT_CT_DST_IP:
		if (p->nfproto != NFPROTO_IPV4) {
			vm->vcode = NFT_BREAK;
			return;
		}
		memcpy(d, (e->ct.key == NFT_CT_SRC_IP ? &tu->src : &tu->dst)->bytes, 4);
		return;
	case NFT_CT_SRC_IP6:
	case NFT_CT_DST_IP6:
		if (p->nfproto != NFPROTO_IPV6) {
			vm->vcode = NFT_BREAK;
			return;
		}
		memcpy(d, (e->ct.key == NFT_CT_SRC_IP6 ? &tu->src : &tu->dst)->bytes, 16);
		return;
	default:
		vm_unknown(vm, "ct key %u not modelled", e->ct.key);
	}
}

static void ct_set(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_pkt *p = vm->pkt;
	const uint8_t *s;

	if (vm->ct_order_ambiguous) {
		vm_unknown(vm, "ct set in a chain at the conntrack priority (-200)");
		return;
	}
	switch (e->ct.key) {
	case NFT_CT_MARK:
		s = vm_reg_in(vm, e->ct.sreg, 4);
		if (s && p->ct == VM_CT_NEW)
			memcpy(&p->ct_mark, s, 4);
		return;
	case NFT_CT_LABELS:
		/* nf_connlabels_replace(ct, data, data): bits are only added. */
		s = vm_reg_in(vm, e->ct.sreg, 16);
		if (s && p->ct == VM_CT_NEW)
			for (int i = 0; i < 16; i++)
				p->ct_labels[i] |= s[i];
		return;
	case NFT_CT_SECMARK:
	case NFT_CT_EVENTMASK:
		return;
	case NFT_CT_ZONE:
		/* A template entry with the zone: ct state reads it as new before conntrack. */
		vm_unknown(vm, "ct zone set: conntrack zones are not modelled");
		return;
	default:
		vm_unknown(vm, "ct set of key %u not modelled", e->ct.key);
	}
}

void vm_eval_ct(struct vm *vm, const struct pc_nft_expr *e)
{
	if (e->ct.dreg)
		ct_get(vm, e);
	else
		ct_set(vm, e);
}

void vm_eval_notrack(struct vm *vm)
{
	if (vm->ct_order_ambiguous) {
		vm_unknown(vm, "notrack in a chain at the conntrack priority (-200)");
		return;
	}
	/* nft_notrack_eval: an entry, or untracked already, is left alone. */
	if (vm->pkt->ct == VM_CT_NONE)
		vm->pkt->ct = VM_CT_UNTRACKED;
}

/* --- fib -------------------------------------------------------------------------------- */

/* nft_fib_store_result */
static void fib_store(uint8_t *d, const struct pc_nft_expr *e, const struct pc_link *dev)
{
	if (e->fib.result == NFT_FIB_RESULT_OIF) {
		uint32_t index = dev ? dev->ifindex : 0;

		if (e->fib.flags & NFTA_FIB_F_PRESENT)
			vm_store8(d, index != 0);
		else
			vm_store32(d, index);
	} else {
		if (e->fib.flags & NFTA_FIB_F_PRESENT)
			vm_store8(d, dev != NULL);
		else
			store_ifname(d, dev);
	}
}

static bool fib_blind(struct vm *vm)
{
	if (!vm->net->ni->routing_blind_spot)
		return false;
	vm_unknown(vm, "fib: %s", vm->net->ni->routing_blind_spot);
	return true;
}

/* nft_fib_can_skip(): input-side hooks of a packet that came in on loopback. */
static bool fib_can_skip(struct vm *vm)
{
	switch (vm->hook) {
	case NF_INET_PRE_ROUTING:
	case VM_HOOK_INGRESS:
	case NF_INET_LOCAL_IN:
		return vm_link_is_loopback(vm->net, vm->pkt->iif);
	default:
		return false;
	}
}

static bool v4_zeronet(const struct pc_addr *a)
{
	return a->bytes[0] == 0;
}

static bool v4_lbcast(const struct pc_addr *a)
{
	return a->bytes[0] == 255 && a->bytes[1] == 255 && a->bytes[2] == 255 && a->bytes[3] == 255;
}

static bool v4_local_multicast(const struct pc_addr *a)
{
	return a->bytes[0] == 224 && a->bytes[1] == 0 && a->bytes[2] == 0;
}

static bool rt_is_error(const struct vm_rt *rt)
{
	switch (rt->type) {
	case RTN_UNREACHABLE:
	case RTN_BLACKHOLE:
	case RTN_PROHIBIT:
	case RTN_THROW:
		return true;
	default:
		return false;
	}
}

static void fib4_eval(struct vm *vm, const struct pc_nft_expr *e, uint8_t *d)
{
	struct vm_pkt *p = vm->pkt;
	uint32_t oif = 0;
	struct pc_addr saddr, daddr;
	struct vm_rt rt;

	if (fib_can_skip(vm)) {
		fib_store(d, e, vm_link(vm->net, p->iif));
		return;
	}
	if (e->fib.flags & NFTA_FIB_F_IIF)
		oif = p->iif;
	else if (e->fib.flags & NFTA_FIB_F_OIF)
		oif = p->oif;
	pkt_addr(p, false, &saddr);
	pkt_addr(p, true, &daddr);
	if (v4_zeronet(&saddr) && (v4_lbcast(&daddr) || v4_local_multicast(&daddr))) {
		fib_store(d, e, vm_link(vm->net, p->iif));
		return;
	}
	if (fib_blind(vm))
		return;
	/* Only the first word is cleared before the lookup; on failure the rest of an
	 * oifname result keeps what the register held. */
	memset(d, 0, 4);
	vm_fib_lookup(vm->net, (e->fib.flags & NFTA_FIB_F_DADDR) ? &daddr : &saddr, 0, &rt);
	if (!rt.found || rt_is_error(&rt) || rt.type == RTN_LOCAL)
		return;
	if (!rt.oif) {
		vm_unknown(vm, "fib: a route without a single device (multipath)");
		return;
	}
	if (oif && rt.oif != oif)
		return;
	fib_store(d, e, vm_link(vm->net, oif ? oif : rt.oif));
}

static void fib6_eval(struct vm *vm, const struct pc_nft_expr *e, uint8_t *d)
{
	struct vm_pkt *p = vm->pkt;
	uint32_t oif = 0, strict = 0;
	struct pc_addr a;
	struct vm_rt rt;

	if (fib_can_skip(vm)) {
		fib_store(d, e, vm_link(vm->net, p->iif));
		return;
	}
	if (e->fib.flags & NFTA_FIB_F_IIF)
		oif = p->iif;
	else if (e->fib.flags & NFTA_FIB_F_OIF)
		oif = p->oif;
	/* nft_fib6_flowi_init: daddr, or the source for reverse-path checks. */
	pkt_addr(p, (e->fib.flags & NFTA_FIB_F_DADDR) != 0, &a);
	if (vm_ipv6_addr_type(&a) & VM_V6_LINKLOCAL)
		strict = oif ? oif : p->iif;
	if (fib_blind(vm))
		return;
	memset(d, 0, 4);
	vm_fib_lookup(vm->net, &a, strict, &rt);
	if (!rt.found || rt_is_error(&rt) || rt.type == RTN_LOCAL || rt.type == RTN_ANYCAST)
		return;
	if (!rt.oif) {
		vm_unknown(vm, "fib: a route without a single device (multipath)");
		return;
	}
	fib_store(d, e, vm_link(vm->net, oif ? (rt.oif == oif ? oif : 0) : rt.oif));
}

static void fib6_eval_type(struct vm *vm, const struct pc_nft_expr *e, uint8_t *d)
{
	struct vm_pkt *p = vm->pkt;
	uint32_t dev = 0, strict = 0, ret = 0;
	struct pc_addr a;
	struct vm_rt rt;
	unsigned type;

	if (e->fib.flags & NFTA_FIB_F_IIF)
		dev = p->iif;
	else if (e->fib.flags & NFTA_FIB_F_OIF)
		dev = p->oif;
	pkt_addr(p, (e->fib.flags & NFTA_FIB_F_DADDR) != 0, &a);
	if (vm_ipv6_addr_type(&a) & VM_V6_LINKLOCAL)
		strict = dev ? dev : p->iif;
	if (dev && vm_dev_has_addr(vm->net, dev, &a))
		ret = RTN_LOCAL;
	if (fib_blind(vm))
		return;
	vm_fib_lookup(vm->net, &a, strict, &rt);
	if (!rt.found) {
		/* fib6_null_entry: RTF_REJECT, type unreachable */
		vm_store32(d, RTN_UNREACHABLE);
		return;
	}
	if (rt_is_error(&rt)) {
		vm_store32(d, rt.type);
		return;
	}
	if (vm_rt_is_anycast(&rt, &a))
		ret = RTN_ANYCAST;
	else if (!dev && rt.type == RTN_LOCAL)
		ret = RTN_LOCAL;
	if (ret) {
		vm_store32(d, ret);
		return;
	}
	type = vm_ipv6_addr_type(&a);
	if (type & VM_V6_MULTICAST)
		vm_store32(d, RTN_MULTICAST);
	else if (type & VM_V6_UNICAST)
		vm_store32(d, RTN_UNICAST);
	else
		vm_store32(d, RTN_UNSPEC);
}

void vm_eval_fib(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_pkt *p = vm->pkt;
	uint32_t len =
	    e->fib.result == NFT_FIB_RESULT_OIFNAME && !(e->fib.flags & NFTA_FIB_F_PRESENT)
		? IFNAMSIZ
		: 4;
	uint8_t *d = vm_reg_out(vm, e->fib.dreg, len);
	struct pc_addr a;

	if (!d)
		return;
	switch (e->fib.result) {
	case NFT_FIB_RESULT_ADDRTYPE:
		if (p->family == AF_INET6) {
			fib6_eval_type(vm, e, d);
			return;
		}
		/* inet_dev_addr_type() with IIF/OIF, inet_addr_type_dev_table() without:
		 * both look in the local table only, no policy rules. */
		pkt_addr(p, (e->fib.flags & NFTA_FIB_F_DADDR) != 0, &a);
		vm_store32(d, vm_inet_addr_type(vm->net,
						(e->fib.flags & NFTA_FIB_F_IIF)	  ? p->iif
						: (e->fib.flags & NFTA_FIB_F_OIF) ? p->oif
										  : 0,
						&a));
		return;
	case NFT_FIB_RESULT_OIF:
	case NFT_FIB_RESULT_OIFNAME:
		if (p->family == AF_INET6)
			fib6_eval(vm, e, d);
		else
			fib4_eval(vm, e, d);
		return;
	default:
		vm_unknown(vm, "fib result %u", e->fib.result);
	}
}

/* --- reject ----------------------------------------------------------------------------- */

/* Whether the kernel can route a reply to the packet's source (nf_reject_fill_skb_dst,
 * icmp_send, ip_route_me_harder all need one); with policy routing in place it is assumed
 * it can. */
static bool reply_routable(struct vm *vm)
{
	struct pc_addr s;
	struct vm_rt rt;

	if (vm->hook == VM_HOOK_INGRESS || vm->net->ni->routing_blind_spot)
		return true;
	pkt_addr(vm->pkt, false, &s);
	vm_fib_lookup(vm->net, &s, 0, &rt);
	return rt.found && !rt_is_error(&rt);
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

/* --- NAT -------------------------------------------------------------------------------- */

static void addr_from(int family, const uint8_t *b, struct pc_addr *ret)
{
	*ret = (struct pc_addr){.family = family};
	memcpy(ret->bytes, b, pc_addr_size(family));
}

void vm_nat_setup(struct vm *vm, const struct vm_nat_range *r, int manip)
{
	struct vm_pkt *p = vm->pkt;
	struct pc_addr cur_addr, new_addr;
	uint16_t cur_port, new_port;
	char buf[PC_ADDRSTRLEN];

	if (p->ct != VM_CT_NEW) {
		vm_unknown(vm, "nat without a conntrack entry");
		return;
	}
	if (manip != vm->nat_manip) {
		vm_unknown(vm, "%s in a chain of the other NAT type",
			   manip == MANIP_DST ? "dnat" : "snat");
		return;
	}
	if (p->nat_done[manip]) {
		/* WARN_ON(nf_nat_initialized()) in nf_nat_setup_info */
		vm->vcode = NF_DROP;
		return;
	}
	/* The tuple as it stands: the inverse of the reply (earlier manips included). */
	if (manip == MANIP_DST) {
		cur_addr = p->reply.src;
		cur_port = p->reply.sport;
	} else {
		cur_addr = p->reply.dst;
		cur_port = p->reply.dport;
	}

	/* find_best_ips_proto(): one address, or a hash of the tuple over the range. */
	new_addr = cur_addr;
	if (r->flags & NF_NAT_RANGE_MAP_IPS) {
		if (!pc_addr_equal(&r->min_addr, &r->max_addr)) {
			vm_unknown(vm, "nat to an address range (the kernel picks one by a hash of "
				       "the connection)");
			return;
		}
		new_addr = r->min_addr;
	}

	/* get_unique_tuple() / nf_nat_l4proto_unique_tuple(): a port in range is kept (no
	 * other connection uses the tuple), else the first of the range for DNAT. */
	new_port = cur_port;
	if (r->flags & NF_NAT_RANGE_PROTO_SPECIFIED) {
		uint16_t lo = r->min_port, hi = r->max_port, port = ntohs(cur_port);
		uint32_t size, off;

		if (hi < lo) {
			uint16_t t = lo;

			lo = hi;
			hi = t;
		}
		size = (uint32_t)(hi - lo) + 1;
		if ((r->flags & NF_NAT_RANGE_PROTO_RANDOM_ALL) && size > 1) {
			vm_unknown(vm, "nat to a random port");
			return;
		}
		if (!(r->flags & NF_NAT_RANGE_PROTO_OFFSET) && port >= lo && port <= hi) {
			new_port = cur_port;
		} else {
			if (r->flags & NF_NAT_RANGE_PROTO_OFFSET)
				off = (uint16_t)(port - r->base_port);
			else if (manip == MANIP_DST)
				off = 0;
			else if (size > 1) {
				vm_unknown(vm, "snat to a random port of a range");
				return;
			} else
				off = 0;
			new_port = htons((uint16_t)(lo + off % size));
		}
	}

	if (!pc_addr_equal(&new_addr, &cur_addr) || new_port != cur_port) {
		p->ct_status |= manip == MANIP_DST ? IPS_DST_NAT : IPS_SRC_NAT;
		p->nat_changed[manip] = true;
	}
	p->ct_status |= manip == MANIP_DST ? IPS_DST_NAT_DONE : IPS_SRC_NAT_DONE;
	p->nat_done[manip] = true;
	p->nat_addr[manip] = new_addr;
	p->nat_port[manip] = new_port;
	/* nf_conntrack_alter_reply() */
	if (manip == MANIP_DST) {
		p->reply.src = new_addr;
		p->reply.sport = new_port;
	} else {
		p->reply.dst = new_addr;
		p->reply.dport = new_port;
	}
	vm->vcode = NF_ACCEPT;
	vm->rule_nat = true;
	pc_addr_to_string(&new_addr, buf);
	snprintf(vm->rule_detail, sizeof(vm->rule_detail),
		 p->family == AF_INET6 ? "%s to [%s]:%u" : "%s to %s:%u",
		 manip == MANIP_DST ? "dnat" : "snat", buf, ntohs(new_port));
}

/* The ports of a nat/redir/masq expression: nft_reg_load16 of the registers. */
static bool nat_ports(struct vm *vm, uint32_t reg_min, uint32_t reg_max, struct vm_nat_range *r)
{
	const uint8_t *a, *b;
	uint16_t v;

	if (!reg_min)
		return true;
	a = vm_reg_in(vm, reg_min, 2);
	b = vm_reg_in(vm, reg_max ? reg_max : reg_min, 2);
	if (!a || !b)
		return false;
	memcpy(&v, a, 2);
	r->min_port = ntohs(v);
	memcpy(&v, b, 2);
	r->max_port = ntohs(v);
	r->flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
	return true;
}

void vm_eval_nat(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_pkt *p = vm->pkt;
	struct vm_nat_range r = {.flags = e->nat.flags};
	int family;

	/* nft_nat_inet_eval: a nat of the other family does nothing. */
	if (e->nat.family != p->nfproto && e->nat.family != NFPROTO_INET) {
		if (vm->table && vm->table->family == NFPROTO_INET)
			return;
		vm_unknown(vm, "nat of family %u on a packet of family %u", e->nat.family,
			   p->nfproto);
		return;
	}
	family = p->family;
	if (e->nat.reg_addr_min) {
		unsigned alen = pc_addr_size(family);
		const uint8_t *a = vm_reg_in(vm, e->nat.reg_addr_min, alen);
		const uint8_t *b = vm_reg_in(
		    vm, e->nat.reg_addr_max ? e->nat.reg_addr_max : e->nat.reg_addr_min, alen);

		if (!a || !b)
			return;
		addr_from(family, a, &r.min_addr);
		addr_from(family, b, &r.max_addr);
		r.flags |= NF_NAT_RANGE_MAP_IPS;
		if (r.flags & NF_NAT_RANGE_NETMAP) {
			/* nft_nat_setup_netmap(): keep the host bits of the packet's address. */
			struct pc_addr cur;

			pkt_addr(p, e->nat.type == NFT_NAT_DNAT, &cur);
			for (unsigned i = 0; i < alen; i++) {
				uint8_t mask = ~(r.min_addr.bytes[i] ^ r.max_addr.bytes[i]);

				cur.bytes[i] =
				    (cur.bytes[i] & ~mask) | (r.min_addr.bytes[i] & mask);
			}
			r.min_addr = r.max_addr = cur;
		}
	}
	if (!nat_ports(vm, e->nat.reg_proto_min, e->nat.reg_proto_max, &r))
		return;
	vm_nat_setup(vm, &r, e->nat.type == NFT_NAT_DNAT ? MANIP_DST : MANIP_SRC);
}

/* The address nf_nat_redirect_ipv4/ipv6 redirects to: the first IPv4 address of the
 * incoming device, or its first IPv6 address of the destination's scope. */
static bool redirect_addr(struct vm *vm, struct pc_addr *ret)
{
	const struct pc_netif *ni = vm->net->ni;
	struct vm_pkt *p = vm->pkt;
	struct pc_addr d;
	unsigned scope;

	pkt_addr(p, true, &d);
	scope = p->family == AF_INET6 ? vm_ipv6_addr_scope(&d) : 0;
	for (size_t i = 0; i < ni->n_addrs; i++) {
		const struct pc_addr *a = &ni->addrs[i].prefix.addr;

		if (ni->addrs[i].ifindex != p->iif || a->family != p->family)
			continue;
		if (p->family == AF_INET6 && vm_ipv6_addr_scope(a) != scope)
			continue;
		*ret = *a;
		return true;
	}
	return false;
}

void vm_nat_redirect(struct vm *vm, const struct vm_nat_range *r)
{
	struct vm_nat_range nr = *r;

	if (!redirect_addr(vm, &nr.min_addr)) {
		vm->vcode = NF_DROP;
		snprintf(vm->rule_detail, sizeof(vm->rule_detail),
			 "redirect: no address on the incoming interface, dropped");
		return;
	}
	nr.max_addr = nr.min_addr;
	nr.flags |= NF_NAT_RANGE_MAP_IPS;
	vm_nat_setup(vm, &nr, MANIP_DST);
	if (vm->vcode == NF_ACCEPT && strncmp(vm->rule_detail, "dnat ", 5) == 0) {
		char tmp[sizeof(vm->rule_detail)];

		snprintf(tmp, sizeof(tmp), "redirect %s", vm->rule_detail + 5);
		memcpy(vm->rule_detail, tmp, sizeof(tmp));
	}
}

void vm_eval_redir(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_nat_range r = {.flags = e->redir.flags};

	if (!nat_ports(vm, e->redir.reg_proto_min, e->redir.reg_proto_max, &r))
		return;
	vm_nat_redirect(vm, &r);
}

/* nf_nat_masquerade_ipv4/ipv6 pick the source by inet_select_addr() / source address
 * selection on the output device; approximated by the device's first address of the family
 * (preferring one whose prefix holds the next hop). The address only matters to chains after
 * the NAT hook in postrouting. */
void vm_nat_masquerade(struct vm *vm, const struct vm_nat_range *r)
{
	const struct pc_netif *ni = vm->net->ni;
	struct vm_pkt *p = vm->pkt;
	struct vm_nat_range nr = *r;
	const struct pc_addr *pick = NULL;
	struct pc_addr d;

	pkt_addr(p, true, &d);
	for (size_t i = 0; i < ni->n_addrs; i++) {
		const struct pc_ifaddr *a = &ni->addrs[i];

		if (a->ifindex != p->oif || a->prefix.addr.family != p->family)
			continue;
		if (p->family == AF_INET6 && vm_ipv6_addr_scope(&a->prefix.addr) != 0)
			continue;
		if (!pick || pc_prefix_contains(&a->prefix, &d))
			pick = &a->prefix.addr;
		if (pc_prefix_contains(&a->prefix, &d))
			break;
	}
	if (!pick) {
		vm->vcode = NF_DROP;
		snprintf(vm->rule_detail, sizeof(vm->rule_detail),
			 "masquerade: no address on the output interface, dropped");
		return;
	}
	nr.min_addr = nr.max_addr = *pick;
	nr.flags |= NF_NAT_RANGE_MAP_IPS;
	p->nat_addr_inexact = true;
	vm_nat_setup(vm, &nr, MANIP_SRC);
}

void vm_eval_masq(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_nat_range r = {.flags = e->masq.flags};

	if (!nat_ports(vm, e->masq.reg_proto_min, e->masq.reg_proto_max, &r))
		return;
	vm_nat_masquerade(vm, &r);
}
