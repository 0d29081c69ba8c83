/* SPDX-License-Identifier: MIT */
/* Network interfaces and their addresses, read over rtnetlink. */
#pragma once

#include <linux/netlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "portcheck/addr.h"

struct pc_link {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
	bool up;       /* IFF_UP */
	bool loopback; /* IFF_LOOPBACK */
};

struct pc_ifaddr {
	uint32_t ifindex;
	struct pc_prefix prefix; /* the local address and its prefix length */
};

struct pc_netif {
	struct pc_link *links;
	size_t n_links;
	struct pc_ifaddr *addrs;
	size_t n_addrs;
};

/* Parse one RTM_NEWLINK message. Pure. Returns 0 or -EBADMSG. */
int pc_rtnl_parse_link(const struct nlmsghdr *nlh, struct pc_link *ret);
/* Parse one RTM_NEWADDR message. Pure. Returns 0 or -EBADMSG. */
int pc_rtnl_parse_addr(const struct nlmsghdr *nlh, struct pc_ifaddr *ret);
/* Dump links and addresses of the current network namespace. Returns 0 or -errno. */
int pc_netif_read(struct pc_netif *ret);

const struct pc_link *pc_netif_link_by_index(const struct pc_netif *ni, uint32_t ifindex);
/* True when @ifindex has an address of @family. */
bool pc_netif_has_family(const struct pc_netif *ni, uint32_t ifindex, int family);
/* True when @ifindex carries the address @a. */
bool pc_netif_has_addr(const struct pc_netif *ni, uint32_t ifindex, const struct pc_addr *a);

void pc_netif_free(struct pc_netif *ni);
