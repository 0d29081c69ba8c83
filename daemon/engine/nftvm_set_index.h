/* SPDX-License-Identifier: MIT */
/*
 * The index of a set (nftvm_set.c), shared with the symbolic lookups (nftvm_set_sym.c)
 * that project it onto intervals of the source.
 */
#pragma once

#include "nftvm_internal.h"

struct set_range {
	const struct pc_nft_set_elem *e;
	const uint8_t *lo, *hi; /* klen bytes each */
};

struct set_item {
	const struct pc_nft_set_elem *e;
	const uint8_t *key; /* klen bytes */
};

struct set_index {
	bool ranges; /* else exact keys */
	uint32_t klen;
	uint32_t nfields;
	uint32_t foff[16], flen[16];
	const struct pc_nft_set_elem *catchall;
	size_t members; /* elements as nft lists them: no interval ends, no catch-all */
	size_t n;
	struct set_item *exact; /* sorted by key */
	struct set_range *r;	/* sorted by the first field's start */
	bool apart;		/* ranges in order and apart (an rbtree set of one field) */
	uint8_t *maxend;	/* n * flen[0]: the largest first-field end of each subtree,
				   made by the first vm_set_find (NULL before) */
	uint8_t *blob;		/* normalized keys */
	struct set_proj *proj;	/* projections onto the source (nftvm_set_sym.c), cached:
				   PROJ_CACHE slots once allocated */
	uint64_t proj_tick;	/* lookups of proj so far (its LRU clock) */
	/* two-field keys: the elements' indexes by their other field (nftvm_set_sym.c
	 * by_other); 4 bytes each, as a set holds fewer than 2^32 elements */
	uint32_t *by_other[2];
	bool by_other_done[2];
};

/* The set's index, built on first use; NULL with *oom set when out of memory. */
struct set_index *vm_set_index(const struct pc_nft_set *s, bool *oom);
/* Free the cached projections of an index. */
void vm_set_proj_free(struct set_index *x);
/*
 * A lookup whose key holds the symbolic source (in one field, the rest constants): narrow
 * the sources to those that find the same element group as the concrete key @key (the
 * same verdict or data for maps; membership for sets). Returns 0 and in *@ret_el the
 * element the concrete key finds (NULL: none; the catch-all is not looked at), or -1
 * after vm_unknown().
 */
int vm_set_sym_lookup(struct vm *vm, const struct pc_nft_set *s, const uint8_t *key,
		      const struct pc_nft_set_elem **ret_el);
