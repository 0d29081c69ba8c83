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

/* How long polkit may take to answer; the caller waits for it (no interaction). */
#define POLKIT_TIMEOUT_MS 5000

static bool method_changes_firewall(const char *method)
{
	return strcmp(method, "io.portcheck.Open") == 0 ||
	       strcmp(method, "io.portcheck.Close") == 0;
}

/*
 * Changing the firewall: root, or whoever polkit authorizes for firewalld's own action,
 * so that the policy already written for firewalld decides. polkit absent, failing or
 * slow: refused. Blocking the loop for the answer is acceptable: changes are rare.
 */
static bool authorize_change(const struct pc_peer *peer, const char *method)
{
	_cleanup_free_ char *error = NULL;
	int r;

	if (peer->uid == 0)
		return true;
	r = pc_polkit_check(peer->pid, peer->uid, PC_POLKIT_ACTION_FIREWALLD_CONFIG,
			    POLKIT_TIMEOUT_MS, &error);
	if (r < 0)
		log_msg(LOG_NOTICE, "%s refused to pid %d (uid %u): polkit unavailable: %s", method,
			(int)peer->pid, (unsigned)peer->uid, error ? error : strerror(-r));
	else if (r == 0)
		log_msg(LOG_NOTICE,
			"%s refused to pid %d (uid %u): not authorized by polkit for "
			"%s",
			method, (int)peer->pid, (unsigned)peer->uid,
			PC_POLKIT_ACTION_FIREWALLD_CONFIG);
	return r > 0;
}

/*
 * The daemon's policy. Introspection (org.varlink.service) is open to everyone: it
 * reveals nothing about the host. Reading the status is for root and the read group.
 * Changing the firewall (Open, Close) is for root and whom polkit authorizes.
 */
bool authorize(const struct pc_peer *peer, const char *method, void *userdata)
{
	const struct daemon *d = userdata;
	int r;

	if (strncmp(method, "org.varlink.service.", strlen("org.varlink.service.")) == 0)
		return true;
	if (method_changes_firewall(method))
		return authorize_change(peer, method);
	if (peer->uid == 0)
		return true;
	if (!d->have_group)
		return false;
	r = pc_peer_in_group(peer, d->gid);
	if (r < 0) {
		log_msg(LOG_WARNING, "cannot tell whether pid %d (uid %u) is in group %s: %s",
			(int)peer->pid, (unsigned)peer->uid, d->group, strerror(-r));
		return false;
	}
	return r > 0;
}

int method_status(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct daemon *d = userdata;
	json_t *status = NULL, *reply, *v;
	uint64_t start = pc_now_ms();
	const char *key;
	int r;

	json_object_foreach(call->request->parameters, key, v)
	{
		reply = pc_varlink_error_new_string(PC_VARLINK_ERROR_INVALID_PARAMETER, "parameter",
						    key);
		if (!reply)
			return -ENOMEM;
		*ret_reply = reply;
		return 0;
	}

	/* In a child, so that other clients, signals and the watchdog are served while
	 * this one waits for firewalld or a large analysis. */
	r = job_defer(d, call, NULL, NULL);
	if (r < 0)
		return r;
	if (r > 0) {
		*ret_reply = NULL;
		return 0;
	}
	r = pc_status_collect(&status_options, &status);
	reply = status_reply(d, r, status, start);
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

/* Explain's whole reply: the result, or why the query cannot be answered. */
static json_t *explain_reply(const struct pc_explain_query *q)
{
	_cleanup_free_ char *error = NULL;
	const char *param = "";
	json_t *result = NULL;
	int r;

	r = pc_explain_collect(&status_options, q, &result, &param, &error);
	if (r == -EINVAL)
		return pc_varlink_error_new(
		    "io.portcheck.BadRequest",
		    json_pack("{s:s,s:s}", "parameter", param, "reason",
			      error ? error : "the query does not fit this host"));
	if (r < 0) {
		log_msg(LOG_WARNING, "Explain: reading the system state failed: %s", strerror(-r));
		return pc_varlink_error_new_string("io.portcheck.ReadFailed", "reason",
						   strerror(-r));
	}
	return pc_varlink_reply_new(result, false);
}

/* In the child: the reply message, as the result of the job. */
static int explain_job(void *arg, json_t **ret)
{
	json_t *reply;

	/* Only the main process may notify systemd (NotifyAccess=main): no watchdog pings
	 * from here. */
	the_daemon = NULL;
	reply = explain_reply(arg);

	if (!reply)
		return -ENOMEM;
	*ret = reply;
	return 0;
}

int method_explain(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct daemon *d = userdata;
	struct pc_explain_query q;
	const char *param, *why;
	json_t *reply;
	int r;

	if (pc_explain_parse(call->request->parameters, &q, &param, &why) < 0) {
		reply =
		    pc_varlink_error_new("io.portcheck.BadRequest",
					 json_pack("{s:s,s:s}", "parameter", param, "reason", why));
	} else {
		/* In a child, like Status: other clients are served meanwhile. */
		r = job_defer(d, call, explain_job, &q);
		if (r < 0)
			return r;
		if (r > 0) {
			*ret_reply = NULL;
			return 0;
		}
		reply = explain_reply(&q);
	}
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

/* Every change to the firewall, with who asked for it. */
static void audit_change(const char *line, void *userdata)
{
	const struct pc_peer *peer = userdata;

	log_msg(LOG_NOTICE, "firewall change by uid %u pid %d: %s", (unsigned)peer->uid,
		(int)peer->pid, line);
}

static int method_open_close(const struct pc_varlink_call *call, bool open, json_t **ret_reply)
{
	const struct pc_status_options opts = status_options;
	struct pc_open_request req;
	_cleanup_free_ char *why = NULL;
	const char *param = "";
	json_t *reply = NULL;
	int r;

	if (pc_open_parse(call->request->parameters, open, &req, &param, &why) < 0) {
		reply = pc_varlink_error_new(
		    "io.portcheck.BadRequest",
		    json_pack("{s:s,s:s}", "parameter", param, "reason", why ? why : "invalid"));
	} else {
		r = pc_open_run(&opts, &req, audit_change, (void *)call->peer, &reply);
		if (r < 0) {
			log_msg(LOG_WARNING, "%s: %s", open ? "Open" : "Close", strerror(-r));
			return r;
		}
	}
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

int method_open(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	return method_open_close(call, true, ret_reply);
}

int method_close(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	return method_open_close(call, false, ret_reply);
}
