/* SPDX-License-Identifier: MIT */
/*
 * Where the outcome can change along the source address space: a static pass over every
 * rule that follows which register bytes hold bytes of the packet's source address (payload
 * loads from the network header at the source's offset, whole or partial; ct original
 * saddr), through bitwise masks, into comparisons: cmp, range, set lookups (elements,
 * interval starts and ends, concatenations with the address as one field) and the xtables
 * conntrack/iprange matches. Each comparison constrains a prefix of the address (the bits a
 * mask keeps, from the first) and contributes the start of the matching block and, for
 * those with an upper end, the first address after it.
 *
 * A mask that keeps bits after a cleared one (e.g. only the last byte) matches a scattered
 * set of addresses; only its leading prefix contributes, so such rules may split pieces
 * more coarsely than they behave. NAT, fib and routing are ignored: they do not depend on
 * where a source lies relative to a rule's constants.
 */
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_iprange.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nftvm_internal.h"
#include "portcheck/util.h"

#define REGB (VM_REG32_NUM * 4)

/* What a boundary marks: the start of a matching block, the address after its end, or
 * both (an equality). */
enum bkind { B_START = 1, B_AFTER = 2, B_BOTH = 3 };

struct bounds {
	int family;
	unsigned alen;
	struct pc_addr *v;
	size_t n;
	bool oom;
};

/* Register provenance: which source-address byte each register byte holds, and the bits
 * of it that survived masking; tags for the nfproto/protocol guards. */
struct prov {
	int8_t src[REGB];
	uint8_t mask[REGB];
	uint8_t tag[VM_REG32_NUM]; /* per word: 1 meta nfproto, 2 meta protocol */
};

static void push(struct bounds *b, const uint8_t *bytes)
{
	struct pc_addr *a;

	if (b->oom)
		return;
	a = pc_array_grow(&b->v, &b->n, sizeof(*a));
	if (!a) {
		b->oom = true;
		return;
	}
	a->family = b->family;
	memcpy(a->bytes, bytes, b->alen);
}

/* Boundaries of the block of addresses whose leading bits equal @val under @amask. */
static void add_bound(struct bounds *b, const uint8_t *val, const uint8_t *amask, enum bkind k)
{
	unsigned bits = b->alen * 8, p = 0;
	uint8_t a[16] = {};

	while (p < bits && (amask[p / 8] & (0x80u >> (p % 8))))
		p++;
	if (p == 0)
		return;
	for (unsigned i = 0; i < p; i++)
		if (val[i / 8] & (0x80u >> (i % 8)))
			a[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	if (k & B_START)
		push(b, a);
	if (k & B_AFTER) {
		/* a + 2^(bits - p): add one at bit p - 1, carrying towards the front. */
		int i = (int)(p - 1);

		for (; i >= 0; i--) {
			uint8_t bit = (uint8_t)(0x80u >> (i % 8));

			if (a[i / 8] & bit) {
				a[i / 8] &= (uint8_t)~bit;
				continue;
			}
			a[i / 8] |= bit;
			break;
		}
		if (i >= 0)
			push(b, a);
	}
}

/* The constraint that register bytes [off, off+len) compared against @data put on the
 * source address; false when none of them hold address bytes. */
static bool constraint(const struct prov *pv, int off, const uint8_t *data, uint32_t len,
		       uint8_t *val, uint8_t *amask)
{
	bool any = false;

	memset(val, 0, 16);
	memset(amask, 0, 16);
	for (uint32_t k = 0; k < len && off + (int)k < REGB; k++) {
		int s = pv->src[off + k];

		if (s < 0 || !pv->mask[off + k])
			continue;
		amask[s] |= pv->mask[off + k];
		val[s] |= data[k] & pv->mask[off + k];
		any = true;
	}
	return any;
}

static void clobber(struct prov *pv, uint32_t reg, uint32_t len)
{
	int off = vm_reg_offset(reg);

	if (off < 0)
		return;
	for (uint32_t k = 0; k < (len + 3) / 4 * 4 && off + (int)k < REGB; k++)
		pv->src[off + k] = -1;
	for (uint32_t w = (uint32_t)off / 4; w < (off + len + 3) / 4 && w < VM_REG32_NUM; w++)
		pv->tag[w] = 0;
}

static void set_bounds(struct bounds *b, const struct prov *pv, int off, const struct pc_nft_set *s)
{
	uint32_t klen = s->key_len ? s->key_len : 4;
	uint8_t val[16], amask[16];
	bool any = false;

	if (klen > PC_NFT_DATA_MAX)
		return;
	for (uint32_t k = 0; k < klen && off + (int)k < REGB; k++)
		if (pv->src[off + k] >= 0)
			any = true;
	if (!any)
		return;
	for (size_t i = 0; i < s->n_elems; i++) {
		const struct pc_nft_set_elem *e = &s->elems[i];
		enum bkind k;

		if (e->flags & NFT_SET_ELEM_CATCHALL)
			continue;
		if (!(s->flags & NFT_SET_INTERVAL))
			k = B_BOTH;
		else
			k = B_START; /* interval starts, and end elements (already end + 1) */
		if (constraint(pv, off, e->key.v, e->key.len < klen ? e->key.len : klen, val,
			       amask))
			add_bound(b, val, amask, k);
		if (e->key_end.len &&
		    constraint(pv, off, e->key_end.v, e->key_end.len < klen ? e->key_end.len : klen,
			       val, amask))
			add_bound(b, val, amask, B_AFTER);
	}
}

static void xt_bounds(struct bounds *b, const struct pc_nft_expr *e)
{
	uint8_t ones[16];

	memset(ones, 0xff, sizeof(ones));
	if (strcmp(e->xt.name, "conntrack") == 0 && e->xt.rev >= 1 && e->xt.rev <= 3 &&
	    e->xt.info_len >= sizeof(struct xt_conntrack_mtinfo1)) {
		struct xt_conntrack_mtinfo1 i;
		uint8_t val[16];

		memcpy(&i, e->xt.info, sizeof(i));
		if (!(i.match_flags & XT_CONNTRACK_ORIGSRC))
			return;
		memcpy(val, &i.origsrc_addr, 16);
		add_bound(b, val, (const uint8_t *)&i.origsrc_mask, B_BOTH);
	} else if (strcmp(e->xt.name, "iprange") == 0 && e->xt.rev == 1 &&
		   e->xt.info_len >= sizeof(struct xt_iprange_mtinfo)) {
		struct xt_iprange_mtinfo i;

		memcpy(&i, e->xt.info, sizeof(i));
		if (!(i.flags & IPRANGE_SRC))
			return;
		add_bound(b, (const uint8_t *)&i.src_min, ones, B_START);
		add_bound(b, (const uint8_t *)&i.src_max, ones, B_AFTER);
	}
}

/* The register an expression writes, 0 for none. */
static uint32_t expr_dreg(const struct pc_nft_expr *e)
{
	switch (e->type) {
	case PC_NFT_EXPR_IMMEDIATE:
		return e->immediate.dreg;
	case PC_NFT_EXPR_PAYLOAD:
		return e->payload.dreg;
	case PC_NFT_EXPR_BITWISE:
		return e->bitwise.dreg;
	case PC_NFT_EXPR_BYTEORDER:
		return e->byteorder.dreg;
	case PC_NFT_EXPR_META:
		return e->meta.dreg;
	case PC_NFT_EXPR_CT:
		return e->ct.dreg;
	case PC_NFT_EXPR_LOOKUP:
		return e->lookup.dreg;
	case PC_NFT_EXPR_FIB:
		return e->fib.dreg;
	default:
		return 0;
	}
}

/* True when the rule only applies to the other family (meta nfproto / protocol guard). */
static bool rule_other_family(const struct pc_nft_rule *r, int family)
{
	uint8_t tag[VM_REG32_NUM] = {};

	for (size_t i = 0; i < r->n_exprs; i++) {
		const struct pc_nft_expr *e = &r->exprs[i];
		int off;

		uint32_t dreg = expr_dreg(e);

		if (dreg) {
			off = vm_reg_offset(dreg);
			if (off >= 0 && off / 4 < VM_REG32_NUM)
				tag[off / 4] = e->type != PC_NFT_EXPR_META	  ? 0
					       : e->meta.key == NFT_META_NFPROTO  ? 1
					       : e->meta.key == NFT_META_PROTOCOL ? 2
										  : 0;
		} else if (e->type == PC_NFT_EXPR_CMP && e->cmp.op == NFT_CMP_EQ) {
			off = vm_reg_offset(e->cmp.sreg);
			if (off < 0 || off / 4 >= VM_REG32_NUM)
				continue;
			if (tag[off / 4] == 1 && e->cmp.data.len >= 1) {
				uint8_t want = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

				if (e->cmp.data.v[0] != want)
					return true;
			} else if (tag[off / 4] == 2 && e->cmp.data.len >= 2) {
				uint16_t want = family == AF_INET ? 0x0800 : 0x86dd;

				if ((uint16_t)(e->cmp.data.v[0] << 8 | e->cmp.data.v[1]) != want)
					return true;
			}
		}
	}
	return false;
}

/* A payload load: the register bytes that now hold bytes of the source address. */
static void payload_prov(const struct bounds *b, struct prov *pv, const struct pc_nft_expr *e)
{
	unsigned saddr_off = b->family == AF_INET ? 12 : 8;
	int off;

	if (!e->payload.dreg)
		return;
	clobber(pv, e->payload.dreg, e->payload.len);
	off = vm_reg_offset(e->payload.dreg);
	if (off < 0 || e->payload.base != NFT_PAYLOAD_NETWORK_HEADER)
		return;
	for (uint32_t k = 0; k < e->payload.len && off + (int)k < REGB; k++) {
		uint32_t o = e->payload.offset + k;

		if (o >= saddr_off && o < saddr_off + b->alen) {
			pv->src[off + k] = (int8_t)(o - saddr_off);
			pv->mask[off + k] = 0xff;
		}
	}
}

/* A ct load: the original direction's source address. */
static void ct_prov(const struct bounds *b, struct prov *pv, const struct pc_nft_expr *e)
{
	int off;

	if (!e->ct.dreg)
		return;
	clobber(pv, e->ct.dreg, 16);
	off = vm_reg_offset(e->ct.dreg);
	if (off < 0 || !e->ct.has_dir || e->ct.dir != 0)
		return;
	if (e->ct.key == NFT_CT_SRC || (e->ct.key == NFT_CT_SRC_IP && b->family == AF_INET) ||
	    (e->ct.key == NFT_CT_SRC_IP6 && b->family == AF_INET6)) {
		for (unsigned k = 0; k < b->alen && off + (int)k < REGB; k++) {
			pv->src[off + k] = (int8_t)k;
			pv->mask[off + k] = 0xff;
		}
	}
}

/* A bitwise mask carries the bytes it keeps (and the bits of them); other operations
 * lose them. */
static void bitwise_prov(struct prov *pv, const struct pc_nft_expr *e)
{
	int so = vm_reg_offset(e->bitwise.sreg), d = vm_reg_offset(e->bitwise.dreg);
	uint32_t n = (e->bitwise.len + 3) / 4 * 4;
	int8_t src[REGB];
	uint8_t msk[REGB];

	if (so < 0 || d < 0 || so + (int)n > REGB || d + (int)n > REGB)
		return;
	memcpy(src, pv->src, sizeof(src));
	memcpy(msk, pv->mask, sizeof(msk));
	for (uint32_t k = 0; k < n; k++) {
		uint8_t m = k < e->bitwise.mask.len ? e->bitwise.mask.v[k] : 0;
		uint8_t x = k < e->bitwise.xor.len ? e->bitwise.xor.v[k] : 0;

		if (e->bitwise.op != NFT_BITWISE_MASK_XOR || x || !m) {
			pv->src[d + k] = -1;
			continue;
		}
		pv->src[d + k] = src[so + k];
		pv->mask[d + k] = msk[so + k] & m;
	}
}

/* A comparison with a constant: its block's start, the address after its end, or both. */
static void cmp_bounds(struct bounds *b, const struct prov *pv, const struct pc_nft_expr *e)
{
	uint8_t val[16], amask[16];
	int off;

	off = vm_reg_offset(e->cmp.sreg);
	if (off < 0 || !constraint(pv, off, e->cmp.data.v, e->cmp.data.len, val, amask))
		return;
	switch (e->cmp.op) {
	case NFT_CMP_LT:
	case NFT_CMP_GTE:
		add_bound(b, val, amask, B_START);
		break;
	case NFT_CMP_LTE:
	case NFT_CMP_GT:
		add_bound(b, val, amask, B_AFTER);
		break;
	default:
		add_bound(b, val, amask, B_BOTH);
		break;
	}
}

/* A range: its start and the address after its end. */
static void range_bounds(struct bounds *b, const struct prov *pv, const struct pc_nft_expr *e)
{
	uint8_t val[16], amask[16];
	int off;

	off = vm_reg_offset(e->range.sreg);
	if (off < 0)
		return;
	if (constraint(pv, off, e->range.from.v, e->range.from.len, val, amask))
		add_bound(b, val, amask, B_START);
	if (constraint(pv, off, e->range.to.v, e->range.to.len, val, amask))
		add_bound(b, val, amask, B_AFTER);
}

/* A set lookup: the bounds of its elements; a map's data clobbers its destination. */
static void lookup_bounds(struct bounds *b, struct prov *pv, const struct pc_nft_table *t,
			  const struct pc_nft_expr *e)
{
	const struct pc_nft_set *s = vm_set_find_by_name(t, e->lookup.set);
	int off;

	off = vm_reg_offset(e->lookup.sreg);
	if (s && off >= 0)
		set_bounds(b, pv, off, s);
	if (s && (s->flags & NFT_SET_MAP) && e->lookup.dreg)
		clobber(pv, e->lookup.dreg, s->data_len ? s->data_len : 4);
}

static void rule_bounds(struct bounds *b, const struct pc_nft_table *t, const struct pc_nft_rule *r)
{
	struct prov pv;

	if (rule_other_family(r, b->family))
		return;
	memset(pv.src, -1, sizeof(pv.src));
	memset(pv.mask, 0, sizeof(pv.mask));
	memset(pv.tag, 0, sizeof(pv.tag));

	for (size_t i = 0; i < r->n_exprs; i++) {
		const struct pc_nft_expr *e = &r->exprs[i];

		switch (e->type) {
		case PC_NFT_EXPR_PAYLOAD:
			payload_prov(b, &pv, e);
			break;
		case PC_NFT_EXPR_CT:
			ct_prov(b, &pv, e);
			break;
		case PC_NFT_EXPR_BITWISE:
			bitwise_prov(&pv, e);
			break;
		case PC_NFT_EXPR_CMP:
			cmp_bounds(b, &pv, e);
			break;
		case PC_NFT_EXPR_RANGE:
			range_bounds(b, &pv, e);
			break;
		case PC_NFT_EXPR_LOOKUP:
			lookup_bounds(b, &pv, t, e);
			break;
		case PC_NFT_EXPR_MATCH:
			xt_bounds(b, e);
			break;
		case PC_NFT_EXPR_IMMEDIATE:
			if (e->immediate.dreg)
				clobber(&pv, e->immediate.dreg, e->immediate.data.len);
			break;
		case PC_NFT_EXPR_META:
			if (e->meta.dreg)
				clobber(&pv, e->meta.dreg, 16);
			break;
		case PC_NFT_EXPR_BYTEORDER:
			clobber(&pv, e->byteorder.dreg, e->byteorder.len);
			break;
		case PC_NFT_EXPR_FIB:
			clobber(&pv, e->fib.dreg, 16);
			break;
		default:
			break;
		}
	}
}

static int cmp_addr(const void *a, const void *b)
{
	const struct pc_addr *x = a, *y = b;

	return memcmp(x->bytes, y->bytes, sizeof(x->bytes));
}

static bool table_for(const struct pc_nft_table *t, int family)
{
	switch (t->family) {
	case NFPROTO_IPV4:
		return family == AF_INET;
	case NFPROTO_IPV6:
		return family == AF_INET6;
	case NFPROTO_INET:
	case NFPROTO_NETDEV:
	case NFPROTO_BRIDGE:
		return true;
	default:
		return false;
	}
}

int pc_nft_source_boundaries(const struct pc_nft_ruleset *rs, int family,
			     struct pc_addr **ret_starts)
{
	struct bounds b = {.family = family, .alen = pc_addr_size(family)};
	uint8_t zero[16] = {};
	size_t n = 0;

	if (b.alen == 0)
		return -EINVAL;
	push(&b, zero);
	for (size_t i = 0; rs && i < rs->n_tables; i++) {
		const struct pc_nft_table *t = &rs->tables[i];

		if (!table_for(t, family))
			continue;
		for (size_t j = 0; j < t->n_chains; j++)
			for (size_t k = 0; k < t->chains[j].n_rules; k++)
				rule_bounds(&b, t, &t->chains[j].rules[k]);
	}
	if (b.oom) {
		free(b.v);
		return -ENOMEM;
	}
	qsort(b.v, b.n, sizeof(*b.v), cmp_addr);
	for (size_t i = 0; i < b.n; i++)
		if (n == 0 || cmp_addr(&b.v[n - 1], &b.v[i]) != 0)
			b.v[n++] = b.v[i];
	*ret_starts = b.v;
	return (int)n;
}
