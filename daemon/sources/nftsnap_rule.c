/* SPDX-License-Identifier: MIT */
/*
 * The nftables snapshot's rules: NEWRULE messages into the chains of the model, through
 * libnftnl, or expression by expression when libnftnl refuses the whole rule.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h> /* before libnftnl's headers, which use FILE */
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "nftsnap_build.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

static void nftnl_rule_freep(struct nftnl_rule **p)
{
	if (*p)
		nftnl_rule_free(*p);
}

struct expr_ctx {
	struct pc_nft_rule *rule;
	struct pc_nft_arena **arena; /* the ruleset's, for the constants */
	size_t cap;		     /* room in rule->exprs */
	int error;
};

static int expr_cb(struct nftnl_expr *e, void *userdata)
{
	struct expr_ctx *c = userdata;
	int r;

	if (c->rule->n_exprs >= c->cap) {
		c->error = -EBADMSG;
		return -1;
	}
	r = pc_nftsnap_expr_convert(e, c->arena, &c->rule->exprs[c->rule->n_exprs]);
	if (r < 0) {
		c->error = r;
		return -1;
	}
	c->rule->n_exprs++;
	return 0;
}

static int count_cb(struct nftnl_expr *e, void *userdata)
{
	(*(size_t *)userdata)++;
	return 0;
}

/* The name of a raw NFTA_LIST_ELEM expression, or "". */
static void raw_expr_name(const struct nlattr *elem, char *buf, size_t size)
{
	const struct nlattr *a;

	buf[0] = '\0';
	mnl_attr_for_each_nested(a, elem)
	{
		const char *s = mnl_attr_get_payload(a);
		size_t len = mnl_attr_get_payload_len(a);

		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME && len > 0 && strnlen(s, len) < len)
			snprintf(buf, size, "%s", s);
	}
}

/*
 * libnftnl refuses a whole rule when it does not know one of its expressions (the kernel
 * may be newer). Parse each expression alone in a rule of its own instead; those it still
 * refuses become UNKNOWN, keeping their name.
 */
static int convert_expr_alone(const struct nlattr *elem, struct pc_nft_arena **arena,
			      struct pc_nft_expr *ret)
{
	_cleanup_(nftnl_rule_freep) struct nftnl_rule *nr = nftnl_rule_alloc();
	_cleanup_free_ char *buf = NULL;
	size_t len = mnl_attr_get_payload_len(elem);
	struct expr_ctx c = {.arena = arena};
	struct pc_nft_rule one = {};
	struct pc_nft_expr x = {};
	struct nlmsghdr *nlh;
	struct nlattr *nest;

	if (!nr)
		return -ENOMEM;
	buf = calloc(1, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)) +
			    2 * MNL_ATTR_HDRLEN + MNL_ALIGN(len));
	if (!buf)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_UNSPEC, 0, 0);
	nest = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	mnl_attr_put(nlh, NFTA_LIST_ELEM, len, mnl_attr_get_payload(elem));
	mnl_attr_nest_end(nlh, nest);

	one.exprs = &x;
	c.rule = &one;
	c.cap = 1;
	if (nftnl_rule_nlmsg_parse(nlh, nr) >= 0 && nftnl_expr_foreach(nr, expr_cb, &c) >= 0 &&
	    one.n_exprs == 1) {
		*ret = x;
		return 0;
	}
	pc_nftsnap_expr_clear(&x);
	if (c.error == -ENOMEM)
		return c.error;
	*ret = (struct pc_nft_expr){.type = PC_NFT_EXPR_UNKNOWN};
	raw_expr_name(elem, ret->name, sizeof(ret->name));
	return 0;
}

/* The fallback: the rule's attributes by hand, each expression on its own. */
static int parse_rule_raw(const struct nlmsghdr *nlh, struct pc_nft_arena **arena,
			  const char **ret_table, const char **ret_chain, struct pc_nft_rule *rule)
{
	const struct nlattr *tb[NFTA_RULE_MAX + 1];
	const struct nlattr *a;
	size_t n = 0;
	int r;

	r = pc_nl_parse_attrs(nlh, sizeof(struct nfgenmsg), tb, NFTA_RULE_MAX);
	if (r < 0)
		return r;
	if (!tb[NFTA_RULE_TABLE] || !tb[NFTA_RULE_CHAIN] || !tb[NFTA_RULE_HANDLE] ||
	    mnl_attr_validate(tb[NFTA_RULE_TABLE], MNL_TYPE_NUL_STRING) < 0 ||
	    mnl_attr_validate(tb[NFTA_RULE_CHAIN], MNL_TYPE_NUL_STRING) < 0 ||
	    mnl_attr_validate(tb[NFTA_RULE_HANDLE], MNL_TYPE_U64) < 0)
		return -EBADMSG;
	*ret_table = mnl_attr_get_str(tb[NFTA_RULE_TABLE]);
	*ret_chain = mnl_attr_get_str(tb[NFTA_RULE_CHAIN]);
	rule->handle = be64toh(mnl_attr_get_u64(tb[NFTA_RULE_HANDLE]));
	/* Not read on this path: whatever it holds, only nft can tell how it prints. */
	rule->udata_other = tb[NFTA_RULE_USERDATA] != NULL;
	if (!tb[NFTA_RULE_EXPRESSIONS])
		return 0;

	mnl_attr_for_each_nested(a, tb[NFTA_RULE_EXPRESSIONS]) n++;
	rule->exprs = calloc(n ? n : 1, sizeof(*rule->exprs));
	if (!rule->exprs)
		return -ENOMEM;
	mnl_attr_for_each_nested(a, tb[NFTA_RULE_EXPRESSIONS])
	{
		if (mnl_attr_get_type(a) != NFTA_LIST_ELEM)
			return -EBADMSG;
		r = convert_expr_alone(a, arena, &rule->exprs[rule->n_exprs]);
		if (r < 0)
			return r;
		rule->n_exprs++;
	}
	return 0;
}

/*
 * The comment of a rule's user data (type-length-value records, NFTNL_UDATA_RULE_COMMENT a
 * NUL-terminated string) into @rule, sanitised as it enters. Anything else, or a comment
 * the sanitiser changes, sets udata_other: nft prints the user data its own way then (or
 * refuses the rule), and only its listing can say how. Returns 0 or -ENOMEM.
 */
static int parse_udata(const uint8_t *p, uint32_t len, struct pc_nft_rule *rule)
{
	for (uint32_t off = 0; off < len;) {
		uint8_t type, n;

		if (len - off < 2) {
			rule->udata_other = true;
			return 0;
		}
		type = p[off];
		n = p[off + 1];
		if (n > len - off - 2 || type != NFTNL_UDATA_RULE_COMMENT || n == 0 ||
		    p[off + 2 + n - 1] != '\0' || strlen((const char *)p + off + 2) != n - 1u ||
		    rule->comment) {
			rule->udata_other = true;
			return 0;
		}
		rule->comment = strdup((const char *)p + off + 2);
		if (!rule->comment)
			return -ENOMEM;
		off += 2u + n;
	}
	if (rule->comment) {
		/* The snapshot holds sanitised text only; nft would print other bytes as they
		 * are. */
		char *clean;
		int r = pc_strsan(rule->comment, strlen(rule->comment), PC_STRSAN_RAW, &clean);

		if (r < 0)
			return r;
		if (strcmp(clean, rule->comment) != 0)
			rule->udata_other = true;
		free(rule->comment);
		rule->comment = clean;
	}
	return 0;
}

static int parse_rule(const struct nlmsghdr *nlh, struct nftnl_rule *nr,
		      struct pc_nft_arena **arena, const char **ret_table, const char **ret_chain,
		      struct pc_nft_rule *rule)
{
	struct expr_ctx c = {.rule = rule, .arena = arena};
	size_t n = 0;

	if (nftnl_rule_nlmsg_parse(nlh, nr) < 0)
		return parse_rule_raw(nlh, arena, ret_table, ret_chain, rule);
	if (!nftnl_rule_is_set(nr, NFTNL_RULE_TABLE) || !nftnl_rule_is_set(nr, NFTNL_RULE_CHAIN))
		return -EBADMSG;
	*ret_table = nftnl_rule_get_str(nr, NFTNL_RULE_TABLE);
	*ret_chain = nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN);
	rule->handle = nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE);
	if (nftnl_rule_is_set(nr, NFTNL_RULE_USERDATA)) {
		uint32_t len = 0;
		const void *ud = nftnl_rule_get_data(nr, NFTNL_RULE_USERDATA, &len);
		int r = ud ? parse_udata(ud, len, rule) : 0;

		if (r < 0)
			return r;
	}
	nftnl_expr_foreach(nr, count_cb, &n);
	rule->exprs = calloc(n ? n : 1, sizeof(*rule->exprs));
	if (!rule->exprs)
		return -ENOMEM;
	c.cap = n;
	if (nftnl_expr_foreach(nr, expr_cb, &c) < 0)
		return c.error < 0 ? c.error : -EBADMSG;
	return 0;
}

int pc_nftsnap_add_rule(struct pc_nftsnap *b, const struct nlmsghdr *nlh)
{
	_cleanup_(nftnl_rule_freep) struct nftnl_rule *nr = nftnl_rule_alloc();
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct pc_nft_rule rule = {}, *slot;
	const char *table = NULL, *kchain = NULL, *chain;
	char buf[NAME_KEY_SIZE];
	struct pc_nft_table *t;
	struct pc_nft_chain *c;
	int r;

	if (!nr)
		return -ENOMEM;
	r = parse_rule(nlh, nr, &b->rs.rule_bytes, &table, &kchain, &rule);
	if (r < 0)
		goto fail;
	t = pc_nftsnap_find_table(b, nfg->nfgen_family, table);
	chain = pc_nftsnap_name_key(kchain, buf);
	if (!t || !chain) {
		r = -EINTR;
		goto fail;
	}
	if (t->flags & NFT_TABLE_F_DORMANT) {
		pc_nftsnap_rule_clear(&rule);
		return 0;
	}
	c = b->last_chain;
	if (!c || b->last_chain_table != t || strcmp(c->name, chain) != 0) {
		/* Rules come chain after chain, in the order of the chain dump: the next chain
		 * first, not a search of thousands (kube-proxy) for each. */
		struct pc_nft_chain *next = c && b->last_chain_table == t ? c + 1 : NULL;

		if (next && next < t->chains + t->n_chains && strcmp(next->name, chain) == 0)
			c = next;
		else
			c = (struct pc_nft_chain *)pc_nft_chain_find(t, chain);
		if (!c) {
			r = -EINTR;
			goto fail;
		}
		b->last_chain = c;
		b->last_chain_table = t;
	}
	slot = pc_nftsnap_vec_push(&c->rules, &c->n_rules, sizeof(*slot));
	if (!slot) {
		r = -ENOMEM;
		goto fail;
	}
	*slot = rule;
	return 0;
fail:
	pc_nftsnap_rule_clear(&rule);
	return r;
}
