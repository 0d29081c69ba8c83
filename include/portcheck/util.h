/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every module: scope-bound cleanup and string vectors. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void pc_freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(pc_freep)

static inline void pc_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_close_ _cleanup_(pc_closep)

/* Hand ownership of a cleanup-bound pointer to someone else. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p_ = (p);                                                           \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* A growable NULL-terminated vector of owned strings. */
struct pc_strv {
	char **v;
	size_t n;
};

/* Append a copy of @s. Returns 0 or -ENOMEM. */
int pc_strv_push(struct pc_strv *sv, const char *s);
/* True when @s is an element of @sv. */
bool pc_strv_contains(const struct pc_strv *sv, const char *s);
/* Free the elements and the array; leaves @sv empty. NULL-safe. */
void pc_strv_clear(struct pc_strv *sv);

/* CLOCK_MONOTONIC in milliseconds: deadlines, timeouts, coalescing. */
uint64_t pc_now_ms(void);

/* Grow @*arr (of @*n elements of @size bytes) by one zeroed element; returns it or NULL. */
void *pc_array_grow(void *arr_ptr, size_t *n, size_t size);
