/* SPDX-License-Identifier: MIT */
/*
 * A growing string: what open_memstream gives, without a FILE per string (the analysis
 * writes a path's sources in words for every path of every listener: opening a memory
 * stream for each was a fifth of that).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct pc_strbuf {
	char *s;
	size_t len, cap;
	bool oom; /* an append failed: pc_strbuf_take gives NULL */
};

void pc_strbuf_puts(struct pc_strbuf *b, const char *s);
/* @v in decimal, as printf's %llu writes it (without printf: the analysis writes many). */
void pc_strbuf_put_uint(struct pc_strbuf *b, unsigned long long v);
void pc_strbuf_putn(struct pc_strbuf *b, const char *s, size_t n);
/* @s (valid UTF-8, as everything sanitised is) as a JSON string: quoted, '"', '\\' and
 * control characters escaped. */
void pc_strbuf_json_string(struct pc_strbuf *b, const char *s);
void pc_strbuf_printf(struct pc_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The string (the caller frees it; "" when nothing was written), or NULL when out of
 * memory; @b is empty again either way. */
char *pc_strbuf_take(struct pc_strbuf *b);
