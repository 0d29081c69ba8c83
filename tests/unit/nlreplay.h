/* SPDX-License-Identifier: MIT */
/* Test helpers: replay netlink messages recorded from a real kernel (tests/unit/data). */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct nl_replay {
	void *buf;
	size_t len;
	const struct nlmsghdr **msgs;
	size_t n;
};

/* Load PC_TEST_DATA_DIR/@name, a concatenation of netlink messages, and index them. */
static inline int nl_replay_load(const char *name, struct nl_replay *ret)
{
	struct nl_replay r = {};
	const struct nlmsghdr *nlh;
	char path[4096];
	struct stat st;
	int fd, rem;

	snprintf(path, sizeof(path), "%s/%s", PC_TEST_DATA_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (1 << 24)) {
		close(fd);
		return -EINVAL;
	}
	r.len = st.st_size;
	r.buf = malloc(r.len);
	if (!r.buf || read(fd, r.buf, r.len) != (ssize_t)r.len) {
		close(fd);
		free(r.buf);
		return -EIO;
	}
	close(fd);

	rem = (int)r.len;
	for (nlh = r.buf; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		const struct nlmsghdr **m = realloc(r.msgs, (r.n + 1) * sizeof(*m));

		if (!m)
			abort();
		r.msgs = m;
		r.msgs[r.n++] = nlh;
	}
	if (rem != 0) {
		free(r.msgs);
		free(r.buf);
		return -EBADMSG;
	}
	*ret = r;
	return 0;
}

static inline void nl_replay_free(struct nl_replay *r)
{
	free(r->msgs);
	free(r->buf);
	*r = (struct nl_replay){};
}

/*
 * A copy of the first @len bytes of @nlh with nlmsg_len set to @len, in an allocation of
 * exactly that size, so that the sanitizers catch any read past the message.
 */
static inline struct nlmsghdr *nl_copy(const struct nlmsghdr *nlh, size_t len)
{
	struct nlmsghdr *c = malloc(len);

	if (!c)
		abort();
	memcpy(c, nlh, len);
	c->nlmsg_len = (uint32_t)len;
	return c;
}

/* Deterministic pseudo-random numbers for corruption tests (xorshift32). */
static inline uint32_t nl_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}
