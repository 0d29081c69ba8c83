/* SPDX-License-Identifier: MIT */
/*
 * What the engine's property tests (test_symsrc.c, test_portclass_prop.c) share: their
 * host and their deterministic randomness (splitmix64; a test sets rng from its seed).
 */
#pragma once

#include <inttypes.h>
#include <stdio.h>

#include "nftbuild.h"

#define ETH0 2
#define DOCKER0 3

/* test_nftvm.c's host without eth1: eth0 192.0.2.10/24 2001:db8::10/64 (default routes),
 * docker0 198.51.100.1/24; IPv4 forwarding on. */
static inline void prop_host(struct pc_netif *ni)
{
	nb_link(ni, 1, "lo", true);
	nb_link(ni, ETH0, "eth0", false);
	nb_link(ni, DOCKER0, "docker0", false);
	nb_ifaddr(ni, 1, "127.0.0.1/8");
	nb_ifaddr(ni, 1, "::1/128");
	nb_ifaddr(ni, ETH0, "192.0.2.10/24");
	nb_ifaddr(ni, ETH0, "2001:db8::10/64");
	nb_ifaddr(ni, ETH0, "fe80::10/64");
	nb_ifaddr(ni, DOCKER0, "198.51.100.1/24");
	nb_route(ni, "0.0.0.0/0", RT_TABLE_MAIN, RTN_UNICAST, ETH0, "192.0.2.1", 0);
	nb_route(ni, "192.0.2.0/24", RT_TABLE_MAIN, RTN_UNICAST, ETH0, NULL, 0);
	nb_route(ni, "198.51.100.0/24", RT_TABLE_MAIN, RTN_UNICAST, DOCKER0, NULL, 0);
	nb_route(ni, "127.0.0.0/8", RT_TABLE_LOCAL, RTN_LOCAL, 1, NULL, 0);
	nb_route(ni, "192.0.2.10/32", RT_TABLE_LOCAL, RTN_LOCAL, ETH0, NULL, 0);
	nb_route(ni, "192.0.2.255/32", RT_TABLE_LOCAL, RTN_BROADCAST, ETH0, NULL, 0);
	nb_route(ni, "198.51.100.1/32", RT_TABLE_LOCAL, RTN_LOCAL, DOCKER0, NULL, 0);
	nb_route(ni, "::/0", RT_TABLE_MAIN, RTN_UNICAST, ETH0, "2001:db8::1", 1024);
	nb_route(ni, "2001:db8::/64", RT_TABLE_MAIN, RTN_UNICAST, ETH0, NULL, 256);
	nb_route(ni, "fe80::/64", RT_TABLE_MAIN, RTN_UNICAST, ETH0, NULL, 256);
	nb_route(ni, "::1/128", RT_TABLE_LOCAL, RTN_LOCAL, 1, NULL, 0);
	nb_route(ni, "2001:db8::10/128", RT_TABLE_LOCAL, RTN_LOCAL, ETH0, NULL, 0);
	nb_route(ni, "fe80::10/128", RT_TABLE_LOCAL, RTN_LOCAL, ETH0, NULL, 0);
	ni->forwarding_v4 = true;
}

/* --- deterministic randomness ----------------------------------------------------------- */

static uint64_t rng;

static inline uint64_t rnd64(void) /* splitmix64 */
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint32_t rnd(uint32_t n) /* [0, n) */
{
	return (uint32_t)(rnd64() % n);
}

/* One engine result, for a failure report. */
static inline void print_result(const char *who, const struct pc_nft_result *r)
{
	char a[PC_ADDRSTRLEN];

	printf("  %s: verdict %s", who, pc_verdict_to_string(r->verdict));
	if (r->verdict == PC_VERDICT_REJECT)
		printf(" (rst %d icmp %u/%u)", r->reject.tcp_reset, r->reject.icmp_type,
		       r->reject.icmp_code);
	if (r->has_rule)
		printf(", rule %s %s [%" PRIu64 "]%s", r->rule.table, r->rule.chain, r->rule.handle,
		       r->rule.policy ? " policy" : "");
	if (r->forwarded || r->dnat_local)
		printf(", %s to %s:%u", r->forwarded ? "forwarded" : "dnat local",
		       pc_addr_to_string(&r->fwd_addr, a), r->fwd_port);
	if (r->verdict == PC_VERDICT_UNKNOWN)
		printf(" (%s)", r->unknown_reason);
	printf("\n");
}
