/* SPDX-License-Identifier: MIT */
/* Reading a Status reply's shared tables (docs/json.md, version 2): status_view.h. */
#include "portcheck/status_view.h"

static const json_t *table_entry(const json_t *status, const char *table, const json_t *ref)
{
	if (!json_is_integer(ref) || json_integer_value(ref) < 0)
		return NULL;
	return json_array_get(json_object_get(status, table), (size_t)json_integer_value(ref));
}

const json_t *pc_status_path_rule(const json_t *status, const json_t *path)
{
	const json_t *rule = json_object_get(path, "rule");

	if (json_is_object(rule))
		return rule;
	rule = table_entry(status, "rules", rule);
	return json_is_object(rule) ? rule : NULL;
}

const json_t *pc_status_path_sources(const json_t *status, const json_t *path)
{
	const json_t *s = json_object_get(path, "sources");

	if (json_is_object(s))
		return s;
	s = table_entry(status, "sources", s);
	return json_is_object(s) ? s : NULL;
}

const char *pc_status_path_words(const json_t *status, const json_t *path)
{
	const char *words = json_string_value(json_object_get(path, "source"));

	if (words)
		return words;
	return json_string_value(json_object_get(pc_status_path_sources(status, path), "words"));
}

/* A shallow copy of @path with its references inline. */
static json_t *path_view(const json_t *status, const json_t *path)
{
	json_t *v = json_copy((json_t *)path);
	const json_t *rule = pc_status_path_rule(status, path);
	const json_t *src = pc_status_path_sources(status, path);
	const char *words = pc_status_path_words(status, path);

	if (!json_is_object(path)) {
		json_decref(v);
		return json_incref((json_t *)path); /* odd, as it came: the reader copes */
	}
	if (!v ||
	    json_object_set_new(v, "rule", rule ? json_incref((json_t *)rule) : json_null()) < 0 ||
	    json_object_set_new(v, "sources", src ? json_incref((json_t *)src) : json_null()) < 0 ||
	    (words && json_object_set_new(v, "source", json_string(words)) < 0)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *pc_status_view(const json_t *status)
{
	const json_t *listeners = json_object_get(status, "listeners"), *l, *p;
	json_t *view, *vls;
	size_t i, j;

	if (!json_is_array(listeners))
		return json_incref((json_t *)status);
	view = json_copy((json_t *)status);
	vls = json_array();
	if (!view || !vls || json_object_set(view, "listeners", vls) < 0)
		goto fail;
	json_array_foreach(listeners, i, l)
	{
		const json_t *paths = json_object_get(l, "paths");
		json_t *vl = json_copy((json_t *)l), *vps;

		/* The _new calls take the reference even when they fail. */
		if (!vl || json_array_append_new(vls, vl) < 0)
			goto fail;
		if (!json_is_array(paths))
			continue;
		vps = json_array();
		if (!vps || json_object_set_new(vl, "paths", vps) < 0)
			goto fail;
		json_array_foreach(paths, j, p) if (json_array_append_new(
							vps, path_view(status, p)) < 0) goto fail;
	}
	json_decref(vls);
	return view;
fail:
	json_decref(vls);
	json_decref(view);
	return NULL;
}
