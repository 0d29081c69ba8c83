/* SPDX-License-Identifier: MIT */
/*
 * What the snapshot cannot decide for one packet, explored: runtime state (a rate limit,
 * a quota, a dynset's meter: binary, unknown odds) and draws (numgen random or inc, jhash,
 * symhash: one of N values, each as likely). Every combination is run; the answer is
 * exact when all agree. When draws only pick among destinations (kube-proxy's `numgen
 * random mod N vmap` to its endpoints), the answer stands with every destination and its
 * share. Otherwise it is unknown, naming what it depends on (and, for draws, each outcome
 * with its share).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nftpath_internal.h"

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

/* Equal but for where a DNAT sends it. */
static bool same_but_destination(const struct path *a, const struct path *b)
{
	return a->verdict == b->verdict && a->forwarded == b->forwarded &&
	       a->dnat_local == b->dnat_local && (a->forwarded || a->dnat_local);
}

/* The next combination after a run that used @ch: raise the last choice that has a next
 * outcome, and forget the ones after it. */
static bool next_choices(struct vm_choices *ch)
{
	size_t n = ch->n_used;

	while (n > 0 && ch->v[n - 1] + 1 >= ch->arity[n - 1])
		n--;
	if (n == 0)
		return false;
	ch->v[n - 1]++;
	ch->n_fixed = n;
	ch->n_used = 0;
	ch->have_first = false;
	return true;
}

/* The share of new connections that take the combination @ch, when every choice in it
 * is a draw; -1 when runtime state is among them (unknown odds). */
static double share_of(const struct vm_choices *ch)
{
	double s = 1;

	for (size_t i = 0; i < ch->n_used; i++) {
		if (!ch->draw[i])
			return -1;
		s /= ch->arity[i];
	}
	return s;
}

struct outcome {
	struct path p; /* its result fields */
	double share;
};

struct outcomes {
	struct outcome v[VM_MAX_RUNS];
	size_t n;
	bool draws_only;
};

static void outcome_add(struct outcomes *o, const struct path *p, double share)
{
	if (share < 0)
		o->draws_only = false;
	for (size_t i = 0; i < o->n; i++)
		if (same_outcome(&o->v[i].p, p)) {
			o->v[i].share += share;
			return;
		}
	if (o->n < VM_MAX_RUNS) {
		o->v[o->n].p = *p;
		o->v[o->n++].share = share;
	}
}

/* Draws pick among destinations only: the answer stands, with each of them. */
static bool endpoints_of(const struct outcomes *o, struct path *first)
{
	if (!o->draws_only || o->n > PC_NFT_MAX_ENDPOINTS)
		return false;
	for (size_t i = 1; i < o->n; i++)
		if (!same_but_destination(&o->v[0].p, &o->v[i].p))
			return false;
	for (size_t i = 0; i < o->n; i++)
		first->endpoints[i] = (struct pc_nft_endpoint){
		    .addr = o->v[i].p.fwd_addr, .port = o->v[i].p.fwd_port, .share = o->v[i].share};
	first->n_endpoints = o->n;
	return true;
}

/* "numgen random: the outcome depends on the draw: accept 1/2, drop 1/2". */
static void draw_reason(const struct outcomes *o, const char *what, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "%s: the outcome depends on the draw:", what);

	for (size_t i = 0; i < o->n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s %s%s %.0f%%", i ? "," : "",
					pc_verdict_to_string(o->v[i].p.verdict),
					o->v[i].p.forwarded ? " (forwarded)" : "",
					100 * o->v[i].share);
}

static int mark_unknown(struct path *first, const struct vm_choices *firstch, const char *reason,
			struct vm_trace *tr)
{
	/* Report where it became uncertain: the first such rule. */
	first->verdict = PC_VERDICT_UNKNOWN;
	snprintf(first->reason, sizeof(first->reason), "%s", reason);
	first->rule = firstch->first_rule;
	first->has_rule = true;
	first->forwarded = first->dnat_local = false;
	if (tr) {
		struct vm vm = {.tr = tr};

		tr->n = firstch->first_trace_len;
		vm_trace_add(&vm, firstch->first_hook, &firstch->first_rule, PC_TRACE_UNKNOWN,
			     firstch->first_what);
		if (tr->oom)
			return -ENOMEM;
	}
	return 0;
}

int path_explore_choices(struct path *first, const struct vm_choices *ch, struct vm_trace *tr)
{
	static __thread struct outcomes o; /* large: not on the stack */
	struct vm_choices cur = *ch;
	size_t runs = 1;
	char reason[256] = "";

	o.n = 0;
	o.draws_only = true;
	outcome_add(&o, first, share_of(ch));
	while (next_choices(&cur)) {
		struct path alt = {
		    .rs = first->rs, .net = first->net, .flow = first->flow, .ch = &cur};
		struct vm_sym altsym;

		if (++runs > VM_MAX_RUNS) {
			snprintf(reason, sizeof(reason),
				 "%s: the outcome depends on runtime state (too many "
				 "combinations to explore)",
				 ch->first_what);
			return mark_unknown(first, ch, reason, tr);
		}
		/* With a symbolic source each combination narrows the sources further: the
		 * answer holds for those that take the same path in every combination. */
		if (first->sym) {
			if (vm_sym_fork(first->sym, &altsym) < 0)
				return -ENOMEM;
			alt.sym = &altsym;
		}
		path_run(&alt);
		if (first->sym && vm_sym_join(first->sym, &altsym) < 0)
			return -ENOMEM;
		if (alt.verdict == PC_VERDICT_UNKNOWN)
			return mark_unknown(first, ch, alt.reason, tr);
		outcome_add(&o, &alt, share_of(&cur));
		if (!o.draws_only && o.n > 1) {
			snprintf(reason, sizeof(reason), "%s: the outcome depends on runtime state",
				 ch->first_what);
			return mark_unknown(first, ch, reason, tr);
		}
	}
	if (o.n == 1 || endpoints_of(&o, first))
		return 0;
	draw_reason(&o, ch->first_what, reason, sizeof(reason));
	return mark_unknown(first, ch, reason, tr);
}
