/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "nlutil.h"
#include "portcheck/listener.h"
#include "portcheck/util.h"

/* NLM_F_DUMP_INTR is not expected from sock_diag, but a restart is cheap if it comes. */
#define SOCKDIAG_DUMP_TRIES 3

int pc_sockdiag_parse(const struct nlmsghdr *nlh, uint8_t protocol, struct pc_listener *ret)
{
	const struct nlattr *tb[INET_DIAG_MAX + 1];
	const struct inet_diag_msg *m;
	struct pc_listener l = {.protocol = protocol};
	int r;

	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return -EINVAL;
	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return -EBADMSG;
	r = pc_nl_parse_attrs(nlh, sizeof(*m), tb, INET_DIAG_MAX);
	if (r < 0)
		return r;
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return -EBADMSG;

	/* The TCP dump asks for LISTEN only; anything else would be a connection. */
	if (protocol == IPPROTO_TCP && m->idiag_state != TCP_LISTEN)
		return 0;
	/* A UDP socket with a peer is a client: it only takes datagrams from that peer. */
	if (protocol == IPPROTO_UDP && m->id.idiag_dport != 0)
		return 0;
	/* Not bound to a port: nothing can reach it. */
	if (m->id.idiag_sport == 0)
		return 0;

	l.addr.family = m->idiag_family;
	memcpy(l.addr.bytes, m->id.idiag_src, pc_addr_size(m->idiag_family));
	l.port = ntohs(m->id.idiag_sport);
	l.bound_ifindex = m->id.idiag_if;
	l.inode = m->idiag_inode;
	l.uid = m->idiag_uid;

	/*
	 * The kernel sends INET_DIAG_SKV6ONLY for AF_INET6 sockets in LISTEN or CLOSE state
	 * (an unconnected UDP socket is CLOSE). Kernels before 3.11 do not send it: say
	 * false, the default of net.ipv6.bindv6only.
	 */
	if (m->idiag_family == AF_INET6 && tb[INET_DIAG_SKV6ONLY]) {
		if (mnl_attr_get_payload_len(tb[INET_DIAG_SKV6ONLY]) < sizeof(uint8_t))
			return -EBADMSG;
		l.v6only = mnl_attr_get_u8(tb[INET_DIAG_SKV6ONLY]) != 0;
	}

	*ret = l;
	return 1;
}

struct dump_ctx {
	uint8_t protocol;
	struct pc_listener *items;
	size_t n, cap;
};

static int dump_cb(const struct nlmsghdr *nlh, void *userdata)
{
	struct dump_ctx *ctx = userdata;
	struct pc_listener l;
	int r;

	r = pc_sockdiag_parse(nlh, ctx->protocol, &l);
	if (r <= 0)
		return r;
	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 64;
		struct pc_listener *p;

		p = reallocarray(ctx->items, cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
		ctx->items = p;
		ctx->cap = cap;
	}
	ctx->items[ctx->n++] = l;
	return 0;
}

static int dump_one(struct dump_ctx *ctx, uint8_t family, uint8_t protocol, uint32_t states)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
	    .nlh = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY},
	    .r = {.sdiag_family = family, .sdiag_protocol = protocol, .idiag_states = states},
	};

	_Static_assert(sizeof(req) == NLMSG_HDRLEN + sizeof(struct inet_diag_req_v2),
		       "no padding in the request");
	ctx->protocol = protocol;
	return pc_nl_dump(NETLINK_SOCK_DIAG, &req.nlh, dump_cb, ctx);
}

static int dump_all(struct dump_ctx *ctx)
{
	/* UDP: only unconnected sockets (TCP_CLOSE, as the kernel keeps them): a connected
	 * one takes datagrams from its peer only. Filtered by the kernel, so that any
	 * number of connected UDP sockets on the host costs nothing here. */
	static const struct {
		uint8_t family, protocol;
		uint32_t states;
	} dumps[] = {
	    {AF_INET, IPPROTO_TCP, 1U << TCP_LISTEN},
	    {AF_INET6, IPPROTO_TCP, 1U << TCP_LISTEN},
	    {AF_INET, IPPROTO_UDP, 1U << TCP_CLOSE},
	    {AF_INET6, IPPROTO_UDP, 1U << TCP_CLOSE},
	};
	int r;

	for (size_t i = 0; i < ELEMENTSOF(dumps); i++) {
		r = dump_one(ctx, dumps[i].family, dumps[i].protocol, dumps[i].states);
		if (r < 0)
			return r;
	}
	return 0;
}

int pc_sockdiag_dump(struct pc_listener_set *ret)
{
	struct dump_ctx ctx = {};
	int r = -EINTR;

	for (int i = 0; i < SOCKDIAG_DUMP_TRIES && r == -EINTR; i++) {
		ctx.n = 0;
		r = dump_all(&ctx);
	}
	if (r < 0) {
		free(ctx.items);
		return r;
	}
	*ret = (struct pc_listener_set){.items = ctx.items, .n = ctx.n};
	return 0;
}
