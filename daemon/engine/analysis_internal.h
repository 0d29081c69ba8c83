/* SPDX-License-Identifier: MIT */
/*
 * Private parts of the analysis (analysis*.c): the pieces of the source space, the paths
 * built from them, and the listener's exposure and fix.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "portcheck/fwzone.h"
#include "portcheck/nftvm.h"
#include "portcheck/portclass.h"
#include "portcheck/report.h"

struct piece {
	struct pc_addr lo, hi;
	struct pc_nft_result res; /* no trace */
	bool engine;		  /* res is the engine's */
	struct pc_fw_view fw;
	bool fw_known; /* firewalld is running and fw is its view */
	bool spoofed;  /* no client on this interface has these sources (pc_path) */
};

/* The sources of one path within one piece [lo, hi]: the engine's box and tests (NULL:
 * the whole piece, every port: no engine, or a one-source explain). */
struct src_member {
	struct pc_addr lo, hi;
	const struct pc_src_result *r;
};

/* Paths of one (interface, family) being built: one per distinct outcome, each with the
 * sources that have it, so equal outcomes in different pieces share a path. */
struct outcome_group {
	struct piece outcome;
	struct src_member *m;
	size_t n_m;
};

/* The report's table of the sets that shared forms name (analysis_srcjson.c): of[i] is
 * the snapshot's set report->sets[i] describes. */
struct form_sets {
	struct pc_report *report;
	const struct pc_nft_set **of;
};

/* The forms already written, by what they were written from (analysis_formmemo.c). */
struct form_memo {
	struct form_memo_slot *v;
	size_t cap, n;
};

/* The distinct forms of one analysis (counted strings, pc_rcstr): a path names the one
 * copy of its text. */
struct form_pool {
	/* The texts by their hash (open addressing, at most half full): slots of v. */
	struct form_text_slot {
		uint64_t hash;
		char *s; /* one of v's; NULL: free */
	} * index;
	size_t cap;
	char **v;
	size_t n;
	struct form_memo memo;
};

/* How the paths' sources forms are written. */
struct form_ctx {
	struct form_sets *sets; /* NULL: inline (Explain's) */
	struct form_pool *pool; /* NULL: every path its own copy */
	const struct pc_strv *ignore_sets;
};

/* The counted string of @text (taken) in @pool: the one copy of equal texts, with a
 * reference for the caller (without a pool, a copy of its own). NULL when out of memory. */
char *form_pool_intern(struct form_pool *pool, char *text);
void form_pool_clear(struct form_pool *pool);

struct outcome_groups {
	/* v[0..n) this listener's groups; v[n..cap) kept for the next one's, their member
	 * arrays with them (groups_reset): one set of arrays for the whole analysis, not a
	 * few allocations per listener-family. */
	struct outcome_group *v;
	size_t n, cap;
	/* the pieces that can reach the listener here (for "any"), in address order */
	struct pc_addr *lo, *hi;
	size_t n_pieces;
	struct pc_addr daddr; /* the address connections are made to */
	struct form_ctx form;
};

struct family_pieces {
	struct pc_addr *starts;
	struct pc_addr *ends; /* each piece's last address: the next start - 1, or the last */
	size_t n;
	/* Sources no connection from the network can have: the kernel drops them before or
	 * after netfilter whatever the ruleset says, so they are no path of their own. */
	struct pc_prefix *impossible;
	size_t n_impossible;
	bool *impossible_at;	       /* per piece: it lies in one of them */
	struct pc_prefix *bounds_only; /* more places to split, with no meaning of their own */
	size_t n_bounds_only;
	/* The pieces evaluated together: per piece, the next piece of its group (SIZE_MAX
	 * after the last). Every piece of the family is in one group, and @classes tells
	 * the engine which of them routing tells apart: the pieces with the same innermost
	 * bounding prefix (group_pieces), split only by something in between (an impossible
	 * range, a host's own address). class_next chains the pieces of each class, for
	 * when the family's evaluation has an unknown outcome (a budget, a limit): then each
	 * class is evaluated alone, and within one each piece. NULL when there are too many
	 * pieces to group (each is its own group). */
	size_t *group_next, *class_next;
	struct pc_ivlist *class_lists;
	struct pc_src_classes classes;
	/* piece_spoofed's answers, per (link, whether the socket is bound to it, piece):
	 * 0 not asked yet, 1 no, 2 yes. The route back depends on nothing else, and every
	 * listener asked it again for every piece (a route lookup each). */
	uint8_t *spoofed_at;
	size_t n_links;
};

/* --- analysis_sources.c ----------------------------------------------------------------- */

/* Routes are piece bounds, so every address of a piece has the same route back. A route
 * back that is not modelled counts as a client: a path is never hidden on a guess. A
 * socket bound to @link answers through it (pc_route_back). */
bool source_spoofed(const struct pc_netif *ni, const struct pc_link *link,
		    const struct pc_listener *l, const struct pc_addr *src);
/* source_spoofed for piece @i of @fp with its representative @src, asked once per link
 * and binding (@link is one of @ni's links). */
bool piece_spoofed(struct family_pieces *fp, size_t i, const struct pc_netif *ni,
		   const struct pc_link *link, const struct pc_listener *l,
		   const struct pc_addr *src);
/* A source address inside [lo, hi] to evaluate with. Every address of the piece gets the
 * same verdict from the ruleset, but the kernel drops some sources before or after
 * netfilter (0.0.0.0/8, loopback), so avoid those when the piece has others. */
struct pc_addr representative(const struct pc_addr *lo, const struct pc_addr *hi);
/* Pieces never straddle an impossible range (its bounds are piece starts). */
bool piece_impossible(const struct family_pieces *fp, size_t i);
/* Where the source space of @family splits before the engine looks at it: firewalld
 * bindings, impossible sources, routes (analysis_sources.c). */
int family_pieces_init(const struct pc_analysis_input *in, int family, struct family_pieces *ret);
void family_pieces_clear(struct family_pieces *fp);
void piece_range(const struct family_pieces *fp, size_t i, struct piece *pc);
/* The most pieces family_pieces_init groups. */
#define PIECES_GROUP_MAX 65536

/* --- analysis_paths.c ------------------------------------------------------------------- */

/* Neighbouring pieces with equal outcomes become one path. */
bool piece_same_outcome(const struct piece *a, const struct piece *b);
/* Fill @p for the sources of @g (in @gs), which share its outcome, of a connection to @l. */
int fill_path(struct pc_path *p, const struct pc_listener *l, const struct pc_link *link,
	      const struct pc_nft_ruleset *rs, const struct outcome_groups *gs,
	      const struct outcome_group *g);
/* Add the sources of @m, with @outcome, to the group of that outcome. */
int groups_add(struct outcome_groups *gs, const struct piece *outcome, const struct src_member *m);
/* The same for the piece @cur with the result @res (and @engine) in place of its own:
 * without building a 1.5 KiB piece for each of a piece's results. */
int groups_add_result(struct outcome_groups *gs, const struct piece *cur,
		      const struct pc_nft_result *res, bool engine, const struct src_member *m);
/* Note a piece that reaches the listener (in address order). */
int groups_add_piece(struct outcome_groups *gs, const struct pc_addr *lo, const struct pc_addr *hi);
/* Empty, keeping the arrays for the next listener-family; groups_clear frees them. */
void groups_reset(struct outcome_groups *gs);
void groups_clear(struct outcome_groups *gs);
int groups_to_paths(const struct outcome_groups *gs, struct pc_listener_report *lr,
		    const struct pc_link *link, const struct pc_nft_ruleset *rs);

/* --- analysis_srcform.c ---------------------------------------------------------------- */

/* The sources of @g in words (p->source) and in the JSON form (p->sources_json, as
 * gs->form says; docs/json.md) for connections to @port; p->family and p->verdict set.
 * "any" when @g is the only outcome. -ENOMEM. */
int path_sources(struct pc_path *p, const struct outcome_groups *gs, const struct outcome_group *g,
		 int port);

/* --- analysis_formmemo.c ----------------------------------------------------------------- */

struct form_spec;
/* A memo key being written: in @buf (the caller's, on its stack) until it outgrows it. */
struct form_key {
	uint8_t *v;
	size_t len, cap;
	bool heap, oom;
};
/* The memo's key of the form @f describes (every input of its words and text) appended to
 * @key: 0, 1 when the form is not memoised (a conjunction told by its box), -ENOMEM. */
int form_memo_key(const struct form_spec *f, struct form_key *key);
void form_key_clear(struct form_key *k);
/* The form and words memoised under @key, if any (borrowed: the memo holds them). */
bool form_memo_find(const struct form_memo *m, const uint8_t *key, size_t len, char **form,
		    const char **words);
/* Memoise @form (a counted string: the memo takes a reference) and @words. -ENOMEM. */
int form_memo_add(struct form_memo *m, const uint8_t *key, size_t len, char *form,
		  const char *words);
void form_memo_clear(struct form_memo *m);
/* The pool's text equal to @text (@len bytes), or NULL. */
char *form_pool_find(const struct form_pool *pool, const char *text, size_t len);
/* Index @s (a counted string already in pool->v, @len bytes); -ENOMEM (then it is only
 * not found again). */
int form_pool_index(struct form_pool *pool, char *s, size_t len);

/* --- analysis_pieces.c ------------------------------------------------------------------ */

/*
 * The engine's results shared by the listeners of one class (portclass.h): same
 * protocol, address, IPV6_V6ONLY and bound device, ports the ruleset does not tell
 * apart. They meet the same links, families and pieces in the same order, so the first
 * listener fills the entries in that order and the others take them by position; the key
 * is checked all the same, and a mismatch just evaluates afresh.
 */
struct eval_entry {
	int family;
	uint8_t l4proto;
	uint32_t iif;
	struct pc_addr daddr, lo, hi;
	/* What the call covered besides its envelope: a family's call and a class's may
	 * share lo and hi. */
	size_t n_ranges;
	const struct pc_src_classes *classes;
	struct pc_src_result *res;
	size_t n;
};

struct eval_cache {
	struct eval_entry *v;
	size_t n, next;
	bool use;  /* this listener's class has others: keep or take the results */
	bool fill; /* the first of its class: evaluate and keep */
};

/* The results of pieces whose group was evaluated at an earlier piece of it. */
struct pending {
	struct pc_src_result *res;
	size_t n;
	bool done;
	bool alone; /* its class's evaluation had an unknown outcome: evaluated alone */
};

/* The results of the pieces of one (listener, link, family), kept until its paths are
 * built (the groups point into them). */
struct piece_results {
	struct pc_src_result **v;
	size_t *n;
	size_t count;
};

struct analysis {
	const struct pc_analysis_input *in;
	struct family_pieces v4, v6;
	struct pc_port_classes classes;
	struct eval_cache cache;
	/* Per piece, for grouped pieces (analyse_link_family): whether it can reach the
	 * listener, and the results of those whose group was evaluated at an earlier piece;
	 * as many as the family with the most pieces, NULL without groups. */
	bool *reach;
	struct pending *pend;
	struct form_ctx form;
	struct form_sets sets; /* form.sets points here for shared forms */
	struct form_pool pool; /* form.pool points here */
	/* analyse_link_family's, reset for each listener-family (their arrays kept). */
	struct outcome_groups groups;
	struct piece_results pr;
};

void eval_cache_clear(struct eval_cache *c);
/* Free the results, keep the arrays for the next listener-family; _clear frees them. */
void piece_results_reset(struct piece_results *pr);
void piece_results_clear(struct piece_results *pr);
/* The engine's verdict (when @engine) and firewalld's view for @flow into @pc; the trace
 * when asked for. -ENOMEM. */
int evaluate_piece(const struct pc_analysis_input *in, const struct pc_link *link,
		   const struct pc_flow *flow, bool want_trace, struct piece *pc, bool engine);
/* The engine's paths for the piece @cur (its flow @flow) into @gs; results kept in @pr. */
int analyse_piece(struct analysis *an, const struct pc_link *link, const struct pc_flow *flow,
		  struct piece *cur, struct outcome_groups *gs, struct piece_results *pr);
/* One evaluation over the group of @first in the chain @next (pieces that can reach the
 * listener: @reach), split by routing class @classes (NULL: the group is one class),
 * each piece's results cut into an->pend; 0 and nothing done when @first is alone in it
 * or an outcome is unknown (smaller groups then: analyse_link_family). */
int analyse_group(struct analysis *an, const struct family_pieces *fp, const size_t *next,
		  const struct pc_src_classes *classes, size_t first, const bool *reach,
		  const struct pc_flow *flow, struct pending *pend, struct piece_results *pr);
/* Each of the engine's results for the piece @cur into the group of its outcome. */
int add_piece_results(struct outcome_groups *gs, const struct piece *cur,
		      const struct pc_src_result *res, size_t n);

/* --- analysis_exposure.c ---------------------------------------------------------------- */

/*
 * The exposure over the paths of real clients: spoofed sources never count (dropping them
 * is the firewall working), nor do interfaces the admin ignores, unless those are all
 * there is (then the listener is marked ignored and its exposure is theirs). A listener no
 * real client reaches is local-only.
 */
enum pc_exposure exposure_of(struct pc_listener_report *lr);
/*
 * A fix through firewalld, when firewalld's zone is what blocks the listener (the kernel
 * does not accept and the zone does not allow), or when an allowance is runtime only. A
 * block by a rule outside firewalld gets no command here: the path's reason names it.
 */
int suggest_fix(const struct pc_firewalld *fw, struct pc_listener_report *lr);
