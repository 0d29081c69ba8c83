/* SPDX-License-Identifier: MIT */
/*
 * The pipelined D-Bus calls of the firewalld reader (firewalld.c): the reader's state, its
 * queue of calls, and running them (firewalld_call.c).
 */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portcheck/firewalld.h"
#include "portcheck/util.h"

#define FW_NAME "org.fedoraproject.FirewallD1"
#define FW_PATH "/org/fedoraproject/FirewallD1"
#define FW_IFACE FW_NAME
#define FW_ZONE_IFACE FW_NAME ".zone"
#define FW_CONFIG_PATH FW_PATH "/config"
#define FW_CONFIG_IFACE FW_NAME ".config"
#define FW_CONFIG_ZONE_IFACE FW_CONFIG_IFACE ".zone"
#define FW_CONFIG_SERVICE_IFACE FW_CONFIG_IFACE ".service"

/* Longest part of a remote error message that is quoted in our error. */
#define MAX_QUOTE 160

static inline void pc_dbus_message_unrefp(DBusMessage **m)
{
	if (*m)
		dbus_message_unref(*m);
}
#define _cleanup_dbus_message_ _cleanup_(pc_dbus_message_unrefp)

/* The DBusError must be initialised (DBUS_ERROR_INIT) where it is declared. */
static inline void pc_dbus_error_freep(DBusError *e)
{
	dbus_error_free(e);
}
#define _cleanup_dbus_error_ _cleanup_(pc_dbus_error_freep)

enum section {
	SEC_STATE,
	SEC_DEFAULT_ZONE,
	SEC_PANIC,
	SEC_RT_ZONES,
	SEC_RT_SERVICES,
	SEC_PERMANENT,
	SEC_MAX,
};

struct section_status {
	size_t listed;	  /* zones/services named by the section's list calls */
	size_t read;	  /* of those, read completely */
	bool list_failed; /* a list call failed: the section is unavailable */
	bool unread;	  /* calls left unsent or unanswered when reading stopped */
	char *reason;	  /* the section's first failure */
};

enum call_state { CALL_QUEUED, CALL_SENT, CALL_DONE };

struct reader;
struct call;
typedef int (*call_handler_t)(struct reader *rd, const struct call *c, DBusMessage *reply);

struct call {
	char *path;
	const char *iface;
	const char *method;
	const char *label; /* how the call is named in errors */
	char *arg;	   /* the only argument, or NULL */
	char *name;	   /* the zone or service the call is about, or NULL */
	enum section section;
	bool is_list;
	call_handler_t handle;
	enum call_state state;
	DBusPendingCall *pending;
	int timeout_ms; /* the timeout it was sent with */
};

struct reader {
	DBusConnection *bus;
	const char *owner; /* firewalld's unique name */
	int timeout_ms;
	int budget_ms;
	int64_t deadline; /* CLOCK_MONOTONIC, ms */
	struct call *calls;
	size_t n_calls, n_sent, n_done;
	bool aborted;	  /* firewalld or the bus failed: send nothing more */
	bool skip_config; /* firewalld is starting; its configuration is incomplete */
	struct section_status sec[SEC_MAX];
	struct pc_firewalld *fw;
};

/* What @c is about (its zone or service, or its argument), for messages; never NULL. */
const char *pc_fwcall_subject(const struct call *c);
/* Cancel what is in flight and free the calls and the sections' reasons. */
void pc_fwcall_reader_clear(struct reader *rd);
/* Record the first failure of section @sec (later ones are dropped). Returns 0 or -ENOMEM. */
__attribute__((format(printf, 3, 4))) int pc_fwcall_set_reason(struct reader *rd, enum section sec,
							       const char *fmt, ...);
/* Queue a call of @method on @path; @handle gets its reply. Returns 0 or -ENOMEM. */
int pc_fwcall_add(struct reader *rd, enum section sec, bool is_list, const char *path,
		  const char *iface, const char *method, const char *label, const char *arg,
		  const char *name, call_handler_t handle);
/*
 * Send the queued calls, up to PIPELINE_DEPTH in flight, and hand each reply to its handler in
 * the order they were sent, until all are done or reading stops; what is left is marked unread.
 * Returns 0 or -ENOMEM.
 */
int pc_fwcall_run(struct reader *rd);
