/* SPDX-License-Identifier: MIT */
/*
 * The shared tables of the Status reply (docs/json.md, version 2): every set, rule and
 * source form is written once and paths name it by its index. On a host where thousands
 * of listeners meet the same blocklists, the forms repeat from listener to listener (the
 * listener's own port in a concatenated set key reads "destination_port", so they repeat
 * there too); writing each once is what keeps the reply near 2 KiB per listener instead
 * of 6 (bench/run.sh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/report.h"
#include "portcheck/util.h"

#include "status_tables.h"

int pc_status_tables_init(struct pc_status_tables *t)
{
	*t = (struct pc_status_tables){
	    .sets = json_array(),
	    .rules = json_array(),
	    .sources = json_array(),
	    .set_index = json_object(),
	    .rule_index = json_object(),
	    .source_index = json_object(),
	};
	if (!t->sets || !t->rules || !t->sources || !t->set_index || !t->rule_index ||
	    !t->source_index) {
		pc_status_tables_clear(t);
		return -ENOMEM;
	}
	return 0;
}

void pc_status_tables_clear(struct pc_status_tables *t)
{
	json_decref(t->sets);
	json_decref(t->rules);
	json_decref(t->sources);
	json_decref(t->set_index);
	json_decref(t->rule_index);
	json_decref(t->source_index);
	*t = (struct pc_status_tables){0};
}

/*
 * The index of @entry in @table, appended when no equal entry is there yet. Entries are
 * compared by their compact text, keys in the order they were set (jansson keeps it since
 * 2.8): equal texts are equal entries; the code that builds an entry sets its keys in one
 * order, so equal entries print alike. Sorting the keys took half of the reply's time.
 * Takes @entry's reference.
 */
static int intern(json_t *table, json_t *index, json_t *entry)
{
	char *key;
	json_t *have;
	size_t i;
	int r = -ENOMEM;

	if (!entry)
		return -ENOMEM;
	key = json_dumps(entry, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!key)
		goto out;
	have = json_object_get(index, key);
	if (have) {
		r = (int)json_integer_value(have);
		goto out;
	}
	i = json_array_size(table);
	if (i >= INT32_MAX || json_object_set_new(index, key, json_integer((json_int_t)i)) < 0 ||
	    json_array_append(table, entry) < 0)
		goto out;
	r = (int)i;
out:
	free(key);
	json_decref(entry);
	return r;
}

/* A key of three names and a number, each name with its length before it: no name can
 * forge another's key. NULL when out of memory. */
static char *names_key(const char *a, const char *b, const char *c, long long n)
{
	char *key;

	if (asprintf(&key, "%zu:%s%zu:%s%zu:%s%lld", strlen(a), a, strlen(b), b, strlen(c), c, n) <
	    0)
		return NULL;
	return key;
}

int pc_status_tables_rule(struct pc_status_tables *t, json_t *rule)
{
	const char *f = json_string_value(json_object_get(rule, "family"));
	const char *tb = json_string_value(json_object_get(rule, "table"));
	const char *c = json_string_value(json_object_get(rule, "chain"));
	json_t *handle = json_object_get(rule, "handle"), *have;
	char *key;
	size_t i;
	int r = -ENOMEM;

	if (!rule)
		return -ENOMEM;
	if (!f || !tb || !c || !json_is_integer(handle)) {
		json_decref(rule);
		return -EINVAL;
	}
	/* A rule is its family, table, chain and handle (its text and the policy a handle 0
	 * stands for come with them in one report): a key without a dump of the rule per
	 * path. */
	key = names_key(f, tb, c, (long long)json_integer_value(handle));
	if (!key) {
		json_decref(rule);
		return -ENOMEM;
	}
	have = json_object_get(t->rule_index, key);
	if (have) {
		r = (int)json_integer_value(have);
		goto out;
	}
	i = json_array_size(t->rules);
	if (i >= INT32_MAX ||
	    json_object_set_new(t->rule_index, key, json_integer((json_int_t)i)) < 0 ||
	    json_array_append(t->rules, rule) < 0)
		goto out;
	r = (int)i;
out:
	free(key);
	json_decref(rule);
	return r;
}

/* A key part equal to the listener's port: "destination_port" (exact: the form is only
 * ever decided for connections to this listener's port, docs/json.md). */
static json_t *key_shared(const json_t *key, int port)
{
	json_t *out = json_array(), *part;
	size_t i;

	if (!out)
		return NULL;
	json_array_foreach(key, i, part)
	{
		json_t *v = json_is_integer(part) && json_integer_value(part) == port
				? json_string("destination_port")
				: json_incref(part);

		if (json_array_append_new(out, v) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* {"set": {family, table, name, elements, key, data?}, "not"?} → {"set": N, "key",
 * "data"?, "not"?} with the set's descriptor in the sets table. */
/*
 * The index of @set's descriptor {family, table, name, elements} in the sets table, looked
 * up by those four and made only the first time: a blocklist host names the same two sets
 * on every path (a copy and a dump of the descriptor per path cost a third of the reply's
 * time).
 */
static int set_index(struct pc_status_tables *t, const json_t *set)
{
	const char *f = json_string_value(json_object_get(set, "family"));
	const char *tb = json_string_value(json_object_get(set, "table"));
	const char *nm = json_string_value(json_object_get(set, "name"));
	json_t *el = json_object_get(set, "elements"), *have;
	char *key;
	size_t i;
	int r = -ENOMEM;

	if (!f || !tb || !nm || !json_is_integer(el))
		return -EINVAL;
	key = names_key(f, tb, nm, (long long)json_integer_value(el));
	if (!key)
		return -ENOMEM;
	have = json_object_get(t->set_index, key);
	if (have) {
		r = (int)json_integer_value(have);
		goto out;
	}
	i = json_array_size(t->sets);
	if (i >= INT32_MAX ||
	    json_array_append_new(t->sets, json_pack("{s:s,s:s,s:s,s:O}", "family", f, "table", tb,
						     "name", nm, "elements", el)) < 0 ||
	    json_object_set_new(t->set_index, key, json_integer((json_int_t)i)) < 0)
		goto out;
	r = (int)i;
out:
	free(key);
	return r;
}

/* {"set": {family, table, name, elements, key, data?}, "not"?} -> {"set": N, "key",
 * "data"?, "not"?} with the set's descriptor in the sets table. */
static json_t *literal_shared(struct pc_status_tables *t, const json_t *lit, int port)
{
	const json_t *set = json_object_get(lit, "set");
	json_t *key, *data, *out;
	int n;

	if (!json_is_object(set))
		return json_incref((json_t *)lit);
	n = set_index(t, set);
	if (n < 0)
		return NULL;
	key = json_object_get(set, "key");
	data = json_object_get(set, "data");
	out = json_copy((json_t *)lit);
	if (!out || json_object_set_new(out, "set", json_integer(n)) < 0 ||
	    (key && json_object_set_new(out, "key", key_shared(key, port)) < 0) ||
	    (data && json_object_set(out, "data", data) < 0)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* any_of with every set literal made shared. */
static json_t *any_of_shared(struct pc_status_tables *t, const json_t *any_of, int port)
{
	json_t *out = json_array(), *conj;
	size_t i, j;

	if (!out)
		return NULL;
	json_array_foreach(any_of, i, conj)
	{
		const json_t *all = json_object_get(conj, "all_of"), *lit;
		json_t *lits = json_array();

		if (!lits || json_array_append_new(out, json_pack("{s:o}", "all_of", lits)) < 0)
			goto fail;
		json_array_foreach(
		    all, j, lit) if (json_array_append_new(lits, literal_shared(t, lit, port)) <
				     0) goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

int pc_status_tables_sources(struct pc_status_tables *t, const char *words, const json_t *form,
			     int port)
{
	json_t *entry = json_pack("{s:s}", "words", words);

	if (!entry)
		return -ENOMEM;
	if (json_is_object(form)) {
		const json_t *any_of = json_object_get(form, "any_of");
		const char *copied[] = {"example", "address_ranges"};

		if (any_of &&
		    json_object_set_new(entry, "any_of", any_of_shared(t, any_of, port)) < 0)
			goto fail;
		for (size_t i = 0; i < ELEMENTSOF(copied); i++) {
			json_t *v = json_object_get(form, copied[i]);

			if (v && !json_is_null(v) && json_object_set(entry, copied[i], v) < 0)
				goto fail;
		}
	}
	return intern(t->sources, t->source_index, entry);
fail:
	json_decref(entry);
	return -ENOMEM;
}

int pc_status_tables_entry(struct pc_status_tables *t, const char *entry)
{
	json_t *have = json_object_get(t->source_index, entry), *e;
	size_t i;

	if (have)
		return (int)json_integer_value(have);
	e = json_loads(entry, 0, NULL);
	if (!json_is_object(e)) {
		json_decref(e);
		return -EILSEQ;
	}
	i = json_array_size(t->sources);
	if (i >= INT32_MAX || json_array_append_new(t->sources, e) < 0)
		return -ENOMEM;
	if (json_object_set_new(t->source_index, entry, json_integer((json_int_t)i)) < 0)
		return -ENOMEM;
	return (int)i;
}

int pc_status_tables_report_sets(struct pc_status_tables *t, const struct pc_report_set *sets,
				 size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(t->sets,
					  json_pack("{s:s,s:s,s:s,s:I}", "family", sets[i].family,
						    "table", sets[i].table, "name", sets[i].name,
						    "elements", (json_int_t)sets[i].elements)) < 0)
			return -ENOMEM;
	return 0;
}
