/* SPDX-License-Identifier: MIT */
/*
 * Property test of the rule port guards (daemon/engine/nftvm_guard.c) on random rulesets:
 * deterministic per seed, SEEDS seeds. A guard lets the chain walk pass over a rule whose
 * leading tests the packet's destination port cannot pass; the claim is that this is
 * exact: it may turn an unknown outcome (a test the engine cannot decide before the port
 * test) into a known one, never change a known one.
 *
 * Each seed is a ruleset of the port class generator (portclass_gen.h, see
 * test_portclass_prop.c for what it holds), with some of its plain port sets made
 * constant (only those give guards), plus rules of our own made for the guard scan: loads
 * of the destination and source port, the mark and the protocol into registers that
 * alias each other, loads over the port's register, masks, comparisons and ranges of any
 * of them, lookups in constant hash and interval sets (some open-ended) and in sets that
 * are not constant, inverted or not, and effects between them (a mark set, an immediate
 * over a register), with rules testing the mark later on; now and then a rule that reads
 * a register an earlier rule wrote, which turns the guards off for the whole ruleset.
 *
 * For ports near the ruleset's constants (+-1) and random ones, for each family of the
 * table and TCP and UDP, guards off against guards on (pc_nft_use_port_guards):
 *  (a) pc_nft_eval_path for random sources and source ports: when off is known, on gives
 *      the same outcome (verdict, reject, deciding rule, forwarding and endpoints, note);
 *  (b) the same with a trace: the outcome with guards on is the same (the trace entries are
 *      not compared one by one: a skipped rule is a NOMATCH entry, as a failing one is);
 *  (c) pc_nft_eval_sources over every non-martian source and source port: both lists of
 *      results partition the box exactly (pairwise disjoint, every port slice covered), and
 *      at probe points (each result's first and last address and port, +-1, and random
 *      sources) the outcome of the result holding the point with guards on is the one
 *      with guards off whenever that is known;
 *  (d) not vacuous: enough seeds have a rule with a guard, and enough cases meet a rule
 *      whose guard excludes the port (read from the trace with guards on, through
 *      vm_rule_guard); printed.
 * How often an unknown outcome became known is printed, not required.
 * test_guard_pins.c pins the guard of each kind of rule (vm_rule_guard) and, through
 * verdicts, the cases where skipping would be wrong; test_guard_sources here, the
 * sources one address test no longer splits.
 * A failure prints the seed, the port, the flow, both outcomes and the ruleset.
 * GUARD_SEEDS=A-B runs other seeds.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "nftbuild.h"
#include "portclass_gen.h"
#include "prop_compare.h"

#include "nftvm_internal.h"

#define SEEDS 2000
#define PORTS 10  /* ports tried per seed */
#define SOURCES 3 /* random sources per port and flow, for (a) */
#define RANDOM_PROBES 8

#define ANY 0x0000ffffu

/* --- the rules made for the guard scan ---------------------------------------------------- */

/* What a 32-bit register word holds, as far as the rule being built knows. */
enum word { W_NONE, W_DPORT, W_SPORT, W_MARK, W_L4, W_OTHER };

/* The words the rules load into: NFT_REG_1 is words 0-3, NFT_REG_2 words 4-7. */
static const unsigned pool[] = {0, 1, 4, 9};

/* The register naming word @w: NFT_REG_1 or _2 for a word that starts one, sometimes. */
static uint32_t reg_of(unsigned w)
{
	if (w % 4 == 0 && w < 16 && rnd(2))
		return NFT_REG_1 + w / 4;
	return NFT_REG32_00 + w;
}

/* A constant (or not) set of ports: single ports, or rbtree intervals (start, end + 1
 * flagged as an end) whose last is open-ended now and then. */
static const char *guard_set(struct gen *g, bool constant)
{
	static char name[16];
	bool iv = rnd(2);
	struct pc_nft_set *s = new_set(
	    g, name,
	    (constant ? NFT_SET_CONSTANT | NFT_SET_ANONYMOUS : 0) | (iv ? NFT_SET_INTERVAL : 0), 2);
	uint32_t at = 0;

	for (unsigned i = 0, n = 1 + rnd(3); i < n; i++) {
		uint16_t lo = port_const(g), hi, k, e;

		if (lo < at)
			break;
		k = htons(lo);
		nb_elem(s, &k, 2, 0);
		if (!iv) {
			at = lo + 1u;
			continue;
		}
		hi = (uint16_t)(lo + rnd(300));
		if (hi < lo || hi == 65535 || (i + 1 == n && !rnd(2))) {
			/* open-ended: up to 65535 */
			if (g->n_consts < 512)
				g->consts[g->n_consts++] = 65535;
			break;
		}
		if (g->n_consts < 512)
			g->consts[g->n_consts++] = hi;
		e = htons((uint16_t)(hi + 1));
		nb_elem(s, &e, 2, NFT_SET_ELEM_INTERVAL_END);
		at = hi + 2u;
	}
	return name;
}

/* A word holding @what (of those in @w), or -1. */
static int word_with(const uint8_t *w, bool two_bytes)
{
	int c[16], n = 0;

	/* Mostly the port: the tests that narrow a guard. */
	if (rnd(3)) {
		for (int i = 0; i < 16; i++)
			if (w[i] == W_DPORT)
				c[n++] = i;
		if (n)
			return c[rnd((uint32_t)n)];
	}
	for (int i = 0; i < 16; i++)
		if (w[i] != W_NONE &&
		    (!two_bytes || w[i] == W_DPORT || w[i] == W_SPORT || w[i] == W_OTHER))
			c[n++] = i;
	return n ? c[rnd((uint32_t)n)] : -1;
}

/* One rule of chain @ci at a random place: a few loads, tests and effects, a verdict.
 * @inherit: one test may read a word this rule did not write. */
static void guard_rule(struct gen *g, size_t ci, bool inherit)
{
	struct pc_nft_chain *c = &T(g)->chains[ci];
	struct pc_nft_rule *r = nb_rule(c, ""), tmp;
	uint8_t w[16] = {W_NONE};
	char t[1024] = "[guard] ";
	size_t pos;

	for (unsigned i = 0, n = 2 + rnd(5); i < n; i++) {
		unsigned k = rnd(14), x = pool[rnd(4)];
		uint32_t reg;
		int y;

		/* Loads and writes often go over the port: the scan must forget it. */
		if (k >= 4 && rnd(2) && (y = word_with(w, true)) >= 0 && w[y] == W_DPORT)
			x = (unsigned)y;
		reg = reg_of(x);

		if (k == 0) {
			uint8_t p = rnd(2) ? IPPROTO_TCP : IPPROTO_UDP;

			nb_l4proto(r, p);
			memset(w, W_NONE, 4), w[0] = W_L4;
			txt(t, "meta l4proto %s ", p == IPPROTO_TCP ? "tcp" : "udp");
		} else if (k <= 3) {
			nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
			w[x] = W_DPORT;
			txt(t, "th dport>r%u ", x);
		} else if (k == 4) {
			nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, reg);
			w[x] = W_SPORT;
			txt(t, "th sport>r%u ", x);
		} else if (k == 5) {
			nb_meta(r, NFT_META_MARK, reg);
			w[x] = W_MARK;
			txt(t, "meta mark>r%u ", x);
		} else if (k <= 8) { /* a comparison of what a word holds */
			y = inherit && !rnd(3) ? (int)pool[rnd(4)] : word_with(w, false);
			if (y < 0)
				continue;
			reg = reg_of((unsigned)y);
			if (w[y] == W_MARK) {
				uint32_t op = rnd(2) ? NFT_CMP_EQ : NFT_CMP_NEQ, v = rnd(3);

				nb_cmp_u32(r, op, reg, v);
				txt(t, "r%d %s %u ", y, opname[op], v);
			} else if (w[y] == W_L4) {
				nb_cmp_u8(r, NFT_CMP_EQ, reg, IPPROTO_TCP);
				txt(t, "r%d == tcp ", y);
			} else {
				uint32_t op = rnd(6);
				uint16_t v = w[y] == W_SPORT && rnd(2) ? (uint16_t)(40000 + rnd(64))
								       : port_const(g);

				nb_cmp_be16(r, op, reg, v);
				txt(t, "r%d %s %u ", y, opname[op], v);
			}
		} else if (k == 9) {
			uint16_t a = port_const(g), b = port_const(g);
			uint16_t lo = htons(a < b ? a : b), hi = htons(a < b ? b : a);
			uint32_t op = rnd(4) ? NFT_RANGE_EQ : NFT_RANGE_NEQ;

			if ((y = word_with(w, true)) < 0)
				continue;
			nb_range(r, op, reg_of((unsigned)y), &lo, &hi, 2);
			txt(t, "r%d %s%u-%u ", y, op ? "not in " : "", ntohs(lo), ntohs(hi));
		} else if (k <= 11) {
			bool constant = rnd(4) != 0, inv = !rnd(4);
			const char *name;

			if ((y = word_with(w, true)) < 0)
				continue;
			name = guard_set(g, constant);
			nb_lookup(r, name, reg_of((unsigned)y), 0, inv ? NFT_LOOKUP_F_INV : 0);
			txt(t, "r%d %s@%s%s ", y, inv ? "!= " : "", name,
			    constant ? "(const)" : "");
		} else if (k == 12) { /* no test, an effect or a rewrite */
			uint32_t v = 1 + rnd(2);
			uint16_t m = htons(0xff00), p = htons(port_const(g));

			switch (rnd(4)) {
			case 0:
				nb_imm(r, reg, &v, 4);
				nb_meta_set(r, NFT_META_MARK, reg);
				w[x] = W_MARK;
				txt(t, "meta mark set %u ", v);
				break;
			case 1:
				nb_imm(r, reg, &p, 2);
				w[x] = W_OTHER;
				txt(t, "r%u := %u ", x, ntohs(p));
				break;
			case 2: /* a verdict: what follows never runs */
				if (rnd(2))
					nb_accept(r), strcat(t, "accept (then) ");
				else
					nb_drop(r), strcat(t, "drop (then) ");
				break;
			default:
				if ((y = word_with(w, true)) < 0)
					break;
				nb_bitwise(r, reg_of((unsigned)y), reg_of((unsigned)y), 2, &m,
					   NULL);
				w[y] = W_OTHER;
				txt(t, "r%d &= 0xff00 ", y);
			}
		} else {
			nb_counter(r);
			strcat(t, "counter ");
		}
	}
	switch (rnd(4)) {
	case 0:
		nb_accept(r), strcat(t, "accept");
		break;
	case 1:
		nb_drop(r), strcat(t, "drop");
		break;
	default:
		strcat(t, "(no verdict)");
	}
	free(r->text);
	r->text = nb_strdup(t);
	/* To a random place of the chain. */
	pos = rnd((uint32_t)c->n_rules);
	tmp = c->rules[c->n_rules - 1];
	memmove(&c->rules[pos + 1], &c->rules[pos], (c->n_rules - 1 - pos) * sizeof(tmp));
	c->rules[pos] = tmp;
}

/* meta mark @v accept or drop, at a random place of chain @ci: marks set by the guard
 * rules are seen. */
static void mark_rule(struct gen *g, size_t ci)
{
	struct pc_nft_chain *c = &T(g)->chains[ci];
	uint32_t v = 1 + rnd(2);
	bool acc = rnd(2);
	char t[64];
	struct pc_nft_rule *r, tmp;
	size_t pos;

	snprintf(t, sizeof(t), "meta mark %u %s", v, acc ? "accept" : "drop");
	r = nb_rule(c, t);
	nb_meta(r, NFT_META_MARK, NFT_REG_1);
	nb_cmp_u32(r, NFT_CMP_EQ, NFT_REG_1, v);
	acc ? nb_accept(r) : nb_drop(r);
	pos = rnd((uint32_t)c->n_rules);
	tmp = c->rules[c->n_rules - 1];
	memmove(&c->rules[pos + 1], &c->rules[pos], (c->n_rules - 1 - pos) * sizeof(tmp));
	c->rules[pos] = tmp;
}

/* Whether a rule of the ruleset updates set @name (dynset): it stays as it is. */
static bool set_updated(const struct pc_nft_ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->n_tables; i++)
		for (size_t j = 0; j < rs->tables[i].n_chains; j++)
			for (size_t k = 0; k < rs->tables[i].chains[j].n_rules; k++) {
				const struct pc_nft_rule *r = &rs->tables[i].chains[j].rules[k];

				for (size_t e = 0; e < r->n_exprs; e++)
					if (r->exprs[e].type == PC_NFT_EXPR_DYNSET &&
					    r->exprs[e].dynset.set &&
					    !strcmp(r->exprs[e].dynset.set, name))
						return true;
			}
	return false;
}

/* The generator's ruleset for @seed, then ours on top (from the same stream of numbers). */
static void make_ruleset(struct gen *g, uint64_t seed)
{
	struct pc_nft_table *t;
	bool inherit;

	gen_ruleset(g, seed, false);
	t = T(g);
	/* nft makes the anonymous sets of `tcp dport { ... }` constant: those give guards. */
	for (size_t i = 0; i < t->n_sets; i++) {
		struct pc_nft_set *s = &t->sets[i];

		if (!(s->flags & NFT_SET_MAP) && s->key_len == 2 && s->n_elems && rnd(3) &&
		    !set_updated(&g->rs, s->name))
			s->flags |= NFT_SET_CONSTANT | NFT_SET_ANONYMOUS;
	}
	inherit = !rnd(12);
	for (unsigned i = 0, n = 1 + rnd(5); i < n; i++)
		guard_rule(g, rnd((uint32_t)t->n_chains), inherit && i == 0);
	for (unsigned i = 0, n = rnd(3); i < n; i++)
		mark_rule(g, rnd((uint32_t)t->n_chains));
}

/* --- reporting -------------------------------------------------------------------------- */

static int failures;
static uint64_t failed_seeds[32];
static size_t n_failed_seeds;

/* A failure: the seed, what, the flow; the ruleset once per seed. */
static void __attribute__((format(printf, 5, 6)))
flunk(const struct gen *g, uint64_t seed, const struct pc_flow *f, uint16_t port, const char *fmt,
      ...)
{
	va_list ap;
	bool first = !n_failed_seeds || failed_seeds[n_failed_seeds - 1] != seed;

	failures++;
	if (first && n_failed_seeds < 32)
		failed_seeds[n_failed_seeds++] = seed;
	printf("FAIL seed %" PRIu64 ", %s %s, port %u: ", seed,
	       f ? (f->family == AF_INET ? "IPv4" : "IPv6") : "-",
	       f ? (f->l4proto == IPPROTO_TCP ? "tcp" : "udp") : "-", port);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (first)
		print_ruleset(&g->rs);
}

/* --- guards of the ruleset -------------------------------------------------------------- */

/* Every rule's guard by vm_rule_guard, for reading the traces. */
struct guards {
	const struct pc_nft_rule *rule[512];
	uint32_t guard[512];
	size_t n;
	bool inherited; /* some rule reads a register it did not write: no guards */
	bool narrowing; /* some rule has a guard */
};

static void guards_of(const struct pc_nft_ruleset *rs, struct guards *gd)
{
	memset(gd, 0, sizeof(*gd));
	for (size_t i = 0; i < rs->n_tables; i++)
		for (size_t j = 0; j < rs->tables[i].n_chains; j++)
			for (size_t k = 0; k < rs->tables[i].chains[j].n_rules; k++) {
				const struct pc_nft_rule *r = &rs->tables[i].chains[j].rules[k];
				bool inh = false;
				uint32_t x = vm_rule_guard(&rs->tables[i], r, &inh);

				if (inh && getenv("GUARD_VERBOSE"))
					printf("reads a register it did not write: %s\n", r->text);
				gd->inherited |= inh;

				assert_true(gd->n < 512);
				gd->rule[gd->n] = r;
				gd->guard[gd->n++] = x;
				gd->narrowing |= x != ANY;
			}
}

/* Whether rule @r's guard leaves @port out. */
static bool excludes(const struct guards *gd, const struct pc_nft_rule *r, uint16_t port)
{
	for (size_t i = 0; i < gd->n; i++)
		if (gd->rule[i] == r)
			return gd->guard[i] != ANY &&
			       (port < gd->guard[i] >> 16 || port > (gd->guard[i] & 0xffff));
	return false;
}

/* --- the properties --------------------------------------------------------------------- */

static size_t st_seeds_narrowing, st_seeds_inherited, st_cases, st_cases_skipping, st_paths,
    st_known, st_unknown_off, st_unknown_off_known_on, st_skipped_entries, st_trace_same_len,
    st_trace_cmp, st_results_off, st_results_on, st_results_fewer, st_probes, st_probes_known,
    st_probes_unknown_off_known_on;

static bool known(const struct pc_nft_result *r)
{
	return r->verdict != PC_VERDICT_UNKNOWN;
}

static struct pc_nft_result eval_path(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
				      const struct pc_flow *f, bool guards, bool trace)
{
	struct pc_nft_result r = {0};

	pc_nft_use_port_guards = guards;
	assert_int_equal(pc_nft_eval_path(rs, ni, f, trace, &r), 0);
	pc_nft_use_port_guards = true;
	return r;
}

/* (a) and (b) for one random source; false on a failure. */
static bool check_path(const struct gen *g, const struct guards *gd, const struct pc_netif *ni,
		       uint64_t seed, const struct pc_flow *f, bool trace, bool *skipped)
{
	struct pc_nft_result off = eval_path(&g->rs, ni, f, false, trace),
			     on = eval_path(&g->rs, ni, f, true, trace);
	bool ok = true;
	char a[PC_ADDRSTRLEN];

	st_paths++;
	if (!known(&off)) {
		st_unknown_off++;
		st_unknown_off_known_on += known(&on);
	} else {
		st_known++;
		if (!same_outcome(&off, &on, false)) {
			flunk(g, seed, f, f->dport,
			      "(%s) source %s port %u: guards change the outcome",
			      trace ? "b" : "a", pc_addr_to_string(&f->saddr, a), f->sport);
			print_result("guards off", &off), print_result("guards on", &on);
			ok = false;
		}
	}
	if (trace) {
		/* A rule passed over is a NOMATCH entry; one that ran and failed is one too,
		 * so a known outcome has as many entries either way (counted, not required:
		 * the claim is about outcomes). */
		if (known(&off)) {
			st_trace_cmp++;
			st_trace_same_len += off.n_trace == on.n_trace;
		}
		for (size_t i = 0; i < on.n_trace && !gd->inherited; i++)
			if (on.trace[i].action == PC_TRACE_NOMATCH &&
			    excludes(gd, on.trace[i].rule.nft_rule, f->dport) &&
			    !(on.forwarded || on.dnat_local)) {
				st_skipped_entries++;
				*skipped = true;
			}
	}
	pc_nft_result_clear(&off), pc_nft_result_clear(&on);
	return ok;
}

/* The results holding (@a, @p): how many, the last in *at. */
static size_t holding(const struct pc_src_result *v, size_t n, pc_u128 a, pc_u128 p, size_t *at)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (pc_srcdim_has(&v[i].addr, a) && pc_srcdim_has(&v[i].port, p))
			k++, *at = i;
	return k;
}

/* The boxes of @v, flattened. */
static void flatten(const struct pc_src_result *v, size_t n, struct pc_ivlist *a,
		    struct pc_ivlist *p)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(pc_srcdim_to_list(&v[i].addr, &a[i]), 0);
		assert_int_equal(pc_srcdim_to_list(&v[i].port, &p[i]), 0);
	}
}

static int cmp_u128(const void *x, const void *y)
{
	pc_u128 a = *(const pc_u128 *)x, b = *(const pc_u128 *)y;

	return a < b ? -1 : a > b;
}

/* Whether the boxes partition @ba x @bp exactly: each inside it, pairwise disjoint, and
 * for every slice of ports between two port bounds of any box, the addresses of the boxes
 * holding that slice are all of @ba. */
static const char *partitions(const struct pc_ivlist *a, const struct pc_ivlist *p, size_t n,
			      const struct pc_ivlist *ba, const struct pc_ivlist *bp)
{
	pc_u128 *cut;
	size_t nc = 0, k = 0;
	const char *why = NULL;

	for (size_t i = 0; i < n && !why; i++) {
		if (!pc_ivlist_subset(&a[i], ba) || !pc_ivlist_subset(&p[i], bp))
			why = "a box outside the sources";
		for (size_t j = i + 1; j < n && !why; j++)
			if (pc_ivlist_overlaps(&a[i], &a[j]) && pc_ivlist_overlaps(&p[i], &p[j]))
				why = "two boxes overlap";
	}
	for (size_t i = 0; i < n; i++)
		nc += 2 * p[i].n;
	cut = malloc((nc + 2) * sizeof(*cut));
	assert_non_null(cut);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < p[i].n; j++)
			cut[k++] = p[i].v[j].lo, cut[k++] = p[i].v[j].hi + 1;
	cut[k++] = PC_SRC_PORT_MIN, cut[k++] = PC_SRC_PORT_MAX + 1;
	qsort(cut, k, sizeof(*cut), cmp_u128);
	for (size_t c = 0; c + 1 < k && !why; c++) {
		struct pc_ivlist u = {0};

		if (cut[c] == cut[c + 1] || cut[c] < PC_SRC_PORT_MIN || cut[c] > PC_SRC_PORT_MAX)
			continue;
		/* Appended in any order, then sorted (pc_ivlist_append wants them in order). */
		for (size_t i = 0; i < n; i++)
			if (pc_ivlist_find(&p[i], cut[c]) >= 0)
				u.cap += a[i].n;
		u.v = malloc((u.cap + 1) * sizeof(*u.v));
		assert_non_null(u.v);
		for (size_t i = 0; i < n; i++)
			if (pc_ivlist_find(&p[i], cut[c]) >= 0)
				for (size_t j = 0; j < a[i].n; j++)
					u.v[u.n++] = a[i].v[j];
		assert_int_equal(pc_ivlist_normalize(&u), 0);
		if (!pc_ivlist_equal(&u, ba))
			why = "the boxes do not cover the sources";
		pc_ivlist_clear(&u);
	}
	free(cut);
	return why;
}

/* (c) one probe point: in the box, in exactly one result of each; its outcomes. */
static bool probe(const struct gen *g, uint64_t seed, const struct pc_flow *f,
		  const struct pc_src_result *off, size_t noff, const struct pc_src_result *on,
		  size_t non, const struct pc_ivlist *ba, pc_u128 a, pc_u128 p)
{
	bool in = pc_ivlist_find(ba, a) >= 0 && p >= PC_SRC_PORT_MIN && p <= PC_SRC_PORT_MAX;
	size_t i = 0, j = 0, ki = holding(off, noff, a, p, &i), kj = holding(on, non, a, p, &j);
	char s[PC_ADDRSTRLEN];
	struct pc_addr addr = pc_addr_from_u128(f->family, a);

	st_probes++;
	if (ki != in || kj != in) {
		flunk(g, seed, f, f->dport,
		      "(c) source %s port %u (%s the box) is in %zu results off, %zu on",
		      pc_addr_to_string(&addr, s), (unsigned)p, in ? "in" : "out of", ki, kj);
		return false;
	}
	if (!in)
		return true;
	if (!known(&off[i].res)) {
		st_probes_unknown_off_known_on += known(&on[j].res);
		return true;
	}
	st_probes_known++;
	if (!same_outcome(&off[i].res, &on[j].res, false)) {
		flunk(g, seed, f, f->dport,
		      "(c) source %s port %u: guards change the outcome (results %zu and %zu)",
		      pc_addr_to_string(&addr, s), (unsigned)p, i, j);
		print_result("guards off", &off[i].res), print_result("guards on", &on[j].res);
		return false;
	}
	return true;
}

/* (c) for one port and flow. */
static bool check_sources(const struct gen *g, const struct pc_netif *ni, uint64_t seed,
			  const struct pc_flow *f, const struct pc_ivlist *ba,
			  const struct pc_ivlist *bp)
{
	struct pc_src_result *v[2] = {NULL, NULL};
	size_t n[2] = {0, 0};
	struct pc_ivlist *la[2], *lp[2];
	const char *why;
	bool ok = true;

	for (int on = 0; on < 2; on++) {
		pc_nft_use_port_guards = on;
		assert_int_equal(pc_nft_eval_sources(&g->rs, ni, f, ba, bp, &v[on], &n[on]), 0);
		pc_nft_use_port_guards = true;
		la[on] = calloc(n[on] + 1, sizeof(struct pc_ivlist));
		lp[on] = calloc(n[on] + 1, sizeof(struct pc_ivlist));
		assert_true(la[on] && lp[on]);
		flatten(v[on], n[on], la[on], lp[on]);
		if (ok && (why = partitions(la[on], lp[on], n[on], ba, bp))) {
			flunk(g, seed, f, f->dport, "(c) guards %s: %s (%zu results)",
			      on ? "on" : "off", why, n[on]);
			ok = false;
		}
	}
	st_results_off += n[0], st_results_on += n[1];
	st_results_fewer += n[1] < n[0];
	/* Probes: the corners of every box of both runs, +-1 each way, and random ones. */
	for (int on = 0; on < 2 && ok; on++)
		for (size_t i = 0; i < n[on] && ok; i++) {
			const struct pc_ivlist *a = &la[on][i], *p = &lp[on][i];
			pc_u128 as[2] = {a->v[0].lo, a->v[a->n - 1].hi},
				ps[2] = {p->v[0].lo, p->v[p->n - 1].hi};

			for (int x = 0; x < 6 && ok; x++)
				for (int y = 0; y < 6 && ok; y++)
					ok = probe(g, seed, f, v[0], n[0], v[1], n[1], ba,
						   as[x / 3] + (pc_u128)(x % 3) - 1,
						   ps[y / 3] + (pc_u128)(y % 3) - 1);
		}
	for (int k = 0; k < RANDOM_PROBES && ok; k++) {
		struct pc_addr s = rnd_source(f->family);

		ok = probe(g, seed, f, v[0], n[0], v[1], n[1], ba, pc_addr_to_u128(&s),
			   rnd(2) ? 40000 + rnd(64) : 1 + rnd(65535));
	}
	for (int on = 0; on < 2; on++) {
		for (size_t i = 0; i < n[on]; i++)
			pc_ivlist_clear(&la[on][i]), pc_ivlist_clear(&lp[on][i]);
		free(la[on]), free(lp[on]);
		pc_src_results_free(v[on], n[on]);
	}
	return ok;
}

static void check_seed(struct gen *g, const struct pc_netif *ni, uint64_t seed,
		       const struct pc_ivlist box[2][2])
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	struct guards gd;

	make_ruleset(g, seed);
	guards_of(&g->rs, &gd);
	/* Without guards: our rules' deliberate reads of registers they did not write. */
	st_seeds_narrowing += gd.narrowing && !gd.inherited;
	st_seeds_inherited += gd.inherited;
	for (unsigned i = 0; i < PORTS; i++) {
		uint16_t port = pick_port(g);
		bool bad = false;

		for (int fi = 0; fi < 2 && !bad; fi++) {
			if ((g->tfamily == NFPROTO_IPV4 && fi) ||
			    (g->tfamily == NFPROTO_IPV6 && !fi))
				continue;
			for (int pi = 0; pi < 2 && !bad; pi++) {
				struct pc_flow f =
				    nb_flow(protos[pi], fi ? "2001:db8::99" : "192.0.2.99",
					    fi ? "2001:db8::10" : "192.0.2.10", port, ETH0);
				bool skipped = false;

				st_cases++;
				for (unsigned k = 0; k <= SOURCES && !bad; k++) {
					f.saddr = rnd_source(f.family);
					f.sport =
					    (uint16_t)(rnd(2) ? 40000 + rnd(64) : 1 + rnd(65535));
					bad = !check_path(g, &gd, ni, seed, &f, k == SOURCES,
							  &skipped);
				}
				st_cases_skipping += skipped;
				if (!bad)
					bad = !check_sources(g, ni, seed, &f, &box[fi][0],
							     &box[fi][1]);
			}
		}
	}
}

static void test_guards_against_no_guards(void **state)
{
	double secs;
	size_t n;

	(void)state;
	n = prop_run_seeds("GUARD_SEEDS", SEEDS, check_seed, &secs);
	printf("%zu seeds in %.2f s: %zu with a guard (%zu without guards: a rule reads a "
	       "register it did not write, as vm_rule_guard sees it); %zu cases (port and flow), "
	       "%zu of them passing over a rule "
	       "(%zu rules passed over); %zu paths (%zu known with guards off, %zu unknown of "
	       "which %zu known with guards on), traces of equal length %zu of %zu; symbolic "
	       "results %zu off, %zu on (fewer on in %zu cases), %zu probes (%zu known off, %zu "
	       "unknown off but known on); %d failures",
	       n, secs, st_seeds_narrowing, st_seeds_inherited, st_cases, st_cases_skipping,
	       st_skipped_entries, st_paths, st_known, st_unknown_off, st_unknown_off_known_on,
	       st_trace_same_len, st_trace_cmp, st_results_off, st_results_on, st_results_fewer,
	       st_probes, st_probes_known, st_probes_unknown_off_known_on, failures);
	for (size_t i = 0; i < n_failed_seeds; i++)
		printf("%s%" PRIu64, i ? ", " : " (seeds ", failed_seeds[i]);
	printf("%s\n", n_failed_seeds ? ")" : "");
	assert_int_equal(failures, 0);
	/* (d) Not vacuous: guards in most seeds, rules passed over in many cases. */
	assert_true(10 * st_seeds_narrowing >= 3 * n);
	assert_true(10 * st_cases_skipping >= 2 * st_cases);
}

/* The effect the guards are for: `ip saddr 198.51.100.0/24 tcp dport 22 drop` no longer
 * splits the sources of port 80 at its address test. */
static void test_guard_sources(void **state)
{
	struct pc_netif ni = {0};
	struct pc_nft_ruleset rs = {0};
	struct pc_ivlist ba = {0}, bp = {0};
	struct pc_nft_table *t = nb_table(&rs, NFPROTO_IPV4, "filter");
	struct pc_nft_chain *c = nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	struct pc_nft_rule *r;

	(void)state;
	prop_host(&ni);
	source_box(AF_INET, &ba, &bp);
	r = nb_rule(c, "ip saddr 198.51.100.0/24 tcp dport 22 drop");
	nb_addr_match(r, "198.51.100.0/24", false, NFT_CMP_EQ);
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, 22);
	nb_drop(r);
	r = nb_rule(c, "accept");
	nb_accept(r);
	for (int on = 0; on < 2; on++)
		for (uint16_t port = 22; port <= 80; port += 58) {
			struct pc_flow f =
			    nb_flow(IPPROTO_TCP, "192.0.2.99", "192.0.2.10", port, ETH0);
			struct pc_src_result *v = NULL;
			size_t n = 0;
			struct pc_ivlist la[2] = {{0}}, lp[2] = {{0}};

			pc_nft_use_port_guards = on;
			assert_int_equal(pc_nft_eval_sources(&rs, &ni, &f, &ba, &bp, &v, &n), 0);
			pc_nft_use_port_guards = true;
			assert_int_equal(n, port == 80 && on ? 1 : 2);
			flatten(v, n, la, lp);
			assert_null(partitions(la, lp, n, &ba, &bp));
			for (size_t i = 0; i < n; i++) {
				bool in = pc_srcdim_has(&v[i].addr, 0xc6336405); /* 198.51.100.5 */

				assert_int_equal(v[i].res.verdict, port == 22 && in
								       ? PC_VERDICT_DROP
								       : PC_VERDICT_ACCEPT);
			}
			if (n == 1)
				assert_true(pc_ivlist_equal(&la[0], &ba));
			for (size_t i = 0; i < n; i++)
				pc_ivlist_clear(&la[i]), pc_ivlist_clear(&lp[i]);
			pc_src_results_free(v, n);
		}
	pc_ivlist_clear(&ba), pc_ivlist_clear(&bp);
	pc_nft_ruleset_clear(&rs);
	pc_netif_free(&ni);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guard_sources),
	    cmocka_unit_test(test_guards_against_no_guards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
