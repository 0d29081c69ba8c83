/* SPDX-License-Identifier: MIT */
/*
 * The nftables snapshot: dumps of tables, chains, sets, set elements and rules over
 * nfnetlink, parsed with libnftnl, converted into the model of nft.h; rule texts from
 * libnftables; all inside one ruleset generation.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* before libnftnl's headers, which use FILE */
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "nftsnap.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

/* Bounded retries when the ruleset changes while it is read (firewalld reloads, ...). */
#define NFT_READ_TRIES 10

struct pc_nftsnap {
	/* Every table, dormant ones too so that their objects are recognised and dropped. */
	struct pc_nft_ruleset rs;
	/*
	 * Dumps come grouped by table and chain (set): remember the last ones found. Adding a
	 * table, chain or set may move the arrays, so it forgets them.
	 */
	struct pc_nft_table *last_table;
	struct pc_nft_chain *last_chain;
	struct pc_nft_table *last_chain_table;
	struct pc_nft_set *last_set;
	struct pc_nft_table *last_set_table;
};

/*
 * Append a zeroed element to a vector whose capacity is implied by its length (0, then
 * powers of two from 4), so that millions of set elements cost O(log n) reallocations
 * without a capacity field in the model. Returns the new element or NULL.
 */
static void *vec_push(void *arr_ptr, size_t *n, size_t size)
{
	void **arr = arr_ptr;
	char *p;

	if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
		size_t cap = *n == 0 ? 4 : *n * 2;

		if (cap > SIZE_MAX / size)
			return NULL;
		p = realloc(*arr, cap * size);
		if (!p)
			return NULL;
		*arr = p;
	}
	p = (char *)*arr + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

static void nftnl_table_freep(struct nftnl_table **p)
{
	if (*p)
		nftnl_table_free(*p);
}

static void nftnl_chain_freep(struct nftnl_chain **p)
{
	if (*p)
		nftnl_chain_free(*p);
}

static void nftnl_rule_freep(struct nftnl_rule **p)
{
	if (*p)
		nftnl_rule_free(*p);
}

static void nftnl_set_freep(struct nftnl_set **p)
{
	if (*p)
		nftnl_set_free(*p);
}

static void nft_ctx_freep(struct nft_ctx **p)
{
	if (*p)
		nft_ctx_free(*p);
}

/* --- freeing ---------------------------------------------------------------------------- */

static void rule_clear(struct pc_nft_rule *r)
{
	for (size_t i = 0; i < r->n_exprs; i++)
		pc_nftsnap_expr_clear(&r->exprs[i]);
	free(r->exprs);
	free(r->text);
	*r = (struct pc_nft_rule){};
}

static void chain_clear(struct pc_nft_chain *c)
{
	for (size_t i = 0; i < c->n_rules; i++)
		rule_clear(&c->rules[i]);
	free(c->rules);
	for (size_t i = 0; i < c->n_devices; i++)
		free(c->devices[i]);
	free(c->devices);
	free(c->name);
	free(c->type);
	free(c->dev);
	*c = (struct pc_nft_chain){};
}

static void set_clear(struct pc_nft_set *s)
{
	for (size_t i = 0; i < s->n_elems; i++)
		free(s->elems[i].verdict.chain);
	free(s->elems);
	if (s->index && s->index_free)
		s->index_free(s->index);
	free(s->name);
	free(s->kname);
	*s = (struct pc_nft_set){};
}

static void table_clear(struct pc_nft_table *t)
{
	for (size_t i = 0; i < t->n_chains; i++)
		chain_clear(&t->chains[i]);
	free(t->chains);
	for (size_t i = 0; i < t->n_sets; i++)
		set_clear(&t->sets[i]);
	free(t->sets);
	free(t->name);
	free(t->kname);
	*t = (struct pc_nft_table){};
}

void pc_nft_ruleset_clear(struct pc_nft_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_tables; i++)
		table_clear(&rs->tables[i]);
	free(rs->tables);
	free(rs->blind_spot);
	*rs = (struct pc_nft_ruleset){};
}

/* --- lookups ---------------------------------------------------------------------------- */

const struct pc_nft_table *pc_nft_table_find(const struct pc_nft_ruleset *rs, uint32_t family,
					     const char *name)
{
	for (size_t i = 0; rs && name && i < rs->n_tables; i++)
		if (rs->tables[i].family == family && strcmp(rs->tables[i].name, name) == 0)
			return &rs->tables[i];
	return NULL;
}

const struct pc_nft_chain *pc_nft_chain_find(const struct pc_nft_table *t, const char *name)
{
	for (size_t i = 0; t && name && i < t->n_chains; i++)
		if (strcmp(t->chains[i].name, name) == 0)
			return &t->chains[i];
	return NULL;
}

const struct pc_nft_set *pc_nft_set_find(const struct pc_nft_table *t, const char *name)
{
	for (size_t i = 0; t && name && i < t->n_sets; i++)
		if (strcmp(t->sets[i].name, name) == 0)
			return &t->sets[i];
	return NULL;
}

/* --- the builder ------------------------------------------------------------------------ */

struct pc_nftsnap *pc_nftsnap_new(void)
{
	return calloc(1, sizeof(struct pc_nftsnap));
}

void pc_nftsnap_free(struct pc_nftsnap *b)
{
	if (!b)
		return;
	pc_nft_ruleset_clear(&b->rs);
	free(b);
}

/* Room for the sanitised form of any name the kernel allows (NFT_NAME_MAXLEN, NUL included). */
#define NAME_KEY_SIZE PC_STRSAN_SIZE(NFT_NAME_MAXLEN)

/* @name from a message as the snapshot stores it, in @buf, to look it up by; NULL for none
 * or one longer than the kernel allows. */
static const char *name_key(const char *name, char buf[static NAME_KEY_SIZE])
{
	size_t len = name ? strlen(name) : 0;

	if (!name || pc_strsan_buf(buf, NAME_KEY_SIZE, name, len, PC_STRSAN_RAW) != len)
		return NULL;
	return buf;
}

/* The table that @kname (as the kernel spells it) names. */
static struct pc_nft_table *find_table(struct pc_nftsnap *b, uint32_t family, const char *kname)
{
	char buf[NAME_KEY_SIZE];
	const char *name = name_key(kname, buf);

	if (!name)
		return NULL;
	if (b->last_table && b->last_table->family == family &&
	    strcmp(b->last_table->name, name) == 0)
		return b->last_table;
	b->last_table = (struct pc_nft_table *)pc_nft_table_find(&b->rs, family, name);
	return b->last_table;
}

int pc_nftsnap_strdup(const char *s, char **ret)
{
	if (!s) {
		*ret = NULL;
		return 0;
	}
	return pc_strsan(s, strlen(s), PC_STRSAN_RAW, ret);
}

static int add_table(struct pc_nftsnap *b, const struct nlmsghdr *nlh)
{
	_cleanup_(nftnl_table_freep) struct nftnl_table *nt = nftnl_table_alloc();
	struct pc_nft_table *t;
	const char *name;
	uint32_t family;

	if (!nt)
		return -ENOMEM;
	if (nftnl_table_nlmsg_parse(nlh, nt) < 0 || !nftnl_table_is_set(nt, NFTNL_TABLE_NAME))
		return -EBADMSG;
	name = nftnl_table_get_str(nt, NFTNL_TABLE_NAME);
	family = nftnl_table_get_u32(nt, NFTNL_TABLE_FAMILY);
	if (find_table(b, family, name))
		return -EINTR;

	/* Pointers into the table array move with it. */
	b->last_table = NULL;
	b->last_chain = NULL;
	b->last_set = NULL;
	t = vec_push(&b->rs.tables, &b->rs.n_tables, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->family = family;
	t->handle = nftnl_table_get_u64(nt, NFTNL_TABLE_HANDLE);
	t->flags = nftnl_table_get_u32(nt, NFTNL_TABLE_FLAGS);
	t->kname = strdup(name);
	if (!t->kname)
		return -ENOMEM;
	return pc_nftsnap_strdup(name, &t->name);
}

static int chain_devices(const struct nftnl_chain *nc, struct pc_nft_chain *c)
{
	const char *const *devs = NULL;
	int r;

	if (nftnl_chain_is_set(nc, NFTNL_CHAIN_DEVICES))
		devs = nftnl_chain_get_array(nc, NFTNL_CHAIN_DEVICES);
	for (size_t i = 0; devs && devs[i]; i++) {
		char **d = vec_push(&c->devices, &c->n_devices, sizeof(*d));

		if (!d)
			return -ENOMEM;
		r = pc_nftsnap_strdup(devs[i], d);
		if (r < 0)
			return r;
	}
	/* Kernels send NFTA_HOOK_DEV alone (before 5.5) or with NFTA_HOOK_DEVS for one device. */
	if (nftnl_chain_is_set(nc, NFTNL_CHAIN_DEV)) {
		r = pc_nftsnap_strdup(nftnl_chain_get_str(nc, NFTNL_CHAIN_DEV), &c->dev);
		if (r < 0)
			return r;
		if (c->n_devices == 0) {
			char **d = vec_push(&c->devices, &c->n_devices, sizeof(*d));

			if (!d)
				return -ENOMEM;
			return pc_nftsnap_strdup(c->dev, d);
		}
	} else if (c->n_devices > 0) {
		return pc_nftsnap_strdup(c->devices[0], &c->dev);
	}
	return 0;
}

static int add_chain(struct pc_nftsnap *b, const struct nlmsghdr *nlh)
{
	_cleanup_(nftnl_chain_freep) struct nftnl_chain *nc = nftnl_chain_alloc();
	struct pc_nft_table *t;
	struct pc_nft_chain *c;
	int r;

	if (!nc)
		return -ENOMEM;
	if (nftnl_chain_nlmsg_parse(nlh, nc) < 0 || !nftnl_chain_is_set(nc, NFTNL_CHAIN_NAME) ||
	    !nftnl_chain_is_set(nc, NFTNL_CHAIN_TABLE))
		return -EBADMSG;
	t = find_table(b, nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY),
		       nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE));
	if (!t)
		return -EINTR;

	b->last_chain = NULL;
	c = vec_push(&t->chains, &t->n_chains, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->handle = nftnl_chain_get_u64(nc, NFTNL_CHAIN_HANDLE);
	c->flags = nftnl_chain_get_u32(nc, NFTNL_CHAIN_FLAGS);
	/* A base chain is one with a hook (NFTA_CHAIN_HOOK), as the kernel sees it. */
	c->base = nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM);
	if (c->base) {
		c->hooknum = nftnl_chain_get_u32(nc, NFTNL_CHAIN_HOOKNUM);
		c->prio = nftnl_chain_get_s32(nc, NFTNL_CHAIN_PRIO);
		c->policy = nftnl_chain_get_u32(nc, NFTNL_CHAIN_POLICY);
		r = pc_nftsnap_strdup(nftnl_chain_is_set(nc, NFTNL_CHAIN_TYPE)
					  ? nftnl_chain_get_str(nc, NFTNL_CHAIN_TYPE)
					  : NULL,
				      &c->type);
		if (r < 0)
			return r;
		r = chain_devices(nc, c);
		if (r < 0)
			return r;
	}
	return pc_nftsnap_strdup(nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME), &c->name);
}

static int add_set(struct pc_nftsnap *b, const struct nlmsghdr *nlh)
{
	_cleanup_(nftnl_set_freep) struct nftnl_set *ns = nftnl_set_alloc();
	struct pc_nft_table *t;
	struct pc_nft_set *s;

	if (!ns)
		return -ENOMEM;
	if (nftnl_set_nlmsg_parse(nlh, ns) < 0 || !nftnl_set_is_set(ns, NFTNL_SET_NAME) ||
	    !nftnl_set_is_set(ns, NFTNL_SET_TABLE))
		return -EBADMSG;
	t = find_table(b, nftnl_set_get_u32(ns, NFTNL_SET_FAMILY),
		       nftnl_set_get_str(ns, NFTNL_SET_TABLE));
	if (!t)
		return -EINTR;

	b->last_set = NULL;
	s = vec_push(&t->sets, &t->n_sets, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->id = nftnl_set_get_u32(ns, NFTNL_SET_ID);
	s->flags = nftnl_set_get_u32(ns, NFTNL_SET_FLAGS);
	s->key_type = nftnl_set_get_u32(ns, NFTNL_SET_KEY_TYPE);
	s->key_len = nftnl_set_get_u32(ns, NFTNL_SET_KEY_LEN);
	s->data_type = nftnl_set_get_u32(ns, NFTNL_SET_DATA_TYPE);
	s->data_len = nftnl_set_get_u32(ns, NFTNL_SET_DATA_LEN);
	/* Sent only for concatenations (more than one field): the lengths in bytes. */
	if (nftnl_set_is_set(ns, NFTNL_SET_DESC_CONCAT)) {
		uint32_t count = 0;
		const uint8_t *len = nftnl_set_get_data(ns, NFTNL_SET_DESC_CONCAT, &count);

		if (!len || count > ELEMENTSOF(s->field_len))
			return -EBADMSG;
		memcpy(s->field_len, len, count);
		s->field_count = count;
	}
	s->kname = strdup(nftnl_set_get_str(ns, NFTNL_SET_NAME));
	if (!s->kname)
		return -ENOMEM;
	return pc_nftsnap_strdup(nftnl_set_get_str(ns, NFTNL_SET_NAME), &s->name);
}

/* libnftnl's element getters dereference what they find: ask only for what is set. */
static uint32_t elem_u32(struct nftnl_set_elem *e, uint16_t attr)
{
	return nftnl_set_elem_is_set(e, attr) ? nftnl_set_elem_get_u32(e, attr) : 0;
}

static int elem_data(struct nftnl_set_elem *e, uint16_t attr, struct pc_nft_data *ret)
{
	uint32_t len = 0;
	const void *p;

	if (!nftnl_set_elem_is_set(e, attr))
		return 0;
	p = nftnl_set_elem_get(e, attr, &len);
	if (!p || len > sizeof(ret->v))
		return -EBADMSG;
	memcpy(ret->v, p, len);
	ret->len = len;
	return 0;
}

static int elem_cb(struct nftnl_set_elem *e, void *userdata)
{
	struct pc_nft_set *s = userdata;
	struct pc_nft_set_elem *x;
	int r;

	/*
	 * An element whose time is up has expiration 0 (the kernel sends what is left). Since
	 * 6.x the kernel leaves such elements out of dumps itself; older ones send them until
	 * garbage collection, and lookups no longer match them.
	 */
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION) &&
	    nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION) == 0)
		return 0;

	/* Expiry removes the element without any notification: whoever keeps an answer
	 * must know when the first one goes (pc_freshness). */
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION)) {
		uint64_t left = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);

		if (s->next_expiry_ms == 0 || left < s->next_expiry_ms)
			s->next_expiry_ms = left;
	}

	x = vec_push(&s->elems, &s->n_elems, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->flags = elem_u32(e, NFTNL_SET_ELEM_FLAGS);
	r = elem_data(e, NFTNL_SET_ELEM_KEY, &x->key);
	if (r >= 0)
		r = elem_data(e, NFTNL_SET_ELEM_KEY_END, &x->key_end);
	if (r >= 0)
		r = elem_data(e, NFTNL_SET_ELEM_DATA, &x->data);
	if (r < 0)
		return r;
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
		x->verdict.code = (int32_t)elem_u32(e, NFTNL_SET_ELEM_VERDICT);
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN))
			return pc_nftsnap_strdup(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN),
						 &x->verdict.chain);
	}
	return 0;
}

static int add_elems(struct pc_nftsnap *b, const struct nlmsghdr *nlh)
{
	_cleanup_(nftnl_set_freep) struct nftnl_set *ns = nftnl_set_alloc();
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	char buf[NAME_KEY_SIZE];
	const char *table, *name;
	struct pc_nft_table *t;
	struct pc_nft_set *s;
	int r;

	if (!ns)
		return -ENOMEM;
	if (nftnl_set_elems_nlmsg_parse(nlh, ns) < 0 || !nftnl_set_is_set(ns, NFTNL_SET_NAME) ||
	    !nftnl_set_is_set(ns, NFTNL_SET_TABLE))
		return -EBADMSG;
	table = nftnl_set_get_str(ns, NFTNL_SET_TABLE);
	name = name_key(nftnl_set_get_str(ns, NFTNL_SET_NAME), buf);
	t = find_table(b, nfg->nfgen_family, table);
	if (!t || !name)
		return -EINTR;
	if (t->flags & NFT_TABLE_F_DORMANT)
		return 0;
	s = b->last_set;
	if (!s || b->last_set_table != t || strcmp(s->name, name) != 0) {
		s = (struct pc_nft_set *)pc_nft_set_find(t, name);
		if (!s)
			return -EINTR;
		b->last_set = s;
		b->last_set_table = t;
	}
	r = nftnl_set_elem_foreach(ns, elem_cb, s);
	return r < 0 ? (r == -ENOMEM ? r : -EBADMSG) : 0;
}

struct expr_ctx {
	struct pc_nft_rule *rule;
	size_t cap; /* room in rule->exprs */
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
	r = pc_nftsnap_expr_convert(e, &c->rule->exprs[c->rule->n_exprs]);
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
static int convert_expr_alone(const struct nlattr *elem, struct pc_nft_expr *ret)
{
	_cleanup_(nftnl_rule_freep) struct nftnl_rule *nr = nftnl_rule_alloc();
	_cleanup_free_ char *buf = NULL;
	size_t len = mnl_attr_get_payload_len(elem);
	struct expr_ctx c = {};
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
static int parse_rule_raw(const struct nlmsghdr *nlh, const char **ret_table,
			  const char **ret_chain, struct pc_nft_rule *rule)
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
		r = convert_expr_alone(a, &rule->exprs[rule->n_exprs]);
		if (r < 0)
			return r;
		rule->n_exprs++;
	}
	return 0;
}

static int parse_rule(const struct nlmsghdr *nlh, struct nftnl_rule *nr, const char **ret_table,
		      const char **ret_chain, struct pc_nft_rule *rule)
{
	struct expr_ctx c = {.rule = rule};
	size_t n = 0;

	if (nftnl_rule_nlmsg_parse(nlh, nr) < 0)
		return parse_rule_raw(nlh, ret_table, ret_chain, rule);
	if (!nftnl_rule_is_set(nr, NFTNL_RULE_TABLE) || !nftnl_rule_is_set(nr, NFTNL_RULE_CHAIN))
		return -EBADMSG;
	*ret_table = nftnl_rule_get_str(nr, NFTNL_RULE_TABLE);
	*ret_chain = nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN);
	rule->handle = nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE);
	nftnl_expr_foreach(nr, count_cb, &n);
	rule->exprs = calloc(n ? n : 1, sizeof(*rule->exprs));
	if (!rule->exprs)
		return -ENOMEM;
	c.cap = n;
	if (nftnl_expr_foreach(nr, expr_cb, &c) < 0)
		return c.error < 0 ? c.error : -EBADMSG;
	return 0;
}

static int add_rule(struct pc_nftsnap *b, const struct nlmsghdr *nlh)
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
	r = parse_rule(nlh, nr, &table, &kchain, &rule);
	if (r < 0)
		goto fail;
	t = find_table(b, nfg->nfgen_family, table);
	chain = name_key(kchain, buf);
	if (!t || !chain) {
		r = -EINTR;
		goto fail;
	}
	if (t->flags & NFT_TABLE_F_DORMANT) {
		rule_clear(&rule);
		return 0;
	}
	c = b->last_chain;
	if (!c || b->last_chain_table != t || strcmp(c->name, chain) != 0) {
		c = (struct pc_nft_chain *)pc_nft_chain_find(t, chain);
		if (!c) {
			r = -EINTR;
			goto fail;
		}
		b->last_chain = c;
		b->last_chain_table = t;
	}
	slot = vec_push(&c->rules, &c->n_rules, sizeof(*slot));
	if (!slot) {
		r = -ENOMEM;
		goto fail;
	}
	*slot = rule;
	return 0;
fail:
	rule_clear(&rule);
	return r;
}

int pc_nftsnap_add(struct pc_nftsnap *b, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[1];
	int r;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return -EBADMSG;
	/* The fixed header is there and every attribute lies inside the message. */
	r = pc_nl_parse_attrs(nlh, sizeof(struct nfgenmsg), tb, 0);
	if (r < 0)
		return r;
	/* Nothing libnftnl would crash or exit() on (nftsnap_policy.c). */
	r = pc_nftsnap_msg_check(nlh);
	if (r < 0)
		return r;

	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWTABLE:
		return add_table(b, nlh);
	case NFT_MSG_NEWCHAIN:
		return add_chain(b, nlh);
	case NFT_MSG_NEWSET:
		return add_set(b, nlh);
	case NFT_MSG_NEWSETELEM:
		return add_elems(b, nlh);
	case NFT_MSG_NEWRULE:
		return add_rule(b, nlh);
	default:
		return -EBADMSG;
	}
}

int pc_nftsnap_foreach_set(const struct pc_nftsnap *b,
			   int (*fn)(uint32_t family, const char *table, const char *set,
				     void *userdata),
			   void *userdata)
{
	for (size_t i = 0; i < b->rs.n_tables; i++) {
		const struct pc_nft_table *t = &b->rs.tables[i];

		if (t->flags & NFT_TABLE_F_DORMANT)
			continue;
		for (size_t j = 0; j < t->n_sets; j++) {
			/* A request to the kernel: its spelling, not the sanitised one. */
			int r = fn(t->family, t->kname, t->sets[j].kname, userdata);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

void pc_nftsnap_finish(struct pc_nftsnap *b, struct pc_nft_ruleset *ret)
{
	struct pc_nft_ruleset rs = b->rs;
	size_t n = 0;

	/* A dormant table's hooks are unregistered: no packet ever sees its chains. */
	for (size_t i = 0; i < rs.n_tables; i++) {
		struct pc_nft_table *t = &rs.tables[i];

		if (t->flags & NFT_TABLE_F_DORMANT) {
			table_clear(t);
			continue;
		}
		/* Large sets grew by doubling: give back the unused half. */
		for (size_t j = 0; j < t->n_sets; j++) {
			struct pc_nft_set *st = &t->sets[j];
			void *p = st->n_elems ? realloc(st->elems, st->n_elems * sizeof(*st->elems))
					      : NULL;

			if (p)
				st->elems = p;
		}
		rs.tables[n++] = *t;
	}
	rs.n_tables = n;
	b->rs = (struct pc_nft_ruleset){};
	b->last_table = NULL;
	b->last_chain = NULL;
	b->last_set = NULL;
	*ret = rs;
}

/* --- reading ---------------------------------------------------------------------------- */

struct gen_reply {
	uint32_t id;
	bool have;
};

static int gen_cb(const struct nlmsghdr *nlh, void *userdata)
{
	struct gen_reply *g = userdata;
	struct nftnl_gen *gen;
	int r = MNL_CB_ERROR;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWGEN)
		return MNL_CB_OK;
	gen = nftnl_gen_alloc();
	if (!gen)
		return MNL_CB_ERROR;
	if (nftnl_gen_nlmsg_parse(nlh, gen) >= 0 && nftnl_gen_is_set(gen, NFTNL_GEN_ID)) {
		g->id = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
		g->have = true;
		r = MNL_CB_OK;
	}
	nftnl_gen_free(gen);
	return r;
}

/* The ruleset's generation id, which every committed change increments. */
int pc_nft_read_genid(uint32_t *ret)
{
	_cleanup_(pc_nl_closep) struct mnl_socket *nl = NULL;
	/* The reply is one small message and an ACK. */
	char buf[8192] __attribute__((aligned(4)));
	uint32_t seq = (uint32_t)time(NULL), portid;
	struct gen_reply gen = {};
	struct nlmsghdr *nlh;
	int r;

	/* Timing out, and only the kernel may answer (see pc_nl_open_request). */
	r = pc_nl_open_request(NETLINK_NETFILTER, &nl);
	if (r < 0)
		return r;
	portid = mnl_socket_get_portid(nl);

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		if (n == 0)
			return -EPROTO;
		errno = 0;
		r = mnl_cb_run(buf, n, seq, portid, gen_cb, &gen);
		if (r == MNL_CB_ERROR)
			return errno > 0 ? -errno : -EBADMSG;
		if (r == MNL_CB_STOP)
			break;
	}
	if (!gen.have)
		return -EBADMSG;
	*ret = gen.id;
	return 0;
}

struct read_ctx {
	struct pc_nftsnap *b;
	pc_nl_msg_cb tap;
	void *tap_userdata;
};

static int read_cb(const struct nlmsghdr *nlh, void *userdata)
{
	struct read_ctx *c = userdata;
	int r;

	if (c->tap) {
		r = c->tap(nlh, c->tap_userdata);
		if (r < 0)
			return r;
	}
	return pc_nftsnap_add(c->b, nlh);
}

static int dump(struct read_ctx *c, uint16_t msg, uint32_t family, const char *table,
		const char *set)
{
	/* Two names of at most NFT_NAME_MAXLEN (256) bytes. */
	char buf[1024] __attribute__((aligned(4))) = {};
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(buf, msg, family, NLM_F_DUMP, 0);
	if (set) {
		_cleanup_(nftnl_set_freep) struct nftnl_set *s = nftnl_set_alloc();

		if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, table) < 0 ||
		    nftnl_set_set_str(s, NFTNL_SET_NAME, set) < 0)
			return -ENOMEM;
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	}
	return pc_nl_dump(NETLINK_NETFILTER, nlh, read_cb, c);
}

static int dump_elems(uint32_t family, const char *table, const char *set, void *userdata)
{
	return dump(userdata, NFT_MSG_GETSETELEM, family, table, set);
}

/*
 * The ruleset as nft lists it, for rule texts: handles on, counters without values
 * (stateless) and named sets without elements (terse, which also spares nft from reading
 * large sets). Returns 0 and *ret NULL when libnftables could not list it: texts are a
 * convenience, the expressions are the truth.
 */
static int nft_listing(char **ret)
{
	_cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *out;

	*ret = NULL;
	if (!ctx)
		return -ENOMEM;
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_STATELESS |
					  NFT_CTX_OUTPUT_TERSE);
	/* Buffered, so that libnftables never writes to our stdout or stderr. */
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
		return -ENOMEM;
	if (nft_run_cmd_from_buffer(ctx, "list ruleset") != 0)
		return 0;
	out = nft_ctx_get_output_buffer(ctx);
	if (out) {
		*ret = strdup(out);
		if (!*ret)
			return -ENOMEM;
	}
	return 0;
}

static void pc_nftsnap_freep(struct pc_nftsnap **b)
{
	pc_nftsnap_free(*b);
}

static int read_once(pc_nl_msg_cb tap, void *userdata, struct pc_nft_ruleset *ret)
{
	_cleanup_(pc_nftsnap_freep) struct pc_nftsnap *b = pc_nftsnap_new();
	_cleanup_free_ char *listing = NULL;
	struct read_ctx c = {.b = b, .tap = tap, .tap_userdata = userdata};
	struct pc_nft_texts texts = {};
	struct pc_nft_ruleset rs = {};
	uint32_t gen, gen_after;
	int r;

	if (!b)
		return -ENOMEM;
	r = pc_nft_read_genid(&gen);
	if (r < 0)
		return r;
	/* The listing first: libnftables' cache is gone before the model grows. */
	r = nft_listing(&listing);
	if (r >= 0)
		r = dump(&c, NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NULL, NULL);
	if (r >= 0)
		r = dump(&c, NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, NULL, NULL);
	if (r >= 0)
		r = dump(&c, NFT_MSG_GETSET, NFPROTO_UNSPEC, NULL, NULL);
	/* A set deleted after the set dump answers ENOENT: the ruleset moved. */
	if (r >= 0) {
		r = pc_nftsnap_foreach_set(b, dump_elems, &c);
		if (r == -ENOENT)
			r = -EINTR;
	}
	if (r >= 0)
		r = dump(&c, NFT_MSG_GETRULE, NFPROTO_UNSPEC, NULL, NULL);
	if (r >= 0)
		r = pc_nft_read_genid(&gen_after);
	if (r < 0)
		return r;
	if (gen_after != gen)
		return -EINTR;

	pc_nftsnap_finish(b, &rs);
	rs.genid = gen;
	if (listing) {
		r = pc_nft_texts_parse(listing, &texts);
		if (r >= 0)
			r = pc_nft_texts_attach(&rs, &texts);
		pc_nft_texts_clear(&texts);
	}
	if (r >= 0)
		r = pc_nft_blind_spot("/proc", &rs.blind_spot);
	if (r < 0) {
		pc_nft_ruleset_clear(&rs);
		return r;
	}
	*ret = rs;
	return 0;
}

int pc_nftsnap_read(pc_nl_msg_cb tap, void *userdata, struct pc_nft_ruleset *ret)
{
	for (int i = 0; i < NFT_READ_TRIES; i++) {
		int r = read_once(tap, userdata, ret);

		if (r != -EINTR)
			return r;
	}
	return -EAGAIN;
}

int pc_nft_read(struct pc_nft_ruleset *ret)
{
	return pc_nftsnap_read(NULL, NULL, ret);
}

/* --- blind spots ------------------------------------------------------------------------ */

/* The table names listed in @path, comma-separated, into @out. Returns how many. */
static int read_names(const char *path, char *out, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[512];
	ssize_t n;
	size_t len = 0;
	int count = 0;

	out[0] = '\0';
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *save = NULL, *tok = strtok_r(buf, "\n", &save); tok;
	     tok = strtok_r(NULL, "\n", &save)) {
		int w;

		if (!*tok)
			continue;
		w = snprintf(out + len, size - len, "%s%s", count ? ", " : "", tok);
		if (w < 0 || (size_t)w >= size - len)
			break;
		len += w;
		count++;
	}
	return count;
}

int pc_nft_blind_spot(const char *proc_root, char **ret)
{
	static const struct {
		const char *file, *tool;
	} legacy[] = {
	    {"net/ip_tables_names", "iptables-legacy"},
	    {"net/ip6_tables_names", "ip6tables-legacy"},
	    {"net/arp_tables_names", "arptables-legacy"},
	};
	char msg[1024] = "", names[256], path[4096];
	size_t len = 0;

	*ret = NULL;
	for (size_t i = 0; i < ELEMENTSOF(legacy); i++) {
		int w;

		snprintf(path, sizeof(path), "%s/%s", proc_root, legacy[i].file);
		if (read_names(path, names, sizeof(names)) == 0)
			continue;
		w = snprintf(msg + len, sizeof(msg) - len, "%s%s tables are loaded (%s)",
			     len ? ", " : "", legacy[i].tool, names);
		if (w > 0 && (size_t)w < sizeof(msg) - len)
			len += w;
	}
	if (len == 0)
		return 0;
	if (asprintf(ret, "%s: portcheck cannot see their rules", msg) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}
