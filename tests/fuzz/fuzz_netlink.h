/* SPDX-License-Identifier: MIT */
/*
 * Harness body for the netlink parsers: the first input byte selects the target, the rest
 * is a stream of netlink messages as one or more recv()s would return them (each header's
 * nlmsg_len, NLMSG_ALIGN'ed to the next; a message whose length is short or runs past the
 * end ends the stream, as mnl_nlmsg_ok does in nl_walk). Control messages (types below
 * NLMSG_MIN_TYPE) are skipped, as nl_walk never hands them to a parser.
 *
 *   selector % 5 == 0  sock_diag, TCP dump     pc_sockdiag_parse(nlh, IPPROTO_TCP)
 *                   1  sock_diag, UDP dump     pc_sockdiag_parse(nlh, IPPROTO_UDP)
 *                   2  rtnetlink, mixed        pc_rtnl_parse_link / _addr / _route,
 *                                              pc_rtnl_rule_is_default, by message type,
 *                                              then pc_route_oif over what was parsed
 *                   3  nf_tables dumps         pc_nftsnap_add in order, stopping at the first
 *                                              error as the daemon's reader does; then
 *                                              pc_nftsnap_foreach_set, pc_nftsnap_finish
 *                   4  nft's listing (text)    pc_nft_texts_parse, pc_nft_texts_find
 *
 * Each message is copied into an allocation of exactly nlmsg_len bytes, so that ASan sees
 * any read past the message. Properties (ABORT when broken): return values are among the
 * documented ones; output parameters are written only on success (a canary around them);
 * what was parsed is in range (families, prefix lengths, NUL-terminated names inside their
 * arrays, counts matching their arrays, data lengths within the model); a message of a type
 * a parser does not take is refused by it; the nftables model is self-consistent (no
 * dormant table survives finish, tables unique and found by name, every chain, set, rule
 * and expression well formed, foreach_set visits exactly the sets of the result).
 *
 * The socket side (pc_nl_dump, nl_walk, the NFT_MSG_GETGEN reply in nft_getgen) is static
 * behind a real netlink socket and not reachable from here.
 */
#pragma once

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/inet_diag.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/sources/nftsnap.h"
#include "fuzz_common.h"
#include "portcheck/listener.h"
#include "portcheck/netif.h"
#include "portcheck/nft.h"
#include "portcheck/route.h"
#include "portcheck/util.h"

enum {
	PC_FUZZ_NL_SOCKDIAG_TCP,
	PC_FUZZ_NL_SOCKDIAG_UDP,
	PC_FUZZ_NL_RTNL,
	PC_FUZZ_NL_NFT,
	PC_FUZZ_NL_NFT_TEXT,
	_PC_FUZZ_NL_MAX,
};

#define PC_FUZZ_CANARY 0xa5

/* The canary bytes of @p are untouched. */
static bool pc_fuzz_untouched(const void *p, size_t size)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < size; i++)
		if (b[i] != PC_FUZZ_CANARY)
			return false;
	return true;
}

/* @s is NUL-terminated within @size bytes. */
static bool pc_fuzz_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* ---- sock_diag ---- */

static void pc_fuzz_sockdiag_one(const struct nlmsghdr *nlh, uint8_t protocol)
{
	struct pc_listener l;
	int r;

	memset(&l, PC_FUZZ_CANARY, sizeof(l));
	r = pc_sockdiag_parse(nlh, protocol, &l);
	PC_FUZZ_ASSERT(r == 1 || r == 0 || r == -EBADMSG);
	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		PC_FUZZ_ASSERT(r == -EBADMSG);
	if (r <= 0) {
		PC_FUZZ_ASSERT(pc_fuzz_untouched(&l, sizeof(l)));
		return;
	}
	PC_FUZZ_ASSERT(l.protocol == protocol);
	PC_FUZZ_ASSERT(l.addr.family == AF_INET || l.addr.family == AF_INET6);
	PC_FUZZ_ASSERT(l.port != 0);
	PC_FUZZ_ASSERT(!l.v6only || l.addr.family == AF_INET6);
	/* The owner is filled by procmap later, never by the parser. */
	PC_FUZZ_ASSERT(l.pid == 0 && l.comm[0] == '\0' && !l.unit);
	if (l.addr.family == AF_INET)
		for (size_t i = 4; i < sizeof(l.addr.bytes); i++)
			PC_FUZZ_ASSERT(l.addr.bytes[i] == 0);
}

/* ---- rtnetlink ---- */

struct pc_fuzz_rtnl {
	struct pc_netif ni;
	unsigned n_rules, n_default_rules;
};

static void pc_fuzz_rtnl_link(struct pc_fuzz_rtnl *st, const struct nlmsghdr *nlh)
{
	struct pc_link l, *p;
	int r;

	memset(&l, PC_FUZZ_CANARY, sizeof(l));
	r = pc_rtnl_parse_link(nlh, &l);
	PC_FUZZ_ASSERT(r == 0 || r == -EBADMSG);
	if (r < 0) {
		PC_FUZZ_ASSERT(pc_fuzz_untouched(&l, sizeof(l)));
		return;
	}
	PC_FUZZ_ASSERT(l.ifindex > 0 && l.ifindex <= INT32_MAX);
	PC_FUZZ_ASSERT(pc_fuzz_terminated(l.name, sizeof(l.name)) && l.name[0] != '\0');
	p = pc_array_grow(&st->ni.links, &st->ni.n_links, sizeof(*p));
	if (p)
		*p = l;
}

static void pc_fuzz_rtnl_addr(struct pc_fuzz_rtnl *st, const struct nlmsghdr *nlh)
{
	struct pc_ifaddr a, *p;
	const struct ifaddrmsg *ifa;
	int r;

	memset(&a, PC_FUZZ_CANARY, sizeof(a));
	r = pc_rtnl_parse_addr(nlh, &a);
	PC_FUZZ_ASSERT(r == 0 || r == -EBADMSG);
	if (r < 0) {
		PC_FUZZ_ASSERT(pc_fuzz_untouched(&a, sizeof(a)));
		return;
	}
	ifa = mnl_nlmsg_get_payload(nlh);
	PC_FUZZ_ASSERT(a.prefix.addr.family == ifa->ifa_family);
	PC_FUZZ_ASSERT(a.prefix.addr.family == AF_INET || a.prefix.addr.family == AF_INET6);
	PC_FUZZ_ASSERT(a.prefix.len <= 8 * pc_addr_size(a.prefix.addr.family));
	PC_FUZZ_ASSERT(a.ifindex != 0);
	p = pc_array_grow(&st->ni.addrs, &st->ni.n_addrs, sizeof(*p));
	if (p)
		*p = a;
}

static void pc_fuzz_rtnl_route(struct pc_fuzz_rtnl *st, const struct nlmsghdr *nlh)
{
	struct pc_route rt, *p;
	unsigned bits;
	int r;

	memset(&rt, PC_FUZZ_CANARY, sizeof(rt));
	r = pc_rtnl_parse_route(nlh, &rt);
	PC_FUZZ_ASSERT(r == 1 || r == 0 || r == -EBADMSG);
	if (r <= 0) {
		PC_FUZZ_ASSERT(pc_fuzz_untouched(&rt, sizeof(rt)));
		return;
	}
	PC_FUZZ_ASSERT(rt.family == AF_INET || rt.family == AF_INET6);
	PC_FUZZ_ASSERT(rt.dst.addr.family == rt.family);
	bits = 8 * pc_addr_size(rt.family);
	PC_FUZZ_ASSERT(rt.dst.len <= bits);
	PC_FUZZ_ASSERT(rt.table == RT_TABLE_MAIN || rt.table == RT_TABLE_LOCAL);
	PC_FUZZ_ASSERT(rt.gateway.family == 0 || rt.gateway.family == AF_INET ||
		       rt.gateway.family == AF_INET6);
	p = pc_array_grow(&st->ni.routes, &st->ni.n_routes, sizeof(*p));
	if (p)
		*p = rt;
}

static void pc_fuzz_rtnl_rule(struct pc_fuzz_rtnl *st, const struct nlmsghdr *nlh)
{
	int r = pc_rtnl_rule_is_default(nlh);

	PC_FUZZ_ASSERT(r == 1 || r == 0 || r == -EBADMSG);
	st->n_rules += r >= 0;
	st->n_default_rules += r == 1;
}

static void pc_fuzz_rtnl_msg(struct pc_fuzz_rtnl *st, const struct nlmsghdr *nlh)
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
		pc_fuzz_rtnl_link(st, nlh);
		break;
	case RTM_NEWADDR:
		pc_fuzz_rtnl_addr(st, nlh);
		break;
	case RTM_NEWROUTE:
		pc_fuzz_rtnl_route(st, nlh);
		break;
	case RTM_NEWRULE:
		pc_fuzz_rtnl_rule(st, nlh);
		break;
	default: {
		/* Not theirs: every parser refuses it without looking further. */
		struct pc_link l;
		struct pc_ifaddr a;
		struct pc_route rt;

		PC_FUZZ_ASSERT(pc_rtnl_parse_link(nlh, &l) == -EBADMSG);
		PC_FUZZ_ASSERT(pc_rtnl_parse_addr(nlh, &a) == -EBADMSG);
		PC_FUZZ_ASSERT(pc_rtnl_parse_route(nlh, &rt) == -EBADMSG);
		PC_FUZZ_ASSERT(pc_rtnl_rule_is_default(nlh) == -EBADMSG);
	}
	}
}

/* What the engine does with the parsed tables: look them up. */
static void pc_fuzz_rtnl_finish(struct pc_fuzz_rtnl *st)
{
	const struct pc_netif *ni = &st->ni;
	uint32_t oif;

	PC_FUZZ_ASSERT(st->n_default_rules <= st->n_rules);
	for (size_t i = 0; i < ni->n_links; i++) {
		const struct pc_link *l = pc_netif_link_by_index(ni, ni->links[i].ifindex);

		PC_FUZZ_ASSERT(l && l->ifindex == ni->links[i].ifindex);
	}
	for (size_t i = 0; i < ni->n_addrs; i++) {
		const struct pc_ifaddr *a = &ni->addrs[i];

		PC_FUZZ_ASSERT(pc_netif_has_addr(ni, a->ifindex, &a->prefix.addr));
		PC_FUZZ_ASSERT(pc_netif_has_family(ni, a->ifindex, a->prefix.addr.family));
		oif = 0;
		if (pc_route_oif(ni, &a->prefix.addr, &oif) == 0)
			PC_FUZZ_ASSERT(oif != 0);
	}
	/* A bounded number of lookups: the routes' own destinations and gateways. */
	for (size_t i = 0; i < ni->n_routes && i < 64; i++) {
		const struct pc_route *rt = &ni->routes[i];

		oif = 0;
		if (pc_route_oif(ni, &rt->dst.addr, &oif) == 0)
			PC_FUZZ_ASSERT(oif != 0);
		if (rt->gateway.family) {
			oif = 0;
			if (pc_route_oif(ni, &rt->gateway, &oif) == 0)
				PC_FUZZ_ASSERT(oif != 0);
		}
	}
	pc_netif_free(&st->ni);
}

/* ---- nf_tables ---- */

static void pc_fuzz_nft_data(const struct pc_nft_data *d)
{
	PC_FUZZ_ASSERT(d->len <= PC_NFT_DATA_MAX);
	/* The bytes are in the snapshot's arena: there whenever there are any. */
	PC_FUZZ_ASSERT((d->len == 0) == (d->v == NULL));
}

static void pc_fuzz_nft_expr(const struct pc_nft_expr *x)
{
	PC_FUZZ_ASSERT(x->type >= PC_NFT_EXPR_UNKNOWN && x->type <= PC_NFT_EXPR_HASH);
	PC_FUZZ_ASSERT(pc_fuzz_terminated(x->name, sizeof(x->name)));
	/* A modelled type is the one its name stands for (an UNKNOWN may keep a known
	 * name: libnftnl refused the expression). */
	if (x->type != PC_NFT_EXPR_UNKNOWN)
		PC_FUZZ_ASSERT(pc_nftsnap_expr_type(x->name) == x->type);
	switch (x->type) {
	case PC_NFT_EXPR_IMMEDIATE:
		PC_FUZZ_ASSERT(x->immediate.is_verdict == (x->immediate.dreg == NFT_REG_VERDICT));
		pc_fuzz_nft_data(&x->immediate.data);
		if (x->immediate.verdict.chain)
			PC_FUZZ_ASSERT(x->immediate.is_verdict &&
				       strlen(x->immediate.verdict.chain) < SIZE_MAX);
		break;
	case PC_NFT_EXPR_CMP:
		pc_fuzz_nft_data(&x->cmp.data);
		break;
	case PC_NFT_EXPR_RANGE:
		pc_fuzz_nft_data(&x->range.from);
		pc_fuzz_nft_data(&x->range.to);
		break;
	case PC_NFT_EXPR_BITWISE:
		pc_fuzz_nft_data(&x->bitwise.mask);
		pc_fuzz_nft_data(&x->bitwise.xor);
		break;
	case PC_NFT_EXPR_LOOKUP:
		PC_FUZZ_ASSERT(!x->lookup.set || strlen(x->lookup.set) < SIZE_MAX);
		break;
	case PC_NFT_EXPR_DYNSET:
		PC_FUZZ_ASSERT(!x->dynset.set || strlen(x->dynset.set) < SIZE_MAX);
		break;
	case PC_NFT_EXPR_OBJREF:
		PC_FUZZ_ASSERT(!x->objref.name || strlen(x->objref.name) < SIZE_MAX);
		break;
	case PC_NFT_EXPR_MATCH:
	case PC_NFT_EXPR_TARGET:
		PC_FUZZ_ASSERT(pc_fuzz_terminated(x->xt.name, sizeof(x->xt.name)));
		PC_FUZZ_ASSERT(!x->xt.info == !x->xt.info_len);
		if (x->xt.info_len) {
			/* Every byte is there: ASan checks the read. */
			volatile uint8_t last = x->xt.info[x->xt.info_len - 1];

			(void)last;
		}
		break;
	default:
		break;
	}
}

static void pc_fuzz_nft_chain(const struct pc_nft_table *t, const struct pc_nft_chain *c)
{
	const struct pc_nft_chain *found;

	PC_FUZZ_ASSERT(c->name && strlen(c->name) < SIZE_MAX);
	found = pc_nft_chain_find(t, c->name);
	PC_FUZZ_ASSERT(found && strcmp(found->name, c->name) == 0);
	if (!c->base)
		PC_FUZZ_ASSERT(!c->type && !c->dev && !c->n_devices);
	PC_FUZZ_ASSERT(!c->dev == !c->n_devices);
	PC_FUZZ_ASSERT(!c->n_devices || c->devices);
	for (size_t i = 0; i < c->n_devices; i++)
		PC_FUZZ_ASSERT(c->devices[i] && strlen(c->devices[i]) < SIZE_MAX);
	PC_FUZZ_ASSERT(!c->type || strlen(c->type) < SIZE_MAX);
	PC_FUZZ_ASSERT(!c->n_rules || c->rules);
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct pc_nft_rule *r = &c->rules[i];

		PC_FUZZ_ASSERT(!r->n_exprs || r->exprs);
		PC_FUZZ_ASSERT(!r->text); /* texts come from the listing, later */
		for (size_t j = 0; j < r->n_exprs; j++)
			pc_fuzz_nft_expr(&r->exprs[j]);
	}
}

static void pc_fuzz_nft_set(const struct pc_nft_table *t, const struct pc_nft_set *s)
{
	const struct pc_nft_set *found;

	PC_FUZZ_ASSERT(s->name && strlen(s->name) < SIZE_MAX);
	found = pc_nft_set_find(t, s->name);
	PC_FUZZ_ASSERT(found && strcmp(found->name, s->name) == 0);
	PC_FUZZ_ASSERT(s->field_count <= ELEMENTSOF(s->field_len));
	PC_FUZZ_ASSERT(!s->index && !s->index_free);
	PC_FUZZ_ASSERT(!s->n_elems || s->elems);
	for (size_t i = 0; i < s->n_elems; i++) {
		const struct pc_nft_set_elem *e = &s->elems[i];

		/* An element's bytes live in the set's arena: bounded, and there when counted. */
		PC_FUZZ_ASSERT(e->key_len <= PC_NFT_DATA_MAX && (!e->key_len || e->key));
		PC_FUZZ_ASSERT(e->key_end_len <= PC_NFT_DATA_MAX &&
			       (!e->key_end_len || e->key_end));
		PC_FUZZ_ASSERT(e->data_len <= PC_NFT_DATA_MAX && (!e->data_len || e->data));
		PC_FUZZ_ASSERT(!e->verdict_chain || strlen(e->verdict_chain) < SIZE_MAX);
	}
}

static void pc_fuzz_nft_ruleset(const struct pc_nft_ruleset *rs, size_t n_sets_visited)
{
	size_t n_sets = 0;

	PC_FUZZ_ASSERT(rs->genid == 0 && !rs->blind_spot);
	PC_FUZZ_ASSERT(!rs->n_tables || rs->tables);
	for (size_t i = 0; i < rs->n_tables; i++) {
		const struct pc_nft_table *t = &rs->tables[i];

		PC_FUZZ_ASSERT(t->name && strlen(t->name) < SIZE_MAX);
		PC_FUZZ_ASSERT(!(t->flags & NFT_TABLE_F_DORMANT));
		/* Unique by family and name: the first of that name is this one. */
		PC_FUZZ_ASSERT(pc_nft_table_find(rs, t->family, t->name) == t);
		PC_FUZZ_ASSERT(!t->n_chains || t->chains);
		PC_FUZZ_ASSERT(!t->n_sets || t->sets);
		for (size_t j = 0; j < t->n_chains; j++)
			pc_fuzz_nft_chain(t, &t->chains[j]);
		for (size_t j = 0; j < t->n_sets; j++)
			pc_fuzz_nft_set(t, &t->sets[j]);
		n_sets += t->n_sets;
	}
	PC_FUZZ_ASSERT(n_sets == n_sets_visited);
}

static int pc_fuzz_nft_visit_set(uint32_t family, const char *table, const char *set,
				 void *userdata)
{
	PC_FUZZ_ASSERT(table && set && strlen(table) < SIZE_MAX && strlen(set) < SIZE_MAX);
	(*(size_t *)userdata)++;
	return 0;
}

struct pc_fuzz_nft {
	struct pc_nftsnap *b;
	int error; /* the first error: the daemon's reader stops there */
};

static void pc_fuzz_nft_msg(struct pc_fuzz_nft *st, const struct nlmsghdr *nlh)
{
	int r;

	if (st->error)
		return;
	r = pc_nftsnap_add(st->b, nlh);
	PC_FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -EINTR || r == -ENOMEM);
	st->error = r;
}

static void pc_fuzz_nft_finish(struct pc_fuzz_nft *st)
{
	struct pc_nft_ruleset rs;
	size_t visited = 0;

	/* After an error the daemon frees the builder unfinished (read_once). */
	if (!st->error) {
		PC_FUZZ_ASSERT(pc_nftsnap_foreach_set(st->b, pc_fuzz_nft_visit_set, &visited) == 0);
		pc_nftsnap_finish(st->b, &rs);
		pc_fuzz_nft_ruleset(&rs, visited);
		pc_nft_ruleset_clear(&rs);
	}
	pc_nftsnap_free(st->b);
	st->b = NULL;
}

/* ---- nft's listing ---- */

static void pc_fuzz_nft_text(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = malloc(size + 1);
	struct pc_nft_texts t;
	int r;

	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&t, PC_FUZZ_CANARY, sizeof(t));
	r = pc_nft_texts_parse(text, &t);
	PC_FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	if (r < 0) {
		PC_FUZZ_ASSERT(pc_fuzz_untouched(&t, sizeof(t)));
		return;
	}
	PC_FUZZ_ASSERT(!t.n || t.v);
	for (size_t i = 0; i < t.n; i++) {
		const struct pc_nft_text *x = &t.v[i];
		const char *found;

		PC_FUZZ_ASSERT(x->table && x->chain && x->text);
		/* One line each: they go to the table and the journal. */
		PC_FUZZ_ASSERT(!strchr(x->text, '\n') && !strchr(x->table, '\n') &&
			       !strchr(x->chain, '\n'));
		/* Sorted for the lookup: every entry is found (a duplicate key finds its
		 * twin, whose text may differ). */
		found = pc_nft_texts_find(&t, x->family, x->table, x->chain, x->handle);
		PC_FUZZ_ASSERT(found);
	}
	PC_FUZZ_ASSERT(!pc_nft_texts_find(&t, 0, NULL, "", 0));
	pc_nft_texts_clear(&t);
}

/* ---- the stream ---- */

static void pc_fuzz_netlink_stream(unsigned target, const uint8_t *data, size_t size)
{
	struct pc_fuzz_rtnl rtnl = {};
	struct pc_fuzz_nft nft = {};

	if (target == PC_FUZZ_NL_NFT) {
		nft.b = pc_nftsnap_new();
		if (!nft.b)
			return;
	}

	while (size >= NLMSG_HDRLEN) {
		struct nlmsghdr hdr, *nlh;

		memcpy(&hdr, data, sizeof(hdr));
		if (hdr.nlmsg_len < NLMSG_HDRLEN || hdr.nlmsg_len > size)
			break;
		if (hdr.nlmsg_type >= NLMSG_MIN_TYPE) {
			/* Exactly the message: a read past its end is an ASan report. */
			nlh = malloc(hdr.nlmsg_len);
			if (!nlh)
				break;
			memcpy(nlh, data, hdr.nlmsg_len);
			switch (target) {
			case PC_FUZZ_NL_SOCKDIAG_TCP:
				pc_fuzz_sockdiag_one(nlh, IPPROTO_TCP);
				break;
			case PC_FUZZ_NL_SOCKDIAG_UDP:
				pc_fuzz_sockdiag_one(nlh, IPPROTO_UDP);
				break;
			case PC_FUZZ_NL_RTNL:
				pc_fuzz_rtnl_msg(&rtnl, nlh);
				break;
			case PC_FUZZ_NL_NFT:
				pc_fuzz_nft_msg(&nft, nlh);
				break;
			}
			free(nlh);
		}
		if (NLMSG_ALIGN(hdr.nlmsg_len) >= size)
			break;
		data += NLMSG_ALIGN(hdr.nlmsg_len);
		size -= NLMSG_ALIGN(hdr.nlmsg_len);
	}

	if (target == PC_FUZZ_NL_RTNL)
		pc_fuzz_rtnl_finish(&rtnl);
	if (target == PC_FUZZ_NL_NFT)
		pc_fuzz_nft_finish(&nft);
}

/* Returns 0 (libFuzzer's "keep going"); a broken property aborts. */
static int pc_fuzz_netlink_one(const uint8_t *data, size_t size)
{
	unsigned target;

	if (size < 1)
		return 0;
	target = data[0] % _PC_FUZZ_NL_MAX;
	data++;
	size--;
	if (target == PC_FUZZ_NL_NFT_TEXT) {
		pc_fuzz_nft_text(data, size);
		return 0;
	}
	pc_fuzz_netlink_stream(target, data, size);
	return 0;
}
