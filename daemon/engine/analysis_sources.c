/* SPDX-License-Identifier: MIT */
/*
 * The source pieces of one family: where the source address space splits (the ruleset's
 * comparisons, firewalld's source bindings, routes), the sources no connection from the
 * network can have, and whether a piece's sources are spoofed on an interface.
 */
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h> /* before linux/netfilter.h, which pulls in linux/in.h */
#include <linux/netfilter.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/fwzone.h"
#include "portcheck/nftvm.h"
#include "portcheck/report.h"
#include "portcheck/route.h"
#include "portcheck/strsan.h"

#include "analysis_internal.h"

/* Routes are piece bounds, so every address of a piece has the same route back. A route
 * back that is not modelled counts as a client: a path is never hidden on a guess. A
 * socket bound to @link answers through it (pc_route_back). */
bool source_spoofed(const struct pc_netif *ni, const struct pc_link *link,
		    const struct pc_listener *l, const struct pc_addr *src)
{
	return pc_route_back(ni, src, link->ifindex, l->bound_ifindex == link->ifindex) ==
	       PC_ROUTE_BACK_ELSEWHERE;
}

/* The largest memo of routes back per family (a byte per link, binding and piece). */
#define SPOOFED_MEMO_MAX (4u << 20)

bool piece_spoofed(struct family_pieces *fp, size_t i, const struct pc_netif *ni,
		   const struct pc_link *link, const struct pc_listener *l,
		   const struct pc_addr *src)
{
	uintptr_t off = (uintptr_t)link - (uintptr_t)ni->links;
	size_t li = off / sizeof(*link);
	bool bound = l->bound_ifindex == link->ifindex;
	uint8_t *at;

	/* Not one of the links the memo was made for (or no memo): asked every time. */
	if (!fp->spoofed_at || off % sizeof(*link) || li >= fp->n_links || i >= fp->n)
		return source_spoofed(ni, link, l, src);
	at = &fp->spoofed_at[(li * 2 + bound) * fp->n + i];
	if (!*at)
		*at = source_spoofed(ni, link, l, src) ? 2 : 1;
	return *at == 2;
}

/* A source address inside [lo, hi] to evaluate with. Every address of the piece gets the
 * same verdict from the ruleset, but the kernel drops some sources before or after
 * netfilter (0.0.0.0/8, loopback), so avoid those when the piece has others. */
struct pc_addr representative(const struct pc_addr *lo, const struct pc_addr *hi)
{
	struct pc_addr a = *lo;

	if (a.family == AF_INET && (a.bytes[0] == 0 || a.bytes[0] == 127)) {
		struct pc_addr b = {.family = AF_INET, .bytes = {a.bytes[0] + 1}};
		if (pc_addr_cmp(&b, hi) <= 0)
			a = b;
	} else if (a.family == AF_INET6 && a.bytes[0] == 0) {
		struct pc_addr b = {.family = AF_INET6, .bytes = {0x20}}; /* 2000::, global */
		if (pc_addr_cmp(&b, hi) <= 0 && pc_addr_cmp(&b, lo) >= 0)
			a = b;
	}
	return a;
}

static int add_impossible(struct family_pieces *fp, const char *prefix)
{
	struct pc_prefix *slot = pc_array_grow(&fp->impossible, &fp->n_impossible, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	return pc_prefix_from_string(prefix, slot) < 0 ? -EINVAL : 0;
}

/*
 * IPv4: 0.0.0.0/8, 127.0.0.0/8 (with route_localnet the kernel lets them in, but no
 * client on the network has one: the route back is lo), multicast, the limited broadcast
 * and this host's own addresses (ip_route_input_slow and fib_validate_source drop them).
 * IPv6: the unspecified address, ::1 and multicast (ip6_rcv_core drops them), and this
 * host's own addresses: whatever the kernel does with such a spoofed packet, no client
 * connects from them.
 */
static int impossible_sources_init(const struct pc_netif *ni, int family, struct family_pieces *fp)
{
	static const char *const v4[] = {"0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4",
					 "255.255.255.255/32"};
	static const char *const v6[] = {"::/128", "::1/128", "ff00::/8"};
	static const struct pc_prefix link_local = {
	    .addr = {.family = AF_INET6, .bytes = {0xfe, 0x80}}, .len = 64};
	const char *const *list = family == AF_INET ? v4 : v6;
	size_t n = family == AF_INET ? ELEMENTSOF(v4) : ELEMENTSOF(v6);
	int r;

	for (size_t i = 0; i < n; i++) {
		r = add_impossible(fp, list[i]);
		if (r < 0)
			return r;
	}
	if (family == AF_INET6) {
		/* Not impossible, but where link-local destinations' sources end. */
		struct pc_prefix *slot =
		    pc_array_grow(&fp->bounds_only, &fp->n_bounds_only, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = link_local;
	}
	for (size_t i = 0; i < ni->n_addrs; i++) {
		struct pc_prefix *slot;
		if (ni->addrs[i].prefix.addr.family != family)
			continue;
		slot = pc_array_grow(&fp->impossible, &fp->n_impossible, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		slot->addr = ni->addrs[i].prefix.addr;
		slot->len = (uint8_t)(pc_addr_size(family) * 8);
	}
	return 0;
}

/* Pieces never straddle an impossible range (its bounds are piece starts). */
bool piece_impossible(const struct family_pieces *fp, size_t i)
{
	return fp->impossible_at[i];
}

static int addr_qsort_cmp(const void *a, const void *b)
{
	return pc_addr_cmp(a, b);
}

/* The piece starts being collected, and the prefixes they come from. */
struct bounds {
	struct pc_addr *starts;
	size_t n;
	struct pc_ivlist prefixes; /* unsorted, as intervals */
};

/* Add the start of @p and the address after its end to the piece starts. */
static int add_prefix_bounds(struct bounds *b, const struct pc_prefix *p)
{
	struct pc_addr end = p->addr;
	struct pc_addr **starts = &b->starts;
	size_t *n = &b->n;
	struct pc_addr *slot;

	for (unsigned i = p->len; i < pc_addr_size(end.family) * 8; i++)
		end.bytes[i / 8] |= 0x80 >> (i % 8);
	if (b->prefixes.n == b->prefixes.cap) {
		size_t cap = b->prefixes.cap ? 2 * b->prefixes.cap : 16;
		struct pc_ivl *v = reallocarray(b->prefixes.v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->prefixes.v = v;
		b->prefixes.cap = cap;
	}
	b->prefixes.v[b->prefixes.n++] =
	    (struct pc_ivl){pc_addr_to_u128(&p->addr), pc_addr_to_u128(&end)};
	slot = pc_array_grow(starts, n, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = p->addr;
	if (pc_addr_inc(&end)) {
		slot = pc_array_grow(starts, n, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = end;
	}
	return 0;
}

/* Prefixes by start, the outer one first. */
static int ivl_outer_first(const void *a, const void *b)
{
	const struct pc_ivl *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi > y->hi ? -1 : x->hi < y->hi;
}

/* A piece and the innermost bounding prefix that holds it. */
struct inner {
	size_t piece;
	bool has;
	struct pc_ivl p;
};

static int inner_cmp(const void *a, const void *b)
{
	const struct inner *x = a, *y = b;

	if (x->has != y->has)
		return x->has ? 1 : -1;
	if (x->has && x->p.lo != y->p.lo)
		return x->p.lo < y->p.lo ? -1 : 1;
	if (x->has && x->p.hi != y->p.hi)
		return x->p.hi < y->p.hi ? -1 : 1;
	return x->piece < y->piece ? -1 : x->piece > y->piece;
}

/*
 * The pieces routed alike, as classes for the engine (struct pc_src_classes). Every bound
 * comes from a prefix (a route, a firewalld source, an impossible range, a host's
 * address), and prefixes nest or are disjoint, so the prefixes holding a piece are a
 * chain, told by its innermost one: two pieces with the same innermost prefix (or none)
 * are in the same routes (and the same firewalld bindings and classes of addresses).
 * They differ only in what lies between them (the impossible range 127.0.0.0/8 between
 * 1.0.0.0-126.x and 128.0.0.0-..., the host's own 192.0.2.1 between 192.0.2.0 and
 * 192.0.2.2-254). A sweep over the pieces in address order with a stack of the prefixes
 * open there finds each one's innermost prefix.
 *
 * Then every piece of the family goes into one evaluation: the engine splits the sources
 * by these classes only where routing looks the source up (the reverse-path filter, an
 * ICMP error's route back, fib or addrtype on the source), and on a host where nothing
 * does, one run covers a path from every class (on the bench host a listener's IPv4
 * sources took three evaluations, its default route, its subnet and the subnet's
 * broadcast address). Out of memory, or with more than PIECES_GROUP_MAX pieces, there are
 * no groups (group_next NULL).
 */
static void group_pieces(struct family_pieces *fp, struct pc_ivlist *prefixes)
{
	struct pc_ivl *stack = NULL;
	struct inner *in = NULL;
	size_t sp = 0, k = 0, n_class = 0, *class_of = NULL;
	bool ok = false;

	if (fp->n > PIECES_GROUP_MAX || fp->n == 0)
		return; /* one group per piece, as without grouping */
	/* Out of memory below: no groups either (group_next stays NULL). */
	qsort(prefixes->v, prefixes->n, sizeof(*prefixes->v), ivl_outer_first);
	stack = calloc(prefixes->n ? prefixes->n : 1, sizeof(*stack));
	in = calloc(fp->n, sizeof(*in));
	class_of = calloc(fp->n, sizeof(*class_of));
	fp->group_next = calloc(fp->n, sizeof(*fp->group_next));
	fp->class_next = calloc(fp->n, sizeof(*fp->class_next));
	if (!stack || !in || !class_of || !fp->group_next || !fp->class_next)
		goto out;
	for (size_t i = 0; i < fp->n; i++) {
		pc_u128 lo = pc_addr_to_u128(&fp->starts[i]);

		while (k < prefixes->n && prefixes->v[k].lo <= lo) {
			while (sp && stack[sp - 1].hi < prefixes->v[k].lo)
				sp--;
			stack[sp++] = prefixes->v[k++];
		}
		while (sp && stack[sp - 1].hi < lo)
			sp--;
		in[i] = (struct inner){.piece = i, .has = sp > 0};
		if (sp)
			in[i].p = stack[sp - 1];
	}
	qsort(in, fp->n, sizeof(*in), inner_cmp);
	for (size_t i = 0; i < fp->n; i++) {
		bool same_as_last =
		    i > 0 && in[i].has == in[i - 1].has &&
		    (!in[i].has || (in[i].p.lo == in[i - 1].p.lo && in[i].p.hi == in[i - 1].p.hi));

		n_class += !same_as_last;
		class_of[in[i].piece] = n_class - 1;
		/* Sorted by class, then piece: each class's pieces chained in address order. */
		fp->class_next[in[i].piece] = SIZE_MAX;
		if (same_as_last)
			fp->class_next[in[i - 1].piece] = in[i].piece;
	}
	fp->class_lists = calloc(n_class, sizeof(*fp->class_lists));
	if (!fp->class_lists)
		goto out;
	/* In address order, so each class's list is sorted. */
	for (size_t i = 0; i < fp->n; i++) {
		struct piece cur;

		piece_range(fp, i, &cur);
		if (pc_ivlist_append(&fp->class_lists[class_of[i]], pc_addr_to_u128(&cur.lo),
				     pc_addr_to_u128(&cur.hi)) < 0)
			goto out;
		fp->group_next[i] = i + 1 < fp->n ? i + 1 : SIZE_MAX;
	}
	fp->classes = (struct pc_src_classes){.v = fp->class_lists, .n = n_class};
	ok = true;
out:
	if (!ok) {
		free(fp->group_next);
		fp->group_next = NULL;
		free(fp->class_next);
		fp->class_next = NULL;
		for (size_t c = 0; fp->class_lists && c < n_class; c++)
			pc_ivlist_clear(&fp->class_lists[c]);
		free(fp->class_lists);
		fp->class_lists = NULL;
		fp->classes = (struct pc_src_classes){0};
	}
	free(class_of);
	free(stack);
	free(in);
}

/*
 * Where the source space of @family splits before the engine looks at it: where a
 * firewalld source binding starts or ends (the zone that explains it changes there), at
 * the sources no client can have, and at routes (the routing decision, rp_filter and fib
 * expressions look sources up in them, and the route back decides whether a source is
 * spoofed). The ruleset's own tests of the source split each piece further, in the engine
 * (pc_nft_eval_sources), by their outcomes only.
 */
int family_pieces_init(const struct pc_analysis_input *in, int family, struct family_pieces *ret)
{
	struct bounds b = {0};
	size_t u = 0;
	int r;

	if (!pc_array_grow(&b.starts, &b.n, sizeof(*b.starts)))
		goto oom;
	b.starts[b.n - 1] = (struct pc_addr){.family = family};
	for (size_t i = 0; in->fw->running && i < in->fw->runtime.n_zones; i++) {
		const struct pc_fw_zone *z = &in->fw->runtime.zones[i];
		for (size_t j = 0; j < z->sources.n; j++) {
			struct pc_prefix p;
			if (pc_prefix_from_string(z->sources.v[j], &p) < 0 ||
			    p.addr.family != family)
				continue;
			if (add_prefix_bounds(&b, &p) < 0)
				goto oom;
		}
	}
	r = impossible_sources_init(in->netif, family, ret);
	if (r < 0) {
		free(b.starts);
		pc_ivlist_clear(&b.prefixes);
		return r;
	}
	for (size_t i = 0; i < ret->n_impossible; i++)
		if (add_prefix_bounds(&b, &ret->impossible[i]) < 0)
			goto oom;
	for (size_t i = 0; i < ret->n_bounds_only; i++)
		if (add_prefix_bounds(&b, &ret->bounds_only[i]) < 0)
			goto oom;
	/* Routes split it too: fib expressions (firewalld's IPv6 rpfilter, addrtype) and the
	 * routing decision look source addresses up in the routing tables. */
	for (size_t i = 0; i < in->netif->n_routes; i++)
		if (in->netif->routes[i].family == family &&
		    add_prefix_bounds(&b, &in->netif->routes[i].dst) < 0)
			goto oom;
	qsort(b.starts, b.n, sizeof(*b.starts), addr_qsort_cmp);
	for (size_t i = 0; i < b.n; i++)
		if (u == 0 || !pc_addr_equal(&b.starts[u - 1], &b.starts[i]))
			b.starts[u++] = b.starts[i];
	ret->starts = b.starts;
	ret->n = u;
	b.starts = NULL;
	/* Once per analysis, not per listener and link: n_impossible prefix tests a piece,
	 * and its last address (a decrement byte by byte, 210,000 of them on the bench
	 * host when they were made per piece and listener). */
	ret->impossible_at = calloc(u ? u : 1, sizeof(*ret->impossible_at));
	ret->ends = reallocarray(NULL, u ? u : 1, sizeof(*ret->ends));
	if (!ret->impossible_at || !ret->ends) {
		pc_ivlist_clear(&b.prefixes);
		return -ENOMEM;
	}
	for (size_t i = 0; i < u; i++) {
		if (i + 1 < u) {
			ret->ends[i] = ret->starts[i + 1];
			pc_addr_dec(&ret->ends[i]);
		} else {
			ret->ends[i] = pc_addr_max(ret->starts[i].family);
		}
	}
	for (size_t i = 0; i < u; i++)
		for (size_t k = 0; k < ret->n_impossible && !ret->impossible_at[i]; k++)
			ret->impossible_at[i] =
			    pc_prefix_contains(&ret->impossible[k], &ret->starts[i]);
	/* Without it (out of memory, or a host of so many links and routes that it would
	 * take more than SPOOFED_MEMO_MAX bytes) each piece's route back is looked up every
	 * time. */
	ret->n_links = in->netif->n_links;
	if (u && ret->n_links && ret->n_links <= SPOOFED_MEMO_MAX / 2 / u)
		ret->spoofed_at = calloc(ret->n_links * 2, u);
	group_pieces(ret, &b.prefixes);
	pc_ivlist_clear(&b.prefixes);
	return 0;
oom:
	free(b.starts);
	pc_ivlist_clear(&b.prefixes);
	return -ENOMEM;
}

void family_pieces_clear(struct family_pieces *fp)
{
	for (size_t c = 0; fp->class_lists && c < fp->classes.n; c++)
		pc_ivlist_clear(&fp->class_lists[c]);
	free(fp->class_lists);
	free(fp->class_next);
	free(fp->group_next);
	free(fp->starts);
	free(fp->ends);
	free(fp->impossible_at);
	free(fp->spoofed_at);
	free(fp->impossible);
	free(fp->bounds_only);
}

void piece_range(const struct family_pieces *fp, size_t i, struct piece *pc)
{
	pc->lo = fp->starts[i];
	pc->hi = fp->ends[i];
}
