/* SPDX-License-Identifier: MIT */
/*
 * The expression VM: one base chain evaluated the way nft_do_chain() does it. Registers are
 * one array of 32-bit words (struct nft_regs: the verdict's 16 bytes, then NFT_REG32_00..15,
 * with NFT_REG_1..4 aliasing groups of four), every rule starts with NFT_CONTINUE, an
 * expression that sets another verdict ends the rule, NFT_BREAK moves to the next rule,
 * jumps push the next rule on a stack of NFT_JUMP_STACK_SIZE, goto does not, return and the
 * end of a chain pop, and the base chain's policy applies when the stack is empty.
 *
 * Data expressions (immediate, cmp, range, payload, bitwise, byteorder) live here; the ones
 * that look at the packet's context in nftvm_expr.c, sets in nftvm_set.c, xtables in
 * nftvm_xt.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftvm_internal.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

void vm_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

void vm_unknown(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	if (vm->unknown)
		return;
	vm->unknown = true;
	va_start(ap, fmt);
	vsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
	va_end(ap);
}

int vm_choose(struct vm *vm, const char *what)
{
	struct vm_choices *ch = vm->ch;
	int v;

	if (!ch) {
		vm_unknown(vm, "%s: the outcome depends on runtime state", what);
		return -1;
	}
	if (!ch->have_first) {
		ch->have_first = true;
		vm_rule_ref(vm->table, vm->chain, vm->rule, &ch->first_rule);
		ch->first_hook = vm->hook;
		vm_strlcpy(ch->first_what, what, sizeof(ch->first_what));
		ch->first_trace_len = vm->tr ? vm->tr->n : 0;
	}
	if (ch->n_used >= VM_MAX_CHOICES) {
		ch->overflow = true;
		vm_unknown(vm,
			   "%s: the outcome depends on runtime state (too many such rules to "
			   "explore)",
			   what);
		return -1;
	}
	if (ch->n_used >= ch->n_fixed)
		ch->v[ch->n_used] = 0;
	v = ch->v[ch->n_used++];
	vm->rule_choice = true;
	snprintf(vm->rule_detail, sizeof(vm->rule_detail),
		 "%s: runtime state, every outcome explored", what);
	return v;
}

int vm_reg_offset(uint32_t reg)
{
	/* nft_parse_register(): the four 16-byte registers alias four words each. */
	if (reg <= NFT_REG_4)
		return (int)(reg * NFT_REG_SIZE);
	if (reg >= NFT_REG32_00 && reg <= NFT_REG32_15)
		return (int)(NFT_REG_SIZE + (reg - NFT_REG32_00) * NFT_REG32_SIZE);
	return -1;
}

uint8_t *vm_reg(struct vm *vm, uint32_t reg, uint32_t len)
{
	int off = vm_reg_offset(reg);

	/* nft_validate_register_load/store: data registers only, and inside the file. */
	if (off < NFT_REG_SIZE || len == 0 || (size_t)off + len > sizeof(vm->regs)) {
		vm_unknown(vm, "register %u with length %u is out of range", reg, len);
		return NULL;
	}
	return (uint8_t *)vm->regs + off;
}

uint8_t *vm_taint_of(struct vm *vm, const uint8_t *reg)
{
	return (uint8_t *)vm->taint + (reg - (const uint8_t *)vm->regs);
}

uint8_t *vm_reg_out(struct vm *vm, uint32_t reg, uint32_t len)
{
	uint8_t *d = vm_reg(vm, reg, len);
	size_t off, n;

	if (!d)
		return NULL;
	off = (size_t)(d - (uint8_t *)vm->regs);
	n = (len + 3) / 4 * 4;
	if (off + n > sizeof(vm->taint))
		n = sizeof(vm->taint) - off;
	memset((uint8_t *)vm->taint + off, 0, n);
	return d;
}

const uint8_t *vm_reg_in(struct vm *vm, uint32_t reg, uint32_t len)
{
	uint8_t *s = vm_reg(vm, reg, len);
	const uint8_t *t;

	if (!s)
		return NULL;
	t = vm_taint_of(vm, s);
	for (uint32_t i = 0; i < len; i++)
		if (t[i]) {
			vm_unknown(vm, "%s: varies between clients",
				   vm->taint_what ? vm->taint_what : "a header field");
			return NULL;
		}
	return s;
}

const char *vm_field_name(const struct vm_pkt *p, uint32_t off)
{
	if (off < p->thoff) {
		if (p->family == AF_INET) {
			static const char *const v4[20] = {
			    [1] = "ip dscp/ecn", [2] = "ip length",    [3] = "ip length",
			    [4] = "ip id",	 [5] = "ip id",	       [6] = "ip frag-off (DF)",
			    [8] = "ip ttl",	 [10] = "ip checksum", [11] = "ip checksum",
			};

			return off < 20 && v4[off] ? v4[off] : "the IP header";
		}
		if (off < 4)
			return "ip6 dscp/ecn/flowlabel";
		if (off < 6)
			return "ip6 length";
		if (off == 7)
			return "ip6 hoplimit";
		return "the IPv6 header";
	}
	off -= p->thoff;
	if (p->l4proto == IPPROTO_UDP)
		return off < 6 ? "udp length" : "udp checksum";
	if (off < 8)
		return "tcp sequence number";
	if (off < 12)
		return "tcp ack number";
	if (off == 12)
		return "tcp data offset (options)";
	if (off == 13)
		return "tcp flags (ECN)";
	if (off < 16)
		return "tcp window";
	return "tcp checksum";
}

void vm_store8(uint8_t *dst, uint8_t v)
{
	memset(dst, 0, 4);
	dst[0] = v;
}

void vm_store16(uint8_t *dst, uint16_t v)
{
	memset(dst, 0, 4);
	memcpy(dst, &v, 2);
}

void vm_store32(uint8_t *dst, uint32_t v)
{
	memcpy(dst, &v, 4);
}

void vm_data_copy(uint8_t *dst, const void *src, uint32_t len)
{
	if (len % NFT_REG32_SIZE)
		memset(dst + (len / NFT_REG32_SIZE) * NFT_REG32_SIZE, 0, NFT_REG32_SIZE);
	memcpy(dst, src, len);
}

void vm_rule_ref(const struct pc_nft_table *t, const struct pc_nft_chain *c,
		 const struct pc_nft_rule *r, struct pc_rule_ref *ret)
{
	*ret = (struct pc_rule_ref){
	    .family = t ? t->family : 0,
	    .table = t ? t->name : NULL,
	    .chain = c ? c->name : NULL,
	    .handle = r ? r->handle : 0,
	    .text = r ? r->text : NULL,
	    .policy = !r,
	};
}

void vm_trace_add(struct vm *vm, uint32_t hook, const struct pc_rule_ref *ref,
		  enum pc_trace_action action, const char *detail)
{
	struct vm_trace *tr = vm->tr;
	struct pc_trace_entry *e;

	if (!tr || tr->oom)
		return;
	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? tr->cap * 2 : 32;
		struct pc_trace_entry *v = realloc(tr->v, cap * sizeof(*v));

		if (!v) {
			tr->oom = true;
			return;
		}
		tr->v = v;
		tr->cap = cap;
	}
	e = &tr->v[tr->n++];
	*e = (struct pc_trace_entry){.hook = hook, .rule = *ref, .action = action};
	/* A chain name or a reason cut to fit may end inside a character: not in a reply. */
	if (detail) {
		vm_strlcpy(e->detail, detail, sizeof(e->detail));
		pc_utf8_trim(e->detail);
	}
}

const struct pc_nft_chain *vm_chain_find(const struct pc_nft_table *t, const char *name)
{
	for (size_t i = 0; t && name && i < t->n_chains; i++)
		if (t->chains[i].name && strcmp(t->chains[i].name, name) == 0)
			return &t->chains[i];
	return NULL;
}

/* --- data expressions ------------------------------------------------------------------- */

static void eval_immediate(struct vm *vm, const struct pc_nft_expr *e)
{
	uint8_t *dst;

	if (e->immediate.is_verdict || e->immediate.dreg == NFT_REG_VERDICT) {
		vm->vcode = e->immediate.verdict.code;
		vm->vchain = e->immediate.verdict.chain;
		return;
	}
	dst = vm_reg_out(vm, e->immediate.dreg, e->immediate.data.len);
	if (dst)
		vm_data_copy(dst, e->immediate.data.v, e->immediate.data.len);
}

/*
 * Compare register bytes @a, whose bits in @t vary between clients, with @b: -1, 0, 1 as
 * memcmp when every client gives that answer, 2 when the varying bits decide. With @eq
 * only equality matters: any fixed differing bit decides.
 */
static int cmp_tainted(const uint8_t *a, const uint8_t *t, const uint8_t *b, uint32_t len, bool eq)
{
	bool tainted = false;

	for (uint32_t i = 0; i < len; i++) {
		if (eq) {
			if ((a[i] ^ b[i]) & ~t[i])
				return 1;
			tainted |= t[i] != 0;
			continue;
		}
		for (int k = 7; k >= 0; k--) {
			uint8_t m = (uint8_t)(1u << k);

			if (t[i] & m)
				return 2;
			if ((a[i] ^ b[i]) & m)
				return (a[i] & m) ? 1 : -1;
		}
	}
	return tainted ? 2 : 0;
}

static void unknown_taint(struct vm *vm)
{
	vm_unknown(vm, "%s: varies between clients",
		   vm->taint_what ? vm->taint_what : "a header field");
}

/* nft_cmp_eval (the fast variants compare the same bytes). */
static void eval_cmp(struct vm *vm, const struct pc_nft_expr *e)
{
	const uint8_t *src = vm_reg(vm, e->cmp.sreg, e->cmp.data.len);
	bool eq = e->cmp.op == NFT_CMP_EQ || e->cmp.op == NFT_CMP_NEQ;
	int d;

	if (!src)
		return;
	d = cmp_tainted(src, vm_taint_of(vm, src), e->cmp.data.v, e->cmp.data.len, eq);
	if (d == 2) {
		unknown_taint(vm);
		return;
	}
	switch (e->cmp.op) {
	case NFT_CMP_EQ:
		if (d != 0)
			goto mismatch;
		break;
	case NFT_CMP_NEQ:
		if (d == 0)
			goto mismatch;
		break;
	case NFT_CMP_LT:
		if (d >= 0)
			goto mismatch;
		break;
	case NFT_CMP_LTE:
		if (d > 0)
			goto mismatch;
		break;
	case NFT_CMP_GT:
		if (d <= 0)
			goto mismatch;
		break;
	case NFT_CMP_GTE:
		if (d < 0)
			goto mismatch;
		break;
	default:
		vm_unknown(vm, "cmp with unknown operator %u", e->cmp.op);
	}
	return;
mismatch:
	vm->vcode = NFT_BREAK;
}

static void eval_range(struct vm *vm, const struct pc_nft_expr *e)
{
	const uint8_t *src = vm_reg(vm, e->range.sreg, e->range.from.len);
	const uint8_t *t;
	int d1, d2;

	if (!src)
		return;
	t = vm_taint_of(vm, src);
	d1 = cmp_tainted(src, t, e->range.from.v, e->range.from.len, false);
	d2 = cmp_tainted(src, t, e->range.to.v, e->range.from.len, false);
	switch (e->range.op) {
	case NFT_RANGE_EQ:
		/* out of range as soon as one side says so */
		if (d1 == -1 || d2 == 1)
			vm->vcode = NFT_BREAK;
		else if (d1 == 2 || d2 == 2)
			unknown_taint(vm);
		break;
	case NFT_RANGE_NEQ:
		if (d1 == -1 || d2 == 1)
			break;
		if (d1 == 2 || d2 == 2)
			unknown_taint(vm);
		else
			vm->vcode = NFT_BREAK;
		break;
	default:
		vm_unknown(vm, "range with unknown operator %u", e->range.op);
	}
}

/* Where @base starts in the packet, or -1 with the verdict or vm_unknown() set. */
static int payload_base(struct vm *vm, uint32_t base)
{
	switch (base) {
	case NFT_PAYLOAD_LL_HEADER:
		/* Received packets have their MAC header set; the addresses in it are not part
		 * of the model. */
		vm_unknown(vm, "payload from the link-layer header (MAC addresses are not "
			       "modelled)");
		return -1;
	case NFT_PAYLOAD_NETWORK_HEADER:
		return 0;
	case NFT_PAYLOAD_TRANSPORT_HEADER:
		/* NFT_PKTINFO_L4PROTO is set and fragoff is 0: TCP/UDP, not fragmented. */
		return (int)vm->pkt->thoff;
	case NFT_PAYLOAD_INNER_HEADER:
		vm_unknown(vm, "payload from the inner header (the connection's data)");
		return -1;
	default:
		vm_unknown(vm, "payload with unknown base %u", base);
		return -1;
	}
}

/*
 * Bytes at [off, off+len) of the packet. The synthetic packet ends with the transport
 * header; a real one may carry TCP options or data after it, so what lies beyond is not
 * known, except past the largest IP packet where skb_copy_bits() always fails.
 */
static bool payload_in_packet(struct vm *vm, uint64_t off, uint32_t len)
{
	if (off + len <= vm->pkt->len)
		return true;
	if (off + len > 65535) {
		vm->vcode = NFT_BREAK;
		return false;
	}
	vm_unknown(vm, "payload beyond the packet's headers (TCP options and data depend on "
		       "the client)");
	return false;
}

static void eval_payload(struct vm *vm, const struct pc_nft_expr *e)
{
	uint32_t len = e->payload.len;
	uint8_t *reg;
	int base;

	if (e->payload.dreg == 0) {
		/* nft_payload_set_eval: mangle the packet (checksums are not modelled). */
		const uint8_t *src = vm_reg_in(vm, e->payload.sreg, len);

		if (!src)
			return;
		base = payload_base(vm, e->payload.base);
		if (base < 0 || !payload_in_packet(vm, (uint64_t)base + e->payload.offset, len))
			return;
		memcpy(vm->pkt->buf + base + e->payload.offset, src, len);
		memset(vm->pkt->var + base + e->payload.offset, 0, len);
		return;
	}
	reg = vm_reg_out(vm, e->payload.dreg, len);
	if (!reg)
		return;
	/* nft_payload_eval zeroes the last word first, whether or not the copy works. */
	if (len % NFT_REG32_SIZE)
		memset(reg + (len / NFT_REG32_SIZE) * NFT_REG32_SIZE, 0, NFT_REG32_SIZE);
	base = payload_base(vm, e->payload.base);
	if (base < 0)
		return;
	if (!payload_in_packet(vm, (uint64_t)base + e->payload.offset, len))
		return;
	memcpy(reg, vm->pkt->buf + base + e->payload.offset, len);
	memcpy(vm_taint_of(vm, reg), vm->pkt->var + base + e->payload.offset, len);
	for (uint32_t i = 0; i < len; i++)
		if (vm->pkt->var[base + e->payload.offset + i]) {
			vm->taint_what = vm_field_name(vm->pkt, base + e->payload.offset + i);
			break;
		}
}

/* One bitwise operation over @words host-order words; run on the data and, with no xor,
 * on the taint (masks clear varying bits, shifts move them). */
static void bitwise_apply(uint32_t *dst, const uint32_t *src, uint32_t words, uint32_t op,
			  const uint8_t *mask, const uint8_t * xor, uint32_t shift)
{
	uint32_t carry = 0;

	switch (op) {
	case NFT_BITWISE_MASK_XOR:
		for (uint32_t i = 0; i < words; i++) {
			uint32_t m, x;

			memcpy(&m, mask + i * 4, 4);
			memcpy(&x, xor+i * 4, 4);
			dst[i] = (src[i] & m) ^ x;
		}
		break;
	case NFT_BITWISE_LSHIFT:
		/* High word first, reading src after writing dst as the kernel does when they
		 * are the same register. */
		for (uint32_t i = words; i > 0; i--) {
			dst[i - 1] = (src[i - 1] << shift) | carry;
			carry = shift ? src[i - 1] >> (32 - shift) : 0;
		}
		break;
	case NFT_BITWISE_RSHIFT:
		for (uint32_t i = 0; i < words; i++) {
			dst[i] = carry | (src[i] >> shift);
			carry = shift ? src[i] << (32 - shift) : 0;
		}
		break;
	}
}

static void eval_bitwise(struct vm *vm, const struct pc_nft_expr *e)
{
	uint32_t len = e->bitwise.len, words = (len + 3) / 4, shift = 0;
	uint8_t *s8 = vm_reg(vm, e->bitwise.sreg, len);
	uint8_t *d8 = vm_reg(vm, e->bitwise.dreg, len);
	/* Mask and xor are zero past len (the expression is zeroed): the tail of the last
	 * word becomes 0. */
	uint8_t mask[PC_NFT_DATA_MAX + 4] = {}, xor[PC_NFT_DATA_MAX + 4] = {
						};
	uint8_t noxor[PC_NFT_DATA_MAX + 4] = {};
	size_t so, d;

	if (!s8 || !d8)
		return;
	so = (size_t)(s8 - (uint8_t *)vm->regs) / 4;
	d = (size_t)(d8 - (uint8_t *)vm->regs) / 4;
	if (so + words > VM_REG32_NUM || d + words > VM_REG32_NUM) {
		vm_unknown(vm, "bitwise beyond the registers");
		return;
	}
	switch (e->bitwise.op) {
	case NFT_BITWISE_MASK_XOR:
		memcpy(mask, e->bitwise.mask.v, min_u32(e->bitwise.mask.len, PC_NFT_DATA_MAX));
		memcpy(xor, e->bitwise.xor.v, min_u32(e->bitwise.xor.len, PC_NFT_DATA_MAX));
		break;
	case NFT_BITWISE_LSHIFT:
	case NFT_BITWISE_RSHIFT:
		/* The amount is a host-order u32. */
		if (e->bitwise.data.len < 4) {
			vm_unknown(vm, "bitwise shift without an amount");
			return;
		}
		memcpy(&shift, e->bitwise.data.v, 4);
		if (shift >= 32) {
			vm_unknown(vm, "bitwise shift by %u", shift);
			return;
		}
		break;
	default:
		/* AND/OR/XOR of two registers (6.13+) need a second source the snapshot does
		 * not carry. */
		vm_unknown(vm, "bitwise operation %u", e->bitwise.op);
		return;
	}
	bitwise_apply(vm->regs + d, vm->regs + so, words, e->bitwise.op, mask, xor, shift);
	bitwise_apply(vm->taint + d, vm->taint + so, words, e->bitwise.op, mask, noxor, shift);
}

static uint64_t swab64(uint64_t v)
{
	return __builtin_bswap64(v);
}

/* The conversion of nft_byteorder_eval on one byte array (data, then taint: byte swaps
 * move the varying bits with their bytes). */
static void byteorder_apply(uint8_t *d8, const uint8_t *s8, uint32_t op, uint32_t len,
			    uint32_t size)
{
	bool host_is_be = htonl(1) == 1;

	switch (size) {
	case 8:
		for (uint32_t i = 0; i < len / 8; i++) {
			uint64_t v;

			/* Loads advance by one u32 per element, stores by one u64. */
			memcpy(&v, s8 + i * 4, 8);
			if (!host_is_be)
				v = swab64(v);
			memcpy(d8 + i * 8, &v, 8);
		}
		break;
	case 4:
		for (uint32_t i = 0; i < len / 4; i++) {
			uint32_t v;

			memcpy(&v, s8 + i * 4, 4);
			v = op == NFT_BYTEORDER_NTOH ? ntohl(v) : htonl(v);
			memcpy(d8 + i * 4, &v, 4);
		}
		break;
	case 2:
		for (uint32_t i = 0; i < len / 2; i++) {
			uint16_t v;

			memcpy(&v, s8 + i * 2, 2);
			v = op == NFT_BYTEORDER_NTOH ? ntohs(v) : htons(v);
			memcpy(d8 + i * 2, &v, 2);
		}
		break;
	}
}

/* nft_byteorder_eval, including the multi-element loop of kernels before 6.9 (a newer
 * kernel refuses len != size, so such expressions only come from older ones). */
static void eval_byteorder(struct vm *vm, const struct pc_nft_expr *e)
{
	uint32_t len = e->byteorder.len, size = e->byteorder.size;
	uint8_t *s8 = vm_reg(vm, e->byteorder.sreg, len);
	uint8_t *d8 = vm_reg(vm, e->byteorder.dreg, len);

	if (!s8 || !d8)
		return;
	if (e->byteorder.op != NFT_BYTEORDER_NTOH && e->byteorder.op != NFT_BYTEORDER_HTON) {
		vm_unknown(vm, "byteorder with unknown operator %u", e->byteorder.op);
		return;
	}
	if (size != 2 && size != 4 && size != 8) {
		vm_unknown(vm, "byteorder with size %u", size);
		return;
	}
	if (size == 8 && len > 8 &&
	    (size_t)(s8 - (uint8_t *)vm->regs) + (len / 8 - 1) * 4 + 8 > sizeof(vm->regs)) {
		vm_unknown(vm, "byteorder beyond the registers");
		return;
	}
	byteorder_apply(d8, s8, e->byteorder.op, len, size);
	byteorder_apply(vm_taint_of(vm, d8), vm_taint_of(vm, s8), e->byteorder.op, len, size);
}

static void eval_objref(struct vm *vm, const struct pc_nft_expr *e)
{
	const char *name = e->objref.name ? e->objref.name : "(map)";

	switch (e->objref.type) {
	case NFT_OBJECT_COUNTER:
		return;
	case NFT_OBJECT_CT_HELPER:
		/* nft_ct_helper_obj_eval attaches the helper (setting IPS_HELPER) to an
		 * unconfirmed entry whose protocol matches the helper's, which the snapshot
		 * does not carry: later reads of ct status or helper are not exact. Related
		 * connections are what it is for, not this one's verdict. */
		if (vm->pkt->ct == VM_CT_NEW)
			vm->pkt->ct_helper_unknown = true;
		return;
	case NFT_OBJECT_CT_TIMEOUT:
	case NFT_OBJECT_CT_EXPECT:
	case NFT_OBJECT_SECMARK:
		return;
	case NFT_OBJECT_QUOTA:
		if (vm_choose(vm, "quota") == 1)
			vm->vcode = NFT_BREAK;
		return;
	case NFT_OBJECT_LIMIT:
		if (vm_choose(vm, "limit") == 1)
			vm->vcode = NFT_BREAK;
		return;
	case NFT_OBJECT_CONNLIMIT:
		if (vm_choose(vm, "ct count") == 1)
			vm->vcode = NFT_BREAK;
		return;
	default:
		vm_unknown(vm, "objref %s of type %u", name, e->objref.type);
	}
}

static void eval_expr(struct vm *vm, const struct pc_nft_expr *e)
{
	switch (e->type) {
	case PC_NFT_EXPR_IMMEDIATE:
		eval_immediate(vm, e);
		break;
	case PC_NFT_EXPR_CMP:
		eval_cmp(vm, e);
		break;
	case PC_NFT_EXPR_RANGE:
		eval_range(vm, e);
		break;
	case PC_NFT_EXPR_PAYLOAD:
		eval_payload(vm, e);
		break;
	case PC_NFT_EXPR_BITWISE:
		eval_bitwise(vm, e);
		break;
	case PC_NFT_EXPR_BYTEORDER:
		eval_byteorder(vm, e);
		break;
	case PC_NFT_EXPR_META:
		vm_eval_meta(vm, e);
		break;
	case PC_NFT_EXPR_LOOKUP:
		vm_eval_lookup(vm, e);
		break;
	case PC_NFT_EXPR_CT:
		vm_eval_ct(vm, e);
		break;
	case PC_NFT_EXPR_REJECT:
		vm_eval_reject(vm, e);
		break;
	case PC_NFT_EXPR_NAT:
		vm_eval_nat(vm, e);
		break;
	case PC_NFT_EXPR_REDIR:
		vm_eval_redir(vm, e);
		break;
	case PC_NFT_EXPR_MASQ:
		vm_eval_masq(vm, e);
		break;
	case PC_NFT_EXPR_FIB:
		vm_eval_fib(vm, e);
		break;
	case PC_NFT_EXPR_COUNTER:
	case PC_NFT_EXPR_LOG:
		break;
	case PC_NFT_EXPR_NOTRACK:
		vm_eval_notrack(vm);
		break;
	case PC_NFT_EXPR_QUEUE:
		/* A userspace program decides (and NF_QUEUE's bypass depends on whether one
		 * listens). */
		vm_unknown(vm, "queue %u: a userspace program decides", e->queue.num);
		break;
	case PC_NFT_EXPR_MATCH:
		vm_eval_xt_match(vm, e);
		break;
	case PC_NFT_EXPR_TARGET:
		vm_eval_xt_target(vm, e);
		break;
	case PC_NFT_EXPR_LIMIT:
		/* Under or over the rate: the token bucket's state decides. */
		if (vm_choose(vm, "limit") == 1)
			vm->vcode = NFT_BREAK;
		break;
	case PC_NFT_EXPR_QUOTA:
		if (vm_choose(vm, "quota") == 1)
			vm->vcode = NFT_BREAK;
		break;
	case PC_NFT_EXPR_CONNLIMIT:
		if (vm_choose(vm, "ct count") == 1)
			vm->vcode = NFT_BREAK;
		break;
	case PC_NFT_EXPR_NUMGEN:
		vm_unknown(vm, "numgen: a counter or random number");
		break;
	case PC_NFT_EXPR_DYNSET:
		vm_eval_dynset(vm, e);
		break;
	case PC_NFT_EXPR_OBJREF:
		eval_objref(vm, e);
		break;
	case PC_NFT_EXPR_UNKNOWN:
	default:
		vm_unknown(vm, "%s: expression not modelled", e->name[0] ? e->name : "unknown");
		break;
	}
}

/* --- the chain walk --------------------------------------------------------------------- */

static const char *verdict_name(int32_t code)
{
	switch (code) {
	case NF_ACCEPT:
		return "accept";
	case NF_DROP:
		return "drop";
	case NF_QUEUE:
		return "queue";
	case NF_STOLEN:
		return "stolen";
	default:
		return "?";
	}
}

/* The trace entry for a rule that ended with vcode. */
static void trace_rule(struct vm *vm, const struct pc_nft_chain *chain,
		       const struct pc_nft_rule *rule, int32_t vcode)
{
	struct pc_rule_ref ref;
	enum pc_trace_action a;
	char detail[96] = "";

	if (!vm->tr)
		return;
	vm_rule_ref(vm->table, chain, rule, &ref);
	if (vm->unknown) {
		a = PC_TRACE_UNKNOWN;
		vm_strlcpy(detail, vm->reason, sizeof(detail));
	} else {
		switch (vcode) {
		case NFT_BREAK:
			a = PC_TRACE_NOMATCH;
			break;
		case NFT_CONTINUE:
			a = PC_TRACE_CONTINUE;
			break;
		case NFT_JUMP:
			a = PC_TRACE_JUMP;
			snprintf(detail, sizeof(detail), "jump %s", vm->vchain ? vm->vchain : "?");
			break;
		case NFT_GOTO:
			a = PC_TRACE_GOTO;
			snprintf(detail, sizeof(detail), "goto %s", vm->vchain ? vm->vchain : "?");
			break;
		case NFT_RETURN:
			a = PC_TRACE_RETURN;
			break;
		default:
			switch (vcode & NF_VERDICT_MASK) {
			case NF_ACCEPT:
				a = vm->rule_nat ? PC_TRACE_NAT : PC_TRACE_ACCEPT;
				break;
			case NF_DROP:
				a = vm->rule_rejected ? PC_TRACE_REJECT : PC_TRACE_DROP;
				break;
			default:
				a = PC_TRACE_UNKNOWN;
				snprintf(detail, sizeof(detail), "%s", verdict_name(vcode));
				break;
			}
		}
		if (vm->rule_detail[0])
			vm_strlcpy(detail, vm->rule_detail, sizeof(detail));
	}
	vm_trace_add(vm, vm->hook, &ref, a, detail);
}

int vm_run_chain(struct vm *vm, const struct pc_nft_table *t, const struct pc_nft_chain *base)
{
	struct {
		const struct pc_nft_chain *chain;
		size_t rule;
	} stack[VM_JUMP_STACK_SIZE];
	const struct pc_nft_chain *chain = base;
	unsigned sp = 0;
	size_t ri = 0;

	vm->table = t;
	memset(vm->regs, 0, sizeof(vm->regs));
	memset(vm->taint, 0, sizeof(vm->taint));

do_chain:
	vm->chain = chain;
	vm->vcode = NFT_CONTINUE;
	for (; ri < chain->n_rules; ri++) {
		const struct pc_nft_rule *rule = &chain->rules[ri];

		if (++vm->steps > VM_MAX_STEPS) {
			vm_unknown(vm, "evaluation limit reached (a loop in the ruleset?)");
			return VM_UNKNOWN;
		}
		vm->rule = rule;
		vm->vcode = NFT_CONTINUE;
		vm->vchain = NULL;
		vm->rule_rejected = vm->rule_nat = vm->rule_choice = false;
		vm->rule_detail[0] = 0;
		for (size_t i = 0; i < rule->n_exprs; i++) {
			eval_expr(vm, &rule->exprs[i]);
			if (vm->unknown) {
				trace_rule(vm, chain, rule, vm->vcode);
				return VM_UNKNOWN;
			}
			if (vm->vcode != NFT_CONTINUE)
				break;
		}
		trace_rule(vm, chain, rule, vm->vcode);
		if (vm->vcode == NFT_BREAK) {
			vm->vcode = NFT_CONTINUE;
			continue;
		}
		if (vm->vcode == NFT_CONTINUE)
			continue;
		break;
	}

	if (vm->vcode >= 0) {
		switch (vm->vcode & NF_VERDICT_MASK) {
		case NF_ACCEPT:
		case NF_DROP:
		case NF_QUEUE:
		case NF_STOLEN:
			return vm->vcode;
		default:
			vm_unknown(vm, "verdict %d", vm->vcode);
			return VM_UNKNOWN;
		}
	}

	switch (vm->vcode) {
	case NFT_JUMP:
	case NFT_GOTO: {
		const struct pc_nft_chain *to = vm_chain_find(t, vm->vchain);

		if (!to) {
			vm_unknown(vm, "%s to chain %s, not in the snapshot",
				   vm->vcode == NFT_JUMP ? "jump" : "goto",
				   vm->vchain ? vm->vchain : "(none)");
			return VM_UNKNOWN;
		}
		if (vm->vcode == NFT_JUMP) {
			/* The kernel refuses rulesets deeper than the stack (-EMLINK), so this
			 * only happens with an inconsistent snapshot. */
			if (sp >= VM_JUMP_STACK_SIZE) {
				vm_unknown(vm, "jump stack overflow");
				return VM_UNKNOWN;
			}
			stack[sp].chain = chain;
			stack[sp].rule = ri + 1;
			sp++;
		}
		chain = to;
		ri = 0;
		goto do_chain;
	}
	case NFT_CONTINUE:
	case NFT_RETURN:
		break;
	default:
		vm_unknown(vm, "verdict %d", vm->vcode);
		return VM_UNKNOWN;
	}

	if (sp > 0) {
		sp--;
		chain = stack[sp].chain;
		ri = stack[sp].rule;
		goto do_chain;
	}

	if (vm->tr) {
		struct pc_rule_ref ref;
		char detail[32];

		vm_rule_ref(t, base, NULL, &ref);
		snprintf(detail, sizeof(detail), "policy %s", verdict_name((int32_t)base->policy));
		vm_trace_add(vm, vm->hook, &ref, PC_TRACE_POLICY, detail);
	}
	vm->rule = NULL;
	vm->chain = base;
	return (int)base->policy;
}
