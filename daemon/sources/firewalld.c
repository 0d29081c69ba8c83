/* SPDX-License-Identifier: MIT */
/*
 * Bus half of the firewalld module: reads state, runtime and permanent configuration
 * from firewalld 1.x over D-Bus, bounded per call and overall. Parsing lives in
 * firewalld_parse.c.
 *
 * About 450 calls are needed (one per zone and service, twice, plus lookups of the
 * permanent objects), so they are pipelined: up to PIPELINE_DEPTH are in flight, and
 * replies are collected in the order the calls were sent (firewalld_call.c). Handlers of
 * list replies, here, queue the per-object calls, so everything runs in one pipeline.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "firewalld_call.h"
#include "portcheck/firewalld.h"
#include "portcheck/strsan.h"

/* Far more zones or services than any real firewalld has; bounds the work a broken
 * peer can make us do. */
#define MAX_OBJECTS 4096

static const char *const section_names[SEC_MAX] = {
    [SEC_STATE] = "firewalld state",
    [SEC_DEFAULT_ZONE] = "default zone",
    [SEC_PANIC] = "panic mode",
    [SEC_RT_ZONES] = "runtime zones",
    [SEC_RT_SERVICES] = "runtime services",
    [SEC_PERMANENT] = "permanent configuration",
};

/*
 * Error texts end up in journal lines and JSON: *@s cut to at most @max bytes of whole
 * characters and sanitised (strsan.h). The text mode leaves what was sanitised already
 * (quotes, names) as it is and escapes whatever came in raw (object names, libdbus's
 * messages). Returns 0 or -ENOMEM.
 */
static int clean_text(char **s, size_t max)
{
	char *out = malloc(max + 1);

	if (!out)
		return -ENOMEM;
	pc_strsan_buf(out, max + 1, *s, strlen(*s), PC_STRSAN_TEXT);
	free(*s);
	*s = out;
	return 0;
}

/* Reply handlers. They return 0, -EBADMSG for a reply of the wrong shape, or -ENOMEM. */

/* The single string-like (@type: s or o) argument of @reply. */
static int reply_string(DBusMessage *reply, int type, char **ret)
{
	const char *s;
	char *copy;

	if (!dbus_message_get_args(reply, NULL, type, &s, DBUS_TYPE_INVALID))
		return -EBADMSG;
	/* get_args tolerates trailing arguments; a reply must have exactly one. */
	if (strlen(dbus_message_get_signature(reply)) != 1)
		return -EBADMSG;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

static int on_properties(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	_cleanup_free_ char *state = NULL, *version = NULL;
	DBusMessageIter it, arr;
	int r;

	if (!dbus_message_has_signature(reply, "a{sv}"))
		return -EBADMSG;
	dbus_message_iter_init(reply, &it);
	dbus_message_iter_recurse(&it, &arr);
	for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&arr)) {
		DBusMessageIter entry, v;
		const char *key, *value;
		char **dst;

		dbus_message_iter_recurse(&arr, &entry);
		dbus_message_iter_get_basic(&entry, &key);
		if (strcmp(key, "state") == 0)
			dst = &state;
		else if (strcmp(key, "version") == 0)
			dst = &version;
		else
			continue;
		dbus_message_iter_next(&entry);
		dbus_message_iter_recurse(&entry, &v);
		if (dbus_message_iter_get_arg_type(&v) != DBUS_TYPE_STRING || *dst)
			return -EBADMSG;
		dbus_message_iter_get_basic(&v, &value);
		r = pc_strsan(value, strlen(value), PC_STRSAN_RAW, dst);
		if (r < 0)
			return r;
	}
	if (!state)
		return -EBADMSG;

	rd->fw->running = strcmp(state, "RUNNING") == 0;
	/* While starting, firewalld answers from a half-loaded configuration. */
	rd->skip_config = strcmp(state, "INIT") == 0;
	free(rd->fw->state);
	rd->fw->state = TAKE_PTR(state);
	free(rd->fw->version);
	rd->fw->version = TAKE_PTR(version);
	return 0;
}

static int on_default_zone(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	char *zone = NULL;
	int r;

	r = reply_string(reply, DBUS_TYPE_STRING, &zone);
	if (r >= 0)
		r = pc_strsan_replace(&zone, PC_STRSAN_RAW);
	if (r < 0) {
		free(zone);
		return r;
	}
	free(rd->fw->default_zone);
	rd->fw->default_zone = zone;
	return 0;
}

static int on_panic(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	dbus_bool_t panic;

	if (!dbus_message_has_signature(reply, DBUS_TYPE_BOOLEAN_AS_STRING) ||
	    !dbus_message_get_args(reply, NULL, DBUS_TYPE_BOOLEAN, &panic, DBUS_TYPE_INVALID))
		return -EBADMSG;
	rd->fw->panic = panic;
	return 0;
}

/* Settings of one zone or service, as the last call of its chain. */
static int store_zone(struct pc_fw_config *cfg, const struct call *c, DBusMessage *reply)
{
	_cleanup_(pc_fw_zone_clear) struct pc_fw_zone z = {0};
	struct pc_fw_zone *slot;
	DBusMessageIter it;
	int r;

	if (!dbus_message_has_signature(reply, "a{sv}"))
		return -EBADMSG;
	dbus_message_iter_init(reply, &it);
	r = pc_fw_parse_zone_settings(&it, c->name, &z);
	if (r < 0)
		return r;
	slot = pc_array_grow(&cfg->zones, &cfg->n_zones, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = z;
	z = (struct pc_fw_zone){0};
	return 0;
}

static int store_service(struct pc_fw_config *cfg, const struct call *c, DBusMessage *reply)
{
	_cleanup_(pc_fw_service_clear) struct pc_fw_service s = {0};
	struct pc_fw_service *slot;
	DBusMessageIter it;
	int r;

	if (!dbus_message_has_signature(reply, "a{sv}"))
		return -EBADMSG;
	dbus_message_iter_init(reply, &it);
	r = pc_fw_parse_service_settings(&it, c->name, &s);
	if (r < 0)
		return r;
	slot = pc_array_grow(&cfg->services, &cfg->n_services, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = s;
	s = (struct pc_fw_service){0};
	return 0;
}

static int on_runtime_zone(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	int r = store_zone(&rd->fw->runtime, c, reply);

	if (r == 0)
		rd->sec[c->section].read++;
	return r;
}

static int on_runtime_service(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	int r = store_service(&rd->fw->runtime, c, reply);

	if (r == 0)
		rd->sec[c->section].read++;
	return r;
}

static int on_permanent_service_path(struct reader *rd, const struct call *c, DBusMessage *reply);

/*
 * The permanent configuration is only consulted for whether a runtime allowance survives a
 * reload, which needs the services that permanent zones name, not all ~220 of them: each
 * costs two calls that firewalld answers one at a time, and reading them all would double
 * the time of every Status.
 */
static int queue_permanent_services(struct reader *rd, const struct call *c,
				    const struct pc_fw_zone *z)
{
	int r;

	for (size_t i = 0; i < z->services.n; i++) {
		const char *name = z->services.v[i];
		bool queued = false;

		for (size_t j = 0; j < rd->n_calls && !queued; j++)
			queued = rd->calls[j].handle == on_permanent_service_path &&
				 strcmp(rd->calls[j].name, name) == 0;
		if (queued)
			continue;
		if (rd->sec[c->section].listed >= MAX_OBJECTS)
			return -EBADMSG;
		r = pc_fwcall_add(rd, c->section, false, FW_CONFIG_PATH, FW_CONFIG_IFACE,
				  "getServiceByName", NULL, name, name, on_permanent_service_path);
		if (r < 0)
			return r;
		rd->sec[c->section].listed++;
	}
	return 0;
}

static int on_permanent_zone(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	int r = store_zone(&rd->fw->permanent, c, reply);

	if (r < 0)
		return r;
	rd->sec[c->section].read++;
	return queue_permanent_services(rd, c,
					&rd->fw->permanent.zones[rd->fw->permanent.n_zones - 1]);
}

static int on_permanent_service(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	int r = store_service(&rd->fw->permanent, c, reply);

	if (r == 0)
		rd->sec[c->section].read++;
	return r;
}

/* A permanent object's path is known: its settings come from the object itself. */
static int on_permanent_path(struct reader *rd, const struct call *c, DBusMessage *reply,
			     const char *iface, const char *label, call_handler_t handle)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = reply_string(reply, DBUS_TYPE_OBJECT_PATH, &path);
	if (r < 0)
		return r;
	return pc_fwcall_add(rd, c->section, false, path, iface, "getSettings2", label, NULL,
			     c->name, handle);
}

static int on_permanent_zone_path(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	return on_permanent_path(rd, c, reply, FW_CONFIG_ZONE_IFACE, "config.zone.getSettings2",
				 on_permanent_zone);
}

static int on_permanent_service_path(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	return on_permanent_path(rd, c, reply, FW_CONFIG_SERVICE_IFACE,
				 "config.service.getSettings2", on_permanent_service);
}

/* For each name in an "as" reply, queue @method(name) on @path/@iface. */
static int queue_each(struct reader *rd, const struct call *c, DBusMessage *reply, const char *path,
		      const char *iface, const char *method, call_handler_t handle)
{
	DBusMessageIter it, arr;
	size_t first = rd->n_calls;
	int r;

	if (!dbus_message_has_signature(reply, "as"))
		return -EBADMSG;
	if (rd->skip_config)
		return 0;
	dbus_message_iter_init(reply, &it);
	dbus_message_iter_recurse(&it, &arr);
	for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRING;
	     dbus_message_iter_next(&arr)) {
		const char *name;
		bool dup = false;

		dbus_message_iter_get_basic(&arr, &name);
		/* A name listed twice would be read and stored twice. */
		for (size_t i = first; i < rd->n_calls && !dup; i++)
			dup = strcmp(rd->calls[i].name, name) == 0;
		if (dup)
			continue;
		if (rd->n_calls - first >= MAX_OBJECTS)
			return -EBADMSG;
		r = pc_fwcall_add(rd, c->section, false, path, iface, method, NULL, name, name,
				  handle);
		if (r < 0)
			return r;
		rd->sec[c->section].listed++;
	}
	return 0;
}

static int on_runtime_zone_names(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	return queue_each(rd, c, reply, FW_PATH, FW_ZONE_IFACE, "getZoneSettings2",
			  on_runtime_zone);
}

static int on_runtime_service_names(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	return queue_each(rd, c, reply, FW_PATH, FW_IFACE, "getServiceSettings2",
			  on_runtime_service);
}

static int on_permanent_zone_names(struct reader *rd, const struct call *c, DBusMessage *reply)
{
	return queue_each(rd, c, reply, FW_CONFIG_PATH, FW_CONFIG_IFACE, "getZoneByName",
			  on_permanent_zone_path);
}

static int queue_initial(struct reader *rd)
{
	static const struct {
		enum section sec;
		bool is_list;
		const char *path, *iface, *method, *arg;
		call_handler_t handle;
	} initial[] = {
	    /* First: the list handlers rely on the state being known. */
	    {SEC_STATE, false, FW_PATH, DBUS_INTERFACE_PROPERTIES, "GetAll", FW_IFACE,
	     on_properties},
	    {SEC_DEFAULT_ZONE, false, FW_PATH, FW_IFACE, "getDefaultZone", NULL, on_default_zone},
	    {SEC_PANIC, false, FW_PATH, FW_IFACE, "queryPanicMode", NULL, on_panic},
	    {SEC_RT_ZONES, true, FW_PATH, FW_ZONE_IFACE, "getZones", NULL, on_runtime_zone_names},
	    {SEC_RT_SERVICES, true, FW_PATH, FW_IFACE, "listServices", NULL,
	     on_runtime_service_names},
	    {SEC_PERMANENT, true, FW_CONFIG_PATH, FW_CONFIG_IFACE, "getZoneNames", NULL,
	     on_permanent_zone_names},
	};
	int r;

	for (size_t i = 0; i < ELEMENTSOF(initial); i++) {
		r = pc_fwcall_add(rd, initial[i].sec, initial[i].is_list, initial[i].path,
				  initial[i].iface, initial[i].method, NULL, initial[i].arg, NULL,
				  initial[i].handle);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Find firewalld's unique name. All later calls go to it, so that a firewalld restarting
 * mid-read fails the read instead of mixing answers of two instances. Returns 0 with
 * *ret_owner NULL and fw->error set when firewalld is not there.
 */
static int find_owner(struct reader *rd, char **ret_owner)
{
	_cleanup_dbus_error_ DBusError err = DBUS_ERROR_INIT;
	_cleanup_dbus_message_ DBusMessage *m = NULL, *reply = NULL;
	const char *name = FW_NAME, *owner;
	int timeout = rd->timeout_ms < rd->budget_ms ? rd->timeout_ms : rd->budget_ms;
	char *copy;
	int r;

	*ret_owner = NULL;
	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
					 "GetNameOwner");
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
		return -ENOMEM;
	reply = dbus_connection_send_with_reply_and_block(rd->bus, m, timeout, &err);
	if (!reply) {
		if (dbus_error_has_name(&err, DBUS_ERROR_NO_MEMORY))
			return -ENOMEM;
		if (dbus_error_has_name(&err, DBUS_ERROR_NAME_HAS_NO_OWNER))
			r = asprintf(&rd->fw->error,
				     "firewalld is not running (%s not on the "
				     "system bus)",
				     FW_NAME);
		else if (!dbus_connection_get_is_connected(rd->bus))
			r = asprintf(&rd->fw->error, "system bus unavailable: disconnected");
		else if (dbus_error_has_name(&err, DBUS_ERROR_NO_REPLY))
			r = asprintf(&rd->fw->error,
				     "system bus unavailable: timeout after %d ms in "
				     "GetNameOwner(%s)",
				     timeout, FW_NAME);
		else
			r = asprintf(&rd->fw->error,
				     "system bus unavailable: GetNameOwner(%s) failed: %s [%s]",
				     FW_NAME, err.message ? err.message : "no message",
				     err.name ? err.name : "unnamed error");
		if (r < 0) {
			rd->fw->error = NULL;
			return -ENOMEM;
		}
		return clean_text(&rd->fw->error, MAX_QUOTE * 2);
	}
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &owner, DBUS_TYPE_INVALID) ||
	    !dbus_validate_bus_name(owner, NULL)) {
		rd->fw->error = strdup("system bus unavailable: malformed reply to GetNameOwner");
		return rd->fw->error ? 0 : -ENOMEM;
	}
	copy = strdup(owner);
	if (!copy)
		return -ENOMEM;
	*ret_owner = copy;
	return 0;
}

/* Append to the list @*buf (NULL when empty), separated by @sep. */
static __attribute__((format(printf, 3, 4))) int append(char **buf, const char *sep,
							const char *fmt, ...)
{
	_cleanup_free_ char *piece = NULL;
	char *joined;
	va_list ap;

	va_start(ap, fmt);
	piece = pc_vstrdupf(fmt, ap);
	va_end(ap);
	if (!piece)
		return -ENOMEM;
	if (asprintf(&joined, "%s%s%s", *buf ? *buf : "", *buf ? sep : "", piece) < 0)
		return -ENOMEM;
	free(*buf);
	*buf = joined;
	return 0;
}

/* One line naming everything that was not read, first failures first. */
static int compose_error(struct reader *rd, char **ret)
{
	_cleanup_free_ char *err = NULL, *not_read = NULL;
	int r = 0;

	if (rd->skip_config)
		r = append(&err, "; ",
			   "firewalld is not running (state %s): configuration not read",
			   rd->fw->state);
	for (size_t i = 0; i < SEC_MAX && r == 0; i++) {
		const struct section_status *s = &rd->sec[i];

		if (s->reason && (s->list_failed || s->listed == 0 || s->read == 0))
			r = append(&err, "; ", "%s unavailable: %s", section_names[i], s->reason);
		else if (s->reason)
			r = append(&err, "; ", "%s incomplete (%zu of %zu not read): %s",
				   section_names[i], s->listed - s->read, s->listed, s->reason);
		else if (s->unread)
			r = append(&not_read, ", ", "%s", section_names[i]);
	}
	if (r == 0 && not_read)
		r = append(&err, "; ", "not read: %s", not_read);
	if (r < 0)
		return r;
	if (err) {
		r = clean_text(&err, strlen(err) * 4);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(err);
	return 0;
}

int pc_firewalld_read(DBusConnection *bus, int timeout_ms, int budget_ms, struct pc_firewalld *ret)
{
	_cleanup_(pc_firewalld_clear) struct pc_firewalld fw = {0};
	_cleanup_(pc_fwcall_reader_clear) struct reader rd = {0};
	_cleanup_free_ char *owner = NULL;
	int r;

	if (!bus || timeout_ms <= 0 || budget_ms <= 0 || !ret)
		return -EINVAL;

	rd.bus = bus;
	rd.timeout_ms = timeout_ms;
	rd.budget_ms = budget_ms;
	rd.deadline = (int64_t)pc_now_ms() + budget_ms;
	rd.fw = &fw;

	r = find_owner(&rd, &owner);
	if (r < 0)
		return r;
	if (owner) {
		rd.owner = owner;
		r = queue_initial(&rd);
		if (r < 0)
			return r;
		r = pc_fwcall_run(&rd);
		if (r < 0)
			return r;
		fw.have_permanent = !rd.skip_config && !rd.sec[SEC_PERMANENT].reason &&
				    !rd.sec[SEC_PERMANENT].unread &&
				    rd.sec[SEC_PERMANENT].read == rd.sec[SEC_PERMANENT].listed;
		r = pc_fw_resolve_includes(&fw.runtime);
		if (r < 0)
			return r;
		r = pc_fw_resolve_includes(&fw.permanent);
		if (r < 0)
			return r;
		r = compose_error(&rd, &fw.error);
		if (r < 0)
			return r;
	}
	*ret = fw;
	fw = (struct pc_firewalld){0};
	return 0;
}
