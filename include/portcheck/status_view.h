/* SPDX-License-Identifier: MIT */
/*
 * Reading a Status reply (docs/json.md, version 2): a path names its sources and its rule
 * by index into the reply's "sources" and "rules" tables. These look them up; a path of
 * version 1 (rule and sources inline, words in "source") reads the same.
 */
#pragma once

#include <jansson.h>

/* The rule object that decided @path, or NULL (none, or an index out of range). */
const json_t *pc_status_path_rule(const json_t *status, const json_t *path);

/* The sources table entry of @path ({"words", "any_of", ...}), or NULL. */
const json_t *pc_status_path_sources(const json_t *status, const json_t *path);

/* @path's sources in words, or NULL. */
const char *pc_status_path_words(const json_t *status, const json_t *path);

/*
 * A view of @status whose paths have "source" (the words), "rule" (the object or null)
 * and "sources" (the table's entry, or null) inline, as the client's table and check read
 * them. Not version 1: the entry stays a version 2 form (set tests by index,
 * "destination_port"), and fields the reply leaves out stay out (absent: null, false,
 * "unknown"). Shallow: it shares everything else with @status, which must outlive it.
 * NULL when out of memory; @status itself (with a reference) when it has no listeners
 * array.
 */
json_t *pc_status_view(const json_t *status);
