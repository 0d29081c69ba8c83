/* SPDX-License-Identifier: MIT */
/*
 * The Varlink server's listening socket when portcheckd makes it itself (not under
 * socket activation): parent directories, replacing a stale socket and nothing else,
 * and the mode that leaves authorisation to each call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "portcheck/util.h"
#include "portcheck/varlink_server.h"

/* mkdir -p of the directories above @path; the ones created get exactly 0755. */
static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *p = strdup(path);
	char *slash;

	if (!p)
		return -ENOMEM;
	for (slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(p, 0755) == 0) {
			/* Whatever the umask: clients must be able to reach the socket. */
			if (chmod(p, 0755) < 0)
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		}
		*slash = '/';
	}
	return 0;
}

/* Whether a server answers on the socket at @sa: 1 yes, 0 stale, -errno unknown. */
static int socket_is_live(const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return 1;
	if (errno == ECONNREFUSED)
		return 0;
	/* EAGAIN: a live server whose backlog is full. */
	if (errno == EAGAIN)
		return 1;
	return -errno;
}

int pc_server_listen_path(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);

	r = mkdir_parents(path);
	if (r < 0)
		return r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;

	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EADDRINUSE)
			return -errno;
		/* Only ever remove a socket, and only one nobody listens on. */
		if (lstat(path, &st) < 0)
			return -errno;
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		r = socket_is_live(&sa);
		if (r < 0)
			return r;
		if (r > 0)
			return -EADDRINUSE;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -errno;
	}
	if (chmod(path, 0666) < 0)
		return -errno;
	if (listen(fd, SOMAXCONN) < 0)
		return -errno;

	*ret_fd = fd;
	fd = -1;
	return 0;
}
