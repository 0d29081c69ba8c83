/* SPDX-License-Identifier: MIT */
/*
 * Destination port classes (portclass.h) of small hand-built rulesets, against classes
 * computed by hand: every way the ruleset may compare the destination port (cmp ==, !=,
 * <, <=, >, >= on both bytes or the high byte, ranges, hash and interval sets, verdict
 * maps, `ct original proto-dst`, `ct reply proto-src`, xtables' tcp and multiport) cuts
 * exactly where its outcome changes; the source port cuts nothing; a rule nobody reaches
 * still cuts (the analysis is static: finer is fine, coarser never). Every use of the port
 * that is not modelled (a mask, a concatenated set key, DNAT or redirect that keep the
 * port, a hash, a payload write, an expression the snapshot does not know) makes every
 * port its own class, with a reason.
 * Why: the analysis evaluates one port of a class and gives its result to the others; a
 * class too coarse reports a wrong verdict for ports nobody evaluated. The property test
 * (test_portclass_prop.c) checks the same against the engine on random rulesets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nftbuild.h"
#include "portcheck/portclass.h"

#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_tcpudp.h>

static int setup(void **state)
{
	struct pc_nft_ruleset *rs = calloc(1, sizeof(*rs));

	*state = rs;
	return rs ? 0 : -1;
}

static int teardown(void **state)
{
	pc_nft_ruleset_clear(*state);
	free(*state);
	return 0;
}

/* The table (inet filter, or @family's on first use) and a new rule of its input chain. */
static struct pc_nft_table *table_of(struct pc_nft_ruleset *rs, uint32_t family)
{
	if (!rs->n_tables) {
		struct pc_nft_table *t = nb_table(rs, family, "filter");

		nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	}
	return &rs->tables[0];
}

static struct pc_nft_rule *rule(struct pc_nft_ruleset *rs, const char *text)
{
	return nb_rule(&table_of(rs, NFPROTO_INET)->chains[0], text);
}

/* tcp dport @op @port accept */
static void dport_cmp(struct pc_nft_ruleset *rs, uint32_t op, uint16_t port)
{
	struct pc_nft_rule *r = rule(rs, "tcp dport OP PORT accept");

	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_cmp_be16(r, op, NFT_REG_1, port);
	nb_accept(r);
}

/* The classes of @rs: a class starts at each of @cuts (never coarser), and every class
 * starts at 0 or within @slack of one of them. The scan cuts on both sides of a compared
 * value (v and v + 1, whatever the operator; the blocks of 256 around a high byte), so
 * its classes may be finer than the fewest by that much, not more. */
static void expect_classes_near(const struct pc_nft_ruleset *rs, const uint32_t *cuts, size_t n,
				uint32_t slack)
{
	struct pc_port_classes c = {0};

	assert_int_equal(pc_port_classes_of(rs, &c), 0);
	if (c.distinct)
		fail_msg("every port distinct: %s", c.why);
	assert_non_null(c.start);
	assert_int_equal(c.start[0], 0);
	for (size_t k = 0; k < n; k++)
		if (c.start[cuts[k]] != cuts[k])
			fail_msg("port %u is in the class of %u: no cut at %u", cuts[k],
				 c.start[cuts[k]], cuts[k]);
	for (uint32_t p = 1; p < 65536; p++) {
		bool near = false;

		assert_int_equal(pc_port_class(&c, (uint16_t)p), c.start[p]);
		assert_true(c.start[p] == c.start[p - 1] || c.start[p] == p);
		if (c.start[p] != p)
			continue;
		for (size_t k = 0; k < n && !near; k++)
			near = p + slack >= cuts[k] && p <= cuts[k] + slack;
		if (!near)
			fail_msg("a class starts at %u: no cut expected within %u of it", p, slack);
	}
	pc_port_classes_clear(&c);
	pc_port_classes_clear(&c); /* twice is fine */
}

static void expect_classes(const struct pc_nft_ruleset *rs, const uint32_t *cuts, size_t n)
{
	expect_classes_near(rs, cuts, n, 1);
}

#define EXPECT(rs, ...)                                                                            \
	do {                                                                                       \
		static const uint32_t cuts_[] = {__VA_ARGS__};                                     \
		expect_classes(rs, cuts_, sizeof(cuts_) / sizeof(cuts_[0]));                       \
	} while (0)

/* Every port its own class, and a reason. */
static void expect_distinct(const struct pc_nft_ruleset *rs)
{
	struct pc_port_classes c = {0};

	assert_int_equal(pc_port_classes_of(rs, &c), 0);
	assert_true(c.distinct);
	assert_true(c.why[0] != 0);
	assert_non_null(memchr(c.why, 0, sizeof(c.why)));
	assert_null(c.start);
	for (uint32_t p = 0; p < 65536; p += 4099)
		assert_int_equal(pc_port_class(&c, (uint16_t)p), p);
	pc_port_classes_clear(&c);
}

/* --- what cuts -------------------------------------------------------------------------- */

static void test_empty(void **state)
{
	struct pc_nft_ruleset *rs = *state;

	expect_classes(rs, NULL, 0);
	/* A table and a chain with a policy: still nothing reads the port. */
	table_of(rs, NFPROTO_INET);
	expect_classes(rs, NULL, 0);
}

static void test_cmp_eq(void **state)
{
	dport_cmp(*state, NFT_CMP_EQ, 22);
	EXPECT(*state, 22, 23);
}

static void test_cmp_neq(void **state)
{
	dport_cmp(*state, NFT_CMP_NEQ, 22);
	EXPECT(*state, 22, 23);
}

static void test_cmp_lt(void **state)
{
	dport_cmp(*state, NFT_CMP_LT, 1024);
	EXPECT(*state, 1024);
}

static void test_cmp_gte(void **state)
{
	dport_cmp(*state, NFT_CMP_GTE, 1024);
	EXPECT(*state, 1024);
}

static void test_cmp_lte_gt(void **state)
{
	dport_cmp(*state, NFT_CMP_LTE, 1024);
	dport_cmp(*state, NFT_CMP_GT, 2048);
	EXPECT(*state, 1025, 2049);
}

/* The edges: == 0, == 65535, < 0 (never), >= 0 (always), > 65535 (never). */
static void test_cmp_edges(void **state)
{
	dport_cmp(*state, NFT_CMP_EQ, 0);
	dport_cmp(*state, NFT_CMP_EQ, 65535);
	dport_cmp(*state, NFT_CMP_LT, 0);
	dport_cmp(*state, NFT_CMP_GTE, 0);
	dport_cmp(*state, NFT_CMP_GT, 65535);
	EXPECT(*state, 1, 65535);
}

/* A one-byte compare after the two-byte load reads the high byte: 5632-5887 (0x16xx). */
static void test_cmp_high_byte(void **state)
{
	struct pc_nft_rule *r = rule(*state, "tcp dport[high byte] == 0x16");

	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_cmp_u8(r, NFT_CMP_EQ, NFT_REG_1, 0x16);
	nb_accept(r);
	r = rule(*state, "tcp dport[high byte] < 0x02");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_05);
	nb_cmp_u8(r, NFT_CMP_LT, NFT_REG32_05, 0x02);
	nb_drop(r);
	{
		static const uint32_t cuts[] = {0x200, 0x1600, 0x1700};

		expect_classes_near(*state, cuts, 3, 256);
	}
}

static void test_range(void **state)
{
	struct pc_nft_rule *r = rule(*state, "tcp dport 8000-8010 accept");
	uint16_t lo = htons(8000), hi = htons(8010);

	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_range(r, NFT_RANGE_EQ, NFT_REG_1, &lo, &hi, 2);
	nb_accept(r);
	EXPECT(*state, 8000, 8011);
	r = rule(*state, "udp dport != 100-65535 drop");
	lo = htons(100), hi = htons(65535);
	nb_l4proto(r, IPPROTO_UDP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_10);
	nb_range(r, NFT_RANGE_NEQ, NFT_REG32_10, &lo, &hi, 2);
	nb_drop(r);
	EXPECT(*state, 100, 8000, 8011);
}

static void test_set(void **state)
{
	struct pc_nft_ruleset *rs = *state;
	struct pc_nft_rule *r = rule(rs, "tcp dport { 80, 443 } accept");
	struct pc_nft_set *s = nb_set(&rs->tables[0], "__set0", NFT_SET_ANONYMOUS, 2);
	uint16_t k[] = {htons(443), htons(80)};

	nb_elem(s, &k[0], 2, 0);
	nb_elem(s, &k[1], 2, 0);
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "__set0", NFT_REG_1, 0, 0);
	nb_accept(r);
	EXPECT(rs, 80, 81, 443, 444);
}

/* tcp dport != { 1000-1999, 3000-65535 } drop: rbtree elements (start, end + 1 flagged,
 * the last one open-ended), inverted. */
static void test_interval_set(void **state)
{
	struct pc_nft_ruleset *rs = *state;
	struct pc_nft_rule *r = rule(rs, "tcp dport != { 1000-1999, 3000-65535 } drop");
	struct pc_nft_set *s = nb_set(&rs->tables[0], "__set0", NFT_SET_INTERVAL, 2);
	uint16_t k[] = {htons(1000), htons(2000), htons(3000)};

	nb_elem(s, &k[0], 2, 0);
	nb_elem(s, &k[1], 2, NFT_SET_ELEM_INTERVAL_END);
	nb_elem(s, &k[2], 2, 0);
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "__set0", NFT_REG_1, 0, NFT_LOOKUP_F_INV);
	nb_drop(r);
	EXPECT(rs, 1000, 2000, 3000);
}

/* tcp dport vmap { 22 : accept, 80-89 : jump sub, * : drop } */
static void test_vmap(void **state)
{
	struct pc_nft_ruleset *rs = *state;
	struct pc_nft_rule *r = rule(rs, "tcp dport vmap { 22 : accept, 80-89 : drop }");
	struct pc_nft_set *s = nb_set(&rs->tables[0], "__map0", NFT_SET_MAP | NFT_SET_INTERVAL, 2);
	uint16_t k[] = {htons(22), htons(23), htons(80), htons(90)};

	s->data_type = NFT_DATA_VERDICT;
	nb_elem_verdict(nb_elem(s, &k[0], 2, 0), NF_ACCEPT, NULL);
	nb_elem(s, &k[1], 2, NFT_SET_ELEM_INTERVAL_END);
	nb_elem_verdict(nb_elem(s, &k[2], 2, 0), NFT_JUMP, "sub");
	nb_elem(s, &k[3], 2, NFT_SET_ELEM_INTERVAL_END);
	nb_elem_verdict(nb_elem_catchall(s), NF_DROP, NULL);
	nb_chain(&rs->tables[0], "sub");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "__map0", NFT_REG_1, NFT_REG_VERDICT, 0);
	EXPECT(rs, 22, 23, 80, 90);
}

/* -p tcp -m tcp --dport 22:25 -j ACCEPT; -p udp -m udp ! --dport 53 -j DROP (the source
 * port ranges of both are everything, and cut nothing) */
static void test_xt_tcp_udp(void **state)
{
	struct pc_nft_ruleset *rs = *state;
	struct pc_nft_rule *r;
	struct xt_tcp tcp = {.spts = {0, 65535}, .dpts = {22, 25}};
	struct xt_udp udp = {.spts = {0, 65535}, .dpts = {53, 53}, .invflags = XT_UDP_INV_DSTPT};

	table_of(rs, NFPROTO_IPV4);
	r = rule(rs, "-p tcp -m tcp --dport 22:25 -j ACCEPT");
	nb_l4proto(r, IPPROTO_TCP);
	nb_xt(r, false, "tcp", 0, &tcp, sizeof(tcp));
	nb_accept(r);
	EXPECT(rs, 22, 26);
	r = rule(rs, "-p udp -m udp ! --dport 53 -j DROP");
	nb_l4proto(r, IPPROTO_UDP);
	nb_xt(r, false, "udp", 0, &udp, sizeof(udp));
	nb_drop(r);
	EXPECT(rs, 22, 26, 53, 54);
}

/* -p tcp -m multiport --dports 22,80:90 -j ACCEPT; -p tcp -m multiport --ports 443 -j DROP */
static void test_xt_multiport(void **state)
{
	struct pc_nft_ruleset *rs = *state;
	struct pc_nft_rule *r;
	struct xt_multiport_v1 mp = {.flags = XT_MULTIPORT_DESTINATION, .count = 3};

	mp.ports[0] = 22, mp.ports[1] = 80, mp.ports[2] = 90, mp.pflags[1] = 1;
	table_of(rs, NFPROTO_IPV6);
	r = rule(rs, "-p tcp -m multiport --dports 22,80:90 -j ACCEPT");
	nb_l4proto(r, IPPROTO_TCP);
	nb_xt(r, false, "multiport", 1, &mp, sizeof(mp));
	nb_accept(r);
	EXPECT(rs, 22, 23, 80, 91);
	memset(&mp, 0, sizeof(mp));
	mp.flags = XT_MULTIPORT_EITHER, mp.count = 1, mp.ports[0] = 443;
	r = rule(rs, "-p tcp -m multiport --ports 443 -j DROP");
	nb_l4proto(r, IPPROTO_TCP);
	nb_xt(r, false, "multiport", 1, &mp, sizeof(mp));
	nb_drop(r);
	EXPECT(rs, 22, 23, 80, 91, 443, 444);
}

/* ct original proto-dst 22 accept; ct reply proto-src 8080 drop */
static void test_ct_proto_dst(void **state)
{
	struct pc_nft_rule *r = rule(*state, "ct original proto-dst 22 accept");

	nb_ct(r, NFT_CT_PROTO_DST, NFT_REG_1, IP_CT_DIR_ORIGINAL);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 22);
	nb_accept(r);
	EXPECT(*state, 22, 23);
	r = rule(*state, "ct reply proto-src 8080 drop");
	nb_ct(r, NFT_CT_PROTO_SRC, NFT_REG32_03, IP_CT_DIR_REPLY);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG32_03, 8080);
	nb_drop(r);
	EXPECT(*state, 22, 23, 8080, 8081);
}

/* The source port, ct original proto-src and a register the port was loaded into but that
 * was loaded over before the compare: nothing reads the destination port. */
static void test_sport_no_cut(void **state)
{
	struct pc_nft_rule *r = rule(*state, "tcp sport 22 accept");

	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 22);
	nb_accept(r);
	r = rule(*state, "ct original proto-src < 1024 drop");
	nb_ct(r, NFT_CT_PROTO_SRC, NFT_REG_1, IP_CT_DIR_ORIGINAL);
	nb_cmp_be16(r, NFT_CMP_LT, NFT_REG_1, 1024);
	nb_drop(r);
	r = rule(*state, "tcp dport loaded, then sport over it; == 80");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_2);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_2);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_2, 80);
	nb_drop(r);
	expect_classes(*state, NULL, 0);
}

/* A chain nothing jumps to still cuts (finer than needed is fine): 21, 22, 23 apart. */
static void test_unreached_rule_cuts(void **state)
{
	struct pc_nft_ruleset *rs = *state;
	struct pc_nft_rule *r;
	struct pc_port_classes c = {0};

	table_of(rs, NFPROTO_INET);
	r = nb_rule(nb_chain(&rs->tables[0], "orphan"), "tcp dport 22 drop");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	nb_drop(r);
	assert_int_equal(pc_port_classes_of(rs, &c), 0);
	assert_false(c.distinct);
	assert_int_not_equal(pc_port_class(&c, 21), pc_port_class(&c, 22));
	assert_int_not_equal(pc_port_class(&c, 23), pc_port_class(&c, 22));
	assert_int_equal(pc_port_class(&c, 22), 22);
	pc_port_classes_clear(&c);
}

/* Several tables and families: the cuts of all of them; a DNAT's port cuts too (a
 * connection to that very port is not redirected, the others are). */
static void test_tables_merge(void **state)
{
	struct pc_nft_ruleset *rs = *state;
	struct pc_nft_rule *r;

	dport_cmp(rs, NFT_CMP_EQ, 443);
	r = nb_rule(nb_base_chain(nb_table(rs, NFPROTO_IPV6, "six"), "in", "filter",
				  NF_INET_LOCAL_IN, 10, NF_ACCEPT),
		    "udp dport 53 drop");
	nb_l4proto(r, IPPROTO_UDP);
	nb_dport(r, 53);
	nb_drop(r);
	r = nb_rule(nb_base_chain(nb_table(rs, NFPROTO_IPV4, "nat"), "pre", "nat",
				  NF_INET_PRE_ROUTING, -100, NF_ACCEPT),
		    "tcp dport 8080 dnat to 192.0.2.10:80");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 8080);
	nb_dnat_to(r, NFPROTO_IPV4, "192.0.2.10", 80);
	EXPECT(rs, 53, 54, 80, 81, 443, 444, 8080, 8081);
}

/* A nat chain of an ip table with one rule; its text @text. */
static struct pc_nft_rule *nat_rule(struct pc_nft_ruleset *rs, const char *text)
{
	struct pc_nft_table *t = nb_table(rs, NFPROTO_IPV4, "nat");

	return nb_rule(nb_base_chain(t, "pre", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT), text);
}

/* dnat ip to tcp dport map { 80-89 : 192.0.2.10 . 8080, 443 : 198.51.100.2 . 85 }: the
 * keys cut, and so do the ports it sends to (data bytes 4-5, in the second register). */
static void test_dnat_map(void **state)
{
	struct pc_nft_ruleset *rs = *state;
	struct pc_nft_rule *r = nat_rule(rs, "dnat ip to tcp dport map { ... }");
	struct pc_nft_set *m = nb_set(&rs->tables[0], "__map0", NFT_SET_MAP | NFT_SET_INTERVAL, 2);
	uint16_t k[] = {htons(80), htons(90), htons(443), htons(444)};
	struct pc_nft_set_elem *el;
	static const uint8_t d0[8] = {192, 0, 2, 10, 8080 >> 8, 8080 & 0xff},
			     d1[8] = {198, 51, 100, 2, 0, 85};

	m->data_len = 8;
	el = nb_elem(m, &k[0], 2, 0);
	nb_bytes(m, &el->data, &el->data_len, d0, 8);
	nb_elem(m, &k[1], 2, NFT_SET_ELEM_INTERVAL_END);
	el = nb_elem(m, &k[2], 2, 0);
	nb_bytes(m, &el->data, &el->data_len, d1, 8);
	nb_elem(m, &k[3], 2, NFT_SET_ELEM_INTERVAL_END);
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "__map0", NFT_REG_1, NFT_REG_1, 0);
	nb_nat(r, NFT_NAT_DNAT, NFPROTO_IPV4, NFT_REG32_00, NFT_REG32_01);
	EXPECT(rs, 80, 85, 86, 90, 443, 444, 8080, 8081);
}

/* --- what makes every port distinct ----------------------------------------------------- */

/* tcp dport & 0xff00 == 0x1600 */
static void test_distinct_bitwise(void **state)
{
	struct pc_nft_rule *r = rule(*state, "tcp dport & 0xff00 == 0x1600 accept");
	uint16_t m = htons(0xff00), v = htons(0x1600);

	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_bitwise(r, NFT_REG_1, NFT_REG_1, 2, &m, NULL);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &v, 2);
	nb_accept(r);
	expect_distinct(*state);
}

/* ip saddr . tcp dport @concat */
static void test_distinct_concat(void **state)
{
	struct pc_nft_ruleset *rs = *state;
	struct pc_nft_rule *r = rule(rs, "ip saddr . tcp dport @concat accept");
	static const uint8_t lens[] = {4, 2};
	uint8_t k[8] = {192, 0, 2, 99, 0, 22};
	struct pc_nft_set *s = nb_set(&rs->tables[0], "concat", 0, 8);

	nb_set_fields(s, 2, lens);
	nb_elem(s, k, 8, 0);
	nb_nfproto(r, NFPROTO_IPV4);
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG32_00);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
	nb_lookup(r, "concat", NFT_REG32_00, 0, 0);
	nb_accept(r);
	expect_distinct(rs);
}

/* dnat to 198.51.100.2: the port stays what it was */
static void test_distinct_dnat_keeps_port(void **state)
{
	struct pc_nft_rule *r = nat_rule(*state, "ip saddr 203.0.113.0/24 dnat to 198.51.100.2");

	nb_addr_match(r, "203.0.113.0/24", false, NFT_CMP_EQ);
	nb_dnat_to(r, NFPROTO_IPV4, "198.51.100.2", 0);
	expect_distinct(*state);
}

/* redirect: to the incoming interface's address, the same port */
static void test_distinct_redirect_keeps_port(void **state)
{
	nb_redir(nat_rule(*state, "redirect"), 0);
	expect_distinct(*state);
}

/* meta mark set jhash tcp dport mod 2 (here: compared) */
static void test_distinct_hash(void **state)
{
	struct pc_nft_rule *r = rule(*state, "jhash tcp dport mod 2 == 0 accept");
	struct pc_nft_expr *e;

	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	e = nb_expr(r, PC_NFT_EXPR_HASH, "hash");
	e->hash.type = NFT_HASH_JENKINS;
	e->hash.sreg = NFT_REG_1;
	e->hash.dreg = NFT_REG_2;
	e->hash.len = 2;
	e->hash.modulus = 2;
	nb_cmp_u32(r, NFT_CMP_EQ, NFT_REG_2, 0);
	nb_accept(r);
	expect_distinct(*state);
}

/* tcp dport set 80: later rules see another port */
static void test_distinct_payload_write(void **state)
{
	struct pc_nft_rule *r = rule(*state, "tcp dport set 80");
	uint16_t v = htons(80);

	nb_l4proto(r, IPPROTO_TCP);
	nb_imm(r, NFT_REG_1, &v, 2);
	nb_payload_set(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	expect_distinct(*state);
}

/* @nh,176,8 set 0 (IPv4) / @nh,336,8 set 0 (IPv6): a network header write that reaches
 * the port's high byte; `tcp dport 22` after it then matches 278 as well, not 1000. */
static void test_distinct_nh_write(void **state)
{
	struct pc_nft_ruleset *rs = *state;
	uint8_t zero = 0;

	for (int v6 = 0; v6 < 2; v6++) {
		struct pc_nft_rule *r = rule(rs, v6 ? "@nh,336,8 set 0" : "@nh,176,8 set 0");

		nb_nfproto(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
		nb_l4proto(r, IPPROTO_TCP);
		nb_imm(r, NFT_REG_1, &zero, 1);
		nb_payload_set(r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 42 : 22, 1, NFT_REG_1);
		dport_cmp(rs, NFT_CMP_EQ, 22);
		expect_distinct(rs);
		pc_nft_ruleset_clear(rs);
		memset(rs, 0, sizeof(*rs));
	}
}

/* Stateless NAT of the destination address (`ip daddr set 192.0.2.1`): the engine
 * reports where the connection goes, its port included (review finding). */
static void test_distinct_daddr_write(void **state)
{
	struct pc_nft_rule *r = rule(*state, "ip daddr set 192.0.2.1");
	static const uint8_t a[4] = {192, 0, 2, 1};

	nb_nfproto(r, NFPROTO_IPV4);
	nb_imm(r, NFT_REG_1, a, 4);
	nb_payload_set(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
	dport_cmp(*state, NFT_CMP_EQ, 22);
	expect_distinct(*state);
}

/* `ct label set` reads 16 bytes: the port in its second word counts (review finding; not
 * something nft writes, but a netlink client can). */
static void test_distinct_ct_label_set_of_port(void **state)
{
	struct pc_nft_rule *r = rule(*state, "ct label set (port in word 1)");
	static const uint8_t zero[4] = {0};

	nb_imm(r, NFT_REG32_00, zero, 4);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
	nb_imm(r, NFT_REG32_02, zero, 4);
	nb_imm(r, NFT_REG32_03, zero, 4);
	nb_ct_set(r, NFT_CT_LABELS, NFT_REG_1);
	expect_distinct(*state);
}

/* A port-keyed lookup in a set without a key length (the engine then takes its longest
 * element's): not followed, so distinct. */
static void test_distinct_set_without_key_len(void **state)
{
	struct pc_nft_table *t = table_of(*state, NFPROTO_INET);
	struct pc_nft_set *set = nb_set(t, "nolen", 0, 0);
	struct pc_nft_rule *r = rule(*state, "tcp dport @nolen accept");
	uint16_t k = htons(22);

	nb_elem(set, &k, 2, 0);
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "nolen", NFT_REG_1, 0, 0);
	nb_accept(r);
	expect_distinct(*state);
}

/* An expression the snapshot does not know may read anything. */
static void test_distinct_unknown_expr(void **state)
{
	struct pc_nft_rule *r = rule(*state, "osf name \"Linux\" accept");

	nb_simple(r, PC_NFT_EXPR_UNKNOWN, "osf");
	nb_accept(r);
	expect_distinct(*state);
}

/* byteorder over the port */
static void test_distinct_byteorder(void **state)
{
	struct pc_nft_rule *r = rule(*state, "byteorder tcp dport");

	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_byteorder(r, NFT_BYTEORDER_NTOH, NFT_REG_1, NFT_REG_1, 2, 2);
	nb_cmp_u32(r, NFT_CMP_EQ, NFT_REG_1, 22);
	nb_accept(r);
	expect_distinct(*state);
}

/* A network-header load that reaches the transport header (bytes 20-23 of an IPv4 packet
 * without options: the ports), after a supported use: still distinct. */
static void test_distinct_after_cuts(void **state)
{
	struct pc_nft_rule *r;

	dport_cmp(*state, NFT_CMP_EQ, 22);
	r = rule(*state, "ip header bytes 20-23 (the ports of an IPv4 packet) == ...");
	nb_nfproto(r, NFPROTO_IPV4);
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 20, 4, NFT_REG_1);
	nb_cmp_u32(r, NFT_CMP_EQ, NFT_REG_1, 0x16001600);
	nb_accept(r);
	expect_distinct(*state);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_empty),
	    T(test_cmp_eq),
	    T(test_cmp_neq),
	    T(test_cmp_lt),
	    T(test_cmp_gte),
	    T(test_cmp_lte_gt),
	    T(test_cmp_edges),
	    T(test_cmp_high_byte),
	    T(test_range),
	    T(test_set),
	    T(test_interval_set),
	    T(test_vmap),
	    T(test_xt_tcp_udp),
	    T(test_xt_multiport),
	    T(test_ct_proto_dst),
	    T(test_sport_no_cut),
	    T(test_unreached_rule_cuts),
	    T(test_tables_merge),
	    T(test_dnat_map),
	    T(test_distinct_bitwise),
	    T(test_distinct_concat),
	    T(test_distinct_dnat_keeps_port),
	    T(test_distinct_redirect_keeps_port),
	    T(test_distinct_hash),
	    T(test_distinct_payload_write),
	    T(test_distinct_nh_write),
	    T(test_distinct_daddr_write),
	    T(test_distinct_ct_label_set_of_port),
	    T(test_distinct_set_without_key_len),
	    T(test_distinct_unknown_expr),
	    T(test_distinct_byteorder),
	    T(test_distinct_after_cuts),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
