/* SPDX-License-Identifier: MIT */
/*
 * Reading the nftables snapshot: the nfnetlink dumps that feed the builder (nftsnap.c), all
 * inside one ruleset generation, and nft's listing for the rule texts.
 */
#include <errno.h>
#include <netdb.h> /* before the kernel's headers: glibc's netinet/in.h first */
#include <stdio.h> /* before libnftnl's headers, which use FILE */
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nftrender.h"
#include "nftsnap_build.h"
#include "portcheck/util.h"

/* Bounded retries when the ruleset changes while it is read (firewalld reloads, ...). */
#define NFT_READ_TRIES 10

static void nftnl_rule_freep(struct nftnl_rule **p)
{
	if (*p)
		nftnl_rule_free(*p);
}

static void nft_ctx_freep(struct nft_ctx **p)
{
	if (*p)
		nft_ctx_free(*p);
}

struct gen_reply {
	uint32_t id;
	bool have;
};

static int gen_cb(const struct nlmsghdr *nlh, void *userdata)
{
	struct gen_reply *g = userdata;
	struct nftnl_gen *gen;
	int r = MNL_CB_ERROR;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWGEN)
		return MNL_CB_OK;
	gen = nftnl_gen_alloc();
	if (!gen)
		return MNL_CB_ERROR;
	if (nftnl_gen_nlmsg_parse(nlh, gen) >= 0 && nftnl_gen_is_set(gen, NFTNL_GEN_ID)) {
		g->id = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
		g->have = true;
		r = MNL_CB_OK;
	}
	nftnl_gen_free(gen);
	return r;
}

/* The ruleset's generation id, which every committed change increments. */
int pc_nft_read_genid(uint32_t *ret)
{
	_cleanup_(pc_nl_closep) struct mnl_socket *nl = NULL;
	/* The reply is one small message and an ACK. */
	char buf[8192] __attribute__((aligned(4)));
	uint32_t seq = (uint32_t)time(NULL), portid;
	struct gen_reply gen = {};
	struct nlmsghdr *nlh;
	int r;

	/* Timing out, and only the kernel may answer (see pc_nl_open_request). */
	r = pc_nl_open_request(NETLINK_NETFILTER, &nl);
	if (r < 0)
		return r;
	portid = mnl_socket_get_portid(nl);

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		if (n == 0)
			return -EPROTO;
		errno = 0;
		r = mnl_cb_run(buf, n, seq, portid, gen_cb, &gen);
		if (r == MNL_CB_ERROR)
			return errno > 0 ? -errno : -EBADMSG;
		if (r == MNL_CB_STOP)
			break;
	}
	if (!gen.have)
		return -EBADMSG;
	*ret = gen.id;
	return 0;
}

struct read_ctx {
	struct pc_nftsnap *b;
	pc_nl_msg_cb tap;
	void *tap_userdata;
	/* During a rule dump of one chain: its table and name as the kernel spells them. */
	const char *rule_table, *rule_chain;
};

/* Whether the string attribute @a is @s. */
static bool attr_is(const struct nlattr *a, const char *s)
{
	size_t len = strlen(s);

	return a && mnl_attr_get_payload_len(a) == len + 1 &&
	       memcmp(mnl_attr_get_payload(a), s, len + 1) == 0;
}

static int read_cb(const struct nlmsghdr *nlh, void *userdata)
{
	struct read_ctx *c = userdata;
	int r;

	/* A kernel that ignored the chain filter (older than 4.14?) sends every rule for
	 * every chain: take only the chain's own, once. */
	if (c->rule_chain && NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWRULE) {
		const struct nlattr *tb[NFTA_RULE_CHAIN + 1];

		r = pc_nl_parse_attrs(nlh, sizeof(struct nfgenmsg), tb, NFTA_RULE_CHAIN);
		if (r < 0)
			return r;
		if (!attr_is(tb[NFTA_RULE_TABLE], c->rule_table) ||
		    !attr_is(tb[NFTA_RULE_CHAIN], c->rule_chain))
			return 0;
	}
	if (c->tap) {
		r = c->tap(nlh, c->tap_userdata);
		if (r < 0)
			return r;
	}
	return pc_nftsnap_add(c->b, nlh);
}

static int dump(struct read_ctx *c, uint16_t msg, uint32_t family, const char *table,
		const char *set, const char *chain)
{
	/* Two names of at most NFT_NAME_MAXLEN (256) bytes. */
	char buf[1024] __attribute__((aligned(4))) = {};
	struct nlmsghdr *nlh;

	nlh = nftnl_nlmsg_build_hdr(buf, msg, family, NLM_F_DUMP, 0);
	if (set) {
		_cleanup_(pc_nftnl_set_freep) struct nftnl_set *s = nftnl_set_alloc();

		if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, table) < 0 ||
		    nftnl_set_set_str(s, NFTNL_SET_NAME, set) < 0)
			return -ENOMEM;
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
	} else if (chain) {
		_cleanup_(nftnl_rule_freep) struct nftnl_rule *rl = nftnl_rule_alloc();

		if (!rl || nftnl_rule_set_str(rl, NFTNL_RULE_TABLE, table) < 0 ||
		    nftnl_rule_set_str(rl, NFTNL_RULE_CHAIN, chain) < 0)
			return -ENOMEM;
		nftnl_rule_nlmsg_build_payload(nlh, rl);
	}
	return pc_nl_dump(NETLINK_NETFILTER, nlh, read_cb, c);
}

static int dump_elems(uint32_t family, const char *table, const char *set, void *userdata)
{
	return dump(userdata, NFT_MSG_GETSETELEM, family, table, set, NULL);
}

/*
 * The rules chain by chain: the kernel restarts a dump from its first object for each
 * batch of ~32 KiB, so one dump of 50,000 rules walks ~12 million of them (~0.4 s) where
 * 500 dumps of a chain each walk 50,000 (bench/snapshot.sh).
 */
static int dump_rules(uint32_t family, const char *table, const char *chain, void *userdata)
{
	struct read_ctx *c = userdata;
	int r;

	c->rule_table = table;
	c->rule_chain = chain;
	r = dump(c, NFT_MSG_GETRULE, family, table, NULL, chain);
	c->rule_table = c->rule_chain = NULL;
	return r;
}

/*
 * What nft lists for @cmd ("list ruleset", "list chain inet t c"), for rule texts: handles
 * on, counters without values (stateless) and named sets without elements (terse, which
 * also spares nft from reading large sets for "list ruleset"; nftables 1.0.6 reads them
 * for "list chain" all the same). Returns 0 and *ret NULL when libnftables could not list
 * it: texts are a convenience, the expressions are the truth.
 */
int pc_nftsnap_listing_cmd(const char *cmd, char **ret)
{
	_cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *out;

	*ret = NULL;
	if (!ctx)
		return -ENOMEM;
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_STATELESS |
					  NFT_CTX_OUTPUT_TERSE);
	/* Buffered, so that libnftables never writes to our stdout or stderr. */
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
		return -ENOMEM;
	if (nft_run_cmd_from_buffer(ctx, cmd) != 0)
		return 0;
	out = nft_ctx_get_output_buffer(ctx);
	if (out) {
		*ret = strdup(out);
		if (!*ret)
			return -ENOMEM;
	}
	return 0;
}

int pc_nftsnap_listing(char **ret)
{
	return pc_nftsnap_listing_cmd("list ruleset", ret);
}

static void pc_nftsnap_freep(struct pc_nftsnap **b)
{
	pc_nftsnap_free(*b);
}

static int texts_all(struct pc_nft_ruleset *rs);

static int read_once(pc_nl_msg_cb tap, void *userdata, unsigned flags, struct pc_nft_ruleset *ret)
{
	_cleanup_(pc_nftsnap_freep) struct pc_nftsnap *b = pc_nftsnap_new();
	struct read_ctx c = {.b = b, .tap = tap, .tap_userdata = userdata};
	struct pc_nft_ruleset rs = {};
	uint32_t gen, gen_after;
	int r;

	if (!b)
		return -ENOMEM;
	r = pc_nft_read_genid(&gen);
	if (r < 0)
		return r;
	r = dump(&c, NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NULL, NULL, NULL);
	if (r >= 0)
		r = dump(&c, NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, NULL, NULL, NULL);
	if (r >= 0)
		r = dump(&c, NFT_MSG_GETSET, NFPROTO_UNSPEC, NULL, NULL, NULL);
	/* A set deleted after the set dump answers ENOENT: the ruleset moved. */
	if (r >= 0) {
		r = pc_nftsnap_foreach_set(b, dump_elems, &c);
		if (r == -ENOENT)
			r = -EINTR;
	}
	/* A chain deleted after the chain dump answers ENOENT too. */
	if (r >= 0) {
		r = pc_nftsnap_foreach_chain(b, dump_rules, &c);
		if (r == -ENOENT)
			r = -EINTR;
	}
	if (r >= 0)
		r = pc_nft_read_genid(&gen_after);
	if (r < 0)
		return r;
	if (gen_after != gen)
		return -EINTR;

	pc_nftsnap_finish(b, &rs);
	rs.genid = gen;
	if (!(flags & PC_NFT_READ_NO_TEXTS)) {
		r = texts_all(&rs);
		/* The ruleset moved before libnftables listed it: read it again. */
		if (r == -ESTALE)
			r = -EINTR;
	}
	if (r >= 0)
		r = pc_nft_blind_spot("/proc", &rs.blind_spot);
	if (r < 0) {
		pc_nft_ruleset_clear(&rs);
		return r;
	}
	*ret = rs;
	return 0;
}

int pc_nftsnap_read(pc_nl_msg_cb tap, void *userdata, unsigned flags, struct pc_nft_ruleset *ret)
{
	for (int i = 0; i < NFT_READ_TRIES; i++) {
		int r = read_once(tap, userdata, flags, ret);

		if (r != -EINTR)
			return r;
	}
	return -EAGAIN;
}

int pc_nft_read(struct pc_nft_ruleset *ret)
{
	return pc_nftsnap_read(NULL, NULL, 0, ret);
}

int pc_nft_read_flags(struct pc_nft_ruleset *ret, unsigned flags)
{
	return pc_nftsnap_read(NULL, NULL, flags, ret);
}

int pc_nft_texts_fill(struct pc_nft_ruleset *rs)
{
	_cleanup_free_ char *listing = NULL;
	struct pc_nft_texts texts = {};
	uint32_t gen;
	int r;

	r = pc_nft_read_genid(&gen);
	if (r < 0)
		return r;
	if (gen != rs->genid)
		return -ESTALE;
	r = pc_nftsnap_listing(&listing);
	if (r < 0)
		return r;
	/* libnftables lists inside one generation of its own: the snapshot's, if it has not
	 * moved since. */
	r = pc_nft_read_genid(&gen);
	if (r < 0)
		return r;
	if (gen != rs->genid)
		return -ESTALE;
	if (!listing)
		return 0;
	r = pc_nft_texts_parse(listing, &texts);
	if (r >= 0)
		r = pc_nft_texts_attach(rs, &texts);
	pc_nft_texts_clear(&texts);
	return r;
}

/* --- texts of some rules ------------------------------------------------------------------ */

/*
 * Chains are listed alone (`list chain`) when that is cheaper than one listing of the
 * whole ruleset. nftables 1.0.6 reads every element of the table's sets for `list chain`
 * (terse or not): ~3 us an element, against ~30 us a rule for the whole (terse) listing
 * (bench/snapshot.sh: a chain of a table of 101,005 elements 0.3 s, 303,005 elements
 * 1.1 s; the whole ruleset of 50,009 rules 1.5 s). So: at most this many elements read
 * for all the chains together, or 4 per rule of the ruleset if that is more; at most so
 * many chains.
 */
#define CHAIN_LISTING_MAX_ELEMS 20000
#define CHAIN_LISTING_ELEMS_PER_RULE 4
#define CHAIN_LISTING_MAX_CHAINS 16

/* A name nft's parser takes as it is: it has no quoting for table and chain names. */
static bool plain_name(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

struct chain_ref {
	struct pc_nft_table *t;
	struct pc_nft_chain *c;
};

/* The chain that holds @r, a rule of @rs. */
static struct chain_ref rule_chain(struct pc_nft_ruleset *rs, const struct pc_nft_rule *r)
{
	for (size_t i = 0; i < rs->n_tables; i++)
		for (size_t j = 0; j < rs->tables[i].n_chains; j++) {
			struct pc_nft_chain *c = &rs->tables[i].chains[j];

			if (c->n_rules && r >= c->rules && r < c->rules + c->n_rules)
				return (struct chain_ref){&rs->tables[i], c};
		}
	return (struct chain_ref){};
}

/* What nftables reads for a `list chain` of table @t: every set's elements. */
static size_t table_elems(const struct pc_nft_table *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n_sets; i++)
		n += t->sets[i].n_elems;
	return n;
}

/* Texts from @t for the rules of one chain; the others keep theirs. */
static int attach_chain(const struct chain_ref *ref, const struct pc_nft_texts *t)
{
	for (size_t k = 0; k < ref->c->n_rules; k++) {
		struct pc_nft_rule *r = &ref->c->rules[k];
		const char *s =
		    pc_nft_texts_find(t, ref->t->family, ref->t->name, ref->c->name, r->handle);

		if (!s || r->text)
			continue;
		r->text = strdup(s);
		if (!r->text)
			return -ENOMEM;
	}
	return 0;
}

static void chain_texts_clear(const struct chain_ref *ref)
{
	for (size_t k = 0; k < ref->c->n_rules; k++)
		free(TAKE_PTR(ref->c->rules[k].text));
}

/* Each chain of @refs listed alone. Returns 0, 1 when libnftables refused one (its name is
 * one of nft's keywords, ...), -errno. */
static int fill_chains(const struct chain_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *listing = NULL;
		struct pc_nft_texts texts = {};
		char cmd[64 + 2 * NFT_NAME_MAXLEN];
		int r;

		snprintf(cmd, sizeof(cmd), "list chain %s %s %s",
			 pc_nft_family_name(refs[i].t->family), refs[i].t->kname, refs[i].c->kname);
		r = pc_nftsnap_listing_cmd(cmd, &listing);
		if (r < 0)
			return r;
		if (!listing)
			return 1;
		r = pc_nft_texts_parse(listing, &texts);
		if (r >= 0)
			r = attach_chain(&refs[i], &texts);
		pc_nft_texts_clear(&texts);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *ifname_here(void *userdata, uint32_t ifindex, char *buf)
{
	(void)userdata;
	return if_indextoname(ifindex, buf);
}

/* As nft names a protocol: getprotobynumber (/etc/protocols), a number where it has none
 * (the renderer leaves those to libnftables). */
static const char *proto_here(void *userdata, uint8_t proto)
{
	/* Looked up once per process: each getprotobynumber reads /etc/protocols again,
	 * and 50,000 rules name tcp 50,000 times (that was a second of a snapshot). */
	static char *names[256];
	static bool looked[256];

	(void)userdata;
	if (!looked[proto]) {
		const struct protoent *pe = getprotobynumber(proto);

		names[proto] = pe && pe->p_name ? strdup(pe->p_name) : NULL;
		/* Out of memory: asked again next time. */
		looked[proto] = !pe || !pe->p_name || names[proto];
	}
	return names[proto];
}

/* Names of this namespace and this host's /etc/protocols, as nft would print them. */
static const struct pc_nft_render_env render_env = {.ifname = ifname_here,
						    .proto_name = proto_here};

int pc_nft_texts_render(struct pc_nft_ruleset *rs, const struct pc_nft_rule *const *rules, size_t n,
			size_t *left)
{
	/* iif / oif name interfaces of this namespace, the ruleset's: as nft would. */
	const struct pc_nft_render_env env = render_env;

	*left = 0;
	for (size_t i = 0; i < n; i++) {
		struct pc_nft_rule *r = (struct pc_nft_rule *)rules[i];
		struct chain_ref ref;
		int k;

		if (!r || r->text)
			continue;
		ref = rule_chain(rs, r);
		k = ref.t ? pc_nft_render_rule(ref.t, r, &env, &r->text) : 1;
		if (k < 0)
			return k;
		if (k > 0)
			(*left)++;
	}
	return 0;
}

int pc_nft_texts_fill_rules(struct pc_nft_ruleset *rs, const struct pc_nft_rule *const *rules,
			    size_t n)
{
	struct chain_ref refs[CHAIN_LISTING_MAX_CHAINS];
	size_t n_refs = 0, elems = 0, budget = 0;
	bool whole = false;
	uint32_t gen;
	int r;

	for (size_t i = 0; i < n && !whole; i++) {
		struct chain_ref ref;
		size_t k;

		if (!rules[i] || rules[i]->text)
			continue;
		ref = rule_chain(rs, rules[i]);
		if (!ref.c)
			continue;
		for (k = 0; k < n_refs && refs[k].c != ref.c; k++)
			;
		if (k < n_refs)
			continue;
		if (n_refs == CHAIN_LISTING_MAX_CHAINS || !pc_nft_family_name(ref.t->family) ||
		    !plain_name(ref.t->kname) || !plain_name(ref.c->kname))
			whole = true;
		else
			refs[n_refs++] = ref;
	}
	for (size_t i = 0; i < n_refs; i++)
		elems += table_elems(refs[i].t);
	for (size_t i = 0; i < rs->n_tables; i++)
		for (size_t j = 0; j < rs->tables[i].n_chains; j++)
			budget += CHAIN_LISTING_ELEMS_PER_RULE * rs->tables[i].chains[j].n_rules;
	if (budget < CHAIN_LISTING_MAX_ELEMS)
		budget = CHAIN_LISTING_MAX_ELEMS;
	if (whole || elems > budget)
		return pc_nft_texts_fill(rs);
	if (n_refs == 0)
		return 0;

	r = pc_nft_read_genid(&gen);
	if (r < 0)
		return r;
	if (gen != rs->genid)
		return -ESTALE;
	r = fill_chains(refs, n_refs);
	if (r == 0) {
		r = pc_nft_read_genid(&gen);
		if (r >= 0 && gen != rs->genid)
			r = -ESTALE;
	}
	if (r != 0)
		for (size_t i = 0; i < n_refs; i++)
			chain_texts_clear(&refs[i]);
	/* A chain libnftables would not list by name: the whole ruleset then. */
	return r == 1 ? pc_nft_texts_fill(rs) : r;
}

/*
 * Every rule's text: rendered here where that is known to read as nft's listing, from
 * libnftables for the rest (their chains alone, or the whole ruleset). On a ruleset of
 * common shapes no listing at all: the bench host's 50,009 rules took 0.7 s and 150 MiB
 * of libnftables' own. Returns 0, -ESTALE (the ruleset moved before the listing), -errno.
 */
static int texts_all(struct pc_nft_ruleset *rs)
{
	const struct pc_nft_render_env env = render_env;
	_cleanup_free_ const struct pc_nft_rule **left = NULL;
	size_t n = 0, n_left = 0;

	for (size_t i = 0; i < rs->n_tables; i++)
		for (size_t j = 0; j < rs->tables[i].n_chains; j++)
			n += rs->tables[i].chains[j].n_rules;
	left = calloc(n ? n : 1, sizeof(*left));
	if (!left)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n_tables; i++) {
		const struct pc_nft_table *t = &rs->tables[i];

		for (size_t j = 0; j < t->n_chains; j++)
			for (size_t k = 0; k < t->chains[j].n_rules; k++) {
				struct pc_nft_rule *r = &t->chains[j].rules[k];
				int x = r->text ? 0 : pc_nft_render_rule(t, r, &env, &r->text);

				if (x < 0)
					return x;
				if (x > 0)
					left[n_left++] = r;
			}
	}
	return n_left ? pc_nft_texts_fill_rules(rs, left, n_left) : 0;
}
