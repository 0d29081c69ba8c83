/* SPDX-License-Identifier: MIT */
/*
 * The Varlink server, run in-process in a thread on a socket in a temporary directory,
 * with a method table of its own: concurrency, limits, errors, authorization. Clients
 * are plain blocking sockets with receive timeouts, so a server bug fails a test instead
 * of hanging it.
 */
#include "server_fixture.h"

/* ---- tests ---- */

static void test_get_info(void **state)
{
	struct fixture *f = fixture_new();
	struct pc_varlink_reply reply;
	json_t *ifaces, *params;
	int fd;

	fixture_start(f);
	/* Through the real client library. */
	assert_int_equal(pc_varlink_connect(f->path, 5000, &fd), 0);
	assert_int_equal(pc_varlink_call(fd, "org.varlink.service.GetInfo", NULL, 5000, &reply), 0);
	assert_null(reply.error);
	assert_string_equal(json_string_value(json_object_get(reply.parameters, "vendor")),
			    "portcheck");
	assert_string_equal(json_string_value(json_object_get(reply.parameters, "product")),
			    "portcheck-test");
	assert_string_equal(json_string_value(json_object_get(reply.parameters, "version")), "9.9");
	assert_string_equal(json_string_value(json_object_get(reply.parameters, "url")),
			    "https://example.org/");
	ifaces = json_object_get(reply.parameters, "interfaces");
	assert_int_equal(json_array_size(ifaces), 2);
	assert_string_equal(json_string_value(json_array_get(ifaces, 0)), "org.varlink.service");
	assert_string_equal(json_string_value(json_array_get(ifaces, 1)), "test");
	pc_varlink_reply_clear(&reply);

	/* GetInfo takes no parameters. */
	params = json_pack("{s:i}", "verbose", 1);
	assert_int_equal(pc_varlink_call(fd, "org.varlink.service.GetInfo", params, 5000, &reply),
			 0);
	json_decref(params);
	assert_string_equal(reply.error, PC_VARLINK_ERROR_INVALID_PARAMETER);
	assert_string_equal(json_string_value(json_object_get(reply.parameters, "parameter")),
			    "verbose");
	pc_varlink_reply_clear(&reply);
	close(fd);
	fixture_stop(f);
}

static void test_get_interface_description(void **state)
{
	struct fixture *f = fixture_new();
	struct client c;
	json_t *r;

	fixture_start(f);
	client_open(&c, f->path);

	r = client_call(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
			    "\"parameters\":{\"interface\":\"test\"}}");
	expect_ok(r);
	assert_string_equal(param_str(r, "description"), TEST_IDL);
	json_decref(r);

	r = client_call(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
			    "\"parameters\":{\"interface\":\"org.varlink.service\"}}");
	expect_ok(r);
	assert_non_null(strstr(param_str(r, "description"), "interface org.varlink.service\n"));
	json_decref(r);

	expect_error(client_call(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
				     "\"parameters\":{\"interface\":\"io.nothing\"}}"),
		     PC_VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", "io.nothing");
	expect_error(
	    client_call(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\"}"),
	    PC_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "interface");
	expect_error(client_call(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
				     "\"parameters\":{\"interface\":7}}"),
		     PC_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "interface");
	expect_error(client_call(&c, "{\"method\":\"org.varlink.service.GetInterfaceDescription\","
				     "\"parameters\":{\"interface\":\"test\",\"x\":1}}"),
		     PC_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "x");
	client_close(&c);
	fixture_stop(f);
}

static void test_io_portcheck_idl(void **state)
{
	/* The served IDL names the interface, the method and the errors the daemon sends. */
	const char *idl = pc_varlink_idl_io_portcheck;

	assert_non_null(strstr(idl, "\ninterface io.portcheck\n"));
	assert_non_null(strstr(idl, "\nmethod Status(fresh: ?bool) -> ("));
	assert_non_null(strstr(idl, "\nerror ReadFailed (reason: string)\n"));
	assert_non_null(strstr(idl, "\nerror ProtocolError (reason: string)\n"));
	assert_non_null(strstr(idl, "  listeners: []Listener\n"));
	assert_int_equal(idl[strlen(idl) - 1], '\n');
}

static void test_unknown_method(void **state)
{
	struct fixture *f = fixture_new();
	struct client c;

	fixture_start(f);
	client_open(&c, f->path);
	expect_error(client_call(&c, "{\"method\":\"test.Nope\"}"),
		     PC_VARLINK_ERROR_METHOD_NOT_FOUND, "method", "test.Nope");
	expect_error(client_call(&c, "{\"method\":\"org.varlink.service.Nope\"}"),
		     PC_VARLINK_ERROR_METHOD_NOT_FOUND, "method", "org.varlink.service.Nope");
	expect_error(client_call(&c, "{\"method\":\"com.example.Thing\"}"),
		     PC_VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", "com.example");
	/* The connection is still good. */
	expect_ok_free(client_call(&c, "{\"method\":\"test.Echo\"}"));
	client_close(&c);
	fixture_stop(f);
}

static void test_invalid_parameter(void **state)
{
	struct fixture *f = fixture_new();
	struct client c;
	json_t *r;

	fixture_start(f);
	client_open(&c, f->path);
	expect_error(client_call(&c, "{\"method\":\"test.Echo\",\"parameters\":{\"name\":5}}"),
		     PC_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "name");
	r = client_call(&c, "{\"method\":\"test.Echo\",\"parameters\":{\"name\":\"x\"}}");
	expect_ok(r);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(r, "parameters"), "echo"), "name")),
			    "x");
	json_decref(r);
	client_close(&c);
	fixture_stop(f);
}

static void test_permission_denied(void **state)
{
	struct fixture *f = fixture_new();
	struct client c;

	f->deny_echo = true;
	fixture_start(f);
	client_open(&c, f->path);
	expect_error(client_call(&c, "{\"method\":\"test.Echo\"}"),
		     PC_VARLINK_ERROR_PERMISSION_DENIED, NULL, NULL);
	/* Other methods are up to the callback too: here allowed. */
	expect_ok_free(client_call(&c, "{\"method\":\"org.varlink.service.GetInfo\"}"));
	client_close(&c);
	fixture_stop(f);
}

static void test_flags(void **state)
{
	struct fixture *f = fixture_new();
	struct client c;
	json_t *r;

	fixture_start(f);
	client_open(&c, f->path);
	expect_error(client_call(&c, "{\"method\":\"test.Echo\",\"more\":true}"),
		     PC_VARLINK_ERROR_METHOD_NOT_IMPLEMENTED, "method", "test.Echo");
	expect_error(client_call(&c, "{\"method\":\"test.Echo\",\"upgrade\":true}"),
		     PC_VARLINK_ERROR_METHOD_NOT_IMPLEMENTED, "method", "test.Echo");

	/* oneway: no reply at all, errors included; the next call's reply comes next. */
	client_send(&c,
		    "{\"method\":\"test.Echo\",\"oneway\":true,\"parameters\":{\"name\":\"1\"}}");
	client_send(&c, "{\"method\":\"test.Nope\",\"oneway\":true}");
	r = client_call(&c, "{\"method\":\"test.Echo\",\"parameters\":{\"name\":\"2\"}}");
	expect_ok(r);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(r, "parameters"), "echo"), "name")),
			    "2");
	json_decref(r);
	client_close(&c);
	fixture_stop(f);
}

static void test_pipelined_and_split(void **state)
{
	static const char two[] = "{\"method\":\"test.Echo\",\"parameters\":{\"name\":\"a\"}}\0"
				  "{\"method\":\"test.Echo\",\"parameters\":{\"name\":\"b\"}}";
	static const char one[] = "{\"method\":\"test.Echo\",\"parameters\":{\"name\":\"c\"}}";
	struct fixture *f = fixture_new();
	struct client c;
	const char *names = "abc";

	fixture_start(f);
	client_open(&c, f->path);
	/* Two requests in one write. */
	assert_int_equal(client_send_raw(&c, two, sizeof(two)), 0);
	/* One request trickling in. */
	for (size_t i = 0; i < sizeof(one); i++) {
		assert_int_equal(client_send_raw(&c, one + i, 1), 0);
		if (i % 16 == 0)
			sleep_ms(1);
	}
	/* Replies in order. */
	for (int i = 0; i < 3; i++) {
		json_t *r = client_recv(&c);
		char want[2] = {names[i], 0};

		expect_ok(r);
		assert_string_equal(
		    json_string_value(json_object_get(
			json_object_get(json_object_get(r, "parameters"), "echo"), "name")),
		    want);
		json_decref(r);
	}
	client_close(&c);
	fixture_stop(f);
}

static void test_malformed_closes(void **state)
{
	static const char *const bad[] = {
	    "{\"method\":",	     "not json", "{\"method\":\"test.Echo\",\"parameters\":[]}",
	    "{\"method\":\"Echo\"}", "",
	};
	struct fixture *f = fixture_new();

	fixture_start(f);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct client c;

		client_open(&c, f->path);
		client_send(&c, bad[i]);
		/* Anything after the bad message is not looked at (and may find the
		 * connection closed already). */
		client_send_raw(&c, "{\"method\":\"test.Echo\"}", 23);
		expect_error(client_recv(&c), PC_VARLINK_ERROR_PROTOCOL, NULL, NULL);
		client_expect_closed(&c);
		client_close(&c);
	}
	fixture_stop(f);
}

static void test_oversize_closes(void **state)
{
	struct fixture *f = fixture_new();
	size_t n = PC_VARLINK_MAX_REQUEST + 1000;
	char *big = malloc(n);
	struct client c;
	json_t *r;

	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "{\"method\":\"test.Echo\",\"parameters\":{\"name\":\"", 44);
	memcpy(big + n - 4, "\"}}", 4); /* with the NUL */
	fixture_start(f);
	client_open(&c, f->path);
	/* The server may close before taking it all. */
	client_send_raw(&c, big, n);
	r = client_recv(&c);
	assert_non_null(r);
	assert_string_equal(error_of(r), PC_VARLINK_ERROR_PROTOCOL);
	assert_non_null(strstr(param_str(r, "reason"), "larger than"));
	json_decref(r);
	client_expect_closed(&c);
	client_close(&c);

	/* Just under the limit is served. */
	n = PC_VARLINK_MAX_REQUEST;
	memcpy(big + n - 4, "\"}}", 4);
	client_open(&c, f->path);
	assert_int_equal(client_send_raw(&c, big, n), 0);
	expect_ok(r = client_recv(&c));
	json_decref(r);
	client_close(&c);
	free(big);
	fixture_stop(f);
}

static void test_truncated_at_eof(void **state)
{
	struct fixture *f = fixture_new();
	struct client c;

	fixture_start(f);
	client_open(&c, f->path);
	assert_int_equal(client_send_raw(&c, "{\"method\":\"test.Echo\"}", 22), 0); /* no NUL */
	shutdown(c.fd, SHUT_WR);
	expect_error(client_recv(&c), PC_VARLINK_ERROR_PROTOCOL, "reason",
		     "connection closed in the middle of a message");
	client_expect_closed(&c);
	client_close(&c);

	/* A complete request followed by a half-close is still answered. */
	client_open(&c, f->path);
	client_send(&c, "{\"method\":\"test.Echo\"}");
	shutdown(c.fd, SHUT_WR);
	expect_ok_free(client_recv(&c));
	client_expect_closed(&c);
	client_close(&c);
	fixture_stop(f);
}

static void test_many_clients(void **state)
{
	enum { N = 200 };
	struct fixture *f = fixture_new();
	struct client *c = calloc(N, sizeof(*c));

	assert_non_null(c);
	fixture_start(f);
	/* All connected and waiting at once, served in any order. */
	for (int i = 0; i < N; i++)
		client_open(&c[i], f->path);
	for (int i = 0; i < N; i++) {
		char req[96];

		snprintf(req, sizeof(req),
			 "{\"method\":\"test.Echo\",\"parameters\":{\"name\":\"%d\"}}", i);
		client_send(&c[i], req);
	}
	for (int i = N - 1; i >= 0; i--) {
		json_t *r = client_recv(&c[i]);
		char want[16];

		snprintf(want, sizeof(want), "%d", i);
		expect_ok(r);
		assert_string_equal(
		    json_string_value(json_object_get(
			json_object_get(json_object_get(r, "parameters"), "echo"), "name")),
		    want);
		json_decref(r);
		client_close(&c[i]);
	}
	free(c);
	fixture_stop(f);
}

static void test_silent_clients_do_not_block(void **state)
{
	struct fixture *f = fixture_new();
	struct client silent, half, hog, c;
	struct timespec t0, t1;
	json_t *r;

	fixture_start(f);
	client_open(&silent, f->path); /* says nothing */
	client_open(&half, f->path);   /* half a request, then nothing */
	assert_int_equal(client_send_raw(&half, "{\"method\":\"test.", 16), 0);
	client_open(&hog, f->path); /* asks for 8 MiB and does not read it */
	client_send(&hog, "{\"method\":\"test.Big\",\"parameters\":{\"size\":8388608}}");
	client_send(&hog, "{\"method\":\"test.Big\",\"parameters\":{\"size\":8388608}}");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	client_open(&c, f->path);
	for (int i = 0; i < 20; i++) {
		r = client_call(&c, "{\"method\":\"org.varlink.service.GetInfo\"}");
		expect_ok(r);
		json_decref(r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Far below any timeout: nobody waited for the others. */
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2000);

	/* The hog gets its replies once it reads, in order, complete. */
	for (int i = 0; i < 2; i++) {
		r = client_recv(&hog);
		expect_ok(r);
		assert_int_equal(strlen(param_str(r, "data")), 8388608);
		json_decref(r);
	}
	client_close(&c);
	client_close(&hog);
	client_close(&half);
	client_close(&silent);
	fixture_stop(f);
}

static void test_idle_timeout(void **state)
{
	struct fixture *f = fixture_new();
	struct client idle, busy;
	struct timespec t0, t1;
	long ms;

	f->cfg.idle_timeout_ms = 300;
	fixture_start(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	client_open(&idle, f->path);
	client_open(&busy, f->path);
	/* Active every 100 ms for 600 ms: twice the timeout, never idle for long. */
	for (int i = 0; i < 6; i++) {
		json_t *r = client_call(&busy, "{\"method\":\"test.Echo\"}");

		expect_ok(r);
		json_decref(r);
		sleep_ms(100);
	}
	client_expect_closed(&idle);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 300 && ms < 3000);
	expect_ok_free(client_call(&busy, "{\"method\":\"test.Echo\"}"));
	client_close(&busy);
	client_close(&idle);
	fixture_stop(f);
}

/*
 * A deferred reply: the loop serves others meanwhile, the waiting client is not dropped
 * as idle, its pipelined request waits its turn, and a client that hangs up before the
 * reply costs nothing.
 */
static void test_deferred_reply(void **state)
{
	struct fixture *f = fixture_new();
	struct client a, b, gone;
	json_t *r;

	f->cfg.idle_timeout_ms = 300;
	fixture_start(f);
	client_open(&a, f->path);
	client_open(&b, f->path);
	client_open(&gone, f->path);
	client_send(&a, "{\"method\":\"test.Defer\"}");
	client_send(&a, "{\"method\":\"test.Echo\",\"parameters\":{\"name\":\"after\"}}");
	client_send(&gone, "{\"method\":\"test.Defer\"}");
	sleep_ms(100);
	client_close(&gone);
	/* Twice the idle timeout: b keeps itself alive, a waits for its reply. */
	for (int i = 0; i < 6; i++) {
		expect_ok_free(client_call(&b, "{\"method\":\"test.Echo\"}"));
		sleep_ms(100);
	}
	r = client_call(&b, "{\"method\":\"test.Release\"}");
	expect_ok(r);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(r, "parameters"), "released")), 2);
	json_decref(r);
	r = client_recv(&a);
	expect_ok(r);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(r, "parameters"), "done")), 0);
	json_decref(r);
	r = client_recv(&a);
	expect_ok(r);
	/* The pipelined Echo is answered after the deferred reply, in order. */
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(r, "parameters"), "echo"), "name")),
			    "after");
	json_decref(r);
	expect_ok_free(client_call(&b, "{\"method\":\"test.Echo\"}"));
	client_close(&a);
	client_close(&b);
	fixture_stop(f);
}

static void test_max_connections(void **state)
{
	enum { MAX = 4 };
	struct fixture *f = fixture_new();
	struct client c[MAX], extra;
	json_t *r = NULL;

	f->cfg.max_connections = MAX;
	fixture_start(f);
	for (int i = 0; i < MAX; i++) {
		client_open(&c[i], f->path);
		/* A round trip: the server has accepted it. */
		expect_ok(r = client_call(&c[i], "{\"method\":\"test.Echo\"}"));
		json_decref(r);
	}
	client_open(&extra, f->path);
	client_send_raw(&extra, "{\"method\":\"test.Echo\"}", 23); /* may be closed already */
	client_expect_closed(&extra);
	client_close(&extra);

	/* A slot frees: new connections are served again. */
	client_close(&c[0]);
	for (int tries = 0; tries < 100; tries++) {
		client_open(&extra, f->path);
		client_send_raw(&extra, "{\"method\":\"test.Echo\"}", 23);
		r = client_recv(&extra);
		client_close(&extra);
		if (r)
			break;
		sleep_ms(10);
	}
	expect_ok(r);
	json_decref(r);
	for (int i = 1; i < MAX; i++)
		client_close(&c[i]);
	fixture_stop(f);
}

static void test_request_limit(void **state)
{
	struct fixture *f = fixture_new();
	struct client c;
	json_t *r;

	f->cfg.max_requests = 3;
	fixture_start(f);
	client_open(&c, f->path);
	for (int i = 0; i < 3; i++) {
		expect_ok(r = client_call(&c, "{\"method\":\"test.Echo\"}"));
		json_decref(r);
	}
	expect_error(client_call(&c, "{\"method\":\"test.Echo\"}"), PC_VARLINK_ERROR_PROTOCOL, NULL,
		     NULL);
	client_expect_closed(&c);
	client_close(&c);
	fixture_stop(f);
}

static void test_output_limit_and_handler_failure(void **state)
{
	struct fixture *f = fixture_new();
	struct client c;
	json_t *r;

	f->cfg.max_output = 100000;
	fixture_start(f);

	client_open(&c, f->path);
	expect_ok(r = client_call(&c, "{\"method\":\"test.Big\",\"parameters\":{\"size\":1000}}"));
	json_decref(r);
	/* A reply over the output limit costs the connection. */
	client_send(&c, "{\"method\":\"test.Big\",\"parameters\":{\"size\":200000}}");
	client_expect_closed(&c);
	client_close(&c);

	/* So does a handler that cannot answer at all. */
	client_open(&c, f->path);
	client_send(&c, "{\"method\":\"test.Fail\"}");
	client_expect_closed(&c);
	client_close(&c);

	/* The server is unaffected. */
	client_open(&c, f->path);
	expect_ok(r = client_call(&c, "{\"method\":\"test.Echo\"}"));
	json_decref(r);
	client_close(&c);
	fixture_stop(f);
}

static void test_peer_credentials(void **state)
{
	struct fixture *f = fixture_new();
	gid_t groups[256];
	int n = getgroups(ELEMENTSOF(groups), groups);
	struct client c;
	json_t *r, *p;

	assert_true(n >= 0);
	fixture_start(f);
	client_open(&c, f->path);
	r = client_call(&c, "{\"method\":\"test.Whoami\"}");
	expect_ok(r);
	p = json_object_get(r, "parameters");
	assert_int_equal(json_integer_value(json_object_get(p, "pid")), getpid());
	assert_int_equal(json_integer_value(json_object_get(p, "uid")), geteuid());
	assert_int_equal(json_integer_value(json_object_get(p, "gid")), getegid());
	if (json_is_true(json_object_get(p, "have_groups"))) {
		assert_int_equal(json_array_size(json_object_get(p, "groups")), n);
		for (int i = 0; i < n; i++)
			assert_int_equal(
			    json_integer_value(json_array_get(json_object_get(p, "groups"), i)),
			    groups[i]);
	}
	json_decref(r);
	client_close(&c);
	fixture_stop(f);
}

static void test_peer_in_group(void **state)
{
	gid_t groups[256], listed[] = {4242, 4343};
	int n = getgroups(ELEMENTSOF(groups), groups);
	struct pc_peer self = {.pid = getpid(), .uid = geteuid(), .gid = getegid()};
	struct pc_peer given = {.pid = getpid(),
				.uid = geteuid(),
				.gid = 4141,
				.groups = listed,
				.n_groups = 2,
				.have_groups = true};
	gid_t absent = 54321;

	assert_true(n >= 0);
	/* Without SO_PEERGROUPS data: /proc/PID/status of this very process. */
	assert_int_equal(pc_peer_in_group(&self, getegid()), 1);
	for (int i = 0; i < n; i++)
		assert_int_equal(pc_peer_in_group(&self, groups[i]), 1);
	for (int i = 0; i < n; i++)
		assert_true(groups[i] != absent);
	assert_int_equal(pc_peer_in_group(&self, absent), 0);

	/* With them, they decide. */
	assert_int_equal(pc_peer_in_group(&given, 4141), 1);
	assert_int_equal(pc_peer_in_group(&given, 4343), 1);
	assert_int_equal(pc_peer_in_group(&given, absent), 0);

	/* A pid that is not the peer's (here: uid mismatch) falls back to the user database,
	 * which does not list the made-up group. */
	self.uid = geteuid() + 1000;
	self.gid = 4141;
	assert_true(pc_peer_in_group(&self, absent) <= 0);
}

static void test_listen_path(void **state)
{
	char dir[64] = "/tmp/pc-test-listen-XXXXXX", path[160], sub[128], longpath[200];
	struct stat st;
	mode_t old;
	int fd, fd2;

	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	snprintf(path, sizeof(path), "%s/sock", sub);

	/* Parent directories created 0755, the socket 0666, whatever the umask. */
	old = umask(077);
	assert_int_equal(pc_server_listen_path(path, &fd), 0);
	umask(old);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0666);

	/* Someone listens: not replaced. */
	assert_int_equal(pc_server_listen_path(path, &fd2), -EADDRINUSE);
	/* Nobody listens any more: the stale socket is replaced. */
	close(fd);
	assert_int_equal(pc_server_listen_path(path, &fd), 0);
	close(fd);

	/* Anything but a socket is left alone. */
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pc_server_listen_path(path, &fd), -EEXIST);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(pc_server_listen_path(longpath, &fd), -ENAMETOOLONG);
	assert_int_equal(pc_server_listen_path("", &fd), -EINVAL);

	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/a", dir);
	rmdir(sub);
	rmdir(dir);
}

static void test_signal_exits(void **state)
{
	char dir[64] = "/tmp/pc-test-signal-XXXXXX", path[128];
	int status, fd = -1;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pc_server_config cfg = {.handle_signals = true};
		struct pc_server *s;
		int lfd, r;

		if (pc_server_listen_path(path, &lfd) < 0 || pc_server_new(&cfg, lfd, &s) < 0)
			_exit(10);
		r = pc_server_run(s);
		pc_server_free(s);
		_exit(r == SIGTERM ? 0 : 11);
	}
	/* Wait until it serves, then ask it to stop. */
	for (int tries = 0; tries < 500; tries++) {
		if (pc_varlink_connect(path, 1000, &fd) == 0)
			break;
		sleep_ms(10);
	}
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(path);
	rmdir(dir);
}

static void test_client_errors(void **state)
{
	char dir[64] = "/tmp/pc-test-client-XXXXXX", path[128];
	struct pc_varlink_reply reply;
	int fd, sv[2];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none.sock", dir);
	assert_int_equal(pc_varlink_connect(path, 1000, &fd), -ENOENT);
	rmdir(dir);

	/* A peer that never answers: the call times out. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(pc_varlink_call(sv[0], "a.B", NULL, 100, &reply), -ETIMEDOUT);
	/* A peer that answers garbage. */
	assert_int_equal(send(sv[1], "[1]", 4, 0), 4);
	assert_int_equal(pc_varlink_call(sv[0], "a.B", NULL, 1000, &reply), -EBADMSG);
	/* A peer that hangs up. */
	close(sv[1]);
	assert_int_equal(pc_varlink_call(sv[0], "a.B", NULL, 1000, &reply), -ECONNRESET);
	close(sv[0]);

	assert_string_equal(pc_varlink_socket_path("/x"), "/x");
	setenv("PORTCHECK_SOCKET", "/y", 1);
	assert_string_equal(pc_varlink_socket_path(NULL), "/y");
	setenv("PORTCHECK_SOCKET", "", 1);
	assert_string_equal(pc_varlink_socket_path(NULL), PC_SOCKET_PATH_DEFAULT);
	unsetenv("PORTCHECK_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_info),
	    cmocka_unit_test(test_get_interface_description),
	    cmocka_unit_test(test_io_portcheck_idl),
	    cmocka_unit_test(test_unknown_method),
	    cmocka_unit_test(test_invalid_parameter),
	    cmocka_unit_test(test_permission_denied),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_pipelined_and_split),
	    cmocka_unit_test(test_malformed_closes),
	    cmocka_unit_test(test_oversize_closes),
	    cmocka_unit_test(test_truncated_at_eof),
	    cmocka_unit_test(test_many_clients),
	    cmocka_unit_test(test_silent_clients_do_not_block),
	    cmocka_unit_test(test_idle_timeout),
	    cmocka_unit_test(test_deferred_reply),
	    cmocka_unit_test(test_max_connections),
	    cmocka_unit_test(test_request_limit),
	    cmocka_unit_test(test_output_limit_and_handler_failure),
	    cmocka_unit_test(test_peer_credentials),
	    cmocka_unit_test(test_peer_in_group),
	    cmocka_unit_test(test_listen_path),
	    cmocka_unit_test(test_signal_exits),
	    cmocka_unit_test(test_client_errors),
	};

	/* A server closing on us must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
