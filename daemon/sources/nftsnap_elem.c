/* SPDX-License-Identifier: MIT */
/* The nftables snapshot's set elements: NEWSETELEM messages into the sets of the model. */
#include <errno.h>
#include <stdio.h> /* before libnftnl's headers, which use FILE */
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>

#include "nftsnap_build.h"
#include "portcheck/util.h"

/* libnftnl's element getters dereference what they find: ask only for what is set. */
static uint32_t elem_u32(struct nftnl_set_elem *e, uint16_t attr)
{
	return nftnl_set_elem_is_set(e, attr) ? nftnl_set_elem_get_u32(e, attr) : 0;
}

/* An element's key, key end or data into @s's arena: *ret_v and *ret_len. */
static int elem_data(struct pc_nft_set *s, struct nftnl_set_elem *e, uint16_t attr,
		     const uint8_t **ret_v, uint8_t *ret_len)
{
	struct pc_nft_bytes b;
	uint32_t len = 0;
	const void *p;
	int r;

	if (!nftnl_set_elem_is_set(e, attr))
		return 0;
	p = nftnl_set_elem_get(e, attr, &len);
	if (!p || len > PC_NFT_DATA_MAX)
		return -EBADMSG;
	r = pc_nft_set_bytes(s, p, len, &b);
	if (r < 0)
		return r;
	*ret_v = b.v;
	*ret_len = (uint8_t)b.len;
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

	x = pc_nftsnap_vec_push(&s->elems, &s->n_elems, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->flags = elem_u32(e, NFTNL_SET_ELEM_FLAGS);
	r = elem_data(s, e, NFTNL_SET_ELEM_KEY, &x->key, &x->key_len);
	if (r >= 0)
		r = elem_data(s, e, NFTNL_SET_ELEM_KEY_END, &x->key_end, &x->key_end_len);
	if (r >= 0)
		r = elem_data(s, e, NFTNL_SET_ELEM_DATA, &x->data, &x->data_len);
	if (r < 0)
		return r;
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
		x->verdict_code = (int32_t)elem_u32(e, NFTNL_SET_ELEM_VERDICT);
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN))
			return pc_nftsnap_strdup(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN),
						 &x->verdict_chain);
	}
	return 0;
}

int pc_nftsnap_add_elems(struct pc_nftsnap *b, const struct nlmsghdr *nlh)
{
	_cleanup_(pc_nftnl_set_freep) struct nftnl_set *ns = nftnl_set_alloc();
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
	name = pc_nftsnap_name_key(nftnl_set_get_str(ns, NFTNL_SET_NAME), buf);
	t = pc_nftsnap_find_table(b, nfg->nfgen_family, table);
	if (!t || !name)
		return -EINTR;
	if (t->flags & NFT_TABLE_F_DORMANT)
		return 0;
	s = b->last_set;
	if (!s || b->last_set_table != t || strcmp(s->name, name) != 0) {
		/* Sets are dumped one after another, in the model's order: the next one first. */
		struct pc_nft_set *next = s && b->last_set_table == t ? s + 1 : NULL;

		if (next && next < t->sets + t->n_sets && strcmp(next->name, name) == 0)
			s = next;
		else
			s = (struct pc_nft_set *)pc_nft_set_find(t, name);
		if (!s)
			return -EINTR;
		b->last_set = s;
		b->last_set_table = t;
	}
	r = nftnl_set_elem_foreach(ns, elem_cb, s);
	return r < 0 ? (r == -ENOMEM ? r : -EBADMSG) : 0;
}
