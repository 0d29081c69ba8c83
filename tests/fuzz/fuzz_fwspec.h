/* SPDX-License-Identifier: MIT */
/*
 * Harness body for pc_fw_spec_parse() (common/fwspec_parse.c), the SPEC of `portcheck
 * open` / `close` ("80/tcp", "8000-8010/udp", "http", comma lists): the input is the SPEC
 * (up to its first NUL byte, as argv is). Both the client and the daemon parse it, the
 * daemon from a Varlink request anyone in the read group can send.
 *
 * Checked: only the documented return values; a message exactly on -EINVAL; on success
 * 1..PC_FW_SPEC_MAX_ITEMS items, no two equal, every port range within 1-65535 and not
 * backwards with a known protocol, every service name firewalld's alphabet and
 * NUL-terminated inside its array; each service of the input an item, whole; each item
 * printed by pc_fw_item_to_string() parses back to that very item, and the whole list printed again
 * parses to the same list; a failed parse leaves the caller's result alone.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "portcheck/fwspec.h"
#include "portcheck/util.h"

static bool pc_fuzz_fwspec_proto_ok(const char *p)
{
	return strcmp(p, "tcp") == 0 || strcmp(p, "udp") == 0 || strcmp(p, "sctp") == 0 ||
	       strcmp(p, "dccp") == 0;
}

static void pc_fuzz_fwspec_check_item(const struct pc_fw_item *it)
{
	if (it->kind == PC_FW_ITEM_PORT) {
		PC_FUZZ_ASSERT(it->port.lo >= 1 && it->port.lo <= it->port.hi);
		PC_FUZZ_ASSERT(memchr(it->port.proto, '\0', sizeof(it->port.proto)));
		PC_FUZZ_ASSERT(pc_fuzz_fwspec_proto_ok(it->port.proto));
		return;
	}
	PC_FUZZ_ASSERT(it->kind == PC_FW_ITEM_SERVICE);
	PC_FUZZ_ASSERT(memchr(it->service, '\0', sizeof(it->service)));
	PC_FUZZ_ASSERT(it->service[0] && !(it->service[0] >= '0' && it->service[0] <= '9'));
	for (const char *s = it->service; *s; s++)
		PC_FUZZ_ASSERT((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			       (*s >= '0' && *s <= '9') || strchr("-_.+", *s));
}

/* Returns 0 (libFuzzer's "keep going"); a broken property aborts. */
static int pc_fuzz_fwspec_one(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = malloc(size + 1), *err = NULL, *joined = NULL;
	struct pc_fw_spec *spec = NULL, *again = NULL;
	size_t joined_len = 0;
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* Large (64 items of 80 bytes): on the heap, so ASan sees any write past it. */
	spec = malloc(sizeof(*spec));
	again = malloc(sizeof(*again));
	if (!spec || !again)
		goto out;
	memset(spec, 0xa5, sizeof(*spec));
	r = pc_fw_spec_parse(text, spec, &err);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		PC_FUZZ_ASSERT(r == -EINVAL);
		PC_FUZZ_ASSERT(err && *err);
		/* Untouched: the caller's result is written only on success. */
		for (size_t i = 0; i < sizeof(*spec); i++)
			PC_FUZZ_ASSERT(((const uint8_t *)spec)[i] == 0xa5);
		goto out;
	}
	PC_FUZZ_ASSERT(r == 0 && !err);
	PC_FUZZ_ASSERT(spec->n >= 1 && spec->n <= PC_FW_SPEC_MAX_ITEMS);
	/* Every comma separates two items: at most one item per comma plus one. */
	{
		size_t commas = 0;

		for (const char *p = text; *p; p++)
			commas += *p == ',';
		PC_FUZZ_ASSERT(spec->n <= commas + 1);
	}
	for (size_t i = 0; i < spec->n; i++) {
		_cleanup_free_ char *s = NULL, *e = NULL;

		pc_fuzz_fwspec_check_item(&spec->items[i]);
		for (size_t j = 0; j < i; j++)
			PC_FUZZ_ASSERT(!pc_fw_item_equal(&spec->items[i], &spec->items[j]));
		s = pc_fw_item_to_string(&spec->items[i]);
		if (!s)
			goto out;
		/* The printed item appears in the input: the parser invents nothing. */
		PC_FUZZ_ASSERT(spec->items[i].kind == PC_FW_ITEM_SERVICE ? strstr(text, s) != NULL
									 : true);
		r = pc_fw_spec_parse(s, again, &e);
		if (r == -ENOMEM)
			goto out;
		PC_FUZZ_ASSERT(r == 0 && again->n == 1);
		PC_FUZZ_ASSERT(pc_fw_item_equal(&again->items[0], &spec->items[i]));
		/* The list printed again, one item after the other. */
		{
			size_t l = strlen(s);
			char *grown = realloc(joined, joined_len + l + 2);

			if (!grown)
				goto out;
			joined = grown;
			if (joined_len)
				joined[joined_len++] = ',';
			memcpy(joined + joined_len, s, l + 1);
			joined_len += l;
		}
	}
	/* Each service named in the input is an item, whole: nothing cut short. */
	{
		_cleanup_free_ char *copy = strdup(text);
		char *save = NULL;

		if (!copy)
			goto out;
		for (char *tok = strtok_r(copy, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			bool found = false;

			if (strchr(tok, '/'))
				continue;
			for (size_t i = 0; i < spec->n && !found; i++)
				found = spec->items[i].kind == PC_FW_ITEM_SERVICE &&
					strcmp(spec->items[i].service, tok) == 0;
			PC_FUZZ_ASSERT(found);
		}
	}
	{
		_cleanup_free_ char *e = NULL;

		r = pc_fw_spec_parse(joined, again, &e);
		if (r == -ENOMEM)
			goto out;
		PC_FUZZ_ASSERT(r == 0 && again->n == spec->n);
		for (size_t i = 0; i < spec->n; i++)
			PC_FUZZ_ASSERT(pc_fw_item_equal(&again->items[i], &spec->items[i]));
	}
out:
	free(spec);
	free(again);
	return 0;
}
