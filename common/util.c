/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
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
	size_t want, have;
	char *p;

	if (*n >= (SIZE_MAX / size) / 2)
		return NULL;
	want = (*n + 1) * size;
	/* Room is there already when an earlier call grew it ahead. The capacity is what
	 * malloc says the block holds, not a field of the caller's: callers keep just a count,
	 * and some hand in arrays they allocated themselves. */
	have = *arr ? malloc_usable_size(*arr) : 0;
	/* Doubling: growing by one element copied the whole array each time (the paths of
	 * 5,000 listeners, a pool of 4,000 forms). Within the block no realloc: glibc's
	 * manual allows writing up to the usable size ("without ill effects"); the newer
	 * man page calls it unsupported because _FORTIFY_SOURCE=3 checks writes against the
	 * size an allocation call asked for, which it cannot know for a block reached
	 * through *arr, as here. (A realloc to the usable size first, the documented way,
	 * cost more than the rest of the function.) */
	if (want > have) {
		/* Room for four at first: most arrays here hold a few (a group's members, a
		 * path's tests), and growing one at a time to four cost three reallocs each. */
		p = realloc(*arr, *n < 4 ? 4 * size : 2 * *n * size);
		if (!p)
			return NULL;
		*arr = p;
	}
	p = (char *)*arr + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

uint64_t pc_fnv1a(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;

	for (size_t k = 0; k < n; k++) {
		h ^= b[k];
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t pc_hash_words(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;
	size_t i = 0;

	h ^= n;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
		h ^= h >> 29;
	}
	h = pc_fnv1a(b + i, n - i, h);
	/* A multiply carries bits only upwards: without this mix the high bits of the last
	 * word (a port in `ip saddr . tcp dport`) never reached the low bits a table of
	 * 1,024 slots uses, and such keys met in one slot. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t pc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* PR_GET_THP_DISABLE's answer when the daemon started; -1: not asked. */
static int thp_inherited = -1;

/* Linux 6.18's flag (in arg3) for "off except where madvise asked": older headers lack it. */
#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED (1 << 1)
#endif

int pc_huge_pages_daemon(void)
{
	int v = prctl(PR_GET_THP_DISABLE, 0UL, 0UL, 0UL, 0UL);

	if (v < 0)
		return -errno;
	thp_inherited = v;
	return prctl(PR_SET_THP_DISABLE, 1UL, 0UL, 0UL, 0UL) < 0 ? -errno : 0;
}

int pc_huge_pages_child(void)
{
	unsigned long flags;

	if (thp_inherited < 0)
		return 0;
	/* PR_GET_THP_DISABLE: bit 0 off, bit 1 "except advised" (6.18). */
	flags = thp_inherited & 2 ? PR_THP_DISABLE_EXCEPT_ADVISED : 0UL;
	return prctl(PR_SET_THP_DISABLE, (unsigned long)(thp_inherited & 1), flags, 0UL, 0UL) < 0
		   ? -errno
		   : 0;
}

char *pc_vstrdupf(const char *fmt, va_list ap)
{
	char *s;

	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

char *pc_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = pc_vstrdupf(fmt, ap);
	va_end(ap);
	return s;
}

int pc_error_setv(char **ret_error, int r, const char *fmt, va_list ap)
{
	*ret_error = pc_vstrdupf(fmt, ap);
	return r;
}

int pc_error_set(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pc_error_setv(ret_error, r, fmt, ap);
	va_end(ap);
	return r;
}

struct nss_query {
	const char *name;
	uid_t uid;
	struct group *gr;
	struct passwd *pw;
};

static int nss_call(const struct nss_query *q, char *buf, size_t size, bool *ret_found)
{
	struct group *gres = NULL;
	struct passwd *pres = NULL;
	int r;

	if (q->gr)
		r = getgrnam_r(q->name, q->gr, buf, size, &gres);
	else
		r = getpwuid_r(q->uid, q->pw, buf, size, &pres);
	*ret_found = gres || pres;
	return r;
}

/* The NSS calls say ERANGE when the entry does not fit @buf: try again with twice as much. */
static int nss_lookup(const struct nss_query *q, char **ret_buf)
{
	_cleanup_free_ char *buf = NULL;
	size_t bufsize = 4096;
	bool found = false;
	int r;

	for (;;) {
		free(buf);
		buf = malloc(bufsize);
		if (!buf)
			return -ENOMEM;
		r = nss_call(q, buf, bufsize, &found);
		if (r != ERANGE)
			break;
		if (bufsize > (1u << 24))
			return -ERANGE;
		bufsize *= 2;
	}
	if (r != 0)
		return -r;
	if (!found)
		return 0;
	*ret_buf = TAKE_PTR(buf);
	return 1;
}

int pc_getgrnam(const char *name, struct group *ret_gr, char **ret_buf)
{
	return nss_lookup(&(struct nss_query){.name = name, .gr = ret_gr}, ret_buf);
}

int pc_getpwuid(uid_t uid, struct passwd *ret_pw, char **ret_buf)
{
	return nss_lookup(&(struct nss_query){.uid = uid, .pw = ret_pw}, ret_buf);
}
