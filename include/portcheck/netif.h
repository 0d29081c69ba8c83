/* SPDX-License-Identifier: MIT */
/* Network interfaces and their addresses, read over rtnetlink. */
#pragma once

#include <linux/netlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "portcheck/addr.h"
#include "portcheck/strsan.h"

/* An interface name, sanitised (strsan.h): any bytes but '/', ':', space and NUL. */
#define PC_IFNAME_SIZE PC_STRSAN_SIZE(IF_NAMESIZE - 1)

/* The IPv4 sysctls of net.ipv4.conf.DEV (or .all) the input path depends on. */
struct pc_inet_conf {
	uint8_t forwarding;	/* IP forwarding from this device */
	uint8_t rp_filter;	/* 0 off, 1 strict, 2 loose */
	uint8_t accept_local;	/* sources that are local addresses pass fib_validate_source */
	uint8_t route_localnet; /* 127.0.0.0/8 is routable on this device */
};

struct pc_link {
	uint32_t ifindex;
	char name[PC_IFNAME_SIZE]; /* sanitised: for reports, logs and lookups by name */
	char kname[IF_NAMESIZE];   /* the kernel's bytes: what nftables' meta iifname compares */
	bool up;		   /* IFF_UP */
	bool loopback;		   /* IFF_LOOPBACK */
	uint16_t type;		   /* ARPHRD_* (ifi_type); 0 in hand-built models: derived */
	uint32_t group;		   /* IFLA_GROUP: meta iifgroup / oifgroup */
	uint32_t master;	   /* IFLA_MASTER: the bridge, bond or VRF it is enslaved to */
	/* IFLA_INFO_KIND, the kernel's bytes ("veth", "vrf", ...): meta iifkind. Empty when
	 * the device has no rtnl_link_ops (a physical NIC, lo): the kernel's meta breaks. */
	char kind[IF_NAMESIZE];
	bool has_inet_conf;	  /* IFLA_INET_CONF was in the dump: inet is valid */
	struct pc_inet_conf inet; /* net.ipv4.conf.DEV.* */
	bool inet_odd;		  /* a value the model does not know (negative, > 255) */
	bool dumped;		  /* read from the kernel (not a hand-built model) */
};

struct pc_ifaddr {
	uint32_t ifindex;
	struct pc_prefix prefix; /* the local address and its prefix length */
};

/* A route of the main or local table (RTM_NEWROUTE). */
struct pc_route {
	int family;
	struct pc_prefix dst;
	uint32_t table;		/* RT_TABLE_MAIN, RT_TABLE_LOCAL, ... */
	uint8_t type;		/* RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_UNREACHABLE, ... */
	uint32_t oif;		/* 0 when none (blackhole, unreachable, multipath) */
	struct pc_addr gateway; /* family 0 when direct */
	uint32_t priority;	/* metric */
};

struct pc_netif {
	struct pc_link *links;
	size_t n_links;
	struct pc_ifaddr *addrs;
	size_t n_addrs;
	struct pc_route *routes;
	size_t n_routes;
	bool forwarding_v4; /* net.ipv4.ip_forward */
	bool forwarding_v6; /* net.ipv6.conf.all.forwarding */
	/* net.ipv4.conf.all.*: the kernel takes the maximum (rp_filter) or the OR (the
	 * others) of all and the device. Zero in hand-built models. */
	struct pc_inet_conf inet_all;
	/* Why IPv4 input decisions cannot be modelled (a sysctl could not be read); NULL if
	 * they can. */
	char *inet_blind_spot;
	/* Policy routing beyond the default rules makes route lookups inexact; NULL if none. */
	char *routing_blind_spot;
};

/* Parse one RTM_NEWLINK message. Pure. Returns 0 or -EBADMSG. */
int pc_rtnl_parse_link(const struct nlmsghdr *nlh, struct pc_link *ret);
/* Parse one RTM_NEWADDR message. Pure. Returns 0 or -EBADMSG. */
int pc_rtnl_parse_addr(const struct nlmsghdr *nlh, struct pc_ifaddr *ret);
/* Parse one RTM_NEWROUTE message. Pure. Returns 1 when filled, 0 for a route to skip
 * (cache clones, other tables than main and local), -EBADMSG when malformed. */
int pc_rtnl_parse_route(const struct nlmsghdr *nlh, struct pc_route *ret);
/* Parse one RTM_NEWRULE message. Pure. Returns 1 for one of the rules a network namespace
 * starts with (lookup local at 0, main at 32766, IPv4 default at 32767, selecting nothing),
 * 0 for any other rule, -EBADMSG when malformed. */
int pc_rtnl_rule_is_default(const struct nlmsghdr *nlh);
/* Dump links, addresses, routes (main and local tables), the forwarding sysctls and whether
 * policy routing rules beyond the defaults exist, for the current network namespace.
 * Returns 0 or -errno. */
int pc_netif_read(struct pc_netif *ret);

const struct pc_link *pc_netif_link_by_index(const struct pc_netif *ni, uint32_t ifindex);
/* The effective net.ipv4.conf value for @link: rp_filter the maximum of all and the device,
 * the others all OR device (IN_DEV_MAXCONF / IN_DEV_ORCONF). */
struct pc_inet_conf pc_netif_inet_conf(const struct pc_netif *ni, const struct pc_link *link);
/* True when @ifindex has an address of @family. */
bool pc_netif_has_family(const struct pc_netif *ni, uint32_t ifindex, int family);
/* True when @ifindex carries the address @a. */
bool pc_netif_has_addr(const struct pc_netif *ni, uint32_t ifindex, const struct pc_addr *a);

void pc_netif_free(struct pc_netif *ni);
