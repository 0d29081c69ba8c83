/* SPDX-License-Identifier: MIT */
/*
 * Rule texts rendered from the snapshot's expressions, as `nft -a -s -t list ruleset`
 * prints them (nftables 1.0.6), for the common shapes of rules: payload and meta matches,
 * prefixes, ranges, flags, named sets and small anonymous ones, verdict maps, counter,
 * reject, comments. A report names a few hundred rules; listing a ruleset of 50,000 rules
 * through libnftables for them cost 0.8 s and 150 MiB (README "Performance").
 *
 * A rule with any part this renderer does not know for certain is not rendered: the caller
 * asks libnftables for it. tests/lab/test_render.sh holds every rendered text against
 * libnftables' listing of the same kernel ruleset.
 */
#pragma once

#include <stdint.h>

#include "portcheck/nft.h"

struct pc_nft_render_env {
	/* The name of interface @ifindex into @buf (IF_NAMESIZE bytes), as nft prints
	 * `iif` / `oif`: if_indextoname in the ruleset's namespace. NULL when unknown (the
	 * rule is not rendered: nft would print the number). NULL: no interface is known. */
	const char *(*ifname)(void *userdata, uint32_t ifindex, char *buf);
	/* The name of IP protocol @proto as nft prints it (getprotobynumber, so
	 * /etc/protocols: numbers where it has none). NULL: unknown (not rendered). NULL
	 * callback: no protocol is known. */
	const char *(*proto_name)(void *userdata, uint8_t proto);
	void *userdata;
};

/*
 * The text of rule @r of table @t (without "# handle N"), sanitised as texts from
 * libnftables' listing are (PC_STRSAN_RAW). Returns 0 and the text in *ret (the caller
 * frees it), 1 when it cannot be rendered here (*ret NULL), -ENOMEM.
 */
int pc_nft_render_rule(const struct pc_nft_table *t, const struct pc_nft_rule *r,
		       const struct pc_nft_render_env *env, char **ret);
