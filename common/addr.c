/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "portcheck/addr.h"
#include "portcheck/util.h"

unsigned pc_addr_size(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* The dotted quad of @b (4 bytes) at @p; where it ends. */
static char *ipv4_digits(const uint8_t *b, char *p)
{
	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	return p - 1;
}

/*
 * IPv6 as glibc's inet_ntop writes it (RFC 5952 but for its IPv4 forms): the longest run
 * of two or more zero groups (the first of equal ones) as "::", groups in lower-case hex
 * without leading zeros, ::ffff:a.b.c.d and ::a.b.c.d (a run of exactly six zero groups
 * from the start) in dotted form. By hand for the same reason as IPv4: glibc formats each
 * group with sprintf. tests/unit/test_addr.c holds it against inet_ntop.
 */
static const char *ipv6_to_string(const uint8_t *b, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;
	char *p = buf;

	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
	for (int i = 0; i <= 8; i++) {
		if (i < 8 && w[i] == 0) {
			if (cur < 0)
				cur = i, cur_len = 0;
			cur_len++;
		} else if (cur >= 0) {
			if (best < 0 || cur_len > best_len)
				best = cur, best_len = cur_len;
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				*p++ = ':';
			continue;
		}
		if (i != 0)
			*p++ = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
			ipv4_digits(b + 12, p);
			return buf;
		}
		for (int sh = 12, any = 0; sh >= 0; sh -= 4) {
			unsigned d = w[i] >> sh & 0xf;

			if (d || any || sh == 0) {
				*p++ = hex[d];
				any = 1;
			}
		}
	}
	if (best >= 0 && best + best_len == 8)
		*p++ = ':';
	*p = '\0';
	return buf;
}

const char *pc_addr_to_string(const struct pc_addr *a, char *buf)
{
	/* IPv4 by hand: inet_ntop formats it with sprintf, and a Status writes some 100,000
	 * addresses on a large host. Same text. */
	if (a->family == AF_INET) {
		ipv4_digits(a->bytes, buf);
		return buf;
	}
	if (a->family == AF_INET6)
		return ipv6_to_string(a->bytes, buf);
	if (!inet_ntop(a->family, a->bytes, buf, PC_ADDRSTRLEN))
		snprintf(buf, PC_ADDRSTRLEN, "?");
	return buf;
}

const char *pc_prefix_to_string(const struct pc_prefix *p, char *buf)
{
	size_t len;

	pc_addr_to_string(&p->addr, buf);
	if (p->len != pc_addr_size(p->addr.family) * 8) {
		len = strlen(buf);
		snprintf(buf + len, PC_PREFIXSTRLEN - len, "/%u", p->len);
	}
	return buf;
}

int pc_addr_from_string(const char *s, struct pc_addr *ret)
{
	struct pc_addr a = {0};

	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	*ret = a;
	return 0;
}

/* True when bit @i (0 = most significant) of @a is set. */
static bool addr_bit(const struct pc_addr *a, unsigned i)
{
	return a->bytes[i / 8] & (0x80 >> (i % 8));
}

static void addr_set_bit(struct pc_addr *a, unsigned i)
{
	a->bytes[i / 8] |= 0x80 >> (i % 8);
}

static bool host_bits_zero(const struct pc_addr *a, unsigned len)
{
	for (unsigned i = len; i < pc_addr_size(a->family) * 8; i++)
		if (addr_bit(a, i))
			return false;
	return true;
}

int pc_prefix_from_string(const char *s, struct pc_prefix *ret)
{
	_cleanup_free_ char *copy = strdup(s);
	struct pc_prefix p = {0};
	char *slash, *end;
	unsigned long len;

	if (!copy)
		return -ENOMEM;
	slash = strchr(copy, '/');
	if (slash)
		*slash = '\0';
	if (pc_addr_from_string(copy, &p.addr) < 0)
		return -EINVAL;
	len = pc_addr_size(p.addr.family) * 8;
	if (slash) {
		errno = 0;
		unsigned long l = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || l > len)
			return -EINVAL;
		len = l;
	}
	p.len = (uint8_t)len;
	if (!host_bits_zero(&p.addr, p.len))
		return -EINVAL;
	*ret = p;
	return 0;
}

bool pc_addr_is_any(const struct pc_addr *a)
{
	unsigned n = pc_addr_size(a->family);

	for (unsigned i = 0; i < n; i++)
		if (a->bytes[i])
			return false;
	return n > 0;
}

bool pc_addr_is_v4mapped(const struct pc_addr *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return a->family == AF_INET6 && memcmp(a->bytes, mapped, sizeof(mapped)) == 0;
}

bool pc_addr_is_loopback(const struct pc_addr *a)
{
	static const uint8_t v6_lo[16] = {[15] = 1};

	if (a->family == AF_INET)
		return a->bytes[0] == 127;
	if (pc_addr_is_v4mapped(a))
		return a->bytes[12] == 127;
	return a->family == AF_INET6 && memcmp(a->bytes, v6_lo, 16) == 0;
}

bool pc_addr_equal(const struct pc_addr *a, const struct pc_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, pc_addr_size(a->family)) == 0;
}

bool pc_prefix_contains(const struct pc_prefix *p, const struct pc_addr *a)
{
	unsigned whole, rest;

	if (p->addr.family != a->family)
		return false;
	/* Whole bytes, then the bits left: a bit at a time was a tenth of a whole-host
	 * analysis (every route lookup of every evaluation). */
	whole = p->len / 8;
	rest = p->len % 8;
	if (whole > sizeof(a->bytes) || memcmp(p->addr.bytes, a->bytes, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	if (whole >= sizeof(a->bytes))
		return false;
	return ((p->addr.bytes[whole] ^ a->bytes[whole]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool pc_prefix_covers(const struct pc_prefix *outer, const struct pc_prefix *inner)
{
	return outer->len <= inner->len && pc_prefix_contains(outer, &inner->addr);
}

static bool prefixes_overlap(const struct pc_prefix *a, const struct pc_prefix *b)
{
	return pc_prefix_covers(a, b) || pc_prefix_covers(b, a);
}

struct prefix_list {
	struct pc_prefix *v;
	size_t n;
};

/* Emit the parts of @p not covered by @excl: keep it whole when nothing overlaps, drop it
 * when something covers it, else split it in halves. Depth is bounded by the address size. */
static int complement_rec(const struct pc_prefix *p, const struct pc_prefix *excl, size_t n_excl,
			  struct prefix_list *out)
{
	bool overlap = false;

	for (size_t i = 0; i < n_excl; i++) {
		if (excl[i].addr.family != p->addr.family)
			continue;
		if (pc_prefix_covers(&excl[i], p))
			return 0;
		if (prefixes_overlap(&excl[i], p))
			overlap = true;
	}
	if (!overlap) {
		struct pc_prefix *slot = pc_array_grow(&out->v, &out->n, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = *p;
		return 0;
	}

	struct pc_prefix lo = *p, hi = *p;
	lo.len = hi.len = p->len + 1;
	addr_set_bit(&hi.addr, p->len);
	int r = complement_rec(&lo, excl, n_excl, out);
	if (r < 0)
		return r;
	return complement_rec(&hi, excl, n_excl, out);
}

int pc_prefix_complement(int family, const struct pc_prefix *excl, size_t n_excl,
			 struct pc_prefix **ret_list)
{
	struct prefix_list out = {0};
	struct pc_prefix all = {.addr = {.family = family}, .len = 0};
	int r;

	r = complement_rec(&all, excl, n_excl, &out);
	if (r < 0) {
		free(out.v);
		return r;
	}
	*ret_list = out.v;
	return (int)out.n;
}

int pc_addr_cmp(const struct pc_addr *a, const struct pc_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, pc_addr_size(a->family));
}

bool pc_addr_inc(struct pc_addr *a)
{
	struct pc_addr r = *a;

	for (int i = (int)pc_addr_size(a->family) - 1; i >= 0; i--)
		if (++r.bytes[i] != 0) {
			*a = r;
			return true;
		}
	return false;
}

bool pc_addr_dec(struct pc_addr *a)
{
	struct pc_addr r = *a;

	for (int i = (int)pc_addr_size(a->family) - 1; i >= 0; i--)
		if (r.bytes[i]-- != 0) {
			*a = r;
			return true;
		}
	return false;
}

struct pc_addr pc_addr_max(int family)
{
	struct pc_addr a = {.family = family};

	memset(a.bytes, 0xff, pc_addr_size(family));
	return a;
}

/* The largest prefix length @len such that @a is aligned to it and a/len ends <= @hi. */
static unsigned largest_block(const struct pc_addr *a, const struct pc_addr *hi)
{
	unsigned bits = pc_addr_size(a->family) * 8, len = bits;

	/* Shorten while the address stays aligned and the block's last address stays <= hi. */
	while (len > 0 && !addr_bit(a, len - 1)) {
		struct pc_addr last = *a;
		for (unsigned i = len - 1; i < bits; i++)
			addr_set_bit(&last, i);
		if (pc_addr_cmp(&last, hi) > 0)
			break;
		len--;
	}
	return len;
}

int pc_range_to_prefixes(const struct pc_addr *lo, const struct pc_addr *hi,
			 struct pc_prefix **list, size_t *n)
{
	struct pc_addr cur = *lo;

	for (;;) {
		unsigned len = largest_block(&cur, hi);
		struct pc_prefix *slot = pc_array_grow(list, n, sizeof(*slot));
		struct pc_addr last = cur;

		if (!slot)
			return -ENOMEM;
		slot->addr = cur;
		slot->len = (uint8_t)len;
		for (unsigned i = len; i < pc_addr_size(cur.family) * 8; i++)
			addr_set_bit(&last, i);
		if (pc_addr_cmp(&last, hi) >= 0 || !pc_addr_inc(&last))
			return 0;
		cur = last;
	}
}
