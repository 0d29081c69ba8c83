/* SPDX-License-Identifier: MIT */
/*
 * The host and helpers of the engine's unit tests on rulesets built in memory
 * (test_nftvm.c, test_nftvm_sets.c): a host of four links, a flow run with its trace.
 */
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/strsan.h"

#include "nftbuild.h"

#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#define LO 1
#define ETH0 2
#define DOCKER0 3
#define ETH1 4

/* A host: lo, eth0 (192.0.2.10/24, 2001:db8::10/64, default route), docker0
 * (198.51.100.1/24), eth1 (203.0.113.10/24, 2001:db8:1::10/64). Routes as the kernel
 * would list them, main and local tables. */
static inline void host(struct pc_netif *ni)
{
	nb_link(ni, LO, "lo", true);
	nb_link(ni, ETH0, "eth0", false);
	nb_link(ni, DOCKER0, "docker0", false);
	nb_link(ni, ETH1, "eth1", false);
	nb_ifaddr(ni, LO, "127.0.0.1/8");
	nb_ifaddr(ni, LO, "::1/128");
	nb_ifaddr(ni, ETH0, "192.0.2.10/24");
	nb_ifaddr(ni, ETH0, "2001:db8::10/64");
	nb_ifaddr(ni, ETH0, "fe80::10/64");
	nb_ifaddr(ni, DOCKER0, "198.51.100.1/24");
	nb_ifaddr(ni, ETH1, "203.0.113.10/24");
	nb_ifaddr(ni, ETH1, "2001:db8:1::10/64");

	nb_route(ni, "0.0.0.0/0", RT_TABLE_MAIN, RTN_UNICAST, ETH0, "192.0.2.1", 0);
	nb_route(ni, "192.0.2.0/24", RT_TABLE_MAIN, RTN_UNICAST, ETH0, NULL, 0);
	nb_route(ni, "198.51.100.0/24", RT_TABLE_MAIN, RTN_UNICAST, DOCKER0, NULL, 0);
	nb_route(ni, "203.0.113.0/24", RT_TABLE_MAIN, RTN_UNICAST, ETH1, NULL, 0);
	nb_route(ni, "127.0.0.0/8", RT_TABLE_LOCAL, RTN_LOCAL, LO, NULL, 0);
	nb_route(ni, "127.0.0.1/32", RT_TABLE_LOCAL, RTN_LOCAL, LO, NULL, 0);
	nb_route(ni, "192.0.2.10/32", RT_TABLE_LOCAL, RTN_LOCAL, ETH0, NULL, 0);
	nb_route(ni, "192.0.2.255/32", RT_TABLE_LOCAL, RTN_BROADCAST, ETH0, NULL, 0);
	nb_route(ni, "198.51.100.1/32", RT_TABLE_LOCAL, RTN_LOCAL, DOCKER0, NULL, 0);
	nb_route(ni, "203.0.113.10/32", RT_TABLE_LOCAL, RTN_LOCAL, ETH1, NULL, 0);

	nb_route(ni, "::/0", RT_TABLE_MAIN, RTN_UNICAST, ETH0, "2001:db8::1", 1024);
	nb_route(ni, "2001:db8::/64", RT_TABLE_MAIN, RTN_UNICAST, ETH0, NULL, 256);
	nb_route(ni, "2001:db8:1::/64", RT_TABLE_MAIN, RTN_UNICAST, ETH1, NULL, 256);
	nb_route(ni, "fe80::/64", RT_TABLE_MAIN, RTN_UNICAST, ETH0, NULL, 256);
	nb_route(ni, "::1/128", RT_TABLE_LOCAL, RTN_LOCAL, LO, NULL, 0);
	nb_route(ni, "2001:db8::10/128", RT_TABLE_LOCAL, RTN_LOCAL, ETH0, NULL, 0);
	nb_route(ni, "fe80::10/128", RT_TABLE_LOCAL, RTN_LOCAL, ETH0, NULL, 0);
	nb_route(ni, "2001:db8:1::10/128", RT_TABLE_LOCAL, RTN_LOCAL, ETH1, NULL, 0);
}

static inline int setup(void **state)
{
	return nb_fx_setup(state, host);
}

/* Evaluate a flow, with a trace; the result stays in the fixture. */
static inline const struct pc_nft_result *run(struct nb_fx *f, uint8_t proto, const char *saddr,
					      const char *daddr, uint16_t dport, uint32_t iif)
{
	struct pc_flow fl = nb_flow(proto, saddr, daddr, dport, iif);

	/* Tests change the ruleset between runs; a real snapshot never changes. */
	memset(f->rs.ct_enabled_cache, 0, sizeof(f->rs.ct_enabled_cache));
	pc_nft_result_clear(&f->res);
	assert_int_equal(pc_nft_eval_path(&f->rs, &f->ni, &fl, true, &f->res), 0);
	return &f->res;
}

static inline const struct pc_nft_result *tcp4(struct nb_fx *f, uint16_t dport)
{
	return run(f, IPPROTO_TCP, "203.0.113.9", "192.0.2.10", dport, ETH0);
}

static inline struct pc_nft_table *tbl(struct nb_fx *f, size_t i)
{
	return &f->rs.tables[i];
}

/* inet filter input, policy @policy; returns the chain (valid until the next nb_chain). */
static inline struct pc_nft_chain *input_chain(struct nb_fx *f, uint32_t policy)
{
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "filter");

	return nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, policy);
}

static inline void assert_reject(const struct pc_nft_result *r, uint8_t type, uint8_t code)
{
	assert_int_equal(r->verdict, PC_VERDICT_REJECT);
	assert_false(r->reject.tcp_reset);
	assert_int_equal(r->reject.icmp_type, type);
	assert_int_equal(r->reject.icmp_code, code);
}

/* The 4 bytes of an IPv4 address, in network order. */
static inline void addr4(const char *s, uint8_t *out)
{
	struct pc_addr a;

	assert_int_equal(pc_addr_from_string(s, &a), 0);
	memcpy(out, a.bytes, pc_addr_size(a.family));
}
