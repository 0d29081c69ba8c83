/* SPDX-License-Identifier: MIT */
/*
 * What an analysis depends on that no event announces, so that its answer can be kept
 * exactly as long as it is true: the nftables generation (every committed change moves
 * it; one round trip to read), set elements that expire (silently), sets the packet
 * path itself changes (dynset: no notification at all), tables nftables cannot see
 * (iptables-legacy), and the sysctls the engine reads.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "portcheck/nft.h"

struct pc_freshness {
	/* ms from the ruleset's dump until the first set element with a timeout expires;
	 * UINT64_MAX when none has one */
	uint64_t valid_for_ms;
	/* Why the answer must not be kept at all (a static string), or NULL. */
	const char *volatile_why;
};

/*
 * The freshness of an analysis of @rs (@nft_ok false: the ruleset could not be read, and
 * the answer is not kept). Pure.
 */
void pc_freshness_of_ruleset(const struct pc_nft_ruleset *rs, bool nft_ok,
			     struct pc_freshness *ret);

/*
 * A hash of what no event announces and a request reads again: the sysctls the engine
 * reads (forwarding, per family) and the names of the legacy x_tables in use
 * (iptables-legacy). Returns 0 or -errno.
 */
int pc_freshness_files(uint64_t *ret);
