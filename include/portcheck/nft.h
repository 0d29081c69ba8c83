/* SPDX-License-Identifier: MIT */
/*
 * A snapshot of the live nftables ruleset, close to what the kernel holds: tables, chains,
 * rules as expression lists with the kernel's own attribute values (register numbers as on
 * the wire, NFT_* constants, data in the byte order the kernel compares), sets with their
 * elements. The VM (nftvm.h) executes it; nothing here is pre-interpreted, so the VM can
 * follow the kernel's semantics exactly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PC_NFT_DATA_MAX 64 /* NFT_DATA_VALUE_MAXLEN */

#define PC_NFT_NO_SHIFT UINT32_MAX

/* Chunks of bytes that never move, freed together (pc_nft_arena_put). */
struct pc_nft_arena;

/*
 * A constant as the kernel stores it (struct nft_data value part): @len bytes at @v, in
 * the arena of the ruleset or rule that holds it (NULL when len is 0). A pointer, not the
 * 64 bytes the kernel allows: constants are a few bytes, and two of them inline made every
 * one of a snapshot's expressions 176 bytes (50,000 rules are 375,000 expressions).
 */
struct pc_nft_data {
	const uint8_t *v;
	uint8_t len; /* <= PC_NFT_DATA_MAX */
};

/* Copy @len bytes (<= PC_NFT_DATA_MAX) into the arena *@head (a new chunk when the first
 * has no room) as *ret. Returns 0, -ENOMEM, -EINVAL. */
int pc_nft_arena_put(struct pc_nft_arena **head, const void *p, uint32_t len,
		     struct pc_nft_data *ret);
/* Free every chunk of *@head. */
void pc_nft_arena_free(struct pc_nft_arena **head);

/* A verdict as the kernel encodes it: NF_ACCEPT, NF_DROP (with optional queue/errno bits),
 * NFT_CONTINUE, NFT_BREAK, NFT_JUMP, NFT_GOTO, NFT_RETURN. chain for jump/goto. */
struct pc_nft_verdict {
	int32_t code;
	char *chain;
};

enum pc_nft_expr_type {
	PC_NFT_EXPR_UNKNOWN = 0, /* any expression the snapshot does not model */
	PC_NFT_EXPR_IMMEDIATE,
	PC_NFT_EXPR_CMP,
	PC_NFT_EXPR_RANGE,
	PC_NFT_EXPR_PAYLOAD,
	PC_NFT_EXPR_BITWISE,
	PC_NFT_EXPR_BYTEORDER,
	PC_NFT_EXPR_META,
	PC_NFT_EXPR_LOOKUP,
	PC_NFT_EXPR_CT,
	PC_NFT_EXPR_REJECT,
	PC_NFT_EXPR_NAT,
	PC_NFT_EXPR_REDIR,
	PC_NFT_EXPR_MASQ,
	PC_NFT_EXPR_FIB,
	PC_NFT_EXPR_COUNTER,
	PC_NFT_EXPR_LOG,
	PC_NFT_EXPR_NOTRACK,
	PC_NFT_EXPR_QUEUE,
	PC_NFT_EXPR_MATCH,  /* xtables compat match (iptables-nft) */
	PC_NFT_EXPR_TARGET, /* xtables compat target */
	PC_NFT_EXPR_LIMIT,
	PC_NFT_EXPR_QUOTA,
	PC_NFT_EXPR_CONNLIMIT,
	PC_NFT_EXPR_NUMGEN,
	PC_NFT_EXPR_DYNSET,
	PC_NFT_EXPR_OBJREF,
	PC_NFT_EXPR_HASH, /* jhash, symhash */
};

/* Register fields hold the netlink value (NFT_REG_VERDICT, NFT_REG_1..4, NFT_REG32_00..15). */
struct pc_nft_expr {
	enum pc_nft_expr_type type;
	char name[16]; /* libnftnl's expression name, e.g. "payload" */
	union {
		struct {
			uint32_t dreg;
			bool is_verdict; /* dreg == NFT_REG_VERDICT */
			struct pc_nft_data data;
			struct pc_nft_verdict verdict;
		} immediate;
		struct {
			uint32_t sreg, op; /* NFT_CMP_EQ ... */
			struct pc_nft_data data;
		} cmp;
		struct {
			uint32_t sreg, op; /* NFT_RANGE_EQ / NEQ */
			struct pc_nft_data from, to;
		} range;
		struct {
			uint32_t dreg; /* 0 for a payload write (sreg set) */
			uint32_t sreg;
			uint32_t base; /* NFT_PAYLOAD_LL_HEADER, NETWORK_HEADER, TRANSPORT_HEADER,
					  INNER */
			uint32_t offset, len;
		} payload;
		struct {
			uint32_t sreg, dreg, len;
			uint32_t op; /* NFT_BITWISE_BOOL (mask/xor), LSHIFT, RSHIFT */
			struct pc_nft_data mask, xor;
			/* LSHIFT / RSHIFT: the amount (NFTA_BITWISE_DATA, a host-order u32;
			 * the kernel takes < 32), PC_NFT_NO_SHIFT when the attribute is
			 * missing or shorter (a full pc_nft_data here made every expression
			 * 72 bytes larger). */
			uint32_t shift;
		} bitwise;
		struct {
			uint32_t sreg, dreg, op, len, size;
		} byteorder;
		struct {
			uint32_t key;	     /* NFT_META_* */
			uint32_t dreg, sreg; /* one of them is set */
		} meta;
		struct {
			uint32_t sreg, dreg; /* dreg only for maps */
			uint32_t flags;	     /* NFT_LOOKUP_F_INV */
			char *set;	     /* resolved by name within the rule's table */
		} lookup;
		struct {
			uint32_t key, dreg, sreg;
			uint8_t dir;
			bool has_dir;
		} ct;
		struct {
			uint32_t type; /* NFT_REJECT_ICMP_UNREACH, TCP_RST, ICMPX_UNREACH */
			uint8_t code;
		} reject;
		struct {
			uint32_t type;	 /* NFT_NAT_SNAT / DNAT */
			uint32_t family; /* NFPROTO_IPV4 / IPV6 */
			uint32_t reg_addr_min, reg_addr_max, reg_proto_min, reg_proto_max;
			uint32_t flags;
		} nat;
		struct {
			uint32_t reg_proto_min, reg_proto_max, flags;
		} redir, masq;
		struct {
			uint32_t flags;	 /* NFTA_FIB_F_* */
			uint32_t result; /* NFT_FIB_RESULT_* */
			uint32_t dreg;
		} fib;
		struct {
			char name[32]; /* xt name, e.g. "REJECT", "conntrack", "multiport" */
			uint32_t rev;
			uint8_t *info; /* the xt_*_info struct, as the kernel holds it */
			uint32_t info_len;
		} xt; /* MATCH and TARGET */
		struct {
			uint32_t num; /* queue number, for the trace */
			uint32_t flags;
		} queue;
		struct {
			uint32_t op, sreg_key, sreg_data;
			char *set;
		} dynset;
		struct {
			uint32_t type;
			char *name;
		} objref;
		struct {
			uint32_t dreg, modulus, type, offset; /* NFT_NG_INCREMENTAL / RANDOM */
		} numgen;
		struct {
			uint32_t sreg, dreg, len, modulus, offset;
			uint32_t type; /* NFT_HASH_JENKINS / NFT_HASH_SYM */
		} hash;
	};
};

/* 50,000 rules are some 400,000 expressions: every byte here is 400 KB of a snapshot,
 * and walking them all (the guards, the port classes) is bound by memory. */
_Static_assert(sizeof(struct pc_nft_expr) <= 80, "an expression is at most 80 bytes");

struct pc_nft_rule {
	uint64_t handle;
	struct pc_nft_expr *exprs;
	size_t n_exprs;
	char *text; /* as `nft -a list ruleset` prints it, NULL when not rendered */
	/* The comment in the rule's user data (NFTNL_UDATA_RULE_COMMENT), sanitised; NULL
	 * when it has none. */
	char *comment;
	/* The user data holds more than a plain comment (other types, bytes nft would not
	 * print as they are): only libnftables can tell how nft shows it. */
	bool udata_other;
	/* The constants of a rule built alone (tests); a snapshot's are in its rule_bytes. */
	struct pc_nft_arena *arena;
};

struct pc_nft_chain {
	char *name;
	char *kname; /* as the kernel spells it (see pc_nft_set) */
	uint64_t handle;
	bool base;
	/* base chains only */
	uint32_t hooknum; /* NF_INET_PRE_ROUTING ... */
	int32_t prio;
	uint32_t policy; /* NF_ACCEPT / NF_DROP */
	char *type;	 /* "filter", "nat", "route" */
	char *dev;	 /* netdev/ingress device, NULL otherwise */
	/* Every device of a netdev chain (dev is the first), for chains hooked to several. */
	char **devices;
	size_t n_devices;
	/* NFTA_CHAIN_FLAGS: NFT_CHAIN_BINDING marks an anonymous chain (`jump { ... }`), a
	 * regular chain reached by name (e.g. "__chain2") whose rules nft prints inline. */
	uint32_t flags;
	struct pc_nft_rule *rules;
	size_t n_rules;
};

/* Bytes of a set element (its key, key end, data), kept in its set's arena
 * (pc_nft_set_bytes): an element is 72 bytes, not three pc_nft_data of 68 each (a
 * blocklist of 200,000 ranges is 400,000 elements). len <= PC_NFT_DATA_MAX; v NULL when
 * len is 0. */
struct pc_nft_bytes {
	const uint8_t *v;
	uint32_t len;
};

/*
 * An element: its key, key end and data are in its set's arena (pc_nft_set_bytes; NULL
 * when the length is 0), lengths <= PC_NFT_DATA_MAX. 40 bytes: a blocklist of 200,000
 * ranges is 400,000 elements (issue #9 asks for no more than 40 per element). Read it
 * through the accessors below.
 */
struct pc_nft_set_elem {
	const uint8_t *key;
	const uint8_t *key_end; /* NFTA_SET_ELEM_KEY_END; length 0 unless the set uses it */
	const uint8_t *data;	/* maps */
	char *verdict_chain;	/* verdict maps: the jump/goto target, owned */
	int32_t verdict_code;	/* verdict maps */
	uint8_t key_len, key_end_len, data_len;
	uint8_t flags; /* NFT_SET_ELEM_INTERVAL_END / NFT_SET_ELEM_CATCHALL */
};
_Static_assert(sizeof(struct pc_nft_set_elem) <= 40, "a set element is at most 40 bytes");

static inline struct pc_nft_bytes pc_nft_elem_key(const struct pc_nft_set_elem *e)
{
	return (struct pc_nft_bytes){e->key, e->key_len};
}

static inline struct pc_nft_bytes pc_nft_elem_key_end(const struct pc_nft_set_elem *e)
{
	return (struct pc_nft_bytes){e->key_end, e->key_end_len};
}

static inline struct pc_nft_bytes pc_nft_elem_data(const struct pc_nft_set_elem *e)
{
	return (struct pc_nft_bytes){e->data, e->data_len};
}

static inline struct pc_nft_verdict pc_nft_elem_verdict(const struct pc_nft_set_elem *e)
{
	return (struct pc_nft_verdict){e->verdict_code, e->verdict_chain};
}

/*
 * Names, rule texts and devices are sanitised as they are read (strsan.h, PC_STRSAN_RAW):
 * equal bytes give equal names, so lookups by name work on them. kname keeps the kernel's
 * bytes where a request to the kernel must name the object.
 */
struct pc_nft_set {
	char *name;
	char *kname;
	uint32_t id;
	uint32_t flags; /* NFT_SET_INTERVAL, NFT_SET_MAP, NFT_SET_CONCAT, NFT_SET_ANONYMOUS ... */
	uint32_t key_type, key_len;
	uint32_t data_type, data_len; /* data_type NFT_DATA_VERDICT for verdict maps */
	uint8_t field_len[16];	      /* concatenation field lengths in bytes */
	uint32_t field_count;
	struct pc_nft_set_elem *elems; /* expired elements are left out */
	size_t n_elems;
	struct pc_nft_arena *arena; /* the elements' bytes (pc_nft_set_bytes); owned by the set */
	/* ms until the first element with a timeout expires, as dumped; 0: none has one */
	uint64_t next_expiry_ms;
	void *index; /* the VM's lookup index, built on demand; owned by the set */
	void (*index_free)(void *index); /* set with index; pc_nft_ruleset_clear calls it */
};

/* Copy @len bytes (<= PC_NFT_DATA_MAX) into @s's arena as *ret: an element's key, key end
 * or data; they stay where they are until the set is cleared. -ENOMEM, -EINVAL. */
int pc_nft_set_bytes(struct pc_nft_set *s, const void *p, uint32_t len, struct pc_nft_bytes *ret);

struct pc_nft_table {
	char *name;
	char *kname;
	uint32_t family; /* NFPROTO_INET, IPV4, IPV6, ARP, BRIDGE, NETDEV */
	uint64_t handle;
	uint32_t flags; /* NFT_TABLE_F_DORMANT tables are left out of the snapshot */
	struct pc_nft_chain *chains;
	size_t n_chains;
	struct pc_nft_set *sets;
	size_t n_sets;
};

struct pc_nft_ruleset {
	uint32_t genid;
	struct pc_nft_table *tables;
	size_t n_tables;
	/* Filtering the snapshot cannot see (iptables-legacy tables, ...): verdicts become
	 * unknown with this reason. NULL when there is none. */
	char *blind_spot;
	/* The engine's cache of whether conntrack runs for IPv4 [0] / IPv6 [1]: 0 not yet
	 * known, 1 no, 2 yes. */
	uint8_t ct_enabled_cache[2];
	/* The engine's cache of what it derives from the rules once per snapshot (the base
	 * chains by hook, the rules' port guards: daemon/engine/nftvm_cache.c), built on
	 * first use; pc_nft_ruleset_clear calls vm_cache_free. A snapshot does not change
	 * once read; code that changes a ruleset after evaluating it (tests) calls
	 * pc_nft_ruleset_changed. */
	void *vm_cache;
	void (*vm_cache_free)(void *cache);
	/* The rules' constants (pc_nft_data), read with the rules. */
	struct pc_nft_arena *rule_bytes;
};

/*
 * Read the ruleset of the current network namespace consistently (generation id before and
 * after the dump, NLM_F_DUMP_INTR, retried when it moved) and render rule texts. Returns 0
 * or -errno (-EPERM without CAP_NET_ADMIN, -EAGAIN when the ruleset kept changing).
 */
int pc_nft_read(struct pc_nft_ruleset *ret);

/* @rs changed after the engine evaluated it (a rule or a set edited in place): drop what
 * the engine derived from it (the sets' lookup indexes, the vm_cache). */
void pc_nft_ruleset_changed(struct pc_nft_ruleset *rs);

/* pc_nft_read_flags: no rule texts (every text NULL). libnftables' listing of the whole
 * ruleset is much of a snapshot's cost on a host with many rules (README,
 * bench/snapshot.sh); render them later, when a report names a rule, with
 * pc_nft_texts_fill. */
#define PC_NFT_READ_NO_TEXTS (1u << 0)
/* pc_nft_read with flags (PC_NFT_READ_*). Same returns. */
int pc_nft_read_flags(struct pc_nft_ruleset *ret, unsigned flags);
/*
 * Give every rule of @rs its text, as pc_nft_read does, for a snapshot read with
 * PC_NFT_READ_NO_TEXTS: one libnftables listing. Only while the ruleset is still the
 * snapshot's generation (rs->genid): -ESTALE when it moved (texts stay NULL); 0 also when
 * libnftables could not list it (texts stay NULL); -errno.
 */
int pc_nft_texts_fill(struct pc_nft_ruleset *rs);
/*
 * Texts for the rules @rules (pointers into @rs; NULL entries and rules that have a text
 * are skipped), e.g. those a report names: each of their chains listed alone when that is
 * cheaper (a few chains, plain names, and the elements of their tables' sets, which
 * nftables reads for each, at most 20,000 or 4 per rule of the ruleset: ~10-20 ms a chain
 * of a table with small sets), else pc_nft_texts_fill. Other rules of those chains get their texts
 * too. Same returns as pc_nft_texts_fill; after -ESTALE no text of those chains is kept.
 */
int pc_nft_texts_fill_rules(struct pc_nft_ruleset *rs, const struct pc_nft_rule *const *rules,
			    size_t n);
/*
 * Texts for the rules @rules (as pc_nft_texts_fill_rules takes them) rendered by portcheck
 * itself from their expressions, where it knows every part of a rule (nftrender.h):
 * without libnftables, which lists whole chains or the whole ruleset to give one. *left
 * is the number of those rules still without a text. Returns 0 or -ENOMEM.
 */
int pc_nft_texts_render(struct pc_nft_ruleset *rs, const struct pc_nft_rule *const *rules, size_t n,
			size_t *left);

/* The family's word as nft writes it ("inet", "ip", "ip6", "arp", "bridge", "netdev"), or
 * NULL for another. */
const char *pc_nft_family_name(uint32_t nfproto);
/* The current ruleset generation id (NFT_MSG_GETGEN, one round trip). Returns 0 or -errno. */
int pc_nft_read_genid(uint32_t *ret);

const struct pc_nft_table *pc_nft_table_find(const struct pc_nft_ruleset *rs, uint32_t family,
					     const char *name);
const struct pc_nft_chain *pc_nft_chain_find(const struct pc_nft_table *t, const char *name);
const struct pc_nft_set *pc_nft_set_find(const struct pc_nft_table *t, const char *name);

void pc_nft_ruleset_clear(struct pc_nft_ruleset *rs);
