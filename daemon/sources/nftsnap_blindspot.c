/* SPDX-License-Identifier: MIT */
/* Packet filtering the nftables snapshot cannot see: legacy iptables tables (nftsnap.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nftsnap.h"
#include "portcheck/util.h"

/* The table names listed in @path, comma-separated, into @out. Returns how many. */
static int read_names(const char *path, char *out, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[512];
	ssize_t n;
	size_t len = 0;
	int count = 0;

	out[0] = '\0';
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *save = NULL, *tok = strtok_r(buf, "\n", &save); tok;
	     tok = strtok_r(NULL, "\n", &save)) {
		int w;

		if (!*tok)
			continue;
		w = snprintf(out + len, size - len, "%s%s", count ? ", " : "", tok);
		if (w < 0 || (size_t)w >= size - len)
			break;
		len += w;
		count++;
	}
	return count;
}

int pc_nft_blind_spot(const char *proc_root, char **ret)
{
	static const struct {
		const char *file, *tool;
	} legacy[] = {
	    {"net/ip_tables_names", "iptables-legacy"},
	    {"net/ip6_tables_names", "ip6tables-legacy"},
	    {"net/arp_tables_names", "arptables-legacy"},
	};
	char msg[1024] = "", names[256], path[4096];
	size_t len = 0;

	*ret = NULL;
	for (size_t i = 0; i < ELEMENTSOF(legacy); i++) {
		int w;

		snprintf(path, sizeof(path), "%s/%s", proc_root, legacy[i].file);
		if (read_names(path, names, sizeof(names)) == 0)
			continue;
		w = snprintf(msg + len, sizeof(msg) - len, "%s%s tables are loaded (%s)",
			     len ? ", " : "", legacy[i].tool, names);
		if (w > 0 && (size_t)w < sizeof(msg) - len)
			len += w;
	}
	if (len == 0)
		return 0;
	if (asprintf(ret, "%s: portcheck cannot see their rules", msg) < 0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}
