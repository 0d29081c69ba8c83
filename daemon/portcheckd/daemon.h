/* SPDX-License-Identifier: MIT */
/*
 * portcheckd's own modules (not the core library, whose modules stay silent): the
 * daemon's state and what main.c, log.c, analyses.c and methods.c share.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "portcheck/bg_analysis.h"
#include "portcheck/config.h"
#include "portcheck/exposure_track.h"
#include "portcheck/status.h"
#include "portcheck/util.h"
#include "portcheck/varlink_server.h"
#include "portcheck/watch.h"

/* Clients' Status and Explain calls analysed in child processes at once; more are
 * answered in the loop. */
#define MAX_CLIENT_JOBS 4

struct client_job;

struct daemon {
	struct pc_config config;
	const char *config_path; /* --config, or NULL for the UAPI locations */
	const char *config_root; /* PORTCHECK_CONFIG_ROOT, or NULL */
	bool have_group;
	gid_t gid;
	const char *group; /* points into config */
	struct pc_server *server;
	struct pc_watch *watch;
	struct pc_exposure_track track;
	struct pc_bg_analysis *bg; /* the watcher's analysis in a child, while it runs */
	struct client_job *jobs[MAX_CLIENT_JOBS]; /* clients' calls being analysed */
	bool bg_again;		       /* changes came in while it ran: analyse once more */
	uint64_t observed_ms;	       /* start of the newest analysis whose report was observed */
	uint64_t watchdog_interval_ms; /* 0: no watchdog */
	uint64_t watchdog_next_ms;
	char *last_analysis_error; /* logged once until it changes */
};

/* ---- log.c: stderr, or the journal under systemd ---- */

extern bool log_journal; /* stderr is the journal: use <N> priority prefixes */
extern int log_max;

__attribute__((format(printf, 2, 3))) void log_msg(int priority, const char *format, ...);
/* The Varlink server's log callback. */
void server_log(int priority, const char *message, void *userdata);
/* Whether systemd connected stderr to the journal (JOURNAL_STREAM). */
bool stderr_is_journal(void);
/* One structured journal entry (@fields: "KEY=value"), or one stderr line ending in the
 * MESSAGE_ID when there is no journal. */
void log_structured(int priority, const char *message, const struct pc_strv *fields,
		    const char *message_id);
/* pc_exposure_track's callback: one listener state change, logged. */
void log_exposure_event(const struct pc_exposure_event *ev, void *userdata);

/* ---- analyses.c: when and where analyses run, and what their reports cause ---- */

/* The daemon, for the watchdog ping in analysis_progress (the loop is single-threaded). */
extern struct daemon *the_daemon;
/* D-Bus timeouts and the watchdog-feeding progress callback of every collection. */
extern const struct pc_status_options status_options;

/* The watcher's callbacks (struct pc_watch_callbacks). */
void watch_analyse(void *userdata);
void watch_firewalld(bool running, void *userdata);
void watch_log(int priority, const char *message, void *userdata);
int watch_add_fd(int fd, void *userdata);
void watch_remove_fd(int fd, void *userdata);
/* Stop the watcher's analysis and every client job (shutdown). */
void analyses_stop(struct daemon *d);
/*
 * Run @call's analysis in a child process and defer its reply: @fn NULL for Status
 * (the report is observed too), else a job whose result is the whole reply message.
 * Returns 1 when deferred, 0 when it cannot be (the caller works in the loop), -ENOMEM.
 */
int job_defer(struct daemon *d, const struct pc_varlink_call *call, pc_bg_job_fn fn, void *arg);
/* The Status reply for a collection's outcome; observes a good report. */
json_t *status_reply(struct daemon *d, int r, json_t *status, uint64_t start);
/* The server's tick: timeouts, the watcher's due work, the watchdog. */
int daemon_tick(uint64_t now, void *userdata);

/* ---- methods.c: io.portcheck and who may call it ---- */

bool authorize(const struct pc_peer *peer, const char *method, void *userdata);
int method_status(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply);
int method_explain(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply);
int method_open(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply);
int method_close(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply);
