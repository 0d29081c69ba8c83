/* SPDX-License-Identifier: MIT */
/*
 * A path's sources form (docs/json.md, "sources") written as compact JSON text, not built
 * as a tree of jansson objects: on the bench host the 23,500 paths' trees held some 120
 * MiB (a literal naming a set is a dozen objects of a few hundred bytes each) and their
 * mallocs were a sixth of the analysis. Two ways to write it:
 *  - inline (Explain's version 1): {"version":1,"any_of":[...],"example":{...},
 *    "address_ranges":{...}}, a set literal with the set described in place;
 *  - shared (the Status reply's entry of its sources table, version 2): {"words":...,
 *    "any_of":[...],"example":...,"address_ranges":...}, a set literal naming the set
 *    by its index in the report's table of sets, and a concatenated key's part equal to
 *    the listener's own port read "destination_port" (exact: the form only ever decides
 *    connections to that port).
 * Keys come in the order the reply has always had them; the reply parses the text once
 * per distinct form.
 */
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/nftvm.h"
#include "portcheck/report.h"
#include "portcheck/strbuf.h"
#include "portcheck/util.h"

#include "analysis_conj.h"
#include "analysis_internal.h"

/* nft's datatype ids (src/datatype.h): the fields a constant is printed as an address. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_BITS 6

struct form_out {
	struct pc_strbuf b;
	int family;
	struct form_sets *sets; /* NULL: inline */
	int port;		/* the listener's (shared) */
	bool oom;
};

/* --- values ------------------------------------------------------------------------------ */

/* The forms are most of what the analysis writes: no printf for the common parts. */
static void w_uint(struct form_out *o, unsigned long long v)
{
	pc_strbuf_put_uint(&o->b, v);
}

static void w_addr(struct form_out *o, pc_u128 v)
{
	struct pc_addr a = pc_addr_from_u128(o->family, v);
	char s[PC_ADDRSTRLEN + 2];

	s[0] = '"';
	pc_addr_to_string(&a, s + 1);
	strcat(s, "\"");
	pc_strbuf_puts(&o->b, s);
}

static void w_pair(struct form_out *o, bool port, pc_u128 lo, pc_u128 hi)
{
	if (port) {
		pc_strbuf_putn(&o->b, "[", 1);
		w_uint(o, (unsigned long long)lo);
		pc_strbuf_putn(&o->b, ",", 1);
		w_uint(o, (unsigned long long)hi);
		pc_strbuf_putn(&o->b, "]", 1);
		return;
	}
	pc_strbuf_puts(&o->b, "[");
	w_addr(o, lo);
	pc_strbuf_puts(&o->b, ",");
	w_addr(o, hi);
	pc_strbuf_puts(&o->b, "]");
}

static void w_ranges(struct form_out *o, const struct pc_ivlist *l, bool port)
{
	pc_strbuf_puts(&o->b, "[");
	for (size_t i = 0; i < l->n; i++) {
		pc_strbuf_puts(&o->b, i ? "," : "");
		w_pair(o, port, l->v[i].lo, l->v[i].hi);
	}
	pc_strbuf_puts(&o->b, "]");
}

/* Every interval of a box's dimension (a box past the engine's limits: rare, all told). */
static void w_dim_ranges(struct form_out *o, const struct pc_srcdim *d, bool port)
{
	struct pc_srcdim_cursor cur = {0};
	struct pc_ivl i;
	bool first = true;

	pc_strbuf_puts(&o->b, "[");
	while (pc_srcdim_next(d, &cur, &i)) {
		pc_strbuf_puts(&o->b, first ? "" : ",");
		w_pair(o, port, i.lo, i.hi);
		first = false;
	}
	pc_strbuf_puts(&o->b, "]");
}

/* A JSON number that reads back as the same double (jansson writes reals so). */
static void w_real(struct form_out *o, double v)
{
	char s[40];

	if (!isfinite(v))
		v = 0;
	snprintf(s, sizeof(s), "%.17g", v);
	pc_strbuf_puts(&o->b, s);
	if (!strpbrk(s, ".eE"))
		pc_strbuf_puts(&o->b, ".0");
}

/* --- set keys ---------------------------------------------------------------------------- */

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
	return off == s->key_len && off <= PC_NFT_DATA_MAX;
}

static void key_layout(const struct pc_nft_set *s, struct key_layout *k)
{
	uint32_t off = 0;

	/* Fields past the bytes a key can have (the kernel's field lengths are the dump's
	 * word) are no layout: w_key would read past the literal's key. */
	if (s->field_count > 1 && s->field_count <= 16) {
		k->n = s->field_count;
		for (uint32_t i = 0; i < k->n; i++) {
			k->off[i] = off;
			k->len[i] = s->field_len[i];
			off += (s->field_len[i] + 3) / 4 * 4;
			k->type[i] = (s->key_type >> (NFT_TYPE_BITS * (k->n - 1 - i))) & 0x3f;
		}
		if ((off <= s->key_len || s->key_len == 0) && off <= PC_NFT_DATA_MAX)
			return;
	}
	if (key_layout_from_type(s, k))
		return;
	k->n = 1;
	k->off[0] = 0;
	k->len[0] = s->key_len && s->key_len <= PC_NFT_DATA_MAX ? s->key_len : 4;
	k->type[0] = s->key_type;
}

/* Whether the layout has a field exactly at @off of @len bytes (where the source is). */
static bool layout_has(const struct key_layout *k, uint32_t off, uint32_t len)
{
	for (uint32_t f = 0; f < k->n; f++)
		if (k->off[f] == off && k->len[f] == len)
			return true;
	return false;
}

bool lit_names_set(const struct pc_src_lit *l)
{
	struct key_layout k;

	if (l->kind != PC_SRC_LIT_SET || (l->set->flags & NFT_SET_ANONYMOUS))
		return false;
	key_layout(l->set, &k);
	return layout_has(&k, l->sym_off, l->sym_len);
}

/*
 * A constant of a set key or a map's data: an address string for nft's address types, an
 * integer for 1- and 2-byte fields (protocols, ports: network order; in a shared form the
 * listener's port reads "destination_port"), else "0x" and the bytes as the kernel holds
 * them (host-order integers such as marks included: their order is the field type's, which
 * the key does not say). Data: always hex.
 */
static void w_bytes(struct form_out *o, const uint8_t *b, uint32_t len, uint32_t type,
		    bool hex_only)
{
	struct pc_addr a = {0};
	char s[PC_ADDRSTRLEN];

	if (!hex_only &&
	    ((type == NFT_TYPE_IPADDR && len == 4) || (type == NFT_TYPE_IP6ADDR && len == 16))) {
		a.family = len == 4 ? AF_INET : AF_INET6;
		memcpy(a.bytes, b, len);
		pc_strbuf_puts(&o->b, "\"");
		pc_strbuf_puts(&o->b, pc_addr_to_string(&a, s));
		pc_strbuf_puts(&o->b, "\"");
		return;
	}
	if (!hex_only && len <= 2) {
		unsigned long long v = (unsigned long long)pc_u128_from_be(b, len);

		if (o->sets && v == (unsigned long long)o->port)
			pc_strbuf_puts(&o->b, "\"destination_port\"");
		else
			w_uint(o, v);
		return;
	}
	pc_strbuf_puts(&o->b, "\"0x");
	for (uint32_t i = 0; i < len && i < PC_NFT_DATA_MAX; i++)
		pc_strbuf_printf(&o->b, "%02x", b[i]);
	pc_strbuf_puts(&o->b, "\"");
}

const char *verdict_word(int32_t code)
{
	switch (code) {
	case NF_ACCEPT:
		return "accept";
	case NF_DROP:
		return "drop";
	case NFT_CONTINUE:
		return "continue";
	case NFT_RETURN:
		return "return";
	case NFT_JUMP:
		return "jump";
	case NFT_GOTO:
		return "goto";
	default:
		return NULL;
	}
}

static void w_verdict(struct form_out *o, const struct pc_nft_verdict *v)
{
	const char *word = verdict_word(v->code);

	if (v->code == NFT_JUMP || v->code == NFT_GOTO) {
		pc_strbuf_printf(&o->b, "{\"%s\":{\"target\":", word);
		pc_strbuf_json_string(&o->b, v->chain ? v->chain : "");
		pc_strbuf_puts(&o->b, "}}");
	} else if (word) {
		pc_strbuf_printf(&o->b, "{\"%s\":null}", word);
	} else {
		pc_strbuf_printf(&o->b, "{\"code\":%d}", (int)v->code);
	}
}

static const char *family_word(uint32_t family)
{
	const char *n = pc_nft_family_name(family);

	return n ? n : "?";
}

/* --- literals ---------------------------------------------------------------------------- */

/* The index of @s in the report's table of sets, added the first time; -ENOMEM. */
static int set_index(struct form_sets *fs, const struct pc_src_lit *l)
{
	struct pc_report *r = fs->report;
	struct pc_report_set *e;
	const struct pc_nft_set **slot;
	size_t n = r->n_sets;

	for (size_t i = 0; i < r->n_sets; i++)
		if (fs->of[i] == l->set)
			return (int)i;
	if (n >= INT32_MAX)
		return -ENOMEM;
	slot = pc_array_grow(&fs->of, &n, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = l->set;
	e = pc_array_grow(&r->sets, &r->n_sets, sizeof(*e));
	if (!e)
		return -ENOMEM;
	*e = (struct pc_report_set){
	    .family = strdup(family_word(l->table->family)),
	    .table = strdup(l->table->name),
	    .name = strdup(l->set->name),
	    .elements = pc_nft_set_member_count(l->set),
	};
	if (!e->family || !e->table || !e->name)
		return -ENOMEM;
	return (int)(r->n_sets - 1);
}

uint32_t lit_key_port_fields(const struct pc_src_lit *l, int port, uint8_t *key)
{
	struct key_layout k;
	uint32_t mask = 0;

	memcpy(key, l->key, sizeof(l->key));
	if (!lit_names_set(l))
		return 0;
	key_layout(l->set, &k);
	/* As w_key and w_bytes: fields other than the source's of 1 or 2 bytes. */
	for (uint32_t f = 0; f < k.n; f++) {
		if (k.off[f] == l->sym_off || k.len[f] > 2 || k.off[f] + k.len[f] > sizeof(l->key))
			continue;
		if (pc_u128_from_be(l->key + k.off[f], k.len[f]) != (pc_u128)port)
			continue;
		memset(key + k.off[f], 0, k.len[f]);
		mask |= 1u << f;
	}
	return mask;
}

static void w_key(struct form_out *o, const struct pc_src_lit *l, const struct key_layout *k)
{
	pc_strbuf_puts(&o->b, "[");
	for (uint32_t f = 0; f < k->n; f++) {
		pc_strbuf_puts(&o->b, f ? "," : "");
		if (k->off[f] == l->sym_off)
			pc_strbuf_puts(&o->b, l->port ? "\"port\"" : "\"address\"");
		else
			w_bytes(o, l->key + k->off[f], k->len[f], k->type[f], false);
	}
	pc_strbuf_puts(&o->b, "]");
}

static void w_data(struct form_out *o, const struct pc_src_lit *l)
{
	if (l->has_verdict) {
		pc_strbuf_puts(&o->b, ",\"data\":");
		w_verdict(o, &l->verdict);
	} else if (l->has_data) {
		pc_strbuf_puts(&o->b, ",\"data\":");
		w_bytes(o, l->data.v, l->data.len, 0, true);
	}
}

/* Inline: {"set":{family,table,name,elements,key,data?},"not"?}; shared:
 * {"set":N,"not"?,"key","data"?}. */
static void w_set_lit(struct form_out *o, const struct pc_src_lit *l)
{
	const struct pc_nft_set *s = l->set;
	struct key_layout k;

	if (!lit_names_set(l)) {
		/* No listing names an anonymous set, and a key whose fields are not known
		 * cannot be written as parts: its members, explicitly. */
		const struct pc_ivlist *m;

		if (pc_src_lit_members(l, o->family, &m) < 0) {
			o->oom = true;
			return;
		}
		pc_strbuf_printf(&o->b, "{\"%s\":", l->port ? "port_in" : "address_in");
		w_ranges(o, m, l->port);
		pc_strbuf_puts(&o->b, l->negated ? ",\"not\":true}" : "}");
		return;
	}
	key_layout(s, &k);
	if (o->sets) {
		int i = set_index(o->sets, l);

		if (i < 0) {
			o->oom = true;
			return;
		}
		pc_strbuf_puts(&o->b, "{\"set\":");
		w_uint(o, (unsigned)i);
		pc_strbuf_puts(&o->b, l->negated ? ",\"not\":true,\"key\":" : ",\"key\":");
		w_key(o, l, &k);
		w_data(o, l);
		pc_strbuf_puts(&o->b, "}");
		return;
	}
	pc_strbuf_puts(&o->b, "{\"set\":{\"family\":");
	pc_strbuf_json_string(&o->b, family_word(l->table->family));
	pc_strbuf_puts(&o->b, ",\"table\":");
	pc_strbuf_json_string(&o->b, l->table->name);
	pc_strbuf_puts(&o->b, ",\"name\":");
	pc_strbuf_json_string(&o->b, s->name);
	pc_strbuf_puts(&o->b, ",\"elements\":");
	w_uint(o, pc_nft_set_member_count(s));
	pc_strbuf_puts(&o->b, ",\"key\":");
	w_key(o, l, &k);
	w_data(o, l);
	pc_strbuf_puts(&o->b, l->negated ? "},\"not\":true}" : "}}");
}

static void w_lit(struct form_out *o, const struct pc_src_lit *l)
{
	unsigned bits = l->port ? 16 : pc_addr_size(o->family) * 8;

	switch (l->kind) {
	case PC_SRC_LIT_RANGE:
		pc_strbuf_printf(&o->b, "{\"%s\":", l->port ? "port" : "address");
		w_pair(o, l->port, l->a, l->b);
		break;
	case PC_SRC_LIT_MASK:
		if (l->port) {
			pc_strbuf_printf(&o->b, "{\"port_mask\":{\"mask\":%llu,\"value\":%llu}",
					 (unsigned long long)l->a, (unsigned long long)l->b);
		} else {
			pc_strbuf_puts(&o->b, "{\"address_mask\":{\"mask\":");
			w_addr(o, l->a & pc_u128_max(bits));
			pc_strbuf_puts(&o->b, ",\"value\":");
			w_addr(o, l->b);
			pc_strbuf_puts(&o->b, "}");
		}
		break;
	default:
		w_set_lit(o, l);
		return;
	}
	pc_strbuf_puts(&o->b, l->negated ? ",\"not\":true}" : "}");
}

/* --- conjunctions ------------------------------------------------------------------------ */

/* The pieces of @c as one test: a range, ranges, or not the ranges it does not hold in. */
static void w_pieces(struct form_out *o, const struct outcome_groups *gs, const struct conj *c)
{
	struct pc_ivlist in = {0}, out = {0};
	const struct pc_ivlist *l = &c->pieces;
	bool negated = false;

	if (conj_runs(gs, c, &in, &out) < 0)
		o->oom = true;
	if (gs->n_pieces > 0 && in.n > 0) {
		l = &in;
		if (out.n > 0 && out.n < in.n) {
			l = &out;
			negated = true;
		}
	}
	if (l->n == 1) {
		pc_strbuf_puts(&o->b, "{\"address\":");
		w_pair(o, false, l->v[0].lo, l->v[0].hi);
	} else {
		pc_strbuf_puts(&o->b, "{\"address_in\":");
		w_ranges(o, l, false);
	}
	pc_strbuf_puts(&o->b, negated ? ",\"not\":true}" : "}");
	pc_ivlist_clear(&in);
	pc_ivlist_clear(&out);
}

/* One conjunction: its tests, and the pieces it holds in (none: every piece) as one test
 * (a range, or a list of them), not one conjunction per piece. */
static void w_conj(struct form_out *o, const struct outcome_groups *gs, const struct conj *c)
{
	bool first = true;

	pc_strbuf_puts(&o->b, "{\"all_of\":[");
	if (c->box) {
		pc_strbuf_puts(&o->b, "{\"address_in\":");
		w_dim_ranges(o, &c->box->addr, false);
		pc_strbuf_puts(&o->b, "},{\"port_in\":");
		w_dim_ranges(o, &c->box->port, true);
		pc_strbuf_puts(&o->b, "}");
		first = false;
	} else if (!conj_everywhere(gs, c)) {
		w_pieces(o, gs, c);
		first = false;
	}
	for (size_t i = 0; i < c->n_lits; i++) {
		pc_strbuf_puts(&o->b, first ? "" : ",");
		w_lit(o, &c->lits[i]);
		first = false;
	}
	pc_strbuf_puts(&o->b, "]}");
}

/* --- address ranges ---------------------------------------------------------------------- */

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
int form_ranges_of(const struct outcome_group *g, struct form_ranges *ret)
{
	/* A path has a few members (its results in each piece): on the stack then, as
	 * this runs for every path. */
	struct member_iter small[8];
	struct member_iter *it = g->n_m <= ELEMENTSOF(small) ? small : calloc(g->n_m, sizeof(*it));

	*ret = (struct form_ranges){0};
	if (!it)
		return -ENOMEM;
	if (it == small)
		memset(small, 0, g->n_m * sizeof(*it));
	for (size_t i = 0; i < g->n_m; i++) {
		const struct src_member *m = &g->m[i];

		member_advance(m, &it[i]);
		if (!m->r) {
			ret->total++;
			ret->size +=
			    pc_u128_to_double(pc_addr_to_u128(&m->hi) - pc_addr_to_u128(&m->lo)) +
			    1;
			continue;
		}
		{
			size_t count;

			ret->size += pc_srcdim_size_count(&m->r->addr, &count);
			ret->total += count;
		}
	}
	while (ret->n_first < FORM_FIRST_RANGES) {
		size_t bi = SIZE_MAX;

		for (size_t i = 0; i < g->n_m; i++)
			if (it[i].has && (bi == SIZE_MAX || it[i].head.lo < it[bi].head.lo))
				bi = i;
		if (bi == SIZE_MAX)
			break;
		/* Neighbours from different members are one range (as pc_ivlist_append). */
		struct pc_ivl *last = ret->n_first ? &ret->first[ret->n_first - 1] : NULL;

		if (last && last->hi != ~(pc_u128)0 && last->hi + 1 >= it[bi].head.lo) {
			if (it[bi].head.hi > last->hi)
				last->hi = it[bi].head.hi;
		} else {
			ret->first[ret->n_first++] = it[bi].head;
		}
		member_advance(&g->m[bi], &it[bi]);
	}
	if (it != small)
		free(it);
	return 0;
}

static void w_address_ranges(struct form_out *o, const struct form_ranges *fr)
{
	const struct pc_ivlist first = {
	    .v = (struct pc_ivl *)fr->first, .n = fr->n_first, .cap = fr->n_first};
	unsigned bits = pc_addr_size(o->family) * 8;
	double all = 1;

	for (unsigned i = 0; i < bits; i++)
		all *= 2;
	pc_strbuf_puts(&o->b, ",\"address_ranges\":{\"first\":");
	w_ranges(o, &first, false);
	pc_strbuf_puts(&o->b, ",\"total\":");
	w_uint(o, fr->total);
	pc_strbuf_puts(&o->b, ",\"share\":");
	w_real(o, fr->size / all);
	pc_strbuf_puts(&o->b, "}");
}

/* --- the form ---------------------------------------------------------------------------- */

int form_json(const struct form_spec *f, char **ret)
{
	struct form_out o = {.family = f->family, .sets = f->sets, .port = f->port};
	char s[PC_ADDRSTRLEN];

	*ret = NULL;
	if (o.sets) {
		pc_strbuf_puts(&o.b, "{\"words\":");
		pc_strbuf_json_string(&o.b, f->words);
		pc_strbuf_puts(&o.b, ",\"any_of\":[");
	} else {
		pc_strbuf_puts(&o.b, "{\"version\":1,\"any_of\":[");
	}
	for (size_t i = 0; i < f->n_conj; i++) {
		pc_strbuf_puts(&o.b, i ? "," : "");
		w_conj(&o, f->gs, &f->conj[i]);
	}
	pc_strbuf_puts(&o.b, "],\"example\":{\"address\":\"");
	pc_strbuf_puts(&o.b, pc_addr_to_string(&f->example, s));
	pc_strbuf_puts(&o.b, "\",\"port\":");
	w_uint(&o, f->example_port);
	pc_strbuf_puts(&o.b, "}");
	if (f->ranges)
		w_address_ranges(&o, f->ranges);
	pc_strbuf_puts(&o.b, "}");
	if (o.oom) {
		free(pc_strbuf_take(&o.b));
		return -ENOMEM;
	}
	*ret = pc_strbuf_take(&o.b);
	return *ret ? 0 : -ENOMEM;
}
