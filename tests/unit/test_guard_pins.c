/* SPDX-License-Identifier: MIT */
/*
 * The rule port guards (nftvm_guard.c) pinned by hand: the guard vm_rule_guard reads from
 * each way a rule can test the destination port (comparisons, ranges, constant sets, what
 * overwrites or masks the port's register, what ends the scan, loads into the last
 * register words, rules that read registers they did not write), and verdicts where
 * passing over a rule would be wrong, guards on and off. The random comparison is
 * test_guard_prop.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nftbuild.h"
#include "prop_host.h"

#include "nftvm_internal.h"

static const char *const opname[] = {"==", "!=", "<", "<=", ">", ">="};

#define ANY 0x0000ffffu
#define EMPTY 0x00010000u

static uint32_t G(uint16_t lo, uint16_t hi)
{
	return (uint32_t)lo << 16 | hi;
}

static struct pc_nft_result eval_path(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
				      const struct pc_flow *f, bool guards, bool trace)
{
	struct pc_nft_result r = {0};

	pc_nft_use_port_guards = guards;
	assert_int_equal(pc_nft_eval_path(rs, ni, f, trace, &r), 0);
	pc_nft_use_port_guards = true;
	return r;
}

/* An inet filter table with an input chain of policy @policy; rules are added to it. */
static struct pc_nft_chain *input(struct pc_nft_ruleset *rs, uint32_t policy)
{
	struct pc_nft_table *t = nb_table(rs, NFPROTO_INET, "filter");

	return nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, policy);
}

/* The guard of the last rule of @c (the first table's). */
static uint32_t guard_last(struct pc_nft_ruleset *rs, const struct pc_nft_chain *c, bool *inherited)
{
	*inherited = false;
	return vm_rule_guard(&rs->tables[0], &c->rules[c->n_rules - 1], inherited);
}

/* A rule `meta l4proto tcp th dport OP V` without a verdict. */
static struct pc_nft_rule *dport_rule(struct pc_nft_chain *c, uint32_t op, uint16_t v)
{
	char t[64];
	struct pc_nft_rule *r;

	snprintf(t, sizeof(t), "tcp dport %s %u", opname[op], v);
	r = nb_rule(c, t);

	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_cmp_be16(r, op, NFT_REG_1, v);
	return r;
}

/* A constant anonymous set of ports (or not constant, or a map). */
static struct pc_nft_set *port_set(struct pc_nft_ruleset *rs, const char *name, uint32_t flags,
				   const uint16_t *ports, size_t n)
{
	struct pc_nft_set *s = nb_set(&rs->tables[0], name, flags, 2);

	for (size_t i = 0; i < n; i++) {
		uint16_t k = htons(ports[i]);

		nb_elem(s, &k, 2, 0);
	}
	return s;
}

/* The guard of each kind of port test. */
static void test_guard_pins(void **state)
{
	struct pc_nft_ruleset rs = {0};
	struct pc_nft_chain *c = input(&rs, NF_DROP);
	struct pc_nft_rule *r;
	struct pc_nft_set *s;
	static const uint16_t p22_80[] = {22, 80};
	uint16_t lo = htons(100), hi = htons(200), k, e;
	bool inh;
	uint32_t one = 1;

	(void)state;
	/* tcp dport 22 accept */
	nb_accept(dport_rule(c, NFT_CMP_EQ, 22));
	assert_int_equal(guard_last(&rs, c, &inh), G(22, 22));
	assert_false(inh);
	dport_rule(c, NFT_CMP_LT, 1024);
	assert_int_equal(guard_last(&rs, c, &inh), G(0, 1023));
	dport_rule(c, NFT_CMP_GT, 1023);
	assert_int_equal(guard_last(&rs, c, &inh), G(1024, 65535));
	dport_rule(c, NFT_CMP_LTE, 1024);
	assert_int_equal(guard_last(&rs, c, &inh), G(0, 1024));
	dport_rule(c, NFT_CMP_GTE, 1024);
	assert_int_equal(guard_last(&rs, c, &inh), G(1024, 65535));
	dport_rule(c, NFT_CMP_LTE, 0);
	assert_int_equal(guard_last(&rs, c, &inh), G(0, 0));
	dport_rule(c, NFT_CMP_LT, 0); /* nothing passes */
	assert_int_equal(guard_last(&rs, c, &inh), EMPTY);
	dport_rule(c, NFT_CMP_GTE, 65535);
	assert_int_equal(guard_last(&rs, c, &inh), G(65535, 65535));
	dport_rule(c, NFT_CMP_GT, 65535);
	assert_int_equal(guard_last(&rs, c, &inh), EMPTY);
	dport_rule(c, NFT_CMP_NEQ, 22); /* a hole */
	assert_int_equal(guard_last(&rs, c, &inh), ANY);
	/* two tests: the intersection */
	r = dport_rule(c, NFT_CMP_GTE, 1000);
	nb_cmp_be16(r, NFT_CMP_LT, NFT_REG_1, 2000);
	assert_int_equal(guard_last(&rs, c, &inh), G(1000, 1999));
	r = dport_rule(c, NFT_CMP_GT, 2000);
	nb_cmp_be16(r, NFT_CMP_LT, NFT_REG_1, 1000);
	assert_int_equal(guard_last(&rs, c, &inh), EMPTY);

	/* tcp dport 100-200; != 100-200 is a hole */
	r = nb_rule(c, "tcp dport 100-200");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_05);
	nb_range(r, NFT_RANGE_EQ, NFT_REG32_05, &lo, &hi, 2);
	assert_int_equal(guard_last(&rs, c, &inh), G(100, 200));
	r = nb_rule(c, "tcp dport != 100-200");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_range(r, NFT_RANGE_NEQ, NFT_REG_1, &lo, &hi, 2);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);

	/* tcp dport { 22, 80 }: the span of a constant set */
	port_set(&rs, "__set0", NFT_SET_ANONYMOUS | NFT_SET_CONSTANT, p22_80, 2);
	port_set(&rs, "plain", 0, p22_80, 2);
	s = port_set(&rs, "vmap", NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP, p22_80, 2);
	s->data_type = NFT_DATA_VERDICT;
	nb_elem_verdict(&s->elems[0], NF_ACCEPT, NULL);
	nb_elem_verdict(&s->elems[1], NF_ACCEPT, NULL);
	c = &rs.tables[0].chains[0];
	r = nb_rule(c, "tcp dport { 22, 80 }");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "__set0", NFT_REG_1, 0, 0);
	assert_int_equal(guard_last(&rs, c, &inh), G(22, 80));
	r = nb_rule(c, "tcp dport @plain (not constant: may change)");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "plain", NFT_REG_1, 0, 0);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);
	r = nb_rule(c, "tcp dport != { 22, 80 }");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "__set0", NFT_REG_1, 0, NFT_LOOKUP_F_INV);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);
	r = nb_rule(c, "tcp dport vmap { 22 : accept, 80 : accept }");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "vmap", NFT_REG_1, NFT_REG_VERDICT, 0);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);

	/* Interval sets: rbtree elements (start, end + 1), the last maybe open-ended; and
	 * elements with their own ends. */
	s = nb_set(&rs.tables[0], "iv", NFT_SET_CONSTANT | NFT_SET_INTERVAL, 2);
	k = htons(1000), e = htons(2001);
	nb_elem(s, &k, 2, 0);
	nb_elem(s, &e, 2, NFT_SET_ELEM_INTERVAL_END);
	k = htons(3000);
	nb_elem(s, &k, 2, 0); /* 3000-65535 */
	s = nb_set(&rs.tables[0], "ends", NFT_SET_CONSTANT | NFT_SET_INTERVAL, 2);
	k = htons(100), e = htons(200);
	nb_elem_range(s, &k, &e, 2);
	k = htons(300), e = htons(400);
	nb_elem_range(s, &k, &e, 2);
	c = &rs.tables[0].chains[0];
	r = nb_rule(c, "tcp dport { 1000-2000, 3000-65535 }");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "iv", NFT_REG_1, 0, 0);
	assert_int_equal(guard_last(&rs, c, &inh), G(1000, 65535));
	r = nb_rule(c, "tcp dport { 100-200, 300-400 }");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "ends", NFT_REG_1, 0, 0);
	assert_int_equal(guard_last(&rs, c, &inh), G(100, 400));

	/* A meta load into the last register word is a write of that word, not one past the
	 * register file (the test after it reads what the rule wrote); an interface name load
	 * writes 16 bytes, the compare of all of them reads nothing inherited. */
	r = nb_rule(c, "meta l4proto > r32_15, r32_15 == tcp, tcp dport 22");
	nb_meta(r, NFT_META_L4PROTO, NFT_REG32_15);
	nb_cmp_u8(r, NFT_CMP_EQ, NFT_REG32_15, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 22);
	assert_int_equal(guard_last(&rs, c, &inh), G(22, 22));
	assert_false(inh);
	r = nb_rule(c, "iifname \"eth0\" tcp dport 22");
	nb_iifname(r, "eth0", false);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 22);
	assert_int_equal(guard_last(&rs, c, &inh), G(22, 22));
	assert_false(inh);
	/* A mark is one word: a compare of two words after it reads one it did not write. */
	r = nb_rule(c, "meta mark > r32_0, r32_0..r32_1 == 0");
	nb_meta(r, NFT_META_MARK, NFT_REG32_00);
	{
		static const uint8_t zero[8] = {0};

		nb_cmp(r, NFT_CMP_EQ, NFT_REG32_00, zero, 8);
	}
	guard_last(&rs, c, &inh);
	assert_true(inh);

	/* The port's register overwritten before the test: by a meta load, by a payload
	 * load, by an immediate; or masked. */
	r = nb_rule(c, "th dport > r1, meta mark > r1, r1 == 22");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_meta(r, NFT_META_MARK, NFT_REG_1);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 22);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);
	r = nb_rule(c, "th dport > r1, th sport > r1, r1 == 40000");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 40000);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);
	r = nb_rule(c, "th dport > r32_0, th sport > r32_1, r32_0 == 22 (another word: kept)");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_00);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_01);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 22); /* the same bytes by their other name */
	assert_int_equal(guard_last(&rs, c, &inh), G(22, 22));
	r = nb_rule(c, "th dport & 0xff00 == 0x1600");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	k = htons(0xff00);
	nb_bitwise(r, NFT_REG_1, NFT_REG_1, 2, &k, NULL);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 0x1600);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);
	r = nb_rule(c, "th dport > r1, r1 := 22, r1 == 22");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	k = htons(22);
	nb_imm(r, NFT_REG_1, &k, 2);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 22);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);

	/* An effect before the port test ends the scan; tests before it still count, and
	 * a counter is no effect. */
	r = nb_rule(c, "meta mark set 1 tcp dport 22");
	nb_imm(r, NFT_REG_1, &one, 4);
	nb_meta_set(r, NFT_META_MARK, NFT_REG_1);
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);
	r = nb_rule(c, "limit rate 1/second tcp dport 22");
	nb_simple(r, PC_NFT_EXPR_LIMIT, "limit");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);
	r = nb_rule(c, "jump (immediate verdict) then tcp dport 22");
	nb_verdict(r, NFT_JUMP, "input");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	assert_int_equal(guard_last(&rs, c, &inh), ANY);
	r = nb_rule(c, "tcp dport 22 meta mark set 1 tcp dport 80");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	nb_imm(r, NFT_REG_1, &one, 4);
	nb_meta_set(r, NFT_META_MARK, NFT_REG_1);
	nb_dport(r, 80);
	assert_int_equal(guard_last(&rs, c, &inh), G(22, 22));
	r = nb_rule(c, "counter tcp dport 22");
	nb_counter(r);
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	assert_int_equal(guard_last(&rs, c, &inh), G(22, 22));
	assert_false(inh);

	/* A register read that the rule did not write. */
	r = nb_rule(c, "r2 == 22 (written by no load of this rule)");
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_2, 22);
	guard_last(&rs, c, &inh);
	assert_true(inh);
	pc_nft_ruleset_clear(&rs);
}

/* Evaluate TCP @dport from 203.0.113.9 with guards @on or off. */
static enum pc_verdict verdict(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
			       uint16_t dport, uint16_t sport, bool on)
{
	struct pc_flow f = nb_flow(IPPROTO_TCP, "203.0.113.9", "192.0.2.10", dport, ETH0);
	struct pc_nft_result r;
	enum pc_verdict v;

	f.sport = sport;
	r = eval_path(rs, ni, &f, on, true);
	v = r.verdict;
	pc_nft_result_clear(&r);
	return v;
}

/* Where passing over a rule would be wrong, the guards do not: through verdicts. */
static void test_guard_verdicts(void **state)
{
	struct pc_netif ni = {0};
	struct pc_nft_ruleset rs = {0};
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;
	uint32_t one = 1;
	uint16_t k, e;
	bool inh;

	(void)state;
	prop_host(&ni);

	/* The mark set before the port test is set whatever the port: a later rule sees it. */
	c = input(&rs, NF_DROP);
	r = nb_rule(c, "meta mark set 1 tcp dport 22 drop");
	nb_imm(r, NFT_REG_1, &one, 4);
	nb_meta_set(r, NFT_META_MARK, NFT_REG_1);
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	nb_drop(r);
	r = nb_rule(c, "meta mark 1 accept");
	nb_meta(r, NFT_META_MARK, NFT_REG_1);
	nb_cmp_u32(r, NFT_CMP_EQ, NFT_REG_1, 1);
	nb_accept(r);
	for (int on = 0; on < 2; on++) {
		assert_int_equal(verdict(&rs, &ni, 80, 40000, on), PC_VERDICT_ACCEPT);
		assert_int_equal(verdict(&rs, &ni, 22, 40000, on), PC_VERDICT_DROP);
	}
	pc_nft_ruleset_clear(&rs);

	/* A rule that stops at its port test leaves the port in a register; a later rule
	 * reads it without writing it after a ct load that writes only 4 bytes of its own
	 * register (ct original saddr of an IPv4 connection): no guards then (the review's
	 * counterexample: with `ct original saddr` taken as 16 bytes, the guard passed over
	 * the first rule and the second read nothing). */
	c = input(&rs, NF_DROP);
	r = nb_rule(c, "th dport > r32_1, r32_1 == 22 counter");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG32_01, 22);
	nb_counter(r);
	r = nb_rule(c, "ct original saddr > r1, r32_1 == 80 accept");
	nb_ct(r, NFT_CT_SRC, NFT_REG_1, 0);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG32_01, 80);
	nb_accept(r);
	for (int on = 0; on < 2; on++)
		assert_int_equal(verdict(&rs, &ni, 80, 40000, on), PC_VERDICT_ACCEPT);
	pc_nft_ruleset_clear(&rs);

	/* A rule changed in place after an evaluation: the guards follow once told. */
	c = input(&rs, NF_DROP);
	r = nb_rule(c, "tcp dport 22 accept");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	nb_accept(r);
	assert_int_equal(verdict(&rs, &ni, 80, 40000, true), PC_VERDICT_DROP);
	k = htons(80);
	nb_data(&c->rules[0], &c->rules[0].exprs[c->rules[0].n_exprs - 2].cmp.data, &k, 2);
	pc_nft_ruleset_changed(&rs);
	for (int on = 0; on < 2; on++)
		assert_int_equal(verdict(&rs, &ni, 80, 40000, on), PC_VERDICT_ACCEPT);
	pc_nft_ruleset_clear(&rs);

	/* A verdict before the port test: the tests after it never run. */
	c = input(&rs, NF_DROP);
	r = nb_rule(c, "accept, then tcp dport 22 (never evaluated)");
	nb_accept(r);
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	for (int on = 0; on < 2; on++)
		assert_int_equal(verdict(&rs, &ni, 80, 40000, on), PC_VERDICT_ACCEPT);
	pc_nft_ruleset_clear(&rs);

	/* A payload load over the port's register: the test is of the source port. */
	c = input(&rs, NF_DROP);
	r = nb_rule(c, "th dport > r1, th sport > r1, r1 == 40000 accept");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 40000);
	nb_accept(r);
	for (int on = 0; on < 2; on++) {
		assert_int_equal(verdict(&rs, &ni, 80, 40000, on), PC_VERDICT_ACCEPT);
		assert_int_equal(verdict(&rs, &ni, 80, 40001, on), PC_VERDICT_DROP);
	}
	pc_nft_ruleset_clear(&rs);

	/* Open-ended interval: 3000-65535 holds 5000. And the rule after a rule passed over
	 * still runs. */
	c = input(&rs, NF_DROP);
	{
		struct pc_nft_set *s =
		    nb_set(&rs.tables[0], "iv", NFT_SET_CONSTANT | NFT_SET_INTERVAL, 2);

		k = htons(1000), e = htons(2001);
		nb_elem(s, &k, 2, 0);
		nb_elem(s, &e, 2, NFT_SET_ELEM_INTERVAL_END);
		k = htons(3000);
		nb_elem(s, &k, 2, 0);
	}
	c = &rs.tables[0].chains[0];
	nb_drop(dport_rule(c, NFT_CMP_LT, 1000));
	r = nb_rule(c, "tcp dport { 1000-2000, 3000-65535 } accept");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "iv", NFT_REG_1, 0, 0);
	nb_accept(r);
	for (int on = 0; on < 2; on++) {
		assert_int_equal(verdict(&rs, &ni, 5000, 40000, on), PC_VERDICT_ACCEPT);
		assert_int_equal(verdict(&rs, &ni, 65535, 40000, on), PC_VERDICT_ACCEPT);
		assert_int_equal(verdict(&rs, &ni, 2000, 40000, on), PC_VERDICT_ACCEPT);
		assert_int_equal(verdict(&rs, &ni, 2001, 40000, on), PC_VERDICT_DROP);
		assert_int_equal(verdict(&rs, &ni, 999, 40000, on), PC_VERDICT_DROP);
	}
	pc_nft_ruleset_clear(&rs);

	/* A rule that reads what the rule before left in a register: with port 80 the first
	 * rule runs up to its port test and leaves 80 in r1, the second accepts on it.
	 * Passing over the first would leave r1 as it was: the ruleset gets no guards. */
	c = input(&rs, NF_DROP);
	nb_drop(dport_rule(c, NFT_CMP_EQ, 22));
	r = nb_rule(c, "r1 == 80 accept (r1 of the rule before)");
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, 80);
	nb_accept(r);
	guard_last(&rs, c, &inh);
	assert_true(inh);
	for (int on = 0; on < 2; on++) {
		assert_int_equal(verdict(&rs, &ni, 80, 40000, on), PC_VERDICT_ACCEPT);
		assert_int_equal(verdict(&rs, &ni, 81, 40000, on), PC_VERDICT_DROP);
		assert_int_equal(verdict(&rs, &ni, 22, 40000, on), PC_VERDICT_DROP);
	}
	pc_nft_use_port_guards = true;
	assert_null(vm_port_guards(&rs, &rs.tables[0], &rs.tables[0].chains[0]));
	pc_nft_ruleset_clear(&rs);

	/* The same without the second rule's read: guards, and a skipped rule is a NOMATCH
	 * entry of the trace. */
	c = input(&rs, NF_ACCEPT);
	nb_drop(dport_rule(c, NFT_CMP_EQ, 22));
	{
		const uint32_t *gs;
		struct pc_flow f = nb_flow(IPPROTO_TCP, "203.0.113.9", "192.0.2.10", 80, ETH0);
		struct pc_nft_result res = eval_path(&rs, &ni, &f, true, true);

		gs = vm_port_guards(&rs, &rs.tables[0], &rs.tables[0].chains[0]);
		assert_non_null(gs);
		assert_int_equal(gs[0], G(22, 22));
		assert_int_equal(res.verdict, PC_VERDICT_ACCEPT);
		assert_int_equal(res.n_trace, 2);
		assert_int_equal(res.trace[0].action, PC_TRACE_NOMATCH);
		assert_int_equal(res.trace[1].action, PC_TRACE_POLICY);
		pc_nft_result_clear(&res);
	}
	pc_nft_ruleset_clear(&rs);
	pc_netif_free(&ni);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guard_pins),
	    cmocka_unit_test(test_guard_verdicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
