/* SPDX-License-Identifier: MIT */
/* The shared tables of the Status reply: sets, rules and source forms, each once. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct pc_report_set;

struct pc_status_tables {
	json_t *sets, *rules, *sources; /* the tables, as the reply carries them */
	/* The report's forms are shared entries (pc_report.forms_shared): its sets are the
	 * sets table, pc_status_tables_entry takes its paths' forms. */
	bool shared;
	/* an entry's compact key-sorted text → its index */
	json_t *set_index, *rule_index, *source_index;
};

int pc_status_tables_init(struct pc_status_tables *t);
void pc_status_tables_clear(struct pc_status_tables *t);

/* The index of @rule (taken) in the rules table, or -ENOMEM. */
int pc_status_tables_rule(struct pc_status_tables *t, json_t *rule);

/*
 * The index in the sources table of the entry {words, any_of, example, address_ranges}
 * made from a path's words and its version 1 form (docs/json.md; NULL: none): set
 * descriptors go to the sets table, a key part equal to @port (the listener's) reads
 * "destination_port". -ENOMEM on failure.
 */
int pc_status_tables_sources(struct pc_status_tables *t, const char *words, const json_t *form,
			     int port);

/*
 * The index in the sources table of @entry, a shared form's compact text (pc_path
 * sources_json of a report with forms_shared): equal texts are one entry, parsed once.
 * -ENOMEM; -EILSEQ when it is not JSON.
 */
int pc_status_tables_entry(struct pc_status_tables *t, const char *entry);

/* The sets table from the report's sets, for shared forms (they name them by index). */
int pc_status_tables_report_sets(struct pc_status_tables *t, const struct pc_report_set *sets,
				 size_t n);
