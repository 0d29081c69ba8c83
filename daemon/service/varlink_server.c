/* SPDX-License-Identifier: MIT */
/*
 * The Varlink server: creation, the event loop, accepting connections, the embedding
 * program's own fds, teardown. See include/portcheck/varlink_server.h for the API and
 * varlink_server_internal.h for how the server is split.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "portcheck/util.h"
#include "varlink_server_internal.h"

void varlink_log(struct pc_server *s, int priority, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!s->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->cfg.log(priority, buf, s->cfg.userdata);
}

static void accept_connections(struct pc_server *s)
{
	for (int i = 0; i < MAX_ACCEPTS_PER_WAKEUP; i++) {
		int fd, r;

		fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of file descriptors or memory: the socket stays readable, so
			 * stop polling it until a connection closes or a moment has passed. */
			server_log_refusal(s, strerror(errno), (uid_t)-1);
			server_accept_pause(s);
			return;
		}
		/* Refused ones are closed at once (conn_new), which tells the client
		 * immediately, where leaving it in the backlog would let it hang. */
		r = conn_new(s, fd);
		if (r < 0)
			varlink_log(s, LOG_WARNING, "dropping new connection: %s", strerror(-r));
	}
}

static void apply_defaults(struct pc_server_config *cfg)
{
	if (!cfg->max_connections)
		cfg->max_connections = DEFAULT_MAX_CONNECTIONS;
	if (!cfg->max_connections_per_user)
		cfg->max_connections_per_user = DEFAULT_MAX_CONNECTIONS_PER_USER;
	if (!cfg->idle_timeout_ms)
		cfg->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
	if (!cfg->request_timeout_ms)
		cfg->request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
	if (!cfg->max_requests)
		cfg->max_requests = DEFAULT_MAX_REQUESTS;
	if (!cfg->max_request_size)
		cfg->max_request_size = PC_VARLINK_MAX_REQUEST;
	if (!cfg->max_output)
		cfg->max_output = DEFAULT_MAX_OUTPUT;
}

static int epoll_add(struct pc_server *s, int fd, struct source *src)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = src};

	return epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* SIGTERM, SIGINT and SIGHUP through a signalfd: pc_server_run returns them. */
static int watch_signals(struct pc_server *s)
{
	sigset_t mask;

	/* Blocked for good: unblocking with a signal pending would kill the
	 * process before its cleanup ran. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	s->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->signal_fd < 0)
		return -errno;
	return epoll_add(s, s->signal_fd, &s->signal_src);
}

/* The epoll set: the listening socket, the signals and the stop fd if asked for. */
static int server_setup(struct pc_server *s)
{
	int flags, r;

	/* An fd from systemd may be blocking; accept() on it must not be. */
	flags = fcntl(s->listen_fd, F_GETFL);
	if (flags < 0 || fcntl(s->listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;

	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0)
		return -errno;
	r = epoll_add(s, s->listen_fd, &s->listen_src);
	if (r < 0)
		return r;
	if (s->cfg.handle_signals) {
		r = watch_signals(s);
		if (r < 0)
			return r;
	}
	if (s->cfg.stop_fd > 0)
		return epoll_add(s, s->cfg.stop_fd, &s->stop_src);
	return 0;
}

int pc_server_new(const struct pc_server_config *cfg, int listen_fd, struct pc_server **ret)
{
	_cleanup_close_ int lfd = listen_fd;
	struct pc_server *s;
	int r;

	if (listen_fd < 0)
		return -EBADF;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	apply_defaults(&s->cfg);
	s->listen_src.kind = SOURCE_LISTEN;
	s->signal_src.kind = SOURCE_SIGNAL;
	s->stop_src.kind = SOURCE_STOP;
	s->epoll_fd = s->signal_fd = -1;
	for (size_t i = 0; i < MAX_EXTERNAL; i++)
		s->external[i] = (struct external){.src.kind = SOURCE_EXTERNAL, .fd = -1};
	s->listen_fd = lfd;
	lfd = -1;

	r = server_setup(s);
	if (r < 0) {
		pc_server_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* A signal from the signalfd: its number (pc_server_run returns it), or 0 if none. */
static int read_signal(struct pc_server *s)
{
	struct signalfd_siginfo si;
	ssize_t l = read(s->signal_fd, &si, sizeof(si));

	if (l != (ssize_t)sizeof(si))
		return 0;
	if (si.ssi_signo != SIGHUP)
		varlink_log(s, LOG_INFO, "received %s, exiting", strsignal((int)si.ssi_signo));
	return (int)si.ssi_signo;
}

/* One event of the batch. Returns true when pc_server_run is to return *ret: 0 when
 * stopped by the stop fd, a signal's number. */
static bool handle_event(struct pc_server *s, const struct epoll_event *event, int *ret)
{
	struct source *src = event->data.ptr;

	switch (src->kind) {
	case SOURCE_LISTEN:
		accept_connections(s);
		break;
	case SOURCE_SIGNAL:
		*ret = read_signal(s);
		return *ret > 0;
	case SOURCE_EXTERNAL: {
		struct external *x = (struct external *)src;

		if (x->fd >= 0)
			x->fn(x->fd, event->events, x->userdata);
		break;
	}
	case SOURCE_STOP:
		*ret = 0;
		return true;
	case SOURCE_CONN: {
		struct conn *c = (struct conn *)src;

		/* Closed by an earlier event of this batch: still allocated
		 * (server_reap), and nothing more to do. */
		if (!c->dead)
			conn_event(c, event->events);
		break;
	}
	}
	return false;
}

int pc_server_run(struct pc_server *s)
{
	struct epoll_event events[MAX_EVENTS];

	for (;;) {
		int timeout = server_next_timeout(s), n, r;

		if (s->cfg.tick) {
			int t = s->cfg.tick(pc_now_ms(), s->cfg.userdata);

			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		n = epoll_wait(s->epoll_fd, events, MAX_EVENTS, timeout);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++)
			if (handle_event(s, &events[i], &r))
				return r;
		server_reap(s);
		server_expire(s);
		server_reap(s);
	}
}

int pc_server_add_fd(struct pc_server *s, int fd, pc_server_fd_fn fn, void *userdata)
{
	for (size_t i = 0; i < MAX_EXTERNAL; i++) {
		struct external *x = &s->external[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &x->src};

		if (x->fd >= 0)
			continue;
		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		x->fd = fd;
		x->fn = fn;
		x->userdata = userdata;
		return 0;
	}
	return -ENOSPC;
}

int pc_server_remove_fd(struct pc_server *s, int fd)
{
	for (size_t i = 0; i < MAX_EXTERNAL; i++) {
		struct external *x = &s->external[i];

		if (x->fd != fd)
			continue;
		(void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		x->fd = -1;
		return 0;
	}
	return -ENOENT;
}

size_t pc_server_n_connections(const struct pc_server *s)
{
	return s->n_conns;
}

void pc_server_free(struct pc_server *s)
{
	if (!s)
		return;
	while (s->idle.first)
		conn_kill(s->idle.first);
	server_reap(s);
	free(s->users);
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s);
}
