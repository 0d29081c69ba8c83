/* SPDX-License-Identifier: MIT */
/*
 * portcheck-load: drive portcheckd's Varlink socket the way many clients, slow clients and
 * impatient clients do, and report what they saw. Used by tests/lab/test_load.sh and
 * bench/bench_daemon.sh; it speaks the wire protocol itself (a JSON object and a NUL byte
 * each way), so it tests the daemon, not the client library.
 *
 *   status   CLIENTS concurrent clients, REQUESTS calls each (one connection per client,
 *            or a new one per call with --reconnect, as `portcheck status` does). Every
 *            reply must be a proper reply (JSON object with "parameters", for Status the
 *            version 1 report); an error reply, a reply that is not one, a closed or
 *            reset connection, a refused connect or a timeout is an error. Latency
 *            percentiles of the good replies. Exit status 1 on any error.
 *   hold     CLIENTS connections that each send half a message and then nothing, or one
 *            more byte every --trickle MS (the message never ends); with --empty, not
 *            even that: connected and silent. For --hold SECONDS. Reports how many the
 *            server accepted and when it closed them ("ready" once every connection was
 *            made). With --until-closed it ends as soon as the server has closed them
 *            all; with --reconnect-ms MS a closed (or refused) connection is opened again
 *            MS later, as a persistent attacker would.
 *
 * Every mode sends the call built from --method (io.portcheck.Status) and --parameters
 * ({}), e.g. --parameters '{"fresh":true}'.
 *   abandon  CLIENTS clients send Status and close without reading the reply, each
 *            --close-after MS plus a random part of --spread MS after sending, for
 *            --rounds rounds.
 *
 * --user NAME (or a numeric uid) drops to that user (and its primary group, or the gid of
 * the uid's number; no supplementary groups) before the first connect: the daemon knows
 * its callers by SO_PEERCRED, taken at connect time.
 *
 * Everything is bounded in time: per call (--timeout), per run (--deadline), and each
 * wait is an epoll_wait with a timeout. One thread, non-blocking sockets.
 *
 * SIGTERM or SIGINT ends the run early; the figures so far are still printed.
 * The last line of output is "RESULT key=value ..." for scripts.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define MAX_CLIENTS 20000
#define MAX_REPLY ((size_t)256 << 20)
/* A connect() that finds the server's backlog full (EAGAIN) is retried this often. */
#define CONNECT_RETRY_MS 10
#define MAX_ERROR_NAMES 16

enum mode { MODE_STATUS, MODE_HOLD, MODE_ABANDON };

static struct {
	enum mode mode;
	const char *socket_path;
	unsigned clients, requests, rounds;
	bool reconnect, until_closed, quiet, empty;
	const char *method, *parameters, *user, *ready_file;
	unsigned timeout_ms, deadline_s, trickle_ms, hold_s, spread_ms, close_after_ms,
	    reconnect_ms;
} opt = {
    .clients = 10,
    .requests = 1,
    .rounds = 1,
    .method = "io.portcheck.Status",
    .parameters = "{}",
    .timeout_ms = 5000,
    .deadline_s = 120,
    .hold_s = 30,
    .spread_ms = 2000,
};

static char *request;	   /* the call, NUL included */
static size_t request_len; /* NUL included */
static struct sockaddr_un addr = {.sun_family = AF_UNIX};
static int epfd = -1;
/* SIGTERM or SIGINT: stop and report what was seen so far. */
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	stop_requested = sig;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("portcheck-load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- error accounting ---- */

enum err {
	ERR_REFUSED,   /* connect(): ECONNREFUSED, ENOENT, ... */
	ERR_CONNECT,   /* connect() did not complete in time (backlog full) */
	ERR_TIMEOUT,   /* no complete reply in time */
	ERR_CLOSED,    /* the server closed before the reply was complete */
	ERR_RESET,     /* ECONNRESET, EPIPE and other socket errors */
	ERR_BAD_REPLY, /* not JSON, not a reply, not the expected parameters */
	ERR_ERROR,     /* a Varlink error reply */
	N_ERR,
};

static const char *const err_key[N_ERR] = {"refused", "connect_timeout", "timeout",    "closed",
					   "reset",   "bad_reply",	 "error_reply"};

static unsigned long errors[N_ERR];
static struct {
	char name[96];
	unsigned long n;
} error_names[MAX_ERROR_NAMES];
static char first_error[256];

static void note_error_name(const char *name)
{
	size_t i;

	for (i = 0; i < MAX_ERROR_NAMES && error_names[i].name[0]; i++)
		if (strcmp(error_names[i].name, name) == 0)
			break;
	if (i == MAX_ERROR_NAMES)
		i = MAX_ERROR_NAMES - 1; /* the last slot collects the rest */
	if (!error_names[i].name[0])
		snprintf(error_names[i].name, sizeof(error_names[i].name), "%s", name);
	error_names[i].n++;
}

__attribute__((format(printf, 2, 3))) static void count_error(enum err e, const char *fmt, ...)
{
	va_list ap;

	errors[e]++;
	if (!first_error[0]) {
		va_start(ap, fmt);
		vsnprintf(first_error, sizeof(first_error), fmt, ap);
		va_end(ap);
	}
}

static unsigned long total_errors(void)
{
	unsigned long n = 0;

	for (int i = 0; i < N_ERR; i++)
		n += errors[i];
	return n;
}

static void print_errors(void)
{
	for (int i = 0; i < N_ERR; i++)
		printf(" err_%s=%lu", err_key[i], errors[i]);
	printf(" error_names=");
	if (!error_names[0].name[0])
		printf("-");
	for (size_t i = 0; i < MAX_ERROR_NAMES && error_names[i].name[0]; i++)
		printf("%s%s:%lu", i ? "," : "", error_names[i].name, error_names[i].n);
}

/* ---- latencies ---- */

static double *lat_ms;
static size_t n_lat, lat_alloc;

static void lat_add(double ms)
{
	if (n_lat == lat_alloc) {
		size_t n = lat_alloc ? lat_alloc * 2 : 1024;
		double *p = realloc(lat_ms, n * sizeof(*p));

		if (!p)
			die("out of memory");
		lat_ms = p;
		lat_alloc = n;
	}
	lat_ms[n_lat++] = ms;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted latencies; 0 when there are none. */
static double percentile(double p)
{
	size_t k;

	if (!n_lat)
		return 0;
	k = (size_t)(p / 100.0 * (double)n_lat + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n_lat)
		k = n_lat;
	return lat_ms[k - 1];
}

/* ---- connections ---- */

enum state {
	ST_IDLE,     /* waiting to (re)connect at wake_us */
	ST_SENDING,  /* the call (or the half message) is being written */
	ST_READING,  /* waiting for the reply */
	ST_HOLDING,  /* hold: message half sent, trickling or silent */
	ST_WAITING,  /* abandon: request sent, closing at wake_us */
	ST_FINISHED, /* done, no fd */
};

struct client {
	int fd;
	enum state state;
	unsigned done;	   /* calls finished (ok or failed) */
	uint64_t start_us; /* this call's start: connect (--reconnect, first) or send */
	uint64_t wake_us;  /* ST_IDLE: connect then; ST_HOLDING: next trickle byte;
			      ST_WAITING: close then */
	uint64_t connect_deadline_us;
	uint64_t connected_us;
	size_t sent;
	char *in;
	size_t in_len, in_alloc;
	uint32_t events;
	bool settled; /* hold: held a connection once, or lost or failed the first */
};

static struct client *clients;
static unsigned n_active; /* not ST_FINISHED */

/* hold: what happened to the connections */
static unsigned long held_connected, held_connect_failed, held_closed, held_replies;
static double *close_ms; /* how long the server kept each connection it closed */
static size_t n_close, close_alloc;

/* abandon */
static unsigned long ab_sent, ab_closed_early, ab_connect_failed;

static void set_events(struct client *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (c->fd < 0 || c->events == events)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	c->events = events;
}

static void client_close(struct client *c)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->events = 0;
	c->in_len = 0;
	c->sent = 0;
}

static void client_finish(struct client *c)
{
	client_close(c);
	if (c->state != ST_FINISHED) {
		c->state = ST_FINISHED;
		n_active--;
	}
}

/*
 * Try to connect now. Returns 1 connected (c->fd set, registered), 0 try again later
 * (backlog full), -errno refused.
 */
static int client_connect(struct client *c)
{
	struct epoll_event ev;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s (raise the file limit?)", strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;

		close(fd);
		/* A full backlog: AF_UNIX says EAGAIN for a non-blocking connect. */
		if (e == EAGAIN || e == EINPROGRESS)
			return 0;
		return -e;
	}
	ev = (struct epoll_event){.events = EPOLLOUT, .data.ptr = c};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	c->fd = fd;
	c->events = EPOLLOUT;
	c->sent = 0;
	c->in_len = 0;
	c->connected_us = now_us();
	return 1;
}

/* ---- status mode ---- */

static void status_next(struct client *c, uint64_t now);

/* One call is over (ok or not): next one, or finished. */
static void status_call_done(struct client *c, bool ok, uint64_t now)
{
	c->done++;
	if (!ok || opt.reconnect)
		client_close(c);
	if (c->done >= opt.requests) {
		client_finish(c);
		return;
	}
	status_next(c, now);
}

static void status_next(struct client *c, uint64_t now)
{
	c->start_us = now;
	c->connect_deadline_us = now + (uint64_t)opt.timeout_ms * 1000u;
	if (c->fd >= 0) {
		c->state = ST_SENDING;
		c->sent = 0;
		c->in_len = 0;
		set_events(c, EPOLLOUT);
		return;
	}
	c->state = ST_IDLE;
	c->wake_us = now;
}

/*
 * Replies already found proper, kept whole: a daemon that answers from a kept answer sends
 * the same bytes again and again, and parsing each (hundreds of KiB on a host with many
 * listeners) would make this one-threaded generator the bottleneck it measures.
 */
#define N_KNOWN 4
static struct {
	char *data;
	size_t len;
} known[N_KNOWN];
static unsigned known_next;

static bool reply_known(const char *msg, size_t len)
{
	for (unsigned i = 0; i < N_KNOWN; i++)
		if (known[i].data && known[i].len == len && memcmp(known[i].data, msg, len) == 0)
			return true;
	return false;
}

static void reply_remember(const char *msg, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		return;
	memcpy(copy, msg, len);
	free(known[known_next].data);
	known[known_next].data = copy;
	known[known_next].len = len;
	known_next = (known_next + 1) % N_KNOWN;
}

/* Check a complete reply (without its NUL). Returns true if it is a proper reply. */
static bool reply_ok(const char *msg, size_t len)
{
	json_error_t jerr;
	json_t *j, *params, *err;
	bool ok = false;

	if (reply_known(msg, len))
		return true;
	j = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!j) {
		count_error(ERR_BAD_REPLY, "reply is not JSON: %s", jerr.text);
		return false;
	}
	if (!json_is_object(j)) {
		count_error(ERR_BAD_REPLY, "reply is not a JSON object");
		goto out;
	}
	err = json_object_get(j, "error");
	if (err) {
		const char *name = json_is_string(err) ? json_string_value(err) : "(not a string)";

		note_error_name(name);
		count_error(ERR_ERROR, "error reply %s", name);
		goto out;
	}
	params = json_object_get(j, "parameters");
	if (!json_is_object(params)) {
		count_error(ERR_BAD_REPLY, "reply without parameters");
		goto out;
	}
	if (json_is_true(json_object_get(j, "continues"))) {
		count_error(ERR_BAD_REPLY,
			    "reply says continues, but the call did not ask for more");
		goto out;
	}
	if (strcmp(opt.method, "io.portcheck.Status") == 0 &&
	    (json_integer_value(json_object_get(params, "version")) != 2 ||
	     !json_is_array(json_object_get(params, "listeners")) ||
	     !json_is_array(json_object_get(params, "sources")))) {
		count_error(ERR_BAD_REPLY, "Status reply without version 2, sources and listeners");
		goto out;
	}
	ok = true;
	reply_remember(msg, len);
out:
	json_decref(j);
	return ok;
}

/* Read what is there; returns 1 when a whole reply was handled, 0 for more, -1 failed. */
static int client_read_reply(struct client *c, uint64_t now)
{
	for (;;) {
		ssize_t n;
		char *nul;

		if (c->in_alloc - c->in_len < 65536) {
			size_t a = c->in_alloc ? c->in_alloc * 2 : 131072;
			char *p;

			if (a > MAX_REPLY + 65536)
				a = MAX_REPLY + 65536;
			if (a <= c->in_len) {
				count_error(ERR_BAD_REPLY, "reply larger than %zu bytes",
					    MAX_REPLY);
				return -1;
			}
			p = realloc(c->in, a);
			if (!p)
				die("out of memory");
			c->in = p;
			c->in_alloc = a;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_alloc - c->in_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			count_error(ERR_RESET, "reading the reply: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			count_error(ERR_CLOSED, "the server closed the connection %s",
				    c->in_len ? "in the middle of a reply" : "without a reply");
			return -1;
		}
		nul = memchr(c->in + c->in_len, '\0', (size_t)n);
		c->in_len += (size_t)n;
		if (!nul)
			continue;
		if ((size_t)(nul - c->in) + 1 != c->in_len) {
			count_error(ERR_BAD_REPLY, "more than one reply to one call");
			return -1;
		}
		if (!reply_ok(c->in, (size_t)(nul - c->in)))
			return -1;
		lat_add((double)(now - c->start_us) / 1000.0);
		return 1;
	}
}

static void status_event(struct client *c, uint32_t events, uint64_t now)
{
	if (c->state == ST_SENDING && (events & EPOLLOUT)) {
		while (c->sent < request_len) {
			ssize_t n = send(c->fd, request + c->sent, request_len - c->sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				count_error(ERR_RESET, "sending the call: %s", strerror(errno));
				status_call_done(c, false, now);
				return;
			}
			c->sent += (size_t)n;
		}
		c->state = ST_READING;
		c->in_len = 0;
		set_events(c, EPOLLIN);
		return;
	}
	if (c->state == ST_READING && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		int r = client_read_reply(c, now);

		if (r != 0)
			status_call_done(c, r > 0, now);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		count_error(ERR_CLOSED,
			    "the server closed the connection before the call was sent");
		status_call_done(c, false, now);
	}
}

static void status_timers(struct client *c, uint64_t now)
{
	if (c->state == ST_IDLE && now >= c->wake_us) {
		int r = client_connect(c);

		if (r > 0) {
			c->state = ST_SENDING;
		} else if (r == 0) {
			if (now >= c->connect_deadline_us) {
				count_error(ERR_CONNECT,
					    "connect: the server's backlog stayed full");
				status_call_done(c, false, now);
			} else {
				c->wake_us = now + CONNECT_RETRY_MS * 1000u;
			}
		} else {
			count_error(ERR_REFUSED, "connect: %s", strerror(-r));
			status_call_done(c, false, now);
		}
		return;
	}
	if ((c->state == ST_SENDING || c->state == ST_READING) &&
	    now >= c->start_us + (uint64_t)opt.timeout_ms * 1000u) {
		count_error(ERR_TIMEOUT, "no reply within %u ms", opt.timeout_ms);
		status_call_done(c, false, now);
	}
}

/* ---- hold mode ---- */

static const char half_message[] = "{\"method\":\"io.portcheck.Status\",\"parameters\":{\"pad\":\"";

static void hold_closed(struct client *c, uint64_t now)
{
	held_closed++;
	c->settled = true;
	if (n_close < close_alloc)
		close_ms[n_close++] = (double)(now - c->connected_us) / 1000.0;
	if (opt.reconnect_ms) {
		/* A persistent attacker: take another connection in a moment. */
		client_close(c);
		c->state = ST_IDLE;
		c->wake_us = now + (uint64_t)opt.reconnect_ms * 1000u;
		c->connect_deadline_us = c->wake_us + (uint64_t)opt.timeout_ms * 1000u;
		return;
	}
	client_finish(c);
}

static void hold_event(struct client *c, uint32_t events, uint64_t now)
{
	if (c->state == ST_SENDING && (events & EPOLLOUT)) {
		size_t len = opt.empty ? 0 : sizeof(half_message) - 1;

		while (c->sent < len) {
			ssize_t n = send(c->fd, half_message + c->sent, len - c->sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				hold_closed(c, now);
				return;
			}
			c->sent += (size_t)n;
		}
		c->state = ST_HOLDING;
		c->settled = true;
		c->wake_us = opt.trickle_ms ? now + (uint64_t)opt.trickle_ms * 1000u : UINT64_MAX;
		set_events(c, EPOLLIN | EPOLLRDHUP);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		/* The server says something (an error such as Busy) or hangs up. */
		char buf[4096];
		ssize_t n;

		for (;;) {
			char *nul;

			n = recv(c->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
			if (n <= 0)
				break;
			buf[n] = '\0';
			nul = memchr(buf, '\0', (size_t)n);
			if (nul && nul != buf) {
				json_t *j = json_loadb(buf, (size_t)(nul - buf), 0, NULL);
				const char *name = json_string_value(json_object_get(j, "error"));

				note_error_name(name ? name : "(not an error reply)");
				json_decref(j);
				held_replies++;
			}
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		    (events & (EPOLLHUP | EPOLLERR)))
			hold_closed(c, now);
	}
}

static void hold_timers(struct client *c, uint64_t now)
{
	if (c->state == ST_IDLE && now >= c->wake_us) {
		int r = client_connect(c);

		if (r > 0) {
			held_connected++;
			c->state = ST_SENDING;
		} else if (r == 0 && now < c->connect_deadline_us) {
			c->wake_us = now + CONNECT_RETRY_MS * 1000u;
		} else {
			held_connect_failed++;
			c->settled = true;
			if (opt.reconnect_ms) {
				c->wake_us = now + (uint64_t)opt.reconnect_ms * 1000u;
				c->connect_deadline_us =
				    c->wake_us + (uint64_t)opt.timeout_ms * 1000u;
			} else {
				client_finish(c);
			}
		}
		return;
	}
	if (c->state == ST_HOLDING && now >= c->wake_us) {
		/* One more byte of a string that never ends: the message stays incomplete. */
		if (send(c->fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN &&
		    errno != EINTR) {
			hold_closed(c, now);
			return;
		}
		c->wake_us = now + (uint64_t)opt.trickle_ms * 1000u;
	}
}

/* ---- abandon mode ---- */

static void abandon_event(struct client *c, uint32_t events, uint64_t now)
{
	if (c->state == ST_SENDING && (events & EPOLLOUT)) {
		while (c->sent < request_len) {
			ssize_t n = send(c->fd, request + c->sent, request_len - c->sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				ab_closed_early++;
				client_finish(c);
				return;
			}
			c->sent += (size_t)n;
		}
		ab_sent++;
		c->state = ST_WAITING;
		c->wake_us =
		    now + (uint64_t)opt.close_after_ms * 1000u +
		    (opt.spread_ms ? (uint64_t)(random() % (opt.spread_ms + 1)) * 1000u : 0);
		/* Wait for nothing: the reply is never read. (Hangups are still reported.) */
		set_events(c, 0);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		ab_closed_early++;
		client_finish(c);
	}
}

static void abandon_timers(struct client *c, uint64_t now)
{
	if (c->state == ST_IDLE && now >= c->wake_us) {
		int r = client_connect(c);

		if (r > 0)
			c->state = ST_SENDING;
		else if (r == 0 && now < c->connect_deadline_us)
			c->wake_us = now + CONNECT_RETRY_MS * 1000u;
		else {
			ab_connect_failed++;
			client_finish(c);
		}
		return;
	}
	if (c->state == ST_WAITING && now >= c->wake_us)
		client_finish(c); /* close without reading */
}

/* ---- the loop ---- */

static uint64_t next_wake(const struct client *c)
{
	switch (c->state) {
	case ST_IDLE:
	case ST_WAITING:
		return c->wake_us;
	case ST_HOLDING:
		return opt.trickle_ms ? c->wake_us : UINT64_MAX;
	case ST_SENDING:
	case ST_READING:
		return opt.mode == MODE_STATUS ? c->start_us + (uint64_t)opt.timeout_ms * 1000u
					       : UINT64_MAX;
	case ST_FINISHED:
		break;
	}
	return UINT64_MAX;
}

/* Returns false when the run deadline passed with clients still active. */
static bool run_loop(uint64_t end_us)
{
	struct epoll_event events[256];
	bool ready_announced = opt.mode != MODE_HOLD;

	while (n_active > 0) {
		uint64_t now = now_us(), wake = end_us;
		int n, timeout;

		if (now >= end_us || stop_requested)
			return false;
		for (unsigned i = 0; i < opt.clients; i++) {
			uint64_t w = next_wake(&clients[i]);

			if (w < wake)
				wake = w;
		}
		timeout = wake <= now ? 0 : (int)((wake - now + 999) / 1000);
		n = epoll_wait(epfd, events, 256, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		now = now_us();
		for (int i = 0; i < n; i++) {
			struct client *c = events[i].data.ptr;

			if (c->fd < 0)
				continue;
			switch (opt.mode) {
			case MODE_STATUS:
				status_event(c, events[i].events, now);
				break;
			case MODE_HOLD:
				hold_event(c, events[i].events, now);
				break;
			case MODE_ABANDON:
				abandon_event(c, events[i].events, now);
				break;
			}
		}
		now = now_us();
		for (unsigned i = 0; i < opt.clients; i++) {
			struct client *c = &clients[i];

			switch (opt.mode) {
			case MODE_STATUS:
				status_timers(c, now);
				break;
			case MODE_HOLD:
				hold_timers(c, now);
				break;
			case MODE_ABANDON:
				abandon_timers(c, now);
				break;
			}
		}
		if (!ready_announced) {
			bool settled = true;

			for (unsigned i = 0; i < opt.clients && settled; i++)
				settled = clients[i].settled;
			if (settled) {
				ready_announced = true;
				printf(
				    "ready connected=%lu connect_failed=%lu closed_by_server=%lu\n",
				    held_connected, held_connect_failed, held_closed);
				fflush(stdout);
				if (opt.ready_file) {
					FILE *f = fopen(opt.ready_file, "we");

					if (!f || fclose(f) != 0)
						die("cannot create %s: %s", opt.ready_file,
						    strerror(errno));
				}
			}
		}
		if (opt.mode == MODE_HOLD && opt.until_closed &&
		    held_closed + held_connect_failed == opt.clients)
			break;
	}
	return true;
}

static void clients_init(void)
{
	uint64_t now = now_us();

	for (unsigned i = 0; i < opt.clients; i++) {
		struct client *c = &clients[i];

		client_close(c);
		free(c->in);
		*c = (struct client){.fd = -1, .state = ST_IDLE, .wake_us = now};
		c->start_us = now;
		c->connect_deadline_us = now + (uint64_t)opt.timeout_ms * 1000u;
	}
	n_active = opt.clients;
}

/* ---- setup ---- */

static void raise_file_limit(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		/* Root (CAP_SYS_RESOURCE) may raise the hard limit too. */
		if (setrlimit(RLIMIT_NOFILE, &(struct rlimit){want, want}) == 0)
			return;
		die("need %llu file descriptors, the hard limit is %llu", (unsigned long long)want,
		    (unsigned long long)rl.rlim_max);
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit: %s", strerror(errno));
}

/* NAME, or a numeric uid (with the gid of the same number: it needs no passwd entry). */
static void drop_to_user(const char *name)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(name, &end, 10);
	if (*name && !*end && !errno && n > 0 && n < 4294967295ul) {
		uid = (uid_t)n;
		gid = (gid_t)n;
	} else {
		pw = getpwnam(name);
		if (!pw)
			die("no user %s", name);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		die("cannot become %s: %s", name, strerror(errno));
	if (getuid() != uid || geteuid() != uid)
		die("still not %s", name);
}

static unsigned parse_uint(const char *s, const char *what, unsigned min, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("%s: want a number from %u to %u, not '%s'", what, min, max, s);
	return (unsigned)v;
}

static void usage(FILE *f)
{
	fputs(
	    "usage: portcheck-load --socket PATH status [-c CLIENTS] [-n REQUESTS] [--reconnect]\n"
	    "       portcheck-load --socket PATH hold [-c CLIENTS] [--trickle MS] [--hold "
	    "SECONDS]\n"
	    "                      [--empty] [--reconnect-ms MS] [--until-closed] [--ready-file "
	    "PATH]\n"
	    "       portcheck-load --socket PATH abandon [-c CLIENTS] [--close-after MS] [--spread "
	    "MS]\n"
	    "                      [--rounds N]\n"
	    "common: [--method NAME] [--parameters JSON] [--user NAME|UID]\n"
	    "        [--timeout MS (per call, default 5000)]\n"
	    "        [--deadline SECONDS (whole run, default 120)] [--quiet]\n",
	    f);
}

static void parse_args(int argc, char **argv)
{
	static const struct option options[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"clients", required_argument, NULL, 'c'},
	    {"requests", required_argument, NULL, 'n'},
	    {"reconnect", no_argument, NULL, 'R'},
	    {"method", required_argument, NULL, 'm'},
	    {"parameters", required_argument, NULL, 'p'},
	    {"timeout", required_argument, NULL, 't'},
	    {"deadline", required_argument, NULL, 'd'},
	    {"user", required_argument, NULL, 'u'},
	    {"trickle", required_argument, NULL, 'T'},
	    {"hold", required_argument, NULL, 'H'},
	    {"until-closed", no_argument, NULL, 'U'},
	    {"ready-file", required_argument, NULL, 'r'},
	    {"spread", required_argument, NULL, 'S'},
	    {"rounds", required_argument, NULL, 'N'},
	    {"close-after", required_argument, NULL, 'A'},
	    {"reconnect-ms", required_argument, NULL, 'C'},
	    {"empty", no_argument, NULL, 'E'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *mode;
	int c;

	while ((c = getopt_long(argc, argv, "c:n:h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			opt.socket_path = optarg;
			break;
		case 'c':
			opt.clients = parse_uint(optarg, "--clients", 1, MAX_CLIENTS);
			break;
		case 'n':
			opt.requests = parse_uint(optarg, "--requests", 1, 1000000);
			break;
		case 'R':
			opt.reconnect = true;
			break;
		case 'm':
			opt.method = optarg;
			break;
		case 'p':
			opt.parameters = optarg;
			break;
		case 't':
			opt.timeout_ms = parse_uint(optarg, "--timeout", 1, 3600000);
			break;
		case 'd':
			opt.deadline_s = parse_uint(optarg, "--deadline", 1, 86400);
			break;
		case 'u':
			opt.user = optarg;
			break;
		case 'T':
			opt.trickle_ms = parse_uint(optarg, "--trickle", 1, 3600000);
			break;
		case 'H':
			opt.hold_s = parse_uint(optarg, "--hold", 1, 86400);
			break;
		case 'U':
			opt.until_closed = true;
			break;
		case 'r':
			opt.ready_file = optarg;
			break;
		case 'S':
			opt.spread_ms = parse_uint(optarg, "--spread", 0, 600000);
			break;
		case 'E':
			opt.empty = true;
			break;
		case 'C':
			opt.reconnect_ms = parse_uint(optarg, "--reconnect-ms", 1, 3600000);
			break;
		case 'A':
			opt.close_after_ms = parse_uint(optarg, "--close-after", 0, 600000);
			break;
		case 'N':
			opt.rounds = parse_uint(optarg, "--rounds", 1, 1000);
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		exit(2);
	}
	mode = argv[optind];
	if (strcmp(mode, "status") == 0)
		opt.mode = MODE_STATUS;
	else if (strcmp(mode, "hold") == 0)
		opt.mode = MODE_HOLD;
	else if (strcmp(mode, "abandon") == 0)
		opt.mode = MODE_ABANDON;
	else
		die("unknown mode '%s' (status, hold, abandon)", mode);
	if (!opt.socket_path)
		die("--socket PATH is required");
	if (strlen(opt.socket_path) >= sizeof(addr.sun_path))
		die("socket path too long");
	strcpy(addr.sun_path, opt.socket_path);
}

static void build_request(void)
{
	json_error_t jerr;
	json_t *params = json_loads(opt.parameters, 0, &jerr), *call;
	char *s;

	if (!json_is_object(params))
		die("--parameters: not a JSON object: %s", params ? opt.parameters : jerr.text);
	call = json_pack("{s:s,s:o}", "method", opt.method, "parameters", params);
	if (!call)
		die("out of memory");
	s = json_dumps(call, JSON_COMPACT);
	json_decref(call);
	if (!s)
		die("out of memory");
	request_len = strlen(s) + 1; /* the NUL terminates the message */
	request = s;
}

int main(int argc, char **argv)
{
	uint64_t t0, t1, end_us;
	unsigned long unfinished = 0;
	unsigned open_at_end;
	bool finished;

	parse_args(argc, argv);
	build_request();
	signal(SIGPIPE, SIG_IGN);
	{
		/* No SA_RESTART: epoll_wait returns EINTR and the loop sees the request. */
		struct sigaction sa = {.sa_handler = on_stop};

		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	raise_file_limit((rlim_t)opt.clients + 64);
	if (opt.user)
		drop_to_user(opt.user);
	srandom((unsigned)getpid() ^ (unsigned)now_us());

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	clients = calloc(opt.clients, sizeof(*clients));
	close_alloc = opt.clients * 64u;
	close_ms = calloc(close_alloc, sizeof(*close_ms));
	if (!clients || !close_ms)
		die("out of memory");
	for (unsigned i = 0; i < opt.clients; i++)
		clients[i].fd = -1;

	t0 = now_us();
	switch (opt.mode) {
	case MODE_STATUS: {
		double elapsed;

		end_us = t0 + (uint64_t)opt.deadline_s * 1000000u;
		clients_init();
		finished = run_loop(end_us);
		t1 = now_us();
		/* Whatever is still running at the deadline failed; when stopped by a signal,
		 * the calls not made (and the ones in flight) are only not done. */
		for (unsigned i = 0; i < opt.clients; i++) {
			struct client *c = &clients[i];

			if (c->state == ST_FINISHED)
				continue;
			if (stop_requested) {
				unfinished += opt.requests - c->done;
			} else {
				errors[ERR_TIMEOUT] += opt.requests - c->done;
				if (!first_error[0])
					snprintf(first_error, sizeof(first_error),
						 "the run's deadline passed");
			}
			client_finish(c);
		}
		qsort(lat_ms, n_lat, sizeof(*lat_ms), cmp_double);
		elapsed = (double)(t1 - t0) / 1e6;
		if (!opt.quiet) {
			printf("%u clients x %u calls of %s%s: %zu ok, %lu errors in %.2f s "
			       "(%.0f calls/s)%s\n",
			       opt.clients, opt.requests, opt.method,
			       opt.reconnect ? " (a connection per call)" : "", n_lat,
			       total_errors(), elapsed, (double)n_lat / elapsed,
			       stop_requested ? "; stopped by a signal" : "");
			printf("latency of good replies: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, "
			       "max %.1f ms\n",
			       percentile(50), percentile(90), percentile(99),
			       n_lat ? lat_ms[n_lat - 1] : 0.0);
			if (first_error[0])
				printf("first error: %s\n", first_error);
		}
		printf("RESULT mode=status clients=%u requests=%u calls=%lu ok=%zu errors=%lu "
		       "p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f elapsed_s=%.2f "
		       "finished=%d stopped=%d unfinished=%lu",
		       opt.clients, opt.requests, (unsigned long)opt.clients * opt.requests, n_lat,
		       total_errors(), percentile(50), percentile(90), percentile(99),
		       n_lat ? lat_ms[n_lat - 1] : 0.0, elapsed, finished, stop_requested != 0,
		       unfinished);
		print_errors();
		printf("\n");
		/* Stopped early: only errors count; otherwise every call must have succeeded. */
		if (stop_requested)
			return total_errors() ? 1 : 0;
		return total_errors() || n_lat != (size_t)opt.clients * opt.requests ? 1 : 0;
	}
	case MODE_HOLD: {
		end_us = t0 + (uint64_t)opt.hold_s * 1000000u;
		clients_init();
		(void)run_loop(end_us);
		t1 = now_us();
		open_at_end = 0;
		for (unsigned i = 0; i < opt.clients; i++)
			open_at_end +=
			    clients[i].state == ST_HOLDING || clients[i].state == ST_SENDING;
		qsort(close_ms, n_close, sizeof(*close_ms), cmp_double);
		if (!opt.quiet)
			printf("%u connections with half a message%s: %lu connected, %lu could not "
			       "connect, %lu closed by the server (%lu with a reply), %u still "
			       "open after %.1f s\n",
			       opt.clients, opt.trickle_ms ? " (trickling)" : "", held_connected,
			       held_connect_failed, held_closed, held_replies, open_at_end,
			       (double)(t1 - t0) / 1e6);
		printf("RESULT mode=hold clients=%u trickle_ms=%u connected=%lu connect_failed=%lu "
		       "closed_by_server=%lu replies=%lu open_at_end=%u elapsed_s=%.1f "
		       "first_close_ms=%.0f median_close_ms=%.0f last_close_ms=%.0f",
		       opt.clients, opt.trickle_ms, held_connected, held_connect_failed,
		       held_closed, held_replies, open_at_end, (double)(t1 - t0) / 1e6,
		       n_close ? close_ms[0] : -1.0, n_close ? close_ms[n_close / 2] : -1.0,
		       n_close ? close_ms[n_close - 1] : -1.0);
		print_errors();
		printf("\n");
		for (unsigned i = 0; i < opt.clients; i++)
			client_close(&clients[i]);
		return 0;
	}
	case MODE_ABANDON: {
		end_us = t0 + (uint64_t)opt.deadline_s * 1000000u;
		finished = true;
		for (unsigned round = 0; round < opt.rounds && finished; round++) {
			clients_init();
			finished = run_loop(end_us);
		}
		t1 = now_us();
		if (!opt.quiet)
			printf("%u rounds of %u clients that send %s and close without reading: "
			       "%lu sent, %lu closed by the server first, %lu could not connect, "
			       "%.1f s\n",
			       opt.rounds, opt.clients, opt.method, ab_sent, ab_closed_early,
			       ab_connect_failed, (double)(t1 - t0) / 1e6);
		printf("RESULT mode=abandon clients=%u rounds=%u sent=%lu closed_by_server=%lu "
		       "connect_failed=%lu elapsed_s=%.1f finished=%d\n",
		       opt.clients, opt.rounds, ab_sent, ab_closed_early, ab_connect_failed,
		       (double)(t1 - t0) / 1e6, finished);
		for (unsigned i = 0; i < opt.clients; i++)
			client_close(&clients[i]);
		return finished ? 0 : 1;
	}
	}
	return 2;
}
