/* SPDX-License-Identifier: MIT */
/*
 * The routing decision of the packet path (see nftpath.c): the receive checks of
 * ip6_rcv_core(), the martian checks and source validation of ip_route_input_slow() /
 * fib_validate_source(), and the local or forward decision with the ICMP errors routing
 * sends.
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

static void path_drop(struct path *pt, const char *note)
{
	pt->done = true;
	pt->verdict = PC_VERDICT_DROP;
	pt->has_rule = false;
	snprintf(pt->note, sizeof(pt->note), "%s", note);
}

/* Whether the kernel can route something back to the source. */
static bool reply_routable(struct path *pt)
{
	struct pc_addr s;
	struct vm_rt rt;

	if (pt->net->ni->routing_blind_spot)
		return true;
	if (vm_sym_route_class(pt->sym) < 0)
		return true; /* the run fails (path_eval) */
	pkt_addr(&pt->pkt, false, &s);
	vm_fib_lookup(pt->net, &s, 0, &rt);
	return rt.found && (rt.type == RTN_UNICAST || rt.type == RTN_LOCAL);
}

/* An ICMP error the routing code sends (ip_error, ip6_pkt_drop). */
static void path_icmp(struct path *pt, uint8_t code, const char *note)
{
	pt->done = true;
	pt->has_rule = false;
	if (!reply_routable(pt)) {
		pt->verdict = PC_VERDICT_DROP;
		snprintf(pt->note, sizeof(pt->note), "%s (no route back: nothing sent)", note);
		return;
	}
	pt->verdict = PC_VERDICT_REJECT;
	pt->reject = (struct pc_reject){
	    .icmp_type = pt->pkt.family == AF_INET ? 3 : 1,
	    .icmp_code = code,
	};
	snprintf(pt->note, sizeof(pt->note), "%s", note);
}

static bool v4_loopback(const struct pc_addr *a)
{
	return a->bytes[0] == 127;
}

/* Checks of ip6_rcv_core() before any hook. */
bool path_ipv6_rcv_ok(struct path *pt)
{
	struct pc_addr s, d;
	bool lo = vm_link_is_loopback(pt->net, pt->pkt.iif);

	pkt_addr(&pt->pkt, false, &s);
	pkt_addr(&pt->pkt, true, &d);
	if (vm_ipv6_addr_type(&s) & (VM_V6_MULTICAST | VM_V6_MAPPED)) {
		path_drop(pt, "source is multicast or IPv4-mapped: dropped on receive");
		return false;
	}
	if (!lo && ((vm_ipv6_addr_type(&s) | vm_ipv6_addr_type(&d)) & VM_V6_LOOPBACK)) {
		path_drop(pt, "::1 on a non-loopback interface: dropped on receive");
		return false;
	}
	return true;
}

/* The routing decision, not a rule, makes the result unknown. */
void path_route_unknown(struct path *pt, const char *reason)
{
	pt->has_rule = false;
	path_unknown(pt, reason);
}

/*
 * fib_validate_source() for an IPv4 packet from @s arriving on the path's device: whether
 * the source passes (true), or the path is done (dropped as a martian or by the
 * reverse-path filter, or unknown). rp_filter is the maximum of all and the device, the
 * others their OR (pc_netif_inet_conf). Not modelled: route realms (tclassid users take
 * the full check) and IPsec (a secpath skips the filter); neither is in the model.
 */
static bool v4_validate_source(struct path *pt, const struct pc_addr *s)
{
	const struct pc_netif *ni = pt->net->ni;
	const struct pc_link *dev = vm_link(pt->net, pt->pkt.iif);
	struct pc_inet_conf c = pc_netif_inet_conf(ni, dev);
	char src[PC_ADDRSTRLEN], note[256];
	const struct pc_link *back;
	struct vm_rt rt;

	pc_addr_to_string(s, src);
	if (!c.rp_filter) {
		/* The fast path: only a source that is one of our own addresses fails. */
		if (c.accept_local || !vm_host_has_addr(pt->net, s))
			return true;
		path_drop(pt, "source is an address of this host (accept_local off): dropped by "
			      "routing");
		return false;
	}
	/* The full check looks the source up as if to send to it; policy rules could pick
	 * another table for that lookup. */
	if (ni->routing_blind_spot) {
		path_route_unknown(pt, ni->routing_blind_spot);
		return false;
	}
	if (vm_sym_route_class(pt->sym) < 0) {
		path_route_unknown(pt, "the source is in no routing class"); /* the run fails */
		return false;
	}
	vm_fib_lookup(pt->net, s, 0, &rt);
	if (!rt.found || rt.type == RTN_UNREACHABLE || rt.type == RTN_PROHIBIT ||
	    rt.type == RTN_BLACKHOLE || rt.type == RTN_THROW) {
		snprintf(note, sizeof(note),
			 "reverse-path filter (rp_filter=%u): no route back to %s: dropped",
			 c.rp_filter, src);
		path_drop(pt, note);
		return false;
	}
	if (rt.type == RTN_LOCAL && !c.accept_local) {
		path_drop(pt, "source is an address of this host (accept_local off): dropped by "
			      "routing");
		return false;
	}
	if (rt.type != RTN_UNICAST && rt.type != RTN_LOCAL) {
		snprintf(note, sizeof(note),
			 "martian source: the route back to %s is not unicast: dropped by routing",
			 src);
		path_drop(pt, note);
		return false;
	}
	if (!rt.oif) {
		path_route_unknown(pt, "reverse-path filtering with a multipath route back to the "
				       "source is not modelled");
		return false;
	}
	if (rt.oif == pt->pkt.iif || (rt.type == RTN_LOCAL && dev && dev->loopback))
		return true;
	/* A device without an IPv4 address takes the last resort, as strict mode does. */
	if (c.rp_filter == 1 || !dev || !pc_netif_has_family(ni, dev->ifindex, AF_INET)) {
		back = vm_link(pt->net, rt.oif);
		snprintf(note, sizeof(note),
			 "reverse-path filter (rp_filter=%u): the route back to %s leaves "
			 "through %s, not %s: dropped",
			 c.rp_filter, src, back ? back->name : "another interface",
			 dev ? dev->name : "this one");
		path_drop(pt, note);
		return false;
	}
	return true; /* loose: a route back through any interface will do */
}

static bool in_vrf(const struct vm_net *net, uint32_t ifindex)
{
	const struct pc_link *l = vm_link(net, ifindex);
	const struct pc_link *m = l && l->master ? vm_link(net, l->master) : NULL;

	return (l && strcmp(l->kind, "vrf") == 0) || (m && strcmp(m->kind, "vrf") == 0);
}

/* The checks before the route lookup: VRFs, IPv4 settings the model lacks or that turn IPv4
 * off, and ip_route_input_slow()'s martians. Returns true when the path is done. */
static bool route_precheck(struct path *pt, const struct pc_addr *s, const struct pc_addr *d)
{
	const struct pc_netif *ni = pt->net->ni;
	struct vm_pkt *p = &pt->pkt;
	bool v4 = p->family == AF_INET, lo = vm_link_is_loopback(pt->net, p->iif);
	const struct pc_link *in_dev = vm_link(pt->net, p->iif);
	bool localnet = pc_netif_inet_conf(ni, in_dev).route_localnet;

	/* An l3mdev master sends the lookups to the VRF's table, and unbound sockets see the
	 * packet only with tcp_l3mdev_accept / udp_l3mdev_accept. */
	if (in_vrf(pt->net, p->iif)) {
		path_route_unknown(pt, "the incoming interface is enslaved to a VRF: routing in "
				       "VRFs is not modelled");
		return true;
	}
	/* With the IPv4 sysctls unread, rp_filter, accept_local and route_localnet are
	 * unknown, and each may decide. */
	if (v4 && ni->inet_blind_spot) {
		path_route_unknown(pt, ni->inet_blind_spot);
		return true;
	}
	if (v4 && in_dev && in_dev->inet_odd) {
		path_route_unknown(pt, "the incoming interface's net.ipv4.conf values include one "
				       "the model does not know (negative or above 255)");
		return true;
	}
	/* A device the kernel dumped without IPv4 settings has no in_device: IPv4 is off
	 * there (ip_route_input_slow drops without one). */
	if (v4 && in_dev && in_dev->dumped && !in_dev->has_inet_conf && !lo) {
		path_drop(pt, "IPv4 is not enabled on the incoming interface: dropped");
		return true;
	}

	if (v4) {
		/* ip_route_input_slow()'s martian checks. */
		if ((s->bytes[0] & 0xf0) == 0xe0 || s->bytes[0] == 0 ||
		    (s->bytes[0] == 255 && s->bytes[1] == 255 && s->bytes[2] == 255 &&
		     s->bytes[3] == 255)) {
			path_drop(pt, "martian source address: dropped by routing");
			return true;
		}
		if ((d->bytes[0] & 0xf0) == 0xe0 || d->bytes[0] == 0 ||
		    (d->bytes[0] == 255 && d->bytes[1] == 255 && d->bytes[2] == 255 &&
		     d->bytes[3] == 255)) {
			path_route_unknown(pt, "a multicast or broadcast destination");
			return true;
		}
		if (!lo && (v4_loopback(s) || v4_loopback(d)) && !localnet) {
			path_drop(pt, "127.0.0.0/8 on a non-loopback interface (route_localnet "
				      "off): dropped by routing");
			return true;
		}
	} else if (vm_ipv6_addr_type(d) & VM_V6_MULTICAST) {
		path_route_unknown(pt, "a multicast destination");
		return true;
	}
	return false;
}

/* An IPv4 destination that is not local: forwarding and the route's type (@dst is its
 * text). Returns true when the packet may be forwarded along @rt. */
static bool route_forward_v4(struct path *pt, const struct vm_rt *rt, const char *dst)
{
	const struct pc_link *in_dev = vm_link(pt->net, pt->pkt.iif);
	struct pc_inet_conf conf = pc_netif_inet_conf(pt->net->ni, in_dev);
	char note[256];

	if (!conf.forwarding) {
		snprintf(note, sizeof(note),
			 "%s is not an address of this host and IPv4 forwarding is off on "
			 "the incoming interface: dropped",
			 dst);
		path_drop(pt, note);
		return false;
	}
	if (!rt->found) {
		snprintf(note, sizeof(note), "no route to %s: ICMP net unreachable", dst);
		path_icmp(pt, 0, note);
		return false;
	}
	switch (rt->type) {
	case RTN_UNICAST:
		return true;
	case RTN_UNREACHABLE:
		snprintf(note, sizeof(note), "unreachable route to %s: ICMP host unreachable", dst);
		path_icmp(pt, 1, note);
		return false;
	case RTN_PROHIBIT:
		snprintf(note, sizeof(note),
			 "prohibit route to %s: ICMP communication administratively "
			 "prohibited",
			 dst);
		path_icmp(pt, 13, note);
		return false;
	case RTN_BLACKHOLE:
		snprintf(note, sizeof(note), "blackhole route to %s: dropped", dst);
		path_drop(pt, note);
		return false;
	default:
		path_route_unknown(pt, "a route of an unusual type");
		return false;
	}
}

/* The same for IPv6. */
static bool route_forward_v6(struct path *pt, const struct vm_rt *rt, const char *dst)
{
	char note[256];

	/* ip6_pkt_discard / ip6_pkt_prohibit answer whether or not forwarding is on;
	 * a unicast route leads to ip6_forward, which drops when it is off. */
	if (!rt->found || rt->type == RTN_UNREACHABLE || rt->type == RTN_THROW) {
		snprintf(note, sizeof(note), "no route to %s: ICMPv6 no route", dst);
		path_icmp(pt, 0, note);
		return false;
	}
	switch (rt->type) {
	case RTN_UNICAST:
		break;
	case RTN_PROHIBIT:
		snprintf(note, sizeof(note),
			 "prohibit route to %s: ICMPv6 administratively prohibited", dst);
		path_icmp(pt, 1, note);
		return false;
	case RTN_BLACKHOLE:
		snprintf(note, sizeof(note), "blackhole route to %s: dropped", dst);
		path_drop(pt, note);
		return false;
	default:
		path_route_unknown(pt, "a route of an unusual type");
		return false;
	}
	if (!pt->net->ni->forwarding_v6) {
		snprintf(note, sizeof(note),
			 "%s is not an address of this host and IPv6 forwarding is off: "
			 "dropped",
			 dst);
		path_drop(pt, note);
		return false;
	}
	return true;
}

/* The routing decision for the packet as prerouting left it. */
enum route_res path_route_input(struct path *pt, uint32_t *ret_oif)
{
	const struct pc_netif *ni = pt->net->ni;
	struct vm_pkt *p = &pt->pkt;
	bool v4 = p->family == AF_INET, lo = vm_link_is_loopback(pt->net, p->iif);
	struct pc_addr s, d;
	char buf[PC_ADDRSTRLEN];
	struct vm_rt rt;

	pkt_addr(p, false, &s);
	pkt_addr(p, true, &d);
	pc_addr_to_string(&d, buf);
	if (route_precheck(pt, &s, &d))
		return ROUTE_DONE;

	/* Link-local destinations are looked up on the incoming device only. */
	vm_fib_lookup(pt->net, &d, !v4 && (vm_ipv6_addr_type(&d) & VM_V6_LINKLOCAL) ? p->iif : 0,
		      &rt);
	if (rt.found && rt.type == RTN_LOCAL) {
		/* Packets on lo keep the dst they were sent with: no source validation. */
		if (v4 && !lo && !v4_validate_source(pt, &s))
			return ROUTE_DONE;
		return ROUTE_LOCAL;
	}
	if (rt.found && rt.type == RTN_BROADCAST) {
		path_route_unknown(pt, "a broadcast destination");
		return ROUTE_DONE;
	}
	if (rt.found && rt.type == RTN_ANYCAST) {
		path_route_unknown(pt, "an anycast destination");
		return ROUTE_DONE;
	}
	if (ni->routing_blind_spot) {
		path_route_unknown(pt, ni->routing_blind_spot);
		return ROUTE_DONE;
	}

	if (v4 ? !route_forward_v4(pt, &rt, buf) : !route_forward_v6(pt, &rt, buf))
		return ROUTE_DONE;
	if (!rt.oif) {
		path_route_unknown(pt, "a forwarding route without a single device (multipath)");
		return ROUTE_DONE;
	}
	/* __mkroute_input() validates the source before forwarding. (Out through the same
	 * device with send_redirects on, the kernel takes the full check even without
	 * rp_filter; it answers differently only for sources routed as broadcast.) */
	if (v4 && !v4_validate_source(pt, &s))
		return ROUTE_DONE;
	*ret_oif = rt.oif;
	return ROUTE_FORWARD;
}
