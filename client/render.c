/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "portcheck/render.h"
#include "portcheck/status_view.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

#define ANSI_RESET "\033[0m"
#define ANSI_BOLD "\033[1m"
#define ANSI_RED "\033[31m"
#define ANSI_GREEN "\033[32m"
#define ANSI_YELLOW "\033[33m"
#define ANSI_BOLD_RED "\033[1;31m"

enum {
	COL_PORT,
	COL_ADDRESS,
	COL_PROCESS,
	COL_EXPOSURE,
	COL_WHY,
	COL_FIX,
	N_COLS,
};

static const char *const col_title[N_COLS] = {
    [COL_PORT] = "PORT",	 [COL_ADDRESS] = "ADDRESS",  [COL_PROCESS] = "PROCESS",
    [COL_EXPOSURE] = "EXPOSURE", [COL_WHY] = "ZONE AND WHY", [COL_FIX] = "FIX",
};

struct row {
	char *cell[N_COLS];
	const char *colour;	    /* of the exposure cell, NULL for none */
	struct pc_strv detail_keys; /* (interface, family, source, verdict) already shown */
	struct pc_strv details;	    /* indented lines below the row */
};

/* A string member of an object, NULL when @o is not an object or the member no string. */
static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/*
 * Copy of @s fit for a terminal. Process and unit names are chosen by other users, and
 * portcheckd sanitises them as it reads them; an older or hostile daemon might not, and an
 * escape sequence must not reach the terminal: the same sanitiser again, in text mode
 * (what portcheckd sanitised passes unchanged). NULL becomes "?".
 */
static char *clean(const char *s)
{
	char *out;

	if (!s)
		return strdup("?");
	return pc_strsan(s, strlen(s), PC_STRSAN_TEXT, &out) < 0 ? NULL : out;
}

/* Like pc_strdupf(), then clean(). */
__attribute__((format(printf, 1, 2))) static char *fmt_clean(const char *format, ...)
{
	va_list ap;
	char *s, *c;

	va_start(ap, format);
	s = pc_vstrdupf(format, ap);
	va_end(ap);
	if (!s)
		return NULL;
	c = clean(s);
	free(s);
	return c;
}

static const char *exposure_colour(const char *exposure)
{
	if (str_eq(exposure, "open"))
		return ANSI_GREEN;
	if (str_eq(exposure, "blocked"))
		return ANSI_RED;
	if (str_eq(exposure, "local-only"))
		return NULL;
	return ANSI_YELLOW; /* partial, unknown, and anything unrecognised */
}

static bool exposure_is_finding(const char *exposure)
{
	return !str_eq(exposure, "open") && !str_eq(exposure, "local-only");
}

size_t pc_render_status_findings(const json_t *status)
{
	const json_t *listeners = json_object_get(status, "listeners");
	size_t i, n = 0;
	json_t *l;

	/* A listener reached only through ignored paths (IgnoreInterfaces=, IgnoreSets=) is
	 * no finding. */
	json_array_foreach(listeners, i, l) if (!json_is_true(json_object_get(l, "ignored")) &&
						exposure_is_finding(str(l, "exposure"))) n++;
	return n;
}

/* "80/tcp". */
static char *port_text(const json_t *l)
{
	const json_t *port = json_object_get(l, "port");
	const char *proto = str(l, "protocol");

	if (json_is_integer(port))
		return fmt_clean("%lld/%s", (long long)json_integer_value(port), proto ?: "?");
	return fmt_clean("?/%s", proto ?: "?");
}

/* "nginx (nginx.service)". */
static char *process_text(const json_t *l)
{
	const json_t *p = json_object_get(l, "process");
	const json_t *pid = json_object_get(p, "pid");
	const char *name = str(p, "name"), *unit = str(p, "unit");

	if (!json_is_object(p))
		return strdup("?");
	if ((!name || !*name) && json_is_integer(pid))
		return fmt_clean("pid %lld%s%s%s", (long long)json_integer_value(pid),
				 unit ? " (" : "", unit ?: "", unit ? ")" : "");
	return fmt_clean("%s%s%s%s", name ?: "?", unit ? " (" : "", unit ?: "", unit ? ")" : "");
}

/*
 * Why @path gets its verdict, for a person: "allowed by service ssh", "rejected, no
 * service or port allows 80/tcp", prefixed with the zone when there is one.
 */
static char *path_why(const json_t *path, const char *port)
{
	const char *verdict = str(path, "verdict"), *zone = str(path, "zone");
	const char *allowed_by = str(path, "allowed_by"), *reason = str(path, "reason");
	const json_t *rule = json_object_get(path, "rule");
	const char *rule_text = str(rule, "text"), *rule_table = str(rule, "table");
	const char *fw_verdict = str(path, "firewalld_verdict");
	const char *forwarded = str(json_object_get(path, "forwarded_to"), "address");
	bool runtime_only = json_is_true(json_object_get(path, "runtime_only"));
	/* firewalld's own zone is what blocks: say it in firewalld's words. */
	bool zone_blocks = zone && (str_eq(fw_verdict, "reject") || str_eq(fw_verdict, "drop")) &&
			   str_eq(rule_table, "firewalld");
	_cleanup_free_ char *why = NULL;

	if (str_eq(verdict, "accept")) {
		if (forwarded)
			why = pc_strdupf("forwarded by DNAT to %s:%lld", forwarded,
					 (long long)json_integer_value(json_object_get(
					     json_object_get(path, "forwarded_to"), "port")));
		else if (allowed_by)
			why = pc_strdupf("allowed by %s%s", allowed_by,
					 runtime_only ? " (runtime only: lost on the next reload)"
						      : "");
		else
			why = strdup(reason ?: "accepted");
	} else if (str_eq(verdict, "reject") || str_eq(verdict, "drop")) {
		const char *word = str_eq(verdict, "reject") ? "rejected" : "dropped";

		if (zone_blocks)
			why = pc_strdupf("%s, no service or port allows %s", word, port);
		else if (rule_text)
			why = pc_strdupf("%s by rule \"%s\" (%s %s)", word, rule_text,
					 rule_table ?: "?", str(rule, "chain") ?: "?");
		else
			why = strdup(reason ?: word);
	} else if (verdict) {
		why = strdup(reason ?: verdict);
	} else {
		why = strdup("?");
	}
	if (!why)
		return NULL;
	return zone ? fmt_clean("%s: %s", zone, why) : clean(why);
}

/* Whether @p is a path of the clients the exposure counts: not spoofed sources, and not
 * an ignored interface unless the listener itself is ignored (all its clients are there). */
static bool path_counts(const json_t *l, const json_t *p)
{
	if (json_is_true(json_object_get(p, "spoofed")))
		return false;
	return !json_is_true(json_object_get(p, "ignored")) ||
	       json_is_true(json_object_get(l, "ignored"));
}

/* The path the listener's line speaks for: the first counted one that does not plainly
 * accept (the one the fix is about), else the first counted, else the first. */
static const json_t *main_path(const json_t *l, const json_t *paths)
{
	const json_t *first = NULL;
	size_t i;
	json_t *p;

	json_array_foreach(paths, i, p)
	{
		if (!path_counts(l, p))
			continue;
		if (!str_eq(str(p, "verdict"), "accept") ||
		    json_is_true(json_object_get(p, "runtime_only")))
			return p;
		if (!first)
			first = p;
	}
	return first ?: json_array_get(paths, 0);
}

/* Whether the counted paths differ in verdict or zone, so that one line cannot speak for
 * all. */
static bool paths_disagree(const json_t *l, const json_t *paths)
{
	const json_t *first = NULL;
	size_t i;
	json_t *p;

	json_array_foreach(paths, i, p)
	{
		const char *z0, *z = str(p, "zone");

		if (!path_counts(l, p))
			continue;
		if (!first)
			first = p;
		z0 = str(first, "zone");
		if (!str_eq(str(p, "verdict"), str(first, "verdict")) || !z0 != !z ||
		    (z && !str_eq(z, z0)))
			return true;
	}
	return false;
}

static size_t count_cidrs(const char *source)
{
	size_t n = 1;

	for (; *source; source++)
		n += *source == ',';
	return n;
}

/*
 * The source list of @p for humans. The exact list is in --json; here the largest list of
 * an interface and family reads "any other source" (it is the rest of the space around
 * the others), and other long lists show their first CIDRs and a count.
 */
static char *source_text(const json_t *l, const json_t *paths, const json_t *p)
{
	const char *source = str(p, "source"), *ifname = str(p, "interface");
	const char *family = str(p, "family");
	size_t n, siblings = 0, i;
	bool largest = true;
	json_t *q;

	if (!source)
		return strdup("?");
	n = count_cidrs(source);
	json_array_foreach(paths, i, q)
	{
		const char *qs = str(q, "source");
		if (q == p || !qs || !path_counts(l, q) || !str_eq(str(q, "interface"), ifname) ||
		    !str_eq(str(q, "family"), family))
			continue;
		siblings++;
		if (count_cidrs(qs) >= n)
			largest = false;
	}
	if (siblings && largest && n > 3)
		return strdup("any other source");
	if (n > 3) {
		const char *cut = source;
		for (int k = 0; k < 3; k++)
			cut = strchr(cut, ',') + 1;
		return pc_strdupf("%.*s... (%zu more)", (int)(cut - source), source, n - 3);
	}
	return strdup(source);
}

/* One indented line per distinct (interface, family, source, verdict) of the counted
 * paths; the others (spoofed sources, ignored interfaces) are in --json. */
static int add_details(struct row *row, const json_t *l, const json_t *paths, const char *port)
{
	size_t i;
	json_t *p;

	json_array_foreach(paths, i, p)
	{
		if (!path_counts(l, p))
			continue;
		_cleanup_free_ char *key = NULL, *why = NULL, *line = NULL;
		const char *ifname = str(p, "interface"), *family = str(p, "family");
		const char *source = str(p, "source"), *verdict = str(p, "verdict");

		/* Only has to tell tuples apart; \x1f does not occur in names. */
		key = pc_strdupf("%s\x1f%s\x1f%s\x1f%s", ifname ?: "", family ?: "", source ?: "",
				 verdict ?: "");
		if (!key)
			return -ENOMEM;
		/* Details are few (interfaces x families x source ranges): linear is fine. */
		if (pc_strv_contains(&row->detail_keys, key))
			continue;
		_cleanup_free_ char *from = source_text(l, paths, p);

		why = path_why(p, port);
		if (!why || !from)
			return -ENOMEM;
		line = fmt_clean("%s %s from %s -> %s", ifname ?: "?", family ?: "?", from, why);
		if (!line || pc_strv_push(&row->detail_keys, key) < 0 ||
		    pc_strv_push(&row->details, line) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int build_row(const json_t *l, struct row *row)
{
	const json_t *paths = json_object_get(l, "paths");
	const json_t *p = main_path(l, paths);
	const char *exposure = str(l, "exposure");

	row->cell[COL_PORT] = port_text(l);
	row->cell[COL_ADDRESS] = clean(str(l, "address"));
	row->cell[COL_PROCESS] = process_text(l);
	/* Reached only through ignored paths (IgnoreInterfaces=, IgnoreSets=): shown, but no
	 * finding. */
	row->cell[COL_EXPOSURE] = json_is_true(json_object_get(l, "ignored"))
				      ? fmt_clean("%s (ignored)", exposure ?: "?")
				      : clean(exposure);
	row->colour = exposure_colour(exposure);
	if (str_eq(exposure, "local-only") && p) {
		row->cell[COL_WHY] = strdup("no client on the network reaches it: only sources "
					    "with no route back through the interface");
	} else if (p) {
		row->cell[COL_WHY] = path_why(p, row->cell[COL_PORT] ?: "?");
	} else if (str_eq(exposure, "local-only")) {
		row->cell[COL_WHY] = strdup("bound to loopback");
	} else {
		const json_t *fw = json_object_get(l, "firewalld");
		const char *zone = str(fw, "zone");

		row->cell[COL_WHY] = zone ? fmt_clean("%s: ?", zone) : strdup("?");
	}
	if (json_is_object(json_object_get(l, "fix")))
		row->cell[COL_FIX] = clean(str(json_object_get(l, "fix"), "command"));
	else
		row->cell[COL_FIX] = strdup("");

	for (int i = 0; i < N_COLS; i++)
		if (!row->cell[i])
			return -ENOMEM;

	if (json_array_size(paths) > 1 && (str_eq(exposure, "partial") || paths_disagree(l, paths)))
		return add_details(row, l, paths, row->cell[COL_PORT]);
	return 0;
}

static void row_clear(struct row *row)
{
	for (int i = 0; i < N_COLS; i++)
		free(row->cell[i]);
	pc_strv_clear(&row->detail_keys);
	pc_strv_clear(&row->details);
}

static void render_firewalld(FILE *f, const json_t *status, bool colour)
{
	const json_t *fw = json_object_get(status, "firewalld");
	const json_t *running = json_object_get(fw, "running");
	const char *version = str(fw, "version"), *zone = str(fw, "default_zone");
	_cleanup_free_ char *v = clean(version), *z = clean(zone);

	if (!json_is_object(fw) || !json_is_boolean(running)) {
		fputs("firewalld: ?\n", f);
		return;
	}
	if (json_is_true(running)) {
		fprintf(f, "firewalld %s running, default zone %s\n", v ?: "?", z ?: "?");
	} else {
		const char *error = str(fw, "error"), *state = str(fw, "state");
		_cleanup_free_ char *why = NULL;

		if (error)
			why = clean(error);
		else if (state)
			why = fmt_clean("state %s", state);
		else
			why = strdup("not on the system bus");
		fprintf(f, "%sfirewalld: not running (%s)%s\n", colour ? ANSI_BOLD_RED : "",
			why ?: "?", colour ? ANSI_RESET : "");
		fputs("  no zones to explain the verdicts with\n", f);
	}
	if (json_is_true(json_object_get(fw, "panic")))
		fprintf(f, "%sfirewalld is in PANIC MODE: every packet is dropped%s\n",
			colour ? ANSI_BOLD_RED : "", colour ? ANSI_RESET : "");
}

/* Only when something is wrong: the verdicts are the kernel's unless said here. */
static void render_nftables(FILE *f, const json_t *status, bool colour)
{
	const json_t *nft = json_object_get(status, "nftables");
	_cleanup_free_ char *error = str(nft, "error") ? clean(str(nft, "error")) : NULL;

	if (!json_is_object(nft))
		return;
	if (json_is_false(json_object_get(nft, "read")))
		fprintf(f, "%snftables: not read (%s): verdicts are unknown%s\n",
			colour ? ANSI_BOLD_RED : "", error ?: "?", colour ? ANSI_RESET : "");
	else if (error)
		fprintf(f, "%snftables: %s%s\n", colour ? ANSI_BOLD_RED : "", error,
			colour ? ANSI_RESET : "");
}

static void render_cell(FILE *f, const char *text, size_t width, const char *colour, bool last)
{
	if (colour)
		fprintf(f, "%s%s%s", colour, text, ANSI_RESET);
	else
		fputs(text, f);
	if (!last)
		fprintf(f, "%*s", (int)(width - pc_utf8_columns(text) + 2), "");
}

/* Cells after the last non-empty one are not padded: no trailing blanks. */
static int last_cell(char *const *cells)
{
	int last = 0;

	for (int c = 0; c < N_COLS; c++)
		if (cells[c][0])
			last = c;
	return last;
}

/* @status is a view (pc_status_view): its paths have their rule and words inline. */
static int render_status(FILE *f, const json_t *status, bool colour)
{
	const json_t *listeners = json_object_get(status, "listeners");
	size_t n = json_array_size(listeners), width[N_COLS], i;
	struct row *rows;
	json_t *l;
	int r = 0;

	render_firewalld(f, status, colour);
	render_nftables(f, status, colour);
	fputc('\n', f);
	if (!json_is_array(listeners)) {
		fputs("listeners: ?\n", f);
		return ferror(f) ? -EIO : 0;
	}
	if (n == 0) {
		fputs("No listening sockets.\n", f);
		return ferror(f) ? -EIO : 0;
	}

	rows = calloc(n, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (int c = 0; c < N_COLS; c++)
		width[c] = strlen(col_title[c]);
	json_array_foreach(listeners, i, l)
	{
		r = build_row(l, &rows[i]);
		if (r < 0)
			goto out;
		for (int c = 0; c < N_COLS; c++)
			if (pc_utf8_columns(rows[i].cell[c]) > width[c])
				width[c] = pc_utf8_columns(rows[i].cell[c]);
	}

	for (int c = 0; c < N_COLS; c++)
		render_cell(f, col_title[c], width[c], colour ? ANSI_BOLD : NULL, c == N_COLS - 1);
	fputc('\n', f);
	for (i = 0; i < n; i++) {
		int last = last_cell(rows[i].cell);

		for (int c = 0; c <= last; c++)
			render_cell(f, rows[i].cell[c], width[c],
				    colour && c == COL_EXPOSURE ? rows[i].colour : NULL, c == last);
		fputc('\n', f);
		for (size_t d = 0; d < rows[i].details.n; d++)
			fprintf(f, "    %s\n", rows[i].details.v[d]);
	}
	r = ferror(f) ? -EIO : 0;
out:
	for (i = 0; i < n; i++)
		row_clear(&rows[i]);
	free(rows);
	return r;
}

int pc_render_status(FILE *f, const json_t *status, bool colour)
{
	json_t *view = pc_status_view(status);
	int r;

	if (!view && status)
		return -ENOMEM;
	r = render_status(f, view ? view : status, colour);
	json_decref(view);
	return r;
}

/* "reject (ICMP type 3 code 13)", "reject (TCP reset)", "accept". */
static char *verdict_text(const json_t *path)
{
	const char *verdict = str(path, "verdict");
	const json_t *rej = json_object_get(path, "reject");

	if (!str_eq(verdict, "reject") || !json_is_object(rej))
		return clean(verdict ?: "?");
	if (json_is_true(json_object_get(rej, "tcp_reset")))
		return strdup("reject (TCP reset)");
	return pc_strdupf("reject (%s type %lld code %lld)",
			  str_eq(str(path, "family"), "ipv6") ? "ICMPv6" : "ICMP",
			  (long long)json_integer_value(json_object_get(rej, "icmp_type")),
			  (long long)json_integer_value(json_object_get(rej, "icmp_code")));
}

static char *rule_text(const json_t *rule)
{
	const json_t *handle = json_object_get(rule, "handle");

	if (!json_is_object(rule))
		return strdup("no rule: nothing on the path decides");
	return fmt_clean("%s %s %s handle %lld: %s", str(rule, "family") ?: "?",
			 str(rule, "table") ?: "?", str(rule, "chain") ?: "?",
			 (long long)json_integer_value(handle), str(rule, "text") ?: "?");
}

/* [[1, 1023], [2000, 2000]] as "1-1023, 2000" (at most 8 ranges, then how many more). */
static char *port_ranges_text(const json_t *ports)
{
	char *buf = NULL;
	size_t size = 0, i;
	const json_t *r;
	FILE *m = open_memstream(&buf, &size);

	if (!m)
		return NULL;
	json_array_foreach(ports, i, r)
	{
		long long lo = json_integer_value(json_array_get(r, 0));
		long long hi = json_integer_value(json_array_get(r, 1));

		if (i == 8) {
			fprintf(m, " and %zu more", json_array_size(ports) - 8);
			break;
		}
		fprintf(m, lo == hi ? "%s%lld" : "%s%lld-%lld", i ? ", " : "", lo, hi);
	}
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int pc_render_explain(FILE *f, const json_t *path, bool colour)
{
	const json_t *trace = json_object_get(path, "trace");
	_cleanup_free_ char *verdict = verdict_text(path), *rule = NULL, *head = NULL;
	const char *v = str(path, "verdict");
	const char *vcolour = str_eq(v, "accept")    ? ANSI_GREEN
			      : str_eq(v, "unknown") ? ANSI_YELLOW
						     : ANSI_RED;
	size_t i;
	json_t *e;

	rule = rule_text(json_object_get(path, "rule"));
	head = fmt_clean("%lld/%s from %s to %s, arriving on %s (%s)",
			 (long long)json_integer_value(json_object_get(path, "port")),
			 str(path, "protocol") ?: "?", str(path, "source") ?: "?",
			 str(path, "destination") ?: "?", str(path, "interface") ?: "?",
			 str(path, "family") ?: "?");
	if (!verdict || !rule || !head)
		return -ENOMEM;
	fprintf(f, "%s\n\n", head);
	fprintf(f, "verdict:      %s%s%s\n", colour ? vcolour : "", verdict,
		colour ? ANSI_RESET : "");
	fprintf(f, "client sees:  %s\n", str(path, "client_sees") ?: "?");
	fprintf(f, "decided by:   %s\n", rule);
	if (json_is_object(json_object_get(path, "forwarded_to"))) {
		const json_t *fwd = json_object_get(path, "forwarded_to");
		fprintf(f, "forwarded to: %s port %lld\n", str(fwd, "address") ?: "?",
			(long long)json_integer_value(json_object_get(fwd, "port")));
	}
	if (str(path, "zone")) {
		_cleanup_free_ char *z = clean(str(path, "zone"));
		const char *by = str(path, "allowed_by");
		fprintf(f, "firewalld:    zone %s%s%s%s\n", z ?: "?", by ? ", allowed by " : "",
			by ?: "",
			json_is_true(json_object_get(path, "runtime_only"))
			    ? " (runtime only: lost on the next reload)"
			    : "");
	}
	{
		_cleanup_free_ char *why = clean(str(path, "reason") ?: "?");
		fprintf(f, "why:          %s\n", why ?: "?");
	}
	if (json_is_array(json_object_get(path, "source_ports"))) {
		const json_t *po;
		size_t k;

		fprintf(
		    f,
		    "source port:  the verdict depends on it; the answer above is for port %lld "
		    "(give --sport):\n",
		    (long long)json_integer_value(json_object_get(path, "source_port")));
		json_array_foreach(json_object_get(path, "source_ports"), k, po)
		{
			_cleanup_free_ char *ranges =
			    port_ranges_text(json_object_get(po, "ports"));
			_cleanup_free_ char *line = fmt_clean(
			    "  ports %s: %s%s%s", ranges ?: "?", str(po, "verdict") ?: "?",
			    str(po, "rule") ? " by " : "", str(po, "rule") ?: "");

			if (!line)
				return -ENOMEM;
			fprintf(f, "%s\n", line);
		}
	}
	if (json_is_true(json_object_get(path, "spoofed")))
		fputs("spoofed:      no client on this interface uses this source: the route "
		      "back to it leaves through another interface, or there is none\n",
		      f);
	if (!json_is_array(trace) || json_array_size(trace) == 0)
		return ferror(f) ? -EIO : 0;
	fputs("\nthe rules it met, in order:\n", f);
	json_array_foreach(trace, i, e)
	{
		_cleanup_free_ char *line = NULL;
		const char *detail = str(e, "detail");

		line = fmt_clean("%-11s %s %s %s #%lld  %s  -> %s%s%s", str(e, "hook") ?: "?",
				 str(e, "family") ?: "?", str(e, "table") ?: "?",
				 str(e, "chain") ?: "?",
				 (long long)json_integer_value(json_object_get(e, "handle")),
				 str(e, "text") ?: "", str(e, "action") ?: "?",
				 detail && *detail ? ": " : "", detail ?: "");
		if (!line)
			return -ENOMEM;
		fprintf(f, "  %s\n", line);
	}
	return ferror(f) ? -EIO : 0;
}

/* One state of a change, as a clause: "added", "already allowed", ... */
static const char *change_word(const char *v)
{
	if (str_eq(v, "already"))
		return "already allowed";
	if (str_eq(v, "absent"))
		return "not there";
	return v ?: "?";
}

static char *change_text(const json_t *c)
{
	const char *zone = str(c, "zone"), *item = str(c, "item"), *kind = str(c, "kind");
	const char *rt = str(c, "runtime"), *pm = str(c, "permanent");
	const char *covered = str(c, "covered_by");
	bool both = !str_eq(pm, "not requested");
	const json_t *t = json_object_get(c, "timeout");
	_cleanup_free_ char *scope = NULL;

	if (json_is_integer(t))
		scope = pc_strdupf("runtime only, for %lld s", (long long)json_integer_value(t));
	else
		scope = strdup(both ? "runtime and permanent" : "runtime only");
	if (!scope)
		return NULL;
	if (str_eq(rt, "already") && covered && (!both || str_eq(pm, "already")))
		return fmt_clean("zone %s: %s %s already allowed (service %s)", zone ?: "?",
				 kind ?: "?", item ?: "?", covered);
	if (!both || str_eq(rt, pm)) {
		if (str_eq(rt, "already"))
			return fmt_clean("zone %s: %s %s already allowed (%s)", zone ?: "?",
					 kind ?: "?", item ?: "?", scope);
		if (str_eq(rt, "absent"))
			return fmt_clean("zone %s: %s %s was not there (%s): nothing to remove",
					 zone ?: "?", kind ?: "?", item ?: "?", scope);
		return fmt_clean("zone %s: %s %s %s (%s)", zone ?: "?", rt ?: "?", kind ?: "?",
				 item ?: "?", scope);
	}
	return fmt_clean("zone %s: %s %s: runtime %s, permanent %s", zone ?: "?", kind ?: "?",
			 item ?: "?", change_word(rt), change_word(pm));
}

static char *listener_text(const json_t *l, bool open, bool dry_run, const char **ret_colour)
{
	const char *exposure = str(l, "exposure"), *reason = str(l, "reason");
	const char *process = str(l, "process");
	_cleanup_free_ char *head = NULL;
	const char *state;

	head = pc_strdupf("%lld/%s (%s%s%s)",
			  (long long)json_integer_value(json_object_get(l, "port")),
			  str(l, "protocol") ?: "?", process ?: "", process ? " on " : "",
			  str(l, "address") ?: "?");
	if (!head)
		return NULL;
	*ret_colour = ANSI_RED;
	if (str_eq(exposure, "open")) {
		*ret_colour = open ? ANSI_GREEN : ANSI_YELLOW;
		state = dry_run ? "open now" : open ? "now open" : "still open";
	} else if (str_eq(exposure, "local-only")) {
		*ret_colour = NULL;
		state = "only reachable locally (bound to loopback)";
	} else if (str_eq(exposure, "blocked")) {
		if (!open && !dry_run)
			*ret_colour = ANSI_GREEN;
		state = dry_run ? "blocked now" : open ? "still blocked" : "now blocked";
	} else if (str_eq(exposure, "partial")) {
		state = dry_run ? "partly blocked now" : "still partly blocked";
	} else {
		*ret_colour = ANSI_YELLOW;
		state = dry_run ? "unknown now" : "still unknown";
	}
	if (reason && (open || dry_run || !str_eq(exposure, "blocked")))
		return fmt_clean("%s: %s: %s", head, state, reason);
	return fmt_clean("%s: %s", head, state);
}

int pc_render_change(FILE *f, const json_t *reply, bool colour)
{
	const json_t *changes = json_object_get(reply, "changes");
	const json_t *notes = json_object_get(reply, "notes");
	const json_t *listeners = json_object_get(reply, "listeners");
	bool open = !str_eq(str(reply, "action"), "close");
	bool dry_run = json_is_true(json_object_get(reply, "dry_run"));
	size_t i;
	json_t *e;

	if (dry_run)
		fputs("dry run: these changes would be made; nothing was changed\n", f);
	json_array_foreach(changes, i, e)
	{
		_cleanup_free_ char *line = change_text(e);

		if (!line)
			return -ENOMEM;
		fprintf(f, "%s\n", line);
	}
	json_array_foreach(notes, i, e)
	{
		_cleanup_free_ char *line = clean(json_string_value(e));

		/* The dry run already said so, first. */
		if (!line)
			return -ENOMEM;
		if (dry_run && strstr(line, "dry run:") == line)
			continue;
		fprintf(f, "%s\n", line);
	}
	json_array_foreach(listeners, i, e)
	{
		const char *c = NULL;
		_cleanup_free_ char *line = listener_text(e, open, dry_run, &c);

		if (!line)
			return -ENOMEM;
		fprintf(f, "%s%s%s\n", colour && c ? c : "", line, colour && c ? ANSI_RESET : "");
	}
	return ferror(f) ? -EIO : 0;
}

size_t pc_render_change_findings(const json_t *reply)
{
	const json_t *listeners = json_object_get(reply, "listeners");
	bool open = !str_eq(str(reply, "action"), "close");
	size_t i, n = 0;
	json_t *e;

	if (json_is_true(json_object_get(reply, "dry_run")))
		return 0;
	json_array_foreach(listeners, i, e)
	{
		const char *x = str(e, "exposure");

		if (open ? !str_eq(x, "open") && !str_eq(x, "local-only")
			 : str_eq(x, "open") || str_eq(x, "partial"))
			n++;
	}
	return n;
}
