/* SPDX-License-Identifier: MIT */
/*
 * What the files of the Varlink server share; private to daemon/service. The public API
 * is include/portcheck/varlink_server.h. The server is split along its seams:
 *
 *   varlink_server.c    the server: creation, the event loop, accepting, teardown
 *   varlink_conn.c      a connection's life: creation, events, closing, freeing
 *   varlink_conn_io.c   a connection's bytes: the output queue, sending, reading
 *   varlink_framing.c   NUL-delimited messages out of the input, one request at a time
 *   varlink_dispatch.c  method lookup, authorization, org.varlink.service, errors
 *   varlink_deferred.c  replies a handler gives later (pc_server_reply_deferred*)
 *   varlink_limits.c    per-user caps, eviction, idle and message timeouts, backoff
 *
 * It stays generic: the embedding program's policy comes in through the config
 * (authorize, methods, log), never from an include of the program's own headers.
 */
#pragma once

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

struct conn;

/* A connection's place in one of the server's lists (struct conn_list). */
struct conn_link {
	struct conn *prev, *next;
};

/* A doubly linked list of connections, oldest first: appending and unlinking are O(1). */
struct conn_list {
	struct conn *first, *last;
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
	/* In server->idle: least recently active first, for idle timeouts in O(1). */
	struct conn_link idle;
	/* In server->partial: oldest unfinished message first, for the message deadline. */
	struct conn_link partial;
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
	struct conn_list idle;	  /* every live connection, by activity */
	struct conn_list partial; /* those receiving a message */
	struct conn *dead;	  /* closed, to be freed after the batch */
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

/* ---- varlink_server.c ---- */

/* Through the embedding program's log callback, if any. */
__attribute__((format(printf, 3, 4))) void varlink_log(struct pc_server *s, int priority,
						       const char *fmt, ...);

#define conn_log(c, priority, fmt, ...)                                                            \
	varlink_log((c)->server, priority, "connection %" PRIu64 " (pid %d, uid %u): " fmt,        \
		    (c)->id, (int)(c)->peer.pid, (unsigned)(c)->peer.uid, ##__VA_ARGS__)

/* ---- varlink_limits.c ---- */

void server_log_refusal(struct pc_server *s, const char *why, uid_t uid);
unsigned server_user_count(struct pc_server *s, uid_t uid);
int server_user_add(struct pc_server *s, uid_t uid);
void server_user_remove(struct pc_server *s, uid_t uid);
/* Into and out of server->idle. */
void conn_idle_append(struct conn *c);
void conn_idle_unlink(struct conn *c);
void conn_touch(struct conn *c);
void partial_unlink(struct conn *c);
void partial_update(struct conn *c);
void server_accept_resume(struct pc_server *s);
void server_accept_pause(struct pc_server *s);
bool server_make_room(struct pc_server *s, uid_t uid);
/* Close the connections past a deadline; resume accepting after a pause. */
void server_expire(struct pc_server *s);
/* Milliseconds until the next deadline, for epoll_wait: -1 when there is none. */
int server_next_timeout(const struct pc_server *s);

/* ---- varlink_conn.c ---- */

int conn_new(struct pc_server *s, int fd);
void conn_kill(struct conn *c);
void server_reap(struct pc_server *s);
void conn_continue(struct conn *c, int r);
void conn_event(struct conn *c, uint32_t events);

/* ---- varlink_conn_io.c ---- */

size_t conn_unsent(const struct conn *c);
int conn_queue_blob(struct conn *c, struct pc_varlink_blob *b);
int conn_queue(struct conn *c, json_t *msg);
int conn_flush(struct conn *c);
int conn_protocol_error(struct conn *c, const char *reason);
int conn_read(struct conn *c);

/* ---- varlink_framing.c ---- */

int conn_process(struct conn *c);

/* ---- varlink_dispatch.c ---- */

int conn_dispatch(struct conn *c, const struct pc_varlink_request *req, json_t **ret_reply);
