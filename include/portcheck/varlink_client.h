/* SPDX-License-Identifier: MIT */
/* The client side of Varlink: connect to portcheckd, make one call, read one reply. */
#pragma once

#include <jansson.h>

#include "portcheck/varlink.h"

/* The largest reply the client accepts, NUL included: a Status reply of a big host. */
/* What the daemon may send at most: one limit end to end. */
#define PC_VARLINK_MAX_REPLY PC_VARLINK_MAX_MESSAGE

/* How long the client waits for portcheckd by default: Status reads firewalld over D-Bus. */
#define PC_VARLINK_TIMEOUT_MS 60000

/* The socket to use: @arg (--socket) if set, else $PORTCHECK_SOCKET if set and non-empty,
 * else PC_SOCKET_PATH_DEFAULT. */
const char *pc_varlink_socket_path(const char *arg);

/*
 * Connect to the Unix socket at @path, waiting at most @timeout_ms when the server's
 * backlog is full. Returns 0 and a close-on-exec fd in *ret_fd, or -errno: -ENOENT (no
 * socket) and -ECONNREFUSED (nothing listening) mean the daemon is not running,
 * -EACCES a path not accessible, -ETIMEDOUT, -ENAMETOOLONG.
 */
int pc_varlink_connect(const char *path, int timeout_ms, int *ret_fd);

/*
 * Call @method with @parameters (borrowed; NULL sends none) on @fd and wait at most
 * @timeout_ms in all for the reply. Returns 0 and the reply (which may be an error
 * reply: check ret->error) in *ret, or -errno: -ETIMEDOUT, -ECONNRESET (closed before a
 * complete reply), -EBADMSG (the reply is not a valid Varlink reply), -EMSGSIZE.
 */
int pc_varlink_call(int fd, const char *method, json_t *parameters, int timeout_ms,
		    struct pc_varlink_reply *ret);
