/* SPDX-License-Identifier: MIT */
/* A status collection in a child process: see include/portcheck/bg_analysis.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "portcheck/bg_analysis.h"
#include "portcheck/util.h"

struct pc_bg_analysis {
	pid_t pid; /* 0 once reaped */
	int fd;
	uint64_t started_ms;
	char *buf;
	size_t len, alloc;
	long peak_rss_kib; /* the child's, once reaped (wait4) */
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The child: run the job, write, exit. _exit: no atexit handlers, no stdio flushing of
 * the parent's buffers, no leak report of memory the parent owns. */
static __attribute__((noreturn)) void child_run(pc_bg_job_fn fn, void *arg, int fd)
{
	json_t *result = NULL;
	char *text;
	int r;

	r = fn(arg, &result);
	if (r < 0)
		_exit(-r > 0 && -r < 256 ? -r : EIO);
	text = json_dumps(result, JSON_COMPACT);
	if (!text)
		_exit(ENOMEM);
	/* Too large for any client: say so rather than have the parent read it all. */
	if (strlen(text) > PC_BG_ANALYSIS_MAX_REPORT)
		_exit(EFBIG);
	_exit(write_all(fd, text, strlen(text)) < 0 ? EPIPE : 0);
}

int pc_bg_job_start(pc_bg_job_fn fn, void *arg, struct pc_bg_analysis **ret)
{
	struct pc_bg_analysis *bg;
	int pfd[2];
	pid_t pid;

	bg = calloc(1, sizeof(*bg));
	if (!bg)
		return -ENOMEM;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(bg);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pfd[0]);
		close(pfd[1]);
		free(bg);
		return -e;
	}
	if (pid == 0) {
		close(pfd[0]);
		/* Client connections and the listening socket stay the parent's: a client
		 * whose connection the parent closes must see EOF now, not when the child
		 * exits. Best effort: without close_range they close at exit. */
		if (pfd[1] != 3) {
			if (dup2(pfd[1], 3) < 0)
				_exit(EIO);
			close(pfd[1]);
		}
		(void)close_range(4, ~0U, 0);
		/* Huge pages for the job's heap as the daemon inherited them; it does without
		 * (util.h). */
		(void)pc_huge_pages_child();
		/* The parent blocked these for its signalfd; the child just dies on them. */
		{
			sigset_t all;

			sigfillset(&all);
			sigprocmask(SIG_UNBLOCK, &all, NULL);
		}
		child_run(fn, arg, 3);
	}
	close(pfd[1]);
	if (fcntl(pfd[0], F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;

		close(pfd[0]);
		kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		free(bg);
		return -e;
	}
	bg->pid = pid;
	bg->fd = pfd[0];
	bg->started_ms = pc_now_ms();
	*ret = bg;
	return 0;
}

int pc_bg_analysis_fd(const struct pc_bg_analysis *bg)
{
	return bg->fd;
}

uint64_t pc_bg_analysis_started_ms(const struct pc_bg_analysis *bg)
{
	return bg->started_ms;
}

long pc_bg_analysis_peak_rss_kib(const struct pc_bg_analysis *bg)
{
	return bg->peak_rss_kib;
}

/* The pipe is at EOF: reap the child and judge its report. */
static int finish(struct pc_bg_analysis *bg, json_t **ret_status)
{
	json_error_t err;
	struct rusage ru = {0};
	json_t *status;
	int st = 0;
	pid_t r;

	do
		r = wait4(bg->pid, &st, 0, &ru);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		bg->peak_rss_kib = ru.ru_maxrss;
	bg->pid = 0;
	if (r < 0)
		return -ECHILD;
	if (WIFSIGNALED(st) || !WIFEXITED(st))
		return -ECHILD;
	if (WEXITSTATUS(st) != 0)
		return -WEXITSTATUS(st);
	status = json_loadb(bg->buf ? bg->buf : "", bg->len, 0, &err);
	if (!status || !json_is_object(status)) {
		json_decref(status);
		return -EBADMSG;
	}
	*ret_status = status;
	return 1;
}

int pc_bg_analysis_read(struct pc_bg_analysis *bg, json_t **ret_status)
{
	for (int i = 0; i < 64; i++) {
		ssize_t n;

		if (bg->alloc - bg->len < 65536) {
			size_t want = bg->alloc ? bg->alloc * 2 : 1u << 20;
			char *b;

			if (want > PC_BG_ANALYSIS_MAX_REPORT + 65536)
				return -EFBIG;
			b = realloc(bg->buf, want);
			if (!b)
				return -ENOMEM;
			bg->buf = b;
			bg->alloc = want;
		}
		n = read(bg->fd, bg->buf + bg->len, bg->alloc - bg->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -errno;
		if (n == 0)
			return finish(bg, ret_status);
		bg->len += (size_t)n;
		if (bg->len > PC_BG_ANALYSIS_MAX_REPORT)
			return -EFBIG;
	}
	return 0; /* more later: let the loop serve others in between */
}

void pc_bg_analysis_free(struct pc_bg_analysis *bg)
{
	if (!bg)
		return;
	if (bg->pid > 0) {
		kill(bg->pid, SIGKILL);
		while (waitpid(bg->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (bg->fd >= 0)
		close(bg->fd);
	free(bg->buf);
	free(bg);
}
