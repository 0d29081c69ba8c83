/* SPDX-License-Identifier: MIT */
/* Collecting a Status reply: read every source, analyse, serialise. The daemon's only
 * entry point into the core for io.portcheck.Status. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "portcheck/addr.h"
#include "portcheck/firewalld.h"
#include "portcheck/freshness.h"
#include "portcheck/listener.h"
#include "portcheck/netif.h"
#include "portcheck/nft.h"
#include "portcheck/report.h"

struct pc_status_options {
	int dbus_timeout_ms; /* per firewalld call */
	int dbus_budget_ms;  /* for all firewalld calls of one collection */
	/* Passed to the analysis (struct pc_analysis_input): called after each listener. */
	void (*progress)(void *userdata);
	void *progress_userdata;
	/* [Findings] IgnoreInterfaces= for the analysis; NULL for none. */
	const struct pc_strv *ignore_interfaces;
	const struct pc_strv *ignore_sets;
};

/*
 * Read listeners, interfaces and firewalld, run the analysis and build the Status reply
 * parameters (docs/json.md, version 1). firewalld faults are part of the reply, not
 * errors. Returns 0 and a new reference in *ret, or -errno when the kernel could not be read.
 */
int pc_status_collect(const struct pc_status_options *opts, json_t **ret);

/* The same, and how long the answer stays true without a notification (*ret_freshness,
 * may be NULL). */
int pc_status_collect_ex(const struct pc_status_options *opts, json_t **ret,
			 struct pc_freshness *ret_freshness);

/* firewalld over a private system bus connection; its faults are recorded in *fw. */
int pc_status_read_firewalld(const struct pc_status_options *opts, struct pc_firewalld *fw);

/* pc_nft_read_flags, with a one-line description of a failure for the report in
 * *ret_error. */
int pc_nft_read_described(struct pc_nft_ruleset *rs, unsigned flags, char **ret_error);

/* Everything the analysis reads from the system, read once per request. */
struct pc_sources {
	struct pc_listener_set listeners;
	struct pc_netif netif;
	struct pc_firewalld fw;
	struct pc_nft_ruleset nft;
	bool nft_ok; /* nft was read; else nft_error says why */
	char *nft_error;
};

/*
 * Read listeners, interfaces and routes, the nftables ruleset and firewalld. The faults of
 * nftables and firewalld are recorded in *ret; -errno only when the kernel's sockets or
 * interfaces could not be read.
 */
int pc_sources_read(const struct pc_status_options *opts, struct pc_sources *ret);
/* The same with pc_nft_read_flags' @nft_flags (PC_NFT_READ_NO_TEXTS). */
int pc_sources_read_flags(const struct pc_status_options *opts, unsigned nft_flags,
			  struct pc_sources *ret);
/* The analysis input over @src with @opts' settings (valid while both live). */
struct pc_analysis_input pc_sources_input(const struct pc_status_options *opts,
					  const struct pc_sources *src);
void pc_sources_clear(struct pc_sources *src);

/* The parameters of io.portcheck.Explain, validated. */
struct pc_explain_query {
	uint8_t protocol; /* IPPROTO_TCP / IPPROTO_UDP */
	uint16_t port;
	struct pc_addr from;
	char iface[PC_IFNAME_SIZE]; /* "" when not given: the interface the route to from leaves by;
				       sanitised, as pc_link.name */
	struct pc_addr to;	    /* family 0 when not given: that interface's address */
	uint16_t sport;		    /* the client's source port; 0 when not given */
};

/*
 * Validate Explain's parameters object. Pure. Returns 0, or -EINVAL with *ret_param naming
 * the bad parameter and *ret_why saying what is wrong (static strings).
 */
int pc_explain_parse(const json_t *params, struct pc_explain_query *ret, const char **ret_param,
		     const char **ret_why);

/*
 * Explain one connection: read the sources, run the engine with a trace. A query that
 * does not fit this host (no such interface, no route to the source, no address to
 * connect to) gives -EINVAL with the parameter in *ret_param and a message in *ret_error,
 * and no reply. Returns 0 and the reply in *ret, or -errno.
 */
int pc_explain_collect(const struct pc_status_options *opts, const struct pc_explain_query *q,
		       json_t **ret, const char **ret_param, char **ret_error,
		       struct pc_freshness *ret_freshness);
