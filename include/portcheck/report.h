/* SPDX-License-Identifier: MIT */
/*
 * The analysis result: per listener, per reachable interface, family and source range,
 * what a new connection meets. Today the verdict comes from firewalld's configuration
 * (the "firewalld layer"); the nftables engine will put the kernel-exact verdict beside it.
 */
#pragma once

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "portcheck/firewalld.h"
#include "portcheck/listener.h"
#include "portcheck/netif.h"

enum pc_verdict {
	PC_VERDICT_ACCEPT,
	PC_VERDICT_DROP,
	PC_VERDICT_REJECT,
	PC_VERDICT_UNKNOWN,
};

enum pc_exposure {
	PC_EXPOSURE_OPEN,	/* every path accepts */
	PC_EXPOSURE_BLOCKED,	/* no path accepts, and every verdict is known */
	PC_EXPOSURE_PARTIAL,	/* some paths accept */
	PC_EXPOSURE_LOCAL_ONLY, /* bound to loopback, or no non-loopback interface reaches it */
	PC_EXPOSURE_UNKNOWN,
};

/* What the client sees on the wire when a connection is rejected. */
struct pc_reject {
	bool tcp_reset;
	uint8_t icmp_type, icmp_code; /* ICMP for IPv4, ICMPv6 for IPv6 */
};

struct pc_path {
	char interface[IF_NAMESIZE];
	int family;   /* AF_INET or AF_INET6 */
	char *source; /* "any" or a comma-separated list of CIDRs */
	enum pc_verdict verdict;
	struct pc_reject reject; /* valid when verdict == PC_VERDICT_REJECT */
	/* firewalld layer */
	char *zone;	   /* NULL when firewalld is not available */
	char *allowed_by;  /* "service http", "port 80/tcp", "protocol tcp", "target ACCEPT" */
	bool runtime_only; /* allowed at runtime only: lost on the next reload */
	char *reason;	   /* one sentence: why this verdict */
};

struct pc_fix {
	char *command; /* "portcheck open http --zone public --permanent" */
	char *port;    /* "80/tcp" */
	char *service; /* "http" or NULL */
	char *zone;
};

struct pc_listener_report {
	struct pc_listener listener; /* copy; unit is owned by the report */
	unsigned families;	     /* bit 0: IPv4 accepted, bit 1: IPv6 accepted */
	enum pc_exposure exposure;
	struct pc_path *paths;
	size_t n_paths;
	struct pc_fix fix; /* command NULL when nothing to fix */
};

struct pc_report {
	/* firewalld summary */
	bool fw_running;
	char *fw_version;
	char *fw_default_zone;
	char *fw_state;
	bool fw_panic;
	char *fw_error;
	struct pc_listener_report *listeners;
	size_t n_listeners;
};

#define PC_FAMILY_IPV4 (1u << 0)
#define PC_FAMILY_IPV6 (1u << 1)

/*
 * The firewalld-layer analysis. Pure: everything it needs is in its arguments.
 * Returns 0 or -ENOMEM.
 */
int pc_analysis_run(const struct pc_listener_set *ls, const struct pc_netif *ni,
		    const struct pc_firewalld *fw, struct pc_report *ret);

/* The Status reply (DESIGN.md "status --json", version 1). Returns a new reference or NULL. */
json_t *pc_report_to_json(const struct pc_report *r);

const char *pc_verdict_to_string(enum pc_verdict v);
const char *pc_exposure_to_string(enum pc_exposure e);

void pc_report_clear(struct pc_report *r);
