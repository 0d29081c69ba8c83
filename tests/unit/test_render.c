/* SPDX-License-Identifier: MIT */
/* The human-readable rendering of a Status reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/render.h"

static const char status_json[] =
    "{\"version\": 1,"
    " \"firewalld\": {\"running\": true, \"version\": \"1.3.3\", \"default_zone\": \"public\","
    "                \"state\": \"RUNNING\", \"panic\": false, \"error\": null},"
    " \"nftables\": null,"
    " \"listeners\": ["
    "  {\"protocol\": \"tcp\", \"address\": \"0.0.0.0\", \"port\": 22, \"v6only\": false, "
    "\"families\": [\"ipv4\"],"
    "   \"process\": {\"pid\": 601, \"name\": \"sshd\", \"unit\": \"ssh.service\"},"
    "   \"exposure\": \"open\","
    "   \"paths\": [{\"interface\": \"eth0\", \"family\": \"ipv4\", \"source\": \"any\","
    "     \"zone\": \"public\", \"verdict\": \"accept\", \"reject\": null, \"forwarded_to\": null,"
    "     \"rule\": null, \"allowed_by\": \"service ssh\", \"runtime_only\": false,"
    "     \"reason\": \"zone public allows 22/tcp (service ssh)\"}],"
    "   \"firewalld\": {\"zone\": \"public\", \"allowed_by\": \"service ssh\", \"runtime_only\": "
    "false},"
    "   \"fix\": null},"
    "  {\"protocol\": \"tcp\", \"address\": \"::\", \"port\": 80, \"v6only\": false, \"families\": "
    "[\"ipv4\", "
    "\"ipv6\"],"
    "   \"process\": {\"pid\": 812, \"name\": \"nginx\", \"unit\": \"nginx.service\"},"
    "   \"exposure\": \"blocked\","
    "   \"paths\": ["
    "    {\"interface\": \"eth0\", \"family\": \"ipv4\", \"source\": \"any\", \"zone\": \"public\","
    "     \"verdict\": \"reject\", \"reject\": {\"icmp_type\": 3, \"icmp_code\": 13},"
    "     \"forwarded_to\": null, \"firewalld_verdict\": \"reject\","
    "     \"rule\": {\"family\": \"inet\", \"table\": \"firewalld\", \"chain\": "
    "\"filter_IN_public\", \"handle\": 87, \"text\": \"reject with icmpx admin-prohibited\"},"
    "     \"allowed_by\": null, \"runtime_only\": false,"
    "     \"reason\": \"zone public (target default) rejects it\"},"
    "    {\"interface\": \"eth0\", \"family\": \"ipv6\", \"source\": \"any\", \"zone\": \"public\","
    "     \"verdict\": \"reject\", \"reject\": {\"icmp_type\": 1, \"icmp_code\": 1},"
    "     \"forwarded_to\": null, \"firewalld_verdict\": \"reject\","
    "     \"rule\": {\"family\": \"inet\", \"table\": \"firewalld\", \"chain\": "
    "\"filter_IN_public\", \"handle\": 87, \"text\": \"reject with icmpx admin-prohibited\"},"
    "     \"allowed_by\": null, \"runtime_only\": false,"
    "     \"reason\": \"zone public (target default) rejects it\"}],"
    "   \"firewalld\": {\"zone\": \"public\", \"allowed_by\": null, \"runtime_only\": false},"
    "   \"fix\": {\"command\": \"portcheck open http --zone public --permanent\","
    "            \"port\": \"80/tcp\", \"service\": \"http\", \"zone\": \"public\"}},"
    "  {\"protocol\": \"tcp\", \"address\": \"0.0.0.0\", \"port\": 8080, \"v6only\": false, "
    "\"families\": "
    "[\"ipv4\"],"
    "   \"process\": {\"pid\": 900, \"name\": \"app\", \"unit\": null},"
    "   \"exposure\": \"partial\","
    "   \"paths\": ["
    "    {\"interface\": \"eth0\", \"family\": \"ipv4\", \"source\": \"203.0.113.0/24\","
    "     \"zone\": \"trusted\", \"verdict\": \"accept\", \"reject\": null, \"forwarded_to\": "
    "null,"
    "     \"rule\": null, \"allowed_by\": \"target ACCEPT\", \"runtime_only\": false, "
    "\"reason\": \"\"},"
    "    {\"interface\": \"eth0\", \"family\": \"ipv4\", \"source\": \"0.0.0.0/1\","
    "     \"zone\": \"public\", \"verdict\": \"drop\", \"reject\": null, \"forwarded_to\": null,"
    "     \"firewalld_verdict\": \"drop\", \"rule\": {\"family\": \"inet\", \"table\": "
    "\"firewalld\", \"chain\": \"filter_IN_public\", \"handle\": 90, \"text\": \"drop\"},"
    "     \"allowed_by\": null, \"runtime_only\": false, \"reason\": \"\"},"
    "    {\"interface\": \"eth0\", \"family\": \"ipv4\", \"source\": \"0.0.0.0/1\","
    "     \"zone\": \"public\", \"verdict\": \"drop\", \"reject\": null, \"forwarded_to\": null,"
    "     \"firewalld_verdict\": \"drop\", \"rule\": {\"family\": \"inet\", \"table\": "
    "\"firewalld\", \"chain\": \"filter_IN_public\", \"handle\": 90, \"text\": \"drop\"},"
    "     \"allowed_by\": null, \"runtime_only\": false, \"reason\": \"dup\"}],"
    "   \"firewalld\": {\"zone\": \"public\", \"allowed_by\": null, \"runtime_only\": false},"
    "   \"fix\": {\"command\": \"portcheck open 8080/tcp --zone public --permanent\","
    "            \"port\": \"8080/tcp\", \"service\": null, \"zone\": \"public\"}},"
    "  {\"protocol\": \"tcp\", \"address\": \"127.0.0.1\", \"port\": 5432, \"v6only\": false, "
    "\"families\": [],"
    "   \"process\": {\"pid\": 700, \"name\": \"postgres\", \"unit\": "
    "\"postgresql@15-main.service\"},"
    "   \"exposure\": \"local-only\", \"paths\": [], \"firewalld\": null, \"fix\": null}"
    " ]}";

/* Render @j into a string the caller frees. */
static char *render(const json_t *j, bool colour)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	assert_non_null(f);
	assert_int_equal(pc_render_status(f, j, colour), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

static json_t *load(const char *s)
{
	json_error_t err;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &err);

	if (!j)
		fail_msg("test JSON: %s at %d", err.text, err.position);
	return j;
}

/* The line of @out starting with @prefix, as a new string. */
static char *line_starting(const char *out, const char *prefix)
{
	const char *p = out;

	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (strncmp(p, prefix, strlen(prefix)) == 0)
			return strndup(p, len);
		p = end ? end + 1 : NULL;
	}
	fail_msg("no line starting with \"%s\" in:\n%s", prefix, out);
	return NULL;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" not found in:\n%s", needle, hay);
}

static void test_render_table(void **state)
{
	json_t *j = load(status_json);
	char *out = render(j, false);
	char *header, *l80, *l22, *l8080, *l5432;
	size_t col;

	assert_contains(out, "firewalld 1.3.3 running, default zone public\n");
	assert_null(strchr(out, '\033'));

	l80 = line_starting(out, "80/tcp ");
	assert_contains(l80, " :: ");
	assert_contains(l80, "nginx (nginx.service)");
	assert_contains(l80, " blocked ");
	assert_contains(l80, "public: rejected, no service or port allows 80/tcp");
	assert_contains(l80, "portcheck open http --zone public --permanent");

	l22 = line_starting(out, "22/tcp ");
	assert_contains(l22, " open ");
	assert_contains(l22, "public: allowed by service ssh");
	assert_contains(l22, "sshd (ssh.service)");

	l5432 = line_starting(out, "5432/tcp ");
	assert_contains(l5432, " local-only ");
	assert_contains(l5432, "bound to loopback");
	/* Nothing to fix: no trailing padding either. */
	assert_true(l5432[strlen(l5432) - 1] != ' ');

	/* Partial: the main line speaks for the blocking path, details show each way in,
	 * duplicates once. */
	l8080 = line_starting(out, "8080/tcp ");
	assert_contains(l8080, " partial ");
	assert_contains(l8080, "public: dropped, no service or port allows 8080/tcp");
	assert_contains(out, "\n    eth0 ipv4 from 203.0.113.0/24 -> trusted: allowed by target "
			     "ACCEPT\n");
	assert_contains(out,
			"\n    eth0 ipv4 from 0.0.0.0/1 -> public: dropped, no service or port "
			"allows 8080/tcp\n");
	assert_int_equal(count(out, "from 0.0.0.0/1"), 1);
	/* Blocked the same way on every path: no details under 80/tcp. */
	assert_null(strstr(out, "eth0 ipv6"));

	/* Columns line up: widths come from the content. */
	header = line_starting(out, "PORT ");
	col = (size_t)(strstr(header, "EXPOSURE") - header);
	assert_int_equal(strstr(l80, "blocked") - l80, col);
	assert_int_equal(strstr(l22, "open") - l22, col);
	assert_int_equal(strstr(l5432, "local-only") - l5432, col);
	col = (size_t)(strstr(header, "FIX") - header);
	assert_int_equal(strstr(l80, "portcheck open") - l80, col);

	assert_int_equal(pc_render_status_findings(j), 2);

	free(header);
	free(l80);
	free(l22);
	free(l8080);
	free(l5432);
	free(out);
	json_decref(j);
}

/* Spoofed sources and ignored interfaces: in --json only, never the line or the details;
 * a listener reached only through ignored interfaces says so and is no finding. */
static void test_render_spoofed_and_ignored(void **state)
{
	static const char *const j_text =
	    "{\"version\":1,\"firewalld\":{\"running\":false},\"listeners\":["
	    "{\"protocol\":\"tcp\",\"address\":\"::\",\"port\":80,\"exposure\":\"open\","
	    "\"ignored\":false,\"paths\":["
	    "{\"interface\":\"eth0\",\"family\":\"ipv6\",\"source\":\"2001:db8::/64\","
	    "\"verdict\":\"accept\",\"reason\":\"accepted\",\"spoofed\":false},"
	    "{\"interface\":\"eth0\",\"family\":\"ipv6\",\"source\":\"2000::/3\","
	    "\"verdict\":\"drop\",\"reason\":\"dropped by rpfilter\",\"spoofed\":true},"
	    "{\"interface\":\"veth9\",\"family\":\"ipv6\",\"source\":\"any\","
	    "\"verdict\":\"drop\",\"reason\":\"dropped by veth\",\"ignored\":true}]},"
	    "{\"protocol\":\"tcp\",\"address\":\"0.0.0.0\",\"port\":9000,\"exposure\":"
	    "\"blocked\",\"ignored\":true,\"paths\":["
	    "{\"interface\":\"docker0\",\"family\":\"ipv4\",\"source\":\"any\","
	    "\"verdict\":\"drop\",\"reason\":\"dropped by docker\",\"ignored\":true}]}]}";
	json_t *j = load(j_text);
	char *out = render(j, false);
	char *l80 = line_starting(out, "80/tcp "), *l9000 = line_starting(out, "9000/tcp ");

	(void)state;
	assert_contains(l80, " open ");
	assert_contains(l80, "accepted");
	assert_null(strstr(out, "rpfilter"));
	assert_null(strstr(out, "dropped by veth"));
	assert_contains(l9000, "blocked (ignored)");
	assert_int_equal(pc_render_status_findings(j), 0);
	free(l80);
	free(l9000);
	free(out);
	json_decref(j);
}

static void test_render_colour(void **state)
{
	json_t *j = load(status_json);
	char *plain = render(j, false), *out = render(j, true);
	char *l80;

	assert_null(strchr(plain, '\033'));
	assert_contains(out, "\033[31mblocked\033[0m");
	assert_contains(out, "\033[32mopen\033[0m");
	assert_contains(out, "\033[33mpartial\033[0m");
	/* Padding is computed on the text, not the escape codes. */
	l80 = line_starting(out, "80/tcp ");
	assert_contains(l80, "blocked\033[0m     public: rejected"); /* 10 wide + 2 */
	free(l80);
	free(plain);
	free(out);
	json_decref(j);
}

static void test_render_firewalld_down(void **state)
{
	json_t *j = load(
	    "{\"version\":1,\"firewalld\":{\"running\":false,\"version\":null,"
	    "\"default_zone\":null,\"state\":null,\"panic\":false,\"error\":\"system bus "
	    "unavailable\"},\"nftables\":null,\"listeners\":[{\"protocol\":\"udp\",\"address\":"
	    "\"0.0.0.0\",\"port\":53,\"process\":null,\"exposure\":\"unknown\",\"paths\":[{"
	    "\"interface\":\"eth0\",\"family\":\"ipv4\",\"source\":\"any\",\"zone\":null,"
	    "\"verdict\":\"unknown\",\"reason\":\"firewalld is not available\"}],\"firewalld\":"
	    "{\"zone\":null,\"allowed_by\":null,\"runtime_only\":false},\"fix\":null}]}");
	char *out = render(j, false), *l53;

	/* First line, plain to see. */
	assert_int_equal(strncmp(out, "firewalld: not running (system bus unavailable)\n", 48), 0);
	l53 = line_starting(out, "53/udp ");
	assert_contains(l53, " unknown ");
	assert_contains(l53, " ? "); /* no process */
	assert_int_equal(pc_render_status_findings(j), 1);
	free(l53);
	free(out);
	out = render(j, true);
	assert_contains(out, "\033[1;31mfirewalld: not running");
	free(out);
	json_decref(j);

	j = load("{\"firewalld\":{\"running\":true,\"version\":\"1.3.3\",\"default_zone\":\"drop\","
		 "\"panic\":true},\"listeners\":[]}");
	out = render(j, false);
	assert_contains(out, "PANIC MODE");
	assert_contains(out, "No listening sockets.");
	assert_int_equal(pc_render_status_findings(j), 0);
	free(out);
	json_decref(j);
}

static void test_render_malformed(void **state)
{
	static const char *const inputs[] = {
	    "null",
	    "[]",
	    "{}",
	    "{\"firewalld\": 5, \"listeners\": 5}",
	    "{\"firewalld\": {\"running\": \"yes\"}, \"listeners\": [5, null, [], {}]}",
	    "{\"listeners\": [{\"port\": \"x\", \"protocol\": 7, \"address\": null, \"process\": "
	    "\"x\", \"paths\": {}, \"exposure\": 3, \"fix\": [], \"firewalld\": 7}]}",
	    "{\"listeners\": [{\"port\": 1, \"v6only\": false, \"exposure\": \"partial\", "
	    "\"paths\": [1, null, "
	    "{\"verdict\": 5}, {\"verdict\": \"accept\", \"rule\": \"x\"}, {\"verdict\": "
	    "\"reject\", \"rule\": {\"text\": 5}}, {\"verdict\": \"drop\", \"rule\": {\"text\": "
	    "\"drop\"}, \"interface\": 9}]}]}",
	    "{\"listeners\": [{\"port\": 99999999999999, \"v6only\": false, \"process\": {\"pid\": "
	    "\"x\", \"name\": "
	    "null, \"unit\": 5}, \"fix\": {\"command\": null}, \"exposure\": \"open\"}]}",
	    "{\"listeners\": [{\"process\": {\"pid\": 1, \"name\": \"\\u001b[2J\\u001b]0;pwn\\u0007"
	    "\\u00e9\\u009b31m\"}, \"exposure\": \"weird\", \"paths\": []}]}",
	};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		json_t *j = load(inputs[i]);
		char *out = render(j, false);

		/* Something is shown, and nothing from the reply reaches the terminal raw. */
		assert_true(strlen(out) > 0);
		assert_null(strchr(out, '\033'));
		assert_null(strchr(out, '\007'));
		assert_null(strstr(out, "\xc2\x9b"));
		free(out);
		out = render(j, true);
		free(out);
		(void)pc_render_status_findings(j);
		json_decref(j);
	}

	/* A field of the wrong type shows as "?". */
	{
		json_t *j = load(inputs[5]);
		char *out = render(j, false), *l = line_starting(out, "?/? ");

		assert_contains(l, " ? "); /* address, process */
		free(l);
		free(out);
		/* An unreadable exposure counts as a finding. */
		assert_int_equal(pc_render_status_findings(j), 1);
		json_decref(j);
	}
	{
		json_t *j = load(inputs[8]);
		char *out = render(j, false);

		/* Escapes from a daemon that did not sanitise: \x1b as text, é as is. */
		assert_contains(out, "\\x1b[2J\\x1b]0;pwn\\x07\xc3\xa9\\xc2\\x9b31m");
		free(out);
		json_decref(j);
	}
	/* NULL itself. */
	{
		char *out = render(NULL, false);

		assert_contains(out, "firewalld: ?");
		free(out);
		assert_int_equal(pc_render_status_findings(NULL), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_table),
	    cmocka_unit_test(test_render_spoofed_and_ignored),
	    cmocka_unit_test(test_render_colour),
	    cmocka_unit_test(test_render_firewalld_down),
	    cmocka_unit_test(test_render_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
