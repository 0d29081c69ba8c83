/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages: off in the daemon, in the children that run its jobs as the
 * daemon inherited them (pc_huge_pages_daemon, pc_huge_pages_child: util.h). A job child
 * started with pc_bg_job_start finds them on again when the daemon got them on, and off
 * when a service manager had turned them off; the daemon's own stay off (else khugepaged
 * refills what malloc_trim gave back). tests/lab/lab.sh checks the real daemon's.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int thp_disable(void)
{
	return prctl(PR_GET_THP_DISABLE, 0UL, 0UL, 0UL, 0UL);
}

/* Inherited on: the daemon off, its job children on. */
static void test_daemon_off_children_on(void **state)
{
	(void)state;
	assert_int_equal(prctl(PR_SET_THP_DISABLE, 0UL, 0UL, 0UL, 0UL), 0);
	assert_int_equal(pc_huge_pages_daemon(), 0);
	assert_int_equal(thp_disable(), 1);
	assert_int_equal(child_thp_disable(), 0);
	/* The child's switch is its own: the parent's stays off. */
	assert_int_equal(thp_disable(), 1);
}

/* Inherited off (a service manager's choice): the children keep it off. */
static void test_inherited_off_stays_off(void **state)
{
	(void)state;
	assert_int_equal(prctl(PR_SET_THP_DISABLE, 1UL, 0UL, 0UL, 0UL), 0);
	assert_int_equal(pc_huge_pages_daemon(), 0);
	assert_int_equal(thp_disable(), 1);
	assert_int_equal(child_thp_disable(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_daemon_off_children_on),
	    cmocka_unit_test(test_inherited_off_stays_off),
	};

	/* qemu-user and gVisor answer EINVAL: nothing to test there, said so. */
	if (thp_disable() < 0) {
		printf("SKIPPED: prctl(PR_GET_THP_DISABLE): %s\n", strerror(errno));
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
