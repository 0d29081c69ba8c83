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

/* Status analyses in child processes at once: one for the current state, one that a
 * change made necessary while the first still runs. */
#define MAX_STATUS_RUNS 2
/* Status callers waiting for a run slot; beyond, io.portcheck.Busy. */
#define MAX_STATUS_QUEUED 4096
/* Explain, Open and Close in child processes at once, and queued beyond that. */
#define MAX_JOBS 4
#define MAX_JOBS_QUEUED 64 /* root's calls are queued beyond */
/* Explain, Open and Close of one user but root, running or queued. */
#define MAX_JOBS_PER_USER 2
/* Explain answers kept, by query. */
#define EXPLAIN_CACHE_SIZE 32

/*
 * What an answer depends on, read when it is asked for (state.c): the count of changes
 * the watcher has seen, and what no event announces or what is checked anyway because
 * it costs a round trip (the nftables generation, the socket table, sysctls, legacy
 * x_tables).
 */
struct state_probe {
	bool ok; /* everything read and every watch source open: comparable */
	uint64_t changes;
	uint32_t nft_genid;
	uint64_t listeners_hash;
	uint64_t files_hash; /* sysctls, legacy x_tables (pc_freshness_files) */
};

/* An answer kept: the serialised reply, the state it was computed in, until when. */
struct kept_answer {
	struct pc_varlink_blob *reply; /* NULL: none */
	struct state_probe probe;
	uint64_t started_ms; /* when its analysis began */
	uint64_t expires_ms; /* monotonic; UINT64_MAX: only changes end it */
	char *key;	     /* Explain: the query, canonical JSON */
};

struct status_waiter;
struct status_run;
struct job;

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
	uint64_t changes; /* changes the watcher saw (it calls back at once) */
	struct status_run *runs[MAX_STATUS_RUNS];
	struct status_waiter *arrived; /* Status callers of this batch of events, FIFO */
	struct status_waiter **arrived_tail;
	size_t n_arrived;
	struct status_waiter *queued; /* Status callers waiting for a run slot, FIFO */
	struct status_waiter **queued_tail;
	size_t n_queued;
	bool analyse_wanted; /* the watcher asked while no run slot was free */
	bool stopping;	     /* shutting down: start nothing new */
	struct kept_answer status;
	struct kept_answer explain[EXPLAIN_CACHE_SIZE]; /* round robin */
	size_t explain_next;
	struct job *jobs[MAX_JOBS];
	struct job *job_queue; /* FIFO */
	struct job **job_queue_tail;
	size_t n_jobs_queued;
	/* Finished runs and jobs, freed by the next tick: never during event dispatch. */
	struct status_run *dead_runs;
	struct job *dead_jobs;
	uint64_t observed_ms;	       /* start of the newest analysis whose report was observed */
	uint64_t watchdog_interval_ms; /* 0: no watchdog */
	uint64_t watchdog_next_ms;
	char *last_analysis_error; /* logged once until it changes */
	unsigned n_refused;	   /* calls refused since the last such log line */
	uint64_t refused_logged_ms;
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

/* ---- state.c: what answers depend on ---- */

void state_probe_read(struct daemon *d, struct state_probe *ret);
/* Whether an answer computed in @then is still true in @now. */
bool state_probe_same(const struct state_probe *then, const struct state_probe *now);
/* Whether @a is kept and still true in @now at @now_ms. */
bool kept_answer_valid(const struct kept_answer *a, const struct state_probe *now, uint64_t now_ms);
/* Replace what @a keeps. The reference to @reply is consumed. */
void kept_answer_set(struct kept_answer *a, struct pc_varlink_blob *reply,
		     const struct state_probe *probe, uint64_t started_ms,
		     const struct pc_freshness *fresh);
void kept_answer_clear(struct kept_answer *a);
/* The freshness as the child hands it over, and back. */
json_t *freshness_to_json(const struct pc_freshness *f);
void freshness_from_json(const json_t *j, struct pc_freshness *ret);

/* ---- analyses.c: Status, the watcher's analyses, what reports cause ---- */

/* The daemon, for the watchdog ping in analysis_progress (the loop is single-threaded). */
extern struct daemon *the_daemon;
/* D-Bus timeouts and the watchdog-feeding progress callback of every collection. */
extern const struct pc_status_options status_options;
/* status_options with the settings of @d's configuration (IgnoreInterfaces=). */
struct pc_status_options daemon_status_options(const struct daemon *d);

/* The watcher's callbacks (struct pc_watch_callbacks). */
void watch_analyse(void *userdata);
void watch_changed(void *userdata);
void watch_firewalld(bool running, void *userdata);
void watch_log(int priority, const char *message, void *userdata);
int watch_add_fd(int fd, void *userdata);
void watch_remove_fd(int fd, void *userdata);
/*
 * Answer @call's Status, after the current batch of events (one probe of the state for
 * all its callers): from the kept answer while it is true, else from the analysis in
 * flight for the same state, else a new one in a child process (queued when both run
 * slots are busy, io.portcheck.Busy beyond). @fresh: a new analysis in any case.
 * Returns 0 (the reply is deferred, maybe already given) or -ENOMEM.
 */
int status_request(struct daemon *d, const struct pc_varlink_call *call, bool fresh);
/* Stop every analysis and job (shutdown). */
void analyses_stop(struct daemon *d);
/* A refused call, logged at most every few seconds with how many there were. */
void log_refused(struct daemon *d, const char *method, const struct pc_peer *peer, const char *why);
/* The server's tick: timeouts, the watcher's due work, the watchdog, freeing. */
int daemon_tick(uint64_t now, void *userdata);

/* ---- jobs.c: Explain, Open and Close in child processes ---- */

/*
 * Run @fn(@arg) in a child and answer @call with the reply message it returns. @arg is
 * owned by the job from here on (freed with @arg_free, also on failure). Explain
 * (@explain_key, the canonical query, borrowed) is answered from its kept answer while
 * true, and cancelled when its client goes; a change to the firewall (Open, Close) runs
 * to its end whatever the client does: killing it half way could leave half a change.
 * Queued when MAX_JOBS run, io.portcheck.Busy beyond. Returns 0 or -ENOMEM.
 */
int job_submit(struct daemon *d, const struct pc_varlink_call *call, pc_bg_job_fn fn, void *arg,
	       void (*arg_free)(void *), const char *explain_key);
void jobs_tick(struct daemon *d, uint64_t now, int *next);
void jobs_stop(struct daemon *d);
/* The Busy error reply. */
json_t *busy_reply(const char *what);

/* ---- methods.c: io.portcheck and who may call it ---- */

bool authorize(const struct pc_peer *peer, const char *method, void *userdata);
int method_status(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply);
int method_explain(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply);
int method_open(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply);
int method_close(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply);
