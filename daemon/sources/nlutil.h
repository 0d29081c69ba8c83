/* SPDX-License-Identifier: MIT */
/* Private netlink helpers shared by the sock_diag and rtnetlink sources. */
#pragma once

#include <linux/netlink.h>
#include <stddef.h>

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
