/* SPDX-License-Identifier: MIT */
/*
 * What one firewalld zone does with a new connection to a port: the firewalld layer of the
 * analysis. Pure: configuration in, decision out.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "portcheck/addr.h"
#include "portcheck/firewalld.h"

enum pc_fwzone_outcome {
	PC_FWZONE_ALLOW,   /* a service, port, protocol or the ACCEPT target allows it */
	PC_FWZONE_DROP,	   /* target DROP */
	PC_FWZONE_REJECT,  /* target default / %%REJECT%% */
	PC_FWZONE_UNKNOWN, /* a rich rule or forward port touches it: not evaluated yet */
};

struct pc_fwzone_decision {
	enum pc_fwzone_outcome outcome;
	/* ALLOW: "service http", "port 80/tcp", "protocol tcp", "target ACCEPT".
	 * UNKNOWN: the rich rule or forward port that touches the port. */
	char what[256];
};

/*
 * Decide what @zone (resolved against the services of @cfg) does with a new @proto
 * connection to @port over @family (AF_INET / AF_INET6).
 */
void pc_fwzone_decide(const struct pc_fw_config *cfg, const struct pc_fw_zone *zone, int family,
		      uint8_t proto, uint16_t port, struct pc_fwzone_decision *ret);

/*
 * True when the rich rule text @rule can apply to @proto/@port over @family: it names a
 * port, service or protocol covering it, or it has no such element at all (a rule limited
 * only by source applies to every port). Pure.
 */
bool pc_fwzone_richrule_touches(const struct pc_fw_config *cfg, const char *rule, int family,
				uint8_t proto, uint16_t port);

/* True when @ports has an entry of @proto covering @port; *ret_entry is that entry. */
bool pc_fw_ports_cover(const struct pc_fw_ports *ports, const char *proto, uint16_t port,
		       const struct pc_fw_port **ret_entry);

/* The zone of interface @ifname: the zone listing it (with firewalld's "eth+" wildcard), else
 * @default_zone. Returns NULL when neither exists. */
const struct pc_fw_zone *pc_fwzone_of_interface(const struct pc_fw_config *cfg,
						const char *default_zone, const char *ifname);

/* What firewalld's configuration alone says about one connection. */
struct pc_fw_view {
	const struct pc_fw_zone *zone; /* the zone that applies, NULL when none does */
	bool by_source;		       /* the zone was chosen by a source binding */
	struct pc_fwzone_decision decision;
	bool runtime_only; /* allowed now, but not by the permanent configuration */
};

/*
 * The zone firewalld applies to a new connection from @src arriving on @ifname (source
 * bindings first, then interface bindings, then the default zone) and what it decides for
 * @proto/@port, from the runtime configuration; runtime_only from the permanent one.
 * Pure. Panic mode is the caller's business.
 */
void pc_fwzone_view(const struct pc_firewalld *fw, const char *ifname, const struct pc_addr *src,
		    uint8_t proto, uint16_t port, struct pc_fw_view *ret);

/* "tcp", "udp", ... for an IPPROTO_ value. */
const char *pc_proto_name(uint8_t proto);
