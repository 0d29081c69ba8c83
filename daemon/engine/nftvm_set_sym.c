/* SPDX-License-Identifier: MIT */
/*
 * Set lookups with the symbolic source in the key: a set of any size splits the sources
 * in two (members and the rest), a map in one part per distinct verdict or data plus the
 * rest. The set's elements are projected once onto intervals of the source dimension,
 * for the constants the other fields of the key hold (e.g. "ip saddr . tcp dport" with
 * the listener's port), and the projection is cached in the set's index: every later
 * path that looks the same key shape up costs two interval-list operations.
 */
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>

#include "nftvm_set_index.h"
#include "portcheck/util.h"

/* A hash set keyed by a concatenation but without field lengths (the kernel gets none
 * for those): the source's bytes are a run of the key, the rest constants. */
#define SPAN_VIRTUAL UINT32_MAX

/*
 * Projections kept per set (different constants in the other fields, e.g. ports), found
 * by a hash of the key shape among PROJ_WAYS slots from its home slot: a newcomer takes
 * a free one of those or evicts the least recently used. A linear scan of 256 slots,
 * each a 64-byte compare, was a tenth of the engine's time on a host of 5,000 listeners.
 * Not direct-mapped: a shape evicted while its boxes still name its lists comes back as
 * new bases, which those boxes no longer recognise as the set's (srcdim.c compares
 * bases by address) and copy; nine shapes of one set would have to meet in one window
 * within one evaluation for that. PROJ_CACHE is a power of two.
 */
#define PROJ_CACHE 1024
#define PROJ_WAYS 8

struct proj_group {
	const struct pc_nft_set_elem *e; /* one element of the group (its verdict/data) */
	struct pc_ivlist l;		 /* once built, a view of b's list */
	struct pc_ivbase *b;		 /* the list shared with the boxes that test it */
};

struct set_proj {
	bool valid;
	uint64_t used;	 /* the index's lookup count when last found or built (LRU) */
	uint64_t hash;	 /* of the key shape: compared before the key */
	uint32_t field;	 /* the key's field that holds x (SPAN_VIRTUAL: no field layout) */
	uint32_t fo, fl; /* where x's bytes lie in the key */
	unsigned nb;	 /* bytes of the dimension */
	bool port;
	uint8_t key[PC_NFT_DATA_MAX]; /* the other fields' bytes; the source field zeroed */
	struct pc_ivlist all;	      /* sources that find any element (a view of all_b's) */
	struct pc_ivbase *all_b;
	struct proj_group *g;
	size_t ng;
	bool overlap; /* groups overlap: which element wins is the backend's order */
};

/* Boxes may still hold the lists as bases: evicting a projection only lets go of them. */
static void proj_clear(struct set_proj *p)
{
	for (size_t i = 0; i < p->ng; i++) {
		if (p->g[i].b)
			pc_ivbase_unref(p->g[i].b);
		else
			pc_ivlist_clear(&p->g[i].l);
	}
	free(p->g);
	if (p->all_b)
		pc_ivbase_unref(p->all_b);
	else
		pc_ivlist_clear(&p->all);
	*p = (struct set_proj){0};
}

/* Make @l a shared base (@l stays a view of its list). -ENOMEM (@l cleared). */
static int share(struct pc_ivlist *l, struct pc_ivbase **b, pc_u128 max)
{
	*b = pc_ivbase_new(l, max);
	if (!*b)
		return -ENOMEM;
	*l = (*b)->l;
	return 0;
}

void vm_set_proj_free(struct set_index *x)
{
	free(x->by_other[0]);
	free(x->by_other[1]);
	for (size_t i = 0; x->proj && i < PROJ_CACHE; i++)
		proj_clear(&x->proj[i]);
	free(x->proj);
	x->proj = NULL;
}

/* Whether two elements give the same outcome: any two of a set; the same verdict or data
 * of a map. */
static bool same_group(const struct pc_nft_set *s, const struct pc_nft_set_elem *a,
		       const struct pc_nft_set_elem *b)
{
	if (!(s->flags & NFT_SET_MAP))
		return true;
	if (s->data_type == NFT_DATA_VERDICT)
		return a->verdict_code == b->verdict_code &&
		       (a->verdict_chain == b->verdict_chain ||
			(a->verdict_chain && b->verdict_chain &&
			 strcmp(a->verdict_chain, b->verdict_chain) == 0));
	return a->data_len == b->data_len &&
	       (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0);
}

static int group_add(const struct pc_nft_set *s, struct set_proj *p,
		     const struct pc_nft_set_elem *e, pc_u128 lo, pc_u128 hi)
{
	struct proj_group *g = NULL;

	for (size_t i = 0; i < p->ng && !g; i++)
		if (same_group(s, p->g[i].e, e))
			g = &p->g[i];
	if (!g) {
		g = pc_array_grow(&p->g, &p->ng, sizeof(*g));
		if (!g)
			return -ENOMEM;
		g->e = e;
	}
	/* Appended in any order: normalised once at the end. */
	if (g->l.n == g->l.cap) {
		size_t cap = g->l.cap ? g->l.cap * 2 : 8;
		struct pc_ivl *v = reallocarray(g->l.v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		g->l.v = v;
		g->l.cap = cap;
	}
	g->l.v[g->l.n++] = (struct pc_ivl){lo, hi};
	return 0;
}

struct tagged {
	struct pc_ivl i;
	size_t g;
};

static int tagged_cmp(const void *a, const void *b)
{
	const struct tagged *x = a, *y = b;

	return x->i.lo < y->i.lo ? -1 : x->i.lo > y->i.lo;
}

/* Normalise the groups, build the union, and see whether two groups overlap. */
static int proj_finish(struct set_proj *p, pc_u128 max)
{
	struct tagged *t;
	size_t n = 0;

	for (size_t i = 0; i < p->ng; i++) {
		if (pc_ivlist_normalize(&p->g[i].l) < 0)
			return -ENOMEM;
		n += p->g[i].l.n;
	}
	/* A set (one group, no map values): the group is the union, already normalised, and
	 * one base serves "in S" and "not in S" (the 5,000 projections of the bench host's
	 * concatenated set spent more here merging a list into itself than building it). */
	if (p->ng == 1) {
		if (share(&p->g[0].l, &p->g[0].b, max) < 0)
			return -ENOMEM;
		p->all_b = pc_ivbase_ref(p->g[0].b);
		p->all = p->g[0].l;
		return 0;
	}
	t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < p->ng; i++)
		for (size_t k = 0; k < p->g[i].l.n; k++)
			t[n++] = (struct tagged){p->g[i].l.v[k], i};
	/* One group (a set, not a map) is in order already. */
	if (p->ng > 1)
		qsort(t, n, sizeof(*t), tagged_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && t[i].i.lo <= t[i - 1].i.hi && t[i].g != t[i - 1].g)
			p->overlap = true;
		if (pc_ivlist_append(&p->all, t[i].i.lo, t[i].i.hi) < 0) {
			free(t);
			return -ENOMEM;
		}
	}
	/* append() merged in order, but an interval inside an earlier longer one. */
	free(t);
	if (pc_ivlist_normalize(&p->all) < 0 || share(&p->all, &p->all_b, max) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < p->ng; i++) {
		/* A set's one group is the union itself: one base, so that "in S" on one path
		 * and "not in S" on another are complements the boxes can tell (srcdim.c). */
		if (pc_ivlist_equal(&p->g[i].l, &p->all)) {
			pc_ivlist_clear(&p->g[i].l);
			p->g[i].b = pc_ivbase_ref(p->all_b);
			p->g[i].l = p->all;
		} else if (share(&p->g[i].l, &p->g[i].b, max) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* The part of the key outside the source field equals (exact sets) or lies in the
 * element's ranges (interval sets). */
static bool others_match(const struct set_index *x, const struct set_proj *p, const uint8_t *key,
			 const uint8_t *lo, const uint8_t *hi)
{
	if (!x->ranges)
		return memcmp(key, lo, p->fo) == 0 &&
		       memcmp(key + p->fo + p->fl, lo + p->fo + p->fl, x->klen - p->fo - p->fl) ==
			   0;
	for (uint32_t f = 0; f < x->nfields; f++) {
		uint32_t o = x->foff[f], l = x->flen[f];

		if (f == p->field)
			continue;
		if (memcmp(key + o, lo + o, l) < 0 || memcmp(key + o, hi + o, l) > 0)
			return false;
	}
	return true;
}

/* Element @i of the index: its key's lower and upper bounds, and the element. */
static inline void index_item(const struct set_index *x, size_t i, const uint8_t **lo,
			      const uint8_t **hi, const struct pc_nft_set_elem **e)
{
	*lo = x->ranges ? x->r[i].lo : x->exact[i].key;
	*hi = x->ranges ? x->r[i].hi : x->exact[i].key;
	*e = x->ranges ? x->r[i].e : x->exact[i].e;
}

/* The source field's range of element @e (key bounds @lo, @hi) into its group. */
static int proj_add_range(const struct pc_nft_set *s, struct set_proj *p,
			  const struct pc_nft_set_elem *e, const uint8_t *lo, const uint8_t *hi,
			  unsigned sh)
{
	pc_u128 a = pc_u128_from_be(lo + p->fo, p->fl) << sh;
	pc_u128 b = pc_u128_from_be(hi + p->fo, p->fl) << sh | pc_u128_max(sh);

	return a <= b ? group_add(s, p, e, a, b) : 0;
}

static int proj_add_item(const struct pc_nft_set *s, const struct set_index *x, struct set_proj *p,
			 size_t i, unsigned sh)
{
	const struct pc_nft_set_elem *e;
	const uint8_t *lo, *hi;

	index_item(x, i, &lo, &hi, &e);
	if (!others_match(x, p, p->key, lo, hi))
		return 0;
	return proj_add_range(s, p, e, lo, hi, sh);
}

/* The other field's value of each element, in index order, when that field holds one value
 * of at most 16 bytes in every element; NULL when one holds a range or out of memory. */
static pc_u128 *other_keys(const struct set_index *x, uint32_t of, uint32_t ol)
{
	pc_u128 *k = ol <= sizeof(*k) ? malloc((x->n ? x->n : 1) * sizeof(*k)) : NULL;

	for (size_t i = 0; k && i < x->n; i++) {
		const struct pc_nft_set_elem *e;
		const uint8_t *lo, *hi;

		index_item(x, i, &lo, &hi, &e);
		if (memcmp(lo + of, hi + of, ol) != 0) {
			free(k);
			return NULL; /* a range in the other field: scan */
		}
		k[i] = pc_u128_from_be(lo + of, ol);
	}
	return k;
}

/* Whether the keys are in order already: with the source in the second field, the other
 * field is the first, and the index is sorted by it (ties in its order: nothing to do). */
static bool keys_sorted(const pc_u128 *k, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (k[i - 1] > k[i])
			return false;
	return true;
}

/* One counting pass of the radix sort on byte @d (0 the least significant) of the keys:
 * stable, so after the passes from the least significant byte up the order is the keys'
 * (memcmp's of the big-endian bytes), ties in the order they came in. Returns the array
 * that holds the result (@src or @dst). */
static uint32_t *radix_pass(const pc_u128 *k, uint32_t d, size_t n, uint32_t *src, uint32_t *dst)
{
	size_t pos[256] = {0}, sum = 0;
	unsigned sh = d * 8;

	for (size_t i = 0; i < n; i++)
		pos[(k[i] >> sh) & 0xff]++;
	for (unsigned b = 0; b < 256; b++) {
		size_t c = pos[b];

		if (c == n)
			return src; /* one byte value: nothing to move */
		pos[b] = sum;
		sum += c;
	}
	for (size_t i = 0; i < n; i++)
		dst[pos[(k[src[i]] >> sh) & 0xff]++] = src[i];
	return dst;
}

/*
 * Two-field keys (`ip saddr . tcp dport`), the source in @field: the elements sorted by the
 * other field, built once per set and field, when that field holds single values in every
 * element (an allow-list of address . port). Then the elements of one port are a binary
 * search away, not a scan of the whole set per listener.
 *
 * A radix sort on the other field's values, not qsort_r on the elements: that was 55 ms
 * of a listener's analysis at 200,000 elements, its comparisons reaching for elements all
 * over the index. Ties stay in the index's order (the first field, then the dump's), as
 * glibc's merge sort left them (qsort_r promises no order for ties): a projection does
 * not depend on it, but its groups keep the order and first elements they had.
 */
static const uint32_t *by_other(struct set_index *x, uint32_t field)
{
	uint32_t of, ol, *order, *tmp, *res;
	pc_u128 *k;

	if (x->nfields != 2 || field > 1 || x->n > UINT32_MAX)
		return NULL;
	if (x->by_other_done[field])
		return x->by_other[field];
	x->by_other_done[field] = true;
	of = x->foff[!field], ol = x->flen[!field];
	k = other_keys(x, of, ol);
	order = malloc((x->n ? x->n : 1) * sizeof(*order));
	tmp = malloc((x->n ? x->n : 1) * sizeof(*tmp));
	if (!k || !order || !tmp) {
		free(k);
		free(order);
		free(tmp);
		return NULL;
	}
	for (size_t i = 0; i < x->n; i++)
		order[i] = (uint32_t)i;
	res = order;
	for (uint32_t d = keys_sorted(k, x->n) ? 0 : ol; d > 0; d--)
		res = radix_pass(k, ol - d, x->n, res, res == order ? tmp : order);
	free(k);
	free(res == order ? tmp : order);
	x->by_other[field] = res;
	return res;
}

/* A set (no map: one group) whose whole key is the source, as `ip saddr @blocklist`: every
 * element is in the projection, its key the interval, nothing else to compare; the list
 * sized once (a blocklist of 200,000 went through the general path's per-element
 * compares and doublings). */
static int proj_whole_keys(const struct set_index *x, struct set_proj *p, unsigned sh, unsigned nb)
{
	pc_u128 low = pc_u128_max(sh);
	struct proj_group *g;

	if (x->n == 0)
		return proj_finish(p, pc_u128_max(nb * 8));
	g = pc_array_grow(&p->g, &p->ng, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->e = x->ranges ? x->r[0].e : x->exact[0].e;
	g->l.v = reallocarray(NULL, x->n, sizeof(*g->l.v));
	if (!g->l.v)
		return -ENOMEM;
	g->l.cap = x->n;
	for (size_t i = 0; i < x->n; i++) {
		const struct pc_nft_set_elem *e;
		const uint8_t *lo, *hi;
		pc_u128 a, b;

		index_item(x, i, &lo, &hi, &e);
		a = pc_u128_from_be(lo, p->fl) << sh;
		b = pc_u128_from_be(hi, p->fl) << sh | low;
		if (a <= b)
			g->l.v[g->l.n++] = (struct pc_ivl){a, b};
	}
	if (g->l.n == 0) { /* as group_add: no group without an element in it */
		pc_ivlist_clear(&g->l);
		p->ng--;
	}
	return proj_finish(p, pc_u128_max(nb * 8));
}

static int proj_build(const struct pc_nft_set *s, struct set_index *x, struct set_proj *p,
		      unsigned nb)
{
	unsigned sh = (nb - p->fl) * 8;
	const uint32_t *order = p->field == SPAN_VIRTUAL ? NULL : by_other(x, p->field);

	if (order) {
		uint32_t of = x->foff[!p->field], ol = x->flen[!p->field];
		size_t a = 0, b = x->n;

		/* The first element whose other field is not below the key's. */
		while (a < b) {
			size_t mid = a + (b - a) / 2;
			const struct pc_nft_set_elem *e;
			const uint8_t *lo, *hi;

			index_item(x, order[mid], &lo, &hi, &e);
			if (memcmp(lo + of, p->key + of, ol) < 0)
				a = mid + 1;
			else
				b = mid;
		}
		/* Those whose other field equals the key's: an interval set's key lies in
		 * it (it holds one value); an exact set compares the padding too. */
		for (; a < x->n; a++) {
			const struct pc_nft_set_elem *e;
			const uint8_t *lo, *hi;

			index_item(x, order[a], &lo, &hi, &e);
			if (memcmp(lo + of, p->key + of, ol) != 0)
				break;
			if (!x->ranges && !others_match(x, p, p->key, lo, hi))
				continue;
			if (proj_add_range(s, p, e, lo, hi, sh) < 0)
				return -ENOMEM;
		}
		return proj_finish(p, pc_u128_max(nb * 8));
	}
	if (!(s->flags & NFT_SET_MAP) && x->nfields == 1 && p->fo == 0 && p->fl == x->klen)
		return proj_whole_keys(x, p, sh, nb);
	for (size_t i = 0; i < x->n; i++)
		if (proj_add_item(s, x, p, i, sh) < 0)
			return -ENOMEM;
	return proj_finish(p, pc_u128_max(nb * 8));
}

/* Where the source lies in a key: a field (or SPAN_VIRTUAL), its bytes, the dimension. */
struct span {
	uint32_t field, fo, fl;
	bool port;
};

/* The run of key bytes [o, o + l) holds a leading part of one dimension, whole bytes. */
static bool run_is_source(struct vm *vm, size_t off, const uint8_t *t, uint32_t o, uint32_t l,
			  bool *ret_port)
{
	bool port = vm->rsym[off + o] >= VM_SYM_PORT;
	unsigned nb = port ? 2 : vm->sym->abytes;

	if (l > nb)
		return false;
	for (uint32_t i = 0; i < l; i++)
		if (t[o + i] != 0xff || vm->rsym[off + o + i] - (port ? VM_SYM_PORT : 0) != (int)i)
			return false;
	*ret_port = port;
	return true;
}

/* The one field of the key that holds the source, a leading part of one dimension, whole
 * bytes; the others constants. A hash set without field lengths: the run of key bytes
 * that holds it. 0, or -1 after vm_unknown(). */
static int sym_span(struct vm *vm, const struct pc_nft_set *s, const struct set_index *x,
		    const uint8_t *key, struct span *ret)
{
	const uint8_t *t = vm_taint_of(vm, key);
	size_t off = (size_t)(key - (const uint8_t *)vm->regs);
	bool found = false;

	if (x->nfields == 1 && !x->ranges) {
		uint32_t o = 0, l = 0;

		while (o < x->klen && !t[o])
			o++;
		while (o + l < x->klen && t[o + l])
			l++;
		for (uint32_t i = o + l; i < x->klen; i++)
			if (t[i]) {
				vm_unknown(vm, "lookup in set @%s with the source in two places",
					   s->name);
				return -1;
			}
		/* The whole source, not a masked or partial one: the run must be a field
		 * the elements hold as values (an address, a port), not a prefix of it. */
		if (l == 0 || !run_is_source(vm, off, t, o, l, &ret->port) ||
		    l != (ret->port ? 2u : vm->sym->abytes)) {
			vm_unknown(vm,
				   "lookup in set @%s with a key holding part of the source or the "
				   "source masked",
				   s->name);
			return -1;
		}
		*ret = (struct span){.field = o == 0 && l == x->klen ? 0 : SPAN_VIRTUAL,
				     .fo = o,
				     .fl = l,
				     .port = ret->port};
		return 0;
	}
	for (uint32_t f = 0; f < x->nfields; f++) {
		uint32_t o = x->foff[f], l = x->flen[f];
		bool any = false;

		for (uint32_t i = 0; i < l; i++)
			any |= t[o + i] != 0;
		if (!any)
			continue;
		if (!run_is_source(vm, off, t, o, l, &ret->port)) {
			vm_unknown(vm,
				   "lookup in set @%s with a key holding part of the source or the "
				   "source masked",
				   s->name);
			return -1;
		}
		if (found) {
			vm_unknown(vm, "lookup in set @%s with the source in two fields", s->name);
			return -1;
		}
		found = true;
		ret->field = f;
		ret->fo = o;
		ret->fl = l;
	}
	/* Padding after the fields is compared by the exact backends: it is constant. */
	for (uint32_t i = 0; i < x->klen; i++)
		if (t[i] && !(found && i >= ret->fo && i < ret->fo + ret->fl)) {
			vm_unknown(vm, "lookup in set @%s with client-dependent key bytes",
				   s->name);
			return -1;
		}
	if (!found) {
		vm_unknown(vm, "lookup in set @%s: no field holds the source", s->name);
		return -1;
	}
	return 0;
}

/* A hash of a key shape (every symbolic lookup and every form asks the cache): the key's
 * @klen bytes, the rest of the buffer being zeros in every key of the set. */
static uint64_t shape_hash(uint32_t field, uint32_t fo, uint32_t fl, bool port, unsigned nb,
			   const uint8_t *k, uint32_t klen)
{
	uint32_t params[] = {field, fo, fl, port, nb};

	return pc_hash_words(k, klen, pc_hash_words(params, sizeof(params), PC_FNV1A_INIT));
}

/* The projection of @s for the key shape (@field holds x, @key the other fields' bytes),
 * from the cache or built into it. NULL when out of memory. */
static struct set_proj *proj_get(const struct pc_nft_set *s, struct set_index *x, uint32_t field,
				 uint32_t fo, uint32_t fl, bool port, const uint8_t *key,
				 unsigned nb)
{
	uint8_t k[PC_NFT_DATA_MAX] = {};
	uint64_t h;
	struct set_proj *p;

	memcpy(k, key, x->klen);
	memset(k + fo, 0, fl);
	h = shape_hash(field, fo, fl, port, nb, k, x->klen);
	if (!x->proj && !(x->proj = calloc(PROJ_CACHE, sizeof(*x->proj))))
		return NULL;
	x->proj_tick++;
	p = NULL;
	for (size_t w = 0; w < PROJ_WAYS; w++) {
		struct set_proj *q = &x->proj[(h + w) & (PROJ_CACHE - 1)];

		if (q->valid && q->hash == h && q->field == field && q->fo == fo && q->fl == fl &&
		    q->port == port && q->nb == nb && memcmp(q->key, k, sizeof(k)) == 0) {
			q->used = x->proj_tick;
			return q;
		}
		/* The slot to take if it is not there: a free one, else the oldest. */
		if (!p || (p->valid && (!q->valid || q->used < p->used)))
			p = q;
	}
	proj_clear(p);
	p->field = field;
	p->fo = fo;
	p->fl = fl;
	p->port = port;
	p->nb = nb;
	memcpy(p->key, k, sizeof(k));
	if (proj_build(s, x, p, nb) < 0) {
		proj_clear(p); /* not valid: never found */
		return NULL;
	}
	p->valid = true;
	p->used = x->proj_tick;
	p->hash = h;
	return p;
}

int vm_set_sym_lookup(struct vm *vm, const struct pc_nft_set *s, const uint8_t *key,
		      const struct pc_nft_set_elem **ret_el)
{
	bool oom = false, port = false;
	struct set_index *x = vm_set_index(s, &oom);
	const struct pc_nft_set_elem *el;
	struct pc_src_lit lit = {.kind = PC_SRC_LIT_SET, .table = vm->table, .set = s};
	struct set_proj *p;
	struct span span;
	int in;

	if (!x) {
		vm_unknown(vm, "out of memory indexing set @%s", s->name);
		return -1;
	}
	if (sym_span(vm, s, x, key, &span) < 0)
		return -1;
	port = span.port;
	p = proj_get(s, x, span.field, span.fo, span.fl, port, key, port ? 2 : vm->sym->abytes);
	if (!p) {
		vm_unknown(vm, "out of memory projecting set @%s onto the sources", s->name);
		return -1;
	}
	if (p->overlap) {
		vm_unknown(vm,
			   "map @%s has overlapping elements with different values: which one a "
			   "source finds is the set backend's order",
			   s->name);
		return -1;
	}
	lit.port = port;
	lit.sym_field = span.field;
	lit.sym_off = span.fo;
	lit.sym_len = span.fl;
	memcpy(lit.key, p->key, sizeof(lit.key));
	if (p->ng <= 1) {
		/* A set, or a map of one value: the projection says whether the concrete key
		 * finds an element, and the group's element stands for the one it finds (the
		 * same verdict or data). No lookup in the set: a blocklist's interval tree is
		 * then never built (it was 5% of the bench host's analysis with the lookups).
		 * Maps of more values ask the set which group the key's element is in. */
		el = p->ng && pc_ivlist_find(&p->all, vm->sym->x[port]) >= 0 ? p->g[0].e : NULL;
	} else {
		el = vm_set_find(s, key, &oom);
	}
	*ret_el = el;
	if (oom) {
		vm_unknown(vm, "out of memory indexing set @%s", s->name);
		return -1;
	}
	if (!el) {
		/* Not in the projection: p->all is p->all_b's list (share()). */
		in = vm_sym_split_shared(vm, port, p->all_b, &lit, p->ng <= 1 ? 0 : -1);
		return in < 0 ? -1 : 0;
	}
	for (size_t i = 0; i < p->ng; i++) {
		if (!same_group(s, p->g[i].e, el))
			continue;
		if ((s->flags & NFT_SET_MAP) && s->data_type == NFT_DATA_VERDICT) {
			lit.has_verdict = true;
			lit.verdict = pc_nft_elem_verdict(el);
		} else if (s->flags & NFT_SET_MAP) {
			/* The element's bytes: they stay while the snapshot does. */
			lit.has_data = true;
			lit.data = (struct pc_nft_data){.v = el->data, .len = el->data_len};
		}
		/* A set's one group holds every element: found in p->all, in its list. */
		in = vm_sym_split_shared(vm, port, p->g[i].b, &lit, p->ng <= 1 ? 1 : -1);
		if (in == 1)
			return 0;
		if (in < 0)
			return -1;
		break;
	}
	vm_unknown(vm, "lookup in set @%s: the element found is not in its projection", s->name);
	return -1;
}

/* The shared list of the sources for which @lit (not negated) holds, in its set's
 * projection cache (NULL: none do). -ENOMEM, -EINVAL. */
static int lit_members_base(const struct pc_src_lit *lit, int family, struct pc_ivbase **ret)
{
	struct pc_nft_set_elem want = {.verdict_code = lit->verdict.code,
				       .verdict_chain = lit->verdict.chain,
				       .data = lit->data.v,
				       .data_len = (uint8_t)lit->data.len};
	bool oom = false;
	struct set_index *x;
	struct set_proj *p;

	*ret = NULL;
	if (lit->kind != PC_SRC_LIT_SET || !lit->set)
		return -EINVAL;
	x = vm_set_index(lit->set, &oom);
	if (!x)
		return -ENOMEM;
	if (lit->sym_field != SPAN_VIRTUAL && lit->sym_field >= x->nfields)
		return -EINVAL;
	p = proj_get(lit->set, x, lit->sym_field, lit->sym_off, lit->sym_len, lit->port, lit->key,
		     lit->port ? 2 : pc_addr_size(family));
	if (!p)
		return -ENOMEM;
	if (!lit->has_verdict && !lit->has_data) {
		*ret = p->all_b;
		return 0;
	}
	for (size_t i = 0; i < p->ng; i++)
		if (same_group(lit->set, p->g[i].e, &want))
			*ret = p->g[i].b;
	return 0;
}

int pc_src_lit_members(const struct pc_src_lit *lit, int family, const struct pc_ivlist **ret)
{
	static const struct pc_ivlist none;
	struct pc_ivbase *b;
	int r = lit_members_base(lit, family, &b);

	*ret = r == 0 && b ? &b->l : &none;
	return r;
}

int pc_src_lit_members_ref(const struct pc_src_lit *lit, int family, struct pc_ivbase **ret)
{
	int r = lit_members_base(lit, family, ret);

	if (r < 0)
		*ret = NULL;
	pc_ivbase_ref(*ret);
	return r;
}
