/* SPDX-License-Identifier: MIT */
/*
 * Who is on the other end of a Varlink connection: the kernel's record taken at accept
 * (SO_PEERCRED, SO_PEERGROUPS, SO_PEERPIDFD) and the process's start time, so that a
 * later decision about "the caller" (polkit) names the process that connected and not
 * whatever reuses its pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "portcheck/polkit.h"
#include "portcheck/util.h"
#include "portcheck/varlink_server.h"

/* Linux 6.5; glibc 2.36 does not name it yet. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static bool gid_in(const gid_t *v, size_t n, gid_t gid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == gid)
			return true;
	return false;
}

/*
 * Supplementary groups from /proc/PID/status. The pid may have been reused since
 * connect(), so the process must still have the peer's effective uid; otherwise -ESRCH.
 */
static int proc_in_group(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], *line = NULL;
	bool uid_ok = false, found = false, have_groups = false;
	size_t n = 0;
	FILE *f;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &n, f) > 0) {
		if (strncmp(line, "Uid:", 4) == 0) {
			unsigned long r, e;

			uid_ok =
			    sscanf(line + 4, "%lu %lu", &r, &e) == 2 && e == (unsigned long)uid;
		} else if (strncmp(line, "Groups:", 7) == 0) {
			char *p = line + 7, *end;

			have_groups = true;
			for (;;) {
				unsigned long g;

				errno = 0;
				g = strtoul(p, &end, 10);
				if (end == p || errno)
					break;
				if (g == (unsigned long)gid)
					found = true;
				p = end;
			}
		}
	}
	free(line);
	fclose(f);
	if (!uid_ok || !have_groups)
		return -ESRCH;
	return found;
}

/* The user database's idea of @uid's groups: what a fresh login would have. */
static int database_in_group(uid_t uid, gid_t pgid, gid_t gid)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ gid_t *groups = NULL;
	struct passwd pw;
	int ngroups = 64, r;

	r = pc_getpwuid(uid, &pw, &buf);
	if (r < 0)
		return r;
	if (r == 0)
		return -ESRCH;

	for (;;) {
		int n = ngroups;
		gid_t *p = realloc(groups, sizeof(gid_t) * (size_t)ngroups);

		if (!p)
			return -ENOMEM;
		groups = p;
		if (getgrouplist(pw.pw_name, pgid, groups, &n) >= 0)
			return gid_in(groups, (size_t)n, gid);
		if (n <= ngroups || n > 65536)
			return -ERANGE;
		ngroups = n;
	}
}

int pc_peer_in_group(const struct pc_peer *peer, gid_t gid)
{
	int r;

	if (peer->gid == gid)
		return 1;
	/*
	 * The groups the connecting process actually had, recorded by the kernel at
	 * connect(): race-free and exactly what the kernel itself checks for file access.
	 */
	if (peer->have_groups)
		return gid_in(peer->groups, peer->n_groups, gid);
	/*
	 * Without SO_PEERGROUPS, prefer the process's own groups over the user database:
	 * a user added to the group after logging in does not have it yet, and a process
	 * that dropped its groups (setgroups(), a sandboxed service) no longer has them;
	 * the database would grant both. The database is the last resort, for a process
	 * that is gone or whose pid now belongs to someone else.
	 */
	r = proc_in_group(peer->pid, peer->uid, gid);
	if (r >= 0)
		return r;
	return database_in_group(peer->uid, peer->gid, gid);
}

static void peer_pin_process(int fd, struct pc_peer *peer);

int pc_peer_read(int fd, struct pc_peer *ret)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	_cleanup_free_ gid_t *groups = NULL;
	socklen_t glen = 64 * sizeof(gid_t);
	bool have_groups = false;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	if (len != sizeof(uc))
		return -EIO;

	for (int tries = 0; tries < 4; tries++) {
		gid_t *p = realloc(groups, glen ? glen : sizeof(gid_t));
		socklen_t l = glen;

		if (!p)
			return -ENOMEM;
		groups = p;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &l) == 0) {
			glen = l;
			have_groups = true;
			break;
		}
		/* ERANGE tells the size needed; anything else (ENOPROTOOPT on kernels
		 * before 4.13) means the fallbacks of pc_peer_in_group() apply. */
		if (errno != ERANGE || l <= glen)
			break;
		glen = l;
	}

	*ret = (struct pc_peer){
	    .pid = uc.pid,
	    .uid = uc.uid,
	    .gid = uc.gid,
	    .have_groups = have_groups,
	    .n_groups = have_groups ? glen / sizeof(gid_t) : 0,
	    .groups = have_groups ? TAKE_PTR(groups) : NULL,
	};
	peer_pin_process(fd, ret);
	return 0;
}

/*
 * Whether the process a pidfd names still runs: a pidfd becomes readable when it exits.
 * Not pidfd_send_signal(0): that needs CAP_KILL for another user's process, which the
 * unit does not grant.
 */
static bool pidfd_alive(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, 0) == 0;
}

/*
 * Fix the identity of the connecting process now, for polkit, which tells a process from
 * a later one with the same pid by its start time. The start time is read from /proc
 * while a pidfd (SO_PEERPIDFD, Linux 6.5) holds the process, and trusted only if the
 * pidfd still names a live process afterwards: then the /proc entry read in between was
 * that process's. The pidfd is closed again (a connection keeps one fd). On kernels
 * without SO_PEERPIDFD the window is between connect() and this read, which a pid
 * wrap-around in microseconds would need; any other failure of SO_PEERPIDFD (the peer
 * already exited) leaves the caller unidentified. Failures leave start_time 0: a caller
 * that needs the identity (polkit) refuses then.
 */
static void peer_pin_process(int fd, struct pc_peer *peer)
{
	socklen_t len = sizeof(int);
	_cleanup_close_ int pidfd = -1;
	uint64_t start;

	if (peer->pid <= 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
		pidfd = -1;
		if (errno != ENOPROTOOPT)
			return;
	} else if (len != sizeof(int)) {
		pidfd = -1; /* not an fd we know of: never close it */
		return;
	}
	if (pc_polkit_read_start_time(peer->pid, &start) < 0)
		return;
	if (pidfd >= 0 && !pidfd_alive(pidfd))
		return;
	peer->start_time = start;
}

int pc_peer_still_running(const struct pc_peer *peer)
{
	uint64_t start;

	if (peer->start_time == 0)
		return -ESRCH;
	if (pc_polkit_read_start_time(peer->pid, &start) < 0)
		return 0;
	return start == peer->start_time;
}

void pc_peer_clear(struct pc_peer *peer)
{
	if (!peer)
		return;
	free(peer->groups);
	peer->groups = NULL;
	peer->n_groups = 0;
}
