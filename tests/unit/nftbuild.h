/* SPDX-License-Identifier: MIT */
/*
 * Building nftables snapshots (nft.h) and network models (netif.h) in memory for tests,
 * with the bytecode nft itself generates for common statements. Everything is allocated
 * the way the snapshot reader allocates it: free with pc_nft_ruleset_clear() and
 * pc_netif_free(). Allocation failures abort the test.
 *
 *   struct pc_nft_ruleset rs = {};
 *   struct pc_nft_table *t = nb_table(&rs, NFPROTO_INET, "filter");
 *   struct pc_nft_chain *in = nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0,
 *                                           NF_DROP);
 *   struct pc_nft_rule *r = nb_rule(in, "tcp dport 22 accept");
 *   nb_l4proto(r, IPPROTO_TCP);
 *   nb_dport(r, 22);
 *   nb_accept(r);
 */
#pragma once

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/addr.h"
#include "portcheck/netif.h"
#include "portcheck/nft.h"
#include "portcheck/nftvm.h"

/* Arrays the builders make grow to the next power of two (sets of 20,000 elements stay
 * linear under ASan, whose realloc always copies). Only for arrays made here: one
 * allocated elsewhere with an exact size must not be grown with this. */
static inline void *nb_grow(void *arr_ptr, size_t *n, size_t size)
{
	void **arr = arr_ptr;
	char *p = *arr;

	if (*n == 0 || (*n & (*n - 1)) == 0) {
		p = realloc(*arr, (*n ? *n * 2 : 1) * size);
		if (!p)
			abort();
	}
	*arr = p;
	p += *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

static inline char *nb_strdup(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		abort();
	return d;
}

/* --- tables, chains, rules -------------------------------------------------------------- */

static inline struct pc_nft_table *nb_table(struct pc_nft_ruleset *rs, uint32_t family,
					    const char *name)
{
	struct pc_nft_table *t = nb_grow(&rs->tables, &rs->n_tables, sizeof(*t));

	t->family = family;
	t->name = nb_strdup(name);
	t->handle = rs->n_tables;
	return t;
}

/* Tables are reallocated as more are added: look them up again instead of keeping
 * pointers across nb_table() calls (same for chains and sets within a table). */
static inline struct pc_nft_chain *nb_chain(struct pc_nft_table *t, const char *name)
{
	struct pc_nft_chain *c = nb_grow(&t->chains, &t->n_chains, sizeof(*c));

	c->name = nb_strdup(name);
	c->handle = t->n_chains;
	return c;
}

static inline struct pc_nft_chain *nb_base_chain(struct pc_nft_table *t, const char *name,
						 const char *type, uint32_t hook, int32_t prio,
						 uint32_t policy)
{
	struct pc_nft_chain *c = nb_chain(t, name);

	c->base = true;
	c->type = nb_strdup(type);
	c->hooknum = hook;
	c->prio = prio;
	c->policy = policy;
	return c;
}

static inline struct pc_nft_rule *nb_rule(struct pc_nft_chain *c, const char *text)
{
	static uint64_t handle = 100;
	struct pc_nft_rule *r = nb_grow(&c->rules, &c->n_rules, sizeof(*r));

	r->handle = handle++;
	r->text = nb_strdup(text);
	return r;
}

static inline struct pc_nft_expr *nb_expr(struct pc_nft_rule *r, enum pc_nft_expr_type type,
					  const char *name)
{
	struct pc_nft_expr *e = nb_grow(&r->exprs, &r->n_exprs, sizeof(*e));

	e->type = type;
	snprintf(e->name, sizeof(e->name), "%s", name);
	return e;
}

/* A constant of rule @r, in the rule's own arena (a snapshot keeps them in its own). */
static inline void nb_data(struct pc_nft_rule *r, struct pc_nft_data *d, const void *v,
			   uint32_t len)
{
	if (pc_nft_arena_put(&r->arena, v, len, d) != 0)
		abort();
}

/* --- raw expressions -------------------------------------------------------------------- */

static inline void nb_payload(struct pc_nft_rule *r, uint32_t base, uint32_t offset, uint32_t len,
			      uint32_t dreg)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_PAYLOAD, "payload");

	e->payload.base = base;
	e->payload.offset = offset;
	e->payload.len = len;
	e->payload.dreg = dreg;
}

static inline void nb_payload_set(struct pc_nft_rule *r, uint32_t base, uint32_t offset,
				  uint32_t len, uint32_t sreg)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_PAYLOAD, "payload");

	e->payload.base = base;
	e->payload.offset = offset;
	e->payload.len = len;
	e->payload.sreg = sreg;
}

static inline void nb_cmp(struct pc_nft_rule *r, uint32_t op, uint32_t sreg, const void *data,
			  uint32_t len)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_CMP, "cmp");

	e->cmp.op = op;
	e->cmp.sreg = sreg;
	nb_data(r, &e->cmp.data, data, len);
}

static inline void nb_cmp_u8(struct pc_nft_rule *r, uint32_t op, uint32_t sreg, uint8_t v)
{
	nb_cmp(r, op, sreg, &v, 1);
}

/* A big-endian 16-bit value (ports, ethertypes). */
static inline void nb_cmp_be16(struct pc_nft_rule *r, uint32_t op, uint32_t sreg, uint16_t v)
{
	uint16_t be = htons(v);

	nb_cmp(r, op, sreg, &be, 2);
}

/* A host-order 32-bit value (marks, interface indexes, ct state bits). */
static inline void nb_cmp_u32(struct pc_nft_rule *r, uint32_t op, uint32_t sreg, uint32_t v)
{
	nb_cmp(r, op, sreg, &v, 4);
}

static inline void nb_range(struct pc_nft_rule *r, uint32_t op, uint32_t sreg, const void *from,
			    const void *to, uint32_t len)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_RANGE, "range");

	e->range.op = op;
	e->range.sreg = sreg;
	nb_data(r, &e->range.from, from, len);
	nb_data(r, &e->range.to, to, len);
}

static inline void nb_bitwise(struct pc_nft_rule *r, uint32_t sreg, uint32_t dreg, uint32_t len,
			      const void *mask, const void * xor)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_BITWISE, "bitwise");
	uint8_t zero[PC_NFT_DATA_MAX] = {};

	e->bitwise.op = NFT_BITWISE_MASK_XOR;
	e->bitwise.sreg = sreg;
	e->bitwise.dreg = dreg;
	e->bitwise.len = len;
	nb_data(r, &e->bitwise.mask, mask, len);
	nb_data(r, &e->bitwise.xor, xor? xor : zero, len);
}

static inline void nb_shift(struct pc_nft_rule *r, uint32_t op, uint32_t sreg, uint32_t dreg,
			    uint32_t len, uint32_t shift)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_BITWISE, "bitwise");

	e->bitwise.op = op;
	e->bitwise.sreg = sreg;
	e->bitwise.dreg = dreg;
	e->bitwise.len = len;
	e->bitwise.shift = shift;
}

static inline void nb_byteorder(struct pc_nft_rule *r, uint32_t op, uint32_t sreg, uint32_t dreg,
				uint32_t len, uint32_t size)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_BYTEORDER, "byteorder");

	e->byteorder.op = op;
	e->byteorder.sreg = sreg;
	e->byteorder.dreg = dreg;
	e->byteorder.len = len;
	e->byteorder.size = size;
}

static inline void nb_meta(struct pc_nft_rule *r, uint32_t key, uint32_t dreg)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_META, "meta");

	e->meta.key = key;
	e->meta.dreg = dreg;
}

static inline void nb_meta_set(struct pc_nft_rule *r, uint32_t key, uint32_t sreg)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_META, "meta");

	e->meta.key = key;
	e->meta.sreg = sreg;
}

/* ct load; @dir < 0 for keys without a direction. */
static inline void nb_ct(struct pc_nft_rule *r, uint32_t key, uint32_t dreg, int dir)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_CT, "ct");

	e->ct.key = key;
	e->ct.dreg = dreg;
	if (dir >= 0) {
		e->ct.has_dir = true;
		e->ct.dir = (uint8_t)dir;
	}
}

static inline void nb_ct_set(struct pc_nft_rule *r, uint32_t key, uint32_t sreg)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_CT, "ct");

	e->ct.key = key;
	e->ct.sreg = sreg;
}

static inline void nb_imm(struct pc_nft_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_IMMEDIATE, "immediate");

	e->immediate.dreg = dreg;
	nb_data(r, &e->immediate.data, data, len);
}

static inline void nb_verdict(struct pc_nft_rule *r, int32_t code, const char *chain)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_IMMEDIATE, "immediate");

	e->immediate.dreg = NFT_REG_VERDICT;
	e->immediate.is_verdict = true;
	e->immediate.verdict.code = code;
	e->immediate.verdict.chain = nb_strdup(chain);
}

static inline void nb_accept(struct pc_nft_rule *r)
{
	nb_verdict(r, NF_ACCEPT, NULL);
}

static inline void nb_drop(struct pc_nft_rule *r)
{
	nb_verdict(r, NF_DROP, NULL);
}

static inline void nb_jump(struct pc_nft_rule *r, const char *chain)
{
	nb_verdict(r, NFT_JUMP, chain);
}

static inline void nb_goto(struct pc_nft_rule *r, const char *chain)
{
	nb_verdict(r, NFT_GOTO, chain);
}

static inline void nb_return(struct pc_nft_rule *r)
{
	nb_verdict(r, NFT_RETURN, NULL);
}

static inline void nb_lookup(struct pc_nft_rule *r, const char *set, uint32_t sreg, uint32_t dreg,
			     uint32_t flags)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_LOOKUP, "lookup");

	e->lookup.set = nb_strdup(set);
	e->lookup.sreg = sreg;
	e->lookup.dreg = dreg;
	e->lookup.flags = flags;
}

static inline void nb_reject(struct pc_nft_rule *r, uint32_t type, uint8_t code)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_REJECT, "reject");

	e->reject.type = type;
	e->reject.code = code;
}

/* dnat/snat from registers (0 for none). */
static inline void nb_nat(struct pc_nft_rule *r, uint32_t type, uint32_t family, uint32_t reg_addr,
			  uint32_t reg_proto)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_NAT, "nat");

	e->nat.type = type;
	e->nat.family = family;
	e->nat.reg_addr_min = reg_addr;
	e->nat.reg_proto_min = reg_proto;
}

static inline void nb_redir(struct pc_nft_rule *r, uint32_t reg_proto)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_REDIR, "redir");

	e->redir.reg_proto_min = reg_proto;
}

static inline void nb_masq(struct pc_nft_rule *r)
{
	nb_expr(r, PC_NFT_EXPR_MASQ, "masq");
}

static inline void nb_fib(struct pc_nft_rule *r, uint32_t flags, uint32_t result, uint32_t dreg)
{
	struct pc_nft_expr *e = nb_expr(r, PC_NFT_EXPR_FIB, "fib");

	e->fib.flags = flags;
	e->fib.result = result;
	e->fib.dreg = dreg;
}

static inline void nb_simple(struct pc_nft_rule *r, enum pc_nft_expr_type type, const char *name)
{
	nb_expr(r, type, name);
}

static inline void nb_counter(struct pc_nft_rule *r)
{
	nb_expr(r, PC_NFT_EXPR_COUNTER, "counter");
}

static inline void nb_xt(struct pc_nft_rule *r, bool target, const char *name, uint32_t rev,
			 const void *info, uint32_t len)
{
	struct pc_nft_expr *e = nb_expr(r, target ? PC_NFT_EXPR_TARGET : PC_NFT_EXPR_MATCH,
					target ? "target" : "match");

	snprintf(e->xt.name, sizeof(e->xt.name), "%s", name);
	e->xt.rev = rev;
	e->xt.info = malloc(len ? len : 1);
	if (!e->xt.info)
		abort();
	memcpy(e->xt.info, info, len);
	e->xt.info_len = len;
}

/* --- what nft emits for common matches -------------------------------------------------- */

/* meta nfproto ipv4|ipv6 (the dependency nft adds in inet tables) */
static inline void nb_nfproto(struct pc_nft_rule *r, uint8_t nfproto)
{
	nb_meta(r, NFT_META_NFPROTO, NFT_REG_1);
	nb_cmp_u8(r, NFT_CMP_EQ, NFT_REG_1, nfproto);
}

/* meta l4proto tcp|udp */
static inline void nb_l4proto(struct pc_nft_rule *r, uint8_t proto)
{
	nb_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	nb_cmp_u8(r, NFT_CMP_EQ, NFT_REG_1, proto);
}

/* th dport N (after nb_l4proto) */
static inline void nb_dport(struct pc_nft_rule *r, uint16_t port)
{
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_cmp_be16(r, NFT_CMP_EQ, NFT_REG_1, port);
}

/* iifname "NAME", or "PREFIX*" with @wildcard: nft compares only the prefix. */
static inline void nb_iifname(struct pc_nft_rule *r, const char *name, bool wildcard)
{
	char buf[16] = {};

	snprintf(buf, sizeof(buf), "%s", name);
	nb_meta(r, NFT_META_IIFNAME, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, buf, wildcard ? (uint32_t)strlen(name) : 16);
}

static inline void nb_oifname(struct pc_nft_rule *r, const char *name)
{
	char buf[16] = {};

	snprintf(buf, sizeof(buf), "%s", name);
	nb_meta(r, NFT_META_OIFNAME, NFT_REG_1);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, buf, 16);
}

/* ip saddr / ip6 saddr PREFIX the way nft emits it: a load of the whole bytes covered,
 * a mask when the prefix ends inside a byte, a compare. @dst for daddr. */
static inline void nb_addr_match(struct pc_nft_rule *r, const char *prefix, bool dst, uint32_t op)
{
	struct pc_prefix p;
	unsigned off, bytes, full;
	uint8_t mask[16] = {};

	if (pc_prefix_from_string(prefix, &p) < 0)
		abort();
	off = p.addr.family == AF_INET ? (dst ? 16 : 12) : (dst ? 24 : 8);
	bytes = (p.len + 7) / 8;
	full = p.len / 8;
	if (bytes == 0)
		bytes = 1;
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, bytes, NFT_REG_1);
	if (full != bytes) {
		for (unsigned i = 0; i < p.len; i++)
			mask[i / 8] |= (uint8_t)(0x80u >> (i % 8));
		nb_bitwise(r, NFT_REG_1, NFT_REG_1, bytes, mask, NULL);
	}
	nb_cmp(r, op, NFT_REG_1, p.addr.bytes, bytes);
}

/* ct state BITS (e.g. established,related): load, mask, compare with zero */
static inline void nb_ct_state(struct pc_nft_rule *r, uint32_t bits)
{
	uint32_t zero = 0;

	nb_ct(r, NFT_CT_STATE, NFT_REG_1, -1);
	nb_bitwise(r, NFT_REG_1, NFT_REG_1, 4, &bits, &zero);
	nb_cmp_u32(r, NFT_CMP_NEQ, NFT_REG_1, 0);
}

/* ct status dnat */
static inline void nb_ct_status(struct pc_nft_rule *r, uint32_t bits)
{
	uint32_t zero = 0;

	nb_ct(r, NFT_CT_STATUS, NFT_REG_1, -1);
	nb_bitwise(r, NFT_REG_1, NFT_REG_1, 4, &bits, &zero);
	nb_cmp_u32(r, NFT_CMP_NEQ, NFT_REG_1, 0);
}

/* dnat [ip|ip6] to ADDR[:PORT] (@port 0 for none), in a nat chain */
static inline void nb_dnat_to(struct pc_nft_rule *r, uint32_t family, const char *addr,
			      uint16_t port)
{
	struct pc_addr a;

	if (pc_addr_from_string(addr, &a) < 0)
		abort();
	nb_imm(r, NFT_REG_1, a.bytes, pc_addr_size(a.family));
	if (port) {
		uint16_t be = htons(port);

		nb_imm(r, NFT_REG_2, &be, 2);
	}
	nb_nat(r, NFT_NAT_DNAT, family, NFT_REG_1, port ? NFT_REG_2 : 0);
}

/* --- sets ------------------------------------------------------------------------------- */

static inline struct pc_nft_set *nb_set(struct pc_nft_table *t, const char *name, uint32_t flags,
					uint32_t key_len)
{
	struct pc_nft_set *s = nb_grow(&t->sets, &t->n_sets, sizeof(*s));

	s->name = nb_strdup(name);
	s->flags = flags;
	s->key_len = key_len;
	return s;
}

static inline void nb_set_fields(struct pc_nft_set *s, unsigned n, const uint8_t *lens)
{
	s->field_count = n;
	memcpy(s->field_len, lens, n);
	s->flags |= NFT_SET_CONCAT;
}

/* An element's key, key end or data: its bytes in the set's arena. */
static inline void nb_bytes(struct pc_nft_set *s, const uint8_t **ret_v, uint8_t *ret_len,
			    const void *v, uint32_t len)
{
	struct pc_nft_bytes b;

	if (pc_nft_set_bytes(s, v, len, &b) < 0)
		abort();
	*ret_v = b.v;
	*ret_len = (uint8_t)b.len;
}

static inline struct pc_nft_set_elem *nb_elem(struct pc_nft_set *s, const void *key, uint32_t len,
					      uint32_t flags)
{
	struct pc_nft_set_elem *e = nb_grow(&s->elems, &s->n_elems, sizeof(*e));

	if (key)
		nb_bytes(s, &e->key, &e->key_len, key, len);
	e->flags = flags;
	return e;
}

static inline struct pc_nft_set_elem *nb_elem_range(struct pc_nft_set *s, const void *key,
						    const void *key_end, uint32_t len)
{
	struct pc_nft_set_elem *e = nb_elem(s, key, len, 0);

	nb_bytes(s, &e->key_end, &e->key_end_len, key_end, len);
	return e;
}

static inline struct pc_nft_set_elem *nb_elem_catchall(struct pc_nft_set *s)
{
	return nb_elem(s, NULL, 0, NFT_SET_ELEM_CATCHALL);
}

static inline void nb_elem_verdict(struct pc_nft_set_elem *e, int32_t code, const char *chain)
{
	e->verdict_code = code;
	e->verdict_chain = nb_strdup(chain);
}

/* An IPv4/IPv6 prefix as rbtree interval elements: start, and end + 1 unless the prefix
 * reaches the top of the address space (an open-ended interval). */
static inline void nb_elem_prefix(struct pc_nft_set *s, const char *prefix)
{
	struct pc_prefix p;
	unsigned n;
	uint8_t end[16];
	int i;

	if (pc_prefix_from_string(prefix, &p) < 0)
		abort();
	n = pc_addr_size(p.addr.family);
	nb_elem(s, p.addr.bytes, n, 0);
	memcpy(end, p.addr.bytes, n);
	for (unsigned b = p.len; b < n * 8; b++)
		end[b / 8] |= (uint8_t)(0x80u >> (b % 8));
	for (i = (int)n - 1; i >= 0; i--)
		if (++end[i])
			break;
	if (i >= 0)
		nb_elem(s, end, n, NFT_SET_ELEM_INTERVAL_END);
}

/* --- the network model ------------------------------------------------------------------ */

static inline void nb_link(struct pc_netif *ni, uint32_t ifindex, const char *name, bool loopback)
{
	struct pc_link *l = nb_grow(&ni->links, &ni->n_links, sizeof(*l));

	l->ifindex = ifindex;
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->kname, sizeof(l->kname), "%s", name);
	l->up = true;
	l->loopback = loopback;
}

/* "192.0.2.1/24" on @ifindex */
static inline void nb_ifaddr(struct pc_netif *ni, uint32_t ifindex, const char *addr_len)
{
	struct pc_ifaddr *a = nb_grow(&ni->addrs, &ni->n_addrs, sizeof(*a));
	char buf[64];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", addr_len);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	a->ifindex = ifindex;
	if (pc_addr_from_string(buf, &a->prefix.addr) < 0)
		abort();
	a->prefix.len =
	    slash ? (uint8_t)atoi(slash + 1) : (uint8_t)(pc_addr_size(a->prefix.addr.family) * 8);
}

/* A route; @gw NULL for a direct one. */
static inline void nb_route(struct pc_netif *ni, const char *dst, uint32_t table, uint8_t type,
			    uint32_t oif, const char *gw, uint32_t metric)
{
	struct pc_route *r = nb_grow(&ni->routes, &ni->n_routes, sizeof(*r));

	if (pc_prefix_from_string(dst, &r->dst) < 0)
		abort();
	r->family = r->dst.addr.family;
	r->table = table;
	r->type = type;
	r->oif = oif;
	r->priority = metric;
	if (gw && pc_addr_from_string(gw, &r->gateway) < 0)
		abort();
}

static inline struct pc_flow nb_flow(uint8_t proto, const char *saddr, const char *daddr,
				     uint16_t dport, uint32_t iif)
{
	struct pc_flow f = {.l4proto = proto, .sport = 40000, .dport = dport, .iif = iif};

	if (pc_addr_from_string(saddr, &f.saddr) < 0 || pc_addr_from_string(daddr, &f.daddr) < 0)
		abort();
	f.family = f.saddr.family;
	return f;
}

/* The engine tests' fixture: a ruleset, a host built by @host, the last result. */
struct nb_fx {
	struct pc_nft_ruleset rs;
	struct pc_netif ni;
	struct pc_nft_result res;
};

static inline int nb_fx_setup(void **state, void (*host)(struct pc_netif *))
{
	struct nb_fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	host(&f->ni);
	*state = f;
	return 0;
}

static inline int nb_fx_teardown(void **state)
{
	struct nb_fx *f = *state;

	pc_nft_result_clear(&f->res);
	pc_nft_ruleset_clear(&f->rs);
	pc_netif_free(&f->ni);
	free(f);
	return 0;
}
