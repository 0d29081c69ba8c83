/* SPDX-License-Identifier: MIT */
/*
 * Building paths: pieces with the same outcome grouped, each group one pc_path with its
 * source ranges, verdict, deciding rule or zone, and the reason in words.
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

#include "analysis_internal.h"

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

/* Whether @a's outcome is that of @b with the engine's result @y (b->res need not be
 * it: a piece's results are compared without copying each into a piece of its own). */
static bool same_outcome_res(const struct piece *a, const struct piece *b,
			     const struct pc_nft_result *y)
{
	const struct pc_nft_result *x = &a->res;

	return x->verdict == y->verdict && memcmp(&x->reject, &y->reject, sizeof(x->reject)) == 0 &&
	       rule_ref_equal(x, y) && x->forwarded == y->forwarded &&
	       x->dnat_local == y->dnat_local && pc_addr_equal(&x->fwd_addr, &y->fwd_addr) &&
	       x->fwd_port == y->fwd_port && x->n_endpoints == y->n_endpoints &&
	       memcmp(x->endpoints, y->endpoints, x->n_endpoints * sizeof(x->endpoints[0])) == 0 &&
	       strcmp(x->unknown_reason, y->unknown_reason) == 0 && strcmp(x->note, y->note) == 0 &&
	       a->fw.zone == b->fw.zone && a->fw.decision.outcome == b->fw.decision.outcome &&
	       strcmp(a->fw.decision.what, b->fw.decision.what) == 0 &&
	       a->fw.runtime_only == b->fw.runtime_only && a->spoofed == b->spoofed;
}

/* Neighbouring pieces with equal outcomes become one path. */
bool piece_same_outcome(const struct piece *a, const struct piece *b)
{
	return same_outcome_res(a, b, &b->res);
}

static const char *nfproto_name(uint32_t family)
{
	const char *n = pc_nft_family_name(family);

	return n ? n : "?";
}

/* The four strings in one allocation, owned by ->family (report.h): a path is written
 * for every listener's every outcome (23,000 on the bench host), and four strdup()s and
 * four free()s each were a percent of the analysis. */
static int rule_info_set(struct pc_rule_info *ri, const struct pc_rule_ref *ref, uint32_t policy)
{
	const char *text = ref->policy ? (policy == NF_ACCEPT ? "policy accept" : "policy drop")
				       : pc_rule_ref_text(ref);
	const char *parts[] = {nfproto_name(ref->family), ref->table ? ref->table : "?",
			       ref->chain ? ref->chain : "?", text ? text : ""};
	size_t len[ELEMENTSOF(parts)], total = 0;
	char *block, *at;

	for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
		len[i] = strlen(parts[i]) + 1;
		total += len[i];
	}
	block = malloc(total);
	if (!block)
		return -ENOMEM;
	at = block;
	for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
		memcpy(at, parts[i], len[i]);
		at += len[i];
	}
	ri->family = block;
	ri->table = ri->family + len[0];
	ri->chain = ri->table + len[1];
	ri->text = text ? ri->chain + len[2] : NULL;
	ri->handle = ref->handle;
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

/* @parts, then @last, into @buf (cut to @size, NUL-terminated), as snprintf with "%s" each
 * would write them. */
static void concat(char *buf, size_t size, const char *const *parts, size_t n, const char *last)
{
	size_t len = 0;

	for (size_t i = 0; i <= n && len + 1 < size; i++) {
		const char *s = i < n ? parts[i] : last;
		size_t k = strlen(s);

		if (k > size - 1 - len)
			k = size - 1 - len;
		memcpy(buf + len, s, k);
		len += k;
	}
	buf[len] = 0;
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
		/* Most paths' reason: put together without printf (it was a seventh of
		 * writing the paths on the bench host). */
		const char *text = pc_rule_ref_text(&res->rule);
		const char *parts[] = {action_word(res->verdict),
				       " by \"",
				       text ? text : "?",
				       "\" (",
				       nfproto_name(res->rule.family),
				       " ",
				       res->rule.table,
				       " ",
				       res->rule.chain,
				       " handle "};
		char handle[24];
		unsigned long long h = (unsigned long long)res->rule.handle;
		size_t i = sizeof(handle) - 2;

		/* "%llu)" by hand: printf was most of putting the reason together. */
		handle[sizeof(handle) - 2] = ')';
		handle[sizeof(handle) - 1] = '\0';
		do
			handle[--i] = (char)('0' + h % 10);
		while ((h /= 10) && i > 0);
		memmove(handle, handle + i, sizeof(handle) - i);
		concat(engine, sizeof(engine), parts, ELEMENTSOF(parts), handle);
	} else if (res->note[0]) {
		snprintf(engine, sizeof(engine), "%s: %s", action_word(res->verdict), res->note);
	} else {
		snprintf(engine, sizeof(engine), "%s: no rule on the path decides",
			 action_word(res->verdict));
	}
	if (p->forwarded_to && res->n_endpoints > 1) {
		size_t len = strlen(engine);
		char a[PC_ADDRSTRLEN];

		len += (size_t)snprintf(engine + len, sizeof(engine) - len,
					"; DNAT sends it to one of");
		for (size_t i = 0; i < res->n_endpoints && len < sizeof(engine); i++)
			len += (size_t)snprintf(
			    engine + len, sizeof(engine) - len,
			    res->endpoints[i].addr.family == AF_INET6 ? "%s [%s]:%u (%.0f%%)"
								      : "%s %s:%u (%.0f%%)",
			    i ? "," : "", pc_addr_to_string(&res->endpoints[i].addr, a),
			    res->endpoints[i].port, 100 * res->endpoints[i].share);
		if (len < sizeof(engine))
			snprintf(engine + len, sizeof(engine) - len, "%s",
				 res->forwarded ? ", not to this socket" : " on this host");
	} else if (p->forwarded_to) {
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

static int endpoints_json(const struct pc_nft_result *res, json_t **ret)
{
	json_t *a = json_array();
	char s[PC_ADDRSTRLEN];

	for (size_t i = 0; a && i < res->n_endpoints; i++)
		if (json_array_append_new(a,
					  json_pack("{s:s,s:i,s:f}", "address",
						    pc_addr_to_string(&res->endpoints[i].addr, s),
						    "port", (int)res->endpoints[i].port, "share",
						    res->endpoints[i].share)) < 0) {
			json_decref(a);
			return -ENOMEM;
		}
	*ret = a;
	return a ? 0 : -ENOMEM;
}

int fill_path(struct pc_path *p, const struct pc_listener *l, const struct pc_link *link,
	      const struct pc_nft_ruleset *rs, const struct outcome_groups *gs,
	      const struct outcome_group *g)
{
	const struct piece *first = &g->outcome;
	const struct pc_nft_result *res = &first->res;
	char addr[PC_ADDRSTRLEN];

	/* What snprintf("%s") would copy, without its cost on every path. */
	{
		size_t n = strnlen(link->name, sizeof(p->interface) - 1);

		memcpy(p->interface, link->name, n);
		p->interface[n] = '\0';
	}
	p->family = first->lo.family;
	p->destination = gs->daddr;
	p->spoofed = first->spoofed;
	p->verdict = res->verdict;
	p->reject = res->reject;
	p->fw_verdict = PC_VERDICT_UNKNOWN;
	if (path_sources(p, gs, g, l->port) < 0)
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
	if (res->n_endpoints > 1 && endpoints_json(res, &p->endpoints) < 0)
		return -ENOMEM;
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

int groups_add(struct outcome_groups *gs, const struct piece *outcome, const struct src_member *m)
{
	return groups_add_result(gs, outcome, &outcome->res, outcome->engine, m);
}

int groups_add_result(struct outcome_groups *gs, const struct piece *cur,
		      const struct pc_nft_result *res, bool engine, const struct src_member *m)
{
	struct outcome_group *g = NULL;
	struct src_member *slot;

	for (size_t i = 0; i < gs->n && !g; i++)
		if (same_outcome_res(&gs->v[i].outcome, cur, res))
			g = &gs->v[i];
	if (!g) {
		if (gs->n == gs->cap) {
			size_t cap = gs->cap ? 2 * gs->cap : 4;
			struct outcome_group *v = reallocarray(gs->v, cap, sizeof(*v));

			if (!v)
				return -ENOMEM;
			for (size_t i = gs->cap; i < cap; i++)
				v[i] = (struct outcome_group){.m = NULL};
			gs->v = v;
			gs->cap = cap;
		}
		/* A slot an earlier listener-family used keeps its members' array: emptied. */
		g = &gs->v[gs->n++];
		g->n_m = 0;
		g->outcome = *cur;
		if (res != &cur->res)
			g->outcome.res = *res;
		g->outcome.engine = engine;
	}
	slot = pc_array_grow(&g->m, &g->n_m, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = *m;
	return 0;
}

int groups_add_piece(struct outcome_groups *gs, const struct pc_addr *lo, const struct pc_addr *hi)
{
	/* Two arrays of one count, each grown geometrically by pc_array_grow: this runs for
	 * every piece of every listener. */
	size_t n = gs->n_pieces, m = n;
	struct pc_addr *l = pc_array_grow(&gs->lo, &n, sizeof(*l));
	struct pc_addr *h = l ? pc_array_grow(&gs->hi, &m, sizeof(*h)) : NULL;

	if (!h)
		return -ENOMEM;
	*l = *lo;
	*h = *hi;
	gs->n_pieces = n;
	return 0;
}

void groups_reset(struct outcome_groups *gs)
{
	gs->n = 0;
	gs->n_pieces = 0;
}

void groups_clear(struct outcome_groups *gs)
{
	for (size_t i = 0; i < gs->cap; i++)
		free(gs->v[i].m);
	free(gs->v);
	free(gs->lo);
	free(gs->hi);
	*gs = (struct outcome_groups){0};
}

int groups_to_paths(const struct outcome_groups *gs, struct pc_listener_report *lr,
		    const struct pc_link *link, const struct pc_nft_ruleset *rs)
{
	for (size_t i = 0; i < gs->n; i++) {
		struct pc_path *p = pc_array_grow(&lr->paths, &lr->n_paths, sizeof(*p));
		int r;

		if (!p)
			return -ENOMEM;
		r = fill_path(p, &lr->listener, link, rs, gs, &gs->v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}
