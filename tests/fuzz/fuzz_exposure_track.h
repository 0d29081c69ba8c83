/* SPDX-License-Identifier: MIT */
/*
 * Harness body for pc_exposure_track_update() and pc_exposure_summary(). The input is
 * a sequence of up to PC_FUZZ_MAX_REPORTS JSON texts (json_loadb, one after the other):
 * the status reports the daemon sees in turn, fed to one tracker, so state changes
 * between reports run. Checked: an event per counted change with the fields the
 * catalog needs, no event for a report seen twice in a row, a failed update leaving the
 * state alone, a summary on one line.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "portcheck/exposure_track.h"

#define PC_FUZZ_MAX_REPORTS 4

struct pc_fuzz_events {
	int n;
};

static void pc_fuzz_event(const struct pc_exposure_event *ev, void *userdata)
{
	struct pc_fuzz_events *e = userdata;
	bool id = false, prio = false, msg = false;

	PC_FUZZ_ASSERT(ev->change >= PC_CHANGE_BLOCKED && ev->change <= PC_CHANGE_UNKNOWN);
	PC_FUZZ_ASSERT(ev->message);
	PC_FUZZ_ASSERT(ev->fields.n && !ev->fields.v[ev->fields.n]);
	for (size_t i = 0; i < ev->fields.n; i++) {
		const char *f = ev->fields.v[i];

		PC_FUZZ_ASSERT(strchr(f, '=') > f);
		id |= strncmp(f, "MESSAGE_ID=", 11) == 0;
		prio |= strncmp(f, "PRIORITY=", 9) == 0;
		msg |= strncmp(f, "MESSAGE=", 8) == 0 && strcmp(f + 8, ev->message) == 0;
	}
	PC_FUZZ_ASSERT(id && prio && msg);
	e->n++;
}

/* One report on @t; returns pc_exposure_track_update's result. */
static int pc_fuzz_track_report(struct pc_exposure_track *t, const json_t *status,
				const struct pc_config *cfg)
{
	struct pc_exposure_entry *entries = t->entries;
	size_t n = t->n;
	struct pc_fuzz_events ev = {0};
	int r = pc_exposure_track_update(t, status, cfg, pc_fuzz_event, &ev);

	if (r < 0) {
		PC_FUZZ_ASSERT(r == -EINVAL || r == -ENOMEM);
		PC_FUZZ_ASSERT(t->entries == entries && t->n == n);
		PC_FUZZ_ASSERT(r == -ENOMEM ||
			       !json_is_array(json_object_get(status, "listeners")) ||
			       json_array_size(json_object_get(status, "listeners")));
		return r;
	}
	PC_FUZZ_ASSERT(r == ev.n && t->primed);
	PC_FUZZ_ASSERT(t->n <= json_array_size(json_object_get(status, "listeners")));
	for (size_t i = 0; i < t->n; i++)
		PC_FUZZ_ASSERT(t->entries[i].key && t->entries[i].exposure);
	return r;
}

static const char *pc_fuzz_str_or_q(const json_t *l, const char *key)
{
	const char *s = json_string_value(json_object_get(l, key));

	return s && *s ? s : "?";
}

/* What a fresh tracker must report for @listeners (a valid report) without ignores:
 * one event per listener (protocol, address, port) whose first socket is blocked,
 * partial or unknown. */
static size_t pc_fuzz_expected_first_events(const json_t *listeners)
{
	size_t n = 0, i, j;
	const json_t *l, *m;

	json_array_foreach(listeners, i, l)
	{
		const char *e = json_string_value(json_object_get(l, "exposure"));
		bool dup = false;

		for (j = 0; j < i && !dup; j++) {
			m = json_array_get(listeners, j);
			dup = strcmp(pc_fuzz_str_or_q(l, "protocol"),
				     pc_fuzz_str_or_q(m, "protocol")) == 0 &&
			      strcmp(pc_fuzz_str_or_q(l, "address"),
				     pc_fuzz_str_or_q(m, "address")) == 0 &&
			      json_integer_value(json_object_get(l, "port")) ==
				  json_integer_value(json_object_get(m, "port"));
		}
		if (!dup && (strcmp(e, "blocked") == 0 || strcmp(e, "partial") == 0 ||
			     strcmp(e, "unknown") == 0))
			n++;
	}
	return n;
}

static int pc_fuzz_exposure_track_one(const uint8_t *data, size_t size)
{
	struct pc_exposure_track t = {0};
	struct pc_config cfg;
	size_t off = 0;

	if (pc_fuzz_config_fixture(&cfg) < 0)
		return 0;
	for (int i = 0; i < PC_FUZZ_MAX_REPORTS && off < size; i++) {
		const struct pc_config *c = i % 2 ? NULL : &cfg;
		json_error_t jerr;
		json_t *status = json_loadb((const char *)data + off, size - off,
					    JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
		char *summary;

		if (!status)
			break;
		/* With JSON_DISABLE_EOF_CHECK, the position is how much was read. */
		off += jerr.position ? (size_t)jerr.position : size - off;
		summary = pc_exposure_summary(status);
		if (summary) {
			PC_FUZZ_ASSERT(json_is_array(json_object_get(status, "listeners")));
			PC_FUZZ_ASSERT(!strchr(summary, '\n'));
			free(summary);
		}
		{
			struct pc_exposure_track fresh = {0};
			int r = pc_fuzz_track_report(&fresh, status, NULL);

			PC_FUZZ_ASSERT(r < 0 ||
				       (size_t)r == pc_fuzz_expected_first_events(
							json_object_get(status, "listeners")));
			pc_exposure_track_clear(&fresh);
		}
		/* The same report again: nothing changed, nothing to say. */
		if (pc_fuzz_track_report(&t, status, c) >= 0)
			PC_FUZZ_ASSERT(pc_fuzz_track_report(&t, status, c) == 0);
		json_decref(status);
	}
	pc_exposure_track_clear(&t);
	pc_config_clear(&cfg);
	return 0;
}
