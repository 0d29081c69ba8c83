/* SPDX-License-Identifier: MIT */
/*
 * Changing firewalld: what `portcheck open` / `close` ask for (a SPEC of ports and
 * services), its validation against firewalld's configuration, and the bus calls that
 * apply it to a zone, runtime and permanent.
 */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stdint.h>

#include "portcheck/firewalld.h"
#include "portcheck/fwspec.h"
#include "portcheck/report.h"

/*
 * Check @spec and @zone (NULL: not given) against firewalld's runtime configuration: the
 * zone and every service must exist. Pure. Returns 0, or -ENOENT with *ret_param ("zone"
 * or "spec") and a message in *ret_error (malloc'd).
 */
int pc_fw_spec_validate(const struct pc_fw_spec *spec, const char *zone,
			const struct pc_firewalld *fw, const char **ret_param, char **ret_error);

/* Whether @zone of @cfg lists @item (a port item: exactly that range and protocol). */
bool pc_fw_zone_has_item(const struct pc_fw_zone *zone, const struct pc_fw_item *item);

/*
 * For a port item, the service of @zone (in @cfg) whose ports cover it entirely, or NULL.
 * Pure.
 */
const char *pc_fw_zone_service_covering(const struct pc_fw_config *cfg,
					const struct pc_fw_zone *zone,
					const struct pc_fw_item *item);

/* What Open/Close plan to do in one zone for one item. */
struct pc_fw_plan_entry {
	char *zone;
	struct pc_fw_item item;
	bool runtime_present;	/* from the snapshot; re-checked on the bus before changing */
	bool permanent_present; /* valid when the permanent config was read */
	const char *covered_by; /* open, port item: a service in the zone that covers it */
};

struct pc_fw_plan {
	struct pc_fw_plan_entry *v;
	size_t n;
	bool zones_from_analysis; /* the zones are those that reject the listeners */
	size_t n_zones;
};

/*
 * Plan an Open (@open) or Close of @spec. @zone given: that zone. Open without a zone:
 * every zone in which a path to a listener on one of the spec's ports is rejected or
 * dropped according to firewalld (@report); none: the default zone. Close without a zone:
 * per item, the zones where it is present at runtime (or permanently); none: the default
 * zone. Pure. Returns 0 or -ENOMEM; -ENOENT when no zone can be chosen (no default zone).
 */
int pc_fw_plan_make(bool open, const struct pc_fw_spec *spec, const char *zone,
		    const struct pc_firewalld *fw, const struct pc_report *report,
		    struct pc_fw_plan *ret);
void pc_fw_plan_clear(struct pc_fw_plan *plan);

/* Whether a listener on @protocol (IPPROTO_*) @port is affected by @spec (under @cfg). */
bool pc_fw_spec_matches(const struct pc_fw_spec *spec, const struct pc_fw_config *cfg,
			uint8_t protocol, uint16_t port);

/* ---- the bus side (fwchange.c) ---- */

struct pc_fw_bus {
	DBusConnection *bus;
	char *owner; /* firewalld's unique name: every call goes to the instance we checked */
	int timeout_ms;
};

/*
 * Open a private system bus connection and check firewalld is there, running, not in
 * panic mode and not locked down. Returns 0, or -errno with a message in *ret_error:
 * -ENOENT not on the bus, -EBUSY panic or lockdown or not running, -ETIMEDOUT, -EIO.
 */
int pc_fw_bus_open(int timeout_ms, struct pc_fw_bus *ret, char **ret_error);
void pc_fw_bus_close(struct pc_fw_bus *b);

/* Query the item in @zone, runtime or permanent. Returns 1 present, 0 absent, -errno. */
int pc_fw_query(struct pc_fw_bus *b, bool permanent, const char *zone,
		const struct pc_fw_item *item, char **ret_error);
/*
 * Add (@add) or remove the item in @zone, runtime (with @timeout_s, 0 for none) or
 * permanent. Returns 0 or -errno with a message in *ret_error.
 */
int pc_fw_change(struct pc_fw_bus *b, bool permanent, bool add, const char *zone,
		 const struct pc_fw_item *item, int timeout_s, char **ret_error);
