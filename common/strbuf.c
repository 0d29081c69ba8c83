/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/strbuf.h"

/* Room for @n more bytes and the terminating NUL. */
static bool reserve(struct pc_strbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 128;
	char *s;

	if (b->oom)
		return false;
	if (b->len + n < b->cap)
		return true;
	while (cap <= b->len + n) {
		if (cap > ((size_t)-1) / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	s = realloc(b->s, cap);
	if (!s) {
		b->oom = true;
		return false;
	}
	b->s = s;
	b->cap = cap;
	return true;
}

void pc_strbuf_putn(struct pc_strbuf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void pc_strbuf_puts(struct pc_strbuf *b, const char *s)
{
	pc_strbuf_putn(b, s, strlen(s));
}

void pc_strbuf_put_uint(struct pc_strbuf *b, unsigned long long v)
{
	char s[24];
	size_t i = sizeof(s);

	do
		s[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	pc_strbuf_putn(b, s + i, sizeof(s) - i);
}

void pc_strbuf_json_string(struct pc_strbuf *b, const char *s)
{
	const char *run = s;

	pc_strbuf_putn(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		pc_strbuf_putn(b, run, (size_t)(s - run));
		if (c == '"' || c == '\\')
			pc_strbuf_printf(b, "\\%c", c);
		else
			pc_strbuf_printf(b, "\\u%04x", c);
		run = s + 1;
	}
	pc_strbuf_putn(b, run, (size_t)(s - run));
	pc_strbuf_putn(b, "\"", 1);
}

void pc_strbuf_printf(struct pc_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!reserve(b, 0))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

char *pc_strbuf_take(struct pc_strbuf *b)
{
	char *s = b->oom ? NULL : b->s;

	if (b->oom)
		free(b->s);
	else if (!s)
		s = strdup("");
	*b = (struct pc_strbuf){0};
	return s;
}
