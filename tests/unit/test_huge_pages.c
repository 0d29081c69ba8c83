/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages: off in the daemon, on in the children that run its jobs
 * (pc_huge_pages_allow, util.h). The daemon turns them off at start; a job child started
 * with pc_bg_job_start must find them allowed again whatever its parent said, and the
 * parent must keep them off (else khugepaged refills what malloc_trim gave back).
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <cmocka.h>

#include "portcheck/bg_analysis.h"
#include "portcheck/util.h"

/* The job: report what the child's THP switch says. */
static int job_thp(void *arg, json_t **ret)
{
	(void)arg;
	*ret = json_pack("{s:i}", "thp_disable", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
	return *ret ? 0 : -ENOMEM;
}

/* Run job_thp in a job child; its answer. */
static int child_thp_disable(void)
{
	struct pc_bg_analysis *bg = NULL;
	json_t *res = NULL;
	int r = 0, v;

	assert_int_equal(pc_bg_job_start(job_thp, NULL, &bg), 0);
	/* Bounded: 100 polls of 100 ms. */
	for (int i = 0; i < 100 && r == 0; i++) {
		struct pollfd p = {.fd = pc_bg_analysis_fd(bg), .events = POLLIN};

		assert_true(poll(&p, 1, 100) >= 0);
		r = pc_bg_analysis_read(bg, &res);
	}
	assert_int_equal(r, 1);
	assert_non_null(res);
	v = (int)json_integer_value(json_object_get(res, "thp_disable"));
	json_decref(res);
	pc_bg_analysis_free(bg);
	return v;
}

static void test_daemon_off_children_on(void **state)
{
	(void)state;
	assert_int_equal(pc_huge_pages_allow(false), 0);
	assert_int_equal(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 1);
	assert_int_equal(child_thp_disable(), 0);
	/* The child's switch is its own: the parent's stays off. */
	assert_int_equal(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 1);
	assert_int_equal(pc_huge_pages_allow(true), 0);
	assert_int_equal(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_daemon_off_children_on),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
