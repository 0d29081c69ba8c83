/* SPDX-License-Identifier: MIT */
/* portcheck-bench's evaluation part: one pc_nft_eval_path per flow, in steady state. */
#include <net/if.h>
#include <netinet/in.h>

#include "bench_util.h"
#include "portcheck/nftvm.h"
#include "portcheck/report.h"

static bool iface_daddr(const struct pc_netif *ni, uint32_t ifindex, int family,
			struct pc_addr *ret)
{
	for (size_t i = 0; i < ni->n_addrs; i++) {
		const struct pc_addr *a = &ni->addrs[i].prefix.addr;

		if (ni->addrs[i].ifindex != ifindex || a->family != family)
			continue;
		if (family == AF_INET6 && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80)
			continue;
		*ret = *a;
		return true;
	}
	return false;
}

static void describe(const struct pc_nft_result *res, char *buf, size_t size)
{
	if (res->verdict == PC_VERDICT_UNKNOWN)
		snprintf(buf, size, "unknown: %.60s", res->unknown_reason);
	else if (res->has_rule && res->rule.policy)
		snprintf(buf, size, "%s by policy of %s", pc_verdict_to_string(res->verdict),
			 res->rule.chain);
	else if (res->has_rule)
		snprintf(buf, size, "%s by %.50s", pc_verdict_to_string(res->verdict),
			 res->rule.text ? res->rule.text : "?");
	else
		snprintf(buf, size, "%s", pc_verdict_to_string(res->verdict));
}

void bench_eval(const char *iface, const struct flow_spec *flows, size_t n_flows, int iters,
		const struct pc_netif *ni, const struct pc_nft_ruleset *rs, double *eval_us,
		double *index_ms)
{
	uint32_t ifindex = if_nametoindex(iface);
	double v[64];

	if (!ifindex)
		die(iface, ENODEV);
	if (!n_flows)
		return;
	printf("evaluation: pc_nft_eval_path, steady state (set indexes built), %d evaluations "
	       "per flow\n",
	       iters);
	for (size_t f = 0; f < n_flows; f++) {
		/* The last flow first: it meets every set (run.sh passes it last), so its first
		 * evaluation on this snapshot builds all the set indexes. */
		size_t fi = (f + n_flows - 1) % n_flows;
		const struct flow_spec *fs = &flows[fi];
		struct pc_flow flow = {.family = fs->saddr.family,
				       .l4proto = fs->proto,
				       .saddr = fs->saddr,
				       .sport = 40000,
				       .dport = fs->dport,
				       .iif = ifindex};
		struct pc_nft_result res = {0};
		char what[160], addr[PC_ADDRSTRLEN];
		int batches = 0, per = iters / 64 > 0 ? iters / 64 : 1;
		double first;

		if (!iface_daddr(ni, ifindex, flow.family, &flow.daddr))
			die("no address of the flow's family on the interface", EADDRNOTAVAIL);
		first = now_ms();
		if (pc_nft_eval_path(rs, ni, &flow, false, &res) < 0)
			die("pc_nft_eval_path", ENOMEM);
		first = now_ms() - first;
		describe(&res, what, sizeof(what));
		pc_nft_result_clear(&res);
		for (int b = 0; b < 64 && b * per < iters; b++) {
			double t0 = now_ms();

			for (int i = 0; i < per; i++) {
				res = (struct pc_nft_result){0};
				pc_nft_eval_path(rs, ni, &flow, false, &res);
				pc_nft_result_clear(&res);
			}
			v[batches++] = (now_ms() - t0) * 1000 / per;
		}
		struct stat_row s = stats_of(v, batches);
		eval_us[fi] = s.median;
		if (f == 0) {
			*index_ms = first;
			printf("  first evaluation on this snapshot (builds the set indexes): "
			       "%.1f ms\n",
			       first);
		}
		printf("  %-8s %-16s -> %5u/%s %8.2f us median %8.2f us max  %s\n", fs->name,
		       pc_addr_to_string(&fs->saddr, addr), fs->dport,
		       fs->proto == IPPROTO_UDP ? "udp" : "tcp", s.median, s.max, what);
	}
}
