/* SPDX-License-Identifier: MIT */
/*
 * The words of the rule renderer (nftrender_internal.h): values as nft 1.0.6 prints them
 * (addresses, ports, protocol names, marks, interface names), flags, verdicts and the
 * elements of anonymous sets.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "nftrender_internal.h"
#include "portcheck/util.h"

/* --- names ------------------------------------------------------------------------------ */

struct flag_name {
	uint32_t bit;
	const char *name;
};

static const struct flag_name ct_states[] = {
    {NF_CT_STATE_INVALID_BIT, "invalid"},
    {NF_CT_STATE_BIT(IP_CT_ESTABLISHED), "established"},
    {NF_CT_STATE_BIT(IP_CT_RELATED), "related"},
    {NF_CT_STATE_BIT(IP_CT_NEW), "new"},
    {NF_CT_STATE_UNTRACKED_BIT, "untracked"},
    {0, NULL},
};

static const struct flag_name ct_statuses[] = {
    {IPS_EXPECTED, "expected"}, {IPS_SEEN_REPLY, "seen-reply"},
    {IPS_ASSURED, "assured"},	{IPS_CONFIRMED, "confirmed"},
    {IPS_SRC_NAT, "snat"},	{IPS_DST_NAT, "dnat"},
    {IPS_DYING, "dying"},	{0, NULL},
};

static const struct flag_name tcp_flags[] = {
    {0x01, "fin"}, {0x02, "syn"}, {0x04, "rst"}, {0x08, "psh"}, {0x10, "ack"},
    {0x20, "urg"}, {0x40, "ecn"}, {0x80, "cwr"}, {0, NULL},
};

static const struct flag_name *flag_names(enum vtype type)
{
	return type == V_CTSTATE ? ct_states : type == V_CTSTATUS ? ct_statuses : tcp_flags;
}

bool flags_words(struct pc_strbuf *b, enum vtype type, uint32_t v)
{
	const struct flag_name *names = flag_names(type);
	uint32_t known = 0;
	bool first = true;

	for (const struct flag_name *n = names; n->name; n++)
		known |= n->bit;
	if (v == 0 || (v & ~known))
		return false;
	for (const struct flag_name *n = names; n->name; n++)
		if (v & n->bit) {
			pc_strbuf_printf(b, "%s%s", first ? "" : ",", n->name);
			first = false;
		}
	return true;
}

/* --- values ----------------------------------------------------------------------------- */

uint32_t host_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A value of @type from @len bytes at @p (the field's full length). */
bool value_words(struct render *R, struct pc_strbuf *b, enum vtype type, const uint8_t *p,
		 uint32_t len)
{
	char s[INET6_ADDRSTRLEN], ifn[IF_NAMESIZE];
	const char *n;

	switch (type) {
	case V_IPV4:
	case V_IPV6:
		if (len != (type == V_IPV4 ? 4u : 16u) ||
		    !inet_ntop(type == V_IPV4 ? AF_INET : AF_INET6, p, s, sizeof(s)))
			return false;
		pc_strbuf_puts(b, s);
		return true;
	case V_PORT:
		if (len != 2)
			return false;
		pc_strbuf_printf(b, "%u", (unsigned)p[0] << 8 | p[1]);
		return true;
	case V_PROTO:
		n = len == 1 && R->env && R->env->proto_name
			? R->env->proto_name(R->env->userdata, p[0])
			: NULL;
		if (!n)
			return false;
		pc_strbuf_puts(b, n);
		return true;
	case V_NFPROTO:
		if (len != 1 || (p[0] != NFPROTO_IPV4 && p[0] != NFPROTO_IPV6))
			return false;
		pc_strbuf_puts(b, p[0] == NFPROTO_IPV4 ? "ipv4" : "ipv6");
		return true;
	case V_MARK:
		if (len != 4)
			return false;
		pc_strbuf_printf(b, "0x%08x", host_u32(p));
		return true;
	case V_IFINDEX:
		if (len != 4 || !R->env || !R->env->ifname)
			return false;
		n = R->env->ifname(R->env->userdata, host_u32(p), ifn);
		if (!n || !*n)
			return false;
		pc_strbuf_printf(b, "\"%s\"", n);
		return true;
	case V_INT:
		if (len != 4)
			return false;
		pc_strbuf_printf(b, "%u", host_u32(p));
		return true;
	case V_IFNAME:
	case V_CTSTATE:
	case V_CTSTATUS:
	case V_TCPFLAGS:
		break;
	}
	return false;
}

/* An interface name compared as nft writes it: the whole name NUL-padded, or a prefix
 * without the NUL for `"eth*"`. */
bool ifname_words(struct pc_strbuf *b, const uint8_t *p, uint32_t len)
{
	size_t n;

	if (len == 0 || len > IFNAMSIZ)
		return false;
	n = strnlen((const char *)p, len);
	/* nft escapes a '*' of a name ("a\\*" is the name a*, "a*" the prefix a): not done
	 * here. */
	if (memchr(p, '*', n) || memchr(p, '\\', n))
		return false;
	if (n < len) {
		for (size_t i = n; i < len; i++)
			if (p[i])
				return false;
		if (len != IFNAMSIZ || n == 0)
			return false;
		pc_strbuf_printf(b, "\"%.*s\"", (int)n, (const char *)p);
		return true;
	}
	pc_strbuf_printf(b, "\"%.*s*\"", (int)n, (const char *)p);
	return true;
}

/* The prefix length of a mask of @len bytes, or -1 when it is not leading ones. */
int mask_prefix(const uint8_t *m, uint32_t len)
{
	int bits = 0;
	bool zero = false;

	for (uint32_t i = 0; i < len; i++)
		for (int k = 7; k >= 0; k--) {
			bool one = m[i] >> k & 1;

			if (one && zero)
				return -1;
			if (one)
				bits++;
			else
				zero = true;
		}
	return bits;
}

const char *op_word(uint32_t op)
{
	switch (op) {
	case NFT_CMP_EQ:
		return "";
	case NFT_CMP_NEQ:
		return "!= ";
	case NFT_CMP_LT:
		return "< ";
	case NFT_CMP_LTE:
		return "<= ";
	case NFT_CMP_GT:
		return "> ";
	case NFT_CMP_GTE:
		return ">= ";
	default:
		return NULL;
	}
}

bool verdict_words(const struct render *R, struct pc_strbuf *b, int32_t code, const char *chain)
{
	const struct pc_nft_chain *c;

	switch (code) {
	case NF_ACCEPT:
		pc_strbuf_puts(b, "accept");
		return true;
	case NF_DROP:
		pc_strbuf_puts(b, "drop");
		return true;
	case NFT_CONTINUE:
		pc_strbuf_puts(b, "continue");
		return true;
	case NFT_RETURN:
		pc_strbuf_puts(b, "return");
		return true;
	case NFT_JUMP:
	case NFT_GOTO:
		c = chain ? pc_nft_chain_find(R->t, chain) : NULL;
		/* A binding chain (`jump { ... }`) prints its rules inline. */
		if (!c || !c->kname || (c->flags & NFT_CHAIN_BINDING))
			return false;
		pc_strbuf_printf(b, "%s %s", code == NFT_JUMP ? "jump" : "goto", c->kname);
		return true;
	default:
		return false;
	}
}

/* An element's key as a value of @f's type, a range or a prefix [lo, hi] of it. */
static bool elem_range_words(struct render *R, struct pc_strbuf *b, const struct field *f,
			     const uint8_t *lo, const uint8_t *hi)
{
	uint32_t n = f->full_len;
	int plen = -1;

	if (is_flags(f->type)) {
		/* One flag an element: `ct state { established, related }`. */
		uint32_t x = n == 1 ? lo[0] : host_u32(lo);

		if (memcmp(lo, hi, n) != 0 || (x & (x - 1)) != 0)
			return false;
		return flags_words(b, f->type, x);
	}
	if (memcmp(lo, hi, n) == 0)
		return value_words(R, b, f->type, lo, n);
	if (f->type == V_IPV4 || f->type == V_IPV6) {
		/* nft shows a range that is a whole prefix as that prefix. */
		uint8_t m[16];

		for (uint32_t i = 0; i < n; i++)
			m[i] = (uint8_t) ~(lo[i] ^ hi[i]);
		plen = mask_prefix(m, n);
		for (uint32_t i = 0; plen >= 0 && i < n; i++) {
			uint8_t host = (uint8_t)~m[i];

			if ((lo[i] & host) != 0 || (hi[i] & host) != host)
				plen = -1;
		}
	}
	if (!value_words(R, b, f->type, lo, n))
		return false;
	if (plen >= 0) {
		pc_strbuf_printf(b, "/%d", plen);
		return true;
	}
	pc_strbuf_puts(b, "-");
	return value_words(R, b, f->type, hi, n);
}

struct elem_ref {
	const struct pc_nft_set_elem *e;
	uint32_t len;
	bool host_order; /* a host-order u32: compared as a number */
};

static int elem_cmp(const void *a, const void *b)
{
	const struct elem_ref *x = a, *y = b;
	int c;

	if (x->host_order) {
		uint32_t u = host_u32(x->e->key), v = host_u32(y->e->key);

		c = (u > v) - (u < v);
	} else {
		c = memcmp(x->e->key, y->e->key, x->len);
	}

	/* An interval's end sorts before a start at the same key (the end is exclusive). */
	if (c == 0)
		c = (int)(y->e->flags & NFT_SET_ELEM_INTERVAL_END) -
		    (int)(x->e->flags & NFT_SET_ELEM_INTERVAL_END);
	return c;
}

/* Big-endian decrement of @len bytes; false when it was 0. */
static bool be_dec(uint8_t *p, uint32_t len)
{
	for (uint32_t i = len; i-- > 0;)
		if (p[i]--)
			return true;
	return false;
}

/*
 * An anonymous set's elements as nft lists them, "{ a, b-c, d/8 }", sorted by key;
 * intervals from their end elements (exclusive). With @verdicts, "k : verdict" each.
 */
bool anon_set_words(struct render *R, struct pc_strbuf *b, const struct pc_nft_set *s,
		    const struct field *f, bool verdicts)
{
	uint32_t n = f->full_len;
	bool interval = s->flags & NFT_SET_INTERVAL, first = true;
	struct elem_ref *v;
	bool ok = true;

	/* Big-endian keys compare by memcmp; host-order ones would not. */
	if (s->key_len != n || s->n_elems == 0 || s->n_elems > 4096 ||
	    (s->flags & NFT_SET_CONCAT) || f->type == V_MARK || f->type == V_IFINDEX ||
	    f->type == V_IFNAME || (interval && (f->type == V_INT || is_flags(f->type))))
		return false;
	v = calloc(s->n_elems, sizeof(*v));
	if (!v) {
		R->oom = true;
		return false;
	}
	for (size_t i = 0; i < s->n_elems; i++) {
		v[i] = (struct elem_ref){&s->elems[i], n,
					 f->type == V_INT || (is_flags(f->type) && n == 4)};
		if (s->elems[i].key_len != n || s->elems[i].key_end_len ||
		    (s->elems[i].flags & NFT_SET_ELEM_CATCHALL) ||
		    (!interval && (s->elems[i].flags & NFT_SET_ELEM_INTERVAL_END)))
			ok = false;
	}
	if (ok)
		qsort(v, s->n_elems, sizeof(*v), elem_cmp);
	pc_strbuf_puts(b, "{ ");
	for (size_t i = 0; ok && i < s->n_elems; i++) {
		const struct pc_nft_set_elem *e = v[i].e;
		uint8_t hi[16];

		if (e->flags & NFT_SET_ELEM_INTERVAL_END)
			continue;
		if (interval) {
			/* The end is the next element, an end one; none: the top of the range. */
			if (i + 1 < s->n_elems) {
				const struct pc_nft_set_elem *end = v[i + 1].e;

				if (!(end->flags & NFT_SET_ELEM_INTERVAL_END)) {
					ok = false;
					break;
				}
				memcpy(hi, end->key, n);
				if (!be_dec(hi, n)) {
					ok = false;
					break;
				}
			} else {
				memset(hi, 0xff, n);
			}
		} else {
			memcpy(hi, e->key, n);
		}
		pc_strbuf_puts(b, first ? "" : ", ");
		first = false;
		ok = elem_range_words(R, b, f, e->key, hi);
		if (ok && verdicts) {
			pc_strbuf_puts(b, " : ");
			ok = verdict_words(R, b, e->verdict_code, e->verdict_chain);
		}
	}
	free(v);
	pc_strbuf_puts(b, " }");
	return ok && !first;
}
