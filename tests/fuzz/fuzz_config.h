/* SPDX-License-Identifier: MIT */
/*
 * Harness body for pc_config_parse_text(): the input is a portcheck.conf (up to its
 * first NUL byte, as pc_config_load refuses files with one). Parsed twice on top of the
 * defaults, so replacing and resetting settings runs too; the result is checked
 * against what portcheck.conf(5) promises and then matched against a few listeners.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>

#include "fuzz_common.h"
#include "portcheck/config.h"

static void pc_fuzz_config_check(const struct pc_config *cfg)
{
	PC_FUZZ_ASSERT(cfg->read_group && !strpbrk(cfg->read_group, " \t:"));
	PC_FUZZ_ASSERT(cfg->rescan_interval_sec <= 86400);
	PC_FUZZ_ASSERT(cfg->log_level >= LOG_EMERG && cfg->log_level <= LOG_DEBUG);
	PC_FUZZ_ASSERT(!cfg->textfile_path || cfg->textfile_path[0] == '/');
	PC_FUZZ_ASSERT(!cfg->n_ignore_ports == !cfg->ignore_ports);
	for (size_t i = 0; i < cfg->n_ignore_ports; i++) {
		const struct pc_port_range *pr = &cfg->ignore_ports[i];

		PC_FUZZ_ASSERT(pr->low >= 1 && pr->low <= pr->high);
		PC_FUZZ_ASSERT(pr->proto == PC_IGNORE_ANY || pr->proto == PC_IGNORE_TCP ||
			       pr->proto == PC_IGNORE_UDP);
	}
	for (size_t i = 0; i < cfg->ignore_processes.n; i++) {
		const char *p = cfg->ignore_processes.v[i];

		PC_FUZZ_ASSERT(*p && strlen(p) <= 15 && !strpbrk(p, " \t"));
	}
	for (size_t i = 0; i < cfg->ignore_units.n; i++)
		PC_FUZZ_ASSERT(*cfg->ignore_units.v[i] && !strpbrk(cfg->ignore_units.v[i], " \t"));
	PC_FUZZ_ASSERT(!cfg->ignore_processes.v ||
		       !cfg->ignore_processes.v[cfg->ignore_processes.n]);
	PC_FUZZ_ASSERT(!cfg->ignore_units.v || !cfg->ignore_units.v[cfg->ignore_units.n]);
}

/* Returns 0 (libFuzzer's "keep going"); a broken property aborts. */
static int pc_fuzz_config_one(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = malloc(size + 1);
	struct pc_config cfg;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (pc_config_init(&cfg) < 0)
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		_cleanup_free_ char *err = NULL;
		int r = pc_config_parse_text(&cfg, "fuzz.conf", text, &err);

		if (r == -ENOMEM)
			break;
		/* On failure @cfg holds part of the file: still only checked values. */
		pc_fuzz_config_check(&cfg);
		if (r < 0) {
			/* "FILE:LINE: what", on one line: it goes to the journal. */
			PC_FUZZ_ASSERT(r == -EINVAL);
			PC_FUZZ_ASSERT(err && strncmp(err, "fuzz.conf:", 10) == 0);
			PC_FUZZ_ASSERT(!strchr(err, '\n'));
			break;
		}
		PC_FUZZ_ASSERT(r == 0 && !err);
	}
	(void)pc_config_ignores(&cfg, "tcp", 22, "sshd", "ssh.service");
	(void)pc_config_ignores(&cfg, "udp", 65535, NULL, NULL);
	(void)pc_config_ignores(&cfg, "?", 0, "", "docker-0123456789abcdef.scope");
	pc_config_clear(&cfg);
	return 0;
}
