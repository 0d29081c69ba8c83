/* SPDX-License-Identifier: MIT */
/*
 * The bus half of firewall changes: the checks before a change (running, panic mode,
 * lockdown) and the runtime and permanent query/add/remove calls of firewalld 1.x. Every
 * call is synchronous with a timeout and addressed to firewalld's unique name, so a
 * firewalld restarted mid-operation makes the calls fail instead of reaching a new
 * instance that never saw the first half.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "portcheck/sysbus.h"
#include "portcheck/fwchange.h"
#include "portcheck/strsan.h"

#define FW_NAME "org.fedoraproject.FirewallD1"
#define FW_PATH "/org/fedoraproject/FirewallD1"
#define FW_IFACE FW_NAME
#define FW_ZONE_IFACE FW_NAME ".zone"
#define FW_POLICIES_IFACE FW_NAME ".policies"
#define FW_CONFIG_PATH FW_PATH "/config"
#define FW_CONFIG_IFACE FW_NAME ".config"
#define FW_CONFIG_ZONE_IFACE FW_CONFIG_IFACE ".zone"
#define MAX_QUOTE 200

static void msg_unrefp(DBusMessage **m)
{
	if (*m)
		dbus_message_unref(*m);
}
#define _cleanup_msg_ _cleanup_(msg_unrefp)

static __attribute__((format(printf, 3, 4))) int fail(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pc_error_setv(ret_error, r, fmt, ap);
	va_end(ap);
	/* firewalld's words (cut at MAX_QUOTE bytes, perhaps inside a character) and the
	 * zone and item the request named: text for JSON and logs. Without memory for that,
	 * no message (as when formatting fails): -r is the error that matters. */
	if (*ret_error && pc_strsan_replace(ret_error, PC_STRSAN_TEXT) < 0) {
		free(*ret_error);
		*ret_error = NULL;
	}
	return r;
}

/*
 * Send @m (taken; NULL means it could not be built) and wait for the reply. A D-Bus error becomes
 * -errno with firewalld's message (cut) in *ret_error; @what names the call.
 */
static int call(struct pc_fw_bus *b, DBusMessage *m, const char *what, DBusMessage **ret,
		char **ret_error)
{
	DBusError err = DBUS_ERROR_INIT;
	DBusMessage *reply;
	int r;

	if (!m)
		return -ENOMEM;
	reply = dbus_connection_send_with_reply_and_block(b->bus, m, b->timeout_ms, &err);
	dbus_message_unref(m);
	if (reply) {
		*ret = reply;
		return 0;
	}
	if (dbus_error_has_name(&err, DBUS_ERROR_NO_REPLY) ||
	    dbus_error_has_name(&err, DBUS_ERROR_TIMEOUT))
		r = fail(ret_error, -ETIMEDOUT, "%s: firewalld did not answer within %d ms", what,
			 b->timeout_ms);
	else if (dbus_error_has_name(&err, DBUS_ERROR_NAME_HAS_NO_OWNER) ||
		 dbus_error_has_name(&err, DBUS_ERROR_SERVICE_UNKNOWN))
		r = fail(ret_error, -ENOENT, "%s: firewalld is no longer on the bus", what);
	else if (dbus_error_has_name(&err, DBUS_ERROR_ACCESS_DENIED) ||
		 (err.name && strstr(err.name, "NotAuthorized")))
		r = fail(ret_error, -EACCES, "%s: firewalld refused: %.*s", what, MAX_QUOTE,
			 err.message ? err.message : err.name);
	else
		r = fail(ret_error, -EIO, "%s failed: %.*s", what, MAX_QUOTE,
			 err.message ? err.message
			 : err.name  ? err.name
				     : "unknown error");
	dbus_error_free(&err);
	return r;
}

static int call_bool(struct pc_fw_bus *b, DBusMessage *m, const char *what, char **ret_error)
{
	_cleanup_msg_ DBusMessage *reply = NULL;
	dbus_bool_t v;
	int r;

	r = call(b, m, what, &reply, ret_error);
	if (r < 0)
		return r;
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_BOOLEAN, &v, DBUS_TYPE_INVALID))
		return fail(ret_error, -EBADMSG, "%s: malformed reply", what);
	return v ? 1 : 0;
}

static DBusMessage *new_call(struct pc_fw_bus *b, const char *path, const char *iface,
			     const char *method)
{
	return dbus_message_new_method_call(b->owner, path, iface, method);
}

void pc_fw_bus_close(struct pc_fw_bus *b)
{
	if (!b)
		return;
	if (b->bus) {
		dbus_connection_close(b->bus);
		dbus_connection_unref(b->bus);
	}
	free(b->owner);
	*b = (struct pc_fw_bus){0};
}

static int read_state(struct pc_fw_bus *b, char **ret_state, char **ret_error)
{
	_cleanup_msg_ DBusMessage *m = NULL, *reply = NULL;
	const char *iface = FW_IFACE, *prop = "state", *s;
	DBusMessageIter it, var;
	int r;

	m = new_call(b, FW_PATH, DBUS_INTERFACE_PROPERTIES, "Get");
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &prop,
					    DBUS_TYPE_INVALID))
		return -ENOMEM;
	r = call(b, TAKE_PTR(m), "reading firewalld's state", &reply, ret_error);
	if (r < 0)
		return r;
	if (!dbus_message_iter_init(reply, &it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_VARIANT)
		return fail(ret_error, -EBADMSG, "malformed reply to firewalld's state");
	dbus_message_iter_recurse(&it, &var);
	if (dbus_message_iter_get_arg_type(&var) != DBUS_TYPE_STRING)
		return fail(ret_error, -EBADMSG, "malformed reply to firewalld's state");
	dbus_message_iter_get_basic(&var, &s);
	*ret_state = strdup(s);
	return *ret_state ? 0 : -ENOMEM;
}

int pc_fw_bus_open(int timeout_ms, struct pc_fw_bus *ret, char **ret_error)
{
	struct pc_fw_bus b = {.timeout_ms = timeout_ms};
	_cleanup_msg_ DBusMessage *m = NULL, *reply = NULL;
	_cleanup_free_ char *state = NULL;
	DBusError err = DBUS_ERROR_INIT;
	const char *name = FW_NAME, *owner;
	int r;

	b.bus = pc_sysbus_open(timeout_ms, &err);
	if (!b.bus) {
		r = fail(ret_error, -ENOENT, "system bus unavailable: %s",
			 err.message ? err.message : "unknown error");
		dbus_error_free(&err);
		return r;
	}

	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
					 "GetNameOwner");
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID)) {
		r = -ENOMEM;
		goto fail;
	}
	r = call(&b, TAKE_PTR(m), "looking up firewalld", &reply, ret_error);
	if (r < 0) {
		free(*ret_error);
		r = fail(ret_error, -ENOENT, "firewalld is not running (not on the system bus)");
		goto fail;
	}
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &owner, DBUS_TYPE_INVALID)) {
		r = fail(ret_error, -EBADMSG, "malformed reply to GetNameOwner");
		goto fail;
	}
	b.owner = strdup(owner);
	if (!b.owner) {
		r = -ENOMEM;
		goto fail;
	}

	r = read_state(&b, &state, ret_error);
	if (r < 0)
		goto fail;
	if (strcmp(state, "RUNNING") != 0) {
		r = fail(ret_error, -EBUSY, "firewalld is not ready (state %s)", state);
		goto fail;
	}
	r = call_bool(&b, new_call(&b, FW_PATH, FW_IFACE, "queryPanicMode"), "querying panic mode",
		      ret_error);
	if (r < 0)
		goto fail;
	if (r > 0) {
		r = fail(ret_error, -EBUSY,
			 "firewalld is in panic mode (every packet is dropped); leave it with "
			 "`firewall-cmd --panic-off` first");
		goto fail;
	}
	r = call_bool(&b, new_call(&b, FW_PATH, FW_POLICIES_IFACE, "queryLockdown"),
		      "querying lockdown", ret_error);
	if (r < 0)
		goto fail;
	if (r > 0) {
		r = fail(ret_error, -EBUSY,
			 "firewalld's lockdown is on: only whitelisted applications may change "
			 "it; use firewall-cmd, or `firewall-cmd --lockdown-off`");
		goto fail;
	}
	*ret = b;
	return 0;
fail:
	pc_fw_bus_close(&b);
	return r;
}

/* The permanent zone's object path, from config.getZoneByName. */
static int zone_object(struct pc_fw_bus *b, const char *zone, char **ret_path, char **ret_error)
{
	_cleanup_msg_ DBusMessage *m = NULL, *reply = NULL;
	const char *path;
	int r;

	m = new_call(b, FW_CONFIG_PATH, FW_CONFIG_IFACE, "getZoneByName");
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &zone, DBUS_TYPE_INVALID))
		return -ENOMEM;
	r = call(b, TAKE_PTR(m), "finding the permanent zone", &reply, ret_error);
	if (r < 0)
		return r;
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_OBJECT_PATH, &path, DBUS_TYPE_INVALID))
		return fail(ret_error, -EBADMSG, "malformed reply to getZoneByName");
	*ret_path = strdup(path);
	return *ret_path ? 0 : -ENOMEM;
}

/* Build the call for @method on the runtime zone interface or the permanent zone object. */
static int build(struct pc_fw_bus *b, bool permanent, const char *zone, const char *method,
		 const struct pc_fw_item *item, bool with_timeout, int timeout_s, DBusMessage **ret,
		 char **ret_error)
{
	_cleanup_free_ char *path = NULL;
	char port[16], name[32];
	const char *port_p = port, *proto = item->port.proto, *svc = item->service;
	dbus_int32_t t = timeout_s;
	DBusMessage *m;
	bool ok;
	int r;

	snprintf(name, sizeof(name), "%s%s", method,
		 item->kind == PC_FW_ITEM_PORT ? "Port" : "Service");
	if (item->port.lo == item->port.hi)
		snprintf(port, sizeof(port), "%u", item->port.lo);
	else
		snprintf(port, sizeof(port), "%u-%u", item->port.lo, item->port.hi);

	if (permanent) {
		r = zone_object(b, zone, &path, ret_error);
		if (r < 0)
			return r;
		m = new_call(b, path, FW_CONFIG_ZONE_IFACE, name);
		if (!m)
			return -ENOMEM;
		if (item->kind == PC_FW_ITEM_PORT)
			ok = dbus_message_append_args(m, DBUS_TYPE_STRING, &port_p,
						      DBUS_TYPE_STRING, &proto, DBUS_TYPE_INVALID);
		else
			ok = dbus_message_append_args(m, DBUS_TYPE_STRING, &svc, DBUS_TYPE_INVALID);
	} else {
		m = new_call(b, FW_PATH, FW_ZONE_IFACE, name);
		if (!m)
			return -ENOMEM;
		if (item->kind == PC_FW_ITEM_PORT)
			ok = dbus_message_append_args(m, DBUS_TYPE_STRING, &zone, DBUS_TYPE_STRING,
						      &port_p, DBUS_TYPE_STRING, &proto,
						      DBUS_TYPE_INVALID);
		else
			ok = dbus_message_append_args(m, DBUS_TYPE_STRING, &zone, DBUS_TYPE_STRING,
						      &svc, DBUS_TYPE_INVALID);
		if (ok && with_timeout)
			ok = dbus_message_append_args(m, DBUS_TYPE_INT32, &t, DBUS_TYPE_INVALID);
	}
	if (!ok) {
		dbus_message_unref(m);
		return -ENOMEM;
	}
	*ret = m;
	return 0;
}

int pc_fw_query(struct pc_fw_bus *b, bool permanent, const char *zone,
		const struct pc_fw_item *item, char **ret_error)
{
	DBusMessage *m = NULL;
	char what[160];
	int r;

	r = build(b, permanent, zone, "query", item, false, 0, &m, ret_error);
	if (r < 0)
		return r;
	snprintf(what, sizeof(what), "querying zone %s (%s)", zone,
		 permanent ? "permanent" : "runtime");
	return call_bool(b, m, what, ret_error);
}

int pc_fw_change(struct pc_fw_bus *b, bool permanent, bool add, const char *zone,
		 const struct pc_fw_item *item, int timeout_s, char **ret_error)
{
	_cleanup_msg_ DBusMessage *m = NULL, *reply = NULL;
	_cleanup_free_ char *text = pc_fw_item_to_string(item);
	char what[200];
	int r;

	r = build(b, permanent, zone, add ? "add" : "remove", item, add && !permanent, timeout_s,
		  &m, ret_error);
	if (r < 0)
		return r;
	snprintf(what, sizeof(what), "%s %s %s zone %s (%s)", add ? "adding" : "removing",
		 text ? text : "?", add ? "to" : "from", zone, permanent ? "permanent" : "runtime");
	return call(b, TAKE_PTR(m), what, &reply, ret_error);
}
