/* SPDX-License-Identifier: MIT */
/*
 * Property test of the symbolic source (pc_nft_eval_sources) against the concrete engine
 * (pc_nft_eval_path), on random rulesets: deterministic per seed, SEEDS seeds.
 *
 * Each seed builds (nftbuild.h) one ip, ip6 or inet table: an input chain, sometimes a
 * prerouting chain, a regular chain reached by jump (with returns), sometimes an ip nat
 * table whose DNAT depends on the source, with rules that test the source address (cmp
 * ==/!= on prefixes, </>/<=/>= on the whole address or its leading bytes, ranges,
 * bitwise masks both prefix and scattered, lookups in hash, interval and concatenated
 * "saddr . dport" / "dport . sport" sets, sets keyed by the address's first bytes,
 * source-keyed verdict and data maps, inverted lookups), the source port and
 * the destination port (nft expressions, and in ip/ip6 tables the xtables matches iprange,
 * conntrack --ctorigsrc[port], tcp/udp --sport, multiport --sports), with accept, drop,
 * reject, jump, goto, return, counters and limits (both outcomes explored); sometimes a
 * set of thousands of intervals. For IPv4 and IPv6 it asks for the paths of a box of
 * sources (every non-martian address, or a random part, x ports 1-65535 or a part) and
 * checks:
 *  (a) the results' boxes are pairwise disjoint and their union is the box asked about;
 *  (b) each result's example source lies in its box;
 *  (c) for random sources of the box and for every interval end of every result (and the
 *      values just outside it), the concrete evaluation gives the outcome of the result
 *      that holds the source: verdict, reject, deciding rule (table, chain, handle,
 *      policy), forwarding;
 *  (d) the literals describe the boxes exactly: evaluated here, independently of the
 *      engine (sets by a plain scan of their elements), a source of the box asked about
 *      lies in a result's box if and only if all of its literals hold (for the random
 *      sources and up to DCHECK_MAX of the boundary ones).
 * Why: the symbolic run must be the concrete run for every source it stands for, and the
 * report names the sources by the literals; a wrong split is a wrong answer for clients
 * nobody tried. Martian sources are left out of the box: the caller splits at routes
 * first (nftvm.h), the symbolic run takes the routing decision of its example.
 * A failure prints the seed, the family, the ruleset and the source. SYMSRC_SEEDS=A-B runs
 * other seeds; SYMSRC_VERBOSE=1 prints why results are unknown.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "prop_host.h"

#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_iprange.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_tcpudp.h>

#define SEEDS 300
#define SAMPLES 200
#define DCHECK_MAX 1500 /* boundary sources checked for (d) per family, beyond the samples */

static pc_u128 rnd128(unsigned bits)
{
	return ((pc_u128)rnd64() << 64 | rnd64()) & pc_u128_max(bits);
}

/* --- the ruleset ------------------------------------------------------------------------ */

/* One family's view while generating: address bytes, the hub constants cluster around. */
struct fam {
	unsigned ab, bits;
	uint8_t nfproto;
	pc_u128 hub;
};

struct gen {
	struct pc_nft_ruleset rs;
	uint32_t tfamily;
	bool has_sub, has_pre;
	bool jump_ok;	/* the rule being made may jump to sub */
	bool vmap;	/* it ends with a verdict map */
	uint8_t proto;	/* the flows' protocol */
	uint16_t dport; /* the flows' destination port */
	int n_sets;
	struct fam f4, f6;
};

static struct pc_nft_table *T(struct gen *g)
{
	return &g->rs.tables[0];
}

/* A value near the hub: the hub with its low k bits random (small k likelier). */
static pc_u128 near(const struct fam *f)
{
	static const unsigned ks[] = {0, 2, 4, 8, 8, 12, 16, 16, 24, 32, 48, 128};
	unsigned k = ks[rnd(sizeof(ks) / sizeof(ks[0]))];

	if (k > f->bits)
		k = f->bits;
	return f->hub ^ (rnd128(f->bits) & pc_u128_max(k));
}

static uint16_t near_port(void)
{
	static const uint16_t hubs[] = {40000, 1024, 1, 65535, 32768, 53};
	uint16_t h = hubs[rnd(6)];

	return rnd(3) ? (uint16_t)(h + rnd(64) - 32) : (uint16_t)rnd(65536);
}

static void text_addr(const struct fam *f, pc_u128 v, char *buf)
{
	struct pc_addr a = pc_addr_from_u128(f->ab == 4 ? AF_INET : AF_INET6, v);

	pc_addr_to_string(&a, buf);
}

static const char *kw(const struct fam *f)
{
	return f->ab == 4 ? "ip" : "ip6";
}

/* Load @len bytes of the source address from byte @off into @reg (with nft's inet
 * dependency). */
static void load_at(struct gen *g, struct pc_nft_rule *r, const struct fam *f, unsigned off,
		    unsigned len, uint32_t reg)
{
	if (g->tfamily == NFPROTO_INET)
		nb_nfproto(r, f->nfproto);
	nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, (f->ab == 4 ? 12 : 8) + off, len, reg);
}

#define load_saddr(g, r, f, len, reg) load_at(g, r, f, 0, len, reg)

static pc_u128 prefix_mask(const struct fam *f, unsigned len)
{
	return pc_u128_max(f->bits) ^ pc_u128_max(f->bits - len);
}

/* (first @n bytes of saddr & @mask) op @value (both of the whole address): a bitwise only
 * when the mask cuts into the bytes loaded. */
static void masked_cmp(struct gen *g, struct pc_nft_rule *r, const struct fam *f, unsigned n,
		       pc_u128 mask, pc_u128 value, uint32_t op)
{
	unsigned sh = f->bits - n * 8;
	uint8_t m[16], v[16];

	mask &= pc_u128_max(f->bits);
	pc_u128_to_be(mask >> sh, m, n);
	pc_u128_to_be(value >> sh, v, n);
	load_saddr(g, r, f, n, NFT_REG_1);
	if (mask >> sh != pc_u128_max(n * 8))
		nb_bitwise(r, NFT_REG_1, NFT_REG_1, n, m, NULL);
	nb_cmp(r, op, NFT_REG_1, v, n);
}

static void load_sport(struct gen *g, struct pc_nft_rule *r, uint32_t reg)
{
	nb_l4proto(r, rnd(5) ? g->proto : (uint8_t)(IPPROTO_TCP + IPPROTO_UDP - g->proto));
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, reg);
}

/* Append to the rule text @t. */
static void __attribute__((format(printf, 2, 3))) txt(char *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsprintf(t + strlen(t), fmt, ap);
	va_end(ap);
}

static const char *const opname[] = {"==", "!=", "<", "<=", ">", ">="};

/* A new set of the table; its elements follow. */
static struct pc_nft_set *new_set(struct gen *g, char *name, uint32_t flags, uint32_t klen)
{
	sprintf(name, "s%d", g->n_sets++);
	return nb_set(T(g), name, flags, klen);
}

/* An element of @s, whose elements were allocated for it (elems_reserve): nb_elem grows
 * them one at a time, quadratic for thousands under ASan. */
static struct pc_nft_set_elem *elem(struct pc_nft_set *s, const void *key, unsigned len,
				    uint32_t flags)
{
	struct pc_nft_set_elem *e = &s->elems[s->n_elems++];

	nb_bytes(s, &e->key, &e->key_len, key, len);
	e->flags = flags;
	return e;
}

static void elems_reserve(struct pc_nft_set *s, size_t n)
{
	s->elems = calloc(n + 1, sizeof(*s->elems));
	assert_non_null(s->elems);
}

/* A map element's value: @map 1 a verdict (jump sub when @sub allows), 2 data 1..3. */
static void elem_value(struct pc_nft_set *s, struct pc_nft_set_elem *e, int map, bool sub)
{
	bool jump = sub && !rnd(3);
	uint32_t d = 1 + rnd(3);

	if (map == 1)
		nb_elem_verdict(e,
				jump	 ? NFT_JUMP
				: rnd(2) ? NF_ACCEPT
					 : NF_DROP,
				jump ? "sub" : NULL);
	else if (map == 2)
		nb_bytes(s, &e->data, &e->data_len, &d, 4);
}

/* Elements of an interval set of one dimension (rbtree: start, end + 1 flagged
 * INTERVAL_END unless at the maximum): @n disjoint intervals of values from @pick. */
static void interval_elems(struct pc_nft_set *s, unsigned n, unsigned width,
			   pc_u128 (*pick)(const struct fam *), const struct fam *f, int map,
			   bool sub)
{
	pc_u128 *v = calloc(2 * n, sizeof(*v)), max = pc_u128_max(width * 8);
	size_t m = 0;

	assert_non_null(v);
	elems_reserve(s, 2 * n);
	for (unsigned i = 0; i < 2 * n; i++)
		v[i] = pick(f);
	if (!rnd(4)) /* open-ended: the last interval has no end element */
		v[0] = max;
	for (size_t i = 0; i < 2 * n; i++) /* sort, unique (small n or random: fine) */
		for (size_t j = i + 1; j < 2 * n && n <= 64; j++)
			if (v[j] < v[i]) {
				pc_u128 t = v[i];
				v[i] = v[j], v[j] = t;
			}
	if (n > 64) { /* big: evenly spread, strictly increasing */
		pc_u128 step = max / (2 * n + 1);

		for (size_t i = 0; i < 2 * n; i++)
			v[i] = step * (pc_u128)(i + 1) + (rnd128(width * 8) % (step / 2 + 1));
	}
	for (size_t i = 0; i + 1 < 2 * n; i += 2) {
		uint8_t k[16];
		struct pc_nft_set_elem *e;

		if (m > 0 && v[i] <= v[m - 1]) /* overlaps the last one (adjacent is fine) */
			continue;
		pc_u128_to_be(v[i], k, width);
		e = elem(s, k, width, 0);
		elem_value(s, e, map, sub);
		if (v[i + 1] != max) {
			pc_u128_to_be(v[i + 1] + 1, k, width);
			elem(s, k, width, NFT_SET_ELEM_INTERVAL_END);
		}
		m = i + 2;
	}
	free(v);
}

static pc_u128 pick_port(const struct fam *f)
{
	(void)f;
	return near_port();
}

/* One match on the source address; the rule text appended to @t. */
static void match_addr(struct gen *g, struct pc_nft_rule *r, const struct fam *f, char *t)
{
	char a[PC_ADDRSTRLEN], b[PC_ADDRSTRLEN], name[16];
	unsigned kind = rnd(10), len, n;
	uint32_t op;
	pc_u128 v = near(f), w, mask;
	struct pc_nft_set *s;

	text_addr(f, v, a);
	switch (kind) {
	case 0:
	case 1: /* prefix, as nft emits it: whole bytes, a mask if it ends inside one */
		len = rnd(f->bits + 1);
		mask = prefix_mask(f, len);
		op = rnd(3) ? NFT_CMP_EQ : NFT_CMP_NEQ;
		text_addr(f, v & mask, a);
		txt(t, "%s saddr %s%s/%u ", kw(f), op ? "!= " : "", a, len);
		masked_cmp(g, r, f, len ? (len + 7) / 8 : 1, mask, v & mask, op);
		break;
	case 2: { /* order on the whole address or its leading bytes */
		op = NFT_CMP_LT + rnd(4);

		n = rnd(3) ? f->ab : 1 + rnd(f->ab);
		masked_cmp(g, r, f, n, prefix_mask(f, n * 8), v, op);
		txt(t, "%s saddr[first %u bytes] %s those of %s ", kw(f), n, opname[op], a);
		break;
	}
	case 3: { /* range, whole or leading bytes */
		uint8_t lo[16], hi[16];
		op = rnd(3) ? NFT_RANGE_EQ : NFT_RANGE_NEQ;

		w = near(f);
		if (w < v)
			mask = v, v = w, w = mask;
		text_addr(f, v, a);
		text_addr(f, w, b);
		n = rnd(3) ? f->ab : 1 + rnd(f->ab);
		pc_u128_to_be(v >> (f->bits - n * 8), lo, n);
		pc_u128_to_be(w >> (f->bits - n * 8), hi, n);
		load_saddr(g, r, f, n, NFT_REG_1);
		nb_range(r, op, NFT_REG_1, lo, hi, n);
		txt(t, "%s saddr[first %u bytes] %sin %s-%s ", kw(f), n, op ? "not " : "", a, b);
		break;
	}
	case 4: { /* a scattered mask on the low 32 bits, usually inside a small prefix */
		static const uint32_t masks[] = {0x1, 0x00ff00ff, 0xff00, 0xf0, 0x80000001, 0};

		mask = masks[rnd(6)];
		mask = mask ? mask : (uint32_t)rnd64();
		if (rnd(4)) {
			len = f->bits - 4 - rnd(13); /* a /20../28 (v4) around the hub */
			w = near(f) & prefix_mask(f, len);
			text_addr(f, w, b);
			txt(t, "%s saddr %s/%u ", kw(f), b, len);
			masked_cmp(g, r, f, f->ab, prefix_mask(f, len), w, NFT_CMP_EQ);
		}
		v = rnd(8) ? v & mask : (v | ~mask) & pc_u128_max(f->bits); /* or never equal */
		op = rnd(2) ? NFT_CMP_EQ : NFT_CMP_NEQ;
		text_addr(f, mask, b);
		text_addr(f, v, a);
		txt(t, "%s saddr & %s %s %s ", kw(f), b, opname[op], a);
		masked_cmp(g, r, f, f->ab, mask, v, op);
		break;
	}
	case 5:
	case 6: { /* lookup in a hash or interval set, maybe inverted */
		bool iv = rnd(2), inv = !rnd(3), big = !rnd(12);
		struct fam fp = *f; /* keyed by the whole address or its first n bytes */

		n = rnd(4) ? f->ab : 1 + rnd(f->ab - 1);
		fp.bits = n * 8;
		fp.hub = f->hub >> (f->bits - fp.bits);
		s = new_set(g, name, iv ? NFT_SET_INTERVAL : 0, n);
		if (iv) {
			interval_elems(s, big ? 2000 + rnd(2000) : 1 + rnd(8), n, near, &fp, 0,
				       false);
		} else {
			unsigned k = big ? 3000 : 1 + rnd(8);

			elems_reserve(s, k);
			for (unsigned i = 0; i < k; i++) {
				uint8_t kb[16];

				pc_u128_to_be(near(&fp), kb, n);
				elem(s, kb, n, 0);
			}
		}
		load_saddr(g, r, f, n, NFT_REG_1);
		nb_lookup(r, name, NFT_REG_1, 0, inv ? NFT_LOOKUP_F_INV : 0);
		txt(t, "%s saddr[first %u bytes] %s@%s ", kw(f), n, inv ? "!= " : "", name);
		break;
	}
	case 7: { /* (saddr or sport) . th dport, or the other way round: ranges (pipapo) or
		   exact */
		bool iv = rnd(3), port = !rnd(3), first = rnd(2);
		unsigned w0 = port ? 2 : f->ab, sl = (w0 + 3) / 4 * 4, klen = sl + 4;
		unsigned so = first ? 0 : 4, po = first ? sl : 0;
		uint8_t lens[2] = {first ? w0 : 2, first ? 2 : w0}, k[24], ke[24];
		pc_u128 max = pc_u128_max(w0 * 8);

		s = new_set(g, name, iv ? NFT_SET_INTERVAL : 0, klen);
		nb_set_fields(s, 2, lens);
		for (unsigned i = 0, ne = 1 + rnd(6); i < ne; i++) {
			uint16_t p0 = rnd(2) ? g->dport : (uint16_t)rnd(1000), p1 = p0;

			memset(k, 0, sizeof(k));
			memset(ke, 0, sizeof(ke));
			v = port ? near_port() : near(f);
			w = iv ? v + rnd128(port ? 6 : 12) : v;
			w = w < v || w > max ? max : w;
			if (iv && rnd(2))
				p0 = p0 > 10 ? (uint16_t)(p0 - 10) : 0,
				p1 = (uint16_t)(p1 + rnd(20));
			pc_u128_to_be(v, k + so, w0);
			pc_u128_to_be(w, ke + so, w0);
			k[po] = p0 >> 8, k[po + 1] = (uint8_t)p0;
			ke[po] = p1 >> 8, ke[po + 1] = (uint8_t)p1;
			if (iv)
				nb_elem_range(s, k, ke, klen);
			else
				nb_elem(s, k, klen, 0);
		}
		if (port)
			load_sport(g, r, NFT_REG32_00 + so / 4);
		else
			load_saddr(g, r, f, f->ab, NFT_REG32_00 + so / 4);
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_00 + po / 4);
		nb_lookup(r, name, NFT_REG32_00, 0, 0);
		sprintf(a, port ? "th sport" : "%s saddr", kw(f));
		txt(t, "%s . %s @%s ", first ? a : "th dport", first ? "th dport" : a, name);
		break;
	}
	case 8: { /* == on inner bytes of the address, in another register */
		unsigned o = rnd(f->ab), m = 1 + rnd(f->ab - o);
		uint32_t reg = NFT_REG32_00 + rnd(8);
		uint8_t bv[16];

		op = rnd(2) ? NFT_CMP_EQ : NFT_CMP_NEQ;
		pc_u128_to_be(v, bv, f->ab);
		load_at(g, r, f, o, m, reg);
		nb_cmp(r, op, reg, bv + o, m);
		txt(t, "%s saddr bytes %u-%u %s those of %s ", kw(f), o, o + m - 1, opname[op], a);
		break;
	}
	default: { /* a verdict map keyed by the source (the rule's verdict), or a data map */
		int map = rnd(3) ? 1 : 2;
		uint32_t d = 1 + rnd(3);

		s = new_set(g, name, NFT_SET_MAP | (rnd(3) ? NFT_SET_INTERVAL : 0), f->ab);
		s->data_type = map == 1 ? NFT_DATA_VERDICT : 0;
		s->data_len = map == 1 ? 0 : 4;
		if (s->flags & NFT_SET_INTERVAL) {
			interval_elems(s, 1 + rnd(8), f->ab, near, f, map, g->jump_ok);
		} else {
			for (unsigned i = 0, k = 1 + rnd(6); i < k; i++) {
				uint8_t kb[16];

				pc_u128_to_be(near(f), kb, f->ab);
				elem_value(s, nb_elem(s, kb, f->ab, 0), map, g->jump_ok);
			}
		}
		load_saddr(g, r, f, f->ab, NFT_REG_1);
		if (map == 1) {
			nb_lookup(r, name, NFT_REG_1, NFT_REG_VERDICT, 0);
			g->vmap = true;
			txt(t, "%s saddr vmap @%s ", kw(f), name);
		} else {
			nb_lookup(r, name, NFT_REG_1, NFT_REG_1, 0);
			nb_cmp_u32(r, NFT_CMP_EQ, NFT_REG_1, d);
			txt(t, "%s saddr map @%s == %u ", kw(f), name, d);
		}
		break;
	}
	}
}

/* One match on the source port (or, sometimes, the destination port). */
static void match_port(struct gen *g, struct pc_nft_rule *r, char *t)
{
	uint16_t p = near_port(), q = near_port();
	unsigned kind = rnd(6);
	char name[16];

	if (kind == 0) {
		nb_l4proto(r, g->proto);
		p = rnd(2) ? g->dport : p;
		nb_dport(r, p);
		txt(t, "th dport %u ", p);
		return;
	}
	load_sport(g, r, NFT_REG_1);
	if (kind == 1) {
		uint32_t op = rnd(6);

		nb_cmp_be16(r, op, NFT_REG_1, p);
		txt(t, "th sport %s %u ", opname[op], p);
	} else if (kind == 5) {
		static const uint16_t masks[] = {0xff00, 0x0300, 0x8001, 0x00f0, 0xfff0, 0};
		uint16_t m = masks[rnd(6)], mb, vb;
		uint32_t op = rnd(2) ? NFT_CMP_EQ : NFT_CMP_NEQ;

		m = m ? m : (uint16_t)rnd(65536);
		mb = htons(m), vb = htons(p & m);
		nb_bitwise(r, NFT_REG_1, NFT_REG_1, 2, &mb, NULL);
		nb_cmp(r, op, NFT_REG_1, &vb, 2);
		txt(t, "th sport & 0x%04x %s 0x%04x ", m, opname[op], p & m);
	} else if (kind == 2) {
		uint16_t lo = htons(p < q ? p : q), hi = htons(p < q ? q : p);
		uint32_t op = rnd(3) ? NFT_RANGE_EQ : NFT_RANGE_NEQ;

		nb_range(r, op, NFT_REG_1, &lo, &hi, 2);
		txt(t, "th sport %s%u-%u ", op ? "!= " : "", ntohs(lo), ntohs(hi));
	} else {
		bool iv = rnd(2), inv = !rnd(3);
		struct pc_nft_set *s = new_set(g, name, iv ? NFT_SET_INTERVAL : 0, 2);

		if (iv) {
			interval_elems(s, 1 + rnd(6), 2, pick_port, NULL, 0, false);
		} else {
			for (unsigned i = 0, k = 1 + rnd(6); i < k; i++) {
				uint16_t be = htons(near_port());

				nb_elem(s, &be, 2, 0);
			}
		}
		nb_lookup(r, name, NFT_REG_1, 0, inv ? NFT_LOOKUP_F_INV : 0);
		txt(t, "th sport %s@%s ", inv ? "!= " : "", name);
	}
}

/* An xtables match on the source (iptables-nft): iprange, conntrack --ctorigsrc[port],
 * tcp/udp --sport, multiport --sports; maybe inverted. */
static void match_xt(struct gen *g, struct pc_nft_rule *r, const struct fam *f, char *t)
{
	uint16_t p = near_port(), q = near_port(), lo = p < q ? p : q, hi = p < q ? q : p;
	pc_u128 v = near(f), w = near(f);
	bool inv = !rnd(3);
	unsigned kind = rnd(4);

	if (kind == 0) {
		struct xt_iprange_mtinfo i = {.flags = IPRANGE_SRC | (inv ? IPRANGE_SRC_INV : 0)};

		pc_u128_to_be(v < w ? v : w, (uint8_t *)&i.src_min, f->ab);
		pc_u128_to_be(v < w ? w : v, (uint8_t *)&i.src_max, f->ab);
		nb_xt(r, false, "iprange", 1, &i, sizeof(i));
		txt(t, "-m iprange %s--src-range (%u bytes) ", inv ? "! " : "", f->ab);
	} else if (kind == 1) {
		struct xt_conntrack_mtinfo3 c = {.match_flags = XT_CONNTRACK_ORIGSRC};
		uint32_t m = rnd(2) ? 0xffffff00u : (uint32_t)rnd64();

		memset(&c.origsrc_mask, 0xff, f->ab);
		pc_u128_to_be(m, (uint8_t *)&c.origsrc_mask + f->ab - 4, 4);
		pc_u128_to_be(v, (uint8_t *)&c.origsrc_addr, f->ab);
		c.invert_flags = inv ? XT_CONNTRACK_ORIGSRC : 0;
		if (rnd(2))
			c.match_flags |= XT_CONNTRACK_ORIGSRC_PORT, c.origsrc_port = lo,
								    c.origsrc_port_high = hi;
		nb_xt(r, false, "conntrack", 3, &c, sizeof(c));
		txt(t, "-m conntrack %s--ctorigsrc (low mask %08x) ", inv ? "! " : "", m);
		if (c.match_flags & XT_CONNTRACK_ORIGSRC_PORT)
			txt(t, "--ctorigsrcport %u:%u ", lo, hi);
	} else if (kind == 2) {
		nb_l4proto(r, g->proto);
		if (g->proto == IPPROTO_TCP) {
			struct xt_tcp x = {{lo, hi}, {0, 65535}, 0,
					   0,	     0,		 inv ? XT_TCP_INV_SRCPT : 0};

			nb_xt(r, false, "tcp", 0, &x, sizeof(x));
		} else {
			struct xt_udp x = {{lo, hi}, {0, 65535}, inv ? XT_UDP_INV_SRCPT : 0};

			nb_xt(r, false, "udp", 0, &x, sizeof(x));
		}
		txt(t, "-m %s %s--sport %u:%u ", g->proto == IPPROTO_TCP ? "tcp" : "udp",
		    inv ? "! " : "", lo, hi);
	} else {
		struct xt_multiport_v1 m = {.flags = XT_MULTIPORT_SOURCE, .invert = inv};

		nb_l4proto(r, g->proto);
		strcat(t, "-m multiport ");
		strcat(t, inv ? "! --sports " : "--sports ");
		for (unsigned i = 0, n = 1 + rnd(4); i < n; i++) {
			p = near_port(), q = near_port();
			lo = p < q ? p : q, hi = p < q ? q : p;
			m.pflags[m.count] = lo != hi; /* a range takes two entries */
			m.ports[m.count++] = lo;
			if (lo != hi)
				m.ports[m.count++] = hi;
			txt(t, lo != hi ? "%u:%u," : "%u,", lo, hi);
		}
		strcat(t, " ");
		nb_xt(r, false, "multiport", 1, &m, sizeof(m));
	}
}

/* A rule of chain @ci: one or two matches, maybe a counter, a verdict. */
static void gen_rule(struct gen *g, size_t ci, bool in_sub, bool pre)
{
	char t[512] = "";
	struct pc_nft_rule *r = nb_rule(&T(g)->chains[ci], "");
	const struct fam *f = g->tfamily == NFPROTO_IPV4   ? &g->f4
			      : g->tfamily == NFPROTO_IPV6 ? &g->f6
			      : rnd(2)			   ? &g->f4
							   : &g->f6;
	bool vmap;

	g->vmap = false;
	g->jump_ok = g->has_sub && !in_sub && !pre;
	for (unsigned i = 0, n = 1 + !rnd(3); i < n; i++) {
		unsigned k = rnd(10);

		if (k < 6)
			match_addr(g, r, f, t);
		else if (k < 9 || g->tfamily == NFPROTO_INET) /* xtables: ip and ip6 only */
			match_port(g, r, t);
		else
			match_xt(g, r, f, t);
		if (g->vmap) /* a verdict map decides: nothing after it */
			break;
	}
	vmap = g->vmap;
	if (rnd(3) == 0) {
		nb_counter(r);
		strcat(t, "counter ");
	}
	if (!vmap && !rnd(20)) { /* runtime state: both outcomes are explored */
		nb_simple(r, PC_NFT_EXPR_LIMIT, "limit");
		strcat(t, "limit rate 10/second ");
	}
	if (!vmap) {
		unsigned v = rnd(in_sub ? 6 : 5);

		if (v == 0) {
			nb_accept(r), strcat(t, "accept");
		} else if (v == 1) {
			nb_drop(r), strcat(t, "drop");
		} else if (v == 2 && !pre) {
			uint8_t code = (uint8_t)rnd(4); /* icmpx in inet; the family's own else */

			nb_reject(r,
				  g->tfamily == NFPROTO_INET ? NFT_REJECT_ICMPX_UNREACH
							     : NFT_REJECT_ICMP_UNREACH,
				  code);
			txt(t, "reject with %s code %u",
			    g->tfamily == NFPROTO_INET ? "icmpx" : "icmp", code);
		} else if (v == 3 && g->jump_ok) {
			bool go = !rnd(4);

			nb_verdict(r, go ? NFT_GOTO : NFT_JUMP, "sub");
			strcat(t, go ? "goto sub" : "jump sub");
		} else if (v == 5) {
			nb_return(r), strcat(t, "return");
		} else {
			strcat(t, "(no verdict)");
		}
	}
	free(r->text);
	r->text = nb_strdup(t);
}

/* The ruleset of @seed. */
static void gen_ruleset(struct gen *g, uint64_t seed)
{
	static const uint32_t fams[] = {NFPROTO_INET, NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6};
	struct pc_nft_table *t;
	size_t in, sub = 0, pre = 0;

	rng = seed * 0x2545f4914f6cdd1dull + 1;
	memset(g, 0, sizeof(*g));
	g->tfamily = fams[rnd(4)];
	g->proto = rnd(2) ? IPPROTO_TCP : IPPROTO_UDP;
	g->dport = rnd(2) ? 22 : (uint16_t)(1 + rnd(1000));
	g->f4 = (struct fam){4, 32, NFPROTO_IPV4, (pc_u128)(1 + rnd(126)) << 24 | rnd(1 << 24)};
	g->f6 = (struct fam){16, 128, NFPROTO_IPV6, (pc_u128)0x2001 << 112 | rnd128(112)};
	if (rnd(3) == 0)
		g->f6.hub = (pc_u128)0xfe80 << 112 | rnd128(64);
	g->has_sub = rnd(2);
	g->has_pre = !rnd(3);
	t = nb_table(&g->rs, g->tfamily, "filter");
	in = t->n_chains;
	nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, rnd(2) ? NF_ACCEPT : NF_DROP);
	if (g->has_sub)
		sub = t->n_chains, nb_chain(t, "sub");
	if (g->has_pre)
		pre = t->n_chains,
		nb_base_chain(t, "prerouting", "filter", NF_INET_PRE_ROUTING, 0, NF_ACCEPT);
	for (unsigned i = 0, n = 2 + rnd(9); i < n; i++)
		gen_rule(g, in, false, false);
	for (unsigned i = 0, n = g->has_sub ? 1 + rnd(4) : 0; i < n; i++)
		gen_rule(g, sub, true, false);
	for (unsigned i = 0, n = g->has_pre ? 1 + rnd(3) : 0; i < n; i++)
		gen_rule(g, pre, false, true);
	if (g->tfamily != NFPROTO_IPV6 && !rnd(5)) { /* DNAT by the source (IPv4) */
		char a[PC_ADDRSTRLEN], pfx[PC_PREFIXSTRLEN], txt[128];
		unsigned len = 8 + rnd(25);
		const char *to = rnd(2) ? "198.51.100.2" : "192.0.2.10";
		struct pc_nft_rule *r;

		text_addr(&g->f4, near(&g->f4) & (pc_u128_max(32) ^ pc_u128_max(32 - len)), a);
		snprintf(pfx, sizeof(pfx), "%s/%u", a, len);
		snprintf(txt, sizeof(txt), "ip saddr %s dnat to %s:8080", pfx, to);
		t = nb_table(&g->rs, NFPROTO_IPV4, "nat");
		r = nb_rule(
		    nb_base_chain(t, "PREROUTING", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT),
		    txt);
		nb_addr_match(r, pfx, false, NFT_CMP_EQ);
		nb_dnat_to(r, NFPROTO_IPV4, to, 8080);
	}
}

/* --- the oracle of the literals: sets by a plain scan ----------------------------------- */

struct orange {
	const uint8_t *lo, *hi;
	const struct pc_nft_set_elem *e;
};

/* A set as this test reads it: per element the keys it matches, compared as its backend
 * does (hash: the whole key; pipapo: each field's own bytes; rbtree: start up to the next
 * greater element - 1). */
struct oset {
	const struct pc_nft_set *s;
	unsigned klen, nf, foff[16], flen[16];
	bool per_field;
	struct orange *r;
	size_t n;
	uint8_t *his;
};

static struct oset osets[64];
static size_t n_osets;

static int key_cmp(const void *a, const void *b, void *klen)
{
	const struct pc_nft_set_elem *x = *(const struct pc_nft_set_elem *const *)a;
	const struct pc_nft_set_elem *y = *(const struct pc_nft_set_elem *const *)b;

	return memcmp(x->key, y->key, *(unsigned *)klen);
}

static struct oset *oset_get(const struct pc_nft_set *s)
{
	struct oset *o;
	const struct pc_nft_set_elem **el;
	size_t m = 0;

	for (size_t i = 0; i < n_osets; i++)
		if (osets[i].s == s)
			return &osets[i];
	assert_true(n_osets < 64);
	o = &osets[n_osets++];
	*o = (struct oset){.s = s, .klen = s->key_len, .nf = 1, .flen = {s->key_len}};
	for (unsigned f = 0, off = 0; s->field_count > 1 && f < s->field_count; f++) {
		o->nf = s->field_count;
		o->foff[f] = off, o->flen[f] = s->field_len[f];
		off += (s->field_len[f] + 3) / 4 * 4;
	}
	o->r = calloc(s->n_elems + 1, sizeof(*o->r));
	o->his = calloc(s->n_elems + 1, o->klen);
	el = calloc(s->n_elems + 1, sizeof(*el));
	assert_true(o->r && o->his && el);
	for (size_t i = 0; i < s->n_elems; i++)
		if (!(s->elems[i].flags & NFT_SET_ELEM_CATCHALL)) {
			/* the oracle reads klen bytes of each key (and key end): the generator
			 * makes them that long; the arena holds no more */
			assert_int_equal(s->elems[i].key_len, o->klen);
			assert_true(!s->elems[i].key_end_len || s->elems[i].key_end_len == o->klen);
			el[m++] = &s->elems[i];
		}
	qsort_r(el, m, sizeof(*el), key_cmp, &o->klen);
	for (size_t i = 0; i < m; i++) {
		uint8_t *hi = o->his + o->n * o->klen;
		size_t j = i + 1;

		if (el[i]->flags & NFT_SET_ELEM_INTERVAL_END)
			continue;
		if (!(s->flags & NFT_SET_INTERVAL) || el[i]->key_end_len) {
			o->per_field = (s->flags & NFT_SET_INTERVAL) != 0;
			memcpy(hi, el[i]->key_end_len ? el[i]->key_end : el[i]->key, o->klen);
		} else {
			while (j < m && !memcmp(el[j]->key, el[i]->key, o->klen))
				j++;
			memset(hi, 0xff, o->klen);
			if (j < m) { /* the next greater key, minus one */
				pc_u128 v = pc_u128_from_be(el[j]->key, o->klen) - 1;

				assert_true(o->klen <= 16);
				pc_u128_to_be(v, hi, o->klen);
			}
		}
		o->r[o->n++] = (struct orange){el[i]->key, hi, el[i]};
	}
	free(el);
	return o;
}

static bool verdict_eq(const struct pc_nft_verdict *a, const struct pc_nft_verdict *b)
{
	return a->code == b->code &&
	       (a->chain == b->chain || (a->chain && b->chain && !strcmp(a->chain, b->chain)));
}

static bool oset_has(const struct pc_src_lit *l, unsigned ab, pc_u128 x)
{
	struct oset *o = oset_get(l->set);
	unsigned fo = o->foff[l->sym_field], fl = o->flen[l->sym_field], w = l->port ? 2 : ab;
	uint8_t key[PC_NFT_DATA_MAX];

	memcpy(key, l->key, o->klen); /* x's first fl bytes in the source's field */
	assert_true(fl <= w);
	pc_u128_to_be(x >> (w - fl) * 8, key + fo, fl);
	for (size_t i = 0; i < o->n; i++) {
		const struct orange *r = &o->r[i];
		bool in = true;

		if (o->per_field) {
			for (unsigned f = 0; f < o->nf && in; f++)
				in =
				    memcmp(key + o->foff[f], r->lo + o->foff[f], o->flen[f]) >= 0 &&
				    memcmp(key + o->foff[f], r->hi + o->foff[f], o->flen[f]) <= 0;
		} else {
			in = memcmp(key, r->lo, o->klen) >= 0 && memcmp(key, r->hi, o->klen) <= 0;
		}
		if (!in)
			continue;
		if (l->has_verdict &&
		    !verdict_eq(&(struct pc_nft_verdict){r->e->verdict_code, r->e->verdict_chain},
				&l->verdict))
			continue;
		if (l->has_data &&
		    (r->e->data_len != l->data.len || memcmp(r->e->data, l->data.v, l->data.len)))
			continue;
		return true;
	}
	return false;
}

static void osets_clear(void)
{
	for (size_t i = 0; i < n_osets; i++)
		free(osets[i].r), free(osets[i].his);
	n_osets = 0;
}

static bool lit_holds(const struct pc_src_lit *l, unsigned ab, pc_u128 a, pc_u128 p)
{
	pc_u128 x = l->port ? p : a;
	bool h;

	if (l->kind == PC_SRC_LIT_RANGE)
		h = l->a <= x && x <= l->b;
	else if (l->kind == PC_SRC_LIT_MASK)
		h = (x & l->a) == l->b;
	else
		h = oset_has(l, ab, x);
	return h != l->negated;
}

/* --- reporting -------------------------------------------------------------------------- */

static void print_ruleset(const struct pc_nft_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_tables; i++) {
		const struct pc_nft_table *t = &rs->tables[i];

		printf("  table %s %s\n",
		       t->family == NFPROTO_INET   ? "inet"
		       : t->family == NFPROTO_IPV4 ? "ip"
						   : "ip6",
		       t->name);
		for (size_t j = 0; j < t->n_sets; j++) {
			const struct pc_nft_set *s = &t->sets[j];

			printf("    set %s flags 0x%x key_len %u fields %u, %zu elements:", s->name,
			       s->flags, s->key_len, s->field_count, s->n_elems);
			for (size_t k = 0; k < s->n_elems && k < 16; k++) {
				const struct pc_nft_set_elem *e = &s->elems[k];

				printf(k % 4 ? " " : "\n      ");
				for (unsigned b = 0; b < e->key_len + e->key_end_len; b++)
					printf(b == e->key_len ? "-%02x" : "%02x",
					       b < e->key_len ? e->key[b]
							      : e->key_end[b - e->key_len]);
				printf(e->flags & NFT_SET_ELEM_INTERVAL_END ? "(end)," : ":%d,",
				       e->verdict_code);
			}
			printf("\n");
		}
		for (size_t j = 0; j < t->n_chains; j++) {
			const struct pc_nft_chain *c = &t->chains[j];

			printf("    chain %s (hook %u, policy %u)\n", c->name, c->hooknum,
			       c->policy);
			for (size_t k = 0; k < c->n_rules; k++)
				printf("      [%" PRIu64 "] %s\n", c->rules[k].handle,
				       c->rules[k].text);
		}
	}
}

static int failures;
/* What the seeds exercised: results, unknown ones, literals by kind, (c) and (d) checks. */
static size_t st_res, st_unknown, st_fwd, st_lits[3], st_c, st_d;
static uint64_t failed_seeds[64];
static size_t n_failed_seeds;

/* The first failure of a seed: what, where; the ruleset. */
static void flunk(const struct gen *g, uint64_t seed, int family, pc_u128 a, pc_u128 p,
		  const char *fmt, ...)
{
	char buf[PC_ADDRSTRLEN];
	struct pc_addr ad = pc_addr_from_u128(family, a);
	va_list ap;

	failures++;
	if (n_failed_seeds < 64 && (!n_failed_seeds || failed_seeds[n_failed_seeds - 1] != seed))
		failed_seeds[n_failed_seeds++] = seed;
	printf("FAIL seed %" PRIu64 " %s, source %s port %u: ", seed,
	       family == AF_INET ? "IPv4" : "IPv6", pc_addr_to_string(&ad, buf), (unsigned)p);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n  flow: %s dport %u\n", g->proto == IPPROTO_TCP ? "tcp" : "udp", g->dport);
	print_ruleset(&g->rs);
}

/* --- the properties --------------------------------------------------------------------- */

static bool same_outcome(const struct pc_nft_result *s, const struct pc_nft_result *c)
{
	if (s->verdict != c->verdict || s->has_rule != c->has_rule ||
	    s->forwarded != c->forwarded || s->dnat_local != c->dnat_local)
		return false;
	if (s->verdict == PC_VERDICT_REJECT && (s->reject.tcp_reset != c->reject.tcp_reset ||
						s->reject.icmp_type != c->reject.icmp_type ||
						s->reject.icmp_code != c->reject.icmp_code))
		return false;
	if (s->has_rule &&
	    (s->rule.policy != c->rule.policy || s->rule.handle != c->rule.handle ||
	     strcmp(s->rule.table, c->rule.table) || strcmp(s->rule.chain, c->rule.chain)))
		return false;
	return !(s->forwarded || s->dnat_local) ||
	       (pc_addr_equal(&s->fwd_addr, &c->fwd_addr) && s->fwd_port == c->fwd_port);
}

/* A result's box as explicit lists (the engine shares big lists between boxes). */
struct flat {
	struct pc_ivlist addr, port;
};

static struct flat *flatten(const struct pc_src_result *v, size_t n)
{
	struct flat *f = calloc(n ? n : 1, sizeof(*f));

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(pc_srcdim_to_list(&v[i].addr, &f[i].addr), 0);
		assert_int_equal(pc_srcdim_to_list(&v[i].port, &f[i].port), 0);
	}
	return f;
}

static void flat_free(struct flat *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pc_ivlist_clear(&f[i].addr), pc_ivlist_clear(&f[i].port);
	free(f);
}

static bool in_box(const struct pc_src_result *r, pc_u128 a, pc_u128 p)
{
	return pc_srcdim_has(&r->addr, a) && pc_srcdim_has(&r->port, p);
}

/* A value of @l: @v when it is in it, else a random one. */
static pc_u128 snap(const struct pc_ivlist *l, pc_u128 v)
{
	const struct pc_ivl *i = &l->v[rnd((uint32_t)l->n)];

	if (pc_ivlist_find(l, v) >= 0)
		return v;
	return i->lo + rnd128(128) % (i->hi - i->lo + (i->hi - i->lo < ~(pc_u128)0));
}

/* The sources asked about: the non-martian addresses (all, or random intervals of them)
 * x the ports 1-65535 (or random intervals). */
static void input_box(const struct fam *f, struct pc_ivlist *a, struct pc_ivlist *p)
{
	static const char *const martians4[] = {
	    "0.0.0.0/8",     "127.0.0.0/8",    "224.0.0.0/4",	  "255.255.255.255/32",
	    "192.0.2.10/32", "192.0.2.255/32", "198.51.100.1/32", "203.0.113.10/32"};
	static const char *const martians6[] = {"::/8", "ff00::/8", "2001:db8::10/128",
						"fe80::10/128"};
	const char *const *m = f->ab == 4 ? martians4 : martians6;
	size_t nm = f->ab == 4 ? sizeof(martians4) / sizeof(*m) : sizeof(martians6) / sizeof(*m);
	struct pc_ivlist all = {0}, out = {0}, part = {0};

	assert_int_equal(pc_ivlist_append(&all, 0, pc_u128_max(f->bits)), 0);
	for (size_t i = 0; i < nm; i++) {
		struct pc_prefix pf;
		pc_u128 lo;

		assert_int_equal(pc_prefix_from_string(m[i], &pf), 0);
		lo = pc_addr_to_u128(&pf.addr);
		assert_int_equal(pc_ivlist_append(&out, lo, lo | pc_u128_max(f->bits - pf.len)), 0);
	}
	assert_int_equal(pc_ivlist_normalize(&out), 0);
	if (rnd(2)) {
		assert_int_equal(pc_ivlist_subtract(&all, &out, a), 0);
	} else {
		for (unsigned i = 0, n = 1 + rnd(3); i < n; i++) {
			pc_u128 lo = near(f), hi = lo + rnd128(rnd(2) ? 16 : f->bits / 2);

			assert_int_equal(pc_ivlist_append(&part, lo, hi < lo ? lo : hi), 0);
		}
		assert_int_equal(pc_ivlist_normalize(&part), 0);
		assert_int_equal(pc_ivlist_subtract(&part, &out, a), 0);
	}
	if (rnd(2)) {
		assert_int_equal(pc_ivlist_append(p, PC_SRC_PORT_MIN, PC_SRC_PORT_MAX), 0);
	} else {
		for (unsigned i = 0, n = 1 + rnd(3); i < n; i++) {
			uint16_t x = near_port() | 1, y = near_port() | 1;

			assert_int_equal(pc_ivlist_append(p, x < y ? x : y, x < y ? y : x), 0);
		}
		assert_int_equal(pc_ivlist_normalize(p), 0);
	}
	pc_ivlist_clear(&all), pc_ivlist_clear(&out), pc_ivlist_clear(&part);
}

/* (a): disjoint boxes inside the input whose union is the input (what is left of the input
 * after taking every box out is empty). Returns false after fail(). */
static bool check_partition(const struct gen *g, uint64_t seed, int family,
			    const struct pc_ivlist *ia, const struct pc_ivlist *ip,
			    const struct pc_src_result *v, size_t n)
{
	struct pc_ivlist(*left)[2] = calloc(2 * n + 2, sizeof(*left)), x = {0};
	struct flat *fv = flatten(v, n);
	size_t nl = 1;
	bool ok = true;

	assert_non_null(left);
	assert_int_equal(pc_ivlist_copy(ia, &left[0][0]), 0);
	assert_int_equal(pc_ivlist_copy(ip, &left[0][1]), 0);
	for (size_t i = 0; i < n && ok; i++) {
		if (fv[i].addr.n == 0 || fv[i].port.n == 0 || !pc_ivlist_subset(&fv[i].addr, ia) ||
		    !pc_ivlist_subset(&fv[i].port, ip)) {
			flunk(g, seed, family, 0, 0, "(a) result %zu: empty or outside the input",
			      i);
			ok = false;
		}
		for (size_t j = i + 1; j < n && ok; j++) {
			assert_int_equal(pc_ivlist_intersect(&fv[i].addr, &fv[j].addr, &x), 0);
			if (x.n > 0) {
				pc_u128 a = x.v[0].lo;

				assert_int_equal(pc_ivlist_intersect(&fv[i].port, &fv[j].port, &x),
						 0);
				if (x.n > 0) {
					flunk(g, seed, family, a, x.v[0].lo,
					      "(a) results %zu and %zu overlap here", i, j);
					ok = false;
				}
			}
		}
		/* Take the box out of every box left: (A \ Ra) x P and (A & Ra) x (P \ Rp). */
		for (size_t k = 0, m = nl; k < m && ok; k++) {
			struct pc_ivlist in = {0};

			assert_int_equal(pc_ivlist_intersect(&left[k][0], &fv[i].addr, &in), 0);
			assert_int_equal(pc_ivlist_subtract(&left[k][0], &fv[i].addr, &x), 0);
			assert_int_equal(pc_ivlist_copy(&x, &left[k][0]), 0);
			assert_int_equal(pc_ivlist_subtract(&left[k][1], &fv[i].port, &x), 0);
			assert_true(nl < 2 * n + 2);
			left[nl][0] = in;
			assert_int_equal(pc_ivlist_copy(&x, &left[nl++][1]), 0);
		}
		for (size_t k = 0; k < nl;) { /* drop the empty boxes */
			if (left[k][0].n && left[k][1].n) {
				k++;
				continue;
			}
			pc_ivlist_clear(&left[k][0]), pc_ivlist_clear(&left[k][1]);
			left[k][0] = left[nl - 1][0], left[k][1] = left[nl - 1][1];
			left[--nl][0] = (struct pc_ivlist){0}, left[nl][1] = (struct pc_ivlist){0};
		}
	}
	if (ok && nl > 0) {
		flunk(g, seed, family, left[0][0].v[0].lo, left[0][1].v[0].lo,
		      "(a) this source is in no result");
		ok = false;
	}
	for (size_t k = 0; k < nl; k++)
		pc_ivlist_clear(&left[k][0]), pc_ivlist_clear(&left[k][1]);
	free(left);
	flat_free(fv, n);
	pc_ivlist_clear(&x);
	return ok;
}

struct src {
	pc_u128 a, p;
};

static void add_src(struct src **v, size_t *n, const struct pc_ivlist *ia,
		    const struct pc_ivlist *ip, pc_u128 a, pc_u128 p)
{
	if (pc_ivlist_find(ia, a) < 0 || pc_ivlist_find(ip, p) < 0)
		return;
	if ((*n & (*n - 1)) == 0) /* grow at powers of two */
		assert_non_null(*v = reallocarray(*v, *n ? 2 * *n : 1, sizeof(**v)));
	(*v)[(*n)++] = (struct src){a, p};
}

/* The sources to try: random ones, and every interval end of every result +-1 (an address
 * end with a port of the result, a port end with the result's example address). */
static void sources(const struct fam *f, const struct pc_ivlist *ia, const struct pc_ivlist *ip,
		    const struct pc_src_result *v, size_t n, struct src **out, size_t *nout)
{
	for (unsigned i = 0; i < SAMPLES; i++) {
		pc_u128 a = snap(ia, rnd(2) ? near(f) : rnd128(f->bits));

		add_src(out, nout, ia, ip, a, snap(ip, near_port()));
	}
	struct flat *fv = flatten(v, n);

	for (size_t i = 0; i < n; i++) {
		const struct pc_src_result *r = &v[i];
		const struct flat *fr = &fv[i];
		pc_u128 ex = pc_addr_to_u128(&r->example);

		for (size_t k = 0; k < fr->addr.n; k++) {
			pc_u128 lo = fr->addr.v[k].lo, hi = fr->addr.v[k].hi;
			pc_u128 p = snap(&fr->port, r->example_port);

			add_src(out, nout, ia, ip, lo, p);
			add_src(out, nout, ia, ip, hi, p);
			if (lo > 0)
				add_src(out, nout, ia, ip, lo - 1, p);
			if (hi < pc_u128_max(f->bits))
				add_src(out, nout, ia, ip, hi + 1, p);
		}
		for (size_t k = 0; k < fr->port.n; k++) {
			pc_u128 lo = fr->port.v[k].lo, hi = fr->port.v[k].hi;

			add_src(out, nout, ia, ip, ex, lo);
			add_src(out, nout, ia, ip, ex, hi);
			add_src(out, nout, ia, ip, ex, lo - 1);
			add_src(out, nout, ia, ip, ex, hi + 1);
		}
	}
	flat_free(fv, n);
}

/* Every property for one family's flow; false after a failure. */
static bool check_family(struct gen *g, const struct pc_netif *ni, uint64_t seed,
			 const struct fam *f)
{
	int family = f->ab == 4 ? AF_INET : AF_INET6;
	struct pc_flow flow = nb_flow(g->proto, f->ab == 4 ? "192.0.2.99" : "2001:db8::99",
				      f->ab == 4 ? "192.0.2.10" : "2001:db8::10", g->dport, ETH0);
	struct pc_ivlist ia = {0}, ip = {0};
	struct pc_src_result *v = NULL;
	struct src *pts = NULL;
	size_t n = 0, npts = 0, stride;
	bool ok = false;

	input_box(f, &ia, &ip);
	if (ia.n == 0 || ip.n == 0) {
		ok = true;
		goto out;
	}
	assert_int_equal(pc_nft_eval_sources(&g->rs, ni, &flow, &ia, &ip, &v, &n), 0);
	if (!check_partition(g, seed, family, &ia, &ip, v, n))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!in_box(&v[i], pc_addr_to_u128(&v[i].example), v[i].example_port)) {
			flunk(g, seed, family, pc_addr_to_u128(&v[i].example), v[i].example_port,
			      "(b) the example of result %zu is outside its box", i);
			goto out;
		}
	}
	st_res += n;
	for (size_t i = 0; i < n; i++) {
		st_unknown += v[i].res.verdict == PC_VERDICT_UNKNOWN;
		st_fwd += v[i].res.forwarded || v[i].res.dnat_local;
		for (size_t l = 0; l < v[i].n_lits; l++)
			st_lits[v[i].lits[l].kind]++;
		if (getenv("SYMSRC_VERBOSE") && v[i].res.verdict == PC_VERDICT_UNKNOWN)
			printf("seed %" PRIu64 " unknown: %s\n", seed, v[i].res.unknown_reason);
	}
	sources(f, &ia, &ip, v, n, &pts, &npts);
	stride = npts > SAMPLES + DCHECK_MAX ? (npts - SAMPLES) / DCHECK_MAX + 1 : 1;
	for (size_t k = 0; k < npts; k++) {
		const struct src *s = &pts[k];
		const struct pc_src_result *r = NULL;
		struct pc_nft_result c = {0};

		for (size_t i = 0; i < n; i++)
			if (in_box(&v[i], s->a, s->p))
				r = &v[i];
		assert_non_null(r);			    /* (a) holds */
		if (r->res.verdict != PC_VERDICT_UNKNOWN) { /* (c) */
			flow.saddr = pc_addr_from_u128(family, s->a);
			flow.sport = (uint16_t)s->p;
			assert_int_equal(pc_nft_eval_path(&g->rs, ni, &flow, false, &c), 0);
			st_c++;
			if (!same_outcome(&r->res, &c)) {
				flunk(g, seed, family, s->a, s->p,
				      "(c) the concrete outcome differs from its result's "
				      "(result %zu)",
				      (size_t)(r - v));
				print_result("symbolic", &r->res);
				print_result("concrete", &c);
				pc_nft_result_clear(&c);
				goto out;
			}
			pc_nft_result_clear(&c);
		}
		if (k >= SAMPLES && (k - SAMPLES) % stride)
			continue;
		st_d++;
		for (size_t i = 0; i < n; i++) { /* (d) */
			bool all = true;
			size_t bad = 0;

			for (size_t l = 0; l < v[i].n_lits && all; l++)
				if (!lit_holds(&v[i].lits[l], f->ab, s->a, s->p))
					all = false, bad = l;
			if (all != (r == &v[i])) {
				flunk(g, seed, family, s->a, s->p,
				      "(d) result %zu (%s): the source is %s its box but its "
				      "literals %s (literal %zu of %zu)",
				      i, pc_verdict_to_string(v[i].res.verdict),
				      r == &v[i] ? "in" : "not in", all ? "all hold" : "do not",
				      bad, v[i].n_lits);
				goto out;
			}
		}
	}
	ok = true;
out:
	free(pts);
	pc_src_results_free(v, n);
	pc_ivlist_clear(&ia), pc_ivlist_clear(&ip);
	return ok;
}

static void run_seeds(void)
{
	struct pc_netif ni = {0};
	struct timespec t0, t1;
	struct gen g;
	uint64_t first = 1, last = SEEDS;

	prop_host(&ni);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* SYMSRC_SEEDS=FIRST-LAST explores other seeds. */
	if (getenv("SYMSRC_SEEDS"))
		sscanf(getenv("SYMSRC_SEEDS"), "%" SCNu64 "-%" SCNu64, &first, &last);
	for (uint64_t seed = first; seed <= last; seed++) {
		gen_ruleset(&g, seed);
		if (g.tfamily != NFPROTO_IPV6)
			check_family(&g, &ni, seed, &g.f4);
		if (g.tfamily != NFPROTO_IPV4)
			check_family(&g, &ni, seed, &g.f6);
		osets_clear();
		pc_nft_ruleset_clear(&g.rs);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%" PRIu64 " seeds in %.2f s: %zu results (%zu unknown, %zu DNAT'd), literals %zu "
	       "range %zu mask %zu "
	       "set, %zu sources compared (c), %zu described (d); %d failures",
	       last - first + 1,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, st_res,
	       st_unknown, st_fwd, st_lits[0], st_lits[1], st_lits[2], st_c, st_d, failures);
	for (size_t i = 0; i < n_failed_seeds; i++)
		printf("%s%" PRIu64, i ? ", " : " (seeds ", failed_seeds[i]);
	printf("%s\n", n_failed_seeds ? ")" : "");
	pc_netif_free(&ni);
	assert_int_equal(failures, 0);
}

static void test_symbolic_sources(void **state)
{
	(void)state;
	run_seeds();
}

/*
 * The same with every set's projection shared with the boxes as a base (srcdim.h), the way
 * big sets go (the random sets are small, so by default they go into the clip): once with
 * every base kept a base (two different ones intersected into a new one), once with
 * small bases folded into the clip as big boxes meet small sets.
 */
static void shared_seeds(size_t fold_max)
{
	size_t saved_fold = pc_srcdim_fold_max;

	pc_srcdim_fold_max = fold_max;
	run_seeds();
	pc_srcdim_fold_max = saved_fold;
}

static void test_symbolic_sources_shared(void **state)
{
	(void)state;
	shared_seeds(0);
}

static void test_symbolic_sources_folded(void **state)
{
	(void)state;
	shared_seeds(2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_symbolic_sources),
	    cmocka_unit_test(test_symbolic_sources_shared),
	    cmocka_unit_test(test_symbolic_sources_folded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
