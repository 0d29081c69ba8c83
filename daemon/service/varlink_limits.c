/* SPDX-License-Identifier: MIT */
/*
 * The Varlink server's limits: connections per user and in all (refusing, or evicting to
 * make room), the idle and message deadlines, and the backoff of accept() when out of
 * file descriptors. See varlink_server_internal.h for how the server is split.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <syslog.h>

#include "portcheck/util.h"
#include "varlink_server_internal.h"

/* Refusals are logged at most once per REJECT_LOG_INTERVAL_MS, with how many there were:
 * a flood of them must not flood the journal. */
void server_log_refusal(struct pc_server *s, const char *why, uid_t uid)
{
	uint64_t now = pc_now_ms();

	s->n_rejected++;
	if (s->rejected_logged_ms != 0 && now - s->rejected_logged_ms < REJECT_LOG_INTERVAL_MS)
		return;
	varlink_log(s, LOG_WARNING, "%u connection(s) refused, the last from uid %u: %s",
		    s->n_rejected, (unsigned)uid, why);
	s->n_rejected = 0;
	s->rejected_logged_ms = now;
}

/* ---- per-user accounting ---- */

static struct user_count *user_find(struct pc_server *s, uid_t uid)
{
	for (size_t i = 0; i < s->n_users; i++)
		if (s->users[i].uid == uid)
			return &s->users[i];
	return NULL;
}

unsigned server_user_count(struct pc_server *s, uid_t uid)
{
	struct user_count *u = user_find(s, uid);

	return u ? u->n : 0;
}

int server_user_add(struct pc_server *s, uid_t uid)
{
	struct user_count *u = user_find(s, uid);

	if (u) {
		u->n++;
		return 0;
	}
	if (s->n_users == s->users_alloc) {
		size_t n = s->users_alloc ? s->users_alloc * 2 : 16;
		struct user_count *p = reallocarray(s->users, n, sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->users = p;
		s->users_alloc = n;
	}
	s->users[s->n_users++] = (struct user_count){.uid = uid, .n = 1};
	return 0;
}

void server_user_remove(struct pc_server *s, uid_t uid)
{
	struct user_count *u = user_find(s, uid);

	if (!u)
		return;
	if (--u->n == 0)
		*u = s->users[--s->n_users];
}

/* ---- the connection lists ---- */

/* The link of @c at @offset: offsetof(struct conn, idle) or (..., partial). */
static struct conn_link *link_at(struct conn *c, size_t offset)
{
	return (struct conn_link *)((char *)c + offset);
}

static void list_unlink(struct conn_list *l, struct conn *c, size_t offset)
{
	struct conn_link *link = link_at(c, offset);

	if (link->prev)
		link_at(link->prev, offset)->next = link->next;
	else
		l->first = link->next;
	if (link->next)
		link_at(link->next, offset)->prev = link->prev;
	else
		l->last = link->prev;
	link->prev = link->next = NULL;
}

static void list_append(struct conn_list *l, struct conn *c, size_t offset)
{
	struct conn_link *link = link_at(c, offset);

	link->prev = l->last;
	link->next = NULL;
	if (l->last)
		link_at(l->last, offset)->next = c;
	l->last = c;
	if (!l->first)
		l->first = c;
}

/* Take @c out of the idle-order list (oldest activity first). */
void conn_idle_unlink(struct conn *c)
{
	list_unlink(&c->server->idle, c, offsetof(struct conn, idle));
}

void conn_idle_append(struct conn *c)
{
	list_append(&c->server->idle, c, offsetof(struct conn, idle));
}

/* Activity that counts against the idle timeout: a request taken or a reply sent. */
void conn_touch(struct conn *c)
{
	c->last_active_ms = pc_now_ms();
	if (c->server->idle.last == c)
		return;
	conn_idle_unlink(c);
	conn_idle_append(c);
}

void partial_unlink(struct conn *c)
{
	if (!c->partial_since_ms)
		return;
	list_unlink(&c->server->partial, c, offsetof(struct conn, partial));
	c->partial_since_ms = 0;
}

/*
 * Keep the message deadline in step with the input: a connection holding part of a
 * message has request_timeout_ms from the message's first byte to complete it, however
 * slowly the bytes trickle in.
 */
void partial_update(struct conn *c)
{
	/* Bytes after the last NUL: complete messages waiting their turn behind a
	 * deferred call do not count, and while the connection is not reading (a reply
	 * being computed or unsent) the clock is stopped. */
	bool partial = !c->dead && !c->deferred && conn_unsent(c) == 0 &&
		       pc_varlink_buf_pending(&c->in) > 0 && c->in.data[c->in.size - 1] != '\0';

	if (!partial) {
		partial_unlink(c);
		return;
	}
	if (c->partial_since_ms)
		return;
	c->partial_since_ms = pc_now_ms();
	list_append(&c->server->partial, c, offsetof(struct conn, partial));
}

/* ---- accepting ---- */

void server_accept_resume(struct pc_server *s)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->listen_src};

	if (!s->accept_paused)
		return;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev) == 0)
		s->accept_paused = false;
}

void server_accept_pause(struct pc_server *s)
{
	struct epoll_event ev = {.events = 0, .data.ptr = &s->listen_src};

	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev) == 0) {
		s->accept_paused = true;
		s->accept_resume_ms = pc_now_ms() + ACCEPT_RETRY_MS;
	}
}

/*
 * Make room for a connection of @uid when every slot is taken: the oldest idle
 * connection (no reply being computed) of the user holding the most connections among
 * those that hold more than @uid would after this one. Root is never the victim; a
 * user never evicts itself. Returns true if a slot is free.
 */
bool server_make_room(struct pc_server *s, uid_t uid)
{
	unsigned mine = uid == 0 ? 0 : server_user_count(s, uid) + 1, best_n = 0;
	struct conn *victim = NULL;

	for (struct conn *c = s->idle.first; c; c = c->idle.next) {
		unsigned n;

		if (c->peer.uid == 0 || c->peer.uid == uid || c->deferred)
			continue;
		n = server_user_count(s, c->peer.uid);
		/* Oldest first: the first evictable one of each user is its oldest. */
		if (n > mine && n > best_n) {
			victim = c;
			best_n = n;
		}
	}
	if (!victim)
		return false;
	/* Debug only: a flood of connections must not become a flood of log lines. */
	conn_log(victim, LOG_DEBUG, "closed to make room: uid %u holds %u connections",
		 (unsigned)victim->peer.uid, best_n);
	conn_kill(victim);
	return true;
}

void server_expire(struct pc_server *s)
{
	uint64_t now = pc_now_ms();

	while (s->idle.first && s->idle.first->last_active_ms + s->cfg.idle_timeout_ms <= now) {
		struct conn *c = s->idle.first;

		if (c->deferred) {
			/* Waiting for its reply is not idleness: the handler bounds it. */
			conn_touch(c);
			continue;
		}
		conn_log(c, LOG_INFO, "dropped after %u ms without a request",
			 s->cfg.idle_timeout_ms);
		conn_kill(c);
	}
	while (s->partial.first &&
	       s->partial.first->partial_since_ms + s->cfg.request_timeout_ms <= now) {
		struct conn *c = s->partial.first;

		conn_log(c, LOG_INFO, "dropped: a message not completed within %u ms",
			 s->cfg.request_timeout_ms);
		conn_kill(c);
	}
	if (s->accept_paused && now >= s->accept_resume_ms)
		server_accept_resume(s);
}

int server_next_timeout(const struct pc_server *s)
{
	uint64_t now = pc_now_ms(), deadline = UINT64_MAX;

	if (s->idle.first)
		deadline = s->idle.first->last_active_ms + s->cfg.idle_timeout_ms;
	if (s->partial.first &&
	    s->partial.first->partial_since_ms + s->cfg.request_timeout_ms < deadline)
		deadline = s->partial.first->partial_since_ms + s->cfg.request_timeout_ms;
	if (s->accept_paused && s->accept_resume_ms < deadline)
		deadline = s->accept_resume_ms;
	if (deadline == UINT64_MAX)
		return -1;
	if (deadline <= now)
		return 0;
	/* Round up so we do not wake a millisecond early and spin. */
	return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now) + 1;
}
