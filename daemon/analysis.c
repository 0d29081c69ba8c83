/* SPDX-License-Identifier: MIT */
/*
 * The firewalld layer of the analysis: for each listener, which interfaces and families
 * reach it, which firewalld zone handles each source range there, and what that zone does
 * with a new connection. Pure: no I/O, everything comes in as snapshots.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/fwzone.h"
#include "portcheck/report.h"

/* firewalld's nftables backend rejects with "icmpx admin-prohibited". */
static const struct pc_reject fw_reject_v4 = {.icmp_type = 3, .icmp_code = 13};
static const struct pc_reject fw_reject_v6 = {.icmp_type = 1, .icmp_code = 1};

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

static bool listener_is_local_only(const struct pc_listener *l, const struct pc_netif *ni)
{
	const struct pc_link *dev;

	if (pc_addr_is_loopback(&l->addr))
		return true;
	dev = l->bound_ifindex ? pc_netif_link_by_index(ni, l->bound_ifindex) : NULL;
	return dev && dev->loopback;
}

/* Can a connection over @family arriving on @link reach @l? */
static bool link_reaches(const struct pc_listener *l, const struct pc_netif *ni,
			 const struct pc_link *link, int family)
{
	struct pc_addr a;

	if (!link->up || link->loopback)
		return false;
	if (l->bound_ifindex && l->bound_ifindex != link->ifindex)
		return false;
	if (!pc_netif_has_family(ni, link->ifindex, family))
		return false;
	a = listener_addr_for(l, family);
	/* A socket bound to a specific address is reached through the interface that carries
	 * the address (the route the address is announced by). */
	return pc_addr_is_any(&a) || pc_netif_has_addr(ni, link->ifindex, &a);
}

struct source_group {
	const struct pc_fw_zone *zone;
	struct pc_prefix *prefixes;
	size_t n;
};

static int prefixes_to_string(const struct pc_prefix *p, size_t n, char **ret)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	char tmp[PC_PREFIXSTRLEN];

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		/* Always print the length so a host address still reads as a range. */
		pc_addr_to_string(&p[i].addr, tmp);
		fprintf(f, "%s%s/%u", i ? "," : "", tmp, p[i].len);
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

static const struct pc_reject *fw_reject_for(int family)
{
	return family == AF_INET ? &fw_reject_v4 : &fw_reject_v6;
}

/* Fill the verdict of @p from what @zone decides, and whether that survives a reload. */
static int path_decide(const struct pc_firewalld *fw, const struct pc_fw_zone *zone,
		       const struct pc_listener *l, struct pc_path *p)
{
	struct pc_fwzone_decision d, dperm;
	const char *pname = pc_proto_name(l->protocol);
	char reason[512];

	if (fw->panic) {
		p->verdict = PC_VERDICT_DROP;
		snprintf(reason, sizeof(reason),
			 "firewalld is in panic mode: every packet is dropped");
		goto done;
	}
	if (!zone) {
		p->verdict = PC_VERDICT_UNKNOWN;
		snprintf(reason, sizeof(reason),
			 "no firewalld zone applies (default zone %s not found)",
			 fw->default_zone ? fw->default_zone : "unset");
		goto done;
	}
	p->zone = strdup(zone->name);
	if (!p->zone)
		return -ENOMEM;
	pc_fwzone_decide(&fw->runtime, zone, p->family, l->protocol, l->port, &d);
	switch (d.outcome) {
	case PC_FWZONE_ALLOW:
		p->verdict = PC_VERDICT_ACCEPT;
		p->allowed_by = strdup(d.what);
		if (!p->allowed_by)
			return -ENOMEM;
		if (fw->have_permanent) {
			const struct pc_fw_zone *pz = pc_fw_config_zone(&fw->permanent, zone->name);
			if (pz)
				pc_fwzone_decide(&fw->permanent, pz, p->family, l->protocol,
						 l->port, &dperm);
			p->runtime_only = !pz || dperm.outcome != PC_FWZONE_ALLOW;
		}
		snprintf(reason, sizeof(reason), "zone %s allows %u/%s (%s)%s", zone->name, l->port,
			 pname, d.what,
			 p->runtime_only ? "; runtime only: lost on the next reload" : "");
		break;
	case PC_FWZONE_DROP:
		p->verdict = PC_VERDICT_DROP;
		snprintf(
		    reason, sizeof(reason),
		    "zone %s (target DROP) drops it: no service, port or protocol allows %u/%s",
		    zone->name, l->port, pname);
		break;
	case PC_FWZONE_REJECT:
		p->verdict = PC_VERDICT_REJECT;
		p->reject = *fw_reject_for(p->family);
		snprintf(
		    reason, sizeof(reason),
		    "zone %s (target %s) rejects it: no service, port or protocol allows %u/%s",
		    zone->name, zone->target ? zone->target : "default", l->port, pname);
		break;
	case PC_FWZONE_UNKNOWN:
		p->verdict = PC_VERDICT_UNKNOWN;
		snprintf(reason, sizeof(reason),
			 "zone %s: %s touches %u/%s and is not evaluated yet", zone->name, d.what,
			 l->port, pname);
		break;
	}
done:
	p->reason = strdup(reason);
	return p->reason ? 0 : -ENOMEM;
}

static struct pc_path *report_add_path(struct pc_listener_report *lr, const struct pc_link *link,
				       int family)
{
	struct pc_path *p = pc_array_grow(&lr->paths, &lr->n_paths, sizeof(*p));

	if (!p)
		return NULL;
	snprintf(p->interface, sizeof(p->interface), "%s", link->name);
	p->family = family;
	return p;
}

/* firewalld source bindings of @family as prefixes. Sources that are not CIDRs (ipset:,
 * MAC addresses) cannot be placed in the address space; *ret_opaque says there were some. */
static int collect_source_groups(const struct pc_firewalld *fw, int family,
				 struct source_group **ret, size_t *ret_n, bool *ret_opaque)
{
	struct source_group *groups = NULL;
	size_t n = 0;
	bool opaque = false;

	for (size_t i = 0; i < fw->runtime.n_zones; i++) {
		const struct pc_fw_zone *z = &fw->runtime.zones[i];
		struct source_group *g = NULL;

		for (size_t j = 0; j < z->sources.n; j++) {
			struct pc_prefix pfx;
			if (pc_prefix_from_string(z->sources.v[j], &pfx) < 0) {
				opaque = true;
				continue;
			}
			if (pfx.addr.family != family)
				continue;
			if (!g) {
				g = pc_array_grow(&groups, &n, sizeof(*g));
				if (!g)
					goto oom;
				g->zone = z;
			}
			struct pc_prefix *slot = pc_array_grow(&g->prefixes, &g->n, sizeof(*slot));
			if (!slot)
				goto oom;
			*slot = pfx;
		}
	}
	*ret = groups;
	*ret_n = n;
	*ret_opaque = opaque;
	return 0;
oom:
	for (size_t i = 0; i < n; i++)
		free(groups[i].prefixes);
	free(groups);
	return -ENOMEM;
}

static void source_groups_free(struct source_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(g[i].prefixes);
	free(g);
}

/* Paths of one (interface, family): one per source-bound zone, then the rest of the address
 * space in the interface's zone. firewalld dispatches by source before interface. */
static int analyse_link_family(const struct pc_firewalld *fw, const struct pc_listener *l,
			       const struct pc_link *link, int family,
			       struct pc_listener_report *lr)
{
	struct source_group *groups = NULL;
	size_t n_groups = 0;
	bool opaque = false;
	struct pc_prefix *all_src = NULL, *rest = NULL;
	size_t n_all = 0;
	struct pc_path *p;
	int r, n_rest;

	if (!fw->running) {
		p = report_add_path(lr, link, family);
		if (!p)
			return -ENOMEM;
		p->verdict = PC_VERDICT_UNKNOWN;
		p->source = strdup("any");
		/* Why firewalld is unavailable is said once, at the top of the report. */
		p->reason = strdup("firewalld is not available: no verdict without it yet");
		return (!p->source || !p->reason) ? -ENOMEM : 0;
	}

	r = collect_source_groups(fw, family, &groups, &n_groups, &opaque);
	if (r < 0)
		return r;
	for (size_t g = 0; g < n_groups; g++) {
		p = report_add_path(lr, link, family);
		if (!p || prefixes_to_string(groups[g].prefixes, groups[g].n, &p->source) < 0)
			goto oom;
		if (path_decide(fw, groups[g].zone, l, p) < 0)
			goto oom;
		for (size_t k = 0; k < groups[g].n; k++) {
			struct pc_prefix *slot = pc_array_grow(&all_src, &n_all, sizeof(*slot));
			if (!slot)
				goto oom;
			*slot = groups[g].prefixes[k];
		}
	}

	n_rest = pc_prefix_complement(family, all_src, n_all, &rest);
	if (n_rest < 0)
		goto oom;
	if (n_rest > 0) {
		p = report_add_path(lr, link, family);
		if (!p)
			goto oom;
		if (n_all == 0)
			p->source = strdup("any");
		else if (prefixes_to_string(rest, n_rest, &p->source) < 0)
			goto oom;
		if (!p->source)
			goto oom;
		r = path_decide(
		    fw, pc_fwzone_of_interface(&fw->runtime, fw->default_zone, link->name), l, p);
		if (r < 0)
			goto oom;
		if (opaque && p->verdict == PC_VERDICT_ACCEPT) {
			/* An ipset or MAC source may claim some of these addresses for another
			 * zone: never claim accept on a guess. */
			p->verdict = PC_VERDICT_UNKNOWN;
			free(p->reason);
			p->reason =
			    strdup("a zone is bound to an ipset or MAC source that may claim "
				   "these sources; not evaluated yet");
			if (!p->reason)
				goto oom;
		}
	}
	free(rest);
	free(all_src);
	source_groups_free(groups, n_groups);
	return 0;
oom:
	free(rest);
	free(all_src);
	source_groups_free(groups, n_groups);
	return -ENOMEM;
}

static enum pc_exposure exposure_of(const struct pc_listener_report *lr)
{
	size_t accept = 0;

	if (lr->n_paths == 0)
		return PC_EXPOSURE_LOCAL_ONLY;
	for (size_t i = 0; i < lr->n_paths; i++) {
		if (lr->paths[i].verdict == PC_VERDICT_UNKNOWN)
			return PC_EXPOSURE_UNKNOWN;
		if (lr->paths[i].verdict == PC_VERDICT_ACCEPT)
			accept++;
	}
	return accept == lr->n_paths ? PC_EXPOSURE_OPEN
	       : accept == 0	     ? PC_EXPOSURE_BLOCKED
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

/* Suggest opening the port in the first zone that blocks it, or making a runtime-only
 * allowance permanent. */
static int suggest_fix(const struct pc_firewalld *fw, struct pc_listener_report *lr)
{
	const struct pc_listener *l = &lr->listener;
	const struct pc_path *target = NULL;
	const char *svc;

	for (size_t i = 0; i < lr->n_paths && !target; i++) {
		const struct pc_path *p = &lr->paths[i];
		if (p->zone && (p->verdict == PC_VERDICT_REJECT || p->verdict == PC_VERDICT_DROP ||
				(p->verdict == PC_VERDICT_ACCEPT && p->runtime_only)))
			target = p;
	}
	if (!target || fw->panic)
		return 0;
	svc = service_for_port(&fw->runtime, l->protocol, l->port);
	if (asprintf(&lr->fix.port, "%u/%s", l->port, pc_proto_name(l->protocol)) < 0)
		return -ENOMEM;
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

static int analyse_listener(const struct pc_listener *l, const struct pc_netif *ni,
			    const struct pc_firewalld *fw, struct pc_listener_report *lr)
{
	static const int families[] = {AF_INET, AF_INET6};
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
				if (!(lr->families & bit) ||
				    !link_reaches(l, ni, &ni->links[i], families[f]))
					continue;
				r = analyse_link_family(fw, l, &ni->links[i], families[f], lr);
				if (r < 0)
					return r;
			}
		}
	}
	lr->exposure = exposure_of(lr);
	return suggest_fix(fw, lr);
}

static int dup_or_null(const char *s, char **ret)
{
	*ret = NULL;
	if (s && !(*ret = strdup(s)))
		return -ENOMEM;
	return 0;
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

int pc_analysis_run(const struct pc_listener_set *ls, const struct pc_netif *ni,
		    const struct pc_firewalld *fw, struct pc_report *ret)
{
	struct pc_report r = {0};
	int e;

	r.fw_running = fw->running;
	r.fw_panic = fw->panic;
	if (dup_or_null(fw->version, &r.fw_version) < 0 ||
	    dup_or_null(fw->default_zone, &r.fw_default_zone) < 0 ||
	    dup_or_null(fw->state, &r.fw_state) < 0 || dup_or_null(fw->error, &r.fw_error) < 0)
		goto oom;
	for (size_t i = 0; i < ls->n; i++) {
		struct pc_listener_report *lr =
		    pc_array_grow(&r.listeners, &r.n_listeners, sizeof(*lr));
		if (!lr)
			goto oom;
		e = analyse_listener(&ls->items[i], ni, fw, lr);
		if (e < 0)
			goto oom;
	}
	if (r.n_listeners > 1)
		qsort(r.listeners, r.n_listeners, sizeof(*r.listeners), listener_report_cmp);
	*ret = r;
	return 0;
oom:
	pc_report_clear(&r);
	return -ENOMEM;
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

static void path_clear(struct pc_path *p)
{
	free(p->source);
	free(p->zone);
	free(p->allowed_by);
	free(p->reason);
}

void pc_report_clear(struct pc_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_listeners; i++) {
		struct pc_listener_report *lr = &r->listeners[i];
		for (size_t j = 0; j < lr->n_paths; j++)
			path_clear(&lr->paths[j]);
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
	*r = (struct pc_report){0};
}
