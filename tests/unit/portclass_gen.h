/* SPDX-License-Identifier: MIT */
/*
 * The random rulesets of the port class property test (test_portclass_prop.c, which says
 * what they hold): deterministic per seed, built with nftbuild.h. gen_ruleset() makes
 * one; the ports it names are in consts[], the use of the port the scan must call distinct
 * (or may) in must (maybe).
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prop_host.h"

#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/xt_multiport.h>
#include <linux/netfilter/xt_tcpudp.h>

/* --- the ruleset ------------------------------------------------------------------------ */

struct gen {
	struct pc_nft_ruleset rs;
	uint32_t tfamily;
	bool has_sub, jump_ok, vmap, only_eq;
	int n_sets;
	uint16_t consts[512]; /* the ports the ruleset names */
	size_t n_consts;
	const char *must;  /* a use the scan must call distinct */
	const char *maybe; /* a use it may model or call distinct */
	unsigned bad_rule, n_rules;
};

static struct pc_nft_table *T(struct gen *g)
{
	return &g->rs.tables[0];
}

static uint16_t port_const(struct gen *g)
{
	static const uint16_t hubs[] = {22, 80, 443, 1024, 8000, 0, 65535, 255, 256, 32768, 53};
	uint16_t h = hubs[rnd(sizeof(hubs) / sizeof(hubs[0]))];
	uint16_t p = rnd(4) ? (uint16_t)(h + rnd(9) - 4) : (uint16_t)rnd(65536);

	if (g->n_consts < 512)
		g->consts[g->n_consts++] = p;
	return p;
}

static void __attribute__((format(printf, 2, 3))) txt(char *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsprintf(t + strlen(t), fmt, ap);
	va_end(ap);
}

static const char *const opname[] = {"==", "!=", "<", "<=", ">", ">="};

static uint8_t proto_dep(struct gen *g, struct pc_nft_rule *r, char *t)
{
	uint8_t p = rnd(3) ? IPPROTO_TCP : IPPROTO_UDP;

	nb_l4proto(r, p);
	txt(t, "%s ", p == IPPROTO_TCP ? "tcp" : "udp");
	(void)g;
	return p;
}

static uint32_t rnd_reg(void)
{
	return rnd(2) ? NFT_REG_1 + rnd(4) : NFT_REG32_00 + rnd(16);
}

/* The first 32-bit register of @reg (NFT_REG_1..4 are 4 of them each). */
static uint32_t reg32(uint32_t reg)
{
	return reg < NFT_REG32_00 ? NFT_REG32_00 + (reg - NFT_REG_1) * 4 : reg;
}

/* Load the destination port into a register (from the header or conntrack, sometimes
 * over another load, sometimes with another load between); the register compared. */
static uint32_t load_dport(struct gen *g, struct pc_nft_rule *r, char *t)
{
	uint32_t reg = rnd_reg(), other;
	unsigned how = rnd(8);

	if (how == 0)
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, reg), strcat(t, "(sport, then) ");
	if (how == 1) {
		nb_ct(r, NFT_CT_PROTO_DST, reg, IP_CT_DIR_ORIGINAL);
		strcat(t, "ct original proto-dst ");
	} else if (how == 2) {
		nb_ct(r, NFT_CT_PROTO_SRC, reg, IP_CT_DIR_REPLY);
		strcat(t, "ct reply proto-src ");
	} else {
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
		strcat(t, "th dport ");
	}
	if (how == 3) { /* another register between load and use */
		other = reg32(reg) == NFT_REG32_15 ? NFT_REG32_00 : reg32(reg) + 1;
		nb_meta(r, NFT_META_L4PROTO, other);
		nb_cmp_u8(r, NFT_CMP_NEQ, other, IPPROTO_ICMP);
	}
	if (how == 4 && reg >= NFT_REG32_00 && reg <= NFT_REG32_12 && (reg - NFT_REG32_00) % 4 == 0)
		reg = NFT_REG_1 + (reg - NFT_REG32_00) / 4; /* the same bytes by their other name */
	(void)g;
	return reg;
}

static struct pc_nft_set *new_set(struct gen *g, char *name, uint32_t flags, uint32_t klen)
{
	sprintf(name, "s%d", g->n_sets++);
	return nb_set(T(g), name, flags, klen);
}

/* A verdict for a map element. */
static void elem_verdict(struct gen *g, struct pc_nft_set_elem *e)
{
	unsigned v = rnd(g->jump_ok ? 4 : 2);

	nb_elem_verdict(e,
			v == 0	 ? NF_ACCEPT
			: v == 1 ? NF_DROP
			: v == 2 ? NFT_JUMP
				 : NFT_GOTO,
			v >= 2 ? "sub" : NULL);
}

/* Elements of a port set: @iv rbtree intervals (start, end + 1 flagged, the last maybe
 * open-ended), else single ports; map 1: verdicts, 2: data 1..3; maybe a catch-all. */
static void port_elems(struct gen *g, struct pc_nft_set *s, bool iv, int map)
{
	uint16_t v[12];
	unsigned n = 1 + rnd(5) * (iv ? 2 : 1);
	int last = -1;

	for (unsigned i = 0; i < n; i++)
		v[i] = port_const(g);
	for (unsigned i = 0; i < n; i++) /* sort */
		for (unsigned j = i + 1; j < n; j++)
			if (v[j] < v[i]) {
				uint16_t x = v[i];
				v[i] = v[j], v[j] = x;
			}
	for (unsigned i = 0; i < n; i += iv ? 2 : 1) {
		uint16_t k = htons(v[i]), e;
		uint32_t d = 1 + rnd(3);
		struct pc_nft_set_elem *el;

		if ((int)v[i] <= last || (iv && i + 1 >= n))
			continue;
		el = nb_elem(s, &k, 2, 0);
		if (map == 1)
			elem_verdict(g, el);
		else if (map == 2)
			nb_bytes(s, &el->data, &el->data_len, &d, 4);
		last = v[i];
		if (iv && v[i + 1] < 65535) {
			e = htons((uint16_t)(v[i + 1] + 1));
			nb_elem(s, &e, 2, NFT_SET_ELEM_INTERVAL_END);
			last = v[i + 1] + 1;
		} else if (iv) {
			break; /* open-ended */
		}
	}
	if (map && !rnd(3)) {
		struct pc_nft_set_elem *el = nb_elem_catchall(s);
		uint32_t d = 1 + rnd(3);

		if (map == 1)
			elem_verdict(g, el);
		else
			nb_bytes(s, &el->data, &el->data_len, &d, 4);
	}
}

/* One supported match on the destination port. */
static void match_dport(struct gen *g, struct pc_nft_rule *r, char *t)
{
	unsigned kind = g->only_eq ? 0 : rnd(g->tfamily == NFPROTO_INET ? 8 : 10);
	char name[16];
	uint32_t reg;

	if (kind >= 8) { /* xtables */
		bool tcp = proto_dep(g, r, t) == IPPROTO_TCP, inv = !rnd(3);
		uint16_t a = port_const(g), b = port_const(g), lo = a < b ? a : b,
			 hi = a < b ? b : a;

		if (kind == 8 && tcp) {
			struct xt_tcp x = {{0, 65535}, {lo, hi}, 0,
					   0,	       0,	 inv ? XT_TCP_INV_DSTPT : 0};

			nb_xt(r, false, "tcp", 0, &x, sizeof(x));
		} else if (kind == 8) {
			struct xt_udp x = {{0, 65535}, {lo, hi}, inv ? XT_UDP_INV_DSTPT : 0};

			nb_xt(r, false, "udp", 0, &x, sizeof(x));
		}
		if (kind == 8) {
			txt(t, "-m %s %s--dport %u:%u ", tcp ? "tcp" : "udp", inv ? "! " : "", lo,
			    hi);
			return;
		}
		struct xt_multiport_v1 m = {.flags = rnd(3) ? XT_MULTIPORT_DESTINATION
							    : XT_MULTIPORT_EITHER,
					    .invert = inv};

		txt(t, "-m multiport %s--%s ", inv ? "! " : "",
		    m.flags == XT_MULTIPORT_EITHER ? "ports" : "dports");
		for (unsigned i = 0, n = 1 + rnd(4); i < n; i++) {
			a = port_const(g), b = port_const(g);
			lo = a < b ? a : b, hi = a < b ? b : a;
			m.pflags[m.count] = lo != hi;
			m.ports[m.count++] = lo;
			if (lo != hi)
				m.ports[m.count++] = hi;
			txt(t, lo != hi ? "%u:%u," : "%u,", lo, hi);
		}
		strcat(t, " ");
		nb_xt(r, false, "multiport", 1, &m, sizeof(m));
		return;
	}
	proto_dep(g, r, t);
	reg = load_dport(g, r, t);
	if (kind <= 1) { /* cmp, both bytes */
		uint32_t op = g->only_eq ? NFT_CMP_EQ : rnd(6);
		uint16_t v = port_const(g);

		nb_cmp_be16(r, op, reg, v);
		txt(t, "%s %u ", opname[op], v);
	} else if (kind == 2) { /* cmp, high byte */
		uint32_t op = rnd(6);
		uint8_t v = (uint8_t)(port_const(g) >> 8);

		if (rnd(3)) {
			nb_cmp_u8(r, op, reg, v);
			txt(t, "[high byte] %s 0x%02x ", opname[op], v);
		} else { /* a range of the high byte */
			uint8_t w = (uint8_t)(v + rnd(3));

			nb_range(r, op % 2, reg, &v, &w, 1);
			txt(t, "[high byte] %sin 0x%02x-0x%02x ", op % 2 ? "not " : "", v, w);
		}
	} else if (kind == 3) {
		uint16_t a = port_const(g), b = port_const(g);
		uint16_t lo = htons(a < b ? a : b), hi = htons(a < b ? b : a);
		uint32_t op = rnd(3) ? NFT_RANGE_EQ : NFT_RANGE_NEQ;

		nb_range(r, op, reg, &lo, &hi, 2);
		txt(t, "%s%u-%u ", op ? "!= " : "", ntohs(lo), ntohs(hi));
	} else if (kind <= 5) { /* hash or interval set */
		bool iv = kind == 5, inv = !rnd(3);
		struct pc_nft_set *s = new_set(g, name, iv ? NFT_SET_INTERVAL : 0, 2);

		port_elems(g, s, iv, 0);
		nb_lookup(r, name, reg, 0, inv ? NFT_LOOKUP_F_INV : 0);
		txt(t, "%s@%s ", inv ? "!= " : "", name);
	} else if (kind == 6) { /* verdict map */
		bool iv = rnd(2);
		struct pc_nft_set *s =
		    new_set(g, name, NFT_SET_MAP | (iv ? NFT_SET_INTERVAL : 0), 2);

		s->data_type = NFT_DATA_VERDICT;
		port_elems(g, s, iv, 1);
		nb_lookup(r, name, reg, NFT_REG_VERDICT, 0);
		txt(t, "vmap @%s ", name);
		g->vmap = true;
	} else { /* data map */
		bool iv = rnd(2);
		struct pc_nft_set *s =
		    new_set(g, name, NFT_SET_MAP | (iv ? NFT_SET_INTERVAL : 0), 2);
		uint32_t d = 1 + rnd(3), dreg = rnd_reg();

		s->data_len = 4;
		port_elems(g, s, iv, 2);
		nb_lookup(r, name, reg, dreg, 0);
		nb_cmp_u32(r, NFT_CMP_EQ, dreg, d);
		txt(t, "map @%s == %u ", name, d);
	}
}

/* A match on the source address (IPv4 in ip and inet tables, else IPv6) or port. */
static void match_source(struct gen *g, struct pc_nft_rule *r, char *t)
{
	static const char *const v4[] = {"203.0.113.0/24", "192.0.2.0/25", "198.51.100.0/24",
					 "198.18.0.0/15", "198.18.5.5/32"};
	static const char *const v6[] = {"2001:db8::/33", "2001:db8:8000::/40",
					 "2001:db8:c000::/34", "2001:db8::99/128"};
	bool six = g->tfamily == NFPROTO_IPV6 || (g->tfamily == NFPROTO_INET && rnd(2));
	uint32_t op = rnd(3) ? NFT_CMP_EQ : NFT_CMP_NEQ;

	if (rnd(3)) {
		const char *p = six ? v6[rnd(4)] : v4[rnd(5)];

		if (g->tfamily == NFPROTO_INET)
			nb_nfproto(r, six ? NFPROTO_IPV6 : NFPROTO_IPV4);
		nb_addr_match(r, p, false, op);
		txt(t, "%s saddr %s%s ", six ? "ip6" : "ip", op ? "!= " : "", p);
	} else {
		uint16_t v = (uint16_t)(rnd(2) ? 40000 + rnd(64) : rnd(65536));
		uint32_t o = rnd(6);

		nb_l4proto(r, rnd(2) ? IPPROTO_TCP : IPPROTO_UDP);
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1);
		nb_cmp_be16(r, o, NFT_REG_1, v);
		txt(t, "th sport %s %u ", opname[o], v);
	}
}

/* A use of the port the scan does not model (@must) or may model (@maybe). */
static void match_odd(struct gen *g, struct pc_nft_rule *r, char *t)
{
	static const char *const musts[] = {
	    "bitwise",	    "concatenation", "DNAT keeping the port", "redirect keeping the port",
	    "jhash",	    "byteorder",     "th dport set",	      "network header write",
	    "unknown expr", "nh load"};
	static const char *const maybes[] = {"th[2] (1 byte)", "th[3] (1 byte)", "th[0-3]",
					     "nh load, no family", "set update"};
	bool must = rnd(3) != 0;
	unsigned k = must ? rnd(10) : rnd(5);
	uint32_t reg = NFT_REG_1;
	uint16_t v = port_const(g), be = htons(v);
	uint8_t b = (uint8_t)rnd(4);
	bool six = g->tfamily == NFPROTO_IPV6 || (g->tfamily == NFPROTO_INET && rnd(2));

	if (must)
		g->must = musts[k];
	else
		g->maybe = maybes[k];
	txt(t, "[%s] ", must ? musts[k] : maybes[k]);
	if (must && (k == 2 || k == 3))
		return; /* in the nat table, below */
	if (rnd(2))
		nb_l4proto(r, IPPROTO_TCP), strcat(t, "tcp ");
	else
		nb_l4proto(r, IPPROTO_UDP), strcat(t, "udp ");
	if (must && k == 0) {
		uint16_t m = htons(0xff00);

		be &= m;
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
		nb_bitwise(r, reg, reg, 2, &m, NULL);
		nb_cmp(r, NFT_CMP_EQ, reg, &be, 2);
	} else if (must && k == 1) {
		char name[16];
		static const uint8_t lens[] = {2, 2};
		uint8_t key[8] = {0x9c, 0x40, 0, 0, (uint8_t)(v >> 8), (uint8_t)v};
		struct pc_nft_set *s = new_set(g, name, 0, 8);

		nb_set_fields(s, 2, lens);
		nb_elem(s, key, 8, 0);
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG32_00);
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
		nb_lookup(r, name, NFT_REG32_00, 0, 0);
	} else if (must && k == 4) {
		struct pc_nft_expr *e;

		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
		e = nb_expr(r, PC_NFT_EXPR_HASH, "hash");
		e->hash.type = NFT_HASH_JENKINS;
		e->hash.sreg = reg, e->hash.dreg = NFT_REG_2, e->hash.len = 2, e->hash.modulus = 2;
		nb_cmp_u32(r, NFT_CMP_EQ, NFT_REG_2, 0);
	} else if (must && k == 5) {
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
		nb_byteorder(r, NFT_BYTEORDER_NTOH, reg, reg, 2, 2);
		nb_cmp_u32(r, NFT_CMP_LT, reg, v);
	} else if (must && k == 6) {
		nb_imm(r, reg, &be, 2);
		nb_payload_set(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
	} else if (must && k == 7) { /* one byte of the port, through the network header */
		if (g->tfamily == NFPROTO_INET)
			nb_nfproto(r, six ? NFPROTO_IPV6 : NFPROTO_IPV4);
		unsigned off = (six ? 42 : 22) + rnd(2);

		nb_imm(r, reg, &b, 1);
		nb_payload_set(r, NFT_PAYLOAD_NETWORK_HEADER, off, 1, reg);
		txt(t, "%s@nh,%u,8 set %u ",
		    g->tfamily == NFPROTO_INET ? (six ? "ip6 " : "ip ") : "", off * 8, b);
	} else if (must && k == 8) {
		nb_simple(r, PC_NFT_EXPR_UNKNOWN, "osf");
	} else if (must) {
		if (g->tfamily == NFPROTO_INET)
			nb_nfproto(r, six ? NFPROTO_IPV6 : NFPROTO_IPV4);
		nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, six ? 40 : 20, 4, reg);
		nb_cmp_u32(r, NFT_CMP_NEQ, reg, rnd(2) ? 0 : (uint32_t)rnd64());
	} else if (k <= 1) {
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2 + k, 1, reg);
		nb_cmp_u8(r, rnd(6), reg, k ? (uint8_t)v : (uint8_t)(v >> 8));
	} else if (k == 2) {
		uint32_t x = htonl(40000u << 16 | v);

		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 4, reg);
		nb_cmp(r, rnd(2) ? NFT_CMP_EQ : NFT_CMP_LT, reg, &x, 4);
	} else if (k == 3) { /* the other family's port offset: the port in one of them */
		nb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, rnd(2) ? 22 : 42, 2, reg);
		nb_cmp_be16(r, rnd(6), reg, v);
	} else {
		char name[16];
		struct pc_nft_set *s = new_set(g, name, 0, 2);
		struct pc_nft_expr *e;

		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
		e = nb_expr(r, PC_NFT_EXPR_DYNSET, "dynset");
		e->dynset.op = NFT_DYNSET_OP_ADD;
		e->dynset.sreg_key = reg;
		e->dynset.set = nb_strdup(name);
		(void)s;
	}
}

/* A rule of chain @ci: one to three matches, maybe a counter, a verdict. */
static void gen_rule(struct gen *g, size_t ci, bool in_sub, bool pre)
{
	char t[1024] = "";
	struct pc_nft_rule *r = nb_rule(&T(g)->chains[ci], "");
	bool odd = g->n_rules++ == g->bad_rule;

	g->vmap = false;
	g->jump_ok = g->has_sub && !in_sub;
	if (odd)
		match_odd(g, r, t);
	for (unsigned i = 0, n = 1 + rnd(3); i < n && !g->vmap; i++) {
		if (rnd(3))
			match_dport(g, r, t);
		else
			match_source(g, r, t);
	}
	if (rnd(4) == 0)
		nb_counter(r), strcat(t, "counter ");
	if (!g->vmap) {
		unsigned v = rnd(in_sub ? 7 : 6);

		if (v == 0) {
			nb_accept(r), strcat(t, "accept");
		} else if (v == 1) {
			nb_drop(r), strcat(t, "drop");
		} else if (v == 2 && !pre) {
			uint8_t code = (uint8_t)rnd(4);

			nb_reject(r,
				  g->tfamily == NFPROTO_INET ? NFT_REJECT_ICMPX_UNREACH
							     : NFT_REJECT_ICMP_UNREACH,
				  code);
			txt(t, "reject code %u", code);
		} else if (v == 3 && g->jump_ok) {
			bool go = !rnd(3);

			nb_verdict(r, go ? NFT_GOTO : NFT_JUMP, "sub");
			strcat(t, go ? "goto sub" : "jump sub");
		} else if (v == 6) {
			nb_return(r), strcat(t, "return");
		} else {
			strcat(t, "(no verdict)");
		}
	}
	free(r->text);
	r->text = nb_strdup(t);
}

/* The nat table: DNAT (or redirect) to a port from an immediate, for some destination
 * ports or sources; or, for a seed whose odd use is one, DNAT or redirect keeping it. */
static void gen_nat(struct gen *g)
{
	static const char *const to[] = {"198.51.100.2", "192.0.2.10"};
	struct pc_nft_table *t = nb_table(&g->rs, NFPROTO_IPV4, "nat");
	struct pc_nft_chain *c =
	    nb_base_chain(t, "PREROUTING", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	bool keep = g->must && (!strcmp(g->must, "DNAT keeping the port") ||
				!strcmp(g->must, "redirect keeping the port"));

	for (unsigned i = 0, n = keep ? 1 : 1 + rnd(3); i < n; i++) {
		char txt[160];
		const char *a = to[rnd(2)];
		uint16_t np = port_const(g) | 1, dp = port_const(g), be = htons(np);
		bool redir = keep ? g->must[0] == 'r' : !rnd(4), by_port = rnd(3);
		struct pc_nft_rule *r;

		if (by_port)
			snprintf(txt, sizeof(txt), "tcp dport %u ", dp);
		else
			snprintf(txt, sizeof(txt), "ip saddr 203.0.113.0/24 ");
		if (keep)
			snprintf(txt + strlen(txt), sizeof(txt) - strlen(txt), "%s%s",
				 redir ? "redirect" : "dnat to ", redir ? "" : a);
		else
			snprintf(txt + strlen(txt), sizeof(txt) - strlen(txt), "%s%s:%u",
				 redir ? "redirect to " : "dnat to ", redir ? "" : a, np);
		r = nb_rule(&c[0], txt);
		if (by_port) {
			nb_l4proto(r, IPPROTO_TCP);
			nb_dport(r, dp);
		} else {
			nb_addr_match(r, "203.0.113.0/24", false, NFT_CMP_EQ);
		}
		if (redir) {
			if (!keep)
				nb_imm(r, NFT_REG_2, &be, 2);
			nb_redir(r, keep ? 0 : NFT_REG_2);
		} else {
			nb_dnat_to(r, NFPROTO_IPV4, a, keep ? 0 : np);
		}
		c = &g->rs.tables[g->rs.n_tables - 1].chains[0];
	}
	if (!keep && rnd(3)) { /* dnat ip to tcp dport map { 80 : 192.0.2.10 . 8080, ... } */
		bool iv = rnd(2);
		struct pc_nft_set *m = nb_set(&g->rs.tables[g->rs.n_tables - 1], "natmap",
					      NFT_SET_MAP | (iv ? NFT_SET_INTERVAL : 0), 2);
		struct pc_nft_rule *r =
		    nb_rule(c, "tcp dport dnat to map @natmap (address . port)");
		uint16_t last = 0;

		m->data_len = 8;
		for (unsigned i = 0, n = 1 + rnd(4); i < n; i++) {
			uint16_t lo = (uint16_t)(last + 1 + rnd(i ? 3000 : 60000)), hi, np, k, e;
			uint8_t d[8] = {192, 0, 2, 10};
			struct pc_nft_set_elem *el;

			hi = iv ? (uint16_t)(lo + rnd(100)) : lo;
			if (lo <= last || hi < lo || hi == 65535)
				break;
			np = port_const(g) | 1;
			if (rnd(2)) /* into its own interval: that port itself is not moved */
				np = (uint16_t)(lo + rnd((uint32_t)(hi - lo) + 1));
			else if (rnd(2))
				d[0] = 198, d[1] = 51, d[2] = 100, d[3] = 2;
			d[4] = (uint8_t)(np >> 8), d[5] = (uint8_t)np;
			k = htons(lo), e = htons((uint16_t)(hi + 1));
			el = nb_elem(m, &k, 2, 0);
			nb_bytes(m, &el->data, &el->data_len, d, 8);
			if (iv)
				nb_elem(m, &e, 2, NFT_SET_ELEM_INTERVAL_END);
			if (g->n_consts < 509)
				g->consts[g->n_consts++] = lo, g->consts[g->n_consts++] = hi,
				g->consts[g->n_consts++] = np;
			last = (uint16_t)(hi + 1);
		}
		nb_l4proto(r, IPPROTO_TCP);
		nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		nb_lookup(r, "natmap", NFT_REG_1, NFT_REG_1, 0);
		nb_nat(r, NFT_NAT_DNAT, NFPROTO_IPV4, NFT_REG32_00, NFT_REG32_01);
	}
}

static void gen_ruleset(struct gen *g, uint64_t seed, bool only_eq)
{
	static const uint32_t fams[] = {NFPROTO_INET, NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6};
	struct pc_nft_table *t;
	size_t in, sub = 0, pre = 0;
	unsigned n_in, n_sub, n_pre;
	bool has_pre, odd, nat;

	rng = seed * 0x2545f4914f6cdd1dull + 7;
	memset(g, 0, sizeof(*g));
	g->only_eq = only_eq;
	g->tfamily = fams[rnd(4)];
	g->has_sub = rnd(2);
	has_pre = !rnd(3);
	odd = !only_eq && !rnd(5);
	nat = !only_eq && !rnd(3);
	n_in = 2 + rnd(7), n_sub = g->has_sub ? 1 + rnd(4) : 0, n_pre = has_pre ? 1 + rnd(3) : 0;
	g->bad_rule = odd ? rnd(n_in + n_sub + n_pre) : UINT32_MAX;
	t = nb_table(&g->rs, g->tfamily, "filter");
	in = t->n_chains;
	nb_base_chain(t, "input", "filter", NF_INET_LOCAL_IN, 0, rnd(2) ? NF_ACCEPT : NF_DROP);
	if (g->has_sub)
		sub = t->n_chains, nb_chain(t, "sub");
	if (has_pre)
		pre = t->n_chains,
		nb_base_chain(t, "prerouting", "filter", NF_INET_PRE_ROUTING, 0, NF_ACCEPT);
	for (unsigned i = 0; i < n_in; i++)
		gen_rule(g, in, false, false);
	for (unsigned i = 0; i < n_sub; i++)
		gen_rule(g, sub, true, false);
	for (unsigned i = 0; i < n_pre; i++)
		gen_rule(g, pre, true, true);
	if (g->must && (!strcmp(g->must, "DNAT keeping the port") ||
			!strcmp(g->must, "redirect keeping the port")))
		nat = true;
	if (nat)
		gen_nat(g);
}
