/* SPDX-License-Identifier: MIT */
/*
 * Status and the watcher's analyses: one analysis per state, in a child process
 * (daemon/service/bg_analysis.c), shared by every caller that asks while it runs and kept while
 * the state it read is unchanged (state.c); the reports' journal entries and STATUS=;
 * timeouts, the watchdog, and freeing what finished (in the tick, never during event
 * dispatch).
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"

/* A background analysis that takes longer is killed: it is stuck, not slow (the largest
 * hosts the bench builds take minutes). */
#define BG_ANALYSIS_TIMEOUT_MS (30u * 60 * 1000)
/* Refused calls are logged at most this often. */
#define REFUSED_LOG_INTERVAL_MS 10000u

/*
 * A fresh report (from the watcher or a client's Status): log changes, update STATUS=.
 * @started_ms is when its collection began: a report older than one already observed
 * (a background analysis overtaken by a client's Status) would log stale changes.
 */
static void daemon_observe(struct daemon *d, const json_t *status, uint64_t started_ms)
{
	_cleanup_free_ char *summary = NULL;
	int r;

	if (started_ms < d->observed_ms)
		return;
	d->observed_ms = started_ms;

	r = pc_exposure_track_update(&d->track, status, &d->config, log_exposure_event, d);
	if (r < 0)
		log_msg(LOG_WARNING, "cannot compare the report with the last one: %s",
			strerror(-r));
	summary = pc_exposure_summary(status);
	if (summary)
		sd_notifyf(0, "STATUS=%s", summary);
	if (d->last_analysis_error) {
		log_msg(LOG_INFO, "analysis works again");
		free(d->last_analysis_error);
		d->last_analysis_error = NULL;
	}
}

static void daemon_analysis_failed(struct daemon *d, int error)
{
	const char *why = strerror(-error);

	if (d->last_analysis_error && strcmp(d->last_analysis_error, why) == 0)
		return;
	log_msg(LOG_WARNING, "analysis failed: %s (retrying on the next change)", why);
	sd_notifyf(0, "STATUS=analysis failed: %s", why);
	free(d->last_analysis_error);
	d->last_analysis_error = strdup(why);
}

struct daemon *the_daemon;

/* Called after each listener of an analysis: a long analysis must not look like a hang
 * to the watchdog; a truly stuck one (no listener finishing) still does. */
static void analysis_progress(void *userdata)
{
	struct daemon *d = the_daemon;
	uint64_t now;

	if (!d || !d->watchdog_interval_ms)
		return;
	now = pc_now_ms();
	if (now >= d->watchdog_next_ms) {
		sd_notify(0, "WATCHDOG=1");
		d->watchdog_next_ms = now + d->watchdog_interval_ms;
	}
}

const struct pc_status_options status_options = {
    .dbus_timeout_ms = 2000, .dbus_budget_ms = 8000, .progress = analysis_progress};

struct pc_status_options daemon_status_options(const struct daemon *d)
{
	struct pc_status_options o = status_options;

	o.ignore_interfaces = d ? &d->config.ignore_interfaces : NULL;
	o.ignore_sets = d ? &d->config.ignore_sets : NULL;
	return o;
}

void watch_firewalld(bool running, void *userdata)
{
	static const struct pc_strv none = {0};
	struct pc_strv fields = {0};
	const char *msg = running ? "firewalld is running (it started or restarted): "
				    "re-reading its zones"
				  : "firewalld stopped: the nftables ruleset alone decides now";

	if (pc_strv_push(&fields, "MESSAGE_ID=" PC_MSGID_FIREWALLD) < 0 ||
	    pc_strv_push(&fields, "PRIORITY=5") < 0 ||
	    pc_strv_push(&fields, running ? "PORTCHECK_FIREWALLD=running"
					  : "PORTCHECK_FIREWALLD=stopped") < 0) {
		log_structured(LOG_NOTICE, msg, &none, PC_MSGID_FIREWALLD);
	} else {
		_cleanup_free_ char *m = NULL;

		if (asprintf(&m, "MESSAGE=%s", msg) >= 0 && pc_strv_push(&fields, m) >= 0)
			log_structured(LOG_NOTICE, msg, &fields, PC_MSGID_FIREWALLD);
		else
			log_structured(LOG_NOTICE, msg, &none, PC_MSGID_FIREWALLD);
	}
	pc_strv_clear(&fields);
}

void watch_log(int priority, const char *message, void *userdata)
{
	log_msg(priority, "%s", message);
}

static void watch_fd_ready(int fd, uint32_t events, void *userdata)
{
	struct daemon *d = userdata;

	pc_watch_dispatch(d->watch, fd);
}

int watch_add_fd(int fd, void *userdata)
{
	struct daemon *d = userdata;

	return pc_server_add_fd(d->server, fd, watch_fd_ready, d);
}

void watch_remove_fd(int fd, void *userdata)
{
	struct daemon *d = userdata;

	if (d->server)
		(void)pc_server_remove_fd(d->server, fd);
}

void watch_changed(void *userdata)
{
	struct daemon *d = userdata;

	d->changes++;
}

void log_refused(struct daemon *d, const char *method, const struct pc_peer *peer, const char *why)
{
	uint64_t now = pc_now_ms();

	d->n_refused++;
	if (d->refused_logged_ms && now - d->refused_logged_ms < REFUSED_LOG_INTERVAL_MS)
		return;
	log_msg(LOG_NOTICE, "%s refused to pid %d (uid %u): %s%s", method, (int)peer->pid,
		(unsigned)peer->uid, why,
		d->n_refused > 1 ? " (and other refusals since the last such message)" : "");
	d->n_refused = 0;
	d->refused_logged_ms = now;
}

json_t *busy_reply(const char *what)
{
	return pc_varlink_error_new_string("io.portcheck.Busy", "reason", what);
}

/* ---- Status runs ---- */

/* A Status caller waiting for its answer. */
struct status_waiter {
	struct pc_varlink_deferred *reply;
	bool fresh;	     /* wants an analysis that starts after it asked */
	uint64_t joined_ms;  /* when it joined a run */
	bool joined_running; /* joined a run that had started before it asked */
	struct pc_peer peer; /* pid and uid, for the log */
	struct status_waiter *next;
};

/* One Status analysis in a child, and who waits for it. */
struct status_run {
	struct daemon *d;
	struct pc_bg_analysis *bg;
	struct state_probe probe; /* the state when it began */
	struct status_waiter *waiters;
	struct status_run *next_dead;
};

/* In the child: the report and how long it stays true. */
static int status_run_job(void *arg, json_t **ret)
{
	struct pc_status_options o = daemon_status_options(the_daemon);
	struct pc_freshness fresh;
	json_t *report = NULL;
	int r;

	/* Only the main process may notify systemd (NotifyAccess=main). The child's copy of
	 * the daemon's memory stays valid: the options still point into its config. */
	the_daemon = NULL;
	o.progress = NULL;
	r = pc_status_collect_ex(&o, &report, &fresh);
	if (r < 0)
		return r;
	*ret = json_pack("{s:o,s:o}", "report", report, "freshness", freshness_to_json(&fresh));
	return *ret ? 0 : -ENOMEM;
}

static void waiters_answer(struct daemon *d, struct status_waiter *w, struct pc_varlink_blob *b)
{
	while (w) {
		struct status_waiter *next = w->next;

		if (b)
			pc_server_reply_deferred_blob(d->server, w->reply, pc_varlink_blob_ref(b));
		else
			pc_server_reply_deferred(d->server, w->reply, NULL);
		free(w);
		w = next;
	}
}

static void waiters_fail(struct daemon *d, struct status_waiter *w, json_t *error)
{
	struct pc_varlink_blob *b = NULL;

	if (error)
		(void)pc_varlink_blob_new(error, &b);
	json_decref(error);
	waiters_answer(d, w, b);
	pc_varlink_blob_unref(b);
}

/* Drop the waiters of @list whose clients have gone (@all: every one, without a
 * reply); returns how many. */
static size_t waiters_drop_if(struct status_waiter **list, struct status_waiter ***tail, bool all)
{
	struct status_waiter **p = list;
	size_t n = 0;

	while (*p) {
		struct status_waiter *w = *p;

		if (!all && pc_varlink_deferred_alive(w->reply)) {
			p = &w->next;
			continue;
		}
		*p = w->next;
		pc_varlink_deferred_free(w->reply);
		free(w);
		n++;
	}
	*tail = p;
	return n;
}

static size_t waiters_drop_gone(struct status_waiter **list, struct status_waiter ***tail)
{
	return waiters_drop_if(list, tail, false);
}

static void waiters_drop(struct status_waiter **list, struct status_waiter ***tail)
{
	(void)waiters_drop_if(list, tail, true);
}

/* Make room among the waiting: clients that left hold no place. */
static void waiters_prune(struct daemon *d)
{
	d->n_arrived -= waiters_drop_gone(&d->arrived, &d->arrived_tail);
	d->n_queued -= waiters_drop_gone(&d->queued, &d->queued_tail);
}

static struct status_run **run_slot(struct daemon *d, struct status_run *run)
{
	for (size_t i = 0; i < MAX_STATUS_RUNS; i++)
		if (d->runs[i] == run)
			return &d->runs[i];
	return NULL;
}

static void run_ready(int fd, uint32_t events, void *userdata);

/* Start a run for the state @probe in a free slot. Returns it, or NULL (no slot, or the
 * child could not be started: logged). */
static struct status_run *run_start(struct daemon *d, const struct state_probe *probe)
{
	struct status_run **slot = run_slot(d, NULL), *run;
	int r;

	if (!slot || !d->server)
		return NULL;
	run = calloc(1, sizeof(*run));
	if (!run)
		return NULL;
	run->d = d;
	run->probe = *probe;
	r = pc_bg_job_start(status_run_job, NULL, &run->bg);
	if (r >= 0) {
		r = pc_server_add_fd(d->server, pc_bg_analysis_fd(run->bg), run_ready, run);
		if (r < 0)
			pc_bg_analysis_free(run->bg);
	}
	if (r < 0) {
		log_msg(LOG_WARNING, "cannot start an analysis in a child process: %s",
			strerror(-r));
		free(run);
		return NULL;
	}
	*slot = run;
	return run;
}

static void start_queued(struct daemon *d);

/*
 * Of the waiters of a run that began at @start, those to answer with its report; those
 * that joined after a set element it saw expired, or joined it running when its state
 * turned out volatile, go back to be served anew (the report may be stale for them).
 */
static struct status_waiter *waiters_still_true(struct daemon *d, struct status_waiter *w,
						uint64_t start, const struct pc_freshness *fresh)
{
	struct status_waiter *keep = NULL, *next;

	if (fresh->valid_for_ms == UINT64_MAX && !fresh->volatile_why)
		return w;
	for (; w; w = next) {
		next = w->next;
		/* A volatile state (sets the packet path fills) may have changed between the
		 * run's start and a later caller's question without any sign. */
		bool expired = fresh->valid_for_ms != UINT64_MAX &&
			       w->joined_ms >= start + fresh->valid_for_ms;

		if (expired || (fresh->volatile_why && w->joined_running)) {
			/* A new run, not another one already in flight. */
			w->fresh = true;
			w->joined_running = false;
			w->next = NULL;
			*d->arrived_tail = w;
			d->arrived_tail = &w->next;
			d->n_arrived++;
		} else {
			w->next = keep;
			keep = w;
		}
	}
	return keep;
}

/* The run is over (@r < 0: failed; else @result is the child's). Answer, keep, observe;
 * the run itself is freed by the next tick. */
static void run_finish(struct status_run *run, int r, json_t *result)
{
	struct daemon *d = run->d;
	uint64_t start = pc_bg_analysis_started_ms(run->bg);
	struct status_waiter *waiters = TAKE_PTR(run->waiters);
	struct pc_varlink_blob *blob = NULL;
	struct pc_freshness fresh;
	json_t *report;

	*run_slot(d, run) = NULL;
	if (d->server)
		(void)pc_server_remove_fd(d->server, pc_bg_analysis_fd(run->bg));
	run->next_dead = d->dead_runs;
	d->dead_runs = run;
	/* A run that timed out or failed before its child exited has no peak yet. */
	if (pc_bg_analysis_peak_rss_kib(run->bg) > 0)
		log_msg(LOG_DEBUG, "analysis took %llu ms, its process peaked at %ld MiB",
			(unsigned long long)(pc_now_ms() - start),
			(pc_bg_analysis_peak_rss_kib(run->bg) + 1023) / 1024);
	else
		log_msg(LOG_DEBUG, "analysis took %llu ms (its process not reaped yet)",
			(unsigned long long)(pc_now_ms() - start));

	report = r >= 0 ? json_object_get(result, "report") : NULL;
	if (r >= 0 && !json_is_object(report))
		r = -EBADMSG;
	if (r >= 0) {
		/* The reply is serialised once and shared by every waiter. */
		json_t *msg = pc_varlink_reply_new(json_incref(report), false);

		r = msg && pc_varlink_blob_new(msg, &blob) >= 0 ? 0 : -ENOMEM;
		json_decref(msg);
		/* No connection would take it (the server's output limit): say so. */
		if (r >= 0 && blob->len > PC_VARLINK_MAX_MESSAGE)
			r = -EFBIG;
	}
	if (r < 0) {
		daemon_analysis_failed(d, r);
		/* EFBIG is not a file here: name the limit the answer ran into. */
		char big[160];
		const char *why = strerror(-r);

		if (r == -EFBIG) {
			snprintf(big, sizeof(big),
				 "the answer is larger than the %zu MiB a Varlink reply may take "
				 "(too many listeners and paths for one Status)",
				 PC_VARLINK_MAX_MESSAGE >> 20);
			why = big;
		}
		log_msg(LOG_WARNING, "Status: reading the system state failed: %s", why);
		waiters_fail(d, waiters,
			     pc_varlink_error_new_string("io.portcheck.ReadFailed", "reason", why));
	} else {
		freshness_from_json(json_object_get(result, "freshness"), &fresh);
		daemon_observe(d, report, start);
		if (d->watch)
			pc_watch_ran(d->watch, start);
		if (start >= d->status.started_ms)
			kept_answer_set(&d->status, pc_varlink_blob_ref(blob), &run->probe, start,
					&fresh);
		waiters_answer(d, waiters_still_true(d, waiters, start, &fresh), blob);
	}
	pc_varlink_blob_unref(blob);
	json_decref(result);
	/* The child's report, parsed, was most of this process' heap, freed now in pieces
	 * malloc keeps: on the bench's large host the daemon stayed at 111 MiB resident
	 * after its first answer, 22 MiB with this. A few milliseconds per analysis. */
	malloc_trim(0);
	start_queued(d);
}

static void run_ready(int fd, uint32_t events, void *userdata)
{
	struct status_run *run = userdata;
	json_t *result = NULL;
	int r = pc_bg_analysis_read(run->bg, &result);

	if (r != 0)
		run_finish(run, r < 0 ? r : 0, result);
}

/* Free run slots go to those queued, all of them on one new run: it starts after each
 * of them asked, so it answers each of them truly. Then to the watcher if it asked. */
static void start_queued(struct daemon *d)
{
	if (d->stopping)
		return;
	while (d->queued && run_slot(d, NULL)) {
		struct status_waiter *w;
		struct state_probe probe;
		struct status_run *run;

		/* Those whose clients left need no run. */
		d->n_queued -= waiters_drop_gone(&d->queued, &d->queued_tail);
		if (!d->queued)
			break;
		state_probe_read(d, &probe);
		run = run_start(d, &probe);
		w = TAKE_PTR(d->queued);
		d->queued_tail = &d->queued;
		d->n_queued = 0;
		if (!run) {
			waiters_fail(d, w,
				     pc_varlink_error_new_string(
					 "io.portcheck.ReadFailed", "reason",
					 "cannot start an analysis (see the daemon's log)"));
			return;
		}
		run->waiters = w;
	}
	if (d->analyse_wanted && run_slot(d, NULL)) {
		d->analyse_wanted = false;
		watch_analyse(d);
	}
}

int status_request(struct daemon *d, const struct pc_varlink_call *call, bool fresh)
{
	struct pc_varlink_deferred *token;
	struct status_waiter *w;
	int r;

	r = pc_varlink_call_defer(call, &token);
	if (r < 0)
		return r;
	if (d->n_arrived + d->n_queued >= MAX_STATUS_QUEUED)
		waiters_prune(d);
	/* Root is never told to wait for others. */
	if (d->n_arrived + d->n_queued >= MAX_STATUS_QUEUED && call->peer->uid != 0) {
		log_refused(d, "Status", call->peer, "busy");
		pc_server_reply_deferred(d->server, token,
					 busy_reply("too many Status calls are waiting"));
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		pc_server_reply_deferred(d->server, token, NULL);
		return 0;
	}
	*w = (struct status_waiter){.reply = token,
				    .fresh = fresh,
				    .peer = {.pid = call->peer->pid, .uid = call->peer->uid}};
	/* Answered after this batch of events (status_serve_arrived): one look at the
	 * state then serves every caller of the batch. */
	*d->arrived_tail = w;
	d->arrived_tail = &w->next;
	d->n_arrived++;
	return 0;
}

/*
 * The Status callers of the last batch of events. Each of them was received before
 * the state is probed here, so one probe is true for all of them: a change committed
 * before any of them asked is seen. Each gets the kept answer if it is still true, else
 * joins the run for this state (a fresh caller only one started now), else a new run,
 * else the queue.
 */
static void status_serve_arrived(struct daemon *d)
{
	struct status_waiter *w = TAKE_PTR(d->arrived), *next;
	struct status_run *started = NULL; /* started here: after every one of them asked */
	struct state_probe probe;
	uint64_t now;

	d->arrived_tail = &d->arrived;
	d->n_arrived = 0;
	if (!w)
		return;
	state_probe_read(d, &probe);
	now = pc_now_ms();
	for (; w; w = next) {
		struct status_run *run = started;

		next = w->next;
		w->next = NULL;
		if (!pc_varlink_deferred_alive(w->reply)) {
			pc_varlink_deferred_free(w->reply);
			free(w);
			continue;
		}
		if (!w->fresh && kept_answer_valid(&d->status, &probe, now)) {
			pc_server_reply_deferred_blob(d->server, w->reply,
						      pc_varlink_blob_ref(d->status.reply));
			free(w);
			continue;
		}
		for (size_t i = 0; i < MAX_STATUS_RUNS && !w->fresh && !run; i++)
			if (d->runs[i] && state_probe_same(&d->runs[i]->probe, &probe))
				run = d->runs[i];
		if (!run && !d->stopping)
			run = started = run_start(d, &probe);
		if (run) {
			w->joined_ms = now;
			w->joined_running = run != started;
			w->next = run->waiters;
			run->waiters = w;
			continue;
		}
		if (run_slot(d, NULL) || d->stopping) {
			/* A slot is free yet no child started (logged). */
			pc_server_reply_deferred(
			    d->server, w->reply,
			    pc_varlink_error_new_string(
				"io.portcheck.ReadFailed", "reason",
				"cannot start an analysis (see the daemon's log)"));
			free(w);
			continue;
		}
		*d->queued_tail = w;
		d->queued_tail = &w->next;
		d->n_queued++;
	}
}

/*
 * The watcher wants an analysis (it saw changes): in a child, so that clients, signals
 * and the watchdog are served meanwhile. Nothing to do if one for the current state
 * runs or its answer is kept.
 */
void watch_analyse(void *userdata)
{
	struct daemon *d = userdata;
	struct state_probe probe;

	state_probe_read(d, &probe);
	if (kept_answer_valid(&d->status, &probe, pc_now_ms()))
		return;
	for (size_t i = 0; i < MAX_STATUS_RUNS; i++)
		if (d->runs[i] && state_probe_same(&d->runs[i]->probe, &probe))
			return;
	if (!run_slot(d, NULL)) {
		d->analyse_wanted = true;
		return;
	}
	if (!run_start(d, &probe))
		daemon_analysis_failed(d, -ECHILD);
}

static void runs_free_dead(struct daemon *d)
{
	while (d->dead_runs) {
		struct status_run *run = d->dead_runs;

		d->dead_runs = run->next_dead;
		pc_bg_analysis_free(run->bg);
		free(run);
	}
}

/* Before every wait of the event loop: timeouts, the watchdog, the watcher's due work,
 * and freeing what finished. */
int daemon_tick(uint64_t now, void *userdata)
{
	struct daemon *d = userdata;
	int next = -1;

	runs_free_dead(d);
	status_serve_arrived(d);
	/* Runs may have started just now, after @now was read. */
	now = pc_now_ms();
	for (size_t i = 0; i < MAX_STATUS_RUNS; i++) {
		struct status_run *run = d->runs[i];

		if (run && now >= pc_bg_analysis_started_ms(run->bg) + BG_ANALYSIS_TIMEOUT_MS)
			run_finish(run, -ETIMEDOUT, NULL);
	}
	jobs_tick(d, now, &next);
	runs_free_dead(d);
	if (d->watch) {
		int t = pc_watch_tick(d->watch, now);

		if (t >= 0 && (next < 0 || t < next))
			next = t;
		now = pc_now_ms(); /* an analysis may have taken a while */
	}
	/* Wake up for the timeouts even when nothing else happens. */
	for (size_t i = 0; i < MAX_STATUS_RUNS; i++) {
		uint64_t until;

		if (!d->runs[i])
			continue;
		until = pc_bg_analysis_started_ms(d->runs[i]->bg) + BG_ANALYSIS_TIMEOUT_MS + 1;
		until = until > now ? until - now : 0;
		if (next < 0 || until < (uint64_t)next)
			next = (int)until;
	}
	/* Callers that arrived while the last ones were answered (pipelined): at once. */
	if (d->arrived)
		next = 0;
	if (d->watchdog_interval_ms) {
		if (now >= d->watchdog_next_ms) {
			sd_notify(0, "WATCHDOG=1");
			d->watchdog_next_ms = now + d->watchdog_interval_ms;
		}
		if (next < 0 || d->watchdog_next_ms - now < (uint64_t)next)
			next = (int)(d->watchdog_next_ms - now);
	}
	return next;
}

void analyses_stop(struct daemon *d)
{
	d->stopping = true;
	for (size_t i = 0; i < MAX_STATUS_RUNS; i++)
		if (d->runs[i])
			run_finish(d->runs[i], -ECANCELED, NULL);
	waiters_drop(&d->queued, &d->queued_tail);
	d->n_queued = 0;
	waiters_drop(&d->arrived, &d->arrived_tail);
	d->n_arrived = 0;
	runs_free_dead(d);
	jobs_stop(d);
	kept_answer_clear(&d->status);
	for (size_t i = 0; i < EXPLAIN_CACHE_SIZE; i++)
		kept_answer_clear(&d->explain[i]);
}
