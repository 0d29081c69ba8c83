/* SPDX-License-Identifier: MIT */
/*
 * The snapshot builder's insides (nftsnap.h), shared by the files that build it: nftsnap.c
 * (tables, chains, sets), nftsnap_elem.c (set elements) and nftsnap_rule.c (rules).
 */
#pragma once

#include <linux/netfilter/nf_tables.h>
#include <stdint.h>
#include <stdio.h> /* before libnftnl's headers, which use FILE */
#include <libnftnl/set.h>

#include "nftsnap.h"
#include "portcheck/strsan.h"

struct pc_nftsnap {
	/* Every table, dormant ones too so that their objects are recognised and dropped. */
	struct pc_nft_ruleset rs;
	/*
	 * Dumps come grouped by table and chain (set): remember the last ones found. Adding a
	 * table, chain or set may move the arrays, so it forgets them.
	 */
	struct pc_nft_table *last_table;
	struct pc_nft_chain *last_chain;
	struct pc_nft_table *last_chain_table;
	struct pc_nft_set *last_set;
	struct pc_nft_table *last_set_table;
};

static inline void pc_nftnl_set_freep(struct nftnl_set **p)
{
	if (*p)
		nftnl_set_free(*p);
}

/* Room for the sanitised form of any name the kernel allows (NFT_NAME_MAXLEN, NUL included). */
#define NAME_KEY_SIZE PC_STRSAN_SIZE(NFT_NAME_MAXLEN)

/* Append a zeroed element to a vector that grows by doubling. Returns it or NULL. */
void *pc_nftsnap_vec_push(void *arr_ptr, size_t *n, size_t size);
/* @name as the snapshot stores it, in @buf, to look it up by; NULL for none or too long. */
const char *pc_nftsnap_name_key(const char *name, char buf[static NAME_KEY_SIZE]);
/* The table that @kname (as the kernel spells it) names, or NULL. */
struct pc_nft_table *pc_nftsnap_find_table(struct pc_nftsnap *b, uint32_t family,
					   const char *kname);
/* Free what @r owns. */
void pc_nftsnap_rule_clear(struct pc_nft_rule *r);

/* The NEWSETELEM and NEWRULE parts of pc_nftsnap_add(), same returns. */
int pc_nftsnap_add_elems(struct pc_nftsnap *b, const struct nlmsghdr *nlh);
int pc_nftsnap_add_rule(struct pc_nftsnap *b, const struct nlmsghdr *nlh);
