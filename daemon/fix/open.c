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

#define BUS_TIMEOUT_MS 5000
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

static json_t *error_reply(const char *error, json_t *params)
{
	return pc_varlink_error_new(error, params);
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

static const char *kind_name(const struct pc_fw_item *it)
{
	return it->kind == PC_FW_ITEM_PORT ? "port" : "service";
}

struct run {
	const struct pc_open_request *req;
	pc_open_audit_fn audit;
	void *userdata;
	struct pc_fw_bus bus;
	struct pc_strv done; /* changes made so far, in words, for a failure's state */
};

static void audit(struct run *run, const char *zone, const char *item, const char *kind, bool add,
		  bool permanent)
{
	char line[512];

	if (!permanent && add && run->req->timeout_s)
		snprintf(line, sizeof(line), "zone %s: %s %s %s (runtime, timeout %d s)", zone,
			 add ? "added" : "removed", kind, item, run->req->timeout_s);
	else
		snprintf(line, sizeof(line), "zone %s: %s %s %s (%s)", zone,
			 add ? "added" : "removed", kind, item,
			 permanent ? "permanent" : "runtime");
	if (run->audit)
		run->audit(line, run->userdata);
	/* Out of memory here only makes a failure's state report shorter. */
	(void)pc_strv_push(&run->done, line);
}

/* The state a failure leaves, in words: every change that was made and stays. */
static char *state_text(const struct run *run, const char *extra)
{
	_cleanup_free_ char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	if (run->done.n == 0)
		fputs("nothing is left changed", f);
	else
		fputs("left changed: ", f);
	for (size_t i = 0; i < run->done.n; i++)
		fprintf(f, "%s%s", i ? "; " : "", run->done.v[i]);
	if (extra)
		fprintf(f, "; %s", extra);
	if (fclose(f) != 0)
		return NULL;
	return TAKE_PTR(s);
}

static json_t *change_failed(const struct run *run, const char *reason, const char *extra)
{
	_cleanup_free_ char *state = state_text(run, extra);

	return error_reply("io.portcheck.ChangeFailed",
			   json_pack("{s:s,s:s}", "reason", reason ? reason : "unknown error",
				     "state", state ? state : "unknown"));
}

/*
 * Make one change. A call that timed out may still have been carried out (firewalld was
 * slow, not dead), so ask before anyone reports it as not done or undoes anything.
 * Returns 0 when the change is in place, -errno when it is not; *ret_unsure is set when
 * firewalld says neither (then the state is unknown, whatever else was done before).
 */
static int change_settled(struct run *run, bool permanent, bool add,
			  const struct pc_fw_plan_entry *e, int timeout_s, char **err,
			  bool *ret_unsure)
{
	_cleanup_free_ char *qerr = NULL;
	int r = pc_fw_change(&run->bus, permanent, add, e->zone, &e->item, timeout_s, err);
	int q;

	if (r != -ETIMEDOUT)
		return r;
	q = pc_fw_query(&run->bus, permanent, e->zone, &e->item, &qerr);
	if (q >= 0 && (q > 0) == add)
		return 0;
	if (q < 0)
		*ret_unsure = true;
	return r;
}

/*
 * Apply one plan entry. Returns 0 with *ret_change set, or 0 with *ret_error_reply set when
 * the change failed (state reported), or -ENOMEM.
 */
static int apply_entry(struct run *run, const struct pc_fw_plan_entry *e,
		       const struct pc_firewalld *fw, json_t *change, json_t **ret_error_reply)
{
	const struct pc_open_request *req = run->req;
	_cleanup_free_ char *item = pc_fw_item_to_string(&e->item), *err = NULL;
	const char *kind = kind_name(&e->item), *rt, *pm = "not requested";
	bool changed_rt = false, unsure_rt = false;
	int r;

	if (!item)
		return -ENOMEM;
	r = pc_fw_query(&run->bus, false, e->zone, &e->item, &err);
	if (r < 0)
		goto failed;
	if (req->open) {
		if (r > 0 || e->covered_by) {
			rt = "already";
		} else {
			r = change_settled(run, false, true, e, req->timeout_s, &err, &unsure_rt);
			if (r < 0)
				goto failed;
			changed_rt = true;
			rt = "added";
			audit(run, e->zone, item, kind, true, false);
		}
	} else {
		if (r == 0) {
			rt = "absent";
		} else {
			r = change_settled(run, false, false, e, 0, &err, &unsure_rt);
			if (r < 0)
				goto failed;
			changed_rt = true;
			rt = "removed";
			audit(run, e->zone, item, kind, false, false);
		}
	}

	if (req->permanent) {
		const struct pc_fw_zone *pz =
		    fw->have_permanent ? pc_fw_config_zone(&fw->permanent, e->zone) : NULL;
		bool covered = req->open && e->covered_by && pz &&
			       pc_strv_contains(&pz->services, e->covered_by);
		bool unsure = false; /* whether the permanent change happened is unknown */

		r = pc_fw_query(&run->bus, true, e->zone, &e->item, &err);
		if (r >= 0 && req->open && (r > 0 || covered))
			pm = "already";
		else if (r >= 0 && !req->open && r == 0)
			pm = "absent";
		else if (r >= 0) {
			r = change_settled(run, true, req->open, e, 0, &err, &unsure);
			if (r >= 0) {
				pm = req->open ? "added" : "removed";
				audit(run, e->zone, item, kind, req->open, true);
			}
		}
		if (r < 0) {
			_cleanup_free_ char *undo_err = NULL, *extra = NULL;
			int u = 0;

			if (changed_rt) {
				/* Ours to undo: the runtime change we just made. */
				u = pc_fw_change(&run->bus, false, !req->open, e->zone, &e->item, 0,
						 &undo_err);
				if (u >= 0) {
					/* The audit saw the change; it sees the undo too. The
					 * change itself is no longer left. */
					audit(run, e->zone, item, kind, !req->open, false);
					if (run->done.n >= 2) {
						free(run->done.v[--run->done.n]);
						free(run->done.v[--run->done.n]);
						run->done.v[run->done.n] = NULL;
					}
					r = asprintf(&extra,
						     "the runtime change to %s %s in zone %s was "
						     "undone: zone %s is as before",
						     kind, item, e->zone, e->zone);
				} else {
					r = asprintf(
					    &extra,
					    "undoing the runtime change failed (%s): %s %s "
					    "is %s zone %s at runtime but not permanently",
					    undo_err ? undo_err : "?", kind, item,
					    req->open ? "in" : "no longer in", e->zone);
				}
				if (r < 0)
					extra = NULL;
			}
			if (unsure) {
				char *more = NULL;

				if (asprintf(&more,
					     "%s%swhether the permanent configuration of zone %s "
					     "changed is unknown (firewalld did not answer): check "
					     "with firewall-cmd --permanent --zone=%s --list-all",
					     extra ? extra : "", extra ? "; " : "", e->zone,
					     e->zone) >= 0) {
					free(extra);
					extra = more;
				}
			}
			*ret_error_reply = change_failed(run, err, extra);
			return *ret_error_reply ? 0 : -ENOMEM;
		}
	}

	if (json_object_set_new(change, "zone", json_string(e->zone)) < 0 ||
	    json_object_set_new(change, "item", json_string(item)) < 0 ||
	    json_object_set_new(change, "kind", json_string(kind)) < 0 ||
	    json_object_set_new(change, "runtime", json_string(rt)) < 0 ||
	    json_object_set_new(change, "permanent", json_string(pm)) < 0 ||
	    json_object_set_new(change, "timeout",
				req->timeout_s && changed_rt ? json_integer(req->timeout_s)
							     : json_null()) < 0 ||
	    json_object_set_new(change, "covered_by",
				e->covered_by ? json_string(e->covered_by) : json_null()) < 0)
		return -ENOMEM;
	return 0;

failed:
	/* Once something changed, or may have (the change itself timed out and firewalld
	 * would not say whether it happened), the caller must learn exactly what stays
	 * changed: "firewalld unavailable" promises that nothing was. */
	if (r == -ETIMEDOUT && (run->done.n > 0 || unsure_rt)) {
		_cleanup_free_ char *extra = NULL;

		/* The unanswered call may yet be carried out. */
		if (asprintf(
			&extra,
			"whether %s %s changed in zone %s at runtime is unknown (firewalld did "
			"not answer): check with firewall-cmd --zone=%s --list-all",
			kind, item, e->zone, e->zone) < 0)
			extra = NULL;
		*ret_error_reply = change_failed(run, err, extra);
		return *ret_error_reply ? 0 : -ENOMEM;
	}
	*ret_error_reply =
	    run->done.n > 0 || r == -EACCES || r == -EIO || r == -EBADMSG
		? change_failed(run, err, NULL)
		: error_reply("io.portcheck.FirewalldUnavailable",
			      json_pack("{s:s}", "reason", err ? err : strerror(-r)));
	return *ret_error_reply ? 0 : -ENOMEM;
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

int pc_open_run(const struct pc_status_options *opts, const struct pc_open_request *req,
		pc_open_audit_fn audit_fn, void *userdata, json_t **ret_reply)
{
	struct pc_sources src = {0}, after = {0};
	struct pc_report report = {0}, report_after = {0};
	struct pc_fw_plan plan = {0};
	struct run run = {.req = req, .audit = audit_fn, .userdata = userdata};
	_cleanup_free_ char *err = NULL;
	const char *param = NULL;
	json_t *changes = NULL, *notes = NULL, *listeners = NULL, *reply = NULL;
	bool have_src = false, have_after = false;
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

	if (!src.fw.running) {
		/* Not on the bus at all, as opposed to there but failing: only then is the
		 * ruleset someone else's to change. */
		bool absent =
		    !src.fw.state && pc_fw_bus_open(BUS_TIMEOUT_MS, &run.bus, &err) == -ENOENT;

		if (src.nft_ok && absent)
			reply = no_firewalld_reply(req, &report);
		else
			reply = error_reply(
			    "io.portcheck.FirewalldUnavailable",
			    json_pack("{s:s}", "reason",
				      src.fw.error ? src.fw.error : "firewalld is not running"));
		goto done;
	}
	if (src.fw.panic) {
		reply =
		    error_reply("io.portcheck.FirewalldUnavailable",
				json_pack("{s:s}", "reason",
					  "firewalld is in panic mode (every packet is dropped); "
					  "leave it with `firewall-cmd --panic-off` first"));
		goto done;
	}
	if (pc_fw_spec_validate(&req->spec, req->zone, &src.fw, &param, &err) < 0) {
		reply = error_reply(
		    "io.portcheck.BadRequest",
		    json_pack("{s:s,s:s}", "parameter", param, "reason", err ? err : "invalid"));
		goto done;
	}
	r = pc_fw_plan_make(req->open, &req->spec, req->zone, &src.fw, &report, &plan);
	if (r == -ENOENT) {
		reply = error_reply("io.portcheck.BadRequest",
				    json_pack("{s:s,s:s}", "parameter", "zone", "reason",
					      "firewalld has no default zone: give --zone"));
		goto done;
	}
	if (r < 0)
		goto out;

	changes = json_array();
	notes = json_array();
	listeners = json_array();
	if (!changes || !notes || !listeners) {
		r = -ENOMEM;
		goto out;
	}
	r = plan_notes(req, &plan, &src.fw, notes);
	if (r < 0)
		goto out;

	if (req->dry_run) {
		for (size_t i = 0; i < plan.n; i++) {
			json_t *c = json_object();

			if (!c || json_array_append_new(changes, c) < 0) {
				r = -ENOMEM;
				goto out;
			}
			r = dry_entry(req, &plan.v[i], &src.fw, c);
			if (r < 0)
				goto out;
		}
		r = note(notes, "dry run: nothing was changed");
		if (r >= 0)
			r = listeners_json(req, &src.fw.runtime, &report, listeners);
		if (r < 0)
			goto out;
	} else {
		r = pc_fw_bus_open(BUS_TIMEOUT_MS, &run.bus, &err);
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			reply = error_reply("io.portcheck.FirewalldUnavailable",
					    json_pack("{s:s}", "reason", err ? err : strerror(-r)));
			goto done;
		}
		for (size_t i = 0; i < plan.n; i++) {
			json_t *c = json_object();

			if (!c || json_array_append_new(changes, c) < 0) {
				r = -ENOMEM;
				goto out;
			}
			r = apply_entry(&run, &plan.v[i], &src.fw, c, &reply);
			if (r < 0)
				goto out;
			if (reply)
				goto done;
		}
		pc_fw_bus_close(&run.bus);

		/* The proof: the kernel's ruleset as firewalld left it. */
		r = pc_sources_read(opts, &after);
		if (r < 0) {
			r = note(notes, "re-reading the system after the change failed: %s",
				 strerror(-r));
			if (r < 0)
				goto out;
		} else {
			have_after = true;
			struct pc_analysis_input in2 = pc_sources_input(opts, &after);

			r = pc_analysis_run(&in2, &report_after);
			if (r < 0)
				goto out;
			r = listeners_json(req, &after.fw.runtime, &report_after, listeners);
			if (r < 0)
				goto out;
		}
	}
	if (json_array_size(listeners) == 0) {
		r = note(notes, "no listening socket on these ports: nothing to verify");
		if (r < 0)
			goto out;
	}

	{
		json_t *params =
		    json_pack("{s:i,s:s,s:b,s:O,s:O,s:O}", "version", 1, "action",
			      req->open ? "open" : "close", "dry_run", req->dry_run, "changes",
			      changes, "notes", notes, "listeners", listeners);

		if (!params) {
			r = -ENOMEM;
			goto out;
		}
		reply = pc_varlink_reply_new(params, false);
	}
done:
	r = reply ? 0 : -ENOMEM;
out:
	if (r >= 0)
		*ret_reply = reply;
	else
		json_decref(reply);
	json_decref(changes);
	json_decref(notes);
	json_decref(listeners);
	pc_fw_bus_close(&run.bus);
	pc_strv_clear(&run.done);
	pc_fw_plan_clear(&plan);
	pc_report_clear(&report);
	pc_report_clear(&report_after);
	if (have_src)
		pc_sources_clear(&src);
	if (have_after)
		pc_sources_clear(&after);
	return r;
}
