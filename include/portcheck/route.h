/* SPDX-License-Identifier: MIT */
/* Route lookups over the network model read from rtnetlink, as the engine does them. */
#pragma once

#include <stdint.h>

#include "portcheck/netif.h"

/*
 * The interface the kernel would send a packet to @dst by (local table, then main; the
 * same lookup the engine's fib and routing decision use). Returns 0 and the ifindex, or
 * -ENOENT when no route with an interface matches (none, unreachable, multipath).
 */
int pc_route_oif(const struct pc_netif *ni, const struct pc_addr *dst, uint32_t *ret_oif);
