/* SPDX-License-Identifier: MIT */
/*
 * The analysis: for each listener, which interfaces and families reach it; for each of
 * those, the source address space split into pieces inside which the ruleset cannot tell
 * addresses apart; one engine evaluation per piece (the kernel's verdict) with the firewalld
 * layer beside it; neighbouring pieces with the same outcome merged into one path.
 * Pure: no I/O, everything comes in as snapshots.
 */
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h> /* before linux/netfilter.h, which pulls in linux/in.h */
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/fwzone.h"
#include "portcheck/nftvm.h"
#include "portcheck/report.h"
#include "portcheck/route.h"
#include "portcheck/strsan.h"

/* Source pieces per (listener, interface, family) evaluated one by one at most: at ~3 us an
 * evaluation, 8,192 pieces cost ~25 ms per listener and family. */
#define PC_MAX_SOURCE_PIECES 8192

static unsigned listener_families(const struct pc_listener *l)
{
	if (l->addr.family == AF_INET)
		return PC_FAMILY_IPV4;
	if (pc_addr_is_v4mapped(&l->addr))
		return PC_FAMILY_IPV4;
	/* A "::" socket without IPV6_V6ONLY also accepts IPv4 (as v4-mapped addresses). */
	if (pc_addr_is_any(&l->addr) && !l->v6only)
		return PC_FAMILY_IPV4 | PC_FAMILY_IPV6;
	return PC_FAMILY_IPV6;
}

/* The address as the kernel matches it for @family: v4-mapped IPv6 becomes IPv4. */
static struct pc_addr listener_addr_for(const struct pc_listener *l, int family)
{
	struct pc_addr a = l->addr;

	if (family == AF_INET && a.family == AF_INET6) {
		a.family = AF_INET;
		memmove(a.bytes, a.bytes + 12, 4);
		memset(a.bytes + 4, 0, 12);
	}
	return a;
}

/* Bound to lo: nothing from the network is delivered to it. (An IPv4 loopback address is
 * not enough: route_localnet makes it reachable, see link_destination.) */
static bool listener_is_local_only(const struct pc_listener *l, const struct pc_netif *ni)
{
	const struct pc_link *dev;

	if (l->addr.family == AF_INET6 && pc_addr_is_loopback(&l->addr) &&
	    !pc_addr_is_v4mapped(&l->addr))
		return true;
	dev = l->bound_ifindex ? pc_netif_link_by_index(ni, l->bound_ifindex) : NULL;
	return dev && dev->loopback;
}

static bool is_v4_loopback(const struct pc_addr *a)
{
	return a->family == AF_INET && a->bytes[0] == 127;
}

/* Whether @link is in [Findings] IgnoreInterfaces=. */
static bool link_ignored(const struct pc_analysis_input *in, const struct pc_link *link)
{
	for (size_t i = 0; in->ignore_interfaces && i < in->ignore_interfaces->n; i++)
		if (fnmatch(in->ignore_interfaces->v[i], link->name, 0) == 0)
			return true;
	return false;
}

static bool is_link_local6(const struct pc_addr *a)
{
	return a->family == AF_INET6 && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
}

/* The address a client uses to reach @link over @family: its first global address, else
 * its first address. */
static bool link_address(const struct pc_netif *ni, uint32_t ifindex, int family,
			 struct pc_addr *ret)
{
	const struct pc_addr *fallback = NULL;

	for (size_t i = 0; i < ni->n_addrs; i++) {
		const struct pc_addr *a = &ni->addrs[i].prefix.addr;
		if (ni->addrs[i].ifindex != ifindex || a->family != family)
			continue;
		if (!is_link_local6(a)) {
			*ret = *a;
			return true;
		}
		if (!fallback)
			fallback = a;
	}
	if (fallback)
		*ret = *fallback;
	return fallback != NULL;
}

/* Enslaved to a VRF (an l3mdev master). */
static bool link_in_vrf(const struct pc_netif *ni, const struct pc_link *link)
{
	const struct pc_link *m = link->master ? pc_netif_link_by_index(ni, link->master) : NULL;

	return m && strcmp(m->kind, "vrf") == 0;
}

/* A global (not loopback, not link-local) address of this host of @family. */
static bool any_host_address(const struct pc_netif *ni, int family, struct pc_addr *ret)
{
	for (size_t i = 0; i < ni->n_addrs; i++) {
		const struct pc_addr *a = &ni->addrs[i].prefix.addr;

		if (a->family == family && !pc_addr_is_loopback(a) && !is_link_local6(a)) {
			*ret = *a;
			return true;
		}
	}
	return false;
}

/*
 * The destination a connection to @l over @family on @link is addressed to, or false when
 * @link does not reach @l. Linux is a weak host: a socket bound to one of this host's
 * addresses is reached through every interface, not only the one carrying the address
 * (rules, rp_filter and the routing decision on the path say whether it gets through).
 * Exceptions: a socket bound to a device (SO_BINDTODEVICE, or a VRF it is enslaved to)
 * only through that device; a link-local address only on its link; an IPv4 loopback
 * address only through interfaces with route_localnet (unknown when the sysctls could not
 * be read: the path is kept, the engine says why).
 */
static bool link_destination(const struct pc_listener *l, const struct pc_netif *ni,
			     const struct pc_link *link, int family, struct pc_addr *ret)
{
	bool vrf_slave = link_in_vrf(ni, link);
	struct pc_addr a;

	if (!link->up || link->loopback)
		return false;
	/* A bridge port or a bond slave hands its packets to the master: the IP layer never
	 * sees them arrive on the port. A VRF slave stays (its paths say VRF: unknown). */
	if (link->master && !vrf_slave)
		return false;
	if (l->bound_ifindex && l->bound_ifindex != link->ifindex &&
	    !(vrf_slave && l->bound_ifindex == link->master))
		return false;
	a = listener_addr_for(l, family);
	if (pc_addr_is_any(&a)) {
		if (link_address(ni, link->ifindex, family, ret))
			return true;
		/* An IPv4 link without an address (unnumbered, a tunnel with a route) still
		 * delivers to a wildcard socket whatever local address a client uses. (Without
		 * any IPv6 address IPv6 is off on the link.) */
		return family == AF_INET && any_host_address(ni, family, ret);
	}
	if (is_v4_loopback(&a)) {
		if (!pc_netif_inet_conf(ni, link).route_localnet && !ni->inet_blind_spot)
			return false;
	} else if (is_link_local6(&a)) {
		if (!pc_netif_has_addr(ni, link->ifindex, &a))
			return false;
	} else {
		bool local = false;

		for (size_t i = 0; i < ni->n_addrs && !local; i++)
			local = pc_addr_equal(&ni->addrs[i].prefix.addr, &a);
		if (!local) /* IP_FREEBIND or a transparent socket: nothing routes to it here */
			return false;
	}
	*ret = a;
	return true;
}

/* --- one piece of the source space ------------------------------------------------------ */

struct piece {
	struct pc_addr lo, hi;
	struct pc_nft_result res; /* no trace */
	bool engine;		  /* res is the engine's */
	struct pc_fw_view fw;
	bool fw_known; /* firewalld is running and fw is its view */
	bool spoofed;  /* no client on this interface has these sources (pc_path) */
};

/* Routes are piece bounds, so every address of a piece has the same route back. A route
 * back that is not modelled counts as a client: a path is never hidden on a guess. A
 * socket bound to @link answers through it (pc_route_back). */
static bool source_spoofed(const struct pc_netif *ni, const struct pc_link *link,
			   const struct pc_listener *l, const struct pc_addr *src)
{
	return pc_route_back(ni, src, link->ifindex, l->bound_ifindex == link->ifindex) ==
	       PC_ROUTE_BACK_ELSEWHERE;
}

/* A source address inside [lo, hi] to evaluate with. Every address of the piece gets the
 * same verdict from the ruleset, but the kernel drops some sources before or after
 * netfilter (0.0.0.0/8, loopback), so avoid those when the piece has others. */
static struct pc_addr representative(const struct pc_addr *lo, const struct pc_addr *hi)
{
	struct pc_addr a = *lo;

	if (a.family == AF_INET && (a.bytes[0] == 0 || a.bytes[0] == 127)) {
		struct pc_addr b = {.family = AF_INET, .bytes = {a.bytes[0] + 1}};
		if (pc_addr_cmp(&b, hi) <= 0)
			a = b;
	} else if (a.family == AF_INET6 && a.bytes[0] == 0) {
		struct pc_addr b = {.family = AF_INET6, .bytes = {0x20}}; /* 2000::, global */
		if (pc_addr_cmp(&b, hi) <= 0 && pc_addr_cmp(&b, lo) >= 0)
			a = b;
	}
	return a;
}

static bool rule_ref_equal(const struct pc_nft_result *a, const struct pc_nft_result *b)
{
	if (a->has_rule != b->has_rule)
		return false;
	if (!a->has_rule)
		return true;
	return a->rule.family == b->rule.family && a->rule.handle == b->rule.handle &&
	       a->rule.policy == b->rule.policy && strcmp(a->rule.table, b->rule.table) == 0 &&
	       strcmp(a->rule.chain, b->rule.chain) == 0;
}

/* Neighbouring pieces with equal outcomes become one path. */
static bool piece_same_outcome(const struct piece *a, const struct piece *b)
{
	const struct pc_nft_result *x = &a->res, *y = &b->res;

	return x->verdict == y->verdict && memcmp(&x->reject, &y->reject, sizeof(x->reject)) == 0 &&
	       rule_ref_equal(x, y) && x->forwarded == y->forwarded &&
	       x->dnat_local == y->dnat_local && pc_addr_equal(&x->fwd_addr, &y->fwd_addr) &&
	       x->fwd_port == y->fwd_port && strcmp(x->unknown_reason, y->unknown_reason) == 0 &&
	       strcmp(x->note, y->note) == 0 && a->fw.zone == b->fw.zone &&
	       a->fw.decision.outcome == b->fw.decision.outcome &&
	       strcmp(a->fw.decision.what, b->fw.decision.what) == 0 &&
	       a->fw.runtime_only == b->fw.runtime_only && a->spoofed == b->spoofed;
}

/* --- building paths ---------------------------------------------------------------------- */

static const char *nfproto_name(uint32_t family)
{
	switch (family) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_ARP:
		return "arp";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_NETDEV:
		return "netdev";
	default:
		return "?";
	}
}

static int rule_info_set(struct pc_rule_info *ri, const struct pc_rule_ref *ref, uint32_t policy)
{
	ri->family = strdup(nfproto_name(ref->family));
	ri->table = strdup(ref->table ? ref->table : "?");
	ri->chain = strdup(ref->chain ? ref->chain : "?");
	ri->handle = ref->handle;
	if (ref->policy)
		ri->text = strdup(policy == NF_ACCEPT ? "policy accept" : "policy drop");
	else
		ri->text = ref->text ? strdup(ref->text) : NULL;
	if (!ri->family || !ri->table || !ri->chain || (!ri->text && (ref->policy || ref->text)))
		return -ENOMEM;
	return 0;
}

static const char *action_word(enum pc_verdict v)
{
	switch (v) {
	case PC_VERDICT_ACCEPT:
		return "accepted";
	case PC_VERDICT_DROP:
		return "dropped";
	case PC_VERDICT_REJECT:
		return "rejected";
	default:
		return "unknown";
	}
}

static enum pc_verdict fw_outcome_verdict(enum pc_fwzone_outcome o)
{
	switch (o) {
	case PC_FWZONE_ALLOW:
		return PC_VERDICT_ACCEPT;
	case PC_FWZONE_DROP:
		return PC_VERDICT_DROP;
	case PC_FWZONE_REJECT:
		return PC_VERDICT_REJECT;
	default:
		return PC_VERDICT_UNKNOWN;
	}
}

/* The firewalld layer in words: "zone public allows 22/tcp (service ssh)". */
static void fw_words(const struct piece *pc, const struct pc_listener *l, char *buf, size_t size)
{
	const struct pc_fw_zone *z = pc->fw.zone;
	const char *proto = pc_proto_name(l->protocol);

	if (!pc->fw_known || !z) {
		buf[0] = '\0';
		return;
	}
	switch (pc->fw.decision.outcome) {
	case PC_FWZONE_ALLOW:
		snprintf(buf, size, "zone %s allows %u/%s (%s)%s", z->name, l->port, proto,
			 pc->fw.decision.what,
			 pc->fw.runtime_only ? "; runtime only: lost on the next reload" : "");
		break;
	case PC_FWZONE_DROP:
	case PC_FWZONE_REJECT:
		snprintf(buf, size,
			 "zone %s (target %s): no service, port or protocol allows %u/%s", z->name,
			 z->target ? z->target : "default", l->port, proto);
		break;
	case PC_FWZONE_UNKNOWN:
		snprintf(buf, size, "zone %s: %s touches %u/%s", z->name, pc->fw.decision.what,
			 l->port, proto);
		break;
	}
}

static int path_reason(struct pc_path *p, const struct piece *pc, const struct pc_listener *l)
{
	const struct pc_nft_result *res = &pc->res;
	char fw[384], engine[640];

	fw_words(pc, l, fw, sizeof(fw));
	if (!pc->engine) {
		snprintf(engine, sizeof(engine), "%s", res->unknown_reason);
	} else if (res->verdict == PC_VERDICT_UNKNOWN) {
		snprintf(engine, sizeof(engine), "unknown: %s", res->unknown_reason);
	} else if (res->has_rule && res->rule.policy) {
		snprintf(engine, sizeof(engine), "%s by the policy of %s %s %s",
			 action_word(res->verdict), nfproto_name(res->rule.family), res->rule.table,
			 res->rule.chain);
	} else if (res->has_rule) {
		snprintf(engine, sizeof(engine), "%s by \"%s\" (%s %s %s handle %llu)",
			 action_word(res->verdict), res->rule.text ? res->rule.text : "?",
			 nfproto_name(res->rule.family), res->rule.table, res->rule.chain,
			 (unsigned long long)res->rule.handle);
	} else if (res->note[0]) {
		snprintf(engine, sizeof(engine), "%s: %s", action_word(res->verdict), res->note);
	} else {
		snprintf(engine, sizeof(engine), "%s: no rule on the path decides",
			 action_word(res->verdict));
	}
	if (p->forwarded_to) {
		size_t len = strlen(engine);
		snprintf(engine + len, sizeof(engine) - len,
			 res->forwarded ? "; DNAT sends it to %s, not to this socket"
					: "; DNAT sends it to %s on this host",
			 p->forwarded_to);
	}
	if (p->disagrees) {
		if (asprintf(&p->reason, "%s; firewalld's %s, yet the kernel decides otherwise",
			     engine, fw) < 0)
			p->reason = NULL;
	} else if (fw[0]) {
		if (asprintf(&p->reason, "%s; firewalld: %s", engine, fw) < 0)
			p->reason = NULL;
	} else {
		p->reason = strdup(engine);
	}
	if (!p->reason)
		return -ENOMEM;
	/* The pieces are sanitised names, but the fixed buffers above may have cut one in the
	 * middle of a character: text mode escapes such a fragment and changes nothing else. */
	return pc_strsan_replace(&p->reason, PC_STRSAN_TEXT);
}

/* A source range [lo, hi] of one path. */
struct src_range {
	struct pc_addr lo, hi;
};

static int path_source(struct pc_path *p, const struct src_range *ranges, size_t n_ranges)
{
	int family = ranges[0].lo.family;
	struct pc_addr zero = {.family = family}, max = pc_addr_max(family);
	struct pc_prefix *list = NULL;
	size_t n = 0;
	char *buf = NULL, tmp[PC_ADDRSTRLEN];
	size_t size = 0;
	FILE *f;

	if (n_ranges == 1 && pc_addr_equal(&ranges[0].lo, &zero) &&
	    pc_addr_equal(&ranges[0].hi, &max)) {
		p->source = strdup("any");
		return p->source ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < n_ranges; i++) {
		if (pc_range_to_prefixes(&ranges[i].lo, &ranges[i].hi, &list, &n) < 0) {
			free(list);
			return -ENOMEM;
		}
	}
	f = open_memstream(&buf, &size);
	if (!f) {
		free(list);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		/* Always with the length, so a host address still reads as a range. */
		fprintf(f, "%s%s/%u", i ? "," : "", pc_addr_to_string(&list[i].addr, tmp),
			list[i].len);
	free(list);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	p->source = buf;
	return 0;
}

/* Fill @p for the source @ranges, which share @first's outcome, of a connection to @l. */
static int fill_path(struct pc_path *p, const struct pc_listener *l, const struct pc_link *link,
		     const struct pc_nft_ruleset *rs, const struct piece *first,
		     const struct src_range *ranges, size_t n_ranges)
{
	const struct pc_nft_result *res = &first->res;
	char addr[PC_ADDRSTRLEN];

	snprintf(p->interface, sizeof(p->interface), "%s", link->name);
	p->family = first->lo.family;
	p->spoofed = first->spoofed;
	p->verdict = res->verdict;
	p->reject = res->reject;
	p->fw_verdict = PC_VERDICT_UNKNOWN;
	if (path_source(p, ranges, n_ranges) < 0)
		return -ENOMEM;
	if (res->has_rule) {
		uint32_t policy = NF_DROP;
		if (res->rule.policy) {
			const struct pc_nft_table *t = NULL;
			for (size_t i = 0; rs && i < rs->n_tables && !t; i++)
				if (rs->tables[i].family == res->rule.family &&
				    strcmp(rs->tables[i].name, res->rule.table) == 0)
					t = &rs->tables[i];
			const struct pc_nft_chain *c =
			    t ? pc_nft_chain_find(t, res->rule.chain) : NULL;
			policy = c ? c->policy : NF_DROP;
		}
		p->has_rule = true;
		if (rule_info_set(&p->rule, &res->rule, policy) < 0)
			return -ENOMEM;
	}
	/* Any DNAT that changed the destination, to another host or to another address or
	 * port of this one: the connection may no longer be this socket's. */
	if (res->forwarded || res->dnat_local) {
		if (asprintf(&p->forwarded_to,
			     res->fwd_addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u",
			     pc_addr_to_string(&res->fwd_addr, addr), res->fwd_port) < 0) {
			p->forwarded_to = NULL;
			return -ENOMEM;
		}
	}
	if (first->fw_known && first->fw.zone) {
		p->zone = strdup(first->fw.zone->name);
		if (!p->zone)
			return -ENOMEM;
		p->fw_verdict = fw_outcome_verdict(first->fw.decision.outcome);
		if (first->fw.decision.outcome == PC_FWZONE_ALLOW) {
			/* what[] is a bounded copy of a rule: perhaps cut inside a character. */
			const char *w = first->fw.decision.what;

			if (pc_strsan(w, strlen(w), PC_STRSAN_TEXT, &p->allowed_by) < 0)
				return -ENOMEM;
			p->runtime_only = first->fw.runtime_only;
		}
		/* Only a firewalld view that could be the kernel's answer can disagree: DNAT'd
		 * connections bypass the zones by design and are not a disagreement. */
		p->disagrees =
		    first->engine && p->verdict != PC_VERDICT_UNKNOWN &&
		    p->fw_verdict != PC_VERDICT_UNKNOWN && !p->forwarded_to &&
		    (p->verdict == PC_VERDICT_ACCEPT) != (p->fw_verdict == PC_VERDICT_ACCEPT);
	}
	return path_reason(p, first, l);
}

/* Paths of one (interface, family) being built: one per distinct outcome, each with the
 * source ranges that have it, so equal outcomes that are not neighbours share a path. */
struct outcome_group {
	struct piece outcome;
	struct src_range *ranges;
	size_t n_ranges;
};

struct outcome_groups {
	struct outcome_group *v;
	size_t n;
};

static int groups_add(struct outcome_groups *gs, const struct piece *outcome,
		      const struct pc_addr *lo, const struct pc_addr *hi)
{
	struct outcome_group *g = NULL;
	struct src_range *r;

	for (size_t i = 0; i < gs->n && !g; i++)
		if (piece_same_outcome(&gs->v[i].outcome, outcome))
			g = &gs->v[i];
	if (!g) {
		g = pc_array_grow(&gs->v, &gs->n, sizeof(*g));
		if (!g)
			return -ENOMEM;
		g->outcome = *outcome;
	}
	r = pc_array_grow(&g->ranges, &g->n_ranges, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->lo = *lo;
	r->hi = *hi;
	return 0;
}

static void groups_clear(struct outcome_groups *gs)
{
	for (size_t i = 0; i < gs->n; i++)
		free(gs->v[i].ranges);
	free(gs->v);
}

static int groups_to_paths(const struct outcome_groups *gs, struct pc_listener_report *lr,
			   const struct pc_link *link, const struct pc_nft_ruleset *rs)
{
	/* One outcome for every possible source: "any". */
	if (gs->n == 1) {
		int family = gs->v[0].ranges[0].lo.family;
		struct src_range all = {.lo = {.family = family}, .hi = pc_addr_max(family)};
		struct pc_path *p = pc_array_grow(&lr->paths, &lr->n_paths, sizeof(*p));

		return p ? fill_path(p, &lr->listener, link, rs, &gs->v[0].outcome, &all, 1)
			 : -ENOMEM;
	}
	for (size_t i = 0; i < gs->n; i++) {
		struct pc_path *p = pc_array_grow(&lr->paths, &lr->n_paths, sizeof(*p));
		int r;

		if (!p)
			return -ENOMEM;
		r = fill_path(p, &lr->listener, link, rs, &gs->v[i].outcome, gs->v[i].ranges,
			      gs->v[i].n_ranges);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- the source pieces of one family -------------------------------------------------- */

struct family_pieces {
	struct pc_addr *starts;
	size_t n;
	/* Sources no connection from the network can have: the kernel drops them before or
	 * after netfilter whatever the ruleset says, so they are no path of their own. */
	struct pc_prefix *impossible;
	size_t n_impossible;
	struct pc_prefix *bounds_only; /* more places to split, with no meaning of their own */
	size_t n_bounds_only;
};

static int add_impossible(struct family_pieces *fp, const char *prefix)
{
	struct pc_prefix *slot = pc_array_grow(&fp->impossible, &fp->n_impossible, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	return pc_prefix_from_string(prefix, slot) < 0 ? -EINVAL : 0;
}

/*
 * IPv4: 0.0.0.0/8, 127.0.0.0/8 (with route_localnet the kernel lets them in, but no
 * client on the network has one: the route back is lo), multicast, the limited broadcast
 * and this host's own addresses (ip_route_input_slow and fib_validate_source drop them).
 * IPv6: the unspecified address, ::1 and multicast (ip6_rcv_core drops them), and this
 * host's own addresses: whatever the kernel does with such a spoofed packet, no client
 * connects from them.
 */
static int impossible_sources_init(const struct pc_netif *ni, int family, struct family_pieces *fp)
{
	static const char *const v4[] = {"0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4",
					 "255.255.255.255/32"};
	static const char *const v6[] = {"::/128", "::1/128", "ff00::/8"};
	static const struct pc_prefix link_local = {
	    .addr = {.family = AF_INET6, .bytes = {0xfe, 0x80}}, .len = 64};
	const char *const *list = family == AF_INET ? v4 : v6;
	size_t n = family == AF_INET ? ELEMENTSOF(v4) : ELEMENTSOF(v6);
	int r;

	for (size_t i = 0; i < n; i++) {
		r = add_impossible(fp, list[i]);
		if (r < 0)
			return r;
	}
	if (family == AF_INET6) {
		/* Not impossible, but where link-local destinations' sources end. */
		struct pc_prefix *slot =
		    pc_array_grow(&fp->bounds_only, &fp->n_bounds_only, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = link_local;
	}
	for (size_t i = 0; i < ni->n_addrs; i++) {
		struct pc_prefix *slot;
		if (ni->addrs[i].prefix.addr.family != family)
			continue;
		slot = pc_array_grow(&fp->impossible, &fp->n_impossible, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		slot->addr = ni->addrs[i].prefix.addr;
		slot->len = (uint8_t)(pc_addr_size(family) * 8);
	}
	return 0;
}

/* Pieces never straddle an impossible range (its bounds are piece starts). */
static bool piece_impossible(const struct family_pieces *fp, const struct pc_addr *lo)
{
	for (size_t i = 0; i < fp->n_impossible; i++)
		if (pc_prefix_contains(&fp->impossible[i], lo))
			return true;
	return false;
}

static int addr_qsort_cmp(const void *a, const void *b)
{
	return pc_addr_cmp(a, b);
}

/* Add the start of @p and the address after its end to the piece starts. */
static int add_prefix_bounds(struct pc_addr **starts, size_t *n, const struct pc_prefix *p)
{
	struct pc_addr end = p->addr;
	struct pc_addr *slot;

	for (unsigned i = p->len; i < pc_addr_size(end.family) * 8; i++)
		end.bytes[i / 8] |= 0x80 >> (i % 8);
	slot = pc_array_grow(starts, n, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = p->addr;
	if (pc_addr_inc(&end)) {
		slot = pc_array_grow(starts, n, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = end;
	}
	return 0;
}

/*
 * Where the source space of @family splits: wherever the ruleset compares source addresses
 * (the engine's verdict may change there) and wherever a firewalld source binding starts or
 * ends (the zone that explains it may change there; normally the same places, since
 * firewalld compiles its bindings into the ruleset).
 */
static int family_pieces_init(const struct pc_analysis_input *in, int family,
			      struct family_pieces *ret)
{
	struct pc_addr *starts = NULL;
	size_t n = 0, u = 0;
	int r;

	if (in->nft) {
		r = pc_nft_source_boundaries(in->nft, family, &starts);
		if (r < 0)
			return r;
		n = (size_t)r;
	}
	if (!pc_array_grow(&starts, &n, sizeof(*starts)))
		goto oom;
	starts[n - 1] = (struct pc_addr){.family = family};
	for (size_t i = 0; in->fw->running && i < in->fw->runtime.n_zones; i++) {
		const struct pc_fw_zone *z = &in->fw->runtime.zones[i];
		for (size_t j = 0; j < z->sources.n; j++) {
			struct pc_prefix p;
			if (pc_prefix_from_string(z->sources.v[j], &p) < 0 ||
			    p.addr.family != family)
				continue;
			if (add_prefix_bounds(&starts, &n, &p) < 0)
				goto oom;
		}
	}
	r = impossible_sources_init(in->netif, family, ret);
	if (r < 0) {
		free(starts);
		return r;
	}
	for (size_t i = 0; i < ret->n_impossible; i++)
		if (add_prefix_bounds(&starts, &n, &ret->impossible[i]) < 0)
			goto oom;
	for (size_t i = 0; i < ret->n_bounds_only; i++)
		if (add_prefix_bounds(&starts, &n, &ret->bounds_only[i]) < 0)
			goto oom;
	/* Routes split it too: fib expressions (firewalld's IPv6 rpfilter, addrtype) and the
	 * routing decision look source addresses up in the routing tables. */
	for (size_t i = 0; i < in->netif->n_routes; i++)
		if (in->netif->routes[i].family == family &&
		    add_prefix_bounds(&starts, &n, &in->netif->routes[i].dst) < 0)
			goto oom;
	qsort(starts, n, sizeof(*starts), addr_qsort_cmp);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || !pc_addr_equal(&starts[u - 1], &starts[i]))
			starts[u++] = starts[i];
	ret->starts = starts;
	ret->n = u;
	return 0;
oom:
	free(starts);
	return -ENOMEM;
}

static void family_pieces_clear(struct family_pieces *fp)
{
	free(fp->starts);
	free(fp->impossible);
	free(fp->bounds_only);
}

static void piece_range(const struct family_pieces *fp, size_t i, struct piece *pc)
{
	pc->lo = fp->starts[i];
	if (i + 1 < fp->n) {
		pc->hi = fp->starts[i + 1];
		pc_addr_dec(&pc->hi);
	} else {
		pc->hi = pc_addr_max(pc->lo.family);
	}
}

/* The engine's verdict and firewalld's view for @flow; the trace when asked for. */
static int evaluate_piece(const struct pc_analysis_input *in, const struct pc_link *link,
			  const struct pc_flow *flow, bool want_trace, struct piece *pc)
{
	int r;

	if (in->nft) {
		r = pc_nft_eval_path(in->nft, in->netif, flow, want_trace, &pc->res);
		if (r < 0)
			return r;
		pc->engine = true;
	} else {
		pc->res.verdict = PC_VERDICT_UNKNOWN;
		snprintf(pc->res.unknown_reason, sizeof(pc->res.unknown_reason),
			 "the nftables ruleset could not be read (%s)",
			 in->nft_error ? in->nft_error : "unknown error");
	}
	/* In panic mode firewalld's zones say nothing about what happens. */
	if (in->fw->running && !in->fw->panic) {
		pc_fwzone_view(in->fw, link->name, &flow->saddr, flow->l4proto, flow->dport,
			       &pc->fw);
		pc->fw_known = true;
	}
	return 0;
}

struct analysis {
	const struct pc_analysis_input *in;
	struct family_pieces v4, v6;
};

/*
 * Evaluate every piece of the source space for (listener, link, family). Sources that cannot
 * reach the listener over this link (impossible sources, and non-link-local sources of a
 * link-local destination) are left out; runs of neighbouring pieces with equal outcomes
 * become ranges, and ranges with equal outcomes one path. A path that holds every possible
 * source reads "any".
 */
static int analyse_link_family(struct analysis *an, const struct pc_link *link, int family,
			       const struct pc_addr *daddr, struct pc_listener_report *lr)
{
	const struct pc_analysis_input *in = an->in;
	const struct family_pieces *fp = family == AF_INET ? &an->v4 : &an->v6;
	const struct pc_listener *l = &lr->listener;
	/* Nothing routes a packet to a link-local address (RFC 4291 2.5.6): only sources on
	 * the link (fe80::/64) reach it. Its bounds are piece starts (family_pieces_init). */
	const struct pc_prefix link_local = {.addr = {.family = AF_INET6, .bytes = {0xfe, 0x80}},
					     .len = 64};
	bool link_local_dst = is_link_local6(daddr);
	struct outcome_groups groups = {0};
	struct piece run = {0}, cur;
	bool in_run = false;
	int r = 0;

	if (fp->n > PC_MAX_SOURCE_PIECES) {
		/* One evaluation per piece would take minutes to hours (a blocklist of
		 * 200,000 ranges: see the README's benchmark) and wedge the daemon. Say so
		 * rather than sample: never guess. */
		cur = (struct piece){.lo = {.family = family}, .hi = pc_addr_max(family)};
		cur.res.verdict = PC_VERDICT_UNKNOWN;
		snprintf(cur.res.unknown_reason, sizeof(cur.res.unknown_reason),
			 "the ruleset splits the %s source space into %zu ranges, more than the "
			 "%d this version evaluates one by one",
			 family == AF_INET ? "IPv4" : "IPv6", fp->n, PC_MAX_SOURCE_PIECES);
		if ((r = groups_add(&groups, &cur, &cur.lo, &cur.hi)) >= 0)
			r = groups_to_paths(&groups, lr, link, in->nft);
		groups_clear(&groups);
		return r;
	}

	for (size_t i = 0; i < fp->n; i++) {
		struct pc_addr src;

		cur = (struct piece){0};
		piece_range(fp, i, &cur);
		if (piece_impossible(fp, &cur.lo) ||
		    (link_local_dst && !pc_prefix_contains(&link_local, &cur.lo))) {
			if (in_run && (r = groups_add(&groups, &run, &run.lo, &run.hi)) < 0)
				goto out;
			in_run = false;
			continue;
		}
		src = representative(&cur.lo, &cur.hi);
		struct pc_flow flow = {.family = family,
				       .l4proto = l->protocol,
				       .saddr = src,
				       .daddr = *daddr,
				       .sport = PC_FLOW_SOURCE_PORT,
				       .dport = l->port,
				       .iif = link->ifindex};
		r = evaluate_piece(in, link, &flow, false, &cur);
		if (r < 0)
			goto out;
		cur.spoofed = source_spoofed(in->netif, link, l, &src);
		if (in_run && piece_same_outcome(&run, &cur)) {
			run.hi = cur.hi;
			continue;
		}
		if (in_run && (r = groups_add(&groups, &run, &run.lo, &run.hi)) < 0)
			goto out;
		run = cur;
		in_run = true;
	}
	if (in_run && (r = groups_add(&groups, &run, &run.lo, &run.hi)) < 0)
		goto out;
	r = groups_to_paths(&groups, lr, link, in->nft);
out:
	groups_clear(&groups);
	return r;
}

/*
 * The exposure over the paths of real clients: spoofed sources never count (dropping them
 * is the firewall working), nor do interfaces the admin ignores, unless those are all
 * there is (then the listener is marked ignored and its exposure is theirs). A listener no
 * real client reaches is local-only.
 */
static enum pc_exposure exposure_of(struct pc_listener_report *lr)
{
	size_t accept = 0, counted = 0, real = 0;

	for (size_t i = 0; i < lr->n_paths; i++)
		if (!lr->paths[i].spoofed) {
			real++;
			counted += !lr->paths[i].ignored;
		}
	lr->ignored = real > 0 && counted == 0;
	if (real == 0)
		return PC_EXPOSURE_LOCAL_ONLY;
	for (size_t i = 0; i < lr->n_paths; i++) {
		const struct pc_path *p = &lr->paths[i];

		if (p->spoofed || (p->ignored && !lr->ignored))
			continue;
		if (p->verdict == PC_VERDICT_UNKNOWN)
			return PC_EXPOSURE_UNKNOWN;
		accept += p->verdict == PC_VERDICT_ACCEPT;
	}
	counted = lr->ignored ? real : counted;
	return accept == counted ? PC_EXPOSURE_OPEN
	       : accept == 0	 ? PC_EXPOSURE_BLOCKED
				 : PC_EXPOSURE_PARTIAL;
}

/* The one firewalld service whose ports are exactly @port/@proto, or NULL (none or several). */
static const char *service_for_port(const struct pc_fw_config *cfg, uint8_t proto, uint16_t port)
{
	const char *found = NULL;

	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct pc_fw_service *s = &cfg->services[i];
		if (s->ports.n != 1 || s->protocols.n != 0 || s->ports.v[0].lo != port ||
		    s->ports.v[0].hi != port || strcmp(s->ports.v[0].proto, pc_proto_name(proto)))
			continue;
		if (found)
			return NULL;
		found = s->name;
	}
	return found;
}

/*
 * A fix through firewalld, when firewalld's zone is what blocks the listener (the kernel
 * does not accept and the zone does not allow), or when an allowance is runtime only. A
 * block by a rule outside firewalld gets no command here: the path's reason names it.
 */
static int suggest_fix(const struct pc_firewalld *fw, struct pc_listener_report *lr)
{
	const struct pc_listener *l = &lr->listener;
	const struct pc_path *target = NULL;
	const char *svc;

	for (size_t i = 0; i < lr->n_paths && !target; i++) {
		const struct pc_path *p = &lr->paths[i];
		if (!p->zone || p->forwarded_to || p->spoofed || p->ignored)
			continue;
		if ((p->verdict == PC_VERDICT_REJECT || p->verdict == PC_VERDICT_DROP) &&
		    (p->fw_verdict == PC_VERDICT_REJECT || p->fw_verdict == PC_VERDICT_DROP))
			target = p;
		else if (p->verdict == PC_VERDICT_ACCEPT && p->runtime_only)
			target = p;
	}
	if (!target || fw->panic)
		return 0;
	svc = service_for_port(&fw->runtime, l->protocol, l->port);
	if (asprintf(&lr->fix.port, "%u/%s", l->port, pc_proto_name(l->protocol)) < 0) {
		lr->fix.port = NULL;
		return -ENOMEM;
	}
	if (asprintf(&lr->fix.command, "portcheck open %s --zone %s --permanent",
		     svc ? svc : lr->fix.port, target->zone) < 0) {
		lr->fix.command = NULL;
		return -ENOMEM;
	}
	lr->fix.zone = strdup(target->zone);
	lr->fix.service = svc ? strdup(svc) : NULL;
	if (!lr->fix.zone || (svc && !lr->fix.service))
		return -ENOMEM;
	return 0;
}

static int analyse_listener(struct analysis *an, const struct pc_listener *l,
			    struct pc_listener_report *lr)
{
	static const int families[] = {AF_INET, AF_INET6};
	const struct pc_netif *ni = an->in->netif;
	int r;

	lr->listener = *l;
	lr->listener.unit = NULL;
	if (l->unit && !(lr->listener.unit = strdup(l->unit)))
		return -ENOMEM;
	lr->families = listener_families(l);

	if (!listener_is_local_only(l, ni)) {
		for (size_t i = 0; i < ni->n_links; i++) {
			for (size_t f = 0; f < ELEMENTSOF(families); f++) {
				unsigned bit =
				    families[f] == AF_INET ? PC_FAMILY_IPV4 : PC_FAMILY_IPV6;
				struct pc_addr daddr;
				if (!(lr->families & bit) ||
				    !link_destination(l, ni, &ni->links[i], families[f], &daddr))
					continue;
				size_t first = lr->n_paths;
				r = analyse_link_family(an, &ni->links[i], families[f], &daddr, lr);
				if (r < 0)
					return r;
				for (size_t k = first; k < lr->n_paths; k++)
					lr->paths[k].ignored = link_ignored(an->in, &ni->links[i]);
			}
		}
	}
	lr->exposure = exposure_of(lr);
	return suggest_fix(an->in->fw, lr);
}

/* Report order: port, then protocol, then address, so a listener is easy to find. */
static int listener_report_cmp(const void *a, const void *b)
{
	const struct pc_listener *x = &((const struct pc_listener_report *)a)->listener;
	const struct pc_listener *y = &((const struct pc_listener_report *)b)->listener;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->protocol != y->protocol)
		return x->protocol < y->protocol ? -1 : 1;
	if (x->addr.family != y->addr.family)
		return x->addr.family < y->addr.family ? -1 : 1;
	return memcmp(x->addr.bytes, y->addr.bytes, sizeof(x->addr.bytes));
}

static int dup_or_null(const char *s, char **ret)
{
	*ret = NULL;
	if (s && !(*ret = strdup(s)))
		return -ENOMEM;
	return 0;
}

int pc_analysis_run(const struct pc_analysis_input *in, struct pc_report *ret)
{
	struct analysis an = {.in = in};
	const struct pc_firewalld *fw = in->fw;
	struct pc_report r = {0};
	const char *nft_note = in->nft ? in->nft->blind_spot : in->nft_error;

	r.fw_running = fw->running;
	r.fw_panic = fw->panic;
	r.nft_read = in->nft != NULL;
	r.nft_genid = in->nft ? in->nft->genid : 0;
	if (dup_or_null(fw->version, &r.fw_version) < 0 ||
	    dup_or_null(fw->default_zone, &r.fw_default_zone) < 0 ||
	    dup_or_null(fw->state, &r.fw_state) < 0 || dup_or_null(fw->error, &r.fw_error) < 0 ||
	    dup_or_null(nft_note, &r.nft_error) < 0)
		goto oom;
	if (family_pieces_init(in, AF_INET, &an.v4) < 0 ||
	    family_pieces_init(in, AF_INET6, &an.v6) < 0)
		goto oom;
	for (size_t i = 0; i < in->listeners->n; i++) {
		struct pc_listener_report *lr =
		    pc_array_grow(&r.listeners, &r.n_listeners, sizeof(*lr));
		if (!lr || analyse_listener(&an, &in->listeners->items[i], lr) < 0)
			goto oom;
		if (in->progress)
			in->progress(in->progress_userdata);
	}
	if (r.n_listeners > 1)
		qsort(r.listeners, r.n_listeners, sizeof(*r.listeners), listener_report_cmp);
	family_pieces_clear(&an.v4);
	family_pieces_clear(&an.v6);
	*ret = r;
	return 0;
oom:
	family_pieces_clear(&an.v4);
	family_pieces_clear(&an.v6);
	pc_report_clear(&r);
	return -ENOMEM;
}

int pc_analysis_explain(const struct pc_analysis_input *in, const struct pc_link *link,
			const struct pc_flow *flow, struct pc_path *ret_path,
			struct pc_nft_result *ret_result)
{
	struct pc_listener l = {.protocol = flow->l4proto, .port = flow->dport};
	struct piece pc = {.lo = flow->saddr, .hi = flow->saddr};
	struct pc_path p = {0};
	int r;

	r = evaluate_piece(in, link, flow, true, &pc);
	if (r < 0)
		return r;
	pc.spoofed = source_spoofed(in->netif, link, &l, &flow->saddr);
	p.ignored = link_ignored(in, link);
	r = fill_path(&p, &l, link, in->nft, &pc,
		      &(struct src_range){.lo = flow->saddr, .hi = flow->saddr}, 1);
	if (r < 0) {
		pc_path_clear(&p);
		pc_nft_result_clear(&pc.res);
		return r;
	}
	*ret_path = p;
	*ret_result = pc.res;
	return 0;
}

const char *pc_verdict_to_string(enum pc_verdict v)
{
	static const char *const names[] = {
	    [PC_VERDICT_ACCEPT] = "accept",
	    [PC_VERDICT_DROP] = "drop",
	    [PC_VERDICT_REJECT] = "reject",
	    [PC_VERDICT_UNKNOWN] = "unknown",
	};
	return (unsigned)v < ELEMENTSOF(names) ? names[v] : "unknown";
}

const char *pc_exposure_to_string(enum pc_exposure e)
{
	static const char *const names[] = {
	    [PC_EXPOSURE_OPEN] = "open",       [PC_EXPOSURE_BLOCKED] = "blocked",
	    [PC_EXPOSURE_PARTIAL] = "partial", [PC_EXPOSURE_LOCAL_ONLY] = "local-only",
	    [PC_EXPOSURE_UNKNOWN] = "unknown",
	};
	return (unsigned)e < ELEMENTSOF(names) ? names[e] : "unknown";
}

void pc_path_clear(struct pc_path *p)
{
	if (!p)
		return;
	free(p->source);
	free(p->rule.family);
	free(p->rule.table);
	free(p->rule.chain);
	free(p->rule.text);
	free(p->forwarded_to);
	free(p->zone);
	free(p->allowed_by);
	free(p->reason);
	*p = (struct pc_path){0};
}

void pc_report_clear(struct pc_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_listeners; i++) {
		struct pc_listener_report *lr = &r->listeners[i];
		for (size_t j = 0; j < lr->n_paths; j++)
			pc_path_clear(&lr->paths[j]);
		free(lr->paths);
		free(lr->listener.unit);
		free(lr->fix.command);
		free(lr->fix.port);
		free(lr->fix.service);
		free(lr->fix.zone);
	}
	free(r->listeners);
	free(r->fw_version);
	free(r->fw_default_zone);
	free(r->fw_state);
	free(r->fw_error);
	free(r->nft_error);
	*r = (struct pc_report){0};
}
