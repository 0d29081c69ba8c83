/* SPDX-License-Identifier: MIT */
/* io.portcheck's methods and who may call them (SO_PEERCRED, the read group, polkit). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "portcheck/open.h"
#include "portcheck/polkit.h"
#include "portcheck/varlink.h"

#include "daemon.h"

/* How long polkit may take to answer; a child process waits for it, not the loop. */
#define POLKIT_TIMEOUT_MS 5000

static bool method_changes_firewall(const char *method)
{
	return strcmp(method, "io.portcheck.Open") == 0 ||
	       strcmp(method, "io.portcheck.Close") == 0;
}

/*
 * The daemon's policy. Introspection (org.varlink.service) is open to everyone: it
 * reveals nothing about the host. Reading the status is for root and the read group.
 * Changing the firewall (Open, Close) is for root and whom polkit authorizes for
 * firewalld's own action: that is asked in the change's child process (change_job), so
 * a slow or absent polkit holds no one else; here such calls pass.
 */
bool authorize(const struct pc_peer *peer, const char *method, void *userdata)
{
	struct daemon *d = userdata;
	int r;

	if (strncmp(method, "org.varlink.service.", strlen("org.varlink.service.")) == 0)
		return true;
	if (method_changes_firewall(method))
		return true;
	if (peer->uid == 0)
		return true;
	if (!d->have_group) {
		log_refused(d, method, peer, "not root, and no ReadGroup= is set");
		return false;
	}
	r = pc_peer_in_group(peer, d->gid);
	if (r < 0) {
		log_msg(LOG_WARNING, "cannot tell whether pid %d (uid %u) is in group %s: %s",
			(int)peer->pid, (unsigned)peer->uid, d->group, strerror(-r));
		return false;
	}
	if (r == 0)
		log_refused(d, method, peer, "not in the read group");
	return r > 0;
}

static int reply_with(json_t *reply, json_t **ret_reply)
{
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

int method_status(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct daemon *d = userdata;
	bool fresh = false;
	const char *key;
	json_t *v;

	json_object_foreach(call->request->parameters, key, v)
	{
		if (strcmp(key, "fresh") == 0 && (json_is_boolean(v) || json_is_null(v))) {
			fresh = json_is_true(v);
			continue;
		}
		return reply_with(pc_varlink_error_new_string(PC_VARLINK_ERROR_INVALID_PARAMETER,
							      "parameter", key),
				  ret_reply);
	}
	*ret_reply = NULL;
	return status_request(d, call, fresh);
}

/* In the child: Explain's whole reply (the result, or why the query cannot be answered)
 * and how long it stays true. */
static int explain_job(void *arg, json_t **ret)
{
	const struct pc_explain_query *q = arg;
	_cleanup_free_ char *error = NULL;
	struct pc_freshness fresh = {.valid_for_ms = UINT64_MAX, .volatile_why = "unknown"};
	const char *param = "";
	json_t *result = NULL, *reply;
	int r;

	struct pc_status_options o = daemon_status_options(the_daemon);

	/* Only the main process may notify systemd (NotifyAccess=main). */
	the_daemon = NULL;
	r = pc_explain_collect(&o, q, &result, &param, &error, &fresh);
	if (r == -EINVAL)
		reply = pc_varlink_error_new(
		    "io.portcheck.BadRequest",
		    json_pack("{s:s,s:s}", "parameter", param, "reason",
			      error ? error : "the query does not fit this host"));
	else if (r < 0)
		return r; /* the parent reports it */
	else
		reply = pc_varlink_reply_new(result, false);
	if (!reply)
		return -ENOMEM;
	*ret = json_pack("{s:o,s:o}", "reply", reply, "freshness", freshness_to_json(&fresh));
	return *ret ? 0 : -ENOMEM;
}

int method_explain(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct daemon *d = userdata;
	_cleanup_free_ char *key = NULL;
	struct pc_explain_query q, *copy;
	const char *param, *why;

	if (pc_explain_parse(call->request->parameters, &q, &param, &why) < 0)
		return reply_with(
		    pc_varlink_error_new("io.portcheck.BadRequest",
					 json_pack("{s:s,s:s}", "parameter", param, "reason", why)),
		    ret_reply);
	/* The same query, however it was spelled, is the same key. */
	key = json_dumps(call->request->parameters, JSON_COMPACT | JSON_SORT_KEYS);
	copy = malloc(sizeof(*copy));
	if (!key || !copy) {
		free(copy);
		return -ENOMEM;
	}
	*copy = q;
	*ret_reply = NULL;
	return job_submit(d, call, explain_job, copy, free, key);
}

/* What a change's child needs: its own copy of the parameters, and who asked. */
struct change_arg {
	bool open;
	json_t *params;
	struct pc_peer peer; /* pid, uid and start time as taken at connect */
};

static void change_arg_free(void *p)
{
	struct change_arg *a = p;

	if (!a)
		return;
	json_decref(a->params);
	free(a);
}

/* Every change to the firewall, with who asked for it (from the child: stderr is the
 * daemon's, the journal's under systemd). */
static void audit_change(const char *line, void *userdata)
{
	const struct pc_peer *peer = userdata;

	log_msg(LOG_NOTICE, "firewall change by uid %u pid %d: %s", (unsigned)peer->uid,
		(int)peer->pid, line);
}

/*
 * In the child: may the caller change the firewall (root, or polkit says so for the
 * process that connected, named by pid and the start time read at connect), then the
 * change. Returns the reply message.
 */
static json_t *change_reply(const struct change_arg *a, const struct pc_status_options *o)
{
	struct pc_open_request req;
	_cleanup_free_ char *why = NULL;
	const char *param = "";
	json_t *reply = NULL;
	int r;

	if (pc_open_parse(a->params, a->open, &req, &param, &why) < 0)
		return pc_varlink_error_new(
		    "io.portcheck.BadRequest",
		    json_pack("{s:s,s:s}", "parameter", param, "reason", why ? why : "invalid"));
	if (a->peer.uid != 0) {
		_cleanup_free_ char *error = NULL;

		r = pc_polkit_check(a->peer.pid, a->peer.uid, a->peer.start_time,
				    PC_POLKIT_ACTION_FIREWALLD_CONFIG, POLKIT_TIMEOUT_MS, &error);
		if (r < 0)
			log_msg(LOG_NOTICE, "%s refused to pid %d (uid %u): polkit unavailable: %s",
				a->open ? "Open" : "Close", (int)a->peer.pid, (unsigned)a->peer.uid,
				error ? error : strerror(-r));
		if (r <= 0)
			return pc_varlink_error_new(PC_VARLINK_ERROR_PERMISSION_DENIED, NULL);
		/* polkit judged the process with this pid and start time; if that process
		 * is gone, the answer may be about whoever took its pid. */
		if (pc_peer_still_running(&a->peer) <= 0) {
			log_msg(LOG_NOTICE, "%s refused to pid %d (uid %u): it exited meanwhile",
				a->open ? "Open" : "Close", (int)a->peer.pid,
				(unsigned)a->peer.uid);
			return pc_varlink_error_new(PC_VARLINK_ERROR_PERMISSION_DENIED, NULL);
		}
	}
	r = pc_open_run(o, &req, audit_change, (void *)&a->peer, &reply);
	if (r < 0) {
		log_msg(LOG_WARNING, "%s: %s", a->open ? "Open" : "Close", strerror(-r));
		return NULL;
	}
	return reply;
}

static int change_job(void *arg, json_t **ret)
{
	/* The options point into the daemon's configuration: take them while it is known
	 * (the child's copy of it stays valid). */
	struct pc_status_options o = daemon_status_options(the_daemon);
	json_t *reply;

	the_daemon = NULL;
	reply = change_reply(arg, &o);
	if (!reply)
		return -EIO;
	*ret = json_pack("{s:o}", "reply", reply);
	return *ret ? 0 : -ENOMEM;
}

static int method_open_close(const struct pc_varlink_call *call, void *userdata, bool open,
			     json_t **ret_reply)
{
	struct daemon *d = userdata;
	struct pc_open_request req;
	_cleanup_free_ char *why = NULL;
	const char *param = "";
	struct change_arg *a;

	/* A bad request is answered here, without a child and without asking polkit. */
	if (pc_open_parse(call->request->parameters, open, &req, &param, &why) < 0)
		return reply_with(pc_varlink_error_new("io.portcheck.BadRequest",
						       json_pack("{s:s,s:s}", "parameter", param,
								 "reason", why ? why : "invalid")),
				  ret_reply);
	if (call->peer->uid != 0 && call->peer->start_time == 0) {
		log_refused(d, open ? "Open" : "Close", call->peer,
			    "the calling process could not be identified for polkit");
		return reply_with(pc_varlink_error_new(PC_VARLINK_ERROR_PERMISSION_DENIED, NULL),
				  ret_reply);
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->open = open;
	a->params = json_deep_copy(call->request->parameters);
	a->peer = (struct pc_peer){.pid = call->peer->pid,
				   .uid = call->peer->uid,
				   .gid = call->peer->gid,
				   .start_time = call->peer->start_time};
	if (!a->params) {
		change_arg_free(a);
		return -ENOMEM;
	}
	*ret_reply = NULL;
	return job_submit(d, call, change_job, a, change_arg_free, NULL);
}

int method_open(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	return method_open_close(call, userdata, true, ret_reply);
}

int method_close(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	return method_open_close(call, userdata, false, ret_reply);
}
