/* SPDX-License-Identifier: MIT */
/*
 * The fib expression: nft_fib4_eval, nft_fib6_eval and their addrtype variants.
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
			vm_store_ifname(d, dev);
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

/* A lookup the kernel skips stores the incoming device's result: true then. */
static bool fib_skipped(struct vm *vm, const struct pc_nft_expr *e, uint8_t *d)
{
	if (!fib_can_skip(vm))
		return false;
	fib_store(d, e, vm_link(vm->net, vm->pkt->iif));
	return true;
}

/* The device the route must leave through (NFTA_FIB_F_IIF / _OIF), 0 for any. */
static uint32_t fib_oif(const struct vm *vm, const struct pc_nft_expr *e)
{
	if (e->fib.flags & NFTA_FIB_F_IIF)
		return vm->pkt->iif;
	if (e->fib.flags & NFTA_FIB_F_OIF)
		return vm->pkt->oif;
	return 0;
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

static void fib4_eval(struct vm *vm, const struct pc_nft_expr *e, uint8_t *d)
{
	struct vm_pkt *p = vm->pkt;
	uint32_t oif = 0;
	struct pc_addr saddr, daddr;
	struct vm_rt rt;

	if (fib_skipped(vm, e, d))
		return;
	oif = fib_oif(vm, e);
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
	if (!rt.found || vm_rt_is_error(&rt) || rt.type == RTN_LOCAL)
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

	if (fib_skipped(vm, e, d))
		return;
	oif = fib_oif(vm, e);
	/* nft_fib6_flowi_init: daddr, or the source for reverse-path checks. */
	pkt_addr(p, (e->fib.flags & NFTA_FIB_F_DADDR) != 0, &a);
	if (vm_ipv6_addr_type(&a) & VM_V6_LINKLOCAL)
		strict = oif ? oif : p->iif;
	if (fib_blind(vm))
		return;
	memset(d, 0, 4);
	vm_fib_lookup(vm->net, &a, strict, &rt);
	if (!rt.found || vm_rt_is_error(&rt) || rt.type == RTN_LOCAL || rt.type == RTN_ANYCAST)
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
	if (vm_rt_is_error(&rt)) {
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
	/* A lookup of the source answers per routing class. */
	if (!(e->fib.flags & NFTA_FIB_F_DADDR) && vm_route_class(vm) < 0)
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
