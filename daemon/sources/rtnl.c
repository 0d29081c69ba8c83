/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "nlutil.h"
#include "portcheck/netif.h"
#include "portcheck/util.h"

/* Address and link dumps are flagged NLM_F_DUMP_INTR when the tables change meanwhile. */
#define RTNL_DUMP_TRIES 5

/* A u32 attribute, checked for size. */
static int attr_u32(const struct nlattr *a, uint32_t *ret)
{
	if (mnl_attr_get_payload_len(a) != sizeof(uint32_t))
		return -EBADMSG;
	*ret = mnl_attr_get_u32(a);
	return 0;
}

/* The attribute of @type nested in @nest, or NULL; -EBADMSG for a malformed nest. */
static int nested_find(const struct nlattr *nest, uint16_t type, const struct nlattr **ret)
{
	const uint8_t *p = mnl_attr_get_payload(nest);
	size_t left = mnl_attr_get_payload_len(nest);

	*ret = NULL;
	while (left >= sizeof(struct nlattr)) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t step;

		if (a->nla_len < sizeof(struct nlattr) || a->nla_len > left)
			return -EBADMSG;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			*ret = a; /* the last of duplicates wins, as in pc_nl_parse_attrs */
		step = MNL_ALIGN(a->nla_len);
		if (step >= left)
			break;
		p += step;
		left -= step;
	}
	return 0;
}

/* IFLA_LINKINFO's IFLA_INFO_KIND: what meta iifkind compares (strscpy_pad of the kind). */
static int link_kind(const struct nlattr *linkinfo, char kind[IF_NAMESIZE])
{
	const struct nlattr *a;
	const char *s;
	size_t len;

	if (nested_find(linkinfo, IFLA_INFO_KIND, &a) < 0)
		return -EBADMSG;
	if (!a)
		return 0;
	s = mnl_attr_get_payload(a);
	len = strnlen(s, mnl_attr_get_payload_len(a));
	if (len >= IF_NAMESIZE)
		len = IF_NAMESIZE - 1; /* the kernel's register holds IFNAMSIZ bytes */
	memset(kind, 0, IF_NAMESIZE);
	memcpy(kind, s, len);
	return 0;
}

/* One value of the IPv4 devconf array (IPV4_DEVCONF_* are 1-based). The values are plain
 * ints a sysctl write may make negative: those (and huge ones) are marked odd, never
 * mapped onto a mode the kernel would not choose. */
static uint8_t devconf(const uint32_t *v, size_t n, unsigned key, bool *odd)
{
	int32_t x = key - 1 < n ? (int32_t)v[key - 1] : 0;

	if (x < 0 || x > 255) {
		*odd = true;
		return 0;
	}
	return (uint8_t)x;
}

/* IFLA_AF_SPEC / AF_INET / IFLA_INET_CONF: the device's net.ipv4.conf values. */
static int link_inet_conf(const struct nlattr *af_spec, struct pc_link *l)
{
	const struct nlattr *inet, *conf;
	uint32_t v[IPV4_DEVCONF_ROUTE_LOCALNET];
	size_t len;

	if (nested_find(af_spec, AF_INET, &inet) < 0)
		return -EBADMSG;
	if (!inet)
		return 0;
	if (nested_find(inet, IFLA_INET_CONF, &conf) < 0)
		return -EBADMSG;
	if (!conf)
		return 0;
	len = mnl_attr_get_payload_len(conf);
	/* An older kernel's array may be shorter; one that ends before route_localnet is
	 * not one this model knows. */
	if (len % sizeof(uint32_t) || len < sizeof(v))
		return -EBADMSG;
	memcpy(v, mnl_attr_get_payload(conf), sizeof(v));
	l->has_inet_conf = true;
	l->inet.forwarding = devconf(v, ELEMENTSOF(v), IPV4_DEVCONF_FORWARDING, &l->inet_odd);
	l->inet.rp_filter = devconf(v, ELEMENTSOF(v), IPV4_DEVCONF_RP_FILTER, &l->inet_odd);
	l->inet.accept_local = devconf(v, ELEMENTSOF(v), IPV4_DEVCONF_ACCEPT_LOCAL, &l->inet_odd);
	l->inet.route_localnet =
	    devconf(v, ELEMENTSOF(v), IPV4_DEVCONF_ROUTE_LOCALNET, &l->inet_odd);
	return 0;
}

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
	if (strnlen(name, len) == len || name[0] == '\0' || strlen(name) >= sizeof(l.kname))
		return -EBADMSG;

	l.ifindex = (uint32_t)ifi->ifi_index;
	memcpy(l.kname, name, strlen(name) + 1);
	pc_strsan_buf(l.name, sizeof(l.name), name, strlen(name), PC_STRSAN_RAW);
	l.up = ifi->ifi_flags & IFF_UP;
	l.loopback = ifi->ifi_flags & IFF_LOOPBACK;
	l.type = ifi->ifi_type;
	l.dumped = true;
	if ((tb[IFLA_GROUP] && attr_u32(tb[IFLA_GROUP], &l.group) < 0) ||
	    (tb[IFLA_MASTER] && attr_u32(tb[IFLA_MASTER], &l.master) < 0))
		return -EBADMSG;
	if (tb[IFLA_LINKINFO] && link_kind(tb[IFLA_LINKINFO], l.kind) < 0)
		return -EBADMSG;
	if (tb[IFLA_AF_SPEC]) {
		r = link_inet_conf(tb[IFLA_AF_SPEC], &l);
		if (r < 0)
			return r;
	}
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

int pc_rtnl_parse_route(const struct nlmsghdr *nlh, struct pc_route *ret)
{
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	struct pc_route rt = {};
	uint32_t table;
	unsigned size;
	int r;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return -EBADMSG;
	r = pc_nl_parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX);
	if (r < 0)
		return r;
	rtm = mnl_nlmsg_get_payload(nlh);
	/* An AF_UNSPEC dump also brings MPLS and other families' routes. */
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	/* Cached clones (PMTU exceptions, redirects) are not routing decisions of their own. */
	if (rtm->rtm_flags & RTM_F_CLONED)
		return 0;
	/* Table ids above 255 only fit in RTA_TABLE; rtm_table then says RT_TABLE_COMPAT. */
	table = rtm->rtm_table;
	if (tb[RTA_TABLE] && attr_u32(tb[RTA_TABLE], &table) < 0)
		return -EBADMSG;
	if (table != RT_TABLE_MAIN && table != RT_TABLE_LOCAL)
		return 0;

	size = pc_addr_size(rtm->rtm_family);
	if (rtm->rtm_dst_len > size * 8)
		return -EBADMSG;
	rt.family = rtm->rtm_family;
	rt.table = table;
	rt.type = rtm->rtm_type;
	rt.dst.addr.family = rtm->rtm_family;
	rt.dst.len = rtm->rtm_dst_len;
	if (tb[RTA_DST]) {
		if (mnl_attr_get_payload_len(tb[RTA_DST]) != size)
			return -EBADMSG;
		memcpy(rt.dst.addr.bytes, mnl_attr_get_payload(tb[RTA_DST]), size);
	} else if (rt.dst.len != 0) {
		return -EBADMSG;
	}
	if (tb[RTA_OIF] && attr_u32(tb[RTA_OIF], &rt.oif) < 0)
		return -EBADMSG;
	if (tb[RTA_PRIORITY] && attr_u32(tb[RTA_PRIORITY], &rt.priority) < 0)
		return -EBADMSG;
	if (tb[RTA_GATEWAY]) {
		if (mnl_attr_get_payload_len(tb[RTA_GATEWAY]) != size)
			return -EBADMSG;
		rt.gateway.family = rtm->rtm_family;
		memcpy(rt.gateway.bytes, mnl_attr_get_payload(tb[RTA_GATEWAY]), size);
	} else if (tb[RTA_VIA]) {
		/* An IPv4 route through an IPv6 next hop (RFC 5549) names its family. */
		const struct rtvia *via = mnl_attr_get_payload(tb[RTA_VIA]);
		size_t len = mnl_attr_get_payload_len(tb[RTA_VIA]);
		unsigned via_size;

		if (len < sizeof(*via))
			return -EBADMSG;
		via_size = pc_addr_size(via->rtvia_family);
		if (via_size == 0 || len != sizeof(*via) + via_size)
			return -EBADMSG;
		rt.gateway.family = via->rtvia_family;
		memcpy(rt.gateway.bytes, via->rtvia_addr, via_size);
	}
	*ret = rt;
	return 1;
}

/*
 * The rules every network namespace starts with: lookup local at 0, main at 32766 and, for
 * IPv4, default at 32767; with nothing to select on.
 */
int pc_rtnl_rule_is_default(const struct nlmsghdr *nlh)
{
	static const unsigned selectors[] = {
	    FRA_DST,	  FRA_SRC,	   FRA_IIFNAME,	    FRA_GOTO,	FRA_FWMARK,
	    FRA_FWMASK,	  FRA_TUN_ID,	   FRA_OIFNAME,	    FRA_L3MDEV, FRA_UID_RANGE,
	    FRA_IP_PROTO, FRA_SPORT_RANGE, FRA_DPORT_RANGE,
	};
	/* Suppressors change the outcome too; some kernels dump them unset, as -1. */
	static const unsigned suppressors[] = {FRA_SUPPRESS_PREFIXLEN, FRA_SUPPRESS_IFGROUP};
	const struct nlattr *tb[FRA_MAX + 1];
	const struct fib_rule_hdr *frh;
	uint32_t prio = 0, table;
	int r;

	if (nlh->nlmsg_type != RTM_NEWRULE)
		return -EBADMSG;
	r = pc_nl_parse_attrs(nlh, sizeof(*frh), tb, FRA_MAX);
	if (r < 0)
		return r;
	frh = mnl_nlmsg_get_payload(nlh);
	table = frh->table;
	if ((tb[FRA_TABLE] && attr_u32(tb[FRA_TABLE], &table) < 0) ||
	    (tb[FRA_PRIORITY] && attr_u32(tb[FRA_PRIORITY], &prio) < 0))
		return -EBADMSG;

	if (frh->action != FR_ACT_TO_TBL || frh->src_len || frh->dst_len || frh->tos || frh->flags)
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(selectors); i++)
		if (tb[selectors[i]])
			return 0;
	for (size_t i = 0; i < ELEMENTSOF(suppressors); i++) {
		uint32_t v;

		if (!tb[suppressors[i]])
			continue;
		if (attr_u32(tb[suppressors[i]], &v) < 0)
			return -EBADMSG;
		if (v != UINT32_MAX)
			return 0;
	}
	if (prio == 0 && table == RT_TABLE_LOCAL)
		return 1;
	if (prio == 32766 && table == RT_TABLE_MAIN)
		return 1;
	if (prio == 32767 && table == RT_TABLE_DEFAULT && frh->family == AF_INET)
		return 1;
	return 0;
}

static int route_cb(const struct nlmsghdr *nlh, void *userdata)
{
	struct pc_netif *ni = userdata;
	struct pc_route rt, *p;
	int r;

	r = pc_rtnl_parse_route(nlh, &rt);
	if (r <= 0)
		return r;
	p = pc_array_grow(&ni->routes, &ni->n_routes, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = rt;
	return 0;
}

struct rule_count {
	unsigned extra[2];	/* rules beyond the defaults, IPv4 and IPv6 */
	bool main[2], local[2]; /* the default lookups of main and local are there */
};

static int rule_cb(const struct nlmsghdr *nlh, void *userdata)
{
	struct rule_count *rc = userdata;
	const struct fib_rule_hdr *frh;
	int r, i;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*frh))
		return -EBADMSG;
	frh = mnl_nlmsg_get_payload(nlh);
	if (frh->family != AF_INET && frh->family != AF_INET6)
		return 0;
	i = frh->family == AF_INET6;
	r = pc_rtnl_rule_is_default(nlh);
	if (r < 0)
		return r;
	if (r == 0) {
		rc->extra[i]++;
		return 0;
	}
	if (frh->table == RT_TABLE_MAIN)
		rc->main[i] = true;
	else if (frh->table == RT_TABLE_LOCAL)
		rc->local[i] = true;
	return 0;
}

/* A sysctl that reads "0" or "1"; false when it does not exist (IPv6 disabled). */
static bool read_sysctl_bool(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char c = '0';

	if (fd < 0 || read(fd, &c, 1) != 1)
		return false;
	return c != '0';
}

/* A sysctl holding a small number. Returns 0 or -errno (-EBADMSG: not a number). */
static int read_sysctl_u8(const char *path, uint8_t *ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[16];
	ssize_t n;
	unsigned v = 0;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	if (n == 0 || buf[0] < '0' || buf[0] > '9')
		return -EBADMSG;
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		v = v * 10 + (unsigned)(buf[i] - '0');
		if (v > 255)
			v = 255; /* "more than any mode the model knows" */
	}
	*ret = (uint8_t)v;
	return 0;
}

/*
 * net.ipv4.conf.all: the devices' values come with the link dump (IFLA_INET_CONF), "all"
 * has no device. A value not read is never taken as its default: IPv4 input decisions
 * become unknown instead (inet_blind_spot). Keep in step with daemon/report/freshness.c.
 */
static int read_inet_all(struct pc_netif *ni)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
	    {"rp_filter", offsetof(struct pc_inet_conf, rp_filter)},
	    {"accept_local", offsetof(struct pc_inet_conf, accept_local)},
	    {"route_localnet", offsetof(struct pc_inet_conf, route_localnet)},
	};

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		char path[96];
		int r;

		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/all/%s", keys[i].name);
		r = read_sysctl_u8(path, (uint8_t *)&ni->inet_all + keys[i].off);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			if (asprintf(&ni->inet_blind_spot,
				     "net.ipv4.conf.all.%s could not be read (%s): IPv4 input "
				     "decisions (reverse-path filtering, local sources) are not "
				     "modelled",
				     keys[i].name, strerror(-r)) < 0) {
				ni->inet_blind_spot = NULL;
				return -ENOMEM;
			}
			return 0;
		}
	}
	return 0;
}

static int routing_blind_spot(const struct rule_count *rc, char **ret)
{
	static const char *const fam[] = {"IPv4", "IPv6"};
	char msg[256] = "";
	size_t len = 0;

	*ret = NULL;
	for (int i = 0; i < 2; i++) {
		int w = 0;

		if (rc->extra[i])
			w = snprintf(msg + len, sizeof(msg) - len, "%s%u more %s rule%s",
				     len ? ", " : "", rc->extra[i], fam[i],
				     rc->extra[i] > 1 ? "s" : "");
		if (w > 0 && (size_t)w < sizeof(msg) - len)
			len += w;
		w = 0;
		if (!rc->main[i] || !rc->local[i])
			w = snprintf(msg + len, sizeof(msg) - len, "%sno %s lookup of the %s table",
				     len ? ", " : "", fam[i], !rc->local[i] ? "local" : "main");
		if (w > 0 && (size_t)w < sizeof(msg) - len)
			len += w;
	}
	if (len == 0)
		return 0;
	if (asprintf(ret,
		     "policy routing differs from the defaults (%s): route lookups may use other "
		     "tables than main and local",
		     msg) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
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
	struct rule_count rc = {};
	struct fib_rule_hdr *frh;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct ifaddrmsg *ifa;
	struct rtmsg *rtm;
	int r;

	nlh = mnl_nlmsg_put_header(req.buf);
	nlh->nlmsg_type = RTM_GETLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	/* Names, flags, groups, kinds and the IPv4 sysctls: leave out the statistics. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = pc_nl_dump(NETLINK_ROUTE, nlh, link_cb, ni);
	if (r < 0)
		return r;

	memset(&req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req.buf);
	nlh->nlmsg_type = RTM_GETADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	r = pc_nl_dump(NETLINK_ROUTE, nlh, addr_cb, ni);
	if (r < 0)
		return r;

	/* Both families in one dump; the parser keeps IPv4 and IPv6 of main and local. */
	memset(&req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req.buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC;
	r = pc_nl_dump(NETLINK_ROUTE, nlh, route_cb, ni);
	if (r < 0)
		return r;

	memset(&req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req.buf);
	nlh->nlmsg_type = RTM_GETRULE;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = AF_UNSPEC;
	r = pc_nl_dump(NETLINK_ROUTE, nlh, rule_cb, &rc);
	if (r < 0)
		return r;
	r = routing_blind_spot(&rc, &ni->routing_blind_spot);
	if (r < 0)
		return r;

	ni->forwarding_v4 = read_sysctl_bool("/proc/sys/net/ipv4/ip_forward");
	ni->forwarding_v6 = read_sysctl_bool("/proc/sys/net/ipv6/conf/all/forwarding");
	return read_inet_all(ni);
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

struct pc_inet_conf pc_netif_inet_conf(const struct pc_netif *ni, const struct pc_link *link)
{
	const struct pc_inet_conf *a = &ni->inet_all;
	struct pc_inet_conf d = {.forwarding = ni->forwarding_v4};

	if (link && link->has_inet_conf)
		d = link->inet;
	/* Forwarding is the device's own value (IN_DEV_FORWARD); ip_forward sets them all. */
	d.rp_filter = d.rp_filter > a->rp_filter ? d.rp_filter : a->rp_filter;
	d.accept_local = d.accept_local || a->accept_local;
	d.route_localnet = d.route_localnet || a->route_localnet;
	return d;
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
	free(ni->routes);
	free(ni->routing_blind_spot);
	free(ni->inet_blind_spot);
	*ni = (struct pc_netif){};
}
