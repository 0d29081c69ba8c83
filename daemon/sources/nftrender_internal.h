/* SPDX-License-Identifier: MIT */
/*
 * Private parts of the rule renderer (nftrender.h): the state of one rule's rendering
 * (nftrender.c) and the words for values, flags, verdicts and anonymous sets
 * (nftrender_words.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "nftrender.h"
#include "portcheck/strbuf.h"

#define NOT_RENDERED 1
#define REG32_SLOTS 16
#define MAX_STMTS 32

enum vtype {
	V_IPV4,
	V_IPV6,
	V_PORT,	   /* big-endian u16 */
	V_PROTO,   /* u8, a protocol name */
	V_NFPROTO, /* u8 */
	V_MARK,	   /* host-order u32, hex */
	V_IFNAME,
	V_IFINDEX, /* host-order u32 */
	V_INT,	   /* host-order u32, decimal: numgen's numbers */
	V_CTSTATE, /* host-order u32 flags; the flag types last (see is_flags) */
	V_CTSTATUS,
	V_TCPFLAGS, /* u8 flags */
};

static inline bool is_flags(enum vtype t)
{
	return t >= V_CTSTATE;
}

enum term_kind { T_NONE, T_PAYLOAD, T_META, T_CT, T_NUMGEN, T_IMM };

/* What a load put into a register (slot: the 32-bit register it starts at). */
struct term {
	enum term_kind kind;
	uint32_t base, offset, len;  /* payload; len for all kinds */
	uint32_t key;		     /* meta / ct; numgen: its type */
	uint32_t modulus, ng_offset; /* numgen */
	bool masked;		     /* a bitwise mask applied, xor 0 */
	uint8_t mask[16];
	uint8_t imm[16]; /* immediate data (nat's addresses and ports) */
};

/* A term given its name: what nft prints for it and how its values read. */
struct field {
	const char *name; /* "tcp dport", "iifname", ... (or buf) */
	char buf[64];
	enum vtype type;
	uint32_t full_len; /* the field's length; a payload load may be shorter (a prefix) */
	int dep_base;	   /* payload: the header a dependency guards (0 none) */
};

struct render {
	const struct pc_nft_table *t;
	const struct pc_nft_render_env *env;
	struct term reg[REG32_SLOTS];
	uint32_t nh; /* network protocol context: NFPROTO_IPV4 / IPV6, 0 unknown */
	uint32_t l4; /* transport protocol context: IPPROTO_*, 0 unknown */
	/* The statement that is a dependency nft leaves out when a payload match of its
	 * protocol follows, per header (network, transport), or -1. */
	int dep_nh, dep_l4;
	char *stmt[MAX_STMTS];
	size_t n_stmts;
	/* The last statement was a comparison with >= or < (nft joins one with a <= or >
	 * after it into a range, whatever either compares: not rendered then). */
	bool open_bound;
	bool oom;
};

/* --- nftrender_words.c --- */

/* @v as nft names the bits of @type (a flags type), "a,b"; false when a bit has no name
 * or @v is 0. */
bool flags_words(struct pc_strbuf *b, enum vtype type, uint32_t v);
uint32_t host_u32(const uint8_t *p);
/* A value of @type from @len bytes at @p (the field's full length). */
bool value_words(struct render *R, struct pc_strbuf *b, enum vtype type, const uint8_t *p,
		 uint32_t len);
/* An interface name compared as nft writes it: the whole name NUL-padded, or a prefix
 * without the NUL for `"eth*"`. */
bool ifname_words(struct pc_strbuf *b, const uint8_t *p, uint32_t len);
/* The prefix length of a mask of @len bytes, or -1 when it is not leading ones. */
int mask_prefix(const uint8_t *m, uint32_t len);
/* "", "!= ", "< ", ... for a cmp operator; NULL for another. */
const char *op_word(uint32_t op);
/* "accept", "jump c", ...; false for a verdict nft prints otherwise. */
bool verdict_words(const struct render *R, struct pc_strbuf *b, int32_t code, const char *chain);
/* An anonymous set's elements, "{ a, b-c, d/8 }" (with @verdicts "k : verdict" each). */
bool anon_set_words(struct render *R, struct pc_strbuf *b, const struct pc_nft_set *s,
		    const struct field *f, bool verdicts);
