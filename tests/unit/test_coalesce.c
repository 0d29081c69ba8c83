/* SPDX-License-Identifier: MIT */
/*
 * When the watcher analyses: after a quiet time, at most every minimum gap, and never
 * later than the maximum delay after the first pending change, whatever the storm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "portcheck/watch.h"

static void test_quiet_time(void **state)
{
	struct pc_coalesce c = {0};

	assert_true(pc_coalesce_due(&c) == UINT64_MAX);
	pc_coalesce_note(&c, 10000);
	assert_int_equal(pc_coalesce_due(&c), 10000 + PC_WATCH_QUIET_MS);
	/* Another change inside the quiet time pushes the analysis back. */
	pc_coalesce_note(&c, 10300);
	assert_int_equal(pc_coalesce_due(&c), 10300 + PC_WATCH_QUIET_MS);
	pc_coalesce_ran(&c, 10800);
	assert_true(pc_coalesce_due(&c) == UINT64_MAX);
}

static void test_min_gap(void **state)
{
	struct pc_coalesce c = {0};

	pc_coalesce_ran(&c, 20000);
	pc_coalesce_note(&c, 20100);
	/* Quiet time would say 20600; the last run was too recent. */
	assert_int_equal(pc_coalesce_due(&c), 20000 + PC_WATCH_MIN_GAP_MS);
}

static void test_storm_cannot_starve(void **state)
{
	struct pc_coalesce c = {0};
	uint64_t t;

	/* A change every 100 ms, for a minute: due stays bounded by the first change. */
	for (t = 30000; t < 90000; t += 100) {
		pc_coalesce_note(&c, t);
		assert_true(pc_coalesce_due(&c) <= 30000 + PC_WATCH_MAX_DELAY_MS);
		if (pc_coalesce_due(&c) <= t)
			break;
	}
	assert_true(t <= 30000 + PC_WATCH_MAX_DELAY_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quiet_time),
	    cmocka_unit_test(test_min_gap),
	    cmocka_unit_test(test_storm_cannot_starve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
