/* SPDX-License-Identifier: MIT */
/*
 * The meta expression: nft_meta_get_eval / nft_meta_set_eval, one helper per group of
 * keys (the devices, the packet and its skb, runtime values).
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

void vm_store_ifname(uint8_t *dst, const struct pc_link *l)
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

/* The register length meta_get stores for the key. */
static uint32_t meta_get_len(uint32_t key)
{
	uint32_t len = 4;

	switch (key) {
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
	return len;
}

/* Keys about the devices: the incoming and outgoing interface's index, name, type, group
 * and kind. Returns false for other keys. */
static bool meta_get_iface(struct vm *vm, const struct pc_nft_expr *e, uint8_t *d)
{
	struct vm_pkt *p = vm->pkt;
	const struct pc_link *in = vm_link(vm->net, p->iif), *out = vm_link(vm->net, p->oif);

	switch (e->meta.key) {
	case NFT_META_IIF:
		vm_store32(d, in ? in->ifindex : 0);
		return true;
	case NFT_META_OIF:
		vm_store32(d, out ? out->ifindex : 0);
		return true;
	case NFT_META_IIFNAME:
		vm_store_ifname(d, in);
		return true;
	case NFT_META_OIFNAME:
		vm_store_ifname(d, out);
		return true;
	case NFT_META_IIFTYPE:
	case NFT_META_OIFTYPE: {
		const struct pc_link *l = e->meta.key == NFT_META_IIFTYPE ? in : out;

		if (!l) {
			vm->vcode = NFT_BREAK;
			return true;
		}
		vm_store16(d, link_type(l));
		return true;
	}
	case NFT_META_IIFGROUP:
	case NFT_META_OIFGROUP: {
		/* nft_meta_store_ifgroup(): no device, no group (a break, not group 0). */
		const struct pc_link *l = e->meta.key == NFT_META_IIFGROUP ? in : out;

		if (!l) {
			vm->vcode = NFT_BREAK;
			return true;
		}
		vm_store32(d, l->group);
		return true;
	}
	case NFT_META_IIFKIND:
	case NFT_META_OIFKIND: {
		/* nft_meta_get_eval_kind(): a device without rtnl_link_ops (a physical NIC, lo)
		 * has no kind, and neither has a missing device: both break. */
		const struct pc_link *l = e->meta.key == NFT_META_IIFKIND ? in : out;

		if (!l || !l->kind[0]) {
			vm->vcode = NFT_BREAK;
			return true;
		}
		memset(d, 0, IFNAMSIZ);
		memcpy(d, l->kind, strnlen(l->kind, IFNAMSIZ - 1));
		return true;
	}
	case NFT_META_SDIF:
		/* No VRF in the model. */
		vm_store32(d, 0);
		return true;
	case NFT_META_SDIFNAME:
		vm_store_ifname(d, NULL);
		return true;
	default:
		return false;
	}
}

/* Keys about the packet and its skb: length, protocols, marks, packet type, trace, the
 * socket it does not have yet. Returns false for other keys. */
static bool meta_get_packet(struct vm *vm, const struct pc_nft_expr *e, uint8_t *d)
{
	struct vm_pkt *p = vm->pkt;

	switch (e->meta.key) {
	case NFT_META_LEN:
		/* The synthetic packet's length; a real SYN carries options (44 to 60 bytes
		 * for IPv4), a datagram data: every bit of it varies by client. */
		vm_store32(d, p->len);
		memset(vm_taint_of(vm, d), 0xff, 4);
		vm->taint_what = "meta length";
		return true;
	case NFT_META_PROTOCOL:
		vm_store16(d, htons(p->family == AF_INET ? ETH_P_IP : ETH_P_IPV6));
		return true;
	case NFT_META_PRIORITY:
		vm_store32(d, p->priority);
		return true;
	case NFT_META_MARK:
		vm_store32(d, p->mark);
		return true;
	case NFT_META_SKUID:
	case NFT_META_SKGID:
	case NFT_META_CGROUP:
		/* A received packet has no full socket before the transport layer's lookup. */
		vm->vcode = NFT_BREAK;
		return true;
	case NFT_META_NFTRACE:
		vm_store8(d, p->nftrace);
		return true;
	case NFT_META_RTCLASSID:
		/* No dst before the routing decision; after it, no realms in the model. */
		if (vm->hook == NF_INET_PRE_ROUTING || vm->hook == VM_HOOK_INGRESS) {
			vm->vcode = NFT_BREAK;
			return true;
		}
		vm_store32(d, 0);
		return true;
	case NFT_META_SECMARK:
		vm_store32(d, p->secmark);
		return true;
	case NFT_META_NFPROTO:
		vm_store8(d, vm->pf);
		return true;
	case NFT_META_L4PROTO:
		vm_store8(d, p->l4proto);
		return true;
	case NFT_META_PKTTYPE:
		vm_store8(d, p->pkt_type);
		return true;
	case NFT_META_SECPATH:
		/* The synthetic packet did not come through IPsec. */
		vm_store8(d, 0);
		return true;
	default:
		return false;
	}
}

static void meta_get(struct vm *vm, const struct pc_nft_expr *e)
{
	uint8_t *d = vm_reg_out(vm, e->meta.dreg, meta_get_len(e->meta.key));

	if (!d)
		return;
	if (meta_get_iface(vm, e, d) || meta_get_packet(vm, e, d))
		return;
	/* Runtime values, and keys not modelled. */
	switch (e->meta.key) {
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
