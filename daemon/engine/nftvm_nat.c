/* SPDX-License-Identifier: MIT */
/*
 * NAT: the nat, redir and masq expressions and nf_nat_setup_info() binding the packet's
 * conntrack entry.
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

static void addr_from(int family, const uint8_t *b, struct pc_addr *ret)
{
	*ret = (struct pc_addr){.family = family};
	memcpy(ret->bytes, b, pc_addr_size(family));
}

/* get_unique_tuple() / nf_nat_l4proto_unique_tuple(): a port in range is kept (no
 * other connection uses the tuple), else the first of the range for DNAT. The port of
 * @manip for @cur_port (network byte order) in *ret; false after vm_unknown(). */
static bool nat_pick_port(struct vm *vm, const struct vm_nat_range *r, int manip, uint16_t cur_port,
			  bool client_port, uint16_t *ret)
{
	uint16_t lo = r->min_port, hi = r->max_port, port = ntohs(cur_port);
	uint32_t size, off;

	*ret = cur_port;
	/* get_unique_tuple(): with random / fully-random and no port range the kernel never
	 * keeps the tuple, it draws a port (nf_nat_l4proto_unique_tuple): a value no rule
	 * can know (sport_drawn marks it varying). */
	if ((r->flags & NF_NAT_RANGE_PROTO_RANDOM_ALL) && manip == MANIP_SRC &&
	    !(r->flags & NF_NAT_RANGE_PROTO_SPECIFIED)) {
		vm->pkt->sport_drawn = true;
		return true;
	}
	if (!(r->flags & NF_NAT_RANGE_PROTO_SPECIFIED))
		return true;
	if (hi < lo) {
		uint16_t t = lo;

		lo = hi;
		hi = t;
	}
	size = (uint32_t)(hi - lo) + 1;
	if ((r->flags & NF_NAT_RANGE_PROTO_RANDOM_ALL) && size > 1) {
		vm_unknown(vm, "nat to a random port");
		return false;
	}
	if (!(r->flags & NF_NAT_RANGE_PROTO_OFFSET)) {
		/* Kept when in range: for a symbolic client's port, the sources split there. */
		int in =
		    client_port ? vm_sym_split_range(vm, true, lo, hi) : port >= lo && port <= hi;

		if (in < 0)
			return false;
		if (in) {
			*ret = cur_port;
			return true;
		}
	} else if (client_port) {
		vm_unknown(vm, "nat with a port offset from the client's source port");
		return false;
	}
	if (r->flags & NF_NAT_RANGE_PROTO_OFFSET)
		off = (uint16_t)(port - r->base_port);
	else if (manip == MANIP_DST)
		off = 0;
	else if (size > 1) {
		vm_unknown(vm, "snat to a random port of a range");
		return false;
	} else
		off = 0;
	*ret = htons((uint16_t)(lo + off % size));
	return true;
}

/* Bind the entry's @manip to @new_addr and @new_port, as nf_nat_setup_info() does once it
 * has the tuple: the status bits, the binding and nf_conntrack_alter_reply(). */
static void nat_bind(struct vm *vm, int manip, const struct pc_addr *new_addr, uint16_t new_port,
		     const struct pc_addr *cur_addr, uint16_t cur_port)
{
	struct vm_pkt *p = vm->pkt;
	char buf[PC_ADDRSTRLEN];

	if (!pc_addr_equal(new_addr, cur_addr) || new_port != cur_port) {
		p->ct_status |= manip == MANIP_DST ? IPS_DST_NAT : IPS_SRC_NAT;
		p->nat_changed[manip] = true;
	}
	p->ct_status |= manip == MANIP_DST ? IPS_DST_NAT_DONE : IPS_SRC_NAT_DONE;
	p->nat_done[manip] = true;
	p->nat_addr[manip] = *new_addr;
	p->nat_port[manip] = new_port;
	/* nf_conntrack_alter_reply() */
	if (manip == MANIP_DST) {
		p->reply.src = *new_addr;
		p->reply.sport = new_port;
	} else {
		p->reply.dst = *new_addr;
		p->reply.dport = new_port;
	}
	vm->vcode = NF_ACCEPT;
	vm->rule_nat = true;
	pc_addr_to_string(new_addr, buf);
	snprintf(vm->rule_detail, sizeof(vm->rule_detail),
		 p->family == AF_INET6 ? "%s to [%s]:%u" : "%s to %s:%u",
		 manip == MANIP_DST ? "dnat" : "snat", buf, ntohs(new_port));
}

void vm_nat_setup(struct vm *vm, const struct vm_nat_range *r, int manip)
{
	struct vm_pkt *p = vm->pkt;
	struct pc_addr cur_addr, new_addr;
	uint16_t cur_port, new_port;
	bool client_addr, client_port;

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
	client_addr = vm->sym && p->orig_src_sym && pc_addr_equal(&cur_addr, &p->orig.src);
	client_port = vm->sym && p->orig_sport_sym && cur_port == p->orig.sport;

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

	/* SNAT of the symbolic client's address: whether it changes splits the sources (a
	 * client that already has the new address keeps it). */
	if (manip == MANIP_SRC && client_addr && (r->flags & NF_NAT_RANGE_MAP_IPS)) {
		pc_u128 x = pc_addr_to_u128(&new_addr);

		if (vm_sym_split_range(vm, false, x, x) < 0)
			return;
	}
	if (!nat_pick_port(vm, r, manip, cur_port, manip == MANIP_SRC && client_port, &new_port))
		return;
	nat_bind(vm, manip, &new_addr, new_port, &cur_addr, cur_port);
	if (manip == MANIP_SRC && p->sport_drawn) {
		/* A drawn port differs from the original (but for one chance in the range's
		 * size, taken as none): the tuple changed. */
		p->ct_status |= IPS_SRC_NAT;
		p->nat_changed[MANIP_SRC] = true;
	}
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
			unsigned off = vm_pkt_addr_off(p, e->nat.type == NFT_NAT_DNAT);

			if (p->var[off]) {
				vm_unknown(vm, "netmap of the client's address: the new address "
					       "depends on each client");
				return;
			}

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
