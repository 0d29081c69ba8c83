/* SPDX-License-Identifier: MIT */
/*
 * A structure-aware libFuzzer mutator for the status-report targets (built with
 * -DPC_FUZZ_STRUCTURED). Byte mutations of a valid report mostly produce invalid JSON,
 * which jansson rejects before portcheck sees it; this parses the input (up to
 * PC_FUZZ_MAX_REPORTS texts, as the harnesses read it), changes one node of one report
 * (a value swapped for an edge case, a key added or dropped, an array element
 * duplicated so that sockets merge, a string byte-mutated) and writes it back. Input that
 * does not parse gets libFuzzer's own mutation.
 */
#pragma once

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/util.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define PC_MUT_MAX_DOCS 4
#define PC_MUT_MAX_NODES 4096

/* The keys of a status report (docs/json.md) and the client's "why". */
static const char *const pc_mut_keys[] = {
    "listeners", "protocol",   "address",   "port",	 "exposure",	 "process",
    "name",	 "unit",       "pid",	    "paths",	 "verdict",	 "rule",
    "handle",	 "text",       "family",    "table",	 "chain",	 "zone",
    "reason",	 "fix",	       "command",   "firewalld", "runtime_only", "allowed_by",
    "nftables",	 "generation", "interface", "source",	 "v6only",	 "why",
};

static const char *const pc_mut_strings[] = {
    "",
    "blocked",
    "partial",
    "unknown",
    "open",
    "local-only",
    "accept",
    "drop",
    "reject",
    "tcp",
    "udp",
    "::",
    "0.0.0.0",
    "127.0.0.1",
    "fe80::1%eth0",
    "public",
    "a|b",
    "x\ny",
    "\"\\",
    "\x1b[31mred",
    "\xc3\xa9t\xc3\xa9",
    "*",
    "%s%n%s",
    "sshd",
    "avahi-daemon",
    "docker-1.scope",
    "ssh.socket",
    "service ssh",
    "port 9090/tcp",
    "inet",
    "firewalld",
    "filter_IN_public",
    "\t",
    "?",
    "\r\n",
};

static const long long pc_mut_ints[] = {
    0,
    1,
    -1,
    22,
    53,
    80,
    5353,
    6005,
    65535,
    65536,
    4294967296LL + 22,
    INT_MAX,
    (long long)INT_MAX + 1,
    UINT_MAX,
    LLONG_MAX,
    LLONG_MIN,
};

struct pc_mut_node {
	json_t *parent; /* NULL for a document's root */
	const char *key;
	size_t index;
	json_t *value;
};

struct pc_mut {
	struct pc_mut_node nodes[PC_MUT_MAX_NODES];
	size_t n;
	unsigned state;
};

static unsigned pc_mut_rand(struct pc_mut *m, unsigned n)
{
	m->state = m->state * 1103515245u + 12345u;
	return n ? (m->state >> 8) % n : 0;
}

static void pc_mut_collect(struct pc_mut *m, json_t *parent, const char *key, size_t index,
			   json_t *v)
{
	const char *k;
	json_t *child;
	size_t i;

	if (m->n == PC_MUT_MAX_NODES)
		return;
	m->nodes[m->n++] = (struct pc_mut_node){parent, key, index, v};
	if (json_is_object(v)) {
		json_object_foreach(v, k, child) pc_mut_collect(m, v, k, 0, child);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) pc_mut_collect(m, v, NULL, i, child);
	}
}

static json_t *pc_mut_value(struct pc_mut *m)
{
	switch (pc_mut_rand(m, 6)) {
	case 0:
		return json_string(pc_mut_strings[pc_mut_rand(m, ELEMENTSOF(pc_mut_strings))]);
	case 1:
		return json_integer(pc_mut_ints[pc_mut_rand(m, ELEMENTSOF(pc_mut_ints))]);
	case 2:
		return json_boolean(pc_mut_rand(m, 2));
	case 3:
		return pc_mut_rand(m, 2) ? json_object() : json_array();
	case 4:
		return json_real(pc_mut_rand(m, 2) ? 1e300 : 80.5);
	default:
		return json_null();
	}
}

/* Put @v (a new reference, consumed) where @n is; the root is not replaced. */
static void pc_mut_replace(const struct pc_mut_node *n, json_t *v)
{
	if (!v)
		return;
	if (json_is_object(n->parent))
		json_object_set_new(n->parent, n->key, v);
	else if (json_is_array(n->parent))
		json_array_set_new(n->parent, n->index, v);
	else
		json_decref(v);
}

/* A string's bytes through libFuzzer's mutator; kept only if still valid UTF-8. */
static json_t *pc_mut_string(const char *s)
{
	uint8_t buf[256];
	size_t len = strlen(s);

	if (len > sizeof(buf))
		len = sizeof(buf);
	memcpy(buf, s, len);
	len = LLVMFuzzerMutate(buf, len, sizeof(buf));
	return json_stringn((const char *)buf, len); /* NULL unless UTF-8 */
}

static void pc_mut_one(struct pc_mut *m)
{
	struct pc_mut_node *n = &m->nodes[pc_mut_rand(m, (unsigned)m->n)];
	json_t *v = n->value;

	switch (pc_mut_rand(m, 8)) {
	case 0: /* an edge-case value */
		pc_mut_replace(n, pc_mut_value(m));
		break;
	case 1: /* drop it */
		if (json_is_object(n->parent))
			json_object_del(n->parent, n->key);
		else if (json_is_array(n->parent))
			json_array_remove(n->parent, n->index);
		break;
	case 2: /* a known key, with an edge-case value or a copy of another node */
		if (json_is_object(v)) {
			const char *k = pc_mut_keys[pc_mut_rand(m, ELEMENTSOF(pc_mut_keys))];
			json_t *other = m->nodes[pc_mut_rand(m, (unsigned)m->n)].value;

			json_object_set_new(
			    v, k, pc_mut_rand(m, 2) ? pc_mut_value(m) : json_deep_copy(other));
		}
		break;
	case 3: /* another element like this one: merged sockets, repeated paths */
		if (json_is_array(n->parent))
			json_array_insert_new(n->parent, n->index, json_deep_copy(v));
		else if (json_is_array(v) && json_array_size(v))
			json_array_append_new(
			    v, json_deep_copy(json_array_get(
				   v, pc_mut_rand(m, (unsigned)json_array_size(v)))));
		break;
	case 4: /* splice: another node here */
		pc_mut_replace(n, json_deep_copy(m->nodes[pc_mut_rand(m, (unsigned)m->n)].value));
		break;
	case 5: /* the string's bytes */
		if (json_is_string(v))
			pc_mut_replace(n, pc_mut_string(json_string_value(v)));
		else
			pc_mut_replace(n, pc_mut_value(m));
		break;
	case 6: /* a number nearby */
		if (json_is_integer(v))
			/* Wrapping, not overflowing: LLONG_MAX + 1 is LLONG_MIN. */
			pc_mut_replace(
			    n, json_integer((json_int_t)((unsigned long long)json_integer_value(v) +
							 pc_mut_rand(m, 5) - 2ULL)));
		else
			pc_mut_replace(n, pc_mut_value(m));
		break;
	default: /* swap two array elements: order and sorting */
		if (json_is_array(v) && json_array_size(v) > 1) {
			size_t a = pc_mut_rand(m, (unsigned)json_array_size(v));
			size_t b = pc_mut_rand(m, (unsigned)json_array_size(v));
			json_t *x = json_incref(json_array_get(v, a));

			json_array_set(v, a, json_array_get(v, b));
			json_array_set_new(v, b, x);
		}
		break;
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	static struct pc_mut m;
	json_t *docs[PC_MUT_MAX_DOCS + 1];
	size_t n_docs = 0, off = 0, out = 0;
	int rounds;

	m.state = seed;
	while (n_docs < PC_MUT_MAX_DOCS && off < size) {
		json_error_t err;
		json_t *j = json_loadb((const char *)data + off, size - off,
				       JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &err);

		if (!j)
			break;
		docs[n_docs++] = j;
		off += err.position ? (size_t)err.position : size - off;
	}
	if (!n_docs || pc_mut_rand(&m, 16) == 0) {
		for (size_t i = 0; i < n_docs; i++)
			json_decref(docs[i]);
		return LLVMFuzzerMutate(data, size, max_size);
	}
	/* Now and then the next report: the same one, changed below. */
	if (n_docs < PC_MUT_MAX_DOCS && pc_mut_rand(&m, 4) == 0) {
		docs[n_docs] = json_deep_copy(docs[n_docs - 1]);
		if (docs[n_docs])
			n_docs++;
	}
	rounds = 1 + (int)pc_mut_rand(&m, 3);
	for (int r = 0; r < rounds; r++) {
		m.n = 0;
		pc_mut_collect(&m, NULL, NULL, 0, docs[pc_mut_rand(&m, (unsigned)n_docs)]);
		pc_mut_one(&m);
	}
	for (size_t i = 0; i < n_docs; i++) {
		char *s = json_dumps(docs[i], JSON_COMPACT | JSON_ENCODE_ANY);
		size_t len = s ? strlen(s) : 0;

		if (s && out + len + 1 <= max_size) {
			memcpy(data + out, s, len);
			out += len;
			data[out++] = '\n';
		}
		free(s);
		json_decref(docs[i]);
	}
	return out ? out : LLVMFuzzerMutate(data, size, max_size);
}
