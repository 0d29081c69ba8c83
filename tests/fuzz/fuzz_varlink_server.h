/* SPDX-License-Identifier: MIT */
/*
 * Harness body for the Varlink server's input path (daemon/service/varlink_*.c over
 * common/varlink.c): framing, request parsing, dispatch, authorization, deferred replies,
 * limits, and the connection's end. A real pc_server on a listening AF_UNIX socket, one
 * client connected over a real socket, everything in one thread: the server's tick
 * callback plays the client, one step per loop iteration, so the server reads what the
 * client sent in pieces.
 *
 * Input: 4 bytes of settings, then the bytes the client sends.
 *   byte 0  bit 0-1  how the client ends: 0, 1 shutdown(SHUT_WR) and read to EOF;
 *                    2 close(); 3 shutdown(SHUT_WR), and close() when a deferred reply
 *                    is delivered (the client that gives up as its analysis finishes)
 *           bit 2    deferred replies delivered from an fd callback inside the server's
 *                    event dispatch (as the daemon's jobs are), else from the tick
 *           bit 3-4  what a deferred call is answered with: a reply, an error, NULL
 *                    (the reply could not be built), a shared serialised blob
 *                    (pc_server_reply_deferred_blob)
 *           bit 5-7  ticks before a deferred reply is delivered; 7: at once, from inside
 *                    the handler that deferred
 *   byte 1  limits: bit 0-1 max_request_size (default, 32, 300, 4096); bit 2 max_requests
 *           4; bit 3 max_output 64; bit 4 GetInterfaceDescription refused by authorize
 *   byte 2, 3  the sizes the client's writes cycle through (+1)
 *
 * Methods: test.Echo replies with its parameters, test.Defer defers (answered later with
 * pc_server_reply_deferred, its owner told when the client goes), test.Error replies with
 * an error, test.Fail fails (the server drops the connection), test.Secret is refused by
 * the authorize callback; the built-in org.varlink.service ones.
 *
 * Properties (abort when broken): no crash, leak or UB; every message the client reads is
 * a JSON object with the reply shape (pc_varlink_reply_parse), NUL-terminated: at EOF no
 * fragment is left; no more replies than messages sent that could be answered (not
 * oneway calls) plus one for a trailing fragment; nothing after a ProtocolError; a deferred
 * call's gone callback comes at most once, before its reply, when the client is gone;
 * when every
 * message was a valid call within the limits, the client half-closed and no handler failed,
 * exactly one reply per non-oneway call; the connection ends (bounded number of loop
 * iterations: no hang) and the server's connection count returns to 0.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "portcheck/util.h"
#include "portcheck/varlink.h"
#include "portcheck/varlink_server.h"

#define PC_FUZZ_VL_IDL                                                                             \
	"interface test\n"                                                                         \
	"method Echo() -> ()\nmethod Defer() -> ()\nmethod Error() -> ()\n"                        \
	"method Fail() -> ()\nmethod Secret() -> ()\n"

/* Loop iterations after the client's last write before the connection must be gone. */
#define PC_FUZZ_VL_GRACE 2000u

struct pc_fuzz_vl {
	struct pc_server *server;
	int client, stop_fd, deliver_fd;
	uint8_t flags, limits;
	size_t chunk[2];
	unsigned ci;
	const uint8_t *out;
	size_t out_len, out_off;
	bool wr_done, closed;
	bool accepted; /* the server has had the connection (it is accepted in the loop) */

	char *rx;
	size_t rx_len, rx_cap;
	bool rx_eof;

	struct pc_varlink_deferred *deferred;
	unsigned defer_wait;
	bool deliver_pending; /* written to deliver_fd, not read yet */
	unsigned n_defers;
	bool gone;	     /* the deferred call's gone callback ran */
	bool handler_failed; /* test.Fail, or a deferred reply of NULL */

	unsigned long iterations, limit;
	bool stopped;
};

static int pc_fuzz_vl_echo(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	*ret_reply = pc_varlink_reply_new(json_incref(call->request->parameters), false);
	return *ret_reply ? 0 : -ENOMEM;
}

static void pc_fuzz_vl_deliver(struct pc_fuzz_vl *st);

/* The client of the deferred call has gone: once, while the token is still ours. */
static void pc_fuzz_vl_gone(void *userdata)
{
	struct pc_fuzz_vl *st = userdata;

	PC_FUZZ_ASSERT(st->deferred && !st->gone);
	PC_FUZZ_ASSERT(!pc_varlink_deferred_alive(st->deferred));
	st->gone = true;
}

static int pc_fuzz_vl_defer(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct pc_fuzz_vl *st = userdata;
	int r;

	/* The connection reads nothing while a reply is deferred: one at a time. */
	PC_FUZZ_ASSERT(!st->deferred);
	*ret_reply = NULL;
	r = pc_varlink_call_defer(call, &st->deferred);
	if (r < 0)
		return r;
	PC_FUZZ_ASSERT(pc_varlink_deferred_alive(st->deferred));
	st->gone = false;
	pc_varlink_deferred_on_gone(st->deferred, pc_fuzz_vl_gone, st);
	st->defer_wait = st->flags >> 5;
	st->n_defers++;
	/* Answered before the handler returns, as a cached answer would be. */
	if (st->defer_wait == 7)
		pc_fuzz_vl_deliver(st);
	return 0;
}

static int pc_fuzz_vl_error(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	*ret_reply = pc_varlink_error_new_string(PC_VARLINK_ERROR_INVALID_PARAMETER, "parameter",
						 "anything");
	return *ret_reply ? 0 : -ENOMEM;
}

static int pc_fuzz_vl_fail(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct pc_fuzz_vl *st = userdata;

	st->handler_failed = true;
	return -EIO;
}

static const struct pc_varlink_method pc_fuzz_vl_methods[] = {
    {"test.Echo", pc_fuzz_vl_echo},   {"test.Defer", pc_fuzz_vl_defer},
    {"test.Error", pc_fuzz_vl_error}, {"test.Fail", pc_fuzz_vl_fail},
    {"test.Secret", pc_fuzz_vl_echo},
};

static const struct pc_varlink_interface pc_fuzz_vl_interfaces[] = {
    {"test", PC_FUZZ_VL_IDL},
};

static bool pc_fuzz_vl_authorize(const struct pc_peer *peer, const char *method, void *userdata)
{
	const struct pc_fuzz_vl *st = userdata;

	PC_FUZZ_ASSERT(peer && method && *method);
	if (strcmp(method, "test.Secret") == 0)
		return false;
	if ((st->limits & 0x10) &&
	    strcmp(method, "org.varlink.service.GetInterfaceDescription") == 0)
		return false;
	return true;
}

static void pc_fuzz_vl_log(int priority, const char *message, void *userdata)
{
	PC_FUZZ_ASSERT(strlen(message) < 512);
}

/* Deliver the deferred reply chosen by the input. */
static void pc_fuzz_vl_deliver(struct pc_fuzz_vl *st)
{
	struct pc_varlink_deferred *d = st->deferred;
	struct pc_varlink_blob *blob = NULL;
	json_t *reply;

	/* A client that went was announced, and only then. */
	PC_FUZZ_ASSERT(st->gone == !pc_varlink_deferred_alive(d));
	st->deferred = NULL;
	switch ((st->flags >> 3) & 3) {
	case 0:
		reply = pc_varlink_reply_new(json_pack("{s:b}", "done", 1), false);
		break;
	case 1:
		reply = pc_varlink_error_new(PC_VARLINK_ERROR_PERMISSION_DENIED, NULL);
		break;
	case 2:
		st->handler_failed = true;
		reply = NULL;
		break;
	default:
		/* Shared: the server holds its own reference while it sends. */
		reply = pc_varlink_reply_new(json_pack("{s:s}", "shared", "blob"), false);
		PC_FUZZ_ASSERT(reply && pc_varlink_blob_new(reply, &blob) == 0);
		json_decref(reply);
		pc_server_reply_deferred_blob(st->server, d, pc_varlink_blob_ref(blob));
		pc_varlink_blob_unref(blob);
		return;
	}
	pc_server_reply_deferred(st->server, d, reply);
}

/* The daemon's way: a job's fd becomes readable, its callback replies. */
static void pc_fuzz_vl_deliver_ready(int fd, uint32_t events, void *userdata)
{
	struct pc_fuzz_vl *st = userdata;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	st->deliver_pending = false;
	if (st->deferred)
		pc_fuzz_vl_deliver(st);
}

static void pc_fuzz_vl_close(struct pc_fuzz_vl *st)
{
	if (st->client >= 0)
		close(st->client);
	st->client = -1;
	st->closed = true;
}

static void pc_fuzz_vl_read(struct pc_fuzz_vl *st)
{
	while (st->client >= 0 && !st->rx_eof) {
		ssize_t n;

		if (st->rx_cap - st->rx_len < 4096) {
			char *p = realloc(st->rx, st->rx_cap + 65536);

			PC_FUZZ_ASSERT(p);
			st->rx = p;
			st->rx_cap += 65536;
		}
		n = recv(st->client, st->rx + st->rx_len, st->rx_cap - st->rx_len, MSG_DONTWAIT);
		if (n > 0) {
			st->rx_len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EOF; ECONNRESET when the server closed with our bytes unread. */
		PC_FUZZ_ASSERT(n == 0 || errno == ECONNRESET);
		st->rx_eof = true;
	}
}

static void pc_fuzz_vl_write(struct pc_fuzz_vl *st)
{
	size_t len;
	ssize_t n;

	if (st->wr_done)
		return;
	if (st->out_off == st->out_len) {
		st->wr_done = true;
		st->limit = st->iterations + PC_FUZZ_VL_GRACE;
		if ((st->flags & 3) == 2)
			pc_fuzz_vl_close(st);
		else if (st->client >= 0)
			shutdown(st->client, SHUT_WR);
		return;
	}
	len = st->chunk[st->ci++ % 2];
	if (len > st->out_len - st->out_off)
		len = st->out_len - st->out_off;
	n = send(st->client, st->out + st->out_off, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0) {
		st->out_off += (size_t)n;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* The server dropped us (EPIPE, ECONNRESET): nothing more to send. */
		st->out_off = st->out_len;
	}
}

static int pc_fuzz_vl_tick(uint64_t now_ms, void *userdata)
{
	struct pc_fuzz_vl *st = userdata;

	if (st->stopped)
		return -1;
	st->iterations++;
	/* A connection that never ends: the server hangs on this input. */
	PC_FUZZ_ASSERT(st->iterations <= st->limit);

	if (pc_server_n_connections(st->server) > 0)
		st->accepted = true;
	pc_fuzz_vl_read(st);
	pc_fuzz_vl_write(st);

	if (st->deferred && !st->deliver_pending) {
		if (st->defer_wait > 0 && pc_server_n_connections(st->server) > 0) {
			st->defer_wait--;
		} else if (st->flags & 4) {
			uint64_t one = 1;

			PC_FUZZ_ASSERT(write(st->deliver_fd, &one, sizeof(one)) == sizeof(one));
			st->deliver_pending = true;
			/* The client gives up just as its reply is ready: both in one batch. */
			if ((st->flags & 3) == 3)
				pc_fuzz_vl_close(st);
		} else {
			if ((st->flags & 3) == 3)
				pc_fuzz_vl_close(st);
			pc_fuzz_vl_deliver(st);
		}
	}

	if (st->accepted && st->wr_done && (st->closed || st->rx_eof) && !st->deferred &&
	    !st->deliver_pending && pc_server_n_connections(st->server) == 0) {
		uint64_t one = 1;

		PC_FUZZ_ASSERT(write(st->stop_fd, &one, sizeof(one)) == sizeof(one));
		st->stopped = true;
		return -1;
	}
	return 0;
}

/* What the client sent, as the server would see it: how many replies may come. */
struct pc_fuzz_vl_sent {
	unsigned answerable; /* messages that may get a reply */
	unsigned calls;	     /* valid non-oneway calls */
	bool all_valid;	     /* every message a valid call, within the limits */
};

static void pc_fuzz_vl_count(const uint8_t *p, size_t len, size_t max_request,
			     unsigned max_requests, struct pc_fuzz_vl_sent *ret)
{
	struct pc_fuzz_vl_sent s = {.all_valid = true};
	unsigned n = 0;

	while (len > 0) {
		const uint8_t *nul = memchr(p, 0, len);
		size_t mlen = nul ? (size_t)(nul - p) : len;
		struct pc_varlink_request req;

		n++;
		if (!nul || mlen + 1 > max_request || n > max_requests) {
			/* A fragment at EOF, an oversize message, one over the request limit:
			 * one ProtocolError, and the server reads no further. */
			s.answerable++;
			s.all_valid = false;
			break;
		}
		if (pc_varlink_request_parse((const char *)p, mlen, &req, NULL) == 0) {
			if (!req.oneway) {
				s.answerable++;
				s.calls++;
			}
			pc_varlink_request_clear(&req);
		} else {
			/* A ProtocolError, and the server reads no further. */
			s.answerable++;
			s.all_valid = false;
			break;
		}
		p += mlen + 1;
		len -= mlen + 1;
	}
	*ret = s;
}

/* Check what the client read. Returns the number of replies. */
static unsigned pc_fuzz_vl_check_replies(const struct pc_fuzz_vl *st)
{
	size_t off = 0;
	unsigned n = 0;
	bool after_protocol_error = false;

	while (off < st->rx_len) {
		const char *msg = st->rx + off;
		const char *nul = memchr(msg, 0, st->rx_len - off);
		struct pc_varlink_reply reply;
		size_t len;

		/* Every reply is NUL-terminated: the server never leaves half a message. */
		PC_FUZZ_ASSERT(nul);
		len = (size_t)(nul - msg);
		PC_FUZZ_ASSERT(pc_varlink_reply_parse(msg, len, &reply, NULL) == 0);
		PC_FUZZ_ASSERT(!after_protocol_error);
		if (reply.error && strcmp(reply.error, PC_VARLINK_ERROR_PROTOCOL) == 0)
			after_protocol_error = true;
		pc_varlink_reply_clear(&reply);
		n++;
		off += len + 1;
	}
	return n;
}

static int pc_fuzz_vl_listener(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* Autobind: a fresh abstract address, nothing on the file system to clean up. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa_family_t)) < 0 || listen(fd, 4) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int pc_fuzz_vl_connect(int listen_fd)
{
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);
	int fd;

	if (getsockname(listen_fd, (struct sockaddr *)&sa, &salen) < 0)
		return -errno;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Returns 0 (libFuzzer's "keep going"); a broken property aborts. */
static int pc_fuzz_varlink_server_one(const uint8_t *data, size_t size)
{
	static const size_t request_sizes[] = {0, 32, 300, 4096};
	struct pc_fuzz_vl st = {.client = -1, .stop_fd = -1, .deliver_fd = -1};
	struct pc_server_config cfg;
	struct pc_fuzz_vl_sent sent;
	int listen_fd, r;
	unsigned replies;

	if (size < 4)
		return 0;
	st.flags = data[0];
	st.limits = data[1];
	st.chunk[0] = (size_t)data[2] + 1;
	st.chunk[1] = (size_t)data[3] + 1;
	st.out = data + 4;
	st.out_len = size - 4;
	/* One write per iteration, then the grace period. */
	st.limit = st.out_len + PC_FUZZ_VL_GRACE;

	cfg = (struct pc_server_config){
	    .methods = pc_fuzz_vl_methods,
	    .n_methods = ELEMENTSOF(pc_fuzz_vl_methods),
	    .interfaces = pc_fuzz_vl_interfaces,
	    .n_interfaces = ELEMENTSOF(pc_fuzz_vl_interfaces),
	    .vendor = "portcheck",
	    .product = "fuzz",
	    .version = "0",
	    .url = "https://example.org/",
	    .authorize = pc_fuzz_vl_authorize,
	    .log = pc_fuzz_vl_log,
	    .userdata = &st,
	    .max_request_size = request_sizes[st.limits & 3],
	    .max_requests = (st.limits & 4) ? 4 : 0,
	    .max_output = (st.limits & 8) ? 64 : 0,
	    .tick = pc_fuzz_vl_tick,
	};

	st.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	st.deliver_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	PC_FUZZ_ASSERT(st.stop_fd > 0 && st.deliver_fd > 0);
	cfg.stop_fd = st.stop_fd;
	listen_fd = pc_fuzz_vl_listener();
	PC_FUZZ_ASSERT(listen_fd >= 0);
	st.client = pc_fuzz_vl_connect(listen_fd);
	PC_FUZZ_ASSERT(st.client >= 0);
	r = pc_server_new(&cfg, listen_fd, &st.server);
	PC_FUZZ_ASSERT(r == 0);
	PC_FUZZ_ASSERT(pc_server_add_fd(st.server, st.deliver_fd, pc_fuzz_vl_deliver_ready, &st) ==
		       0);

	r = pc_server_run(st.server);
	PC_FUZZ_ASSERT(r == 0);
	PC_FUZZ_ASSERT(st.stopped && !st.deferred);
	PC_FUZZ_ASSERT(pc_server_n_connections(st.server) == 0);

	/* A closing client read until it closed; a half-closing one to the end. */
	pc_fuzz_vl_read(&st);
	replies = pc_fuzz_vl_check_replies(&st);
	pc_fuzz_vl_count(st.out, st.out_len,
			 cfg.max_request_size ? cfg.max_request_size : PC_VARLINK_MAX_REQUEST,
			 cfg.max_requests ? cfg.max_requests : 1000, &sent);
	PC_FUZZ_ASSERT(replies <= sent.answerable);
	/* Nothing lost: a client that half-closes after valid calls gets every answer. An
	 * output limit may drop a reply, and a handler failure the connection. */
	if (!st.closed && sent.all_valid && !st.handler_failed && !(st.limits & 8))
		PC_FUZZ_ASSERT(replies == sent.calls);

	pc_server_remove_fd(st.server, st.deliver_fd);
	pc_server_free(st.server);
	pc_fuzz_vl_close(&st);
	close(st.stop_fd);
	close(st.deliver_fd);
	free(st.rx);
	return 0;
}
