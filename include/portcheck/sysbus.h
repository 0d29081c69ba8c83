/* SPDX-License-Identifier: MIT */
/*
 * The one way portcheck connects to the system bus: a private connection
 * (DBUS_SYSTEM_BUS_ADDRESS honoured), every step bounded by the caller's timeout. libdbus's
 * own dbus_bus_get_private() registers with its default of 25 s and no way to shorten
 * it: a hung dbus-daemon would hold the caller that long per step.
 */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>

/*
 * Connect and register (Hello), waiting at most @timeout_ms for the answer. The
 * connection does not exit the process on disconnect. Returns it, or NULL with @err set.
 * Close with pc_sysbus_close().
 */
DBusConnection *pc_sysbus_open(int timeout_ms, DBusError *err);

/* Close and unref. NULL-safe. */
void pc_sysbus_close(DBusConnection *bus);

/*
 * Call org.freedesktop.DBus.@member(@arg) on the bus itself, waiting at most @timeout_ms.
 * For AddMatch (no answer wanted) and NameHasOwner (*ret_bool, may be NULL otherwise).
 * Returns 0, or -errno (-ETIMEDOUT, -EIO, -EBADMSG, -ENOMEM) with @err set.
 */
int pc_sysbus_call_bus(DBusConnection *bus, const char *member, const char *arg, int timeout_ms,
		       bool *ret_bool, DBusError *err);
