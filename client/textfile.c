/* SPDX-License-Identifier: MIT */
/* Atomic replacement of a metrics file. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portcheck/textfile.h"
#include "portcheck/util.h"

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int pc_textfile_write(const char *path, const char *data, size_t len)
{
	_cleanup_free_ char *dir_copy = NULL, *base_copy = NULL, *tmp = NULL;
	_cleanup_close_ int fd = -1, dfd = -1;
	const char *dir, *base;
	int r;

	if (!path || !*path)
		return -EINVAL;
	dir_copy = strdup(path);
	base_copy = strdup(path);
	if (!dir_copy || !base_copy)
		return -ENOMEM;
	dir = dirname(dir_copy);
	base = basename(base_copy);
	if (!*base || strcmp(base, "/") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EISDIR;
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* mkostemp makes it 0600, whatever the umask; the collector is not root. */
	if (fchmod(fd, 0644) < 0) {
		r = -errno;
		goto fail;
	}
	r = write_all(fd, data, len);
	if (r < 0)
		goto fail;
	if (fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	r = close(fd);
	fd = -1;
	if (r < 0) {
		r = -errno;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	/* The new name is durable once the directory is; a failure here (a file system
	 * that cannot sync directories) does not undo what every reader already sees. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	return 0;
fail:
	(void)unlink(tmp);
	return r;
}
