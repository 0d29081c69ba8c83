/* SPDX-License-Identifier: MIT */
/*
 * The analysis: for each listener, which interfaces and families reach it; for each of
 * those, the source address space split into pieces where routes, firewalld's bindings and
 * the impossible sources change; the engine's paths through each piece (the kernel's
 * verdicts, analysis_pieces.c) with the firewalld layer beside them; sources with the same
 * outcome in any piece merged into one path.
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
#include "portcheck/portclass.h"
#include "portcheck/rcstr.h"
#include "portcheck/report.h"
#include "portcheck/route.h"
#include "portcheck/strsan.h"

#include "analysis_internal.h"

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

/* Texts for the rules the paths of @gs will name, when the snapshot came without them. */
static int texts_for_groups(const struct pc_analysis_input *in, const struct outcome_groups *gs)
{
	const struct pc_nft_rule **v = NULL;
	size_t n = 0;
	int r = 0;

	if (!in->need_texts)
		return 0;
	for (size_t i = 0; i < gs->n; i++) {
		const struct pc_rule_ref *ref = &gs->v[i].outcome.res.rule;

		size_t k = 0;

		if (!gs->v[i].outcome.res.has_rule || !ref->nft_rule || ref->nft_rule->text)
			continue;
		if (!v && !(v = calloc(gs->n, sizeof(*v))))
			return -ENOMEM;
		while (k < n && v[k] != ref->nft_rule) /* a few groups: once each */
			k++;
		if (k == n)
			v[n++] = ref->nft_rule;
	}
	if (n > 0)
		r = in->need_texts(in->need_texts_userdata, v, n);
	free(v);
	return r;
}

/*
 * Evaluate every piece of the source space for (listener, link, family). Sources that cannot
 * reach the listener over this link (impossible sources, and non-link-local sources of a
 * link-local destination) are left out; sources with equal outcomes become one path. A
 * path that holds every possible source reads "any".
 */
static int analyse_link_family(struct analysis *an, const struct pc_link *link, int family,
			       const struct pc_addr *daddr, struct pc_listener_report *lr)
{
	const struct pc_analysis_input *in = an->in;
	struct family_pieces *fp = family == AF_INET ? &an->v4 : &an->v6;
	const struct pc_listener *l = &lr->listener;
	/* Nothing routes a packet to a link-local address (RFC 4291 2.5.6): only sources on
	 * the link (fe80::/64) reach it. Its bounds are piece starts (family_pieces_init). */
	const struct pc_prefix link_local = {.addr = {.family = AF_INET6, .bytes = {0xfe, 0x80}},
					     .len = 64};
	bool link_local_dst = is_link_local6(daddr);
	/* The analysis' arrays, emptied (outcome_groups, piece_results). */
	struct outcome_groups *groups = &an->groups;
	struct piece_results *pr = &an->pr;
	bool grouping = in->nft && fp->group_next && an->pend && pc_analysis_group_pieces;
	const size_t *next = fp->group_next;
	const struct pc_src_classes *classes = &fp->classes;
	bool *reach = an->reach;
	struct pending *pend = an->pend;
	int r = 0;

	groups_reset(groups);
	groups->daddr = *daddr;
	groups->form = an->form;
	if (grouping)
		memset(pend, 0, fp->n * sizeof(*pend));
	for (size_t i = 0; grouping && i < fp->n; i++) {
		struct piece cur;

		piece_range(fp, i, &cur);
		reach[i] = !piece_impossible(fp, i) &&
			   !(link_local_dst && !pc_prefix_contains(&link_local, &cur.lo));
	}
	/* Zeroed once, not per piece: a piece is 1.5 KiB, most of it an engine result that
	 * nothing in this loop writes (results go to the groups apart from it) but
	 * evaluate_piece's one text for a missing ruleset, the same for every piece. What
	 * each piece writes is set anew below (zeroing it per piece was 1% of the bench
	 * host's analysis). */
	struct piece cur = {0};

	for (size_t i = 0; i < fp->n; i++) {
		struct pc_addr src;

		cur.engine = false;
		cur.fw = (struct pc_fw_view){0};
		cur.fw_known = false;
		cur.spoofed = false;
		piece_range(fp, i, &cur);
		if (piece_impossible(fp, i) ||
		    (link_local_dst && !pc_prefix_contains(&link_local, &cur.lo)))
			continue;
		src = representative(&cur.lo, &cur.hi);
		struct pc_flow flow = {.family = family,
				       .l4proto = l->protocol,
				       .saddr = src,
				       .daddr = *daddr,
				       .sport = PC_FLOW_SOURCE_PORT,
				       .dport = l->port,
				       .iif = link->ifindex};
		cur.spoofed = piece_spoofed(fp, i, in->netif, link, l, &src);
		r = groups_add_piece(groups, &cur.lo, &cur.hi);
		if (r < 0)
			goto out;
		if (grouping && !pend[i].done && !pend[i].alone && next[i] != SIZE_MAX) {
			r = analyse_group(an, fp, next, classes, i, reach, &flow, pend, pr);
			/* The family's evaluation had an unknown outcome: from here on, each
			 * class alone. Retrying the rest of the family from every piece cost a
			 * budget's worth of runs each. */
			if (r >= 0 && !pend[i].done && next == fp->group_next) {
				next = fp->class_next;
				classes = NULL;
				if (next[i] != SIZE_MAX)
					r = analyse_group(an, fp, next, classes, i, reach, &flow,
							  pend, pr);
			}
			/* So had its class's: each of the class's pieces alone, not the rest
			 * of the class again from each. */
			for (size_t j = i; r >= 0 && !pend[i].done && j != SIZE_MAX; j = next[j])
				pend[j].alone = true;
		}
		if (r >= 0 && grouping && pend[i].done) {
			/* firewalld's view of this piece; the engine's from its group. */
			r = evaluate_piece(in, link, &flow, false, &cur, false);
			if (r >= 0)
				r = add_piece_results(groups, &cur, pend[i].res, pend[i].n);
		} else if (r >= 0) {
			r = analyse_piece(an, link, &flow, &cur, groups, pr);
		}
		if (r < 0)
			goto out;
	}
	r = texts_for_groups(in, groups);
	if (r >= 0)
		r = groups_to_paths(groups, lr, link, in->nft);
out:
	/* The paths hold copies of what they need: the results go now, the arrays stay. */
	piece_results_reset(pr);
	return r;
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
					lr->paths[k].ignored =
					    link_ignored(an->in, &ni->links[i]) ||
					    lr->paths[k].refuses_ignored_sets;
			}
		}
	}
	lr->exposure = exposure_of(lr);
	return suggest_fix(an->in->fw, lr);
}

/* Report order: port, then protocol, then address, so a listener is easy to find; then
 * what tells sockets of one address apart (the order must not depend on the order the
 * analysis took them in: the journal's change tracking lets the first of a key speak). */
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
	int c = memcmp(x->addr.bytes, y->addr.bytes, sizeof(x->addr.bytes));

	if (c)
		return c;
	if (x->v6only != y->v6only)
		return x->v6only < y->v6only ? -1 : 1;
	if (x->bound_ifindex != y->bound_ifindex)
		return x->bound_ifindex < y->bound_ifindex ? -1 : 1;
	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* A listener's class key: what the analysis of its engine results depends on. */
struct class_key {
	uint8_t protocol;
	bool v6only;
	uint16_t class_port; /* the first port of its port class */
	uint32_t bound_ifindex;
	struct pc_addr addr;
	size_t index; /* in the input; keeps the order within a class */
};

static int class_key_cmp(const void *a, const void *b)
{
	const struct class_key *x = a, *y = b;
	int c;

	if (x->protocol != y->protocol)
		return x->protocol < y->protocol ? -1 : 1;
	if (x->v6only != y->v6only)
		return x->v6only < y->v6only ? -1 : 1;
	if (x->class_port != y->class_port)
		return x->class_port < y->class_port ? -1 : 1;
	if (x->bound_ifindex != y->bound_ifindex)
		return x->bound_ifindex < y->bound_ifindex ? -1 : 1;
	if (x->addr.family != y->addr.family)
		return x->addr.family < y->addr.family ? -1 : 1;
	c = memcmp(x->addr.bytes, y->addr.bytes, sizeof(x->addr.bytes));
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static bool same_class(const struct class_key *x, const struct class_key *y)
{
	struct class_key a = *x, b = *y;

	a.index = b.index = 0;
	return class_key_cmp(&a, &b) == 0;
}

/*
 * The listeners in the order they are analysed: by class, so that a class's listeners
 * come one after the other and share the engine's results. NULL when out of memory.
 */
static struct class_key *class_order(struct analysis *an)
{
	const struct pc_listener_set *ls = an->in->listeners;
	struct class_key *k = calloc(ls->n ? ls->n : 1, sizeof(*k));

	if (!k)
		return NULL;
	for (size_t i = 0; i < ls->n; i++) {
		const struct pc_listener *l = &ls->items[i];

		k[i] = (struct class_key){.protocol = l->protocol,
					  .v6only = l->v6only,
					  .class_port = pc_port_class(&an->classes, l->port),
					  .bound_ifindex = l->bound_ifindex,
					  .addr = l->addr,
					  .index = i};
	}
	if (ls->n > 1)
		qsort(k, ls->n, sizeof(*k), class_key_cmp);
	return k;
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
	struct analysis an = {.in = in, .classes = {.distinct = true}};
	const struct pc_firewalld *fw = in->fw;
	struct class_key *order = NULL;
	struct pc_report r = {0};
	const char *nft_note = in->nft ? in->nft->blind_spot : in->nft_error;
	int err = -ENOMEM;

	an.form.ignore_sets = in->ignore_sets;
	an.form.pool = &an.pool;
	if (in->shared_forms) {
		/* The sets the forms name go into @r (moved to *ret at the end). */
		an.sets.report = &r;
		an.form.sets = &an.sets;
		r.forms_shared = true;
	}
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
	if (in->nft && pc_analysis_share_port_classes &&
	    pc_port_classes_of(in->nft, &an.classes) < 0)
		goto oom;
	if (an.v4.group_next || an.v6.group_next) {
		size_t n = an.v4.n > an.v6.n ? an.v4.n : an.v6.n;

		an.reach = calloc(n, sizeof(*an.reach));
		an.pend = calloc(n, sizeof(*an.pend));
		if (!an.reach || !an.pend)
			goto oom;
	}
	order = class_order(&an);
	if (!order)
		goto oom;
	/* All at once: growing by one copies the reports made so far each time (a tenth of
	 * the analysis with 5,000 listeners). */
	if (in->listeners->n && !(r.listeners = calloc(in->listeners->n, sizeof(*r.listeners))))
		goto oom;
	for (size_t i = 0; i < in->listeners->n; i++) {
		struct pc_listener_report *lr = &r.listeners[r.n_listeners++];
		bool first = i == 0 || !same_class(&order[i - 1], &order[i]);

		if (first)
			eval_cache_clear(&an.cache);
		an.cache.fill = first;
		an.cache.use =
		    !first || (i + 1 < in->listeners->n && same_class(&order[i], &order[i + 1]));
		an.cache.next = 0;
		err = analyse_listener(&an, &in->listeners->items[order[i].index], lr);
		if (err < 0)
			goto oom; /* or what need_texts said (-ESTALE) */
		if (in->progress)
			in->progress(in->progress_userdata);
	}
	if (r.n_listeners > 1)
		qsort(r.listeners, r.n_listeners, sizeof(*r.listeners), listener_report_cmp);
	err = 0;
	*ret = r;
	r = (struct pc_report){0};
oom:
	eval_cache_clear(&an.cache);
	pc_port_classes_clear(&an.classes);
	groups_clear(&an.groups);
	piece_results_clear(&an.pr);
	free(an.reach);
	free(an.pend);
	free(an.sets.of);
	form_pool_clear(&an.pool);
	free(order);
	family_pieces_clear(&an.v4);
	family_pieces_clear(&an.v6);
	pc_report_clear(&r);
	return err;
}

int pc_analysis_explain(const struct pc_analysis_input *in, const struct pc_link *link,
			const struct pc_flow *flow, struct pc_path *ret_path,
			struct pc_nft_result *ret_result)
{
	struct pc_listener l = {.protocol = flow->l4proto, .port = flow->dport};
	struct piece pc = {.lo = flow->saddr, .hi = flow->saddr};
	struct pc_path p = {0};
	int r;

	struct outcome_groups gs = {.daddr = flow->daddr, .form = {.ignore_sets = in->ignore_sets}};
	struct src_member m = {.lo = flow->saddr, .hi = flow->saddr};

	r = evaluate_piece(in, link, flow, true, &pc, true);
	if (r < 0)
		return r;
	pc.spoofed = source_spoofed(in->netif, link, &l, &flow->saddr);
	p.ignored = link_ignored(in, link);
	/* One group of one source: the path says which (two groups: never "any"). */
	r = groups_add(&gs, &pc, &m);
	if (r >= 0)
		r = fill_path(&p, &l, link, in->nft, &gs, &gs.v[0]);
	if (r >= 0)
		p.ignored = p.ignored || p.refuses_ignored_sets;
	groups_clear(&gs);
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
	pc_rcstr_unref(p->sources_json);
	json_decref(p->endpoints);
	free(p->rule.family); /* and table, chain, text: one allocation (report.h) */
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
	for (size_t i = 0; i < r->n_sets; i++) {
		free(r->sets[i].family);
		free(r->sets[i].table);
		free(r->sets[i].name);
	}
	free(r->sets);
	free(r->fw_version);
	free(r->fw_default_zone);
	free(r->fw_state);
	free(r->fw_error);
	free(r->nft_error);
	*r = (struct pc_report){0};
}
