/* SPDX-License-Identifier: MIT */
/*
 * What the harnesses share: a check that aborts (a crash to libFuzzer, a failure to
 * test_fuzz_corpus) and the [Findings] settings the JSON targets evaluate against.
 *
 * The harness bodies live in headers (fuzz_config.h, ...) so that the fuzzers and the
 * corpus replay in the unit tests run one copy of them.
 */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "portcheck/config.h"

/* A property of the code under test that does not hold: report it as a crash. */
#define PC_FUZZ_ASSERT(cond)                                                                       \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,        \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Ignores that match listeners of the seeds (sshd on 22, mDNS on 5353/udp), so the
 * ignore paths run too. Returns 0 or -errno. */
static inline int pc_fuzz_config_fixture(struct pc_config *cfg)
{
	_cleanup_free_ char *err = NULL;
	int r = pc_config_init(cfg);

	if (r < 0)
		return r;
	r = pc_config_parse_text(cfg, "fuzz-fixture.conf",
				 "[Findings]\n"
				 "IgnorePorts=5353/udp 6000-6010/tcp\n"
				 "IgnoreProcesses=sshd\n"
				 "IgnoreUnits=docker-*.scope *.socket\n",
				 &err);
	if (r < 0)
		pc_config_clear(cfg);
	return r;
}
