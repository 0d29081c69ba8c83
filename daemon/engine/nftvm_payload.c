/* SPDX-License-Identifier: MIT */
/*
 * The payload expression (nft_payload_eval): bytes of the synthetic packet into a register,
 * with their taint, and the names of the header fields for reasons.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <string.h>

#include "nftvm_internal.h"

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

void vm_eval_payload(struct vm *vm, const struct pc_nft_expr *e)
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
		vm->rsym[(size_t)(reg - (uint8_t *)vm->regs) + i] =
		    vm->pkt->var[base + e->payload.offset + i]
			? vm->pkt->sym[base + e->payload.offset + i]
			: VM_SYM_NONE;
	for (uint32_t i = 0; i < len; i++)
		if (vm->pkt->var[base + e->payload.offset + i]) {
			vm->taint_what = vm_field_name(vm->pkt, base + e->payload.offset + i);
			break;
		}
}
