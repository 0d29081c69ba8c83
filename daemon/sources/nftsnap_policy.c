/* SPDX-License-Identifier: MIT */
/*
 * What an nf_tables dump message must look like before libnftnl parses it. libnftnl
 * (1.2.4) trusts the kernel: a string without its NUL goes to strdup, a missing expression
 * name or jump target is dereferenced, and an attribute of the wrong size makes it call
 * exit() ("nf_tables kernel ABI is broken"), which would end portcheckd. Found by
 * tests/fuzz/fuzz_netlink. Every attribute whose type the uapi header documents is checked
 * against it here (nftsnap_policy_tables.h, generated), nested ones and expressions
 * included; what the kernel sends always passes.
 */
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "nftsnap.h"
#include "portcheck/util.h"

enum pc_nl_kind {
	PC_NLP_ANY, /* not checked (the zero of unlisted attributes) */
	PC_NLP_U8,
	PC_NLP_U16,
	PC_NLP_U32,
	PC_NLP_U64,
	PC_NLP_STRING, /* NUL-terminated, as the kernel's nla_put_string() sends it */
	PC_NLP_NESTED, /* with the attributes of .nested if set */
	PC_NLP_LIST,   /* nested, every element of kind .elem (and .nested) */
	PC_NLP_EXPR,   /* nft_expr_attributes, its data by the expression's name */
	PC_NLP_DATA,   /* nft_data_attributes: one value or one verdict */
	PC_NLP_KEY,    /* nft_data_attributes: one value */
};

struct pc_nl_policy;

struct pc_nl_attr_policy {
	enum pc_nl_kind kind;
	enum pc_nl_kind elem; /* of a LIST */
	const struct pc_nl_policy *nested;
};

struct pc_nl_policy {
	const char *name;
	size_t n;
	const struct pc_nl_attr_policy *attrs;
	bool strict; /* types beyond the known ones are refused, not ignored */
};

#include "nftsnap_policy_tables.h"

/* Expressions in expressions (dynset's) and lists in lists: the kernel nests two deep. */
#define MAX_DEPTH 8

static bool check_attrs(const struct nlattr *nest, const struct pc_nl_policy *p, unsigned depth);
static bool check_kind(const struct nlattr *a, enum pc_nl_kind kind, enum pc_nl_kind elem,
		       const struct pc_nl_policy *nested, unsigned depth);

static bool nest_well_formed(const struct nlattr *nest)
{
	const char *p = mnl_attr_get_payload(nest);
	const char *end = p + mnl_attr_get_payload_len(nest);

	while (end - p >= (ptrdiff_t)MNL_ATTR_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t step;

		if (a->nla_len < MNL_ATTR_HDRLEN || a->nla_len > end - p)
			return false;
		step = MNL_ALIGN(a->nla_len);
		p += step < (size_t)(end - p) ? step : (size_t)(end - p);
	}
	return p == end;
}

static const struct pc_nl_policy *expr_policy(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(expr_policies); i++)
		if (strcmp(expr_policies[i].name, name) == 0)
			return expr_policies[i].policy;
	return NULL;
}

/* An expression: its name, a C string, must be there; its data as that name says. */
static bool check_expr(const struct nlattr *expr, unsigned depth)
{
	const struct nlattr *a, *name = NULL, *data = NULL;
	const struct pc_nl_policy *p;

	mnl_attr_for_each_nested(a, expr)
	{
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME)
			name = a;
		else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA)
			data = a;
	}
	if (!name || !check_kind(name, PC_NLP_STRING, 0, NULL, depth))
		return false;
	if (!data)
		return true;
	p = expr_policy(mnl_attr_get_str(name));
	return check_kind(data, PC_NLP_NESTED, 0, p, depth);
}

/*
 * A data register, as the kernel sends it: one value, or (unless @key) one verdict. libnftnl
 * leaves an element half made from anything else (found: NULL dereferences in
 * nftnl_set_free and in the element's chain), and reads a jump's chain regardless.
 */
static bool check_data(const struct nlattr *data, bool key, unsigned depth)
{
	const struct nlattr *a, *v;
	unsigned n = 0;

	if (!check_attrs(data, &policy_data, depth))
		return false;
	mnl_attr_for_each_nested(a, data)
	{
		const struct nlattr *code = NULL, *chain = NULL;
		int32_t c;

		n++;
		if (mnl_attr_get_type(a) == NFTA_DATA_VALUE)
			continue;
		if (key || mnl_attr_get_type(a) != NFTA_DATA_VERDICT)
			return false;
		mnl_attr_for_each_nested(v, a)
		{
			if (mnl_attr_get_type(v) == NFTA_VERDICT_CODE)
				code = v;
			else if (mnl_attr_get_type(v) == NFTA_VERDICT_CHAIN)
				chain = v;
		}
		if (!code)
			return false;
		c = (int32_t)be32toh(mnl_attr_get_u32(code));
		if ((c == NFT_JUMP || c == NFT_GOTO) && !chain)
			return false;
	}
	return n == 1;
}

static bool check_kind(const struct nlattr *a, enum pc_nl_kind kind, enum pc_nl_kind elem,
		       const struct pc_nl_policy *nested, unsigned depth)
{
	size_t len = mnl_attr_get_payload_len(a);
	const struct nlattr *e;

	switch (kind) {
	case PC_NLP_ANY:
		return true;
	case PC_NLP_U8:
		return len == 1;
	case PC_NLP_U16:
		return len == 2;
	case PC_NLP_U32:
		return len == 4;
	case PC_NLP_U64:
		return len == 8;
	case PC_NLP_STRING:
		return len > 0 && ((const char *)mnl_attr_get_payload(a))[len - 1] == '\0';
	default:
		break;
	}
	/* Nested: attributes that fill it exactly, as the kernel builds them (libmnl stops
	 * quietly at a malformed one, and libnftnl then works on half an expression). */
	if (depth >= MAX_DEPTH || !nest_well_formed(a))
		return false;
	switch (kind) {
	case PC_NLP_NESTED:
		return !nested || check_attrs(a, nested, depth + 1);
	case PC_NLP_LIST:
		mnl_attr_for_each_nested(e, a)
		{
			if (!check_kind(e, elem, 0, nested, depth + 1))
				return false;
		}
		return true;
	case PC_NLP_EXPR:
		return check_expr(a, depth + 1);
	case PC_NLP_DATA:
	case PC_NLP_KEY:
		return check_data(a, kind == PC_NLP_KEY, depth + 1);
	default:
		return false;
	}
}

static bool check_attr(const struct nlattr *a, const struct pc_nl_policy *p, unsigned depth)
{
	uint16_t type = mnl_attr_get_type(a);
	const struct pc_nl_attr_policy *ap;

	/* Unknown types are ignored, by libnftnl too (a newer kernel's additions). */
	if (type >= p->n)
		return !p->strict;
	ap = &p->attrs[type];
	return check_kind(a, ap->kind, ap->elem, ap->nested, depth);
}

static bool check_attrs(const struct nlattr *nest, const struct pc_nl_policy *p, unsigned depth)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest)
	{
		if (!check_attr(a, p, depth))
			return false;
	}
	return true;
}

int pc_nftsnap_msg_check(const struct nlmsghdr *nlh)
{
	const struct pc_nl_policy *p;
	const struct nlattr *a;

	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWTABLE:
		p = &policy_table;
		break;
	case NFT_MSG_NEWCHAIN:
		p = &policy_chain;
		break;
	case NFT_MSG_NEWSET:
		p = &policy_set;
		break;
	case NFT_MSG_NEWSETELEM:
		p = &policy_set_elem_list;
		break;
	case NFT_MSG_NEWRULE:
		p = &policy_rule;
		break;
	default:
		return -EBADMSG;
	}
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg))
		return -EBADMSG;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (!check_attr(a, p, 0))
			return -EBADMSG;
	}
	return 0;
}
