/* SPDX-License-Identifier: MIT */
/* firewalld's state and configuration, read over D-Bus (runtime and permanent). */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stdint.h>

#include "portcheck/fwspec.h"
#include "portcheck/util.h"

struct pc_fw_ports {
	struct pc_fw_port *v;
	size_t n;
};

struct pc_fw_zone {
	char *name;
	char *target; /* "default", "ACCEPT", "DROP", "%%REJECT%%" */
	struct pc_strv interfaces;
	struct pc_strv sources; /* CIDRs, "ipset:NAME" or MAC addresses */
	struct pc_strv services;
	struct pc_fw_ports ports;
	struct pc_strv protocols;
	struct pc_fw_ports source_ports;
	struct pc_strv rich_rules;
	struct pc_strv forward_ports; /* "port=80:proto=tcp:toport=8080:toaddr=" */
	struct pc_strv icmp_blocks;
	bool icmp_block_inversion;
	bool masquerade;
};

struct pc_fw_service {
	char *name;
	struct pc_fw_ports ports; /* the service's own ports plus those of its includes */
	struct pc_strv protocols; /* likewise */
	struct pc_strv includes;  /* as declared */
};

/* One configuration: either the runtime or the permanent one. */
struct pc_fw_config {
	struct pc_fw_zone *zones;
	size_t n_zones;
	struct pc_fw_service *services;
	size_t n_services;
};

struct pc_firewalld {
	bool running; /* on the bus and state == "RUNNING" */
	char *state;  /* "RUNNING", "INIT", "FAILED", or NULL when not on the bus */
	char *version;
	char *default_zone;
	bool panic;
	char *error;	     /* what was unavailable and why, NULL when everything was read */
	bool have_permanent; /* permanent config was read */
	struct pc_fw_config runtime;
	struct pc_fw_config permanent; /* services: only those its zones name */
};

/*
 * Parse a zone settings dictionary (a{sv}, as returned by getZoneSettings2 or
 * config.zone.getSettings2) from @iter, which points at the array. Pure. Unknown keys
 * are ignored; wrongly typed known keys give -EBADMSG.
 */
int pc_fw_parse_zone_settings(DBusMessageIter *iter, const char *name, struct pc_fw_zone *ret);
/* Same for service settings (getServiceSettings2 / config.service.getSettings2). */
int pc_fw_parse_service_settings(DBusMessageIter *iter, const char *name,
				 struct pc_fw_service *ret);
/* Parse a "80" or "8000-8010" port string and protocol. Returns 0 or -EINVAL. */
int pc_fw_parse_port(const char *port, const char *proto, struct pc_fw_port *ret);
/*
 * Replace every service's ports/protocols by the union with those of the services it
 * includes, transitively, tolerating cycles and missing includes. Returns 0 or -ENOMEM
 * (then @cfg is unchanged).
 */
int pc_fw_resolve_includes(struct pc_fw_config *cfg);

/*
 * Read firewalld from @bus with @timeout_ms per call and an overall budget of
 * @budget_ms. Never fails for firewalld's own faults: not on the bus, errors and
 * timeouts are recorded in ret->running / ret->error. Returns 0, -EINVAL (NULL bus or ret,
 * non-positive times) or -ENOMEM.
 */
int pc_firewalld_read(DBusConnection *bus, int timeout_ms, int budget_ms, struct pc_firewalld *ret);

const struct pc_fw_zone *pc_fw_config_zone(const struct pc_fw_config *cfg, const char *name);
const struct pc_fw_service *pc_fw_config_service(const struct pc_fw_config *cfg, const char *name);

void pc_fw_zone_clear(struct pc_fw_zone *z);
void pc_fw_service_clear(struct pc_fw_service *s);
void pc_fw_config_clear(struct pc_fw_config *cfg);
void pc_firewalld_clear(struct pc_firewalld *fw);
