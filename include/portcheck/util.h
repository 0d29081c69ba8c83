/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every module: scope-bound cleanup and string vectors. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
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

/* FNV-1a: @h (PC_FNV1A_INIT to start) continued over @n bytes of @p. For in-process
 * caches and change detection, never for anything an attacker may aim collisions at
 * and a collision would do harm to. */
#define PC_FNV1A_INIT 14695981039346656037ULL
uint64_t pc_fnv1a(const void *p, size_t n, uint64_t h);
/* The same use, 8 bytes at a time (FNV-1a a byte at a time was most of a cache lookup
 * with long keys): @h continued over @n bytes of @p. */
uint64_t pc_hash_words(const void *p, size_t n, uint64_t h);

/* CLOCK_MONOTONIC in milliseconds: deadlines, timeouts, coalescing. */
uint64_t pc_now_ms(void);

/*
 * Transparent huge pages (prctl PR_SET_THP_DISABLE, inherited by fork): off in the
 * long-lived daemon, as it inherited them in its short-lived job children. With
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (portcheckd.service) malloc asks for huge pages
 * for its heap: an analysis child's heap grows by tens of MiB, and huge pages spare it
 * most of its page faults; in the daemon, khugepaged fills the 2 MiB ranges malloc_trim()
 * gave back around the pages still in use (measured: 24 -> 32 MiB in 75 s after one
 * status, and climbing). pc_huge_pages_daemon() notes what the process inherited (a
 * service manager may have turned them off) and turns them off; pc_huge_pages_child()
 * restores what was inherited, nothing when pc_huge_pages_daemon() was not called.
 * -errno; best effort (the answers do not change).
 */
int pc_huge_pages_daemon(void);
int pc_huge_pages_child(void);

/* Grow @*arr (of @*n elements of @size bytes) by one zeroed element; returns it or NULL. */
void *pc_array_grow(void *arr_ptr, size_t *n, size_t size);

/* A printf-formatted string in fresh memory, or NULL when out of memory. */
__attribute__((format(printf, 1, 0))) char *pc_vstrdupf(const char *fmt, va_list ap);
__attribute__((format(printf, 1, 2))) char *pc_strdupf(const char *fmt, ...);

/*
 * The one error-message formatter: set *@ret_error to the formatted message (NULL when out of
 * memory: the error code is what matters then) and return @r, so that a failing path reads
 * `return pc_error_set(ret_error, -EINVAL, "...", ...);`.
 */
__attribute__((format(printf, 3, 0))) int pc_error_setv(char **ret_error, int r, const char *fmt,
							va_list ap);
__attribute__((format(printf, 3, 4))) int pc_error_set(char **ret_error, int r, const char *fmt,
						       ...);

struct group;
struct passwd;
/*
 * getgrnam_r() and getpwuid_r() with a buffer grown until the entry fits (up to 16 MiB). Return 1
 * and fill *@ret_gr or *@ret_pw, whose strings point into *@ret_buf (the caller frees it), 0 when
 * there is no such entry, or -errno when the lookup fails.
 */
int pc_getgrnam(const char *name, struct group *ret_gr, char **ret_buf);
int pc_getpwuid(uid_t uid, struct passwd *ret_pw, char **ret_buf);
