/* SPDX-License-Identifier: MIT */
/*
 * Explain, Open and Close in child processes (daemon/service/bg_analysis.c): at most MAX_JOBS
 * at once, MAX_JOBS_QUEUED waiting, io.portcheck.Busy beyond, so that nothing a client
 * asks for runs in the event loop. Explain's answers are kept by query while the state
 * they read is unchanged (state.c), and its child is killed when its client goes. A
 * change to the firewall always runs to its end: killing it half way could leave half a
 * change behind.
 *
 * The child's result is {"reply": MESSAGE} and, for Explain, "freshness".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon.h"

/* A job that takes longer is stuck, not slow: killed. */
#define JOB_TIMEOUT_MS (30u * 60 * 1000)

struct job {
	struct daemon *d;
	pc_bg_job_fn fn;
	void *arg;
	void (*arg_free)(void *);
	struct pc_bg_analysis *bg; /* NULL while queued */
	struct pc_varlink_deferred *reply;
	struct pc_peer peer_copy; /* uid and pid for the log; no groups */
	struct state_probe probe; /* Explain: the state when it started */
	char *explain_key;	  /* Explain's query; NULL for a change */
	bool cancelled;		  /* its client went (Explain only) */
	struct job *next;	  /* in the queue, or the dead list */
};

static void job_free(struct job *job)
{
	if (!job)
		return;
	pc_bg_analysis_free(job->bg);
	pc_varlink_deferred_free(job->reply);
	if (job->arg_free)
		job->arg_free(job->arg);
	free(job->explain_key);
	free(job);
}

/* Off its slot and out of the loop; freed by the next tick. */
static void job_retire(struct job *job)
{
	struct daemon *d = job->d;

	for (size_t i = 0; i < MAX_JOBS; i++)
		if (d->jobs[i] == job)
			d->jobs[i] = NULL;
	if (job->bg && d->server)
		(void)pc_server_remove_fd(d->server, pc_bg_analysis_fd(job->bg));
	job->next = d->dead_jobs;
	d->dead_jobs = job;
}

static void job_answer(struct job *job, json_t *reply)
{
	pc_server_reply_deferred(job->d->server, TAKE_PTR(job->reply), reply);
}

static bool is_error(const json_t *msg, const char *name)
{
	const char *e = json_string_value(json_object_get(msg, "error"));

	return e && strcmp(e, name) == 0;
}

static void jobs_start_queued(struct daemon *d);

static void job_ready(int fd, uint32_t events, void *userdata)
{
	struct job *job = userdata;
	struct daemon *d = job->d;
	struct pc_varlink_blob *blob = NULL;
	struct pc_freshness fresh;
	json_t *result = NULL, *reply;
	bool is_change = !job->explain_key;
	int r;

	r = pc_bg_analysis_read(job->bg, &result);
	if (r == 0)
		return;
	reply = r > 0 ? json_object_get(result, "reply") : NULL;
	if (r > 0 && json_is_object(reply)) {
		json_incref(reply);
	} else if (job->explain_key) {
		r = r < 0 ? r : -EBADMSG;
		log_msg(LOG_WARNING, "Explain: reading the system state failed: %s", strerror(-r));
		reply =
		    pc_varlink_error_new_string("io.portcheck.ReadFailed", "reason", strerror(-r));
	} else {
		/* The child that changed the firewall died or said nothing: what it did is
		 * not known here. Its own log lines say what it changed. */
		r = r < 0 ? r : -EBADMSG;
		log_msg(LOG_ERR, "firewall change by uid %u pid %d: the change process failed: %s",
			(unsigned)job->peer_copy.uid, (int)job->peer_copy.pid, strerror(-r));
		reply = pc_varlink_error_new(
		    "io.portcheck.ChangeFailed",
		    json_pack("{s:s,s:s}", "reason", strerror(-r), "state",
			      "unknown: see the daemon's log and portcheck status"));
	}
	if (is_error(reply, PC_VARLINK_ERROR_PERMISSION_DENIED))
		log_refused(d, "Open/Close", &job->peer_copy, "not authorized by polkit");
	/* A change that may have happened (done, or failed part way) makes whatever was
	 * kept stale, though its events may still be queued; a refused or invalid one does
	 * not, or any user could keep the daemon from keeping anything. */
	if (is_change && !is_error(reply, PC_VARLINK_ERROR_PERMISSION_DENIED) &&
	    !is_error(reply, "io.portcheck.BadRequest") &&
	    !is_error(reply, "io.portcheck.FirewalldUnavailable"))
		d->changes++;
	if (job->explain_key && r > 0 && reply && pc_varlink_blob_new(reply, &blob) >= 0) {
		struct kept_answer *a = &d->explain[d->explain_next++ % EXPLAIN_CACHE_SIZE];

		freshness_from_json(json_object_get(result, "freshness"), &fresh);
		kept_answer_clear(a);
		kept_answer_set(a, pc_varlink_blob_ref(blob), &job->probe,
				pc_bg_analysis_started_ms(job->bg), &fresh);
		if (a->reply)
			a->key = TAKE_PTR(job->explain_key);
	}
	job_retire(job);
	if (blob) {
		json_decref(reply);
		pc_server_reply_deferred_blob(d->server, TAKE_PTR(job->reply), blob);
	} else {
		job_answer(job, reply);
	}
	json_decref(result);
	jobs_start_queued(d);
}

/* Fork the job's child into a free slot. Returns 0, or -errno (answered and retired). */
static int job_start(struct job *job, size_t slot)
{
	struct daemon *d = job->d;
	int r;

	if (job->explain_key)
		state_probe_read(d, &job->probe);
	r = pc_bg_job_start(job->fn, job->arg, &job->bg);
	if (r >= 0) {
		r = pc_server_add_fd(d->server, pc_bg_analysis_fd(job->bg), job_ready, job);
		if (r < 0) {
			pc_bg_analysis_free(job->bg);
			job->bg = NULL;
		}
	}
	if (r < 0) {
		log_msg(LOG_WARNING, "cannot start a child process: %s", strerror(-r));
		job_answer(job, pc_varlink_error_new_string("io.portcheck.ReadFailed", "reason",
							    "cannot start a child process"));
		job_retire(job);
		return r;
	}
	d->jobs[slot] = job;
	return 0;
}

static bool job_slot_free(struct daemon *d, size_t *ret)
{
	for (size_t i = 0; i < MAX_JOBS; i++)
		if (!d->jobs[i]) {
			*ret = i;
			return true;
		}
	return false;
}

static void jobs_start_queued(struct daemon *d)
{
	size_t slot;

	while (d->job_queue && job_slot_free(d, &slot)) {
		struct job *job = d->job_queue;

		d->job_queue = job->next;
		if (!d->job_queue)
			d->job_queue_tail = &d->job_queue;
		d->n_jobs_queued--;
		job->next = NULL;
		if (job->cancelled) {
			job->next = d->dead_jobs;
			d->dead_jobs = job;
			continue;
		}
		(void)job_start(job, slot);
	}
}

/* Jobs of @uid running or queued (not the finished ones). */
static unsigned jobs_of_user(struct daemon *d, uid_t uid)
{
	unsigned n = 0;

	for (size_t i = 0; i < MAX_JOBS; i++)
		n += d->jobs[i] && !d->jobs[i]->cancelled && d->jobs[i]->peer_copy.uid == uid;
	for (struct job *j = d->job_queue; j; j = j->next)
		n += !j->cancelled && j->peer_copy.uid == uid;
	return n;
}

/* The client of an Explain went: its child is killed by the next tick. */
static void job_gone(void *userdata)
{
	struct job *job = userdata;

	job->cancelled = true;
}

int job_submit(struct daemon *d, const struct pc_varlink_call *call, pc_bg_job_fn fn, void *arg,
	       void (*arg_free)(void *), const char *explain_key)
{
	struct pc_varlink_deferred *token;
	struct job *job;
	char *key;
	size_t slot;
	int r;

	r = pc_varlink_call_defer(call, &token);
	if (r < 0) {
		if (arg_free)
			arg_free(arg);
		return r;
	}
	if (explain_key) {
		struct state_probe probe;
		uint64_t now = pc_now_ms();

		state_probe_read(d, &probe);
		for (size_t i = 0; i < EXPLAIN_CACHE_SIZE; i++) {
			struct kept_answer *a = &d->explain[i];

			if (a->key && strcmp(a->key, explain_key) == 0 &&
			    kept_answer_valid(a, &probe, now)) {
				if (arg_free)
					arg_free(arg);
				pc_server_reply_deferred_blob(d->server, token,
							      pc_varlink_blob_ref(a->reply));
				return 0;
			}
		}
	}
	job = calloc(1, sizeof(*job));
	key = explain_key ? strdup(explain_key) : NULL;
	if (!job || (explain_key && !key)) {
		free(job);
		free(key);
		if (arg_free)
			arg_free(arg);
		pc_server_reply_deferred(d->server, token, NULL);
		return 0;
	}
	*job = (struct job){.d = d,
			    .fn = fn,
			    .arg = arg,
			    .arg_free = arg_free,
			    .reply = token,
			    .explain_key = key,
			    .peer_copy = {.pid = call->peer->pid, .uid = call->peer->uid}};
	if (explain_key)
		pc_varlink_deferred_on_gone(token, job_gone, job);

	if (!d->server) {
		job_answer(job, busy_reply("shutting down"));
		job_free(job);
		return 0;
	}
	/* One user may not take every slot: each costs a root child process. */
	if (job->peer_copy.uid != 0 && jobs_of_user(d, job->peer_copy.uid) >= MAX_JOBS_PER_USER) {
		log_refused(d, "Explain/Open/Close", call->peer, "busy (per-user limit)");
		job_answer(job, busy_reply("too many of your Explain, Open and Close calls are "
					   "in progress"));
		job_retire(job);
		return 0;
	}
	if (job_slot_free(d, &slot)) {
		(void)job_start(job, slot);
		return 0;
	}
	if (d->n_jobs_queued >= MAX_JOBS_QUEUED && job->peer_copy.uid != 0) {
		log_refused(d, "Explain/Open/Close", call->peer, "busy");
		job_answer(job, busy_reply("too many Explain, Open and Close calls are waiting"));
		job_retire(job);
		return 0;
	}
	*d->job_queue_tail = job;
	d->job_queue_tail = &job->next;
	d->n_jobs_queued++;
	return 0;
}

void jobs_tick(struct daemon *d, uint64_t now, int *next)
{
	for (size_t i = 0; i < MAX_JOBS; i++) {
		struct job *job = d->jobs[i];
		uint64_t until;

		if (!job)
			continue;
		if (job->cancelled) {
			/* Killed with the child by job_free. */
			job_retire(job);
			continue;
		}
		until = pc_bg_analysis_started_ms(job->bg) + JOB_TIMEOUT_MS;
		if (now >= until) {
			log_msg(LOG_WARNING, "a child process ran for %u min: killed",
				JOB_TIMEOUT_MS / 60000);
			/* A change killed half way may have changed something. */
			if (!job->explain_key)
				d->changes++;
			job_answer(job,
				   job->explain_key
				       ? pc_varlink_error_new_string("io.portcheck.ReadFailed",
								     "reason", "timed out")
				       : pc_varlink_error_new(
					     "io.portcheck.ChangeFailed",
					     json_pack("{s:s,s:s}", "reason", "timed out", "state",
						       "unknown: see portcheck status")));
			job_retire(job);
			continue;
		}
		if (*next < 0 || until - now < (uint64_t)*next)
			*next = (int)(until - now) + 1;
	}
	jobs_start_queued(d);
	while (d->dead_jobs) {
		struct job *job = d->dead_jobs;

		d->dead_jobs = job->next;
		job_free(job);
	}
}

void jobs_stop(struct daemon *d)
{
	for (size_t i = 0; i < MAX_JOBS; i++)
		if (d->jobs[i])
			job_retire(d->jobs[i]);
	while (d->job_queue) {
		struct job *job = d->job_queue;

		d->job_queue = job->next;
		job_free(job);
	}
	d->job_queue_tail = &d->job_queue;
	d->n_jobs_queued = 0;
	while (d->dead_jobs) {
		struct job *job = d->dead_jobs;

		d->dead_jobs = job->next;
		job_free(job);
	}
}
