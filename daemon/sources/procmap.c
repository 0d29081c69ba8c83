/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-login.h>

#include "portcheck/listener.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

struct inode_ref {
	uint64_t inode;
	size_t idx; /* into the listener set */
};

struct owner {
	pid_t pid;
	char comm[PC_COMM_SIZE];
	char *unit;
};

struct owners {
	struct owner *v;
	size_t n;
};

static void owners_free(struct owners *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].unit);
	free(o->v);
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* Errors that say something about this scan, not about one vanishing process. */
static bool errno_is_fatal(int e)
{
	return e == ENOMEM || e == EMFILE || e == ENFILE;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct inode_ref *x = a, *y = b;

	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* Index of the first ref with @inode, or @n. */
static size_t refs_lower_bound(const struct inode_ref *refs, size_t n, uint64_t inode)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (refs[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* "socket:[12345]" → 12345. Returns 0 or -EINVAL for any other link target. */
static int parse_socket_link(const char *s, uint64_t *ret)
{
	static const char prefix[] = "socket:[";
	unsigned long long v;
	char *end;

	if (strncmp(s, prefix, sizeof(prefix) - 1) != 0)
		return -EINVAL;
	s += sizeof(prefix) - 1;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end[0] != ']' || end[1] != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool parse_pid(const char *s, pid_t *ret)
{
	long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return false;
	}
	if (v == 0)
		return false;
	*ret = (pid_t)v;
	return true;
}

/* The numeric entries of @procfd, sorted, so that the first owner found has the lowest pid. */
static int list_pids(int procfd, pid_t **ret, size_t *ret_n)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int fd;

	fd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int e = errno;

		close(fd);
		return -e;
	}
	for (;;) {
		pid_t pid;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0)
				return -errno;
			break;
		}
		if (!parse_pid(de->d_name, &pid))
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 256;
			pid_t *p = reallocarray(pids, c, sizeof(*p));

			if (!p)
				return -ENOMEM;
			pids = p;
			cap = c;
		}
		pids[n++] = pid;
	}
	if (n > 0)
		qsort(pids, n, sizeof(*pids), cmp_pid);
	*ret = TAKE_PTR(pids);
	*ret_n = n;
	return 0;
}

/*
 * PID/comm without the kernel's newline, sanitised: any user names a process as they like
 * (prctl(PR_SET_NAME) takes any bytes), and the kernel cuts it at 15 bytes, in the middle of
 * a UTF-8 character if need be. Returns 0 or -errno (the process may be gone).
 */
static int read_comm(int procfd, pid_t pid, char ret[static PC_COMM_SIZE])
{
	_cleanup_close_ int fd = -1;
	char path[32], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), "%d/comm", (int)pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	do {
		n = read(fd, buf, sizeof(buf) - 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* Only the last newline is the kernel's: one inside is part of the name. */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	pc_strsan_buf(ret, PC_COMM_SIZE, buf, strnlen(buf, n < 16 ? n : 16), PC_STRSAN_RAW);
	return 0;
}

struct scan {
	int procfd;
	bool system; /* the real /proc: systemd can be asked about units */
	const struct inode_ref *refs;
	size_t n_refs;
	struct owners *owners;
	size_t unresolved;
};

/* Claim the listeners whose sockets @pid holds and that no lower pid claimed. */
static int scan_pid(struct scan *sc, pid_t pid)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_free_ char *unit = NULL;
	char path[32], comm[PC_COMM_SIZE];
	bool have_info = false;
	struct dirent *de;
	int fd, r;

	snprintf(path, sizeof(path), "%d/fd", (int)pid);
	fd = openat(sc->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno_is_fatal(errno) ? -errno : 0;
	d = fdopendir(fd);
	if (!d) {
		int e = errno;

		close(fd);
		return errno_is_fatal(e) ? -e : 0;
	}

	/* A readdir error means the process went away: keep what was found so far. */
	while ((de = readdir(d))) {
		char target[64];
		uint64_t inode;
		size_t i;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n < 0) {
			if (errno_is_fatal(errno))
				return -errno;
			continue;
		}
		target[n] = '\0';
		if (parse_socket_link(target, &inode) < 0 || inode == 0)
			continue;

		for (i = refs_lower_bound(sc->refs, sc->n_refs, inode);
		     i < sc->n_refs && sc->refs[i].inode == inode; i++) {
			struct owner *o = &sc->owners->v[sc->refs[i].idx];

			if (o->pid != 0)
				continue;
			if (!have_info) {
				r = read_comm(sc->procfd, pid, comm);
				if (r < 0)
					/* Gone between readlink and now: a child may still hold it.
					 */
					return errno_is_fatal(-r) ? r : 0;
				/* Best effort: a process outside any unit has none. Unit
				 * names are systemd's escaped form ("foo\x2dbar.service"),
				 * which keeps its backslashes: that is what admins write. */
				if (sc->system && sd_pid_get_unit(pid, &unit) >= 0) {
					r = pc_strsan_replace(&unit, PC_STRSAN_TEXT);
					if (r < 0)
						return r;
				}
				have_info = true;
			}
			if (unit) {
				o->unit = strdup(unit);
				if (!o->unit)
					return -ENOMEM;
			}
			o->pid = pid;
			memcpy(o->comm, comm, sizeof(o->comm));
			sc->unresolved--;
		}
		if (sc->unresolved == 0)
			break;
	}
	return 0;
}

int pc_procmap_resolve(const char *proc_root, struct pc_listener_set *set)
{
	_cleanup_(owners_free) struct owners owners = {};
	_cleanup_free_ struct inode_ref *refs = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_close_ int procfd = -1;
	struct scan sc = {};
	size_t n_refs = 0, n_pids = 0;
	int r;

	procfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;
	if (set->n == 0)
		return 0;

	owners.v = calloc(set->n, sizeof(*owners.v));
	if (!owners.v)
		return -ENOMEM;
	owners.n = set->n;

	/* Kernel sockets (vxlan, wireguard, nfsd...) have inode 0 and no process. */
	refs = calloc(set->n, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < set->n; i++)
		if (set->items[i].inode != 0)
			refs[n_refs++] = (struct inode_ref){.inode = set->items[i].inode, .idx = i};
	qsort(refs, n_refs, sizeof(*refs), cmp_ref);

	if (n_refs > 0) {
		r = list_pids(procfd, &pids, &n_pids);
		if (r < 0)
			return r;
	}

	sc = (struct scan){
	    .procfd = procfd,
	    .system = strcmp(proc_root, "/proc") == 0,
	    .refs = refs,
	    .n_refs = n_refs,
	    .owners = &owners,
	    .unresolved = n_refs,
	};
	/* Ascending pids: the first owner found is the lowest pid, so stop once all have one. */
	for (size_t i = 0; i < n_pids && sc.unresolved > 0; i++) {
		r = scan_pid(&sc, pids[i]);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < set->n; i++) {
		struct pc_listener *l = &set->items[i];

		free(l->unit);
		l->pid = owners.v[i].pid;
		memcpy(l->comm, owners.v[i].comm, sizeof(l->comm));
		l->unit = TAKE_PTR(owners.v[i].unit);
	}
	return 0;
}

int pc_listeners_read(struct pc_listener_set *ret)
{
	_cleanup_(pc_listener_set_free) struct pc_listener_set set = {};
	int r;

	r = pc_sockdiag_dump(&set);
	if (r < 0)
		return r;
	r = pc_procmap_resolve("/proc", &set);
	if (r < 0)
		return r;
	*ret = set;
	set = (struct pc_listener_set){};
	return 0;
}

void pc_listener_set_free(struct pc_listener_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		free(set->items[i].unit);
	free(set->items);
	*set = (struct pc_listener_set){};
}
