/* SPDX-License-Identifier: MIT */
/*
 * Private parts of the nftables snapshot (nft.h): the pure conversion from nf_tables dump
 * messages to the model, the parser of nft's listing for rule texts, and the blind-spot
 * probe, each testable without a socket or root.
 */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nlutil.h"
#include "portcheck/nft.h"

struct nftnl_expr;

/* A copy of the name or text @s (NULL stays NULL) as the snapshot holds it: sanitised
 * (strsan.h, PC_STRSAN_RAW). Returns 0 or -ENOMEM. */
int pc_nftsnap_strdup(const char *s, char **ret);

/*
 * Builds a ruleset from the reply messages of the GETTABLE, GETCHAIN, GETSET, GETSETELEM
 * and GETRULE dumps, fed in that order (a chain, set, element or rule names its table, an
 * element its set, so those must come first). Objects of dormant tables are dropped.
 */
struct pc_nftsnap;

/* Returns a new, empty builder or NULL. */
struct pc_nftsnap *pc_nftsnap_new(void);
/*
 * Add one dump message. Returns 0; -EBADMSG for a malformed message or one that is not a
 * NEW{TABLE,CHAIN,SET,SETELEM,RULE} of nf_tables; -EINTR when it names a table, chain or set
 * not seen before (the ruleset changed between dumps: start over); -ENOMEM.
 */
int pc_nftsnap_add(struct pc_nftsnap *b, const struct nlmsghdr *nlh);
/*
 * Check a NEW{TABLE,CHAIN,SET,SETELEM,RULE} message whose attributes lie inside it against
 * the attribute types the kernel documents (nftsnap_policy.c), so that libnftnl is never
 * handed what it would crash or exit() on. Returns 0 or -EBADMSG.
 */
int pc_nftsnap_msg_check(const struct nlmsghdr *nlh);
/* Call @fn for every set of a non-dormant table, for the element dumps. Stops at and
 * returns the first negative value @fn returns, else 0. */
int pc_nftsnap_foreach_set(const struct pc_nftsnap *b,
			   int (*fn)(uint32_t family, const char *table, const char *set,
				     void *userdata),
			   void *userdata);
/* The same for every chain of a non-dormant table, for the rule dumps. */
int pc_nftsnap_foreach_chain(const struct pc_nftsnap *b,
			     int (*fn)(uint32_t family, const char *table, const char *chain,
				       void *userdata),
			     void *userdata);
/* Move the result into @ret (genid 0, no texts, no blind spot) and empty the builder. */
void pc_nftsnap_finish(struct pc_nftsnap *b, struct pc_nft_ruleset *ret);
void pc_nftsnap_free(struct pc_nftsnap *b);

/* Convert one libnftnl expression, its constants into the arena *@arena. Returns 0 or
 * -ENOMEM (-EBADMSG for a datum longer than the model holds). Unknown names give
 * PC_NFT_EXPR_UNKNOWN. */
int pc_nftsnap_expr_convert(const struct nftnl_expr *e, struct pc_nft_arena **arena,
			    struct pc_nft_expr *ret);
/* Free what @e owns. */
void pc_nftsnap_expr_clear(struct pc_nft_expr *e);
/* The expression type libnftnl's expression name stands for; UNKNOWN when not modelled. */
enum pc_nft_expr_type pc_nftsnap_expr_type(const char *name);

/* One rule as nft lists it. */
struct pc_nft_text {
	uint32_t family; /* NFPROTO_* */
	char *table, *chain;
	uint64_t handle;
	char *text; /* without the "# handle N" comment; a multi-line rule joined on one line */
};

struct pc_nft_texts {
	struct pc_nft_text *v;
	size_t n;
};

/*
 * Parse the output of `nft -a list ruleset` (any of -s, -t) into the texts of its rules.
 * Pure. Lines that are not rules (declarations, set elements, other objects) are skipped;
 * a listing it cannot follow gives fewer texts, never an error. Returns 0 or -ENOMEM.
 */
int pc_nft_texts_parse(const char *listing, struct pc_nft_texts *ret);
/* The text of a rule, or NULL. @t must have been sorted by pc_nft_texts_parse. */
const char *pc_nft_texts_find(const struct pc_nft_texts *t, uint32_t family, const char *table,
			      const char *chain, uint64_t handle);
/* Give every rule of @rs without a text its text from @t. Returns 0 or -ENOMEM. */
int pc_nft_texts_attach(struct pc_nft_ruleset *rs, const struct pc_nft_texts *t);
void pc_nft_texts_clear(struct pc_nft_texts *t);

/*
 * The ruleset as `nft -a -s -t list ruleset` prints it (libnftables, output buffered), for
 * pc_nft_texts_parse. Returns 0 and *ret NULL when libnftables could not list it; -ENOMEM.
 */
int pc_nftsnap_listing(char **ret);
/* The same for another listing command of nft, e.g. "list chain inet t c". */
int pc_nftsnap_listing_cmd(const char *cmd, char **ret);

/*
 * Packet filtering the snapshot cannot see, from @proc_root ("/proc" live): legacy
 * iptables, ip6tables and arptables tables loaded in this network namespace. *ret is a
 * message or NULL when there is none. Returns 0 or -ENOMEM.
 */
int pc_nft_blind_spot(const char *proc_root, char **ret);

/*
 * pc_nft_read_flags with a tap: @tap (if not NULL) sees every dump message before it is
 * converted, e.g. to record them. Same returns as pc_nft_read.
 */
int pc_nftsnap_read(pc_nl_msg_cb tap, void *userdata, unsigned flags, struct pc_nft_ruleset *ret);
