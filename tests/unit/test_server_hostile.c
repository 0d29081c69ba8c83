/* SPDX-License-Identifier: MIT */
/*
 * The Varlink server against clients that leave, trickle, hoard connections or hang up
 * right after a oneway call: the lifetimes of connections across one batch of events,
 * the message deadline, per-user limits and eviction, deferred replies given from
 * inside their handler.
 */
#include "server_fixture.h"

#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <sys/syscall.h>

static void release_now(struct fixture *f)
{
	assert_int_equal(write(f->release_pipe[1], "x", 1), 1);
}

static json_t *notes_of(struct fixture *f)
{
	struct client c;
	json_t *r;

	client_open(&c, f->path);
	r = client_call(&c, "{\"method\":\"test.Notes\"}");
	client_close(&c);
	expect_ok(r);
	return r;
}

static int note_count(struct fixture *f, const char *key)
{
	json_t *r = notes_of(f);
	int n = (int)json_integer_value(json_object_get(json_object_get(r, "parameters"), key));

	json_decref(r);
	return n;
}

/*
 * A deferred reply delivered to a client that has hung up, in the same batch of events
 * as that client's hangup: the delivery closes the connection (EPIPE) and the hangup
 * event after it must not touch the freed connection. The loop is held by a slow call
 * while both become ready, so that one epoll_wait returns them together, the pipe's
 * first (the kernel reports them in the order they became ready).
 */
static void test_reply_to_gone_client_in_one_batch(void **state)
{
	struct fixture *f = fixture_new();

	fixture_start(f);
	for (int round = 0; round < 10; round++) {
		struct client a, b;

		client_open(&a, f->path);
		client_open(&b, f->path);
		client_send(&a, "{\"method\":\"test.Defer\"}");
		sleep_ms(30);
		client_send(&b, "{\"method\":\"test.Sleep\",\"parameters\":{\"ms\":150}}");
		sleep_ms(30); /* the loop is in the handler now */
		release_now(f);
		sleep_ms(5);
		client_close(&a);
		expect_ok_free(client_recv(&b));
		client_close(&b);
	}
	/* Still serving. */
	{
		struct client c;

		client_open(&c, f->path);
		expect_ok_free(client_call(&c, "{\"method\":\"test.Echo\"}"));
		client_close(&c);
	}
	fixture_stop(f);
}

/* The owner of a deferred call learns that its client went, and may still pass the
 * token back (the reply is dropped). */
static void test_gone_callback(void **state)
{
	struct fixture *f = fixture_new();
	struct client a;

	fixture_start(f);
	client_open(&a, f->path);
	client_send(&a, "{\"method\":\"test.DeferWatched\"}");
	sleep_ms(50);
	client_close(&a);
	for (int i = 0; i < 100 && note_count(f, "gone") == 0; i++)
		sleep_ms(10);
	assert_int_equal(note_count(f, "gone"), 1);
	release_now(f);
	sleep_ms(20);
	assert_int_equal(note_count(f, "gone"), 1);
	fixture_stop(f);
}

/* A oneway call followed at once by close: the call still runs (the caller asked for
 * the effect, not the answer). Sent while the loop is busy, so that the data and the
 * hangup arrive as one event. */
static void test_oneway_then_close(void **state)
{
	struct fixture *f = fixture_new();
	struct client a, b;

	fixture_start(f);
	client_open(&a, f->path);
	client_open(&b, f->path);
	expect_ok_free(client_call(&a, "{\"method\":\"test.Echo\"}")); /* accepted */
	client_send(&b, "{\"method\":\"test.Sleep\",\"parameters\":{\"ms\":150}}");
	sleep_ms(30);
	client_send(&a, "{\"method\":\"test.Note\",\"oneway\":true}");
	client_send(&a, "{\"method\":\"test.Note\",\"oneway\":true}");
	/* Not oneway: no one will read the answer, so it is not worth running. */
	client_send(&a, "{\"method\":\"test.Note\"}");
	client_close(&a);
	expect_ok_free(client_recv(&b));
	client_close(&b);
	assert_int_equal(note_count(f, "notes"), 2);
	fixture_stop(f);
}

/* A deferred call answered from inside its handler is answered like a direct one, and
 * the next pipelined call follows. */
static void test_defer_answered_at_once(void **state)
{
	struct fixture *f = fixture_new();
	struct client a;
	json_t *r;

	fixture_start(f);
	client_open(&a, f->path);
	client_send(&a, "{\"method\":\"test.DeferNow\"}");
	client_send(&a, "{\"method\":\"test.Echo\",\"parameters\":{\"name\":\"next\"}}");
	r = client_recv(&a);
	expect_ok(r);
	assert_true(json_is_true(json_object_get(json_object_get(r, "parameters"), "now")));
	json_decref(r);
	r = client_recv(&a);
	expect_ok(r);
	json_decref(r);
	client_close(&a);
	fixture_stop(f);
}

/* A message trickled in a byte at a time does not keep its connection: it has
 * request_timeout_ms from its first byte. Whole requests keep theirs. */
static void test_trickle_is_dropped(void **state)
{
	struct fixture *f = fixture_new();
	struct client slow, busy;
	bool closed = false;

	f->cfg.request_timeout_ms = 300;
	/* Far beyond the test: only the message deadline can close it in time. */
	f->cfg.idle_timeout_ms = 60000;
	fixture_start(f);
	client_open(&slow, f->path);
	client_open(&busy, f->path);
	for (int i = 0; i < 20 && !closed; i++) {
		expect_ok_free(client_call(&busy, "{\"method\":\"test.Echo\"}"));
		closed = client_send_raw(&slow, "{", 1) < 0;
		sleep_ms(100);
	}
	if (!closed)
		client_expect_closed(&slow);
	expect_ok_free(client_call(&busy, "{\"method\":\"test.Echo\"}"));
	client_close(&slow);
	client_close(&busy);
	fixture_stop(f);
}

/* A whole request pipelined behind a deferred one is not a message in progress: the
 * connection lives past the message deadline until its reply comes. */
static void test_pipelined_behind_deferred(void **state)
{
	struct fixture *f = fixture_new();
	struct client a;

	f->cfg.request_timeout_ms = 200;
	f->cfg.idle_timeout_ms = 60000;
	fixture_start(f);
	client_open(&a, f->path);
	client_send(&a, "{\"method\":\"test.Defer\"}");
	client_send(&a, "{\"method\":\"test.Echo\"}");
	sleep_ms(600); /* three deadlines */
	release_now(f);
	expect_ok_free(client_recv(&a));
	expect_ok_free(client_recv(&a));
	client_close(&a);
	fixture_stop(f);
}

/* In a child as user nobody: open @n connections and count those the server answers;
 * then, on a byte from @go, count how many of those are still answered. Reports both
 * counts on @report. */
static void nobody_connections(struct fixture *f, int n, int go, int report)
{
	struct passwd *pw = getpwnam("nobody");
	struct client c[16];
	unsigned char counts[2] = {0, 0};
	bool ok[16] = {false};
	char byte;

	if (!pw || setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		_exit(2);
	for (int i = 0; i < n; i++) {
		json_t *r;

		client_open(&c[i], f->path);
		client_send_raw(&c[i], "{\"method\":\"test.Echo\"}", 23);
		r = client_recv(&c[i]);
		ok[i] = r != NULL;
		counts[0] += ok[i];
		json_decref(r);
	}
	if (write(report, counts, 1) != 1 || read(go, &byte, 1) != 1)
		_exit(3);
	for (int i = 0; i < n; i++) {
		json_t *r;

		if (!ok[i] || client_send_raw(&c[i], "{\"method\":\"test.Echo\"}", 23) < 0)
			continue;
		r = client_recv(&c[i]);
		counts[1] += r != NULL;
		json_decref(r);
	}
	_exit(write(report, counts + 1, 1) == 1 ? 0 : 4);
}

/*
 * One user gets at most max_connections_per_user; when every slot is taken, root still
 * gets in: the oldest idle connection of the user holding the most goes.
 */
static void test_per_user_limit_and_eviction(void **state)
{
	struct fixture *f = fixture_new();
	int go[2], report[2], st;
	unsigned char n;
	struct client root[3];
	pid_t pid;

	if (geteuid() != 0 || !getpwnam("nobody")) {
		/* Without root there is no second user to hold connections. */
		print_message("SKIP part: not root, per-user eviction untested here\n");
		free(f);
		skip();
	}
	f->cfg.max_connections = 5;
	f->cfg.max_connections_per_user = 3;
	fixture_start(f);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(report, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Bounded even if the parent fails half way: EOF on @go, or the alarm. */
		close(go[1]);
		close(report[0]);
		alarm(30);
		nobody_connections(f, 5, go[0], report[1]);
	}
	close(go[0]);
	close(report[1]);
	assert_int_equal(read(report[0], &n, 1), 1);
	assert_int_equal(n, 3); /* the per-user limit */
	/* 3 of nobody's + 3 of root's > 5: root's third takes the slot of nobody's oldest. */
	for (int i = 0; i < 3; i++) {
		client_open(&root[i], f->path);
		expect_ok_free(client_call(&root[i], "{\"method\":\"test.Echo\"}"));
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(report[0], &n, 1), 1);
	assert_int_equal(n, 2);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (int i = 0; i < 3; i++)
		client_close(&root[i]);
	close(go[1]);
	close(report[0]);
	fixture_stop(f);
}

/* Drop CAP_KILL from this process's effective set, as the unit's bounding set leaves
 * it out. Returns 0 or -errno. */
static int drop_cap_kill(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &h, data) < 0)
		return -errno;
	data[CAP_KILL / 32].effective &= ~(1u << (CAP_KILL % 32));
	data[CAP_KILL / 32].permitted &= ~(1u << (CAP_KILL % 32));
	return syscall(SYS_capset, &h, data) < 0 ? -errno : 0;
}

/*
 * The caller's start time is established for another user's process by a daemon
 * without CAP_KILL (the shipped unit's capabilities): otherwise no one but root could
 * ever be asked about to polkit.
 */
static void test_peer_identified_without_cap_kill(void **state)
{
	char dir[] = "/tmp/pc-test-peer-XXXXXX", path[64];
	struct passwd *pw = getpwnam("nobody");
	int lfd, st;
	pid_t server, client;

	if (geteuid() != 0 || !pw) {
		print_message("SKIP part: not root, no other user's process to identify\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/s", dir);
	assert_int_equal(pc_server_listen_path(path, &lfd), 0);
	server = fork();
	assert_true(server >= 0);
	if (server == 0) {
		struct pc_peer peer;
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int fd;

		alarm(10);
		if (drop_cap_kill() < 0 || poll(&p, 1, 5000) != 1)
			_exit(2);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 || pc_peer_read(fd, &peer) < 0)
			_exit(3);
		_exit(peer.uid == pw->pw_uid && peer.start_time != 0 ? 0 : 1);
	}
	client = fork();
	assert_true(client >= 0);
	if (client == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd;

		alarm(10);
		strcpy(sa.sun_path, path);
		if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
			_exit(2);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(3);
		sleep_ms(2000); /* alive while the server looks */
		_exit(0);
	}
	assert_int_equal(waitpid(server, &st, 0), server);
	kill(client, SIGKILL);
	waitpid(client, NULL, 0);
	close(lfd);
	unlink(path);
	rmdir(dir);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reply_to_gone_client_in_one_batch),
	    cmocka_unit_test(test_gone_callback),
	    cmocka_unit_test(test_oneway_then_close),
	    cmocka_unit_test(test_defer_answered_at_once),
	    cmocka_unit_test(test_trickle_is_dropped),
	    cmocka_unit_test(test_pipelined_behind_deferred),
	    cmocka_unit_test(test_per_user_limit_and_eviction),
	    cmocka_unit_test(test_peer_identified_without_cap_kill),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
