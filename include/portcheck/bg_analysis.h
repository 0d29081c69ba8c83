/* SPDX-License-Identifier: MIT */
/*
 * A job (a status collection, an Explain, a firewall change) in a child process, so that
 * the daemon's event loop keeps serving clients, answering signals and feeding the
 * watchdog while it runs (a large ruleset, a slow firewalld or polkit). A child rather
 * than a thread:
 * libnftables and libdbus keep process-wide state that is not meant to be shared between
 * threads, and a child that wedges or crashes can simply be killed.
 *
 * The child writes its result as compact JSON to a pipe and exits; the parent reads it
 * without blocking when the pipe is readable (pc_bg_analysis_fd in its event loop).
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "portcheck/status.h"
#include "portcheck/varlink.h"

/* A result larger than this is refused: the child does not send it, the parent does not
 * buffer it. The reply in it may not exceed what the server sends and the client takes
 * (PC_VARLINK_MAX_MESSAGE); a little is left for what is wrapped around it. */
#define PC_BG_ANALYSIS_MAX_REPORT (PC_VARLINK_MAX_MESSAGE + 4096)

struct pc_bg_analysis;

/*
 * Fork a child for a job that produces one JSON object: @fn runs in the child with @arg
 * (a snapshot of the parent's memory: pointers stay valid there) and returns 0 and the
 * object, or -errno, which pc_bg_analysis_read() then returns. The child may not notify
 * systemd (NotifyAccess=main). Returns 0 and the handle, or -errno.
 */
typedef int (*pc_bg_job_fn)(void *arg, json_t **ret);
int pc_bg_job_start(pc_bg_job_fn fn, void *arg, struct pc_bg_analysis **ret);

/* The fd to wait on for readability. */
int pc_bg_analysis_fd(const struct pc_bg_analysis *bg);

/* When it started (CLOCK_MONOTONIC ms), to order its report against others. */
uint64_t pc_bg_analysis_started_ms(const struct pc_bg_analysis *bg);

/* The child's peak resident memory in KiB once pc_bg_analysis_read() reaped it (the
 * collection's cost: the parent's own peak says nothing of it); 0 before. A forked
 * child's count starts at what it shares with the parent at fork (the daemon's own
 * resident memory then), so this is an upper bound of what the collection added. */
long pc_bg_analysis_peak_rss_kib(const struct pc_bg_analysis *bg);

/*
 * Read what is there. Returns 0 while the report is incomplete; 1 when it is done, with
 * the report in *ret_status; or -errno when the analysis failed (the child's own error,
 * -EBADMSG for a report that does not parse, -EFBIG beyond the limit, -ECHILD for a child
 * that died). After a non-zero return the handle is finished: free it.
 */
int pc_bg_analysis_read(struct pc_bg_analysis *bg, json_t **ret_status);

/* Kill the child if it still runs, reap it, free everything. NULL-safe. */
void pc_bg_analysis_free(struct pc_bg_analysis *bg);
