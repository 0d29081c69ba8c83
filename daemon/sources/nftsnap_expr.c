/* SPDX-License-Identifier: MIT */
/*
 * One nf_tables expression, as libnftnl parsed it from the kernel's dump, into the model.
 * Every value is taken as the kernel holds it: registers as on the wire, NFT_* constants,
 * data bytes in the order the kernel compares them.
 */
#include <errno.h>
#include <stdio.h> /* before libnftnl's headers, which use FILE */
#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>

#include "nftsnap.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

static const struct {
	const char *name;
	enum pc_nft_expr_type type;
} expr_names[] = {
    {"immediate", PC_NFT_EXPR_IMMEDIATE},
    {"cmp", PC_NFT_EXPR_CMP},
    {"range", PC_NFT_EXPR_RANGE},
    {"payload", PC_NFT_EXPR_PAYLOAD},
    {"bitwise", PC_NFT_EXPR_BITWISE},
    {"byteorder", PC_NFT_EXPR_BYTEORDER},
    {"meta", PC_NFT_EXPR_META},
    {"lookup", PC_NFT_EXPR_LOOKUP},
    {"ct", PC_NFT_EXPR_CT},
    {"reject", PC_NFT_EXPR_REJECT},
    {"nat", PC_NFT_EXPR_NAT},
    {"redir", PC_NFT_EXPR_REDIR},
    {"masq", PC_NFT_EXPR_MASQ},
    {"fib", PC_NFT_EXPR_FIB},
    {"counter", PC_NFT_EXPR_COUNTER},
    {"log", PC_NFT_EXPR_LOG},
    {"notrack", PC_NFT_EXPR_NOTRACK},
    {"queue", PC_NFT_EXPR_QUEUE},
    {"match", PC_NFT_EXPR_MATCH},
    {"target", PC_NFT_EXPR_TARGET},
    {"limit", PC_NFT_EXPR_LIMIT},
    {"quota", PC_NFT_EXPR_QUOTA},
    {"connlimit", PC_NFT_EXPR_CONNLIMIT},
    {"numgen", PC_NFT_EXPR_NUMGEN},
    {"hash", PC_NFT_EXPR_HASH},
    {"dynset", PC_NFT_EXPR_DYNSET},
    {"objref", PC_NFT_EXPR_OBJREF},
};

enum pc_nft_expr_type pc_nftsnap_expr_type(const char *name)
{
	for (size_t i = 0; name && i < ELEMENTSOF(expr_names); i++)
		if (strcmp(expr_names[i].name, name) == 0)
			return expr_names[i].type;
	return PC_NFT_EXPR_UNKNOWN;
}

/* A data attribute into the model; absent gives length 0. */
static int get_data(const struct nftnl_expr *e, uint16_t attr, struct pc_nft_arena **arena,
		    struct pc_nft_data *ret)
{
	uint32_t len = 0;
	const void *p;

	*ret = (struct pc_nft_data){};
	if (!nftnl_expr_is_set(e, attr))
		return 0;
	p = nftnl_expr_get(e, attr, &len);
	if (!p)
		return 0;
	if (len > PC_NFT_DATA_MAX)
		return -EBADMSG;
	return pc_nft_arena_put(arena, p, len, ret);
}

/* A string attribute, copied; NULL when absent. Returns 0 or -ENOMEM. */
static int get_str(const struct nftnl_expr *e, uint16_t attr, char **ret)
{
	const char *s;

	*ret = NULL;
	if (!nftnl_expr_is_set(e, attr))
		return 0;
	s = nftnl_expr_get_str(e, attr);
	/* Chain, set and object names: the snapshot's names are sanitised, and so are the
	 * references to them. */
	return pc_nftsnap_strdup(s, ret);
}

static int convert_immediate(const struct nftnl_expr *e, struct pc_nft_arena **arena,
			     struct pc_nft_expr *x)
{
	x->immediate.dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG);
	x->immediate.is_verdict = x->immediate.dreg == NFT_REG_VERDICT;
	if (!x->immediate.is_verdict)
		return get_data(e, NFTNL_EXPR_IMM_DATA, arena, &x->immediate.data);
	/*
	 * The kernel dumps a jump's target by name (NFTA_VERDICT_CHAIN), binding chains
	 * included: NFTA_VERDICT_CHAIN_ID only exists in requests, inside one transaction.
	 */
	x->immediate.verdict.code = (int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
	return get_str(e, NFTNL_EXPR_IMM_CHAIN, &x->immediate.verdict.chain);
}

static int convert_bitwise(const struct nftnl_expr *e, struct pc_nft_arena **arena,
			   struct pc_nft_expr *x)
{
	int r;

	x->bitwise.sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_SREG);
	x->bitwise.dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_DREG);
	x->bitwise.len = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_LEN);
	/* Kernels before 5.6 send no op: theirs is always mask-and-xor (0). */
	x->bitwise.op = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_OP);
	r = get_data(e, NFTNL_EXPR_BITWISE_MASK, arena, &x->bitwise.mask);
	if (r >= 0)
		r = get_data(e, NFTNL_EXPR_BITWISE_XOR, arena, &x->bitwise.xor);
	x->bitwise.shift = PC_NFT_NO_SHIFT;
	if (r >= 0 && nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_DATA)) {
		uint32_t len = 0;
		const void *p = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_DATA, &len);

		if (len > PC_NFT_DATA_MAX)
			return -EBADMSG;
		if (p && len >= 4)
			memcpy(&x->bitwise.shift, p, 4);
	}
	return r;
}

static int convert_xt(const struct nftnl_expr *e, bool target, struct pc_nft_expr *x)
{
	const char *name = nftnl_expr_get_str(e, target ? NFTNL_EXPR_TG_NAME : NFTNL_EXPR_MT_NAME);
	uint32_t len = 0;
	const void *info;

	if (name)
		pc_strsan_buf(x->xt.name, sizeof(x->xt.name), name, strlen(name), PC_STRSAN_RAW);
	x->xt.rev = nftnl_expr_get_u32(e, target ? NFTNL_EXPR_TG_REV : NFTNL_EXPR_MT_REV);
	info = nftnl_expr_get(e, target ? NFTNL_EXPR_TG_INFO : NFTNL_EXPR_MT_INFO, &len);
	if (!info || len == 0)
		return 0;
	x->xt.info = malloc(len);
	if (!x->xt.info)
		return -ENOMEM;
	memcpy(x->xt.info, info, len);
	x->xt.info_len = len;
	return 0;
}

/* The expressions that load, compare or look up. 0 for the others, left to convert_action(). */
static int convert_inspect(const struct nftnl_expr *e, struct pc_nft_arena **arena,
			   struct pc_nft_expr *x)
{
	int r = 0;

	switch (x->type) {
	case PC_NFT_EXPR_IMMEDIATE:
		r = convert_immediate(e, arena, x);
		break;
	case PC_NFT_EXPR_CMP:
		x->cmp.sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG);
		x->cmp.op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);
		r = get_data(e, NFTNL_EXPR_CMP_DATA, arena, &x->cmp.data);
		break;
	case PC_NFT_EXPR_RANGE:
		x->range.sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_RANGE_SREG);
		x->range.op = nftnl_expr_get_u32(e, NFTNL_EXPR_RANGE_OP);
		r = get_data(e, NFTNL_EXPR_RANGE_FROM_DATA, arena, &x->range.from);
		if (r >= 0)
			r = get_data(e, NFTNL_EXPR_RANGE_TO_DATA, arena, &x->range.to);
		break;
	case PC_NFT_EXPR_PAYLOAD:
		x->payload.dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG);
		x->payload.sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_SREG);
		x->payload.base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
		x->payload.offset = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
		x->payload.len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);
		break;
	case PC_NFT_EXPR_BITWISE:
		r = convert_bitwise(e, arena, x);
		break;
	case PC_NFT_EXPR_BYTEORDER:
		x->byteorder.sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_SREG);
		x->byteorder.dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_DREG);
		x->byteorder.op = nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_OP);
		x->byteorder.len = nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_LEN);
		x->byteorder.size = nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_SIZE);
		break;
	case PC_NFT_EXPR_META:
		x->meta.key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
		x->meta.dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG);
		x->meta.sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_META_SREG);
		break;
	case PC_NFT_EXPR_LOOKUP:
		x->lookup.sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG);
		x->lookup.dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG);
		x->lookup.flags = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS);
		r = get_str(e, NFTNL_EXPR_LOOKUP_SET, &x->lookup.set);
		break;
	case PC_NFT_EXPR_CT:
		x->ct.key = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY);
		x->ct.dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_DREG);
		x->ct.sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_SREG);
		x->ct.has_dir = nftnl_expr_is_set(e, NFTNL_EXPR_CT_DIR);
		x->ct.dir = nftnl_expr_get_u8(e, NFTNL_EXPR_CT_DIR);
		break;
	case PC_NFT_EXPR_FIB:
		x->fib.flags = nftnl_expr_get_u32(e, NFTNL_EXPR_FIB_FLAGS);
		x->fib.result = nftnl_expr_get_u32(e, NFTNL_EXPR_FIB_RESULT);
		x->fib.dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_FIB_DREG);
		break;
	case PC_NFT_EXPR_MATCH:
		r = convert_xt(e, false, x);
		break;
	case PC_NFT_EXPR_NUMGEN:
		x->numgen.dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_NG_DREG);
		x->numgen.modulus = nftnl_expr_get_u32(e, NFTNL_EXPR_NG_MODULUS);
		x->numgen.type = nftnl_expr_get_u32(e, NFTNL_EXPR_NG_TYPE);
		x->numgen.offset = nftnl_expr_get_u32(e, NFTNL_EXPR_NG_OFFSET);
		break;
	case PC_NFT_EXPR_HASH:
		x->hash.sreg = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_SREG);
		x->hash.dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_DREG);
		x->hash.len = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_LEN);
		x->hash.modulus = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_MODULUS);
		x->hash.offset = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_OFFSET);
		x->hash.type = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_TYPE);
		break;
	default:
		break;
	}
	return r;
}

/* The expressions that act on the packet or the ruleset. 0 for the others. */
static int convert_action(const struct nftnl_expr *e, struct pc_nft_expr *x)
{
	int r = 0;

	switch (x->type) {
	case PC_NFT_EXPR_REJECT:
		x->reject.type = nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE);
		x->reject.code = nftnl_expr_get_u8(e, NFTNL_EXPR_REJECT_CODE);
		break;
	case PC_NFT_EXPR_NAT:
		x->nat.type = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_TYPE);
		x->nat.family = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FAMILY);
		x->nat.reg_addr_min = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN);
		x->nat.reg_addr_max = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX);
		x->nat.reg_proto_min = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN);
		x->nat.reg_proto_max = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX);
		x->nat.flags = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FLAGS);
		break;
	case PC_NFT_EXPR_REDIR:
		x->redir.reg_proto_min = nftnl_expr_get_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN);
		x->redir.reg_proto_max = nftnl_expr_get_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MAX);
		x->redir.flags = nftnl_expr_get_u32(e, NFTNL_EXPR_REDIR_FLAGS);
		break;
	case PC_NFT_EXPR_MASQ:
		x->masq.reg_proto_min = nftnl_expr_get_u32(e, NFTNL_EXPR_MASQ_REG_PROTO_MIN);
		x->masq.reg_proto_max = nftnl_expr_get_u32(e, NFTNL_EXPR_MASQ_REG_PROTO_MAX);
		x->masq.flags = nftnl_expr_get_u32(e, NFTNL_EXPR_MASQ_FLAGS);
		break;
	case PC_NFT_EXPR_QUEUE:
		/* 16-bit on the wire (NFTA_QUEUE_NUM, NFTA_QUEUE_FLAGS). */
		x->queue.num = nftnl_expr_get_u16(e, NFTNL_EXPR_QUEUE_NUM);
		x->queue.flags = nftnl_expr_get_u16(e, NFTNL_EXPR_QUEUE_FLAGS);
		break;
	case PC_NFT_EXPR_TARGET:
		r = convert_xt(e, true, x);
		break;
	case PC_NFT_EXPR_DYNSET:
		x->dynset.op = nftnl_expr_get_u32(e, NFTNL_EXPR_DYNSET_OP);
		x->dynset.sreg_key = nftnl_expr_get_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY);
		x->dynset.sreg_data = nftnl_expr_get_u32(e, NFTNL_EXPR_DYNSET_SREG_DATA);
		r = get_str(e, NFTNL_EXPR_DYNSET_SET_NAME, &x->dynset.set);
		break;
	case PC_NFT_EXPR_OBJREF:
		/* An object map (objref with a set) has no fixed name: name stays NULL. */
		x->objref.type = nftnl_expr_get_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE);
		r = get_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, &x->objref.name);
		break;
	default:
		break;
	}
	return r;
}

int pc_nftsnap_expr_convert(const struct nftnl_expr *e, struct pc_nft_arena **arena,
			    struct pc_nft_expr *ret)
{
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	struct pc_nft_expr x = {};
	int r = 0;

	x.type = pc_nftsnap_expr_type(name);
	pc_strsan_buf(x.name, sizeof(x.name), name ?: "", name ? strlen(name) : 0, PC_STRSAN_RAW);

	/* counter, log, notrack, limit, quota, connlimit: the type is enough. */
	r = convert_inspect(e, arena, &x);
	if (r >= 0)
		r = convert_action(e, &x);
	if (r < 0) {
		pc_nftsnap_expr_clear(&x);
		return r;
	}
	*ret = x;
	return 0;
}

void pc_nftsnap_expr_clear(struct pc_nft_expr *e)
{
	if (!e)
		return;
	switch (e->type) {
	case PC_NFT_EXPR_IMMEDIATE:
		free(e->immediate.verdict.chain);
		break;
	case PC_NFT_EXPR_LOOKUP:
		free(e->lookup.set);
		break;
	case PC_NFT_EXPR_MATCH:
	case PC_NFT_EXPR_TARGET:
		free(e->xt.info);
		break;
	case PC_NFT_EXPR_DYNSET:
		free(e->dynset.set);
		break;
	case PC_NFT_EXPR_OBJREF:
		free(e->objref.name);
		break;
	default:
		break;
	}
	*e = (struct pc_nft_expr){};
}
