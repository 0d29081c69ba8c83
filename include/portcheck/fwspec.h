/* SPDX-License-Identifier: MIT */
/*
 * What `portcheck open` / `close` ask for: a SPEC of ports and firewalld services
 * ("80/tcp", "8000-8010/udp", "http", or a comma list). Pure and dependency-free, so
 * that the client rejects a bad SPEC itself (exit 2) even when the daemon is down, and
 * the daemon checks it again with the same words.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A port or port range with its protocol, as firewalld lists them ("80", "tcp"). */
struct pc_fw_port {
	uint16_t lo, hi; /* inclusive, host byte order */
	char proto[8];	 /* "tcp", "udp", "sctp", "dccp" */
};

#define PC_FW_SPEC_MAX_ITEMS 64

enum pc_fw_item_kind { PC_FW_ITEM_PORT, PC_FW_ITEM_SERVICE };

/* One element of a SPEC: a port range with its protocol, or a firewalld service. */
struct pc_fw_item {
	enum pc_fw_item_kind kind;
	struct pc_fw_port port; /* PC_FW_ITEM_PORT */
	char service[64];	/* PC_FW_ITEM_SERVICE */
};

struct pc_fw_spec {
	struct pc_fw_item items[PC_FW_SPEC_MAX_ITEMS];
	size_t n;
};

/*
 * Parse "80/tcp", "8000-8010/udp", "http" or a comma-separated list of those. Pure.
 * Duplicates are dropped. Returns 0, or -EINVAL with a message naming the bad part in
 * *ret_error (malloc'd), or -ENOMEM.
 */
int pc_fw_spec_parse(const char *text, struct pc_fw_spec *ret, char **ret_error);

/* Whether two items are the same port range and protocol, or the same service. */
bool pc_fw_item_equal(const struct pc_fw_item *a, const struct pc_fw_item *b);

/* "80/tcp", "8000-8010/udp" or "http". Returns a malloc'd string or NULL. */
char *pc_fw_item_to_string(const struct pc_fw_item *item);
