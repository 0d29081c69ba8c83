/* SPDX-License-Identifier: MIT */
/* Listener state changes between two status reports: see exposure_track.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "portcheck/exposure_track.h"
#include "portcheck/status_view.h"

static const char *str_or(const json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : dflt;
}

static bool is_problem(const char *exposure)
{
	return strcmp(exposure, "blocked") == 0 || strcmp(exposure, "partial") == 0 ||
	       strcmp(exposure, "unknown") == 0;
}

static int listener_key(const json_t *l, char **ret)
{
	const char *proto = str_or(l, "protocol", "?"), *addr = str_or(l, "address", "?");
	json_int_t port = json_integer_value(json_object_get(l, "port"));
	bool v6 = strchr(addr, ':') != NULL;

	return asprintf(ret, "%s %s%s%s:%lld", proto, v6 ? "[" : "", addr, v6 ? "]" : "",
			(long long)port) < 0
		   ? -ENOMEM
		   : 0;
}

/*
 * The rule to name: for a listener that is not open, the first path that does not
 * accept (its rule decided against the connection); for an open one, the first path's
 * accepting rule.
 */
static const json_t *deciding_path(const json_t *l, bool want_accept)
{
	const json_t *paths = json_object_get(l, "paths"), *p;
	size_t i;

	json_array_foreach(paths, i, p)
	{
		const char *v = str_or(p, "verdict", "");

		if ((strcmp(v, "accept") == 0) == want_accept)
			return p;
	}
	return json_array_size(paths) ? json_array_get(paths, 0) : NULL;
}

/* "inet firewalld filter_IN_public handle 87: reject with icmpx admin-prohibited" */
static char *rule_text(const json_t *status, const json_t *path)
{
	const json_t *rule = pc_status_path_rule(status, path);
	const char *reason = str_or(path, "reason", NULL);
	char *s = NULL;

	if (json_is_object(rule)) {
		json_int_t handle = json_integer_value(json_object_get(rule, "handle"));
		const char *text = str_or(rule, "text", "");

		if (handle > 0) {
			if (asprintf(&s, "%s %s %s handle %lld%s%s", str_or(rule, "family", "?"),
				     str_or(rule, "table", "?"), str_or(rule, "chain", "?"),
				     (long long)handle, *text ? ": " : "", text) < 0)
				s = NULL;
		} else if (asprintf(&s, "%s %s %s%s%s", str_or(rule, "family", "?"),
				    str_or(rule, "table", "?"), str_or(rule, "chain", "?"),
				    *text ? ": " : "", text) < 0)
			s = NULL;
		return s;
	}
	if (reason)
		return strdup(reason);
	return NULL;
}

static int push_field(struct pc_strv *sv, const char *key, const char *value)
{
	_cleanup_free_ char *f = NULL;

	if (!value)
		return 0;
	if (asprintf(&f, "%s=%s", key, value) < 0)
		return -ENOMEM;
	return pc_strv_push(sv, f);
}

static const struct {
	const char *id;
	const char *verb;
	int priority;
} change_info[] = {
    [PC_CHANGE_BLOCKED] = {PC_MSGID_BLOCKED, "blocked", LOG_WARNING},
    [PC_CHANGE_PARTIAL] = {PC_MSGID_PARTIAL, "partly blocked", LOG_NOTICE},
    [PC_CHANGE_REACHABLE] = {PC_MSGID_REACHABLE, "reachable again", LOG_INFO},
    [PC_CHANGE_UNKNOWN] = {PC_MSGID_UNKNOWN, "of unknown reachability", LOG_NOTICE},
};

static int build_event(const json_t *status, const json_t *l, enum pc_exposure_change change,
		       const char *previous, struct pc_exposure_event *ev)
{
	const json_t *proc = json_object_get(l, "process");
	const json_t *fw = json_object_get(l, "firewalld");
	const json_t *fix = json_object_get(l, "fix");
	const json_t *path = deciding_path(l, change == PC_CHANGE_REACHABLE);
	const char *pname = str_or(proc, "name", NULL), *unit = str_or(proc, "unit", NULL);
	const char *zone = str_or(fw, "zone", path ? str_or(path, "zone", NULL) : NULL);
	const char *fixcmd = change == PC_CHANGE_REACHABLE ? NULL : str_or(fix, "command", NULL);
	json_int_t port = json_integer_value(json_object_get(l, "port"));
	json_int_t pid = json_integer_value(json_object_get(proc, "pid"));
	_cleanup_free_ char *rule = path ? rule_text(status, path) : NULL;
	_cleanup_free_ char *owner = NULL, *portstr = NULL, *pidstr = NULL, *prio = NULL;
	const char *addr = str_or(l, "address", "?");
	_cleanup_free_ char *by = NULL, *was = NULL;
	int r;

	*ev =
	    (struct pc_exposure_event){.change = change, .priority = change_info[change].priority};
	if (pname && unit)
		r = asprintf(&owner, " (%s, %s)", pname, unit);
	else if (pname || unit)
		r = asprintf(&owner, " (%s)", pname ? pname : unit);
	else
		r = asprintf(&owner, "%s", "");
	if (r < 0)
		return -ENOMEM;
	if (rule && asprintf(&by, "%s%s", change == PC_CHANGE_REACHABLE ? ", accepted by " : " by ",
			     rule) < 0)
		return -ENOMEM;
	if (previous && asprintf(&was, " (was %s)", previous) < 0)
		return -ENOMEM;
	/* "80/tcp on :: (nginx, nginx.service): blocked by RULE (was open); fix: CMD", the
	 * same words as `portcheck check` prints. */
	if (asprintf(&ev->message, "%lld/%s on %s%s: %s%s%s", (long long)port,
		     str_or(l, "protocol", "?"), addr, owner, change_info[change].verb,
		     by ? by : "", was ? was : "") < 0) {
		ev->message = NULL;
		return -ENOMEM;
	}
	if (fixcmd) {
		char *m;

		if (asprintf(&m, "%s; fix: %s", ev->message, fixcmd) < 0)
			return -ENOMEM;
		free(ev->message);
		ev->message = m;
	}
	if (asprintf(&portstr, "%lld", (long long)port) < 0 ||
	    asprintf(&prio, "%d", ev->priority) < 0)
		return -ENOMEM;
	if (pid > 0 && asprintf(&pidstr, "%lld", (long long)pid) < 0)
		return -ENOMEM;
	if (push_field(&ev->fields, "MESSAGE_ID", change_info[change].id) < 0 ||
	    push_field(&ev->fields, "PRIORITY", prio) < 0 ||
	    push_field(&ev->fields, "MESSAGE", ev->message) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_PORT", portstr) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_PROTO", str_or(l, "protocol", NULL)) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_ADDRESS", str_or(l, "address", NULL)) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_EXPOSURE", str_or(l, "exposure", NULL)) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_PREVIOUS_EXPOSURE", previous) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_RULE", rule) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_ZONE", zone) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_PROCESS", pname) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_PID", pidstr) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_UNIT", unit) < 0 ||
	    push_field(&ev->fields, "PORTCHECK_FIX", fixcmd) < 0)
		return -ENOMEM;
	return 0;
}

static void event_clear(struct pc_exposure_event *ev)
{
	free(ev->message);
	pc_strv_clear(&ev->fields);
}

static int entry_key_cmp(const void *key, const void *entry)
{
	return strcmp(key, ((const struct pc_exposure_entry *)entry)->key);
}

/* The state is sorted by key (pc_exposure_track_update builds it so). */
static const char *find_previous(const struct pc_exposure_track *t, const char *key)
{
	const struct pc_exposure_entry *e =
	    t->n ? bsearch(key, t->entries, t->n, sizeof(*t->entries), entry_key_cmp) : NULL;

	return e ? e->exposure : NULL;
}

/* Which event, if any, the move from @prev (NULL: new listener) to @now deserves. */
static int classify(const char *prev, const char *now)
{
	if (prev && strcmp(prev, now) == 0)
		return -1;
	if (strcmp(now, "blocked") == 0)
		return PC_CHANGE_BLOCKED;
	if (strcmp(now, "partial") == 0)
		return PC_CHANGE_PARTIAL;
	if (strcmp(now, "unknown") == 0)
		return PC_CHANGE_UNKNOWN;
	if (strcmp(now, "open") == 0 && prev && is_problem(prev))
		return PC_CHANGE_REACHABLE;
	return -1; /* open from the start, local-only: nothing to say */
}

static void entries_free(struct pc_exposure_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].key);
		free(e[i].exposure);
	}
	free(e);
}

/* A listener of the new report, while the new state is built. */
struct candidate {
	char *key;
	const char *exposure; /* borrowed from the report */
	size_t index;	      /* in the report's listeners */
};

/* By key, then by position: the first socket of a key comes first. */
static int candidate_cmp(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	if (r)
		return r;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void candidates_free(struct candidate *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].key);
	free(c);
}

/* A listener the daemon marks ignored is kept as "ignored": the day one of its clients
 * counts again is a change, and is told. */
static const char *listener_exposure(const json_t *l, const char *dflt)
{
	return json_is_true(json_object_get(l, "ignored")) ? "ignored"
							   : str_or(l, "exposure", dflt);
}

/* One candidate per listener of the report, sorted. Fails on a malformed listener. */
static int build_candidates(const json_t *listeners, struct candidate *cand)
{
	const json_t *l;
	size_t i;
	int r;

	json_array_foreach(listeners, i, l)
	{
		if (!json_is_object(l) || !str_or(l, "exposure", NULL) ||
		    !json_is_integer(json_object_get(l, "port")))
			return -EINVAL;
		r = listener_key(l, &cand[i].key);
		if (r < 0)
			return r;
		cand[i].exposure = listener_exposure(l, NULL);
		cand[i].index = i;
	}
	/* Sorted by key, the state is searched by bsearch (find_previous), and SO_REUSEPORT
	 * groups, which share a key, are adjacent: the first socket speaks for them. */
	qsort(cand, json_array_size(listeners), sizeof(*cand), candidate_cmp);
	return 0;
}

/*
 * The state the report @listeners makes: one entry per key, sorted, in @next (room for
 * one per listener; *n_next set, also on failure, for entries_free), and which listener
 * speaks for its key in @first_of_key.
 */
static int build_state(const json_t *listeners, struct pc_exposure_entry *next, size_t *n_next,
		       bool *first_of_key)
{
	size_t n = json_array_size(listeners);
	struct candidate *cand = calloc(n + 1, sizeof(*cand));
	int r;

	*n_next = 0;
	if (!cand)
		return -ENOMEM;
	r = build_candidates(listeners, cand);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct pc_exposure_entry *e;

		/* (The kept key has moved to next[]: compare with it there.) */
		if (*n_next > 0 && strcmp(cand[i].key, next[*n_next - 1].key) == 0)
			continue;
		first_of_key[cand[i].index] = true;
		e = &next[(*n_next)++];
		e->key = TAKE_PTR(cand[i].key);
		e->exposure = strdup(cand[i].exposure);
		if (!e->exposure)
			r = -ENOMEM;
	}
	candidates_free(cand, n);
	return r;
}

/* Tell @fn each change from the state @t to the report @listeners, the ignored ones
 * (IgnorePorts= and friends) aside. Returns how many were told, or -errno. */
static int emit_events(const struct pc_exposure_track *t, const json_t *status,
		       const json_t *listeners, const bool *first_of_key,
		       const struct pc_config *cfg, pc_exposure_event_fn fn, void *userdata)
{
	const json_t *l;
	size_t i;
	int n_events = 0, r;

	json_array_foreach(listeners, i, l)
	{
		const json_t *proc = json_object_get(l, "process");
		_cleanup_free_ char *key = NULL;
		struct pc_exposure_event ev;
		const char *prev;
		int change;

		if (!first_of_key[i])
			continue;
		if (listener_key(l, &key) < 0)
			return -ENOMEM;
		prev = find_previous(t, key);
		change = classify(prev, listener_exposure(l, ""));
		if (change < 0)
			continue;
		if (cfg &&
		    pc_config_ignores(cfg, str_or(l, "protocol", ""),
				      (unsigned)json_integer_value(json_object_get(l, "port")),
				      str_or(proc, "name", NULL), str_or(proc, "unit", NULL)))
			continue;
		r = build_event(status, l, (enum pc_exposure_change)change, prev, &ev);
		if (r < 0) {
			event_clear(&ev);
			return r;
		}
		fn(&ev, userdata);
		event_clear(&ev);
		n_events++;
	}
	return n_events;
}

int pc_exposure_track_update(struct pc_exposure_track *t, const json_t *status,
			     const struct pc_config *cfg, pc_exposure_event_fn fn, void *userdata)
{
	const json_t *listeners = json_object_get(status, "listeners");
	_cleanup_free_ bool *first_of_key = NULL;
	struct pc_exposure_entry *next;
	size_t n, n_next = 0;
	int r;

	if (!json_is_array(listeners))
		return -EINVAL;
	n = json_array_size(listeners);
	first_of_key = calloc(n + 1, sizeof(bool));
	next = calloc(n + 1, sizeof(*next));
	if (!first_of_key || !next) {
		free(next);
		return -ENOMEM;
	}
	/* Build the new state first: a malformed report leaves the old one intact. */
	r = build_state(listeners, next, &n_next, first_of_key);
	if (r >= 0)
		r = emit_events(t, status, listeners, first_of_key, cfg, fn, userdata);
	if (r < 0) {
		entries_free(next, n_next);
		return r;
	}
	entries_free(t->entries, t->n);
	t->entries = next;
	t->n = n_next;
	t->primed = true;
	return r;
}

void pc_exposure_track_clear(struct pc_exposure_track *t)
{
	if (!t)
		return;
	entries_free(t->entries, t->n);
	*t = (struct pc_exposure_track){0};
}

char *pc_exposure_summary(const json_t *status)
{
	static const char *const kinds[] = {"open", "blocked", "partial", "unknown", "local-only"};
	const json_t *listeners = json_object_get(status, "listeners"), *l;
	size_t counts[ELEMENTSOF(kinds)] = {0}, i;
	char buf[512];
	int len;

	if (!json_is_array(listeners))
		return NULL;
	json_array_foreach(listeners, i, l)
	{
		const char *e = str_or(l, "exposure", "");

		for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
			if (strcmp(e, kinds[k]) == 0)
				counts[k]++;
	}
	len = snprintf(buf, sizeof(buf), "%zu listener%s", json_array_size(listeners),
		       json_array_size(listeners) == 1 ? "" : "s");
	for (size_t k = 0, first = 1; k < ELEMENTSOF(kinds); k++) {
		if (!counts[k])
			continue;
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "%s%zu %s",
				first ? ": " : ", ", counts[k], kinds[k]);
		first = 0;
	}
	{
		json_t *gen = json_object_get(json_object_get(status, "nftables"), "generation");

		if (json_is_integer(gen))
			snprintf(buf + len, sizeof(buf) - (size_t)len,
				 " (nftables generation %lld)", (long long)json_integer_value(gen));
	}
	return strdup(buf);
}
