/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "nlutil.h"
#include "portcheck/netif.h"
#include "portcheck/util.h"

/* Address and link dumps are flagged NLM_F_DUMP_INTR when the tables change meanwhile. */
#define RTNL_DUMP_TRIES 5

int pc_rtnl_parse_link(const struct nlmsghdr *nlh, struct pc_link *ret)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi;
	struct pc_link l = {};
	const char *name;
	size_t len;
	int r;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return -EBADMSG;
	r = pc_nl_parse_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX);
	if (r < 0)
		return r;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (ifi->ifi_index <= 0 || !tb[IFLA_IFNAME])
		return -EBADMSG;

	/* The name must be NUL-terminated inside the attribute and fit IF_NAMESIZE. */
	name = mnl_attr_get_payload(tb[IFLA_IFNAME]);
	len = mnl_attr_get_payload_len(tb[IFLA_IFNAME]);
	if (strnlen(name, len) == len || name[0] == '\0' || strlen(name) >= sizeof(l.name))
		return -EBADMSG;

	l.ifindex = (uint32_t)ifi->ifi_index;
	memcpy(l.name, name, strlen(name) + 1);
	l.up = ifi->ifi_flags & IFF_UP;
	l.loopback = ifi->ifi_flags & IFF_LOOPBACK;
	*ret = l;
	return 0;
}

int pc_rtnl_parse_addr(const struct nlmsghdr *nlh, struct pc_ifaddr *ret)
{
	const struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa;
	const struct nlattr *a;
	struct pc_ifaddr ia = {};
	unsigned size;
	int r;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return -EBADMSG;
	r = pc_nl_parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX);
	if (r < 0)
		return r;
	ifa = mnl_nlmsg_get_payload(nlh);
	size = pc_addr_size(ifa->ifa_family);
	if (size == 0 || ifa->ifa_prefixlen > size * 8 || ifa->ifa_index == 0)
		return -EBADMSG;

	/*
	 * On a point-to-point address IFA_ADDRESS is the peer and IFA_LOCAL ours; the kernel
	 * sends IFA_LOCAL for every IPv4 address and for IPv6 ones with a peer only.
	 */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) != size)
		return -EBADMSG;

	ia.ifindex = ifa->ifa_index;
	ia.prefix.addr.family = ifa->ifa_family;
	memcpy(ia.prefix.addr.bytes, mnl_attr_get_payload(a), size);
	ia.prefix.len = ifa->ifa_prefixlen;
	*ret = ia;
	return 0;
}

static int link_cb(const struct nlmsghdr *nlh, void *userdata)
{
	struct pc_netif *ni = userdata;
	struct pc_link l, *p;
	int r;

	r = pc_rtnl_parse_link(nlh, &l);
	if (r < 0)
		return r;
	p = pc_array_grow(&ni->links, &ni->n_links, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = l;
	return 0;
}

static int addr_cb(const struct nlmsghdr *nlh, void *userdata)
{
	struct pc_netif *ni = userdata;
	const struct ifaddrmsg *ifa;
	struct pc_ifaddr ia, *p;
	int r;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EBADMSG;
	/* An AF_UNSPEC dump also returns other families' addresses (MCTP, ...). */
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	r = pc_rtnl_parse_addr(nlh, &ia);
	if (r < 0)
		return r;
	p = pc_array_grow(&ni->addrs, &ni->n_addrs, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = ia;
	return 0;
}

static int read_once(struct pc_netif *ni)
{
	union {
		struct nlmsghdr nlh;
		char buf[NLMSG_HDRLEN + 64];
	} req = {};
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct ifaddrmsg *ifa;
	int r;

	nlh = mnl_nlmsg_put_header(req.buf);
	nlh->nlmsg_type = RTM_GETLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	/* Only names and flags are needed: leave out the per-link statistics. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = pc_nl_dump(NETLINK_ROUTE, nlh, link_cb, ni);
	if (r < 0)
		return r;

	memset(&req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req.buf);
	nlh->nlmsg_type = RTM_GETADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	return pc_nl_dump(NETLINK_ROUTE, nlh, addr_cb, ni);
}

int pc_netif_read(struct pc_netif *ret)
{
	struct pc_netif ni = {};
	int r = -EINTR;

	for (int i = 0; i < RTNL_DUMP_TRIES && r == -EINTR; i++) {
		pc_netif_free(&ni);
		r = read_once(&ni);
	}
	if (r < 0) {
		pc_netif_free(&ni);
		return r;
	}
	*ret = ni;
	return 0;
}

/* Lookups are linear: tables are small, and callers may build them by hand, unsorted. */
const struct pc_link *pc_netif_link_by_index(const struct pc_netif *ni, uint32_t ifindex)
{
	for (size_t i = 0; i < ni->n_links; i++)
		if (ni->links[i].ifindex == ifindex)
			return &ni->links[i];
	return NULL;
}

bool pc_netif_has_family(const struct pc_netif *ni, uint32_t ifindex, int family)
{
	for (size_t i = 0; i < ni->n_addrs; i++)
		if (ni->addrs[i].ifindex == ifindex && ni->addrs[i].prefix.addr.family == family)
			return true;
	return false;
}

bool pc_netif_has_addr(const struct pc_netif *ni, uint32_t ifindex, const struct pc_addr *a)
{
	for (size_t i = 0; i < ni->n_addrs; i++)
		if (ni->addrs[i].ifindex == ifindex && pc_addr_equal(&ni->addrs[i].prefix.addr, a))
			return true;
	return false;
}

void pc_netif_free(struct pc_netif *ni)
{
	if (!ni)
		return;
	free(ni->links);
	free(ni->addrs);
	*ni = (struct pc_netif){};
}
