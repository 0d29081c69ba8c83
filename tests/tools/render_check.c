/* SPDX-License-Identifier: MIT */
/*
 * pc-render-check: hold the rule texts portcheck renders itself (nftrender.h) against
 * libnftables' listing of the same ruleset, in the current network namespace
 * (tests/lab/test_render.sh runs it in a namespace of its own). Reads the snapshot
 * without texts and libnftables' listing on its own (a snapshot read with texts has the
 * rendered ones), renders every rule, and prints each one whose rendered text differs
 * from the listing's ("MISMATCH"). Exit 0 when none differs, 1 when one does, 2 on an error, 3
 * when --min-rendered PERCENT is not reached.
 *
 * usage: pc-render-check [--min-rendered PERCENT] [--show-unrendered]
 */
#include <errno.h>
#include <netdb.h> /* before the kernel's headers: glibc's netinet/in.h first */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftrender.h"
#include "nftsnap.h"
#include "portcheck/nft.h"

static const char *ifname(void *userdata, uint32_t ifindex, char *buf)
{
	(void)userdata;
	return if_indextoname(ifindex, buf);
}

static const char *proto_name(void *userdata, uint8_t proto)
{
	const struct protoent *pe = getprotobynumber(proto);

	(void)userdata;
	return pe ? pe->p_name : NULL;
}

int main(int argc, char **argv)
{
	struct pc_nft_render_env env = {.ifname = ifname, .proto_name = proto_name};
	struct pc_nft_ruleset rs = {0};
	struct pc_nft_texts listed = {0};
	char *listing = NULL;
	double min = 0;
	bool show = false;
	size_t rules = 0, rendered = 0, mismatches = 0, no_text = 0;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--min-rendered") == 0 && i + 1 < argc)
			min = atof(argv[++i]);
		else if (strcmp(argv[i], "--show-unrendered") == 0)
			show = true;
		else {
			fprintf(stderr, "usage: pc-render-check [--min-rendered PERCENT] "
					"[--show-unrendered]\n");
			return 2;
		}
	}
	r = pc_nft_read_flags(&rs, PC_NFT_READ_NO_TEXTS);
	if (r >= 0)
		r = pc_nftsnap_listing(&listing);
	if (r >= 0 && !listing)
		r = -EIO;
	if (r >= 0)
		r = pc_nft_texts_parse(listing, &listed);
	if (r < 0) {
		fprintf(stderr, "pc-render-check: reading the ruleset and its listing: %s\n",
			strerror(-r));
		return 2;
	}
	for (size_t i = 0; i < rs.n_tables; i++) {
		const struct pc_nft_table *t = &rs.tables[i];

		for (size_t j = 0; j < t->n_chains; j++) {
			const struct pc_nft_chain *c = &t->chains[j];

			for (size_t k = 0; k < c->n_rules; k++) {
				const struct pc_nft_rule *rl = &c->rules[k];
				const char *nft = pc_nft_texts_find(&listed, t->family, t->name,
								    c->name, rl->handle);
				char *text = NULL;

				rules++;
				r = pc_nft_render_rule(t, rl, &env, &text);
				if (r < 0) {
					fprintf(stderr, "pc-render-check: %s\n", strerror(-r));
					return 2;
				}
				if (r > 0) {
					if (show)
						printf("UNRENDERED %s %s handle %llu: %s\n",
						       t->name, c->name,
						       (unsigned long long)rl->handle,
						       nft ? nft : "(no text)");
					continue;
				}
				rendered++;
				if (!nft) {
					/* libnftables gave none: nothing to hold it against. */
					no_text++;
				} else if (strcmp(text, nft) != 0) {
					mismatches++;
					printf("MISMATCH %s %s handle %llu\n  nft:      %s\n  "
					       "rendered: %s\n",
					       t->name, c->name, (unsigned long long)rl->handle,
					       nft, text);
				}
				free(text);
			}
		}
	}
	printf("rules %zu rendered %zu (%.1f%%) mismatches %zu without listing text %zu\n", rules,
	       rendered, rules ? 100.0 * (double)rendered / (double)rules : 100.0, mismatches,
	       no_text);
	pc_nft_ruleset_clear(&rs);
	pc_nft_texts_clear(&listed);
	free(listing);
	if (mismatches || no_text)
		return 1;
	if (rules && 100.0 * (double)rendered / (double)rules < min)
		return 3;
	return 0;
}
