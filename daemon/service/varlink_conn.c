/* SPDX-License-Identifier: MIT */
/*
 * A Varlink connection's life: accepted (or refused), driven by its epoll events, closed,
 * and freed once no event of the batch can point at it any more. See
 * varlink_server_internal.h for how the server is split.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <syslog.h>
#include <unistd.h>

#include "portcheck/util.h"
#include "varlink_server_internal.h"

int conn_new(struct pc_server *s, int fd)
{
	_cleanup_close_ int fd_owned = fd;
	struct epoll_event ev;
	struct pc_peer peer;
	struct conn *c;
	int r;

	r = pc_peer_read(fd, &peer);
	if (r < 0)
		return r;

	/* Root's own requests are always served; everyone else shares what is left. */
	if (peer.uid != 0 && server_user_count(s, peer.uid) >= s->cfg.max_connections_per_user) {
		server_log_refusal(s, "per-user connection limit reached", peer.uid);
		pc_peer_clear(&peer);
		return 0;
	}
	if (s->n_conns >= s->cfg.max_connections && !server_make_room(s, peer.uid)) {
		server_log_refusal(s, "connection limit reached", peer.uid);
		pc_peer_clear(&peer);
		return 0;
	}

	c = calloc(1, sizeof(*c));
	if (!c || server_user_add(s, peer.uid) < 0) {
		free(c);
		pc_peer_clear(&peer);
		return -ENOMEM;
	}
	c->src.kind = SOURCE_CONN;
	c->server = s;
	c->id = ++s->next_id;
	c->fd = fd;
	c->peer = peer;
	c->events = EPOLLIN;
	pc_varlink_buf_init(&c->in, s->cfg.max_request_size);

	ev = (struct epoll_event){.events = c->events, .data.ptr = &c->src};
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		server_user_remove(s, peer.uid);
		pc_peer_clear(&c->peer);
		free(c);
		return r;
	}
	c->in_epoll = true;
	fd_owned = -1;

	conn_idle_append(c);
	s->n_conns++;
	c->last_active_ms = pc_now_ms();

	conn_log(c, LOG_DEBUG, "connected");
	return 0;
}

static void conn_epoll_remove(struct conn *c)
{
	/* Explicitly: closing removes it only with the last reference to the socket, and a
	 * child process of the embedding program (the daemon's background analysis) may
	 * briefly hold a copy; the set would then keep reporting events for it. */
	if (c->in_epoll)
		(void)epoll_ctl(c->server->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	c->in_epoll = false;
}

/*
 * Close @c: out of every list and the epoll set, the socket closed, its deferred call's
 * owner told. The memory is freed only after the current batch of events
 * (server_reap), because a later event of the same batch may point at it: events are
 * dispatched from an array epoll_wait filled before any of them ran.
 */
void conn_kill(struct conn *c)
{
	struct pc_server *s = c->server;
	struct pc_varlink_deferred *d = c->pending;

	if (c->dead)
		return;
	c->dead = true;
	conn_idle_unlink(c);
	partial_unlink(c);
	s->n_conns--;
	server_user_remove(s, c->peer.uid);
	conn_epoll_remove(c);
	close(c->fd);
	c->fd = -1;
	c->next_dead = s->dead;
	s->dead = c;
	if (d) {
		c->pending = NULL;
		d->conn = NULL;
		/* The owner may cancel the work; it must not free anything the loop is
		 * using (it runs inside event dispatch). */
		if (d->gone)
			d->gone(d->gone_userdata);
	}
	/* A slot (or a file descriptor) is free again. */
	server_accept_resume(s);
}

static void conn_free(struct conn *c)
{
	pc_varlink_buf_clear(&c->in);
	pc_varlink_blob_unref(c->blob);
	free(c->out);
	pc_peer_clear(&c->peer);
	free(c);
}

/* Free the connections closed during the last batch of events. */
void server_reap(struct pc_server *s)
{
	while (s->dead) {
		struct conn *c = s->dead;

		s->dead = c->next_dead;
		conn_free(c);
	}
}

/* Register the events the connection waits for now. Returns 1 if it stays open, 0 when
 * it is finished (everything sent, nothing more to read), -errno on failure. */
static int conn_update(struct conn *c)
{
	bool pending = conn_unsent(c) > 0;
	uint32_t events;

	if (c->dead)
		return 1;
	partial_update(c);
	if (!pending && !c->deferred && (c->closing || c->read_eof))
		return 0;
	if (c->peer_gone) {
		/* Only a oneway call's work is awaited; the socket has nothing more to say
		 * and would report its hangup on every wait. */
		conn_epoll_remove(c);
		return 1;
	}
	/* While a reply is unsent, read nothing more: a client that sends but does not
	 * read stalls only itself, and its input stays bounded by one request. While it is
	 * being computed (deferred), wait for nothing: hangups are reported anyway. */
	events = pending ? EPOLLOUT : c->deferred ? 0 : EPOLLIN;
	if (events != c->events) {
		struct epoll_event ev = {.events = events, .data.ptr = &c->src};

		if (epoll_ctl(c->server->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return -errno;
		c->events = events;
	}
	return 1;
}

/*
 * After I/O on @c (@r: its outcome so far): handle what is buffered, send, register the
 * next wait; or close the connection when it is finished or failed.
 */
void conn_continue(struct conn *c, int r)
{
	if (c->dead)
		return;
	if (r >= 0)
		r = conn_process(c);
	if (r >= 0)
		r = conn_update(c);
	if (r < 0 && r != -ENOBUFS && r != -EPIPE && r != -ECONNRESET)
		conn_log(c, LOG_WARNING, "dropped: %s", strerror(-r));
	if (r <= 0) {
		if (r == 0)
			conn_log(c, LOG_DEBUG, "finished");
		conn_kill(c);
	}
}

/* The peer hung up (or the socket failed). */
static void conn_hangup(struct conn *c)
{
	int r = 0;

	/* Nobody is left to receive the answer being computed: drop it (its owner is
	 * told, and may cancel the work). */
	if (c->deferred && !c->deferred_oneway) {
		conn_log(c, LOG_DEBUG, "closed by peer while its reply was being computed");
		conn_kill(c);
		return;
	}
	c->peer_gone = true;
	pc_varlink_blob_unref(c->blob);
	c->blob = NULL;
	c->blob_sent = c->out_size = c->out_sent = 0;
	/* What it sent before hanging up may hold oneway calls: read it, bounded by one
	 * request's size (more is a protocol error anyway). */
	for (int i = 0; r >= 0 && !c->read_eof && i <= (int)(c->in.max / READ_CHUNK) + 1; i++)
		r = conn_read(c);
	c->read_eof = true;
	conn_continue(c, r);
}

void conn_event(struct conn *c, uint32_t events)
{
	int r = 0;

	if (events & (EPOLLERR | EPOLLHUP)) {
		conn_hangup(c);
		return;
	}
	if (events & EPOLLOUT)
		r = conn_flush(c);
	if (r >= 0 && (events & EPOLLIN))
		r = conn_read(c);
	conn_continue(c, r);
}
