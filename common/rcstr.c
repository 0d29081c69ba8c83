/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/rcstr.h"

struct rcstr {
	size_t refs;
	char s[];
};

static struct rcstr *header(char *s)
{
	return (struct rcstr *)(s - offsetof(struct rcstr, s));
}

char *pc_rcstr_new(const char *s)
{
	size_t n = strlen(s);
	struct rcstr *r = malloc(sizeof(*r) + n + 1);

	if (!r)
		return NULL;
	r->refs = 1;
	memcpy(r->s, s, n + 1);
	return r->s;
}

char *pc_rcstr_ref(char *s)
{
	if (s)
		header(s)->refs++;
	return s;
}

void pc_rcstr_unref(char *s)
{
	struct rcstr *r;

	if (!s)
		return;
	r = header(s);
	if (--r->refs == 0)
		free(r);
}
