/* SPDX-License-Identifier: MIT */
/*
 * Register arithmetic: bitwise (nft_bitwise_eval) and byteorder (nft_byteorder_eval), run
 * on the data and on its taint alike.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <string.h>

#include "nftvm_internal.h"

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* A mask keeps the symbolic source bytes where it keeps bits (the taint says which bits);
 * an xor or a shift makes them something else, still varying. */
static void bitwise_sym(struct vm *vm, size_t so, size_t d, size_t n, uint32_t op,
			const uint8_t * xor)
{
	int8_t old[sizeof(vm->rsym)];

	memcpy(old, vm->rsym, sizeof(old));
	for (size_t k = 0; k < n && d + k < sizeof(vm->rsym); k++)
		vm->rsym[d + k] =
		    op == NFT_BITWISE_MASK_XOR && xor[k] == 0 ? old[so + k] : VM_SYM_NONE;
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

void vm_eval_bitwise(struct vm *vm, const struct pc_nft_expr *e)
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
		if (e->bitwise.shift == PC_NFT_NO_SHIFT) {
			vm_unknown(vm, "bitwise shift without an amount");
			return;
		}
		shift = e->bitwise.shift;
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
	bitwise_sym(vm, so * 4, d * 4, words * 4, e->bitwise.op, xor);
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
void vm_eval_byteorder(struct vm *vm, const struct pc_nft_expr *e)
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
	/* Byte-swapped source bytes are no longer the source's in order. */
	for (size_t k = (size_t)(d8 - (uint8_t *)vm->regs);
	     k < sizeof(vm->rsym) && k < (size_t)(d8 - (uint8_t *)vm->regs) + (len + 3) / 4 * 4;
	     k++)
		vm->rsym[k] = VM_SYM_NONE;
}
