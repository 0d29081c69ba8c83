/* SPDX-License-Identifier: MIT */
/*
 * The Varlink server under test, for test_server*.c: run in-process in a thread on a
 * socket in a temporary directory, with a method table of its own; clients are plain
 * blocking sockets with receive timeouts, so a server bug fails a test instead of
 * hanging it.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "portcheck/util.h"
#include "portcheck/varlink.h"
#include "portcheck/varlink_client.h"
#include "portcheck/varlink_server.h"

#define TEST_IDL                                                                                   \
	"# A test interface.\ninterface test\n\nmethod Echo(name: ?string) -> (echo: object)\n"

/* ---- the server under test ---- */

struct fixture {
	char dir[64];
	char path[128];
	int stop_fd;
	pthread_t thread;
	struct pc_server *server;
	struct pc_server_config cfg;
	int run_result;
	bool deny_echo;				/* the authorization callback refuses test.Echo */
	struct pc_varlink_deferred *pending[8]; /* test.Defer's promised replies */
	size_t n_pending;
	int release_pipe[2]; /* readable: the loop answers every deferred call (an fd of
			      * the embedding program's, like the daemon's child pipes) */
	unsigned notes;	     /* test.Note calls handled */
	unsigned gone;	     /* deferred calls whose client went */
};

/* test.Echo {name?: string} -> {echo: parameters}. */
static int method_echo(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	json_t *name = json_object_get(call->request->parameters, "name");

	if (name && !json_is_string(name))
		*ret_reply = pc_varlink_error_new_string(PC_VARLINK_ERROR_INVALID_PARAMETER,
							 "parameter", "name");
	else
		*ret_reply = pc_varlink_reply_new(
		    json_pack("{s:O}", "echo", call->request->parameters), false);
	return *ret_reply ? 0 : -ENOMEM;
}

/* test.Big {size: int} -> {data: "xxx..."}: a reply of a chosen size. */
static int method_big(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	json_int_t size = json_integer_value(json_object_get(call->request->parameters, "size"));
	char *data = malloc((size_t)size + 1);

	if (!data)
		return -ENOMEM;
	memset(data, 'x', (size_t)size);
	data[size] = '\0';
	*ret_reply = pc_varlink_reply_new(json_pack("{s:s}", "data", data), false);
	free(data);
	return *ret_reply ? 0 : -ENOMEM;
}

static int method_fail(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	return -EIO;
}

/* test.Whoami -> the peer credentials the server recorded. */
static int method_whoami(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	json_t *groups = json_array();

	for (size_t i = 0; groups && i < call->peer->n_groups; i++)
		json_array_append_new(groups, json_integer(call->peer->groups[i]));
	*ret_reply = pc_varlink_reply_new(
	    json_pack("{s:i,s:i,s:i,s:b,s:o}", "pid", (int)call->peer->pid, "uid",
		      (int)call->peer->uid, "gid", (int)call->peer->gid, "have_groups",
		      call->peer->have_groups, "groups", groups),
	    false);
	return *ret_reply ? 0 : -ENOMEM;
}

/* test.Defer: no reply until test.Release. */
static int method_defer(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct fixture *f = userdata;

	if (f->n_pending >= ELEMENTSOF(f->pending))
		return -ENOSPC;
	*ret_reply = NULL;
	return pc_varlink_call_defer(call, &f->pending[f->n_pending++]);
}

/* The client of a deferred call went. */
static void deferred_gone(void *userdata)
{
	struct fixture *f = userdata;

	f->gone++;
}

/* test.Defer with a gone callback. */
static int method_defer_watched(const struct pc_varlink_call *call, void *userdata,
				json_t **ret_reply)
{
	struct fixture *f = userdata;
	int r = method_defer(call, userdata, ret_reply);

	if (r >= 0)
		pc_varlink_deferred_on_gone(f->pending[f->n_pending - 1], deferred_gone, f);
	return r;
}

/* test.DeferNow: deferred, and answered from inside the handler (a kept answer). */
static int method_defer_now(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct fixture *f = userdata;
	struct pc_varlink_deferred *d;
	int r = pc_varlink_call_defer(call, &d);

	if (r < 0)
		return r;
	*ret_reply = NULL;
	pc_server_reply_deferred(f->server, d,
				 pc_varlink_reply_new(json_pack("{s:b}", "now", 1), false));
	return 0;
}

/* test.Sleep {ms}: holds the loop, so that events pile up into one batch. */
static int method_sleep(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	json_int_t ms = json_integer_value(json_object_get(call->request->parameters, "ms"));
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
	*ret_reply = pc_varlink_reply_new(json_object(), false);
	return *ret_reply ? 0 : -ENOMEM;
}

/* test.Note: counts (for oneway calls). test.Notes -> {notes: n}. */
static int method_note(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct fixture *f = userdata;

	f->notes++;
	*ret_reply = pc_varlink_reply_new(json_object(), false);
	return *ret_reply ? 0 : -ENOMEM;
}

static int method_notes(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct fixture *f = userdata;

	*ret_reply = pc_varlink_reply_new(
	    json_pack("{s:i,s:i}", "notes", (int)f->notes, "gone", (int)f->gone), false);
	return *ret_reply ? 0 : -ENOMEM;
}

/* test.Release -> {released: n}, after answering every deferred call with {done: i}. */
static int method_release(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	struct fixture *f = userdata;
	size_t n = f->n_pending;

	for (size_t i = 0; i < n; i++)
		pc_server_reply_deferred(
		    f->server, f->pending[i],
		    pc_varlink_reply_new(json_pack("{s:i}", "done", (int)i), false));
	f->n_pending = 0;
	*ret_reply = pc_varlink_reply_new(json_pack("{s:i}", "released", (int)n), false);
	return *ret_reply ? 0 : -ENOMEM;
}

static const struct pc_varlink_method test_methods[] = {
    {"test.Defer", method_defer},	 {"test.DeferWatched", method_defer_watched},
    {"test.DeferNow", method_defer_now}, {"test.Release", method_release},
    {"test.Echo", method_echo},		 {"test.Big", method_big},
    {"test.Fail", method_fail},		 {"test.Whoami", method_whoami},
    {"test.Sleep", method_sleep},	 {"test.Note", method_note},
    {"test.Notes", method_notes},
};

/* The release pipe is readable: answer every deferred call with {done: i}. */
static void release_ready(int fd, uint32_t events, void *userdata)
{
	struct fixture *f = userdata;
	char buf[64];

	(void)!read(fd, buf, sizeof(buf));
	for (size_t i = 0; i < f->n_pending; i++)
		pc_server_reply_deferred(
		    f->server, f->pending[i],
		    pc_varlink_reply_new(json_pack("{s:i}", "done", (int)i), false));
	f->n_pending = 0;
}

static const struct pc_varlink_interface test_interfaces[] = {
    {"test", TEST_IDL},
};

static bool test_authorize(const struct pc_peer *peer, const char *method, void *userdata)
{
	const struct fixture *f = userdata;

	return !(f->deny_echo && strcmp(method, "test.Echo") == 0);
}

static void *server_thread(void *arg)
{
	struct fixture *f = arg;

	f->run_result = pc_server_run(f->server);
	return NULL;
}

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/pc-test-server-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/run/portcheck.sock", f->dir);
	f->stop_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(f->stop_fd > 0);
	f->cfg = (struct pc_server_config){
	    .methods = test_methods,
	    .n_methods = ELEMENTSOF(test_methods),
	    .interfaces = test_interfaces,
	    .n_interfaces = ELEMENTSOF(test_interfaces),
	    .vendor = "portcheck",
	    .product = "portcheck-test",
	    .version = "9.9",
	    .url = "https://example.org/",
	    .authorize = test_authorize,
	    .userdata = f,
	    .idle_timeout_ms = 5000,
	    .stop_fd = f->stop_fd,
	};
	return f;
}

static void fixture_start(struct fixture *f)
{
	int fd;

	assert_int_equal(pc_server_listen_path(f->path, &fd), 0);
	assert_int_equal(pc_server_new(&f->cfg, fd, &f->server), 0);
	assert_int_equal(pipe2(f->release_pipe, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(pc_server_add_fd(f->server, f->release_pipe[0], release_ready, f), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, server_thread, f), 0);
}

static void fixture_stop(struct fixture *f)
{
	uint64_t one = 1;
	char sub[160];

	assert_int_equal(write(f->stop_fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	assert_int_equal(f->run_result, 0);
	pc_server_free(f->server);
	close(f->release_pipe[0]);
	close(f->release_pipe[1]);
	close(f->stop_fd);
	unlink(f->path);
	snprintf(sub, sizeof(sub), "%s/run", f->dir);
	rmdir(sub);
	rmdir(f->dir);
	free(f);
}

/* ---- a raw client ---- */

struct client {
	int fd;
	struct pc_varlink_buf in;
};

static void client_open(struct client *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};

	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	pc_varlink_buf_init(&c->in, (size_t)64 << 20);
}

static void client_close(struct client *c)
{
	close(c->fd);
	pc_varlink_buf_clear(&c->in);
}

static int client_send_raw(struct client *c, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Send @json and its NUL. */
static void client_send(struct client *c, const char *json)
{
	assert_int_equal(client_send_raw(c, json, strlen(json) + 1), 0);
}

/*
 * The next message as JSON; NULL when the server closed the connection. A receive
 * timeout fails the test.
 */
static json_t *client_recv(struct client *c)
{
	for (;;) {
		const char *msg;
		size_t len;
		char buf[65536];
		ssize_t n;
		int r = pc_varlink_buf_next(&c->in, &msg, &len);

		assert_true(r >= 0);
		if (r > 0) {
			json_t *j = json_loadb(msg, len, 0, NULL);

			assert_non_null(j);
			return j;
		}
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			fail_msg("no reply within the receive timeout");
		/* A server closing with our bytes unread makes that a reset, not an EOF. */
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return NULL;
		assert_true(n > 0);
		assert_int_equal(pc_varlink_buf_feed(&c->in, buf, (size_t)n), 0);
	}
}

static json_t *client_call(struct client *c, const char *json)
{
	json_t *reply;

	client_send(c, json);
	reply = client_recv(c);
	assert_non_null(reply);
	return reply;
}

static void client_expect_closed(struct client *c)
{
	json_t *j = client_recv(c);

	if (j) {
		char *s = json_dumps(j, 0);

		fail_msg("expected the connection closed, got %s", s);
	}
}

static const char *error_of(const json_t *reply)
{
	return json_string_value(json_object_get(reply, "error"));
}

static __attribute__((unused)) const char *param_str(const json_t *reply, const char *key)
{
	return json_string_value(json_object_get(json_object_get(reply, "parameters"), key));
}

static __attribute__((unused)) void expect_error(json_t *reply, const char *error, const char *key,
						 const char *value)
{
	assert_non_null(reply);
	if (!error_of(reply) || strcmp(error_of(reply), error) != 0) {
		char *s = json_dumps(reply, 0);

		fail_msg("expected error %s, got %s", error, s);
	}
	if (key)
		assert_string_equal(param_str(reply, key), value);
	json_decref(reply);
}

static void expect_ok(json_t *reply)
{
	assert_non_null(reply);
	if (error_of(reply)) {
		char *s = json_dumps(reply, 0);

		fail_msg("expected success, got %s", s);
	}
	assert_true(json_is_object(json_object_get(reply, "parameters")));
}

static void expect_ok_free(json_t *reply)
{
	expect_ok(reply);
	json_decref(reply);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}
