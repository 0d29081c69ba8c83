/* SPDX-License-Identifier: MIT */
/*
 * Varlink framing: messages are NUL-terminated; take them out of a connection's input
 * one at a time, within the limits (request size, requests per connection), and hand
 * each to dispatch. See varlink_server_internal.h for how the server is split.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "portcheck/util.h"
#include "varlink_server_internal.h"

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
	r = conn_dispatch(c, &req, &reply);
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
int conn_process(struct conn *c)
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
