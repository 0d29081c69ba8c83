/* SPDX-License-Identifier: MIT */
/*
 * The kernel's path for one new connection: the synthetic packet's bytes, the hooks it
 * meets and the routing decision between them.
 *
 *   ingress (netdev tables bound to the device, inet ingress chains)
 *   prerouting: base chains by priority; conntrack at -200 (NF_IP_PRI_CONNTRACK); the NAT
 *     hook at -100 (NF_IP_PRI_NAT_DST) running every nat-type chain of the hook, in their
 *     own priority order, until one binds (nf_nat_inet_fn), then the null binding; DNAT
 *     rewrites the packet there, so later chains see the new destination
 *   routing decision on the post-DNAT destination (ip_route_input_slow / ip6_route_input)
 *   input: base chains, the NAT hook at +100 (SNAT) among them
 *   or forward, then postrouting with its NAT hook at +100 (SNAT, masquerade)
 *
 * Ordering of base chains on a hook: by priority; at equal priority the kernel inserts a
 * new hook before the ones already there (nf_hook_entries_grow), so the later registration
 * runs first. The snapshot lists tables and chains in creation order, which is taken as the
 * registration order (an approximation when chains were added to older tables later).
 * Chains exactly at the conntrack or NAT hook's priority have an order relative to those
 * that depends on history; where it matters the result is unknown.
 *
 * Accept in a base chain continues with the next one; drop and reject are final.
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

#include "nftvm_internal.h"
#include "portcheck/util.h"

#define MANIP_SRC 0
#define MANIP_DST 1
#define PRI_CONNTRACK (-200) /* NF_IP_PRI_CONNTRACK, NF_IP6_PRI_CONNTRACK */
#define PRI_NAT_DST (-100)   /* NF_IP_PRI_NAT_DST */
#define PRI_NAT_SRC 100	     /* NF_IP_PRI_NAT_SRC */

/* --- the synthetic packet --------------------------------------------------------------- */

static uint32_t csum_add(uint32_t sum, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 header (TTL 64, DF, no options) or IPv6 header (hop limit 64, no extension
 * headers), then a TCP SYN (data offset 5, no options, window 64240) or a UDP header with
 * no data; checksums filled in. The fields a real client chooses are marked as varying:
 * a comparison they decide is not exact. */
static void build_packet(struct vm_pkt *p, const struct pc_flow *f)
{
	bool v4 = f->family == AF_INET, tcp = f->l4proto == IPPROTO_TCP;
	uint32_t l4len = tcp ? 20 : 8, sum;
	uint8_t *ip = p->buf, *l4;
	uint8_t pseudo[40] = {};
	unsigned alen = v4 ? 4 : 16;

	memset(p->buf, 0, sizeof(p->buf));
	p->family = f->family;
	p->nfproto = v4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	p->l4proto = f->l4proto;
	p->thoff = v4 ? 20 : 40;
	p->len = p->thoff + l4len;
	l4 = ip + p->thoff;

	if (v4) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)p->len);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = f->l4proto;
		memcpy(ip + 12, f->saddr.bytes, 4);
		memcpy(ip + 16, f->daddr.bytes, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = f->l4proto;
		ip[7] = 64;
		memcpy(ip + 8, f->saddr.bytes, 16);
		memcpy(ip + 24, f->daddr.bytes, 16);
	}

	put16(l4, f->sport);
	put16(l4 + 2, f->dport);
	if (tcp) {
		put16(l4 + 4, 0x0001); /* sequence number, arbitrary */
		l4[12] = 5 << 4;
		l4[13] = 0x02; /* SYN */
		put16(l4 + 14, 64240);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
	}
	/* What differs between clients: IPv4 DSCP/ECN, length, id, DF, TTL, checksum; IPv6
	 * traffic class, flow label, length, hop limit; TCP sequence and ack numbers, data
	 * offset (options), ECN flags, window, checksum; UDP length and checksum. */
	memset(p->var, 0, sizeof(p->var));
	if (v4) {
		memset(p->var + 1, 0xff, 5);
		p->var[6] = 0x40;
		p->var[8] = 0xff;
		memset(p->var + 10, 0xff, 2);
	} else {
		p->var[0] = 0x0f;
		memset(p->var + 1, 0xff, 5);
		p->var[7] = 0xff;
	}
	if (tcp) {
		memset(p->var + p->thoff + 4, 0xff, 9);
		p->var[p->thoff + 13] = 0xc0;
		memset(p->var + p->thoff + 14, 0xff, 4);
	} else {
		memset(p->var + p->thoff + 4, 0xff, 4);
	}

	/* Pseudo-header: addresses, then protocol and length. */
	memcpy(pseudo, f->saddr.bytes, alen);
	memcpy(pseudo + alen, f->daddr.bytes, alen);
	sum = csum_add(0, pseudo, alen * 2);
	sum += f->l4proto + l4len;
	sum = csum_add(sum, l4, l4len);
	put16(l4 + (tcp ? 16 : 6), csum_fold(sum) ? csum_fold(sum) : 0xffff);
}

static void pkt_addr(const struct vm_pkt *p, bool dst, struct pc_addr *ret)
{
	unsigned off = p->family == AF_INET ? (dst ? 16 : 12) : (dst ? 24 : 8);

	*ret = (struct pc_addr){.family = p->family};
	memcpy(ret->bytes, p->buf + off, pc_addr_size(p->family));
}

static void pkt_set_addr(struct vm_pkt *p, bool dst, const struct pc_addr *a)
{
	unsigned off = p->family == AF_INET ? (dst ? 16 : 12) : (dst ? 24 : 8);

	memcpy(p->buf + off, a->bytes, pc_addr_size(p->family));
}

static uint16_t pkt_port(const struct vm_pkt *p, bool dst)
{
	uint16_t v;

	memcpy(&v, p->buf + p->thoff + (dst ? 2 : 0), 2);
	return v;
}

static void pkt_set_port(struct vm_pkt *p, bool dst, uint16_t v)
{
	memcpy(p->buf + p->thoff + (dst ? 2 : 0), &v, 2);
}

/* --- one path --------------------------------------------------------------------------- */

struct path {
	const struct pc_nft_ruleset *rs;
	const struct vm_net *net;
	const struct pc_flow *flow;
	struct vm_pkt pkt;
	struct vm_choices *ch;
	struct vm_trace *tr;
	uint64_t steps;

	bool ct_enabled; /* conntrack runs for the packet's family (see ct_enabled()) */

	/* the outcome */
	bool done;
	enum pc_verdict verdict;
	struct pc_reject reject;
	bool has_rule;
	struct pc_rule_ref rule;
	bool forwarded, dnat_local;
	struct pc_addr fwd_addr;
	uint16_t fwd_port;
	char reason[256];
	char note[256];
};

static void path_unknown(struct path *pt, const char *reason)
{
	if (pt->done)
		return;
	pt->done = true;
	pt->verdict = PC_VERDICT_UNKNOWN;
	snprintf(pt->reason, sizeof(pt->reason), "%s", reason);
}

static void path_drop(struct path *pt, const char *note)
{
	pt->done = true;
	pt->verdict = PC_VERDICT_DROP;
	pt->has_rule = false;
	snprintf(pt->note, sizeof(pt->note), "%s", note);
}

/* Whether the kernel can route something back to the source. */
static bool reply_routable(struct path *pt)
{
	struct pc_addr s;
	struct vm_rt rt;

	if (pt->net->ni->routing_blind_spot)
		return true;
	pkt_addr(&pt->pkt, false, &s);
	vm_fib_lookup(pt->net, &s, 0, &rt);
	return rt.found && (rt.type == RTN_UNICAST || rt.type == RTN_LOCAL);
}

/* An ICMP error the routing code sends (ip_error, ip6_pkt_drop). */
static void path_icmp(struct path *pt, uint8_t code, const char *note)
{
	pt->done = true;
	pt->has_rule = false;
	if (!reply_routable(pt)) {
		pt->verdict = PC_VERDICT_DROP;
		snprintf(pt->note, sizeof(pt->note), "%s (no route back: nothing sent)", note);
		return;
	}
	pt->verdict = PC_VERDICT_REJECT;
	pt->reject = (struct pc_reject){
	    .icmp_type = pt->pkt.family == AF_INET ? 3 : 1,
	    .icmp_code = code,
	};
	snprintf(pt->note, sizeof(pt->note), "%s", note);
}

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

struct ents {
	struct ent *v;
	size_t n;
};

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
	const struct pc_nft_ruleset *rs = pt->rs;
	size_t order = 0;

	*ret = (struct ents){};
	for (size_t i = 0; i < rs->n_tables; i++) {
		const struct pc_nft_table *t = &rs->tables[i];

		for (size_t j = 0; j < t->n_chains; j++, order++) {
			const struct pc_nft_chain *c = &t->chains[j];
			struct ent *e;

			if (!c->base || !table_sees(t, pt->pkt.nfproto) || c->hooknum != hook ||
			    chain_is_nat(c) != nat)
				continue;
			e = pc_array_grow(&ret->v, &ret->n, sizeof(*e));
			if (!e)
				return -ENOMEM;
			*e = (struct ent){
			    .kind = ENT_CHAIN, .prio = c->prio, .order = order, .t = t, .c = c};
		}
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
static bool ct_enabled(const struct pc_nft_ruleset *rs, uint8_t nfproto)
{
	uint8_t *cache = ((struct pc_nft_ruleset *)rs)->ct_enabled_cache;
	unsigned i = nfproto == NFPROTO_IPV6;

	if (!cache[i])
		cache[i] = ct_enabled_scan(rs, nfproto) ? 2 : 1;
	return cache[i] == 2;
}

/* Whether the NAT core's hooks are registered for the family: any nat chain of it. */
static bool nat_registered(struct path *pt)
{
	for (size_t i = 0; i < pt->rs->n_tables; i++) {
		const struct pc_nft_table *t = &pt->rs->tables[i];

		if (!table_sees(t, pt->pkt.nfproto))
			continue;
		for (size_t j = 0; j < t->n_chains; j++)
			if (t->chains[j].base && chain_is_nat(&t->chains[j]))
				return true;
	}
	return false;
}

/* nf_nat_packet(): rewrite the packet to the binding of @manip. */
static void nat_apply(struct vm_pkt *p, int manip)
{
	if (!p->nat_changed[manip])
		return;
	pkt_set_addr(p, manip == MANIP_DST, &p->nat_addr[manip]);
	pkt_set_port(p, manip == MANIP_DST, p->nat_port[manip]);
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
				free(nats.v);
				return false;
			}
		}
		free(nats.v);
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
static bool run_hook(struct path *pt, uint32_t hook, bool with_ct, int nat_manip)
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
		struct ent *e = pc_array_grow(&ents.v, &ents.n, sizeof(*e));

		if (!e)
			goto oom;
		*e = (struct ent){.kind = ENT_CONNTRACK, .prio = PRI_CONNTRACK};
	}
	if (nat_manip >= 0 && pt->ct_enabled && nat_registered(pt)) {
		struct ent *e = pc_array_grow(&ents.v, &ents.n, sizeof(*e));

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
	free(ents.v);
	return ok;
oom:
	free(ents.v);
	path_unknown(pt, "out of memory");
	return false;
}

/* Netdev ingress chains bound to the incoming device, and inet ingress chains. */
static bool run_ingress(struct path *pt)
{
	const struct pc_link *in = vm_link(pt->net, pt->pkt.iif);
	struct ents ents = {};
	size_t order = 0;
	bool ok = true;
	int v;

	if (!in)
		return true;
	for (size_t i = 0; i < pt->rs->n_tables; i++) {
		const struct pc_nft_table *t = &pt->rs->tables[i];

		for (size_t j = 0; j < t->n_chains; j++, order++) {
			const struct pc_nft_chain *c = &t->chains[j];
			struct ent *e;

			if (!c->base || !chain_on_dev(c, in->name))
				continue;
			if (!((t->family == NFPROTO_NETDEV && c->hooknum == NF_NETDEV_INGRESS) ||
			      (t->family == NFPROTO_INET && c->hooknum == NF_INET_INGRESS)))
				continue;
			e = pc_array_grow(&ents.v, &ents.n, sizeof(*e));
			if (!e) {
				free(ents.v);
				path_unknown(pt, "out of memory");
				return false;
			}
			*e = (struct ent){
			    .kind = ENT_CHAIN, .prio = c->prio, .order = order, .t = t, .c = c};
		}
	}
	if (ents.n > 1)
		qsort(ents.v, ents.n, sizeof(*ents.v), ent_cmp);
	for (size_t i = 0; i < ents.n && ok; i++)
		ok = run_chain(pt, VM_HOOK_INGRESS,
			       ents.v[i].t->family == NFPROTO_NETDEV ? NFPROTO_NETDEV
								     : pt->pkt.nfproto,
			       ents.v[i].t, ents.v[i].c, -1, false, &v);
	free(ents.v);
	return ok;
}

static bool v4_loopback(const struct pc_addr *a)
{
	return a->bytes[0] == 127;
}

/* Checks of ip6_rcv_core() before any hook. */
static bool ipv6_rcv_ok(struct path *pt)
{
	struct pc_addr s, d;
	bool lo = vm_link_is_loopback(pt->net, pt->pkt.iif);

	pkt_addr(&pt->pkt, false, &s);
	pkt_addr(&pt->pkt, true, &d);
	if (vm_ipv6_addr_type(&s) & (VM_V6_MULTICAST | VM_V6_MAPPED)) {
		path_drop(pt, "source is multicast or IPv4-mapped: dropped on receive");
		return false;
	}
	if (!lo && ((vm_ipv6_addr_type(&s) | vm_ipv6_addr_type(&d)) & VM_V6_LOOPBACK)) {
		path_drop(pt, "::1 on a non-loopback interface: dropped on receive");
		return false;
	}
	return true;
}

enum route_res { ROUTE_LOCAL, ROUTE_FORWARD, ROUTE_DONE };

/* The routing decision, not a rule, makes the result unknown. */
static void route_unknown(struct path *pt, const char *reason)
{
	pt->has_rule = false;
	path_unknown(pt, reason);
}

/*
 * fib_validate_source() for an IPv4 packet from @s arriving on the path's device: whether
 * the source passes (true), or the path is done (dropped as a martian or by the
 * reverse-path filter, or unknown). rp_filter is the maximum of all and the device, the
 * others their OR (pc_netif_inet_conf). Not modelled: route realms (tclassid users take
 * the full check) and IPsec (a secpath skips the filter); neither is in the model.
 */
static bool v4_validate_source(struct path *pt, const struct pc_addr *s)
{
	const struct pc_netif *ni = pt->net->ni;
	const struct pc_link *dev = vm_link(pt->net, pt->pkt.iif);
	struct pc_inet_conf c = pc_netif_inet_conf(ni, dev);
	char src[PC_ADDRSTRLEN], note[256];
	const struct pc_link *back;
	struct vm_rt rt;

	pc_addr_to_string(s, src);
	if (!c.rp_filter) {
		/* The fast path: only a source that is one of our own addresses fails. */
		if (c.accept_local || !vm_host_has_addr(pt->net, s))
			return true;
		path_drop(pt, "source is an address of this host (accept_local off): dropped by "
			      "routing");
		return false;
	}
	/* The full check looks the source up as if to send to it; policy rules could pick
	 * another table for that lookup. */
	if (ni->routing_blind_spot) {
		route_unknown(pt, ni->routing_blind_spot);
		return false;
	}
	vm_fib_lookup(pt->net, s, 0, &rt);
	if (!rt.found || rt.type == RTN_UNREACHABLE || rt.type == RTN_PROHIBIT ||
	    rt.type == RTN_BLACKHOLE || rt.type == RTN_THROW) {
		snprintf(note, sizeof(note),
			 "reverse-path filter (rp_filter=%u): no route back to %s: dropped",
			 c.rp_filter, src);
		path_drop(pt, note);
		return false;
	}
	if (rt.type == RTN_LOCAL && !c.accept_local) {
		path_drop(pt, "source is an address of this host (accept_local off): dropped by "
			      "routing");
		return false;
	}
	if (rt.type != RTN_UNICAST && rt.type != RTN_LOCAL) {
		snprintf(note, sizeof(note),
			 "martian source: the route back to %s is not unicast: dropped by routing",
			 src);
		path_drop(pt, note);
		return false;
	}
	if (!rt.oif) {
		route_unknown(pt, "reverse-path filtering with a multipath route back to the "
				  "source is not modelled");
		return false;
	}
	if (rt.oif == pt->pkt.iif || (rt.type == RTN_LOCAL && dev && dev->loopback))
		return true;
	/* A device without an IPv4 address takes the last resort, as strict mode does. */
	if (c.rp_filter == 1 || !dev || !pc_netif_has_family(ni, dev->ifindex, AF_INET)) {
		back = vm_link(pt->net, rt.oif);
		snprintf(note, sizeof(note),
			 "reverse-path filter (rp_filter=%u): the route back to %s leaves "
			 "through %s, not %s: dropped",
			 c.rp_filter, src, back ? back->name : "another interface",
			 dev ? dev->name : "this one");
		path_drop(pt, note);
		return false;
	}
	return true; /* loose: a route back through any interface will do */
}

static bool in_vrf(const struct vm_net *net, uint32_t ifindex)
{
	const struct pc_link *l = vm_link(net, ifindex);
	const struct pc_link *m = l && l->master ? vm_link(net, l->master) : NULL;

	return (l && strcmp(l->kind, "vrf") == 0) || (m && strcmp(m->kind, "vrf") == 0);
}

/* The routing decision for the packet as prerouting left it. */
static enum route_res route_input(struct path *pt, uint32_t *ret_oif)
{
	const struct pc_netif *ni = pt->net->ni;
	struct vm_pkt *p = &pt->pkt;
	bool v4 = p->family == AF_INET, lo = vm_link_is_loopback(pt->net, p->iif);
	const struct pc_link *in_dev = vm_link(pt->net, p->iif);
	struct pc_inet_conf conf = pc_netif_inet_conf(ni, in_dev);
	bool localnet = conf.route_localnet;
	struct pc_addr s, d;
	char buf[PC_ADDRSTRLEN], note[256];
	struct vm_rt rt;

	pkt_addr(p, false, &s);
	pkt_addr(p, true, &d);
	pc_addr_to_string(&d, buf);

	/* An l3mdev master sends the lookups to the VRF's table, and unbound sockets see the
	 * packet only with tcp_l3mdev_accept / udp_l3mdev_accept. */
	if (in_vrf(pt->net, p->iif)) {
		route_unknown(pt, "the incoming interface is enslaved to a VRF: routing in VRFs "
				  "is not modelled");
		return ROUTE_DONE;
	}
	/* With the IPv4 sysctls unread, rp_filter, accept_local and route_localnet are
	 * unknown, and each may decide. */
	if (v4 && ni->inet_blind_spot) {
		route_unknown(pt, ni->inet_blind_spot);
		return ROUTE_DONE;
	}
	if (v4 && in_dev && in_dev->inet_odd) {
		route_unknown(pt, "the incoming interface's net.ipv4.conf values include one the "
				  "model does not know (negative or above 255)");
		return ROUTE_DONE;
	}
	/* A device the kernel dumped without IPv4 settings has no in_device: IPv4 is off
	 * there (ip_route_input_slow drops without one). */
	if (v4 && in_dev && in_dev->dumped && !in_dev->has_inet_conf && !lo) {
		path_drop(pt, "IPv4 is not enabled on the incoming interface: dropped");
		return ROUTE_DONE;
	}

	if (v4) {
		/* ip_route_input_slow()'s martian checks. */
		if ((s.bytes[0] & 0xf0) == 0xe0 || s.bytes[0] == 0 ||
		    (s.bytes[0] == 255 && s.bytes[1] == 255 && s.bytes[2] == 255 &&
		     s.bytes[3] == 255)) {
			path_drop(pt, "martian source address: dropped by routing");
			return ROUTE_DONE;
		}
		if ((d.bytes[0] & 0xf0) == 0xe0 || d.bytes[0] == 0 ||
		    (d.bytes[0] == 255 && d.bytes[1] == 255 && d.bytes[2] == 255 &&
		     d.bytes[3] == 255)) {
			route_unknown(pt, "a multicast or broadcast destination");
			return ROUTE_DONE;
		}
		if (!lo && (v4_loopback(&s) || v4_loopback(&d)) && !localnet) {
			path_drop(pt, "127.0.0.0/8 on a non-loopback interface (route_localnet "
				      "off): dropped by routing");
			return ROUTE_DONE;
		}
	} else if (vm_ipv6_addr_type(&d) & VM_V6_MULTICAST) {
		route_unknown(pt, "a multicast destination");
		return ROUTE_DONE;
	}

	/* Link-local destinations are looked up on the incoming device only. */
	vm_fib_lookup(pt->net, &d, !v4 && (vm_ipv6_addr_type(&d) & VM_V6_LINKLOCAL) ? p->iif : 0,
		      &rt);
	if (rt.found && rt.type == RTN_LOCAL) {
		/* Packets on lo keep the dst they were sent with: no source validation. */
		if (v4 && !lo && !v4_validate_source(pt, &s))
			return ROUTE_DONE;
		return ROUTE_LOCAL;
	}
	if (rt.found && rt.type == RTN_BROADCAST) {
		route_unknown(pt, "a broadcast destination");
		return ROUTE_DONE;
	}
	if (rt.found && rt.type == RTN_ANYCAST) {
		route_unknown(pt, "an anycast destination");
		return ROUTE_DONE;
	}
	if (ni->routing_blind_spot) {
		route_unknown(pt, ni->routing_blind_spot);
		return ROUTE_DONE;
	}

	if (v4) {
		if (!conf.forwarding) {
			snprintf(note, sizeof(note),
				 "%s is not an address of this host and IPv4 forwarding is off on "
				 "the incoming interface: dropped",
				 buf);
			path_drop(pt, note);
			return ROUTE_DONE;
		}
		if (!rt.found) {
			snprintf(note, sizeof(note), "no route to %s: ICMP net unreachable", buf);
			path_icmp(pt, 0, note);
			return ROUTE_DONE;
		}
		switch (rt.type) {
		case RTN_UNICAST:
			break;
		case RTN_UNREACHABLE:
			snprintf(note, sizeof(note),
				 "unreachable route to %s: ICMP host unreachable", buf);
			path_icmp(pt, 1, note);
			return ROUTE_DONE;
		case RTN_PROHIBIT:
			snprintf(note, sizeof(note),
				 "prohibit route to %s: ICMP communication administratively "
				 "prohibited",
				 buf);
			path_icmp(pt, 13, note);
			return ROUTE_DONE;
		case RTN_BLACKHOLE:
			snprintf(note, sizeof(note), "blackhole route to %s: dropped", buf);
			path_drop(pt, note);
			return ROUTE_DONE;
		default:
			route_unknown(pt, "a route of an unusual type");
			return ROUTE_DONE;
		}
	} else {
		/* ip6_pkt_discard / ip6_pkt_prohibit answer whether or not forwarding is on;
		 * a unicast route leads to ip6_forward, which drops when it is off. */
		if (!rt.found || rt.type == RTN_UNREACHABLE || rt.type == RTN_THROW) {
			snprintf(note, sizeof(note), "no route to %s: ICMPv6 no route", buf);
			path_icmp(pt, 0, note);
			return ROUTE_DONE;
		}
		switch (rt.type) {
		case RTN_UNICAST:
			break;
		case RTN_PROHIBIT:
			snprintf(note, sizeof(note),
				 "prohibit route to %s: ICMPv6 administratively prohibited", buf);
			path_icmp(pt, 1, note);
			return ROUTE_DONE;
		case RTN_BLACKHOLE:
			snprintf(note, sizeof(note), "blackhole route to %s: dropped", buf);
			path_drop(pt, note);
			return ROUTE_DONE;
		default:
			route_unknown(pt, "a route of an unusual type");
			return ROUTE_DONE;
		}
		if (!ni->forwarding_v6) {
			snprintf(note, sizeof(note),
				 "%s is not an address of this host and IPv6 forwarding is off: "
				 "dropped",
				 buf);
			path_drop(pt, note);
			return ROUTE_DONE;
		}
	}
	if (!rt.oif) {
		route_unknown(pt, "a forwarding route without a single device (multipath)");
		return ROUTE_DONE;
	}
	/* __mkroute_input() validates the source before forwarding. (Out through the same
	 * device with send_redirects on, the kernel takes the full check even without
	 * rp_filter; it answers differently only for sources routed as broadcast.) */
	if (v4 && !v4_validate_source(pt, &s))
		return ROUTE_DONE;
	*ret_oif = rt.oif;
	return ROUTE_FORWARD;
}

static void path_run(struct path *pt)
{
	struct vm_pkt *p = &pt->pkt;
	struct pc_addr d;
	uint32_t oif = 0;
	uint16_t dport;

	build_packet(p, pt->flow);
	p->iif = pt->flow->iif;
	p->pkt_type = 0; /* PACKET_HOST */

	if (!vm_link(pt->net, p->iif)) {
		route_unknown(pt, "the incoming interface is not in the network model");
		return;
	}
	/* Ingress runs in the device's receive path, before the IP layer looks at it. */
	if (!run_ingress(pt))
		return;
	if (p->family == AF_INET6 && !ipv6_rcv_ok(pt))
		return;
	pt->ct_enabled = ct_enabled(pt->rs, p->nfproto);
	if (!run_hook(pt, NF_INET_PRE_ROUTING, pt->ct_enabled, MANIP_DST))
		return;

	switch (route_input(pt, &oif)) {
	case ROUTE_DONE:
		return;
	case ROUTE_LOCAL:
		if (!run_hook(pt, NF_INET_LOCAL_IN, false, MANIP_SRC))
			return;
		pkt_addr(p, true, &d);
		dport = pkt_port(p, true);
		if (!pc_addr_equal(&d, &pt->flow->daddr) || ntohs(dport) != pt->flow->dport) {
			pt->dnat_local = true;
			pt->fwd_addr = d;
			pt->fwd_port = ntohs(dport);
		}
		break;
	case ROUTE_FORWARD:
		p->oif = oif;
		if (!run_hook(pt, NF_INET_FORWARD, false, -1))
			return;
		if (!run_hook(pt, NF_INET_POST_ROUTING, false, MANIP_SRC))
			return;
		pt->forwarded = true;
		pkt_addr(p, true, &pt->fwd_addr);
		pt->fwd_port = ntohs(pkt_port(p, true));
		break;
	}
	pt->done = true;
	pt->verdict = PC_VERDICT_ACCEPT;
}

/* --- exploring the choices -------------------------------------------------------------- */

static bool same_outcome(const struct path *a, const struct path *b)
{
	if (a->verdict != b->verdict || a->forwarded != b->forwarded ||
	    a->dnat_local != b->dnat_local)
		return false;
	if (a->verdict == PC_VERDICT_REJECT && (a->reject.tcp_reset != b->reject.tcp_reset ||
						a->reject.icmp_type != b->reject.icmp_type ||
						a->reject.icmp_code != b->reject.icmp_code))
		return false;
	if ((a->forwarded || a->dnat_local) &&
	    (!pc_addr_equal(&a->fwd_addr, &b->fwd_addr) || a->fwd_port != b->fwd_port))
		return false;
	return true;
}

static bool flow_valid(const struct pc_flow *f)
{
	return (f->family == AF_INET || f->family == AF_INET6) && f->saddr.family == f->family &&
	       f->daddr.family == f->family &&
	       (f->l4proto == IPPROTO_TCP || f->l4proto == IPPROTO_UDP);
}

/* The next prefix of choices after a run that used @ch: flip the last 0 to 1. */
static bool next_choices(struct vm_choices *ch)
{
	size_t n = ch->n_used;

	while (n > 0 && ch->v[n - 1] == 1)
		n--;
	if (n == 0)
		return false;
	ch->v[n - 1] = 1;
	ch->n_fixed = n;
	ch->n_used = 0;
	ch->have_first = false;
	return true;
}

int pc_nft_eval_path(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
		     const struct pc_flow *flow, bool want_trace, struct pc_nft_result *ret)
{
	struct vm_trace tr = {};
	struct vm_choices ch = {};
	struct vm_net net;
	struct path first = {.rs = rs, .net = &net, .flow = flow, .ch = &ch};
	struct pc_nft_result r = {};
	bool differs = false;
	size_t runs = 1;
	char reason[256] = "";

	if (!flow_valid(flow)) {
		*ret = (struct pc_nft_result){.verdict = PC_VERDICT_UNKNOWN};
		snprintf(ret->unknown_reason, sizeof(ret->unknown_reason),
			 "not a TCP or UDP flow of one address family");
		return 0;
	}
	vm_net_init(&net, ni);
	if (want_trace)
		first.tr = &tr;
	path_run(&first);
	if (tr.oom) {
		free(tr.v);
		return -ENOMEM;
	}

	/* Binary runtime outcomes (limit, quota, ...): rerun with every combination; the
	 * answer is exact when they all agree. */
	if (first.verdict != PC_VERDICT_UNKNOWN && ch.have_first) {
		struct vm_choices cur = ch;
		struct vm_choices firstch = ch;

		while (next_choices(&cur)) {
			struct path alt = {.rs = rs, .net = &net, .flow = flow, .ch = &cur};

			if (++runs > VM_MAX_RUNS) {
				snprintf(reason, sizeof(reason),
					 "%s: the outcome depends on runtime state (too many "
					 "combinations to explore)",
					 firstch.first_what);
				differs = true;
				break;
			}
			path_run(&alt);
			if (alt.verdict == PC_VERDICT_UNKNOWN) {
				snprintf(reason, sizeof(reason), "%s", alt.reason);
				differs = true;
				break;
			}
			if (!same_outcome(&first, &alt)) {
				snprintf(reason, sizeof(reason),
					 "%s: the outcome depends on runtime state",
					 firstch.first_what);
				differs = true;
				break;
			}
		}
		if (differs) {
			/* Report where it became uncertain: the first such rule. */
			first.verdict = PC_VERDICT_UNKNOWN;
			snprintf(first.reason, sizeof(first.reason), "%s", reason);
			first.rule = firstch.first_rule;
			first.has_rule = true;
			first.forwarded = first.dnat_local = false;
			if (want_trace) {
				tr.n = firstch.first_trace_len;
				{
					struct vm vm = {.tr = &tr};

					vm_trace_add(&vm, firstch.first_hook, &firstch.first_rule,
						     PC_TRACE_UNKNOWN, firstch.first_what);
				}
				if (tr.oom) {
					free(tr.v);
					return -ENOMEM;
				}
			}
		}
	}

	r.verdict = first.verdict;
	r.reject = first.verdict == PC_VERDICT_REJECT ? first.reject : (struct pc_reject){};
	r.has_rule = first.has_rule;
	r.rule = first.rule;
	r.forwarded = first.forwarded;
	r.dnat_local = first.dnat_local;
	r.fwd_addr = first.fwd_addr;
	r.fwd_port = first.fwd_port;
	snprintf(r.note, sizeof(r.note), "%s", first.note);
	if (first.verdict == PC_VERDICT_UNKNOWN)
		snprintf(r.unknown_reason, sizeof(r.unknown_reason), "%s", first.reason);
	if (rs->blind_spot) {
		/* Filtering the snapshot cannot see may decide first; the path is still
		 * reported. */
		r.verdict = PC_VERDICT_UNKNOWN;
		snprintf(r.unknown_reason, sizeof(r.unknown_reason), "%s", rs->blind_spot);
	}
	if (want_trace) {
		r.trace = tr.v;
		r.n_trace = tr.n;
	}
	*ret = r;
	return 0;
}

void pc_nft_result_clear(struct pc_nft_result *r)
{
	if (!r)
		return;
	free(r->trace);
	r->trace = NULL;
	r->n_trace = 0;
}
