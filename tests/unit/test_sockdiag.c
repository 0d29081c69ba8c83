/* SPDX-License-Identifier: MIT */
/*
 * sock_diag parsing, replayed from dumps recorded in a scratch network namespace holding:
 * tcp 0.0.0.0:22, tcp [::]:80 (V6ONLY=0), tcp [::]:443 (V6ONLY=1), tcp 127.0.0.1:5432
 * (plus one accepted connection to it), tcp 0.0.0.0:8080 bound to pc0 (ifindex 3), udp
 * 0.0.0.0:53 created by uid 65534, udp [::]:5353 (V6ONLY=0), udp [2001:db8::1]:547
 * (V6ONLY=1), and one connected UDP socket per family. Inodes are those of the recording.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../daemon/sources/nlutil.h"
#include "nlreplay.h"
#include "portcheck/listener.h"
#include "portcheck/util.h"

struct expect {
	const char *addr;
	uint16_t port;
	uint64_t inode;
	uint32_t uid;
	uint32_t ifindex;
	bool v6only;
};

/* Parse every message of @file; listeners must be exactly @exp (in any order). */
static void check_file(const char *file, uint8_t protocol, const struct expect *exp, size_t n_exp,
		       size_t n_skipped)
{
	struct nl_replay rp;
	size_t found = 0, skipped = 0;

	assert_int_equal(nl_replay_load(file, &rp), 0);
	for (size_t i = 0; i < rp.n; i++) {
		struct pc_listener l;
		char buf[PC_ADDRSTRLEN];
		const struct expect *e = NULL;
		int r;

		r = pc_sockdiag_parse(rp.msgs[i], protocol, &l);
		assert_true(r == 0 || r == 1);
		if (r == 0) {
			skipped++;
			continue;
		}
		for (size_t j = 0; j < n_exp; j++)
			if (exp[j].port == l.port)
				e = &exp[j];
		assert_non_null(e);
		assert_int_equal(l.protocol, protocol);
		assert_string_equal(pc_addr_to_string(&l.addr, buf), e->addr);
		assert_int_equal(l.addr.family, strchr(e->addr, ':') ? AF_INET6 : AF_INET);
		assert_int_equal(l.inode, e->inode);
		assert_int_equal(l.uid, e->uid);
		assert_int_equal(l.bound_ifindex, e->ifindex);
		assert_int_equal(l.v6only, e->v6only);
		assert_int_equal(l.pid, 0);
		assert_string_equal(l.comm, "");
		assert_null(l.unit);
		found++;
	}
	assert_int_equal(found, n_exp);
	assert_int_equal(skipped, n_skipped);
	nl_replay_free(&rp);
}

static void test_tcp4(void **state)
{
	static const struct expect exp[] = {
	    {"0.0.0.0", 22, 19319, 0, 0, false},
	    {"127.0.0.1", 5432, 19322, 0, 0, false},
	    {"0.0.0.0", 8080, 19323, 0, 3, false}, /* SO_BINDTODEVICE pc0 */
	};

	check_file("sockdiag_tcp4.bin", IPPROTO_TCP, exp, ELEMENTSOF(exp), 0);
}

static void test_tcp6(void **state)
{
	static const struct expect exp[] = {
	    {"::", 80, 19320, 0, 0, false},
	    {"::", 443, 19321, 0, 0, true},
	};

	check_file("sockdiag_tcp6.bin", IPPROTO_TCP, exp, ELEMENTSOF(exp), 0);
}

static void test_tcp4_all_states(void **state)
{
	static const struct expect exp[] = {
	    {"0.0.0.0", 22, 19319, 0, 0, false},
	    {"127.0.0.1", 5432, 19322, 0, 0, false},
	    {"0.0.0.0", 8080, 19323, 0, 3, false},
	};

	/* Both ends of the established connection are not listeners. */
	check_file("sockdiag_tcp4_all.bin", IPPROTO_TCP, exp, ELEMENTSOF(exp), 2);
}

static void test_udp4(void **state)
{
	static const struct expect exp[] = {
	    {"0.0.0.0", 53, 19324, 65534, 0, false},
	};

	/* The connected socket 192.0.2.1:53005 -> 192.0.2.2:9 is a client. */
	check_file("sockdiag_udp4.bin", IPPROTO_UDP, exp, ELEMENTSOF(exp), 1);
}

static void test_udp6(void **state)
{
	static const struct expect exp[] = {
	    {"::", 5353, 19326, 0, 0, false},
	    {"2001:db8::1", 547, 19327, 0, 0, true},
	};

	check_file("sockdiag_udp6.bin", IPPROTO_UDP, exp, ELEMENTSOF(exp), 1);
}

/* What the kernel sent: INET_DIAG_SKV6ONLY on AF_INET6 LISTEN/CLOSE sockets only. */
static void test_skv6only_presence(void **state)
{
	static const struct {
		const char *file;
		bool present; /* on every unconnected socket */
	} files[] = {
	    {"sockdiag_tcp4.bin", false},
	    {"sockdiag_tcp6.bin", true},
	    {"sockdiag_udp4.bin", false},
	    {"sockdiag_udp6.bin", true},
	};

	for (size_t f = 0; f < ELEMENTSOF(files); f++) {
		struct nl_replay rp;

		assert_int_equal(nl_replay_load(files[f].file, &rp), 0);
		for (size_t i = 0; i < rp.n; i++) {
			const struct inet_diag_msg *m = mnl_nlmsg_get_payload(rp.msgs[i]);
			const struct nlattr *tb[INET_DIAG_MAX + 1];

			assert_int_equal(
			    pc_nl_parse_attrs(rp.msgs[i], sizeof(*m), tb, INET_DIAG_MAX), 0);
			if (m->id.idiag_dport != 0)
				assert_null(tb[INET_DIAG_SKV6ONLY]);
			else
				assert_int_equal(tb[INET_DIAG_SKV6ONLY] != NULL, files[f].present);
		}
		nl_replay_free(&rp);
	}
}

/*
 * A hand-built reply for [2001:db8::5]:8443 in @state, with peer port @dport and an
 * INET_DIAG_SKV6ONLY attribute of @skv6only_len bytes (-1: none).
 */
static struct nlmsghdr *build(char *buf, uint8_t state, uint16_t dport, int skv6only_len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_msg *m;

	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
	m->idiag_family = AF_INET6;
	m->idiag_state = state;
	m->id.idiag_sport = htons(8443);
	m->id.idiag_dport = htons(dport);
	inet_pton(AF_INET6, "2001:db8::5", m->id.idiag_src);
	m->idiag_inode = 4242;
	m->idiag_uid = 1000;
	mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 0);
	if (skv6only_len == 1)
		mnl_attr_put_u8(nlh, INET_DIAG_SKV6ONLY, 1);
	else if (skv6only_len == 0)
		mnl_attr_put(nlh, INET_DIAG_SKV6ONLY, 0, NULL);
	return nlh;
}

static void test_hand_built(void **state)
{
	char buf[512] __attribute__((aligned(4))) = {};
	struct pc_listener l;

	/* No SKV6ONLY (kernels before 3.11): not v6only. */
	assert_int_equal(pc_sockdiag_parse(build(buf, TCP_LISTEN, 0, -1), IPPROTO_TCP, &l), 1);
	assert_int_equal(l.port, 8443);
	assert_int_equal(l.inode, 4242);
	assert_int_equal(l.uid, 1000);
	assert_false(l.v6only);
	assert_int_equal(pc_sockdiag_parse(build(buf, TCP_LISTEN, 0, 1), IPPROTO_TCP, &l), 1);
	assert_true(l.v6only);
	/* UDP: TCP_CLOSE is how an unconnected UDP socket looks. */
	assert_int_equal(pc_sockdiag_parse(build(buf, TCP_CLOSE, 0, 1), IPPROTO_UDP, &l), 1);
	assert_int_equal(l.protocol, IPPROTO_UDP);
	assert_int_equal(pc_sockdiag_parse(build(buf, TCP_ESTABLISHED, 53, -1), IPPROTO_UDP, &l),
			 0);
	assert_int_equal(pc_sockdiag_parse(build(buf, TCP_ESTABLISHED, 53, -1), IPPROTO_TCP, &l),
			 0);
	/* An empty SKV6ONLY attribute. */
	assert_int_equal(pc_sockdiag_parse(build(buf, TCP_LISTEN, 0, 0), IPPROTO_TCP, &l),
			 -EBADMSG);
	/* Not a protocol this module knows. */
	assert_int_equal(pc_sockdiag_parse(build(buf, TCP_LISTEN, 0, 1), IPPROTO_ICMP, &l),
			 -EINVAL);
}

static void test_malformed(void **state)
{
	char buf[512] __attribute__((aligned(4))) = {};
	struct pc_listener l, sentinel;
	struct nlmsghdr *nlh;
	struct inet_diag_msg *m;
	struct nlattr *a;

	memset(&sentinel, 0xa5, sizeof(sentinel));

	/* Wrong message type. */
	nlh = build(buf, TCP_LISTEN, 0, 1);
	nlh->nlmsg_type = NLMSG_MIN_TYPE + 1;
	l = sentinel;
	assert_int_equal(pc_sockdiag_parse(nlh, IPPROTO_TCP, &l), -EBADMSG);
	assert_memory_equal(&l, &sentinel, sizeof(l));

	/* Not an inet family. */
	nlh = build(buf, TCP_LISTEN, 0, 1);
	m = mnl_nlmsg_get_payload(nlh);
	m->idiag_family = AF_UNIX;
	assert_int_equal(pc_sockdiag_parse(nlh, IPPROTO_TCP, &l), -EBADMSG);

	/* The fixed header cut short. */
	nlh = build(buf, TCP_LISTEN, 0, 1);
	nlh->nlmsg_len = NLMSG_HDRLEN + sizeof(struct inet_diag_msg) - 4;
	assert_int_equal(pc_sockdiag_parse(nlh, IPPROTO_TCP, &l), -EBADMSG);
	nlh->nlmsg_len = NLMSG_HDRLEN;
	assert_int_equal(pc_sockdiag_parse(nlh, IPPROTO_TCP, &l), -EBADMSG);
	nlh->nlmsg_len = 3;
	assert_int_equal(pc_sockdiag_parse(nlh, IPPROTO_TCP, &l), -EBADMSG);

	/* An attribute longer than what is left of the message. */
	nlh = build(buf, TCP_LISTEN, 0, 1);
	a = (struct nlattr *)((char *)nlh + NLMSG_HDRLEN + sizeof(struct inet_diag_msg));
	a->nla_len = 200;
	assert_int_equal(pc_sockdiag_parse(nlh, IPPROTO_TCP, &l), -EBADMSG);
	/* Shorter than its own header. */
	a->nla_len = 3;
	assert_int_equal(pc_sockdiag_parse(nlh, IPPROTO_TCP, &l), -EBADMSG);
	a->nla_len = 0;
	assert_int_equal(pc_sockdiag_parse(nlh, IPPROTO_TCP, &l), -EBADMSG);

	/* Trailing bytes that are not an attribute. */
	nlh = build(buf, TCP_LISTEN, 0, 1);
	nlh->nlmsg_len += 2;
	assert_int_equal(pc_sockdiag_parse(nlh, IPPROTO_TCP, &l), -EBADMSG);
	l = sentinel;
	nlh->nlmsg_len += 2; /* four zero bytes: an attribute of length 0 */
	assert_int_equal(pc_sockdiag_parse(nlh, IPPROTO_TCP, &l), -EBADMSG);
	assert_memory_equal(&l, &sentinel, sizeof(l));
}

/* Every prefix of every recorded message: an error or a result, never a crash. */
static void test_truncated_and_corrupt(void **state)
{
	static const struct {
		const char *file;
		uint8_t protocol;
	} files[] = {
	    {"sockdiag_tcp4_all.bin", IPPROTO_TCP},
	    {"sockdiag_tcp6.bin", IPPROTO_TCP},
	    {"sockdiag_udp4.bin", IPPROTO_UDP},
	    {"sockdiag_udp6.bin", IPPROTO_UDP},
	};
	uint32_t seed = 0x5eed1234;

	for (size_t f = 0; f < ELEMENTSOF(files); f++) {
		struct nl_replay rp;

		assert_int_equal(nl_replay_load(files[f].file, &rp), 0);
		for (size_t i = 0; i < rp.n; i++) {
			size_t full = rp.msgs[i]->nlmsg_len;

			for (size_t len = NLMSG_HDRLEN; len < full; len++) {
				struct nlmsghdr *c = nl_copy(rp.msgs[i], len);
				struct pc_listener l;
				int r = pc_sockdiag_parse(c, files[f].protocol, &l);

				if (len < NLMSG_HDRLEN + sizeof(struct inet_diag_msg))
					assert_int_equal(r, -EBADMSG);
				else
					assert_true(r == -EBADMSG || r == 0 || r == 1);
				free(c);
			}
			for (int k = 0; k < 500; k++) {
				struct nlmsghdr *c = nl_copy(rp.msgs[i], full);
				struct pc_listener l;
				int r;

				/* Corrupt the body, keep nlmsg_len: the caller checked that one. */
				for (int b = 0; b < 3; b++) {
					size_t off = 4 + nl_rand(&seed) % (full - 4);

					((uint8_t *)c)[off] = (uint8_t)nl_rand(&seed);
				}
				r = pc_sockdiag_parse(c, files[f].protocol, &l);
				assert_true(r == -EBADMSG || r == 0 || r == 1);
				free(c);
			}
		}
		nl_replay_free(&rp);
	}
}

static bool skip_errno(int r)
{
	return r == -EPERM || r == -EACCES || r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT ||
	       r == -ENOENT;
}

static uint64_t sock_inode(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* The real kernel, unprivileged: sock_diag dumps need no capability. */
static void test_live(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct pc_listener_set set = {};
	socklen_t len = sizeof(sin);
	int tcp, udp, udpc, r;
	bool found_tcp = false, found_udp = false;
	uint16_t tcp_port;

	tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	udpc = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(tcp >= 0 && udp >= 0 && udpc >= 0);
	assert_int_equal(bind(tcp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(tcp, 1), 0);
	assert_int_equal(getsockname(tcp, (struct sockaddr *)&sin, &len), 0);
	tcp_port = ntohs(sin.sin_port);
	sin.sin_port = 0;
	assert_int_equal(bind(udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(udp, (struct sockaddr *)&sin, &len), 0);
	/* A connected UDP socket is a client, not a server. */
	assert_int_equal(connect(udpc, (struct sockaddr *)&sin, sizeof(sin)), 0);

	r = pc_sockdiag_dump(&set);
	if (skip_errno(r)) {
		print_message("sock_diag not available here (%s), skipping\n", strerror(-r));
		close(tcp);
		close(udp);
		close(udpc);
		skip();
	}
	assert_int_equal(r, 0);
	for (size_t i = 0; i < set.n; i++) {
		const struct pc_listener *l = &set.items[i];

		if (l->inode == sock_inode(tcp)) {
			assert_int_equal(l->protocol, IPPROTO_TCP);
			assert_int_equal(l->port, tcp_port);
			assert_true(pc_addr_is_loopback(&l->addr));
			assert_int_equal(l->uid, getuid());
			found_tcp = true;
		}
		if (l->inode == sock_inode(udp)) {
			assert_int_equal(l->protocol, IPPROTO_UDP);
			assert_int_equal(l->port, ntohs(sin.sin_port));
			found_udp = true;
		}
		assert_true(l->inode != sock_inode(udpc));
	}
	assert_true(found_tcp);
	assert_true(found_udp);
	pc_listener_set_free(&set);
	pc_listener_set_free(&set); /* idempotent */
	pc_listener_set_free(NULL);
	close(tcp);
	close(udp);
	close(udpc);
}

static int count_cb(const struct nlmsghdr *nlh, void *userdata)
{
	(*(size_t *)userdata)++;
	return 0;
}

/* The kernel's NLMSG_ERROR reaches the caller as -errno. */
static void test_live_error(void **state)
{
	size_t n = 0;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
	    .nlh = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY},
	    .r = {.sdiag_family = 255, .sdiag_protocol = IPPROTO_TCP},
	};
	int r;

	r = pc_nl_dump(NETLINK_SOCK_DIAG, &req.nlh, count_cb, &n);
	if (r == -EPERM || r == -EACCES || r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT) {
		print_message("netlink not available here (%s), skipping\n", strerror(-r));
		skip();
	}
	assert_int_equal(r, -EINVAL);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp4),
	    cmocka_unit_test(test_tcp6),
	    cmocka_unit_test(test_tcp4_all_states),
	    cmocka_unit_test(test_udp4),
	    cmocka_unit_test(test_udp6),
	    cmocka_unit_test(test_skv6only_presence),
	    cmocka_unit_test(test_hand_built),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_truncated_and_corrupt),
	    cmocka_unit_test(test_live),
	    cmocka_unit_test(test_live_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
