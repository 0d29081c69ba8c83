/* SPDX-License-Identifier: MIT */
/*
 * The nftables snapshot, from dumps recorded in a scratch network namespace (kernel 6.18,
 * nft 1.0.6, iptables-nft 1.8.9): nft_ruleset.bin holds the replies of the GETTABLE,
 * GETCHAIN, GETSET, GETSETELEM (per set) and GETRULE dumps, in that order, of
 *   - firewalld 1.3's own ruleset (table inet firewalld, zone public, http and a rich rule),
 *   - table inet pct: sets of every kind (hash, interval, concatenated interval,
 *     concatenated hash, catch-all, map, verdict map with jump/goto and a catch-all, a
 *     timeout set two of whose elements had expired), anonymous sets and a binding chain,
 *     NAT, fib, reject, limit, objref, dynset, numgen, quota, connlimit, notrack, and
 *     expressions the model leaves unknown (exthdr, rt, hash, socket),
 *   - table ip dorm, dormant,
 *   - iptables-nft tables ip filter, ip6 filter, ip mangle with xt matches and targets,
 *   - netdev tables with one and two ingress devices.
 * nft_ruleset_terse.txt and nft_ruleset_full.txt are `nft -s -t -a list ruleset` and
 * `nft -a list ruleset` of the same namespace.
 *
 * test_live reads a ruleset loaded in a network namespace of its own (root only, skipped
 * otherwise): rules dumped chain by chain, large sets, texts of rules with inline
 * anonymous sets, texts rendered later (PC_NFT_READ_NO_TEXTS, pc_nft_texts_fill).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include <cmocka.h>

#include "../../daemon/sources/nftsnap.h"
#include "nlreplay.h"
#include "portcheck/nft.h"
#include "portcheck/util.h"

static char *read_data(const char *name)
{
	char path[4096];
	struct stat st;
	char *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", PC_TEST_DATA_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = calloc(1, st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, st.st_size), st.st_size);
	close(fd);
	return buf;
}

static void build(const struct nl_replay *rp, struct pc_nft_ruleset *rs)
{
	struct pc_nftsnap *b = pc_nftsnap_new();

	assert_non_null(b);
	for (size_t i = 0; i < rp->n; i++)
		assert_int_equal(pc_nftsnap_add(b, rp->msgs[i]), 0);
	pc_nftsnap_finish(b, rs);
	pc_nftsnap_free(b);
}

static void load(struct pc_nft_ruleset *rs)
{
	struct nl_replay rp;

	assert_int_equal(nl_replay_load("nft_ruleset.bin", &rp), 0);
	build(&rp, rs);
	nl_replay_free(&rp);
}

static const struct pc_nft_chain *chain(const struct pc_nft_ruleset *rs, uint32_t family,
					const char *table, const char *name)
{
	const struct pc_nft_table *t = pc_nft_table_find(rs, family, table);
	const struct pc_nft_chain *c;

	assert_non_null(t);
	c = pc_nft_chain_find(t, name);
	assert_non_null(c);
	return c;
}

static const struct pc_nft_rule *rule(const struct pc_nft_chain *c, uint64_t handle)
{
	for (size_t i = 0; i < c->n_rules; i++)
		if (c->rules[i].handle == handle)
			return &c->rules[i];
	fail_msg("no rule %llu in %s", (unsigned long long)handle, c->name);
	return NULL;
}

static const struct pc_nft_set *set(const struct pc_nft_ruleset *rs, uint32_t family,
				    const char *table, const char *name)
{
	const struct pc_nft_set *s = pc_nft_set_find(pc_nft_table_find(rs, family, table), name);

	assert_non_null(s);
	return s;
}

static void assert_data(const struct pc_nft_data *d, const void *bytes, size_t len)
{
	assert_int_equal(d->len, len);
	assert_memory_equal(d->v, bytes, len);
}

/* An element's bytes (in its set's arena). */
static void assert_bytes(const struct pc_nft_bytes *d, const void *bytes, size_t len)
{
	assert_int_equal(d->len, len);
	assert_non_null(d->v);
	assert_memory_equal(d->v, bytes, len);
}

static void assert_payload(const struct pc_nft_expr *e, uint32_t base, uint32_t offset,
			   uint32_t len, uint32_t dreg)
{
	assert_int_equal(e->type, PC_NFT_EXPR_PAYLOAD);
	assert_int_equal(e->payload.base, base);
	assert_int_equal(e->payload.offset, offset);
	assert_int_equal(e->payload.len, len);
	assert_int_equal(e->payload.dreg, dreg);
	assert_int_equal(e->payload.sreg, 0);
}

static void assert_meta(const struct pc_nft_expr *e, uint32_t key, uint32_t dreg)
{
	assert_int_equal(e->type, PC_NFT_EXPR_META);
	assert_int_equal(e->meta.key, key);
	assert_int_equal(e->meta.dreg, dreg);
}

static void assert_cmp(const struct pc_nft_expr *e, uint32_t op, const void *bytes, size_t len)
{
	assert_int_equal(e->type, PC_NFT_EXPR_CMP);
	assert_int_equal(e->cmp.sreg, NFT_REG_1);
	assert_int_equal(e->cmp.op, op);
	assert_data(&e->cmp.data, bytes, len);
}

static void assert_verdict(const struct pc_nft_expr *e, int32_t code, const char *chain_name)
{
	assert_int_equal(e->type, PC_NFT_EXPR_IMMEDIATE);
	assert_true(e->immediate.is_verdict);
	assert_int_equal(e->immediate.dreg, NFT_REG_VERDICT);
	assert_int_equal(e->immediate.verdict.code, code);
	if (chain_name)
		assert_string_equal(e->immediate.verdict.chain, chain_name);
	else
		assert_null(e->immediate.verdict.chain);
}

static void test_tables_and_chains(void **state)
{
	static const struct {
		uint32_t family;
		const char *name;
	} tables[] = {
	    {NFPROTO_INET, "pct"},    {NFPROTO_NETDEV, "nd"},	{NFPROTO_INET, "firewalld"},
	    {NFPROTO_IPV4, "filter"}, {NFPROTO_IPV6, "filter"}, {NFPROTO_IPV4, "mangle"},
	    {NFPROTO_NETDEV, "nd2"},
	};
	struct pc_nft_ruleset rs;
	const struct pc_nft_chain *c;

	load(&rs);
	/* The dormant table is left out; the others in the kernel's order. */
	assert_int_equal(rs.n_tables, ELEMENTSOF(tables));
	for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
		assert_int_equal(rs.tables[i].family, tables[i].family);
		assert_string_equal(rs.tables[i].name, tables[i].name);
		assert_int_equal(rs.tables[i].flags & NFT_TABLE_F_DORMANT, 0);
	}
	assert_null(pc_nft_table_find(&rs, NFPROTO_IPV4, "dorm"));
	assert_null(pc_nft_table_find(&rs, NFPROTO_IPV6, "mangle"));
	assert_int_equal(rs.genid, 0);
	assert_null(rs.blind_spot);

	c = chain(&rs, NFPROTO_INET, "firewalld", "filter_INPUT");
	assert_true(c->base);
	assert_int_equal(c->hooknum, NF_INET_LOCAL_IN);
	assert_int_equal(c->prio, 10);
	assert_int_equal(c->policy, NF_ACCEPT);
	assert_string_equal(c->type, "filter");
	assert_null(c->dev);
	assert_int_equal(c->n_rules, 6);
	c = chain(&rs, NFPROTO_INET, "firewalld", "nat_PREROUTING");
	assert_int_equal(c->hooknum, NF_INET_PRE_ROUTING);
	assert_int_equal(c->prio, -90);
	assert_string_equal(c->type, "nat");
	c = chain(&rs, NFPROTO_INET, "firewalld", "filter_IN_public_allow");
	assert_false(c->base);
	assert_null(c->type);
	assert_int_equal(c->n_rules, 4);

	c = chain(&rs, NFPROTO_INET, "pct", "pre");
	assert_int_equal(c->prio, -100);
	c = chain(&rs, NFPROTO_INET, "pct", "post");
	assert_int_equal(c->hooknum, NF_INET_POST_ROUTING);
	assert_int_equal(c->prio, 100);

	c = chain(&rs, NFPROTO_NETDEV, "nd", "ing");
	assert_int_equal(c->hooknum, NF_NETDEV_INGRESS);
	assert_string_equal(c->dev, "eth0");
	assert_int_equal(c->n_devices, 1);
	assert_string_equal(c->devices[0], "eth0");
	c = chain(&rs, NFPROTO_NETDEV, "nd2", "ing2");
	assert_int_equal(c->n_devices, 2);
	assert_string_equal(c->dev, c->devices[0]);
	assert_true(strcmp(c->devices[0], "eth0") == 0 || strcmp(c->devices[1], "eth0") == 0);
	assert_true(strcmp(c->devices[0], "eth1") == 0 || strcmp(c->devices[1], "eth1") == 0);

	assert_null(pc_nft_chain_find(pc_nft_table_find(&rs, NFPROTO_INET, "pct"), "nope"));
	assert_null(pc_nft_chain_find(NULL, "input"));
	assert_null(pc_nft_set_find(NULL, "m"));
	pc_nft_ruleset_clear(&rs);
	pc_nft_ruleset_clear(&rs);
	pc_nft_ruleset_clear(NULL);
}

/* firewalld's verdicts: its zone dispatch and final reject. */
static void test_firewalld_rules(void **state)
{
	static const uint8_t lo[16] = "lo";
	struct pc_nft_ruleset rs;
	const struct pc_nft_chain *c;
	const struct pc_nft_rule *r;

	load(&rs);
	c = chain(&rs, NFPROTO_INET, "firewalld", "filter_INPUT");
	/* iifname "lo" accept: the name compared as IFNAMSIZ bytes. */
	r = rule(c, 92);
	assert_int_equal(r->n_exprs, 3);
	assert_meta(&r->exprs[0], NFT_META_IIFNAME, NFT_REG_1);
	assert_cmp(&r->exprs[1], NFT_CMP_EQ, lo, sizeof(lo));
	assert_verdict(&r->exprs[2], NF_ACCEPT, NULL);
	r = rule(c, 94);
	assert_int_equal(r->n_exprs, 1);
	assert_verdict(&r->exprs[0], NFT_JUMP, "filter_INPUT_ZONES");
	r = rule(c, 95);
	assert_int_equal(r->n_exprs, 1);
	assert_int_equal(r->exprs[0].type, PC_NFT_EXPR_REJECT);
	assert_string_equal(r->exprs[0].name, "reject");
	assert_int_equal(r->exprs[0].reject.type, NFT_REJECT_ICMPX_UNREACH);
	assert_int_equal(r->exprs[0].reject.code, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);

	/* ct state { established, related } accept: an anonymous set of the ct state bits. */
	r = rule(c, 90);
	assert_int_equal(r->n_exprs, 3);
	assert_int_equal(r->exprs[0].type, PC_NFT_EXPR_CT);
	assert_int_equal(r->exprs[0].ct.key, NFT_CT_STATE);
	assert_int_equal(r->exprs[0].ct.dreg, NFT_REG_1);
	assert_false(r->exprs[0].ct.has_dir);
	assert_int_equal(r->exprs[1].type, PC_NFT_EXPR_LOOKUP);
	assert_non_null(pc_nft_set_find(pc_nft_table_find(&rs, NFPROTO_INET, "firewalld"),
					r->exprs[1].lookup.set));
	assert_int_equal(r->exprs[1].lookup.sreg, NFT_REG_1);

	c = chain(&rs, NFPROTO_INET, "firewalld", "filter_INPUT_ZONES");
	assert_verdict(&rule(c, c->rules[0].handle)->exprs[0], NFT_GOTO, "filter_IN_public");

	/* ip saddr 203.0.113.0/24 tcp dport 8080 accept */
	c = chain(&rs, NFPROTO_INET, "firewalld", "filter_IN_public_allow");
	r = rule(c, 128);
	assert_int_equal(r->n_exprs, 9);
	assert_meta(&r->exprs[0], NFT_META_NFPROTO, NFT_REG_1);
	assert_cmp(&r->exprs[1], NFT_CMP_EQ, (uint8_t[]){NFPROTO_IPV4}, 1);
	assert_payload(&r->exprs[2], NFT_PAYLOAD_NETWORK_HEADER, 12, 3, NFT_REG_1);
	assert_cmp(&r->exprs[3], NFT_CMP_EQ, (uint8_t[]){203, 0, 113}, 3);
	assert_meta(&r->exprs[4], NFT_META_L4PROTO, NFT_REG_1);
	assert_cmp(&r->exprs[5], NFT_CMP_EQ, (uint8_t[]){6}, 1);
	assert_payload(&r->exprs[6], NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	assert_cmp(&r->exprs[7], NFT_CMP_EQ, (uint8_t[]){0x1f, 0x90}, 2);
	assert_verdict(&r->exprs[8], NF_ACCEPT, NULL);
	pc_nft_ruleset_clear(&rs);
}

static void test_pct_rules(void **state)
{
	struct pc_nft_ruleset rs;
	const struct pc_nft_chain *c, *bound;
	const struct pc_nft_rule *r;
	const struct pc_nft_expr *e;

	load(&rs);
	c = chain(&rs, NFPROTO_INET, "pct", "input");

	/* ip saddr . tcp dport @cc: the second field in a 32-bit register (NFT_REG32_01). */
	r = rule(c, 17);
	assert_payload(&r->exprs[4], NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	assert_payload(&r->exprs[5], NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
	assert_int_equal(r->exprs[6].type, PC_NFT_EXPR_LOOKUP);
	assert_string_equal(r->exprs[6].lookup.set, "cc");
	assert_int_equal(r->exprs[6].lookup.dreg, 0);
	r = rule(c, 18);
	assert_meta(&r->exprs[3], NFT_META_L4PROTO, NFT_REG32_01);
	assert_payload(&r->exprs[4], NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_02);

	/* tcp dport vmap @vm: a map lookup into the verdict register, no verdict after. */
	r = rule(c, 21);
	assert_int_equal(r->n_exprs, 4);
	assert_int_equal(r->exprs[3].lookup.dreg, NFT_REG_VERDICT);

	/* The binding chain: a regular chain by name, flagged, reached by a jump. */
	r = rule(c, 29);
	e = &r->exprs[r->n_exprs - 1];
	assert_int_equal(e->immediate.verdict.code, NFT_JUMP);
	assert_non_null(e->immediate.verdict.chain);
	assert_true(strncmp(e->immediate.verdict.chain, "__chain", 7) == 0);
	bound = chain(&rs, NFPROTO_INET, "pct", e->immediate.verdict.chain);
	assert_true(bound->flags & NFT_CHAIN_BINDING);
	assert_false(bound->base);
	assert_int_equal(bound->n_rules, 2);
	assert_verdict(&bound->rules[0].exprs[bound->rules[0].n_exprs - 1], NF_ACCEPT, NULL);
	assert_int_equal(bound->rules[1].exprs[0].type, PC_NFT_EXPR_COUNTER);

	/* ct state new: bitwise mask-and-xor on the host-order state bits, then != 0. */
	r = rule(c, 30);
	assert_int_equal(r->exprs[2].type, PC_NFT_EXPR_CT);
	e = &r->exprs[3];
	assert_int_equal(e->type, PC_NFT_EXPR_BITWISE);
	assert_int_equal(e->bitwise.op, NFT_BITWISE_BOOL);
	assert_int_equal(e->bitwise.len, 4);
	assert_int_equal(e->bitwise.sreg, NFT_REG_1);
	assert_int_equal(e->bitwise.dreg, NFT_REG_1);
	{
		uint32_t mask = NF_CT_STATE_BIT(IP_CT_NEW), zero = 0;

		assert_data(&e->bitwise.mask, &mask, 4);
		assert_data(&e->bitwise.xor, &zero, 4);
		assert_cmp(&r->exprs[4], NFT_CMP_NEQ, &zero, 4);
	}
	assert_int_equal(r->exprs[5].type, PC_NFT_EXPR_LIMIT);

	r = rule(c, 31);
	e = &r->exprs[r->n_exprs - 1];
	assert_int_equal(e->type, PC_NFT_EXPR_REJECT);
	assert_int_equal(e->reject.type, NFT_REJECT_TCP_RST);

	/* meta mark set: a meta write from a register. */
	r = rule(c, 33);
	assert_int_equal(r->exprs[0].immediate.dreg, NFT_REG_1);
	assert_false(r->exprs[0].immediate.is_verdict);
	assert_data(&r->exprs[0].immediate.data, &(uint32_t){0x10}, 4);
	assert_int_equal(r->exprs[1].meta.key, NFT_META_MARK);
	assert_int_equal(r->exprs[1].meta.sreg, NFT_REG_1);
	assert_int_equal(r->exprs[1].meta.dreg, 0);

	/* tcp dport 1-1024: two comparisons. */
	r = rule(c, 34);
	assert_cmp(&r->exprs[9], NFT_CMP_GTE, (uint8_t[]){0, 1}, 2);
	assert_cmp(&r->exprs[10], NFT_CMP_LTE, (uint8_t[]){4, 0}, 2);
	assert_int_equal(r->exprs[11].type, PC_NFT_EXPR_LOG);

	c = chain(&rs, NFPROTO_INET, "pct", "pre");
	/* dnat ip to tcp dport map @m */
	r = rule(c, 35);
	assert_int_equal(r->exprs[7].lookup.dreg, NFT_REG_1);
	e = &r->exprs[8];
	assert_int_equal(e->type, PC_NFT_EXPR_NAT);
	assert_int_equal(e->nat.type, NFT_NAT_DNAT);
	assert_int_equal(e->nat.family, NFPROTO_IPV4);
	assert_int_equal(e->nat.reg_addr_min, NFT_REG_1);
	assert_int_equal(e->nat.flags, NF_NAT_RANGE_MAP_IPS);
	/* dnat ip to 198.51.100.2:80 */
	r = rule(c, 36);
	assert_data(&r->exprs[4].immediate.data, (uint8_t[]){198, 51, 100, 2}, 4);
	assert_int_equal(r->exprs[5].immediate.dreg, NFT_REG_2);
	assert_data(&r->exprs[5].immediate.data, (uint8_t[]){0, 80}, 2);
	e = &r->exprs[6];
	assert_int_equal(e->nat.reg_addr_min, NFT_REG_1);
	assert_int_equal(e->nat.reg_addr_max, NFT_REG_1);
	assert_int_equal(e->nat.reg_proto_min, NFT_REG_2);
	assert_int_equal(e->nat.flags, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
	/* redirect to :8080 */
	r = rule(c, 37);
	e = &r->exprs[5];
	assert_int_equal(e->type, PC_NFT_EXPR_REDIR);
	assert_int_equal(e->redir.reg_proto_min, NFT_REG_1);
	assert_int_equal(e->redir.flags, NF_NAT_RANGE_PROTO_SPECIFIED);
	/* fib daddr type local */
	r = rule(c, 38);
	e = &r->exprs[0];
	assert_int_equal(e->type, PC_NFT_EXPR_FIB);
	assert_int_equal(e->fib.flags, NFTA_FIB_F_DADDR);
	assert_int_equal(e->fib.result, NFT_FIB_RESULT_ADDRTYPE);
	assert_int_equal(e->fib.dreg, NFT_REG_1);
	assert_int_equal(r->exprs[8].nat.family, NFPROTO_IPV6);

	c = chain(&rs, NFPROTO_INET, "pct", "post");
	assert_int_equal(rule(c, 39)->exprs[2].type, PC_NFT_EXPR_MASQ);
	assert_int_equal(rule(c, 40)->exprs[5].nat.type, NFT_NAT_SNAT);

	c = chain(&rs, NFPROTO_INET, "pct", "more");
	e = &rule(c, 43)->exprs[4];
	assert_int_equal(e->type, PC_NFT_EXPR_OBJREF);
	assert_int_equal(e->objref.type, NFT_OBJECT_COUNTER);
	assert_string_equal(e->objref.name, "cnt1");
	e = &rule(c, 44)->exprs[7];
	assert_int_equal(e->type, PC_NFT_EXPR_DYNSET);
	assert_int_equal(e->dynset.op, NFT_DYNSET_OP_ADD);
	assert_int_equal(e->dynset.sreg_key, NFT_REG_1);
	assert_string_equal(e->dynset.set, "timed");
	assert_int_equal(rule(c, 45)->exprs[0].type, PC_NFT_EXPR_NUMGEN);
	assert_int_equal(rule(c, 46)->exprs[0].type, PC_NFT_EXPR_QUOTA);
	assert_int_equal(rule(c, 47)->exprs[0].type, PC_NFT_EXPR_CONNLIMIT);
	assert_int_equal(rule(c, 48)->exprs[4].type, PC_NFT_EXPR_NOTRACK);
	/* ct original ip saddr: a direction. */
	e = &rule(c, 50)->exprs[0];
	assert_int_equal(e->type, PC_NFT_EXPR_CT);
	assert_true(e->ct.has_dir);
	assert_int_equal(e->ct.dir, IP_CT_DIR_ORIGINAL);
	assert_int_equal(e->ct.key, NFT_CT_SRC_IP);
	pc_nft_ruleset_clear(&rs);
}

/* iptables-nft: what it cannot express natively stays an xt match or target. */
static void test_xt(void **state)
{
	struct pc_nft_ruleset rs;
	const struct pc_nft_chain *c;
	const struct pc_nft_rule *r;
	const struct pc_nft_expr *e;

	load(&rs);
	c = chain(&rs, NFPROTO_IPV4, "filter", "INPUT");
	/* -p tcp -m multiport --dports 25,26 -j REJECT: nft lists it natively, the kernel
	 * holds xt extensions. */
	r = rule(c, 2);
	e = &r->exprs[2];
	assert_int_equal(e->type, PC_NFT_EXPR_MATCH);
	assert_string_equal(e->name, "match");
	assert_string_equal(e->xt.name, "multiport");
	assert_int_equal(e->xt.rev, 1);
	assert_int_equal(e->xt.info_len, 48);
	assert_non_null(e->xt.info);
	e = &r->exprs[r->n_exprs - 1];
	assert_int_equal(e->type, PC_NFT_EXPR_TARGET);
	assert_string_equal(e->xt.name, "REJECT");
	assert_int_equal(e->xt.rev, 0);
	/* struct ipt_reject_info { with = IPT_ICMP_HOST_PROHIBITED (6) }, padded to 8 */
	assert_int_equal(e->xt.info_len, 8);
	assert_int_equal(*(uint32_t *)e->xt.info, 6);

	r = rule(c, 3);
	assert_string_equal(r->exprs[0].xt.name, "conntrack");
	assert_int_equal(r->exprs[0].xt.rev, 3);
	assert_string_equal(r->exprs[2].xt.name, "comment");
	assert_string_equal(rule(c, 7)->exprs[0].xt.name, "recent");

	/* TCPMSS is an xt target; what nft shows as "tcp option maxseg size set rt mtu". */
	c = chain(&rs, NFPROTO_IPV4, "filter", "FORWARD");
	e = &c->rules[0].exprs[c->rules[0].n_exprs - 1];
	assert_int_equal(e->type, PC_NFT_EXPR_TARGET);
	assert_string_equal(e->xt.name, "TCPMSS");

	c = chain(&rs, NFPROTO_IPV6, "filter", "INPUT");
	assert_string_equal(c->rules[0].exprs[4].xt.name, "hashlimit");

	/* iptables-nft's mangle targets stay xt too, though nft lists them natively. */
	c = chain(&rs, NFPROTO_IPV4, "mangle", "FORWARD");
	assert_string_equal(rule(c, 4)->exprs[1].xt.name, "TEE");
	assert_int_equal(rule(c, 4)->exprs[1].xt.rev, 1);
	assert_string_equal(rule(c, 8)->exprs[1].xt.name, "DSCP");

	/* Expressions libnftnl knows but the model does not: UNKNOWN, with their name. */
	c = chain(&rs, NFPROTO_INET, "pct", "more");
	e = &rule(c, 53)->exprs[0];
	assert_int_equal(e->type, PC_NFT_EXPR_UNKNOWN);
	assert_string_equal(e->name, "exthdr");
	r = rule(c, 54);
	assert_string_equal(r->exprs[0].name, "rt");
	assert_int_equal(r->exprs[1].type, PC_NFT_EXPR_BYTEORDER);
	assert_int_equal(r->exprs[1].byteorder.op, NFT_BYTEORDER_HTON);
	assert_int_equal(r->exprs[1].byteorder.len, 2);
	assert_int_equal(r->exprs[1].byteorder.size, 2);
	assert_string_equal(r->exprs[2].name, "exthdr");
	assert_string_equal(rule(c, 55)->exprs[3].name, "hash");
	assert_int_equal(rule(c, 55)->exprs[3].type, PC_NFT_EXPR_HASH);
	assert_int_equal(rule(c, 55)->exprs[3].hash.type, NFT_HASH_JENKINS);
	assert_int_equal(rule(c, 55)->exprs[3].hash.modulus, 2);
	assert_string_equal(rule(c, 56)->exprs[0].name, "socket");
	c = chain(&rs, NFPROTO_IPV4, "mangle", "FORWARD");
	assert_string_equal(rule(c, 9)->exprs[1].xt.name, "TTL");
	pc_nft_ruleset_clear(&rs);
}

static void test_sets(void **state)
{
	static const struct pc_nft_bytes catchall = {0};
	struct pc_nft_ruleset rs;
	const struct pc_nft_set *s;
	const struct pc_nft_table *t;
	unsigned starts = 0, ends = 0;

	load(&rs);
	s = set(&rs, NFPROTO_INET, "pct", "hash4");
	assert_int_equal(s->flags, 0);
	assert_int_equal(s->key_len, 4);
	assert_int_equal(s->n_elems, 2);
	for (size_t i = 0; i < s->n_elems; i++) {
		assert_int_equal(s->elems[i].key_len, 4);
		assert_int_equal(s->elems[i].flags, 0);
		assert_int_equal(s->elems[i].key_end_len, 0);
		assert_int_equal(s->elems[i].data_len, 0);
	}

	/* An rbtree interval set: starts and INTERVAL_END elements, 0.0.0.0 closing the gap. */
	s = set(&rs, NFPROTO_INET, "pct", "iv4");
	assert_int_equal(s->flags, NFT_SET_INTERVAL);
	assert_int_equal(s->n_elems, 5);
	for (size_t i = 0; i < s->n_elems; i++) {
		if (s->elems[i].flags & NFT_SET_ELEM_INTERVAL_END)
			ends++;
		else
			starts++;
		if (memcmp(s->elems[i].key, (uint8_t[]){192, 0, 3, 0}, 4) == 0)
			assert_int_equal(s->elems[i].flags, NFT_SET_ELEM_INTERVAL_END);
		if (memcmp(s->elems[i].key, (uint8_t[]){203, 0, 113, 10}, 4) == 0)
			assert_int_equal(s->elems[i].flags, 0);
	}
	assert_int_equal(starts, 2);
	assert_int_equal(ends, 3);

	/* A concatenated interval set (pipapo): ranges in key .. key_end, field lengths. */
	s = set(&rs, NFPROTO_INET, "pct", "cc");
	assert_int_equal(s->flags, NFT_SET_INTERVAL | NFT_SET_CONCAT);
	assert_int_equal(s->key_len, 8);
	assert_int_equal(s->field_count, 2);
	assert_int_equal(s->field_len[0], 4);
	assert_int_equal(s->field_len[1], 2);
	assert_int_equal(s->n_elems, 2);
	for (size_t i = 0; i < s->n_elems; i++) {
		const struct pc_nft_set_elem *x = &s->elems[i];

		assert_int_equal(x->key_len, 8);
		assert_int_equal(x->key_end_len, 8);
		if (x->key[0] == 192) {
			assert_memory_equal(x->key, ((uint8_t[]){192, 0, 2, 0, 0, 80, 0, 0}), 8);
			assert_memory_equal(x->key_end, ((uint8_t[]){192, 0, 2, 255, 0, 90, 0, 0}),
					    8);
		} else {
			assert_memory_equal(x->key, x->key_end, 8);
		}
	}
	/* A concatenated hash set: no field lengths from the kernel, register-padded key. */
	s = set(&rs, NFPROTO_INET, "pct", "ch");
	assert_int_equal(s->field_count, 0);
	assert_int_equal(s->key_len, 12);
	assert_int_equal(s->n_elems, 1);
	assert_bytes(&(struct pc_nft_bytes){s->elems[0].key, s->elems[0].key_len},
		     ((uint8_t[]){192, 0, 2, 1, 6, 0, 0, 0, 0, 22, 0, 0}), 12);

	/* The catch-all element: no key, flagged. */
	s = set(&rs, NFPROTO_INET, "pct", "any");
	assert_int_equal(s->n_elems, 2);
	for (size_t i = 0; i < s->n_elems; i++)
		if (s->elems[i].flags & NFT_SET_ELEM_CATCHALL)
			assert_true(s->elems[i].key_len == catchall.len && !s->elems[i].key);

	s = set(&rs, NFPROTO_INET, "pct", "m");
	assert_int_equal(s->flags, NFT_SET_MAP);
	assert_int_equal(s->data_len, 4);
	for (size_t i = 0; i < s->n_elems; i++)
		if (memcmp(s->elems[i].key, (uint8_t[]){0, 80}, 2) == 0)
			assert_bytes(&(struct pc_nft_bytes){s->elems[i].data, s->elems[i].data_len},
				     (uint8_t[]){198, 51, 100, 2}, 4);

	s = set(&rs, NFPROTO_INET, "pct", "vm");
	assert_int_equal(s->data_type, NFT_DATA_VERDICT);
	assert_int_equal(s->n_elems, 4);
	for (size_t i = 0; i < s->n_elems; i++) {
		const struct pc_nft_set_elem *x = &s->elems[i];
		uint16_t port = x->key_len == 2 ? (uint16_t)(x->key[0] << 8 | x->key[1]) : 0;

		assert_int_equal(x->data_len, 0);
		if (x->flags & NFT_SET_ELEM_CATCHALL) {
			assert_int_equal(x->key_len, 0);
			assert_int_equal(x->verdict_code, NFT_GOTO);
			assert_string_equal(x->verdict_chain, "c2");
		} else if (port == 22) {
			assert_int_equal(x->verdict_code, NF_ACCEPT);
			assert_null(x->verdict_chain);
		} else if (port == 23) {
			assert_int_equal(x->verdict_code, NF_DROP);
		} else {
			assert_int_equal(port, 8080);
			assert_int_equal(x->verdict_code, NFT_JUMP);
			assert_string_equal(x->verdict_chain, "c2");
		}
	}

	/* 192.0.2.6 and .7 had timed out: the kernel (6.x) leaves them out of the dump. */
	s = set(&rs, NFPROTO_INET, "pct", "timed");
	assert_int_equal(s->flags, NFT_SET_TIMEOUT);
	assert_int_equal(s->n_elems, 1);
	assert_bytes(&(struct pc_nft_bytes){s->elems[0].key, s->elems[0].key_len},
		     (uint8_t[]){192, 0, 2, 5}, 4);

	/* Anonymous sets of rules are sets like the others. */
	t = pc_nft_table_find(&rs, NFPROTO_INET, "pct");
	s = set(&rs, NFPROTO_INET, "pct", "__set0");
	assert_int_equal(s->flags, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL);
	s = set(&rs, NFPROTO_INET, "pct", "__map0");
	assert_int_equal(s->flags, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP);
	assert_int_equal(s->n_elems, 2);
	assert_non_null(t);
	assert_null(pc_nft_set_find(t, "nope"));
	pc_nft_ruleset_clear(&rs);
}

static void test_texts(void **state)
{
	static const char *files[] = {"nft_ruleset_terse.txt", "nft_ruleset_full.txt"};
	struct pc_nft_texts t[2];
	struct pc_nft_ruleset rs;
	const struct pc_nft_chain *c;
	size_t n_rules = 0, n_text = 0;

	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		char *s = read_data(files[i]);

		assert_int_equal(pc_nft_texts_parse(s, &t[i]), 0);
		free(s);
	}
	/* The same rules in both; set elements over several lines are no rules. */
	assert_int_equal(t[0].n, t[1].n);
	for (size_t i = 0; i < t[0].n; i++) {
		assert_int_equal(t[0].v[i].family, t[1].v[i].family);
		assert_string_equal(t[0].v[i].table, t[1].v[i].table);
		assert_string_equal(t[0].v[i].chain, t[1].v[i].chain);
		assert_int_equal(t[0].v[i].handle, t[1].v[i].handle);
	}
	assert_string_equal(pc_nft_texts_find(&t[0], NFPROTO_INET, "firewalld", "filter_INPUT", 95),
			    "reject with icmpx admin-prohibited");
	assert_string_equal(pc_nft_texts_find(&t[0], NFPROTO_INET, "pct", "c2", 14),
			    "counter return");
	assert_string_equal(pc_nft_texts_find(&t[1], NFPROTO_INET, "pct", "c2", 14),
			    "counter packets 0 bytes 0 return");
	/* A comment that looks like a handle and opens a brace. */
	assert_string_equal(pc_nft_texts_find(&t[0], NFPROTO_INET, "pct", "c2", 52),
			    "tcp dport 5 accept comment \"x # handle 99 {\"");
	/* A binding chain, inline over several lines, joined. */
	assert_string_equal(pc_nft_texts_find(&t[0], NFPROTO_INET, "pct", "input", 29),
			    "ip saddr 192.0.2.0/24 jump { tcp dport 99 accept; counter }");
	assert_string_equal(pc_nft_texts_find(&t[0], NFPROTO_IPV6, "filter", "INPUT", 2),
			    "tcp dport 22 xt match hashlimit counter drop");
	assert_string_equal(pc_nft_texts_find(&t[0], NFPROTO_NETDEV, "nd", "ing", 2),
			    "ip saddr 203.0.113.66 drop");
	/* The dormant table is listed too: its rules have texts, the snapshot drops them. */
	assert_null(pc_nft_texts_find(&t[0], NFPROTO_IPV4, "dorm", "c", 1));
	assert_null(pc_nft_texts_find(&t[0], NFPROTO_IPV4, "firewalld", "filter_INPUT", 95));
	assert_null(pc_nft_texts_find(&t[0], NFPROTO_INET, "firewalld", "filter_INPUT", 17));
	assert_null(pc_nft_texts_find(&t[0], NFPROTO_INET, "firewalld", NULL, 95));

	/* Every rule but those of the binding chain (nft prints them inline) gets its text. */
	load(&rs);
	assert_int_equal(pc_nft_texts_attach(&rs, &t[0]), 0);
	for (size_t i = 0; i < rs.n_tables; i++)
		for (size_t j = 0; j < rs.tables[i].n_chains; j++) {
			c = &rs.tables[i].chains[j];
			for (size_t k = 0; k < c->n_rules; k++) {
				n_rules++;
				if (c->rules[k].text)
					n_text++;
				else
					assert_true(c->flags & NFT_CHAIN_BINDING);
			}
		}
	assert_int_equal(n_text, n_rules - 2);
	assert_int_equal(n_text, t[0].n);
	c = chain(&rs, NFPROTO_INET, "firewalld", "filter_IN_public_allow");
	assert_string_equal(rule(c, 128)->text, "ip saddr 203.0.113.0/24 tcp dport 8080 accept");
	pc_nft_ruleset_clear(&rs);
	pc_nft_texts_clear(&t[0]);
	pc_nft_texts_clear(&t[1]);
	pc_nft_texts_clear(NULL);
}

static void test_texts_odd(void **state)
{
	static const char *inputs[] = {
	    "",
	    "garbage\n}\n}}}\n{{{\n",
	    "table inet t {\n\tchain c {\n\t\ttcp dport 1 accept # handle 3\n",
	    "table inet t {\n\tchain c {\n\t\tjump {\n\t\t\taccept\n",
	    "table foo t { # handle 1\n\tchain c { # handle 2\n\t\taccept # handle 3\n\t}\n}\n",
	    "table inet t { # handle 1\n\tchain c { # handle 2\n\t\taccept # handle x\n"
	    "\t\taccept # handle 4 5\n\t\t# handle 6\n\t\tdrop #handle 7\n\t}\n}\n",
	    "chain c {\n\taccept # handle 1\n}\n",
	    "table inet t {\n\tset s {\n\t\telements = { 1,\n\t\t\t2 } # handle 4\n\t}\n"
	    "\tchain c {\n\t\taccept comment \"}}}\" # handle 5\n\t}\n}\n",
	};
	struct pc_nft_texts t;

	for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
		assert_int_equal(pc_nft_texts_parse(inputs[i], &t), 0);
		switch (i) {
		case 2:
			assert_int_equal(t.n, 1);
			assert_string_equal(t.v[0].text, "tcp dport 1 accept");
			break;
		case 5:
			/* "#handle 7" is read as a handle too. */
			assert_int_equal(t.n, 1);
			assert_int_equal(t.v[0].handle, 7);
			break;
		case 7:
			assert_int_equal(t.n, 1);
			assert_string_equal(t.v[0].chain, "c");
			assert_string_equal(t.v[0].text, "accept comment \"}}}\"");
			break;
		default:
			assert_int_equal(t.n, 0);
		}
		pc_nft_texts_clear(&t);
	}
	assert_int_equal(pc_nft_texts_parse(NULL, &t), 0);
	assert_int_equal(t.n, 0);
}

/* Older kernels dump elements whose time is up with expiration 0 until GC removes them. */
static void test_expired(void **state)
{
	char buf[4096] __attribute__((aligned(4))) = {};
	struct pc_nft_ruleset rs;
	struct pc_nftsnap *b = pc_nftsnap_new();
	struct nl_replay rp;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	const struct pc_nft_set *timed;

	assert_non_null(b);
	assert_int_equal(nl_replay_load("nft_ruleset.bin", &rp), 0);
	/* Tables, chains and sets only. */
	for (size_t i = 0; i < rp.n; i++)
		if (NFNL_MSG_TYPE(rp.msgs[i]->nlmsg_type) != NFT_MSG_NEWSETELEM &&
		    NFNL_MSG_TYPE(rp.msgs[i]->nlmsg_type) != NFT_MSG_NEWRULE)
			assert_int_equal(pc_nftsnap_add(b, rp.msgs[i]), 0);
	nl_replay_free(&rp);

	/*
	 * Built as the kernel sends it: every element nested as NFTA_LIST_ELEM (libnftnl's
	 * nftnl_set_elems_nlmsg_build_payload numbers them 1, 2, 3, which its own parser
	 * refuses).
	 */
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_MULTI, 0);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, "pct");
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, "timed");
	nest = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	for (int i = 0; i < 3; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint8_t key[4] = {192, 0, 2, 20 + i};

		assert_non_null(e);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(key));
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, 10000);
		/* 0: expired; 5000 ms left; none (no timeout yet known). */
		if (i < 2)
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION, i == 0 ? 0 : 5000);
		nftnl_set_elem_nlmsg_build(nlh, e, NFTA_LIST_ELEM);
		nftnl_set_elem_free(e);
	}
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(pc_nftsnap_add(b, nlh), 0);
	pc_nftsnap_finish(b, &rs);
	pc_nftsnap_free(b);

	timed = set(&rs, NFPROTO_INET, "pct", "timed");
	assert_int_equal(timed->n_elems, 2);
	assert_int_equal(timed->elems[0].key[3], 21);
	assert_int_equal(timed->elems[1].key[3], 22);
	pc_nft_ruleset_clear(&rs);
}

/* Names anyone with CAP_NET_ADMIN in a namespace may choose. */
#define T_RAW "t\033[31m\xe4\xb8"
#define C_RAW "c\n"
#define S_RAW "s\\"

static int expect_raw_names(uint32_t family, const char *table, const char *set, void *userdata)
{
	/* The element dump asks the kernel: in its spelling. */
	assert_string_equal(table, T_RAW);
	assert_string_equal(set, S_RAW);
	++*(int *)userdata;
	return 0;
}

/* Table, chain and set names are sanitised as they are read; lookups by name (a rule's
 * chain, an element's set, a jump's target) still find them. */
static void test_hostile_names(void **state)
{
	char buf[4096] __attribute__((aligned(4))) = {};
	struct pc_nftsnap *b = pc_nftsnap_new();
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");
	struct nftnl_set_elem *el = nftnl_set_elem_alloc();
	const struct pc_nft_table *tb;
	const struct pc_nft_chain *ch;
	struct pc_nft_ruleset rs;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	uint8_t key[4] = {192, 0, 2, 1};
	int n_sets = 0;

	assert_true(b && t && c && s && r && e && el);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, T_RAW);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_MULTI, 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	assert_int_equal(pc_nftsnap_add(b, nlh), 0);

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, T_RAW);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, C_RAW);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_MULTI, 0);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	assert_int_equal(pc_nftsnap_add(b, nlh), 0);

	nftnl_set_set_str(s, NFTNL_SET_TABLE, T_RAW);
	nftnl_set_set_str(s, NFTNL_SET_NAME, S_RAW);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_MULTI, 0);
	nftnl_set_nlmsg_build_payload(nlh, s);
	assert_int_equal(pc_nftsnap_add(b, nlh), 0);

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_MULTI, 0);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, T_RAW);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, S_RAW);
	nest = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key, sizeof(key));
	nftnl_set_elem_nlmsg_build(nlh, el, NFTA_LIST_ELEM);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(pc_nftsnap_add(b, nlh), 0);

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, T_RAW);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, C_RAW);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, 5);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NFT_JUMP);
	nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, C_RAW);
	nftnl_rule_add_expr(r, e);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_MULTI, 0);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	assert_int_equal(pc_nftsnap_add(b, nlh), 0);

	assert_int_equal(pc_nftsnap_foreach_set(b, expect_raw_names, &n_sets), 0);
	assert_int_equal(n_sets, 1);
	pc_nftsnap_finish(b, &rs);
	pc_nftsnap_free(b);
	nftnl_table_free(t);
	nftnl_chain_free(c);
	nftnl_set_free(s);
	nftnl_rule_free(r);
	nftnl_set_elem_free(el);

	tb = pc_nft_table_find(&rs, NFPROTO_INET, "t\\x1b[31m\\xe4\\xb8");
	assert_non_null(tb);
	assert_string_equal(tb->kname, T_RAW);
	ch = pc_nft_chain_find(tb, "c\\x0a");
	assert_non_null(ch);
	assert_int_equal(ch->n_rules, 1);
	assert_string_equal(ch->rules[0].exprs[0].immediate.verdict.chain, "c\\x0a");
	assert_non_null(pc_nft_set_find(tb, "s\\\\"));
	assert_int_equal(pc_nft_set_find(tb, "s\\\\")->n_elems, 1);
	pc_nft_ruleset_clear(&rs);
}

/* nft's listing prints what it was given; the texts are sanitised, and found by the
 * sanitised names. */
static void test_texts_hostile(void **state)
{
	struct pc_nft_texts t;
	const char *text;

	assert_int_equal(pc_nft_texts_parse("table inet \"t\033\" {\n"
					    "\tchain c\xff {\n"
					    "\t\ttcp dport 1 comment \"\033[2J\xe4\xb8\" accept "
					    "# handle 3\n"
					    "\t}\n}\n",
					    &t),
			 0);
	assert_int_equal(t.n, 1);
	text = pc_nft_texts_find(&t, NFPROTO_INET, "t\\x1b", "c\\xff", 3);
	assert_non_null(text);
	assert_string_equal(text, "tcp dport 1 comment \"\\x1b[2J\\xe4\\xb8\" accept");
	pc_nft_texts_clear(&t);
}

/* A rule naming an expression libnftnl does not know (a newer kernel): the others stay. */
static void test_unknown_expression(void **state)
{
	struct pc_nftsnap *b = pc_nftsnap_new();
	const struct pc_nft_chain *c;
	struct pc_nft_ruleset rs;
	struct nl_replay rp;
	bool patched = false;

	assert_non_null(b);
	assert_int_equal(nl_replay_load("nft_ruleset.bin", &rp), 0);
	for (size_t i = 0; i < rp.n; i++) {
		struct nlmsghdr *m = nl_copy(rp.msgs[i], rp.msgs[i]->nlmsg_len);

		if (NFNL_MSG_TYPE(m->nlmsg_type) == NFT_MSG_NEWRULE) {
			/* In pct's c2: "counter return" becomes "cxunter return". */
			char *p = memmem(m, m->nlmsg_len, "c2\0", 3);
			char *q = p ? memmem(m, m->nlmsg_len, "counter\0", 8) : NULL;

			if (q && !patched) {
				q[1] = 'x';
				patched = true;
			}
		}
		assert_int_equal(pc_nftsnap_add(b, m), 0);
		free(m);
	}
	nl_replay_free(&rp);
	assert_true(patched);
	pc_nftsnap_finish(b, &rs);
	pc_nftsnap_free(b);

	c = chain(&rs, NFPROTO_INET, "pct", "c2");
	assert_int_equal(c->rules[0].n_exprs, 2);
	assert_int_equal(c->rules[0].exprs[0].type, PC_NFT_EXPR_UNKNOWN);
	assert_string_equal(c->rules[0].exprs[0].name, "cxunter");
	assert_verdict(&c->rules[0].exprs[1], NFT_RETURN, NULL);
	assert_int_equal(c->rules[0].handle, 14);
	assert_int_equal(c->rules[1].n_exprs, 5);
	pc_nft_ruleset_clear(&rs);
}

static void test_order_and_garbage(void **state)
{
	char buf[256] __attribute__((aligned(4))) = {};
	struct pc_nftsnap *b = pc_nftsnap_new();
	struct nl_replay rp;
	struct nlmsghdr *nlh;
	size_t first_chain = 0;

	assert_non_null(b);
	assert_int_equal(nl_replay_load("nft_ruleset.bin", &rp), 0);
	/* A chain before its table: the ruleset moved between the dumps. */
	while (NFNL_MSG_TYPE(rp.msgs[first_chain]->nlmsg_type) != NFT_MSG_NEWCHAIN)
		first_chain++;
	assert_int_equal(pc_nftsnap_add(b, rp.msgs[first_chain]), -EINTR);
	assert_int_equal(pc_nftsnap_add(b, rp.msgs[0]), 0);
	/* The same table twice. */
	assert_int_equal(pc_nftsnap_add(b, rp.msgs[0]), -EINTR);

	/* Not nf_tables, not a NEW message, truncated fixed header. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = 16; /* RTM_NEWLINK */
	assert_int_equal(pc_nftsnap_add(b, nlh), -EBADMSG);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, 0, 0);
	assert_int_equal(pc_nftsnap_add(b, nlh), -EBADMSG);
	nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE;
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(pc_nftsnap_add(b, nlh), -EBADMSG);
	/* A table without a name. */
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWTABLE, NFPROTO_INET, 0, 0);
	assert_int_equal(pc_nftsnap_add(b, nlh), -EBADMSG);
	pc_nftsnap_free(b);
	nl_replay_free(&rp);
	pc_nftsnap_free(NULL);
}

/*
 * Every prefix of every recorded message, added to a builder that holds the whole ruleset:
 * never a crash, never a leak.
 */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Elements and rules in another order than their sets and chains (the builder tries the
 * set or chain after the last one first): each still lands where it belongs.
 */
static void test_out_of_order(void **state)
{
	struct pc_nft_ruleset in_order, reversed;
	struct pc_nftsnap *b = pc_nftsnap_new();
	struct nl_replay rp;
	size_t n_elem_msgs = 0;

	assert_non_null(b);
	assert_int_equal(nl_replay_load("nft_ruleset.bin", &rp), 0);
	build(&rp, &in_order);
	for (size_t i = 0; i < rp.n; i++) {
		uint16_t t = NFNL_MSG_TYPE(rp.msgs[i]->nlmsg_type);

		if (t != NFT_MSG_NEWSETELEM && t != NFT_MSG_NEWRULE)
			assert_int_equal(pc_nftsnap_add(b, rp.msgs[i]), 0);
	}
	for (size_t i = rp.n; i-- > 0;)
		if (NFNL_MSG_TYPE(rp.msgs[i]->nlmsg_type) == NFT_MSG_NEWSETELEM) {
			assert_int_equal(pc_nftsnap_add(b, rp.msgs[i]), 0);
			n_elem_msgs++;
		}
	for (size_t i = rp.n; i-- > 0;)
		if (NFNL_MSG_TYPE(rp.msgs[i]->nlmsg_type) == NFT_MSG_NEWRULE)
			assert_int_equal(pc_nftsnap_add(b, rp.msgs[i]), 0);
	assert_true(n_elem_msgs > 5);
	pc_nftsnap_finish(b, &reversed);

	assert_int_equal(reversed.n_tables, in_order.n_tables);
	for (size_t i = 0; i < in_order.n_tables; i++) {
		const struct pc_nft_table *x = &in_order.tables[i], *y = &reversed.tables[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->n_sets, y->n_sets);
		for (size_t j = 0; j < x->n_sets; j++)
			assert_int_equal(x->sets[j].n_elems, y->sets[j].n_elems);
		assert_int_equal(x->n_chains, y->n_chains);
		for (size_t j = 0; j < x->n_chains; j++) {
			const struct pc_nft_chain *cx = &x->chains[j], *cy = &y->chains[j];
			uint64_t *hx = calloc(cx->n_rules + 1, sizeof(*hx));
			uint64_t *hy = calloc(cx->n_rules + 1, sizeof(*hy));

			assert_true(hx && hy);
			assert_int_equal(cx->n_rules, cy->n_rules);
			for (size_t k = 0; k < cx->n_rules; k++) {
				hx[k] = cx->rules[k].handle;
				hy[k] = cy->rules[k].handle;
			}
			qsort(hx, cx->n_rules, sizeof(*hx), cmp_u64);
			qsort(hy, cy->n_rules, sizeof(*hy), cmp_u64);
			assert_memory_equal(hx, hy, cx->n_rules * sizeof(*hx));
			free(hx);
			free(hy);
		}
	}
	pc_nft_ruleset_clear(&in_order);
	pc_nft_ruleset_clear(&reversed);
	pc_nftsnap_free(b);
	nl_replay_free(&rp);
}

static void test_truncated(void **state)
{
	struct pc_nftsnap *b = pc_nftsnap_new();
	struct nl_replay rp;
	struct pc_nft_ruleset rs;

	assert_non_null(b);
	assert_int_equal(nl_replay_load("nft_ruleset.bin", &rp), 0);
	for (size_t i = 0; i < rp.n; i++)
		assert_int_equal(pc_nftsnap_add(b, rp.msgs[i]), 0);
	for (size_t i = 0; i < rp.n; i++) {
		size_t full = rp.msgs[i]->nlmsg_len;

		for (size_t len = NLMSG_HDRLEN; len < full; len++) {
			struct nlmsghdr *c = nl_copy(rp.msgs[i], len);
			int r = pc_nftsnap_add(b, c);

			assert_true(r == 0 || r == -EBADMSG || r == -EINTR);
			free(c);
		}
	}
	nl_replay_free(&rp);
	pc_nftsnap_finish(b, &rs);
	pc_nftsnap_free(b);
	pc_nft_ruleset_clear(&rs);
}

/*
 * Messages libnftnl 1.2.4 would crash or exit() on, found by tests/fuzz/fuzz_netlink:
 * refused before it sees them (nftsnap_policy.c).
 */
static void test_libnftnl_traps(void **state)
{
	char buf[512] __attribute__((aligned(4)));
	struct pc_nftsnap *b = pc_nftsnap_new();
	struct nlattr *list, *elem, *data, *verdict;
	struct nlmsghdr *nlh;
	struct nl_replay rp;

	assert_non_null(b);
	assert_int_equal(nl_replay_load("nft_ruleset.bin", &rp), 0);
	/* Tables, chains and sets of the recording, so rules and elements find theirs. */
	for (size_t i = 0; i < rp.n; i++)
		if (NFNL_MSG_TYPE(rp.msgs[i]->nlmsg_type) != NFT_MSG_NEWSETELEM &&
		    NFNL_MSG_TYPE(rp.msgs[i]->nlmsg_type) != NFT_MSG_NEWRULE)
			assert_int_equal(pc_nftsnap_add(b, rp.msgs[i]), 0);
	nl_replay_free(&rp);

	/* An expression without NFTA_EXPR_NAME: strcmp(NULL + 4) in nftnl_expr_alloc. */
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_MULTI, 0);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, "pct");
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, "c2");
	mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(99));
	list = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	assert_int_equal(pc_nftsnap_add(b, nlh), -EBADMSG);

	/* A jump without its chain in a verdict map's element: libnftnl reads the chain
	 * from an uninitialised array. */
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_MULTI, 0);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, "pct");
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, "vm");
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	data = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
	verdict = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
	mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htobe32((uint32_t)NFT_JUMP));
	mnl_attr_nest_end(nlh, verdict);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	assert_int_equal(pc_nftsnap_add(b, nlh), -EBADMSG);

	/* An element attribute beyond NFTA_SET_ELEM_MAX: libnftnl's array overflows. */
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_MULTI, 0);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, "pct");
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, "iv4");
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_u32(nlh, NFTA_SET_ELEM_MAX + 2, 0);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	assert_int_equal(pc_nftsnap_add(b, nlh), -EBADMSG);

	/* A key that is no value: libnftnl frees the half-made element (NULL dereference). */
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_MULTI, 0);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, "pct");
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, "iv4");
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	data = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
	mnl_attr_put_u32(nlh, 6, 0);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	assert_int_equal(pc_nftsnap_add(b, nlh), -EBADMSG);

	/* A chain name without its NUL: strdup reads past the attribute. */
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_MULTI, 0);
	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, "pct");
	mnl_attr_put(nlh, NFTA_CHAIN_NAME, 4, "nul!");
	assert_int_equal(pc_nftsnap_add(b, nlh), -EBADMSG);

	/* A u32 of two bytes: libnftnl calls exit(EXIT_FAILURE), "kernel ABI is broken". */
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_MULTI, 0);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, "new");
	mnl_attr_put_u16(nlh, NFTA_TABLE_FLAGS, 0);
	assert_int_equal(pc_nftsnap_add(b, nlh), -EBADMSG);
	/* The same with the right size is a table. */
	memset(buf, 0, sizeof(buf));
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_MULTI, 0);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, "new");
	mnl_attr_put_u32(nlh, NFTA_TABLE_FLAGS, 0);
	assert_int_equal(pc_nftsnap_add(b, nlh), 0);
	pc_nftsnap_free(b);
}

/*
 * Every recorded message with bytes changed at random, added to a builder that holds the
 * whole ruleset: never a crash, an exit or a leak, only 0, -EBADMSG or -EINTR.
 */
static void test_corrupted(void **state)
{
	struct pc_nftsnap *b = pc_nftsnap_new();
	struct nl_replay rp;
	struct pc_nft_ruleset rs;
	uint32_t seed = 0x5eed;

	assert_non_null(b);
	assert_int_equal(nl_replay_load("nft_ruleset.bin", &rp), 0);
	for (size_t i = 0; i < rp.n; i++)
		assert_int_equal(pc_nftsnap_add(b, rp.msgs[i]), 0);
	for (size_t i = 0; i < rp.n; i++) {
		size_t len = rp.msgs[i]->nlmsg_len;

		for (int round = 0; round < 32; round++) {
			struct nlmsghdr *c = nl_copy(rp.msgs[i], len);
			int r;

			/* Past the netlink header: the length and type stay. */
			for (int k = 0; k < 1 + round % 4; k++) {
				size_t at = NLMSG_HDRLEN + nl_rand(&seed) % (len - NLMSG_HDRLEN);

				((uint8_t *)c)[at] = (uint8_t)nl_rand(&seed);
			}
			r = pc_nftsnap_add(b, c);
			assert_true(r == 0 || r == -EBADMSG || r == -EINTR);
			free(c);
		}
	}
	nl_replay_free(&rp);
	pc_nftsnap_finish(b, &rs);
	pc_nftsnap_free(b);
	pc_nft_ruleset_clear(&rs);
}

static unsigned index_freed;

static void count_free(void *p)
{
	index_freed++;
	free(p);
}

static void test_index_free(void **state)
{
	struct pc_nft_ruleset rs;
	struct pc_nft_set *s;

	load(&rs);
	s = (struct pc_nft_set *)set(&rs, NFPROTO_INET, "pct", "iv4");
	s->index = malloc(16);
	s->index_free = count_free;
	/* An index without a destructor is not the set's to free. */
	((struct pc_nft_set *)set(&rs, NFPROTO_INET, "pct", "m"))->index = &index_freed;
	pc_nft_ruleset_clear(&rs);
	assert_int_equal(index_freed, 1);
}

static void write_file(const char *dir, const char *name, const char *content)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void test_blind_spot(void **state)
{
	char root[] = "/tmp/pcnftsnap.XXXXXX", net[64], path[256];
	char *msg;

	assert_non_null(mkdtemp(root));
	snprintf(net, sizeof(net), "%s/net", root);
	assert_int_equal(mkdir(net, 0755), 0);

	/* No proc files at all (no x_tables modules), then empty ones. */
	assert_int_equal(pc_nft_blind_spot(root, &msg), 0);
	assert_null(msg);
	write_file(net, "ip_tables_names", "");
	write_file(net, "ip6_tables_names", "");
	assert_int_equal(pc_nft_blind_spot(root, &msg), 0);
	assert_null(msg);

	write_file(net, "ip_tables_names", "filter\nnat\n");
	assert_int_equal(pc_nft_blind_spot(root, &msg), 0);
	assert_string_equal(msg, "iptables-legacy tables are loaded (filter, nat): portcheck "
				 "cannot see their rules");
	free(msg);
	write_file(net, "ip6_tables_names", "mangle\n");
	write_file(net, "arp_tables_names", "filter\n");
	assert_int_equal(pc_nft_blind_spot(root, &msg), 0);
	assert_string_equal(msg, "iptables-legacy tables are loaded (filter, nat), "
				 "ip6tables-legacy tables are loaded (mangle), "
				 "arptables-legacy tables are loaded (filter): portcheck cannot "
				 "see their rules");
	free(msg);

	for (const char *const *f = (const char *const[]){"ip_tables_names", "ip6_tables_names",
							  "arp_tables_names", NULL};
	     *f; f++) {
		snprintf(path, sizeof(path), "%s/%s", net, *f);
		unlink(path);
	}
	rmdir(net);
	rmdir(root);
}

/* --- a live ruleset, in a network namespace of the test's own --------------------------- */

#define LIVE_BIG 30000	  /* ipv4_addr hash set: 198.18.0.0 + 3 i */
#define LIVE_BIG6 5000	  /* ipv6_addr interval set: 2001:db8:i::/48 */
#define LIVE_CHAIN_B 1500 /* rules: several dump batches in one chain */
#define LIVE_CHAIN_C 700

#define LCHECK(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "test_live: %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)

static void live_append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		LCHECK(n >= 0);
		if (*len + n < *cap)
			break;
		*cap = (*cap + n) * 2;
		*buf = realloc(*buf, *cap);
		LCHECK(*buf);
	}
	*len += n;
}

static const char *const live_chain_a[] = {
    "tcp dport { 22, 80, 443 } ip saddr { 198.18.0.1, 198.18.0.9 } accept",
    "ct state { established, related } accept",
    "meta l4proto { icmp, ipv6-icmp } accept",
    "ip saddr . tcp dport { 198.18.0.1 . 22, 198.18.0.2 . 80 } accept",
    "tcp dport vmap { 22 : accept, 23 : drop }",
    "ip saddr @big drop",
    "ip6 saddr @big6 drop",
    "jump b",
};

static const char *const live_small_x[] = {
    "tcp dport { 22, 80 } ip saddr @s accept",
    "ct state { established, related } accept",
};
static const char live_small_y[] = "udp dport 53 accept";

static void live_load(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	size_t len = 0, cap = 1 << 20;
	char *buf = malloc(cap);

	LCHECK(ctx && buf);
	live_append(&buf, &len, &cap, "table inet live {\n set big { type ipv4_addr; elements = {");
	for (int i = 0; i < LIVE_BIG; i++)
		live_append(&buf, &len, &cap, "%s198.%d.%d.%d", i ? "," : "", 18 + ((3 * i) >> 16),
			    ((3 * i) >> 8) & 255, (3 * i) & 255);
	live_append(&buf, &len, &cap,
		    "} }\n set big6 { type ipv6_addr; flags interval; elements = {");
	for (int i = 0; i < LIVE_BIG6; i++)
		live_append(&buf, &len, &cap, "%s2001:db8:%x::/48", i ? "," : "", 2 * i + 1);
	live_append(&buf, &len, &cap,
		    "} }\n chain a {\n  type filter hook input priority 0; "
		    "policy accept;\n");
	for (size_t i = 0; i < ELEMENTSOF(live_chain_a); i++)
		live_append(&buf, &len, &cap, "  %s\n", live_chain_a[i]);
	live_append(&buf, &len, &cap, " }\n chain b {\n");
	for (int i = 0; i < LIVE_CHAIN_B; i++)
		live_append(&buf, &len, &cap, "  tcp dport %d counter accept\n", 10000 + i);
	live_append(&buf, &len, &cap, " }\n chain c {\n");
	for (int i = 0; i < LIVE_CHAIN_C; i++)
		live_append(&buf, &len, &cap, "  udp dport %d drop\n", 20000 + i);
	live_append(&buf, &len, &cap, " }\n}\n");
	/* A table whose chains libnftables lists alone cheaply (pc_nft_texts_fill_rules). */
	live_append(&buf, &len, &cap,
		    "table ip small {\n set s { type ipv4_addr; elements = { 198.51.100.1, "
		    "198.51.100.2 } }\n chain x {\n  %s\n  %s\n }\n chain y {\n  %s\n }\n}\n",
		    live_small_x[0], live_small_x[1], live_small_y);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (nft_run_cmd_from_buffer(ctx, buf) != 0) {
		fprintf(stderr, "test_live: nft: %s\n", nft_ctx_get_error_buffer(ctx));
		_exit(1);
	}
	nft_ctx_free(ctx);
	free(buf);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The snapshot of live_load's ruleset; texts checked when @texts. */
static void live_check(const struct pc_nft_ruleset *rs, bool texts)
{
	const struct pc_nft_table *t = pc_nft_table_find(rs, NFPROTO_INET, "live");
	const struct pc_nft_chain *a = pc_nft_chain_find(t, "a"), *b = pc_nft_chain_find(t, "b"),
				  *c = pc_nft_chain_find(t, "c");
	const struct pc_nft_set *big = pc_nft_set_find(t, "big"),
				*big6 = pc_nft_set_find(t, "big6");
	uint32_t *keys;
	size_t starts = 0;

	LCHECK(a && b && c && big && big6);
	LCHECK(a->n_rules == ELEMENTSOF(live_chain_a));
	LCHECK(b->n_rules == LIVE_CHAIN_B);
	LCHECK(c->n_rules == LIVE_CHAIN_C);
	for (size_t i = 0; i < a->n_rules; i++)
		LCHECK(texts ? a->rules[i].text && strcmp(a->rules[i].text, live_chain_a[i]) == 0
			     : !a->rules[i].text);
	/* In their order, each rule once: "tcp dport N counter accept" is meta l4proto, cmp,
	 * payload, cmp with N, counter, immediate. */
	for (size_t i = 0; i < b->n_rules; i++) {
		const struct pc_nft_rule *r = &b->rules[i];
		char want[64];

		LCHECK(i == 0 || r->handle > b->rules[i - 1].handle);
		LCHECK(r->n_exprs == 6 && r->exprs[3].type == PC_NFT_EXPR_CMP);
		LCHECK(r->exprs[3].cmp.data.len == 2);
		LCHECK(((r->exprs[3].cmp.data.v[0] << 8) | r->exprs[3].cmp.data.v[1]) ==
		       (int)(10000 + i));
		snprintf(want, sizeof(want), "tcp dport %zu counter accept", 10000 + i);
		LCHECK(texts ? r->text && strcmp(r->text, want) == 0 : !r->text);
	}
	for (size_t i = 0; i < c->n_rules; i++)
		LCHECK(i == 0 || c->rules[i].handle > c->rules[i - 1].handle);

	/* Every element of the large set, once. */
	LCHECK(big->n_elems == LIVE_BIG);
	keys = calloc(big->n_elems, sizeof(*keys));
	LCHECK(keys);
	for (size_t i = 0; i < big->n_elems; i++) {
		LCHECK(big->elems[i].key_len == 4 && big->elems[i].flags == 0);
		memcpy(&keys[i], big->elems[i].key, 4);
		keys[i] = be32toh(keys[i]);
	}
	qsort(keys, big->n_elems, sizeof(*keys), cmp_u32);
	for (size_t i = 0; i < big->n_elems; i++)
		LCHECK(keys[i] == (198u << 24 | 18u << 16) + 3 * i);
	free(keys);
	/* The interval set: a start and an end element per prefix (and the end of the
	 * leading gap). */
	for (size_t i = 0; i < big6->n_elems; i++)
		if (!(big6->elems[i].flags & NFT_SET_ELEM_INTERVAL_END)) {
			const uint8_t *k = big6->elems[i].key;
			unsigned n = (k[4] << 8) | k[5];

			LCHECK(k[0] == 0x20 && k[1] == 0x01 && k[2] == 0x0d && k[3] == 0xb8);
			LCHECK(n % 2 == 1 && n < 2 * LIVE_BIG6);
			starts++;
		}
	LCHECK(starts == LIVE_BIG6);
}

static void live_child(void)
{
	struct pc_nft_ruleset rs = {};
	struct nft_ctx *ctx;

	if (unshare(CLONE_NEWNET) < 0)
		_exit(77);
	live_load();

	LCHECK(pc_nft_read(&rs) == 0);
	live_check(&rs, true);
	pc_nft_ruleset_clear(&rs);

	/* Texts later, from the same generation. */
	LCHECK(pc_nft_read_flags(&rs, PC_NFT_READ_NO_TEXTS) == 0);
	live_check(&rs, false);
	LCHECK(pc_nft_texts_fill(&rs) == 0);
	live_check(&rs, true);
	pc_nft_ruleset_clear(&rs);

	/* Texts of some rules: their chain alone when its table's sets are small... */
	{
		const struct pc_nft_table *small;
		const struct pc_nft_chain *x, *y, *b;
		const struct pc_nft_rule *want[2];

		LCHECK(pc_nft_read_flags(&rs, PC_NFT_READ_NO_TEXTS) == 0);
		small = pc_nft_table_find(&rs, NFPROTO_IPV4, "small");
		x = pc_nft_chain_find(small, "x");
		y = pc_nft_chain_find(small, "y");
		b = pc_nft_chain_find(pc_nft_table_find(&rs, NFPROTO_INET, "live"), "b");
		LCHECK(x && y && b && x->n_rules == 2 && y->n_rules == 1);
		want[0] = &x->rules[1];
		want[1] = NULL;
		LCHECK(pc_nft_texts_fill_rules(&rs, want, 2) == 0);
		for (size_t i = 0; i < 2; i++)
			LCHECK(x->rules[i].text && strcmp(x->rules[i].text, live_small_x[i]) == 0);
		LCHECK(!y->rules[0].text);
		live_check(&rs, false);
		/* ... the whole ruleset once a table holds large sets. */
		want[0] = &b->rules[7];
		LCHECK(pc_nft_texts_fill_rules(&rs, want, 1) == 0);
		live_check(&rs, true);
		LCHECK(y->rules[0].text && strcmp(y->rules[0].text, live_small_y) == 0);
		for (size_t i = 0; i < 2; i++)
			LCHECK(x->rules[i].text && strcmp(x->rules[i].text, live_small_x[i]) == 0);
		pc_nft_ruleset_clear(&rs);

		/* Not from another generation. */
		LCHECK(pc_nft_read_flags(&rs, PC_NFT_READ_NO_TEXTS) == 0);
		x = pc_nft_chain_find(pc_nft_table_find(&rs, NFPROTO_IPV4, "small"), "x");
		ctx = nft_ctx_new(NFT_CTX_DEFAULT);
		LCHECK(ctx && nft_run_cmd_from_buffer(ctx, "add rule ip small y accept") == 0);
		nft_ctx_free(ctx);
		want[0] = &x->rules[0];
		LCHECK(pc_nft_texts_fill_rules(&rs, want, 1) == -ESTALE);
		LCHECK(!x->rules[0].text && !x->rules[1].text);
		pc_nft_ruleset_clear(&rs);
	}

	/* Not from another one. */
	LCHECK(pc_nft_read_flags(&rs, PC_NFT_READ_NO_TEXTS) == 0);
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	LCHECK(ctx && nft_run_cmd_from_buffer(ctx, "add rule inet live c accept") == 0);
	nft_ctx_free(ctx);
	LCHECK(pc_nft_texts_fill(&rs) == -ESTALE);
	live_check(&rs, false);
	pc_nft_ruleset_clear(&rs);
	_exit(0);
}

static void test_live(void **state)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		live_child();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables_and_chains),
	    cmocka_unit_test(test_firewalld_rules),
	    cmocka_unit_test(test_pct_rules),
	    cmocka_unit_test(test_xt),
	    cmocka_unit_test(test_sets),
	    cmocka_unit_test(test_texts),
	    cmocka_unit_test(test_texts_odd),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_hostile_names),
	    cmocka_unit_test(test_texts_hostile),
	    cmocka_unit_test(test_unknown_expression),
	    cmocka_unit_test(test_order_and_garbage),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_libnftnl_traps),
	    cmocka_unit_test(test_corrupted),
	    cmocka_unit_test(test_index_free),
	    cmocka_unit_test(test_blind_spot),
	    cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
