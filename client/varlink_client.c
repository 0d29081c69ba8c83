/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "portcheck/util.h"
#include "portcheck/varlink.h"
#include "portcheck/varlink_client.h"

const char *pc_varlink_socket_path(const char *arg)
{
	const char *env;

	if (arg)
		return arg;
	env = getenv("PORTCHECK_SOCKET");
	if (env && *env)
		return env;
	return PC_SOCKET_PATH_DEFAULT;
}

int pc_varlink_connect(const char *path, int timeout_ms, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {
	    .tv_sec = timeout_ms / 1000,
	    .tv_usec = (timeout_ms % 1000) * 1000,
	};
	_cleanup_close_ int fd = -1;
	int flags;

	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A blocking AF_UNIX connect() waits only while the server's backlog is full, and
	 * for at most the send timeout. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;

	/* From here on every wait is a poll() against the call's deadline. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;

	*ret_fd = fd;
	fd = -1;
	return 0;
}

/* Wait for @events on @fd until @deadline. Returns 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = deadline - (int64_t)pc_now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n > 0)
			return 0;
	}
}

static int send_all(int fd, const char *data, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return errno == EPIPE ? -ECONNRESET : -errno;
			r = wait_fd(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static void buf_clearp(struct pc_varlink_buf *b)
{
	pc_varlink_buf_clear(b);
}

int pc_varlink_call(int fd, const char *method, json_t *parameters, int timeout_ms,
		    struct pc_varlink_reply *ret)
{
	_cleanup_(buf_clearp) struct pc_varlink_buf in;
	_cleanup_json_ json_t *call = NULL;
	_cleanup_free_ char *data = NULL;
	int64_t deadline = (int64_t)pc_now_ms() + timeout_ms;
	size_t len;
	int r;

	pc_varlink_buf_init(&in, PC_VARLINK_MAX_REPLY);

	call =
	    pc_varlink_call_new(method, parameters ? json_incref(parameters) : NULL, false, false);
	if (!call)
		return -ENOMEM;
	r = pc_varlink_message_serialize(call, &data, &len);
	if (r < 0)
		return r;
	r = send_all(fd, data, len, deadline);
	if (r < 0)
		return r;

	for (;;) {
		char chunk[65536];
		const char *msg;
		size_t mlen;
		ssize_t n;

		r = pc_varlink_buf_next(&in, &msg, &mlen);
		if (r < 0)
			return r;
		if (r > 0)
			return pc_varlink_reply_parse(msg, mlen, ret, NULL);

		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			r = wait_fd(fd, POLLIN, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		r = pc_varlink_buf_feed(&in, chunk, (size_t)n);
		if (r < 0)
			return r;
	}
}
