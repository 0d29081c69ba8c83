/* SPDX-License-Identifier: MIT */
/* Connecting to the system bus with bounded waits: see portcheck/sysbus.h. */
#include <errno.h>
#include <stdlib.h>

#include "portcheck/sysbus.h"

/* libdbus's own default system bus address. */
#define DEFAULT_SYSTEM_BUS "unix:path=/var/run/dbus/system_bus_socket"

static DBusMessage *bus_method(const char *member)
{
	return dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
					    member);
}

DBusConnection *pc_sysbus_open(int timeout_ms, DBusError *err)
{
	const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	DBusConnection *bus;
	DBusMessage *m, *reply;
	const char *name = NULL;

	if (!address || !*address)
		address = DEFAULT_SYSTEM_BUS;
	bus = dbus_connection_open_private(address, err);
	if (!bus)
		return NULL;
	dbus_connection_set_exit_on_disconnect(bus, FALSE);
	/* What dbus_bus_register() does, with our timeout: the authentication happens
	 * within this first blocking call too. */
	m = bus_method("Hello");
	if (!m) {
		dbus_set_error_const(err, DBUS_ERROR_NO_MEMORY, "out of memory");
		goto fail;
	}
	reply = dbus_connection_send_with_reply_and_block(bus, m, timeout_ms, err);
	dbus_message_unref(m);
	if (!reply)
		goto fail;
	if (!dbus_message_get_args(reply, err, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID) ||
	    !dbus_bus_set_unique_name(bus, name)) {
		dbus_message_unref(reply);
		if (!dbus_error_is_set(err))
			dbus_set_error_const(err, DBUS_ERROR_NO_MEMORY, "out of memory");
		goto fail;
	}
	dbus_message_unref(reply);
	return bus;
fail:
	pc_sysbus_close(bus);
	return NULL;
}

void pc_sysbus_close(DBusConnection *bus)
{
	if (!bus)
		return;
	dbus_connection_close(bus);
	dbus_connection_unref(bus);
}

int pc_sysbus_call_bus(DBusConnection *bus, const char *member, const char *arg, int timeout_ms,
		       bool *ret_bool, DBusError *err)
{
	DBusMessage *m = bus_method(member), *reply;
	dbus_bool_t b = FALSE;
	bool ok;

	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &arg, DBUS_TYPE_INVALID)) {
		if (m)
			dbus_message_unref(m);
		dbus_set_error_const(err, DBUS_ERROR_NO_MEMORY, "out of memory");
		return -ENOMEM;
	}
	reply = dbus_connection_send_with_reply_and_block(bus, m, timeout_ms, err);
	dbus_message_unref(m);
	if (!reply)
		return dbus_error_has_name(err, DBUS_ERROR_NO_REPLY) ||
			       dbus_error_has_name(err, DBUS_ERROR_TIMEOUT)
			   ? -ETIMEDOUT
			   : -EIO;
	ok = !ret_bool ||
	     dbus_message_get_args(reply, err, DBUS_TYPE_BOOLEAN, &b, DBUS_TYPE_INVALID);
	dbus_message_unref(reply);
	if (!ok)
		return -EBADMSG;
	if (ret_bool)
		*ret_bool = b;
	return 0;
}
