/* SPDX-License-Identifier: MIT */
/*
 * The host model around nftables: reverse-path filtering (rp_filter strict and loose, the
 * maximum of all and the device), accept_local, route_localnet, the device's own
 * forwarding switch, VRFs, and the interface attributes rules match (group, kind, type).
 * Each expectation is the kernel's (net/ipv4/fib_frontend.c fib_validate_source,
 * net/ipv4/route.c ip_route_input_slow, net/netfilter/nft_meta.c); the lab test
 * tests/lab/test_hostmodel.sh checks the same cases with real packets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nftbuild.h"
#include "portcheck/nftvm.h"
#include "portcheck/route.h"

#define LO 1
#define ETH0 2
#define ETH1 3
#define VRF 4

/* lo; eth0 192.0.2.10/24 with the default route; eth1 203.0.113.10/24; a blackhole for
 * 198.18.0.0/15 (no route back to it). */
static void host(struct pc_netif *ni)
{
	nb_link(ni, LO, "lo", true);
	nb_link(ni, ETH0, "eth0", false);
	nb_link(ni, ETH1, "eth1", false);
	nb_ifaddr(ni, LO, "127.0.0.1/8");
	nb_ifaddr(ni, ETH0, "192.0.2.10/24");
	nb_ifaddr(ni, ETH1, "203.0.113.10/24");
	nb_route(ni, "0.0.0.0/0", RT_TABLE_MAIN, RTN_UNICAST, ETH0, "192.0.2.1", 0);
	nb_route(ni, "192.0.2.0/24", RT_TABLE_MAIN, RTN_UNICAST, ETH0, NULL, 0);
	nb_route(ni, "203.0.113.0/24", RT_TABLE_MAIN, RTN_UNICAST, ETH1, NULL, 0);
	nb_route(ni, "198.18.0.0/15", RT_TABLE_MAIN, RTN_BLACKHOLE, 0, NULL, 0);
	nb_route(ni, "127.0.0.0/8", RT_TABLE_LOCAL, RTN_LOCAL, LO, NULL, 0);
	nb_route(ni, "192.0.2.10/32", RT_TABLE_LOCAL, RTN_LOCAL, ETH0, NULL, 0);
	nb_route(ni, "203.0.113.10/32", RT_TABLE_LOCAL, RTN_LOCAL, ETH1, NULL, 0);
	ni->forwarding_v4 = false;
}

static int setup(void **state)
{
	return nb_fx_setup(state, host);
}

static struct pc_link *link_of(struct nb_fx *f, uint32_t ifindex)
{
	struct pc_link *l = (struct pc_link *)pc_netif_link_by_index(&f->ni, ifindex);

	assert_non_null(l);
	return l;
}

/* A TCP SYN from @saddr to @daddr:80 arriving on @iif. */
static const struct pc_nft_result *syn(struct nb_fx *f, const char *saddr, const char *daddr,
				       uint32_t iif)
{
	struct pc_flow fl = nb_flow(IPPROTO_TCP, saddr, daddr, 80, iif);

	memset(f->rs.ct_enabled_cache, 0, sizeof(f->rs.ct_enabled_cache));
	pc_nft_result_clear(&f->res);
	assert_int_equal(pc_nft_eval_path(&f->rs, &f->ni, &fl, false, &f->res), 0);
	return &f->res;
}

static void assert_dropped_by(const struct pc_nft_result *r, const char *words)
{
	assert_int_equal(r->verdict, PC_VERDICT_DROP);
	assert_false(r->has_rule);
	if (!strstr(r->note, words))
		fail_msg("note \"%s\" does not say \"%s\"", r->note, words);
}

static void set_conf(struct pc_link *l, uint8_t rp_filter, uint8_t accept_local,
		     uint8_t route_localnet)
{
	l->has_inet_conf = true;
	l->inet = (struct pc_inet_conf){
	    .rp_filter = rp_filter, .accept_local = accept_local, .route_localnet = route_localnet};
}

/* Strict: a source whose route back leaves through another interface is dropped; one
 * routed back through the incoming interface passes. */
static void test_rp_filter_strict(void **state)
{
	struct nb_fx *f = *state;

	assert_int_equal(syn(f, "192.0.2.50", "203.0.113.10", ETH1)->verdict,
			 PC_VERDICT_ACCEPT); /* rp_filter 0: the weak host accepts it */
	set_conf(link_of(f, ETH1), 1, 0, 0);
	assert_dropped_by(syn(f, "192.0.2.50", "203.0.113.10", ETH1),
			  "reverse-path filter (rp_filter=1): the route back to 192.0.2.50 leaves "
			  "through eth0, not eth1");
	assert_int_equal(syn(f, "203.0.113.9", "203.0.113.10", ETH1)->verdict, PC_VERDICT_ACCEPT);
	/* The weak host model with rp_filter: eth0's address through eth1, from eth1's net. */
	assert_int_equal(syn(f, "203.0.113.9", "192.0.2.10", ETH1)->verdict, PC_VERDICT_ACCEPT);
	/* No route back (a blackhole): dropped by the filter. */
	assert_dropped_by(syn(f, "198.18.0.1", "203.0.113.10", ETH1), "no route back");
}

/* Loose: any route back will do; none (blackhole) drops. */
static void test_rp_filter_loose(void **state)
{
	struct nb_fx *f = *state;

	set_conf(link_of(f, ETH1), 2, 0, 0);
	assert_int_equal(syn(f, "192.0.2.50", "203.0.113.10", ETH1)->verdict, PC_VERDICT_ACCEPT);
	assert_dropped_by(syn(f, "198.18.0.1", "203.0.113.10", ETH1),
			  "reverse-path filter (rp_filter=2): no route back to 198.18.0.1");
	/* Without rp_filter a source without a route back passes the routing decision. */
	set_conf(link_of(f, ETH1), 0, 0, 0);
	assert_int_equal(syn(f, "198.18.0.1", "203.0.113.10", ETH1)->verdict, PC_VERDICT_ACCEPT);
}

/* The kernel uses max(all, device): all=1 with the device at 0 is strict; all=2 with the
 * device at 1 is loose (max 2). */
static void test_rp_filter_max_of_all_and_device(void **state)
{
	struct nb_fx *f = *state;

	set_conf(link_of(f, ETH1), 0, 0, 0);
	f->ni.inet_all.rp_filter = 1;
	assert_dropped_by(syn(f, "192.0.2.50", "203.0.113.10", ETH1), "rp_filter=1");
	set_conf(link_of(f, ETH1), 1, 0, 0);
	f->ni.inet_all.rp_filter = 2;
	assert_int_equal(syn(f, "192.0.2.50", "203.0.113.10", ETH1)->verdict, PC_VERDICT_ACCEPT);
	/* A device that did not come with its own values (hand-built) follows all. */
	link_of(f, ETH1)->has_inet_conf = false;
	f->ni.inet_all.rp_filter = 1;
	assert_dropped_by(syn(f, "192.0.2.50", "203.0.113.10", ETH1), "rp_filter=1");
}

/* One of our own addresses as the source: a martian unless accept_local. */
static void test_accept_local(void **state)
{
	struct nb_fx *f = *state;

	assert_dropped_by(syn(f, "203.0.113.10", "192.0.2.10", ETH0), "accept_local off");
	set_conf(link_of(f, ETH0), 0, 1, 0);
	assert_int_equal(syn(f, "203.0.113.10", "192.0.2.10", ETH0)->verdict, PC_VERDICT_ACCEPT);
	/* all OR device */
	set_conf(link_of(f, ETH0), 0, 0, 0);
	f->ni.inet_all.accept_local = 1;
	assert_int_equal(syn(f, "203.0.113.10", "192.0.2.10", ETH0)->verdict, PC_VERDICT_ACCEPT);
	/* With strict rp_filter too: the route back to 192.0.2.10 is local, via eth0. */
	set_conf(link_of(f, ETH0), 1, 1, 0);
	assert_int_equal(syn(f, "192.0.2.10", "192.0.2.10", ETH0)->verdict, PC_VERDICT_ACCEPT);
	assert_dropped_by(syn(f, "203.0.113.10", "192.0.2.10", ETH0), "rp_filter=1");
}

/* 127.0.0.0/8 from the network: a martian unless route_localnet (all OR device). */
static void test_route_localnet(void **state)
{
	struct nb_fx *f = *state;

	assert_dropped_by(syn(f, "192.0.2.50", "127.0.0.1", ETH0), "route_localnet off");
	set_conf(link_of(f, ETH0), 0, 0, 1);
	assert_int_equal(syn(f, "192.0.2.50", "127.0.0.1", ETH0)->verdict, PC_VERDICT_ACCEPT);
	assert_dropped_by(syn(f, "203.0.113.9", "127.0.0.1", ETH1), "route_localnet off");
	f->ni.inet_all.route_localnet = 1;
	assert_int_equal(syn(f, "203.0.113.9", "127.0.0.1", ETH1)->verdict, PC_VERDICT_ACCEPT);
}

/* Forwarding is the incoming device's own switch (IN_DEV_FORWARD), not ip_forward. */
static void test_forwarding_is_per_device(void **state)
{
	struct nb_fx *f = *state;

	f->ni.forwarding_v4 = true;
	link_of(f, ETH1)->has_inet_conf = true; /* ... with forwarding 0 */
	assert_dropped_by(syn(f, "203.0.113.9", "192.0.2.77", ETH1),
			  "forwarding is off on the incoming interface");
	link_of(f, ETH1)->inet.forwarding = 1;
	assert_int_equal(syn(f, "203.0.113.9", "192.0.2.77", ETH1)->verdict, PC_VERDICT_ACCEPT);
	/* rp_filter applies on the way through too. */
	link_of(f, ETH1)->inet.rp_filter = 1;
	assert_dropped_by(syn(f, "192.0.2.50", "192.0.2.77", ETH1), "rp_filter=1");
}

/* The sysctls unread: IPv4 routing decisions are unknown, never the defaults. */
static void test_unread_sysctls_are_unknown(void **state)
{
	struct nb_fx *f = *state;

	f->ni.inet_blind_spot = strdup("net.ipv4.conf.all.rp_filter could not be read");
	assert_non_null(f->ni.inet_blind_spot);
	assert_int_equal(syn(f, "203.0.113.9", "203.0.113.10", ETH1)->verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "rp_filter could not be read"));
}

/* Values the kernel dumped that the model does not know, and a device without IPv4. */
static void test_odd_and_missing_inet_conf(void **state)
{
	struct nb_fx *f = *state;
	struct pc_link *eth1 = link_of(f, ETH1);

	eth1->dumped = true;
	assert_dropped_by(syn(f, "203.0.113.9", "203.0.113.10", ETH1), "IPv4 is not enabled");
	eth1->has_inet_conf = true;
	assert_int_equal(syn(f, "203.0.113.9", "203.0.113.10", ETH1)->verdict, PC_VERDICT_ACCEPT);
	eth1->inet_odd = true;
	assert_int_equal(syn(f, "203.0.113.9", "203.0.113.10", ETH1)->verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "does not know"));
}

/* An interface enslaved to a VRF: its lookups go to the VRF's table. */
static void test_vrf_is_unknown(void **state)
{
	struct nb_fx *f = *state;

	nb_link(&f->ni, VRF, "vrf-blue", false);
	snprintf(link_of(f, VRF)->kind, IF_NAMESIZE, "vrf");
	link_of(f, ETH1)->master = VRF;
	assert_int_equal(syn(f, "203.0.113.9", "203.0.113.10", ETH1)->verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "VRF"));
}

/* inet filter input with policy drop and one rule "meta KEY == @val accept". */
static void meta_accept(struct nb_fx *f, uint32_t key, const void *val, uint32_t len)
{
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "filter");
	struct pc_nft_chain *c = nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	struct pc_nft_rule *r = nb_rule(c, "meta KEY VALUE accept");

	nb_meta(r, key, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, val, len);
	nb_accept(r);
}

/* meta iifgroup: the device's group (IFLA_GROUP), not 0. */
static void test_iifgroup(void **state)
{
	struct nb_fx *f = *state;
	uint32_t ten = 10, zero = 0;

	link_of(f, ETH1)->group = 10;
	meta_accept(f, NFT_META_IIFGROUP, &ten, 4);
	assert_int_equal(syn(f, "203.0.113.9", "203.0.113.10", ETH1)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(syn(f, "192.0.2.9", "192.0.2.10", ETH0)->verdict, PC_VERDICT_DROP);
	pc_nft_ruleset_clear(&f->rs);
	meta_accept(f, NFT_META_IIFGROUP, &zero, 4);
	assert_int_equal(syn(f, "192.0.2.9", "192.0.2.10", ETH0)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(syn(f, "203.0.113.9", "203.0.113.10", ETH1)->verdict, PC_VERDICT_DROP);
}

/* meta oifgroup on input: no output device, so the rule breaks (it never matches 0). */
static void test_oifgroup_without_device_breaks(void **state)
{
	struct nb_fx *f = *state;
	uint32_t zero = 0;

	meta_accept(f, NFT_META_OIFGROUP, &zero, 4);
	assert_int_equal(syn(f, "192.0.2.9", "192.0.2.10", ETH0)->verdict, PC_VERDICT_DROP);
}

/* meta iifkind: the kind from IFLA_INFO_KIND; a device without one breaks. */
static void test_iifkind(void **state)
{
	struct nb_fx *f = *state;
	char veth[IFNAMSIZ] = "veth";

	snprintf(link_of(f, ETH1)->kind, IF_NAMESIZE, "veth");
	meta_accept(f, NFT_META_IIFKIND, veth, IFNAMSIZ);
	assert_int_equal(syn(f, "203.0.113.9", "203.0.113.10", ETH1)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(syn(f, "192.0.2.9", "192.0.2.10", ETH0)->verdict, PC_VERDICT_DROP);
}

/* meta iiftype: the dump's ifi_type (a WireGuard device is ARPHRD_NONE, not Ethernet). */
static void test_iiftype(void **state)
{
	struct nb_fx *f = *state;
	uint16_t none = ARPHRD_NONE;

	link_of(f, ETH1)->type = ARPHRD_NONE;
	meta_accept(f, NFT_META_IIFTYPE, &none, 2);
	assert_int_equal(syn(f, "203.0.113.9", "203.0.113.10", ETH1)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(syn(f, "192.0.2.9", "192.0.2.10", ETH0)->verdict, PC_VERDICT_DROP);
}

/* The route back, as exposure counts clients. */
static void test_route_back(void **state)
{
	struct nb_fx *f = *state;
	struct pc_addr a;

	assert_int_equal(pc_addr_from_string("192.0.2.50", &a), 0);
	assert_int_equal(pc_route_back(&f->ni, &a, ETH0, false), PC_ROUTE_BACK_VIA);
	assert_int_equal(pc_route_back(&f->ni, &a, ETH1, false), PC_ROUTE_BACK_ELSEWHERE);
	assert_int_equal(pc_addr_from_string("198.18.0.1", &a), 0);
	assert_int_equal(pc_route_back(&f->ni, &a, ETH0, false), PC_ROUTE_BACK_ELSEWHERE);
	/* Link-local: the reply keeps to the incoming device, so only a route there leads
	 * back (the kernel's fe80::/64 on every IPv6 device), not one elsewhere, and nothing
	 * in fe80::/10 outside fe80::/64. */
	assert_int_equal(pc_addr_from_string("fe80::1", &a), 0);
	assert_int_equal(pc_route_back(&f->ni, &a, ETH1, false), PC_ROUTE_BACK_ELSEWHERE);
	nb_route(&f->ni, "fe80::/64", RT_TABLE_MAIN, RTN_UNICAST, ETH1, NULL, 256);
	assert_int_equal(pc_route_back(&f->ni, &a, ETH1, false), PC_ROUTE_BACK_VIA);
	assert_int_equal(pc_route_back(&f->ni, &a, ETH0, false), PC_ROUTE_BACK_ELSEWHERE);
	assert_int_equal(pc_addr_from_string("fe80:0:0:1::1", &a), 0);
	assert_int_equal(pc_route_back(&f->ni, &a, ETH1, false), PC_ROUTE_BACK_ELSEWHERE);
	assert_int_equal(pc_addr_from_string("fe80::1", &a), 0);
	/* A socket bound to the device answers through it: IPv4 whatever the routes say,
	 * IPv6 along a route on it. */
	assert_int_equal(pc_addr_from_string("192.0.2.50", &a), 0);
	assert_int_equal(pc_route_back(&f->ni, &a, ETH1, true), PC_ROUTE_BACK_VIA);
	assert_int_equal(pc_addr_from_string("2001:db8:5::1", &a), 0);
	assert_int_equal(pc_route_back(&f->ni, &a, ETH1, true), PC_ROUTE_BACK_ELSEWHERE);
	nb_route(&f->ni, "2001:db8:5::/64", RT_TABLE_MAIN, RTN_UNICAST, ETH1, NULL, 256);
	assert_int_equal(pc_route_back(&f->ni, &a, ETH1, true), PC_ROUTE_BACK_VIA);
	f->ni.routing_blind_spot = strdup("policy routing");
	assert_int_equal(pc_route_back(&f->ni, &a, ETH1, false), PC_ROUTE_BACK_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rp_filter_strict, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_rp_filter_loose, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_rp_filter_max_of_all_and_device, setup,
					    nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_accept_local, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_route_localnet, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_forwarding_is_per_device, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_unread_sysctls_are_unknown, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_vrf_is_unknown, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_odd_and_missing_inet_conf, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_iifgroup, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_oifgroup_without_device_breaks, setup,
					    nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_iifkind, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_iiftype, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_route_back, setup, nb_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
