/* SPDX-License-Identifier: MIT */
/*
 * Carrying out an Open / Close plan through firewalld (open_internal.h): runtime first, then
 * permanent, each change audited, a failed permanent change undoing the runtime one, and a
 * failure's reply saying exactly what stays changed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "portcheck/fwzone.h"

#include "open_internal.h"

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

/* The runtime half of apply_entry(): *@ret_rt says what happened. Returns 0 or -errno. */
static int apply_runtime(struct run *run, const struct pc_fw_plan_entry *e, const char *item,
			 const char *kind, const char **ret_rt, bool *changed_rt, bool *unsure_rt,
			 char **err)
{
	const struct pc_open_request *req = run->req;
	int r;

	r = pc_fw_query(&run->bus, false, e->zone, &e->item, err);
	if (r < 0)
		return r;
	if (req->open) {
		if (r > 0 || e->covered_by) {
			*ret_rt = "already";
		} else {
			r = change_settled(run, false, true, e, req->timeout_s, err, unsure_rt);
			if (r < 0)
				return r;
			*changed_rt = true;
			*ret_rt = "added";
			audit(run, e->zone, item, kind, true, false);
		}
	} else {
		if (r == 0) {
			*ret_rt = "absent";
		} else {
			r = change_settled(run, false, false, e, 0, err, unsure_rt);
			if (r < 0)
				return r;
			*changed_rt = true;
			*ret_rt = "removed";
			audit(run, e->zone, item, kind, false, false);
		}
	}
	return 0;
}

/*
 * The permanent change failed: undo the runtime change we made (@changed_rt) and say what
 * stays changed, and whether the permanent change happened is unknown (@unsure). Returns the
 * words for the error reply, or NULL for none (or no memory for them).
 */
static char *permanent_failed_note(struct run *run, const struct pc_fw_plan_entry *e,
				   const char *item, const char *kind, bool changed_rt, bool unsure)
{
	const struct pc_open_request *req = run->req;
	_cleanup_free_ char *undo_err = NULL;
	char *extra = NULL;
	int r, u = 0;

	if (changed_rt) {
		/* Ours to undo: the runtime change we just made. */
		u = pc_fw_change(&run->bus, false, !req->open, e->zone, &e->item, 0, &undo_err);
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
			r = asprintf(&extra,
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
			     extra ? extra : "", extra ? "; " : "", e->zone, e->zone) >= 0) {
			free(extra);
			extra = more;
		}
	}
	return extra;
}

/*
 * The permanent half of apply_entry(): *@ret_pm says what happened. Returns 0; 1 with
 * *@ret_error_reply set when the change failed (the runtime change undone); or -ENOMEM.
 */
static int apply_permanent(struct run *run, const struct pc_fw_plan_entry *e,
			   const struct pc_firewalld *fw, const char *item, const char *kind,
			   bool changed_rt, const char **ret_pm, char **err,
			   json_t **ret_error_reply)
{
	const struct pc_open_request *req = run->req;
	const struct pc_fw_zone *pz =
	    fw->have_permanent ? pc_fw_config_zone(&fw->permanent, e->zone) : NULL;
	bool covered =
	    req->open && e->covered_by && pz && pc_strv_contains(&pz->services, e->covered_by);
	bool unsure = false; /* whether the permanent change happened is unknown */
	_cleanup_free_ char *extra = NULL;
	int r;

	r = pc_fw_query(&run->bus, true, e->zone, &e->item, err);
	if (r >= 0 && req->open && (r > 0 || covered))
		*ret_pm = "already";
	else if (r >= 0 && !req->open && r == 0)
		*ret_pm = "absent";
	else if (r >= 0) {
		r = change_settled(run, true, req->open, e, 0, err, &unsure);
		if (r >= 0) {
			*ret_pm = req->open ? "added" : "removed";
			audit(run, e->zone, item, kind, req->open, true);
		}
	}
	if (r >= 0)
		return 0;
	extra = permanent_failed_note(run, e, item, kind, changed_rt, unsure);
	*ret_error_reply = change_failed(run, *err, extra);
	return *ret_error_reply ? 1 : -ENOMEM;
}

/* What apply_entry() did to @e, into @change. Returns 0 or -ENOMEM. */
static int change_set(json_t *change, const struct pc_open_request *req,
		      const struct pc_fw_plan_entry *e, const char *item, const char *kind,
		      const char *rt, const char *pm, bool changed_rt)
{
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
}

/* The runtime query or change of @e failed with @r: the error reply. Returns 0 or -ENOMEM. */
static int runtime_failed(struct run *run, const struct pc_fw_plan_entry *e, const char *item,
			  const char *kind, int r, const char *err, bool unsure_rt,
			  json_t **ret_error_reply)
{
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

/*
 * Apply one plan entry. Returns 0 with *ret_change set, or 0 with *ret_error_reply set when
 * the change failed (state reported), or -ENOMEM.
 */
static int apply_entry(struct run *run, const struct pc_fw_plan_entry *e,
		       const struct pc_firewalld *fw, json_t *change, json_t **ret_error_reply)
{
	const struct pc_open_request *req = run->req;
	_cleanup_free_ char *item = pc_fw_item_to_string(&e->item), *err = NULL;
	const char *kind = kind_name(&e->item), *rt = NULL, *pm = "not requested";
	bool changed_rt = false, unsure_rt = false;
	int r;

	if (!item)
		return -ENOMEM;
	r = apply_runtime(run, e, item, kind, &rt, &changed_rt, &unsure_rt, &err);
	if (r < 0)
		return runtime_failed(run, e, item, kind, r, err, unsure_rt, ret_error_reply);
	if (req->permanent) {
		r = apply_permanent(run, e, fw, item, kind, changed_rt, &pm, &err, ret_error_reply);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	return change_set(change, req, e, item, kind, rt, pm, changed_rt);
}

int pc_open_apply_plan(struct run *run, const struct pc_fw_plan *plan, const struct pc_sources *src,
		       json_t *changes, char **err, json_t **ret_reply)
{
	int r = pc_fw_bus_open(BUS_TIMEOUT_MS, &run->bus, err);

	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		*ret_reply = error_reply("io.portcheck.FirewalldUnavailable",
					 json_pack("{s:s}", "reason", *err ? *err : strerror(-r)));
		return 1;
	}
	for (size_t i = 0; i < plan->n; i++) {
		json_t *c = json_object();

		if (!c || json_array_append_new(changes, c) < 0)
			return -ENOMEM;
		r = apply_entry(run, &plan->v[i], &src->fw, c, ret_reply);
		if (r < 0)
			return r;
		if (*ret_reply)
			return 1;
	}
	pc_fw_bus_close(&run->bus);
	return 0;
}
