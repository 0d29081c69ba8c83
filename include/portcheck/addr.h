/* SPDX-License-Identifier: MIT */
/* IP addresses and prefixes, family-tagged, in network byte order. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct pc_addr {
	int family;	   /* AF_INET or AF_INET6 */
	uint8_t bytes[16]; /* network byte order; IPv4 uses the first 4 */
};

struct pc_prefix {
	struct pc_addr addr;
	uint8_t len; /* prefix length in bits */
};

#define PC_ADDRSTRLEN 46 /* INET6_ADDRSTRLEN */
#define PC_PREFIXSTRLEN (PC_ADDRSTRLEN + 4)

/* Bytes in an address of @family (4 or 16), 0 for anything else. */
unsigned pc_addr_size(int family);
/* Format as text ("192.0.2.1", "2001:db8::1"); @buf has PC_ADDRSTRLEN bytes. */
const char *pc_addr_to_string(const struct pc_addr *a, char *buf);
/* Format "addr/len", "addr" alone when it is a host prefix; @buf has PC_PREFIXSTRLEN. */
const char *pc_prefix_to_string(const struct pc_prefix *p, char *buf);
/* Parse an address of either family. Returns 0 or -EINVAL. */
int pc_addr_from_string(const char *s, struct pc_addr *ret);
/* Parse "addr[/len]" of either family; host bits must be zero. Returns 0 or -EINVAL. */
int pc_prefix_from_string(const char *s, struct pc_prefix *ret);
/* True for the unspecified address (0.0.0.0 or ::). */
bool pc_addr_is_any(const struct pc_addr *a);
/* True for 127.0.0.0/8 and ::1, and ::ffff:127.0.0.0/104. */
bool pc_addr_is_loopback(const struct pc_addr *a);
/* True for ::ffff:a.b.c.d. */
bool pc_addr_is_v4mapped(const struct pc_addr *a);
bool pc_addr_equal(const struct pc_addr *a, const struct pc_addr *b);
/* True when @a lies inside @p (same family). */
bool pc_prefix_contains(const struct pc_prefix *p, const struct pc_addr *a);
/* True when every address of @inner lies in @outer. */
bool pc_prefix_covers(const struct pc_prefix *outer, const struct pc_prefix *inner);

/*
 * The part of the address space of @family not covered by any of @excl, as a minimal list
 * of prefixes in address order. Used to describe "every source not claimed by a source-bound
 * zone". Returns the number of prefixes (>= 0) written to a malloc'd *ret_list, or -ENOMEM.
 */
int pc_prefix_complement(int family, const struct pc_prefix *excl, size_t n_excl,
			 struct pc_prefix **ret_list);

/* Order of addresses of one family as unsigned big-endian integers: <0, 0, >0. */
int pc_addr_cmp(const struct pc_addr *a, const struct pc_addr *b);
/* a + 1 / a - 1; false (and @a unchanged) when it would wrap around. */
bool pc_addr_inc(struct pc_addr *a);
bool pc_addr_dec(struct pc_addr *a);
/* The last address of the family: 255.255.255.255 or ffff:...:ffff. */
struct pc_addr pc_addr_max(int family);

/*
 * The minimal list of prefixes covering exactly [@lo, @hi] (same family, lo <= hi),
 * appended to *@list (of *@n). Returns 0 or -ENOMEM.
 */
int pc_range_to_prefixes(const struct pc_addr *lo, const struct pc_addr *hi,
			 struct pc_prefix **list, size_t *n);
