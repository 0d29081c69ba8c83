/* SPDX-License-Identifier: MIT */
/*
 * The ct expression (nft_ct_get_eval / nft_ct_set_eval) on the packet's conntrack entry,
 * and notrack.
 */
#include <arpa/inet.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "nftvm_internal.h"

/* The register length ct_get stores for the key; @alen is the family's address size. */
static uint32_t ct_get_len(uint32_t key, unsigned alen)
{
	uint32_t len = 4;

	switch (key) {
	case NFT_CT_LABELS:
	case NFT_CT_SRC_IP6:
	case NFT_CT_DST_IP6:
		len = 16;
		break;
	case NFT_CT_SRC:
	case NFT_CT_DST:
		len = alen;
		break;
	case NFT_CT_BYTES:
	case NFT_CT_PKTS:
		len = 8;
		break;
	default:
		break;
	}
	return len;
}

/* ct state. No entry: untracked when notrack said so, else the invalid bit (ctinfo 0,
 * nf_ct_get() NULL). */
static void ct_get_state(const struct vm_pkt *p, uint8_t *d)
{
	switch (p->ct) {
	case VM_CT_NEW:
		vm_store32(d, NF_CT_STATE_BIT(IP_CT_NEW));
		break;
	case VM_CT_UNTRACKED:
		vm_store32(d, NF_CT_STATE_UNTRACKED_BIT);
		break;
	default:
		vm_store32(d, NF_CT_STATE_INVALID_BIT);
		break;
	}
}

/* Keys about the entry itself (direction, status, mark, helper, protocols, zone,
 * labels, counters). Returns false for the keys of a tuple. */
static bool ct_get_entry(struct vm *vm, const struct pc_nft_expr *e, uint8_t *d)
{
	struct vm_pkt *p = vm->pkt;

	switch (e->ct.key) {
	case NFT_CT_DIRECTION:
		vm_store8(d, IP_CT_DIR_ORIGINAL);
		return true;
	case NFT_CT_STATUS:
		if (p->ct_helper_unknown) {
			vm_unknown(vm, "ct status after a ct helper assignment (IPS_HELPER depends "
				       "on the helper's protocol)");
			return true;
		}
		vm_store32(d, p->ct_status);
		return true;
	case NFT_CT_MARK:
		vm_store32(d, p->ct_mark);
		return true;
	case NFT_CT_SECMARK:
		vm_store32(d, 0);
		return true;
	case NFT_CT_HELPER:
		if (p->ct_helper_unknown) {
			vm_unknown(vm, "ct helper after a ct helper assignment");
			return true;
		}
		vm->vcode = NFT_BREAK; /* nfct_help() is NULL: no helper */
		return true;
	case NFT_CT_L3PROTOCOL:
		vm_store8(d, p->nfproto);
		return true;
	case NFT_CT_PROTOCOL:
		vm_store8(d, p->l4proto);
		return true;
	case NFT_CT_ZONE:
		vm_store16(d, 0);
		return true;
	case NFT_CT_LABELS:
		memcpy(d, p->ct_labels, 16);
		return true;
	case NFT_CT_EXPIRATION:
	case NFT_CT_PKTS:
	case NFT_CT_BYTES:
	case NFT_CT_AVGPKT:
	case NFT_CT_ID:
		vm_unknown(vm, "ct key %u: a runtime value", e->ct.key);
		return true;
	default:
		return false;
	}
}

/* The tuple's field holds the client's source (the original source, or the reply's
 * destination while no SNAT changed it): symbolic when the source is. */
static void ct_sym(struct vm *vm, uint8_t *d, bool port, bool client)
{
	struct vm_pkt *p = vm->pkt;

	if (!vm->sym || !client)
		return;
	vm_sym_mark_reg(vm, d, port ? 2 : pc_addr_size(p->family), port ? VM_SYM_PORT : 0);
}

/* Keys of the original or reply tuple. */
static void ct_get_tuple(struct vm *vm, const struct pc_nft_expr *e, uint8_t *d)
{
	struct vm_pkt *p = vm->pkt;
	const struct vm_tuple *tu;
	unsigned alen = pc_addr_size(p->family);
	bool orig = e->ct.has_dir && e->ct.dir == IP_CT_DIR_ORIGINAL;
	/* The client's: the original source as conntrack took it from the symbolic packet,
	 * and the reply's destination while no SNAT changed it. */
	bool client_addr = p->orig_src_sym && (orig || memcmp(p->reply.dst.bytes, p->orig.src.bytes,
							      sizeof(p->orig.src.bytes)) == 0);
	bool client_port = p->orig_sport_sym && (orig || p->reply.dport == p->orig.sport);

	if (!e->ct.has_dir || e->ct.dir > IP_CT_DIR_REPLY) {
		vm_unknown(vm, "ct key %u without a direction", e->ct.key);
		return;
	}
	tu = orig ? &p->orig : &p->reply;
	switch (e->ct.key) {
	case NFT_CT_SRC:
		memcpy(d, tu->src.bytes, alen);
		ct_sym(vm, d, false, orig && client_addr);
		return;
	case NFT_CT_DST:
		memcpy(d, tu->dst.bytes, alen);
		ct_sym(vm, d, false, !orig && client_addr);
		return;
	case NFT_CT_PROTO_SRC:
		vm_store16(d, tu->sport);
		ct_sym(vm, d, true, orig && client_port);
		return;
	case NFT_CT_PROTO_DST:
		if (!orig && p->sport_drawn) {
			vm_unknown(vm, "ct reply proto-dst: the port SNAT drew at random");
			return;
		}
		vm_store16(d, tu->dport);
		ct_sym(vm, d, true, !orig && client_port);
		return;
	case NFT_CT_SRC_IP:
	case NFT_CT_DST_IP:
		if (p->nfproto != NFPROTO_IPV4) {
			vm->vcode = NFT_BREAK;
			return;
		}
		memcpy(d, (e->ct.key == NFT_CT_SRC_IP ? &tu->src : &tu->dst)->bytes, 4);
		ct_sym(vm, d, false, (e->ct.key == NFT_CT_SRC_IP ? orig : !orig) && client_addr);
		return;
	case NFT_CT_SRC_IP6:
	case NFT_CT_DST_IP6:
		if (p->nfproto != NFPROTO_IPV6) {
			vm->vcode = NFT_BREAK;
			return;
		}
		memcpy(d, (e->ct.key == NFT_CT_SRC_IP6 ? &tu->src : &tu->dst)->bytes, 16);
		ct_sym(vm, d, false, (e->ct.key == NFT_CT_SRC_IP6 ? orig : !orig) && client_addr);
		return;
	default:
		vm_unknown(vm, "ct key %u not modelled", e->ct.key);
	}
}

static void ct_get(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_pkt *p = vm->pkt;
	uint8_t *d = vm_reg_out(vm, e->ct.dreg, ct_get_len(e->ct.key, pc_addr_size(p->family)));

	if (!d)
		return;
	if (vm->ct_order_ambiguous) {
		vm_unknown(vm, "ct in a chain at the conntrack priority (-200): whether it runs "
			       "before or after conntrack depends on registration order");
		return;
	}

	if (e->ct.key == NFT_CT_STATE) {
		ct_get_state(p, d);
		return;
	}
	if (p->ct != VM_CT_NEW) {
		vm->vcode = NFT_BREAK;
		return;
	}
	if (!ct_get_entry(vm, e, d))
		ct_get_tuple(vm, e, d);
}

static void ct_set(struct vm *vm, const struct pc_nft_expr *e)
{
	struct vm_pkt *p = vm->pkt;
	const uint8_t *s;

	if (vm->ct_order_ambiguous) {
		vm_unknown(vm, "ct set in a chain at the conntrack priority (-200)");
		return;
	}
	switch (e->ct.key) {
	case NFT_CT_MARK:
		s = vm_reg_in(vm, e->ct.sreg, 4);
		if (s && p->ct == VM_CT_NEW)
			memcpy(&p->ct_mark, s, 4);
		return;
	case NFT_CT_LABELS:
		/* nf_connlabels_replace(ct, data, data): bits are only added. */
		s = vm_reg_in(vm, e->ct.sreg, 16);
		if (s && p->ct == VM_CT_NEW)
			for (int i = 0; i < 16; i++)
				p->ct_labels[i] |= s[i];
		return;
	case NFT_CT_SECMARK:
	case NFT_CT_EVENTMASK:
		return;
	case NFT_CT_ZONE:
		/* A template entry with the zone: ct state reads it as new before conntrack. */
		vm_unknown(vm, "ct zone set: conntrack zones are not modelled");
		return;
	default:
		vm_unknown(vm, "ct set of key %u not modelled", e->ct.key);
	}
}

void vm_eval_ct(struct vm *vm, const struct pc_nft_expr *e)
{
	if (e->ct.dreg)
		ct_get(vm, e);
	else
		ct_set(vm, e);
}

void vm_eval_notrack(struct vm *vm)
{
	if (vm->ct_order_ambiguous) {
		vm_unknown(vm, "notrack in a chain at the conntrack priority (-200)");
		return;
	}
	/* nft_notrack_eval: an entry, or untracked already, is left alone. */
	if (vm->pkt->ct == VM_CT_NONE)
		vm->pkt->ct = VM_CT_UNTRACKED;
}
