/* SPDX-License-Identifier: MIT */
/* Route lookups over the network model read from rtnetlink, as the engine does them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "portcheck/netif.h"

/*
 * The interface the kernel would send a packet to @dst by (local table, then main; the
 * same lookup the engine's fib and routing decision use). Returns 0 and the ifindex, or
 * -ENOENT when no route with an interface matches (none, unreachable, multipath).
 */
int pc_route_oif(const struct pc_netif *ni, const struct pc_addr *dst, uint32_t *ret_oif);

/* Where the route from this host back to a source leaves. */
enum pc_route_back {
	PC_ROUTE_BACK_VIA,	 /* through the interface asked about */
	PC_ROUTE_BACK_ELSEWHERE, /* through another interface, or no route back at all */
	PC_ROUTE_BACK_UNKNOWN,	 /* policy routing or several next hops: not modelled */
};

/*
 * Whether the route back to @src leaves through @ifindex: what strict reverse-path
 * filtering asks, and what makes @src a source a client on that interface can really use.
 * An IPv6 link-local source is answered on the link it came from, if it has the route.
 * @bound: the socket is bound to @ifindex (SO_BINDTODEVICE), so its replies are too:
 * IPv4 then leaves through it whatever the routes say (the lookup keeps to the device and
 * takes the destination as on-link when nothing there matches), IPv6 only along a route
 * on it (RT6_LOOKUP_F_IFACE).
 */
enum pc_route_back pc_route_back(const struct pc_netif *ni, const struct pc_addr *src,
				 uint32_t ifindex, bool bound);
