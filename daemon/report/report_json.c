/* SPDX-License-Identifier: MIT */
/*
 * The replies' JSON (docs/json.md): Status (version 2: paths name their sources and rule
 * in the reply's shared tables, status_tables.c, and leave out what is null or false)
 * and Explain's path (inline, as version 1 had every path).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/fwzone.h"
#include "portcheck/report.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

#include "status_tables.h"

#define PC_REPORT_VERSION 2

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *family_name(int family)
{
	return family == AF_INET ? "ipv4" : "ipv6";
}

/* "198.51.100.2:8000" / "[2001:db8::2]:8000" → {"address", "port"}. */
static json_t *forwarded_to_json(const struct pc_path *p)
{
	const char *s = p->forwarded_to, *colon;
	char addr[PC_ADDRSTRLEN];
	size_t len;

	if (!s)
		return json_null();
	colon = strrchr(s, ':');
	if (!colon)
		return json_null();
	len = (size_t)(colon - s);
	if (s[0] == '[') {
		s++;
		len -= 2;
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)len, s);
	return json_pack("{s:s,s:i}", "address", addr, "port", atoi(colon + 1));
}

static json_t *reject_to_json(const struct pc_path *p)
{
	if (p->verdict != PC_VERDICT_REJECT)
		return json_null();
	if (p->reject.tcp_reset)
		return json_pack("{s:b}", "tcp_reset", 1);
	return json_pack("{s:i,s:i}", "icmp_type", p->reject.icmp_type, "icmp_code",
			 p->reject.icmp_code);
}

static json_t *rule_to_json(const struct pc_path *p)
{
	/* Every caller checks has_rule first, or wants null without one. */
	if (!p->has_rule)
		return json_null();
	return json_pack("{s:s,s:s,s:s,s:I,s:o}", "family", p->rule.family, "table", p->rule.table,
			 "chain", p->rule.chain, "handle", (json_int_t)p->rule.handle, "text",
			 str_or_null(p->rule.text));
}

/* A path's form as a tree (NULL for none; *bad when its text is not JSON). */
static json_t *form_tree(const struct pc_path *p, bool *bad)
{
	json_t *j = p->sources_json ? json_loads(p->sources_json, 0, NULL) : NULL;

	*bad = p->sources_json && !j;
	return j;
}

static json_t *path_to_json(const struct pc_path *p)
{
	char dst[PC_ADDRSTRLEN];
	bool bad;
	json_t *form = form_tree(p, &bad), *o;

	if (bad)
		return NULL;
	o = json_pack("{s:s,s:s,s:s?,s:o?,s:o,s:s,s:o,s:o,s:O?,s:o,s:o,s:b,s:s,s:b,s:s?,s:b,s:b}",
		      "interface", p->interface, "family", family_name(p->family), "source",
		      p->source, "sources", form, "zone", str_or_null(p->zone), "verdict",
		      pc_verdict_to_string(p->verdict), "reject", reject_to_json(p), "forwarded_to",
		      forwarded_to_json(p), "endpoints", p->endpoints, "rule", rule_to_json(p),
		      "allowed_by", str_or_null(p->allowed_by), "runtime_only", p->runtime_only,
		      "firewalld_verdict", pc_verdict_to_string(p->fw_verdict), "disagrees",
		      p->disagrees, "reason", p->reason, "spoofed", p->spoofed, "ignored",
		      p->ignored);

	/* Explain's reply has its own "destination" (the query's): set it over this. */
	if (o && p->destination.family &&
	    json_object_set_new(o, "destination",
				json_string(pc_addr_to_string(&p->destination, dst))) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Sets @key to @v (taken) unless @v is null or false: a Status path leaves those out. */
static int set_unless_default(json_t *o, const char *key, json_t *v)
{
	if (!v)
		return -ENOMEM;
	if (json_is_null(v) || json_is_false(v)) {
		json_decref(v);
		return 0;
	}
	return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

/* The index of @p's sources entry: its shared form's text, or its version 1 form
 * converted (a report made without shared_forms). */
static int path_sources_index(const struct pc_path *p, struct pc_status_tables *t, int port)
{
	json_t *form;
	bool bad;
	int r;

	if (t->shared && p->sources_json)
		return pc_status_tables_entry(t, p->sources_json);
	form = form_tree(p, &bad);
	if (bad)
		return -EILSEQ;
	r = pc_status_tables_sources(t, p->source ? p->source : "", form, port);
	json_decref(form);
	return r;
}

/* A path of the Status reply: its sources and rule as indexes into @t's tables (@port is
 * the listener's, see pc_status_tables_sources). */
static json_t *status_path_to_json(const struct pc_path *p, struct pc_status_tables *t, int port)
{
	char dst[PC_ADDRSTRLEN];
	int src = path_sources_index(p, t, port);
	int rule = p->has_rule ? pc_status_tables_rule(t, rule_to_json(p)) : 0;
	json_t *o;

	if (src < 0 || rule < 0)
		return NULL;
	o = json_pack("{s:s,s:s,s:i,s:s}", "interface", p->interface, "family",
		      family_name(p->family), "sources", src, "verdict",
		      pc_verdict_to_string(p->verdict));
	if (!o)
		return NULL;
	if ((p->destination.family &&
	     set_unless_default(o, "destination",
				json_string(pc_addr_to_string(&p->destination, dst))) < 0) ||
	    (p->has_rule && set_unless_default(o, "rule", json_integer(rule)) < 0) ||
	    set_unless_default(o, "reason", str_or_null(p->reason)) < 0 ||
	    set_unless_default(o, "reject", reject_to_json(p)) < 0 ||
	    set_unless_default(o, "forwarded_to", forwarded_to_json(p)) < 0 ||
	    (p->endpoints && json_object_set(o, "endpoints", p->endpoints) < 0) ||
	    set_unless_default(o, "zone", str_or_null(p->zone)) < 0 ||
	    set_unless_default(o, "allowed_by", str_or_null(p->allowed_by)) < 0 ||
	    set_unless_default(o, "runtime_only", json_boolean(p->runtime_only)) < 0 ||
	    (p->fw_verdict != PC_VERDICT_UNKNOWN &&
	     set_unless_default(o, "firewalld_verdict",
				json_string(pc_verdict_to_string(p->fw_verdict))) < 0) ||
	    set_unless_default(o, "disagrees", json_boolean(p->disagrees)) < 0 ||
	    set_unless_default(o, "spoofed", json_boolean(p->spoofed)) < 0 ||
	    set_unless_default(o, "ignored", json_boolean(p->ignored)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *process_to_json(const struct pc_listener *l)
{
	if (l->pid <= 0)
		return json_null();
	return json_pack("{s:i,s:s,s:o}", "pid", (int)l->pid, "name", l->comm, "unit",
			 str_or_null(l->unit));
}

/* The listener-level firewalld summary: the first path of real clients that does not accept
 * (the one the fix is about), else the first of real clients, else the first path. */
static json_t *listener_firewalld_to_json(const struct pc_listener_report *lr)
{
	const struct pc_path *p = NULL, *first_real = NULL;

	for (size_t i = 0; i < lr->n_paths && !p; i++) {
		const struct pc_path *q = &lr->paths[i];

		if (q->spoofed || (q->ignored && !lr->ignored))
			continue;
		if (!first_real)
			first_real = q;
		if (q->verdict != PC_VERDICT_ACCEPT || q->runtime_only)
			p = q;
	}
	if (!p)
		p = first_real;
	if (!p && lr->n_paths)
		p = &lr->paths[0];
	/* No zone and nothing allowing it: firewalld has no view (not running, or another
	 * table's business). */
	if (!p || (!p->zone && !p->allowed_by && !p->runtime_only))
		return json_null();
	return json_pack("{s:o,s:o,s:b}", "zone", str_or_null(p->zone), "allowed_by",
			 str_or_null(p->allowed_by), "runtime_only", p->runtime_only);
}

static json_t *fix_to_json(const struct pc_fix *f)
{
	if (!f->command)
		return json_null();
	return json_pack("{s:s,s:s,s:o,s:o}", "command", f->command, "port", f->port, "service",
			 str_or_null(f->service), "zone", str_or_null(f->zone));
}

static json_t *listener_to_json(const struct pc_listener_report *lr, struct pc_status_tables *t)
{
	const struct pc_listener *l = &lr->listener;
	char addr[PC_ADDRSTRLEN];
	json_t *families = json_array(), *paths = json_array();

	if (!families || !paths)
		goto fail;
	if ((lr->families & PC_FAMILY_IPV4) && json_array_append_new(families, json_string("ipv4")))
		goto fail;
	if ((lr->families & PC_FAMILY_IPV6) && json_array_append_new(families, json_string("ipv6")))
		goto fail;
	for (size_t i = 0; i < lr->n_paths; i++)
		if (json_array_append_new(paths, status_path_to_json(&lr->paths[i], t, l->port)))
			goto fail;
	return json_pack(
	    "{s:s,s:s,s:i,s:o,s:o,s:o,s:s,s:b,s:o,s:o,s:o}", "protocol", pc_proto_name(l->protocol),
	    "address", pc_addr_to_string(&l->addr, addr), "port", l->port, "v6only",
	    json_boolean(l->addr.family == AF_INET6 && l->v6only), "families", families, "process",
	    process_to_json(l), "exposure", pc_exposure_to_string(lr->exposure), "ignored",
	    lr->ignored, "paths", paths, "firewalld", listener_firewalld_to_json(lr), "fix",
	    fix_to_json(&lr->fix));
fail:
	json_decref(families);
	json_decref(paths);
	return NULL;
}

static json_t *nftables_to_json(const struct pc_report *r)
{
	/* "error" is why it could not be read, or, when it was, what it cannot see. */
	return json_pack("{s:b,s:o,s:s?}", "read", r->nft_read, "generation",
			 r->nft_read ? json_integer(r->nft_genid) : json_null(), "error",
			 r->nft_error);
}

static json_t *report_to_json(const struct pc_report *r)
{
	struct pc_status_tables t;
	json_t *listeners = json_array(), *o = NULL;

	if (!listeners || pc_status_tables_init(&t) < 0) {
		json_decref(listeners);
		return NULL;
	}
	t.shared = r->forms_shared;
	if (t.shared && pc_status_tables_report_sets(&t, r->sets, r->n_sets) < 0)
		goto out;
	for (size_t i = 0; i < r->n_listeners; i++)
		if (json_array_append_new(listeners, listener_to_json(&r->listeners[i], &t)))
			goto out;
	o = json_pack("{s:i,s:{s:b,s:s?,s:s?,s:s?,s:b,s:s?},s:o,s:O,s:O,s:O,s:O}", "version",
		      PC_REPORT_VERSION, "firewalld", "running", r->fw_running, "version",
		      r->fw_version, "default_zone", r->fw_default_zone, "state", r->fw_state,
		      "panic", r->fw_panic, "error", r->fw_error, "nftables", nftables_to_json(r),
		      "sets", t.sets, "rules", t.rules, "sources", t.sources, "listeners",
		      listeners);
out:
	json_decref(listeners);
	pc_status_tables_clear(&t);
	return o;
}

/*
 * Why jansson returned NULL. It refuses strings that are not valid UTF-8, and a NULL from
 * it is not necessarily out of memory: strings from the system are sanitised where they
 * are read (strsan.h), so an invalid one is a bug upstream, and it must be called that
 * rather than ENOMEM (which sends admins looking for a memory problem).
 */
static bool all_valid(const char *const *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!pc_utf8_valid(s[i]))
			return false;
	return true;
}

static bool path_valid(const struct pc_path *p)
{
	const char *const s[] = {p->interface,	  p->source,	 p->sources_json, p->zone,
				 p->rule.family,  p->rule.table, p->rule.chain,	  p->rule.text,
				 p->forwarded_to, p->allowed_by, p->reason};

	return all_valid(s, ELEMENTSOF(s));
}

static bool report_valid(const struct pc_report *r)
{
	const char *const s[] = {r->fw_version, r->fw_default_zone, r->fw_state, r->fw_error,
				 r->nft_error};

	if (!all_valid(s, ELEMENTSOF(s)))
		return false;
	for (size_t i = 0; i < r->n_sets; i++) {
		const char *const ss[] = {r->sets[i].family, r->sets[i].table, r->sets[i].name};

		if (!all_valid(ss, ELEMENTSOF(ss)))
			return false;
	}
	for (size_t i = 0; i < r->n_listeners; i++) {
		const struct pc_listener_report *lr = &r->listeners[i];
		const char *const ls[] = {lr->listener.comm, lr->listener.unit, lr->fix.command,
					  lr->fix.port,	     lr->fix.service,	lr->fix.zone};

		if (!all_valid(ls, ELEMENTSOF(ls)))
			return false;
		for (size_t j = 0; j < lr->n_paths; j++)
			if (!path_valid(&lr->paths[j]))
				return false;
	}
	return true;
}

int pc_path_to_json(const struct pc_path *p, json_t **ret)
{
	json_t *j = path_to_json(p);

	if (!j)
		return path_valid(p) ? -ENOMEM : -EILSEQ;
	*ret = j;
	return 0;
}

int pc_report_to_json(const struct pc_report *r, json_t **ret)
{
	json_t *j = report_to_json(r);

	if (!j)
		return report_valid(r) ? -ENOMEM : -EILSEQ;
	*ret = j;
	return 0;
}
