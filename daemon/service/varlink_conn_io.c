/* SPDX-License-Identifier: MIT */
/*
 * A Varlink connection's bytes: the output queue (a shared serialised message, then the
 * connection's own buffer), sending without blocking, and reading into the input
 * buffer. See varlink_server_internal.h for how the server is split.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "portcheck/util.h"
#include "varlink_server_internal.h"

/* Bytes queued and not yet sent. */
size_t conn_unsent(const struct conn *c)
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
int conn_queue_blob(struct conn *c, struct pc_varlink_blob *b)
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
int conn_queue(struct conn *c, json_t *msg)
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
int conn_flush(struct conn *c)
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
int conn_protocol_error(struct conn *c, const char *reason)
{
	conn_log(c, LOG_NOTICE, "protocol error: %s", reason);
	c->closing = true;
	return conn_queue(c,
			  pc_varlink_error_new_string(PC_VARLINK_ERROR_PROTOCOL, "reason", reason));
}

/* Read one chunk. Bytes alone are not activity: see partial_update. */
int conn_read(struct conn *c)
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
