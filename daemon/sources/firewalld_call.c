/* SPDX-License-Identifier: MIT */
/*
 * The firewalld reader's D-Bus calls (firewalld_call.h): pipelined, bounded per call and
 * overall by the time budget, replies collected in the order the calls were sent; failures
 * recorded per section.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firewalld_call.h"
#include "portcheck/strsan.h"

/*
 * Enough calls in flight to hide the round trips; few enough that a call does not wait
 * behind hundreds of others, since firewalld answers one call at a time and a call's
 * timeout would otherwise measure firewalld's whole backlog.
 */
#define PIPELINE_DEPTH 32
/* How far past the budget a call may be waited for before it is re-sent (see wait_call). */
#define BUDGET_SLACK_MS 100

const char *pc_fwcall_subject(const struct call *c)
{
	return c->name ? c->name : c->arg ? c->arg : "";
}

void pc_fwcall_reader_clear(struct reader *rd)
{
	for (size_t i = 0; i < rd->n_calls; i++) {
		struct call *c = &rd->calls[i];

		if (c->pending) {
			dbus_pending_call_cancel(c->pending);
			dbus_pending_call_unref(c->pending);
		}
		free(c->path);
		free(c->arg);
		free(c->name);
	}
	free(rd->calls);
	for (size_t i = 0; i < SEC_MAX; i++)
		free(rd->sec[i].reason);
}

int pc_fwcall_set_reason(struct reader *rd, enum section sec, const char *fmt, ...)
{
	va_list ap;

	if (rd->sec[sec].reason)
		return 0;
	va_start(ap, fmt);
	rd->sec[sec].reason = pc_vstrdupf(fmt, ap);
	va_end(ap);
	return rd->sec[sec].reason ? 0 : -ENOMEM;
}

int pc_fwcall_add(struct reader *rd, enum section sec, bool is_list, const char *path,
		  const char *iface, const char *method, const char *label, const char *arg,
		  const char *name, call_handler_t handle)
{
	struct call *c = pc_array_grow(&rd->calls, &rd->n_calls, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->iface = iface;
	c->method = method;
	c->label = label ? label : method;
	c->section = sec;
	c->is_list = is_list;
	c->handle = handle;
	c->path = strdup(path);
	c->arg = arg ? strdup(arg) : NULL;
	c->name = name ? strdup(name) : NULL;
	if (!c->path || (arg && !c->arg) || (name && !c->name))
		return -ENOMEM;
	return 0;
}

/* Reading stops: what is queued or in flight stays unread (see sweep()). */
static void abort_reading(struct reader *rd)
{
	rd->aborted = true;
}

static int send_call(struct reader *rd, size_t idx)
{
	struct call *c = &rd->calls[idx];
	_cleanup_dbus_message_ DBusMessage *m = NULL;
	int64_t left = rd->deadline - (int64_t)pc_now_ms();
	int timeout;

	if (left <= 0) {
		abort_reading(rd);
		return pc_fwcall_set_reason(rd, c->section,
					    "time budget of %d ms exhausted before %s(%s)",
					    rd->budget_ms, c->label, pc_fwcall_subject(c));
	}
	timeout = left < rd->timeout_ms ? (int)left : rd->timeout_ms;

	m = dbus_message_new_method_call(rd->owner, c->path, c->iface, c->method);
	if (!m)
		return -ENOMEM;
	if (c->arg && !dbus_message_append_args(m, DBUS_TYPE_STRING, &c->arg, DBUS_TYPE_INVALID))
		return -ENOMEM;
	if (!dbus_connection_send_with_reply(rd->bus, m, &c->pending, timeout))
		return -ENOMEM;
	if (!c->pending) {
		abort_reading(rd);
		return pc_fwcall_set_reason(rd, c->section,
					    "disconnected from the system bus before %s(%s)",
					    c->label, pc_fwcall_subject(c));
	}
	c->timeout_ms = timeout;
	c->state = CALL_SENT;
	return 0;
}

static int fail_call(struct reader *rd, const struct call *c, bool fatal, const char *what)
{
	if (c->is_list)
		rd->sec[c->section].list_failed = true;
	if (fatal)
		abort_reading(rd);
	return pc_fwcall_set_reason(rd, c->section, "%s", what);
}

/* Turn an error reply into a failure of @c; losing firewalld or the bus is fatal. */
static int call_error(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	const char *name = dbus_message_get_error_name(reply);
	const char *subject = pc_fwcall_subject(c);
	_cleanup_free_ char *what = NULL;
	char quote[MAX_QUOTE + 1] = "";
	const char *msg = NULL;
	bool fatal = true;
	int r;

	if (!name)
		name = "(unnamed error)";
	if (!dbus_connection_get_is_connected(rd->bus))
		r = asprintf(&what, "disconnected from the system bus during %s(%s)", c->label,
			     subject);
	else if (strcmp(name, DBUS_ERROR_NO_REPLY) == 0 && !dbus_message_get_sender(reply))
		/* Made by libdbus itself when the timeout expired; the bus daemon's own
		 * NoReply (firewalld disconnected) carries the daemon as sender. */
		r = c->timeout_ms < rd->timeout_ms
			? asprintf(&what, "time budget of %d ms exhausted in %s(%s)", rd->budget_ms,
				   c->label, subject)
			: asprintf(&what, "timeout after %d ms in %s(%s)", c->timeout_ms, c->label,
				   subject);
	else if (strcmp(name, DBUS_ERROR_NO_REPLY) == 0 ||
		 strcmp(name, DBUS_ERROR_SERVICE_UNKNOWN) == 0 ||
		 strcmp(name, DBUS_ERROR_NAME_HAS_NO_OWNER) == 0)
		/* Calls go to the unique name, so a restarted firewalld shows up here too
		 * instead of mixing two instances' answers. */
		r = asprintf(&what, "firewalld left the bus during %s(%s)", c->label, subject);
	else {
		/* Refused for lack of privilege (firewalld's polkit or uid check, or the bus
		 * policy): every further call would be refused the same way, so one error line
		 * says it all. Other errors concern just this object. */
		fatal = strcmp(name, FW_NAME ".NotAuthorizedException") == 0 ||
			strcmp(name, DBUS_ERROR_ACCESS_DENIED) == 0;
		/* The peer's words, cut at a character boundary. */
		if (dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &msg, DBUS_TYPE_INVALID))
			pc_strsan_buf(quote, sizeof(quote), msg, strlen(msg), PC_STRSAN_RAW);
		r = asprintf(&what, "%s(%s) failed: %s [%s]", c->label, subject,
			     msg ? quote : "no message", name);
	}
	if (r < 0)
		return -ENOMEM;
	return fail_call(rd, c, fatal, what);
}

static int wait_call(struct reader *rd, size_t idx)
{
	struct call *c = &rd->calls[idx];
	_cleanup_dbus_message_ DBusMessage *reply = NULL;
	_cleanup_free_ char *what = NULL;
	struct call copy;
	int64_t now = (int64_t)pc_now_ms();
	int r;

	if (now >= rd->deadline) {
		abort_reading(rd);
		return pc_fwcall_set_reason(rd, c->section,
					    "time budget of %d ms exhausted waiting for %s(%s)",
					    rd->budget_ms, c->label, pc_fwcall_subject(c));
	}
	/*
	 * libdbus counts a pending call's timeout from when we start blocking on it, not
	 * from when it was sent, so a call that waited behind others could outlive the
	 * budget. These calls only read, so re-sending with the time left is harmless.
	 */
	if (now + c->timeout_ms > rd->deadline + BUDGET_SLACK_MS) {
		dbus_pending_call_cancel(c->pending);
		dbus_pending_call_unref(c->pending);
		c->pending = NULL;
		c->state = CALL_QUEUED;
		r = send_call(rd, idx);
		if (r < 0 || rd->aborted)
			return r;
	}

	dbus_pending_call_block(c->pending);
	reply = dbus_pending_call_steal_reply(c->pending);
	dbus_pending_call_unref(c->pending);
	c->pending = NULL;
	c->state = CALL_DONE;

	if (!reply) {
		if (asprintf(&what, "no reply to %s(%s)", c->label, pc_fwcall_subject(c)) < 0)
			return -ENOMEM;
		return fail_call(rd, c, true, what);
	}
	if (dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR)
		return call_error(rd, c, reply);

	/* A handler may queue calls, which moves rd->calls. */
	copy = *c;
	r = copy.handle(rd, &copy, reply);
	if (r == -EBADMSG) {
		if (asprintf(&what, "malformed reply to %s(%s)", copy.label,
			     pc_fwcall_subject(&copy)) < 0)
			return -ENOMEM;
		return fail_call(rd, &copy, false, what);
	}
	return r;
}

/* Whatever is left when reading stops is unread; cancel it so late replies are dropped. */
static void sweep(struct reader *rd)
{
	for (size_t i = 0; i < rd->n_calls; i++) {
		struct call *c = &rd->calls[i];

		if (c->state == CALL_DONE)
			continue;
		if (c->pending) {
			dbus_pending_call_cancel(c->pending);
			dbus_pending_call_unref(c->pending);
			c->pending = NULL;
		}
		rd->sec[c->section].unread = true;
		if (c->is_list)
			rd->sec[c->section].list_failed = true;
	}
}

int pc_fwcall_run(struct reader *rd)
{
	int r;

	while (!rd->aborted && rd->n_done < rd->n_calls) {
		while (!rd->aborted && rd->n_sent < rd->n_calls &&
		       rd->n_sent - rd->n_done < PIPELINE_DEPTH) {
			r = send_call(rd, rd->n_sent);
			if (r < 0)
				return r;
			if (!rd->aborted)
				rd->n_sent++;
		}
		if (rd->aborted || rd->n_done == rd->n_sent)
			break;
		r = wait_call(rd, rd->n_done);
		if (r < 0)
			return r;
		rd->n_done++;
	}
	sweep(rd);
	return 0;
}
