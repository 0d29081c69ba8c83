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
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "portcheck/util.h"
#include "portcheck/varlink.h"
#include "portcheck/varlink_server.h"

#define DEFAULT_MAX_CONNECTIONS 256u
#define DEFAULT_IDLE_TIMEOUT_MS 60000u
#define DEFAULT_MAX_REQUESTS 1000u
#define DEFAULT_MAX_OUTPUT ((size_t)16 << 20)
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

struct conn {
	struct source src; /* first: epoll data points here */
	struct pc_server *server;
	uint64_t id;
	int fd;
	struct pc_peer peer;
	struct pc_varlink_buf in;
	char *out;
	size_t out_size, out_alloc, out_sent;
	uint64_t last_active_ms;
	unsigned n_requests;
	uint32_t events; /* registered with epoll */
	bool read_eof;	 /* the peer will send no more */
	bool deferred;	 /* a handler will reply later (pc_server_reply_deferred) */
	bool closing;	 /* close once the output is flushed */
	/* Doubly linked, least recently active first, for idle timeouts in O(1). */
	struct conn *prev, *next;
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
	struct conn *oldest, *newest;
	size_t n_conns;
	uint64_t next_id;
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

/* ---- peer credentials ---- */

static bool gid_in(const gid_t *v, size_t n, gid_t gid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == gid)
			return true;
	return false;
}

/*
 * Supplementary groups from /proc/PID/status. The pid may have been reused since
 * connect(), so the process must still have the peer's effective uid; otherwise -ESRCH.
 */
static int proc_in_group(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], *line = NULL;
	bool uid_ok = false, found = false, have_groups = false;
	size_t n = 0;
	FILE *f;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &n, f) > 0) {
		if (strncmp(line, "Uid:", 4) == 0) {
			unsigned long r, e;

			uid_ok =
			    sscanf(line + 4, "%lu %lu", &r, &e) == 2 && e == (unsigned long)uid;
		} else if (strncmp(line, "Groups:", 7) == 0) {
			char *p = line + 7, *end;

			have_groups = true;
			for (;;) {
				unsigned long g;

				errno = 0;
				g = strtoul(p, &end, 10);
				if (end == p || errno)
					break;
				if (g == (unsigned long)gid)
					found = true;
				p = end;
			}
		}
	}
	free(line);
	fclose(f);
	if (!uid_ok || !have_groups)
		return -ESRCH;
	return found;
}

/* The user database's idea of @uid's groups: what a fresh login would have. */
static int database_in_group(uid_t uid, gid_t pgid, gid_t gid)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ gid_t *groups = NULL;
	struct passwd pw, *res = NULL;
	size_t bufsize = 4096;
	int ngroups = 64, r;

	for (;;) {
		free(buf);
		buf = malloc(bufsize);
		if (!buf)
			return -ENOMEM;
		r = getpwuid_r(uid, &pw, buf, bufsize, &res);
		if (r != ERANGE)
			break;
		if (bufsize > 1 << 20)
			return -ERANGE;
		bufsize *= 2;
	}
	if (r != 0)
		return -r;
	if (!res)
		return -ESRCH;

	for (;;) {
		int n = ngroups;
		gid_t *p = realloc(groups, sizeof(gid_t) * (size_t)ngroups);

		if (!p)
			return -ENOMEM;
		groups = p;
		if (getgrouplist(pw.pw_name, pgid, groups, &n) >= 0)
			return gid_in(groups, (size_t)n, gid);
		if (n <= ngroups || n > 65536)
			return -ERANGE;
		ngroups = n;
	}
}

int pc_peer_in_group(const struct pc_peer *peer, gid_t gid)
{
	int r;

	if (peer->gid == gid)
		return 1;
	/*
	 * The groups the connecting process actually had, recorded by the kernel at
	 * connect(): race-free and exactly what the kernel itself checks for file access.
	 */
	if (peer->have_groups)
		return gid_in(peer->groups, peer->n_groups, gid);
	/*
	 * Without SO_PEERGROUPS, prefer the process's own groups over the user database:
	 * a user added to the group after logging in does not have it yet, and a process
	 * that dropped its groups (setgroups(), a sandboxed service) no longer has them;
	 * the database would grant both. The database is the last resort, for a process
	 * that is gone or whose pid now belongs to someone else.
	 */
	r = proc_in_group(peer->pid, peer->uid, gid);
	if (r >= 0)
		return r;
	return database_in_group(peer->uid, peer->gid, gid);
}

static int peer_read(int fd, struct pc_peer *ret)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	_cleanup_free_ gid_t *groups = NULL;
	socklen_t glen = 64 * sizeof(gid_t);
	bool have_groups = false;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	if (len != sizeof(uc))
		return -EIO;

	for (int tries = 0; tries < 4; tries++) {
		gid_t *p = realloc(groups, glen ? glen : sizeof(gid_t));
		socklen_t l = glen;

		if (!p)
			return -ENOMEM;
		groups = p;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &l) == 0) {
			glen = l;
			have_groups = true;
			break;
		}
		/* ERANGE tells the size needed; anything else (ENOPROTOOPT on kernels
		 * before 4.13) means the fallbacks of pc_peer_in_group() apply. */
		if (errno != ERANGE || l <= glen)
			break;
		glen = l;
	}

	*ret = (struct pc_peer){
	    .pid = uc.pid,
	    .uid = uc.uid,
	    .gid = uc.gid,
	    .have_groups = have_groups,
	    .n_groups = have_groups ? glen / sizeof(gid_t) : 0,
	    .groups = have_groups ? TAKE_PTR(groups) : NULL,
	};
	return 0;
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

static void conn_touch(struct conn *c)
{
	struct pc_server *s = c->server;

	c->last_active_ms = pc_now_ms();
	if (s->newest == c)
		return;
	conn_unlink(c);
	/* append */
	c->prev = s->newest;
	c->next = NULL;
	if (s->newest)
		s->newest->next = c;
	s->newest = c;
	if (!s->oldest)
		s->oldest = c;
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

static void conn_free(struct conn *c)
{
	struct pc_server *s = c->server;

	conn_unlink(c);
	s->n_conns--;

	/* Remove it from the epoll set explicitly: closing removes it only with the last
	 * reference to the socket, and a child process of the embedding program (the
	 * daemon's background analysis) may briefly hold a copy; the set would then keep
	 * reporting events that point at the freed connection. */
	(void)epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	pc_varlink_buf_clear(&c->in);
	free(c->out);
	free(c->peer.groups);
	free(c);

	/* A slot (or a file descriptor) is free again. */
	accept_resume(s);
}

static int conn_new(struct pc_server *s, int fd)
{
	_cleanup_close_ int fd_owned = fd;
	struct epoll_event ev;
	struct pc_peer peer;
	struct conn *c;
	int r;

	r = peer_read(fd, &peer);
	if (r < 0)
		return r;

	c = calloc(1, sizeof(*c));
	if (!c) {
		free(peer.groups);
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
		free(c->peer.groups);
		free(c);
		return r;
	}
	fd_owned = -1;

	/* Into the idle list as the newest. */
	c->prev = s->newest;
	if (s->newest)
		s->newest->next = c;
	s->newest = c;
	if (!s->oldest)
		s->oldest = c;
	s->n_conns++;
	c->last_active_ms = pc_now_ms();

	conn_log(c, LOG_DEBUG, "connected");
	return 0;
}

struct pc_varlink_deferred {
	uint64_t conn_id;
	bool oneway;
};

int pc_varlink_call_defer(const struct pc_varlink_call *call, struct pc_varlink_deferred **ret)
{
	struct conn *c = call->conn;
	struct pc_varlink_deferred *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->conn_id = c->id;
	d->oneway = call->request->oneway;
	c->deferred = true;
	*ret = d;
	return 0;
}

void pc_varlink_deferred_free(struct pc_varlink_deferred *d)
{
	free(d);
}

/* Queue a message for sending. The reference to @msg is consumed. */
static int conn_queue(struct conn *c, json_t *msg)
{
	_cleanup_json_ json_t *m = msg;
	_cleanup_free_ char *data = NULL;
	size_t len, pending = c->out_size - c->out_sent;
	int r;

	if (!m)
		return -ENOMEM;
	r = pc_varlink_message_serialize(m, &data, &len);
	if (r < 0)
		return r;
	if (len > c->server->cfg.max_output - pending) {
		conn_log(c, LOG_WARNING,
			 "dropped: %zu bytes of replies unsent, over the limit of %zu",
			 pending + len, c->server->cfg.max_output);
		return -ENOBUFS;
	}
	if (pending == 0) {
		/* The common case: hand the serialised buffer over without copying. */
		free(c->out);
		c->out = TAKE_PTR(data);
		c->out_size = c->out_alloc = len;
		c->out_sent = 0;
		return 0;
	}
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

/* Send as much as the socket takes now; never block. */
static int conn_flush(struct conn *c)
{
	while (c->out_sent < c->out_size) {
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_size - c->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		c->out_sent += (size_t)n;
		conn_touch(c);
	}
	c->out_sent = c->out_size = 0;
	if (c->out_alloc > KEEP_BUFFER) {
		free(c->out);
		c->out = NULL;
		c->out_alloc = 0;
	}
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

static int conn_read(struct conn *c)
{
	char buf[READ_CHUNK];
	ssize_t n;

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
	conn_touch(c);
	return pc_varlink_buf_feed(&c->in, buf, (size_t)n);
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
		conn_log(c, LOG_NOTICE, "%s: permission denied", req->method);
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
		if (!reply && c->deferred)
			return 1; /* pc_server_reply_deferred() will answer */
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

	r = dispatch(c, &req, &reply);
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

	while (!c->closing && !c->deferred && c->out_sent == c->out_size) {
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
			if (r >= 0)
				r = conn_flush(c);
			return r;
		} else if (r > 0) {
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
	bool pending = c->out_sent < c->out_size;
	uint32_t events;

	if (!pending && !c->deferred && (c->closing || c->read_eof))
		return 0;
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
	if (r >= 0)
		r = conn_process(c);
	if (r >= 0)
		r = conn_update(c);
	if (r < 0 && r != -ENOBUFS && r != -EPIPE && r != -ECONNRESET)
		conn_log(c, LOG_WARNING, "dropped: %s", strerror(-r));
	if (r <= 0) {
		if (r == 0)
			conn_log(c, LOG_DEBUG, "finished");
		conn_free(c);
	}
}

static void conn_event(struct conn *c, uint32_t events)
{
	int r = 0;

	/* The peer closed both directions or the socket failed: no one to reply to. */
	if (events & (EPOLLERR | EPOLLHUP)) {
		conn_log(c, LOG_DEBUG, "closed by peer");
		conn_free(c);
		return;
	}
	if (events & EPOLLOUT)
		r = conn_flush(c);
	if (r >= 0 && (events & EPOLLIN))
		r = conn_read(c);
	conn_continue(c, r);
}

void pc_server_reply_deferred(struct pc_server *s, struct pc_varlink_deferred *d, json_t *reply)
{
	struct conn *c;
	int r = 0;

	for (c = s->oldest; c && c->id != d->conn_id; c = c->next)
		;
	if (!c || !c->deferred) {
		/* The client hung up meanwhile. */
		json_decref(reply);
		free(d);
		return;
	}
	c->deferred = false;
	conn_touch(c);
	if (!reply)
		r = -ENOMEM;
	else if (d->oneway)
		json_decref(reply);
	else
		r = conn_queue(c, reply);
	free(d);
	/* As after any event: send, then take the next pipelined request. */
	if (r >= 0)
		r = conn_flush(c);
	conn_continue(c, r);
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
			server_log(s, LOG_WARNING, "accept failed, pausing: %s", strerror(errno));
			accept_pause(s);
			return;
		}

		if (s->n_conns >= s->cfg.max_connections) {
			/* Closing at once tells the client immediately, where leaving it in
			 * the backlog would let it hang until it times out. */
			uint64_t now = pc_now_ms();

			close(fd);
			s->n_rejected++;
			if (now - s->rejected_logged_ms >= REJECT_LOG_INTERVAL_MS ||
			    s->rejected_logged_ms == 0) {
				server_log(s, LOG_WARNING,
					   "%u connection(s) refused: limit of %u reached",
					   s->n_rejected, s->cfg.max_connections);
				s->n_rejected = 0;
				s->rejected_logged_ms = now;
			}
			continue;
		}

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
		conn_log(c, LOG_INFO, "dropped after %u ms without activity",
			 s->cfg.idle_timeout_ms);
		conn_free(c);
	}
	if (s->accept_paused && now >= s->accept_resume_ms)
		accept_resume(s);
}

static int next_timeout(const struct pc_server *s)
{
	uint64_t now = pc_now_ms(), deadline = UINT64_MAX;

	if (s->oldest)
		deadline = s->oldest->last_active_ms + s->cfg.idle_timeout_ms;
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
	if (!s->cfg.idle_timeout_ms)
		s->cfg.idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
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
			case SOURCE_CONN:
				conn_event((struct conn *)src, events[i].events);
				break;
			}
		}
		expire_idle(s);
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
		conn_free(s->oldest);
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s);
}

/* ---- listening socket ---- */

/* mkdir -p of the directories above @path; the ones created get exactly 0755. */
static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	char *slash;

	if (!p)
		return -ENOMEM;
	for (slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(p, 0755) == 0) {
			/* Whatever the umask: clients must be able to reach the socket. */
			if (chmod(p, 0755) < 0)
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		}
		*slash = '/';
	}
	return 0;
}

/* Whether a server answers on the socket at @sa: 1 yes, 0 stale, -errno unknown. */
static int socket_is_live(const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return 1;
	if (errno == ECONNREFUSED)
		return 0;
	/* EAGAIN: a live server whose backlog is full. */
	if (errno == EAGAIN)
		return 1;
	return -errno;
}

int pc_server_listen_path(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);

	r = mkdir_parents(path);
	if (r < 0)
		return r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;

	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EADDRINUSE)
			return -errno;
		/* Only ever remove a socket, and only one nobody listens on. */
		if (lstat(path, &st) < 0)
			return -errno;
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		r = socket_is_live(&sa);
		if (r < 0)
			return r;
		if (r > 0)
			return -EADDRINUSE;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -errno;
	}
	if (chmod(path, 0666) < 0)
		return -errno;
	if (listen(fd, SOMAXCONN) < 0)
		return -errno;

	*ret_fd = fd;
	fd = -1;
	return 0;
}
