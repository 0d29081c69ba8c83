/* SPDX-License-Identifier: MIT */
/*
 * Rule guards: the destination ports a rule can match at all, so that the chain walk
 * passes over a rule the packet's concrete port cannot match without evaluating it.
 *
 * A chain like firewalld's zone chains or the bench host's (100 rules, each starting with
 * `tcp dport N`) costs one evaluation per rule per packet; most of them end at their port
 * comparison. Worse, with the symbolic source a rule `ip saddr 198.18.0.0/24 tcp dport N`
 * splits the box of sources at its address test before its port test fails, so every
 * other port's evaluation forks there for nothing.
 *
 * A rule's guard is read from its leading expressions that have no effect but loading
 * registers and testing them (payload and meta and ct loads, cmp, range, bitwise,
 * byteorder, a lookup in a set that is not a map, counter, log): the kernel runs them in
 * order and the rule ends (NFT_BREAK) at the first test that fails, so no later
 * expression runs and nothing of the rule is visible afterwards but the registers those
 * loads wrote. Every comparison or range on the two register bytes that a load of the
 * transport header's bytes 2-3 (the destination port) wrote narrows the guard to the
 * interval that passes; a lookup in a constant set keyed by the port alone narrows it to
 * the span of the set's keys. The first expression that is anything else ends the scan:
 * what comes after it runs only when the rule got that far.
 *
 * Passing over such a rule is exact: with the port outside its guard the kernel's rule
 * breaks at that test (or earlier), whatever the other tests say, and the only trace it
 * leaves is register contents. Those matter only to a rule that reads a register it did
 * not write itself, which nft, iptables-nft and every tool we know never generate; a
 * ruleset with one anywhere gets no guards at all.
 *
 * Built once per snapshot on first use and kept with it (nftvm_cache.c).
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "nftvm_internal.h"

#define REG_BYTES (NFT_REG_SIZE + 16 * NFT_REG32_SIZE)
#define GUARD_ANY 0x0000ffffu

static uint32_t guard_of(uint16_t lo, uint16_t hi)
{
	return (uint32_t)lo << 16 | hi;
}

/* The register bytes [off, off + len) an expression names, or false when it names none
 * the kernel accepts (the VM then says unknown when it runs it). */
static bool reg_span(uint32_t reg, uint32_t len, unsigned *off)
{
	int o = vm_reg_offset(reg);

	if (o < NFT_REG_SIZE || len == 0 || (size_t)o + len > REG_BYTES)
		return false;
	*off = (unsigned)o;
	return true;
}

/* The register bytes [off, off + n) a write of @len bytes to @reg covers, cut at the end
 * of the register file. */
static bool write_span(uint32_t reg, uint32_t len, unsigned *off, unsigned *n)
{
	int o = vm_reg_offset(reg);

	if (o < NFT_REG_SIZE || (size_t)o >= REG_BYTES)
		return false;
	*off = (unsigned)o;
	*n = len > REG_BYTES - *off ? REG_BYTES - *off : len;
	return true;
}

static uint32_t words(uint32_t len)
{
	return (len + 3) / 4 * 4;
}

/* How many bytes a meta load surely stores (nft_meta_get_eval): interface names 16, time
 * 8, the rest at least one word (nft_reg_store8/16 zero the rest of it). */
static uint32_t meta_len(uint32_t key)
{
	switch (key) {
	case NFT_META_IIFNAME:
	case NFT_META_OIFNAME:
	case NFT_META_IIFKIND:
	case NFT_META_OIFKIND:
	case NFT_META_BRI_IIFNAME:
	case NFT_META_BRI_OIFNAME:
	case NFT_META_SDIFNAME:
		return 16;
	case NFT_META_TIME_NS:
		return 8;
	default:
		return 4;
	}
}

/* How many bytes a ct load surely stores when it stores (nft_ct_get_eval): the helper's
 * name and the labels 16, an IPv6 address 16, counters 8, an address of either family
 * (ct original saddr in an inet table) only the 4 of IPv4, the rest one word. */
static uint32_t ct_len(uint32_t key)
{
	switch (key) {
	case NFT_CT_HELPER:
	case NFT_CT_LABELS:
	case NFT_CT_SRC_IP6:
	case NFT_CT_DST_IP6:
		return 16;
	case NFT_CT_BYTES:
	case NFT_CT_PKTS:
	case NFT_CT_AVGPKT:
		return 8;
	default:
		return 4;
	}
}

/* --- which registers an expression reads and writes ------------------------------------- */

struct regio {
	uint32_t reg[4], len[4];
	unsigned n;
};

static void io_add(struct regio *io, uint32_t reg, uint32_t len)
{
	if (reg && io->n < 4) {
		io->reg[io->n] = reg;
		io->len[io->n++] = len;
	}
}

/* A NAT expression's register lengths: addresses as long as the family's, ports 2. */
static uint32_t nat_addr_len(const struct pc_nft_expr *e)
{
	return e->nat.family == NFPROTO_IPV6 ? 16 : 4;
}

/* The registers @e reads. */
static void expr_reads(const struct pc_nft_expr *e, const struct pc_nft_table *t, struct regio *io)
{
	io->n = 0;
	switch (e->type) {
	case PC_NFT_EXPR_CMP:
		io_add(io, e->cmp.sreg, e->cmp.data.len);
		break;
	case PC_NFT_EXPR_RANGE:
		io_add(io, e->range.sreg, e->range.from.len);
		break;
	case PC_NFT_EXPR_PAYLOAD:
		if (e->payload.dreg == 0)
			io_add(io, e->payload.sreg, e->payload.len);
		break;
	case PC_NFT_EXPR_BITWISE:
		io_add(io, e->bitwise.sreg, e->bitwise.len);
		break;
	case PC_NFT_EXPR_BYTEORDER:
		io_add(io, e->byteorder.sreg, e->byteorder.len);
		break;
	case PC_NFT_EXPR_META:
		if (e->meta.sreg)
			io_add(io, e->meta.sreg, 1);
		break;
	case PC_NFT_EXPR_CT:
		if (e->ct.sreg)
			io_add(io, e->ct.sreg, 1);
		break;
	case PC_NFT_EXPR_LOOKUP: {
		const struct pc_nft_set *s = vm_set_find_by_name(t, e->lookup.set);

		io_add(io, e->lookup.sreg, s && s->key_len ? s->key_len : 1);
		break;
	}
	case PC_NFT_EXPR_DYNSET:
		io_add(io, e->dynset.sreg_key, 1);
		io_add(io, e->dynset.sreg_data, 1);
		break;
	case PC_NFT_EXPR_HASH:
		io_add(io, e->hash.sreg, e->hash.len);
		break;
	case PC_NFT_EXPR_NAT:
		io_add(io, e->nat.reg_addr_min, nat_addr_len(e));
		io_add(io, e->nat.reg_addr_max, nat_addr_len(e));
		io_add(io, e->nat.reg_proto_min, 2);
		io_add(io, e->nat.reg_proto_max, 2);
		break;
	case PC_NFT_EXPR_REDIR:
		io_add(io, e->redir.reg_proto_min, 2);
		io_add(io, e->redir.reg_proto_max, 2);
		break;
	case PC_NFT_EXPR_MASQ:
		io_add(io, e->masq.reg_proto_min, 2);
		io_add(io, e->masq.reg_proto_max, 2);
		break;
	default:
		break;
	}
}

/*
 * The register @e writes, 0 when none, with two lengths for two opposite uses: *must the
 * bytes it surely writes when it goes on (a later test of this rule reading beyond them
 * reads what an earlier rule left: too short only turns the guards off), *may the bytes
 * it may write (a port held in them is gone: too long only forgets the port). The
 * kernel's stores fill whole 4-byte words (nft_data_copy, the payload load zeroing its
 * last word), except byteorder's, which writes its length exactly.
 */
static uint32_t expr_writes(const struct pc_nft_expr *e, const struct pc_nft_table *t,
			    uint32_t *must, uint32_t *may)
{
	const struct pc_nft_set *s;

	*must = *may = 0;
	switch (e->type) {
	case PC_NFT_EXPR_IMMEDIATE:
		if (e->immediate.is_verdict)
			return 0;
		*must = *may = words(e->immediate.data.len);
		return e->immediate.dreg;
	case PC_NFT_EXPR_PAYLOAD:
		*must = *may = words(e->payload.len);
		return e->payload.dreg;
	case PC_NFT_EXPR_BITWISE:
		*must = *may = words(e->bitwise.len);
		return e->bitwise.dreg;
	case PC_NFT_EXPR_BYTEORDER:
		*must = e->byteorder.len;
		*may = words(e->byteorder.len);
		return e->byteorder.dreg;
	case PC_NFT_EXPR_META:
		*must = meta_len(e->meta.key);
		*may = 16;
		return e->meta.dreg;
	case PC_NFT_EXPR_CT:
		*must = ct_len(e->ct.key);
		*may = 16;
		return e->ct.dreg;
	case PC_NFT_EXPR_FIB:
		*must = e->fib.result == NFT_FIB_RESULT_OIFNAME ? 16 : 4;
		*may = 16;
		return e->fib.dreg;
	case PC_NFT_EXPR_NUMGEN:
		*must = *may = 4;
		return e->numgen.dreg;
	case PC_NFT_EXPR_HASH:
		*must = *may = 4;
		return e->hash.dreg;
	case PC_NFT_EXPR_LOOKUP:
		if (e->lookup.dreg == NFT_REG_VERDICT)
			return 0;
		s = vm_set_find_by_name(t, e->lookup.set);
		*must = s ? words(s->data_len) : 0;
		*may = s ? words(s->data_len) : REG_BYTES;
		return e->lookup.dreg;
	default:
		return 0;
	}
}

/*
 * Whether rule @r reads register bytes it did not write itself (a value an earlier rule
 * left behind). An expression the snapshot does not model counts as writing
 * every register: whatever reads after it, the VM cannot run that rule anyway.
 */
static bool rule_reads_inherited(const struct pc_nft_table *t, const struct pc_nft_rule *r)
{
	bool written[REG_BYTES] = {false};

	for (size_t i = 0; i < r->n_exprs; i++) {
		const struct pc_nft_expr *e = &r->exprs[i];
		struct regio io;
		uint32_t must, may, w;
		unsigned off, nb;

		if (e->type == PC_NFT_EXPR_UNKNOWN) {
			memset(written, true, sizeof(written));
			continue;
		}
		expr_reads(e, t, &io);
		for (unsigned k = 0; k < io.n; k++) {
			if (!reg_span(io.reg[k], io.len[k], &off))
				continue;
			for (unsigned b = 0; b < io.len[k]; b++)
				if (!written[off + b])
					return true;
		}
		w = expr_writes(e, t, &must, &may);
		if (w && write_span(w, must, &off, &nb))
			memset(written + off, true, nb);
	}
	return false;
}

/* --- one rule's guard -------------------------------------------------------------------- */

/* The port value of 2 bytes in network order. */
static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Narrow [*lo, *hi] by a comparison of the port with @v. */
static void narrow_cmp(uint32_t op, uint16_t v, uint32_t *lo, uint32_t *hi)
{
	uint32_t l = 0, h = 0xffff;

	switch (op) {
	case NFT_CMP_EQ:
		l = h = v;
		break;
	case NFT_CMP_LT:
		if (v == 0) {
			l = 1; /* nothing passes: an empty guard */
			h = 0;
		} else
			h = v - 1u;
		break;
	case NFT_CMP_LTE:
		h = v;
		break;
	case NFT_CMP_GT:
		if (v == 0xffff) {
			l = 1;
			h = 0;
		} else
			l = v + 1u;
		break;
	case NFT_CMP_GTE:
		l = v;
		break;
	default: /* NEQ: a hole, not an interval */
		return;
	}
	if (l > *lo)
		*lo = l;
	if (h < *hi)
		*hi = h;
}

/* The span of a constant set's port keys, or false when it says nothing usable. */
static bool set_span(const struct pc_nft_set *s, uint32_t *lo, uint32_t *hi)
{
	uint32_t l = 0xffff, h = 0;
	bool ranged = (s->flags & NFT_SET_INTERVAL) != 0;

	if (!(s->flags & NFT_SET_CONSTANT) || (s->flags & (NFT_SET_MAP | NFT_SET_OBJECT)) ||
	    s->key_len != 2 || s->n_elems == 0)
		return false;
	for (size_t i = 0; i < s->n_elems; i++) {
		const struct pc_nft_set_elem *el = &s->elems[i];

		if ((el->flags & NFT_SET_ELEM_CATCHALL) || el->key_len != 2)
			return false;
		if (be16(el->key) < l)
			l = be16(el->key);
		if (be16(el->key) > h)
			h = be16(el->key);
		if (el->key_end_len == 2 && be16(el->key_end) > h)
			h = be16(el->key_end);
		else if (el->key_end_len && el->key_end_len != 2)
			return false;
	}
	/* An interval set without key ends (rbtree) may hold an open-ended last range. */
	if (ranged && !s->elems[0].key_end_len)
		h = 0xffff;
	if (l > *lo)
		*lo = l;
	if (h < *hi)
		*hi = h;
	return true;
}

/* Whether register bytes [off, off+2) hold the destination port, high byte first. */
static bool holds_port(const int8_t *port, unsigned off)
{
	return off + 1 < REG_BYTES && port[off] == 0 && port[off + 1] == 1;
}

uint32_t vm_rule_guard(const struct pc_nft_table *t, const struct pc_nft_rule *r,
		       bool *reads_inherited)
{
	/* Per register byte: which byte of the port it holds (0 high, 1 low), or -1. */
	int8_t port[REG_BYTES];
	uint32_t lo = 0, hi = 0xffff;
	unsigned off, nb;

	/* Here, while the rule's expressions are in the cache: a walk over every rule is
	 * bound by memory (50,000 rules are some 100 MB of expressions). */
	if (rule_reads_inherited(t, r))
		*reads_inherited = true;
	memset(port, -1, sizeof(port));
	for (size_t i = 0; i < r->n_exprs; i++) {
		const struct pc_nft_expr *e = &r->exprs[i];
		uint32_t w, must, may;

		switch (e->type) {
		case PC_NFT_EXPR_CMP:
			if (e->cmp.data.len == 2 && reg_span(e->cmp.sreg, 2, &off) &&
			    holds_port(port, off))
				narrow_cmp(e->cmp.op, be16(e->cmp.data.v), &lo, &hi);
			continue;
		case PC_NFT_EXPR_RANGE:
			if (e->range.op == NFT_RANGE_EQ && e->range.from.len == 2 &&
			    e->range.to.len == 2 && reg_span(e->range.sreg, 2, &off) &&
			    holds_port(port, off)) {
				narrow_cmp(NFT_CMP_GTE, be16(e->range.from.v), &lo, &hi);
				narrow_cmp(NFT_CMP_LTE, be16(e->range.to.v), &lo, &hi);
			}
			continue;
		case PC_NFT_EXPR_LOOKUP: {
			const struct pc_nft_set *s = vm_set_find_by_name(t, e->lookup.set);

			/* A map gives a verdict or a value; a set not in the snapshot makes
			 * the VM say unknown. */
			if (!s || (s->flags & NFT_SET_MAP) || e->lookup.dreg)
				break;
			if (!(e->lookup.flags & NFT_LOOKUP_F_INV) &&
			    reg_span(e->lookup.sreg, 2, &off) && holds_port(port, off))
				set_span(s, &lo, &hi);
			continue;
		}
		case PC_NFT_EXPR_PAYLOAD:
			if (e->payload.dreg == 0)
				break; /* a write to the packet */
			w = expr_writes(e, t, &must, &may);
			if (!write_span(w, may, &off, &nb))
				break;
			memset(port + off, -1, nb);
			if (e->payload.base == NFT_PAYLOAD_TRANSPORT_HEADER &&
			    e->payload.offset == 2 && e->payload.len == 2 && nb >= 2) {
				port[off] = 0;
				port[off + 1] = 1;
			}
			continue;
		case PC_NFT_EXPR_META:
		case PC_NFT_EXPR_CT:
		case PC_NFT_EXPR_BITWISE:
		case PC_NFT_EXPR_BYTEORDER:
			w = expr_writes(e, t, &must, &may);
			if (!w)
				break; /* meta set, ct set: effects */
			if (write_span(w, may, &off, &nb))
				memset(port + off, -1, nb);
			continue;
		case PC_NFT_EXPR_COUNTER:
		case PC_NFT_EXPR_LOG:
			continue;
		default:
			break;
		}
		break; /* anything else: what follows runs only when the rule gets there */
	}
	return lo > hi ? guard_of(1, 0) : guard_of((uint16_t)lo, (uint16_t)hi);
}

/* --- use ---------------------------------------------------------------------------------- */

bool vm_port_guard_admits(const struct vm *vm, uint32_t guard)
{
	const struct vm_pkt *p = vm->pkt;
	uint16_t port;

	if (guard == GUARD_ANY)
		return true;
	/* Only a concrete port in a TCP or UDP header the payload load would read. */
	if ((p->l4proto != IPPROTO_TCP && p->l4proto != IPPROTO_UDP) || p->thoff + 4 > p->len ||
	    p->var[p->thoff + 2] || p->var[p->thoff + 3])
		return true;
	port = ntohs(pkt_port(p, true));
	return port >= guard >> 16 && port <= (guard & 0xffff);
}
