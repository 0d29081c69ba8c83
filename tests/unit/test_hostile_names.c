/* SPDX-License-Identifier: MIT */
/*
 * Names anyone can choose, from where they are read to where they are shown: a process
 * named with a UTF-8 character cut by the kernel, or with an ANSI escape, must not make
 * the Status reply fail (it did: jansson refuses invalid UTF-8, for every client) nor reach
 * a terminal raw.
 */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "portcheck/listener.h"
#include "portcheck/render.h"
#include "portcheck/report.h"
#include "portcheck/util.h"

/* What the kernel writes for prctl(PR_SET_NAME) of "abcdefghijklm中" (cut to 15 bytes, in
 * the middle of the character), of "\e[31mred" and of "a\b". */
#define COMM_SPLIT "abcdefghijklm\xe4\xb8"
#define COMM_ESC "\033[31mred"
#define COMM_BACKSLASH "a\\b"
#define NAME_SPLIT "abcdefghijklm\\xe4\\xb8"
#define NAME_ESC "\\x1b[31mred"
#define NAME_BACKSLASH "a\\\\b"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

/* root/PID/comm holding @comm and the kernel's newline, root/PID/fd/3 -> socket:[@inode]. */
static void mk_pid(const char *root, int pid, const char *comm, unsigned inode)
{
	char path[4096], target[64], *content;

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
	assert_true(asprintf(&content, "%s\n", comm) > 0);
	write_file(path, content);
	free(content);
	snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/fd/3", root, pid);
	snprintf(target, sizeof(target), "socket:[%u]", inode);
	assert_int_equal(symlink(target, path), 0);
}

/* Three listeners owned by processes with hostile names, through pc_procmap_resolve. */
static void resolve(struct pc_listener_set *set)
{
	char root[] = "/tmp/pc-hostile-XXXXXX";

	assert_non_null(mkdtemp(root));
	mk_pid(root, 100, COMM_SPLIT, 1001);
	mk_pid(root, 200, COMM_ESC, 1002);
	mk_pid(root, 300, COMM_BACKSLASH, 1003);
	set->n = 3;
	set->items = calloc(set->n, sizeof(*set->items));
	assert_non_null(set->items);
	for (size_t i = 0; i < set->n; i++) {
		set->items[i].protocol = IPPROTO_TCP;
		set->items[i].addr.family = AF_INET;
		set->items[i].port = (uint16_t)(8001 + i);
		set->items[i].inode = 1001 + i;
	}
	assert_int_equal(pc_procmap_resolve(root, set), 0);
	assert_int_equal(nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void test_procmap(void **state)
{
	struct pc_listener_set set = {};

	resolve(&set);
	assert_int_equal(set.items[0].pid, 100);
	assert_string_equal(set.items[0].comm, NAME_SPLIT);
	assert_string_equal(set.items[1].comm, NAME_ESC);
	assert_string_equal(set.items[2].comm, NAME_BACKSLASH);
	pc_listener_set_free(&set);
}

/* A report of the listeners, each with one path on an interface named by anyone with
 * CAP_NET_ADMIN in a namespace (ESC and a stray byte, as rtnl sanitised it). */
static void mk_report(const struct pc_listener_set *set, struct pc_report *r)
{
	*r = (struct pc_report){.nft_read = true, .nft_genid = 1};
	r->listeners = calloc(set->n, sizeof(*r->listeners));
	assert_non_null(r->listeners);
	r->n_listeners = set->n;
	for (size_t i = 0; i < set->n; i++) {
		struct pc_listener_report *lr = &r->listeners[i];

		lr->listener = set->items[i];
		lr->listener.unit = NULL;
		lr->exposure = PC_EXPOSURE_BLOCKED;
		lr->families = PC_FAMILY_IPV4;
		lr->paths = calloc(1, sizeof(*lr->paths));
		assert_non_null(lr->paths);
		lr->n_paths = 1;
		snprintf(lr->paths[0].interface, sizeof(lr->paths[0].interface), "%s",
			 "e\\x1b[1m\\xff");
		lr->paths[0].family = AF_INET;
		lr->paths[0].source = strdup("any");
		lr->paths[0].verdict = PC_VERDICT_DROP;
		lr->paths[0].fw_verdict = PC_VERDICT_UNKNOWN;
		lr->paths[0].reason = strdup("dropped");
		assert_non_null(lr->paths[0].source);
		assert_non_null(lr->paths[0].reason);
	}
}

static json_t *status_json(void)
{
	struct pc_listener_set set = {};
	struct pc_report report;
	json_t *j = NULL;

	resolve(&set);
	mk_report(&set, &report);
	assert_int_equal(pc_report_to_json(&report, &j), 0);
	assert_non_null(j);
	pc_report_clear(&report);
	pc_listener_set_free(&set);
	return j;
}

static const char *process_name(const json_t *j, size_t i)
{
	const json_t *l = json_array_get(json_object_get(j, "listeners"), i);

	return json_string_value(json_object_get(json_object_get(l, "process"), "name"));
}

/* The reply is built, its text is valid JSON and says which bytes the names held. */
static void test_report_json(void **state)
{
	json_t *j = status_json(), *back;
	json_error_t err;
	char *text = json_dumps(j, JSON_COMPACT);

	assert_non_null(text);
	back = json_loads(text, 0, &err);
	if (!back)
		fail_msg("invalid JSON: %s: %s", err.text, text);
	assert_string_equal(process_name(back, 0), NAME_SPLIT);
	assert_string_equal(process_name(back, 1), NAME_ESC);
	assert_string_equal(process_name(back, 2), NAME_BACKSLASH);
	json_decref(back);
	free(text);
	json_decref(j);
}

/* A name that escaped sanitising is a bug, and is called that: not "out of memory". */
static void test_invalid_is_not_enomem(void **state)
{
	struct pc_listener_set set = {};
	struct pc_report report;
	json_t *j = NULL;

	resolve(&set);
	mk_report(&set, &report);
	memcpy(report.listeners[0].listener.comm, COMM_SPLIT, sizeof(COMM_SPLIT));
	assert_int_equal(pc_report_to_json(&report, &j), -EILSEQ);
	assert_null(j);
	assert_int_equal(pc_path_to_json(&report.listeners[1].paths[0], &j), 0);
	json_decref(j);
	free(report.listeners[1].paths[0].reason);
	report.listeners[1].paths[0].reason = strdup("cut \xe4\xb8");
	assert_int_equal(pc_path_to_json(&report.listeners[1].paths[0], &j), -EILSEQ);
	pc_report_clear(&report);
	pc_listener_set_free(&set);
}

/* The table shows the names, escapes as text, and not one raw ESC byte. */
static void test_render(void **state)
{
	json_t *j = status_json();
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	assert_int_equal(pc_render_status(f, j, false), 0);
	assert_int_equal(fclose(f), 0);
	assert_null(strchr(buf, '\033'));
	assert_non_null(strstr(buf, NAME_ESC));
	assert_non_null(strstr(buf, NAME_SPLIT));
	free(buf);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_procmap),
	    cmocka_unit_test(test_report_json),
	    cmocka_unit_test(test_invalid_is_not_enomem),
	    cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
