/* SPDX-License-Identifier: MIT */
/*
 * The analysis result: per listener, per reachable interface, family and source range,
 * what a new connection meets: the kernel's verdict from the nftables engine, and the
 * firewalld layer (zone, what allows it, runtime only) that explains it.
 */
#pragma once

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "portcheck/firewalld.h"
#include "portcheck/listener.h"
#include "portcheck/netif.h"
#include "portcheck/nft.h"
#include "portcheck/verdict.h"

enum pc_exposure {
	PC_EXPOSURE_OPEN,	/* every path accepts */
	PC_EXPOSURE_BLOCKED,	/* no path accepts, and every verdict is known */
	PC_EXPOSURE_PARTIAL,	/* some paths accept */
	PC_EXPOSURE_LOCAL_ONLY, /* bound to loopback, or no non-loopback interface reaches it */
	PC_EXPOSURE_UNKNOWN,
};

/* The nftables rule (or base chain policy) that decided a path. */
/* One allocation, owned by @family (pc_path_clear frees it); the others point into it. */
struct pc_rule_info {
	char *family; /* "inet", "ip", "ip6", ... */
	char *table, *chain;
	uint64_t handle; /* 0 for a policy */
	char *text;	 /* as `nft -a list ruleset` prints it; "policy drop" for a policy */
};

struct pc_path {
	char interface[PC_IFNAME_SIZE];
	int family;		    /* AF_INET or AF_INET6 */
	struct pc_addr destination; /* the address the connections are made to */
	char *source; /* in words: "any", CIDRs, "not in set inet t s (20000 elements)" */
	/*
	 * The form a program decides with (docs/json.md, "sources") as compact JSON text:
	 * Explain's version 1 (sets inline), or, from an analysis with shared_forms, the
	 * Status reply's entry of its sources table (words included, sets by index into
	 * pc_report.sets, the listener's port in a key as "destination_port"). Text, not a
	 * tree: a host's 23,500 paths held 120 MiB of jansson objects. A counted string
	 * (rcstr.h): paths with equal forms share one copy. NULL when none.
	 */
	char *sources_json;
	/* Refused, and its sources all members of sets of [Findings] IgnoreSets= (the
	 * clients a blocklist names, whose refusal is the point): counted as ignored. */
	bool refuses_ignored_sets;
	/* the kernel's verdict, from the nftables engine */
	enum pc_verdict verdict;
	struct pc_reject reject; /* valid when verdict == PC_VERDICT_REJECT */
	bool has_rule;
	struct pc_rule_info rule;
	char *forwarded_to; /* "198.51.100.2:8000" when DNAT sends it elsewhere, else NULL */
	/* When a draw (numgen, jhash) picks where DNAT sends it: [{"address", "port",
	 * "share"}] of each destination (forwarded_to is the first); else NULL. */
	json_t *endpoints;
	/* the firewalld layer: explains, never decides */
	char *zone;	   /* NULL when firewalld is not available */
	char *allowed_by;  /* "service http", "port 80/tcp", "protocol tcp", "target ACCEPT" */
	bool runtime_only; /* allowed at runtime only: lost on the next reload */
	enum pc_verdict fw_verdict; /* what firewalld's zone alone would do; UNKNOWN if none */
	bool disagrees;		    /* firewalld's zone and the kernel's verdict differ */
	char *reason;		    /* one sentence: why this verdict */
	/* No client on this interface uses these sources: the route back to them leaves
	 * through another interface, or there is none. Not counted in the exposure. */
	bool spoofed;
	bool ignored; /* the interface is in [Findings] IgnoreInterfaces=: not counted */
};

struct pc_fix {
	char *command; /* "portcheck open http --zone public --permanent" */
	char *port;    /* "80/tcp" */
	char *service; /* "http" or NULL */
	char *zone;
};

struct pc_listener_report {
	struct pc_listener listener; /* copy; unit is owned by the report */
	unsigned families;	     /* bit 0: IPv4 accepted, bit 1: IPv6 accepted */
	enum pc_exposure exposure;
	/* Clients reach it only through interfaces of IgnoreInterfaces=: the exposure is
	 * theirs, and no finding. */
	bool ignored;
	struct pc_path *paths;
	size_t n_paths;
	struct pc_fix fix; /* command NULL when nothing to fix */
};

/* A set the shared sources forms name by index (docs/json.md, the reply's "sets"). */
struct pc_report_set {
	char *family, *table, *name;
	size_t elements;
};

struct pc_report {
	/* firewalld summary */
	bool fw_running;
	char *fw_version;
	char *fw_default_zone;
	char *fw_state;
	bool fw_panic;
	char *fw_error;
	/* nftables summary */
	bool nft_read; /* the ruleset was read: verdicts are the kernel's */
	uint32_t nft_genid;
	char *nft_error; /* why it could not be read, or what it cannot see */
	struct pc_listener_report *listeners;
	size_t n_listeners;
	/* The paths' sources_json are shared forms (pc_analysis_input.shared_forms), naming
	 * these sets by index. */
	bool forms_shared;
	struct pc_report_set *sets;
	size_t n_sets;
};

/* Everything the analysis looks at; nft NULL when the ruleset could not be read. */
struct pc_analysis_input {
	const struct pc_listener_set *listeners;
	const struct pc_netif *netif;
	const struct pc_firewalld *fw;
	const struct pc_nft_ruleset *nft;
	const char *nft_error; /* why nft is NULL */
	/* [Findings] IgnoreInterfaces=: globs over interface names; NULL for none. */
	const struct pc_strv *ignore_interfaces;
	/* [Findings] IgnoreSets=: globs over set names; a path all of whose sources are in
	 * such a set (a blocklist) is ignored like one on an ignored interface. */
	const struct pc_strv *ignore_sets;
	/* If set, called after each listener: a long analysis is progress, not a hang (the
	 * daemon keeps its systemd watchdog fed from here). */
	void (*progress)(void *userdata);
	void *progress_userdata;
	/*
	 * If set, @nft was read without rule texts (PC_NFT_READ_NO_TEXTS): called with the
	 * rules a report is about to name that have none, before it names them, to fill
	 * their texts (pc_nft_texts_fill_rules). A negative return (-ESTALE: the ruleset
	 * moved) ends the analysis with it.
	 */
	int (*need_texts)(void *userdata, const struct pc_nft_rule *const *rules, size_t n);
	void *need_texts_userdata;
	/* Write the paths' sources forms as the Status reply's shared entries (pc_path
	 * sources_json, pc_report.sets): what pc_report_to_json writes. Off: Explain's
	 * inline form, which pc_report_to_json converts. */
	bool shared_forms;
};

#define PC_FAMILY_IPV4 (1u << 0)
#define PC_FAMILY_IPV6 (1u << 1)

/*
 * The analysis: per listener, reachable interface, family and source range, the kernel's
 * verdict (nftables engine) with the firewalld layer beside it. Pure. Returns 0 or -ENOMEM.
 */
int pc_analysis_run(const struct pc_analysis_input *in, struct pc_report *ret);
/* Whether pieces of the source space that are routed, bound and classified alike go to
 * the engine together (one evaluation, results cut per piece); true. Tests compare with
 * false, one evaluation per piece. */
extern bool pc_analysis_group_pieces;

struct pc_flow;
struct pc_nft_result;
/*
 * One connection, explained: the path as the analysis would report it for a source range
 * of just @flow's source, and the engine's result with its trace (free it with
 * pc_nft_result_clear). Pure. Returns 0 or -ENOMEM.
 */
int pc_analysis_explain(const struct pc_analysis_input *in, const struct pc_link *link,
			const struct pc_flow *flow, struct pc_path *ret_path,
			struct pc_nft_result *ret_result);

/*
 * One path as JSON (docs/json.md). Returns 0 and a new reference in *ret; -EILSEQ when a
 * string is not valid UTF-8 (a string that escaped sanitising where it was read: a bug);
 * -ENOMEM.
 */
int pc_path_to_json(const struct pc_path *p, json_t **ret);
/* The Status reply (docs/json.md, version 1). Returns 0 and a new reference
 * in *ret, -EILSEQ (as pc_path_to_json) or -ENOMEM. */
int pc_report_to_json(const struct pc_report *r, json_t **ret);

const char *pc_exposure_to_string(enum pc_exposure e);

void pc_path_clear(struct pc_path *p);
void pc_report_clear(struct pc_report *r);
