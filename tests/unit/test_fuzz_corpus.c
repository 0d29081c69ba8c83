/* SPDX-License-Identifier: MIT */
/*
 * The fuzzers' seed corpora and crash reproducers (tests/fuzz/corpus/TARGET/) through the
 * same harness bodies the fuzzers run (tests/fuzz/fuzz_*.h), in an ordinary build: a bug
 * a fuzzer found stays fixed without clang or libFuzzer. A broken property aborts.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../fuzz/fuzz_check.h"
#include "../fuzz/fuzz_config.h"
#include "../fuzz/fuzz_exposure_track.h"
#include "../fuzz/fuzz_firewalld.h"
#include "../fuzz/fuzz_fwspec.h"
#include "../fuzz/fuzz_netlink.h"
#include "../fuzz/fuzz_varlink_server.h"

#define CORPUS_DIR PC_TEST_DATA_DIR "/../../fuzz/corpus"

static void replay(const char *target, int (*one)(const uint8_t *data, size_t size))
{
	char dir[4096];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", CORPUS_DIR, target);
	d = opendir(dir);
	if (!d)
		fail_msg("%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		char path[8192];
		char *buf = NULL;
		size_t size = 0, got;
		uint8_t chunk[4096];
		FILE *f, *m;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "re");
		assert_non_null(f);
		m = open_memstream(&buf, &size);
		assert_non_null(m);
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, got, m);
		fclose(f);
		assert_int_equal(fclose(m), 0);
		print_message("%s/%s\n", target, de->d_name);
		assert_int_equal(one((const uint8_t *)buf, size), 0);
		free(buf);
		n++;
	}
	closedir(d);
	if (!n)
		fail_msg("%s: empty corpus", dir);
}

static void test_config(void **state)
{
	replay("config", pc_fuzz_config_one);
}

static void test_exposure_track(void **state)
{
	replay("exposure_track", pc_fuzz_exposure_track_one);
}

static void test_check(void **state)
{
	replay("check", pc_fuzz_check_one);
}

static void test_netlink(void **state)
{
	replay("netlink", pc_fuzz_netlink_one);
}

static void test_varlink_server(void **state)
{
	replay("varlink_server", pc_fuzz_varlink_server_one);
}

static void test_fwspec(void **state)
{
	replay("fwspec", pc_fuzz_fwspec_one);
}

static void test_firewalld(void **state)
{
	replay("firewalld", pc_fuzz_firewalld_one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config),	   cmocka_unit_test(test_exposure_track),
	    cmocka_unit_test(test_check),	   cmocka_unit_test(test_netlink),
	    cmocka_unit_test(test_varlink_server), cmocka_unit_test(test_fwspec),
	    cmocka_unit_test(test_firewalld),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
