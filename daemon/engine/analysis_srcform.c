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
#include <fnmatch.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/nftvm.h"
#include "portcheck/rcstr.h"
#include "portcheck/report.h"
#include "portcheck/strbuf.h"
#include "portcheck/util.h"

#include "analysis_conj.h"
#include "analysis_internal.h"

/* Conjunctions in words. */
#define WORDS_MAX_CONJ 8

static const char *nfproto_word(uint32_t family)
{
	const char *n = pc_nft_family_name(family);

	return n ? n : "?";
}

/* Whether no address of [lo, hi] passes the test @l whose values are @m (then no source
 * of the piece passes a conjunction holding @l). */
static bool lit_excludes(const struct pc_src_lit *l, const struct pc_ivlist *m, pc_u128 lo,
			 pc_u128 hi)
{
	size_t k = pc_ivlist_seek(m, lo);

	if (!l->negated) /* in m: excluded when m has nothing in [lo, hi] */
		return k >= m->n || m->v[k].lo > hi;
	/* not in m: excluded when m holds all of [lo, hi] */
	return k < m->n && m->v[k].lo <= lo && m->v[k].hi >= hi;
}

/* A literal's values, taken when a piece first needs them and kept for the others of
 * the conjunction rather than taken again per piece (a set's members come from its
 * projection cache: 116,000 lookups for 23,250 paths on the bench host). Taken only
 * where the walk gets to them, as before: a lookup can build a projection and move the
 * cache's order. */
struct lit_values {
	bool taken, known;
	struct pc_ivl one;
	struct pc_ivbase *b;
	struct pc_ivlist m;
};

#define IMPLY_LITS_ON_STACK 16

/* The address values of @l into *@v (zeroed): a set's members as a reference to its
 * projection's shared list (valid however the set is looked up next; none when no source
 * finds an element), a range as its one interval. Not known for a port or a mask test,
 * or when the members are not to be had. */
static void lit_values_take(struct lit_values *v, const struct pc_src_lit *l, int family)
{
	v->taken = true;
	if (l->port || l->kind == PC_SRC_LIT_MASK)
		return;
	if (l->kind == PC_SRC_LIT_SET) {
		v->known = pc_src_lit_members_ref(l, family, &v->b) == 0;
		if (v->b)
			v->m = v->b->l;
		return;
	}
	v->one = (struct pc_ivl){l->a, l->b};
	v->m = (struct pc_ivlist){.v = &v->one, .n = 1, .cap = 1};
	v->known = true;
}

static bool lit_values_exclude(struct lit_values *v, const struct pc_src_lit *l, int family,
			       pc_u128 lo, pc_u128 hi)
{
	if (!v->taken)
		lit_values_take(v, l, family);
	return v->known && lit_excludes(l, &v->m, lo, hi);
}

/* The pieces need not be said when no source of a piece @c does not hold in passes its
 * tests (e.g. "in set S" where S lies in one piece): one test per piece and literal,
 * O(log n) each. */
static void conj_imply_pieces(const struct outcome_groups *gs, struct conj *c, int family)
{
	struct lit_values stack[IMPLY_LITS_ON_STACK] = {0}, *v = stack, one;
	size_t n = c->n_lits;
	bool implied = true;

	if (n == 0 || gs->n_pieces == 0)
		return;
	/* Out of memory for more: each literal's values taken per piece, as they were. */
	if (n > IMPLY_LITS_ON_STACK)
		v = calloc(n, sizeof(*v));
	for (size_t i = 0; i < gs->n_pieces && implied; i++) {
		pc_u128 lo = pc_addr_to_u128(&gs->lo[i]), hi = pc_addr_to_u128(&gs->hi[i]);
		bool excluded = false;

		if (pc_ivlist_find(&c->pieces, lo) >= 0)
			continue;
		for (size_t k = 0; k < n && !excluded; k++) {
			if (v) {
				excluded = lit_values_exclude(&v[k], &c->lits[k], family, lo, hi);
				continue;
			}
			one = (struct lit_values){0};
			excluded = lit_values_exclude(&one, &c->lits[k], family, lo, hi);
			pc_ivbase_unref(one.b);
		}
		implied = excluded;
	}
	for (size_t k = 0; v && k < n; k++)
		pc_ivbase_unref(v[k].b);
	if (v != stack)
		free(v);
	if (implied)
		c->pieces_implied = true;
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

	pc_strbuf_puts(f, pc_addr_to_string(&a, s1));
	if (len >= 0) {
		pc_strbuf_puts(f, "/");
		pc_strbuf_put_uint(f, (unsigned)len);
	} else {
		pc_strbuf_puts(f, "-");
		pc_strbuf_puts(f, pc_addr_to_string(&b, s2));
	}
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
	/* Written piece by piece, not with printf: a path's words are made for every path
	 * of every listener (printf was 1% of the bench host's analysis). */
	pc_strbuf_puts(f, l->negated ? "not in " : "in ");
	pc_strbuf_puts(f, (l->set->flags & NFT_SET_MAP) ? "map " : "set ");
	pc_strbuf_puts(f, nfproto_word(l->table->family));
	pc_strbuf_puts(f, " ");
	pc_strbuf_puts(f, l->table->name);
	pc_strbuf_puts(f, " ");
	pc_strbuf_puts(f, (l->set->flags & NFT_SET_ANONYMOUS) ? "(anonymous)" : l->set->name);
	pc_strbuf_puts(f, " (");
	pc_strbuf_put_uint(f, pc_nft_set_member_count(l->set));
	pc_strbuf_puts(f, " elements");
	if (l->has_verdict) {
		const char *k = verdict_word(l->verdict.code);

		pc_strbuf_printf(f, ", with verdict %s%s%s", k ? k : "code",
				 l->verdict.chain ? " " : "",
				 l->verdict.chain ? l->verdict.chain : "");
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

	/* Out of memory: the words' buffer says so (pc_strbuf_take gives NULL). */
	if (conj_runs(gs, c, &in, &out) < 0)
		f->oom = true;
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

/* Whether every conjunction requires membership of a set of [Findings] IgnoreSets= (a
 * named set's test, not negated): the sources are a blocklist's, refused on purpose. */
static bool conjs_in_ignored_sets(const struct pc_strv *ignore, const struct conj *c, size_t n)
{
	if (!ignore || ignore->n == 0 || n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool in = false;

		for (size_t j = 0; j < c[i].n_lits && !in; j++) {
			const struct pc_src_lit *l = &c[i].lits[j];

			if (l->negated || !lit_names_set(l))
				continue;
			for (size_t k = 0; k < ignore->n && !in; k++)
				in = fnmatch(ignore->v[k], l->set->name, 0) == 0;
		}
		if (!in)
			return false;
	}
	return true;
}

char *form_pool_intern(struct form_pool *pool, char *text)
{
	size_t len;
	char *s, *have, **slot;

	if (!text)
		return NULL;
	len = strlen(text);
	have = pool ? form_pool_find(pool, text, len) : NULL;
	if (have) {
		free(text);
		return pc_rcstr_ref(have);
	}
	s = pc_rcstr_new(text);
	free(text);
	if (!s || !pool)
		return s;
	/* Not pooled when the pool cannot take it: a copy of its own is still right. */
	slot = pc_array_grow(&pool->v, &pool->n, sizeof(*slot));
	if (slot) {
		*slot = pc_rcstr_ref(s);
		(void)form_pool_index(pool, *slot, len);
	}
	return s;
}

void form_pool_clear(struct form_pool *pool)
{
	for (size_t i = 0; i < pool->n; i++)
		pc_rcstr_unref(pool->v[i]);
	free(pool->v);
	free(pool->index);
	form_memo_clear(&pool->memo);
	*pool = (struct form_pool){0};
}

/* The words and form of @f (conjunctions, gs, example set) into @p: written, or the ones
 * an earlier path with the same inputs had (a pool's memo). -ENOMEM. */
static int sources_write(struct pc_path *p, struct form_spec *f)
{
	struct form_pool *pool = f->gs->form.pool;
	uint8_t buf[1024];
	struct form_key key = {.v = buf, .cap = sizeof(buf)};
	const char *said;
	char *form, *text;
	/* Out of memory in the memo (its key or its entry) only costs the writing. */
	int k = pool ? form_memo_key(f, &key) : 1;
	int r;

	if (k == 0 && form_memo_find(&pool->memo, key.v, key.len, &form, &said)) {
		p->source = strdup(said);
		p->sources_json = pc_rcstr_ref(form);
		form_key_clear(&key);
		return p->source ? 0 : -ENOMEM;
	}
	r = words(f->gs, f->conj, f->n_conj, f->family, &p->source);
	if (r >= 0) {
		f->words = p->source;
		r = form_json(f, &text);
	}
	if (r >= 0) {
		p->sources_json = form_pool_intern(pool, text);
		if (!p->sources_json)
			r = -ENOMEM;
	}
	if (r >= 0 && k == 0)
		(void)form_memo_add(&pool->memo, key.v, key.len, p->sources_json, p->source);
	form_key_clear(&key);
	return r;
}

int path_sources(struct pc_path *p, const struct outcome_groups *gs, const struct outcome_group *g,
		 int port)
{
	const struct src_member *m0 = &g->m[0];
	struct form_ranges ranges;
	struct form_spec f = {
	    .gs = gs,
	    .family = p->family,
	    .sets = gs->form.sets,
	    .port = port,
	    .example = m0->r ? m0->r->example : m0->lo,
	    .example_port = m0->r ? m0->r->example_port : PC_FLOW_SOURCE_PORT,
	};
	struct conj *c;
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
			conj_imply_pieces(gs, &c[i], p->family);
	f.conj = c;
	f.n_conj = n;
	/* With plain ranges any_of lists them already. */
	if (any_tests(c, n)) {
		r = form_ranges_of(g, &ranges);
		f.ranges = &ranges;
	}
	if (r >= 0)
		r = sources_write(p, &f);
	/* Refusing a blocklist's members is the blocklist's point (see pc_path). */
	p->refuses_ignored_sets =
	    (p->verdict == PC_VERDICT_DROP || p->verdict == PC_VERDICT_REJECT) &&
	    conjs_in_ignored_sets(gs->form.ignore_sets, c, n);
	conjs_clear(c, n);
	return r;
}
