/* SPDX-License-Identifier: MIT */
/*
 * A concatenated interval set (`ipv4_addr . inet_service`, `ipv6_addr . inet_service`)
 * projected onto one field for a value of the other (nftvm_set_sym.c, reached through
 * pc_src_lit_members): for random sets, overlapping elements and duplicates included, in
 * ascending, descending and shuffled order, the projection is what a scan of the elements
 * says: the union of the ranges of the elements whose other field holds the value (per
 * verdict in a map). Sets whose other field holds single values take the sorted path
 * (by_other); its order is checked as well: by the other field, ties in the index's order.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nftbuild.h"
#include "nftvm_set_index.h"

#define MAX_ELEMS 3000
#define N_POOL 24

enum order { ASCENDING, DESCENDING, SHUFFLED };

struct shape {
	unsigned alen; /* address bytes: 4 or 16 */
	bool map;      /* a verdict map with three verdicts */
	bool single_port, single_addr;
	bool one_port_range; /* single ports but one element's range: the scan path */
};

struct elem {
	pc_u128 alo, ahi;
	uint16_t plo, phi;
	int group;
	uint8_t k[20], ke[20];
};

static const struct pc_nft_verdict verdicts[] = {
    {NF_ACCEPT, NULL}, {NF_DROP, NULL}, {NFT_JUMP, (char *)"c"}};

static uint64_t seed;

static uint32_t rnd(uint32_t n)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(seed >> 33) % n;
}

static pc_u128 amax(const struct shape *sh)
{
	return pc_u128_max(sh->alen * 8);
}

/* Addresses near the bottom, the middle and the top of the space (IPv6: under a few
 * prefixes, so the radix sort meets bytes all elements share). */
static pc_u128 some_addr(const struct shape *sh, const pc_u128 *pool, unsigned npool)
{
	pc_u128 base[] = {0, amax(sh) / 2, amax(sh) - 5000};
	pc_u128 a;

	if (pool)
		return pool[rnd(npool)];
	a = base[rnd(3)] + rnd(5000);
	if (sh->alen == 16)
		a = (pc_u128)(0x20010db800000000ull + rnd(3)) << 64 | a;
	return a > amax(sh) ? amax(sh) : a;
}

static void make_ports(uint16_t *pool)
{
	static const uint16_t edges[] = {0, 1, 2, 255, 256, 257, 65534, 65535};

	for (unsigned i = 0; i < N_POOL; i++)
		pool[i] = i < 8 ? edges[i] : (uint16_t)rnd(65536);
}

static void make_elems(const struct shape *sh, struct elem *v, size_t n, const uint16_t *ports)
{
	pc_u128 apool[64];
	unsigned po = (sh->alen + 3) / 4 * 4;

	for (unsigned i = 0; i < 64; i++)
		apool[i] = some_addr(sh, NULL, 0);
	for (size_t i = 0; i < n; i++) {
		struct elem *e = &v[i];
		uint32_t span = rnd(3) ? rnd(300) : 0;

		e->alo = some_addr(sh, sh->single_addr ? apool : NULL, 64);
		e->ahi = sh->single_addr || span > amax(sh) - e->alo ? e->alo : e->alo + span;
		e->plo = ports[rnd(N_POOL)];
		e->phi = e->plo;
		if (!sh->single_port && rnd(2)) {
			uint32_t hi = e->plo + rnd(40);

			e->phi = (uint16_t)(hi < 65536 ? hi : 65535);
		}
		e->group = sh->map ? (int)rnd(3) : 0;
		memset(e->k, 0, sizeof(e->k));
		memset(e->ke, 0, sizeof(e->ke));
		pc_u128_to_be(e->alo, e->k, sh->alen);
		pc_u128_to_be(e->ahi, e->ke, sh->alen);
		pc_u128_to_be(e->plo, e->k + po, 2);
		pc_u128_to_be(e->phi, e->ke + po, 2);
	}
	if (sh->one_port_range && n > 0) {
		v[n / 2].phi = v[n / 2].plo == 65535 ? 65535 : v[n / 2].plo + 1;
		v[n / 2].plo = v[n / 2].phi == 65535 ? 65534 : v[n / 2].plo;
		pc_u128_to_be(v[n / 2].plo, v[n / 2].k + po, 2);
		pc_u128_to_be(v[n / 2].phi, v[n / 2].ke + po, 2);
	}
}

static size_t g_klen;

static int cmp_key(const void *a, const void *b)
{
	return memcmp(((const struct elem *)a)->k, ((const struct elem *)b)->k, g_klen);
}

static void put_in_order(struct elem *v, size_t n, unsigned klen, enum order o)
{
	g_klen = klen;
	if (o != SHUFFLED) {
		qsort(v, n, sizeof(*v), cmp_key);
		for (size_t i = 0; o == DESCENDING && i < n / 2; i++) {
			struct elem t = v[i];

			v[i] = v[n - 1 - i];
			v[n - 1 - i] = t;
		}
		return;
	}
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd((uint32_t)i);
		struct elem t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static struct pc_nft_set *build(struct pc_nft_table *t, const struct shape *sh,
				const struct elem *v, size_t n)
{
	unsigned po = (sh->alen + 3) / 4 * 4;
	uint8_t lens[2] = {(uint8_t)sh->alen, 2};
	struct pc_nft_set *s =
	    nb_set(t, "s", NFT_SET_INTERVAL | (sh->map ? NFT_SET_MAP : 0), po + 4);

	nb_set_fields(s, 2, lens);
	if (sh->map)
		s->data_type = NFT_DATA_VERDICT;
	for (size_t i = 0; i < n; i++) {
		struct pc_nft_set_elem *e = nb_elem_range(s, v[i].k, v[i].ke, po + 4);

		if (sh->map)
			nb_elem_verdict(e, verdicts[v[i].group].code, verdicts[v[i].group].chain);
	}
	return s;
}

static int cmp_ivl(const void *a, const void *b)
{
	const struct pc_ivl *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The union of the matching elements' ranges in the source field, merged as a normalised
 * list is (overlapping and adjacent intervals joined), computed from the elements alone. */
static size_t brute(const struct shape *sh, const struct elem *v, size_t n, bool port_src,
		    pc_u128 other, int group, struct pc_ivl *out)
{
	size_t m = 0, k = 0;

	for (size_t i = 0; i < n; i++) {
		bool in = port_src ? v[i].alo <= other && other <= v[i].ahi
				   : v[i].plo <= other && other <= v[i].phi;

		if (in && (group < 0 || v[i].group == group))
			out[m++] = port_src ? (struct pc_ivl){v[i].plo, v[i].phi}
					    : (struct pc_ivl){v[i].alo, v[i].ahi};
	}
	qsort(out, m, sizeof(*out), cmp_ivl);
	for (size_t i = 0; i < m; i++) {
		if (k > 0 && (out[k - 1].hi == amax(sh) || out[i].lo <= out[k - 1].hi + 1)) {
			if (out[i].hi > out[k - 1].hi)
				out[k - 1].hi = out[i].hi;
			continue;
		}
		out[k++] = out[i];
	}
	return k;
}

static void check_one(const struct pc_nft_set *s, const struct shape *sh, const struct elem *v,
		      size_t n, bool port_src, pc_u128 other, const char *what)
{
	static struct pc_ivl want[MAX_ELEMS];
	unsigned po = (sh->alen + 3) / 4 * 4;

	for (int g = sh->map ? 0 : -1; g < (sh->map ? 3 : 0); g++) {
		struct pc_src_lit lit = {.kind = PC_SRC_LIT_SET,
					 .set = s,
					 .port = port_src,
					 .sym_field = port_src,
					 .sym_off = port_src ? po : 0,
					 .sym_len = port_src ? 2 : sh->alen,
					 .has_verdict = g >= 0};
		const struct pc_ivlist *got;
		size_t k;

		if (g >= 0)
			lit.verdict = verdicts[g];
		if (port_src)
			pc_u128_to_be(other, lit.key, sh->alen);
		else
			pc_u128_to_be(other, lit.key + po, 2);
		assert_int_equal(pc_src_lit_members(&lit, sh->alen == 4 ? AF_INET : AF_INET6, &got),
				 0);
		k = brute(sh, v, n, port_src, other, g, want);
		if (got->n != k)
			fail_msg("%s, %s source, other %llu, group %d: %zu intervals, want %zu",
				 what, port_src ? "port" : "address", (unsigned long long)other, g,
				 got->n, k);
		for (size_t i = 0; i < k; i++)
			if (got->v[i].lo != want[i].lo || got->v[i].hi != want[i].hi)
				fail_msg(
				    "%s, %s source, other %llu, group %d: interval %zu differs",
				    what, port_src ? "port" : "address", (unsigned long long)other,
				    g, i);
	}
}

/* The sorted path's order: every element once, by the other field, ties by index. */
static void check_order(const struct pc_nft_set *s, uint32_t field, bool sorted)
{
	bool oom = false;
	struct set_index *x = vm_set_index(s, &oom);
	uint32_t of, ol;
	bool *seen;

	assert_non_null(x);
	assert_true(x->by_other_done[field]);
	if (!sorted) {
		assert_null(x->by_other[field]);
		return;
	}
	assert_non_null(x->by_other[field]);
	of = x->foff[!field], ol = x->flen[!field];
	seen = calloc(x->n + 1, 1);
	assert_non_null(seen);
	for (size_t i = 0; i < x->n; i++) {
		size_t a = x->by_other[field][i];

		assert_true(a < x->n);
		assert_false(seen[a]);
		seen[a] = true;
		if (i > 0) {
			size_t b = x->by_other[field][i - 1];
			int d = memcmp(x->r[b].lo + of, x->r[a].lo + of, ol);

			if (d > 0 || (d == 0 && b > a))
				fail_msg("by_other[%u]: %zu before %zu", field, b, a);
		}
	}
	free(seen);
}

static void run(const struct shape *sh, size_t n, enum order o, uint64_t sd)
{
	static struct elem v[MAX_ELEMS];
	struct pc_nft_ruleset rs = {0};
	struct pc_nft_table *t = nb_table(&rs, NFPROTO_INET, "t");
	unsigned po = (sh->alen + 3) / 4 * 4;
	uint16_t ports[N_POOL];
	struct pc_nft_set *s;
	char what[96];

	seed = sd;
	snprintf(what, sizeof(what), "alen %u map %d sp %d sa %d opr %d n %zu order %d seed %llu",
		 sh->alen, sh->map, sh->single_port, sh->single_addr, sh->one_port_range, n, o,
		 (unsigned long long)sd);
	make_ports(ports);
	make_elems(sh, v, n, ports);
	put_in_order(v, n, po + 4, o);
	s = build(t, sh, v, n);
	/* The address as the source, for ports around every port the elements name. */
	for (unsigned i = 0; i < N_POOL; i++)
		for (int d = -1; d <= 1; d++)
			if ((int)ports[i] + d >= 0 && (int)ports[i] + d <= 65535)
				check_one(s, sh, v, n, false, (pc_u128)(ports[i] + d), what);
	for (unsigned i = 0; i < 8; i++)
		check_one(s, sh, v, n, false, rnd(65536), what);
	check_order(s, 0, sh->single_port && !sh->one_port_range);
	/* The port as the source, for addresses at and around elements' bounds. */
	for (unsigned i = 0; i < 24 && n > 0; i++) {
		const struct elem *e = &v[rnd((uint32_t)n)];
		pc_u128 a[] = {e->alo, e->alo - 1, e->ahi, e->ahi + 1};

		for (unsigned j = 0; j < 4; j++)
			if (a[j] <= amax(sh))
				check_one(s, sh, v, n, true, a[j], what);
	}
	if (n > 0)
		check_order(s, 1, sh->single_addr);
	pc_nft_ruleset_clear(&rs);
}

static void test_projection_is_a_scan(void **state)
{
	static const size_t sizes[] = {300, 1000, 3000};
	uint64_t sd = 1;

	(void)state;
	for (unsigned alen = 4; alen <= 16; alen += 12)
		for (int map = 0; map < 2; map++)
			for (int single = 0; single < 4; single++)
				for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++)
					for (int o = ASCENDING; o <= SHUFFLED; o++) {
						struct shape sh = {
						    .alen = alen,
						    .map = map,
						    .single_port = single == 1 || single == 3,
						    .single_addr = single >= 2,
						    .one_port_range = single == 3 && z == 1};

						run(&sh, sizes[z], (enum order)o, sd++);
					}
}

/* An empty set and a set of one element: nothing to sort, no bytes to run over. */
static void test_tiny_sets(void **state)
{
	struct shape sh = {.alen = 4, .single_port = true, .single_addr = true};

	(void)state;
	run(&sh, 0, ASCENDING, 99);
	run(&sh, 1, ASCENDING, 100);
	run(&sh, 2, DESCENDING, 101);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_projection_is_a_scan),
	    cmocka_unit_test(test_tiny_sets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
