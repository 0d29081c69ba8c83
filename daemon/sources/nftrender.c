/* SPDX-License-Identifier: MIT */
/*
 * Rule texts from expressions (nftrender.h). The expressions are read the way nft's
 * delinearisation reads them, for the shapes handled here only: loads into registers
 * become terms, a cmp, range or lookup on a term becomes a statement. Two things nft does
 * to what the kernel holds must be done alike:
 *  - dependencies: `tcp dport 22` is `meta l4proto tcp` and a load of the transport
 *    header; nft leaves out the meta match when a payload match of that protocol
 *    follows (so does `meta nfproto ipv4` before `ip saddr` in an inet table);
 *  - protocol context: a transport header load reads as `tcp dport` only after
 *    `meta l4proto tcp`, a network header load as `ip saddr` only where the family says
 *    IPv4 (an ip table, or after `meta nfproto ipv4`).
 * Anything else (another expression, a register read that is not a whole term, a value
 * with no name) ends the rendering with 1: libnftables tells it then.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftrender_internal.h"
#include "portcheck/strbuf.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

/* --- registers ------------------------------------------------------------------------- */

/* The 32-bit register a netlink register number starts at, or -1. */
static int slot_of(uint32_t reg)
{
	if (reg >= NFT_REG_1 && reg <= NFT_REG_4)
		return (int)(reg - NFT_REG_1) * 4;
	if (reg >= NFT_REG32_00 && reg <= NFT_REG32_15)
		return (int)(reg - NFT_REG32_00);
	return -1;
}

static bool load(struct render *R, uint32_t dreg, const struct term *t)
{
	int s = slot_of(dreg);
	uint32_t n = (t->len + 3) / 4;

	if (s < 0 || t->len == 0 || t->len > 16 || s + n > REG32_SLOTS)
		return false;
	/* An earlier, wider term that this load partly overwrites is gone too. */
	for (int j = 0; j < s; j++)
		if (R->reg[j].kind != T_NONE && j + (int)((R->reg[j].len + 3) / 4) > s)
			R->reg[j] = (struct term){0};
	for (uint32_t i = 0; i < n; i++)
		R->reg[s + i] = (struct term){0};
	R->reg[s] = *t;
	return true;
}

/* The term at @sreg, or NULL. */
static struct term *term_at(struct render *R, uint32_t sreg)
{
	int s = slot_of(sreg);

	return s >= 0 && R->reg[s].kind != T_NONE ? &R->reg[s] : NULL;
}

/* --- fields ----------------------------------------------------------------------------- */

static bool payload_field(const struct render *R, const struct term *t, struct field *f)
{
	if (t->base == NFT_PAYLOAD_NETWORK_HEADER && R->nh == NFPROTO_IPV4) {
		static const struct {
			uint32_t off, len;
			const char *name;
			enum vtype type;
		} ip[] = {{12, 4, "ip saddr", V_IPV4}, {16, 4, "ip daddr", V_IPV4}};

		for (size_t i = 0; i < ELEMENTSOF(ip); i++)
			if (t->offset == ip[i].off && t->len <= ip[i].len) {
				*f = (struct field){ip[i].name, .type = ip[i].type,
						    .full_len = ip[i].len,
						    .dep_base = NFT_PAYLOAD_NETWORK_HEADER};
				return true;
			}
	}
	if (t->base == NFT_PAYLOAD_NETWORK_HEADER && R->nh == NFPROTO_IPV6) {
		if ((t->offset == 8 || t->offset == 24) && t->len <= 16) {
			*f = (struct field){t->offset == 8 ? "ip6 saddr" : "ip6 daddr",
					    .type = V_IPV6, .full_len = 16,
					    .dep_base = NFT_PAYLOAD_NETWORK_HEADER};
			return true;
		}
	}
	/* Without a protocol, nft reads the ports of any transport header (`th dport`); no
	 * dependency guards those. */
	if (t->base == NFT_PAYLOAD_TRANSPORT_HEADER && R->l4 == 0 &&
	    (t->offset == 0 || t->offset == 2) && t->len == 2) {
		*f = (struct field){t->offset == 2 ? "th dport" : "th sport", .type = V_PORT,
				    .full_len = 2};
		return true;
	}
	if (t->base == NFT_PAYLOAD_TRANSPORT_HEADER &&
	    (R->l4 == IPPROTO_TCP || R->l4 == IPPROTO_UDP)) {
		bool tcp = R->l4 == IPPROTO_TCP;

		if ((t->offset == 0 || t->offset == 2) && t->len == 2) {
			static const char *const names[2][2] = {{"udp sport", "udp dport"},
								{"tcp sport", "tcp dport"}};

			*f =
			    (struct field){names[tcp][t->offset == 2], .type = V_PORT,
					   .full_len = 2, .dep_base = NFT_PAYLOAD_TRANSPORT_HEADER};
			return true;
		}
		if (tcp && t->offset == 13 && t->len == 1) {
			*f = (struct field){"tcp flags", .type = V_TCPFLAGS, .full_len = 1,
					    .dep_base = NFT_PAYLOAD_TRANSPORT_HEADER};
			return true;
		}
	}
	return false;
}

static bool field_of(const struct render *R, const struct term *t, struct field *f)
{
	switch (t->kind) {
	case T_PAYLOAD:
		return payload_field(R, t, f);
	case T_META:
		switch (t->key) {
		case NFT_META_L4PROTO:
			*f = (struct field){"meta l4proto", .type = V_PROTO, .full_len = 1};
			break;
		case NFT_META_NFPROTO:
			*f = (struct field){"meta nfproto", .type = V_NFPROTO, .full_len = 1};
			break;
		case NFT_META_MARK:
			*f = (struct field){"meta mark", .type = V_MARK, .full_len = 4};
			break;
		case NFT_META_IIFNAME:
		case NFT_META_OIFNAME:
			*f = (struct field){t->key == NFT_META_IIFNAME ? "iifname" : "oifname",
					    .type = V_IFNAME, .full_len = IFNAMSIZ};
			break;
		case NFT_META_IIF:
		case NFT_META_OIF:
			*f = (struct field){t->key == NFT_META_IIF ? "iif" : "oif",
					    .type = V_IFINDEX, .full_len = 4};
			break;
		default:
			return false;
		}
		return t->len == f->full_len;
	case T_CT:
		if (t->key == NFT_CT_STATE)
			*f = (struct field){"ct state", .type = V_CTSTATE, .full_len = 4};
		else if (t->key == NFT_CT_STATUS)
			*f = (struct field){"ct status", .type = V_CTSTATUS, .full_len = 4};
		else
			return false;
		return t->len == f->full_len;
	case T_NUMGEN:
		*f = (struct field){.type = V_INT, .full_len = 4};
		snprintf(f->buf, sizeof(f->buf), "numgen %s mod %u",
			 t->key == NFT_NG_RANDOM ? "random" : "inc", t->modulus);
		if (t->ng_offset)
			snprintf(f->buf + strlen(f->buf), sizeof(f->buf) - strlen(f->buf),
				 " offset %u", t->ng_offset);
		f->name = f->buf;
		return t->key == NFT_NG_RANDOM || t->key == NFT_NG_INCREMENTAL;
	case T_IMM:
	case T_NONE:
		break;
	}
	return false;
}

/* --- statements ------------------------------------------------------------------------- */

/* Take @b as the next statement; false when out of memory (R->oom) or statements. */
static bool add_stmt(struct render *R, struct pc_strbuf *b)
{
	char *s = pc_strbuf_take(b);

	if (!s || R->n_stmts == MAX_STMTS) {
		free(s);
		R->oom = R->oom || !s;
		return false;
	}
	R->stmt[R->n_stmts++] = s;
	R->open_bound = false;
	return true;
}

static bool add_word(struct render *R, const char *w)
{
	struct pc_strbuf b = {0};

	pc_strbuf_puts(&b, w);
	return add_stmt(R, &b);
}

/* The dependency statement *@dep (an index, or -1) is left out. */
static void drop_dependency(struct render *R, int *dep)
{
	if (*dep >= 0) {
		free(R->stmt[*dep]);
		R->stmt[*dep] = NULL;
		*dep = -1;
	}
}

/* A payload match of @f's header: the dependency stored for that header goes. */
static void kill_dependency(struct render *R, const struct field *f)
{
	if (f->dep_base == NFT_PAYLOAD_NETWORK_HEADER)
		drop_dependency(R, &R->dep_nh);
	else if (f->dep_base == NFT_PAYLOAD_TRANSPORT_HEADER)
		drop_dependency(R, &R->dep_l4);
}

/*
 * A flags field compared after a mask, as nft 1.0.6 prints it: (x & m) != 0 is "ct state
 * a,b", (x & m) == 0 "ct state ! a,b"; with a one-flag mask, "ct status & dnat == dnat";
 * else "tcp flags syn / syn,ack" and "tcp flags != syn / fin,syn,rst,ack".
 */
static bool flags_match(struct pc_strbuf *b, const struct field *f, const struct term *t,
			uint32_t op, const uint8_t *v, uint32_t len)
{
	uint32_t m, x;

	if (!t->masked || len != f->full_len || (op != NFT_CMP_EQ && op != NFT_CMP_NEQ))
		return false;
	m = len == 1 ? t->mask[0] : host_u32(t->mask);
	x = len == 1 ? v[0] : host_u32(v);
	/* A mask of every bit: nft leaves it out and prints "== syn", "== 0x0". */
	if (m == (len == 1 ? 0xffu : 0xffffffffu))
		return false;
	pc_strbuf_printf(b, "%s ", f->name);
	if (x == 0) {
		pc_strbuf_puts(b, op == NFT_CMP_EQ ? "! " : "");
		return flags_words(b, f->type, m);
	}
	if (x & ~m)
		return false;
	if ((m & (m - 1)) == 0) {
		pc_strbuf_puts(b, "& ");
		if (!flags_words(b, f->type, m))
			return false;
		pc_strbuf_puts(b, op == NFT_CMP_EQ ? " == " : " != ");
		return flags_words(b, f->type, x);
	}
	pc_strbuf_puts(b, op_word(op));
	if (!flags_words(b, f->type, x))
		return false;
	pc_strbuf_puts(b, " / ");
	return flags_words(b, f->type, m);
}

/* A prefix of an address field: a shorter load, a leading-ones mask, or both. */
static bool prefix_value(struct render *R, struct pc_strbuf *b, const struct field *f,
			 const struct term *t, const uint8_t *v, uint32_t len)
{
	uint8_t full[16] = {0};
	int plen = (int)t->len * 8;

	if ((f->type != V_IPV4 && f->type != V_IPV6) || len != t->len)
		return false;
	if (t->masked) {
		plen = mask_prefix(t->mask, t->len);
		if (plen < 0)
			return false;
	}
	if ((uint32_t)plen >= f->full_len * 8 || plen == 0)
		return false;
	memcpy(full, v, len);
	if (!value_words(R, b, f->type, full, f->full_len))
		return false;
	pc_strbuf_printf(b, "/%d", plen);
	return true;
}

/*
 * nft merges matches of adjacent fields into one load and one comparison
 * (`udp sport 67 udp dport 68` is 4 bytes at offset 0) and splits them back when it lists
 * them: the two ports, or the two addresses.
 */
static bool merged_cmp_stmt(struct render *R, struct term *t, const struct pc_nft_expr *e)
{
	uint32_t half = t->len / 2;
	struct term parts[2] = {*t, *t};
	struct field f[2];

	if (t->kind != T_PAYLOAD || t->masked || e->cmp.op != NFT_CMP_EQ ||
	    e->cmp.data.len != t->len ||
	    !((t->base == NFT_PAYLOAD_TRANSPORT_HEADER && R->l4 && t->offset == 0 && t->len == 4) ||
	      (t->base == NFT_PAYLOAD_NETWORK_HEADER && R->nh == NFPROTO_IPV4 && t->offset == 12 &&
	       t->len == 8) ||
	      (t->base == NFT_PAYLOAD_NETWORK_HEADER && R->nh == NFPROTO_IPV6 && t->offset == 8 &&
	       t->len == 32)))
		return false;
	parts[0].len = parts[1].len = half;
	parts[1].offset += half;
	for (int i = 0; i < 2; i++) {
		struct pc_strbuf b = {0};

		if (!payload_field(R, &parts[i], &f[i]) || f[i].full_len != half)
			return false;
		pc_strbuf_printf(&b, "%s ", f[i].name);
		if (!value_words(R, &b, f[i].type, e->cmp.data.v + i * half, half)) {
			free(pc_strbuf_take(&b));
			return false;
		}
		kill_dependency(R, &f[i]);
		if (!add_stmt(R, &b))
			return false;
	}
	return true;
}

static bool cmp_stmt(struct render *R, const struct pc_nft_expr *e)
{
	struct term *t = term_at(R, e->cmp.sreg);
	const uint8_t *v = e->cmp.data.v;
	uint32_t len = e->cmp.data.len;
	struct pc_strbuf b = {0};
	struct field f;
	bool dep = false;

	/* After a >= or a <, nft joins a <= or a > into a range of whatever they compare. */
	if (R->open_bound && (e->cmp.op == NFT_CMP_LTE || e->cmp.op == NFT_CMP_GT))
		return false;
	if (t && t->kind == T_PAYLOAD && !field_of(R, t, &f))
		return merged_cmp_stmt(R, t, e);
	if (!t || !field_of(R, t, &f) || !op_word(e->cmp.op))
		return false;
	if (is_flags(f.type)) {
		if (!flags_match(&b, &f, t, e->cmp.op, v, len))
			goto fail;
	} else if (f.type == V_IFNAME) {
		if (t->masked)
			goto fail;
		pc_strbuf_printf(&b, "%s %s", f.name, op_word(e->cmp.op));
		if (!ifname_words(&b, v, len))
			goto fail;
	} else if (t->len < f.full_len || t->masked) {
		if (e->cmp.op != NFT_CMP_EQ && e->cmp.op != NFT_CMP_NEQ)
			goto fail;
		pc_strbuf_printf(&b, "%s %s", f.name, op_word(e->cmp.op));
		if (!prefix_value(R, &b, &f, t, v, len))
			goto fail;
	} else {
		if (len != f.full_len)
			goto fail;
		pc_strbuf_printf(&b, "%s %s", f.name, op_word(e->cmp.op));
		if (!value_words(R, &b, f.type, v, len))
			goto fail;
		/* `meta l4proto tcp` / `meta nfproto ipv4`: the context of what follows, and
		 * a dependency nft leaves out before a match of that protocol's header. */
		if (e->cmp.op == NFT_CMP_EQ && t->kind == T_META && t->key == NFT_META_L4PROTO) {
			R->l4 = v[0];
			dep = true;
		}
		if (e->cmp.op == NFT_CMP_EQ && t->kind == T_META && t->key == NFT_META_NFPROTO) {
			if (R->t->family != NFPROTO_INET)
				goto fail;
			R->nh = v[0];
			dep = true;
		}
	}
	if (t->kind == T_PAYLOAD)
		kill_dependency(R, &f);
	if (dep) {
		int *slot = t->key == NFT_META_L4PROTO ? &R->dep_l4 : &R->dep_nh;

		*slot = (int)R->n_stmts;
	}
	if (!add_stmt(R, &b))
		return false;
	R->open_bound = e->cmp.op == NFT_CMP_GTE || e->cmp.op == NFT_CMP_LT;
	return true;
fail:
	free(pc_strbuf_take(&b));
	return false;
}

/* `f lo-hi` / `f != lo-hi`: a range expression, or a cmp >= lo and a cmp <= hi in a row
 * (how nft writes `tcp dport 1-100`). */
static bool range_stmt(struct render *R, uint32_t sreg, bool neq, const struct pc_nft_data *lo,
		       const struct pc_nft_data *hi)
{
	struct term *t = term_at(R, sreg);
	struct pc_strbuf b = {0};
	struct field f;

	if (!t || t->masked || !field_of(R, t, &f) || t->len != f.full_len ||
	    lo->len != f.full_len || hi->len != f.full_len ||
	    (f.type != V_IPV4 && f.type != V_IPV6 && f.type != V_PORT && f.type != V_MARK))
		return false;
	pc_strbuf_printf(&b, "%s %s", f.name, neq ? "!= " : "");
	if (!value_words(R, &b, f.type, lo->v, f.full_len))
		goto fail;
	pc_strbuf_puts(&b, "-");
	if (!value_words(R, &b, f.type, hi->v, f.full_len))
		goto fail;
	if (t->kind == T_PAYLOAD)
		kill_dependency(R, &f);
	return add_stmt(R, &b);
fail:
	free(pc_strbuf_take(&b));
	return false;
}

/* --- verdicts and sets ------------------------------------------------------------------ */

static bool lookup_stmt(struct render *R, const struct pc_nft_expr *e)
{
	const struct pc_nft_set *s = e->lookup.set ? pc_nft_set_find(R->t, e->lookup.set) : NULL;
	bool vmap = e->lookup.dreg == NFT_REG_VERDICT && s && (s->flags & NFT_SET_MAP) &&
		    s->data_type == NFT_DATA_VERDICT;
	struct field fields[REG32_SLOTS];
	struct pc_strbuf b = {0};
	size_t n = 0;
	uint32_t covered = 0;
	int slot = slot_of(e->lookup.sreg);

	if (!s || slot < 0 || !s->kname || (e->lookup.dreg != 0 && !vmap) ||
	    (vmap && (e->lookup.flags & NFT_LOOKUP_F_INV)) || (!vmap && (s->flags & NFT_SET_MAP)))
		return false;
	/* The key: the terms of consecutive registers, `a . b` for a concatenation. */
	while (covered < s->key_len) {
		struct term *t =
		    slot + covered / 4 < REG32_SLOTS ? &R->reg[slot + covered / 4] : NULL;

		if (!t || t->kind == T_NONE || t->masked || !field_of(R, t, &fields[n]) ||
		    t->len != fields[n].full_len)
			return false;
		pc_strbuf_printf(&b, "%s%s", n ? " . " : "", fields[n].name);
		covered += (t->len + 3) / 4 * 4;
		n++;
	}
	if (covered != s->key_len && !(n == 1 && covered == (s->key_len + 3) / 4 * 4))
		goto fail;
	for (size_t i = 0; i < n; i++)
		kill_dependency(R, &fields[i]);
	pc_strbuf_puts(&b, vmap ? " vmap " : " ");
	if (e->lookup.flags & NFT_LOOKUP_F_INV)
		pc_strbuf_puts(&b, "!= ");
	if (s->flags & NFT_SET_ANONYMOUS) {
		if (n != 1 || !anon_set_words(R, &b, s, &fields[0], vmap))
			goto fail;
	} else {
		pc_strbuf_printf(&b, "@%s", s->kname);
	}
	return add_stmt(R, &b);
fail:
	free(pc_strbuf_take(&b));
	return false;
}

/*
 * A reject stands on a dependency nft added for it, and nft leaves that out when it is
 * still in reach (no other statement than matches since): `meta nfproto` in an inet table
 * (`reject with icmp ...`, and `reject with tcp reset`, whose `meta l4proto tcp` it prints),
 * `meta l4proto tcp` in an ip or ip6 table (`reject with tcp reset`).
 */
static bool reject_stmt(struct render *R, const struct pc_nft_expr *e)
{
	static const char *const icmpx[] = {"no-route", NULL, "host-unreachable",
					    "admin-prohibited"};
	static const char *const icmp[] = {
	    [0] = "net-unreachable",  [1] = "host-unreachable", [2] = "prot-unreachable",
	    [3] = "port-unreachable", [9] = "net-prohibited",	[10] = "host-prohibited",
	    [13] = "admin-prohibited"};
	static const char *const icmp6[] = {
	    [0] = "no-route",	      [1] = "admin-prohibited", [3] = "addr-unreachable",
	    [4] = "port-unreachable", [5] = "policy-fail",	[6] = "reject-route"};
	bool inet = R->t->family == NFPROTO_INET;
	uint8_t code = e->reject.code;
	struct pc_strbuf b = {0};
	const char *name = NULL, *kind = NULL;

	switch (e->reject.type) {
	case NFT_REJECT_TCP_RST:
		if (R->l4 != IPPROTO_TCP)
			return false;
		drop_dependency(R, inet ? &R->dep_nh : &R->dep_l4);
		return add_word(R, "reject with tcp reset");
	case NFT_REJECT_ICMPX_UNREACH:
		if (!inet || R->dep_nh >= 0)
			return false;
		if (code == NFT_REJECT_ICMPX_PORT_UNREACH)
			return add_word(R, "reject");
		kind = "icmpx";
		name = code < ELEMENTSOF(icmpx) ? icmpx[code] : NULL;
		break;
	case NFT_REJECT_ICMP_UNREACH: {
		uint32_t fam = inet ? R->nh : R->t->family;

		/* Outside inet tables the family's default code is a plain `reject`. */
		if (fam == NFPROTO_IPV4) {
			kind = "icmp";
			name = code < ELEMENTSOF(icmp) ? icmp[code] : NULL;
		} else if (fam == NFPROTO_IPV6) {
			kind = "icmpv6";
			name = code < ELEMENTSOF(icmp6) ? icmp6[code] : NULL;
		}
		if (!name || (!inet && R->dep_l4 >= 0))
			return false;
		if (inet) {
			drop_dependency(R, &R->dep_nh);
		} else if ((fam == NFPROTO_IPV4 && code == 3) ||
			   (fam == NFPROTO_IPV6 && code == 4)) {
			return add_word(R, "reject");
		}
		break;
	}
	default:
		break;
	}
	if (!name)
		return false;
	pc_strbuf_printf(&b, "reject with %s %s", kind, name);
	return add_stmt(R, &b);
}

/* --- nat ------------------------------------------------------------------------------ */

/* An immediate value of @len bytes at @reg, or NULL. */
static const uint8_t *imm_at(struct render *R, uint32_t reg, uint32_t len)
{
	struct term *t = reg ? term_at(R, reg) : NULL;

	return t && t->kind == T_IMM && t->len == len ? t->imm : NULL;
}

/* `dnat to 198.51.100.2:8080`, `snat ip to 192.0.2.1-192.0.2.9` (the family word in an inet
 * table), `dnat to [2001:db8::1]:80`. */
static bool nat_stmt(struct render *R, const struct pc_nft_expr *e)
{
	uint32_t alen = e->nat.family == NFPROTO_IPV4 ? 4 : 16;
	enum vtype at = e->nat.family == NFPROTO_IPV4 ? V_IPV4 : V_IPV6;
	const uint8_t *a = imm_at(R, e->nat.reg_addr_min, alen), *a2 = NULL;
	const uint8_t *p = NULL, *p2 = NULL;
	struct pc_strbuf b = {0};
	bool bracket;

	if ((e->nat.type != NFT_NAT_SNAT && e->nat.type != NFT_NAT_DNAT) ||
	    (e->nat.family != NFPROTO_IPV4 && e->nat.family != NFPROTO_IPV6) || !a ||
	    (e->nat.flags & ~(uint32_t)(NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED)))
		return false;
	if (R->t->family != NFPROTO_INET && R->t->family != e->nat.family)
		return false;
	if (e->nat.reg_addr_max && e->nat.reg_addr_max != e->nat.reg_addr_min) {
		uint8_t m[16];

		a2 = imm_at(R, e->nat.reg_addr_max, alen);
		if (!a2)
			return false;
		/* nft shows a range that is a prefix (one address too) as the prefix. */
		for (uint32_t i = 0; i < alen; i++)
			m[i] = (uint8_t) ~(a[i] ^ a2[i]);
		if (mask_prefix(m, alen) >= 0)
			return false;
	}
	if (e->nat.reg_proto_min) {
		p = imm_at(R, e->nat.reg_proto_min, 2);
		if (!p)
			return false;
		if (e->nat.reg_proto_max && e->nat.reg_proto_max != e->nat.reg_proto_min) {
			p2 = imm_at(R, e->nat.reg_proto_max, 2);
			if (!p2)
				return false;
		}
	}
	pc_strbuf_puts(&b, e->nat.type == NFT_NAT_SNAT ? "snat " : "dnat ");
	if (R->t->family == NFPROTO_INET)
		pc_strbuf_puts(&b, e->nat.family == NFPROTO_IPV4 ? "ip " : "ip6 ");
	pc_strbuf_puts(&b, "to ");
	bracket = at == V_IPV6 && p;
	pc_strbuf_puts(&b, bracket ? "[" : "");
	if (!value_words(R, &b, at, a, alen) ||
	    (a2 && (pc_strbuf_puts(&b, "-"), !value_words(R, &b, at, a2, alen))))
		goto fail;
	pc_strbuf_puts(&b, bracket ? "]" : "");
	if (p) {
		pc_strbuf_puts(&b, ":");
		/* Two registers: "lo-hi", equal ones too (":80-80"). */
		if (!value_words(R, &b, V_PORT, p, 2) ||
		    (p2 && (pc_strbuf_puts(&b, "-"), !value_words(R, &b, V_PORT, p2, 2))))
			goto fail;
	}
	return add_stmt(R, &b);
fail:
	free(pc_strbuf_take(&b));
	return false;
}

static bool masq_stmt(struct render *R, const struct pc_nft_expr *e)
{
	switch (e->masq.flags) {
	case 0:
		return !e->masq.reg_proto_min && add_word(R, "masquerade");
	case NF_NAT_RANGE_PROTO_RANDOM:
		return !e->masq.reg_proto_min && add_word(R, "masquerade random");
	case NF_NAT_RANGE_PROTO_RANDOM_FULLY:
		return !e->masq.reg_proto_min && add_word(R, "masquerade fully-random");
	case NF_NAT_RANGE_PERSISTENT:
		return !e->masq.reg_proto_min && add_word(R, "masquerade persistent");
	default:
		return false;
	}
}

/* --- the rule --------------------------------------------------------------------------- */

/* A statement other than a match: nft forgets the dependencies it holds (they stay
 * printed), e.g. `meta l4proto tcp counter tcp dport 22` keeps its first match. */
static bool forget_dependencies(struct render *R, bool ok)
{
	R->dep_nh = R->dep_l4 = -1;
	return ok;
}

static bool expr_stmt(struct render *R, const struct pc_nft_expr *e)
{
	struct pc_strbuf b = {0};
	struct term *t;

	switch (e->type) {
	case PC_NFT_EXPR_PAYLOAD:
		if (e->payload.dreg == 0 || (e->payload.base != NFT_PAYLOAD_NETWORK_HEADER &&
					     e->payload.base != NFT_PAYLOAD_TRANSPORT_HEADER))
			return false;
		return load(R, e->payload.dreg,
			    &(struct term){.kind = T_PAYLOAD,
					   .base = e->payload.base,
					   .offset = e->payload.offset,
					   .len = e->payload.len});
	case PC_NFT_EXPR_META: {
		static const uint32_t len[] = {
		    [NFT_META_MARK] = 4,     [NFT_META_IIF] = 4,      [NFT_META_OIF] = 4,
		    [NFT_META_IIFNAME] = 16, [NFT_META_OIFNAME] = 16, [NFT_META_NFPROTO] = 1,
		    [NFT_META_L4PROTO] = 1,
		};

		if (e->meta.dreg == 0 || e->meta.key >= ELEMENTSOF(len) || !len[e->meta.key])
			return false;
		return load(
		    R, e->meta.dreg,
		    &(struct term){.kind = T_META, .key = e->meta.key, .len = len[e->meta.key]});
	}
	case PC_NFT_EXPR_CT:
		if (e->ct.dreg == 0 || e->ct.has_dir ||
		    (e->ct.key != NFT_CT_STATE && e->ct.key != NFT_CT_STATUS))
			return false;
		return load(R, e->ct.dreg,
			    &(struct term){.kind = T_CT, .key = e->ct.key, .len = 4});
	case PC_NFT_EXPR_BITWISE:
		t = term_at(R, e->bitwise.sreg);
		if (!t || t->masked || e->bitwise.op != NFT_BITWISE_BOOL ||
		    e->bitwise.sreg != e->bitwise.dreg || e->bitwise.len != t->len ||
		    e->bitwise.mask.len != t->len || e->bitwise.xor.len != t->len)
			return false;
		for (uint32_t i = 0; i < t->len; i++)
			if (e->bitwise.xor.v[i])
				return false;
		t->masked = true;
		memcpy(t->mask, e->bitwise.mask.v, t->len);
		return true;
	case PC_NFT_EXPR_CMP:
		return cmp_stmt(R, e);
	case PC_NFT_EXPR_RANGE:
		if (e->range.op != NFT_RANGE_EQ && e->range.op != NFT_RANGE_NEQ)
			return false;
		return range_stmt(R, e->range.sreg, e->range.op == NFT_RANGE_NEQ, &e->range.from,
				  &e->range.to);
	case PC_NFT_EXPR_LOOKUP:
		return lookup_stmt(R, e);
	case PC_NFT_EXPR_IMMEDIATE:
		if (!e->immediate.is_verdict) {
			struct term imm = {.kind = T_IMM, .len = e->immediate.data.len};

			if (imm.len == 0 || imm.len > sizeof(imm.imm))
				return false;
			memcpy(imm.imm, e->immediate.data.v, imm.len);
			return load(R, e->immediate.dreg, &imm);
		}
		if (!verdict_words(R, &b, e->immediate.verdict.code, e->immediate.verdict.chain)) {
			free(pc_strbuf_take(&b));
			return false;
		}
		return forget_dependencies(R, add_stmt(R, &b));
	case PC_NFT_EXPR_NUMGEN:
		if (e->numgen.dreg == 0 || e->numgen.modulus == 0)
			return false;
		return load(R, e->numgen.dreg,
			    &(struct term){.kind = T_NUMGEN,
					   .key = e->numgen.type,
					   .modulus = e->numgen.modulus,
					   .ng_offset = e->numgen.offset,
					   .len = 4});
	case PC_NFT_EXPR_NAT:
		return forget_dependencies(R, nat_stmt(R, e));
	case PC_NFT_EXPR_MASQ:
		return forget_dependencies(R, masq_stmt(R, e));
	case PC_NFT_EXPR_OBJREF:
		if (e->objref.type != NFT_OBJECT_COUNTER || !e->objref.name)
			return false;
		pc_strbuf_printf(&b, "counter name \"%s\"", e->objref.name);
		return forget_dependencies(R, add_stmt(R, &b));
	case PC_NFT_EXPR_COUNTER:
		return forget_dependencies(R, add_word(R, "counter"));
	case PC_NFT_EXPR_NOTRACK:
		return forget_dependencies(R, add_word(R, "notrack"));
	case PC_NFT_EXPR_REJECT:
		return reject_stmt(R, e);
	default:
		return false;
	}
}

/* The statements joined, the comment after them, sanitised as listing texts are. */
static int join(struct render *R, const struct pc_nft_rule *r, char **ret)
{
	struct pc_strbuf b = {0};
	bool first = true;
	char *raw;
	int k;

	for (size_t i = 0; i < R->n_stmts; i++) {
		if (!R->stmt[i])
			continue;
		pc_strbuf_printf(&b, "%s%s", first ? "" : " ", R->stmt[i]);
		first = false;
	}
	if (r->comment)
		pc_strbuf_printf(&b, "%scomment \"%s\"", first ? "" : " ", r->comment);
	raw = pc_strbuf_take(&b);
	if (!raw)
		return -ENOMEM;
	if (!*raw) {
		free(raw);
		return NOT_RENDERED;
	}
	k = pc_strsan(raw, strlen(raw), PC_STRSAN_RAW, ret);
	free(raw);
	return k;
}

int pc_nft_render_rule(const struct pc_nft_table *t, const struct pc_nft_rule *r,
		       const struct pc_nft_render_env *env, char **ret)
{
	struct render R = {
	    .t = t,
	    .env = env,
	    .nh = t->family == NFPROTO_IPV4   ? NFPROTO_IPV4
		  : t->family == NFPROTO_IPV6 ? NFPROTO_IPV6
					      : 0,
	    .dep_nh = -1,
	    .dep_l4 = -1,
	};
	bool ok =
	    !r->udata_other && r->n_exprs > 0 &&
	    (t->family == NFPROTO_INET || t->family == NFPROTO_IPV4 || t->family == NFPROTO_IPV6);
	int k;

	*ret = NULL;
	for (size_t i = 0; ok && i < r->n_exprs; i++) {
		const struct pc_nft_expr *e = &r->exprs[i], *next = &r->exprs[i + 1];

		if (i + 1 < r->n_exprs && e->type == PC_NFT_EXPR_CMP && e->cmp.op == NFT_CMP_GTE &&
		    next->type == PC_NFT_EXPR_CMP && next->cmp.op == NFT_CMP_LTE &&
		    next->cmp.sreg == e->cmp.sreg) {
			/* Not after an open bound (three in a row: which two nft joins is
			 * not known here); a bound after it is not rendered either. */
			ok = !R.open_bound &&
			     range_stmt(&R, e->cmp.sreg, false, &e->cmp.data, &next->cmp.data);
			R.open_bound = true;
			i++;
			continue;
		}
		ok = expr_stmt(&R, e);
	}
	k = R.oom ? -ENOMEM : ok ? join(&R, r, ret) : NOT_RENDERED;
	for (size_t i = 0; i < R.n_stmts; i++)
		free(R.stmt[i]);
	return k;
}
