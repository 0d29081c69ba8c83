/* SPDX-License-Identifier: MIT */
/*
 * Routes and policy routing rules, replayed from dumps (AF_UNSPEC) recorded in a scratch
 * network namespace: lo (1), veth eth1 (2) / eth0 (3); 192.0.2.1/24 and 2001:db8:1::1/64
 * on eth0, 198.51.100.1/24 on eth1; routes
 *   default via 192.0.2.254 metric 100; 203.0.113.0/25 via 192.0.2.9;
 *   blackhole 203.0.113.128/26; unreachable 203.0.113.192/26;
 *   198.51.100.128/25 via inet6 2001:db8:1::99 dev eth0 (RTA_VIA);
 *   192.0.2.128/25 nexthop via 198.51.100.10 nexthop via 198.51.100.11 (multipath);
 *   2001:db8:2::/48 via 2001:db8:1::9 metric 50; default via 2001:db8:1::fe metric 1024;
 *   203.0.113.0/24 and 2001:db8:3::/48 in table 100 (left out);
 * rules: the defaults (and those of multicast routing) plus "from 198.51.100.0/24 lookup 100
 * pref 1000" and "-6 fwmark 1 lookup 100 pref 1001".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nlreplay.h"
#include "portcheck/netif.h"
#include "portcheck/util.h"

static void load_routes(struct pc_route **ret, size_t *ret_n)
{
	struct pc_route *v = NULL;
	struct nl_replay rp;
	size_t n = 0, skipped = 0;

	assert_int_equal(nl_replay_load("rtnl_route.bin", &rp), 0);
	for (size_t i = 0; i < rp.n; i++) {
		struct pc_route rt;
		int r = pc_rtnl_parse_route(rp.msgs[i], &rt);

		assert_true(r == 0 || r == 1);
		if (r == 0) {
			skipped++;
			continue;
		}
		*(struct pc_route *)pc_array_grow(&v, &n, sizeof(rt)) = rt;
	}
	/* The two routes of table 100. */
	assert_int_equal(skipped, 2);
	nl_replay_free(&rp);
	*ret = v;
	*ret_n = n;
}

static const struct pc_route *find_route(const struct pc_route *v, size_t n, uint32_t table,
					 const char *dst, uint32_t oif)
{
	for (size_t i = 0; i < n; i++) {
		char buf[PC_PREFIXSTRLEN];

		if (v[i].table == table && strcmp(pc_prefix_to_string(&v[i].dst, buf), dst) == 0 &&
		    (oif == UINT32_MAX || v[i].oif == oif))
			return &v[i];
	}
	return NULL;
}

static void assert_gateway(const struct pc_route *rt, const char *gw)
{
	char buf[PC_ADDRSTRLEN];

	if (!gw) {
		assert_int_equal(rt->gateway.family, 0);
		return;
	}
	assert_string_equal(pc_addr_to_string(&rt->gateway, buf), gw);
}

static void test_routes(void **state)
{
	const struct pc_route *rt;
	struct pc_route *v;
	size_t n;

	load_routes(&v, &n);
	for (size_t i = 0; i < n; i++) {
		assert_true(v[i].table == RT_TABLE_MAIN || v[i].table == RT_TABLE_LOCAL);
		assert_true(v[i].family == AF_INET || v[i].family == AF_INET6);
		assert_int_equal(v[i].dst.addr.family, v[i].family);
	}

	rt = find_route(v, n, RT_TABLE_MAIN, "0.0.0.0/0", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->type, RTN_UNICAST);
	assert_int_equal(rt->oif, 3);
	assert_int_equal(rt->priority, 100);
	assert_gateway(rt, "192.0.2.254");

	rt = find_route(v, n, RT_TABLE_MAIN, "192.0.2.0/24", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->oif, 3);
	assert_gateway(rt, NULL);

	rt = find_route(v, n, RT_TABLE_MAIN, "203.0.113.0/25", UINT32_MAX);
	assert_non_null(rt);
	assert_gateway(rt, "192.0.2.9");

	rt = find_route(v, n, RT_TABLE_MAIN, "203.0.113.128/26", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->type, RTN_BLACKHOLE);
	assert_int_equal(rt->oif, 0);
	rt = find_route(v, n, RT_TABLE_MAIN, "203.0.113.192/26", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->type, RTN_UNREACHABLE);

	/* RTA_VIA: an IPv6 next hop for an IPv4 route. */
	rt = find_route(v, n, RT_TABLE_MAIN, "198.51.100.128/25", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->oif, 3);
	assert_int_equal(rt->gateway.family, AF_INET6);
	assert_gateway(rt, "2001:db8:1::99");

	/* Multipath: next hops in RTA_MULTIPATH, none at the top. */
	rt = find_route(v, n, RT_TABLE_MAIN, "192.0.2.128/25", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->oif, 0);
	assert_gateway(rt, NULL);

	rt = find_route(v, n, RT_TABLE_LOCAL, "192.0.2.1", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->type, RTN_LOCAL);
	assert_int_equal(rt->oif, 3);
	rt = find_route(v, n, RT_TABLE_LOCAL, "192.0.2.255", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->type, RTN_BROADCAST);
	rt = find_route(v, n, RT_TABLE_LOCAL, "127.0.0.0/8", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->type, RTN_LOCAL);
	assert_int_equal(rt->oif, 1);

	rt = find_route(v, n, RT_TABLE_MAIN, "::/0", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->priority, 1024);
	assert_gateway(rt, "2001:db8:1::fe");
	rt = find_route(v, n, RT_TABLE_MAIN, "2001:db8:2::/48", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->priority, 50);
	assert_gateway(rt, "2001:db8:1::9");
	rt = find_route(v, n, RT_TABLE_MAIN, "2001:db8:1::/64", 3);
	assert_non_null(rt);
	assert_int_equal(rt->priority, 256);
	assert_non_null(find_route(v, n, RT_TABLE_MAIN, "fe80::/64", 2));
	assert_non_null(find_route(v, n, RT_TABLE_MAIN, "fe80::/64", 3));
	rt = find_route(v, n, RT_TABLE_LOCAL, "2001:db8:1::1", UINT32_MAX);
	assert_non_null(rt);
	assert_int_equal(rt->type, RTN_LOCAL);
	rt = find_route(v, n, RT_TABLE_LOCAL, "ff00::/8", 3);
	assert_non_null(rt);
	assert_int_equal(rt->type, RTN_MULTICAST);

	assert_null(find_route(v, n, RT_TABLE_MAIN, "203.0.113.0/24", UINT32_MAX));
	assert_null(find_route(v, n, RT_TABLE_MAIN, "2001:db8:3::/48", UINT32_MAX));
	free(v);
}

static void test_rules(void **state)
{
	struct nl_replay rp;
	unsigned defaults[2] = {}, others[2] = {};

	assert_int_equal(nl_replay_load("rtnl_rule.bin", &rp), 0);
	for (size_t i = 0; i < rp.n; i++) {
		const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(rp.msgs[i]);
		int r = pc_rtnl_rule_is_default(rp.msgs[i]);

		assert_true(r == 0 || r == 1);
		/* Multicast routing (RTNL_FAMILY_IPMR, IP6MR) has rules of its own. */
		if (frh->family != AF_INET && frh->family != AF_INET6)
			continue;
		if (r)
			defaults[frh->family == AF_INET6]++;
		else
			others[frh->family == AF_INET6]++;
	}
	/* local, main, default for IPv4; local and main for IPv6. */
	assert_int_equal(defaults[0], 3);
	assert_int_equal(defaults[1], 2);
	assert_int_equal(others[0], 1);
	assert_int_equal(others[1], 1);
	nl_replay_free(&rp);
}

static struct nlmsghdr *build_route(char *buf, int family, uint8_t dst_len, const char *dst,
				    size_t dst_size, uint8_t table)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	uint8_t bytes[16] = {};

	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = dst_len;
	rtm->rtm_table = table;
	rtm->rtm_type = RTN_UNICAST;
	if (dst) {
		assert_int_equal(inet_pton(strchr(dst, ':') ? AF_INET6 : AF_INET, dst, bytes), 1);
		mnl_attr_put(nlh, RTA_DST, dst_size, bytes);
	}
	return nlh;
}

static void test_route_built(void **state)
{
	char buf[512] __attribute__((aligned(4))) = {};
	struct pc_route rt, sentinel;
	struct nlmsghdr *nlh;
	struct rtvia *via;
	char via_buf[sizeof(*via) + 16];
	char s[PC_PREFIXSTRLEN];

	nlh = build_route(buf, AF_INET, 24, "192.0.2.0", 4, RT_TABLE_MAIN);
	mnl_attr_put_u32(nlh, RTA_OIF, 7);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), 1);
	assert_string_equal(pc_prefix_to_string(&rt.dst, s), "192.0.2.0/24");
	assert_int_equal(rt.oif, 7);

	/* RTA_TABLE wins over rtm_table (which says RT_TABLE_COMPAT for ids above 255). */
	nlh = build_route(buf, AF_INET, 24, "192.0.2.0", 4, RT_TABLE_COMPAT);
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_LOCAL);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), 1);
	assert_int_equal(rt.table, RT_TABLE_LOCAL);
	nlh = build_route(buf, AF_INET, 24, "192.0.2.0", 4, RT_TABLE_MAIN);
	mnl_attr_put_u32(nlh, RTA_TABLE, 1000);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), 0);

	/* Cache clones are left out. */
	nlh = build_route(buf, AF_INET6, 128, "2001:db8::1", 16, RT_TABLE_MAIN);
	((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_flags |= RTM_F_CLONED;
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), 0);
	/* Other families too. */
	nlh = build_route(buf, AF_INET, 0, NULL, 0, RT_TABLE_MAIN);
	((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_family = AF_MPLS;
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), 0);

	/* A default route has no RTA_DST. */
	nlh = build_route(buf, AF_INET6, 0, NULL, 0, RT_TABLE_MAIN);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), 1);
	assert_string_equal(pc_prefix_to_string(&rt.dst, s), "::/0");

	nlh = build_route(buf, AF_INET, 24, "192.0.2.0", 4, RT_TABLE_MAIN);
	via = (struct rtvia *)via_buf;
	via->rtvia_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::9", via->rtvia_addr), 1);
	mnl_attr_put(nlh, RTA_VIA, sizeof(*via) + 16, via);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), 1);
	assert_int_equal(rt.gateway.family, AF_INET6);

	memset(&sentinel, 0xa5, sizeof(sentinel));
	rt = sentinel;
	/* A VIA whose address does not match its family. */
	nlh = build_route(buf, AF_INET, 24, "192.0.2.0", 4, RT_TABLE_MAIN);
	mnl_attr_put(nlh, RTA_VIA, sizeof(*via) + 4, via);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), -EBADMSG);
	assert_memory_equal(&rt, &sentinel, sizeof(rt));
	nlh = build_route(buf, AF_INET, 33, "192.0.2.0", 4, RT_TABLE_MAIN);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), -EBADMSG);
	nlh = build_route(buf, AF_INET, 24, "2001:db8::", 16, RT_TABLE_MAIN);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), -EBADMSG);
	nlh = build_route(buf, AF_INET, 24, NULL, 0, RT_TABLE_MAIN);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), -EBADMSG);
	nlh = build_route(buf, AF_INET, 24, "192.0.2.0", 4, RT_TABLE_MAIN);
	mnl_attr_put_u16(nlh, RTA_OIF, 7);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), -EBADMSG);
	nlh = build_route(buf, AF_INET, 24, "192.0.2.0", 4, RT_TABLE_MAIN);
	mnl_attr_put(nlh, RTA_GATEWAY, 16, via->rtvia_addr);
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), -EBADMSG);
	nlh = build_route(buf, AF_INET, 24, "192.0.2.0", 4, RT_TABLE_MAIN);
	nlh->nlmsg_type = RTM_NEWADDR;
	assert_int_equal(pc_rtnl_parse_route(nlh, &rt), -EBADMSG);
	assert_memory_equal(&rt, &sentinel, sizeof(rt));
}

static struct nlmsghdr *build_rule(char *buf, int family, uint32_t prio, uint8_t table)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	nlh->nlmsg_type = RTM_NEWRULE;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	frh->table = table;
	frh->action = FR_ACT_TO_TBL;
	if (prio)
		mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u8(nlh, FRA_PROTOCOL, RTPROT_KERNEL);
	return nlh;
}

static void test_rule_built(void **state)
{
	char buf[256] __attribute__((aligned(4))) = {};
	struct nlmsghdr *nlh;

	assert_int_equal(pc_rtnl_rule_is_default(build_rule(buf, AF_INET, 0, RT_TABLE_LOCAL)), 1);
	assert_int_equal(pc_rtnl_rule_is_default(build_rule(buf, AF_INET, 32766, RT_TABLE_MAIN)),
			 1);
	assert_int_equal(pc_rtnl_rule_is_default(build_rule(buf, AF_INET, 32767, RT_TABLE_DEFAULT)),
			 1);
	/* IPv6 has no default-table rule of its own. */
	assert_int_equal(
	    pc_rtnl_rule_is_default(build_rule(buf, AF_INET6, 32767, RT_TABLE_DEFAULT)), 0);
	/* VRF setups move the local lookup. */
	assert_int_equal(pc_rtnl_rule_is_default(build_rule(buf, AF_INET, 1000, RT_TABLE_LOCAL)),
			 0);
	nlh = build_rule(buf, AF_INET, 32766, RT_TABLE_MAIN);
	mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, UINT32_MAX);
	assert_int_equal(pc_rtnl_rule_is_default(nlh), 1);
	nlh = build_rule(buf, AF_INET, 32766, RT_TABLE_MAIN);
	mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
	assert_int_equal(pc_rtnl_rule_is_default(nlh), 0);
	nlh = build_rule(buf, AF_INET, 32766, RT_TABLE_MAIN);
	mnl_attr_put_strz(nlh, FRA_IIFNAME, "eth0");
	assert_int_equal(pc_rtnl_rule_is_default(nlh), 0);
	nlh = build_rule(buf, AF_INET, 0, RT_TABLE_LOCAL);
	((struct fib_rule_hdr *)mnl_nlmsg_get_payload(nlh))->flags = FIB_RULE_INVERT;
	assert_int_equal(pc_rtnl_rule_is_default(nlh), 0);
	nlh = build_rule(buf, AF_INET, 0, RT_TABLE_LOCAL);
	((struct fib_rule_hdr *)mnl_nlmsg_get_payload(nlh))->action = FR_ACT_BLACKHOLE;
	assert_int_equal(pc_rtnl_rule_is_default(nlh), 0);

	nlh = build_rule(buf, AF_INET, 0, RT_TABLE_LOCAL);
	mnl_attr_put_u16(nlh, FRA_TABLE, 1);
	assert_int_equal(pc_rtnl_rule_is_default(nlh), -EBADMSG);
	nlh = build_rule(buf, AF_INET, 0, RT_TABLE_LOCAL);
	nlh->nlmsg_type = RTM_NEWROUTE;
	assert_int_equal(pc_rtnl_rule_is_default(nlh), -EBADMSG);
	nlh = build_rule(buf, AF_INET, 0, RT_TABLE_LOCAL);
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(pc_rtnl_rule_is_default(nlh), -EBADMSG);
}

/* Every prefix and random corruptions of every recorded message: never a crash. */
static void test_truncated_and_corrupt(void **state)
{
	static const char *files[] = {"rtnl_route.bin", "rtnl_rule.bin"};
	uint32_t seed = 0x5eed1234;

	for (size_t f = 0; f < ELEMENTSOF(files); f++) {
		struct nl_replay rp;

		assert_int_equal(nl_replay_load(files[f], &rp), 0);
		for (size_t i = 0; i < rp.n; i++) {
			size_t full = rp.msgs[i]->nlmsg_len;

			for (size_t len = NLMSG_HDRLEN; len <= full; len++) {
				struct nlmsghdr *c = nl_copy(rp.msgs[i], len);
				struct pc_route rt;
				int r = f == 0 ? pc_rtnl_parse_route(c, &rt)
					       : pc_rtnl_rule_is_default(c);

				assert_true(r == 0 || r == 1 || r == -EBADMSG);
				if (len == full)
					assert_true(r >= 0);
				free(c);
			}
			for (int k = 0; k < 200; k++) {
				struct nlmsghdr *c = nl_copy(rp.msgs[i], full);
				struct pc_route rt;
				int r;

				for (int b = 0; b < 3; b++)
					((uint8_t *)c)[4 + nl_rand(&seed) % (full - 4)] =
					    (uint8_t)nl_rand(&seed);
				r = f == 0 ? pc_rtnl_parse_route(c, &rt)
					   : pc_rtnl_rule_is_default(c);
				assert_true(r == 0 || r == 1 || r == -EBADMSG);
				free(c);
			}
		}
		nl_replay_free(&rp);
	}
}

/* The real kernel, unprivileged: route and rule dumps need no capability. */
static void test_live(void **state)
{
	struct pc_netif ni;
	int r;

	r = pc_netif_read(&ni);
	if (r == -EPERM || r == -EACCES || r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT) {
		print_message("rtnetlink not available here (%s), skipping\n", strerror(-r));
		skip();
	}
	assert_int_equal(r, 0);
	for (size_t i = 0; i < ni.n_routes; i++) {
		assert_true(ni.routes[i].table == RT_TABLE_MAIN ||
			    ni.routes[i].table == RT_TABLE_LOCAL);
		assert_true(ni.routes[i].family == AF_INET || ni.routes[i].family == AF_INET6);
	}
	pc_netif_free(&ni);
	assert_null(ni.routes);
	assert_null(ni.routing_blind_spot);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_route_built),
	    cmocka_unit_test(test_rule_built),
	    cmocka_unit_test(test_truncated_and_corrupt),
	    cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
