/* SPDX-License-Identifier: MIT */
/* polkit's CheckAuthorization for a unix-process subject, synchronous and bounded. */
#include <dbus/dbus.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portcheck/sysbus.h"
#include "portcheck/polkit.h"
#include "portcheck/util.h"

#define PK_NAME "org.freedesktop.PolicyKit1"
#define PK_PATH "/org/freedesktop/PolicyKit1/Authority"
#define PK_IFACE "org.freedesktop.PolicyKit1.Authority"

int pc_polkit_parse_start_time(const char *stat, uint64_t *ret)
{
	/* comm (field 2) may hold spaces and parentheses: count from the last ')'. */
	const char *p = strrchr(stat, ')');
	unsigned long long v;
	char *end;

	if (!p)
		return -EINVAL;
	p++;
	/* After ')' come fields 3..: state is field 3, start time field 22. */
	for (int field = 3; field < 22; field++) {
		p += strspn(p, " ");
		p += strcspn(p, " ");
		if (!*p)
			return -EINVAL;
	}
	p += strspn(p, " ");
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || end == p || (*end && *end != ' ' && *end != '\n'))
		return -EINVAL;
	*ret = v;
	return 0;
}

int pc_polkit_read_start_time(pid_t pid, uint64_t *ret)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return pc_polkit_parse_start_time(buf, ret);
}

/* Append {key: variant(type value)} to the open a{sv} @dict. */
static bool dict_add(DBusMessageIter *dict, const char *key, int type, const void *value)
{
	DBusMessageIter entry, var;
	char sig[2] = {(char)type, '\0'};

	return dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) &&
	       dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key) &&
	       dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, sig, &var) &&
	       dbus_message_iter_append_basic(&var, type, value) &&
	       dbus_message_iter_close_container(&entry, &var) &&
	       dbus_message_iter_close_container(dict, &entry);
}

static DBusMessage *build(pid_t pid, uid_t uid, uint64_t start, const char *action)
{
	DBusMessage *m =
	    dbus_message_new_method_call(PK_NAME, PK_PATH, PK_IFACE, "CheckAuthorization");
	DBusMessageIter it, subject, dict, details;
	const char *kind = "unix-process", *cancel = "";
	dbus_uint32_t upid = (dbus_uint32_t)pid, flags = 0;
	dbus_uint64_t ustart = start;
	dbus_int32_t iuid = (dbus_int32_t)uid;
	bool ok;

	if (!m)
		return NULL;
	dbus_message_iter_init_append(m, &it);
	ok = dbus_message_iter_open_container(&it, DBUS_TYPE_STRUCT, NULL, &subject) &&
	     dbus_message_iter_append_basic(&subject, DBUS_TYPE_STRING, &kind) &&
	     dbus_message_iter_open_container(&subject, DBUS_TYPE_ARRAY, "{sv}", &dict) &&
	     dict_add(&dict, "pid", DBUS_TYPE_UINT32, &upid) &&
	     dict_add(&dict, "start-time", DBUS_TYPE_UINT64, &ustart) &&
	     dict_add(&dict, "uid", DBUS_TYPE_INT32, &iuid) &&
	     dbus_message_iter_close_container(&subject, &dict) &&
	     dbus_message_iter_close_container(&it, &subject) &&
	     dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &action) &&
	     dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{ss}", &details) &&
	     dbus_message_iter_close_container(&it, &details) &&
	     dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &flags) &&
	     dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &cancel);
	if (!ok) {
		dbus_message_unref(m);
		return NULL;
	}
	return m;
}

int pc_polkit_check(pid_t pid, uid_t uid, uint64_t start_time, const char *action, int timeout_ms,
		    char **ret_error)
{
	DBusError err = DBUS_ERROR_INIT;
	DBusConnection *bus;
	DBusMessage *m, *reply;
	DBusMessageIter it, st;
	dbus_bool_t authorized = FALSE;
	uint64_t start;
	int r;

	if (pid <= 0)
		return pc_error_set(ret_error, -EINVAL, "the caller's pid is unknown");
	/* The start time taken when the caller connected: one read now could belong to a
	 * process that reused the pid since. */
	start = start_time;
	if (start == 0)
		return pc_error_set(ret_error, -ESRCH, "the caller's start time is unknown");
	m = build(pid, uid, start, action);
	if (!m)
		return -ENOMEM;

	bus = pc_sysbus_open(timeout_ms, &err);
	if (!bus) {
		dbus_message_unref(m);
		r = pc_error_set(ret_error, -ENOENT, "system bus unavailable: %s",
				 err.message ? err.message : "unknown error");
		dbus_error_free(&err);
		return r;
	}
	reply = dbus_connection_send_with_reply_and_block(bus, m, timeout_ms, &err);
	dbus_message_unref(m);
	if (!reply) {
		r = pc_error_set(ret_error, -EIO, "polkit: %s",
				 err.message ? err.message
				 : err.name  ? err.name
					     : "no answer");
		dbus_error_free(&err);
		goto out;
	}
	/* (bba{ss}): is_authorized, is_challenge, details */
	if (!dbus_message_iter_init(reply, &it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_STRUCT) {
		r = pc_error_set(ret_error, -EBADMSG, "polkit: malformed reply");
		goto out_reply;
	}
	dbus_message_iter_recurse(&it, &st);
	if (dbus_message_iter_get_arg_type(&st) != DBUS_TYPE_BOOLEAN) {
		r = pc_error_set(ret_error, -EBADMSG, "polkit: malformed reply");
		goto out_reply;
	}
	dbus_message_iter_get_basic(&st, &authorized);
	r = authorized ? 1 : 0;
out_reply:
	dbus_message_unref(reply);
out:
	dbus_connection_close(bus);
	dbus_connection_unref(bus);
	return r;
}
