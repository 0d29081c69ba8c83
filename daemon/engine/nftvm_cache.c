/* SPDX-License-Identifier: MIT */
/*
 * What the engine derives from a snapshot's rules once instead of per evaluation: the
 * base chains (each hook used to look for its chains among all of them: 500 regular
 * chains cost a walk of 500 per hook and packet), the chains by name (a jump's target),
 * and the rules' port guards (nftvm_guard.c). Kept in the ruleset (pc_nft_ruleset.vm_cache)
 * through a const pointer, as the sets' lookup indexes are: the engine is single-threaded.
 *
 * A snapshot does not change once read, but the unit tests build rulesets between
 * evaluations: the cache remembers the arrays it was built from and is built again when
 * the tables or chains moved or changed in number (a rule added to a chain is caught by
 * the guards' own count); an edit in place calls pc_nft_ruleset_changed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nftvm_internal.h"

enum { GUARDS_UNBUILT = 0, GUARDS_ON, GUARDS_OFF };

struct cache_table {
	const struct pc_nft_chain *chains;
	size_t n_chains;
	/* The chains with a name, by name (then position): a jump's target in log n, not a
	 * walk of every chain's name (a verdict map into 500 chains: 250 strcmp a jump). */
	const struct pc_nft_chain **by_name;
	size_t n_by_name;
	uint32_t **guards; /* per chain, NULL for a chain without rules */
	size_t *n_guards;  /* the rules each was built for */
};

struct vm_cache {
	const struct pc_nft_table *tables;
	size_t n_tables;
	struct cache_table *t;
	struct vm_base_chain *base;
	size_t n_base;
	int guards;
};

static void guards_free(struct vm_cache *x)
{
	for (size_t i = 0; i < x->n_tables; i++) {
		for (size_t j = 0; x->t[i].guards && j < x->t[i].n_chains; j++)
			free(x->t[i].guards[j]);
		free(x->t[i].guards);
		free(x->t[i].n_guards);
		x->t[i].guards = NULL;
		x->t[i].n_guards = NULL;
	}
}

static void cache_free(void *p)
{
	struct vm_cache *x = p;

	if (!x)
		return;
	guards_free(x);
	for (size_t i = 0; i < x->n_tables; i++)
		free(x->t[i].by_name);
	free(x->t);
	free(x->base);
	free(x);
}

static bool cache_fits(const struct vm_cache *x, const struct pc_nft_ruleset *rs)
{
	if (x->tables != rs->tables || x->n_tables != rs->n_tables)
		return false;
	for (size_t i = 0; i < rs->n_tables; i++)
		if (x->t[i].chains != rs->tables[i].chains ||
		    x->t[i].n_chains != rs->tables[i].n_chains)
			return false;
	return true;
}

static int by_name_cmp(const void *a, const void *b)
{
	const struct pc_nft_chain *x = *(const struct pc_nft_chain *const *)a,
				  *y = *(const struct pc_nft_chain *const *)b;
	int d = strcmp(x->name, y->name);

	return d ? d : (x < y ? -1 : x > y);
}

static struct vm_cache *cache_build(const struct pc_nft_ruleset *rs)
{
	struct vm_cache *x = calloc(1, sizeof(*x));
	size_t order = 0, n = 0;

	if (!x)
		return NULL;
	x->tables = rs->tables;
	x->n_tables = rs->n_tables;
	if (rs->n_tables && !(x->t = calloc(rs->n_tables, sizeof(*x->t))))
		goto fail;
	for (size_t i = 0; i < rs->n_tables; i++) {
		struct cache_table *ct = &x->t[i];

		ct->chains = rs->tables[i].chains;
		ct->n_chains = rs->tables[i].n_chains;
		if (ct->n_chains && !(ct->by_name = calloc(ct->n_chains, sizeof(*ct->by_name))))
			goto fail;
		for (size_t j = 0; j < rs->tables[i].n_chains; j++) {
			n += rs->tables[i].chains[j].base;
			if (rs->tables[i].chains[j].name)
				ct->by_name[ct->n_by_name++] = &rs->tables[i].chains[j];
		}
		if (ct->n_by_name > 1)
			qsort(ct->by_name, ct->n_by_name, sizeof(*ct->by_name), by_name_cmp);
	}
	if (n && !(x->base = calloc(n, sizeof(*x->base))))
		goto fail;
	for (size_t i = 0; i < rs->n_tables; i++)
		for (size_t j = 0; j < rs->tables[i].n_chains; j++, order++)
			if (rs->tables[i].chains[j].base)
				x->base[x->n_base++] =
				    (struct vm_base_chain){.t = &rs->tables[i],
							   .c = &rs->tables[i].chains[j],
							   .order = order};
	return x;
fail:
	cache_free(x);
	return NULL;
}

/* The ruleset's cache, built or built again when the ruleset's shape changed; NULL when
 * out of memory. */
static struct vm_cache *cache_of(const struct pc_nft_ruleset *crs)
{
	struct pc_nft_ruleset *rs = (struct pc_nft_ruleset *)crs; /* the engine's cache */

	if (rs->vm_cache && cache_fits(rs->vm_cache, rs))
		return rs->vm_cache;
	if (rs->vm_cache && rs->vm_cache_free)
		rs->vm_cache_free(rs->vm_cache);
	rs->vm_cache = cache_build(rs);
	rs->vm_cache_free = cache_free;
	return rs->vm_cache;
}

int vm_base_chains(const struct pc_nft_ruleset *rs, const struct vm_base_chain **ret, size_t *n)
{
	struct vm_cache *x = cache_of(rs);

	*ret = NULL;
	*n = 0;
	if (!x)
		return -ENOMEM;
	*ret = x->base;
	*n = x->n_base;
	return 0;
}

/* Every chain's guards; false when out of memory or when a rule reads a register it did
 * not write (nftvm_guard.c). */
static bool guards_build(struct vm_cache *x)
{
	bool inherited = false;

	for (size_t i = 0; i < x->n_tables; i++) {
		const struct pc_nft_table *t = &x->tables[i];

		if (!t->n_chains)
			continue;
		x->t[i].guards = calloc(t->n_chains, sizeof(*x->t[i].guards));
		x->t[i].n_guards = calloc(t->n_chains, sizeof(*x->t[i].n_guards));
		if (!x->t[i].guards || !x->t[i].n_guards)
			return false;
		for (size_t j = 0; j < t->n_chains; j++) {
			const struct pc_nft_chain *c = &t->chains[j];

			if (!c->n_rules)
				continue;
			x->t[i].guards[j] = malloc(c->n_rules * sizeof(uint32_t));
			if (!x->t[i].guards[j])
				return false;
			x->t[i].n_guards[j] = c->n_rules;
			for (size_t k = 0; k < c->n_rules; k++)
				x->t[i].guards[j][k] = vm_rule_guard(t, &c->rules[k], &inherited);
		}
	}
	return !inherited;
}

const struct pc_nft_chain *vm_chain_by_name(const struct pc_nft_ruleset *rs,
					    const struct pc_nft_table *t, const char *name)
{
	struct vm_cache *x;
	const struct cache_table *ct;
	size_t lo = 0, hi;

	if (!rs || !name || t < rs->tables || t >= rs->tables + rs->n_tables || !(x = cache_of(rs)))
		return vm_chain_find(t, name);
	ct = &x->t[t - rs->tables];
	hi = ct->n_by_name;
	/* The first of that name, as the walk finds it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ct->by_name[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ct->n_by_name && strcmp(ct->by_name[lo]->name, name) == 0 ? ct->by_name[lo]
									      : NULL;
}

bool pc_nft_use_port_guards = true;

const uint32_t *vm_port_guards(const struct pc_nft_ruleset *rs, const struct pc_nft_table *t,
			       const struct pc_nft_chain *c)
{
	struct vm_cache *x;
	size_t ti, ci;

	if (!pc_nft_use_port_guards || !rs || !(x = cache_of(rs)))
		return NULL;
	if (t < rs->tables || t >= rs->tables + rs->n_tables)
		return NULL;
	ti = (size_t)(t - rs->tables);
	if (c < t->chains || c >= t->chains + t->n_chains)
		return NULL;
	ci = (size_t)(c - t->chains);
	if (x->guards == GUARDS_ON && x->t[ti].n_guards[ci] != c->n_rules) {
		/* A test added rules after an evaluation. */
		guards_free(x);
		x->guards = GUARDS_UNBUILT;
	}
	if (x->guards == GUARDS_UNBUILT) {
		x->guards = guards_build(x) ? GUARDS_ON : GUARDS_OFF;
		if (x->guards == GUARDS_OFF)
			guards_free(x); /* evaluate every rule */
	}
	return x->guards == GUARDS_ON ? x->t[ti].guards[ci] : NULL;
}
