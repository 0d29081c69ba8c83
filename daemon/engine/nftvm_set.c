/* SPDX-License-Identifier: MIT */
/*
 * Set lookups (nft_lookup_eval) over an index built once per set, on first use, and kept in
 * the snapshot (pc_nft_set.index, freed with the ruleset). Lookups are O(log n): evaluating
 * a rule against a set of 200,000 elements costs about what it does against 20.
 *
 * - Sets without NFT_SET_INTERVAL (hash, bitmap, concatenations of exact values): the keys,
 *   sorted; a binary search compares all set->key_len bytes, padding included, as the hash
 *   backends do (memcmp over klen).
 * - Interval sets as nft_set_rbtree holds them: start elements and NFT_SET_ELEM_INTERVAL_END
 *   elements. The lookup semantics are "the greatest element not above the key, a start
 *   winning over an end of the same key; a match when it is a start" (an open-ended last
 *   interval has no end element). The index turns every start into the range
 *   [start, next element - 1] (or up to the maximum key).
 * - Interval sets with NFTA_SET_ELEM_KEY_END (nft_set_pipapo, concatenated ranges): each
 *   element is a range per field; a key matches when every field lies in its range,
 *   comparing each field's own length (the padding to 4 bytes is not compared).
 *
 * Ranges are searched with an implicit interval tree over their first field (sorted by
 * start, each node holding the maximum end below it): O(log n + k), k the number of
 * elements whose first-field range holds the key. Without concatenation ranges do not
 * overlap and k <= 1; with it, k is the number of elements sharing that first-field value
 * (e.g. "0.0.0.0/0 . 22" and "0.0.0.0/0 . 80" both hold any address).
 *
 * The index is built lazily through a const snapshot; the engine is single-threaded.
 */
#include <endian.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>

#include "nftvm_internal.h"
#include "nftvm_set_index.h"

static void index_free(void *p)
{
	struct set_index *x = p;

	if (!x)
		return;
	free(x->exact);
	free(x->r);
	free(x->maxend);
	free(x->blob);
	vm_set_proj_free(x);
	free(x);
}

/* Sorting of rbtree-style elements: by key, an end before a start of the same key. */
struct rb_item {
	const struct pc_nft_set_elem *e;
	const uint8_t *key;
	bool end;
};

/* memcmp of two keys of @len bytes, in sign: keys of 4, 8 and 16 bytes (addresses, and
 * an address and a port) as big-endian words. Sorting and checking the order of a
 * blocklist's 400,000 keys called memcmp as often (a fifth of building its index). */
static inline int key_cmp(const uint8_t *a, const uint8_t *b, uint32_t len)
{
	uint64_t x, y;

	switch (len) {
	case 4: {
		uint32_t u, v;

		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		u = be32toh(u);
		v = be32toh(v);
		return (u > v) - (u < v);
	}
	case 8:
	case 16:
		for (uint32_t i = 0; i < len; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y) {
				x = be64toh(x);
				y = be64toh(y);
				return x < y ? -1 : 1;
			}
		}
		return 0;
	default: {
		int d = memcmp(a, b, len);

		return (d > 0) - (d < 0);
	}
	}
}

static int cmp_rb(const void *a, const void *b, void *klen)
{
	const struct rb_item *x = a, *y = b;
	int d = key_cmp(x->key, y->key, *(uint32_t *)klen);

	if (d)
		return d;
	if (x->end != y->end)
		return (int)y->end - (int)x->end;
	return x->e < y->e ? -1 : x->e > y->e; /* the dump's order */
}

/*
 * qsort_r, except for input that is sorted already or sorted the other way round: the
 * kernel dumps an rbtree set from its largest key down, and a blocklist of 400,000
 * elements took most of a second to sort (the analysis builds the index once per
 * snapshot). The comparators are total orders (ties go by the elements' order in the
 * dump, which decides between overlapping ranges), so only a strictly descending run is
 * reversed. Inlined where it is called, so that the check of the order calls its
 * comparator directly rather than through the pointer, once per element.
 */
static inline __attribute__((always_inline)) void
sort_r(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *), void *arg)
{
	char *b = base;
	bool up = true, down = true;

	for (size_t i = 1; i < n && (up || down); i++) {
		int d = cmp(b + (i - 1) * size, b + i * size, arg);

		up = up && d <= 0;
		down = down && d > 0;
	}
	if (up)
		return;
	if (!down || size > 64) {
		qsort_r(base, n, size, cmp, arg);
		return;
	}
	for (size_t i = 0, j = n - 1; i < j; i++, j--) {
		char *x = b + i * size, *y = b + j * size;

		/* Word by word where the items are words (they are: pointers and flags), each
		 * copy of a known size; else byte by byte. */
		if (size % 8 == 0) {
			for (size_t w = 0; w < size; w += 8) {
				uint64_t t, u;

				memcpy(&t, x + w, 8);
				memcpy(&u, y + w, 8);
				memcpy(x + w, &u, 8);
				memcpy(y + w, &t, 8);
			}
		} else {
			for (size_t w = 0; w < size; w++) {
				char t = x[w];

				x[w] = y[w];
				y[w] = t;
			}
		}
	}
}

static int cmp_range(const void *a, const void *b, void *len)
{
	const struct set_range *x = a, *y = b;
	int d = key_cmp(x->lo, y->lo, *(uint32_t *)len);

	/* Ties in the dump's order: where elements overlap (a concatenation whose first
	 * fields start alike), the lookup takes the first in the array, and pipapo the one
	 * inserted first, which the kernel dumps first. */
	return d ? d : (x->e < y->e ? -1 : x->e > y->e);
}

/* Big-endian decrement of @len bytes; false when it was all zero. */
static bool key_dec(uint8_t *k, uint32_t len)
{
	for (uint32_t i = len; i > 0; i--) {
		if (k[i - 1]--)
			return true;
	}
	return false;
}

/* Copy @d into @dst as a key of klen bytes (shorter data zero-padded). */
static void key_norm(uint8_t *dst, struct pc_nft_bytes d, uint32_t klen)
{
	if (d.len >= klen) { /* most keys: nothing to pad */
		memcpy(dst, d.v, klen);
		return;
	}
	memset(dst, 0, klen);
	if (d.len) /* v is NULL without bytes */
		memcpy(dst, d.v, d.len);
}

/* The interval tree over ranges that are apart and in order (an rbtree set's, made by
 * ranges_interval): a subtree's largest end is its last range's, no compares. */
static void tree_build_apart(struct set_index *x, size_t lo, size_t hi)
{
	uint32_t f = x->flen[0];
	size_t mid;

	if (lo >= hi)
		return;
	mid = lo + (hi - lo) / 2;
	memcpy(x->maxend + mid * f, x->r[hi - 1].hi + x->foff[0], f);
	tree_build_apart(x, lo, mid);
	tree_build_apart(x, mid + 1, hi);
}

static size_t tree_build(struct set_index *x, size_t lo, size_t hi)
{
	size_t mid, l, r;
	uint32_t f = x->flen[0];
	uint8_t *m;

	if (lo >= hi)
		return SIZE_MAX;
	mid = lo + (hi - lo) / 2;
	m = x->maxend + mid * f;
	memcpy(m, x->r[mid].hi + x->foff[0], f);
	l = tree_build(x, lo, mid);
	r = tree_build(x, mid + 1, hi);
	if (l != SIZE_MAX && memcmp(x->maxend + l * f, m, f) > 0)
		memcpy(m, x->maxend + l * f, f);
	if (r != SIZE_MAX && memcmp(x->maxend + r * f, m, f) > 0)
		memcpy(m, x->maxend + r * f, f);
	return mid;
}

static int cmp_item(const void *a, const void *b, void *klen)
{
	const struct set_item *x = a, *y = b;
	int d = key_cmp(x->key, y->key, *(uint32_t *)klen);

	return d ? d : (x->e < y->e ? -1 : x->e > y->e);
}

static int build_exact(struct set_index *x, const struct pc_nft_set *s)
{
	uint32_t klen = x->klen;
	size_t n = 0;

	/* Not zeroed: every slot below n is written (a blocklist's are megabytes). */
	x->exact = reallocarray(NULL, s->n_elems ? s->n_elems : 1, sizeof(*x->exact));
	x->blob = malloc(s->n_elems * klen + 1);
	if (!x->exact || !x->blob)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_elems; i++) {
		const struct pc_nft_set_elem *e = &s->elems[i];

		if (e->flags & (NFT_SET_ELEM_CATCHALL | NFT_SET_ELEM_INTERVAL_END))
			continue;
		key_norm(x->blob + n * klen, pc_nft_elem_key(e), klen);
		x->exact[n] = (struct set_item){.e = e, .key = x->blob + n * klen};
		n++;
	}
	if (n > 1)
		sort_r(x->exact, n, sizeof(*x->exact), cmp_item, &klen);
	x->n = n;
	return 0;
}

/* The ranges of a set whose elements carry their end (NFTA_SET_ELEM_KEY_END: pipapo,
 * concatenations); their number. */
static size_t ranges_key_end(struct set_index *x, const struct pc_nft_set *s)
{
	uint32_t klen = x->klen;
	size_t n = 0;

	for (size_t i = 0; i < s->n_elems; i++) {
		const struct pc_nft_set_elem *e = &s->elems[i];
		uint8_t *lo = x->blob + n * klen * 2, *hi = lo + klen;

		if (e->flags & (NFT_SET_ELEM_CATCHALL | NFT_SET_ELEM_INTERVAL_END))
			continue;
		key_norm(lo, pc_nft_elem_key(e), klen);
		if (e->key_end_len)
			key_norm(hi, pc_nft_elem_key_end(e), klen);
		else
			memcpy(hi, lo, klen);
		x->r[n++] = (struct set_range){.e = e, .lo = lo, .hi = hi};
	}
	return n;
}

/* The ranges of an interval set (rbtree): starts and interval ends sorted by key, each
 * start up to the next element. Their number in *ret_n; -ENOMEM. */
static int ranges_interval(struct set_index *x, const struct pc_nft_set *s, size_t *ret_n)
{
	uint32_t klen = x->klen;
	/* Not zeroed: every slot below m is written. */
	struct rb_item *items = reallocarray(NULL, s->n_elems ? s->n_elems : 1, sizeof(*items));
	uint8_t *keys = malloc(s->n_elems * klen + 1);
	size_t m = 0, n = 0;

	if (!items || !keys) {
		free(items);
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_elems; i++) {
		const struct pc_nft_set_elem *e = &s->elems[i];

		if (e->flags & NFT_SET_ELEM_CATCHALL)
			continue;
		struct pc_nft_bytes k = pc_nft_elem_key(e);

		/* A key of the index's length is read where it is (items[] only lives while
		 * the ranges are made, and they copy it); only a shorter one is copied and
		 * padded first. */
		if (k.len == klen) {
			items[m].key = k.v;
		} else {
			key_norm(keys + m * klen, k, klen);
			items[m].key = keys + m * klen;
		}
		items[m].e = e;
		items[m].end = (e->flags & NFT_SET_ELEM_INTERVAL_END) != 0;
		m++;
	}
	if (m > 1)
		sort_r(items, m, sizeof(*items), cmp_rb, &klen);
	for (size_t i = 0; i < m; i++) {
		uint8_t *lo = x->blob + n * klen * 2, *hi = lo + klen;

		if (items[i].end)
			continue;
		/* A start and an end of the same key: the start wins, so the range goes
		 * up to the next distinct element. */
		memcpy(lo, items[i].key, klen);
		if (i + 1 < m) {
			memcpy(hi, items[i + 1].key, klen);
			if (!key_dec(hi, klen)) {
				/* The next element has the same key as this start (a start
				 * after a start of the same key cannot be): empty. */
				continue;
			}
			if (key_cmp(hi, lo, klen) < 0)
				continue;
		} else {
			memset(hi, 0xff, klen);
		}
		x->r[n++] = (struct set_range){.e = items[i].e, .lo = lo, .hi = hi};
	}
	free(items);
	free(keys);
	*ret_n = n;
	return 0;
}

/* @key_end: an element carries its end (pipapo); else starts and ends (rbtree). */
static int build_ranges(struct set_index *x, const struct pc_nft_set *s, bool key_end)
{
	uint32_t klen = x->klen;
	size_t n = 0;

	/* Not zeroed: every range below n is written, none past it read. */
	x->r = reallocarray(NULL, s->n_elems ? s->n_elems : 1, sizeof(*x->r));
	x->blob = malloc(s->n_elems * klen * 2 + 1);
	if (!x->r || !x->blob)
		return -ENOMEM;

	if (key_end)
		n = ranges_key_end(x, s);
	else if (ranges_interval(x, s, &n) < 0)
		return -ENOMEM;
	x->n = n;
	/* Sort by the first field's start (the whole key without concatenation). An rbtree
	 * set's ranges of one field are made in order and apart (each ends before the next
	 * element), so neither a sort nor the tree's compares are needed. */
	x->apart = !key_end && x->nfields == 1;
	if (n > 1 && !x->apart)
		sort_r(x->r, n, sizeof(*x->r), cmp_range, &x->flen[0]);
	return 0;
}

/* The interval tree over the ranges, made by the first concrete lookup: a set whose
 * lookups all hold the symbolic source is only ever projected (nftvm_set_sym.c), and its
 * tree was 2% of the analysis on the bench host. -ENOMEM. */
static int ranges_tree(struct set_index *x)
{
	if (x->maxend)
		return 0;
	x->maxend = malloc(x->n * x->flen[0] + 1);
	if (!x->maxend)
		return -ENOMEM;
	if (x->apart)
		tree_build_apart(x, 0, x->n);
	else
		tree_build(x, 0, x->n);
	return 0;
}

struct set_index *vm_set_index(const struct pc_nft_set *cs, bool *oom)
{
	struct pc_nft_set *s = (struct pc_nft_set *)cs; /* the index is the VM's cache */
	struct set_index *x;
	uint32_t off = 0;
	bool key_end = false;
	int r;

	if (s->index)
		return s->index;
	x = calloc(1, sizeof(*x));
	if (!x) {
		*oom = true;
		return NULL;
	}
	x->klen = s->key_len;
	if (x->klen == 0 || x->klen > PC_NFT_DATA_MAX) {
		/* No usable key length: take the longest element key. */
		for (size_t i = 0; i < s->n_elems; i++)
			if (s->elems[i].key_len > x->klen)
				x->klen = s->elems[i].key_len;
		if (x->klen == 0)
			x->klen = 4;
	}
	/* Field layout: each field takes its length rounded up to 4 bytes (NFT_REG32). */
	if (s->field_count > 1 && s->field_count <= 16) {
		x->nfields = s->field_count;
		for (uint32_t i = 0; i < x->nfields; i++) {
			x->foff[i] = off;
			x->flen[i] = s->field_len[i];
			off += (s->field_len[i] + 3) / 4 * 4;
		}
		if (off > x->klen || x->flen[0] == 0) {
			x->nfields = 1;
			x->foff[0] = 0;
			x->flen[0] = x->klen;
		}
	} else {
		x->nfields = 1;
		x->flen[0] = x->klen;
	}
	for (size_t i = 0; i < s->n_elems; i++) {
		if (s->elems[i].flags & NFT_SET_ELEM_CATCHALL)
			x->catchall = &s->elems[i];
		x->members +=
		    !(s->elems[i].flags & (NFT_SET_ELEM_INTERVAL_END | NFT_SET_ELEM_CATCHALL));
		key_end |= s->elems[i].key_end_len != 0;
	}
	x->ranges = (s->flags & NFT_SET_INTERVAL) != 0;
	r = x->ranges ? build_ranges(x, s, key_end) : build_exact(x, s);
	if (r < 0) {
		index_free(x);
		*oom = true;
		return NULL;
	}
	s->index = x;
	s->index_free = index_free;
	return x;
}

size_t pc_nft_set_member_count(const struct pc_nft_set *s)
{
	bool oom = false;
	const struct set_index *x = vm_set_index(s, &oom);
	size_t n = 0;

	if (x)
		return x->members;
	/* Out of memory for the index: count them here (reports still need the figure). */
	for (size_t i = 0; i < s->n_elems; i++)
		n += !(s->elems[i].flags & (NFT_SET_ELEM_INTERVAL_END | NFT_SET_ELEM_CATCHALL));
	return n;
}

static bool range_match(const struct set_index *x, const struct set_range *r, const uint8_t *key)
{
	for (uint32_t f = 0; f < x->nfields; f++) {
		uint32_t o = x->foff[f], l = x->flen[f];

		if (memcmp(key + o, r->lo + o, l) < 0 || memcmp(key + o, r->hi + o, l) > 0)
			return false;
	}
	return true;
}

static const struct set_range *tree_query(const struct set_index *x, size_t lo, size_t hi,
					  const uint8_t *key)
{
	uint32_t f = x->flen[0], o = x->foff[0];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct set_range *found;

		if (memcmp(x->maxend + mid * f, key + o, f) < 0)
			return NULL; /* nothing below ends at or after the key */
		found = tree_query(x, lo, mid, key);
		if (found)
			return found;
		if (memcmp(x->r[mid].lo + o, key + o, f) > 0)
			return NULL; /* this start and all to its right are above the key */
		if (range_match(x, &x->r[mid], key))
			return &x->r[mid];
		lo = mid + 1;
	}
	return NULL;
}

const struct pc_nft_set_elem *vm_set_find(const struct pc_nft_set *set, const uint8_t *key,
					  bool *oom)
{
	struct set_index *x = vm_set_index(set, oom);

	if (!x)
		return NULL;
	if (x->ranges) {
		const struct set_range *r;

		if (ranges_tree(x) < 0) {
			*oom = true;
			return NULL;
		}
		r = tree_query(x, 0, x->n, key);

		return r ? r->e : NULL;
	}
	for (size_t lo = 0, hi = x->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		int d = memcmp(x->exact[mid].key, key, x->klen);

		if (d == 0)
			return x->exact[mid].e;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct pc_nft_set_elem *vm_set_catchall(const struct pc_nft_set *set)
{
	bool oom = false;
	const struct set_index *x = vm_set_index(set, &oom);

	return x ? x->catchall : NULL;
}

const struct pc_nft_set *vm_set_find_by_name(const struct pc_nft_table *t, const char *name)
{
	for (size_t i = 0; t && name && i < t->n_sets; i++)
		if (t->sets[i].name && strcmp(t->sets[i].name, name) == 0)
			return &t->sets[i];
	return NULL;
}

static bool set_dirty(const struct vm *vm, const struct pc_nft_set *s)
{
	for (size_t i = 0; i < vm->pkt->n_dirty_sets; i++)
		if (vm->pkt->dirty_sets[i] == s)
			return true;
	return false;
}

void vm_eval_lookup(struct vm *vm, const struct pc_nft_expr *e)
{
	const struct pc_nft_set *s = vm_set_find_by_name(vm->table, e->lookup.set);
	const struct pc_nft_set_elem *el;
	bool oom = false, found;
	const uint8_t *key;
	uint32_t klen;

	if (!s) {
		vm_unknown(vm, "lookup in set %s, not in the snapshot",
			   e->lookup.set ? e->lookup.set : "(none)");
		return;
	}
	if (set_dirty(vm, s)) {
		vm_unknown(vm, "lookup in set @%s after this packet added to it", s->name);
		return;
	}
	if (!vm_set_index(s, &oom)) {
		vm_unknown(vm, "out of memory indexing set @%s", s->name);
		return;
	}
	klen = ((struct set_index *)s->index)->klen;
	key = vm_reg(vm, e->lookup.sreg, klen);
	if (key && vm_sym_in(vm, key, klen) > 0) {
		/* The key holds the symbolic source: the sources split by the element group
		 * the concrete key finds, then the lookup goes on with the element it found. */
		if (vm_set_sym_lookup(vm, s, key, &el) < 0)
			return;
	} else {
		key = vm_reg_in(vm, e->lookup.sreg, klen);
		if (!key)
			return;
		el = vm_set_find(s, key, &oom);
	}
	if (oom) {
		vm_unknown(vm, "out of memory indexing set @%s", s->name);
		return;
	}
	/* nft_lookup_eval: the catch-all element stands in for a missing key, then the result
	 * is inverted, so an inverted lookup in a set with a catch-all never matches. Kernels
	 * before "nft_lookup: fix catchall element handling with inverted lookups"
	 * (CVE-2026-72320; 6.12.97, 6.18.40, 7.1.5) consulted the catch-all after inverting,
	 * so there such a lookup always matches: which one runs is not in the snapshot. */
	if ((e->lookup.flags & NFT_LOOKUP_F_INV) && vm_set_catchall(s)) {
		vm_unknown(vm,
			   "inverted lookup in set @%s with a catch-all element: the result "
			   "depends on the kernel version",
			   s->name);
		return;
	}
	if (!el)
		el = vm_set_catchall(s);
	found = (el != NULL) ^ ((e->lookup.flags & NFT_LOOKUP_F_INV) != 0);
	if (!found) {
		vm->vcode = NFT_BREAK;
		return;
	}
	if (!el || !(s->flags & NFT_SET_MAP))
		return;
	if (s->data_type == NFT_DATA_VERDICT) {
		vm->vcode = el->verdict_code;
		vm->vchain = el->verdict_chain;
		return;
	}
	if (e->lookup.dreg) {
		uint32_t dlen = s->data_len ? s->data_len : el->data_len;
		uint8_t *d = vm_reg_out(vm, e->lookup.dreg, dlen);
		uint8_t tmp[PC_NFT_DATA_MAX] = {};

		if (!d)
			return;
		if (el->data_len)
			memcpy(tmp, el->data, el->data_len < dlen ? el->data_len : dlen);
		vm_data_copy(d, tmp, dlen);
	}
}

void vm_eval_dynset(struct vm *vm, const struct pc_nft_expr *e)
{
	const struct pc_nft_set *s = vm_set_find_by_name(vm->table, e->dynset.set);
	struct vm_pkt *p = vm->pkt;

	if (!s) {
		vm_unknown(vm, "dynset on set %s, not in the snapshot",
			   e->dynset.set ? e->dynset.set : "(none)");
		return;
	}
	/* Later lookups in this set by the same packet are no longer exact. */
	if (!set_dirty(vm, s)) {
		if (p->n_dirty_sets >= VM_MAX_DIRTY_SETS) {
			vm_unknown(vm, "dynset on too many sets");
			return;
		}
		p->dirty_sets[p->n_dirty_sets++] = s;
	}
	/* Delete never breaks; add and update break when the set is full or an expression
	 * attached to the element (a meter's limit) says so: runtime state. */
	if (e->dynset.op == NFT_DYNSET_OP_DELETE)
		return;
	if (vm_choose(vm, "dynset") == 1)
		vm->vcode = NFT_BREAK;
}
