/* SPDX-License-Identifier: MIT */
/*
 * The engine on rulesets built in memory: every expression, chain traversal, the hook walk
 * with conntrack, NAT and the routing decision, and what the client sees. Set lookups,
 * maps and dynsets: test_nftvm_sets.c.
 */
/* cmocka and its prerequisites, nftbuild.h, the netfilter headers: with the fixture. */
#include "nftvm_fixture.h"

/* --- chains and verdicts ---------------------------------------------------------------- */

static void test_empty_ruleset(void **state)
{
	struct nb_fx *f = *state;
	const struct pc_nft_result *r = tcp4(f, 80);

	assert_int_equal(r->verdict, PC_VERDICT_ACCEPT);
	assert_false(r->has_rule);
	assert_false(r->forwarded);
	assert_int_equal(r->n_trace, 0);
}

static void test_policy_and_dport(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_rule *r = nb_rule(c, "tcp dport 22 accept");
	const struct pc_nft_result *res;

	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	nb_accept(r);

	res = tcp4(f, 22);
	assert_int_equal(res->verdict, PC_VERDICT_ACCEPT);
	assert_true(res->has_rule);
	assert_string_equal(res->rule.text, "tcp dport 22 accept");
	assert_string_equal(res->rule.chain, "input");
	assert_int_equal(res->n_trace, 1);
	assert_int_equal(res->trace[0].action, PC_TRACE_ACCEPT);
	assert_int_equal(res->trace[0].hook, NF_INET_LOCAL_IN);

	res = tcp4(f, 80);
	assert_int_equal(res->verdict, PC_VERDICT_DROP);
	assert_true(res->rule.policy);
	assert_int_equal(res->n_trace, 2);
	assert_int_equal(res->trace[0].action, PC_TRACE_NOMATCH);
	assert_int_equal(res->trace[1].action, PC_TRACE_POLICY);

	/* UDP does not match the TCP rule. */
	res = run(f, IPPROTO_UDP, "203.0.113.9", "192.0.2.10", 22, ETH0);
	assert_int_equal(res->verdict, PC_VERDICT_DROP);
}

/* NFT_REG_1 is NFT_REG32_00..03: one byte array. */
static void test_register_aliasing(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_rule *r = nb_rule(c, "aliasing");
	uint8_t v[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	nb_imm(r, NFT_REG32_00, v, 4);
	nb_imm(r, NFT_REG32_01, v + 4, 4);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, v, 8); /* reads both words */
	nb_imm(r, NFT_REG_2, v, 8);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG32_04, v, 4); /* NFT_REG_2 starts at REG32_04 */
	nb_cmp(r, NFT_CMP_EQ, NFT_REG32_05, v + 4, 4);
	nb_accept(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
}

/* A 2-byte load zeroes the rest of its word: a 4-byte compare sees the port and zeros. */
static void test_payload_zero_padding(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_rule *r = nb_rule(c, "padding");
	uint8_t ff[4] = {0xff, 0xff, 0xff, 0xff}, want[4] = {0, 80, 0, 0};

	nb_imm(r, NFT_REG_1, ff, 4);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, want, 4);
	nb_accept(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
}

static void test_payload_header_bytes(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_rule *r = nb_rule(c, "ip protocol tcp tcp flags & (fin|syn|rst|ack) == syn");
	uint8_t hop = 64, proto = IPPROTO_TCP, syn = 0x02, mask = 0x17;

	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 9, 1, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &proto, 1);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1);
	nb_bitwise(r, NFT_REG_1, NFT_REG_1, 1, &mask, NULL);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &syn, 1);
	nb_accept(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);

	/* The IPv6 next header is fixed; the hop limit is the client's. */
	pc_nft_ruleset_clear(&f->rs);
	c = input_chain(f, NF_DROP);
	r = nb_rule(c, "ip6 nexthdr tcp accept");
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 6, 1, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &proto, 1);
	nb_accept(r);
	assert_int_equal(run(f, IPPROTO_TCP, "2001:db8::99", "2001:db8::10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	r = nb_rule(&tbl(f, 0)->chains[0], "ip6 hoplimit 64");
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 7, 1, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &hop, 1);
	nb_accept(r);
	run(f, IPPROTO_UDP, "2001:db8::99", "2001:db8::10", 80, ETH0);
	assert_int_equal(f->res.verdict, PC_VERDICT_UNKNOWN);
	assert_string_equal(f->res.unknown_reason, "ip6 hoplimit: varies between clients");

	/* ip ttl, tcp flags == syn (ECN bits): unknown; a fixed bit that differs decides
	 * anyway: tcp flags & (syn|ack) == ack is false whatever the ECN bits. */
	pc_nft_ruleset_clear(&f->rs);
	c = input_chain(f, NF_ACCEPT);
	r = nb_rule(c, "tcp flags & (syn|ack) == ack drop");
	mask = 0x12;
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1);
	nb_bitwise(r, NFT_REG_1, NFT_REG_1, 1, &mask, NULL);
	nb_cmp_u8(r, NFT_CMP_EQ, NFT_REG_1, 0x10);
	nb_drop(r);
	r = nb_rule(c, "tcp flags syn,ack drop");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1);
	nb_cmp_u8(r, NFT_CMP_EQ, NFT_REG_1, 0x12);
	nb_drop(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
	r = nb_rule(&tbl(f, 0)->chains[0], "tcp flags == syn drop");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1);
	nb_cmp_u8(r, NFT_CMP_EQ, NFT_REG_1, 0x02);
	nb_drop(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_UNKNOWN);
	assert_string_equal(f->res.unknown_reason, "tcp flags (ECN): varies between clients");

	pc_nft_ruleset_clear(&f->rs);
	c = input_chain(f, NF_ACCEPT);
	r = nb_rule(c, "ip ttl < 10 drop");
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 1, NFT_REG_1);
	nb_cmp_u8(r, NFT_CMP_LT, NFT_REG_1, 10);
	nb_drop(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_UNKNOWN);
	assert_string_equal(f->res.unknown_reason, "ip ttl: varies between clients");
}

/* Link-layer loads and loads past the headers are not exact; past 64k they break. */
static void test_payload_unknowns(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_ACCEPT);
	struct pc_nft_rule *r = nb_rule(c, "ether saddr");
	const struct pc_nft_result *res;

	nb_payload(r, NFT_PAYLOAD_LL_HEADER, 6, 6, NFT_REG_1);
	nb_drop(r);
	res = tcp4(f, 80);
	assert_int_equal(res->verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(res->unknown_reason, "link-layer"));
	assert_int_equal(res->trace[res->n_trace - 1].action, PC_TRACE_UNKNOWN);

	pc_nft_ruleset_clear(&f->rs);
	c = input_chain(f, NF_ACCEPT);
	r = nb_rule(c, "@th,160,32");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 20, 4, NFT_REG_1);
	nb_drop(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_UNKNOWN);

	pc_nft_ruleset_clear(&f->rs);
	c = input_chain(f, NF_ACCEPT);
	r = nb_rule(c, "@th,600000,8");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 70000, 1, NFT_REG_1);
	nb_drop(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
}

static void test_cmp_ops(void **state)
{
	struct nb_fx *f = *state;
	static const struct {
		uint32_t op;
		uint16_t v;
		bool match;
	} cases[] = {
	    {NFT_CMP_EQ, 80, true},
	    {NFT_CMP_EQ, 81, false},
	    {NFT_CMP_NEQ, 81, true},
	    {NFT_CMP_NEQ, 80, false},
	    {NFT_CMP_LT, 81, true},
	    {NFT_CMP_LT, 80, false},
	    {NFT_CMP_LTE, 80, true},
	    {NFT_CMP_LTE, 79, false},
	    {NFT_CMP_GT, 79, true},
	    {NFT_CMP_GT, 80, false},
	    {NFT_CMP_GTE, 80, true},
	    {NFT_CMP_GTE, 81, false},
	    /* Big-endian comparison: 256 (0x0100) > 80 (0x0050) byte-wise too. */
	    {NFT_CMP_LT, 256, true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pc_nft_chain *c;
		struct pc_nft_rule *r;

		pc_nft_ruleset_clear(&f->rs);
		c = input_chain(f, NF_DROP);
		r = nb_rule(c, "cmp");
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		nb_cmp_be16(r, cases[i].op, NFT_REG_1, cases[i].v);
		nb_accept(r);
		assert_int_equal(tcp4(f, 80)->verdict,
				 cases[i].match ? PC_VERDICT_ACCEPT : PC_VERDICT_DROP);
	}
}

static void test_range(void **state)
{
	struct nb_fx *f = *state;
	static const struct {
		uint32_t op;
		uint16_t from, to;
		bool match;
	} cases[] = {
	    {NFT_RANGE_EQ, 80, 90, true},   {NFT_RANGE_EQ, 70, 80, true},
	    {NFT_RANGE_EQ, 81, 90, false},  {NFT_RANGE_NEQ, 81, 90, true},
	    {NFT_RANGE_NEQ, 80, 80, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pc_nft_chain *c;
		struct pc_nft_rule *r;
		uint16_t from = htons(cases[i].from), to = htons(cases[i].to);

		pc_nft_ruleset_clear(&f->rs);
		c = input_chain(f, NF_DROP);
		r = nb_rule(c, "range");
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		nb_range(r, cases[i].op, NFT_REG_1, &from, &to, 2);
		nb_accept(r);
		assert_int_equal(tcp4(f, 80)->verdict,
				 cases[i].match ? PC_VERDICT_ACCEPT : PC_VERDICT_DROP);
	}
}

static void test_bitwise_shift_byteorder(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_rule *r;
	uint8_t mask[4] = {0xff, 0xff, 0xff, 0},
		xor[4] =
		    {
			0, 0, 0, 0x0a},
		want[4] = {192, 0, 2, 0x0a};
	uint8_t mark_be[4] = {0, 0, 0x01, 0x00};
	uint32_t v = 0x1000, marked;

	/* ip daddr & 255.255.255.0 ^ 0.0.0.10 == 192.0.2.10 */
	r = nb_rule(c, "mask xor");
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
	nb_bitwise(r, NFT_REG_1, NFT_REG_1, 4, mask, xor);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, want, 4);
	nb_counter(r);

	/* A host-order value shifted and converted: (0x1000 >> 4) == 0x100, hton -> bytes
	 * 00 00 01 00. */
	r = nb_rule(c, "shift byteorder");
	nb_imm(r, NFT_REG_2, &v, 4);
	nb_shift(r, NFT_BITWISE_RSHIFT, NFT_REG_2, NFT_REG_2, 4, 4);
	nb_byteorder(r, NFT_BYTEORDER_HTON, NFT_REG_2, NFT_REG_2, 4, 4);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_2, mark_be, 4);
	marked = 1;
	nb_imm(r, NFT_REG_3, &marked, 4);
	nb_shift(r, NFT_BITWISE_LSHIFT, NFT_REG_3, NFT_REG_3, 4, 8);
	marked = 0x100;
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_3, &marked, 4);
	nb_accept(r);

	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(f->res.trace[0].action, PC_TRACE_CONTINUE);

	/* A shift whose amount the snapshot lacks: not a shift by anything. */
	c->rules[1].exprs[1].bitwise.shift = PC_NFT_NO_SHIFT;
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "without an amount"));
}

static void test_meta(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_rule *r;
	uint16_t proto = htons(0x0800), ether = 1, loop = 772;
	uint32_t ifi = ETH0, zero = 0, len = 40, mark = 0x42;
	struct pc_nft_rule *lr;
	char empty[16] = {};

	r = nb_rule(c, "meta nfproto ipv4 meta protocol ip meta iif eth0 meta len 40");
	nb_nfproto(r, NFPROTO_IPV4);
	nb_meta(r, NFT_META_PROTOCOL, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &proto, 2);
	nb_meta(r, NFT_META_IIF, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &ifi, 4);
	nb_meta(r, NFT_META_IIFTYPE, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &ether, 2);
	nb_meta(r, NFT_META_IIFGROUP, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &zero, 4);
	nb_meta(r, NFT_META_PKTTYPE, NFT_REG_1);
	nb_cmp_u8(r, NFT_CMP_EQ, NFT_REG_1, 0); /* PACKET_HOST */
	/* No output device on input: oif 0, oifname "" */
	nb_meta(r, NFT_META_OIF, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &zero, 4);
	nb_meta(r, NFT_META_OIFNAME, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, empty, 16);
	nb_counter(r);

	/* meta mark set 0x42, then compared */
	r = nb_rule(c, "meta mark set 0x42");
	nb_imm(r, NFT_REG_1, &mark, 4);
	nb_meta_set(r, NFT_META_MARK, NFT_REG_1);
	r = nb_rule(c, "meta mark 0x42 accept");
	nb_meta(r, NFT_META_MARK, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &mark, 4);
	nb_accept(r);

	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(f->res.trace[0].action, PC_TRACE_CONTINUE);

	/* meta length: a real SYN carries options; not exact. */
	pc_nft_ruleset_clear(&f->rs);
	c = input_chain(f, NF_ACCEPT);
	lr = nb_rule(c, "meta length 40 drop");
	nb_meta(lr, NFT_META_LEN, NFT_REG_1);
	nb_cmp(lr, NFT_CMP_EQ, NFT_REG_1, &len, 4);
	nb_drop(lr);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_UNKNOWN);
	assert_string_equal(f->res.unknown_reason, "meta length: varies between clients");

	/* iiftype on lo is ARPHRD_LOOPBACK; oiftype on input has no device: break. */
	pc_nft_ruleset_clear(&f->rs);
	c = input_chain(f, NF_DROP);
	r = nb_rule(c, "meta iiftype loopback accept");
	nb_meta(r, NFT_META_IIFTYPE, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &loop, 2);
	nb_accept(r);
	r = nb_rule(c, "meta oiftype ether accept");
	nb_meta(r, NFT_META_OIFTYPE, NFT_REG_1);
	nb_accept(r);
	assert_int_equal(run(f, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 80, LO)->verdict,
			 PC_VERDICT_ACCEPT);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_DROP);
}

static void test_iifname_wildcard(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_rule *r;

	r = nb_rule(c, "iifname \"eth*\" tcp dport 80 accept");
	nb_iifname(r, "eth", true);
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 80);
	nb_accept(r);
	r = nb_rule(c, "iifname \"docker0\" accept");
	nb_iifname(r, "docker0", false);
	nb_accept(r);
	r = nb_rule(c, "iifname \"eth\" accept");
	nb_iifname(r, "eth", false); /* exact: all 16 bytes */
	nb_accept(r);

	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.9", "203.0.113.10", 80, ETH1)->verdict,
			 PC_VERDICT_ACCEPT);
	assert_int_equal(tcp4(f, 81)->verdict, PC_VERDICT_DROP);
	assert_int_equal(run(f, IPPROTO_TCP, "198.51.100.2", "198.51.100.1", 81, DOCKER0)->verdict,
			 PC_VERDICT_ACCEPT);
}

/* iifname compares the kernel's bytes, not the sanitised name reports show. */
static void test_iifname_raw_bytes(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_link *l = (struct pc_link *)pc_netif_link_by_index(&f->ni, DOCKER0);
	struct pc_nft_rule *r;

	snprintf(l->kname, sizeof(l->kname), "%s", "d\033\xff");
	snprintf(l->name, sizeof(l->name), "%s", "d\\x1b\\xff");
	r = nb_rule(c, "iifname \"d\\x1b\\xff\" accept");
	nb_iifname(r, "d\033\xff", false);
	nb_accept(r);
	assert_int_equal(run(f, IPPROTO_TCP, "198.51.100.2", "198.51.100.1", 81, DOCKER0)->verdict,
			 PC_VERDICT_ACCEPT);
}

/* A trace detail cut to fit ("jump " and a long chain name) never ends inside a character:
 * it goes into Explain's reply, which jansson would refuse. */
static void test_trace_detail_cut(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "filter");
	char name[128];
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;
	const struct pc_nft_result *res;

	/* "jump " and 88 bytes: the first U+4E2D straddles the 95-byte limit. */
	memset(name, 'a', 88);
	strcpy(name + 88, "\xe4\xb8\xad\xe4\xb8\xad");
	c = nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	r = nb_rule(c, "jump long");
	nb_jump(r, name);
	nb_chain(tbl(f, 0), name);
	res = tcp4(f, 80);
	assert_true(res->n_trace > 0);
	for (size_t i = 0; i < res->n_trace; i++)
		if (!pc_utf8_valid(res->trace[i].detail))
			fail_msg("trace %zu: \"%s\" is not UTF-8", i, res->trace[i].detail);
	/* The whole fragment goes, and nothing before it. */
	assert_int_equal(strlen(res->trace[0].detail), strlen("jump ") + 88);
}

/* goto then return returns to the jumper's caller; jump returns to the next rule. */
static void test_jump_goto_return(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "filter");
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;
	uint32_t m1 = 1, m2 = 2;
	const struct pc_nft_result *res;

	c = nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	r = nb_rule(c, "jump a");
	nb_jump(r, "a");
	r = nb_rule(c, "meta mark 1 accept");
	nb_meta(r, NFT_META_MARK, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &m1, 4);
	nb_accept(r);
	c = nb_chain(t, "a");
	r = nb_rule(c, "goto b");
	nb_goto(r, "b");
	r = nb_rule(c, "meta mark set 2 (never reached)");
	nb_imm(r, NFT_REG_1, &m2, 4);
	nb_meta_set(r, NFT_META_MARK, NFT_REG_1);
	c = nb_chain(tbl(f, 0), "b");
	r = nb_rule(c, "meta mark set 1");
	nb_imm(r, NFT_REG_1, &m1, 4);
	nb_meta_set(r, NFT_META_MARK, NFT_REG_1);
	r = nb_rule(c, "return");
	nb_return(r);
	r = nb_rule(c, "drop (never reached)");
	nb_drop(r);

	res = tcp4(f, 80);
	assert_int_equal(res->verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(res->rule.text, "meta mark 1 accept");
	assert_int_equal(res->n_trace, 5);
	assert_int_equal(res->trace[0].action, PC_TRACE_JUMP);
	assert_string_equal(res->trace[0].detail, "jump a");
	assert_int_equal(res->trace[1].action, PC_TRACE_GOTO);
	assert_int_equal(res->trace[2].action, PC_TRACE_CONTINUE);
	assert_int_equal(res->trace[3].action, PC_TRACE_RETURN);
	assert_string_equal(res->trace[4].rule.chain, "input");
}

/* A chain jumping to itself through 17 levels exceeds the kernel's stack of 16: such a
 * ruleset cannot come from a kernel; unknown, never a guess. */
static void test_jump_stack(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "filter");
	struct pc_nft_chain *c = nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	char name[16], next[16];

	nb_jump(nb_rule(c, "jump c0"), "c0");
	for (int i = 0; i < 17; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		snprintf(next, sizeof(next), "c%d", i + 1);
		c = nb_chain(tbl(f, 0), name);
		if (i < 16)
			nb_jump(nb_rule(c, "jump"), next);
		else
			nb_accept(nb_rule(c, "accept"));
	}
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "stack"));

	/* 16 levels are fine. */
	pc_nft_ruleset_clear(&f->rs);
	t = nb_table(&f->rs, NFPROTO_INET, "filter");
	c = nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	nb_jump(nb_rule(c, "jump c0"), "c0");
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		snprintf(next, sizeof(next), "c%d", i + 1);
		c = nb_chain(tbl(f, 0), name);
		if (i < 15)
			nb_jump(nb_rule(c, "jump"), next);
		else
			nb_accept(nb_rule(c, "accept"));
	}
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
}

/* Several base chains on one hook: accept continues, drop is final; by priority. */
static void test_base_chain_order(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "a");
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;
	uint32_t m = 7;
	const struct pc_nft_result *res;

	/* Listed first but priority 10: runs after the one at -5, which sets the mark. */
	c = nb_base_chain(t, "late", "filter", NF_INET_LOCAL_IN, 10, NF_ACCEPT);
	r = nb_rule(c, "meta mark 7 drop");
	nb_meta(r, NFT_META_MARK, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &m, 4);
	nb_drop(r);
	t = nb_table(&f->rs, NFPROTO_IPV4, "b");
	c = nb_base_chain(t, "early", "filter", NF_INET_LOCAL_IN, -5, NF_ACCEPT);
	r = nb_rule(c, "tcp dport 80 meta mark set 7 accept");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 80);
	nb_imm(r, NFT_REG_1, &m, 4);
	nb_meta_set(r, NFT_META_MARK, NFT_REG_1);
	nb_accept(r);

	res = tcp4(f, 80);
	assert_int_equal(res->verdict, PC_VERDICT_DROP);
	assert_string_equal(res->rule.text, "meta mark 7 drop");
	assert_string_equal(res->trace[0].rule.table, "b");
	res = tcp4(f, 81);
	assert_int_equal(res->verdict, PC_VERDICT_ACCEPT);
	assert_true(res->rule.policy);
	assert_string_equal(res->rule.chain, "late");
	/* IPv6 does not see the ip table. */
	res = run(f, IPPROTO_TCP, "2001:db8::99", "2001:db8::10", 80, ETH0);
	assert_int_equal(res->verdict, PC_VERDICT_ACCEPT);
}

/* Equal priorities: the later registration (later in the snapshot) runs first. */
static void test_equal_priority(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "a");
	struct pc_nft_chain *c;

	c = nb_base_chain(t, "first", "filter", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	nb_accept(nb_rule(c, "accept"));
	c = nb_base_chain(tbl(f, 0), "second", "filter", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	nb_reject(nb_rule(c, "reject"), NFT_REJECT_TCP_RST, 0);
	c = nb_base_chain(tbl(f, 0), "third", "filter", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	nb_counter(nb_rule(c, "counter"));

	tcp4(f, 80);
	assert_int_equal(f->res.verdict, PC_VERDICT_REJECT);
	assert_true(f->res.reject.tcp_reset);
	assert_string_equal(f->res.trace[0].rule.chain, "third");
	assert_string_equal(f->res.trace[2].rule.chain, "second");
}

/* More base chains on one hook than nftpath_hooks.c keeps on the stack (8): each runs, in
 * the order of their priorities, not of the snapshot. */
static void test_many_base_chains(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "a");
	char name[16];
	struct pc_nft_chain *c;

	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		/* Listed from the highest priority down: c11 (-11) runs first, c0 (0) last. */
		c = nb_base_chain(t, name, "filter", NF_INET_LOCAL_IN, -i, NF_ACCEPT);
		if (i == 0)
			nb_drop(nb_rule(c, "drop"));
		else
			nb_counter(nb_rule(c, "counter"));
	}
	tcp4(f, 80);
	assert_int_equal(f->res.verdict, PC_VERDICT_DROP);
	assert_string_equal(f->res.rule.chain, "c0");
	/* The chains the trace meets (a rule and the policy each), in turn. */
	for (size_t i = 0, k = 0; k < 12; k++) {
		snprintf(name, sizeof(name), "c%zu", 11 - k);
		assert_true(i < f->res.n_trace);
		assert_string_equal(f->res.trace[i].rule.chain, name);
		while (i < f->res.n_trace && strcmp(f->res.trace[i].rule.chain, name) == 0)
			i++;
	}
}

/* A chain at exactly the conntrack priority: before or after conntrack is not known. */
static void test_ct_priority_tie(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "t");
	struct pc_nft_chain *c =
	    nb_base_chain(t, "ct", "filter", NF_INET_PRE_ROUTING, -200, NF_ACCEPT);
	struct pc_nft_rule *r = nb_rule(c, "ct state invalid drop");

	nb_ct_state(r, NF_CT_STATE_INVALID_BIT);
	nb_drop(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "-200"));
	c->prio = -199;
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
	c->prio = -201;
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_DROP);
}

/* Verdict maps with a catch-all element; data maps into a register. */
/* --- conntrack -------------------------------------------------------------------------- */

static void test_ct_state_by_hook(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "t");
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;

	/* Before conntrack (-300): no entry, the invalid bit. */
	c = nb_base_chain(t, "raw", "filter", NF_INET_PRE_ROUTING, -300, NF_ACCEPT);
	r = nb_rule(c, "ct state != invalid drop");
	nb_ct(r, NFT_CT_STATE, NFT_REG_1, -1);
	nb_cmp_u32(r, NFT_CMP_NEQ, NFT_REG_1, NF_CT_STATE_INVALID_BIT);
	nb_drop(r);
	/* ct status before conntrack: no entry, break. */
	r = nb_rule(c, "ct status 0 drop");
	nb_ct(r, NFT_CT_STATUS, NFT_REG_1, -1);
	nb_drop(r);
	/* After: new, original direction, status 0 until the NAT hook's null binding. */
	c = nb_base_chain(tbl(f, 0), "mangle", "filter", NF_INET_PRE_ROUTING, -150, NF_ACCEPT);
	r = nb_rule(c, "ct state != new drop");
	nb_ct(r, NFT_CT_STATE, NFT_REG_1, -1);
	nb_cmp_u32(r, NFT_CMP_NEQ, NFT_REG_1, NF_CT_STATE_BIT(IP_CT_NEW));
	nb_drop(r);
	r = nb_rule(c, "ct direction reply drop");
	nb_ct(r, NFT_CT_DIRECTION, NFT_REG_1, -1);
	nb_cmp_u8(r, NFT_CMP_NEQ, NFT_REG_1, IP_CT_DIR_ORIGINAL);
	nb_drop(r);
	r = nb_rule(c, "ct status != 0 drop");
	nb_ct(r, NFT_CT_STATUS, NFT_REG_1, -1);
	nb_cmp_u32(r, NFT_CMP_NEQ, NFT_REG_1, 0);
	nb_drop(r);

	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(f->res.trace[1].action, PC_TRACE_NOMATCH);
}

/* notrack: untracked, and the NAT chains do not run. */
static void test_notrack(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_IPV4, "t");
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;

	c = nb_base_chain(t, "raw", "filter", NF_INET_PRE_ROUTING, -300, NF_ACCEPT);
	nb_simple(nb_rule(c, "notrack"), PC_NFT_EXPR_NOTRACK, "notrack");
	c = nb_base_chain(tbl(f, 0), "nat", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	nb_dnat_to(nb_rule(c, "dnat to 198.51.100.2"), NFPROTO_IPV4, "198.51.100.2", 0);
	c = nb_base_chain(tbl(f, 0), "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	r = nb_rule(c, "ct state untracked accept");
	nb_ct_state(r, NF_CT_STATE_UNTRACKED_BIT);
	nb_accept(r);

	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
	assert_false(f->res.forwarded);
	assert_false(f->res.dnat_local);
}

/* --- NAT -------------------------------------------------------------------------------- */

/* Docker: DNAT of a published port to a container; forwarded, never the host listener;
 * firewalld's "ct status dnat accept" style acceptance in forward. */
static void test_dnat_forwarded(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_IPV4, "nat");
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;

	c = nb_base_chain(t, "PREROUTING", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	r = nb_rule(c, "tcp dport 8000 dnat to 198.51.100.2:80");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 8000);
	nb_dnat_to(r, NFPROTO_IPV4, "198.51.100.2", 80);
	t = nb_table(&f->rs, NFPROTO_IPV4, "filter");
	c = nb_base_chain(t, "FORWARD", "filter", NF_INET_FORWARD, 0, NF_DROP);
	r = nb_rule(c, "ct status dnat oifname docker0 accept");
	nb_ct_status(r, IPS_DST_NAT);
	nb_oifname(r, "docker0");
	nb_accept(r);
	c = nb_base_chain(tbl(f, 1), "INPUT", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);

	f->ni.forwarding_v4 = true;
	tcp4(f, 8000);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);
	assert_true(f->res.forwarded);
	assert_false(f->res.dnat_local);
	{
		char buf[PC_ADDRSTRLEN];

		assert_string_equal(pc_addr_to_string(&f->res.fwd_addr, buf), "198.51.100.2");
	}
	assert_int_equal(f->res.fwd_port, 80);
	assert_int_equal(f->res.trace[0].action, PC_TRACE_NAT);
	assert_int_equal(f->res.trace[0].hook, NF_INET_PRE_ROUTING);
	assert_string_equal(f->res.trace[0].detail, "dnat to 198.51.100.2:80");
	assert_int_equal(f->res.trace[1].hook, NF_INET_FORWARD);

	/* Without forwarding the DNAT'd packet is dropped by routing. */
	f->ni.forwarding_v4 = false;
	tcp4(f, 8000);
	assert_int_equal(f->res.verdict, PC_VERDICT_DROP);
	assert_false(f->res.has_rule);
	assert_non_null(strstr(f->res.note, "forwarding is off"));

	/* Other ports reach the host's input chain. */
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_DROP);
	assert_string_equal(f->res.rule.chain, "INPUT");
}

/* First binding wins: the second nat chain's dnat is never evaluated; chains that do not
 * bind let the next one try. nat chains order by their own priority inside the NAT hook. */
static void test_nat_first_binding(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "n");
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;

	c = nb_base_chain(t, "second", "nat", NF_INET_PRE_ROUTING, -90, NF_ACCEPT);
	nb_dnat_to(nb_rule(c, "dnat to 192.0.2.10:2222"), NFPROTO_IPV4, "192.0.2.10", 2222);
	c = nb_base_chain(tbl(f, 0), "nobind", "nat", NF_INET_PRE_ROUTING, -110, NF_ACCEPT);
	nb_counter(nb_rule(c, "counter"));
	c = nb_base_chain(tbl(f, 0), "first", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	r = nb_rule(c, "tcp dport 80 dnat to 192.0.2.10:8080");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 80);
	nb_dnat_to(r, NFPROTO_IPV4, "192.0.2.10", 8080);
	c = nb_base_chain(tbl(f, 0), "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	r = nb_rule(c, "ct status dnat accept");
	nb_ct_status(r, IPS_DST_NAT);
	nb_accept(r);

	tcp4(f, 80);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);
	assert_true(f->res.dnat_local);
	assert_int_equal(f->res.fwd_port, 8080);
	tcp4(f, 22);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(f->res.fwd_port, 2222);
}

/* An "ip" dnat in an inet table does nothing to an IPv6 packet (nft_nat_inet_eval). */
static void test_nat_family_mismatch(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "n");
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;
	uint8_t a[4];

	/* A ct expression in the inet table turns conntrack on for IPv6 too (the ip dnat
	 * alone would only turn it on for IPv4, and then the chain would not run at all). */
	nb_ct_state(nb_rule(nb_chain(t, "uses_ct"), "ct state new"), NF_CT_STATE_BIT(IP_CT_NEW));
	c = nb_base_chain(t, "pre", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	r = nb_rule(c, "dnat ip to 198.51.100.2");
	addr4("198.51.100.2", a);
	nb_imm(r, NFT_REG_1, a, 4);
	nb_nat(r, NFT_NAT_DNAT, NFPROTO_IPV4, NFT_REG_1, 0);
	nb_counter(nb_rule(c, "counter"));

	run(f, IPPROTO_TCP, "2001:db8::99", "2001:db8::10", 80, ETH0);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);
	assert_false(f->res.forwarded);
	assert_false(f->res.dnat_local);
	assert_int_equal(f->res.trace[0].action, PC_TRACE_CONTINUE);
	assert_int_equal(f->res.trace[1].action, PC_TRACE_CONTINUE);
}

/* redirect to :8080 goes to the incoming interface's first address. */
static void test_redirect(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "n");
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;
	uint16_t p = htons(8080);
	char buf[PC_ADDRSTRLEN];

	c = nb_base_chain(t, "pre", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	r = nb_rule(c, "tcp dport 80 redirect to :8080");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 80);
	nb_imm(r, NFT_REG_1, &p, 2);
	nb_redir(r, NFT_REG_1);

	/* Arriving on eth1 for eth0's address: redirected to eth1's. */
	run(f, IPPROTO_TCP, "203.0.113.9", "192.0.2.10", 80, ETH1);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);
	assert_true(f->res.dnat_local);
	assert_string_equal(pc_addr_to_string(&f->res.fwd_addr, buf), "203.0.113.10");
	assert_int_equal(f->res.fwd_port, 8080);
	assert_string_equal(f->res.trace[0].detail, "redirect to 203.0.113.10:8080");
	/* IPv6: the first address of the destination's scope (global, not fe80::). */
	run(f, IPPROTO_TCP, "2001:db8::99", "2001:db8::10", 80, ETH0);
	assert_string_equal(pc_addr_to_string(&f->res.fwd_addr, buf), "2001:db8::10");
	assert_int_equal(f->res.fwd_port, 8080);
	assert_false(f->res.forwarded);
}

/* A nat chain's drop policy drops. */
static void test_nat_chain_policy_drop(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_IPV4, "n");

	nb_base_chain(t, "pre", "nat", NF_INET_PRE_ROUTING, -100, NF_DROP);
	/* Nothing turns conntrack on: the NAT hook lets every packet pass (nf_nat_ipv4_fn),
	 * whatever the nat chain says (checked on the kernel by the differential test). */
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
	/* With conntrack on, the nat chain runs and its policy drops. */
	nb_ct_state(nb_rule(nb_chain(&f->rs.tables[f->rs.n_tables - 1], "uses_ct"), "ct state new"),
		    NF_CT_STATE_BIT(IP_CT_NEW));
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_DROP);
	assert_true(f->res.rule.policy);
}

/* --- reject ----------------------------------------------------------------------------- */

static void test_reject_icmpx(void **state)
{
	struct nb_fx *f = *state;
	static const struct {
		uint8_t code, v4, v6;
	} cases[] = {
	    {NFT_REJECT_ICMPX_NO_ROUTE, 0, 0},
	    {NFT_REJECT_ICMPX_PORT_UNREACH, 3, 4},
	    {NFT_REJECT_ICMPX_HOST_UNREACH, 1, 3},
	    {NFT_REJECT_ICMPX_ADMIN_PROHIBITED, 13, 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pc_nft_chain *c;

		pc_nft_ruleset_clear(&f->rs);
		c = input_chain(f, NF_ACCEPT);
		nb_reject(nb_rule(c, "reject with icmpx"), NFT_REJECT_ICMPX_UNREACH, cases[i].code);
		assert_reject(tcp4(f, 80), 3, cases[i].v4);
		assert_reject(run(f, IPPROTO_UDP, "2001:db8::99", "2001:db8::10", 53, ETH0), 1,
			      cases[i].v6);
	}
}

static void test_reject_icmp_and_reset(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_ACCEPT);

	/* icmp type host-prohibited (3/10) as given; in inet an IPv6 packet gets ICMPv6 with
	 * the same code number. */
	nb_reject(nb_rule(c, "reject with icmp host-prohibited"), NFT_REJECT_ICMP_UNREACH, 10);
	assert_reject(tcp4(f, 80), 3, 10);
	assert_reject(run(f, IPPROTO_TCP, "2001:db8::99", "2001:db8::10", 80, ETH0), 1, 10);

	pc_nft_ruleset_clear(&f->rs);
	c = input_chain(f, NF_ACCEPT);
	nb_reject(nb_rule(c, "reject with tcp reset"), NFT_REJECT_TCP_RST, 0);
	tcp4(f, 80);
	assert_int_equal(f->res.verdict, PC_VERDICT_REJECT);
	assert_true(f->res.reject.tcp_reset);
	/* A UDP packet gets nothing: dropped. */
	run(f, IPPROTO_UDP, "203.0.113.9", "192.0.2.10", 53, ETH0);
	assert_int_equal(f->res.verdict, PC_VERDICT_DROP);
	assert_string_equal(f->res.rule.text, "reject with tcp reset");
}

/* No route back to the source: nothing can be sent; the client sees a timeout. */
static void test_reject_no_route_back(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_ACCEPT);

	nb_reject(nb_rule(c, "reject"), NFT_REJECT_ICMP_UNREACH, 3);
	/* Remove the default route. */
	f->ni.n_routes = 0;
	nb_route(&f->ni, "192.0.2.0/24", RT_TABLE_MAIN, RTN_UNICAST, ETH0, NULL, 0);
	nb_route(&f->ni, "192.0.2.10/32", RT_TABLE_LOCAL, RTN_LOCAL, ETH0, NULL, 0);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_DROP);
	assert_reject(run(f, IPPROTO_TCP, "192.0.2.99", "192.0.2.10", 80, ETH0), 3, 3);
}

/* --- routing ---------------------------------------------------------------------------- */

static void test_routing_decision(void **state)
{
	struct nb_fx *f = *state;

	/* Not ours, forwarding off: dropped silently. */
	run(f, IPPROTO_TCP, "203.0.113.9", "198.18.0.1", 80, ETH0);
	assert_int_equal(f->res.verdict, PC_VERDICT_DROP);
	assert_false(f->res.has_rule);
	/* Forwarding on: forwarded along the default route. */
	f->ni.forwarding_v4 = true;
	run(f, IPPROTO_TCP, "203.0.113.9", "198.18.0.1", 80, ETH0);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);
	assert_true(f->res.forwarded);
	assert_int_equal(f->res.fwd_port, 80);
	/* Weak host: eth1's address arriving on eth0 is local. */
	run(f, IPPROTO_TCP, "192.0.2.99", "203.0.113.10", 80, ETH0);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);
	assert_false(f->res.forwarded);
	/* No route at all: ICMP net unreachable; an unreachable route: host unreachable. */
	f->ni.n_routes = 0;
	nb_route(&f->ni, "192.0.2.0/24", RT_TABLE_MAIN, RTN_UNICAST, ETH0, NULL, 0);
	nb_route(&f->ni, "198.18.0.0/15", RT_TABLE_MAIN, RTN_UNREACHABLE, 0, NULL, 0);
	nb_route(&f->ni, "192.0.2.10/32", RT_TABLE_LOCAL, RTN_LOCAL, ETH0, NULL, 0);
	assert_reject(run(f, IPPROTO_TCP, "192.0.2.99", "198.51.100.77", 80, ETH0), 3, 0);
	assert_non_null(strstr(f->res.note, "no route"));
	assert_reject(run(f, IPPROTO_TCP, "192.0.2.99", "198.18.0.1", 80, ETH0), 3, 1);
	/* IPv6 without a route answers "no route" even when not forwarding. */
	assert_reject(run(f, IPPROTO_TCP, "fe80::99", "2001:db8:5::1", 80, ETH0), 1, 0);
	/* Policy routing in place: not exact. */
	f->ni.routing_blind_spot = strdup("policy routing rules beyond the defaults");
	assert_int_equal(run(f, IPPROTO_TCP, "192.0.2.99", "198.18.0.1", 80, ETH0)->verdict,
			 PC_VERDICT_UNKNOWN);
	/* ... but a local destination is still local. */
	assert_int_equal(run(f, IPPROTO_TCP, "192.0.2.99", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
}

static void test_martians(void **state)
{
	struct nb_fx *f = *state;

	/* Our own address as source from outside. */
	assert_int_equal(run(f, IPPROTO_TCP, "192.0.2.10", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_DROP);
	/* DNAT to 127.0.0.1 from outside: route_localnet is off. */
	{
		struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_IPV4, "n");
		struct pc_nft_chain *c =
		    nb_base_chain(t, "pre", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);

		nb_dnat_to(nb_rule(c, "dnat to 127.0.0.1"), NFPROTO_IPV4, "127.0.0.1", 0);
	}
	tcp4(f, 80);
	assert_int_equal(f->res.verdict, PC_VERDICT_DROP);
	assert_non_null(strstr(f->res.note, "127.0.0.0/8"));
	/* From lo it works. */
	assert_int_equal(run(f, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 80, LO)->verdict,
			 PC_VERDICT_ACCEPT);
}

/* --- fib -------------------------------------------------------------------------------- */

/* firewalld's IPv6 reverse path filter:
 * meta nfproto ipv6 fib saddr . mark . iif oif missing drop (raw prerouting) */
static void test_fib_rpfilter_v6(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "firewalld");
	struct pc_nft_chain *c =
	    nb_base_chain(t, "filter_PREROUTING", "filter", NF_INET_PRE_ROUTING, -290, NF_ACCEPT);
	struct pc_nft_rule *r =
	    nb_rule(c, "meta nfproto ipv6 fib saddr . mark . iif oif missing drop");

	nb_nfproto(r, NFPROTO_IPV6);
	nb_fib(r, NFTA_FIB_F_SADDR | NFTA_FIB_F_MARK | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT,
	       NFT_FIB_RESULT_OIF, NFT_REG_1);
	nb_cmp_u8(r, NFT_CMP_EQ, NFT_REG_1, 0);
	nb_drop(r);

	/* From the eth0 subnet on eth0, and anything via the default route: present. */
	assert_int_equal(run(f, IPPROTO_TCP, "2001:db8::99", "2001:db8::10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	assert_int_equal(run(f, IPPROTO_TCP, "2001:db8:77::1", "2001:db8::10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	/* eth1's subnet arriving on eth0: the reverse route leaves by eth1: dropped. */
	assert_int_equal(run(f, IPPROTO_TCP, "2001:db8:1::99", "2001:db8::10", 80, ETH0)->verdict,
			 PC_VERDICT_DROP);
	/* From the internet on eth1: the reverse route is the default via eth0. */
	assert_int_equal(run(f, IPPROTO_TCP, "2001:db8:77::1", "2001:db8:1::10", 80, ETH1)->verdict,
			 PC_VERDICT_DROP);
	/* Our own address as source: the local route is skipped: missing. */
	assert_int_equal(run(f, IPPROTO_TCP, "2001:db8::10", "2001:db8::10", 80, ETH0)->verdict,
			 PC_VERDICT_DROP);
	/* Loopback is never checked. */
	assert_int_equal(run(f, IPPROTO_TCP, "::1", "::1", 80, LO)->verdict, PC_VERDICT_ACCEPT);
	/* IPv4 is not concerned. */
	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.99", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
}

static void test_fib_addrtype_and_oifname(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "t");
	struct pc_nft_chain *c = nb_base_chain(t, "pre", "filter", NF_INET_PRE_ROUTING, 0, NF_DROP);
	struct pc_nft_rule *r;
	uint32_t local = RTN_LOCAL;
	char eth0[16] = "eth0";

	r = nb_rule(c, "fib daddr type local fib saddr oifname eth0 accept");
	nb_fib(r, NFTA_FIB_F_DADDR, NFT_FIB_RESULT_ADDRTYPE, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &local, 4);
	nb_fib(r, NFTA_FIB_F_SADDR, NFT_FIB_RESULT_OIFNAME, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, eth0, 16);
	nb_accept(r);

	assert_int_equal(run(f, IPPROTO_TCP, "198.18.0.9", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	/* 203.0.113.0/24 routes out of eth1. */
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_DROP);
	/* eth1's address is local too (no device restriction). */
	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.99", "203.0.113.10", 80, ETH0)->verdict,
			 PC_VERDICT_DROP); /* saddr's route is eth1 */
	assert_int_equal(run(f, IPPROTO_TCP, "198.18.0.9", "203.0.113.10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	/* Not local: unicast. */
	f->ni.forwarding_v4 = true;
	assert_int_equal(run(f, IPPROTO_TCP, "198.18.0.9", "198.51.100.2", 80, ETH0)->verdict,
			 PC_VERDICT_DROP);
}

/* --- xtables compat --------------------------------------------------------------------- */

/* iptables-nft: -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT;
 * -A INPUT -p tcp -m multiport --dports 22,80 -j ACCEPT; -A INPUT -p tcp -j REJECT
 * --reject-with icmp-host-prohibited */
static void test_xt_compat(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_IPV4, "filter");
	struct pc_nft_chain *c =
	    nb_base_chain(t, "INPUT", "filter", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	struct pc_nft_rule *r;
	struct xt_conntrack_mtinfo3 ct = {};
	struct xt_multiport_v1 mp = {};
	struct xt_tcp tcp = {
	    .spts = {0, 65535}, .dpts = {0, 65535}, .flg_mask = 0x17, .flg_cmp = 0x02};
	struct ipt_reject_info rej = {.with = IPT_ICMP_HOST_PROHIBITED};
	const char comment[256] = "allow ssh and web";

	ct.match_flags = XT_CONNTRACK_STATE;
	ct.state_mask =
	    XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED) | XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
	r = nb_rule(c, "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
	nb_xt(r, false, "conntrack", 3, &ct, sizeof(ct));
	nb_accept(r);

	mp.flags = XT_MULTIPORT_DESTINATION;
	mp.count = 3;
	mp.ports[0] = 22;
	mp.ports[1] = 80;
	mp.ports[2] = 90;
	mp.pflags[1] = 1; /* 80:90 */
	r = nb_rule(c, "-p tcp -m multiport --dports 22,80:90 --syn -m comment -j ACCEPT");
	nb_l4proto(r, IPPROTO_TCP);
	nb_xt(r, false, "multiport", 1, &mp, sizeof(mp));
	nb_xt(r, false, "tcp", 0, &tcp, sizeof(tcp));
	nb_xt(r, false, "comment", 0, comment, sizeof(comment));
	nb_accept(r);

	r = nb_rule(c, "-p tcp -j REJECT --reject-with icmp-host-prohibited");
	nb_l4proto(r, IPPROTO_TCP);
	nb_xt(r, true, "REJECT", 0, &rej, sizeof(rej));

	assert_int_equal(tcp4(f, 22)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(tcp4(f, 85)->verdict, PC_VERDICT_ACCEPT);
	assert_reject(tcp4(f, 443), 3, 10);
	assert_int_equal(f->res.trace[0].action, PC_TRACE_NOMATCH);
	assert_int_equal(f->res.trace[2].action, PC_TRACE_REJECT);

	/* --ctstate NEW matches. */
	ct.state_mask = XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
	memcpy(f->rs.tables[0].chains[0].rules[0].exprs[0].xt.info, &ct, sizeof(ct));
	assert_int_equal(tcp4(f, 443)->verdict, PC_VERDICT_ACCEPT);
}

/* --- runtime state ---------------------------------------------------------------------- */

static void test_limit(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_rule *r;

	/* tcp dport 22 limit rate 3/minute accept; then policy drop: depends. */
	r = nb_rule(c, "tcp dport 22 limit rate 3/minute accept");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	nb_simple(r, PC_NFT_EXPR_LIMIT, "limit");
	nb_accept(r);
	tcp4(f, 22);
	assert_int_equal(f->res.verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "limit"));
	assert_string_equal(f->res.rule.text, "tcp dport 22 limit rate 3/minute accept");
	assert_int_equal(f->res.trace[f->res.n_trace - 1].action, PC_TRACE_UNKNOWN);
	/* A port the limited rule does not concern is exact. */
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_DROP);

	/* If what follows accepts anyway, the limit does not matter. */
	r = nb_rule(&tbl(f, 0)->chains[0], "tcp dport 22 accept");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	nb_accept(r);
	tcp4(f, 22);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(f->res.rule.text, "tcp dport 22 limit rate 3/minute accept");
}

static void test_unknown_expression(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_ACCEPT);
	struct pc_nft_rule *r = nb_rule(c, "tcp option maxseg size 1400 drop");

	nb_simple(r, PC_NFT_EXPR_UNKNOWN, "exthdr");
	nb_drop(r);
	tcp4(f, 80);
	assert_int_equal(f->res.verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "exthdr"));

	/* A rule that breaks before reaching it is exact. */
	pc_nft_ruleset_clear(&f->rs);
	c = input_chain(f, NF_ACCEPT);
	r = nb_rule(c, "udp dport 53 numgen");
	nb_l4proto(r, IPPROTO_UDP);
	nb_simple(r, PC_NFT_EXPR_NUMGEN, "numgen");
	nb_drop(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
}

static void test_blind_spot(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_ACCEPT);

	nb_counter(nb_rule(c, "counter"));
	f->rs.blind_spot = strdup("iptables-legacy rules are loaded");
	tcp4(f, 80);
	assert_int_equal(f->res.verdict, PC_VERDICT_UNKNOWN);
	assert_string_equal(f->res.unknown_reason, "iptables-legacy rules are loaded");
	assert_int_equal(f->res.n_trace, 2);
}

/* --- the incident ----------------------------------------------------------------------- */

/* firewalld's inet table as 1.x writes it: zone dispatch by source set and interface, the
 * catch-all reject; Docker publishes 8000 with a DNAT in an ip nat table. */
static void incident_ruleset(struct nb_fx *f)
{
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "firewalld");
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;
	struct pc_nft_set *s;

	s = nb_set(t, "trusted_src", NFT_SET_INTERVAL, 4);
	nb_elem_prefix(s, "198.18.0.0/15");

	c = nb_base_chain(t, "filter_INPUT", "filter", NF_INET_LOCAL_IN, 10, NF_ACCEPT);
	r = nb_rule(c, "ct state { established, related } accept");
	nb_ct_state(r, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
	nb_accept(r);
	r = nb_rule(c, "ct status dnat accept");
	nb_ct_status(r, IPS_DST_NAT);
	nb_accept(r);
	r = nb_rule(c, "iifname \"lo\" accept");
	nb_iifname(r, "lo", false);
	nb_accept(r);
	r = nb_rule(c, "ct state invalid drop");
	nb_ct_state(r, NF_CT_STATE_INVALID_BIT);
	nb_drop(r);
	nb_jump(nb_rule(c, "jump filter_INPUT_ZONES"), "filter_INPUT_ZONES");
	nb_reject(nb_rule(c, "reject with icmpx admin-prohibited"), NFT_REJECT_ICMPX_UNREACH,
		  NFT_REJECT_ICMPX_ADMIN_PROHIBITED);

	c = nb_chain(tbl(f, 0), "filter_INPUT_ZONES");
	r = nb_rule(c, "ip saddr @trusted_src goto filter_IN_trusted");
	nb_nfproto(r, NFPROTO_IPV4);
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	nb_lookup(r, "trusted_src", NFT_REG_1, 0, 0);
	nb_goto(r, "filter_IN_trusted");
	r = nb_rule(c, "iifname \"eth1\" goto filter_IN_internal");
	nb_iifname(r, "eth1", false);
	nb_goto(r, "filter_IN_internal");
	nb_goto(nb_rule(c, "goto filter_IN_public"), "filter_IN_public");

	c = nb_chain(tbl(f, 0), "filter_IN_public");
	nb_jump(nb_rule(c, "jump filter_IN_public_allow"), "filter_IN_public_allow");
	r = nb_rule(c, "meta l4proto { icmp, ipv6-icmp } accept");
	nb_l4proto(r, IPPROTO_ICMP);
	nb_accept(r);
	c = nb_chain(tbl(f, 0), "filter_IN_public_allow");
	r = nb_rule(c, "tcp dport 22 accept");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	nb_accept(r);
	c = nb_chain(tbl(f, 0), "filter_IN_internal");
	r = nb_rule(c, "tcp dport 80 accept");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 80);
	nb_accept(r);
	c = nb_chain(tbl(f, 0), "filter_IN_trusted");
	nb_accept(nb_rule(c, "accept"));

	t = nb_table(&f->rs, NFPROTO_IPV4, "nat");
	c = nb_base_chain(t, "PREROUTING", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	r = nb_rule(c, "fib daddr type local tcp dport 8000 dnat to 198.51.100.2:8000");
	{
		uint32_t local = RTN_LOCAL;

		nb_fib(r, NFTA_FIB_F_DADDR, NFT_FIB_RESULT_ADDRTYPE, NFT_REG_1);
		nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &local, 4);
	}
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 8000);
	nb_dnat_to(r, NFPROTO_IPV4, "198.51.100.2", 8000);
}

static void test_incident(void **state)
{
	struct nb_fx *f = *state;
	const struct pc_nft_result *r;

	incident_ruleset(f);
	f->ni.forwarding_v4 = true;

	/* nginx on 80 from the internet: administratively prohibited. */
	r = tcp4(f, 80);
	assert_reject(r, 3, 13);
	assert_string_equal(r->rule.table, "firewalld");
	assert_string_equal(r->rule.chain, "filter_INPUT");
	assert_string_equal(r->rule.text, "reject with icmpx admin-prohibited");
	/* IPv6: ICMPv6 administratively prohibited (1/1). */
	assert_reject(run(f, IPPROTO_TCP, "2001:db8:77::1", "2001:db8::10", 80, ETH0), 1, 1);
	/* ssh is allowed in public. */
	assert_int_equal(tcp4(f, 22)->verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(f->res.rule.chain, "filter_IN_public_allow");
	/* curl localhost works. */
	r = run(f, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 80, LO);
	assert_int_equal(r->verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(r->rule.text, "iifname \"lo\" accept");
	/* The internal zone on eth1 allows 80. */
	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.9", "203.0.113.10", 80, ETH1)->verdict,
			 PC_VERDICT_ACCEPT);
	/* A trusted source. */
	assert_int_equal(run(f, IPPROTO_TCP, "198.19.1.1", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	/* Docker's 8000 reaches the container, not the host. */
	r = tcp4(f, 8000);
	assert_int_equal(r->verdict, PC_VERDICT_ACCEPT);
	assert_true(r->forwarded);
	assert_int_equal(r->fwd_port, 8000);
}

/* DNAT to a local port: firewalld's "ct status dnat accept" lets it in before any zone. */
static void test_incident_dnat_local(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t;
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;

	incident_ruleset(f);
	t = nb_table(&f->rs, NFPROTO_IPV4, "local_nat");
	c = nb_base_chain(t, "pre", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	r = nb_rule(c, "tcp dport 9000 dnat to 192.0.2.10:80");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 9000);
	nb_dnat_to(r, NFPROTO_IPV4, "192.0.2.10", 80);

	tcp4(f, 9000);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);
	assert_true(f->res.dnat_local);
	assert_int_equal(f->res.fwd_port, 80);
	assert_string_equal(f->res.rule.text, "ct status dnat accept");
}

/* --- source boundaries ------------------------------------------------------------------ */

/* kube-proxy's load balancing: `numgen random mod 2 vmap { 0 : goto ep0, 1 : goto ep1 }`,
 * each endpoint chain a DNAT. Every draw forwards: the verdict stands with both
 * destinations at 50%; draws that disagree on the verdict make it unknown, with the
 * outcomes and shares. */
static void numgen_vmap(struct pc_nft_table *t, struct pc_nft_chain *c, const char *set,
			uint16_t dport, const int32_t *codes, const char *const *chains)
{
	struct pc_nft_rule *r = nb_rule(c, "tcp dport D numgen random mod 2 vmap");
	struct pc_nft_set *s = nb_set(t, set, NFT_SET_MAP | NFT_SET_ANONYMOUS, 4);
	struct pc_nft_expr *e;

	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, dport);
	e = nb_expr(r, PC_NFT_EXPR_NUMGEN, "numgen");

	s->data_type = NFT_DATA_VERDICT;
	e->numgen.dreg = NFT_REG_1;
	e->numgen.modulus = 2;
	e->numgen.type = NFT_NG_RANDOM;
	for (uint32_t i = 0; i < 2; i++)
		nb_elem_verdict(nb_elem(s, &i, 4, 0), codes[i], chains[i]);
	nb_lookup(r, set, NFT_REG_1, 0, 0);
}

static void test_numgen_endpoints(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_IPV4, "kube-proxy");
	static const int32_t gotos[] = {NFT_GOTO, NFT_GOTO}, verdicts[] = {NF_ACCEPT, NF_DROP};
	static const char *const eps[] = {"ep0", "ep1"}, *const none[] = {NULL, NULL};
	struct pc_nft_chain *c;
	char buf[PC_ADDRSTRLEN];

	nb_dnat_to(nb_rule(nb_chain(t, "ep0"), "dnat to 198.51.100.2:80"), NFPROTO_IPV4,
		   "198.51.100.2", 80);
	nb_dnat_to(nb_rule(nb_chain(t, "ep1"), "dnat to 198.51.100.3:80"), NFPROTO_IPV4,
		   "198.51.100.3", 80);
	c = nb_base_chain(t, "nat-prerouting", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	numgen_vmap(t, c, "__map0", 8000, gotos, eps);
	f->ni.forwarding_v4 = true;
	tcp4(f, 8000);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);
	assert_true(f->res.forwarded);
	assert_int_equal(f->res.n_endpoints, 2);
	assert_string_equal(pc_addr_to_string(&f->res.endpoints[0].addr, buf), "198.51.100.2");
	assert_string_equal(pc_addr_to_string(&f->res.endpoints[1].addr, buf), "198.51.100.3");
	assert_true(f->res.endpoints[0].share == 0.5 && f->res.endpoints[1].share == 0.5);

	/* A draw between accept and drop: unknown, saying so. */
	t = nb_table(&f->rs, NFPROTO_IPV4, "lottery");
	c = nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	numgen_vmap(t, c, "__map1", 22, verdicts, none);
	run(f, IPPROTO_TCP, "203.0.113.9", "192.0.2.10", 22, ETH0);
	assert_int_equal(f->res.verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "depends on the draw: accept 50%, drop 50%"));
}

/* SNAT with fully-random ports and no range: the kernel draws the port, so a rule on the
 * reply's destination port cannot be decided; the connection's own verdict can. */
static void test_snat_random_port(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_IPV4, "nat");
	struct pc_nft_chain *c = nb_base_chain(t, "in", "nat", NF_INET_LOCAL_IN, 100, NF_ACCEPT);
	struct pc_nft_rule *r = nb_rule(c, "snat to 192.0.2.10 fully-random");
	uint8_t a[4] = {192, 0, 2, 10};
	uint16_t p40000 = htons(40000);

	nb_imm(r, NFT_REG_1, a, 4);
	nb_nat(r, NFT_NAT_SNAT, NFPROTO_IPV4, NFT_REG_1, 0);
	r->exprs[r->n_exprs - 1].nat.flags = NF_NAT_RANGE_PROTO_RANDOM_FULLY;
	tcp4(f, 22);
	assert_int_equal(f->res.verdict, PC_VERDICT_ACCEPT);

	c = nb_base_chain(tbl(f, 0), "late", "filter", NF_INET_LOCAL_IN, 200, NF_ACCEPT);
	r = nb_rule(c, "ct reply proto-dst 40000 drop");
	nb_ct(r, NFT_CT_PROTO_DST, NFT_REG_1, IP_CT_DIR_REPLY);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &p40000, 2);
	nb_drop(r);
	tcp4(f, 22);
	assert_int_equal(f->res.verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "drew at random"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_empty_ruleset, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_numgen_endpoints, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_snat_random_port, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_and_dport, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_register_aliasing, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_payload_zero_padding, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_payload_header_bytes, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_payload_unknowns, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_cmp_ops, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_range, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_bitwise_shift_byteorder, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_meta, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_iifname_wildcard, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_iifname_raw_bytes, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_trace_detail_cut, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_jump_goto_return, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_jump_stack, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_base_chain_order, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_equal_priority, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_many_base_chains, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_ct_priority_tie, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_ct_state_by_hook, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_notrack, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_dnat_forwarded, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_nat_first_binding, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_nat_family_mismatch, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_redirect, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_nat_chain_policy_drop, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_reject_icmpx, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_reject_icmp_and_reset, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_reject_no_route_back, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_routing_decision, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_martians, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_fib_rpfilter_v6, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_fib_addrtype_and_oifname, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_xt_compat, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_limit, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_expression, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_blind_spot, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_incident, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_incident_dnat_local, setup, nb_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
