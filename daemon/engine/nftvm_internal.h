/* SPDX-License-Identifier: MIT */
/*
 * Private parts of the engine (nftvm.h): the state of one synthetic packet on its way
 * through the hooks, the expression VM that runs one base chain the way nft_do_chain does,
 * the set index, xtables compat and the routing model. Shared by nftvm*.c and nftpath*.c.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include "portcheck/nftvm.h"

/* NFT_REG32_NUM: 16 32-bit data registers after the 16 bytes of the verdict. */
#define VM_REG32_NUM 20
/* NFT_JUMP_STACK_SIZE */
#define VM_JUMP_STACK_SIZE 16
/* IPv6 header + TCP header without options is the largest synthetic packet. */
#define VM_PKT_MAX 64
/* Rules evaluated in one path before giving up: a snapshot from a live kernel has no
 * loops (the kernel refuses them), a hand-built one might. */
#define VM_MAX_STEPS 1000000
/* Choices (limit, quota, numgen, ...) explored per path, and runs over all of them. */
#define VM_MAX_CHOICES 12
#define VM_MAX_RUNS 256
/* The largest modulus of a numgen or hash whose every outcome is explored. */
#define VM_MAX_DRAW 64
/* Sets a path may add to with dynset before lookups in them stop being exact. */
#define VM_MAX_DIRTY_SETS 8

/* NF_INET_INGRESS as the trace reports netdev ingress chains too. */
#define VM_HOOK_INGRESS 5

/* IP_CT_* state of the packet's conntrack entry, as nf_ct_get() would see it. */
enum vm_ct {
	VM_CT_NONE,	 /* no entry yet (before conntrack at -200, or ingress) */
	VM_CT_UNTRACKED, /* notrack */
	VM_CT_NEW,	 /* IP_CT_NEW, direction original, unconfirmed */
};

/* One direction of a conntrack tuple; ports in network byte order. */
struct vm_tuple {
	struct pc_addr src, dst;
	uint16_t sport, dport;
};

/* The routing model: routes of netif, or derived from addresses when netif has none. */
struct vm_net {
	const struct pc_netif *ni;
	bool derive[2]; /* [0] IPv4, [1] IPv6: no routes of that family in netif */
};

/* A route lookup result. */
struct vm_rt {
	bool found;
	uint8_t type; /* RTN_* */
	uint32_t table;
	uint32_t oif;
	struct pc_prefix dst;
	bool gateway;
	struct pc_addr via;
};

/* The packet, its conntrack entry and the NAT bindings: what persists across hooks. */
struct vm_pkt {
	int family;	 /* AF_INET / AF_INET6 */
	uint8_t nfproto; /* NFPROTO_IPV4 / NFPROTO_IPV6 */
	uint8_t l4proto;
	uint8_t buf[VM_PKT_MAX]; /* network header, transport header */
	/* The bits of buf that differ between clients (TTL, lengths, TCP sequence number,
	 * window, ECN bits, checksums ...): comparisons that depend on them are not exact. */
	uint8_t var[VM_PKT_MAX];
	/* Where var is set: the byte of the symbolic source it holds (VM_SYM_*), or -1. */
	int8_t sym[VM_PKT_MAX];
	uint32_t len, thoff;
	uint32_t iif, oif; /* oif once routed (forward, postrouting) */
	uint32_t mark, priority, secmark;
	uint8_t pkt_type; /* PACKET_HOST */
	bool nftrace;
	bool pkt_type_changed;

	enum vm_ct ct;
	uint32_t ct_status, ct_mark;
	uint8_t ct_labels[16];
	bool ct_helper_unknown; /* a helper may have been attached (IPS_HELPER) */
	struct vm_tuple orig, reply;
	/* The original tuple's source address / port are the symbolic client's (nothing
	 * rewrote them before conntrack took them). */
	bool orig_src_sym, orig_sport_sym;
	/* SNAT drew the source port at random: the reply's destination port and the
	 * packet's source port after it are values no rule can know. */
	bool sport_drawn;
	bool nat_done[2]; /* nf_nat_initialized() per NF_NAT_MANIP_SRC / _DST */
	bool nat_changed[2];
	struct pc_addr nat_addr[2];
	uint16_t nat_port[2];  /* network byte order */
	bool nat_addr_inexact; /* masquerade: the source address is approximated */

	const void *dirty_sets[VM_MAX_DIRTY_SETS];
	size_t n_dirty_sets;
};

/* A byte of the symbolic source: 0-15 address bytes (big-endian), then the port's two. */
#define VM_SYM_PORT 16
#define VM_SYM_NONE (-1)

/* A box of sources: [0] addresses, [1] ports. */
struct vm_box {
	struct pc_srcdim d[2];
	size_t at; /* vm_sym_rest: the decision it was left at */
};

/*
 * The sources a run leaves to later runs (pc_nft_eval_sources). Every test of the source
 * is a decision, counted from the start of the run (forked runs of choices included): it
 * keeps the box's sources that answer it as the concrete source does, and leaves the
 * others, which take another path from there on. They are kept as a box for a later run,
 * so no run has to subtract what earlier runs covered.
 *
 * A later run starts from such a box S, left at decision k. Its concrete source is in S,
 * so it answers decisions 1..k-1 as the run that left S did (their other sides were left
 * by that run or its own predecessors: not again), and decision k the other way. There,
 * what S holds beyond the answer the new run keeps (a map's other values, the no-match)
 * is left again; after k, the box is within S and what it leaves is new.
 */
struct vm_sym_rest {
	const struct vm_box *from; /* the box the run started from; NULL: the whole input */
	size_t decisions;	   /* counted so far */
	struct vm_box *v;	   /* the boxes left */
	size_t n;
	bool oom;
};

/* The symbolic source of one run (pc_nft_eval_sources): the box of sources that takes the
 * path so far, narrowed by every test of the source, and the tests that narrowed it. The
 * packet carries one concrete source of the box; tests follow it. */
struct vm_sym {
	unsigned abytes;	 /* address length: 4 or 16 */
	pc_u128 x[2];		 /* the concrete source: [0] address, [1] port */
	struct pc_srcdim dim[2]; /* the box: [0] addresses, [1] ports */
	struct pc_src_lit *lits;
	size_t n_lits;
	bool oom;
	struct vm_sym_rest *rest;	      /* NULL: nothing is left to other runs */
	const struct pc_src_classes *classes; /* NULL: routing does not split the box */
	bool class_fixed;		      /* the box is within one class */
	bool class_missing;		      /* the concrete source is in no class */
};

/*
 * The routing code is about to look the concrete source up: the box keeps the sources of
 * its class (pc_src_classes), the others are left to later runs (vm_sym_rest). Once per
 * run. NULL-safe. 0, or -1 when the source is in no class (s->class_missing) or out of
 * memory (s->oom): the run fails.
 */
int vm_sym_route_class(struct vm_sym *s);

void vm_box_clear(struct vm_box *b);
/* Clear the boxes of @rest (not @rest->from). */
void vm_sym_rest_clear(struct vm_sym_rest *rest);

/* The choices of one run (see pc_nft_eval_path): a prefix fixed by the driver, extended
 * with 0 by the run. A choice has arity outcomes; a draw (numgen, hash) picks them
 * uniformly, runtime state (limit, quota) with unknown odds. */
struct vm_choices {
	uint8_t v[VM_MAX_CHOICES];
	uint8_t arity[VM_MAX_CHOICES];
	bool draw[VM_MAX_CHOICES];
	size_t n_fixed, n_used;
	bool overflow;
	/* The first choice point met in this run, for the unknown result. */
	bool have_first;
	struct pc_rule_ref first_rule;
	uint32_t first_hook;
	char first_what[64];
	size_t first_trace_len;
};

struct vm_trace {
	struct pc_trace_entry *v;
	size_t n, cap;
	bool oom;
};

/* The VM: one base chain invocation (nft_do_chain) plus what the path around it set. */
struct vm {
	const struct pc_nft_ruleset *rs;
	const struct vm_net *net;
	struct vm_pkt *pkt;
	struct vm_choices *ch;
	struct vm_trace *tr; /* NULL when no trace is wanted */
	struct vm_sym *sym;  /* NULL: the source is the packet's, concrete */

	uint32_t hook;		 /* NF_INET_* (VM_HOOK_INGRESS for ingress) */
	uint8_t pf;		 /* nft_pf(): NFPROTO_IPV4/IPV6, NFPROTO_NETDEV on netdev ingress */
	int nat_manip;		 /* NF_NAT_MANIP_* of the nat hook running the chain, -1 outside */
	bool ct_order_ambiguous; /* the chain sits at the conntrack priority */

	const struct pc_nft_table *table;
	const struct pc_nft_chain *chain;
	const struct pc_nft_rule *rule;

	uint32_t regs[VM_REG32_NUM]; /* [0..3] belong to the verdict, kept apart below */
	/* Per register bit: set when it holds a bit of the packet that varies by client. */
	uint32_t taint[VM_REG32_NUM];
	const char *taint_what; /* the field it came from, for the reason */
	/* Per register byte with taint: the symbolic source byte it holds (VM_SYM_*, the
	 * taint bits being the bits of it that are left), or VM_SYM_NONE. */
	int8_t rsym[VM_REG32_NUM * 4];
	int32_t vcode;
	const char *vchain;

	/* What the current rule did besides its verdict, for the trace. */
	bool rule_rejected;
	bool rule_nat;
	bool rule_choice;
	char rule_detail[96];

	/* A reject that fired: what the client sees (silent when nothing can be sent). */
	bool rejected;
	bool reject_silent;
	struct pc_reject reject;

	bool unknown;
	char reason[256];
	uint64_t steps;
};

/* The packet's source or destination address (network header offsets of IPv4 / IPv6). */
static inline unsigned vm_pkt_addr_off(const struct vm_pkt *p, bool dst)
{
	return p->family == AF_INET ? (dst ? 16 : 12) : (dst ? 24 : 8);
}

static inline void pkt_addr(const struct vm_pkt *p, bool dst, struct pc_addr *ret)
{
	*ret = (struct pc_addr){.family = p->family};
	memcpy(ret->bytes, p->buf + vm_pkt_addr_off(p, dst), pc_addr_size(p->family));
}

/* Whether the packet's @n bytes at @off are still the symbolic source's bytes @first... */
static inline bool pkt_field_symbolic(const struct vm_pkt *p, unsigned off, int first, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p->var[off + i] != 0xff || p->sym[off + i] != first + (int)i)
			return false;
	return true;
}

/* A constant replaces the field: it no longer varies (NAT, payload writes). */
static inline void pkt_set_addr(struct vm_pkt *p, bool dst, const struct pc_addr *a)
{
	unsigned off = vm_pkt_addr_off(p, dst), n = pc_addr_size(p->family);

	if (memcmp(p->buf + off, a->bytes, n) == 0)
		return; /* kept (NAT that keeps the source): still the client's */
	memcpy(p->buf + off, a->bytes, n);
	memset(p->var + off, 0, n);
}

/* The packet's source or destination port, network byte order. */
static inline uint16_t pkt_port(const struct vm_pkt *p, bool dst)
{
	uint16_t v;

	memcpy(&v, p->buf + p->thoff + (dst ? 2 : 0), 2);
	return v;
}

static inline void pkt_set_port(struct vm_pkt *p, bool dst, uint16_t v)
{
	uint8_t *f = p->buf + p->thoff + (dst ? 2 : 0);

	if (memcmp(f, &v, 2) == 0)
		return; /* kept: a source port NAT keeps is still the client's */
	memcpy(f, &v, 2);
	memset(p->var + p->thoff + (dst ? 2 : 0), 0, 2);
}

/* NF_NAT_MANIP_SRC / NF_NAT_MANIP_DST (include/net/netfilter/nf_nat.h, not uapi) */
#define MANIP_SRC 0
#define MANIP_DST 1

/* Verdicts of vm_run_chain beyond the NF_* ones. */
#define VM_UNKNOWN (-100)

/* Copy @src into @dst of @size bytes, truncating. */
void vm_strlcpy(char *dst, const char *src, size_t size);

/* --- nftvm.c ---------------------------------------------------------------------------- */

/* Evaluate base chain @base of table @t as nft_do_chain does. Returns the verdict
 * (NF_ACCEPT, NF_DROP, NF_QUEUE ...) or VM_UNKNOWN (vm->reason says why); -ENOMEM. */
int vm_run_chain(struct vm *vm, const struct pc_nft_table *t, const struct pc_nft_chain *base);
/* Stop evaluation: not exactly evaluable. The first reason wins. */
void vm_unknown(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A binary outcome the snapshot cannot decide (rate limits, quotas, ...): returns 0 or 1
 * as fixed by the driver, or -1 after vm_unknown() when there are too many. */
int vm_choose(struct vm *vm, const char *what);
/* One of @n outcomes: a uniform draw (@draw: numgen, hash) or runtime state. */
int vm_choose_n(struct vm *vm, const char *what, unsigned n, bool draw);
/* The byte offset of netlink register @reg in the register file, or -1. Inline, as the
 * next two: every load, compare and store of every rule asks (a million calls an analysis
 * of the bench host). */
static inline int vm_reg_offset(uint32_t reg)
{
	/* nft_parse_register(): the four 16-byte registers alias four words each. */
	if (reg <= NFT_REG_4)
		return (int)(reg * NFT_REG_SIZE);
	if (reg >= NFT_REG32_00 && reg <= NFT_REG32_15)
		return (int)(NFT_REG_SIZE + (reg - NFT_REG32_00) * NFT_REG32_SIZE);
	return -1;
}

/* Reports a register out of range (vm_reg). */
void vm_reg_bad(struct vm *vm, uint32_t reg, uint32_t len);

/* Pointer to @len bytes at register @reg, NULL (after vm_unknown) when out of range. */
static inline uint8_t *vm_reg(struct vm *vm, uint32_t reg, uint32_t len)
{
	int off = vm_reg_offset(reg);

	/* nft_validate_register_load/store: data registers only, and inside the file. */
	if (off < NFT_REG_SIZE || len == 0 || (size_t)off + len > sizeof(vm->regs)) {
		vm_reg_bad(vm, reg, len);
		return NULL;
	}
	return (uint8_t *)vm->regs + off;
}

/* A register an expression writes: its taint is cleared (up to the end of the last word,
 * which the kernel's stores zero). */
static inline uint8_t *vm_reg_out(struct vm *vm, uint32_t reg, uint32_t len)
{
	uint8_t *d = vm_reg(vm, reg, len);
	size_t off, n;

	if (!d)
		return NULL;
	off = (size_t)(d - (uint8_t *)vm->regs);
	n = (len + 3) / 4 * 4;
	if (off + n > sizeof(vm->taint))
		n = sizeof(vm->taint) - off;
	/* Whole words (off is a word's; n too but at the file's end, which is a word's):
	 * a store each, not two memset calls. */
	for (size_t i = 0; i < n; i += 4) {
		memset((uint8_t *)vm->taint + off + i, 0, 4);
		memset(vm->rsym + off + i, VM_SYM_NONE, 4);
	}
	return d;
}
/* A register an expression uses as an exact value (keys, addresses, marks): NULL after
 * vm_unknown() when it holds client-dependent bits. */
const uint8_t *vm_reg_in(struct vm *vm, uint32_t reg, uint32_t len);
/* The taint bytes of register bytes at @reg. */
uint8_t *vm_taint_of(struct vm *vm, const uint8_t *reg);
/* Which header field a packet offset belongs to, for reasons (nftvm_payload.c). */
const char *vm_field_name(const struct vm_pkt *p, uint32_t off);
/* nft_reg_store8 / nft_reg_store16 / a 32-bit store; zero the word first. */
void vm_store8(uint8_t *dst, uint8_t v);
void vm_store16(uint8_t *dst, uint16_t v);
void vm_store32(uint8_t *dst, uint32_t v);
/* nft_data_copy: zero the last partial word, then copy. */
void vm_data_copy(uint8_t *dst, const void *src, uint32_t len);
/* Append a trace entry (no-op without a trace). */
void vm_trace_add(struct vm *vm, uint32_t hook, const struct pc_rule_ref *ref,
		  enum pc_trace_action action, const char *detail);
void vm_rule_ref(const struct pc_nft_table *t, const struct pc_nft_chain *c,
		 const struct pc_nft_rule *r, struct pc_rule_ref *ret);
/* The chain named @name of the current table. */
/* nftvm_cache.c: the base chains of a ruleset in snapshot order (order: the chain's
 * position over all tables' chains, the kernel's registration order); -ENOMEM. */
struct vm_base_chain {
	const struct pc_nft_table *t;
	const struct pc_nft_chain *c;
	size_t order;
};
int vm_base_chains(const struct pc_nft_ruleset *rs, const struct vm_base_chain **ret, size_t *n);
/* nftvm_cache.c: the chain of @t (a table of @rs) named @name, the first of that name;
 * NULL when there is none. */
const struct pc_nft_chain *vm_chain_by_name(const struct pc_nft_ruleset *rs,
					    const struct pc_nft_table *t, const char *name);
/* nftvm_cache.c: per rule of @c (a chain of @t), the destination ports it can match at all
 * (first << 16 | last); NULL: evaluate every rule. */
const uint32_t *vm_port_guards(const struct pc_nft_ruleset *rs, const struct pc_nft_table *t,
			       const struct pc_nft_chain *c);
/* nftvm_guard.c: one rule's guard, *reads_inherited set when the rule reads a register it
 * did not write (no guards for the ruleset then); whether the packet's destination port
 * is inside @guard. */
uint32_t vm_rule_guard(const struct pc_nft_table *t, const struct pc_nft_rule *r,
		       bool *reads_inherited);
bool vm_port_guard_admits(const struct vm *vm, uint32_t guard);

const struct pc_nft_chain *vm_chain_find(const struct pc_nft_table *t, const char *name);

/* --- nftvm_sym.c: the symbolic source ------------------------------------------------- */

/* Mark the packet's source address and port as the symbolic source (varying, so that an
 * expression that does not reason about it makes the result unknown rather than take the
 * example's value for all). */
void vm_sym_mark_packet(struct vm_pkt *p);
/* A copy of @from's box for another run (no tests yet); join narrows @into to the box
 * the other run ended with and adds its tests, then clears @from. -ENOMEM. */
int vm_sym_fork(const struct vm_sym *from, struct vm_sym *to);
int vm_sym_join(struct vm_sym *into, struct vm_sym *from);
void vm_sym_clear(struct vm_sym *s);
/* vm_sym_route_class for vm->sym; -1 after vm_unknown(). */
int vm_route_class(struct vm *vm);
/* Register bytes [reg, reg+len) now hold symbolic bytes @first.. of the source. */
void vm_sym_mark_reg(struct vm *vm, uint8_t *reg, uint32_t len, int first);
/* Whether register bytes hold symbolic source bits: 1 yes (all tainted bytes are the
 * source's), 0 none, -1 tainted bytes that are not the source's (not exact). */
int vm_sym_in(struct vm *vm, const uint8_t *reg, uint32_t len);
/*
 * The box so far is cut by the test "x of dimension @port is in @set" as the concrete
 * source decides it: returns whether the concrete source is in @set, and narrows the box
 * to the sources with the same answer, recording @lit (negated when not in) when that
 * removed any. Returns -1 after vm_unknown() (out of memory).
 */
int vm_sym_split(struct vm *vm, bool port, const struct pc_ivlist *set,
		 const struct pc_src_lit *lit);
/* vm_sym_split for a set's projection @b: through pc_srcdim_narrow_base (a big list is
 * shared with the box, a small one narrows its clip). @known: whether the concrete source
 * is in @b when the caller has just searched that list (0 or 1), else -1: a search of a
 * blocklist's 200,000 intervals saved per lookup. */
int vm_sym_split_shared(struct vm *vm, bool port, struct pc_ivbase *b, const struct pc_src_lit *lit,
			int known);
/* vm_sym_split for x in [lo, hi]. */
int vm_sym_split_range(struct vm *vm, bool port, pc_u128 lo, pc_u128 hi);
/* vm_sym_split for (x & mask) == value; unknown when that scatters too much. */
int vm_sym_split_mask(struct vm *vm, bool port, pc_u128 mask, pc_u128 value);
/* nft_cmp_eval / nft_range_eval on symbolic register bytes. */
void vm_sym_cmp(struct vm *vm, const struct pc_nft_expr *e, const uint8_t *src);
void vm_sym_range(struct vm *vm, const struct pc_nft_expr *e, const uint8_t *src);

/* --- the expressions: one eval function per type (expr_ops in nftvm.c) ------------------ */

/* nftvm_cmp.c */
void vm_eval_immediate(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_cmp(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_range(struct vm *vm, const struct pc_nft_expr *e);
/* nftvm_payload.c */
void vm_eval_payload(struct vm *vm, const struct pc_nft_expr *e);
/* nftvm_bitwise.c */
void vm_eval_bitwise(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_byteorder(struct vm *vm, const struct pc_nft_expr *e);
/* nftvm_stateful.c */
void vm_eval_limit(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_quota(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_connlimit(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_objref(struct vm *vm, const struct pc_nft_expr *e);

/* --- nftvm_meta.c, nftvm_ct.c, nftvm_fib.c, nftvm_reject.c, nftvm_nat.c ---------------- */

void vm_eval_meta(struct vm *vm, const struct pc_nft_expr *e);
/* An interface name as the kernel stores it in a register (IFNAMSIZ bytes, zero padded;
 * empty for no device). */
void vm_store_ifname(uint8_t *dst, const struct pc_link *l);
void vm_eval_ct(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_fib(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_reject(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_nat(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_redir(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_masq(struct vm *vm, const struct pc_nft_expr *e);
void vm_eval_notrack(struct vm *vm);
/* The reject the kernel sends for ICMP @code of its family (nf_send_unreach{,6}) or a TCP
 * reset (nf_send_reset{,6}); records it in vm. Sets the verdict to NF_DROP. */
void vm_send_unreach(struct vm *vm, uint8_t code);
void vm_send_reset(struct vm *vm);

/* A NAT range as nf_nat_range2 holds it; ports in host byte order. */
struct vm_nat_range {
	uint32_t flags; /* NF_NAT_RANGE_* */
	struct pc_addr min_addr, max_addr;
	uint16_t min_port, max_port, base_port;
};
/* nf_nat_setup_info for the packet's conntrack entry. Sets the verdict (NF_ACCEPT, or
 * NF_DROP as the kernel does) or vm_unknown(). */
void vm_nat_setup(struct vm *vm, const struct vm_nat_range *r, int manip);
/* nf_nat_redirect_ipv4/ipv6 with the port range of @r. */
void vm_nat_redirect(struct vm *vm, const struct vm_nat_range *r);
/* nf_nat_masquerade_ipv4/ipv6 with the port range of @r. */
void vm_nat_masquerade(struct vm *vm, const struct vm_nat_range *r);

/* --- nftvm_set.c ------------------------------------------------------------------------ */

/* nft_lookup_eval. */
void vm_eval_lookup(struct vm *vm, const struct pc_nft_expr *e);
/* nft_dynset_eval, as far as it is exact. */
void vm_eval_dynset(struct vm *vm, const struct pc_nft_expr *e);
/* The element of @set matching @key (set->key_len bytes), or NULL; the catch-all element is
 * not considered. Builds the set's index on first use. -ENOMEM as a NULL with *oom set. */
const struct pc_nft_set_elem *vm_set_find(const struct pc_nft_set *set, const uint8_t *key,
					  bool *oom);
const struct pc_nft_set_elem *vm_set_catchall(const struct pc_nft_set *set);
const struct pc_nft_set *vm_set_find_by_name(const struct pc_nft_table *t, const char *name);

/* --- nftvm_xt.c ------------------------------------------------------------------------- */

void vm_eval_xt_match(struct vm *vm, const struct pc_nft_expr *e);
/* nftvm_xt_target.c */
void vm_eval_xt_target(struct vm *vm, const struct pc_nft_expr *e);
/* Copy an extension's info blob into @dst of @size bytes; false (after vm_unknown()) when
 * it is shorter: an inconsistent snapshot. */
bool vm_xt_info_get(struct vm *vm, const struct pc_nft_expr *e, void *dst, size_t size);

/* --- nftvm_route.c ---------------------------------------------------------------------- */

void vm_net_init(struct vm_net *net, const struct pc_netif *ni);
const struct pc_link *vm_link(const struct vm_net *net, uint32_t ifindex);
bool vm_link_is_loopback(const struct vm_net *net, uint32_t ifindex);
/*
 * fib_lookup / fib6_lookup with the default policy rules: the local table, then main.
 * @strict_oif restricts to routes out of that device (RT6_LOOKUP_F_IFACE), 0 for none.
 * THROW routes fall through to the next table. Policy routing beyond that is
 * netif->routing_blind_spot, checked by the callers.
 */
void vm_fib_lookup(const struct vm_net *net, const struct pc_addr *dst, uint32_t strict_oif,
		   struct vm_rt *ret);
/* A lookup in the local table only (inet_addr_type_table). */
void vm_fib_local_lookup(const struct vm_net *net, const struct pc_addr *dst, struct vm_rt *ret);
/* inet_dev_addr_type(): RTN_* of @a (IPv4), restricted to @dev's local routes when dev. */
uint8_t vm_inet_addr_type(const struct vm_net *net, uint32_t dev, const struct pc_addr *a);
/* True when @a is an address of interface @ifindex (nf_ipv6_chk_addr strict). */
bool vm_dev_has_addr(const struct vm_net *net, uint32_t ifindex, const struct pc_addr *a);
/* True when @a is an address of this host (any interface). */
bool vm_host_has_addr(const struct vm_net *net, const struct pc_addr *a);
/* The IPv6 address type bits of ipv6_addr_type() the engine needs. */
#define VM_V6_UNICAST 0x0001
#define VM_V6_MULTICAST 0x0002
#define VM_V6_LOOPBACK 0x0010
#define VM_V6_LINKLOCAL 0x0020
#define VM_V6_SITELOCAL 0x0040
#define VM_V6_MAPPED 0x1000
unsigned vm_ipv6_addr_type(const struct pc_addr *a);
/* ipv6_addr_scope(): 0 global, 0x10 host (loopback), 0x20 link, 0x40 site. */
unsigned vm_ipv6_addr_scope(const struct pc_addr *a);
/* An error route: unreachable, blackhole, prohibit or throw. */
bool vm_rt_is_error(const struct vm_rt *rt);
/* ipv6_anycast_destination() for a route and an address. */
bool vm_rt_is_anycast(const struct vm_rt *rt, const struct pc_addr *a);
