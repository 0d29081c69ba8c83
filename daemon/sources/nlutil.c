/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "nlutil.h"
#include "portcheck/util.h"

/*
 * The kernel fills dump datagrams up to the size of the reader's last buffer, capped at
 * 32 KiB, but one message can need more (RTM_NEWLINK of a NIC with many VFs): peek at each
 * datagram's real size and grow the buffer, up to a bound.
 */
#define NL_RECV_MIN 32768
#define NL_RECV_MAX (4 * 1024 * 1024)
/* A dump is answered from kernel memory; a silent kernel means something is wrong. */
#define NL_RECV_TIMEOUT_SEC 5
#define NL_MAX_ERRNO 4095

static int nl_errno(int e)
{
	if (e < 0 && e >= -NL_MAX_ERRNO)
		return e;
	return -EPROTO;
}

/* Returns 1 at the end of the dump, 0 when more datagrams follow, or -errno. */
static int nl_walk(const void *buf, size_t len, uint32_t seq, uint32_t portid, pc_nl_msg_cb cb,
		   void *userdata, bool *intr)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;
	int r;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
			return -EPROTO;
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			*intr = true;

		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			continue;
		case NLMSG_ERROR: {
			const struct nlmsgerr *e;

			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				return -EBADMSG;
			e = mnl_nlmsg_get_payload(nlh);
			/* An ACK (error 0) also ends the exchange. */
			return e->error == 0 ? 1 : nl_errno(e->error);
		}
		case NLMSG_DONE: {
			int err = 0;

			/* The kernel reports a dump that failed part-way in DONE's payload. */
			if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(err))
				memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
			return err < 0 ? nl_errno(err) : 1;
		}
		case NLMSG_OVERRUN:
			return -ENOBUFS;
		default:
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
				continue;
			r = cb(nlh, userdata);
			if (r < 0)
				return r;
		}
	}
	/* Bytes left that do not form a message: a truncated or corrupt datagram. */
	if (rem > 0)
		return -EBADMSG;
	return 0;
}

struct mnl_socket *pc_nl_open(int bus, int flags)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, flags | SOCK_CLOEXEC);
	int e;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) >= 0)
		return nl;
	e = errno;
	mnl_socket_close(nl);
	errno = e;
	return NULL;
}

int pc_nl_open_request(int bus, struct mnl_socket **ret)
{
	_cleanup_(pc_nl_closep) struct mnl_socket *nl = pc_nl_open(bus, 0);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct timeval tv = {.tv_sec = NL_RECV_TIMEOUT_SEC};
	int fd;

	if (!nl)
		return -errno;
	fd = mnl_socket_get_fd(nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	/*
	 * Connected to the kernel, the socket refuses unicasts from other processes, which
	 * could otherwise inject forged replies once they learn our port id.
	 */
	if (connect(fd, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	*ret = TAKE_PTR(nl);
	return 0;
}

int pc_nl_dump(int bus, struct nlmsghdr *req, pc_nl_msg_cb cb, void *userdata)
{
	_cleanup_(pc_nl_closep) struct mnl_socket *nl = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t bufsize = NL_RECV_MIN;
	uint32_t portid, seq;
	bool intr = false;
	ssize_t n;
	int fd, r;

	r = pc_nl_open_request(bus, &nl);
	if (r < 0)
		return r;
	fd = mnl_socket_get_fd(nl);
	portid = mnl_socket_get_portid(nl);
	seq = (uint32_t)time(NULL);

	buf = malloc(bufsize);
	if (!buf)
		return -ENOMEM;

	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
	req->nlmsg_seq = seq;
	n = mnl_socket_sendto(nl, req, req->nlmsg_len);
	if (n < 0)
		return -errno;
	if ((size_t)n != req->nlmsg_len)
		return -EIO;

	for (;;) {
		n = recv(fd, buf, bufsize, MSG_PEEK | MSG_TRUNC);
		if (n >= 0 && (size_t)n > bufsize) {
			char *p;

			if ((size_t)n > NL_RECV_MAX)
				return -EMSGSIZE;
			p = realloc(buf, n);
			if (!p)
				return -ENOMEM;
			buf = p;
			bufsize = n;
		}
		if (n >= 0)
			n = recv(fd, buf, bufsize, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			return -errno;
		}
		if (n == 0)
			return -EPROTO;

		r = nl_walk(buf, n, seq, portid, cb, userdata, &intr);
		if (r < 0)
			return r;
		if (r > 0)
			return intr ? -EINTR : 0;
	}
}

int pc_nl_parse_attrs(const struct nlmsghdr *nlh, size_t offset, const struct nlattr **tb,
		      unsigned max)
{
	const char *start, *end, *p;
	size_t payload;

	if (nlh->nlmsg_len < NLMSG_HDRLEN)
		return -EBADMSG;
	payload = nlh->nlmsg_len - NLMSG_HDRLEN;
	if (payload < offset)
		return -EBADMSG;
	end = (const char *)nlh + nlh->nlmsg_len;
	/* Attributes start at the next 4-byte boundary after the fixed header, if any. */
	start = (const char *)nlh + NLMSG_HDRLEN +
		(MNL_ALIGN(offset) < payload ? MNL_ALIGN(offset) : payload);

	/* Validate everything first so that tb is only written for a well-formed message. */
	for (p = start; end - p >= (ptrdiff_t)sizeof(struct nlattr);) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t step;

		if (a->nla_len < sizeof(*a) || a->nla_len > end - p)
			return -EBADMSG;
		step = MNL_ALIGN(a->nla_len);
		p += step < (size_t)(end - p) ? step : (size_t)(end - p);
	}
	if (p != end)
		return -EBADMSG;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	for (p = start; end - p >= (ptrdiff_t)sizeof(struct nlattr);) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t step = MNL_ALIGN(a->nla_len);
		unsigned type = a->nla_type & NLA_TYPE_MASK;

		if (type <= max)
			tb[type] = a;
		p += step < (size_t)(end - p) ? step : (size_t)(end - p);
	}
	return 0;
}
