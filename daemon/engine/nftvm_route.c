/* SPDX-License-Identifier: MIT */
/*
 * The routing model behind the routing decision and the fib expression: route lookups over
 * the main and local tables read from rtnetlink, in the order of the default policy rules
 * (local, then main; "default" is normally empty). Within a table the longest prefix wins,
 * then the lowest metric. When netif holds no route of a family at all (a model built by
 * hand), the routes the kernel derives from the addresses are used instead: a local route
 * per address, a prefix route per address, the subnet broadcast (IPv4) and 127.0.0.0/8.
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "nftvm_internal.h"
#include "portcheck/route.h"

static int fam_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

void vm_net_init(struct vm_net *net, const struct pc_netif *ni)
{
	*net = (struct vm_net){.ni = ni, .derive = {true, true}};
	for (size_t i = 0; i < ni->n_routes; i++) {
		if (ni->routes[i].family == AF_INET)
			net->derive[0] = false;
		else if (ni->routes[i].family == AF_INET6)
			net->derive[1] = false;
	}
}

const struct pc_link *vm_link(const struct vm_net *net, uint32_t ifindex)
{
	if (!ifindex)
		return NULL;
	for (size_t i = 0; i < net->ni->n_links; i++)
		if (net->ni->links[i].ifindex == ifindex)
			return &net->ni->links[i];
	return NULL;
}

bool vm_link_is_loopback(const struct vm_net *net, uint32_t ifindex)
{
	const struct pc_link *l = vm_link(net, ifindex);

	return l && l->loopback;
}

static bool link_up(const struct vm_net *net, uint32_t ifindex)
{
	const struct pc_link *l = vm_link(net, ifindex);

	return !l || l->up;
}

/* Keep @cand when it beats @best: longer prefix, then lower metric. */
static void consider(struct vm_rt *best, uint32_t best_prio, const struct pc_prefix *dst,
		     uint8_t type, uint32_t table, uint32_t oif, const struct pc_addr *gw,
		     uint32_t prio, uint32_t *ret_prio)
{
	if (best->found &&
	    (dst->len < best->dst.len || (dst->len == best->dst.len && prio >= best_prio)))
		return;
	*best =
	    (struct vm_rt){.found = true, .type = type, .table = table, .oif = oif, .dst = *dst};
	if (gw && gw->family) {
		best->gateway = true;
		best->via = *gw;
	}
	*ret_prio = prio;
}

static void prefix_of(const struct pc_addr *a, uint8_t len, struct pc_prefix *ret)
{
	unsigned bytes = pc_addr_size(a->family);

	*ret = (struct pc_prefix){.addr = *a, .len = len};
	for (unsigned i = len; i < bytes * 8; i++)
		ret->addr.bytes[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

/* Routes the kernel adds for an address (fib_add_ifaddr, addrconf_prefix_route,
 * addrconf's local routes), for the table @table. */
static void derived_lookup(const struct vm_net *net, const struct pc_addr *dst, uint32_t table,
			   uint32_t strict_oif, struct vm_rt *best, uint32_t *best_prio)
{
	const struct pc_netif *ni = net->ni;

	for (size_t i = 0; i < ni->n_addrs; i++) {
		const struct pc_ifaddr *a = &ni->addrs[i];
		const struct pc_addr *addr = &a->prefix.addr;
		bool lo = vm_link_is_loopback(net, a->ifindex);
		struct pc_prefix p;

		if (addr->family != dst->family || !link_up(net, a->ifindex))
			continue;
		if (strict_oif && a->ifindex != strict_oif)
			continue;
		if (table == RT_TABLE_LOCAL) {
			prefix_of(addr, (uint8_t)(pc_addr_size(addr->family) * 8), &p);
			if (pc_prefix_contains(&p, dst))
				consider(best, *best_prio, &p, RTN_LOCAL, table, a->ifindex, NULL,
					 0, best_prio);
			if (addr->family == AF_INET && lo) {
				/* 127.0.0.1/8 on lo: the whole /8 is local */
				prefix_of(addr, a->prefix.len, &p);
				if (pc_prefix_contains(&p, dst))
					consider(best, *best_prio, &p, RTN_LOCAL, table, a->ifindex,
						 NULL, 0, best_prio);
			}
			if (addr->family == AF_INET && a->prefix.len < 31) {
				/* The subnet broadcast address. */
				prefix_of(addr, a->prefix.len, &p);
				for (unsigned b = a->prefix.len; b < 32; b++)
					p.addr.bytes[b / 8] |= (uint8_t)(0x80u >> (b % 8));
				p.len = 32;
				if (pc_addr_equal(&p.addr, dst))
					consider(best, *best_prio, &p, RTN_BROADCAST, table,
						 a->ifindex, NULL, 0, best_prio);
			}
		} else if (table == RT_TABLE_MAIN && !lo) {
			prefix_of(addr, a->prefix.len, &p);
			if (pc_prefix_contains(&p, dst))
				consider(best, *best_prio, &p, RTN_UNICAST, table, a->ifindex, NULL,
					 addr->family == AF_INET6 ? 256 : 0, best_prio);
		}
	}
	if (dst->family == AF_INET6 && table == RT_TABLE_MAIN) {
		/* fe80::/64 on every IPv6 interface with a link-local address is covered by
		 * the address loop above (fe80::x/64). */
	}
}

static void table_lookup(const struct vm_net *net, const struct pc_addr *dst, uint32_t table,
			 uint32_t strict_oif, struct vm_rt *ret)
{
	const struct pc_netif *ni = net->ni;
	uint32_t best_prio = 0;

	*ret = (struct vm_rt){};
	if (net->derive[fam_index(dst->family)]) {
		derived_lookup(net, dst, table, strict_oif, ret, &best_prio);
		return;
	}
	for (size_t i = 0; i < ni->n_routes; i++) {
		const struct pc_route *r = &ni->routes[i];

		if (r->family != dst->family || r->table != table)
			continue;
		if (strict_oif && r->oif != strict_oif)
			continue;
		if (!pc_prefix_contains(&r->dst, dst))
			continue;
		consider(ret, best_prio, &r->dst, r->type, table, r->oif, &r->gateway, r->priority,
			 &best_prio);
	}
}

void vm_fib_lookup(const struct vm_net *net, const struct pc_addr *dst, uint32_t strict_oif,
		   struct vm_rt *ret)
{
	static const uint32_t tables[] = {RT_TABLE_LOCAL, RT_TABLE_MAIN};

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		table_lookup(net, dst, tables[i], strict_oif, ret);
		/* A throw route sends the lookup on to the next rule's table. */
		if (ret->found && ret->type != RTN_THROW)
			return;
	}
	*ret = (struct vm_rt){};
}

void vm_fib_local_lookup(const struct vm_net *net, const struct pc_addr *dst, struct vm_rt *ret)
{
	table_lookup(net, dst, RT_TABLE_LOCAL, 0, ret);
}

uint8_t vm_inet_addr_type(const struct vm_net *net, uint32_t dev, const struct pc_addr *a)
{
	struct vm_rt rt;

	/* __inet_dev_addr_type() */
	if (a->bytes[0] == 0 ||
	    (a->bytes[0] == 255 && a->bytes[1] == 255 && a->bytes[2] == 255 && a->bytes[3] == 255))
		return RTN_BROADCAST;
	if ((a->bytes[0] & 0xf0) == 0xe0)
		return RTN_MULTICAST;
	vm_fib_local_lookup(net, a, &rt);
	if (rt.found && (!dev || dev == rt.oif))
		return rt.type;
	return RTN_UNICAST;
}

bool vm_dev_has_addr(const struct vm_net *net, uint32_t ifindex, const struct pc_addr *a)
{
	for (size_t i = 0; i < net->ni->n_addrs; i++)
		if (net->ni->addrs[i].ifindex == ifindex &&
		    pc_addr_equal(&net->ni->addrs[i].prefix.addr, a))
			return true;
	return false;
}

bool vm_host_has_addr(const struct vm_net *net, const struct pc_addr *a)
{
	for (size_t i = 0; i < net->ni->n_addrs; i++)
		if (pc_addr_equal(&net->ni->addrs[i].prefix.addr, a))
			return true;
	return false;
}

unsigned vm_ipv6_addr_type(const struct pc_addr *a)
{
	const uint8_t *b = a->bytes;
	static const uint8_t zero[16];

	if (b[0] == 0xff)
		return VM_V6_MULTICAST;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return VM_V6_LINKLOCAL | VM_V6_UNICAST;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return VM_V6_SITELOCAL | VM_V6_UNICAST;
	if (memcmp(b, zero, 10) == 0) {
		if (memcmp(b + 10, zero, 5) == 0 && b[15] == 1)
			return VM_V6_LOOPBACK | VM_V6_UNICAST;
		if (memcmp(b + 10, zero, 6) == 0)
			return 0; /* IPV6_ADDR_ANY */
		if (b[10] == 0xff && b[11] == 0xff)
			return VM_V6_MAPPED;
	}
	return VM_V6_UNICAST;
}

unsigned vm_ipv6_addr_scope(const struct pc_addr *a)
{
	return vm_ipv6_addr_type(a) & 0x00f0;
}

bool vm_rt_is_anycast(const struct vm_rt *rt, const struct pc_addr *a)
{
	/* __ipv6_anycast_destination(): an anycast route, or the subnet-router address of a
	 * direct route (the prefix itself). */
	if (rt->type == RTN_ANYCAST)
		return true;
	return rt->dst.len < 127 && !rt->gateway && pc_addr_equal(&rt->dst.addr, a);
}

int pc_route_oif(const struct pc_netif *ni, const struct pc_addr *dst, uint32_t *ret_oif)
{
	struct vm_net net;
	struct vm_rt rt;

	vm_net_init(&net, ni);
	vm_fib_lookup(&net, dst, 0, &rt);
	if (!rt.found || !rt.oif)
		return -ENOENT;
	*ret_oif = rt.oif;
	return 0;
}

enum pc_route_back pc_route_back(const struct pc_netif *ni, const struct pc_addr *src,
				 uint32_t ifindex, bool bound)
{
	struct vm_net net;
	struct vm_rt rt;
	uint32_t strict = 0;

	if (ni->routing_blind_spot)
		return PC_ROUTE_BACK_UNKNOWN;
	/* The reply to a link-local source leaves through the interface it came in on
	 * (tcp_v6_init_req keeps ir_iif, and rt6_need_strict makes the lookup keep to that
	 * device): only a route on that device leads back, e.g. fe80::/64 but not the rest
	 * of fe80::/10, as nft's fib does for such a source. */
	if (src->family == AF_INET6 && (vm_ipv6_addr_type(src) & VM_V6_LINKLOCAL))
		strict = ifindex;
	if (bound) {
		if (src->family == AF_INET)
			return PC_ROUTE_BACK_VIA;
		strict = ifindex;
	}
	vm_net_init(&net, ni);
	vm_fib_lookup(&net, src, strict, &rt);
	if (!rt.found || rt.type != RTN_UNICAST)
		return PC_ROUTE_BACK_ELSEWHERE;
	if (!rt.oif)
		return PC_ROUTE_BACK_UNKNOWN;
	return rt.oif == ifindex ? PC_ROUTE_BACK_VIA : PC_ROUTE_BACK_ELSEWHERE;
}

bool vm_rt_is_error(const struct vm_rt *rt)
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
