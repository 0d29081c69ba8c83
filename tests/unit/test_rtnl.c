/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink parsing, replayed from dumps recorded in a scratch network namespace: lo (1),
 * veth pc1 (2, up) / pc0 (3, up), veth pc3 (4, down) / pc2 (5, down); addresses
 * 127.0.0.1/8 and ::1 on lo; 192.0.2.1/24, 198.51.100.1 peer 198.51.100.2/32,
 * 2001:db8::1/64 and 2001:db8:1::1 peer 2001:db8:1::2/128 on pc0; 203.0.113.1/24 on pc2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/sources/nlutil.h"
#include "nlreplay.h"
#include "portcheck/netif.h"
#include "portcheck/util.h"

static const struct {
	uint32_t ifindex;
	const char *name;
	bool up, loopback;
} exp_links[] = {
    {1, "lo", true, true},    {2, "pc1", true, false},	{3, "pc0", true, false},
    {4, "pc3", false, false}, {5, "pc2", false, false},
};

static const struct {
	uint32_t ifindex;
	const char *prefix;
} exp_addrs[] = {
    {1, "127.0.0.1/8"}, {3, "192.0.2.1/24"},  {3, "198.51.100.1"},   {5, "203.0.113.1/24"},
    {1, "::1"},		{3, "2001:db8:1::1"}, {3, "2001:db8::1/64"},
};

/* The recorded namespace as a struct pc_netif, through the parsers. */
static void load_netif(struct pc_netif *ni)
{
	struct nl_replay rp;

	*ni = (struct pc_netif){};
	assert_int_equal(nl_replay_load("rtnl_link.bin", &rp), 0);
	for (size_t i = 0; i < rp.n; i++) {
		struct pc_link *l = pc_array_grow(&ni->links, &ni->n_links, sizeof(*l));

		assert_non_null(l);
		assert_int_equal(pc_rtnl_parse_link(rp.msgs[i], l), 0);
	}
	nl_replay_free(&rp);
	assert_int_equal(nl_replay_load("rtnl_addr.bin", &rp), 0);
	for (size_t i = 0; i < rp.n; i++) {
		struct pc_ifaddr *a = pc_array_grow(&ni->addrs, &ni->n_addrs, sizeof(*a));

		assert_non_null(a);
		assert_int_equal(pc_rtnl_parse_addr(rp.msgs[i], a), 0);
	}
	nl_replay_free(&rp);
}

static void test_links(void **state)
{
	struct pc_netif ni;

	load_netif(&ni);
	assert_int_equal(ni.n_links, ELEMENTSOF(exp_links));
	for (size_t i = 0; i < ni.n_links; i++) {
		assert_int_equal(ni.links[i].ifindex, exp_links[i].ifindex);
		assert_string_equal(ni.links[i].name, exp_links[i].name);
		assert_int_equal(ni.links[i].up, exp_links[i].up);
		assert_int_equal(ni.links[i].loopback, exp_links[i].loopback);
	}
	pc_netif_free(&ni);
}

static void test_addrs(void **state)
{
	struct pc_netif ni;

	load_netif(&ni);
	assert_int_equal(ni.n_addrs, ELEMENTSOF(exp_addrs));
	for (size_t i = 0; i < ELEMENTSOF(exp_addrs); i++) {
		bool found = false;

		for (size_t j = 0; j < ni.n_addrs; j++) {
			char buf[PC_PREFIXSTRLEN];

			if (ni.addrs[j].ifindex == exp_addrs[i].ifindex &&
			    strcmp(pc_prefix_to_string(&ni.addrs[j].prefix, buf),
				   exp_addrs[i].prefix) == 0)
				found = true;
		}
		if (!found)
			fail_msg("missing %u %s", exp_addrs[i].ifindex, exp_addrs[i].prefix);
	}
	pc_netif_free(&ni);
}

/* Why IFA_LOCAL wins for both families: on a peer address IFA_ADDRESS is the peer. */
static void test_peer_attributes(void **state)
{
	struct nl_replay rp;
	size_t peers = 0;

	assert_int_equal(nl_replay_load("rtnl_addr.bin", &rp), 0);
	for (size_t i = 0; i < rp.n; i++) {
		const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(rp.msgs[i]);
		const struct nlattr *tb[IFA_MAX + 1];
		char local[PC_ADDRSTRLEN] = "", address[PC_ADDRSTRLEN] = "";

		assert_int_equal(pc_nl_parse_attrs(rp.msgs[i], sizeof(*ifa), tb, IFA_MAX), 0);
		assert_non_null(tb[IFA_ADDRESS]);
		inet_ntop(ifa->ifa_family, mnl_attr_get_payload(tb[IFA_ADDRESS]), address,
			  sizeof(address));
		if (tb[IFA_LOCAL])
			inet_ntop(ifa->ifa_family, mnl_attr_get_payload(tb[IFA_LOCAL]), local,
				  sizeof(local));
		/* IPv4 always carries IFA_LOCAL; IPv6 only with a peer. */
		if (ifa->ifa_family == AF_INET)
			assert_non_null(tb[IFA_LOCAL]);
		if (strcmp(address, "198.51.100.2") == 0) {
			assert_string_equal(local, "198.51.100.1");
			peers++;
		} else if (strcmp(address, "2001:db8:1::2") == 0) {
			assert_string_equal(local, "2001:db8:1::1");
			peers++;
		} else if (ifa->ifa_family == AF_INET6) {
			assert_null(tb[IFA_LOCAL]);
		} else {
			assert_string_equal(local, address);
		}
	}
	assert_int_equal(peers, 2);
	nl_replay_free(&rp);
}

static void test_lookups(void **state)
{
	struct pc_netif ni;
	struct pc_addr a;

	load_netif(&ni);
	assert_string_equal(pc_netif_link_by_index(&ni, 3)->name, "pc0");
	assert_string_equal(pc_netif_link_by_index(&ni, 1)->name, "lo");
	assert_null(pc_netif_link_by_index(&ni, 6));
	assert_null(pc_netif_link_by_index(&ni, 0));

	assert_true(pc_netif_has_family(&ni, 3, AF_INET));
	assert_true(pc_netif_has_family(&ni, 3, AF_INET6));
	assert_true(pc_netif_has_family(&ni, 5, AF_INET));
	assert_false(pc_netif_has_family(&ni, 5, AF_INET6));
	assert_false(pc_netif_has_family(&ni, 2, AF_INET));
	assert_false(pc_netif_has_family(&ni, 9, AF_INET));

	assert_int_equal(pc_addr_from_string("198.51.100.1", &a), 0);
	assert_true(pc_netif_has_addr(&ni, 3, &a));
	assert_false(pc_netif_has_addr(&ni, 5, &a));
	assert_int_equal(pc_addr_from_string("198.51.100.2", &a), 0); /* the peer */
	assert_false(pc_netif_has_addr(&ni, 3, &a));
	assert_int_equal(pc_addr_from_string("2001:db8::1", &a), 0);
	assert_true(pc_netif_has_addr(&ni, 3, &a));
	assert_int_equal(pc_addr_from_string("2001:db8:1::2", &a), 0);
	assert_false(pc_netif_has_addr(&ni, 3, &a));
	assert_int_equal(pc_addr_from_string("::1", &a), 0);
	assert_true(pc_netif_has_addr(&ni, 1, &a));

	pc_netif_free(&ni);
	assert_null(pc_netif_link_by_index(&ni, 1));
	assert_false(pc_netif_has_family(&ni, 1, AF_INET));
	pc_netif_free(&ni);
	pc_netif_free(NULL);
}

static struct nlmsghdr *build_link(char *buf, int ifindex, const void *name, size_t name_len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	if (name)
		mnl_attr_put(nlh, IFLA_IFNAME, name_len, name);
	return nlh;
}

static void test_link_malformed(void **state)
{
	char buf[256] __attribute__((aligned(4))) = {};
	struct pc_link l, sentinel;
	struct nlmsghdr *nlh;

	assert_int_equal(pc_rtnl_parse_link(build_link(buf, 7, "eth0", 5), &l), 0);
	assert_int_equal(l.ifindex, 7);
	assert_string_equal(l.name, "eth0");
	assert_true(l.up);
	assert_false(l.loopback);
	/* 15 characters is the longest name. */
	assert_int_equal(pc_rtnl_parse_link(build_link(buf, 7, "abcdefghijklmno", 16), &l), 0);
	assert_string_equal(l.name, "abcdefghijklmno");

	/* Any byte but '/', ':', white space and NUL is allowed: the name for reports is
	 * sanitised, the kernel's bytes stay for nftables' meta iifname. */
	assert_int_equal(pc_rtnl_parse_link(build_link(buf, 7, "e\033[1m\xff\xe4\xb8\\", 10), &l),
			 0);
	assert_string_equal(l.name, "e\\x1b[1m\\xff\\xe4\\xb8\\\\");
	assert_string_equal(l.kname, "e\033[1m\xff\xe4\xb8\\");

	memset(&sentinel, 0xa5, sizeof(sentinel));
	l = sentinel;
	assert_int_equal(pc_rtnl_parse_link(build_link(buf, 7, "abcdefghijklmnop", 17), &l),
			 -EBADMSG);
	assert_memory_equal(&l, &sentinel, sizeof(l));
	assert_int_equal(pc_rtnl_parse_link(build_link(buf, 7, "eth0", 4), &l), -EBADMSG);
	assert_int_equal(pc_rtnl_parse_link(build_link(buf, 7, "", 1), &l), -EBADMSG);
	assert_int_equal(pc_rtnl_parse_link(build_link(buf, 7, NULL, 0), &l), -EBADMSG);
	assert_int_equal(pc_rtnl_parse_link(build_link(buf, 0, "eth0", 5), &l), -EBADMSG);
	assert_int_equal(pc_rtnl_parse_link(build_link(buf, -3, "eth0", 5), &l), -EBADMSG);

	nlh = build_link(buf, 7, "eth0", 5);
	nlh->nlmsg_type = RTM_NEWADDR;
	assert_int_equal(pc_rtnl_parse_link(nlh, &l), -EBADMSG);
	nlh = build_link(buf, 7, "eth0", 5);
	nlh->nlmsg_len = NLMSG_HDRLEN + sizeof(struct ifinfomsg) - 1;
	assert_int_equal(pc_rtnl_parse_link(nlh, &l), -EBADMSG);
	/* The name attribute claims more bytes than the message has. */
	nlh = build_link(buf, 7, "eth0", 5);
	nlh->nlmsg_len -= 4;
	assert_int_equal(pc_rtnl_parse_link(nlh, &l), -EBADMSG);
	nlh = build_link(buf, 7, "eth0", 5);
	((struct nlattr *)((char *)nlh + NLMSG_HDRLEN + sizeof(struct ifinfomsg)))->nla_len = 2;
	assert_int_equal(pc_rtnl_parse_link(nlh, &l), -EBADMSG);
}

static struct nlmsghdr *build_addr(char *buf, int family, uint8_t plen, uint32_t ifindex, int type,
				   const char *addr, size_t len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	uint8_t bytes[16] = {};

	nlh->nlmsg_type = RTM_NEWADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_index = ifindex;
	if (addr) {
		assert_int_equal(inet_pton(strchr(addr, ':') ? AF_INET6 : AF_INET, addr, bytes), 1);
		mnl_attr_put(nlh, type, len, bytes);
	}
	return nlh;
}

static void test_addr_malformed(void **state)
{
	char buf[256] __attribute__((aligned(4))) = {};
	struct pc_ifaddr a, sentinel;
	char s[PC_PREFIXSTRLEN];
	struct nlmsghdr *nlh;

	assert_int_equal(
	    pc_rtnl_parse_addr(build_addr(buf, AF_INET, 24, 2, IFA_ADDRESS, "192.0.2.9", 4), &a),
	    0);
	assert_string_equal(pc_prefix_to_string(&a.prefix, s), "192.0.2.9/24");
	assert_int_equal(a.ifindex, 2);

	memset(&sentinel, 0xa5, sizeof(sentinel));
	a = sentinel;
	assert_int_equal(
	    pc_rtnl_parse_addr(build_addr(buf, AF_INET, 33, 2, IFA_LOCAL, "192.0.2.9", 4), &a),
	    -EBADMSG);
	assert_memory_equal(&a, &sentinel, sizeof(a));
	assert_int_equal(
	    pc_rtnl_parse_addr(build_addr(buf, AF_INET, 24, 2, IFA_LOCAL, "192.0.2.9", 16), &a),
	    -EBADMSG);
	assert_int_equal(
	    pc_rtnl_parse_addr(build_addr(buf, AF_INET6, 64, 2, IFA_ADDRESS, "2001:db8::1", 4), &a),
	    -EBADMSG);
	assert_int_equal(pc_rtnl_parse_addr(
			     build_addr(buf, AF_INET6, 129, 2, IFA_ADDRESS, "2001:db8::1", 16), &a),
			 -EBADMSG);
	assert_int_equal(
	    pc_rtnl_parse_addr(build_addr(buf, AF_PACKET, 0, 2, IFA_ADDRESS, "192.0.2.9", 4), &a),
	    -EBADMSG);
	assert_int_equal(
	    pc_rtnl_parse_addr(build_addr(buf, AF_INET, 24, 0, IFA_LOCAL, "192.0.2.9", 4), &a),
	    -EBADMSG);
	assert_int_equal(pc_rtnl_parse_addr(build_addr(buf, AF_INET, 24, 2, 0, NULL, 0), &a),
			 -EBADMSG);
	/* Only an attribute the parser does not use. */
	assert_int_equal(pc_rtnl_parse_addr(
			     build_addr(buf, AF_INET, 24, 2, IFA_BROADCAST, "192.0.2.255", 4), &a),
			 -EBADMSG);

	nlh = build_addr(buf, AF_INET, 24, 2, IFA_LOCAL, "192.0.2.9", 4);
	nlh->nlmsg_type = RTM_NEWLINK;
	assert_int_equal(pc_rtnl_parse_addr(nlh, &a), -EBADMSG);
	nlh = build_addr(buf, AF_INET, 24, 2, IFA_LOCAL, "192.0.2.9", 4);
	nlh->nlmsg_len = NLMSG_HDRLEN + 4;
	assert_int_equal(pc_rtnl_parse_addr(nlh, &a), -EBADMSG);
	nlh = build_addr(buf, AF_INET, 24, 2, IFA_LOCAL, "192.0.2.9", 4);
	((struct nlattr *)((char *)nlh + NLMSG_HDRLEN + sizeof(struct ifaddrmsg)))->nla_len = 64;
	assert_int_equal(pc_rtnl_parse_addr(nlh, &a), -EBADMSG);
}

/* Every prefix and random corruptions of every recorded message: never a crash. */
static void test_truncated_and_corrupt(void **state)
{
	static const char *files[] = {"rtnl_link.bin", "rtnl_addr.bin"};
	uint32_t seed = 0xc0ffee11;

	for (size_t f = 0; f < ELEMENTSOF(files); f++) {
		struct nl_replay rp;

		assert_int_equal(nl_replay_load(files[f], &rp), 0);
		for (size_t i = 0; i < rp.n; i++) {
			size_t full = rp.msgs[i]->nlmsg_len;

			for (size_t len = NLMSG_HDRLEN; len <= full; len++) {
				struct nlmsghdr *c = nl_copy(rp.msgs[i], len);
				struct pc_link l;
				struct pc_ifaddr a;
				int r =
				    f == 0 ? pc_rtnl_parse_link(c, &l) : pc_rtnl_parse_addr(c, &a);

				assert_true(r == 0 || r == -EBADMSG);
				if (len == full)
					assert_int_equal(r, 0);
				free(c);
			}
			for (int k = 0; k < 300; k++) {
				struct nlmsghdr *c = nl_copy(rp.msgs[i], full);
				struct pc_link l;
				struct pc_ifaddr a;
				int r;

				for (int b = 0; b < 3; b++) {
					size_t off = 4 + nl_rand(&seed) % (full - 4);

					((uint8_t *)c)[off] = (uint8_t)nl_rand(&seed);
				}
				r = f == 0 ? pc_rtnl_parse_link(c, &l) : pc_rtnl_parse_addr(c, &a);
				assert_true(r == 0 || r == -EBADMSG);
				if (r == 0 && f == 0)
					assert_true(strlen(l.name) < IF_NAMESIZE);
				free(c);
			}
		}
		nl_replay_free(&rp);
	}
}

/* The real kernel, unprivileged: rtnetlink dumps need no capability. */
static void test_live(void **state)
{
	struct pc_netif ni;
	const struct pc_link *lo = NULL;
	int r;

	r = pc_netif_read(&ni);
	if (r == -EPERM || r == -EACCES || r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT) {
		print_message("rtnetlink not available here (%s), skipping\n", strerror(-r));
		skip();
	}
	assert_int_equal(r, 0);
	for (size_t i = 0; i < ni.n_links; i++) {
		assert_non_null(pc_netif_link_by_index(&ni, ni.links[i].ifindex));
		if (ni.links[i].loopback)
			lo = &ni.links[i];
	}
	for (size_t i = 0; i < ni.n_addrs; i++)
		assert_true(ni.addrs[i].prefix.addr.family == AF_INET ||
			    ni.addrs[i].prefix.addr.family == AF_INET6);
	/* Every network namespace has a loopback device. */
	assert_non_null(lo);
	if (lo->up && pc_netif_has_family(&ni, lo->ifindex, AF_INET)) {
		struct pc_addr a;

		assert_int_equal(pc_addr_from_string("127.0.0.1", &a), 0);
		assert_true(pc_netif_has_addr(&ni, lo->ifindex, &a));
	}
	pc_netif_free(&ni);
}

/* The host model's link attributes, from tests/unit/data/record-rtnl-hostmodel.sh's dump:
 * groups, kinds, the master, the device's IPv4 sysctls (IFLA_INET_CONF) and ifi_type. */
static void test_hostmodel_attributes(void **state)
{
	const struct pc_link *hm0 = NULL, *hm1 = NULL, *blue = NULL, *lo = NULL;
	struct pc_link links[8];
	struct nl_replay rp;
	size_t n = 0;

	(void)state;
	assert_int_equal(nl_replay_load("rtnl_link_hostmodel.bin", &rp), 0);
	assert_true(rp.n <= ELEMENTSOF(links));
	for (size_t i = 0; i < rp.n; i++) {
		assert_int_equal(pc_rtnl_parse_link(rp.msgs[i], &links[n]), 0);
		n++;
	}
	nl_replay_free(&rp);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(links[i].kname, "hm0") == 0)
			hm0 = &links[i];
		else if (strcmp(links[i].kname, "hm1") == 0)
			hm1 = &links[i];
		else if (strcmp(links[i].kname, "blue") == 0)
			blue = &links[i];
		else if (strcmp(links[i].kname, "lo") == 0)
			lo = &links[i];
	}
	assert_non_null(hm0);
	assert_non_null(hm1);
	assert_non_null(blue);
	assert_non_null(lo);

	assert_int_equal(hm0->group, 10);
	assert_int_equal(hm1->group, 0);
	assert_string_equal(hm0->kind, "veth");
	assert_string_equal(blue->kind, "bridge");
	assert_string_equal(lo->kind, ""); /* no rtnl_link_ops: meta iifkind breaks */
	assert_int_equal(hm1->master, blue->ifindex);
	assert_int_equal(hm0->master, 0);
	assert_int_equal(lo->type, 772); /* ARPHRD_LOOPBACK */
	assert_int_equal(hm0->type, 1);	 /* ARPHRD_ETHER */

	assert_true(hm0->has_inet_conf);
	assert_int_equal(hm0->inet.rp_filter, 1);
	assert_int_equal(hm0->inet.accept_local, 1);
	assert_int_equal(hm0->inet.route_localnet, 0);
	assert_int_equal(hm1->inet.rp_filter, 2);
	assert_int_equal(hm1->inet.route_localnet, 1);
	assert_int_equal(hm1->inet.accept_local, 0);
	assert_int_equal(hm1->inet.forwarding, 0);
}

/* IFLA_INET_CONF shorter than the values the model reads: refused, never read past. */
static void test_inet_conf_truncated(void **state)
{
	struct nl_replay rp;
	struct pc_link l;
	uint8_t buf[8192];
	struct nlmsghdr *nlh;
	struct nlattr *a;
	size_t len, off;
	bool cut = false;

	(void)state;
	assert_int_equal(nl_replay_load("rtnl_link_hostmodel.bin", &rp), 0);
	len = rp.msgs[1]->nlmsg_len;
	assert_true(len <= sizeof(buf));
	memcpy(buf, rp.msgs[1], len);
	nl_replay_free(&rp);
	nlh = (struct nlmsghdr *)buf;
	/* Find IFLA_AF_SPEC / AF_INET / IFLA_INET_CONF and shrink it to 8 bytes of values. */
	off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifinfomsg));
	while (off + sizeof(*a) <= len && !cut) {
		a = (struct nlattr *)(buf + off);
		if ((a->nla_type & NLA_TYPE_MASK) == IFLA_AF_SPEC) {
			size_t o2 = off + NLA_HDRLEN;
			while (o2 + sizeof(*a) <= off + a->nla_len && !cut) {
				struct nlattr *af = (struct nlattr *)(buf + o2);
				if ((af->nla_type & NLA_TYPE_MASK) == AF_INET) {
					struct nlattr *conf =
					    (struct nlattr *)(buf + o2 + NLA_HDRLEN);
					struct nlattr *pad;

					assert_int_equal(conf->nla_type & NLA_TYPE_MASK,
							 IFLA_INET_CONF);
					assert_int_equal(af->nla_len, NLA_HDRLEN + conf->nla_len);
					conf->nla_len = NLA_HDRLEN + 8;
					/* The rest of the nest becomes an attribute of an unused
					 * type, so the nest itself stays well-formed. */
					pad = (struct nlattr *)((uint8_t *)conf + conf->nla_len);
					pad->nla_type = 0;
					pad->nla_len = af->nla_len - NLA_HDRLEN - conf->nla_len;
					cut = true;
				}
				o2 += NLA_ALIGN(af->nla_len);
			}
		}
		off += NLA_ALIGN(a->nla_len);
	}
	assert_true(cut);
	assert_int_equal(pc_rtnl_parse_link(nlh, &l), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_links),
	    cmocka_unit_test(test_addrs),
	    cmocka_unit_test(test_peer_attributes),
	    cmocka_unit_test(test_lookups),
	    cmocka_unit_test(test_link_malformed),
	    cmocka_unit_test(test_addr_malformed),
	    cmocka_unit_test(test_truncated_and_corrupt),
	    cmocka_unit_test(test_live),
	    cmocka_unit_test(test_hostmodel_attributes),
	    cmocka_unit_test(test_inet_conf_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
