/* SPDX-License-Identifier: MIT */
/*
 * Listener state changes: one event per change, none while nothing changes, the first
 * report names every exposed listener that is not open, ignores from [Findings], the
 * journal fields, and a malformed report leaving the state alone.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/exposure_track.h"

struct seen {
	char log[4096];
	int n;
};

static void record(const struct pc_exposure_event *ev, void *userdata)
{
	struct seen *s = userdata;
	size_t len = strlen(s->log);

	snprintf(s->log + len, sizeof(s->log) - len, "%s|", ev->message);
	len = strlen(s->log);
	for (size_t i = 0; i < ev->fields.n; i++) {
		snprintf(s->log + len, sizeof(s->log) - len, "%s|", ev->fields.v[i]);
		len = strlen(s->log);
	}
	snprintf(s->log + len, sizeof(s->log) - len, "\n");
	s->n++;
}

/* A report with one listener per (port, exposure) pair; exposure NULL ends the list. */
static json_t *report(const char *web, const char *db)
{
	json_error_t err;
	char text[4096];
	json_t *j;

	snprintf(text, sizeof(text),
		 "{\"version\":1,\"nftables\":{\"generation\":42},\"listeners\":["
		 "{\"protocol\":\"tcp\",\"address\":\"::\",\"port\":80,"
		 " \"process\":{\"pid\":812,\"name\":\"nginx\",\"unit\":\"nginx.service\"},"
		 " \"exposure\":\"%s\",\"firewalld\":{\"zone\":\"public\"},"
		 " \"paths\":[{\"interface\":\"eth0\",\"family\":\"ipv4\",\"verdict\":\"accept\","
		 "   \"rule\":{\"family\":\"inet\",\"table\":\"firewalld\",\"chain\":"
		 "   \"filter_IN_public_allow\",\"handle\":90,\"text\":\"tcp dport 80 accept\"}},"
		 "  {\"interface\":\"eth1\",\"family\":\"ipv4\",\"verdict\":\"reject\","
		 "   \"rule\":{\"family\":\"inet\",\"table\":\"firewalld\",\"chain\":"
		 "   \"filter_IN_public\",\"handle\":87,\"text\":\"reject with icmpx "
		 "admin-prohibited\"}}],"
		 " \"fix\":{\"command\":\"portcheck open 80/tcp --zone public --permanent\"}},"
		 "{\"protocol\":\"tcp\",\"address\":\"::\",\"port\":80,\"exposure\":\"open\","
		 " \"paths\":[]},"
		 "{\"protocol\":\"tcp\",\"address\":\"127.0.0.1\",\"port\":5432,"
		 " \"process\":{\"pid\":9,\"name\":\"postgres\"},\"exposure\":\"%s\",\"paths\":[]}"
		 "]}",
		 web, db);
	j = json_loads(text, 0, &err);
	if (!j)
		fail_msg("bad test JSON: %s", err.text);
	return j;
}

static int update(struct pc_exposure_track *t, json_t *rep, const struct pc_config *cfg,
		  struct seen *s)
{
	int r;

	memset(s, 0, sizeof(*s));
	r = pc_exposure_track_update(t, rep, cfg, record, s);
	json_decref(rep);
	return r;
}

static void test_transitions(void **state)
{
	struct pc_exposure_track t = {0};
	struct seen s;

	/* First report: the blocked web server is news, local-only postgres is not. */
	assert_int_equal(update(&t, report("blocked", "local-only"), NULL, &s), 1);
	assert_non_null(strstr(s.log, "80/tcp on :: (nginx, nginx.service): blocked by inet "
				      "firewalld filter_IN_public handle 87: reject with icmpx "
				      "admin-prohibited; fix: portcheck open 80/tcp --zone public "
				      "--permanent|"));
	assert_non_null(strstr(s.log, "MESSAGE_ID=" PC_MSGID_BLOCKED "|PRIORITY=4|"));
	assert_non_null(strstr(s.log, "|PORTCHECK_PORT=80|PORTCHECK_PROTO=tcp|"
				      "PORTCHECK_ADDRESS=::|PORTCHECK_EXPOSURE=blocked|"));
	assert_non_null(strstr(s.log, "|PORTCHECK_ZONE=public|PORTCHECK_PROCESS=nginx|"
				      "PORTCHECK_PID=812|PORTCHECK_UNIT=nginx.service|"));
	assert_null(strstr(s.log, "PREVIOUS"));

	/* Nothing changed: nothing said. */
	assert_int_equal(update(&t, report("blocked", "local-only"), NULL, &s), 0);
	assert_string_equal(s.log, "");

	assert_int_equal(update(&t, report("partial", "local-only"), NULL, &s), 1);
	assert_non_null(strstr(s.log, "partly blocked by inet firewalld filter_IN_public handle "
				      "87"));
	assert_non_null(strstr(s.log, "(was blocked)"));
	assert_non_null(strstr(s.log, "MESSAGE_ID=" PC_MSGID_PARTIAL "|PRIORITY=5|"));
	assert_non_null(strstr(s.log, "PORTCHECK_PREVIOUS_EXPOSURE=blocked|"));

	/* Open again: named by the accepting rule, no fix. */
	assert_int_equal(update(&t, report("open", "local-only"), NULL, &s), 1);
	assert_non_null(strstr(s.log, "reachable again, accepted by inet firewalld "
				      "filter_IN_public_allow handle 90: tcp dport 80 accept (was "
				      "partial)|"));
	assert_non_null(strstr(s.log, "MESSAGE_ID=" PC_MSGID_REACHABLE "|PRIORITY=6|"));
	assert_null(strstr(s.log, "PORTCHECK_FIX"));

	/* Postgres starts listening on every address and is unknown. */
	assert_int_equal(update(&t, report("open", "unknown"), NULL, &s), 1);
	assert_non_null(strstr(s.log, "5432/tcp on 127.0.0.1 (postgres): of unknown"));
	assert_non_null(strstr(s.log, "MESSAGE_ID=" PC_MSGID_UNKNOWN));
	pc_exposure_track_clear(&t);
}

static void test_ignored_and_malformed(void **state)
{
	struct pc_exposure_track t = {0};
	_cleanup_free_ char *err = NULL;
	struct pc_config cfg;
	struct seen s;
	json_t *bad;

	assert_int_equal(pc_config_init(&cfg), 0);
	assert_int_equal(pc_config_parse_text(&cfg, "t", "[Findings]\nIgnoreUnits=nginx.*\n", &err),
			 0);
	assert_int_equal(update(&t, report("blocked", "local-only"), &cfg, &s), 0);
	pc_config_clear(&cfg);

	/* The ignored listener's state was still recorded: no event while it stays. */
	assert_int_equal(update(&t, report("blocked", "local-only"), NULL, &s), 0);

	bad = json_loads("{\"listeners\":[{\"protocol\":\"tcp\",\"port\":\"80\"}]}", 0, NULL);
	assert_int_equal(update(&t, bad, NULL, &s), -EINVAL);
	bad = json_loads("{\"listeners\":{}}", 0, NULL);
	assert_int_equal(update(&t, bad, NULL, &s), -EINVAL);
	/* State intact after the bad reports. */
	assert_int_equal(update(&t, report("open", "local-only"), NULL, &s), 1);
	/* A listener the daemon marks ignored (its clients are all on IgnoreInterfaces=):
	 * no entry, whatever the configuration here says. */
	{
		json_t *rep = report("open", "local-only");
		json_t *web = json_array_get(json_object_get(rep, "listeners"), 0);

		assert_int_equal(json_object_set_new(web, "ignored", json_true()), 0);
		assert_int_equal(json_object_set_new(web, "exposure", json_string("blocked")), 0);
		assert_int_equal(update(&t, rep, NULL, &s), 0);
	}
	/* ... and the day its clients count again, a blocked listener is news. */
	assert_int_equal(update(&t, report("blocked", "local-only"), NULL, &s), 1);
	pc_exposure_track_clear(&t);
}

static void test_summary(void **state)
{
	json_t *rep = report("blocked", "local-only");
	_cleanup_free_ char *sum = pc_exposure_summary(rep);

	assert_string_equal(sum, "3 listeners: 1 open, 1 blocked, 1 local-only (nftables "
				 "generation 42)");
	json_decref(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_transitions),
	    cmocka_unit_test(test_ignored_and_malformed),
	    cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
