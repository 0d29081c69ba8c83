/* SPDX-License-Identifier: MIT */
/*
 * A single-threaded Varlink server on a listening Unix stream socket: epoll, non-blocking
 * connections with their own input and output buffers, per-connection limits (request
 * size, request count, output queue, idle time), a cap on connections, peer credentials
 * from the kernel, and a method table supplied by the caller. org.varlink.service
 * (GetInfo, GetInterfaceDescription) is built in.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "portcheck/varlink.h"

/* The kernel's record of who connected, taken at accept time. */
struct pc_peer {
	pid_t pid;
	uid_t uid;     /* effective uid at connect() */
	gid_t gid;     /* effective gid at connect() */
	gid_t *groups; /* supplementary groups at connect() (SO_PEERGROUPS) */
	size_t n_groups;
	bool have_groups; /* false on kernels without SO_PEERGROUPS */
	/* The connecting process's start time (/proc/PID/stat field 22), read at accept
	 * while a pidfd held it; 0 if it could not be established. */
	uint64_t start_time;
};

/*
 * Read the peer of the connected socket @fd: credentials, groups, and the connecting
 * process's start time, pinned by a pidfd (see varlink_peer.c). Returns 0 or -errno;
 * free with pc_peer_clear().
 */
int pc_peer_read(int fd, struct pc_peer *ret);

/*
 * Whether the process that connected still runs (1: its pid has the start time read at
 * connect), has gone (0), or cannot be told (-ESRCH: no start time was established).
 */
int pc_peer_still_running(const struct pc_peer *peer);

/* Free what pc_peer_read() allocated. NULL-safe. */
void pc_peer_clear(struct pc_peer *peer);

/*
 * Whether the peer is a member of @gid: its gid or one of its supplementary groups.
 * Returns 1, 0, or -errno when membership could not be established.
 */
int pc_peer_in_group(const struct pc_peer *peer, gid_t gid);

struct pc_varlink_call {
	const struct pc_varlink_request *request;
	const struct pc_peer *peer;
	void *conn; /* the server's; for pc_varlink_call_defer */
};

/* A reply promised by a handler that deferred it (pc_varlink_call_defer). */
struct pc_varlink_deferred;

/*
 * A method handler. It sets *ret_reply to a complete reply message built with
 * pc_varlink_reply_new() or pc_varlink_error_new() (a bad parameter is an
 * org.varlink.service.InvalidParameter reply, not a failure) and returns 0, or returns
 * -errno when it could not produce any reply (the server logs it and closes the
 * connection). The server has already checked authorization and the flags.
 */
typedef int (*pc_varlink_method_fn)(const struct pc_varlink_call *call, void *userdata,
				    json_t **ret_reply);

struct pc_varlink_method {
	const char *name; /* fully qualified: "io.portcheck.Status" */
	pc_varlink_method_fn fn;
};

struct pc_varlink_interface {
	const char *name;	 /* "io.portcheck" */
	const char *description; /* the Varlink IDL text, served by GetInterfaceDescription */
};

/*
 * Whether @peer may call @method (org.varlink.service ones included). Called for every
 * call of a method that exists; false gives org.varlink.service.PermissionDenied.
 */
typedef bool (*pc_varlink_authorize_fn)(const struct pc_peer *peer, const char *method,
					void *userdata);

/* Where the server's log lines go; @priority is a syslog LOG_* level. */
typedef void (*pc_server_log_fn)(int priority, const char *message, void *userdata);

struct pc_server_config {
	const struct pc_varlink_method *methods;
	size_t n_methods;
	/* Interfaces besides org.varlink.service, for GetInfo and GetInterfaceDescription;
	 * every method's interface must be listed. */
	const struct pc_varlink_interface *interfaces;
	size_t n_interfaces;
	const char *vendor, *product, *version, *url; /* GetInfo */
	pc_varlink_authorize_fn authorize;	      /* NULL allows everything */
	pc_server_log_fn log;			      /* NULL discards */
	void *userdata;				      /* passed to handlers, authorize and log */

	/* Limits; 0 picks the default in brackets. */
	/* [512] beyond: a new connection takes the slot of the oldest idle one of the user
	 * with the most connections (never root's), or is accepted and closed at once */
	unsigned max_connections;
	unsigned max_connections_per_user; /* [32] for each uid but root's */
	unsigned idle_timeout_ms; /* [60000] no request taken or reply sent for that long */
	/* [10000] from the first byte of a message to its last: a trickle of bytes does
	 * not keep a connection alive */
	unsigned request_timeout_ms;
	unsigned max_requests;	 /* [1000] per connection; then an error and close */
	size_t max_request_size; /* [PC_VARLINK_MAX_REQUEST] NUL included */
	size_t max_output;	 /* [16 MiB] unsent replies per connection; beyond: dropped */

	/* Exit pc_server_run() on SIGTERM, SIGINT and SIGHUP (blocked and read from a
	 * signalfd); the caller tells them apart by the return value, e.g. to reload on
	 * SIGHUP and run again. */
	bool handle_signals;
	/* If set, called before every wait with the monotonic time in ms; it does whatever
	 * work is due and returns how many ms until it wants to be called again (-1: only
	 * after the next event). The daemon's watching and watchdog live here. */
	int (*tick)(uint64_t now_ms, void *userdata);
	/* If > 0, exit pc_server_run() when this fd becomes readable (tests, embedding). 0,
	 * the zero-initialised default, means none: it would be stdin. */
	int stop_fd;
};

struct pc_server;

/*
 * Create a server on @listen_fd (a listening AF_UNIX SOCK_STREAM socket), taking
 * ownership of it even on failure. @cfg and the tables it points to must outlive the
 * server. Returns 0 or -errno.
 */
int pc_server_new(const struct pc_server_config *cfg, int listen_fd, struct pc_server **ret);

/*
 * Serve until a signal or the stop fd. Returns the signal number (> 0), 0 for the stop fd,
 * or -errno on a fatal error of the event loop itself. Faults of single connections are
 * logged and cost only that connection.
 */
int pc_server_run(struct pc_server *s);

/*
 * In a method handler: answer later. The handler sets *ret_reply to NULL and returns 0;
 * the connection reads no further request until pc_server_reply_deferred() delivers the
 * reply (it is not dropped as idle meanwhile). Returns 0 and the token, or -ENOMEM.
 */
int pc_varlink_call_defer(const struct pc_varlink_call *call, struct pc_varlink_deferred **ret);

/*
 * Deliver a deferred reply (built like a handler's; the reference is consumed) and free
 * @d. If the client has gone meanwhile, the reply is dropped. NULL @reply: the reply
 * could not be built; the connection is closed. May be called from inside the handler
 * that deferred (the reply is then queued like a direct one), and from any callback of
 * the loop: connections are only ever freed between batches of events.
 */
void pc_server_reply_deferred(struct pc_server *s, struct pc_varlink_deferred *d, json_t *reply);

/* The same with a serialised message (pc_varlink_blob_new), shared, not copied: one
 * reply for many waiting clients. The reference is consumed. */
void pc_server_reply_deferred_blob(struct pc_server *s, struct pc_varlink_deferred *d,
				   struct pc_varlink_blob *blob);

/*
 * Called when the client of a deferred call has gone (hung up, timed out, evicted), so
 * that its owner can cancel the work. It runs inside event dispatch: it may mark things
 * and must not free what the loop might still use; the token stays valid and is still
 * to be passed to pc_server_reply_deferred() or pc_varlink_deferred_free().
 */
typedef void (*pc_varlink_gone_fn)(void *userdata);
void pc_varlink_deferred_on_gone(struct pc_varlink_deferred *d, pc_varlink_gone_fn fn,
				 void *userdata);

/* Whether the client of @d is still connected. */
bool pc_varlink_deferred_alive(const struct pc_varlink_deferred *d);

/* Drop a deferred reply's token without replying (shutdown). NULL-safe. */
void pc_varlink_deferred_free(struct pc_varlink_deferred *d);

/* Called when an fd added with pc_server_add_fd() has @events (EPOLLIN ...). */
typedef void (*pc_server_fd_fn)(int fd, uint32_t events, void *userdata);

/* Watch @fd (not owned) for readability alongside the clients; at most 16. Returns 0 or
 * -errno. */
int pc_server_add_fd(struct pc_server *s, int fd, pc_server_fd_fn fn, void *userdata);

/* Stop watching @fd (before closing it). Returns 0 or -ENOENT. */
int pc_server_remove_fd(struct pc_server *s, int fd);

/* Number of open client connections. */
size_t pc_server_n_connections(const struct pc_server *s);

/* Close every connection and the listening socket. NULL-safe. */
void pc_server_free(struct pc_server *s);

/*
 * Create a listening socket at @path: create missing parent directories (0755), replace
 * a stale socket left by a dead daemon, refuse to replace anything else (-EEXIST) or a
 * socket a live server answers on (-EADDRINUSE), and make it 0666: authorization is
 * done per call on the peer's credentials, not by file mode. Returns 0 and the fd
 * (non-blocking, close-on-exec) in *ret_fd, or -errno.
 */
int pc_server_listen_path(const char *path, int *ret_fd);

/* The io.portcheck interface description (Varlink IDL). */
extern const char pc_varlink_idl_io_portcheck[];
/* The standard org.varlink.service interface description. */
extern const char pc_varlink_idl_org_varlink_service[];
