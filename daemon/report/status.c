/* SPDX-License-Identifier: MIT */
/* io.portcheck.Status: read every source, analyse, serialise. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "portcheck/sysbus.h"
#include "portcheck/firewalld.h"
#include "portcheck/listener.h"
#include "portcheck/netif.h"
#include "portcheck/nft.h"
#include "portcheck/report.h"
#include "portcheck/status.h"

/*
 * A private connection per collection: a restarted dbus-daemon or firewalld never leaves
 * the daemon holding a dead shared connection, and nothing is cached behind our back.
 */
static DBusConnection *system_bus_open(int timeout_ms, char **ret_error)
{
	DBusError err;
	DBusConnection *bus;

	dbus_error_init(&err);
	bus = pc_sysbus_open(timeout_ms, &err);
	if (!bus) {
		if (asprintf(ret_error, "system bus unavailable: %s",
			     err.message ? err.message : "unknown error") < 0)
			*ret_error = NULL;
		dbus_error_free(&err);
		return NULL;
	}
	return bus;
}

static void system_bus_close(DBusConnection *bus)
{
	if (!bus)
		return;
	dbus_connection_close(bus);
	dbus_connection_unref(bus);
}

int pc_status_read_firewalld(const struct pc_status_options *opts, struct pc_firewalld *fw)
{
	DBusConnection *bus = system_bus_open(opts->dbus_timeout_ms, &fw->error);
	int r = 0;

	if (bus) {
		r = pc_firewalld_read(bus, opts->dbus_timeout_ms, opts->dbus_budget_ms, fw);
		system_bus_close(bus);
	}
	return r;
}

int pc_nft_read_described(struct pc_nft_ruleset *rs, unsigned flags, char **ret_error)
{
	int r = pc_nft_read_flags(rs, flags);

	if (r >= 0)
		return 0;
	if (r == -EPERM || r == -EACCES)
		*ret_error = strdup("permission denied: reading nftables needs CAP_NET_ADMIN");
	else if (asprintf(ret_error, "reading nftables failed: %s", strerror(-r)) < 0)
		*ret_error = NULL;
	return r;
}

int pc_sources_read(const struct pc_status_options *opts, struct pc_sources *ret)
{
	return pc_sources_read_flags(opts, 0, ret);
}

int pc_sources_read_flags(const struct pc_status_options *opts, unsigned nft_flags,
			  struct pc_sources *ret)
{
	struct pc_sources src = {0};
	int r;

	r = pc_listeners_read(&src.listeners);
	if (r >= 0)
		r = pc_netif_read(&src.netif);
	if (r >= 0) {
		/* An unreadable ruleset is part of the answer (verdicts unknown), not a failure. */
		src.nft_ok = pc_nft_read_described(&src.nft, nft_flags, &src.nft_error) == 0;
		r = pc_status_read_firewalld(opts, &src.fw);
	}
	if (r < 0) {
		pc_sources_clear(&src);
		return r;
	}
	*ret = src;
	return 0;
}

struct pc_analysis_input pc_sources_input(const struct pc_status_options *opts,
					  const struct pc_sources *src)
{
	return (struct pc_analysis_input){.listeners = &src->listeners,
					  .netif = &src->netif,
					  .fw = &src->fw,
					  .nft = src->nft_ok ? &src->nft : NULL,
					  .nft_error = src->nft_error,
					  .ignore_interfaces = opts->ignore_interfaces,
					  .ignore_sets = opts->ignore_sets};
}

void pc_sources_clear(struct pc_sources *src)
{
	if (!src)
		return;
	pc_nft_ruleset_clear(&src->nft);
	free(src->nft_error);
	pc_firewalld_clear(&src->fw);
	pc_netif_free(&src->netif);
	pc_listener_set_free(&src->listeners);
	*src = (struct pc_sources){0};
}

/* Rule texts for a Status, filled as the analysis names rules (need_texts). */
struct texts_late {
	struct pc_nft_ruleset *rs;
	unsigned calls;
	bool whole;
};

/* Chain listings (10-20 ms each) before one listing of the whole ruleset is cheaper. */
#define TEXTS_CHAIN_CALLS 4

static int texts_late_fill(void *userdata, const struct pc_nft_rule *const *rules, size_t n)
{
	struct texts_late *t = userdata;
	size_t left;
	int r;

	/* Rendered here where that is known to read as nft's own listing; libnftables for
	 * the rest. */
	r = pc_nft_texts_render(t->rs, rules, n, &left);
	if (r < 0 || left == 0)
		return r;
	/* After the whole listing, a rule still without text has none libnftables gives. */
	if (t->whole)
		return 0;
	if (++t->calls > TEXTS_CHAIN_CALLS) {
		t->whole = true;
		return pc_nft_texts_fill(t->rs);
	}
	return pc_nft_texts_fill_rules(t->rs, rules, n);
}

/* One collection; @late: the snapshot without rule texts, filled for the rules the report
 * names (libnftables' listing of the whole ruleset is most of a snapshot's cost on a
 * host with many rules, README "Performance"). -ESTALE when the ruleset moved before the
 * texts were read. */
static int collect_once(const struct pc_status_options *opts, bool late, json_t **ret,
			struct pc_freshness *ret_freshness)
{
	struct pc_sources src;
	struct pc_report report = {0};
	struct pc_freshness fresh;
	struct texts_late texts = {0};
	json_t *reply;
	int r;

	r = pc_sources_read_flags(opts, late ? PC_NFT_READ_NO_TEXTS : 0, &src);
	if (r < 0)
		return r;
	pc_freshness_of_ruleset(&src.nft, src.nft_ok, &fresh);
	struct pc_analysis_input in = pc_sources_input(opts, &src);
	in.progress = opts->progress;
	in.progress_userdata = opts->progress_userdata;
	in.shared_forms = true;
	if (late && src.nft_ok) {
		texts.rs = &src.nft;
		in.need_texts = texts_late_fill;
		in.need_texts_userdata = &texts;
	}
	r = pc_analysis_run(&in, &report);
	if (r < 0)
		goto out;
	/* The report holds copies of all it says: the snapshot (a large ruleset's expressions
	 * and sets, the engine's indexes of them) goes before the reply is built, so the two
	 * never take memory at once (the bench host's analysis process: 240 -> ~170 MiB). */
	pc_sources_clear(&src);
	r = pc_report_to_json(&report, &reply);
	if (r < 0)
		goto out;
	*ret = reply;
	if (ret_freshness)
		*ret_freshness = fresh;
	r = 0;
out:
	pc_report_clear(&report);
	pc_sources_clear(&src);
	return r;
}

int pc_status_collect_ex(const struct pc_status_options *opts, json_t **ret,
			 struct pc_freshness *ret_freshness)
{
	int r = -ESTALE;

	/* A ruleset that keeps moving between the snapshot and its texts: the last try
	 * reads them with the snapshot (pc_nft_read retries until it holds still). */
	for (int i = 0; i < 3 && r == -ESTALE; i++)
		r = collect_once(opts, i < 2, ret, ret_freshness);
	return r;
}

int pc_status_collect(const struct pc_status_options *opts, json_t **ret)
{
	return pc_status_collect_ex(opts, ret, NULL);
}
