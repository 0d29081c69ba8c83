/* SPDX-License-Identifier: MIT */
/*
 * When and where portcheckd analyses: the watcher's coalesced analyses and the clients'
 * Status and Explain in child processes (daemon/bg_analysis.c), the reports' journal
 * entries and STATUS=, timeouts, and the watchdog.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"

/* A background analysis that takes longer is killed: it is stuck, not slow (the largest
 * hosts the bench builds take minutes). */
#define BG_ANALYSIS_TIMEOUT_MS (30u * 60 * 1000)

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

/* The synchronous fallback, when no child can be started. */
static void analyse_here(struct daemon *d)
{
	uint64_t start = pc_now_ms();
	json_t *status = NULL;
	int r;

	r = pc_status_collect(&status_options, &status);
	log_msg(LOG_DEBUG, "analysis took %llu ms", (unsigned long long)(pc_now_ms() - start));
	if (r < 0) {
		daemon_analysis_failed(d, r);
		return;
	}
	daemon_observe(d, status, start);
	json_decref(status);
}

static void bg_stop(struct daemon *d)
{
	if (!d->bg)
		return;
	if (d->server)
		(void)pc_server_remove_fd(d->server, pc_bg_analysis_fd(d->bg));
	pc_bg_analysis_free(d->bg);
	d->bg = NULL;
}

static void bg_ready(int fd, uint32_t events, void *userdata)
{
	struct daemon *d = userdata;
	uint64_t start = pc_bg_analysis_started_ms(d->bg);
	json_t *status = NULL;
	int r;

	r = pc_bg_analysis_read(d->bg, &status);
	if (r == 0)
		return;
	bg_stop(d);
	log_msg(LOG_DEBUG, "analysis took %llu ms", (unsigned long long)(pc_now_ms() - start));
	if (r < 0)
		daemon_analysis_failed(d, r);
	else {
		daemon_observe(d, status, start);
		json_decref(status);
	}
	if (d->bg_again) {
		d->bg_again = false;
		pc_watch_request(d->watch);
	}
}

/*
 * The watcher wants an analysis: in a child process, so that clients, signals and the
 * watchdog are served meanwhile. One at a time; changes during it ask for another.
 */
void watch_analyse(void *userdata)
{
	struct daemon *d = userdata;
	int r;

	if (d->bg) {
		d->bg_again = true;
		return;
	}
	r = pc_bg_analysis_start(&status_options, &d->bg);
	if (r >= 0) {
		r = pc_server_add_fd(d->server, pc_bg_analysis_fd(d->bg), bg_ready, d);
		if (r < 0)
			bg_stop(d);
	}
	if (r < 0) {
		log_msg(LOG_DEBUG, "cannot analyse in a child process (%s): analysing here",
			strerror(-r));
		analyse_here(d);
	}
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

/* A client's Status or Explain being analysed in a child process. */
struct client_job {
	struct daemon *d;
	struct pc_bg_analysis *bg;
	struct pc_varlink_deferred *reply;
	bool explain; /* the child's result is Explain's whole reply message */
};

static void client_job_free(struct client_job *job)
{
	struct daemon *d = job->d;

	for (size_t i = 0; i < MAX_CLIENT_JOBS; i++)
		if (d->jobs[i] == job)
			d->jobs[i] = NULL;
	if (d->server)
		(void)pc_server_remove_fd(d->server, pc_bg_analysis_fd(job->bg));
	pc_bg_analysis_free(job->bg);
	pc_varlink_deferred_free(job->reply);
	free(job);
}

/* The Status reply for a collection's outcome; observes a good report. */
json_t *status_reply(struct daemon *d, int r, json_t *status, uint64_t start)
{
	if (r < 0) {
		log_msg(LOG_WARNING, "Status: reading the system state failed: %s", strerror(-r));
		return pc_varlink_error_new_string("io.portcheck.ReadFailed", "reason",
						   strerror(-r));
	}
	/* A client's fresh look is also the watcher's: changes it shows are logged now,
	 * and the next scheduled analysis can wait. */
	daemon_observe(d, status, start);
	if (d->watch)
		pc_watch_ran(d->watch, start);
	return pc_varlink_reply_new(status, false);
}

static void client_job_ready(int fd, uint32_t events, void *userdata)
{
	struct client_job *job = userdata;
	struct daemon *d = job->d;
	uint64_t start = pc_bg_analysis_started_ms(job->bg);
	json_t *status = NULL, *reply;
	int r;

	r = pc_bg_analysis_read(job->bg, &status);
	if (r == 0)
		return;
	if (job->explain) {
		if (r < 0)
			log_msg(LOG_WARNING, "Explain: reading the system state failed: %s",
				strerror(-r));
		reply = r < 0 ? pc_varlink_error_new_string("io.portcheck.ReadFailed", "reason",
							    strerror(-r))
			      : status;
	} else
		reply = status_reply(d, r < 0 ? r : 0, status, start);
	pc_server_reply_deferred(d->server, TAKE_PTR(job->reply), reply);
	client_job_free(job);
}

/*
 * Start a Status (@fn NULL) or Explain job for @call in a child process and defer the
 * reply. Returns 1 when deferred, 0 when it cannot be (too many at once, fork failed:
 * the caller works here), -ENOMEM.
 */
int job_defer(struct daemon *d, const struct pc_varlink_call *call, pc_bg_job_fn fn, void *arg)
{
	struct client_job *job;
	size_t slot = MAX_CLIENT_JOBS;
	int r;

	for (size_t i = 0; i < MAX_CLIENT_JOBS && slot == MAX_CLIENT_JOBS; i++)
		if (!d->jobs[i])
			slot = i;
	if (slot == MAX_CLIENT_JOBS || !d->server)
		return 0;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->d = d;
	job->explain = fn != NULL;
	r = fn ? pc_bg_job_start(fn, arg, &job->bg)
	       : pc_bg_analysis_start(&status_options, &job->bg);
	if (r < 0) {
		free(job);
		log_msg(LOG_DEBUG, "cannot analyse in a child process (%s): here", strerror(-r));
		return 0;
	}
	d->jobs[slot] = job;
	r = pc_server_add_fd(d->server, pc_bg_analysis_fd(job->bg), client_job_ready, job);
	if (r >= 0)
		r = pc_varlink_call_defer(call, &job->reply);
	if (r < 0) {
		client_job_free(job);
		return r == -ENOMEM ? r : 0;
	}
	return 1;
}

/* Before every wait of the event loop: the watchdog, then the watcher's due work. */
int daemon_tick(uint64_t now, void *userdata)
{
	struct daemon *d = userdata;
	int next = -1;

	if (d->bg && now - pc_bg_analysis_started_ms(d->bg) > BG_ANALYSIS_TIMEOUT_MS) {
		bg_stop(d);
		daemon_analysis_failed(d, -ETIMEDOUT);
	}
	for (size_t i = 0; i < MAX_CLIENT_JOBS; i++) {
		struct client_job *job = d->jobs[i];

		if (job && now - pc_bg_analysis_started_ms(job->bg) > BG_ANALYSIS_TIMEOUT_MS) {
			pc_server_reply_deferred(d->server, TAKE_PTR(job->reply),
						 status_reply(d, -ETIMEDOUT, NULL, 0));
			client_job_free(job);
		}
	}
	if (d->watch) {
		next = pc_watch_tick(d->watch, now);
		now = pc_now_ms(); /* an analysis may have taken a while */
	}
	/* Wake up for the timeouts even when nothing else happens. */
	for (size_t i = 0; i < MAX_CLIENT_JOBS + 1; i++) {
		struct pc_bg_analysis *bg =
		    i < MAX_CLIENT_JOBS ? (d->jobs[i] ? d->jobs[i]->bg : NULL) : d->bg;
		uint64_t until;

		if (!bg)
			continue;
		until = pc_bg_analysis_started_ms(bg) + BG_ANALYSIS_TIMEOUT_MS + 1;
		if (next < 0 || until - now < (uint64_t)next)
			next = until > now ? (int)(until - now) : 0;
	}
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
	for (size_t i = 0; i < MAX_CLIENT_JOBS; i++)
		if (d->jobs[i])
			client_job_free(d->jobs[i]);
	bg_stop(d);
}
