/* SPDX-License-Identifier: MIT */
/*
 * What changed since the last analysis: the daemon keeps each listener's last exposure
 * and turns a new status report into events, one per listener whose state changed, so
 * the journal gets one entry per change and none while nothing changes. Pure: the input
 * is the status report (the same JSON the clients get), the output is events carrying
 * journal fields. Logging them is the caller's job.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "portcheck/config.h"

/* MESSAGE_IDs (docs/system-service.md, systemd/portcheck.catalog). */
#define PC_MSGID_BLOCKED "4317287bbb3645e2b3654e9a218952ea"
#define PC_MSGID_PARTIAL "c272c3acf40847c5b230317b1474c2ac"
#define PC_MSGID_REACHABLE "c678b7e3ca9d4173bdec8161ba977cb6"
#define PC_MSGID_UNKNOWN "9d0f018b51f7499baef3524a04074c02"
#define PC_MSGID_FIREWALLD "96410ddda46044c4874e476c05520118"

enum pc_exposure_change {
	PC_CHANGE_BLOCKED,   /* no network path accepts any more */
	PC_CHANGE_PARTIAL,   /* some paths accept, some do not */
	PC_CHANGE_REACHABLE, /* open again after blocked, partial or unknown */
	PC_CHANGE_UNKNOWN,   /* the engine cannot be sure */
};

/* One change, ready to log. */
struct pc_exposure_event {
	enum pc_exposure_change change;
	int priority;	       /* syslog LOG_* */
	char *message;	       /* one line for MESSAGE= or stderr */
	struct pc_strv fields; /* "KEY=value" journal fields, MESSAGE_ID and PRIORITY included */
};

struct pc_exposure_entry {
	char *key;	/* "tcp [::]:80" */
	char *exposure; /* last seen */
};

struct pc_exposure_track {
	struct pc_exposure_entry *entries; /* sorted by key */
	size_t n;
	bool primed; /* a report has been seen */
};

typedef void (*pc_exposure_event_fn)(const struct pc_exposure_event *ev, void *userdata);

/*
 * Compare @status (a status report) with the state in @t, call @fn for every listener
 * whose state changed (ignoring listeners @cfg's [Findings] leaves out; @cfg may be
 * NULL), and remember the new state. A listener seen for the first time is reported when
 * it is exposed and not open. Returns the number of events or -errno (-EINVAL: the
 * report is not shaped as expected; the state is then unchanged).
 */
int pc_exposure_track_update(struct pc_exposure_track *t, const json_t *status,
			     const struct pc_config *cfg, pc_exposure_event_fn fn, void *userdata);

/* Forget everything. NULL-safe. */
void pc_exposure_track_clear(struct pc_exposure_track *t);

/*
 * One line for STATUS=: "4 listeners: 2 open, 1 blocked, 1 local-only (nftables
 * generation 42)". Returns a malloc'ed string or NULL on ENOMEM or a malformed report.
 */
char *pc_exposure_summary(const json_t *status);
