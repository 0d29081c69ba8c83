/* SPDX-License-Identifier: MIT */
/* Private netlink helpers shared by the sock_diag and rtnetlink sources. */
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stddef.h>

static inline void pc_nl_closep(struct mnl_socket **nl)
{
	if (*nl)
		mnl_socket_close(*nl);
}

/*
 * A netlink socket of @bus (opened with @flags | SOCK_CLOEXEC, e.g. SOCK_NONBLOCK for an event
 * loop), bound to a port id the kernel picks. NULL with errno set on failure.
 */
struct mnl_socket *pc_nl_open(int bus, int flags);

/*
 * pc_nl_open() for one request and its reply: receiving times out after a few seconds (a
 * silent kernel means something is wrong) and only the kernel may send to it. Returns 0 and
 * the socket in *@ret, or -errno.
 */
int pc_nl_open_request(int bus, struct mnl_socket **ret);

/* Called once per data message of a dump. Return >= 0 to go on, -errno to abort the dump. */
typedef int (*pc_nl_msg_cb)(const struct nlmsghdr *nlh, void *userdata);

/*
 * Send the dump request @req (NLM_F_REQUEST|NLM_F_DUMP; sequence number and port id are
 * filled in here) on a fresh netlink socket of @bus and call @cb for every reply message
 * up to NLMSG_DONE. Returns 0; -EINTR when the kernel flagged the dump as inconsistent
 * (NLM_F_DUMP_INTR: the caller should start over); the kernel's error; -ETIMEDOUT; -EPROTO
 * or -EBADMSG for a reply that does not belong to the request or is malformed; or what
 * @cb returned.
 */
int pc_nl_dump(int bus, struct nlmsghdr *req, pc_nl_msg_cb cb, void *userdata);

/*
 * Index the attributes of @nlh that follow @offset bytes of fixed payload: tb[type] for
 * every type <= @max (unknown types are ignored, the last of duplicates wins). tb must
 * have @max + 1 entries. Returns 0, or -EBADMSG when the fixed payload is truncated or an
 * attribute header is malformed (length shorter than a header or past the message end).
 */
int pc_nl_parse_attrs(const struct nlmsghdr *nlh, size_t offset, const struct nlattr **tb,
		      unsigned max);
