/* SPDX-License-Identifier: MIT */
/*
 * The engine's set lookups on rulesets built in memory: hash and interval sets, inverted
 * lookups, concatenations, catch-all elements, maps and verdict maps, dynset, a large
 * set. The host and helpers: nftvm_fixture.h (shared with test_nftvm.c).
 */
/* cmocka and its prerequisites, nftbuild.h, the netfilter headers: with the fixture. */
#include "nftvm_fixture.h"

/* --- sets ------------------------------------------------------------------------------- */

static void test_lookup_hash_and_inverted(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_set *s;
	struct pc_nft_rule *r;
	uint16_t p;

	s = nb_set(tbl(f, 0), "ports", 0, 2);
	p = htons(22);
	nb_elem(s, &p, 2, 0);
	p = htons(443);
	nb_elem(s, &p, 2, 0);
	s = nb_set(tbl(f, 0), "blocked", 0, 2);
	p = htons(443);
	nb_elem(s, &p, 2, 0);

	c = &tbl(f, 0)->chains[0];
	r = nb_rule(c, "tcp dport != @blocked tcp dport @ports accept");
	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "blocked", NFT_REG_1, 0, NFT_LOOKUP_F_INV);
	nb_lookup(r, "ports", NFT_REG_1, 0, 0);
	nb_accept(r);

	assert_int_equal(tcp4(f, 22)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(tcp4(f, 443)->verdict, PC_VERDICT_DROP);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_DROP);
}

/* Interval sets as the rbtree holds them: start, end + 1 flagged INTERVAL_END; the
 * last interval reaching the maximum has no end element. */
static void test_lookup_intervals(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_set *s;
	struct pc_nft_rule *r;

	s = nb_set(tbl(f, 0), "nets", NFT_SET_INTERVAL, 4);
	nb_elem_prefix(s, "203.0.113.0/25");
	nb_elem_prefix(s, "240.0.0.0/4"); /* up to 255.255.255.255: open-ended */
	c = &tbl(f, 0)->chains[0];
	r = nb_rule(c, "ip saddr @nets accept");
	nb_nfproto(r, NFPROTO_IPV4);
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	nb_lookup(r, "nets", NFT_REG_1, 0, 0);
	nb_accept(r);

	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.0", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.127", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	/* The end element itself is outside. */
	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.128", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_DROP);
	assert_int_equal(run(f, IPPROTO_TCP, "203.0.112.255", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_DROP);
	/* The open-ended interval (240.0.0.0/4 has no end element). */
	assert_int_equal(run(f, IPPROTO_TCP, "250.1.2.3", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
}

/* Adjacent intervals [a, b] and [b+1, c] without merging: an end and a start of the same
 * key; the start wins. */
static void test_lookup_adjacent_intervals(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_set *s;
	struct pc_nft_rule *r;

	s = nb_set(tbl(f, 0), "nets", NFT_SET_INTERVAL, 4);
	nb_elem_prefix(s, "203.0.113.0/25");
	nb_elem_prefix(s, "203.0.113.128/26");
	c = &tbl(f, 0)->chains[0];
	r = nb_rule(c, "ip saddr @nets accept");
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	nb_lookup(r, "nets", NFT_REG_1, 0, 0);
	nb_accept(r);

	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.128", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.191", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.192", "192.0.2.10", 80, ETH0)->verdict,
			 PC_VERDICT_DROP);
}

/* ip saddr . tcp dport { 203.0.113.0/24 . 22-23, 0.0.0.0/0 . 443 }: pipapo ranges with
 * 4-byte field slots. */
static void test_lookup_concat_intervals(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_set *s;
	struct pc_nft_rule *r;
	uint8_t lens[2] = {4, 2};
	uint8_t k[8] = {}, ke[8] = {};

	s = nb_set(tbl(f, 0), "svc", NFT_SET_INTERVAL, 8);
	nb_set_fields(s, 2, lens);
	addr4("203.0.113.0", k);
	addr4("203.0.113.255", ke);
	k[4] = 0, k[5] = 22, ke[4] = 0, ke[5] = 23;
	nb_elem_range(s, k, ke, 8);
	memset(k, 0, 8);
	memset(ke, 0, 8);
	memset(ke, 0xff, 4);
	k[4] = ke[4] = 443 >> 8, k[5] = ke[5] = 443 & 0xff;
	nb_elem_range(s, k, ke, 8);

	c = &tbl(f, 0)->chains[0];
	r = nb_rule(c, "ip saddr . tcp dport @svc accept");
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
	nb_lookup(r, "svc", NFT_REG_1, 0, 0);
	nb_accept(r);

	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.9", "192.0.2.10", 23, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.9", "192.0.2.10", 24, ETH0)->verdict,
			 PC_VERDICT_DROP);
	assert_int_equal(run(f, IPPROTO_TCP, "198.18.0.9", "192.0.2.10", 22, ETH0)->verdict,
			 PC_VERDICT_DROP);
	assert_int_equal(run(f, IPPROTO_TCP, "198.18.0.9", "192.0.2.10", 443, ETH0)->verdict,
			 PC_VERDICT_ACCEPT);
}

/* Exact concatenations compare the whole key, padding included. */
static void test_lookup_concat_hash(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_set *s;
	struct pc_nft_rule *r;
	uint8_t lens[2] = {4, 2}, k[8] = {};

	s = nb_set(tbl(f, 0), "pairs", 0, 8);
	nb_set_fields(s, 2, lens);
	addr4("203.0.113.9", k);
	k[4] = 0, k[5] = 80;
	nb_elem(s, k, 8, 0);
	c = &tbl(f, 0)->chains[0];
	r = nb_rule(c, "ip saddr . tcp dport @pairs accept");
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
	nb_lookup(r, "pairs", NFT_REG_1, 0, 0);
	nb_accept(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(tcp4(f, 81)->verdict, PC_VERDICT_DROP);
}

/* Inverted lookups in a set with a catch-all element changed meaning across kernels. */
static void test_lookup_inverted_catchall(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_ACCEPT);
	struct pc_nft_set *s;
	struct pc_nft_rule *r;
	uint16_t p = htons(86);

	s = nb_set(tbl(f, 0), "s", 0, 2);
	nb_elem(s, &p, 2, 0);
	nb_elem_catchall(s);
	c = &tbl(f, 0)->chains[0];
	r = nb_rule(c, "tcp dport != @s drop");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "s", NFT_REG_1, 0, NFT_LOOKUP_F_INV);
	nb_drop(r);
	r = nb_rule(c, "tcp dport @s accept");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "s", NFT_REG_1, 0, 0);
	nb_accept(r);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_UNKNOWN);
	assert_non_null(strstr(f->res.unknown_reason, "catch-all"));
	/* Not inverted: the catch-all matches any key. */
	c->rules[0].exprs[1].lookup.flags = 0;
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_DROP);
}

/* dynset: adding to a set breaks when it is full or a meter says so: both outcomes are
 * explored; a later lookup in that set is not exact. */
static void test_dynset(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_ACCEPT);
	struct pc_nft_rule *r;
	struct pc_nft_expr *e;

	nb_set(tbl(f, 0), "seen", 0, 4);
	c = &tbl(f, 0)->chains[0];
	r = nb_rule(c, "tcp dport 22 add @seen { ip saddr } counter");
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	e = nb_expr(r, PC_NFT_EXPR_DYNSET, "dynset");
	e->dynset.op = NFT_DYNSET_OP_ADD;
	e->dynset.sreg_key = NFT_REG_1;
	e->dynset.set = strdup("seen");
	/* Whether or not the add succeeds, the policy accepts. */
	assert_int_equal(tcp4(f, 22)->verdict, PC_VERDICT_ACCEPT);
	r = nb_rule(c, "ip saddr @seen drop");
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	nb_lookup(r, "seen", NFT_REG_1, 0, 0);
	nb_drop(r);
	assert_int_equal(tcp4(f, 22)->verdict, PC_VERDICT_UNKNOWN);
	/* Other ports never reach the dynset: exact (the set is empty in the snapshot). */
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
}

static void test_maps(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_DROP);
	struct pc_nft_set *s;
	struct pc_nft_rule *r;
	struct pc_nft_set_elem *e;
	char name[16] = "eth1";
	uint32_t m = 5;
	uint16_t p;

	s = nb_set(tbl(f, 0), "zones", NFT_SET_MAP, 16);
	s->data_type = NFT_DATA_VERDICT;
	e = nb_elem(s, name, 16, 0);
	nb_elem_verdict(e, NFT_GOTO, "zone_internal");
	e = nb_elem_catchall(s);
	nb_elem_verdict(e, NFT_GOTO, "zone_public");

	s = nb_set(tbl(f, 0), "marks", NFT_SET_MAP, 2);
	s->data_type = 0;
	s->data_len = 4;
	p = htons(80);
	e = nb_elem(s, &p, 2, 0);
	nb_bytes(s, &e->data, &e->data_len, &m, 4);

	c = &tbl(f, 0)->chains[0];
	r = nb_rule(c, "iifname vmap @zones");
	nb_meta(r, NFT_META_IIFNAME, NFT_REG_1);
	nb_lookup(r, "zones", NFT_REG_1, NFT_REG_VERDICT, 0);

	c = nb_chain(tbl(f, 0), "zone_internal");
	nb_accept(nb_rule(c, "accept"));
	c = nb_chain(tbl(f, 0), "zone_public");
	r = nb_rule(c, "meta mark set tcp dport map @marks");
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_lookup(r, "marks", NFT_REG_1, NFT_REG_1, 0);
	nb_meta_set(r, NFT_META_MARK, NFT_REG_1);
	r = nb_rule(c, "meta mark 5 accept");
	nb_meta(r, NFT_META_MARK, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, &m, 4);
	nb_accept(r);

	assert_int_equal(run(f, IPPROTO_TCP, "203.0.113.9", "203.0.113.10", 81, ETH1)->verdict,
			 PC_VERDICT_ACCEPT);
	assert_int_equal(tcp4(f, 80)->verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(f->res.trace[0].detail, "goto zone_public");
	assert_int_equal(tcp4(f, 81)->verdict, PC_VERDICT_DROP);
}

/* 200,000 elements: the index makes each lookup a binary search. */
static void test_large_set(void **state)
{
	struct nb_fx *f = *state;
	struct pc_nft_chain *c = input_chain(f, NF_ACCEPT);
	struct pc_nft_set *s;
	struct pc_nft_rule *r;

	s = nb_set(tbl(f, 0), "ban", 0, 4);
	s->elems = calloc(200000, sizeof(*s->elems));
	assert_non_null(s->elems);
	s->n_elems = 200000;
	for (uint32_t i = 0; i < 200000; i++) {
		uint32_t a = htonl(0xc6120000u + i * 2); /* 198.18.0.0 + 2i */

		nb_bytes(s, &s->elems[i].key, &s->elems[i].key_len, &a, 4);
	}
	c = &tbl(f, 0)->chains[0];
	r = nb_rule(c, "ip saddr @ban drop");
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	nb_lookup(r, "ban", NFT_REG_1, 0, 0);
	nb_drop(r);
	for (int i = 0; i < 1000; i++) {
		char buf[32];
		uint32_t a = 0xc6120000u + (uint32_t)i * 7;

		snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
			 (a >> 8) & 0xff, a & 0xff);
		assert_int_equal(run(f, IPPROTO_TCP, buf, "192.0.2.10", 80, ETH0)->verdict,
				 (i * 7) % 2 == 0 ? PC_VERDICT_DROP : PC_VERDICT_ACCEPT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lookup_hash_and_inverted, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_intervals, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_adjacent_intervals, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_concat_intervals, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_concat_hash, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_lookup_inverted_catchall, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_dynset, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_maps, setup, nb_fx_teardown),
	    cmocka_unit_test_setup_teardown(test_large_set, setup, nb_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
