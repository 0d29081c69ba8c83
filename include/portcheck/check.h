/* SPDX-License-Identifier: MIT */
/*
 * `portcheck check`: a Status reply and the [Findings] ignores → findings, node_exporter
 * textfile metrics and a Nagios line (docs/system-service.md, "portcheck check"). Pure:
 * the caller fetches the reply, reads the clock and writes the results.
 *
 * The reply comes from another process: a field that is missing or of the wrong type
 * never makes a listener look fine. An exposure that cannot be read counts as "unknown",
 * which is a finding.
 *
 * One entry per (protocol, port, address): sockets sharing all three (SO_REUSEPORT
 * workers, a pre-forked server whose children each hold the socket under their own name)
 * are one thing to the firewall, and Prometheus must not see two series with the same
 * labels. Such sockets are merged: their process names, units and zones become sorted,
 * comma-separated lists, and the entry's exposure is the worst of theirs (blocked, then
 * partial, unknown, open, local-only). The pid is not a label on purpose: it changes on
 * every restart and each value would be a new series.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "portcheck/config.h"

/* In order of increasing severity: a merged entry takes the largest. */
enum pc_check_exposure {
	PC_CHECK_LOCAL_ONLY,
	PC_CHECK_OPEN,
	PC_CHECK_UNKNOWN,
	PC_CHECK_PARTIAL,
	PC_CHECK_BLOCKED,
	_PC_CHECK_EXPOSURE_MAX,
};

struct pc_check_entry {
	char *proto;   /* "tcp", "udp"; "?" when the reply has none */
	unsigned port; /* 0 when the reply has none */
	char *address; /* "::", "0.0.0.0", ...; "?" when the reply has none */
	char *process; /* "nginx", "haproxy,haproxy-worker", "" for none */
	char *unit;    /* systemd unit(s), "" for none; not a metrics label */
	char *zone;    /* firewalld zone(s), "" for none */
	enum pc_check_exposure exposure;
	char *rule;   /* the deciding rule of the first path not accepted, "" for none */
	char *reason; /* that path's reason, "" for none */
	char *fix;    /* the fix command, NULL for none */
	size_t n_sockets;
};

struct pc_check {
	struct pc_check_entry *entries; /* sorted by protocol, port, address */
	size_t n_entries;
	size_t n_ignored; /* sockets [Findings] left out; they are in no entry */
	size_t n_per_exposure[_PC_CHECK_EXPOSURE_MAX]; /* entries */
	size_t n_findings;			       /* entries blocked, partial or unknown */
	size_t runtime_only_rules;
};

/* "local-only", "open", ... */
const char *pc_check_exposure_to_string(enum pc_check_exposure e);

/* Whether an entry of this exposure is a finding: blocked, partial or unknown. */
bool pc_check_exposure_is_finding(enum pc_check_exposure e);

/*
 * Evaluate a Status reply's parameters (docs/json.md, version 1) against
 * @cfg's [Findings] ignores (@cfg NULL: ignore nothing). Ignored sockets are left out of
 * the entries, so of the findings and of every per-listener metric: an alert on them
 * would defeat the ignore.
 *
 * runtime_only_rules counts the distinct firewalld settings (zone and what allows it)
 * that accept some listener at runtime only, ignored listeners included: the setting is
 * lost on the next reload whoever uses it. Settings that no listener relies on are not in
 * the Status reply and so not counted.
 *
 * Returns 0 and the result in *ret, -EBADMSG when @status has no "listeners" array, or
 * -ENOMEM.
 */
int pc_check_evaluate(const json_t *status, const struct pc_config *cfg, struct pc_check *ret);

/* Free everything and leave @c zeroed. NULL-safe. */
void pc_check_clear(struct pc_check *c);

/*
 * Set "ignored": true or false on every listener object of @status, for `check --json`
 * (additive: the schema stays version 1). Returns 0, -EBADMSG (no "listeners" array) or
 * -ENOMEM.
 */
int pc_check_mark_ignored(json_t *status, const struct pc_config *cfg);

/*
 * One line per finding, for a terminal or the journal:
 *   80/tcp on :: (nginx): blocked by inet firewalld filter_IN_public handle 72: reject
 *   with icmpx admin-prohibited; fix: portcheck open http --zone public --permanent
 * Text from the reply is reduced to printable ASCII ('?' for anything else): process
 * names are chosen by other users. Returns 0 and a malloc'ed string ("" when there is no
 * finding) in *ret_text, or -ENOMEM.
 */
int pc_check_findings_text(const struct pc_check *c, char **ret_text);

/*
 * node_exporter textfile metrics (Prometheus text format 0.0.4). @c NULL: the daemon did
 * not answer, and only portcheck_last_check_success 0, the timestamp and the build info
 * are written: a listener series would be a guess. @now is the time of the check in
 * seconds since the epoch, @version the client's. Families in the contract's order,
 * entries in their sorted order, label values escaped (backslash, double quote,
 * newline). Returns 0 and a malloc'ed text in *ret_text, or -ENOMEM.
 */
int pc_check_metrics(const struct pc_check *c, double now, const char *version, char **ret_text);

/* Nagios plugin states (also the exit status). */
enum pc_nagios_state {
	PC_NAGIOS_OK = 0,
	PC_NAGIOS_WARNING = 1,
	PC_NAGIOS_CRITICAL = 2,
	PC_NAGIOS_UNKNOWN = 3,
};

/*
 * One Nagios plugin line, "PORTCHECK STATE - summary | perfdata", without the newline.
 * CRITICAL when an entry is blocked, else WARNING when one is partial or unknown, else
 * OK. @c NULL: UNKNOWN, with @why (one line; NULL for a generic text) as the summary.
 * At most 5 findings are named; the summary never holds '|' (it would start the
 * perfdata). Returns 0 and the line in *ret_line and the state in *ret_state, or -ENOMEM.
 */
int pc_check_nagios(const struct pc_check *c, const char *why, char **ret_line,
		    enum pc_nagios_state *ret_state);
