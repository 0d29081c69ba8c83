/* SPDX-License-Identifier: MIT */
/*
 * The expression VM: one base chain evaluated the way nft_do_chain() does it. Registers are
 * one array of 32-bit words (struct nft_regs: the verdict's 16 bytes, then NFT_REG32_00..15,
 * with NFT_REG_1..4 aliasing groups of four), every rule starts with NFT_CONTINUE, an
 * expression that sets another verdict ends the rule, NFT_BREAK moves to the next rule,
 * jumps push the next rule on a stack of NFT_JUMP_STACK_SIZE, goto does not, return and the
 * end of a chain pop, and the base chain's policy applies when the stack is empty.
 *
 * Each expression type has its eval function in expr_ops, one file per family: nftvm_cmp.c
 * (immediate, cmp, range), nftvm_payload.c, nftvm_bitwise.c (bitwise, byteorder),
 * nftvm_stateful.c (limit, quota, connlimit, objref), nftvm_meta.c, nftvm_ct.c (ct,
 * notrack), nftvm_fib.c, nftvm_reject.c, nftvm_nat.c (nat, redir, masq), nftvm_set.c
 * (lookup, dynset) and nftvm_xt.c (xtables compat).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftvm_internal.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

void vm_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

void vm_unknown(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	if (vm->unknown)
		return;
	vm->unknown = true;
	va_start(ap, fmt);
	vsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
	va_end(ap);
}

int vm_choose(struct vm *vm, const char *what)
{
	return vm_choose_n(vm, what, 2, false);
}

int vm_choose_n(struct vm *vm, const char *what, unsigned n, bool draw)
{
	struct vm_choices *ch = vm->ch;
	int v;

	if (!ch) {
		vm_unknown(vm, "%s: the outcome depends on runtime state", what);
		return -1;
	}
	if (!ch->have_first) {
		ch->have_first = true;
		vm_rule_ref(vm->table, vm->chain, vm->rule, &ch->first_rule);
		ch->first_hook = vm->hook;
		vm_strlcpy(ch->first_what, what, sizeof(ch->first_what));
		ch->first_trace_len = vm->tr ? vm->tr->n : 0;
	}
	if (ch->n_used >= VM_MAX_CHOICES) {
		ch->overflow = true;
		vm_unknown(vm,
			   "%s: the outcome depends on runtime state (too many such rules to "
			   "explore)",
			   what);
		return -1;
	}
	if (ch->n_used >= ch->n_fixed)
		ch->v[ch->n_used] = 0;
	ch->arity[ch->n_used] = (uint8_t)n;
	ch->draw[ch->n_used] = draw;
	v = ch->v[ch->n_used++];
	vm->rule_choice = true;
	snprintf(vm->rule_detail, sizeof(vm->rule_detail),
		 "%s: runtime state, every outcome explored", what);
	return v;
}

void vm_reg_bad(struct vm *vm, uint32_t reg, uint32_t len)
{
	vm_unknown(vm, "register %u with length %u is out of range", reg, len);
}

uint8_t *vm_taint_of(struct vm *vm, const uint8_t *reg)
{
	return (uint8_t *)vm->taint + (reg - (const uint8_t *)vm->regs);
}

const uint8_t *vm_reg_in(struct vm *vm, uint32_t reg, uint32_t len)
{
	uint8_t *s = vm_reg(vm, reg, len);
	const uint8_t *t;

	if (!s)
		return NULL;
	t = vm_taint_of(vm, s);
	for (uint32_t i = 0; i < len; i++)
		if (t[i]) {
			vm_unknown(vm, "%s: varies between clients",
				   vm->taint_what ? vm->taint_what : "a header field");
			return NULL;
		}
	return s;
}

void vm_store8(uint8_t *dst, uint8_t v)
{
	memset(dst, 0, 4);
	dst[0] = v;
}

void vm_store16(uint8_t *dst, uint16_t v)
{
	memset(dst, 0, 4);
	memcpy(dst, &v, 2);
}

void vm_store32(uint8_t *dst, uint32_t v)
{
	memcpy(dst, &v, 4);
}

void vm_data_copy(uint8_t *dst, const void *src, uint32_t len)
{
	if (len % NFT_REG32_SIZE)
		memset(dst + (len / NFT_REG32_SIZE) * NFT_REG32_SIZE, 0, NFT_REG32_SIZE);
	memcpy(dst, src, len);
}

void vm_rule_ref(const struct pc_nft_table *t, const struct pc_nft_chain *c,
		 const struct pc_nft_rule *r, struct pc_rule_ref *ret)
{
	*ret = (struct pc_rule_ref){
	    .family = t ? t->family : 0,
	    .table = t ? t->name : NULL,
	    .chain = c ? c->name : NULL,
	    .handle = r ? r->handle : 0,
	    .text = r ? r->text : NULL,
	    .policy = !r,
	    .nft_rule = r,
	};
}

const char *pc_rule_ref_text(const struct pc_rule_ref *ref)
{
	/* The snapshot's own: a fill of texts after the evaluation may have replaced the one
	 * the evaluation saw (and freed it). */
	return ref->nft_rule ? ref->nft_rule->text : ref->text;
}

void vm_trace_add(struct vm *vm, uint32_t hook, const struct pc_rule_ref *ref,
		  enum pc_trace_action action, const char *detail)
{
	struct vm_trace *tr = vm->tr;
	struct pc_trace_entry *e;

	if (!tr || tr->oom)
		return;
	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? tr->cap * 2 : 32;
		struct pc_trace_entry *v = realloc(tr->v, cap * sizeof(*v));

		if (!v) {
			tr->oom = true;
			return;
		}
		tr->v = v;
		tr->cap = cap;
	}
	e = &tr->v[tr->n++];
	*e = (struct pc_trace_entry){.hook = hook, .rule = *ref, .action = action};
	/* A chain name or a reason cut to fit may end inside a character: not in a reply. */
	if (detail) {
		vm_strlcpy(e->detail, detail, sizeof(e->detail));
		pc_utf8_trim(e->detail);
	}
}

const struct pc_nft_chain *vm_chain_find(const struct pc_nft_table *t, const char *name)
{
	for (size_t i = 0; t && name && i < t->n_chains; i++)
		if (t->chains[i].name && strcmp(t->chains[i].name, name) == 0)
			return &t->chains[i];
	return NULL;
}

/* --- the expressions -------------------------------------------------------------------- */

static void eval_nothing(struct vm *vm, const struct pc_nft_expr *e)
{
	(void)vm;
	(void)e;
}

static void eval_notrack(struct vm *vm, const struct pc_nft_expr *e)
{
	(void)e;
	vm_eval_notrack(vm);
}

static void eval_queue(struct vm *vm, const struct pc_nft_expr *e)
{
	/* A userspace program decides (and NF_QUEUE's bypass depends on whether one
	 * listens). */
	vm_unknown(vm, "queue %u: a userspace program decides", e->queue.num);
}

/* One outcome of a draw of @modulus values from @offset into @dreg (a host-order u32, as
 * nft_numgen / nft_hash store it): every outcome is explored (pc_nft_eval_path). */
static void eval_draw(struct vm *vm, const char *what, uint32_t dreg, uint32_t modulus,
		      uint32_t offset, bool uniform)
{
	uint8_t *d;
	int v;

	if (modulus == 0 || modulus > VM_MAX_DRAW) {
		vm_unknown(vm, "%s mod %u: more outcomes than the %d explored", what, modulus,
			   VM_MAX_DRAW);
		return;
	}
	d = vm_reg_out(vm, dreg, 4);
	if (!d)
		return;
	v = vm_choose_n(vm, what, modulus, uniform);
	if (v < 0)
		return;
	vm_store32(d, offset + (uint32_t)v);
}

/* numgen inc / random: a counter or a random number; every value has its turn. */
static void eval_numgen(struct vm *vm, const struct pc_nft_expr *e)
{
	eval_draw(vm, e->numgen.type == NFT_NG_RANDOM ? "numgen random" : "numgen inc",
		  e->numgen.dreg, e->numgen.modulus, e->numgen.offset, true);
}

/* jhash / symhash of packet fields: which value a connection gets depends on its fields
 * (and a seed), so every value is explored; not a uniform draw (fields that do not vary
 * give every connection the same value, and two hashes of the same fields agree), so
 * the answer stands only where every value agrees. */
static void eval_hash(struct vm *vm, const struct pc_nft_expr *e)
{
	if (e->hash.type == NFT_HASH_JENKINS && !vm_reg(vm, e->hash.sreg, e->hash.len))
		return;
	eval_draw(vm, e->hash.type == NFT_HASH_SYM ? "symhash" : "jhash", e->hash.dreg,
		  e->hash.modulus, e->hash.offset, false);
}

/* The eval function of each expression type, as the kernel's nft_expr_ops. */
static void (*const expr_ops[])(struct vm *vm, const struct pc_nft_expr *e) = {
    [PC_NFT_EXPR_IMMEDIATE] = vm_eval_immediate,
    [PC_NFT_EXPR_CMP] = vm_eval_cmp,
    [PC_NFT_EXPR_RANGE] = vm_eval_range,
    [PC_NFT_EXPR_PAYLOAD] = vm_eval_payload,
    [PC_NFT_EXPR_BITWISE] = vm_eval_bitwise,
    [PC_NFT_EXPR_BYTEORDER] = vm_eval_byteorder,
    [PC_NFT_EXPR_META] = vm_eval_meta,
    [PC_NFT_EXPR_LOOKUP] = vm_eval_lookup,
    [PC_NFT_EXPR_CT] = vm_eval_ct,
    [PC_NFT_EXPR_REJECT] = vm_eval_reject,
    [PC_NFT_EXPR_NAT] = vm_eval_nat,
    [PC_NFT_EXPR_REDIR] = vm_eval_redir,
    [PC_NFT_EXPR_MASQ] = vm_eval_masq,
    [PC_NFT_EXPR_FIB] = vm_eval_fib,
    [PC_NFT_EXPR_COUNTER] = eval_nothing,
    [PC_NFT_EXPR_LOG] = eval_nothing,
    [PC_NFT_EXPR_NOTRACK] = eval_notrack,
    [PC_NFT_EXPR_QUEUE] = eval_queue,
    [PC_NFT_EXPR_MATCH] = vm_eval_xt_match,
    [PC_NFT_EXPR_TARGET] = vm_eval_xt_target,
    [PC_NFT_EXPR_LIMIT] = vm_eval_limit,
    [PC_NFT_EXPR_QUOTA] = vm_eval_quota,
    [PC_NFT_EXPR_CONNLIMIT] = vm_eval_connlimit,
    [PC_NFT_EXPR_NUMGEN] = eval_numgen,
    [PC_NFT_EXPR_HASH] = eval_hash,
    [PC_NFT_EXPR_DYNSET] = vm_eval_dynset,
    [PC_NFT_EXPR_OBJREF] = vm_eval_objref,
};

static void eval_expr(struct vm *vm, const struct pc_nft_expr *e)
{
	if ((size_t)e->type < sizeof(expr_ops) / sizeof(expr_ops[0]) && expr_ops[e->type]) {
		expr_ops[e->type](vm, e);
		return;
	}
	vm_unknown(vm, "%s: expression not modelled", e->name[0] ? e->name : "unknown");
}

/* --- the chain walk --------------------------------------------------------------------- */

static const char *verdict_name(int32_t code)
{
	switch (code) {
	case NF_ACCEPT:
		return "accept";
	case NF_DROP:
		return "drop";
	case NF_QUEUE:
		return "queue";
	case NF_STOLEN:
		return "stolen";
	default:
		return "?";
	}
}

/* The trace entry for a rule that ended with vcode. */
static void trace_rule(struct vm *vm, const struct pc_nft_chain *chain,
		       const struct pc_nft_rule *rule, int32_t vcode)
{
	struct pc_rule_ref ref;
	enum pc_trace_action a;
	char detail[96];

	/* Every rule met calls this: nothing before the check. */
	if (!vm->tr)
		return;
	detail[0] = '\0';
	vm_rule_ref(vm->table, chain, rule, &ref);
	if (vm->unknown) {
		a = PC_TRACE_UNKNOWN;
		vm_strlcpy(detail, vm->reason, sizeof(detail));
	} else {
		switch (vcode) {
		case NFT_BREAK:
			a = PC_TRACE_NOMATCH;
			break;
		case NFT_CONTINUE:
			a = PC_TRACE_CONTINUE;
			break;
		case NFT_JUMP:
			a = PC_TRACE_JUMP;
			snprintf(detail, sizeof(detail), "jump %s", vm->vchain ? vm->vchain : "?");
			break;
		case NFT_GOTO:
			a = PC_TRACE_GOTO;
			snprintf(detail, sizeof(detail), "goto %s", vm->vchain ? vm->vchain : "?");
			break;
		case NFT_RETURN:
			a = PC_TRACE_RETURN;
			break;
		default:
			switch (vcode & NF_VERDICT_MASK) {
			case NF_ACCEPT:
				a = vm->rule_nat ? PC_TRACE_NAT : PC_TRACE_ACCEPT;
				break;
			case NF_DROP:
				a = vm->rule_rejected ? PC_TRACE_REJECT : PC_TRACE_DROP;
				break;
			default:
				a = PC_TRACE_UNKNOWN;
				snprintf(detail, sizeof(detail), "%s", verdict_name(vcode));
				break;
			}
		}
		if (vm->rule_detail[0])
			vm_strlcpy(detail, vm->rule_detail, sizeof(detail));
	}
	vm_trace_add(vm, vm->hook, &ref, a, detail);
}

/*
 * The rules of @chain from *ri on, each from NFT_CONTINUE, until one ends with a verdict
 * other than continue or break (in vm->vcode; *ri is that rule) or the chain ends. False
 * when the result is unknown.
 */
static bool run_rules(struct vm *vm, const struct pc_nft_chain *chain, size_t *ri)
{
	const uint32_t *guards = vm_port_guards(vm->rs, vm->table, chain);

	for (; *ri < chain->n_rules; (*ri)++) {
		const struct pc_nft_rule *rule = &chain->rules[*ri];

		if (++vm->steps > VM_MAX_STEPS) {
			vm_unknown(vm, "evaluation limit reached (a loop in the ruleset?)");
			return false;
		}
		vm->rule = rule;
		vm->vcode = NFT_CONTINUE;
		vm->vchain = NULL;
		vm->rule_rejected = vm->rule_nat = vm->rule_choice = false;
		vm->rule_detail[0] = 0;
		if (guards && !vm_port_guard_admits(vm, guards[*ri])) {
			/* The port cannot pass the rule's leading tests (nftvm_guard.c). */
			trace_rule(vm, chain, rule, NFT_BREAK);
			vm->vcode = NFT_CONTINUE;
			continue;
		}
		for (size_t i = 0; i < rule->n_exprs; i++) {
			eval_expr(vm, &rule->exprs[i]);
			if (vm->unknown) {
				trace_rule(vm, chain, rule, vm->vcode);
				return false;
			}
			if (vm->vcode != NFT_CONTINUE)
				break;
		}
		trace_rule(vm, chain, rule, vm->vcode);
		if (vm->vcode == NFT_BREAK) {
			vm->vcode = NFT_CONTINUE;
			continue;
		}
		if (vm->vcode == NFT_CONTINUE)
			continue;
		break;
	}
	return true;
}

/* A final verdict (vm->vcode >= 0): the NF_* ones the hook knows, or unknown. */
static int final_verdict(struct vm *vm)
{
	switch (vm->vcode & NF_VERDICT_MASK) {
	case NF_ACCEPT:
	case NF_DROP:
	case NF_QUEUE:
	case NF_STOLEN:
		return vm->vcode;
	default:
		vm_unknown(vm, "verdict %d", vm->vcode);
		return VM_UNKNOWN;
	}
}

/* The trace entry for the base chain's policy. */
static void trace_policy(struct vm *vm, const struct pc_nft_table *t,
			 const struct pc_nft_chain *base)
{
	struct pc_rule_ref ref;
	char detail[32];

	if (!vm->tr)
		return;
	vm_rule_ref(t, base, NULL, &ref);
	snprintf(detail, sizeof(detail), "policy %s", verdict_name((int32_t)base->policy));
	vm_trace_add(vm, vm->hook, &ref, PC_TRACE_POLICY, detail);
}

int vm_run_chain(struct vm *vm, const struct pc_nft_table *t, const struct pc_nft_chain *base)
{
	struct {
		const struct pc_nft_chain *chain;
		size_t rule;
	} stack[VM_JUMP_STACK_SIZE];
	const struct pc_nft_chain *chain = base;
	unsigned sp = 0;
	size_t ri = 0;

	vm->table = t;
	memset(vm->regs, 0, sizeof(vm->regs));
	memset(vm->taint, 0, sizeof(vm->taint));
	memset(vm->rsym, VM_SYM_NONE, sizeof(vm->rsym));

do_chain:
	vm->chain = chain;
	vm->vcode = NFT_CONTINUE;
	if (!run_rules(vm, chain, &ri))
		return VM_UNKNOWN;

	if (vm->vcode >= 0)
		return final_verdict(vm);

	switch (vm->vcode) {
	case NFT_JUMP:
	case NFT_GOTO: {
		const struct pc_nft_chain *to = vm_chain_by_name(vm->rs, t, vm->vchain);

		if (!to) {
			vm_unknown(vm, "%s to chain %s, not in the snapshot",
				   vm->vcode == NFT_JUMP ? "jump" : "goto",
				   vm->vchain ? vm->vchain : "(none)");
			return VM_UNKNOWN;
		}
		if (vm->vcode == NFT_JUMP) {
			/* The kernel refuses rulesets deeper than the stack (-EMLINK), so this
			 * only happens with an inconsistent snapshot. */
			if (sp >= VM_JUMP_STACK_SIZE) {
				vm_unknown(vm, "jump stack overflow");
				return VM_UNKNOWN;
			}
			stack[sp].chain = chain;
			stack[sp].rule = ri + 1;
			sp++;
		}
		chain = to;
		ri = 0;
		goto do_chain;
	}
	case NFT_CONTINUE:
	case NFT_RETURN:
		break;
	default:
		vm_unknown(vm, "verdict %d", vm->vcode);
		return VM_UNKNOWN;
	}

	if (sp > 0) {
		sp--;
		chain = stack[sp].chain;
		ri = stack[sp].rule;
		goto do_chain;
	}

	trace_policy(vm, t, base);
	vm->rule = NULL;
	vm->chain = base;
	return (int)base->policy;
}
