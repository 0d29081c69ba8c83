/* SPDX-License-Identifier: MIT */
/*
 * Deferred replies: a handler takes a token (pc_varlink_call_defer) and answers later
 * (pc_server_reply_deferred*), or learns that its caller has gone. See
 * varlink_server_internal.h for how the server is split.
 */
#include <errno.h>
#include <stdlib.h>

#include "portcheck/util.h"
#include "varlink_server_internal.h"

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
