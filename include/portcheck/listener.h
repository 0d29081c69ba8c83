/* SPDX-License-Identifier: MIT */
/* Listening sockets: sock_diag netlink (TCP LISTEN, bound UDP) plus their owning process. */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "portcheck/addr.h"
#include "portcheck/strsan.h"

/* /proc/PID/comm: at most 16 bytes (the kernel writes 15), sanitised (strsan.h). */
#define PC_COMM_SIZE PC_STRSAN_SIZE(16)

struct pc_listener {
	uint8_t protocol;	/* IPPROTO_TCP or IPPROTO_UDP */
	struct pc_addr addr;	/* bound address; family is the socket's family */
	uint16_t port;		/* host byte order */
	bool v6only;		/* IPV6_V6ONLY; meaningful for AF_INET6 only */
	uint32_t bound_ifindex; /* SO_BINDTODEVICE, 0 when none */
	uint64_t inode;
	uint32_t uid;
	pid_t pid;		 /* 0 when the owner could not be found */
	char comm[PC_COMM_SIZE]; /* process name, sanitised; "" when unknown */
	char *unit;		 /* systemd unit (sanitised) or NULL */
};

struct pc_listener_set {
	struct pc_listener *items;
	size_t n;
};

/*
 * Parse one SOCK_DIAG_BY_FAMILY reply message (struct inet_diag_msg + attributes) for a
 * socket of @protocol. Pure: no I/O. Returns 1 when *ret was filled, 0 when the message
 * is a socket to skip (e.g. a connected UDP socket), -EBADMSG for a malformed message.
 */
int pc_sockdiag_parse(const struct nlmsghdr *nlh, uint8_t protocol, struct pc_listener *ret);

/*
 * Dump TCP listeners and bound UDP sockets of both families in the current network
 * namespace. Owner fields are left empty. Returns 0 or -errno.
 */
int pc_sockdiag_dump(struct pc_listener_set *ret);

/*
 * Fill pid/comm/unit of each listener by scanning @proc_root ("/proc") for fds that are
 * "socket:[INODE]". Processes that vanish mid-scan are skipped. Returns 0 or -errno
 * (only when @proc_root itself cannot be read).
 */
int pc_procmap_resolve(const char *proc_root, struct pc_listener_set *set);

/* Read everything: dump + owner resolution. */
int pc_listeners_read(struct pc_listener_set *ret);

void pc_listener_set_free(struct pc_listener_set *set);
