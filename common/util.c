/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "portcheck/util.h"

int pc_strv_push(struct pc_strv *sv, const char *s)
{
	_cleanup_free_ char *copy = strdup(s);
	char **v;

	if (!copy)
		return -ENOMEM;
	/* Keep one spare slot so the vector stays NULL-terminated. */
	v = realloc(sv->v, (sv->n + 2) * sizeof(char *));
	if (!v)
		return -ENOMEM;
	v[sv->n++] = TAKE_PTR(copy);
	v[sv->n] = NULL;
	sv->v = v;
	return 0;
}

bool pc_strv_contains(const struct pc_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

void pc_strv_clear(struct pc_strv *sv)
{
	if (!sv)
		return;
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

void *pc_array_grow(void *arr_ptr, size_t *n, size_t size)
{
	void **arr = arr_ptr;
	char *p;

	if (*n >= (SIZE_MAX / size) - 1)
		return NULL;
	p = realloc(*arr, (*n + 1) * size);
	if (!p)
		return NULL;
	*arr = p;
	p += *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

uint64_t pc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
