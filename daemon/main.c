/* SPDX-License-Identifier: MIT */
/* portcheckd: serve io.portcheck over Varlink on a Unix socket. Foreground, logs to stderr. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "portcheck/bg_analysis.h"
#include "portcheck/config.h"
#include "portcheck/exposure_track.h"
#include "portcheck/open.h"
#include "portcheck/polkit.h"
#include "portcheck/status.h"
#include "portcheck/util.h"
#include "portcheck/varlink.h"
#include "portcheck/varlink_server.h"
#include "portcheck/watch.h"

/* GetInfo's url; the build may define the project's home page. */
#ifndef PORTCHECK_URL
#define PORTCHECK_URL ""
#endif

static bool log_journal; /* stderr is the journal: use <N> priority prefixes */
static int log_max = LOG_INFO;

__attribute__((format(printf, 2, 3))) static void log_msg(int priority, const char *format, ...)
{
	char buf[1024];
	va_list ap;

	if (priority > log_max)
		return;
	va_start(ap, format);
	vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);
	/* One message, one line: process names (chosen by any user) may hold newlines or
	 * escape sequences, and a forged "portcheckd: ..." line must not be possible. */
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", priority, buf);
	else
		fprintf(stderr, "portcheckd: %s\n", buf);
}

static void server_log(int priority, const char *message, void *userdata)
{
	log_msg(priority, "%s", message);
}

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it connected. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

/* Returns 1 and the gid, 0 when there is no such group, -errno on lookup failure. */
static int group_lookup(const char *name, gid_t *ret_gid)
{
	_cleanup_free_ char *buf = NULL;
	struct group gr, *res = NULL;
	size_t bufsize = 4096;
	int r;

	for (;;) {
		free(buf);
		buf = malloc(bufsize);
		if (!buf)
			return -ENOMEM;
		r = getgrnam_r(name, &gr, buf, bufsize, &res);
		if (r != ERANGE)
			break;
		if (bufsize > (1u << 24))
			return -ERANGE;
		bufsize *= 2;
	}
	if (r != 0)
		return -r;
	if (!res)
		return 0;
	*ret_gid = res->gr_gid;
	return 1;
}

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

/* A background analysis that takes longer is killed: it is stuck, not slow (the largest
 * hosts the bench builds take minutes). */
#define BG_ANALYSIS_TIMEOUT_MS (30u * 60 * 1000)

/* How long polkit may take to answer; the caller waits for it (no interaction). */
#define POLKIT_TIMEOUT_MS 5000

static bool method_changes_firewall(const char *method)
{
	return strcmp(method, "io.portcheck.Open") == 0 ||
	       strcmp(method, "io.portcheck.Close") == 0;
}

/*
 * Changing the firewall: root, or whoever polkit authorizes for firewalld's own action,
 * so that the policy already written for firewalld decides. polkit absent, failing or
 * slow: refused. Blocking the loop for the answer is acceptable: changes are rare.
 */
static bool authorize_change(const struct pc_peer *peer, const char *method)
{
	_cleanup_free_ char *error = NULL;
	int r;

	if (peer->uid == 0)
		return true;
	r = pc_polkit_check(peer->pid, peer->uid, PC_POLKIT_ACTION_FIREWALLD_CONFIG,
			    POLKIT_TIMEOUT_MS, &error);
	if (r < 0)
		log_msg(LOG_NOTICE, "%s refused to pid %d (uid %u): polkit unavailable: %s", method,
			(int)peer->pid, (unsigned)peer->uid, error ? error : strerror(-r));
	else if (r == 0)
		log_msg(LOG_NOTICE,
			"%s refused to pid %d (uid %u): not authorized by polkit for "
			"%s",
			method, (int)peer->pid, (unsigned)peer->uid,
			PC_POLKIT_ACTION_FIREWALLD_CONFIG);
	return r > 0;
}

/*
 * The daemon's policy. Introspection (org.varlink.service) is open to everyone: it
 * reveals nothing about the host. Reading the status is for root and the read group.
 * Changing the firewall (Open, Close) is for root and whom polkit authorizes.
 */
static bool authorize(const struct pc_peer *peer, const char *method, void *userdata)
{
	const struct daemon *d = userdata;
	int r;

	if (strncmp(method, "org.varlink.service.", strlen("org.varlink.service.")) == 0)
		return true;
	if (method_changes_firewall(method))
		return authorize_change(peer, method);
	if (peer->uid == 0)
		return true;
	if (!d->have_group)
		return false;
	r = pc_peer_in_group(peer, d->gid);
	if (r < 0) {
		log_msg(LOG_WARNING, "cannot tell whether pid %d (uid %u) is in group %s: %s",
			(int)peer->pid, (unsigned)peer->uid, d->group, strerror(-r));
		return false;
	}
	return r > 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * One structured journal entry per listener state change. Under systemd the entry goes
 * to the journal with its fields (MESSAGE_ID, PORTCHECK_*); elsewhere (a terminal, the
 * lab) it is one line on stderr ending in the MESSAGE_ID, so tests can match it.
 */
static void log_structured(int priority, const char *message, const struct pc_strv *fields,
			   const char *message_id)
{
	if (priority > log_max)
		return;
	if (log_journal) {
		struct iovec iov[32];
		size_t n = 0;
		int r;

		for (size_t i = 0; i < fields->n && n < ELEMENTSOF(iov) - 1; i++)
			iov[n++] = (struct iovec){fields->v[i], strlen(fields->v[i])};
		iov[n++] = (struct iovec){(char *)"SYSLOG_IDENTIFIER=portcheckd",
					  strlen("SYSLOG_IDENTIFIER=portcheckd")};
		r = sd_journal_sendv(iov, (int)n);
		if (r >= 0)
			return;
		/* journald unreachable: fall through to the stream, which it may yet read. */
	}
	log_msg(priority, "%s [MESSAGE_ID=%s]", message, message_id);
}

static void log_exposure_event(const struct pc_exposure_event *ev, void *userdata)
{
	static const char *const ids[] = {
	    [PC_CHANGE_BLOCKED] = PC_MSGID_BLOCKED,
	    [PC_CHANGE_PARTIAL] = PC_MSGID_PARTIAL,
	    [PC_CHANGE_REACHABLE] = PC_MSGID_REACHABLE,
	    [PC_CHANGE_UNKNOWN] = PC_MSGID_UNKNOWN,
	};

	log_structured(ev->priority, ev->message, &ev->fields, ids[ev->change]);
}

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

/* The daemon, for the watchdog ping in analysis_progress (the loop is single-threaded). */
static struct daemon *the_daemon;

/* Called after each listener of an analysis: a long analysis must not look like a hang
 * to the watchdog; a truly stuck one (no listener finishing) still does. */
static void analysis_progress(void *userdata)
{
	struct daemon *d = the_daemon;
	uint64_t now;

	if (!d || !d->watchdog_interval_ms)
		return;
	now = now_ms();
	if (now >= d->watchdog_next_ms) {
		sd_notify(0, "WATCHDOG=1");
		d->watchdog_next_ms = now + d->watchdog_interval_ms;
	}
}

static const struct pc_status_options status_options = {
    .dbus_timeout_ms = 2000, .dbus_budget_ms = 8000, .progress = analysis_progress};

/* The synchronous fallback, when no child can be started. */
static void analyse_here(struct daemon *d)
{
	uint64_t start = now_ms();
	json_t *status = NULL;
	int r;

	r = pc_status_collect(&status_options, &status);
	log_msg(LOG_DEBUG, "analysis took %llu ms", (unsigned long long)(now_ms() - start));
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
	log_msg(LOG_DEBUG, "analysis took %llu ms", (unsigned long long)(now_ms() - start));
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
static void watch_analyse(void *userdata)
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

static void watch_firewalld(bool running, void *userdata)
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

static void watch_log(int priority, const char *message, void *userdata)
{
	log_msg(priority, "%s", message);
}

static void watch_fd_ready(int fd, uint32_t events, void *userdata)
{
	struct daemon *d = userdata;

	pc_watch_dispatch(d->watch, fd);
}

static int watch_add_fd(int fd, void *userdata)
{
	struct daemon *d = userdata;

	return pc_server_add_fd(d->server, fd, watch_fd_ready, d);
}

static void watch_remove_fd(int fd, void *userdata)
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
static json_t *status_reply(struct daemon *d, int r, json_t *status, uint64_t start)
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
static int job_defer(struct daemon *d, const struct pc_varlink_call *call, pc_bg_job_fn fn,
		     void *arg)
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

static int method_status(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct daemon *d = userdata;
	json_t *status = NULL, *reply, *v;
	uint64_t start = now_ms();
	const char *key;
	int r;

	json_object_foreach(call->request->parameters, key, v)
	{
		reply = pc_varlink_error_new_string(PC_VARLINK_ERROR_INVALID_PARAMETER, "parameter",
						    key);
		if (!reply)
			return -ENOMEM;
		*ret_reply = reply;
		return 0;
	}

	/* In a child, so that other clients, signals and the watchdog are served while
	 * this one waits for firewalld or a large analysis. */
	r = job_defer(d, call, NULL, NULL);
	if (r < 0)
		return r;
	if (r > 0) {
		*ret_reply = NULL;
		return 0;
	}
	r = pc_status_collect(&status_options, &status);
	reply = status_reply(d, r, status, start);
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

/* Explain's whole reply: the result, or why the query cannot be answered. */
static json_t *explain_reply(const struct pc_explain_query *q)
{
	_cleanup_free_ char *error = NULL;
	const char *param = "";
	json_t *result = NULL;
	int r;

	r = pc_explain_collect(&status_options, q, &result, &param, &error);
	if (r == -EINVAL)
		return pc_varlink_error_new(
		    "io.portcheck.BadRequest",
		    json_pack("{s:s,s:s}", "parameter", param, "reason",
			      error ? error : "the query does not fit this host"));
	if (r < 0) {
		log_msg(LOG_WARNING, "Explain: reading the system state failed: %s", strerror(-r));
		return pc_varlink_error_new_string("io.portcheck.ReadFailed", "reason",
						   strerror(-r));
	}
	return pc_varlink_reply_new(result, false);
}

/* In the child: the reply message, as the result of the job. */
static int explain_job(void *arg, json_t **ret)
{
	json_t *reply;

	/* Only the main process may notify systemd (NotifyAccess=main): no watchdog pings
	 * from here. */
	the_daemon = NULL;
	reply = explain_reply(arg);

	if (!reply)
		return -ENOMEM;
	*ret = reply;
	return 0;
}

static int method_explain(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct daemon *d = userdata;
	struct pc_explain_query q;
	const char *param, *why;
	json_t *reply;
	int r;

	if (pc_explain_parse(call->request->parameters, &q, &param, &why) < 0) {
		reply =
		    pc_varlink_error_new("io.portcheck.BadRequest",
					 json_pack("{s:s,s:s}", "parameter", param, "reason", why));
	} else {
		/* In a child, like Status: other clients are served meanwhile. */
		r = job_defer(d, call, explain_job, &q);
		if (r < 0)
			return r;
		if (r > 0) {
			*ret_reply = NULL;
			return 0;
		}
		reply = explain_reply(&q);
	}
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

/* Before every wait of the event loop: the watchdog, then the watcher's due work. */
static int daemon_tick(uint64_t now, void *userdata)
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
		now = now_ms(); /* an analysis may have taken a while */
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

/* Every change to the firewall, with who asked for it. */
static void audit_change(const char *line, void *userdata)
{
	const struct pc_peer *peer = userdata;

	log_msg(LOG_NOTICE, "firewall change by uid %u pid %d: %s", (unsigned)peer->uid,
		(int)peer->pid, line);
}

static int method_open_close(const struct pc_varlink_call *call, bool open, json_t **ret_reply)
{
	const struct pc_status_options opts = status_options;
	struct pc_open_request req;
	_cleanup_free_ char *why = NULL;
	const char *param = "";
	json_t *reply = NULL;
	int r;

	if (pc_open_parse(call->request->parameters, open, &req, &param, &why) < 0) {
		reply = pc_varlink_error_new(
		    "io.portcheck.BadRequest",
		    json_pack("{s:s,s:s}", "parameter", param, "reason", why ? why : "invalid"));
	} else {
		r = pc_open_run(&opts, &req, audit_change, (void *)call->peer, &reply);
		if (r < 0) {
			log_msg(LOG_WARNING, "%s: %s", open ? "Open" : "Close", strerror(-r));
			return r;
		}
	}
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

static int method_open(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	return method_open_close(call, true, ret_reply);
}

static int method_close(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	return method_open_close(call, false, ret_reply);
}

static void usage(FILE *f)
{
	fputs("usage: portcheckd [--socket PATH] [--config FILE]\n"
	      "\n"
	      "Serve io.portcheck (Varlink) on a Unix socket, in the foreground, logging to\n"
	      "stderr (to the journal under systemd), and watch for listeners that the\n"
	      "firewall blocks: nftables, routing and firewalld changes are followed as they\n"
	      "happen, listening sockets are rescanned every RescanIntervalSec=. Under\n"
	      "systemd socket activation the socket passed in is used.\n"
	      "\n"
	      "options:\n"
	      "  --socket PATH  socket to create (default " PC_SOCKET_PATH_DEFAULT ")\n"
	      "  --config FILE  read only this configuration file (default: the portcheck.conf\n"
	      "                 lookup of portcheck.conf(5): /etc/portcheck/portcheck.conf and\n"
	      "                 drop-ins in /etc, /run and /usr/lib portcheck/portcheck.conf.d)\n"
	      "  --help         show this help\n"
	      "  --version      show the version\n"
	      "\n"
	      "signals: SIGHUP re-reads the configuration (a bad one is logged and the last\n"
	      "good one kept); SIGTERM and SIGINT stop.\n"
	      "environment: PORTCHECK_CONFIG_ROOT=DIR looks for the configuration under DIR;\n"
	      "PORTCHECKD_LOG_LEVEL=debug overrides LogLevel=.\n",
	      f);
}

/* Apply a loaded configuration: the read group, log level, rescan interval. */
static void daemon_apply_config(struct daemon *d)
{
	const char *level = getenv("PORTCHECKD_LOG_LEVEL");
	int r;

	log_max = d->config.log_level;
	if (level && pc_config_parse_log_level(level) >= 0)
		log_max = pc_config_parse_log_level(level);
	d->have_group = false;
	d->group = NULL;
	if (d->config.read_group && *d->config.read_group) {
		d->group = d->config.read_group;
		r = group_lookup(d->config.read_group, &d->gid);
		if (r < 0)
			log_msg(LOG_WARNING,
				"cannot look up group %s (ReadGroup=): %s; only root may "
				"read the status",
				d->group, strerror(-r));
		else if (r == 0)
			log_msg(LOG_WARNING,
				"group %s (ReadGroup=) does not exist; only root may "
				"read the status (reload after creating it)",
				d->group);
		d->have_group = r > 0;
	}
	if (d->watch)
		pc_watch_set_rescan_interval(d->watch, d->config.rescan_interval_sec);
}

/* SIGHUP: the new configuration replaces the old only if all of it is good. */
static void daemon_reload(struct daemon *d)
{
	_cleanup_free_ char *error = NULL;
	struct pc_config next = {0};
	int r;

	sd_notify(0, "RELOADING=1");
	r = pc_config_load(d->config_root, d->config_path, &next, &error);
	if (r < 0) {
		log_msg(LOG_ERR, "reload failed, keeping the last good configuration: %s",
			error ? error : strerror(-r));
	} else {
		pc_config_clear(&d->config);
		d->config = next;
		daemon_apply_config(d);
		log_msg(LOG_INFO, "reloaded configuration%s%s", d->config_path ? " from " : "",
			d->config_path ? d->config_path : "");
		/* Ignore lists may have changed what counts as news. */
		pc_exposure_track_clear(&d->track);
		if (d->watch)
			pc_watch_request(d->watch);
	}
	sd_notify(0, "READY=1");
}

/* The listening socket from systemd, if we were socket-activated. Returns 1 and the fd, 0
 * when not activated, -errno when what systemd passed is unusable (logged). */
static int socket_from_systemd(int *ret_fd)
{
	int n = sd_listen_fds(1), r;

	if (n < 0) {
		log_msg(LOG_ERR, "cannot take the sockets passed by systemd: %s", strerror(-n));
		return n;
	}
	if (n == 0)
		return 0;
	if (n > 1) {
		log_msg(LOG_ERR, "systemd passed %d sockets, expected one", n);
		return -EINVAL;
	}
	r = sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0);
	if (r <= 0) {
		log_msg(LOG_ERR, "the socket passed by systemd is not a listening Unix stream "
				 "socket");
		return r < 0 ? r : -EINVAL;
	}
	*ret_fd = SD_LISTEN_FDS_START;
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {},
	};
	static const struct pc_varlink_method methods[] = {
	    {"io.portcheck.Status", method_status},
	    {"io.portcheck.Explain", method_explain},
	    {"io.portcheck.Open", method_open},
	    {"io.portcheck.Close", method_close},
	};
	static const struct pc_varlink_interface interfaces[] = {
	    {"io.portcheck", pc_varlink_idl_io_portcheck},
	};
	const char *socket_path = NULL;
	_cleanup_free_ char *config_error = NULL;
	struct daemon d = {0};
	struct pc_server_config scfg;
	bool created_socket = false;
	uint64_t watchdog_usec = 0;
	int c, r, fd = -1, ret = 1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'c':
			d.config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("portcheckd %s\n", PORTCHECK_VERSION);
			return 0;
		case ':':
			fprintf(stderr, "portcheckd: option '%s' needs an argument\n",
				argv[optind - 1]);
			fputs("Try 'portcheckd --help'.\n", stderr);
			return 2;
		default:
			fprintf(stderr, "portcheckd: unknown option '%s'\n", argv[optind - 1]);
			fputs("Try 'portcheckd --help'.\n", stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "portcheckd: unexpected argument '%s'\n", argv[optind]);
		fputs("Try 'portcheckd --help'.\n", stderr);
		return 2;
	}

	log_journal = stderr_is_journal();
	/* A vanished stderr reader must not kill the daemon; sockets use MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);

	d.config_root = getenv("PORTCHECK_CONFIG_ROOT");
	r = pc_config_load(d.config_root, d.config_path, &d.config, &config_error);
	if (r < 0) {
		log_msg(LOG_ERR, "bad configuration: %s",
			config_error ? config_error : strerror(-r));
		goto out;
	}
	daemon_apply_config(&d);

	r = socket_from_systemd(&fd);
	if (r < 0)
		goto out;
	if (r > 0) {
		if (socket_path)
			log_msg(LOG_NOTICE,
				"socket-activated: using the socket from systemd, "
				"not --socket %s",
				socket_path);
	} else {
		socket_path = socket_path ?: PC_SOCKET_PATH_DEFAULT;
		r = pc_server_listen_path(socket_path, &fd);
		if (r < 0) {
			log_msg(LOG_ERR, "cannot listen on %s: %s%s", socket_path, strerror(-r),
				r == -EADDRINUSE ? " (another portcheckd is running)" : "");
			goto out;
		}
		created_socket = true;
	}

	scfg = (struct pc_server_config){
	    .methods = methods,
	    .n_methods = ELEMENTSOF(methods),
	    .interfaces = interfaces,
	    .n_interfaces = ELEMENTSOF(interfaces),
	    .vendor = "portcheck",
	    .product = "portcheck",
	    .version = PORTCHECK_VERSION,
	    .url = PORTCHECK_URL,
	    .authorize = authorize,
	    .log = server_log,
	    .userdata = &d,
	    .handle_signals = true,
	    .tick = daemon_tick,
	};
	r = pc_server_new(&scfg, fd, &d.server);
	fd = -1;
	if (r < 0) {
		log_msg(LOG_ERR, "cannot start the server: %s", strerror(-r));
		goto out;
	}

	{
		const struct pc_watch_callbacks cb = {
		    .analyse = watch_analyse,
		    .firewalld = watch_firewalld,
		    .add_fd = watch_add_fd,
		    .remove_fd = watch_remove_fd,
		    .log = watch_log,
		    .userdata = &d,
		};

		r = pc_watch_new(&cb, d.config.rescan_interval_sec, &d.watch);
		if (r < 0) {
			log_msg(LOG_ERR, "cannot start watching: %s", strerror(-r));
			goto out;
		}
	}
	/* The watchdog is pinged from the loop at half its period, and during analyses. */
	the_daemon = &d;
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec >= 2000)
		d.watchdog_interval_ms = watchdog_usec / 2000;

	log_msg(LOG_INFO, "listening on %s; status readable by root%s%s; rescanning listeners %s",
		created_socket ? socket_path : "the socket from systemd",
		d.have_group ? " and group " : "", d.have_group ? d.group : "",
		d.config.rescan_interval_sec ? "periodically" : "only on changes and requests");
	sd_notify(0, "READY=1\nSTATUS=Serving io.portcheck; first analysis pending");

	for (;;) {
		r = pc_server_run(d.server);
		if (r != SIGHUP)
			break;
		daemon_reload(&d);
	}
	sd_notify(0, "STOPPING=1");
	if (r < 0)
		log_msg(LOG_ERR, "event loop failed: %s", strerror(-r));
	else
		ret = 0;

out:
	for (size_t i = 0; i < MAX_CLIENT_JOBS; i++)
		if (d.jobs[i])
			client_job_free(d.jobs[i]);
	bg_stop(&d);
	pc_watch_free(d.watch);
	pc_server_free(d.server);
	if (created_socket && unlink(socket_path) < 0 && errno != ENOENT)
		log_msg(LOG_WARNING, "cannot remove %s: %s", socket_path, strerror(errno));
	pc_exposure_track_clear(&d.track);
	pc_config_clear(&d.config);
	free(d.last_analysis_error);
	return ret;
}
