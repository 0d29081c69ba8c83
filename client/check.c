/* SPDX-License-Identifier: MIT */
/* `portcheck check`: findings, textfile metrics and a Nagios line from a Status reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/check.h"
#include "portcheck/status_view.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

/* Perhaps the listeners of a big host; the Nagios line stays one readable line. */
#define NAGIOS_MAX_NAMED 5

static const char *const exposure_name[_PC_CHECK_EXPOSURE_MAX] = {
    [PC_CHECK_LOCAL_ONLY] = "local-only", [PC_CHECK_OPEN] = "open",
    [PC_CHECK_UNKNOWN] = "unknown",	  [PC_CHECK_PARTIAL] = "partial",
    [PC_CHECK_BLOCKED] = "blocked",
};

/* The order of the state set in the metrics: as the contract lists the exposures. */
static const enum pc_check_exposure metric_order[] = {
    PC_CHECK_OPEN, PC_CHECK_BLOCKED, PC_CHECK_PARTIAL, PC_CHECK_LOCAL_ONLY, PC_CHECK_UNKNOWN,
};

const char *pc_check_exposure_to_string(enum pc_check_exposure e)
{
	return e < _PC_CHECK_EXPOSURE_MAX ? exposure_name[e] : "unknown";
}

bool pc_check_exposure_is_finding(enum pc_check_exposure e)
{
	return e != PC_CHECK_OPEN && e != PC_CHECK_LOCAL_ONLY;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Anything the daemon may add later, or garbage, is a finding: never a clean bill. */
static enum pc_check_exposure parse_exposure(const char *s)
{
	for (size_t i = 0; s && i < _PC_CHECK_EXPOSURE_MAX; i++)
		if (strcmp(s, exposure_name[i]) == 0)
			return (enum pc_check_exposure)i;
	return PC_CHECK_UNKNOWN;
}

/* One socket of the reply, before merging. */
struct item {
	const json_t *l;
	const char *proto, *address;
	unsigned port;
	enum pc_check_exposure exposure;
	size_t index; /* in the reply: a stable tie-break */
};

static void item_init(struct item *it, const json_t *l, size_t index)
{
	const json_t *port = json_object_get(l, "port");
	json_int_t p = json_is_integer(port) ? json_integer_value(port) : 0;

	it->l = l;
	it->proto = str(l, "protocol") ?: "?";
	it->address = str(l, "address") ?: "?";
	it->port = p >= 0 && p <= 65535 ? (unsigned)p : 0;
	it->exposure = parse_exposure(str(l, "exposure"));
	it->index = index;
}

/* Ignored by the configuration's ports, processes and units, or by the daemon: its
 * clients all come through ignored paths (IgnoreInterfaces=, IgnoreSets=). */
static bool item_ignored(const struct item *it, const struct pc_config *cfg)
{
	const json_t *process = json_object_get(it->l, "process");

	if (json_is_true(json_object_get(it->l, "ignored")))
		return true;
	return cfg && pc_config_ignores(cfg, it->proto, it->port, str(process, "name"),
					str(process, "unit"));
}

static int cmp_key(const struct item *a, const struct item *b)
{
	int r = strcmp(a->proto, b->proto);

	if (r)
		return r;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return strcmp(a->address, b->address);
}

static int cmp_item(const void *x, const void *y)
{
	const struct item *a = x, *b = y;
	int r = cmp_key(a, b);

	if (r)
		return r;
	return a->index < b->index ? -1 : a->index > b->index;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Add @s to @sv unless NULL, empty or already there. Returns 0 or -ENOMEM. */
static int add_unique(struct pc_strv *sv, const char *s)
{
	if (!s || !*s || pc_strv_contains(sv, s))
		return 0;
	return pc_strv_push(sv, s);
}

/* The elements sorted and comma-separated; "" for none. NULL on ENOMEM. */
static char *join_sorted(struct pc_strv *sv)
{
	size_t len = 1;
	char *out, *o;

	if (sv->n)
		qsort(sv->v, sv->n, sizeof(*sv->v), cmp_str);
	for (size_t i = 0; i < sv->n; i++)
		len += strlen(sv->v[i]) + 1;
	out = o = malloc(len);
	if (!out)
		return NULL;
	*o = '\0';
	for (size_t i = 0; i < sv->n; i++)
		o += sprintf(o, "%s%s", i ? "," : "", sv->v[i]);
	return out;
}

/* "inet firewalld filter_IN_public handle 72: reject with icmpx admin-prohibited", the
 * same form as the daemon's PORTCHECK_RULE and `portcheck explain`. */
static char *rule_text(const json_t *rule)
{
	const json_t *handle = json_object_get(rule, "handle");
	char *s;

	if (!json_is_object(rule))
		return strdup("");
	if (asprintf(&s, "%s %s %s handle %lld: %s", str(rule, "family") ?: "?",
		     str(rule, "table") ?: "?", str(rule, "chain") ?: "?",
		     json_is_integer(handle) ? (long long)json_integer_value(handle) : 0LL,
		     str(rule, "text") ?: "?") < 0)
		return NULL;
	return s;
}

/* Fill what a finding line says from the listener the entry shows: the first path that
 * does not accept decides (for partial, the part that is blocked). */
static int entry_explain(struct pc_check_entry *e, const json_t *l)
{
	const json_t *paths = json_object_get(l, "paths"), *p, *decider = NULL;
	const char *command = str(json_object_get(l, "fix"), "command");
	size_t i;

	json_array_foreach(paths, i, p)
	{
		const char *v = str(p, "verdict");

		if (!v || strcmp(v, "accept") != 0) {
			decider = p;
			break;
		}
	}
	e->rule = decider ? rule_text(json_object_get(decider, "rule")) : strdup("");
	e->reason = strdup(decider ? str(decider, "reason") ?: "" : "");
	if (command && *command)
		e->fix = strdup(command);
	if (!e->rule || !e->reason || (command && *command && !e->fix))
		return -ENOMEM;
	return 0;
}

/* One entry from the items [@first, @first + @n), which share protocol, port, address. */
static int entry_from_items(struct pc_check_entry *e, const struct item *first, size_t n)
{
	struct pc_strv processes = {0}, units = {0}, zones = {0};
	const struct item *shown = first;
	int r = -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		const json_t *l = first[i].l;

		if (first[i].exposure > shown->exposure)
			shown = &first[i];
		if (add_unique(&processes, str(json_object_get(l, "process"), "name")) < 0 ||
		    add_unique(&units, str(json_object_get(l, "process"), "unit")) < 0 ||
		    add_unique(&zones, str(json_object_get(l, "firewalld"), "zone")) < 0)
			goto out;
	}
	e->n_sockets = n;
	e->port = first->port;
	e->exposure = shown->exposure;
	e->proto = strdup(first->proto);
	e->address = strdup(first->address);
	e->process = join_sorted(&processes);
	e->unit = join_sorted(&units);
	e->zone = join_sorted(&zones);
	if (!e->proto || !e->address || !e->process || !e->unit || !e->zone)
		goto out;
	r = entry_explain(e, shown->l);
out:
	pc_strv_clear(&processes);
	pc_strv_clear(&units);
	pc_strv_clear(&zones);
	return r;
}

/* Record the firewalld setting that accepts @o (a path, or a listener's "firewalld"
 * summary) at runtime only, as "zone\tallowed_by". Returns 0 or -ENOMEM. */
static int add_runtime_only(struct pc_strv *settings, const json_t *o)
{
	_cleanup_free_ char *key = NULL;

	if (!json_is_true(json_object_get(o, "runtime_only")))
		return 0;
	if (asprintf(&key, "%s\t%s", str(o, "zone") ?: "?", str(o, "allowed_by") ?: "?") < 0) {
		key = NULL;
		return -ENOMEM;
	}
	return add_unique(settings, key);
}

static int collect_runtime_only(struct pc_strv *settings, const json_t *l)
{
	const json_t *paths = json_object_get(l, "paths"), *p;
	size_t i;
	int r;

	/* The summary repeats one of the paths; both count, in case a reply has only one. */
	r = add_runtime_only(settings, json_object_get(l, "firewalld"));
	json_array_foreach(paths, i, p)
	{
		if (r < 0)
			break;
		r = add_runtime_only(settings, p);
	}
	return r;
}

void pc_check_clear(struct pc_check *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_entries; i++) {
		struct pc_check_entry *e = &c->entries[i];

		free(e->proto);
		free(e->address);
		free(e->process);
		free(e->unit);
		free(e->zone);
		free(e->rule);
		free(e->reason);
		free(e->fix);
	}
	free(c->entries);
	memset(c, 0, sizeof(*c));
}

/* @status is a view (pc_status_view): its paths have their rule inline. */
static int evaluate(const json_t *status, const struct pc_config *cfg, struct pc_check *ret)
{
	const json_t *listeners = json_object_get(status, "listeners"), *l;
	struct pc_check c = {0};
	struct pc_strv runtime_only = {0};
	_cleanup_free_ struct item *items = NULL;
	size_t n_items = 0, i;
	int r = -ENOMEM;

	if (!json_is_array(listeners))
		return -EBADMSG;
	items = calloc(json_array_size(listeners) ?: 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	json_array_foreach(listeners, i, l)
	{
		struct item *it = &items[n_items];

		item_init(it, l, i);
		if (collect_runtime_only(&runtime_only, l) < 0)
			goto fail;
		if (item_ignored(it, cfg))
			c.n_ignored++;
		else
			n_items++;
	}
	c.runtime_only_rules = runtime_only.n;

	if (n_items)
		qsort(items, n_items, sizeof(*items), cmp_item);
	c.entries = calloc(n_items ?: 1, sizeof(*c.entries));
	if (!c.entries)
		goto fail;
	for (i = 0; i < n_items;) {
		size_t n = 1;

		while (i + n < n_items && cmp_key(&items[i], &items[i + n]) == 0)
			n++;
		/* Counted first, so that pc_check_clear frees a half-built entry. */
		c.n_entries++;
		if (entry_from_items(&c.entries[c.n_entries - 1], &items[i], n) < 0)
			goto fail;
		i += n;
	}
	for (i = 0; i < c.n_entries; i++) {
		c.n_per_exposure[c.entries[i].exposure]++;
		if (pc_check_exposure_is_finding(c.entries[i].exposure))
			c.n_findings++;
	}
	pc_strv_clear(&runtime_only);
	*ret = c;
	return 0;
fail:
	pc_strv_clear(&runtime_only);
	pc_check_clear(&c);
	return r;
}

int pc_check_evaluate(const json_t *status, const struct pc_config *cfg, struct pc_check *ret)
{
	json_t *view = pc_status_view(status);
	int r;

	if (!view && status)
		return -ENOMEM;
	r = evaluate(view ? view : status, cfg, ret);
	json_decref(view);
	return r;
}

int pc_check_mark_ignored(json_t *status, const struct pc_config *cfg)
{
	json_t *listeners = json_object_get(status, "listeners"), *l;
	size_t i;

	if (!json_is_array(listeners))
		return -EBADMSG;
	json_array_foreach(listeners, i, l)
	{
		struct item it;

		if (!json_is_object(l))
			continue;
		item_init(&it, l, i);
		if (json_object_set_new(l, "ignored", json_boolean(item_ignored(&it, cfg))) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* --- text ----------------------------------------------------------------------------- */

/*
 * Write @s sanitised (strsan.h, text mode), piece by piece so that nothing can fail but
 * the stream; each character of @also becomes '?', and with @label the text format's
 * escapes are added (backslash, double quote, newline). Process and unit names are chosen
 * by other users; portcheckd sanitises them as it reads them, and an escape sequence from
 * an older or hostile daemon must reach neither a terminal nor a monitoring system's page.
 */
static void put_sanitised(FILE *f, const char *s, const char *also, bool label)
{
	size_t len = s ? strlen(s) : 0;
	char buf[256];

	while (len > 0) {
		/* Whole characters and escapes only: every round takes at least one byte. */
		size_t used = pc_strsan_buf(buf, sizeof(buf), s, len, PC_STRSAN_TEXT);

		for (const char *p = buf; *p; p++) {
			if (label && (*p == '\\' || *p == '"' || *p == '\n'))
				fprintf(f, "\\%c", *p == '\n' ? 'n' : *p);
			else
				fputc(also && strchr(also, *p) ? '?' : *p, f);
		}
		s += used;
		len -= used;
	}
}

static void put_clean(FILE *f, const char *s, const char *also)
{
	put_sanitised(f, s, also, false);
}

/* "80/tcp on :: (nginx, nginx.service)", as portcheckd's journal entries say it. */
static void put_listener(FILE *f, const struct pc_check_entry *e, const char *also)
{
	fprintf(f, "%u/", e->port);
	put_clean(f, e->proto, also);
	fputs(" on ", f);
	put_clean(f, e->address, also);
	if (*e->process || *e->unit) {
		fputs(" (", f);
		put_clean(f, e->process, also);
		fputs(*e->process && *e->unit ? ", " : "", f);
		put_clean(f, e->unit, also);
		fputc(')', f);
	}
}

/* Finish a memstream: its text in *ret_text, or -ENOMEM. */
static int memstream_finish(FILE *f, char **buf, char **ret_text)
{
	bool failed = ferror(f);

	if (fclose(f) != 0 || failed) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	*ret_text = *buf;
	return 0;
}

int pc_check_findings_text(const struct pc_check *c, char **ret_text)
{
	char *buf = NULL;
	size_t size;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct pc_check_entry *e = &c->entries[i];

		if (!pc_check_exposure_is_finding(e->exposure))
			continue;
		put_listener(f, e, NULL);
		if (e->exposure == PC_CHECK_UNKNOWN) {
			fputs(": verdict unknown", f);
			if (*e->reason) {
				fputs(": ", f);
				put_clean(f, e->reason, NULL);
			}
		} else {
			fputs(e->exposure == PC_CHECK_BLOCKED ? ": blocked" : ": partly blocked",
			      f);
			if (*e->rule) {
				fputs(" by ", f);
				put_clean(f, e->rule, NULL);
			}
		}
		if (e->fix) {
			fputs("; fix: ", f);
			put_clean(f, e->fix, NULL);
		} else {
			/* No firewalld zone to change: a rule of someone else's decides. */
			fprintf(f, "; no fix through firewalld: see `portcheck status`");
		}
		fputc('\n', f);
	}
	return memstream_finish(f, &buf, ret_text);
}

/* --- metrics -------------------------------------------------------------------------- */

/* A label value per the text format, sanitised like text: no control character reaches a
 * web page. */
static void put_label_value(FILE *f, const char *s)
{
	fputc('"', f);
	put_sanitised(f, s, NULL, true);
	fputc('"', f);
}

static void put_family(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* {proto="tcp",port="80",address="::",process="nginx",zone="public" (no closing brace) */
static void put_listener_labels(FILE *f, const char *name, const struct pc_check_entry *e)
{
	fprintf(f, "%s{proto=", name);
	put_label_value(f, e->proto);
	fprintf(f, ",port=\"%u\",address=", e->port);
	put_label_value(f, e->address);
	fputs(",process=", f);
	put_label_value(f, e->process);
	fputs(",zone=", f);
	put_label_value(f, e->zone);
}

static void put_listener_metrics(FILE *f, const struct pc_check *c)
{
	put_family(f, "portcheck_listener_blocked",
		   "1 when a network path to this exposed listener is blocked (exposure "
		   "blocked or partial), else 0. One series per protocol, port and address; "
		   "listeners that [Findings] ignores are left out.");
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct pc_check_entry *e = &c->entries[i];

		put_listener_labels(f, "portcheck_listener_blocked", e);
		fprintf(f, "} %d\n",
			e->exposure == PC_CHECK_BLOCKED || e->exposure == PC_CHECK_PARTIAL);
	}
	put_family(f, "portcheck_listener_exposure",
		   "The listener's exposure as a state set: 1 for its exposure (open, blocked, "
		   "partial, local-only, unknown), 0 for the others.");
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct pc_check_entry *e = &c->entries[i];

		for (size_t k = 0; k < ELEMENTSOF(metric_order); k++) {
			put_listener_labels(f, "portcheck_listener_exposure", e);
			fprintf(f, ",exposure=\"%s\"} %d\n", exposure_name[metric_order[k]],
				e->exposure == metric_order[k]);
		}
	}
	put_family(f, "portcheck_listeners",
		   "Listeners per exposure, one per protocol, port and address, those that "
		   "[Findings] ignores left out.");
	for (size_t k = 0; k < ELEMENTSOF(metric_order); k++)
		fprintf(f, "portcheck_listeners{exposure=\"%s\"} %zu\n",
			exposure_name[metric_order[k]], c->n_per_exposure[metric_order[k]]);
	put_family(f, "portcheck_runtime_only_rules",
		   "firewalld settings (zone and service, port, ...) that accept a listener in "
		   "the runtime configuration only: lost on the next reload.");
	fprintf(f, "portcheck_runtime_only_rules %zu\n", c->runtime_only_rules);
	put_family(f, "portcheck_findings",
		   "Listeners blocked, partly blocked or unknown, after [Findings] ignores.");
	fprintf(f, "portcheck_findings %zu\n", c->n_findings);
}

int pc_check_metrics(const struct pc_check *c, double now, const char *version, char **ret_text)
{
	char *buf = NULL;
	size_t size;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return -ENOMEM;
	if (c)
		put_listener_metrics(f, c);
	put_family(f, "portcheck_last_check_success",
		   "1 when portcheckd answered the last check, else 0 (and no listener series).");
	fprintf(f, "portcheck_last_check_success %d\n", c != NULL);
	put_family(f, "portcheck_last_check_timestamp_seconds",
		   "When the last check ran, in seconds since the epoch.");
	fprintf(f, "portcheck_last_check_timestamp_seconds %.3f\n", now);
	put_family(f, "portcheck_build_info", "The portcheck client's version; always 1.");
	fputs("portcheck_build_info{version=", f);
	put_label_value(f, version);
	fputs("} 1\n", f);
	return memstream_finish(f, &buf, ret_text);
}

/* --- Nagios --------------------------------------------------------------------------- */

static const char *const nagios_name[] = {
    [PC_NAGIOS_OK] = "OK",
    [PC_NAGIOS_WARNING] = "WARNING",
    [PC_NAGIOS_CRITICAL] = "CRITICAL",
    [PC_NAGIOS_UNKNOWN] = "UNKNOWN",
};

/* "2 blocked, 1 partly blocked: 80/tcp on :: (nginx) blocked, ..." */
static void put_nagios_findings(FILE *f, const struct pc_check *c)
{
	static const struct {
		enum pc_check_exposure e;
		const char *word;
	} counts[] = {
	    {PC_CHECK_BLOCKED, "blocked"},
	    {PC_CHECK_PARTIAL, "partly blocked"},
	    {PC_CHECK_UNKNOWN, "unknown"},
	};
	const char *sep = "";
	size_t named = 0;

	for (size_t k = 0; k < ELEMENTSOF(counts); k++) {
		if (!c->n_per_exposure[counts[k].e])
			continue;
		fprintf(f, "%s%zu %s", sep, c->n_per_exposure[counts[k].e], counts[k].word);
		sep = ", ";
	}
	sep = ": ";
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct pc_check_entry *e = &c->entries[i];

		if (!pc_check_exposure_is_finding(e->exposure))
			continue;
		if (named == NAGIOS_MAX_NAMED) {
			fprintf(f, ", and %zu more", c->n_findings - named);
			break;
		}
		fputs(sep, f);
		put_listener(f, e, "|");
		fprintf(f, " %s", exposure_name[e->exposure]);
		sep = ", ";
		named++;
	}
}

int pc_check_nagios(const struct pc_check *c, const char *why, char **ret_line,
		    enum pc_nagios_state *ret_state)
{
	enum pc_nagios_state state;
	char *buf = NULL;
	size_t size;
	FILE *f;
	int r;

	if (!c)
		state = PC_NAGIOS_UNKNOWN;
	else if (c->n_per_exposure[PC_CHECK_BLOCKED])
		state = PC_NAGIOS_CRITICAL;
	else if (c->n_findings)
		state = PC_NAGIOS_WARNING;
	else
		state = PC_NAGIOS_OK;

	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	fprintf(f, "PORTCHECK %s - ", nagios_name[state]);
	if (!c) {
		/* No perfdata: zeros would claim a clean host. */
		put_clean(f, why ?: "portcheckd did not answer", "|");
	} else {
		if (state == PC_NAGIOS_OK)
			fprintf(f, "no listener blocked (%zu open, %zu local-only",
				c->n_per_exposure[PC_CHECK_OPEN],
				c->n_per_exposure[PC_CHECK_LOCAL_ONLY]);
		else
			put_nagios_findings(f, c);
		if (c->n_ignored)
			fprintf(f, "%s%zu ignored", state == PC_NAGIOS_OK ? ", " : "; ",
				c->n_ignored);
		if (state == PC_NAGIOS_OK)
			fputc(')', f);
		/* Thresholds in Nagios range syntax: "0" alerts on anything above 0. */
		fprintf(
		    f,
		    " | findings=%zu;0;;0 blocked=%zu;;0;0 partial=%zu;0;;0 unknown=%zu;0;;0 "
		    "open=%zu;;;0 local_only=%zu;;;0 ignored=%zu;;;0 runtime_only_rules=%zu;;;0",
		    c->n_findings, c->n_per_exposure[PC_CHECK_BLOCKED],
		    c->n_per_exposure[PC_CHECK_PARTIAL], c->n_per_exposure[PC_CHECK_UNKNOWN],
		    c->n_per_exposure[PC_CHECK_OPEN], c->n_per_exposure[PC_CHECK_LOCAL_ONLY],
		    c->n_ignored, c->runtime_only_rules);
	}
	r = memstream_finish(f, &buf, ret_line);
	if (r < 0)
		return r;
	*ret_state = state;
	return 0;
}
