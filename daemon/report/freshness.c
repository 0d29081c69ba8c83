/* SPDX-License-Identifier: MIT */
/* How long an analysis stays true without a notification: see portcheck/freshness.h. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "portcheck/freshness.h"
#include "portcheck/util.h"

static bool ruleset_has_dynset(const struct pc_nft_ruleset *rs)
{
	for (size_t t = 0; t < rs->n_tables; t++)
		for (size_t c = 0; c < rs->tables[t].n_chains; c++) {
			const struct pc_nft_chain *ch = &rs->tables[t].chains[c];

			for (size_t r = 0; r < ch->n_rules; r++)
				for (size_t e = 0; e < ch->rules[r].n_exprs; e++)
					if (ch->rules[r].exprs[e].type == PC_NFT_EXPR_DYNSET)
						return true;
		}
	return false;
}

void pc_freshness_of_ruleset(const struct pc_nft_ruleset *rs, bool nft_ok, struct pc_freshness *ret)
{
	struct pc_freshness f = {.valid_for_ms = UINT64_MAX};

	if (!nft_ok) {
		f.volatile_why = "the nftables ruleset could not be read";
	} else if (rs->blind_spot) {
		/* iptables-legacy and the like change without any nftables event. */
		f.volatile_why = "part of the filtering is outside nftables";
	} else if (ruleset_has_dynset(rs)) {
		/* A rule that adds packets' addresses to a set changes the set from the
		 * packet path, and the kernel announces nothing. */
		f.volatile_why = "a rule fills a set from the packet path (dynset)";
	}
	for (size_t t = 0; t < rs->n_tables; t++)
		for (size_t s = 0; s < rs->tables[t].n_sets; s++) {
			uint64_t left = rs->tables[t].sets[s].next_expiry_ms;

			if (left && left < f.valid_for_ms)
				f.valid_for_ms = left;
		}
	*ret = f;
}

/*
 * Read per request, because no event covers them: the sysctls the engine reads (netconf
 * events exist, but checking is as cheap), and the legacy x_tables in use, whose rules
 * the engine cannot see (a table appearing makes verdicts unknown; nothing announces
 * it). Keep in step with what daemon/sources/rtnl.c and the blind-spot check read.
 */
static const char *const files[] = {
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv6/conf/all/forwarding",
    "/proc/sys/net/ipv4/conf/all/rp_filter",
    "/proc/sys/net/ipv4/conf/all/accept_local",
    "/proc/sys/net/ipv4/conf/all/route_localnet",
    "/proc/net/ip_tables_names",
    "/proc/net/ip6_tables_names",
    "/proc/net/arp_tables_names",
};

/* The devices' own values come with the link dump; these two change without an event
 * (rp_filter and forwarding send netconf events, which the watcher counts). */
static const char *const device_globs[] = {
    "/proc/sys/net/ipv4/conf/*/accept_local",
    "/proc/sys/net/ipv4/conf/*/route_localnet",
};

static void fnv(uint64_t *h, const void *p, size_t n)
{
	*h = pc_fnv1a(p, n, *h);
	*h ^= 0xff; /* separator */
	*h *= 1099511628211ULL;
}

static int hash_file(uint64_t *h, const char *path)
{
	char buf[256];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		/* No IPv6, no x_tables module, a device just gone: a state too; hash the
		 * absence. */
		if (errno != ENOENT)
			return -errno;
		n = 0;
	} else {
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			return -errno;
	}
	fnv(h, buf, (size_t)n);
	return 0;
}

int pc_freshness_files(uint64_t *ret)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	int r;

	for (size_t i = 0; i < ELEMENTSOF(files); i++)
		if ((r = hash_file(&h, files[i])) < 0)
			return r;
	for (size_t i = 0; i < ELEMENTSOF(device_globs); i++) {
		glob_t g = {0};

		r = glob(device_globs[i], 0, NULL, &g);
		if (r == GLOB_NOSPACE)
			return -ENOMEM;
		for (size_t k = 0; r == 0 && k < g.gl_pathc; k++) {
			fnv(&h, g.gl_pathv[k], strlen(g.gl_pathv[k]));
			if ((r = hash_file(&h, g.gl_pathv[k])) < 0) {
				globfree(&g);
				return r;
			}
		}
		globfree(&g);
	}
	*ret = h;
	return 0;
}
