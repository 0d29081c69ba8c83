/* SPDX-License-Identifier: MIT */
/*
 * The engine's evaluations counted through the linker: a test linked with
 * -Wl,--wrap=pc_nft_eval_sources_classes (tests/CMakeLists.txt) includes this once and reads
 * eval_calls, as the bench does (bench/bench_analysis.c, which also times them).
 */
#pragma once

#include "portcheck/nftvm.h"

/* All calls; those with routing classes (a family's); those over several pieces
 * without (a class's). */
static unsigned eval_calls, eval_class_calls, eval_multi_calls;

int __real_pc_nft_eval_sources_classes(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
				       const struct pc_flow *flow, const struct pc_ivlist *addrs,
				       const struct pc_ivlist *ports,
				       const struct pc_src_classes *classes,
				       struct pc_src_result **ret, size_t *n_ret);
int __wrap_pc_nft_eval_sources_classes(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
				       const struct pc_flow *flow, const struct pc_ivlist *addrs,
				       const struct pc_ivlist *ports,
				       const struct pc_src_classes *classes,
				       struct pc_src_result **ret, size_t *n_ret);
int __wrap_pc_nft_eval_sources_classes(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
				       const struct pc_flow *flow, const struct pc_ivlist *addrs,
				       const struct pc_ivlist *ports,
				       const struct pc_src_classes *classes,
				       struct pc_src_result **ret, size_t *n_ret)
{
	eval_calls++;
	eval_class_calls += classes != NULL;
	eval_multi_calls += !classes && addrs->n > 1;
	return __real_pc_nft_eval_sources_classes(rs, ni, flow, addrs, ports, classes, ret, n_ret);
}
