/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "portcheck/util.h"
#include "portcheck/varlink.h"
#include "portcheck/varlink_server.h"

#define DEFAULT_MAX_CONNECTIONS 512u
#define DEFAULT_MAX_CONNECTIONS_PER_USER 32u
#define DEFAULT_IDLE_TIMEOUT_MS 60000u
#define DEFAULT_REQUEST_TIMEOUT_MS 10000u
#define DEFAULT_MAX_REQUESTS 1000u
#define DEFAULT_MAX_OUTPUT PC_VARLINK_MAX_MESSAGE
#define READ_CHUNK 16384
#define MAX_EVENTS 64
/* Connections accepted per wakeup: a connect flood must not starve established ones. */
#define MAX_ACCEPTS_PER_WAKEUP 64
/* After EMFILE and friends, try accepting again after this long at the latest. */
#define ACCEPT_RETRY_MS 1000u
/* Rejections at the connection cap are logged at most this often. */
#define REJECT_LOG_INTERVAL_MS 10000u
/* Buffers larger than this are freed once empty, so idle connections stay small. */
#define KEEP_BUFFER 65536u

#define ORG_VARLINK_SERVICE "org.varlink.service"

const char pc_varlink_idl_org_varlink_service[] =
    "# The Varlink Service Interface is provided by every varlink service. It\n"
    "# describes the service and the interfaces it implements.\n"
    "interface org.varlink.service\n"
    "\n"
    "# Get a list of all the interfaces a service provides and information\n"
    "# about the implementation.\n"
    "method GetInfo() -> (\n"
    "  vendor: string,\n"
    "  product: string,\n"
    "  version: string,\n"
    "  url: string,\n"
    "  interfaces: []string\n"
    ")\n"
    "\n"
    "# Get the description of an interface that is implemented by this service.\n"
    "method GetInterfaceDescription(interface: string) -> (description: string)\n"
    "\n"
    "# The requested interface was not found.\n"
    "error InterfaceNotFound (interface: string)\n"
    "\n"
    "# The requested method was not found\n"
    "error MethodNotFound (method: string)\n"
    "\n"
    "# The interface defines the requested method, but the service does not\n"
    "# implement it.\n"
    "error MethodNotImplemented (method: string)\n"
    "\n"
    "# One of the passed parameters is invalid.\n"
    "error InvalidParameter (parameter: string)\n"
    "\n"
    "# Client is denied access\n"
    "error PermissionDenied ()\n"
    "\n"
    "# Method is expected to be called with 'more' set to true, but wasn't\n"
    "error ExpectedMore ()\n";

enum source_kind {
	SOURCE_LISTEN,
	SOURCE_SIGNAL,
	SOURCE_STOP,
	SOURCE_CONN,
	SOURCE_EXTERNAL,
};

/* What an epoll event points at. */
struct source {
	enum source_kind kind;
};

/* Connections per user, for the per-user cap and for choosing whom to evict. */
struct user_count {
	uid_t uid;
	unsigned n;
};

struct conn {
	struct source src; /* first: epoll data points here */
	struct pc_server *server;
	uint64_t id;
	int fd;
	struct pc_peer peer;
	struct pc_varlink_buf in;
	/* What is to be sent: a shared message first (a reply built once for many), then
	 * the connection's own buffer. */
	struct pc_varlink_blob *blob;
	size_t blob_sent;
	char *out;
	size_t out_size, out_alloc, out_sent;
	uint64_t last_active_ms;   /* the last request taken or reply sent: bytes do not count */
	uint64_t partial_since_ms; /* a message is being received since then; 0: none */
	unsigned n_requests;
	uint32_t events;	  /* registered with epoll */
	bool in_epoll;		  /* still in the epoll set */
	bool read_eof;		  /* the peer will send no more */
	bool peer_gone;		  /* the peer hung up: nothing can be sent any more */
	bool deferred;		  /* a handler will reply later (pc_server_reply_deferred) */
	bool deferred_oneway;	  /* ... to a oneway call: the reply is not sent */
	bool dispatching;	  /* inside its handler: a deferred reply is only queued */
	bool replied_in_dispatch; /* ... and that happened */
	int deferred_error;	  /* how queueing that reply failed, or 0 */
	bool closing;		  /* close once the output is flushed */
	bool dead;		  /* closed; freed after the current batch of events */
	struct pc_varlink_deferred *pending; /* the deferred call's token (not owned) */
	/* Doubly linked, least recently active first, for idle timeouts in O(1). */
	struct conn *prev, *next;
	/* Doubly linked, oldest unfinished message first, for the message deadline. */
	struct conn *pprev, *pnext;
	struct conn *next_dead;
};

/* An fd of the embedding program's (pc_server_add_fd). */
struct external {
	struct source src; /* first: epoll data points here */
	int fd;
	pc_server_fd_fn fn;
	void *userdata;
};

#define MAX_EXTERNAL 16

struct pc_server {
	struct pc_server_config cfg; /* defaults applied */
	struct external external[MAX_EXTERNAL];
	int listen_fd, epoll_fd, signal_fd;
	struct source listen_src, signal_src, stop_src;
	bool accept_paused;
	uint64_t accept_resume_ms;
	unsigned n_rejected;
	uint64_t rejected_logged_ms;
	struct conn *oldest, *newest;		      /* every live connection, by activity */
	struct conn *partial_oldest, *partial_newest; /* those receiving a message */
	struct conn *dead;			      /* closed, to be freed after the batch */
	size_t n_conns;
	struct user_count *users; /* one per uid with connections; unordered */
	size_t n_users, users_alloc;
	uint64_t next_id;
};

/* The promise of a deferred reply. Points at its connection while that is alive. */
struct pc_varlink_deferred {
	struct conn *conn; /* NULL once the connection has gone */
	bool oneway;
	pc_varlink_gone_fn gone;
	void *gone_userdata;
};

__attribute__((format(printf, 3, 4))) static void server_log(struct pc_server *s, int priority,
							     const char *fmt, ...)
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

#define conn_log(c, priority, fmt, ...)                                                            \
	server_log((c)->server, priority, "connection %" PRIu64 " (pid %d, uid %u): " fmt,         \
		   (c)->id, (int)(c)->peer.pid, (unsigned)(c)->peer.uid, ##__VA_ARGS__)

/* Refusals are logged at most once per REJECT_LOG_INTERVAL_MS, with how many there were:
 * a flood of them must not flood the journal. */
static void log_refusal(struct pc_server *s, const char *why, uid_t uid)
{
	uint64_t now = pc_now_ms();

	s->n_rejected++;
	if (s->rejected_logged_ms != 0 && now - s->rejected_logged_ms < REJECT_LOG_INTERVAL_MS)
		return;
	server_log(s, LOG_WARNING, "%u connection(s) refused, the last from uid %u: %s",
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

static unsigned user_connections(struct pc_server *s, uid_t uid)
{
	struct user_count *u = user_find(s, uid);

	return u ? u->n : 0;
}

static int user_add(struct pc_server *s, uid_t uid)
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

static void user_remove(struct pc_server *s, uid_t uid)
{
	struct user_count *u = user_find(s, uid);

	if (!u)
		return;
	if (--u->n == 0)
		*u = s->users[--s->n_users];
}

/* ---- connections ---- */

/* Take @c out of the idle-order list (oldest activity first). */
static void conn_unlink(struct conn *c)
{
	struct pc_server *s = c->server;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->oldest = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->newest = c->prev;
	c->prev = c->next = NULL;
}

static void conn_append(struct conn *c)
{
	struct pc_server *s = c->server;

	c->prev = s->newest;
	c->next = NULL;
	if (s->newest)
		s->newest->next = c;
	s->newest = c;
	if (!s->oldest)
		s->oldest = c;
}

/* Activity that counts against the idle timeout: a request taken or a reply sent. */
static void conn_touch(struct conn *c)
{
	c->last_active_ms = pc_now_ms();
	if (c->server->newest == c)
		return;
	conn_unlink(c);
	conn_append(c);
}

static size_t conn_unsent(const struct conn *c);

static void partial_unlink(struct conn *c)
{
	struct pc_server *s = c->server;

	if (!c->partial_since_ms)
		return;
	if (c->pprev)
		c->pprev->pnext = c->pnext;
	else
		s->partial_oldest = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	else
		s->partial_newest = c->pprev;
	c->pprev = c->pnext = NULL;
	c->partial_since_ms = 0;
}

/*
 * Keep the message deadline in step with the input: a connection holding part of a
 * message has request_timeout_ms from the message's first byte to complete it, however
 * slowly the bytes trickle in.
 */
static void partial_update(struct conn *c)
{
	struct pc_server *s = c->server;
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
	c->pprev = s->partial_newest;
	c->pnext = NULL;
	if (s->partial_newest)
		s->partial_newest->pnext = c;
	s->partial_newest = c;
	if (!s->partial_oldest)
		s->partial_oldest = c;
}

static void accept_resume(struct pc_server *s)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->listen_src};

	if (!s->accept_paused)
		return;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev) == 0)
		s->accept_paused = false;
}

static void accept_pause(struct pc_server *s)
{
	struct epoll_event ev = {.events = 0, .data.ptr = &s->listen_src};

	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev) == 0) {
		s->accept_paused = true;
		s->accept_resume_ms = pc_now_ms() + ACCEPT_RETRY_MS;
	}
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
static void conn_kill(struct conn *c)
{
	struct pc_server *s = c->server;
	struct pc_varlink_deferred *d = c->pending;

	if (c->dead)
		return;
	c->dead = true;
	conn_unlink(c);
	partial_unlink(c);
	s->n_conns--;
	user_remove(s, c->peer.uid);
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
	accept_resume(s);
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
static void server_reap(struct pc_server *s)
{
	while (s->dead) {
		struct conn *c = s->dead;

		s->dead = c->next_dead;
		conn_free(c);
	}
}

/*
 * Make room for a connection of @uid when every slot is taken: the oldest idle
 * connection (no reply being computed) of the user holding the most connections among
 * those that hold more than @uid would after this one. Root is never the victim; a
 * user never evicts itself. Returns true if a slot is free.
 */
static bool make_room(struct pc_server *s, uid_t uid)
{
	unsigned mine = uid == 0 ? 0 : user_connections(s, uid) + 1, best_n = 0;
	struct conn *victim = NULL;

	for (struct conn *c = s->oldest; c; c = c->next) {
		unsigned n;

		if (c->peer.uid == 0 || c->peer.uid == uid || c->deferred)
			continue;
		n = user_connections(s, c->peer.uid);
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

static int conn_new(struct pc_server *s, int fd)
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
	if (peer.uid != 0 && user_connections(s, peer.uid) >= s->cfg.max_connections_per_user) {
		log_refusal(s, "per-user connection limit reached", peer.uid);
		pc_peer_clear(&peer);
		return 0;
	}
	if (s->n_conns >= s->cfg.max_connections && !make_room(s, peer.uid)) {
		log_refusal(s, "connection limit reached", peer.uid);
		pc_peer_clear(&peer);
		return 0;
	}

	c = calloc(1, sizeof(*c));
	if (!c || user_add(s, peer.uid) < 0) {
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
		user_remove(s, peer.uid);
		pc_peer_clear(&c->peer);
		free(c);
		return r;
	}
	c->in_epoll = true;
	fd_owned = -1;

	conn_append(c);
	s->n_conns++;
	c->last_active_ms = pc_now_ms();

	conn_log(c, LOG_DEBUG, "connected");
	return 0;
}

int pc_varlink_call_defer(const struct pc_varlink_call *call, struct pc_varlink_deferred **ret)
{
	struct conn *c = call->conn;
	struct pc_varlink_deferred *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->conn = c;
	d->oneway = call->request->oneway;
	c->deferred = true;
	c->deferred_oneway = d->oneway;
	c->pending = d;
	*ret = d;
	return 0;
}

void pc_varlink_deferred_on_gone(struct pc_varlink_deferred *d, pc_varlink_gone_fn fn,
				 void *userdata)
{
	d->gone = fn;
	d->gone_userdata = userdata;
}

bool pc_varlink_deferred_alive(const struct pc_varlink_deferred *d)
{
	return d && d->conn;
}

void pc_varlink_deferred_free(struct pc_varlink_deferred *d)
{
	if (!d)
		return;
	if (d->conn)
		d->conn->pending = NULL;
	free(d);
}

static size_t conn_unsent(const struct conn *c)
{
	return (c->blob ? c->blob->len - c->blob_sent : 0) + (c->out_size - c->out_sent);
}

/* Append @len bytes to the connection's own output buffer. */
static int conn_append_out(struct conn *c, const char *data, size_t len)
{
	size_t pending = c->out_size - c->out_sent;

	if (c->out_sent > 0) {
		memmove(c->out, c->out + c->out_sent, pending);
		c->out_size = pending;
		c->out_sent = 0;
	}
	if (c->out_size + len > c->out_alloc) {
		char *p = realloc(c->out, c->out_size + len);

		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_alloc = c->out_size + len;
	}
	memcpy(c->out + c->out_size, data, len);
	c->out_size += len;
	return 0;
}

/* Queue a serialised message. The reference to @b is consumed. */
static int conn_queue_blob(struct conn *c, struct pc_varlink_blob *b)
{
	int r;

	if (c->peer_gone) {
		pc_varlink_blob_unref(b);
		return 0;
	}
	if (b->len > c->server->cfg.max_output - conn_unsent(c)) {
		conn_log(c, LOG_WARNING,
			 "dropped: %zu bytes of replies unsent, over the limit of %zu",
			 conn_unsent(c) + b->len, c->server->cfg.max_output);
		pc_varlink_blob_unref(b);
		return -ENOBUFS;
	}
	if (conn_unsent(c) == 0) {
		/* The common case: send from the shared message, no copy. */
		pc_varlink_blob_unref(c->blob);
		c->blob = b;
		c->blob_sent = 0;
		return 0;
	}
	r = conn_append_out(c, b->data, b->len);
	pc_varlink_blob_unref(b);
	return r;
}

/* Queue a message for sending. The reference to @msg is consumed. */
static int conn_queue(struct conn *c, json_t *msg)
{
	_cleanup_json_ json_t *m = msg;
	struct pc_varlink_blob *b;
	int r;

	if (!m)
		return -ENOMEM;
	r = pc_varlink_blob_new(m, &b);
	if (r < 0)
		return r;
	return conn_queue_blob(c, b);
}

static int send_some(struct conn *c, const char *p, size_t n, size_t *sent)
{
	while (*sent < n) {
		ssize_t w = send(c->fd, p + *sent, n - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		*sent += (size_t)w;
	}
	return 1;
}

/* Send as much as the socket takes now; never block. */
static int conn_flush(struct conn *c)
{
	int r;

	if (c->peer_gone || conn_unsent(c) == 0)
		return 0;
	if (c->blob) {
		r = send_some(c, c->blob->data, c->blob->len, &c->blob_sent);
		if (r <= 0)
			return r;
		pc_varlink_blob_unref(c->blob);
		c->blob = NULL;
		c->blob_sent = 0;
	}
	r = send_some(c, c->out, c->out_size, &c->out_sent);
	if (r <= 0)
		return r;
	c->out_sent = c->out_size = 0;
	if (c->out_alloc > KEEP_BUFFER) {
		free(c->out);
		c->out = NULL;
		c->out_alloc = 0;
	}
	/* A whole reply went out: that is activity. */
	conn_touch(c);
	return 0;
}

/* Reply with a protocol error and close once it is sent. */
static int conn_protocol_error(struct conn *c, const char *reason)
{
	conn_log(c, LOG_NOTICE, "protocol error: %s", reason);
	c->closing = true;
	return conn_queue(c,
			  pc_varlink_error_new_string(PC_VARLINK_ERROR_PROTOCOL, "reason", reason));
}

/* Read one chunk. Bytes alone are not activity: see partial_update. */
static int conn_read(struct conn *c)
{
	char buf[READ_CHUNK];
	ssize_t n;
	int r;

	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return -errno;
	}
	if (n == 0) {
		c->read_eof = true;
		return 0;
	}
	r = pc_varlink_buf_feed(&c->in, buf, (size_t)n);
	partial_update(c);
	return r;
}

/* ---- dispatch ---- */

static json_t *invalid_parameter(const char *name)
{
	return pc_varlink_error_new_string(PC_VARLINK_ERROR_INVALID_PARAMETER, "parameter", name);
}

static const struct pc_varlink_interface *find_interface(const struct pc_server *s,
							 const char *name)
{
	for (size_t i = 0; i < s->cfg.n_interfaces; i++)
		if (strcmp(s->cfg.interfaces[i].name, name) == 0)
			return &s->cfg.interfaces[i];
	return NULL;
}

static json_t *get_info(const struct pc_server *s, json_t *params)
{
	const char *key;
	json_t *v, *ifaces, *reply;

	json_object_foreach(params, key, v) return invalid_parameter(key);

	ifaces = json_array();
	if (!ifaces || json_array_append_new(ifaces, json_string(ORG_VARLINK_SERVICE)) < 0)
		goto fail;
	for (size_t i = 0; i < s->cfg.n_interfaces; i++)
		if (json_array_append_new(ifaces, json_string(s->cfg.interfaces[i].name)) < 0)
			goto fail;
	reply = json_pack("{s:s, s:s, s:s, s:s, s:o}", "vendor", s->cfg.vendor ?: "", "product",
			  s->cfg.product ?: "", "version", s->cfg.version ?: "", "url",
			  s->cfg.url ?: "", "interfaces", ifaces);
	/* json_pack() consumed ifaces, on failure too. */
	return reply ? pc_varlink_reply_new(reply, false) : NULL;
fail:
	json_decref(ifaces);
	return NULL;
}

static json_t *get_interface_description(const struct pc_server *s, json_t *params)
{
	const struct pc_varlink_interface *iface;
	const char *key, *name, *description;
	json_t *v;

	json_object_foreach(params, key,
			    v) if (strcmp(key, "interface") != 0) return invalid_parameter(key);
	v = json_object_get(params, "interface");
	if (!json_is_string(v))
		return invalid_parameter("interface");
	name = json_string_value(v);

	if (strcmp(name, ORG_VARLINK_SERVICE) == 0) {
		description = pc_varlink_idl_org_varlink_service;
	} else {
		iface = find_interface(s, name);
		if (!iface)
			return pc_varlink_error_new_string(PC_VARLINK_ERROR_INTERFACE_NOT_FOUND,
							   "interface", name);
		description = iface->description;
	}
	return pc_varlink_reply_new(json_pack("{s:s}", "description", description), false);
}

/*
 * Produce the reply to @req in *ret_reply. Returns 0, 1 when the handler deferred it, or
 * -errno when no reply could be built (out of memory, a handler failure).
 */
static int dispatch(struct conn *c, const struct pc_varlink_request *req, json_t **ret_reply)
{
	struct pc_server *s = c->server;
	const struct pc_varlink_method *method = NULL;
	bool builtin = strcmp(req->interface, ORG_VARLINK_SERVICE) == 0;
	json_t *reply;

	if (builtin) {
		if (strcmp(req->method, ORG_VARLINK_SERVICE ".GetInfo") != 0 &&
		    strcmp(req->method, ORG_VARLINK_SERVICE ".GetInterfaceDescription") != 0)
			goto not_found;
	} else {
		if (!find_interface(s, req->interface)) {
			reply = pc_varlink_error_new_string(PC_VARLINK_ERROR_INTERFACE_NOT_FOUND,
							    "interface", req->interface);
			goto done;
		}
		for (size_t i = 0; i < s->cfg.n_methods; i++)
			if (strcmp(s->cfg.methods[i].name, req->method) == 0)
				method = &s->cfg.methods[i];
		if (!method)
			goto not_found;
	}

	if (s->cfg.authorize && !s->cfg.authorize(&c->peer, req->method, s->cfg.userdata)) {
		/* Debug only: the embedding program logs refusals, rate-limited; a client
		 * repeating a refused call must not flood the journal. */
		conn_log(c, LOG_DEBUG, "%s: permission denied", req->method);
		reply = pc_varlink_error_new(PC_VARLINK_ERROR_PERMISSION_DENIED, NULL);
		goto done;
	}

	/* No method streams replies or upgrades the connection (yet). */
	if (req->more || req->upgrade) {
		reply = pc_varlink_error_new_string(PC_VARLINK_ERROR_METHOD_NOT_IMPLEMENTED,
						    "method", req->method);
		goto done;
	}

	if (builtin) {
		if (strcmp(req->method, ORG_VARLINK_SERVICE ".GetInfo") == 0)
			reply = get_info(s, req->parameters);
		else
			reply = get_interface_description(s, req->parameters);
	} else {
		struct pc_varlink_call call = {.request = req, .peer = &c->peer, .conn = c};
		int r;

		reply = NULL;
		r = method->fn(&call, s->cfg.userdata, &reply);
		if (r < 0)
			return r;
		/* Deferred: pc_server_reply_deferred() answers later, or already did
		 * from inside the handler (then the reply is queued). */
		if (!reply && (c->deferred || c->replied_in_dispatch)) {
			c->replied_in_dispatch = false;
			return 1;
		}
		if (!reply)
			return -EINVAL;
	}
	goto done;

not_found:
	reply =
	    pc_varlink_error_new_string(PC_VARLINK_ERROR_METHOD_NOT_FOUND, "method", req->method);
done:
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

static int conn_handle(struct conn *c, const char *msg, size_t len)
{
	struct pc_varlink_request req;
	struct pc_varlink_parse_error perr;
	json_t *reply;
	int r;

	conn_touch(c);
	if (++c->n_requests > c->server->cfg.max_requests) {
		char reason[96];

		snprintf(reason, sizeof(reason), "more than %u requests on one connection",
			 c->server->cfg.max_requests);
		return conn_protocol_error(c, reason);
	}

	r = pc_varlink_request_parse(msg, len, &req, &perr);
	if (r == -EBADMSG)
		return conn_protocol_error(c, perr.reason);
	if (r < 0)
		return r;

	/* The peer hung up: a oneway call it left behind still runs (it asked for the
	 * effect, not the answer); anything else would answer no one. */
	if (c->peer_gone && !req.oneway) {
		pc_varlink_request_clear(&req);
		return 0;
	}

	c->dispatching = true;
	r = dispatch(c, &req, &reply);
	c->dispatching = false;
	if (r == 1 && c->deferred_error < 0)
		r = c->deferred_error;
	c->deferred_error = 0;
	if (r < 0) {
		conn_log(c, LOG_ERR, "%s failed: %s", req.method, strerror(-r));
		pc_varlink_request_clear(&req);
		return r;
	}
	if (r == 1) {
		pc_varlink_request_clear(&req);
		return 0;
	}
	if (req.oneway) {
		/* The caller asked for no reply, errors included. */
		json_decref(reply);
		r = 0;
	} else {
		r = conn_queue(c, reply);
	}
	pc_varlink_request_clear(&req);
	return r;
}

/* Handle buffered requests one at a time: the next only once the last reply is sent. */
static int conn_process(struct conn *c)
{
	const char *msg;
	size_t len;
	int r;

	while (!c->dead && !c->closing && !c->deferred && conn_unsent(c) == 0) {
		r = pc_varlink_buf_next(&c->in, &msg, &len);
		if (r == -EMSGSIZE) {
			char reason[96];

			snprintf(reason, sizeof(reason), "request larger than %zu bytes",
				 c->server->cfg.max_request_size - 1);
			r = conn_protocol_error(c, reason);
		} else if (r == 0) {
			if (c->read_eof && pc_varlink_buf_pending(&c->in) > 0)
				r = conn_protocol_error(
				    c, "connection closed in the middle of a message");
			else if (c->in.alloc > KEEP_BUFFER && pc_varlink_buf_pending(&c->in) == 0)
				pc_varlink_buf_clear(&c->in);
			partial_update(c);
			if (r >= 0)
				r = conn_flush(c);
			return r;
		} else if (r > 0) {
			partial_update(c);
			r = conn_handle(c, msg, len);
		}
		if (r < 0)
			return r;
		r = conn_flush(c);
		if (r < 0)
			return r;
	}
	return 0;
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
static void conn_continue(struct conn *c, int r)
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

static void conn_event(struct conn *c, uint32_t events)
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

/* Deliver a deferred reply: @reply (consumed) or else @blob (consumed). */
static void reply_deferred(struct pc_varlink_deferred *d, json_t *reply,
			   struct pc_varlink_blob *blob)
{
	struct conn *c = d->conn;
	bool oneway = d->oneway;
	int r = 0;

	free(d);
	if (!c || !c->deferred || c->dead) {
		/* The client hung up meanwhile. */
		json_decref(reply);
		pc_varlink_blob_unref(blob);
		return;
	}
	c->pending = NULL;
	c->deferred = false;
	conn_touch(c);
	if (!reply && !blob)
		r = -ENOMEM;
	else if (oneway) {
		json_decref(reply);
		pc_varlink_blob_unref(blob);
	} else if (blob)
		r = conn_queue_blob(c, blob);
	else
		r = conn_queue(c, reply);
	if (c->dispatching) {
		/* Answered from inside its own handler: conn_handle() carries on. */
		c->deferred_error = r < 0 ? r : 0;
		c->replied_in_dispatch = true;
		return;
	}
	/* As after any event: send, then take the next pipelined request. */
	if (r >= 0)
		r = conn_flush(c);
	conn_continue(c, r);
}

void pc_server_reply_deferred(struct pc_server *s, struct pc_varlink_deferred *d, json_t *reply)
{
	reply_deferred(d, reply, NULL);
}

void pc_server_reply_deferred_blob(struct pc_server *s, struct pc_varlink_deferred *d,
				   struct pc_varlink_blob *blob)
{
	reply_deferred(d, NULL, blob);
}

/* ---- server ---- */

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
			log_refusal(s, strerror(errno), (uid_t)-1);
			accept_pause(s);
			return;
		}
		/* Refused ones are closed at once (conn_new), which tells the client
		 * immediately, where leaving it in the backlog would let it hang. */
		r = conn_new(s, fd);
		if (r < 0)
			server_log(s, LOG_WARNING, "dropping new connection: %s", strerror(-r));
	}
}

static void expire_idle(struct pc_server *s)
{
	uint64_t now = pc_now_ms();

	while (s->oldest && s->oldest->last_active_ms + s->cfg.idle_timeout_ms <= now) {
		struct conn *c = s->oldest;

		if (c->deferred) {
			/* Waiting for its reply is not idleness: the handler bounds it. */
			conn_touch(c);
			continue;
		}
		conn_log(c, LOG_INFO, "dropped after %u ms without a request",
			 s->cfg.idle_timeout_ms);
		conn_kill(c);
	}
	while (s->partial_oldest &&
	       s->partial_oldest->partial_since_ms + s->cfg.request_timeout_ms <= now) {
		struct conn *c = s->partial_oldest;

		conn_log(c, LOG_INFO, "dropped: a message not completed within %u ms",
			 s->cfg.request_timeout_ms);
		conn_kill(c);
	}
	if (s->accept_paused && now >= s->accept_resume_ms)
		accept_resume(s);
}

static int next_timeout(const struct pc_server *s)
{
	uint64_t now = pc_now_ms(), deadline = UINT64_MAX;

	if (s->oldest)
		deadline = s->oldest->last_active_ms + s->cfg.idle_timeout_ms;
	if (s->partial_oldest &&
	    s->partial_oldest->partial_since_ms + s->cfg.request_timeout_ms < deadline)
		deadline = s->partial_oldest->partial_since_ms + s->cfg.request_timeout_ms;
	if (s->accept_paused && s->accept_resume_ms < deadline)
		deadline = s->accept_resume_ms;
	if (deadline == UINT64_MAX)
		return -1;
	if (deadline <= now)
		return 0;
	/* Round up so we do not wake a millisecond early and spin. */
	return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now) + 1;
}

int pc_server_new(const struct pc_server_config *cfg, int listen_fd, struct pc_server **ret)
{
	_cleanup_close_ int lfd = listen_fd;
	struct pc_server *s;
	struct epoll_event ev;
	int flags, r;

	if (listen_fd < 0)
		return -EBADF;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	if (!s->cfg.max_connections)
		s->cfg.max_connections = DEFAULT_MAX_CONNECTIONS;
	if (!s->cfg.max_connections_per_user)
		s->cfg.max_connections_per_user = DEFAULT_MAX_CONNECTIONS_PER_USER;
	if (!s->cfg.idle_timeout_ms)
		s->cfg.idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
	if (!s->cfg.request_timeout_ms)
		s->cfg.request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
	if (!s->cfg.max_requests)
		s->cfg.max_requests = DEFAULT_MAX_REQUESTS;
	if (!s->cfg.max_request_size)
		s->cfg.max_request_size = PC_VARLINK_MAX_REQUEST;
	if (!s->cfg.max_output)
		s->cfg.max_output = DEFAULT_MAX_OUTPUT;
	s->listen_src.kind = SOURCE_LISTEN;
	s->signal_src.kind = SOURCE_SIGNAL;
	s->stop_src.kind = SOURCE_STOP;
	s->epoll_fd = s->signal_fd = -1;
	for (size_t i = 0; i < MAX_EXTERNAL; i++)
		s->external[i] = (struct external){.src.kind = SOURCE_EXTERNAL, .fd = -1};
	s->listen_fd = lfd;
	lfd = -1;

	/* An fd from systemd may be blocking; accept() on it must not be. */
	flags = fcntl(s->listen_fd, F_GETFL);
	if (flags < 0 || fcntl(s->listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
		goto fail_errno;

	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0)
		goto fail_errno;
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &s->listen_src};
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0)
		goto fail_errno;

	if (cfg->handle_signals) {
		sigset_t mask;

		/* Blocked for good: unblocking with a signal pending would kill the
		 * process before its cleanup ran. */
		sigemptyset(&mask);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGHUP);
		if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
			goto fail_errno;
		s->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
		if (s->signal_fd < 0)
			goto fail_errno;
		ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &s->signal_src};
		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->signal_fd, &ev) < 0)
			goto fail_errno;
	}
	if (cfg->stop_fd > 0) {
		ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &s->stop_src};
		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, cfg->stop_fd, &ev) < 0)
			goto fail_errno;
	}

	*ret = s;
	return 0;

fail_errno:
	r = -errno;
	pc_server_free(s);
	return r;
}

int pc_server_run(struct pc_server *s)
{
	struct epoll_event events[MAX_EVENTS];

	for (;;) {
		int timeout = next_timeout(s), n;

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
		for (int i = 0; i < n; i++) {
			struct source *src = events[i].data.ptr;

			switch (src->kind) {
			case SOURCE_LISTEN:
				accept_connections(s);
				break;
			case SOURCE_SIGNAL: {
				struct signalfd_siginfo si;
				ssize_t l = read(s->signal_fd, &si, sizeof(si));

				if (l == (ssize_t)sizeof(si)) {
					if (si.ssi_signo != SIGHUP)
						server_log(s, LOG_INFO, "received %s, exiting",
							   strsignal((int)si.ssi_signo));
					return (int)si.ssi_signo;
				}
				break;
			}
			case SOURCE_EXTERNAL: {
				struct external *x = (struct external *)src;

				if (x->fd >= 0)
					x->fn(x->fd, events[i].events, x->userdata);
				break;
			}
			case SOURCE_STOP:
				return 0;
			case SOURCE_CONN: {
				struct conn *c = (struct conn *)src;

				/* Closed by an earlier event of this batch: still allocated
				 * (server_reap), and nothing more to do. */
				if (!c->dead)
					conn_event(c, events[i].events);
				break;
			}
			}
		}
		server_reap(s);
		expire_idle(s);
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
	while (s->oldest)
		conn_kill(s->oldest);
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
