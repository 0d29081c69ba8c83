/* SPDX-License-Identifier: MIT */
/*
 * Harness body for `portcheck check`: the input is a Status reply (json_loadb), as
 * another process sends it. pc_check_evaluate with and without ignores, then the
 * findings, the metrics and the Nagios line, each checked against check.h's contract:
 * counts that add up, one entry per label set, printable one-line text, one metrics
 * line per sample, no '|' in the Nagios summary. Then pc_check_mark_ignored, which must
 * not change the evaluation.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "portcheck/check.h"

static size_t pc_fuzz_count(const char *s, char ch)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == ch;
	return n;
}

static bool pc_fuzz_printable(const char *s, const char *also)
{
	for (; *s; s++)
		if (!((*s >= 0x20 && *s < 0x7f) || (also && strchr(also, *s))))
			return false;
	return true;
}

static void pc_fuzz_check_result(const struct pc_check *c, const json_t *listeners)
{
	size_t per = 0, findings = 0, sockets = 0;

	for (size_t k = 0; k < _PC_CHECK_EXPOSURE_MAX; k++)
		per += c->n_per_exposure[k];
	PC_FUZZ_ASSERT(per == c->n_entries);
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct pc_check_entry *e = &c->entries[i];

		PC_FUZZ_ASSERT(e->exposure < _PC_CHECK_EXPOSURE_MAX && e->port <= 65535);
		PC_FUZZ_ASSERT(e->proto && e->address && e->process && e->unit && e->zone &&
			       e->rule && e->reason && e->n_sockets);
		findings += pc_check_exposure_is_finding(e->exposure);
		sockets += e->n_sockets;
		/* Sorted, and one entry per label set: Prometheus rejects duplicate series. */
		if (i) {
			const struct pc_check_entry *p = &c->entries[i - 1];
			int d = strcmp(p->proto, e->proto);

			if (!d)
				d = p->port < e->port ? -1 : p->port > e->port;
			if (!d)
				d = strcmp(p->address, e->address);
			PC_FUZZ_ASSERT(d < 0);
		}
	}
	PC_FUZZ_ASSERT(findings == c->n_findings);
	PC_FUZZ_ASSERT(sockets + c->n_ignored == json_array_size(listeners));
}

/* Prometheus text format 0.0.4, the subset pc_check_metrics writes: comments, and
 * NAME{LABEL="VALUE",...} NUMBER with \\, \" and \n the only escapes in a value. */
static void pc_fuzz_check_metrics_text(const char *s)
{
	while (*s) {
		if (*s == '#') {
			s = strchr(s, '\n');
			PC_FUZZ_ASSERT(s);
			s++;
			continue;
		}
		PC_FUZZ_ASSERT(*s >= 'a' && *s <= 'z');
		s += strspn(s, "abcdefghijklmnopqrstuvwxyz_");
		if (*s == '{') {
			do {
				s++;
				PC_FUZZ_ASSERT(*s >= 'a' && *s <= 'z');
				s += strspn(s, "abcdefghijklmnopqrstuvwxyz_");
				PC_FUZZ_ASSERT(s[0] == '=' && s[1] == '"');
				for (s += 2; *s != '"'; s++) {
					PC_FUZZ_ASSERT(*s && *s != '\n');
					if (*s == '\\') {
						s++;
						PC_FUZZ_ASSERT(*s == '\\' || *s == '"' ||
							       *s == 'n');
					}
				}
				s++;
			} while (*s == ',');
			PC_FUZZ_ASSERT(*s == '}');
			s++;
		}
		PC_FUZZ_ASSERT(*s == ' ');
		s++;
		s += strspn(s, "0123456789.");
		PC_FUZZ_ASSERT(*s == '\n');
		s++;
	}
}

static void pc_fuzz_check_outputs(const struct pc_check *c)
{
	_cleanup_free_ char *text = NULL, *metrics = NULL, *line = NULL;
	enum pc_nagios_state state;

	if (pc_check_findings_text(c, &text) == 0) {
		PC_FUZZ_ASSERT(pc_fuzz_printable(text, "\n"));
		PC_FUZZ_ASSERT(pc_fuzz_count(text, '\n') == c->n_findings);
	}
	/* Two header lines per family (8), a sample per line: any other newline is an
	 * unescaped one inside a label value. */
	if (pc_check_metrics(c, 1700000000.5, "0.1.0", &metrics) == 0) {
		PC_FUZZ_ASSERT(pc_fuzz_count(metrics, '\n') == 6 * c->n_entries + 26);
		pc_fuzz_check_metrics_text(metrics);
	}
	if (pc_check_nagios(c, NULL, &line, &state) == 0) {
		PC_FUZZ_ASSERT(pc_fuzz_printable(line, NULL));
		PC_FUZZ_ASSERT(pc_fuzz_count(line, '|') == 1);
		PC_FUZZ_ASSERT(state == (c->n_per_exposure[PC_CHECK_BLOCKED] ? PC_NAGIOS_CRITICAL
					 : c->n_findings		     ? PC_NAGIOS_WARNING
									     : PC_NAGIOS_OK));
	}
}

static int pc_fuzz_check_one(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *status = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	const json_t *listeners = json_object_get(status, "listeners");
	struct pc_check first[2] = {0};
	int first_r[2];
	struct pc_config cfg;

	if (!status)
		return 0;
	if (pc_fuzz_config_fixture(&cfg) < 0) {
		json_decref(status);
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		const struct pc_config *c = i ? &cfg : NULL;

		first_r[i] = pc_check_evaluate(status, c, &first[i]);
		if (first_r[i] < 0) {
			PC_FUZZ_ASSERT(first_r[i] == -ENOMEM ||
				       (first_r[i] == -EBADMSG && !json_is_array(listeners)));
			continue;
		}
		pc_fuzz_check_result(&first[i], listeners);
		pc_fuzz_check_outputs(&first[i]);
	}

	{
		/* The daemon did not answer; @why is the client's own text, but make sure it
		 * stays on one line and out of the perfdata. */
		_cleanup_free_ char *line = NULL, *metrics = NULL;
		const char *why = json_string_value(json_object_get(status, "why"));
		enum pc_nagios_state state;

		if (pc_check_nagios(NULL, why, &line, &state) == 0) {
			PC_FUZZ_ASSERT(state == PC_NAGIOS_UNKNOWN);
			PC_FUZZ_ASSERT(pc_fuzz_printable(line, NULL) && !strchr(line, '|'));
		}
		if (pc_check_metrics(NULL, 0, "0.1.0", &metrics) == 0) {
			PC_FUZZ_ASSERT(pc_fuzz_count(metrics, '\n') == 9);
			pc_fuzz_check_metrics_text(metrics);
		}
	}

	/* check --json: "ignored" is additive, the evaluation stays the same. */
	if (pc_check_mark_ignored(status, &cfg) == 0) {
		struct pc_check again = {0};
		size_t n_ignored = 0, n_bad = 0, i;
		const json_t *l;

		PC_FUZZ_ASSERT(json_is_array(listeners));
		/* The ignores agree with the evaluation's, and a listener not ignored whose
		 * exposure is not plainly "open" or "local-only" is never a clean bill. */
		json_array_foreach(listeners, i, l)
		{
			const char *e = json_string_value(json_object_get(l, "exposure"));

			if (json_is_object(l) && json_is_true(json_object_get(l, "ignored"))) {
				n_ignored++;
				continue;
			}
			PC_FUZZ_ASSERT(!json_is_object(l) ||
				       json_is_false(json_object_get(l, "ignored")));
			n_bad += !e || (strcmp(e, "open") != 0 && strcmp(e, "local-only") != 0);
		}
		PC_FUZZ_ASSERT(first_r[1] < 0 || n_ignored == first[1].n_ignored);
		PC_FUZZ_ASSERT(first_r[1] < 0 || !n_bad || first[1].n_findings);
		if (first_r[1] == 0 && pc_check_evaluate(status, &cfg, &again) == 0) {
			PC_FUZZ_ASSERT(again.n_entries == first[1].n_entries &&
				       again.n_findings == first[1].n_findings &&
				       again.n_ignored == first[1].n_ignored &&
				       again.runtime_only_rules == first[1].runtime_only_rules);
			pc_check_clear(&again);
		}
	}
	pc_check_clear(&first[0]);
	pc_check_clear(&first[1]);
	pc_config_clear(&cfg);
	json_decref(status);
	return 0;
}
