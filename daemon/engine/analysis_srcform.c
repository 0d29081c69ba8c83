/* SPDX-License-Identifier: MIT */
/*
 * A path's sources, told two ways (docs/json.md, "sources"): in words for people ("not in
 * set inet crowdsec crowdsec-blacklists (20000 elements)", never 40,000 ranges), and as a
 * versioned JSON form with which a program decides, for any source address and port,
 * whether the path applies: a union of conjunctions of tests (address ranges, source
 * port ranges, masks, membership in named sets as `nft -j list set` shows them).
 *
 * A path's sources are members: per piece of the source space (routes, firewalld
 * bindings), the engine's box and the tests that carve it out. Members with the same tests
 * are one conjunction; the piece ranges join it as an address test unless the
 * conjunction holds in every piece that reaches the listener.
 */
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/nftvm.h"
#include "portcheck/report.h"
#include "portcheck/strbuf.h"

#include "analysis_conj.h"
#include "analysis_internal.h"

/* Explicit address ranges listed in "address_ranges", and conjunctions in words. */
#define FORM_FIRST_RANGES 3
#define WORDS_MAX_CONJ 8
/* nft's datatype ids (src/datatype.h): the fields a constant is printed as an address. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_BITS 6

/* --- JSON ------------------------------------------------------------------------------- */

static json_t *addr_json(int family, pc_u128 v)
{
	struct pc_addr a = pc_addr_from_u128(family, v);
	char s[PC_ADDRSTRLEN];

	return json_string(pc_addr_to_string(&a, s));
}

static json_t *pair_json(int family, bool port, pc_u128 lo, pc_u128 hi)
{
	if (port)
		return json_pack("[I,I]", (json_int_t)lo, (json_int_t)hi);
	return json_pack("[o,o]", addr_json(family, lo), addr_json(family, hi));
}

static json_t *ranges_json(const struct pc_ivlist *l, int family, bool port, size_t max)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < l->n && i < max; i++)
		if (json_array_append_new(a, pair_json(family, port, l->v[i].lo, l->v[i].hi)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* Every interval of a box's dimension (a box past the engine's limits: rare, all told). */
static json_t *dim_ranges_json(const struct pc_srcdim *d, int family, bool port)
{
	struct pc_srcdim_cursor cur = {0};
	json_t *a = json_array();
	struct pc_ivl i;

	while (a && pc_srcdim_next(d, &cur, &i))
		if (json_array_append_new(a, pair_json(family, port, i.lo, i.hi)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static const char *nfproto_word(uint32_t family)
{
	const char *n = pc_nft_family_name(family);

	return n ? n : "?";
}

/* The layout of a set's key: fields, their offsets and lengths, and nft's type of each. */
struct key_layout {
	uint32_t n, off[16], len[16], type[16];
};

/* The length of a field of nft's type @t (src/datatype.h ids), 0 when not known here. */
static uint32_t type_len(uint32_t t)
{
	switch (t) {
	case 7:	 /* ipv4_addr */
	case 19: /* mark */
	case 20: /* iface_index */
		return 4;
	case 8: /* ipv6_addr */
		return 16;
	case 12: /* inet_proto */
		return 1;
	case 13: /* inet_service */
		return 2;
	default:
		return 0;
	}
}

/* The fields of a concatenated key type (6 bits per field, the first highest) when every
 * one is of a type whose length is known and they fill the key: the kernel keeps no field
 * lengths for hash sets of concatenations. */
static bool key_layout_from_type(const struct pc_nft_set *s, struct key_layout *k)
{
	uint32_t types[16], n = 0, off = 0;

	for (uint32_t t = s->key_type; t && n < 16; t >>= NFT_TYPE_BITS)
		types[n++] = t & 0x3f;
	if (n < 2 || s->key_type >> (NFT_TYPE_BITS * n))
		return false;
	k->n = n;
	for (uint32_t i = 0; i < n; i++) {
		k->type[i] = types[n - 1 - i];
		k->len[i] = type_len(k->type[i]);
		k->off[i] = off;
		if (!k->len[i])
			return false;
		off += (k->len[i] + 3) / 4 * 4;
	}
	return off == s->key_len;
}

static void key_layout(const struct pc_nft_set *s, struct key_layout *k)
{
	uint32_t off = 0;

	if (s->field_count > 1 && s->field_count <= 16) {
		k->n = s->field_count;
		for (uint32_t i = 0; i < k->n; i++) {
			k->off[i] = off;
			k->len[i] = s->field_len[i];
			off += (s->field_len[i] + 3) / 4 * 4;
			k->type[i] = (s->key_type >> (NFT_TYPE_BITS * (k->n - 1 - i))) & 0x3f;
		}
		if (off <= s->key_len || s->key_len == 0)
			return;
	}
	if (key_layout_from_type(s, k))
		return;
	k->n = 1;
	k->off[0] = 0;
	k->len[0] = s->key_len ? s->key_len : 4;
	k->type[0] = s->key_type;
}

/* A constant of a set key or a map's data: an address string for nft's address types, an
 * integer for 1- and 2-byte fields (protocols, ports: network order), else "0x" and the
 * bytes as the kernel holds them (host-order integers such as marks included: their
 * order is the field type's, which the key does not say). Data: always hex. */
static json_t *bytes_json(const uint8_t *b, uint32_t len, uint32_t type, bool hex_only)
{
	char hex[2 * PC_NFT_DATA_MAX + 3] = "0x";
	struct pc_addr a = {0};
	char s[PC_ADDRSTRLEN];

	if (!hex_only &&
	    ((type == NFT_TYPE_IPADDR && len == 4) || (type == NFT_TYPE_IP6ADDR && len == 16))) {
		a.family = len == 4 ? AF_INET : AF_INET6;
		memcpy(a.bytes, b, len);
		return json_string(pc_addr_to_string(&a, s));
	}
	if (!hex_only && len <= 2)
		return json_integer((json_int_t)pc_u128_from_be(b, len));
	for (uint32_t i = 0; i < len && i < PC_NFT_DATA_MAX; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", b[i]);
	return json_string(hex);
}

static json_t *verdict_json(const struct pc_nft_verdict *v)
{
	switch (v->code) {
	case NF_ACCEPT:
		return json_pack("{s:n}", "accept");
	case NF_DROP:
		return json_pack("{s:n}", "drop");
	case NFT_CONTINUE:
		return json_pack("{s:n}", "continue");
	case NFT_RETURN:
		return json_pack("{s:n}", "return");
	case NFT_JUMP:
	case NFT_GOTO:
		return json_pack("{s:{s:s}}", v->code == NFT_JUMP ? "jump" : "goto", "target",
				 v->chain ? v->chain : "");
	default:
		return json_pack("{s:i}", "code", v->code);
	}
}

/* Whether the layout has a field exactly at @off of @len bytes (where the source is). */
static bool layout_has(const struct key_layout *k, uint32_t off, uint32_t len)
{
	for (uint32_t f = 0; f < k->n; f++)
		if (k->off[f] == off && k->len[f] == len)
			return true;
	return false;
}

static json_t *set_lit_json(const struct pc_src_lit *l, int family)
{
	const struct pc_nft_set *s = l->set;
	struct key_layout k;
	json_t *key = json_array(), *o;

	key_layout(s, &k);
	if ((s->flags & NFT_SET_ANONYMOUS) || !layout_has(&k, l->sym_off, l->sym_len)) {
		/* No listing names an anonymous set, and a key whose fields are not known
		 * cannot be written as parts: its members, explicitly. */
		const struct pc_ivlist *m;

		json_decref(key);
		if (pc_src_lit_members(l, family, &m) < 0)
			return NULL;
		return json_pack("{s:o}", l->port ? "port_in" : "address_in",
				 ranges_json(m, family, l->port, SIZE_MAX));
	}

	for (uint32_t f = 0; key && f < k.n; f++)
		json_array_append_new(
		    key, k.off[f] == l->sym_off
			     ? json_string(l->port ? "port" : "address")
			     : bytes_json(l->key + k.off[f], k.len[f], k.type[f], false));
	o = json_pack("{s:s,s:s,s:s,s:I,s:o}", "family", nfproto_word(l->table->family), "table",
		      l->table->name, "name", s->name, "elements",
		      (json_int_t)pc_nft_set_member_count(s), "key", key);
	if (o && l->has_verdict)
		json_object_set_new(o, "data", verdict_json(&l->verdict));
	else if (o && l->has_data)
		json_object_set_new(o, "data", bytes_json(l->data.v, l->data.len, 0, true));
	return json_pack("{s:o}", "set", o);
}

static json_t *lit_json(const struct pc_src_lit *l, int family)
{
	unsigned bits = l->port ? 16 : pc_addr_size(family) * 8;
	json_t *o;

	switch (l->kind) {
	case PC_SRC_LIT_RANGE:
		o = json_pack("{s:o}", l->port ? "port" : "address",
			      pair_json(family, l->port, l->a, l->b));
		break;
	case PC_SRC_LIT_MASK:
		if (l->port)
			o = json_pack("{s:{s:I,s:I}}", "port_mask", "mask", (json_int_t)l->a,
				      "value", (json_int_t)l->b);
		else
			o = json_pack("{s:{s:o,s:o}}", "address_mask", "mask",
				      addr_json(family, l->a & pc_u128_max(bits)), "value",
				      addr_json(family, l->b));
		break;
	default:
		o = set_lit_json(l, family);
		break;
	}
	if (o && l->negated)
		json_object_set_new(o, "not", json_true());
	return o;
}

/* Whether a conjunction holds in every piece that reaches the listener here, or its tests
 * hold nowhere else. */
static bool conj_everywhere(const struct outcome_groups *gs, const struct conj *c)
{
	return gs->n_pieces > 0 && (c->n_pieces == gs->n_pieces || c->pieces_implied);
}

/*
 * The pieces that reach the listener, as runs of neighbours @c holds in (*in) and does
 * not (*out). Only sources no path has (no client has them, or they cannot reach the
 * destination) lie between pieces, so a run may jump them.
 */
static void conj_runs(const struct outcome_groups *gs, const struct conj *c, struct pc_ivlist *in,
		      struct pc_ivlist *out)
{
	size_t i = 0;

	while (i < gs->n_pieces) {
		bool covered = pc_ivlist_find(&c->pieces, pc_addr_to_u128(&gs->lo[i])) >= 0;
		size_t k = i;

		while (k + 1 < gs->n_pieces &&
		       (pc_ivlist_find(&c->pieces, pc_addr_to_u128(&gs->lo[k + 1])) >= 0) ==
			   covered)
			k++;
		pc_ivlist_append(covered ? in : out, pc_addr_to_u128(&gs->lo[i]),
				 pc_addr_to_u128(&gs->hi[k]));
		i = k + 1;
	}
}

/* The pieces of @c as one test: a range, ranges, or not the ranges it does not hold in. */
static json_t *pieces_json(const struct outcome_groups *gs, const struct conj *c, int family)
{
	struct pc_ivlist in = {0}, out = {0};
	const struct pc_ivlist *l = &c->pieces;
	bool negated = false;
	json_t *o;

	conj_runs(gs, c, &in, &out);
	if (gs->n_pieces > 0 && in.n > 0) {
		l = &in;
		if (out.n > 0 && out.n < in.n) {
			l = &out;
			negated = true;
		}
	}
	if (l->n == 1)
		o = json_pack("{s:o}", "address", pair_json(family, false, l->v[0].lo, l->v[0].hi));
	else
		o = json_pack("{s:o}", "address_in", ranges_json(l, family, false, SIZE_MAX));
	if (o && negated)
		json_object_set_new(o, "not", json_true());
	pc_ivlist_clear(&in);
	pc_ivlist_clear(&out);
	return o;
}

/* One conjunction: its tests, and the pieces it holds in (NULL: every piece) as one test
 * (a range, or a list of them), not one conjunction per piece. */
static json_t *conj_json(const struct outcome_groups *gs, const struct conj *c, int family)
{
	json_t *all = json_array();

	if (all && c->box) {
		if (json_array_append_new(
			all, json_pack("{s:o}", "address_in",
				       dim_ranges_json(&c->box->addr, family, false))) < 0 ||
		    json_array_append_new(
			all, json_pack("{s:o}", "port_in",
				       dim_ranges_json(&c->box->port, family, true))) < 0) {
			json_decref(all);
			return NULL;
		}
	} else if (all && !conj_everywhere(gs, c) &&
		   json_array_append_new(all, pieces_json(gs, c, family)) < 0) {
		json_decref(all);
		return NULL;
	}
	for (size_t i = 0; all && i < c->n_lits; i++) {
		json_t *o = lit_json(&c->lits[i], family);

		if (!o || json_array_append_new(all, o) < 0) {
			json_decref(all);
			return NULL;
		}
	}
	return all ? json_pack("{s:o}", "all_of", all) : NULL;
}

/* Whether no address of [lo, hi] passes the address test @l (then no source of the piece
 * passes a conjunction holding @l). False when not sure (a mask). */
static bool lit_excludes(const struct pc_src_lit *l, int family, pc_u128 lo, pc_u128 hi)
{
	struct pc_ivl one = {l->a, l->b};
	struct pc_ivlist r = {.v = &one, .n = 1, .cap = 1};
	const struct pc_ivlist *m = &r;
	size_t k;

	if (l->port || l->kind == PC_SRC_LIT_MASK)
		return false;
	if (l->kind == PC_SRC_LIT_SET && pc_src_lit_members(l, family, &m) < 0)
		return false;
	k = pc_ivlist_seek(m, lo);
	if (!l->negated) /* in m: excluded when m has nothing in [lo, hi] */
		return k >= m->n || m->v[k].lo > hi;
	/* not in m: excluded when m holds all of [lo, hi] */
	return k < m->n && m->v[k].lo <= lo && m->v[k].hi >= hi;
}

/* The pieces need not be said when no source of a piece @c does not hold in passes its
 * tests (e.g. "in set S" where S lies in one piece): one test per piece and literal,
 * O(log n) each. */
static void conj_imply_pieces(const struct outcome_groups *gs, struct conj *c, int family)
{
	if (c->n_lits == 0 || gs->n_pieces == 0)
		return;
	for (size_t i = 0; i < gs->n_pieces; i++) {
		pc_u128 lo = pc_addr_to_u128(&gs->lo[i]), hi = pc_addr_to_u128(&gs->hi[i]);
		bool excluded = false;

		if (pc_ivlist_find(&c->pieces, lo) >= 0)
			continue;
		for (size_t k = 0; k < c->n_lits && !excluded; k++)
			excluded = lit_excludes(&c->lits[k], family, lo, hi);
		if (!excluded)
			return;
	}
	c->pieces_implied = true;
}

static int any_of_json(const struct outcome_groups *gs, const struct conj *c, size_t n, int family,
		       json_t **ret)
{
	json_t *any = json_array();

	for (size_t i = 0; any && i < n; i++)
		if (json_array_append_new(any, conj_json(gs, &c[i], family)) < 0) {
			json_decref(any);
			return -ENOMEM;
		}
	*ret = any;
	return any ? 0 : -ENOMEM;
}

/* A member's ranges one by one: its box's, or its whole piece. */
struct member_iter {
	struct pc_srcdim_cursor cur;
	bool done, has;
	struct pc_ivl head;
};

static void member_advance(const struct src_member *m, struct member_iter *it)
{
	it->has = false;
	if (it->done)
		return;
	if (m->r) {
		it->has = pc_srcdim_next(&m->r->addr, &it->cur, &it->head);
		it->done = !it->has;
		return;
	}
	it->head = (struct pc_ivl){pc_addr_to_u128(&m->lo), pc_addr_to_u128(&m->hi)};
	it->has = true;
	it->done = true;
}

/*
 * "address_ranges": the first ranges, how many, their share. The members' boxes are
 * disjoint and each sorted, so the share is a sum and the first ranges come from a merge
 * of the heads; counts and sizes come from the boxes' shared lists (srcdim.h), never a
 * walk of a blocklist's complement per path.
 */
static int address_ranges_json(const struct outcome_group *g, int family, json_t **ret)
{
	struct pc_ivlist first = {0};
	unsigned bits = pc_addr_size(family) * 8;
	double size = 0, all = 1;
	size_t total = 0;
	struct member_iter *it = calloc(g->n_m ? g->n_m : 1, sizeof(*it));

	if (!it)
		return -ENOMEM;
	for (size_t i = 0; i < g->n_m; i++) {
		const struct src_member *m = &g->m[i];

		member_advance(m, &it[i]);
		if (!m->r) {
			total++;
			size +=
			    pc_u128_to_double(pc_addr_to_u128(&m->hi) - pc_addr_to_u128(&m->lo)) +
			    1;
			continue;
		}
		total += pc_srcdim_count(&m->r->addr);
		size += pc_srcdim_size(&m->r->addr);
	}
	while (first.n < FORM_FIRST_RANGES) {
		size_t bi = SIZE_MAX;

		for (size_t i = 0; i < g->n_m; i++)
			if (it[i].has && (bi == SIZE_MAX || it[i].head.lo < it[bi].head.lo))
				bi = i;
		if (bi == SIZE_MAX)
			break;
		if (pc_ivlist_append(&first, it[bi].head.lo, it[bi].head.hi) < 0) {
			free(it);
			pc_ivlist_clear(&first);
			return -ENOMEM;
		}
		member_advance(&g->m[bi], &it[bi]);
	}
	free(it);
	for (unsigned i = 0; i < bits; i++)
		all *= 2;
	*ret = json_pack("{s:o,s:I,s:f}", "first", ranges_json(&first, family, false, SIZE_MAX),
			 "total", (json_int_t)total, "share", size / all);
	pc_ivlist_clear(&first);
	return *ret ? 0 : -ENOMEM;
}

/* --- words ------------------------------------------------------------------------------ */

/* The length of the prefix that [lo, hi] is, or -1 when it is none. */
static int prefix_len(pc_u128 lo, pc_u128 hi, unsigned bits)
{
	pc_u128 span = hi - lo; /* size - 1: all ones below the prefix */

	if ((span & (span + 1)) != 0 || (lo & span) != 0)
		return -1;
	for (unsigned k = 0; k <= bits; k++)
		if (span == pc_u128_max(bits - k))
			return (int)k;
	return -1;
}

/* A range as nft writes one: a prefix (always with its length, so that a host address
 * still reads as a range), else "lo-hi". A CIDR list of a range such as ::2-2001:db8:1::
 * took 250 prefixes and most of a reply. */
static void cidrs_words(struct pc_strbuf *f, int family, pc_u128 lo, pc_u128 hi)
{
	struct pc_addr a = pc_addr_from_u128(family, lo), b = pc_addr_from_u128(family, hi);
	unsigned bits = pc_addr_size(family) * 8;
	char s1[PC_ADDRSTRLEN], s2[PC_ADDRSTRLEN];
	int len = prefix_len(lo, hi, bits);

	if (len >= 0)
		pc_strbuf_printf(f, "%s/%d", pc_addr_to_string(&a, s1), len);
	else
		pc_strbuf_printf(f, "%s-%s", pc_addr_to_string(&a, s1), pc_addr_to_string(&b, s2));
}

static void lit_words(struct pc_strbuf *f, const struct pc_src_lit *l, int family)
{
	unsigned bits = l->port ? 16 : pc_addr_size(family) * 8;
	char s1[PC_ADDRSTRLEN], s2[PC_ADDRSTRLEN];
	struct pc_addr m, v;

	switch (l->kind) {
	case PC_SRC_LIT_RANGE:
		if (l->port) {
			pc_strbuf_printf(f, "source port %s", l->negated ? "not " : "");
			if (l->a == l->b)
				pc_strbuf_printf(f, "%u", (unsigned)l->a);
			else
				pc_strbuf_printf(f, "%u-%u", (unsigned)l->a, (unsigned)l->b);
			return;
		}
		pc_strbuf_puts(f, l->negated ? "not in " : "");
		cidrs_words(f, family, l->a, l->b);
		return;
	case PC_SRC_LIT_MASK:
		if (l->port) {
			pc_strbuf_printf(f, "source port & 0x%x %s 0x%x", (unsigned)l->a,
					 l->negated ? "!=" : "==", (unsigned)l->b);
			return;
		}
		m = pc_addr_from_u128(family, l->a & pc_u128_max(bits));
		v = pc_addr_from_u128(family, l->b);
		pc_strbuf_printf(f, "address & %s %s %s", pc_addr_to_string(&m, s1),
				 l->negated ? "!=" : "==", pc_addr_to_string(&v, s2));
		return;
	case PC_SRC_LIT_SET:
		break;
	}
	pc_strbuf_printf(f, "%s%s %s %s %s", l->negated ? "not in " : "in ",
			 (l->set->flags & NFT_SET_MAP) ? "map" : "set",
			 nfproto_word(l->table->family), l->table->name,
			 (l->set->flags & NFT_SET_ANONYMOUS) ? "(anonymous)" : l->set->name);
	pc_strbuf_printf(f, " (%zu elements", pc_nft_set_member_count(l->set));
	if (l->has_verdict) {
		json_t *j = verdict_json(&l->verdict);
		const char *k = j ? json_object_iter_key(json_object_iter(j)) : NULL;

		pc_strbuf_printf(f, ", with verdict %s%s%s", k ? k : "?",
				 l->verdict.chain ? " " : "",
				 l->verdict.chain ? l->verdict.chain : "");
		json_decref(j);
	}
	if (l->has_data) {
		pc_strbuf_puts(f, ", with data 0x");
		for (uint32_t i = 0; i < l->data.len && i < PC_NFT_DATA_MAX; i++)
			pc_strbuf_printf(f, "%02x", l->data.v[i]);
	}
	pc_strbuf_puts(f, ")");
}

/*
 * The pieces of a conjunction in words: runs of neighbouring pieces it holds in (the
 * sources between pieces are ones no client has: a run may jump them), or, beside tests
 * and when that is shorter, "any except" the runs it does not hold in.
 */
static void pieces_words(struct pc_strbuf *f, const struct outcome_groups *gs, const struct conj *c,
			 int family)
{
	struct pc_ivlist in = {0}, out = {0};
	const struct pc_ivlist *l = &c->pieces;

	conj_runs(gs, c, &in, &out);
	/* Plain ranges stay a list of CIDRs ("source" was that before the tests came). */
	if (gs->n_pieces > 0 && c->n_lits > 0 && out.n > 0 && out.n < in.n) {
		pc_strbuf_puts(f, "any except ");
		l = &out;
	}
	for (size_t k = 0; k < l->n; k++) {
		pc_strbuf_puts(f, k ? "," : "");
		cidrs_words(f, family, l->v[k].lo, l->v[k].hi);
	}
	pc_ivlist_clear(&in);
	pc_ivlist_clear(&out);
}

static void conj_words(struct pc_strbuf *f, const struct outcome_groups *gs, const struct conj *c,
		       int family)
{
	bool first = true;

	if (c->box) {
		struct pc_srcdim_cursor cur = {0};
		struct pc_ivl one = {0};

		pc_srcdim_next(&c->box->addr, &cur, &one);
		pc_strbuf_printf(f, "%zu address ranges from ", pc_srcdim_count(&c->box->addr));
		cidrs_words(f, family, one.lo, one.hi);
		pc_strbuf_printf(f,
				 " and %zu source port ranges (the rest, past the engine's limits)",
				 pc_srcdim_count(&c->box->port));
		return;
	}
	if (!conj_everywhere(gs, c)) {
		pieces_words(f, gs, c, family);
		first = false;
	}
	for (size_t i = 0; i < c->n_lits; i++) {
		pc_strbuf_puts(f, first ? "" : " and ");
		lit_words(f, &c->lits[i], family);
		first = false;
	}
	if (first)
		pc_strbuf_puts(f, "any");
}

static int words(const struct outcome_groups *gs, const struct conj *c, size_t n, int family,
		 char **ret)
{
	struct pc_strbuf f = {0};

	if (gs->n == 1 && gs->n_pieces > 0) {
		pc_strbuf_puts(&f, "any");
	} else {
		for (size_t i = 0; i < n && i < WORDS_MAX_CONJ; i++) {
			pc_strbuf_puts(&f, i ? "; or " : "");
			conj_words(&f, gs, &c[i], family);
		}
		if (n > WORDS_MAX_CONJ)
			pc_strbuf_printf(&f, "; or %zu more (see sources in the JSON)",
					 n - WORDS_MAX_CONJ);
	}
	*ret = pc_strbuf_take(&f);
	return *ret ? 0 : -ENOMEM;
}

static bool any_tests(const struct conj *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].n_lits)
			return true;
	return false;
}

int path_sources(struct pc_path *p, const struct outcome_groups *gs, const struct outcome_group *g,
		 int family)
{
	const struct src_member *m0 = &g->m[0];
	struct pc_addr ex = m0->r ? m0->r->example : m0->lo;
	uint16_t ex_port = m0->r ? m0->r->example_port : PC_FLOW_SOURCE_PORT;
	char s[PC_ADDRSTRLEN];
	struct conj *c;
	json_t *any = NULL, *ranges = NULL;
	size_t n;
	int r;

	r = conjs_of(g, &c, &n);
	if (r < 0)
		return r;
	r = conjs_merge(gs, c, &n);
	if (r < 0) {
		conjs_clear(c, n);
		return r;
	}
	for (size_t i = 0; i < n; i++)
		if (c[i].n_pieces < gs->n_pieces)
			conj_imply_pieces(gs, &c[i], family);
	r = words(gs, c, n, family, &p->source);
	if (r >= 0)
		r = any_of_json(gs, c, n, family, &any);
	/* With plain ranges any_of lists them already. */
	if (r >= 0 && any_tests(c, n))
		r = address_ranges_json(g, family, &ranges);
	if (r >= 0) {
		p->sources = json_pack("{s:i,s:o,s:{s:s,s:i},s:o?}", "version", 1, "any_of", any,
				       "example", "address", pc_addr_to_string(&ex, s), "port",
				       (int)ex_port, "address_ranges", ranges);
		any = ranges = NULL;
		if (!p->sources)
			r = -ENOMEM;
	}
	json_decref(any);
	json_decref(ranges);
	conjs_clear(c, n);
	return r;
}
