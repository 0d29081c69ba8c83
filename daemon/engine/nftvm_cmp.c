/* SPDX-License-Identifier: MIT */
/*
 * Data expressions that load constants or compare registers with them: immediate
 * (nft_immediate_eval), cmp (nft_cmp_eval) and range (nft_range_eval). A comparison that
 * depends on bits varying between clients is not exact.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <string.h>

#include "nftvm_internal.h"

void vm_eval_immediate(struct vm *vm, const struct pc_nft_expr *e)
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
void vm_eval_cmp(struct vm *vm, const struct pc_nft_expr *e)
{
	const uint8_t *src = vm_reg(vm, e->cmp.sreg, e->cmp.data.len);
	bool eq = e->cmp.op == NFT_CMP_EQ || e->cmp.op == NFT_CMP_NEQ;
	int d;

	if (!src)
		return;
	if (vm_sym_in(vm, src, e->cmp.data.len) > 0) {
		vm_sym_cmp(vm, e, src);
		return;
	}
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

void vm_eval_range(struct vm *vm, const struct pc_nft_expr *e)
{
	const uint8_t *src = vm_reg(vm, e->range.sreg, e->range.from.len);
	const uint8_t *t;
	int d1, d2;

	if (!src)
		return;
	if (vm_sym_in(vm, src, e->range.from.len) > 0) {
		vm_sym_range(vm, e, src);
		return;
	}
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
