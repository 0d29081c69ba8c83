/* SPDX-License-Identifier: MIT */
/*
 * The hooks of the packet path (see nftpath.c): the base chains of one hook in the
 * kernel's order, conntrack at its priority, the NAT hook running the nat-type chains until
 * one binds, and netdev/inet ingress.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftpath_internal.h"
#include "nftvm_internal.h"
#include "portcheck/util.h"

#define PRI_CONNTRACK (-200) /* NF_IP_PRI_CONNTRACK, NF_IP6_PRI_CONNTRACK */
#define PRI_NAT_DST (-100)   /* NF_IP_PRI_NAT_DST */
#define PRI_NAT_SRC 100	     /* NF_IP_PRI_NAT_SRC */

/* Run one base chain. Returns true when the packet goes on (accepted). */
static bool run_chain(struct path *pt, uint32_t hook, uint8_t pf, const struct pc_nft_table *t,
		      const struct pc_nft_chain *c, int nat_manip, bool ct_ambiguous,
		      int *ret_verdict)
{
	struct vm vm = {
	    .rs = pt->rs,
	    .net = pt->net,
	    .pkt = &pt->pkt,
	    .ch = pt->ch,
	    .tr = pt->tr,
	    .sym = pt->sym,
	    .hook = hook,
	    .pf = pf,
	    .nat_manip = nat_manip,
	    .ct_order_ambiguous = ct_ambiguous,
	    .steps = pt->steps,
	};
	int v = vm_run_chain(&vm, t, c);

	pt->steps = vm.steps;
	*ret_verdict = v;
	if (v == VM_UNKNOWN) {
		path_unknown(pt, vm.reason);
		vm_rule_ref(t, vm.chain, vm.rule, &pt->rule);
		pt->has_rule = true;
		return false;
	}
	if ((v & NF_VERDICT_MASK) == NF_ACCEPT) {
		struct pc_rule_ref ref;

		/* Accept goes on to the next base chain, and the last one to accept has the
		 * final word. But a rule that accepted it explains more than a later chain's
		 * accept policy (firewalld's forward "ct status dnat accept" rather than
		 * nat_POSTROUTING's policy): a policy replaces only another policy. */
		vm_rule_ref(t, vm.chain, vm.rule, &ref);
		if (!pt->has_rule || !ref.policy || pt->rule.policy) {
			pt->rule = ref;
			pt->has_rule = true;
		}
		return true;
	}
	vm_rule_ref(t, vm.chain, vm.rule, &pt->rule);
	pt->has_rule = true;
	switch (v & NF_VERDICT_MASK) {
	case NF_DROP:
		pt->done = true;
		if (vm.rejected && !vm.reject_silent) {
			pt->verdict = PC_VERDICT_REJECT;
			pt->reject = vm.reject;
		} else {
			pt->verdict = PC_VERDICT_DROP;
		}
		return false;
	case NF_QUEUE:
		path_unknown(pt, "queued to userspace: a userspace program decides");
		return false;
	default:
		path_unknown(pt, "the packet was stolen by an expression");
		return false;
	}
}

/* One entry of a hook: a base chain, conntrack, or the NAT hook. */
enum ent_kind { ENT_CHAIN, ENT_CONNTRACK, ENT_NAT };

struct ent {
	enum ent_kind kind;
	int32_t prio;
	size_t order;
	const struct pc_nft_table *t;
	const struct pc_nft_chain *c;
};

/* A hook's entries: its base chains, conntrack, NAT; a few, on the stack unless a
 * ruleset has more (every hook of every run collects them). */
#define ENTS_INLINE 8
struct ents {
	struct ent *v; /* buf, or the heap past ENTS_INLINE */
	size_t n, cap;
	struct ent buf[ENTS_INLINE];
};

static void ents_init(struct ents *s)
{
	s->v = s->buf;
	s->n = 0;
	s->cap = ENTS_INLINE;
}

/* A new entry at the end; NULL when out of memory. */
static struct ent *ents_push(struct ents *s)
{
	if (s->n == s->cap) {
		struct ent *v = s->v == s->buf ? malloc(2 * s->cap * sizeof(*v))
					       : reallocarray(s->v, 2 * s->cap, sizeof(*v));

		if (!v)
			return NULL;
		if (s->v == s->buf)
			memcpy(v, s->buf, s->n * sizeof(*v));
		s->v = v;
		s->cap *= 2;
	}
	return &s->v[s->n++];
}

static void ents_free(struct ents *s)
{
	if (s->v != s->buf)
		free(s->v);
	ents_init(s);
}

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	/* Internal hooks after the chains of the same priority (flagged as ambiguous). */
	if (x->kind != y->kind)
		return x->kind == ENT_CHAIN ? -1 : (y->kind == ENT_CHAIN ? 1 : 0);
	/* Later registration runs first. */
	if (x->order != y->order)
		return x->order > y->order ? -1 : 1;
	return 0;
}

static bool chain_is_nat(const struct pc_nft_chain *c)
{
	return c->type && strcmp(c->type, "nat") == 0;
}

static bool chain_on_dev(const struct pc_nft_chain *c, const char *dev)
{
	if (c->dev && strcmp(c->dev, dev) == 0)
		return true;
	for (size_t i = 0; i < c->n_devices; i++)
		if (c->devices[i] && strcmp(c->devices[i], dev) == 0)
			return true;
	return false;
}

static bool table_sees(const struct pc_nft_table *t, uint8_t nfproto)
{
	return t->family == nfproto || t->family == NFPROTO_INET;
}

/* Base chains of @hook for the packet's family; @nat selects nat-type ones. */
static int collect(struct path *pt, uint32_t hook, bool nat, struct ents *ret)
{
	const struct vm_base_chain *b;
	size_t n;

	ents_init(ret);
	if (vm_base_chains(pt->rs, &b, &n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct ent *e;

		if (!table_sees(b[i].t, pt->pkt.nfproto) || b[i].c->hooknum != hook ||
		    chain_is_nat(b[i].c) != nat)
			continue;
		e = ents_push(ret);
		if (!e) {
			ents_free(ret);
			return -ENOMEM;
		}
		*e = (struct ent){.kind = ENT_CHAIN,
				  .prio = b[i].c->prio,
				  .order = b[i].order,
				  .t = b[i].t,
				  .c = b[i].c};
	}
	return 0;
}

/* Whether expression @e, in a table that sees @nfproto, makes the kernel enable conntrack
 * (nf_ct_netns_get) for @nfproto. */
static bool expr_enables_ct(const struct pc_nft_expr *e, uint8_t nfproto)
{
	switch (e->type) {
	case PC_NFT_EXPR_CT: /* nft_ct_get_init / nft_ct_set_init: the table's family */
	case PC_NFT_EXPR_MASQ:
	case PC_NFT_EXPR_REDIR:
		return true;
	case PC_NFT_EXPR_NAT: /* nft_nat_init: the nat expression's own family */
		return e->nat.family == nfproto || e->nat.family == NFPROTO_INET;
	case PC_NFT_EXPR_MATCH:
		return strcmp(e->xt.name, "conntrack") == 0 || strcmp(e->xt.name, "state") == 0;
	case PC_NFT_EXPR_TARGET:
		return strcmp(e->xt.name, "DNAT") == 0 || strcmp(e->xt.name, "SNAT") == 0 ||
		       strcmp(e->xt.name, "MASQUERADE") == 0 ||
		       strcmp(e->xt.name, "REDIRECT") == 0 || strcmp(e->xt.name, "CT") == 0;
	default:
		return false;
	}
}

/*
 * Whether conntrack runs for @nfproto at all. The kernel registers its hooks only when
 * something needs it (a ct expression, NAT, an xt conntrack match ...); without them there
 * is no conntrack entry, and the NAT hooks let every packet pass untouched (nf_nat_ipv4_fn,
 * nf_nat_ipv6_fn), whatever the nat chains say. A nat chain alone does not enable it.
 */
static bool ct_enabled_scan(const struct pc_nft_ruleset *rs, uint8_t nfproto)
{
	for (size_t i = 0; i < rs->n_tables; i++) {
		const struct pc_nft_table *t = &rs->tables[i];

		if (!table_sees(t, nfproto))
			continue;
		for (size_t j = 0; j < t->n_chains; j++)
			for (size_t k = 0; k < t->chains[j].n_rules; k++) {
				const struct pc_nft_rule *r = &t->chains[j].rules[k];
				for (size_t x = 0; x < r->n_exprs; x++)
					if (expr_enables_ct(&r->exprs[x], nfproto))
						return true;
			}
	}
	return false;
}

/* ct_enabled_scan(), once per ruleset and family: the ruleset caches it like the sets'
 * lookup indexes (one thread evaluates a snapshot at a time). */
bool path_ct_enabled(const struct pc_nft_ruleset *rs, uint8_t nfproto)
{
	uint8_t *cache = ((struct pc_nft_ruleset *)rs)->ct_enabled_cache;
	unsigned i = nfproto == NFPROTO_IPV6;

	if (!cache[i])
		cache[i] = ct_enabled_scan(rs, nfproto) ? 2 : 1;
	return cache[i] == 2;
}

/* Whether the NAT core's hooks are registered for the family: any nat chain of it. An
 * unknown answer when out of memory: yes (run_nat's collect says so). */
static bool nat_registered(struct path *pt)
{
	const struct vm_base_chain *b;
	size_t n;

	if (vm_base_chains(pt->rs, &b, &n) < 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (table_sees(b[i].t, pt->pkt.nfproto) && chain_is_nat(b[i].c))
			return true;
	return false;
}

/* nf_nat_packet(): rewrite the packet to the binding of @manip. */
static void nat_apply(struct vm_pkt *p, int manip)
{
	if (!p->nat_changed[manip])
		return;
	pkt_set_addr(p, manip == MANIP_DST, &p->nat_addr[manip]);
	pkt_set_port(p, manip == MANIP_DST, p->nat_port[manip]);
	if (manip == MANIP_SRC && p->sport_drawn) {
		memset(p->var + p->thoff, 0xff, 2);
		memset(p->sym + p->thoff, VM_SYM_NONE, 2);
	}
}

/* The NAT hook (nf_nat_inet_fn) for @hook. Returns true when the packet goes on. */
static bool run_nat(struct path *pt, uint32_t hook, int manip, bool tie)
{
	struct vm_pkt *p = &pt->pkt;
	struct ents nats;
	int v;

	/* Untracked (or no entry): NAT leaves the packet alone. */
	if (p->ct != VM_CT_NEW)
		return true;
	if (!p->nat_done[manip]) {
		if (collect(pt, hook, true, &nats) < 0) {
			path_unknown(pt, "out of memory");
			return false;
		}
		if (nats.n > 1)
			qsort(nats.v, nats.n, sizeof(*nats.v), ent_cmp);
		for (size_t i = 0; i < nats.n && !p->nat_done[manip]; i++) {
			if (!run_chain(pt, hook, p->nfproto, nats.v[i].t, nats.v[i].c, manip, false,
				       &v)) {
				ents_free(&nats);
				return false;
			}
		}
		ents_free(&nats);
		if (!p->nat_done[manip]) {
			/* nf_nat_alloc_null_binding */
			p->nat_done[manip] = true;
			p->ct_status |= manip == MANIP_DST ? IPS_DST_NAT_DONE : IPS_SRC_NAT_DONE;
		}
	}
	if (tie && p->nat_changed[manip]) {
		path_unknown(pt, "a base chain shares the NAT hook's priority: whether it sees "
				 "the packet before or after NAT depends on registration order");
		return false;
	}
	nat_apply(p, manip);
	return true;
}

static void conntrack_in(struct vm_pkt *p)
{
	/* nf_conntrack_in: untracked packets are left alone; otherwise a new entry whose
	 * original tuple is the packet as it is now and whose reply is its inverse. */
	if (p->ct != VM_CT_NONE)
		return;
	p->ct = VM_CT_NEW;
	p->ct_status = 0;
	pkt_addr(p, false, &p->orig.src);
	pkt_addr(p, true, &p->orig.dst);
	p->orig.sport = pkt_port(p, false);
	p->orig.dport = pkt_port(p, true);
	p->orig_src_sym =
	    pkt_field_symbolic(p, vm_pkt_addr_off(p, false), 0, pc_addr_size(p->family));
	p->orig_sport_sym = pkt_field_symbolic(p, p->thoff, VM_SYM_PORT, 2);
	p->reply = (struct vm_tuple){
	    .src = p->orig.dst,
	    .dst = p->orig.src,
	    .sport = p->orig.dport,
	    .dport = p->orig.sport,
	};
}

/*
 * Walk the entries of an NF_INET_* hook. @ct_prio: where conntrack sits (0 for none);
 * @nat_manip: the NAT hook's manip type, -1 when NAT does not run on this hook.
 * Returns true when the packet goes on.
 */
bool path_run_hook(struct path *pt, uint32_t hook, bool with_ct, int nat_manip)
{
	struct ents ents;
	bool ok = true, ct_tie = false, nat_tie = false;
	int32_t nat_prio = nat_manip == MANIP_DST ? PRI_NAT_DST : PRI_NAT_SRC;
	int v;

	if (collect(pt, hook, false, &ents) < 0) {
		path_unknown(pt, "out of memory");
		return false;
	}
	for (size_t i = 0; i < ents.n; i++) {
		if (with_ct && ents.v[i].prio == PRI_CONNTRACK)
			ct_tie = true;
		if (nat_manip >= 0 && ents.v[i].prio == nat_prio)
			nat_tie = true;
	}
	if (with_ct) {
		struct ent *e = ents_push(&ents);

		if (!e)
			goto oom;
		*e = (struct ent){.kind = ENT_CONNTRACK, .prio = PRI_CONNTRACK};
	}
	if (nat_manip >= 0 && pt->ct_enabled && nat_registered(pt)) {
		struct ent *e = ents_push(&ents);

		if (!e)
			goto oom;
		*e = (struct ent){.kind = ENT_NAT, .prio = nat_prio};
	}
	if (ents.n > 1)
		qsort(ents.v, ents.n, sizeof(*ents.v), ent_cmp);

	for (size_t i = 0; i < ents.n && ok; i++) {
		const struct ent *e = &ents.v[i];

		switch (e->kind) {
		case ENT_CONNTRACK:
			conntrack_in(&pt->pkt);
			break;
		case ENT_NAT:
			ok = run_nat(pt, hook, nat_manip, nat_tie);
			break;
		case ENT_CHAIN:
			ok = run_chain(pt, hook, pt->pkt.nfproto, e->t, e->c, -1,
				       with_ct && ct_tie && e->prio == PRI_CONNTRACK, &v);
			break;
		}
	}
	ents_free(&ents);
	return ok;
oom:
	ents_free(&ents);
	path_unknown(pt, "out of memory");
	return false;
}

/* Netdev ingress chains bound to the incoming device, and inet ingress chains. */
bool path_run_ingress(struct path *pt)
{
	const struct pc_link *in = vm_link(pt->net, pt->pkt.iif);
	const struct vm_base_chain *b;
	struct ents ents;
	bool ok = true;
	size_t n;
	int v;

	if (!in)
		return true;
	ents_init(&ents);
	if (vm_base_chains(pt->rs, &b, &n) < 0) {
		path_unknown(pt, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pc_nft_table *t = b[i].t;
		const struct pc_nft_chain *c = b[i].c;
		struct ent *e;

		if (!((t->family == NFPROTO_NETDEV && c->hooknum == NF_NETDEV_INGRESS) ||
		      (t->family == NFPROTO_INET && c->hooknum == NF_INET_INGRESS)) ||
		    !chain_on_dev(c, in->name))
			continue;
		e = ents_push(&ents);
		if (!e) {
			ents_free(&ents);
			path_unknown(pt, "out of memory");
			return false;
		}
		*e = (struct ent){
		    .kind = ENT_CHAIN, .prio = c->prio, .order = b[i].order, .t = t, .c = c};
	}
	if (ents.n > 1)
		qsort(ents.v, ents.n, sizeof(*ents.v), ent_cmp);
	for (size_t i = 0; i < ents.n && ok; i++)
		ok = run_chain(pt, VM_HOOK_INGRESS,
			       ents.v[i].t->family == NFPROTO_NETDEV ? NFPROTO_NETDEV
								     : pt->pkt.nfproto,
			       ents.v[i].t, ents.v[i].c, -1, false, &v);
	ents_free(&ents);
	return ok;
}
