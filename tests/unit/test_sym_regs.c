/* SPDX-License-Identifier: MIT */
/*
 * A register an expression writes holds what it wrote, whatever it held before: a
 * constant written over a register that held the symbolic source leaves nothing of the
 * source in it (vm_reg_out clears the taint of every word it writes; a payload load
 * writes its own). A 16-byte IPv6 address written over the source's 16 bytes must then
 * compare exactly, for every source: a taint left in any of its four words would make
 * the comparison depend on the client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "nftbuild.h"

static void host6(struct pc_netif *ni)
{
	nb_link(ni, 1, "lo", true);
	nb_link(ni, 2, "eth0", false);
	nb_ifaddr(ni, 2, "2001:db8:1::1/64");
	nb_route(ni, "::/0", RT_TABLE_MAIN, RTN_UNICAST, 2, "2001:db8:1::fffe", 1024);
	nb_route(ni, "2001:db8:1::/64", RT_TABLE_MAIN, RTN_UNICAST, 2, NULL, 256);
	nb_route(ni, "2001:db8:1::1/128", RT_TABLE_LOCAL, RTN_LOCAL, 2, NULL, 0);
}

/* `ip6 saddr` into a register, then the destination address as an immediate over it,
 * compared (@len bytes of it: 16, or the first 4, 8 or 12): accepted from every source. */
static void overwrite_then_compare(uint32_t len)
{
	struct pc_nft_ruleset rs = {0};
	struct pc_netif ni = {0};
	struct pc_nft_table *t;
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;
	struct pc_addr dst;
	struct pc_ivlist ia = {0}, ip = {0};
	struct pc_src_result *v = NULL;
	size_t n = 0;

	host6(&ni);
	assert_int_equal(pc_addr_from_string("2001:db8:1::1", &dst), 0);
	t = nb_table(&rs, NFPROTO_IPV6, "filter");
	c = nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	r = nb_rule(c, "ip6 saddr, then a constant, in reg 1: accept when it is the constant");
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, NFT_REG_1);
	nb_imm(r, NFT_REG_1, dst.bytes, 16);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, dst.bytes, len);
	nb_accept(r);

	struct pc_flow flow = nb_flow(IPPROTO_TCP, "2001:db8:ffff::7", "2001:db8:1::1", 22, 2);
	pc_ivlist_append(&ia, 0, ~(pc_u128)0);
	pc_ivlist_append(&ip, 1, 65535);
	assert_int_equal(pc_nft_eval_sources(&rs, &ni, &flow, &ia, &ip, &v, &n), 0);
	/* One path, accepted, with no test of the source: the source is not in the
	 * register any more. */
	assert_int_equal(n, 1);
	assert_int_equal(v[0].res.verdict, PC_VERDICT_ACCEPT);
	assert_int_equal(v[0].n_lits, 0);
	pc_src_results_free(v, n);
	pc_ivlist_clear(&ia);
	pc_ivlist_clear(&ip);
	pc_nft_ruleset_clear(&rs);
	pc_netif_free(&ni);
}

static void test_overwritten_source_whole(void **state)
{
	(void)state;
	overwrite_then_compare(16);
}

static void test_overwritten_source_prefix(void **state)
{
	(void)state;
	for (uint32_t len = 4; len < 16; len += 4)
		overwrite_then_compare(len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overwritten_source_whole),
	    cmocka_unit_test(test_overwritten_source_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
