/* SPDX-License-Identifier: MIT */
/*
 * The symbolic source: the packet carries one concrete source (address and port) of a
 * box of sources, and every test of the source narrows the box to the sources that pass
 * it the same way (vm_sym_split), recording the test. At the end of a run the box is
 * exactly the set of sources that take the same path, and the tests describe it.
 *
 * Which register bytes hold the source is tracked byte by byte beside the taint: a
 * payload load of the source address or port marks them, masks keep them (the taint
 * bits are the source bits left), anything else (shifts, byte order, arithmetic) leaves
 * them tainted without a source byte, and a comparison of such bytes stays unknown.
 */
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftvm_internal.h"
#include "portcheck/util.h"

void vm_sym_mark_packet(struct vm_pkt *p)
{
	unsigned off = vm_pkt_addr_off(p, false), n = pc_addr_size(p->family);

	for (unsigned i = 0; i < n; i++) {
		p->var[off + i] = 0xff;
		p->sym[off + i] = (int8_t)i;
	}
	for (unsigned i = 0; i < 2; i++) {
		p->var[p->thoff + i] = 0xff;
		p->sym[p->thoff + i] = (int8_t)(VM_SYM_PORT + i);
	}
}

bool pc_src_lit_equal(const struct pc_src_lit *a, const struct pc_src_lit *b)
{
	if (a->kind != b->kind || a->port != b->port || a->negated != b->negated)
		return false;
	if (a->kind != PC_SRC_LIT_SET)
		return a->a == b->a && a->b == b->b;
	if (a->set != b->set || a->sym_field != b->sym_field || a->sym_off != b->sym_off ||
	    a->sym_len != b->sym_len || memcmp(a->key, b->key, sizeof(a->key)) != 0 ||
	    a->has_verdict != b->has_verdict || a->has_data != b->has_data)
		return false;
	if (a->has_verdict &&
	    (a->verdict.code != b->verdict.code || (a->verdict.chain != b->verdict.chain &&
						    (!a->verdict.chain || !b->verdict.chain ||
						     strcmp(a->verdict.chain, b->verdict.chain)))))
		return false;
	return !a->has_data ||
	       (a->data.len == b->data.len && memcmp(a->data.v, b->data.v, a->data.len) == 0);
}

/* Add a test to the run's tests, once. */
static int lit_add(struct vm_sym *s, const struct pc_src_lit *lit, bool negated)
{
	struct pc_src_lit *slot, l = *lit;

	l.negated = negated;
	/* Only set tests come twice (they are kept even when they cut nothing; a range or
	 * mask is kept only when it cuts the box, which a second time it cannot). */
	for (size_t i = 0; l.kind == PC_SRC_LIT_SET && i < s->n_lits; i++)
		if (pc_src_lit_equal(&s->lits[i], &l))
			return 0;
	slot = pc_array_grow(&s->lits, &s->n_lits, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	*slot = l;
	return 0;
}

int vm_sym_fork(const struct vm_sym *from, struct vm_sym *to)
{
	/* The fork's decisions count on in the same run: it leaves its boxes with it. */
	*to = (struct vm_sym){.abytes = from->abytes,
			      .x = {from->x[0], from->x[1]},
			      .rest = from->rest,
			      .classes = from->classes,
			      .class_fixed = from->class_fixed};
	if (pc_srcdim_copy(&from->dim[0], &to->dim[0]) < 0 ||
	    pc_srcdim_copy(&from->dim[1], &to->dim[1]) < 0) {
		vm_sym_clear(to);
		return -ENOMEM;
	}
	return 0;
}

int vm_sym_join(struct vm_sym *into, struct vm_sym *from)
{
	int r = 0;

	for (int d = 0; d < 2; d++) {
		pc_srcdim_clear(&into->dim[d]);
		into->dim[d] = from->dim[d];
		from->dim[d] = (struct pc_srcdim){0};
	}
	for (size_t i = 0; i < from->n_lits && r == 0; i++)
		r = lit_add(into, &from->lits[i], from->lits[i].negated);
	/* The box is the fork's now: within a class if the fork's was. */
	into->class_fixed |= from->class_fixed;
	into->class_missing |= from->class_missing;
	if (from->oom)
		r = -ENOMEM;
	vm_sym_clear(from);
	return r;
}

void vm_sym_clear(struct vm_sym *s)
{
	pc_srcdim_clear(&s->dim[0]);
	pc_srcdim_clear(&s->dim[1]);
	free(s->lits);
	s->lits = NULL;
	s->n_lits = 0;
}

void vm_sym_mark_reg(struct vm *vm, uint8_t *reg, uint32_t len, int first)
{
	uint8_t *t = vm_taint_of(vm, reg);
	size_t off = (size_t)(reg - (uint8_t *)vm->regs);

	for (uint32_t i = 0; i < len && off + i < sizeof(vm->rsym); i++) {
		t[i] = 0xff;
		vm->rsym[off + i] = (int8_t)(first + (int)i);
	}
	vm->taint_what = first >= VM_SYM_PORT ? "the source port" : "the source address";
}

int vm_sym_in(struct vm *vm, const uint8_t *reg, uint32_t len)
{
	const uint8_t *t = vm_taint_of(vm, reg);
	size_t off = (size_t)(reg - (const uint8_t *)vm->regs);
	int ret = 0;

	if (!vm->sym)
		return 0;
	for (uint32_t i = 0; i < len && off + i < sizeof(vm->rsym); i++) {
		if (!t[i])
			continue;
		if (vm->rsym[off + i] == VM_SYM_NONE)
			return -1;
		ret = 1;
	}
	return ret;
}

void vm_box_clear(struct vm_box *b)
{
	pc_srcdim_clear(&b->d[0]);
	pc_srcdim_clear(&b->d[1]);
}

void vm_sym_rest_clear(struct vm_sym_rest *rest)
{
	for (size_t i = 0; i < rest->n; i++)
		vm_box_clear(&rest->v[i]);
	free(rest->v);
	rest->v = NULL;
	rest->n = 0;
}

/* A test of dimension @port: the source set @l, or the shared list @b. */
struct sym_test {
	const struct pc_ivlist *l;
	struct pc_ivbase *b;
};

static int test_narrow(struct pc_srcdim *d, const struct sym_test *t, bool in)
{
	return t->b ? pc_srcdim_narrow_base(d, t->b, in) : pc_srcdim_narrow(d, t->l, in);
}

/*
 * A decision (see struct vm_sym_rest), before the box is narrowed to the sources that
 * answer @t as the concrete source does (@in): what the run leaves there, kept as a box.
 * @cuts false: the box answers alike throughout, nothing is left. @binary: the test has
 * two answers (a map's lookup has one per value, and none). -ENOMEM.
 */
static int sym_leave(struct vm_sym *s, bool port, const struct sym_test *t, bool in, bool cuts,
		     bool binary)
{
	struct vm_sym_rest *rest = s->rest;
	const struct vm_box *from;
	struct vm_box b = {0};
	size_t at;

	if (!rest)
		return 0;
	at = ++rest->decisions;
	from = rest->from;
	/* At the start box's own decision a test of two answers leaves nothing: the box
	 * holds only the other answer. */
	if (!cuts || (from && (at < from->at || (at == from->at && binary))))
		return 0;
	/* At the decision the run's start box was left at: that box, else the box so far
	 * (within the start box by now). */
	for (int d = 0; d < 2; d++)
		if (pc_srcdim_copy(from && at == from->at ? &from->d[d] : &s->dim[d], &b.d[d]) < 0)
			goto oom;
	if (test_narrow(&b.d[port], t, !in) < 0)
		goto oom;
	if (pc_srcdim_empty(&b.d[port]) || pc_srcdim_empty(&b.d[!port])) {
		vm_box_clear(&b);
		return 0;
	}
	b.at = at;
	{
		struct vm_box *slot = pc_array_grow(&rest->v, &rest->n, sizeof(*slot));

		if (!slot)
			goto oom;
		*slot = b;
	}
	return 0;
oom:
	vm_box_clear(&b);
	rest->oom = true;
	return -ENOMEM;
}

int vm_sym_split(struct vm *vm, bool port, const struct pc_ivlist *set,
		 const struct pc_src_lit *lit)
{
	struct vm_sym *s = vm->sym;
	struct pc_srcdim *box = &s->dim[port];
	bool in = pc_ivlist_find(set, s->x[port]) >= 0, narrowed;
	struct sym_test t = {.l = set};

	/* Asked first, galloping, so that a test the whole box passes alike changes
	 * nothing. */
	narrowed = in ? !pc_srcdim_subset_list(box, set) : pc_srcdim_overlaps_list(box, set);
	if (sym_leave(s, port, &t, in, narrowed, true) < 0)
		goto oom;
	if (narrowed && pc_srcdim_narrow(box, set, in) < 0)
		goto oom;
	/* A range or mask the whole box passes alike says nothing the pieces do not; a set
	 * does ("not in set S" on every path that passes it, whichever addresses it covers). */
	if ((narrowed || (lit->kind == PC_SRC_LIT_SET && set->n > 0)) && lit_add(s, lit, !in) < 0)
		goto oom;
	return in;
oom:
	s->oom = true;
	vm_unknown(vm, "out of memory narrowing the sources");
	return -1;
}

int vm_route_class(struct vm *vm)
{
	if (vm_sym_route_class(vm->sym) == 0)
		return 0;
	vm_unknown(vm, "the source is in no routing class");
	return -1;
}

int vm_sym_route_class(struct vm_sym *s)
{
	const struct pc_ivlist *c = NULL;
	struct sym_test t;
	bool narrowed;

	if (!s || !s->classes || s->class_fixed)
		return 0;
	s->class_fixed = true;
	for (size_t i = 0; i < s->classes->n && !c; i++)
		if (pc_ivlist_find(&s->classes->v[i], s->x[0]) >= 0)
			c = &s->classes->v[i];
	if (!c) {
		s->class_missing = true;
		return -1;
	}
	/* No test is recorded: the caller cuts the results at its pieces, each in one class.
	 * A decision of many answers, one per class (sym_leave). */
	t = (struct sym_test){.l = c};
	narrowed = !pc_srcdim_subset_list(&s->dim[0], c);
	if (sym_leave(s, false, &t, true, narrowed, false) < 0 ||
	    (narrowed && pc_srcdim_narrow(&s->dim[0], c, true) < 0)) {
		s->oom = true;
		return -1;
	}
	return 0;
}

int vm_sym_split_shared(struct vm *vm, bool port, struct pc_ivbase *b, const struct pc_src_lit *lit,
			int known)
{
	struct vm_sym *s = vm->sym;
	struct sym_test t = {0};
	bool in;

	if (b->l.n == 0)
		return vm_sym_split(vm, port, &b->l, lit);
	/* The box meets the set's list as srcdim decides: a small one in its clip, a big one
	 * by reference (or its complement); the test is recorded as vm_sym_split records a
	 * set's. */
	in = known >= 0 ? known : pc_ivlist_find(&b->l, s->x[port]) >= 0;
	t.b = b;
	if (sym_leave(s, port, &t, in, true, false) < 0 ||
	    pc_srcdim_narrow_base(&s->dim[port], b, in) < 0 || lit_add(s, lit, !in) < 0) {
		s->oom = true;
		vm_unknown(vm, "out of memory narrowing the sources");
		return -1;
	}
	return in;
}

int vm_sym_split_range(struct vm *vm, bool port, pc_u128 lo, pc_u128 hi)
{
	struct pc_ivl one = {lo, hi};
	struct pc_ivlist set = {.v = &one, .n = lo <= hi, .cap = 1};
	struct pc_src_lit lit = {.kind = PC_SRC_LIT_RANGE, .port = port, .a = lo, .b = hi};

	return vm_sym_split(vm, port, &set, &lit);
}

int vm_sym_split_mask(struct vm *vm, bool port, pc_u128 mask, pc_u128 value)
{
	struct vm_sym *s = vm->sym;
	unsigned bits = port ? 16 : s->abytes * 8;
	struct pc_src_lit lit = {.kind = PC_SRC_LIT_MASK, .port = port, .a = mask, .b = value};
	struct pc_ivlist set = {0};
	int r;

	if (pc_u128_is_prefix_mask(mask, bits)) {
		if (value & ~mask)
			return vm_sym_split_range(vm, port, 1, 0); /* never equal */
		return vm_sym_split_range(vm, port, value, value | (~mask & pc_u128_max(bits)));
	}
	/* Only the sources still in the box matter: a scattered mask after a narrow test
	 * (e.g. the odd addresses of one /24) stays small. */
	r = pc_ivlist_masked(&s->dim[port].clip, mask, value, bits, PC_SRC_MAX_MASK_INTERVALS,
			     &set);
	if (r == -E2BIG && s->dim[port].base) {
		/* The clip is wide but the box behind a big set may not be: the box's own
		 * pieces then, under the same limit. */
		struct pc_ivlist box = {0};

		pc_ivlist_clear(&set);
		r = pc_srcdim_to_list(&s->dim[port], &box);
		if (r >= 0)
			r = pc_ivlist_masked(&box, mask, value, bits, PC_SRC_MAX_MASK_INTERVALS,
					     &set);
		pc_ivlist_clear(&box);
	}
	if (r == -E2BIG) {
		pc_ivlist_clear(&set);
		vm_unknown(vm,
			   "the source %s is compared under a mask that keeps bits after cleared "
			   "ones: it splits the sources into more than %d ranges",
			   port ? "port" : "address", PC_SRC_MAX_MASK_INTERVALS);
		return -1;
	}
	if (r < 0) {
		pc_ivlist_clear(&set);
		s->oom = true;
		vm_unknown(vm, "out of memory narrowing the sources");
		return -1;
	}
	r = vm_sym_split(vm, port, &set, &lit);
	pc_ivlist_clear(&set);
	return r;
}

/*
 * Register bytes [0, len) as a test of one dimension: the dimension (0 address, 1 port),
 * and for an equality the mask and value it requires of x, or *never when no source
 * passes. Returns 0, or -1 after vm_unknown().
 */
struct sym_eq {
	bool port;
	pc_u128 mask, value;
	bool never;
};

static int sym_dim(struct vm *vm, const uint8_t *src, uint32_t len, bool *ret_port)
{
	const uint8_t *t = vm_taint_of(vm, src);
	size_t off = (size_t)(src - (const uint8_t *)vm->regs);
	int dim = -1;

	for (uint32_t i = 0; i < len; i++) {
		int d;

		if (!t[i])
			continue;
		d = vm->rsym[off + i] >= VM_SYM_PORT;
		if (dim >= 0 && d != dim) {
			vm_unknown(vm, "a comparison of the source address and port together");
			return -1;
		}
		dim = d;
	}
	*ret_port = dim == 1;
	return 0;
}

static int sym_eq_of(struct vm *vm, const uint8_t *src, const uint8_t *data, uint32_t len,
		     struct sym_eq *q)
{
	const uint8_t *t = vm_taint_of(vm, src);
	size_t off = (size_t)(src - (const uint8_t *)vm->regs);
	uint8_t m[16] = {}, v[16] = {};
	unsigned nb;

	if (sym_dim(vm, src, len, &q->port) < 0)
		return -1;
	nb = q->port ? 2 : vm->sym->abytes;
	q->never = false;
	for (uint32_t i = 0; i < len; i++) {
		int k;

		/* The bits that do not vary must be equal already. */
		if ((src[i] ^ data[i]) & ~t[i]) {
			q->never = true;
			continue;
		}
		if (!t[i])
			continue;
		k = vm->rsym[off + i] - (q->port ? VM_SYM_PORT : 0);
		if (k < 0 || (unsigned)k >= nb) {
			vm_unknown(vm, "a comparison of the source out of its bytes");
			return -1;
		}
		/* The same source byte twice: both must agree where both look. */
		if ((v[k] ^ data[i]) & m[k] & t[i])
			q->never = true;
		m[k] |= t[i];
		v[k] |= data[i] & t[i];
	}
	q->mask = pc_u128_from_be(m, nb);
	q->value = pc_u128_from_be(v, nb);
	return 0;
}

/* The bytes compared in order must be a leading part of one dimension, whole bytes: then
 * "x's first len bytes op data" is an interval of x. Returns the shift (bits after the
 * part), or -1 after vm_unknown(). */
static int sym_order_part(struct vm *vm, const uint8_t *src, uint32_t len, bool *ret_port)
{
	const uint8_t *t = vm_taint_of(vm, src);
	size_t off = (size_t)(src - (const uint8_t *)vm->regs);
	unsigned nb;

	if (sym_dim(vm, src, len, ret_port) < 0)
		return -1;
	nb = *ret_port ? 2 : vm->sym->abytes;
	for (uint32_t i = 0; i < len; i++) {
		int k = vm->rsym[off + i] - (*ret_port ? VM_SYM_PORT : 0);

		if (t[i] != 0xff || k != (int)i || i >= nb) {
			vm_unknown(vm, "the source %s is compared in order in part or masked",
				   *ret_port ? "port" : "address");
			return -1;
		}
	}
	return (int)((nb - len) * 8);
}

void vm_sym_cmp(struct vm *vm, const struct pc_nft_expr *e, const uint8_t *src)
{
	uint32_t len = e->cmp.data.len;
	bool port, match;
	pc_u128 d, lo, hi, max;
	int sh, in;

	if (e->cmp.op == NFT_CMP_EQ || e->cmp.op == NFT_CMP_NEQ) {
		struct sym_eq q;

		if (sym_eq_of(vm, src, e->cmp.data.v, len, &q) < 0)
			return;
		in = q.never ? vm_sym_split_range(vm, q.port, 1, 0)
			     : vm_sym_split_mask(vm, q.port, q.mask, q.value);
		if (in < 0)
			return;
		match = e->cmp.op == NFT_CMP_EQ ? in : !in;
		if (!match)
			vm->vcode = NFT_BREAK;
		return;
	}
	sh = sym_order_part(vm, src, len, &port);
	if (sh < 0)
		return;
	max = pc_u128_max(port ? 16 : vm->sym->abytes * 8);
	d = pc_u128_from_be(e->cmp.data.v, len) << sh;
	/* The sources for which the comparison holds, as one interval [lo, hi]. */
	switch (e->cmp.op) {
	case NFT_CMP_LT: /* x < d */
		lo = 0, hi = d - 1;
		if (d == 0)
			lo = 1, hi = 0;
		break;
	case NFT_CMP_LTE: /* x's part <= d's */
		lo = 0, hi = d | pc_u128_max((unsigned)sh);
		break;
	case NFT_CMP_GT:
		lo = (d | pc_u128_max((unsigned)sh)) + 1, hi = max;
		if ((d | pc_u128_max((unsigned)sh)) == max)
			lo = 1, hi = 0;
		break;
	case NFT_CMP_GTE:
		lo = d, hi = max;
		break;
	default:
		vm_unknown(vm, "cmp with unknown operator %u", e->cmp.op);
		return;
	}
	in = vm_sym_split_range(vm, port, lo, hi);
	if (in == 0)
		vm->vcode = NFT_BREAK;
}

void vm_sym_range(struct vm *vm, const struct pc_nft_expr *e, const uint8_t *src)
{
	uint32_t len = e->range.from.len;
	bool port;
	pc_u128 lo, hi;
	int sh, in;

	if (e->range.op != NFT_RANGE_EQ && e->range.op != NFT_RANGE_NEQ) {
		vm_unknown(vm, "range with unknown operator %u", e->range.op);
		return;
	}
	sh = sym_order_part(vm, src, len, &port);
	if (sh < 0)
		return;
	lo = pc_u128_from_be(e->range.from.v, len) << sh;
	hi = pc_u128_from_be(e->range.to.v, len) << sh | pc_u128_max((unsigned)sh);
	in = vm_sym_split_range(vm, port, lo, hi);
	if (in < 0)
		return;
	if ((e->range.op == NFT_RANGE_EQ) != (in == 1))
		vm->vcode = NFT_BREAK;
}
