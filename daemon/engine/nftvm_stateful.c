/* SPDX-License-Identifier: MIT */
/*
 * Stateful expressions and objects: limit, quota and connlimit depend on runtime state (a
 * binary choice, see vm_choose()), objref to named objects of those and of the kinds that
 * do not decide the verdict.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <string.h>

#include "nftvm_internal.h"

void vm_eval_objref(struct vm *vm, const struct pc_nft_expr *e)
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

/* Under or over the rate: the token bucket's state decides. */
void vm_eval_limit(struct vm *vm, const struct pc_nft_expr *e)
{
	(void)e;
	if (vm_choose(vm, "limit") == 1)
		vm->vcode = NFT_BREAK;
}

void vm_eval_quota(struct vm *vm, const struct pc_nft_expr *e)
{
	(void)e;
	if (vm_choose(vm, "quota") == 1)
		vm->vcode = NFT_BREAK;
}

void vm_eval_connlimit(struct vm *vm, const struct pc_nft_expr *e)
{
	(void)e;
	if (vm_choose(vm, "ct count") == 1)
		vm->vcode = NFT_BREAK;
}
