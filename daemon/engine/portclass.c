/* SPDX-License-Identifier: MIT */
/*
 * Destination port classes (portclass.h): a static scan of every rule. Within a rule it
 * follows which register bytes hold the destination port (the kernel's registers are
 * written before they are read within a rule: nft never reads a register an earlier rule
 * left behind, and a rule that does makes every port distinct here), and every
 * expression that reads those bytes either cuts the port space where its outcome can
 * change (a comparison, a range, a set or map keyed by the port alone, xtables' tcp, udp
 * and multiport) or, when it does anything else with them, makes every port distinct.
 * Cuts from every rule of every table, reachable or not, and from both families and all
 * protocols: finer than the truth, never coarser.
 */
#include <errno.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/portclass.h"

#include "nftvm_internal.h"

bool pc_analysis_share_port_classes = true;

#define N_PORTS 65536u
#define REG_BYTES (NFT_REG_SIZE + 16 * NFT_REG32_SIZE)
/* Where the destination port is when a network or link layer header load reaches past
 * its header: the engine's packets have no IPv4 options and no IPv6 extension headers. */
#define DPORT_NH_V4 22u
#define DPORT_NH_V6 42u
#define ETH_HLEN_ 14u

enum kind {
	K_UNSET, /* not written by this rule */
	K_NONE,
	K_DPORT0, /* the port's first (high) byte */
	K_DPORT1,
	K_NFPROTO,   /* meta nfproto */
	K_ETHPROTO0, /* meta protocol (EtherType, big endian) */
	K_ETHPROTO1,
	K_CONST,   /* from an immediate: its value in val[] */
	K_MAPDATA, /* a map's data: map[] and mapoff[] say which byte of it */
};

struct scan {
	uint64_t cut[N_PORTS / 64];
	bool distinct;
	char why[160];
	/* the rule being scanned */
	const struct pc_nft_table *table;
	const struct pc_nft_chain *chain;
	const struct pc_nft_rule *rule;
	uint8_t k[REG_BYTES];
	uint8_t val[REG_BYTES];
	const struct pc_nft_set *map[REG_BYTES];
	uint8_t mapoff[REG_BYTES];
	int family; /* 0 unknown, 4 or 6: what the rule established (or its table is) */
};

static void cut(struct scan *s, uint32_t port)
{
	if (port < N_PORTS)
		s->cut[port / 64] |= 1ull << (port % 64);
}

static void distinct(struct scan *s, const char *fmt, ...)
{
	char what[96];
	va_list ap;

	if (s->distinct)
		return;
	s->distinct = true;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(s->why, sizeof(s->why), "%s (%s %s handle %llu)", what, s->table->name,
		 s->chain->name, (unsigned long long)s->rule->handle);
}

/* Register bytes [off, off + len) of @reg, or -1 outside the data registers. */
static int reg_off(uint32_t reg, uint32_t len)
{
	int off = vm_reg_offset(reg);

	if (off < NFT_REG_SIZE || len == 0 || (size_t)off + len > REG_BYTES)
		return -1;
	return off;
}

/* An expression writes @len bytes to @reg: the kernel stores whole words (the tail of
 * the last one zeroed), so every word it touches is overwritten. @len may be less than
 * what the expression writes (stale kinds only make the scan stricter), never more. */
static void write_reg(struct scan *s, uint32_t reg, uint32_t len, enum kind k0, enum kind k1)
{
	int off = reg_off(reg, len);
	uint32_t w0, w1;

	if (off < 0)
		return; /* the engine says unknown there; nothing to track */
	w0 = (uint32_t)off / NFT_REG32_SIZE;
	w1 = ((uint32_t)off + len + NFT_REG32_SIZE - 1) / NFT_REG32_SIZE;
	memset(s->k + w0 * NFT_REG32_SIZE, K_NONE, (w1 - w0) * NFT_REG32_SIZE);
	s->k[off] = (uint8_t)k0;
	if (len > 1)
		s->k[off + 1] = (uint8_t)k1;
}

/* What [off, off + len) of the registers holds: whether any byte is the port, and
 * whether any was never written by this rule. */
static void kinds(const struct scan *s, int off, uint32_t len, bool *port, bool *unset)
{
	*port = *unset = false;
	for (uint32_t i = 0; off >= 0 && i < len && (size_t)off + i < REG_BYTES; i++) {
		*port |= s->k[off + i] == K_DPORT0 || s->k[off + i] == K_DPORT1;
		*unset |= s->k[off + i] == K_UNSET;
	}
}

/* An immediate's bytes, kept for a NAT that takes its port from them. */
static void write_const(struct scan *s, uint32_t reg, const struct pc_nft_data *d)
{
	int off = reg_off(reg, d->len);

	write_reg(s, reg, d->len, K_NONE, K_NONE);
	for (uint32_t i = 0; off >= 0 && i < d->len; i++) {
		s->k[off + i] = K_CONST;
		s->val[off + i] = d->v[i];
	}
}

/* A map's data, kept likewise (`dnat to tcp dport map { 80 : 192.0.2.1 . 8080 }`). */
static void write_mapdata(struct scan *s, uint32_t reg, const struct pc_nft_set *set)
{
	int off = reg_off(reg, set->data_len);

	write_reg(s, reg, set->data_len, K_NONE, K_NONE);
	for (uint32_t i = 0; off >= 0 && i < set->data_len && i < 256; i++) {
		s->k[off + i] = K_MAPDATA;
		s->map[off + i] = set;
		s->mapoff[off + i] = (uint8_t)i;
	}
}

/*
 * The port a DNAT or redirect sends to, from register @reg: a connection to exactly that
 * port stays where it was going (no redirect to tell), any other is redirected, so the
 * port cuts the classes. An immediate's value, or every value of a map's data; anything
 * else (the destination port itself: it keeps the port) makes every port distinct.
 */
static void nat_port(struct scan *s, uint32_t reg, const char *what)
{
	int off = reg_off(reg, 2);

	if (off < 0)
		return;
	if (s->k[off] == K_CONST && s->k[off + 1] == K_CONST) {
		uint32_t c = (uint32_t)s->val[off] << 8 | s->val[off + 1];

		cut(s, c);
		cut(s, c + 1);
		return;
	}
	if (s->k[off] == K_MAPDATA && s->k[off + 1] == K_MAPDATA &&
	    s->map[off] == s->map[off + 1] && s->mapoff[off + 1] == s->mapoff[off] + 1) {
		const struct pc_nft_set *m = s->map[off];
		uint32_t at = s->mapoff[off];

		for (size_t i = 0; i < m->n_elems; i++) {
			const struct pc_nft_bytes b = pc_nft_elem_data(&m->elems[i]), *d = &b;

			if (d->len >= at + 2) {
				cut(s, (uint32_t)d->v[at] << 8 | d->v[at + 1]);
				cut(s, ((uint32_t)d->v[at] << 8 | d->v[at + 1]) + 1);
			}
		}
		return;
	}
	distinct(s, "%s to a port the scan cannot follow", what);
}

/*
 * A read of @len bytes of @reg by an expression that does not compare them: fine unless
 * it reads the port, or a register this rule never wrote. Returns whether it was fine.
 */
static bool plain_read(struct scan *s, uint32_t reg, uint32_t len, const char *what)
{
	int off = reg_off(reg, len);
	bool port, unset;

	if (off < 0)
		return true;
	kinds(s, off, len, &port, &unset);
	if (port)
		distinct(s, "%s uses the destination port", what);
	else if (unset)
		distinct(s, "%s reads a register the rule did not write", what);
	return !port && !unset;
}

/* Whether bytes [off, off + len) of a header overlap [at, at + 2). */
static bool overlaps_port(uint32_t off, uint32_t len, uint32_t at)
{
	return off < at + 2 && off + len > at;
}

/* Whether header bytes [off, off + len) from @base may be the destination port. */
static bool reaches_port(const struct scan *s, uint32_t base, uint32_t off, uint32_t len)
{
	switch (base) {
	case NFT_PAYLOAD_TRANSPORT_HEADER:
		return overlaps_port(off, len, 2);
	case NFT_PAYLOAD_NETWORK_HEADER:
		return (s->family != 6 && overlaps_port(off, len, DPORT_NH_V4)) ||
		       (s->family != 4 && overlaps_port(off, len, DPORT_NH_V6));
	case NFT_PAYLOAD_LL_HEADER:
		return off + len > ETH_HLEN_;
	default:
		return true;
	}
}

static void payload(struct scan *s, const struct pc_nft_expr *e)
{
	uint32_t off = e->payload.offset, len = e->payload.len;

	if (!e->payload.dreg) { /* a write: from sreg into the packet */
		plain_read(s, e->payload.sreg, len, "a payload write");
		/* Rewriting the destination address (stateless NAT) makes the engine report
		 * where the connection goes, its port included; other network and link layer
		 * fields are not worth telling apart from those. */
		if (e->payload.base != NFT_PAYLOAD_TRANSPORT_HEADER)
			distinct(s, "a payload write into the network or link layer header");
		else if (reaches_port(s, e->payload.base, off, len))
			distinct(s, "a payload write over the destination port");
		return;
	}
	if (e->payload.base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 2 && len == 2) {
		write_reg(s, e->payload.dreg, 2, K_DPORT0, K_DPORT1);
		return;
	}
	if (reaches_port(s, e->payload.base, off, len))
		distinct(s, "a payload load that takes in the destination port");
	write_reg(s, e->payload.dreg, len, K_NONE, K_NONE);
}

/* A comparison of @len bytes of @reg with the bounds [lo, hi] (big endian bytes): the
 * cuts when it compares the port, else what it tells of the family. */
static void compare(struct scan *s, uint32_t reg, uint32_t len, const uint8_t *lo,
		    const uint8_t *hi, bool eq)
{
	int off = reg_off(reg, len);
	bool port, unset;

	if (off < 0)
		return;
	kinds(s, off, len, &port, &unset);
	if (unset) {
		distinct(s, "a comparison of a register the rule did not write");
		return;
	}
	if (!port) {
		/* `meta nfproto ipv6` / `meta protocol ip6` before a network header load. */
		if (eq && len == 1 && s->k[off] == K_NFPROTO)
			s->family = lo[0] == NFPROTO_IPV6 ? 6 : lo[0] == NFPROTO_IPV4 ? 4 : 0;
		else if (eq && len == 2 && s->k[off] == K_ETHPROTO0)
			s->family = lo[0] == 0x86 && lo[1] == 0xdd   ? 6
				    : lo[0] == 0x08 && lo[1] == 0x00 ? 4
								     : 0;
		return;
	}
	if (len == 2 && s->k[off] == K_DPORT0 && s->k[off + 1] == K_DPORT1) {
		cut(s, (uint32_t)lo[0] << 8 | lo[1]);
		cut(s, ((uint32_t)hi[0] << 8 | hi[1]) + 1);
		return;
	}
	if (len == 1 && s->k[off] == K_DPORT0) { /* the high byte: whole blocks of 256 */
		cut(s, (uint32_t)lo[0] << 8);
		cut(s, ((uint32_t)hi[0] + 1) << 8);
		return;
	}
	distinct(s, "a comparison of the destination port with other bytes or in part");
}

static void lookup(struct scan *s, const struct pc_nft_expr *e)
{
	const struct pc_nft_set *set = vm_set_find_by_name(s->table, e->lookup.set);
	int off;
	bool port, unset;

	if (!set) {
		distinct(s, "a lookup in a set not in the snapshot");
		return;
	}
	if (set->key_len == 0 || set->key_len > PC_NFT_DATA_MAX) {
		/* The engine then takes the longest element's key: not followed here. */
		distinct(s, "a lookup in set %s without a key length", set->name);
		return;
	}
	off = reg_off(e->lookup.sreg, set->key_len);
	kinds(s, off, set->key_len, &port, &unset);
	if (unset) {
		distinct(s, "a lookup of a register the rule did not write");
		return;
	}
	if (port && !(set->key_len == 2 && s->k[off] == K_DPORT0 && s->k[off + 1] == K_DPORT1)) {
		distinct(s, "a lookup of the destination port with other fields (set %s)",
			 set->name);
		return;
	}
	if (port) {
		for (size_t i = 0; i < set->n_elems; i++) {
			const struct pc_nft_set_elem *el = &set->elems[i];
			uint32_t k;

			if (el->flags & NFT_SET_ELEM_CATCHALL)
				continue;
			if (el->key_len != 2 || (el->key_end_len && el->key_end_len != 2)) {
				distinct(s, "set %s has an element whose key is not a port",
					 set->name);
				return;
			}
			k = (uint32_t)el->key[0] << 8 | el->key[1];
			cut(s, k);
			cut(s, k + 1);
			if (el->key_end_len == 2)
				cut(s, ((uint32_t)el->key_end[0] << 8 | el->key_end[1]) + 1);
		}
	}
	if (e->lookup.dreg && e->lookup.dreg != NFT_REG_VERDICT && set->data_len)
		write_mapdata(s, e->lookup.dreg, set);
}

/* xtables' tcp and udp: --dport lo:hi. */
static void xt_ports(struct scan *s, const struct pc_nft_expr *e, bool tcp)
{
	const uint16_t *dpts;
	struct xt_tcp t;
	struct xt_udp u;

	if (tcp && e->xt.info && e->xt.info_len >= sizeof(t)) {
		memcpy(&t, e->xt.info, sizeof(t));
		dpts = t.dpts;
	} else if (!tcp && e->xt.info && e->xt.info_len >= sizeof(u)) {
		memcpy(&u, e->xt.info, sizeof(u));
		dpts = u.dpts;
	} else {
		distinct(s, "xtables %s match of an unexpected size", e->xt.name);
		return;
	}
	cut(s, dpts[0]);
	cut(s, (uint32_t)dpts[1] + 1);
}

static void xt_multiport(struct scan *s, const struct pc_nft_expr *e)
{
	struct xt_multiport_v1 m;

	if (e->xt.rev != 1 || !e->xt.info || e->xt.info_len < sizeof(m)) {
		distinct(s, "multiport match revision %u", e->xt.rev);
		return;
	}
	memcpy(&m, e->xt.info, sizeof(m));
	if (m.flags == XT_MULTIPORT_SOURCE)
		return;
	for (unsigned i = 0; i < m.count && i < XT_MULTI_PORTS; i++) {
		uint32_t lo = m.ports[i], hi = lo;

		if (m.pflags[i] && i + 1 < XT_MULTI_PORTS)
			hi = m.ports[++i];
		cut(s, lo);
		cut(s, hi + 1);
	}
}

/* xtables' conntrack: fine unless it tests the original destination or the reply source
 * port (the destination port, as the connection's tuples hold it). */
static void xt_conntrack(struct scan *s, const struct pc_nft_expr *e)
{
	size_t need = e->xt.rev == 1   ? sizeof(struct xt_conntrack_mtinfo1)
		      : e->xt.rev == 2 ? sizeof(struct xt_conntrack_mtinfo2)
				       : sizeof(struct xt_conntrack_mtinfo3);
	struct xt_conntrack_mtinfo1 head;

	/* match_flags sits at the same place in revisions 1 to 3. */
	if (e->xt.rev < 1 || e->xt.rev > 3 || !e->xt.info || e->xt.info_len < need) {
		distinct(s, "conntrack match revision %u", e->xt.rev);
		return;
	}
	memcpy(&head, e->xt.info, sizeof(head));
	if (head.match_flags & (XT_CONNTRACK_ORIGDST_PORT | XT_CONNTRACK_REPLSRC_PORT))
		distinct(s, "conntrack match on the destination port");
}

static bool name_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(name, *list) == 0)
			return true;
	return false;
}

static void xt_match(struct scan *s, const struct pc_nft_expr *e)
{
	/* Matches the engine models that never look at the destination port (hashlimit and
	 * connlimit are explored over every outcome, whatever they count by). */
	static const char *const blind[] = {"comment",	 "state",     "addrtype", "mark",
					    "pkttype",	 "iprange",   "rpfilter", "limit",
					    "hashlimit", "connlimit", NULL};

	if (strcmp(e->xt.name, "tcp") == 0 || strcmp(e->xt.name, "udp") == 0)
		xt_ports(s, e, e->xt.name[0] == 't');
	else if (strcmp(e->xt.name, "multiport") == 0)
		xt_multiport(s, e);
	else if (strcmp(e->xt.name, "conntrack") == 0)
		xt_conntrack(s, e);
	else if (!name_in(e->xt.name, blind))
		distinct(s, "xtables match %s", e->xt.name);
}

static void xt_target(struct scan *s, const struct pc_nft_expr *e)
{
	/* Targets that leave the destination port alone (SNAT and MASQUERADE change the
	 * source); DNAT and REDIRECT may keep it as the new one. */
	static const char *const blind[] = {
	    "REJECT", "LOG",	 "NFLOG", "TCPMSS", "CHECKSUM",	  "CLASSIFY", "AUDIT",
	    "MARK",   "NOTRACK", "CT",	  "SNAT",   "MASQUERADE", NULL};

	if (!name_in(e->xt.name, blind))
		distinct(s, "xtables target %s", e->xt.name);
}

static uint32_t meta_len(uint32_t key)
{
	switch (key) {
	case NFT_META_IIFNAME:
	case NFT_META_OIFNAME:
	case NFT_META_BRI_IIFNAME:
	case NFT_META_BRI_OIFNAME:
	case NFT_META_IIFKIND:
	case NFT_META_OIFKIND:
	case NFT_META_SDIFNAME:
		return 16;
	case NFT_META_TIME_NS:
		return 8;
	default:
		return 1; /* at least this; see write_reg */
	}
}

/* What ct writes, at least: addresses and labels fill 16 bytes (in a table that is not
 * IPv4-only, "ct original saddr" is read as an IPv6 address's 16). */
static uint32_t ct_len(const struct scan *s, uint32_t key)
{
	switch (key) {
	case NFT_CT_SRC_IP6:
	case NFT_CT_DST_IP6:
	case NFT_CT_LABELS:
		return 16;
	case NFT_CT_SRC:
	case NFT_CT_DST:
		return s->table->family == NFPROTO_IPV4 ? 4 : 16;
	default:
		return 1;
	}
}

static void nat(struct scan *s, const struct pc_nft_expr *e)
{
	uint32_t alen = e->nat.family == NFPROTO_IPV6 ? 16 : 4;

	if (e->nat.reg_addr_min)
		plain_read(s, e->nat.reg_addr_min, alen, "NAT");
	if (e->nat.reg_addr_max)
		plain_read(s, e->nat.reg_addr_max, alen, "NAT");
	if (e->nat.type != NFT_NAT_DNAT) {
		if (e->nat.reg_proto_min)
			plain_read(s, e->nat.reg_proto_min, 2, "SNAT");
		if (e->nat.reg_proto_max)
			plain_read(s, e->nat.reg_proto_max, 2, "SNAT");
		return;
	}
	/* Without a port the connection keeps its own; with a range the kernel keeps it when
	 * it is in the range; an offset moves it. */
	if (!e->nat.reg_proto_min)
		distinct(s, "DNAT that keeps the destination port");
	else if ((e->nat.reg_proto_max && e->nat.reg_proto_max != e->nat.reg_proto_min) ||
		 (e->nat.flags & NF_NAT_RANGE_PROTO_OFFSET))
		distinct(s, "DNAT to a port range");
	else
		nat_port(s, e->nat.reg_proto_min, "DNAT");
}

static void expr(struct scan *s, const struct pc_nft_expr *e)
{
	switch (e->type) {
	case PC_NFT_EXPR_IMMEDIATE:
		if (!e->immediate.is_verdict)
			write_const(s, e->immediate.dreg, &e->immediate.data);
		break;
	case PC_NFT_EXPR_CMP:
		compare(s, e->cmp.sreg, e->cmp.data.len, e->cmp.data.v, e->cmp.data.v,
			e->cmp.op == NFT_CMP_EQ);
		break;
	case PC_NFT_EXPR_RANGE:
		if (e->range.from.len != e->range.to.len)
			distinct(s, "a range with bounds of different lengths");
		else
			compare(s, e->range.sreg, e->range.from.len, e->range.from.v, e->range.to.v,
				false);
		break;
	case PC_NFT_EXPR_PAYLOAD:
		payload(s, e);
		break;
	case PC_NFT_EXPR_BITWISE:
		if (plain_read(s, e->bitwise.sreg, e->bitwise.len, "a bitwise operation"))
			write_reg(s, e->bitwise.dreg, e->bitwise.len, K_NONE, K_NONE);
		break;
	case PC_NFT_EXPR_BYTEORDER:
		if (plain_read(s, e->byteorder.sreg, e->byteorder.len, "a byte order conversion"))
			write_reg(s, e->byteorder.dreg, e->byteorder.len, K_NONE, K_NONE);
		break;
	case PC_NFT_EXPR_META:
		if (e->meta.dreg)
			write_reg(s, e->meta.dreg,
				  e->meta.key == NFT_META_PROTOCOL ? 2 : meta_len(e->meta.key),
				  e->meta.key == NFT_META_NFPROTO    ? K_NFPROTO
				  : e->meta.key == NFT_META_PROTOCOL ? K_ETHPROTO0
								     : K_NONE,
				  e->meta.key == NFT_META_PROTOCOL ? K_ETHPROTO1 : K_NONE);
		else /* mark, priority: 4; nftrace, pkttype: 1 in a word written whole */
			plain_read(s, e->meta.sreg, 4, "meta set");
		break;
	case PC_NFT_EXPR_CT: {
		bool reply = e->ct.has_dir && e->ct.dir == IP_CT_DIR_REPLY;
		bool port = (e->ct.key == NFT_CT_PROTO_DST && !reply) ||
			    (e->ct.key == NFT_CT_PROTO_SRC && reply);

		if (e->ct.dreg)
			write_reg(s, e->ct.dreg, port ? 2 : ct_len(s, e->ct.key),
				  port ? K_DPORT0 : K_NONE, port ? K_DPORT1 : K_NONE);
		else /* labels: 16; mark, secmark, event mask: 4; zone: 2 in a whole word */
			plain_read(s, e->ct.sreg, e->ct.key == NFT_CT_LABELS ? 16 : 4, "ct set");
		break;
	}
	case PC_NFT_EXPR_LOOKUP:
		lookup(s, e);
		break;
	case PC_NFT_EXPR_NAT:
		nat(s, e);
		break;
	case PC_NFT_EXPR_REDIR:
		if (e->redir.reg_proto_min)
			nat_port(s, e->redir.reg_proto_min, "redirect");
		else
			distinct(s, "redirect to the destination port itself");
		if (e->redir.reg_proto_max && e->redir.reg_proto_max != e->redir.reg_proto_min)
			distinct(s, "redirect to a port range");
		break;
	case PC_NFT_EXPR_MASQ:
		if (e->masq.reg_proto_min)
			plain_read(s, e->masq.reg_proto_min, 2, "masquerade");
		if (e->masq.reg_proto_max)
			plain_read(s, e->masq.reg_proto_max, 2, "masquerade");
		break;
	case PC_NFT_EXPR_FIB:
		write_reg(s, e->fib.dreg, e->fib.result == NFT_FIB_RESULT_OIFNAME ? 16 : 1, K_NONE,
			  K_NONE);
		break;
	case PC_NFT_EXPR_NUMGEN:
		write_reg(s, e->numgen.dreg, 1, K_NONE, K_NONE);
		break;
	case PC_NFT_EXPR_HASH:
		if (plain_read(s, e->hash.sreg, e->hash.len, "a hash"))
			write_reg(s, e->hash.dreg, 1, K_NONE, K_NONE);
		break;
	case PC_NFT_EXPR_DYNSET: {
		const struct pc_nft_set *set = vm_set_find_by_name(s->table, e->dynset.set);

		if (!set) {
			distinct(s, "a set update of a set not in the snapshot");
			break;
		}
		plain_read(s, e->dynset.sreg_key, set->key_len, "a set update");
		if (e->dynset.sreg_data && set->data_len)
			plain_read(s, e->dynset.sreg_data, set->data_len, "a set update");
		break;
	}
	case PC_NFT_EXPR_OBJREF:
		if (!e->objref.name)
			distinct(s, "an object map (its key is not in the snapshot)");
		break;
	case PC_NFT_EXPR_MATCH:
		xt_match(s, e);
		break;
	case PC_NFT_EXPR_TARGET:
		xt_target(s, e);
		break;
	case PC_NFT_EXPR_QUEUE:
	case PC_NFT_EXPR_REJECT:
	case PC_NFT_EXPR_COUNTER:
	case PC_NFT_EXPR_LOG:
	case PC_NFT_EXPR_NOTRACK:
	case PC_NFT_EXPR_LIMIT:
	case PC_NFT_EXPR_QUOTA:
	case PC_NFT_EXPR_CONNLIMIT:
		break;
	case PC_NFT_EXPR_UNKNOWN:
	default:
		distinct(s, "expression %s is not modelled", e->name);
		break;
	}
}

int pc_port_classes_of(const struct pc_nft_ruleset *rs, struct pc_port_classes *ret)
{
	struct scan *s = calloc(1, sizeof(*s));
	uint16_t start = 0;

	*ret = (struct pc_port_classes){0};
	if (!s)
		return -ENOMEM;
	for (size_t t = 0; rs && t < rs->n_tables && !s->distinct; t++) {
		s->table = &rs->tables[t];
		for (size_t c = 0; c < s->table->n_chains && !s->distinct; c++) {
			s->chain = &s->table->chains[c];
			for (size_t r = 0; r < s->chain->n_rules && !s->distinct; r++) {
				s->rule = &s->chain->rules[r];
				memset(s->k, K_UNSET, sizeof(s->k));
				s->family = s->table->family == NFPROTO_IPV4   ? 4
					    : s->table->family == NFPROTO_IPV6 ? 6
									       : 0;
				for (size_t x = 0; x < s->rule->n_exprs && !s->distinct; x++)
					expr(s, &s->rule->exprs[x]);
			}
		}
	}
	if (s->distinct) {
		ret->distinct = true;
		memcpy(ret->why, s->why, sizeof(ret->why));
		free(s);
		return 0;
	}
	ret->start = malloc(N_PORTS * sizeof(*ret->start));
	if (!ret->start) {
		free(s);
		return -ENOMEM;
	}
	for (uint32_t p = 0; p < N_PORTS; p++) {
		if (s->cut[p / 64] & (1ull << (p % 64)))
			start = (uint16_t)p;
		ret->start[p] = start;
	}
	free(s);
	return 0;
}

void pc_port_classes_clear(struct pc_port_classes *c)
{
	free(c->start);
	*c = (struct pc_port_classes){0};
}
