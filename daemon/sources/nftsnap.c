/* SPDX-License-Identifier: MIT */
/*
 * The nftables snapshot: dumps of tables, chains, sets, set elements and rules over
 * nfnetlink, parsed with libnftnl, converted into the model of nft.h; rule texts from
 * libnftables; all inside one ruleset generation.
 *
 * This file: the model's freeing and lookups, and the builder's tables, chains and sets.
 * Set elements are in nftsnap_elem.c, rules in nftsnap_rule.c, the dumps that feed the
 * builder in nftsnap_read.c, the blind-spot probe in nftsnap_blindspot.c.
 */
#include <errno.h>
#include <netinet/in.h> /* before linux/netfilter.h, which pulls in linux/in.h */
#include <linux/netfilter.h>
#include <stdio.h> /* before libnftnl's headers, which use FILE */
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "nftsnap.h"
#include "nftsnap_build.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

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

/*
 * Append a zeroed element to a vector whose capacity is implied by its length (0, then
 * powers of two from 4), so that millions of set elements cost O(log n) reallocations
 * without a capacity field in the model. Returns the new element or NULL.
 */
void *pc_nftsnap_vec_push(void *arr_ptr, size_t *n, size_t size)
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

/* --- freeing ---------------------------------------------------------------------------- */

void pc_nftsnap_rule_clear(struct pc_nft_rule *r)
{
	for (size_t i = 0; i < r->n_exprs; i++)
		pc_nftsnap_expr_clear(&r->exprs[i]);
	free(r->exprs);
	free(r->text);
	free(r->comment);
	pc_nft_arena_free(&r->arena);
	*r = (struct pc_nft_rule){};
}

static void chain_clear(struct pc_nft_chain *c)
{
	for (size_t i = 0; i < c->n_rules; i++)
		pc_nftsnap_rule_clear(&c->rules[i]);
	free(c->rules);
	for (size_t i = 0; i < c->n_devices; i++)
		free(c->devices[i]);
	free(c->devices);
	free(c->name);
	free(c->kname);
	free(c->type);
	free(c->dev);
	*c = (struct pc_nft_chain){};
}

/* Bytes that never move (elements' keys, expressions' constants point into them), freed
 * together. The first chunk is small and each next one twice the last, up to 64 KiB: a
 * ruleset has many anonymous sets of a few elements. */
struct pc_nft_arena {
	struct pc_nft_arena *next;
	size_t used, size;
	uint8_t data[];
};

#define ARENA_FIRST 256u
#define ARENA_CHUNK (64u * 1024)

int pc_nft_arena_put(struct pc_nft_arena **head, const void *p, uint32_t len,
		     struct pc_nft_data *ret)
{
	struct pc_nft_arena *a = *head;

	if (len > PC_NFT_DATA_MAX)
		return -EINVAL;
	*ret = (struct pc_nft_data){0};
	if (len == 0)
		return 0;
	if (!a || a->size - a->used < len) {
		size_t size = a ? (a->size < ARENA_CHUNK ? a->size * 2 : ARENA_CHUNK) : ARENA_FIRST;

		a = malloc(sizeof(*a) + size); /* size >= ARENA_FIRST >= PC_NFT_DATA_MAX >= len */
		if (!a)
			return -ENOMEM;
		*a = (struct pc_nft_arena){.next = *head, .size = size};
		*head = a;
	}
	memcpy(a->data + a->used, p, len);
	*ret = (struct pc_nft_data){.v = a->data + a->used, .len = (uint8_t)len};
	a->used += len;
	return 0;
}

void pc_nft_arena_free(struct pc_nft_arena **head)
{
	while (*head) {
		struct pc_nft_arena *next = (*head)->next;

		free(*head);
		*head = next;
	}
}

int pc_nft_set_bytes(struct pc_nft_set *s, const void *p, uint32_t len, struct pc_nft_bytes *ret)
{
	struct pc_nft_data d;
	int r = pc_nft_arena_put(&s->arena, p, len, &d);

	*ret = (struct pc_nft_bytes){.v = d.v, .len = d.len};
	return r;
}

static void set_clear(struct pc_nft_set *s)
{
	for (size_t i = 0; i < s->n_elems; i++)
		free(s->elems[i].verdict_chain);
	free(s->elems);
	pc_nft_arena_free(&s->arena);
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

void pc_nft_ruleset_changed(struct pc_nft_ruleset *rs)
{
	for (size_t i = 0; rs && i < rs->n_tables; i++)
		for (size_t j = 0; j < rs->tables[i].n_sets; j++) {
			struct pc_nft_set *s = &rs->tables[i].sets[j];

			if (s->index && s->index_free)
				s->index_free(s->index);
			s->index = NULL;
		}
	if (rs && rs->vm_cache && rs->vm_cache_free)
		rs->vm_cache_free(rs->vm_cache);
	if (rs) {
		rs->vm_cache = NULL;
		memset(rs->ct_enabled_cache, 0, sizeof(rs->ct_enabled_cache));
	}
}

void pc_nft_ruleset_clear(struct pc_nft_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_tables; i++)
		table_clear(&rs->tables[i]);
	free(rs->tables);
	free(rs->blind_spot);
	if (rs->vm_cache && rs->vm_cache_free)
		rs->vm_cache_free(rs->vm_cache);
	pc_nft_arena_free(&rs->rule_bytes);
	*rs = (struct pc_nft_ruleset){};
}

/* --- lookups ---------------------------------------------------------------------------- */

const char *pc_nft_family_name(uint32_t nfproto)
{
	switch (nfproto) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_ARP:
		return "arp";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_NETDEV:
		return "netdev";
	default:
		return NULL;
	}
}

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

/* @name from a message as the snapshot stores it, in @buf, to look it up by; NULL for none
 * or one longer than the kernel allows. */
const char *pc_nftsnap_name_key(const char *name, char buf[static NAME_KEY_SIZE])
{
	size_t len = name ? strlen(name) : 0;

	if (!name || pc_strsan_buf(buf, NAME_KEY_SIZE, name, len, PC_STRSAN_RAW) != len)
		return NULL;
	return buf;
}

/* The table that @kname (as the kernel spells it) names. */
struct pc_nft_table *pc_nftsnap_find_table(struct pc_nftsnap *b, uint32_t family, const char *kname)
{
	char buf[NAME_KEY_SIZE];
	const char *name = pc_nftsnap_name_key(kname, buf);

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
	if (pc_nftsnap_find_table(b, family, name))
		return -EINTR;

	/* Pointers into the table array move with it. */
	b->last_table = NULL;
	b->last_chain = NULL;
	b->last_set = NULL;
	t = pc_nftsnap_vec_push(&b->rs.tables, &b->rs.n_tables, sizeof(*t));
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
		char **d = pc_nftsnap_vec_push(&c->devices, &c->n_devices, sizeof(*d));

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
			char **d = pc_nftsnap_vec_push(&c->devices, &c->n_devices, sizeof(*d));

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
	t = pc_nftsnap_find_table(b, nftnl_chain_get_u32(nc, NFTNL_CHAIN_FAMILY),
				  nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE));
	if (!t)
		return -EINTR;

	b->last_chain = NULL;
	c = pc_nftsnap_vec_push(&t->chains, &t->n_chains, sizeof(*c));
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
	c->kname = strdup(nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME));
	if (!c->kname)
		return -ENOMEM;
	return pc_nftsnap_strdup(nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME), &c->name);
}

static int add_set(struct pc_nftsnap *b, const struct nlmsghdr *nlh)
{
	_cleanup_(pc_nftnl_set_freep) struct nftnl_set *ns = nftnl_set_alloc();
	struct pc_nft_table *t;
	struct pc_nft_set *s;

	if (!ns)
		return -ENOMEM;
	if (nftnl_set_nlmsg_parse(nlh, ns) < 0 || !nftnl_set_is_set(ns, NFTNL_SET_NAME) ||
	    !nftnl_set_is_set(ns, NFTNL_SET_TABLE))
		return -EBADMSG;
	t = pc_nftsnap_find_table(b, nftnl_set_get_u32(ns, NFTNL_SET_FAMILY),
				  nftnl_set_get_str(ns, NFTNL_SET_TABLE));
	if (!t)
		return -EINTR;

	b->last_set = NULL;
	s = pc_nftsnap_vec_push(&t->sets, &t->n_sets, sizeof(*s));
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
		return pc_nftsnap_add_elems(b, nlh);
	case NFT_MSG_NEWRULE:
		return pc_nftsnap_add_rule(b, nlh);
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

int pc_nftsnap_foreach_chain(const struct pc_nftsnap *b,
			     int (*fn)(uint32_t family, const char *table, const char *chain,
				       void *userdata),
			     void *userdata)
{
	for (size_t i = 0; i < b->rs.n_tables; i++) {
		const struct pc_nft_table *t = &b->rs.tables[i];

		if (t->flags & NFT_TABLE_F_DORMANT)
			continue;
		for (size_t j = 0; j < t->n_chains; j++) {
			int r = fn(t->family, t->kname, t->chains[j].kname, userdata);

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
