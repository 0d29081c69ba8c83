/* SPDX-License-Identifier: MIT */
/*
 * `portcheck check`: findings, metrics and the Nagios line from a Status reply, and the
 * atomic metrics file. check_status_lab.json is a real reply, recorded in the lab
 * (tests/lab/test_check.sh builds the same host): the incident, a runtime-only port 9090,
 * mDNS on 5353/udp and two SO_REUSEPORT sockets on 7000/tcp under different names.
 *
 * The expected outputs are files in tests/unit/data/check_*; after a deliberate change,
 * PC_UPDATE_GOLDEN=1 rewrites them (review the diff). Their content is also checked
 * against facts derived here from the fixture (check_lab_goldens), so a golden
 * regenerated from wrong output still fails.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "portcheck/check.h"
#include "portcheck/config.h"
#include "portcheck/textfile.h"

#define NOW 1700000000.5
#define VERSION "0.1.0"

static json_t *load_file(const char *name)
{
	char path[4096];
	json_error_t err;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", PC_TEST_DATA_DIR, name);
	j = json_load_file(path, 0, &err);
	if (!j)
		fail_msg("%s: %s at line %d", path, err.text, err.line);
	return j;
}

static json_t *load(const char *s)
{
	json_error_t err;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &err);

	if (!j)
		fail_msg("test JSON: %s at %d", err.text, err.position);
	return j;
}

static char *read_text(const char *path)
{
	char *buf = NULL;
	size_t size = 0, n;
	char chunk[4096];
	FILE *f = fopen(path, "re");
	FILE *m;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &size);
	assert_non_null(m);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	assert_int_equal(fclose(m), 0);
	return buf;
}

/* @got equals the file tests/unit/data/@name (PC_UPDATE_GOLDEN=1: becomes it). */
static void assert_golden(const char *got, const char *name)
{
	char path[4096];
	char *want;

	snprintf(path, sizeof(path), "%s/%s", PC_TEST_DATA_DIR, name);
	if (getenv("PC_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "we");

		assert_non_null(f);
		fputs(got, f);
		assert_int_equal(fclose(f), 0);
	}
	want = read_text(path);
	if (!want)
		fail_msg("%s: %s", path, strerror(errno));
	if (strcmp(got, want) != 0)
		fail_msg("output differs from %s; got:\n%s", path, got);
	free(want);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" not found in:\n%s", needle, hay);
}

static void assert_not_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("\"%s\" unexpectedly found in:\n%s", needle, hay);
}

static const struct pc_check_entry *find(const struct pc_check *c, const char *proto, unsigned port)
{
	for (size_t i = 0; i < c->n_entries; i++)
		if (strcmp(c->entries[i].proto, proto) == 0 && c->entries[i].port == port)
			return &c->entries[i];
	return NULL;
}

/*
 * Every sample line's metric name and label set is unique (Prometheus rejects the
 * scrape otherwise, and the contract wants one series per protocol, port and address).
 */
static void assert_unique_series(const char *metrics)
{
	char *copy = strdup(metrics), *save = NULL, *line;
	char **seen = NULL;
	size_t n = 0;

	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *space;

		if (line[0] == '#')
			continue;
		space = strrchr(line, ' ');
		assert_non_null(space);
		*space = '\0';
		for (size_t i = 0; i < n; i++)
			if (strcmp(seen[i], line) == 0)
				fail_msg("series twice: %s", line);
		seen = realloc(seen, (n + 1) * sizeof(*seen));
		assert_non_null(seen);
		seen[n++] = line;
	}
	free(seen);
	free(copy);
}

static struct pc_config *config_from(const char *text)
{
	struct pc_config *cfg = calloc(1, sizeof(*cfg));
	char *error = NULL;

	assert_non_null(cfg);
	assert_int_equal(pc_config_init(cfg), 0);
	if (pc_config_parse_text(cfg, "test.conf", text, &error) < 0)
		fail_msg("config: %s", error);
	return cfg;
}

static void config_free(struct pc_config *cfg)
{
	pc_config_clear(cfg);
	free(cfg);
}

/*
 * What check_status_lab.json says, derived here from the fixture itself (not from the
 * code under test), to check the golden files' content: PC_UPDATE_GOLDEN rewrites them
 * from whatever the code prints, so without this a wrong golden would pass.
 * One group per protocol, port and address; its processes sorted and comma-joined.
 */
struct lab_group {
	char proto[8], address[64], process[128], exposure[16], zone[32], fix[128];
	unsigned port;
};

static bool lab_is_finding(const char *exposure)
{
	return !strcmp(exposure, "blocked") || !strcmp(exposure, "partial") ||
	       !strcmp(exposure, "unknown");
}

static int lab_group_cmp(const void *a, const void *b)
{
	const struct lab_group *x = a, *y = b;
	int r = strcmp(x->proto, y->proto);

	if (r)
		return r;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return strcmp(x->address, y->address);
}

static size_t lab_groups(const json_t *fixture, struct lab_group *g, size_t max,
			 unsigned *ret_runtime_only)
{
	const json_t *l;
	size_t i, n = 0;
	char seen_rt[8][96];
	unsigned n_rt = 0;

	json_array_foreach(json_object_get(fixture, "listeners"), i, l)
	{
		const char *proto = json_string_value(json_object_get(l, "protocol"));
		const char *addr = json_string_value(json_object_get(l, "address"));
		const char *name =
		    json_string_value(json_object_get(json_object_get(l, "process"), "name"));
		const json_t *fw = json_object_get(l, "firewalld");
		const char *zone = json_string_value(json_object_get(fw, "zone"));
		const char *fix =
		    json_string_value(json_object_get(json_object_get(l, "fix"), "command"));
		unsigned port = (unsigned)json_integer_value(json_object_get(l, "port"));
		struct lab_group *x = NULL;

		for (size_t k = 0; k < n && !x; k++)
			if (!strcmp(g[k].proto, proto) && g[k].port == port &&
			    !strcmp(g[k].address, addr))
				x = &g[k];
		if (x) {
			/* Two names: sorted. (The fixture has at most two per group.) */
			char both[128];

			assert_string_equal(x->exposure,
					    json_string_value(json_object_get(l, "exposure")));
			if (strcmp(name, x->process) < 0)
				snprintf(both, sizeof(both), "%.63s,%.63s", name, x->process);
			else
				snprintf(both, sizeof(both), "%.63s,%.63s", x->process, name);
			snprintf(x->process, sizeof(x->process), "%s", both);
			continue;
		}
		assert_true(n < max);
		x = &g[n++];
		snprintf(x->proto, sizeof(x->proto), "%s", proto);
		snprintf(x->address, sizeof(x->address), "%s", addr);
		snprintf(x->process, sizeof(x->process), "%s", name);
		snprintf(x->exposure, sizeof(x->exposure), "%s",
			 json_string_value(json_object_get(l, "exposure")));
		snprintf(x->zone, sizeof(x->zone), "%s", zone ? zone : "");
		snprintf(x->fix, sizeof(x->fix), "%s", fix ? fix : "");
		x->port = port;
		/* A runtime-only setting counts once, however many listeners it allows. */
		if (json_is_true(json_object_get(fw, "runtime_only"))) {
			char key[96];
			bool dup = false;

			snprintf(key, sizeof(key), "%s %s", zone,
				 json_string_value(json_object_get(fw, "allowed_by")));
			for (unsigned k = 0; k < n_rt; k++)
				dup = dup || !strcmp(seen_rt[k], key);
			if (!dup && n_rt < 8)
				snprintf(seen_rt[n_rt++], sizeof(seen_rt[0]), "%s", key);
		}
	}
	qsort(g, n, sizeof(*g), lab_group_cmp);
	*ret_runtime_only = n_rt;
	return n;
}

static char *golden_text(const char *name)
{
	char path[4096];
	char *text;

	snprintf(path, sizeof(path), "%s/%s", PC_TEST_DATA_DIR, name);
	text = read_text(path);
	if (!text)
		fail_msg("%s: %s", path, strerror(errno));
	return text;
}

/* The number of lines of @text that are exactly @line. */
static unsigned count_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	unsigned n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, len) && (p[len] == '\n' || p[len] == '\0'))
			n++;
	return n;
}

static void assert_one_line(const char *text, const char *line, const char *file)
{
	if (count_line(text, line) != 1)
		fail_msg("%s: want the line \"%s\" exactly once; it has it %u times:\n%s", file,
			 line, count_line(text, line), text);
}

static void check_lab_goldens(const json_t *fixture)
{
	static const char *const exposures[] = {"open", "blocked", "partial", "local-only",
						"unknown"};
	struct lab_group g[16];
	unsigned runtime_only, findings = 0, samples = 0, per[5] = {0};
	size_t n = lab_groups(fixture, g, 16, &runtime_only);
	char *findings_text = golden_text("check_lab.findings");
	char *prom = golden_text("check_lab.prom");
	char line[512];
	const char *p;

	/* The fixture as test_lab's comments describe it: 8 sockets, 7 groups. */
	assert_int_equal(n, 7);
	assert_int_equal(runtime_only, 1);

	/* Findings: one line per blocked, partial or unknown group, in protocol and port
	 * order, naming it, saying why, and ending with the fixture's fix command. */
	p = findings_text;
	for (size_t i = 0; i < n; i++) {
		const char *nl;
		int len;

		for (size_t k = 0; k < 5; k++)
			per[k] += !strcmp(g[i].exposure, exposures[k]);
		if (!lab_is_finding(g[i].exposure))
			continue;
		findings++;
		nl = strchr(p, '\n');
		if (!nl)
			fail_msg("check_lab.findings: no line for %u/%s:\n%s", g[i].port,
				 g[i].proto, findings_text);
		len = snprintf(line, sizeof(line), "%u/%s on %s (%s): %s", g[i].port, g[i].proto,
			       g[i].address, g[i].process,
			       !strcmp(g[i].exposure, "partial")   ? "partly blocked by "
			       : !strcmp(g[i].exposure, "blocked") ? "blocked by "
								   : "verdict unknown");
		if (strncmp(p, line, (size_t)len) != 0)
			fail_msg("check_lab.findings: want a line starting \"%s\", got \"%.*s\"",
				 line, (int)(nl - p), p);
		snprintf(line, sizeof(line), "; fix: %s", g[i].fix);
		if ((size_t)(nl - p) < strlen(line) ||
		    strncmp(nl - strlen(line), line, strlen(line)) != 0)
			fail_msg("check_lab.findings: the line for %u/%s does not end with \"%s\": "
				 "\"%.*s\"",
				 g[i].port, g[i].proto, line, (int)(nl - p), p);
		p = nl + 1;
	}
	assert_int_equal(findings, 4);
	assert_string_equal(p, ""); /* nothing after the findings */

	/* Metrics: every series of every group with its value, the per-exposure counts, the
	 * totals, and not one sample more. */
	for (size_t i = 0; i < n; i++) {
		char labels[320];

		snprintf(labels, sizeof(labels),
			 "{proto=\"%.7s\",port=\"%u\",address=\"%.63s\",process=\"%.127s\",zone=\"%"
			 ".31s\"",
			 g[i].proto, g[i].port, g[i].address, g[i].process, g[i].zone);
		snprintf(line, sizeof(line), "portcheck_listener_blocked%s} %d", labels,
			 !strcmp(g[i].exposure, "blocked") || !strcmp(g[i].exposure, "partial"));
		assert_one_line(prom, line, "check_lab.prom");
		samples++;
		for (size_t k = 0; k < 5; k++) {
			snprintf(line, sizeof(line),
				 "portcheck_listener_exposure%s,exposure=\"%s\"} %d", labels,
				 exposures[k], !strcmp(g[i].exposure, exposures[k]));
			assert_one_line(prom, line, "check_lab.prom");
			samples++;
		}
	}
	for (size_t k = 0; k < 5; k++) {
		snprintf(line, sizeof(line), "portcheck_listeners{exposure=\"%s\"} %u",
			 exposures[k], per[k]);
		assert_one_line(prom, line, "check_lab.prom");
		samples++;
	}
	snprintf(line, sizeof(line), "portcheck_findings %u", findings);
	assert_one_line(prom, line, "check_lab.prom");
	snprintf(line, sizeof(line), "portcheck_runtime_only_rules %u", runtime_only);
	assert_one_line(prom, line, "check_lab.prom");
	assert_one_line(prom, "portcheck_last_check_success 1", "check_lab.prom");
	assert_one_line(prom, "portcheck_last_check_timestamp_seconds 1700000000.500",
			"check_lab.prom");
	assert_one_line(prom, "portcheck_build_info{version=\"" VERSION "\"} 1", "check_lab.prom");
	samples += 5;
	/* Not one sample more, and a TYPE line for each of the 8 families. */
	{
		unsigned got = 0, types = 0;

		for (const char *q = prom; q && *q; q = strchr(q, '\n'), q = q ? q + 1 : NULL) {
			if (*q != '#' && *q != '\n')
				got++;
			if (!strncmp(q, "# TYPE portcheck_", 17))
				types++;
		}
		assert_int_equal(got, samples);
		assert_int_equal(types, 8);
	}
	free(findings_text);
	free(prom);
}

static void check_no_answer_golden(void)
{
	char *prom = golden_text("check_no_answer.prom");
	unsigned got = 0;

	assert_one_line(prom, "portcheck_last_check_success 0", "check_no_answer.prom");
	assert_one_line(prom, "portcheck_last_check_timestamp_seconds 1700000000.500",
			"check_no_answer.prom");
	assert_one_line(prom, "portcheck_build_info{version=\"" VERSION "\"} 1",
			"check_no_answer.prom");
	for (const char *q = prom; q && *q; q = strchr(q, '\n'), q = q ? q + 1 : NULL)
		got += *q != '#' && *q != '\n';
	assert_int_equal(got, 3);
	free(prom);
}

static void test_lab(void **state)
{
	json_t *j = load_file("check_status_lab.json");
	struct pc_check c;
	const struct pc_check_entry *e;
	enum pc_nagios_state ns;
	char *text;

	assert_int_equal(pc_check_evaluate(j, NULL, &c), 0);
	/* 8 sockets; the two on 7000/tcp are one entry. */
	assert_int_equal(c.n_entries, 7);
	assert_int_equal(c.n_ignored, 0);
	assert_int_equal(c.n_findings, 4);
	assert_int_equal(c.n_per_exposure[PC_CHECK_BLOCKED], 3);
	assert_int_equal(c.n_per_exposure[PC_CHECK_PARTIAL], 1);
	assert_int_equal(c.n_per_exposure[PC_CHECK_OPEN], 2);
	assert_int_equal(c.n_per_exposure[PC_CHECK_LOCAL_ONLY], 1);
	assert_int_equal(c.n_per_exposure[PC_CHECK_UNKNOWN], 0);
	/* 9090/tcp, opened at runtime only (two paths, one setting). */
	assert_int_equal(c.runtime_only_rules, 1);

	e = find(&c, "tcp", 7000);
	assert_non_null(e);
	assert_int_equal(e->n_sockets, 2);
	assert_string_equal(e->process, "haproxy-a,haproxy-b");
	assert_string_equal(e->zone, "public");
	assert_int_equal(e->exposure, PC_CHECK_BLOCKED);
	e = find(&c, "tcp", 5432);
	assert_string_equal(e->zone, "");
	assert_int_equal(e->exposure, PC_CHECK_LOCAL_ONLY);
	e = find(&c, "tcp", 8000);
	assert_int_equal(e->exposure, PC_CHECK_PARTIAL);
	/* The path that is blocked explains it, not the DNAT'd one that is accepted. */
	assert_string_equal(e->rule, "inet firewalld filter_IN_public handle 72: reject with "
				     "icmpx admin-prohibited");
	/* Open with a fix (make the runtime-only port permanent): still no finding. */
	e = find(&c, "tcp", 9090);
	assert_int_equal(e->exposure, PC_CHECK_OPEN);
	assert_non_null(e->fix);

	/* Sorted by protocol, port, address. */
	for (size_t i = 1; i < c.n_entries; i++) {
		int r = strcmp(c.entries[i - 1].proto, c.entries[i].proto);

		assert_true(r < 0 || (r == 0 && c.entries[i - 1].port <= c.entries[i].port));
	}

	assert_int_equal(pc_check_findings_text(&c, &text), 0);
	assert_golden(text, "check_lab.findings");
	assert_not_contains(text, "9090");
	assert_not_contains(text, "5432");
	free(text);

	assert_int_equal(pc_check_metrics(&c, NOW, VERSION, &text), 0);
	assert_golden(text, "check_lab.prom");
	assert_unique_series(text);
	free(text);

	assert_int_equal(pc_check_nagios(&c, NULL, &text, &ns), 0);
	assert_int_equal(ns, PC_NAGIOS_CRITICAL);
	assert_string_equal(
	    text, "PORTCHECK CRITICAL - 3 blocked, 1 partly blocked: 80/tcp on :: (nginx) "
		  "blocked, 7000/tcp on 0.0.0.0 (haproxy-a,haproxy-b) blocked, 8000/tcp on "
		  "0.0.0.0 (docker-proxy) partial, 5353/udp on 0.0.0.0 (avahi-daemon) blocked | "
		  "findings=4;0;;0 blocked=3;;0;0 partial=1;0;;0 unknown=0;0;;0 open=2;;;0 "
		  "local_only=1;;;0 ignored=0;;;0 runtime_only_rules=1;;;0");
	free(text);

	/* After the comparisons: with PC_UPDATE_GOLDEN the files are what the code printed. */
	check_lab_goldens(j);

	pc_check_clear(&c);
	pc_check_clear(&c); /* idempotent */
	pc_check_clear(NULL);
	json_decref(j);
}

/* The same listeners in the reverse order give the same metrics, byte for byte. */
static void test_deterministic(void **state)
{
	json_t *j = load_file("check_status_lab.json");
	json_t *listeners = json_object_get(j, "listeners"), *rev = json_array();
	struct pc_check a, b;
	char *ta, *tb;

	for (size_t i = json_array_size(listeners); i-- > 0;)
		json_array_append(rev, json_array_get(listeners, i));
	assert_int_equal(pc_check_evaluate(j, NULL, &a), 0);
	json_object_set_new(j, "listeners", rev);
	assert_int_equal(pc_check_evaluate(j, NULL, &b), 0);
	assert_int_equal(pc_check_metrics(&a, NOW, VERSION, &ta), 0);
	assert_int_equal(pc_check_metrics(&b, NOW, VERSION, &tb), 0);
	assert_string_equal(ta, tb);
	free(ta);
	free(tb);
	pc_check_clear(&a);
	pc_check_clear(&b);
	json_decref(j);
}

static void test_ignores(void **state)
{
	json_t *j = load_file("check_status_lab.json");
	struct pc_config *cfg = config_from("[Findings]\n"
					    "IgnorePorts=5353/udp 80\n"
					    "IgnoreProcesses=haproxy-a cockpit-ws\n");
	const struct pc_check_entry *e;
	struct pc_check c;
	json_t *l;
	size_t i, n_marked = 0;
	char *text;

	assert_int_equal(pc_check_evaluate(j, cfg, &c), 0);
	assert_int_equal(c.n_ignored, 4);
	assert_int_equal(c.n_entries, 4);
	assert_null(find(&c, "tcp", 80));
	assert_null(find(&c, "udp", 5353));
	assert_null(find(&c, "tcp", 9090));
	/* One of the two 7000/tcp sockets is ignored, the other is still a finding. */
	e = find(&c, "tcp", 7000);
	assert_non_null(e);
	assert_int_equal(e->n_sockets, 1);
	assert_string_equal(e->process, "haproxy-b");
	assert_int_equal(c.n_findings, 2);
	/* The runtime-only setting is lost on reload whoever listens behind it. */
	assert_int_equal(c.runtime_only_rules, 1);

	assert_int_equal(pc_check_metrics(&c, NOW, VERSION, &text), 0);
	assert_not_contains(text, "port=\"80\"");
	assert_not_contains(text, "avahi");
	assert_contains(text, "portcheck_findings 2\n");
	assert_contains(text, "portcheck_runtime_only_rules 1\n");
	free(text);
	assert_int_equal(pc_check_findings_text(&c, &text), 0);
	assert_not_contains(text, "80/tcp on ::");
	assert_contains(text, "7000/tcp on 0.0.0.0 (haproxy-b): blocked");
	free(text);
	assert_int_equal(pc_check_nagios(&c, NULL, &text, &(enum pc_nagios_state){0}), 0);
	assert_contains(text, "(docker-proxy) partial; 4 ignored | ");
	assert_contains(text, " ignored=4;;;0 ");
	free(text);
	pc_check_clear(&c);

	/* --json marks every listener. */
	assert_int_equal(pc_check_mark_ignored(j, cfg), 0);
	json_array_foreach(json_object_get(j, "listeners"), i, l)
	{
		json_t *m = json_object_get(l, "ignored");

		assert_true(json_is_boolean(m));
		if (json_is_true(m))
			n_marked++;
	}
	assert_int_equal(n_marked, 4);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	config_free(cfg);
	json_decref(j);
}

static const char unit_json[] =
    "{\"version\":1,\"listeners\":["
    "{\"protocol\":\"tcp\",\"address\":\"0.0.0.0\",\"port\":8080,"
    " \"process\":{\"pid\":9,\"name\":\"app\",\"unit\":\"docker-1234abcd.scope\"},"
    " \"exposure\":\"blocked\",\"firewalld\":{\"zone\":\"public\"},\"fix\":null,"
    " \"paths\":[{\"verdict\":\"drop\",\"rule\":null,\"reason\":\"dropped\"}]},"
    "{\"protocol\":\"tcp\",\"address\":\"0.0.0.0\",\"port\":8081,"
    " \"process\":{\"pid\":10,\"name\":\"app\",\"unit\":\"app.service\"},"
    " \"exposure\":\"blocked\",\"firewalld\":{\"zone\":\"public\"},\"fix\":null,"
    " \"paths\":[{\"verdict\":\"drop\",\"rule\":{\"family\":\"inet\",\"table\":\"mine\","
    "  \"chain\":\"input\",\"handle\":3,\"text\":\"tcp dport 8081 drop\"},"
    "  \"reason\":\"dropped\"}]}]}";

static void test_ignore_units_and_no_fix(void **state)
{
	json_t *j = load(unit_json);
	struct pc_config *cfg = config_from("[Findings]\nIgnoreUnits=docker-*.scope\n");
	struct pc_check c;
	char *text;

	assert_int_equal(pc_check_evaluate(j, cfg, &c), 0);
	assert_int_equal(c.n_ignored, 1);
	assert_int_equal(c.n_entries, 1);
	assert_int_equal(c.entries[0].port, 8081);
	/* Blocked by a table that is not firewalld's: no fix command, and it says so. */
	assert_int_equal(pc_check_findings_text(&c, &text), 0);
	assert_string_equal(
	    text, "8081/tcp on 0.0.0.0 (app, app.service): blocked by inet mine input handle "
		  "3: tcp dport 8081 drop; no fix through firewalld: see "
		  "`portcheck status`\n");
	free(text);
	pc_check_clear(&c);
	config_free(cfg);
	json_decref(j);
}

static void test_states(void **state)
{
	static const struct {
		const char *json;
		enum pc_nagios_state want;
		const char *nagios;
		bool finding;
	} cases[] = {
	    {"{\"listeners\":[{\"protocol\":\"tcp\",\"address\":\"::\",\"port\":22,"
	     "\"exposure\":\"open\",\"process\":null},"
	     "{\"protocol\":\"tcp\",\"address\":\"::1\",\"port\":25,\"exposure\":\"local-only\"}]}",
	     PC_NAGIOS_OK,
	     "PORTCHECK OK - no listener blocked (1 open, 1 local-only) | findings=0;0;;0 "
	     "blocked=0;;0;0 partial=0;0;;0 unknown=0;0;;0 open=1;;;0 local_only=1;;;0 "
	     "ignored=0;;;0 runtime_only_rules=0;;;0",
	     false},
	    {"{\"listeners\":[]}", PC_NAGIOS_OK,
	     "PORTCHECK OK - no listener blocked (0 open, 0 local-only) | findings=0;0;;0 "
	     "blocked=0;;0;0 partial=0;0;;0 unknown=0;0;;0 open=0;;;0 local_only=0;;;0 "
	     "ignored=0;;;0 runtime_only_rules=0;;;0",
	     false},
	    {"{\"listeners\":[{\"protocol\":\"udp\",\"address\":\"0.0.0.0\",\"port\":53,"
	     "\"exposure\":\"unknown\",\"process\":{\"name\":\"named\"},\"paths\":[{\"verdict\":"
	     "\"unknown\",\"reason\":\"a rate limit decides\"}],\"fix\":null}]}",
	     PC_NAGIOS_WARNING,
	     "PORTCHECK WARNING - 1 unknown: 53/udp on 0.0.0.0 (named) unknown | findings=1;0;;0 "
	     "blocked=0;;0;0 partial=0;0;;0 unknown=1;0;;0 open=0;;;0 local_only=0;;;0 "
	     "ignored=0;;;0 runtime_only_rules=0;;;0",
	     true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = load(cases[i].json);
		enum pc_nagios_state ns;
		struct pc_check c;
		char *text;

		assert_int_equal(pc_check_evaluate(j, NULL, &c), 0);
		assert_int_equal(pc_check_nagios(&c, NULL, &text, &ns), 0);
		assert_int_equal(ns, cases[i].want);
		assert_string_equal(text, cases[i].nagios);
		free(text);
		assert_int_equal(pc_check_findings_text(&c, &text), 0);
		if (cases[i].finding)
			assert_contains(text, "53/udp on 0.0.0.0 (named): verdict unknown: a rate "
					      "limit decides; no fix through firewalld");
		else
			assert_string_equal(text, "");
		free(text);
		assert_int_equal(pc_check_metrics(&c, NOW, VERSION, &text), 0);
		assert_unique_series(text);
		free(text);
		pc_check_clear(&c);
		json_decref(j);
	}
}

static void test_no_answer(void **state)
{
	enum pc_nagios_state ns;
	char *text;

	assert_int_equal(pc_check_metrics(NULL, NOW, VERSION, &text), 0);
	assert_golden(text, "check_no_answer.prom");
	check_no_answer_golden();
	assert_not_contains(text, "portcheck_listener");
	assert_not_contains(text, "portcheck_findings");
	free(text);

	assert_int_equal(
	    pc_check_nagios(NULL, "portcheckd is not running (no socket at /run/x)", &text, &ns),
	    0);
	assert_int_equal(ns, PC_NAGIOS_UNKNOWN);
	assert_string_equal(text,
			    "PORTCHECK UNKNOWN - portcheckd is not running (no socket at /run/x)");
	free(text);
	/* A '|' would start the perfdata; a control character would reach a web page. */
	assert_int_equal(pc_check_nagios(NULL, "a|b\033[2Jc", &text, &ns), 0);
	assert_string_equal(text, "PORTCHECK UNKNOWN - a?b\\x1b[2Jc");
	free(text);
	assert_int_equal(pc_check_nagios(NULL, NULL, &text, &ns), 0);
	assert_string_equal(text, "PORTCHECK UNKNOWN - portcheckd did not answer");
	free(text);
}

/* Process names are anyone's: sanitised (strsan.h) everywhere, the text format's escapes
 * on top in metrics, no '|' in the Nagios line. */
static void test_hostile_names(void **state)
{
	json_t *j = load("{\"listeners\":[{\"protocol\":\"tcp\",\"address\":\"0.0.0.0\","
			 "\"port\":1,\"exposure\":\"blocked\",\"process\":{\"name\":"
			 "\"a\\\\b\\\"c\\nd|e\\u001b[31m\\u00e9\"},\"firewalld\":{\"zone\":"
			 "\"z\\\"1\"},\"fix\":{\"command\":\"x\\ny\"},\"paths\":[]}]}");
	struct pc_check c;
	char *text;

	assert_int_equal(pc_check_evaluate(j, NULL, &c), 0);
	assert_int_equal(pc_check_metrics(&c, NOW, VERSION, &text), 0);
	assert_contains(text,
			"process=\"a\\\\b\\\"c\\\\x0ad|e\\\\x1b[31m\xc3\xa9\",zone=\"z\\\"1\"}");
	free(text);
	assert_int_equal(pc_check_findings_text(&c, &text), 0);
	assert_string_equal(text, "1/tcp on 0.0.0.0 (a\\b\"c\\x0ad|e\\x1b[31m\xc3\xa9): blocked; "
				  "fix: x\\x0ay\n");
	free(text);
	assert_int_equal(pc_check_nagios(&c, NULL, &text, &(enum pc_nagios_state){0}), 0);
	assert_contains(text, "(a\\b\"c\\x0ad?e\\x1b[31m\xc3\xa9) blocked | findings=1;");
	free(text);
	pc_check_clear(&c);
	json_decref(j);
}

/* A reply that cannot be read is never a clean bill. */
static void test_malformed(void **state)
{
	static const char *const bad[] = {"{}", "{\"listeners\":{}}", "[]", "null"};
	json_t *j = load("{\"listeners\":[7,{\"port\":\"80\"},{\"protocol\":\"tcp\","
			 "\"address\":\"::\",\"port\":70000,\"exposure\":\"exposed\","
			 "\"paths\":{},\"fix\":\"no\",\"process\":[1]}]}");
	struct pc_check c;
	char *text;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *b = load(bad[i]);

		assert_int_equal(pc_check_evaluate(b, NULL, &c), -EBADMSG);
		assert_int_equal(pc_check_mark_ignored(b, NULL), -EBADMSG);
		json_decref(b);
	}
	assert_int_equal(pc_check_evaluate(NULL, NULL, &c), -EBADMSG);

	assert_int_equal(pc_check_evaluate(j, NULL, &c), 0);
	/* 7 and {"port":"80"} share the key ?/0/?; the third is its own. */
	assert_int_equal(c.n_entries, 2);
	assert_int_equal(c.n_findings, 2);
	assert_int_equal(c.n_per_exposure[PC_CHECK_UNKNOWN], 2);
	assert_string_equal(c.entries[0].proto, "?");
	assert_int_equal(c.entries[1].port, 0);
	assert_int_equal(pc_check_metrics(&c, NOW, VERSION, &text), 0);
	assert_unique_series(text);
	assert_contains(text, "portcheck_findings 2\n");
	free(text);
	assert_int_equal(pc_check_nagios(&c, NULL, &text, &(enum pc_nagios_state){0}), 0);
	assert_contains(text, "PORTCHECK WARNING - 2 unknown: ");
	free(text);
	pc_check_clear(&c);
	assert_int_equal(pc_check_mark_ignored(j, NULL), 0);
	json_decref(j);
}

/* Sockets sharing an address are merged into the worst of their states. */
static void test_merge(void **state)
{
	json_t *j = load("{\"listeners\":["
			 "{\"protocol\":\"tcp\",\"address\":\"::\",\"port\":443,\"exposure\":"
			 "\"open\",\"process\":{\"name\":\"w2\"},\"firewalld\":{\"zone\":\"b\"},"
			 "\"fix\":null},"
			 "{\"protocol\":\"tcp\",\"address\":\"::\",\"port\":443,\"exposure\":"
			 "\"blocked\",\"process\":{\"name\":\"w1\"},\"firewalld\":{\"zone\":\"a\"},"
			 "\"fix\":{\"command\":\"portcheck open https --zone a --permanent\"}},"
			 "{\"protocol\":\"tcp\",\"address\":\"::\",\"port\":443,\"exposure\":"
			 "\"open\",\"process\":{\"name\":\"w2\"},\"firewalld\":{\"zone\":\"a\"}},"
			 "{\"protocol\":\"udp\",\"address\":\"::\",\"port\":443,\"exposure\":"
			 "\"open\",\"process\":null}]}");
	struct pc_check c;

	assert_int_equal(pc_check_evaluate(j, NULL, &c), 0);
	assert_int_equal(c.n_entries, 2);
	assert_int_equal(c.entries[0].n_sockets, 3);
	assert_int_equal(c.entries[0].exposure, PC_CHECK_BLOCKED);
	assert_string_equal(c.entries[0].process, "w1,w2");
	assert_string_equal(c.entries[0].zone, "a,b");
	assert_string_equal(c.entries[0].fix, "portcheck open https --zone a --permanent");
	assert_string_equal(c.entries[1].proto, "udp");
	assert_string_equal(c.entries[1].process, "");
	assert_int_equal(c.n_findings, 1);
	pc_check_clear(&c);
	json_decref(j);
}

static size_t count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_textfile(void **state)
{
	char dir[] = "/tmp/pc-test-check-XXXXXX";
	char path[256], sub[256];
	struct stat st;
	mode_t old;
	char *got;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/portcheck.prom", dir);

	/* Mode 0644 whatever the umask: node_exporter is not root. */
	old = umask(077);
	assert_int_equal(pc_textfile_write(path, "a 1\n", 4), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	got = read_text(path);
	assert_string_equal(got, "a 1\n");
	free(got);

	/* Replaced whole, and nothing else left in the directory. */
	assert_int_equal(pc_textfile_write(path, "b 2\n", 4), 0);
	got = read_text(path);
	assert_string_equal(got, "b 2\n");
	free(got);
	assert_int_equal(count_dir(dir), 1);

	/* Failures leave no temporary file behind, and the old file as it was. */
	snprintf(sub, sizeof(sub), "%s/missing/portcheck.prom", dir);
	assert_int_equal(pc_textfile_write(sub, "x", 1), -ENOENT);
	snprintf(sub, sizeof(sub), "%s/adir", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_true(pc_textfile_write(sub, "x", 1) < 0);
	assert_int_equal(count_dir(dir), 2);
	assert_int_equal(rmdir(sub), 0);
	assert_int_equal(pc_textfile_write("", "x", 1), -EINVAL);
	assert_int_equal(pc_textfile_write(NULL, "x", 1), -EINVAL);
	got = read_text(path);
	assert_string_equal(got, "b 2\n");
	free(got);

	/* A relative name: the temporary file is in the current directory. */
	{
		char cwd[4096];

		assert_non_null(getcwd(cwd, sizeof(cwd)));
		assert_int_equal(chdir(dir), 0);
		assert_int_equal(pc_textfile_write("rel.prom", "c 3\n", 4), 0);
		assert_int_equal(chdir(cwd), 0);
	}
	assert_int_equal(count_dir(dir), 2);

	snprintf(sub, sizeof(sub), "%s/rel.prom", dir);
	assert_int_equal(unlink(sub), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lab),		  cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_ignores),	  cmocka_unit_test(test_ignore_units_and_no_fix),
	    cmocka_unit_test(test_states),	  cmocka_unit_test(test_no_answer),
	    cmocka_unit_test(test_hostile_names), cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_merge),	  cmocka_unit_test(test_textfile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
