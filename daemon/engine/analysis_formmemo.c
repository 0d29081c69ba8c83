/* SPDX-License-Identifier: MIT */
/*
 * The forms of one analysis, memoised by what they are written from. On a host of 5,000
 * listeners 23,000 paths have some 4,000 distinct forms (every listener's "in set
 * block4", "in allow4 with destination_port"), and writing the words and the JSON text
 * of one was most of a path's cost, only for the pool to find the text it had already.
 *
 * The key is every input of words() and form_json() that varies within an analysis, in
 * bytes: how many pieces reach the listener and each conjunction's runs of them, the
 * conjunctions (tests, pieces, flags), the example, "address_ranges", the family; the
 * listener's port only where a shared form prints it (a set key's constant that reads
 * "destination_port", keyed as that, so listeners meet). Snapshot objects (sets, tables,
 * chains of verdicts) are keyed by address: they do not change during an analysis, and
 * equal contents behind different addresses only cost a miss. Two equal keys have equal
 * forms because the writers read nothing else; the full key is compared, the hash only
 * finds the slot. A conjunction told by its box (past the engine's budgets) is not
 * memoised, nor a key over FORM_KEY_MAX; the memo failing (out of memory) only means
 * the form is written.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/rcstr.h"
#include "portcheck/util.h"

#include "analysis_conj.h"
#include "analysis_internal.h"

/* Longer keys are not memoised: a form that long is rare and its key would cost what
 * writing it does. */
#define FORM_KEY_MAX 16384

struct form_memo_slot {
	uint64_t hash;
	uint8_t *key; /* NULL: free slot */
	size_t key_len;
	char *form;  /* a counted reference (pc_rcstr) */
	char *words; /* the path's words */
};

/* Appending to the key when it outgrows its buffer. */
static void put_grow(struct form_key *k, const void *p, size_t n)
{
	size_t cap = (k->len + n) * 2;
	uint8_t *v = k->heap ? realloc(k->v, cap) : malloc(cap);

	if (!v) {
		k->oom = true;
		return;
	}
	if (!k->heap)
		memcpy(v, k->v, k->len);
	k->v = v;
	k->cap = cap;
	k->heap = true;
	memcpy(k->v + k->len, p, n);
	k->len += n;
}

/* Appending to the key: inline, a key is written for every path (a million calls). */
static inline void put(struct form_key *k, const void *p, size_t n)
{
	if (k->len + n > k->cap) {
		put_grow(k, p, n);
		return;
	}
	memcpy(k->v + k->len, p, n);
	k->len += n;
}

#define PUT(k, x) put((k), &(x), sizeof(x))

static void put_u128(struct form_key *k, pc_u128 v)
{
	PUT(k, v);
}

static void put_list(struct form_key *k, const struct pc_ivlist *l)
{
	PUT(k, l->n);
	if (l->n)
		put(k, l->v, l->n * sizeof(*l->v));
}

/* A shared form writes the listener's port in a set's key as "destination_port": keyed
 * without it, the listeners' forms meet. */
static void put_lit(struct form_key *k, const struct pc_src_lit *l, int port, bool shared)
{
	uint8_t flags =
	    (uint8_t)(l->port | l->negated << 1 | l->has_verdict << 2 | l->has_data << 3);
	uint8_t key[PC_NFT_DATA_MAX];
	uint32_t fields = 0;

	if (l->kind == PC_SRC_LIT_SET && shared)
		fields = lit_key_port_fields(l, port, key);
	else
		memcpy(key, l->key, sizeof(key));
	PUT(k, l->kind);
	PUT(k, flags);
	put_u128(k, l->a);
	put_u128(k, l->b);
	PUT(k, l->table);
	PUT(k, l->set);
	PUT(k, l->sym_field);
	PUT(k, l->sym_off);
	PUT(k, l->sym_len);
	PUT(k, fields);
	put(k, key, sizeof(key));
	if (l->has_verdict) {
		PUT(k, l->verdict.code);
		PUT(k, l->verdict.chain);
	}
	if (l->has_data) {
		PUT(k, l->data.len);
		put(k, l->data.v, l->data.len);
	}
}

int form_memo_key(const struct form_spec *f, struct form_key *key)
{
	const struct outcome_groups *gs = f->gs;
	bool any = gs->n == 1, shared = f->sets != NULL, has_ranges = f->ranges != NULL;
	pc_u128 ex = pc_addr_to_u128(&f->example);

	for (size_t i = 0; i < f->n_conj; i++)
		if (f->conj[i].box)
			return 1;
	PUT(key, f->family);
	PUT(key, shared);
	/* The port is not keyed: only a shared form prints it ("destination_port", which
	 * put_lit keys); an inline form writes the set key's values as they are. */
	PUT(key, any);
	/* The pieces that reach the listener count only through n_pieces and each
	 * conjunction's runs of them (conj_runs, below): not the list itself, which a host of
	 * many routes makes long while the form says a few runs. */
	PUT(key, gs->n_pieces);
	PUT(key, f->example.family);
	put_u128(key, ex);
	PUT(key, f->example_port);
	PUT(key, f->n_conj);
	for (size_t i = 0; i < f->n_conj; i++) {
		const struct conj *c = &f->conj[i];

		PUT(key, c->n_lits);
		PUT(key, c->n_pieces);
		PUT(key, c->pieces_implied);
		put_list(key, &c->pieces);
		if (gs->n_pieces > 0) {
			struct pc_ivlist in = {0}, out = {0};

			if (conj_runs(gs, c, &in, &out) < 0)
				key->oom = true;
			put_list(key, &in);
			put_list(key, &out);
			pc_ivlist_clear(&in);
			pc_ivlist_clear(&out);
		}
		if (key->len > FORM_KEY_MAX)
			return 1;
		for (size_t k = 0; k < c->n_lits; k++)
			put_lit(key, &c->lits[k], f->port, shared);
	}
	PUT(key, has_ranges);
	if (f->ranges) {
		PUT(key, f->ranges->total);
		PUT(key, f->ranges->size);
		PUT(key, f->ranges->n_first);
		put(key, f->ranges->first, f->ranges->n_first * sizeof(f->ranges->first[0]));
	}
	if (key->len > FORM_KEY_MAX)
		return 1;
	return key->oom ? -ENOMEM : 0;
}

void form_key_clear(struct form_key *k)
{
	if (k->heap)
		free(k->v);
	k->v = NULL;
	k->len = k->cap = 0;
	k->heap = false;
}

static uint64_t key_hash(const uint8_t *p, size_t n)
{
	return pc_hash_words(p, n, PC_FNV1A_INIT);
}

static struct form_memo_slot *slot_of(const struct form_memo *m, const uint8_t *key, size_t len,
				      uint64_t h)
{
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct form_memo_slot *s = &m->v[i];

		if (!s->key || (s->hash == h && s->key_len == len && memcmp(s->key, key, len) == 0))
			return s;
	}
}

bool form_memo_find(const struct form_memo *m, const uint8_t *key, size_t len, char **form,
		    const char **words)
{
	struct form_memo_slot *s;

	if (!m->cap)
		return false;
	s = slot_of(m, key, len, key_hash(key, len));
	if (!s->key)
		return false;
	*form = s->form;
	*words = s->words;
	return true;
}

/* Twice the slots, every entry moved. */
static int grow(struct form_memo *m)
{
	struct form_memo old = *m;
	size_t cap = m->cap ? m->cap * 2 : 256;

	m->v = calloc(cap, sizeof(*m->v));
	if (!m->v) {
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.v[i].key)
			*slot_of(m, old.v[i].key, old.v[i].key_len, old.v[i].hash) = old.v[i];
	free(old.v);
	return 0;
}

int form_memo_add(struct form_memo *m, const uint8_t *key, size_t len, char *form,
		  const char *words)
{
	uint64_t h = key_hash(key, len);
	struct form_memo_slot *s;

	/* At most half full: probes stay short. */
	if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
		return -ENOMEM;
	s = slot_of(m, key, len, h);
	if (s->key)
		return 0; /* there already */
	s->key = malloc(len ? len : 1);
	s->words = strdup(words);
	if (!s->key || !s->words) {
		free(s->key);
		free(s->words);
		*s = (struct form_memo_slot){0};
		return -ENOMEM;
	}
	memcpy(s->key, key, len);
	s->key_len = len;
	s->hash = h;
	s->form = pc_rcstr_ref(form);
	m->n++;
	return 0;
}

void form_memo_clear(struct form_memo *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].key) {
			free(m->v[i].key);
			free(m->v[i].words);
			pc_rcstr_unref(m->v[i].form);
		}
	free(m->v);
	*m = (struct form_memo){0};
}

/* --- the pool's texts ------------------------------------------------------------------ */

static struct form_text_slot *text_slot(const struct form_pool *p, const char *text, size_t len,
					uint64_t h)
{
	for (size_t i = h & (p->cap - 1);; i = (i + 1) & (p->cap - 1)) {
		struct form_text_slot *s = &p->index[i];

		if (!s->s || (s->hash == h && strncmp(s->s, text, len + 1) == 0))
			return s;
	}
}

char *form_pool_find(const struct form_pool *pool, const char *text, size_t len)
{
	if (!pool->cap)
		return NULL;
	return text_slot(pool, text, len, key_hash((const uint8_t *)text, len))->s;
}

int form_pool_index(struct form_pool *pool, char *s, size_t len)
{
	uint64_t h = key_hash((const uint8_t *)s, len);
	struct form_text_slot *slot;

	/* At most half full (pool->n counts this one already). */
	if (pool->n * 2 > pool->cap) {
		struct form_pool old = *pool;
		size_t cap = pool->cap ? pool->cap * 2 : 256;

		pool->index = calloc(cap, sizeof(*pool->index));
		if (!pool->index) {
			pool->index = old.index;
			return -ENOMEM;
		}
		pool->cap = cap;
		for (size_t i = 0; i < old.cap; i++)
			if (old.index[i].s)
				*text_slot(pool, old.index[i].s, strlen(old.index[i].s),
					   old.index[i].hash) = old.index[i];
		free(old.index);
	}
	slot = text_slot(pool, s, len, h);
	if (!slot->s)
		*slot = (struct form_text_slot){.hash = h, .s = s};
	return 0;
}
