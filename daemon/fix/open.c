/* SPDX-License-Identifier: MIT */
/*
 * io.portcheck.Open / Close. The plan comes from the analysis (which zone refuses the
 * listener), the change goes through firewalld (runtime first, then permanent, the way
 * Cockpit does it: no reload, which would drop other people's runtime-only changes), and
 * the answer comes from analysing the kernel's ruleset again afterwards.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "portcheck/fwzone.h"
#include "portcheck/open.h"
#include "portcheck/varlink.h"

#include "open_internal.h"

/* Longer than a day is almost certainly a unit mistake; firewalld would take it. */
#define MAX_TIMEOUT_S (30 * 86400)

int pc_open_parse(const json_t *params, bool open, struct pc_open_request *ret,
		  const char **ret_param, char **ret_why)
{
	struct pc_open_request req = {.open = open};
	const char *key;
	json_t *v;
	int r;

	json_object_foreach((json_t *)params, key, v)
	{
		if (strcmp(key, "spec") == 0) {
			if (!json_is_string(v))
				goto type;
			req.spec_text = json_string_value(v);
		} else if (strcmp(key, "zone") == 0) {
			if (json_is_null(v))
				continue;
			if (!json_is_string(v))
				goto type;
			req.zone = json_string_value(v);
			if (!*req.zone || strlen(req.zone) > 64) {
				*ret_param = "zone";
				return pc_error_set(ret_why, -EINVAL, "'%s' is not a zone name",
						    req.zone);
			}
		} else if (strcmp(key, "permanent") == 0) {
			if (!json_is_boolean(v))
				goto type;
			req.permanent = json_is_true(v);
		} else if (strcmp(key, "dry_run") == 0) {
			if (!json_is_boolean(v))
				goto type;
			req.dry_run = json_is_true(v);
		} else if (strcmp(key, "timeout") == 0) {
			if (json_is_null(v))
				continue;
			if (!json_is_integer(v))
				goto type;
			if (json_integer_value(v) < 1 || json_integer_value(v) > MAX_TIMEOUT_S) {
				*ret_param = "timeout";
				return pc_error_set(ret_why, -EINVAL,
						    "timeout must be 1 s to %d days",
						    MAX_TIMEOUT_S / 86400);
			}
			req.timeout_s = (int)json_integer_value(v);
		} else {
			*ret_param = key;
			return pc_error_set(ret_why, -EINVAL, "unknown parameter '%s'", key);
		}
		continue;
	type:
		*ret_param = key;
		return pc_error_set(ret_why, -EINVAL, "parameter '%s' has the wrong type", key);
	}
	if (!req.spec_text) {
		*ret_param = "spec";
		return pc_error_set(ret_why, -EINVAL,
				    "spec is required (80/tcp, 8000-8010/udp, http, or a list)");
	}
	if (req.timeout_s && !open) {
		*ret_param = "timeout";
		return pc_error_set(ret_why, -EINVAL, "timeout applies to open only");
	}
	if (req.timeout_s && req.permanent) {
		*ret_param = "timeout";
		return pc_error_set(ret_why, -EINVAL,
				    "timeout is for runtime changes; it cannot be combined with "
				    "permanent");
	}
	r = pc_fw_spec_parse(req.spec_text, &req.spec, ret_why);
	if (r < 0) {
		*ret_param = "spec";
		return r;
	}
	*ret = req;
	return 0;
}

/* @source cut to its first three CIDRs and a count: a reason is one line. */
static void source_words(const char *source, char *buf, size_t size)
{
	const char *cut = source;
	size_t n = 1;

	for (const char *c = source; *c; c++)
		n += *c == ',';
	for (int k = 0; k < 3 && cut && n > 3; k++)
		cut = strchr(cut, ',') + 1;
	if (n > 3)
		snprintf(buf, size, "%.*s (%zu more)", (int)(cut - source - 1), source, n - 3);
	else
		snprintf(buf, size, "%s", source);
}

/* The deciding reason of a listener that is not open: its first path of real clients (not
 * spoofed, not ignored: what the exposure counts) that is not accepted. */
static const char *listener_reason(const struct pc_listener_report *l, char *buf, size_t size)
{
	for (size_t i = 0; i < l->n_paths; i++) {
		const struct pc_path *p = &l->paths[i];
		const char *source = p->source ? p->source : "any";
		char from[256] = "";

		if ((p->verdict == PC_VERDICT_ACCEPT && !p->forwarded_to) || p->spoofed ||
		    (p->ignored && !l->ignored))
			continue;
		if (strcmp(source, "any") != 0) {
			memcpy(from, ", from ", 8);
			source_words(source, from + 7, sizeof(from) - 7);
		}
		snprintf(buf, size, "on %s (%s%s): %s", p->interface,
			 p->family == AF_INET6 ? "ipv6" : "ipv4", from,
			 p->reason ? p->reason : pc_verdict_to_string(p->verdict));
		return buf;
	}
	return NULL;
}

/* The listeners @spec names, with their exposure: the proof of the change. */
static int listeners_json(const struct pc_open_request *req, const struct pc_fw_config *cfg,
			  const struct pc_report *report, json_t *arr)
{
	for (size_t i = 0; i < report->n_listeners; i++) {
		const struct pc_listener_report *l = &report->listeners[i];
		char addr[PC_ADDRSTRLEN], reason[1024];
		const char *rs = NULL;
		json_t *o;

		if (!pc_fw_spec_matches(&req->spec, cfg, l->listener.protocol, l->listener.port))
			continue;
		if (l->exposure != PC_EXPOSURE_OPEN && l->exposure != PC_EXPOSURE_LOCAL_ONLY)
			rs = listener_reason(l, reason, sizeof(reason));
		o = json_pack("{s:s,s:i,s:s,s:s?,s:s,s:s?}", "protocol",
			      pc_proto_name(l->listener.protocol), "port", (int)l->listener.port,
			      "address", pc_addr_to_string(&l->listener.addr, addr), "process",
			      l->listener.comm[0] ? l->listener.comm : NULL, "exposure",
			      pc_exposure_to_string(l->exposure), "reason", rs);
		if (!o || json_array_append_new(arr, o) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int note(json_t *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int note(json_t *notes, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	s = pc_vstrdupf(fmt, ap);
	va_end(ap);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(notes); i++)
		if (strcmp(json_string_value(json_array_get(notes, i)), s) == 0)
			return 0;
	return json_array_append_new(notes, json_string(s)) < 0 ? -ENOMEM : 0;
}

/*
 * No firewalld: the nft commands that would accept the spec's ports where the analysis saw
 * them refused, one per refusing chain. Nothing is changed: a ruleset someone manages by
 * hand (or with another tool) is theirs to change.
 */
static json_t *no_firewalld_reply(const struct pc_open_request *req, const struct pc_report *report)
{
	_cleanup_free_ char *cmds = NULL;
	struct pc_strv lines = {0};
	size_t len = 0;
	json_t *params;
	FILE *f;

	for (size_t i = 0; i < report->n_listeners; i++) {
		const struct pc_listener_report *l = &report->listeners[i];

		if (!pc_fw_spec_matches(&req->spec, NULL, l->listener.protocol, l->listener.port))
			continue;
		for (size_t j = 0; j < l->n_paths; j++) {
			const struct pc_path *p = &l->paths[j];
			char line[512];

			if ((p->verdict != PC_VERDICT_REJECT && p->verdict != PC_VERDICT_DROP) ||
			    !p->has_rule)
				continue;
			/* Before the refusing rule; a policy has no handle: at the chain's end. */
			if (p->rule.handle)
				snprintf(
				    line, sizeof(line),
				    "nft insert rule %s %s %s position %llu %s dport %u accept",
				    p->rule.family, p->rule.table, p->rule.chain,
				    (unsigned long long)p->rule.handle,
				    pc_proto_name(l->listener.protocol), l->listener.port);
			else
				snprintf(line, sizeof(line),
					 "nft add rule %s %s %s %s dport %u accept", p->rule.family,
					 p->rule.table, p->rule.chain,
					 pc_proto_name(l->listener.protocol), l->listener.port);
			if (!pc_strv_contains(&lines, line) && pc_strv_push(&lines, line) < 0) {
				pc_strv_clear(&lines);
				return NULL;
			}
		}
	}
	f = open_memstream(&cmds, &len);
	if (!f) {
		pc_strv_clear(&lines);
		return NULL;
	}
	for (size_t i = 0; i < lines.n; i++)
		fprintf(f, "%s%s", i ? "\n" : "", lines.v[i]);
	if (fclose(f) != 0) {
		pc_strv_clear(&lines);
		return NULL;
	}
	if (req->open)
		params = json_pack(
		    "{s:s,s:s}", "reason",
		    lines.n
			? "firewalld is not running and nftables is in use: nothing was "
			  "changed; this nft command would accept the port where it is refused "
			  "(not persistent: add it to your nftables configuration too)"
			: "firewalld is not running and no listener on these ports is refused by "
			  "a rule portcheck can point at: nothing was changed",
		    "nft_command", cmds ? cmds : "");
	else
		params = json_pack("{s:s,s:s}", "reason",
				   "firewalld is not running: nothing was changed; remove the nft "
				   "rule that accepts the port by hand (nft -a list ruleset)",
				   "nft_command", "");
	pc_strv_clear(&lines);
	return params ? error_reply("io.portcheck.NoFirewalld", params) : NULL;
}

/* The dry run's view of an entry, from the snapshot. */
static int dry_entry(const struct pc_open_request *req, const struct pc_fw_plan_entry *e,
		     const struct pc_firewalld *fw, json_t *change)
{
	_cleanup_free_ char *item = pc_fw_item_to_string(&e->item);
	const struct pc_fw_zone *pz =
	    fw->have_permanent ? pc_fw_config_zone(&fw->permanent, e->zone) : NULL;
	bool covered_pm = e->covered_by && pz && pc_strv_contains(&pz->services, e->covered_by);
	const char *rt, *pm = "not requested";

	if (!item)
		return -ENOMEM;
	if (req->open)
		rt = e->runtime_present || e->covered_by ? "already" : "would add";
	else
		rt = e->runtime_present ? "would remove" : "absent";
	if (req->permanent && req->open)
		pm = e->permanent_present || covered_pm ? "already" : "would add";
	else if (req->permanent)
		pm = e->permanent_present ? "would remove" : "absent";
	if (json_object_set_new(change, "zone", json_string(e->zone)) < 0 ||
	    json_object_set_new(change, "item", json_string(item)) < 0 ||
	    json_object_set_new(change, "kind", json_string(kind_name(&e->item))) < 0 ||
	    json_object_set_new(change, "runtime", json_string(rt)) < 0 ||
	    json_object_set_new(change, "permanent", json_string(pm)) < 0 ||
	    json_object_set_new(change, "timeout",
				req->timeout_s && !strcmp(rt, "would add")
				    ? json_integer(req->timeout_s)
				    : json_null()) < 0 ||
	    json_object_set_new(change, "covered_by",
				e->covered_by ? json_string(e->covered_by) : json_null()) < 0)
		return -ENOMEM;
	return 0;
}

static int plan_notes(const struct pc_open_request *req, const struct pc_fw_plan *plan,
		      const struct pc_firewalld *fw, json_t *notes)
{
	int r = 0;

	if (plan->zones_from_analysis && plan->n_zones > 1 && !req->zone) {
		_cleanup_free_ char *list = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&list, &len);
		const char *prev = NULL;
		size_t k = 0;

		if (!f)
			return -ENOMEM;
		for (size_t i = 0; i < plan->n; i++) {
			if (prev && strcmp(prev, plan->v[i].zone) == 0)
				continue;
			prev = plan->v[i].zone;
			fprintf(f, "%s%s", k++ ? ", " : "", prev);
		}
		if (fclose(f) != 0)
			return -ENOMEM;
		r = note(notes,
			 req->open ? "several zones refuse it (%s): each is changed"
				   : "it is in several zones (%s): each is changed",
			 list ? list : "?");
	} else if (!req->zone && !plan->zones_from_analysis && plan->n) {
		r = note(notes,
			 req->open ? "no zone refuses a listener on these ports: using the default "
				     "zone %s"
				   : "not found in any zone: looked at the default zone %s",
			 plan->v[0].zone);
	}
	for (size_t i = 0; r >= 0 && i < plan->n; i++) {
		const struct pc_fw_plan_entry *e = &plan->v[i];
		_cleanup_free_ char *item = pc_fw_item_to_string(&e->item);

		if (!item)
			return -ENOMEM;
		if (req->open && e->covered_by)
			r = note(notes, "%s already allowed by service %s in zone %s", item,
				 e->covered_by, e->zone);
		else if (!req->open && !req->permanent && e->permanent_present)
			r = note(notes,
				 "%s %s stays in the permanent configuration of zone %s: it comes "
				 "back on the next reload; add --permanent to remove it for good",
				 kind_name(&e->item), item, e->zone);
	}
	bool adds = false;

	/* Whatever this call did: what stays allowed only at runtime is lost on a reload. */
	for (size_t i = 0; i < plan->n; i++) {
		const struct pc_fw_plan_entry *e = &plan->v[i];
		const struct pc_fw_zone *pz =
		    fw->have_permanent ? pc_fw_config_zone(&fw->permanent, e->zone) : NULL;

		adds = adds ||
		       (!e->permanent_present &&
			!(e->covered_by && pz && pc_strv_contains(&pz->services, e->covered_by)));
	}
	if (r >= 0 && req->open && !req->permanent && adds)
		r = note(notes,
			 req->timeout_s
			     ? "runtime only, for %d s: then firewalld removes it again"
			     : "runtime only: lost on the next firewall-cmd --reload; add "
			       "--permanent to keep it",
			 req->timeout_s);
	if (r >= 0 && !fw->have_permanent && req->permanent)
		r = note(notes, "firewalld's permanent configuration could not be read "
				"beforehand; it was queried on the bus instead");
	return r;
}

/*
 * The reasons not to plan at all: no firewalld (then the nft commands, when nobody manages the
 * ruleset), panic mode, a spec or zone firewalld does not know. Returns 1 with the reply in
 * *@ret_reply (NULL when out of memory), or 0 to go on.
 */
static int refuse(const struct pc_open_request *req, const struct pc_sources *src,
		  const struct pc_report *report, struct run *run, char **err, json_t **ret_reply)
{
	const char *param = NULL;

	if (!src->fw.running) {
		/* Not on the bus at all, as opposed to there but failing: only then is the
		 * ruleset someone else's to change. */
		bool absent =
		    !src->fw.state && pc_fw_bus_open(BUS_TIMEOUT_MS, &run->bus, err) == -ENOENT;

		if (src->nft_ok && absent)
			*ret_reply = no_firewalld_reply(req, report);
		else
			*ret_reply = error_reply(
			    "io.portcheck.FirewalldUnavailable",
			    json_pack("{s:s}", "reason",
				      src->fw.error ? src->fw.error : "firewalld is not running"));
		return 1;
	}
	if (src->fw.panic) {
		*ret_reply =
		    error_reply("io.portcheck.FirewalldUnavailable",
				json_pack("{s:s}", "reason",
					  "firewalld is in panic mode (every packet is dropped); "
					  "leave it with `firewall-cmd --panic-off` first"));
		return 1;
	}
	if (pc_fw_spec_validate(&req->spec, req->zone, &src->fw, &param, err) < 0) {
		*ret_reply = error_reply(
		    "io.portcheck.BadRequest",
		    json_pack("{s:s,s:s}", "parameter", param, "reason", *err ? *err : "invalid"));
		return 1;
	}
	return 0;
}

/* The dry run: what each entry would do, and the listeners as they are. Returns 0 or -ENOMEM. */
static int dry_run(const struct pc_open_request *req, const struct pc_fw_plan *plan,
		   const struct pc_sources *src, const struct pc_report *report, json_t *changes,
		   json_t *notes, json_t *listeners)
{
	int r;

	for (size_t i = 0; i < plan->n; i++) {
		json_t *c = json_object();

		if (!c || json_array_append_new(changes, c) < 0)
			return -ENOMEM;
		r = dry_entry(req, &plan->v[i], &src->fw, c);
		if (r < 0)
			return r;
	}
	r = note(notes, "dry run: nothing was changed");
	if (r >= 0)
		r = listeners_json(req, &src->fw.runtime, report, listeners);
	return r;
}

/*
 * The proof: the kernel's ruleset as firewalld left it, read into @after (*@have_after) and
 * analysed into @report_after, the listeners' exposure from it. Returns 0 or -ENOMEM.
 */
static int verify(const struct pc_status_options *opts, const struct pc_open_request *req,
		  struct pc_sources *after, bool *have_after, struct pc_report *report_after,
		  json_t *notes, json_t *listeners)
{
	int r = pc_sources_read(opts, after);

	if (r < 0)
		return note(notes, "re-reading the system after the change failed: %s",
			    strerror(-r));
	*have_after = true;
	struct pc_analysis_input in = pc_sources_input(opts, after);

	r = pc_analysis_run(&in, report_after);
	if (r < 0)
		return r;
	return listeners_json(req, &after->fw.runtime, report_after, listeners);
}

/*
 * Carry out @plan (or pretend to, for a dry run) and compose the reply. Returns 0 with the
 * reply in *@ret_reply (NULL when out of memory), or -errno.
 */
static int carry_out(struct run *run, const struct pc_status_options *opts,
		     const struct pc_fw_plan *plan, const struct pc_sources *src,
		     const struct pc_report *report, char **err, json_t **ret_reply)
{
	const struct pc_open_request *req = run->req;
	json_t *changes = json_array(), *notes = json_array(), *listeners = json_array();
	struct pc_sources after = {0};
	struct pc_report report_after = {0};
	bool have_after = false;
	int r = -ENOMEM;

	if (!changes || !notes || !listeners)
		goto out;
	r = plan_notes(req, plan, &src->fw, notes);
	if (r < 0)
		goto out;
	if (req->dry_run) {
		r = dry_run(req, plan, src, report, changes, notes, listeners);
	} else {
		r = pc_open_apply_plan(run, plan, src, changes, err, ret_reply);
		if (r > 0) {
			r = 0;
			goto out;
		}
		if (r >= 0)
			r = verify(opts, req, &after, &have_after, &report_after, notes, listeners);
	}
	if (r >= 0 && json_array_size(listeners) == 0)
		r = note(notes, "no listening socket on these ports: nothing to verify");
	if (r >= 0) {
		json_t *params =
		    json_pack("{s:i,s:s,s:b,s:O,s:O,s:O}", "version", 1, "action",
			      req->open ? "open" : "close", "dry_run", req->dry_run, "changes",
			      changes, "notes", notes, "listeners", listeners);

		if (!params)
			r = -ENOMEM;
		else
			*ret_reply = pc_varlink_reply_new(params, false);
	}
out:
	json_decref(changes);
	json_decref(notes);
	json_decref(listeners);
	pc_report_clear(&report_after);
	if (have_after)
		pc_sources_clear(&after);
	return r;
}

int pc_open_run(const struct pc_status_options *opts, const struct pc_open_request *req,
		pc_open_audit_fn audit_fn, void *userdata, json_t **ret_reply)
{
	struct pc_sources src = {0};
	struct pc_report report = {0};
	struct pc_fw_plan plan = {0};
	struct run run = {.req = req, .audit = audit_fn, .userdata = userdata};
	_cleanup_free_ char *err = NULL;
	json_t *reply = NULL;
	bool have_src = false;
	int r;

	r = pc_sources_read(opts, &src);
	if (r < 0) {
		reply =
		    pc_varlink_error_new_string("io.portcheck.ReadFailed", "reason", strerror(-r));
		goto done;
	}
	have_src = true;
	struct pc_analysis_input in = pc_sources_input(opts, &src);
	r = pc_analysis_run(&in, &report);
	if (r < 0)
		goto out;
	if (refuse(req, &src, &report, &run, &err, &reply))
		goto done;
	r = pc_fw_plan_make(req->open, &req->spec, req->zone, &src.fw, &report, &plan);
	if (r == -ENOENT) {
		reply = error_reply("io.portcheck.BadRequest",
				    json_pack("{s:s,s:s}", "parameter", "zone", "reason",
					      "firewalld has no default zone: give --zone"));
		goto done;
	}
	if (r >= 0)
		r = carry_out(&run, opts, &plan, &src, &report, &err, &reply);
	if (r < 0)
		goto out;
done:
	r = reply ? 0 : -ENOMEM;
out:
	if (r >= 0)
		*ret_reply = reply;
	else
		json_decref(reply);
	pc_fw_bus_close(&run.bus);
	pc_strv_clear(&run.done);
	pc_fw_plan_clear(&plan);
	pc_report_clear(&report);
	if (have_src)
		pc_sources_clear(&src);
	return r;
}
