/* SPDX-License-Identifier: MIT */
/*
 * portcheck.conf: the pure parser (messages name file and line), the UAPI lookup over a
 * temporary root (main file precedence, drop-in order and masking), and the ignore
 * matcher.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "portcheck/config.h"

static void parse_bad(const char *text, const char *needle)
{
	_cleanup_free_ char *err = NULL;
	struct pc_config cfg;

	assert_int_equal(pc_config_init(&cfg), 0);
	assert_int_equal(pc_config_parse_text(&cfg, "f.conf", text, &err), -EINVAL);
	assert_non_null(err);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", text, err, needle);
	pc_config_clear(&cfg);
}

static void test_defaults(void **state)
{
	struct pc_config cfg;

	assert_int_equal(pc_config_init(&cfg), 0);
	assert_string_equal(cfg.read_group, "portcheck");
	assert_int_equal(cfg.rescan_interval_sec, 60);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_null(cfg.textfile_path);
	assert_false(pc_config_ignores(&cfg, "tcp", 80, "nginx", "nginx.service"));
	pc_config_clear(&cfg);
}

static void test_parse_good(void **state)
{
	_cleanup_free_ char *err = NULL;
	struct pc_config cfg;

	assert_int_equal(pc_config_init(&cfg), 0);
	assert_int_equal(pc_config_parse_text(&cfg, "f.conf",
					      "# comment\n"
					      "; also a comment\n"
					      "\n"
					      "[Daemon]\n"
					      "ReadGroup = adm\n"
					      "RescanIntervalSec=5\r\n"
					      "LogLevel=debug\n"
					      "[Findings]\n"
					      "IgnorePorts=53 6000-6010/tcp\n"
					      "IgnorePorts=5353/udp\n"
					      "IgnoreProcesses=avahi-daemon\n"
					      "IgnoreUnits=docker-*.scope\n"
					      "IgnoreInterfaces=veth* docker0\n"
					      "IgnoreSets=crowdsec-blacklists-* addr-set-*\n"
					      "[Check]\n"
					      "TextfilePath=/var/lib/x/portcheck.prom",
					      &err),
			 0);
	assert_null(err);
	assert_string_equal(cfg.read_group, "adm");
	assert_int_equal(cfg.rescan_interval_sec, 5);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.textfile_path, "/var/lib/x/portcheck.prom");
	assert_int_equal(cfg.ignore_interfaces.n, 2);
	assert_string_equal(cfg.ignore_interfaces.v[1], "docker0");
	assert_int_equal(cfg.ignore_sets.n, 2);
	assert_string_equal(cfg.ignore_sets.v[1], "addr-set-*");
	assert_int_equal(cfg.n_ignore_ports, 3);
	assert_true(pc_config_ignores(&cfg, "udp", 53, NULL, NULL));
	assert_true(pc_config_ignores(&cfg, "tcp", 53, NULL, NULL));
	assert_true(pc_config_ignores(&cfg, "tcp", 6005, NULL, NULL));
	assert_false(pc_config_ignores(&cfg, "udp", 6005, NULL, NULL));
	assert_true(pc_config_ignores(&cfg, "udp", 5353, NULL, NULL));
	assert_false(pc_config_ignores(&cfg, "tcp", 5353, NULL, NULL));
	assert_true(pc_config_ignores(&cfg, "tcp", 1, "avahi-daemon", NULL));
	assert_true(pc_config_ignores(&cfg, "tcp", 1, NULL, "docker-abc.scope"));
	assert_false(pc_config_ignores(&cfg, "tcp", 1, "nginx", "nginx.service"));

	/* Empty assignments reset lists and the textfile. */
	assert_int_equal(pc_config_parse_text(&cfg, "g.conf",
					      "[Findings]\nIgnorePorts=\n[Check]\nTextfilePath=\n",
					      &err),
			 0);
	assert_int_equal(cfg.n_ignore_ports, 0);
	assert_null(cfg.textfile_path);
	pc_config_clear(&cfg);
}

static void test_parse_bad(void **state)
{
	parse_bad("[Daemon]\nReadGrop=x\n", "f.conf:2: unknown key 'ReadGrop' in [Daemon]");
	parse_bad("ReadGroup=x\n", "f.conf:1: 'ReadGroup=' before any [Section]");
	parse_bad("\n[Deamon]\n", "f.conf:2: unknown section [Deamon]");
	parse_bad("[Daemon\n", "f.conf:1: expected a [Section] header");
	parse_bad("[Daemon]\nReadGroup\n", "f.conf:2: expected Key=value");
	parse_bad("[Daemon]\nRescanIntervalSec=-1\n", "f.conf:2: RescanIntervalSec=-1");
	parse_bad("[Daemon]\nRescanIntervalSec=10x\n", "expected a time span");
	parse_bad("[Daemon]\nRescanIntervalSec=s\n", "expected a time span");
	parse_bad("[Daemon]\nRescanIntervalSec=\n", "expected a time span");
	parse_bad("[Daemon]\nRescanIntervalSec=86401\n", "expected a time span");
	parse_bad("[Daemon]\nRescanIntervalSec=1d 1s\n", "expected a time span");
	parse_bad("[Daemon]\nRescanIntervalSec=99999999999999999999\n", "expected a time span");
	parse_bad("[Daemon]\nLogLevel=verbose\n", "LogLevel=verbose");
	parse_bad("[Daemon]\nReadGroup=a b\n", "not a group name");
	parse_bad("[Findings]\nIgnorePorts=80/sctp\n", "'80/sctp' is not PORT");
	parse_bad("[Findings]\nIgnorePorts=0\n", "'0' is not PORT");
	parse_bad("[Findings]\nIgnorePorts=70000\n", "'70000' is not PORT");
	parse_bad("[Findings]\nIgnorePorts=90-80\n", "'90-80' is not PORT");
	parse_bad("[Findings]\nIgnorePorts=80 x\n", "'x' is not PORT");
	parse_bad("[Findings]\nIgnoreProcesses=a-very-long-process-name\n", "15 characters");
	parse_bad("[Findings]\nIgnoreInterfaces=veth-"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxx\n",
		  "longer than 64");
	parse_bad("[Check]\nTextfilePath=relative.prom\n", "absolute path");
	parse_bad("[Check]\nFoo=1\n", "unknown key 'Foo' in [Check]");
	parse_bad("[Daemon]\nReadGroup=a\\\n", "line continuation");
}

static void timespan_is(const char *text, unsigned want)
{
	_cleanup_free_ char *err = NULL;
	char conf[128];
	struct pc_config cfg;

	snprintf(conf, sizeof(conf), "[Daemon]\nRescanIntervalSec=%s\n", text);
	assert_int_equal(pc_config_init(&cfg), 0);
	if (pc_config_parse_text(&cfg, "t", conf, &err) < 0)
		fail_msg("'%s': %s", text, err);
	assert_int_equal(cfg.rescan_interval_sec, want);
	pc_config_clear(&cfg);
}

/* systemd's way of writing time spans, since this is a systemd-style file. */
static void test_timespan(void **state)
{
	timespan_is("0", 0);
	timespan_is("60", 60);
	timespan_is("90s", 90);
	timespan_is("5min", 300);
	timespan_is("1h 30min", 5400);
	timespan_is("1h30min", 5400);
	timespan_is("2 m", 120);
	timespan_is("1d", 86400);
	timespan_is("10 seconds", 10);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *root, const char *sub)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", root, sub);
	for (char *p = path + strlen(root) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	mkdir(path, 0755);
}

static void test_load_locations(void **state)
{
	char root[] = "/tmp/pc-config-test.XXXXXX";
	char path[600];
	_cleanup_free_ char *err = NULL;
	struct pc_config cfg = {0};

	assert_non_null(mkdtemp(root));

	/* Nothing at all: built-in defaults. */
	assert_int_equal(pc_config_load(root, NULL, &cfg, &err), 0);
	assert_int_equal(cfg.rescan_interval_sec, 60);
	pc_config_clear(&cfg);

	mkdirs(root, "/etc/portcheck/portcheck.conf.d");
	mkdirs(root, "/usr/lib/portcheck/portcheck.conf.d");
	mkdirs(root, "/run/portcheck/portcheck.conf.d");
	snprintf(path, sizeof(path), "%s/usr/lib/portcheck", root);
	write_file(path, "portcheck.conf", "[Daemon]\nRescanIntervalSec=7\nLogLevel=debug\n");
	snprintf(path, sizeof(path), "%s/etc/portcheck", root);
	/* /etc's main file masks /usr/lib's entirely: LogLevel stays the default. */
	write_file(path, "portcheck.conf", "[Daemon]\nRescanIntervalSec=8\n");
	/* Drop-ins by name over all directories: 10 (usr) < 20 (etc) < 30 (run). */
	snprintf(path, sizeof(path), "%s/usr/lib/portcheck/portcheck.conf.d", root);
	write_file(path, "10-a.conf", "[Daemon]\nRescanIntervalSec=10\n");
	write_file(path, "20-b.conf", "[Daemon]\nReadGroup=masked\n");
	write_file(path, "ignored.txt", "not a drop-in\n");
	snprintf(path, sizeof(path), "%s/etc/portcheck/portcheck.conf.d", root);
	write_file(path, "20-b.conf", "[Daemon]\nRescanIntervalSec=20\n");
	snprintf(path, sizeof(path), "%s/run/portcheck/portcheck.conf.d", root);
	write_file(path, "30-c.conf", "[Findings]\nIgnorePorts=22/tcp\n");

	assert_int_equal(pc_config_load(root, NULL, &cfg, &err), 0);
	assert_null(err);
	assert_int_equal(cfg.rescan_interval_sec, 20);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_string_equal(cfg.read_group, "portcheck");
	assert_true(pc_config_ignores(&cfg, "tcp", 22, NULL, NULL));
	pc_config_clear(&cfg);

	/* A bad drop-in: the whole load fails, naming that file and line. */
	snprintf(path, sizeof(path), "%s/run/portcheck/portcheck.conf.d", root);
	write_file(path, "40-bad.conf", "[Findings]\n\nIgnorePort=1\n");
	assert_int_equal(pc_config_load(root, NULL, &cfg, &err), -EINVAL);
	assert_non_null(err);
	assert_non_null(strstr(err, "/run/portcheck/portcheck.conf.d/40-bad.conf:3: unknown "
				    "key 'IgnorePort'"));
	free(err);
	err = NULL;

	/* A symlink to /dev/null masks. */
	snprintf(path, sizeof(path), "%s/etc/portcheck/portcheck.conf.d/40-bad.conf", root);
	assert_int_equal(symlink("/dev/null", path), 0);
	assert_int_equal(pc_config_load(root, NULL, &cfg, &err), 0);
	pc_config_clear(&cfg);

	/* An explicit file must exist and is read alone. */
	assert_int_equal(pc_config_load(root, "/nonexistent/x.conf", &cfg, &err), -EINVAL);
	assert_non_null(strstr(err, "/nonexistent/x.conf: no such file"));
	free(err);
	err = NULL;
	snprintf(path, sizeof(path), "%s/usr/lib/portcheck/portcheck.conf", root);
	assert_int_equal(pc_config_load(root, path, &cfg, &err), 0);
	assert_int_equal(cfg.rescan_interval_sec, 7);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	pc_config_clear(&cfg);

	{
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	   cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_bad),	   cmocka_unit_test(test_timespan),
	    cmocka_unit_test(test_load_locations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
