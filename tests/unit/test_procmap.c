/* SPDX-License-Identifier: MIT */
/* Socket owner resolution against fake /proc trees built in a temporary directory. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "portcheck/listener.h"
#include "portcheck/util.h"

struct fd_link {
	const char *fd;
	const char *target;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_tree(const char *root)
{
	assert_int_equal(nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

/* root/PID with comm (NULL: none) and fd/ (has_fd false: none) holding @links. */
static void mk_pid(const char *root, int pid, const char *comm, bool has_fd,
		   const struct fd_link *links, size_t n)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	if (comm) {
		snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
		write_file(path, comm);
	}
	if (!has_fd)
		return;
	snprintf(path, sizeof(path), "%s/%d/fd", root, pid);
	assert_int_equal(mkdir(path, 0755), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%d/fd/%s", root, pid, links[i].fd);
		assert_int_equal(symlink(links[i].target, path), 0);
	}
}

static struct pc_listener_set mk_set(const uint64_t *inodes, size_t n)
{
	struct pc_listener_set set = {.items = calloc(n, sizeof(struct pc_listener)), .n = n};

	assert_non_null(set.items);
	for (size_t i = 0; i < n; i++) {
		set.items[i].protocol = IPPROTO_TCP;
		set.items[i].inode = inodes[i];
		set.items[i].port = (uint16_t)(1000 + i);
	}
	return set;
}

static void test_fake_tree(void **state)
{
	char root[] = "/tmp/pc-procmap-XXXXXX";
	/* Indexes into the set below. */
	enum {
		L_NGINX_A,
		L_NGINX_B,
		L_SHARED,
		L_SSHD,
		L_VANISHED,
		L_NONE,
		L_KERNEL,
		L_DUP1,
		L_DUP2,
		L_LONG,
		L_COUNT
	};
	static const uint64_t inodes[L_COUNT] = {
	    [L_NGINX_A] = 1001,	 [L_NGINX_B] = 1002, [L_SHARED] = 1003, [L_SSHD] = 2001,
	    [L_VANISHED] = 3001, [L_NONE] = 9999,    [L_KERNEL] = 0,	[L_DUP1] = 4001,
	    [L_DUP2] = 4001,	 [L_LONG] = 5001,
	};
	struct pc_listener_set set;

	assert_non_null(mkdtemp(root));
	/* nginx master and a forked worker share 1001; the lower pid owns it. */
	mk_pid(root, 100, "nginx\n", true,
	       (const struct fd_link[]){{"3", "socket:[1001]"},
					{"4", "socket:[1002]"},
					{"5", "/dev/null"},
					{"6", "socket:[abc]"},
					{"7", "socket:[1003"},
					{"8", "socket:[0]"},
					{"9", "anon_inode:[eventpoll]"}},
	       7);
	mk_pid(root, 1000, "nginx\n", true, (const struct fd_link[]){{"3", "socket:[1001]"}}, 1);
	/* 1003 is held by 300 and by 25: 25 wins whatever order readdir returns. */
	mk_pid(root, 300, "worker\n", true, (const struct fd_link[]){{"9", "socket:[1003]"}}, 1);
	mk_pid(root, 25, "sshd\n", true,
	       (const struct fd_link[]){{"0", "socket:[2001]"}, {"1", "socket:[1003]"}}, 2);
	/* Exited: no fd directory left. */
	mk_pid(root, 400, "ghost\n", false, NULL, 0);
	/* Exited between the fd scan and comm: 600 still holds 3001. */
	mk_pid(root, 500, NULL, true, (const struct fd_link[]){{"3", "socket:[3001]"}}, 1);
	mk_pid(root, 600, "dnsmasq\n", true, (const struct fd_link[]){{"4", "socket:[3001]"}}, 1);
	mk_pid(root, 700, "dup\n", true, (const struct fd_link[]){{"4", "socket:[4001]"}}, 1);
	/* comm longer than the kernel ever writes is cut to 16 bytes; no newline. */
	mk_pid(root, 800, "0123456789abcdefXYZ", true,
	       (const struct fd_link[]){{"4", "socket:[5001]"}}, 1);
	/* Not processes. */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/self", root);
		assert_int_equal(symlink("100", path), 0);
		snprintf(path, sizeof(path), "%s/sys", root);
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/12ab", root);
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/99999999999", root);
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/0", root);
		assert_int_equal(mkdir(path, 0755), 0);
	}

	set = mk_set(inodes, L_COUNT);
	/* A stale owner from an earlier pass must go. */
	set.items[L_NONE].pid = 42;
	strcpy(set.items[L_NONE].comm, "stale");
	set.items[L_NONE].unit = strdup("stale.service");

	assert_int_equal(pc_procmap_resolve(root, &set), 0);

	assert_int_equal(set.items[L_NGINX_A].pid, 100);
	assert_string_equal(set.items[L_NGINX_A].comm, "nginx");
	assert_int_equal(set.items[L_NGINX_B].pid, 100);
	assert_int_equal(set.items[L_SHARED].pid, 25);
	assert_string_equal(set.items[L_SHARED].comm, "sshd");
	assert_int_equal(set.items[L_SSHD].pid, 25);
	assert_int_equal(set.items[L_VANISHED].pid, 600);
	assert_string_equal(set.items[L_VANISHED].comm, "dnsmasq");
	assert_int_equal(set.items[L_NONE].pid, 0);
	assert_string_equal(set.items[L_NONE].comm, "");
	assert_int_equal(set.items[L_KERNEL].pid, 0);
	assert_int_equal(set.items[L_DUP1].pid, 700);
	assert_int_equal(set.items[L_DUP2].pid, 700);
	assert_string_equal(set.items[L_DUP2].comm, "dup");
	assert_int_equal(set.items[L_LONG].pid, 800);
	assert_string_equal(set.items[L_LONG].comm, "0123456789abcdef");
	/* Units come from systemd, only for the real /proc. */
	for (size_t i = 0; i < set.n; i++)
		assert_null(set.items[i].unit);
	/* Untouched. */
	assert_int_equal(set.items[L_SSHD].inode, 2001);
	assert_int_equal(set.items[L_SSHD].port, 1000 + L_SSHD);

	/* nginx exits: its sockets now belong to nobody but the worker's shared one. */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/100", root);
		rm_tree(path);
	}
	assert_int_equal(pc_procmap_resolve(root, &set), 0);
	assert_int_equal(set.items[L_NGINX_A].pid, 1000);
	assert_int_equal(set.items[L_NGINX_B].pid, 0);
	assert_string_equal(set.items[L_NGINX_B].comm, "");

	pc_listener_set_free(&set);
	rm_tree(root);
}

static void test_errors(void **state)
{
	static const uint64_t inodes[] = {1};
	struct pc_listener_set set = mk_set(inodes, 1), empty = {};
	char root[] = "/tmp/pc-procmap-XXXXXX";
	char file[4096];

	assert_int_equal(pc_procmap_resolve("/nonexistent/proc", &set), -ENOENT);
	assert_non_null(mkdtemp(root));
	snprintf(file, sizeof(file), "%s/file", root);
	write_file(file, "");
	assert_int_equal(pc_procmap_resolve(file, &set), -ENOTDIR);
	assert_int_equal(pc_procmap_resolve(root, &empty), 0);
	/* An empty /proc: nobody owns anything. */
	assert_int_equal(pc_procmap_resolve(root, &set), 0);
	assert_int_equal(set.items[0].pid, 0);
	pc_listener_set_free(&set);
	pc_listener_set_free(&empty);
	rm_tree(root);
}

/* Thousands of listeners and processes: the lookup must not be quadratic or lose any. */
static void test_scale(void **state)
{
	enum { N_PIDS = 300, PER_PID = 10, OTHER = 2 };
	char root[] = "/tmp/pc-procmap-XXXXXX";
	uint64_t *inodes = calloc(N_PIDS * PER_PID, sizeof(*inodes));
	struct pc_listener_set set;

	assert_non_null(inodes);
	assert_non_null(mkdtemp(root));
	for (int p = 0; p < N_PIDS; p++) {
		struct fd_link links[PER_PID + OTHER];
		char targets[PER_PID + OTHER][32], names[PER_PID + OTHER][8];

		for (int k = 0; k < PER_PID + OTHER; k++) {
			snprintf(names[k], sizeof(names[k]), "%d", k);
			/* Sockets, numbered backwards against pids, and other files. */
			if (k < PER_PID)
				snprintf(targets[k], sizeof(targets[k]), "socket:[%d]",
					 100000 + (N_PIDS - 1 - p) * PER_PID + k);
			else
				snprintf(targets[k], sizeof(targets[k]), "/tmp/f%d", k);
			links[k] = (struct fd_link){names[k], targets[k]};
		}
		mk_pid(root, 2 + p, "srv\n", true, links, PER_PID + OTHER);
	}
	for (int i = 0; i < N_PIDS * PER_PID; i++)
		inodes[i] = 100000 + i;
	set = mk_set(inodes, N_PIDS * PER_PID);
	assert_int_equal(pc_procmap_resolve(root, &set), 0);
	for (int i = 0; i < N_PIDS * PER_PID; i++)
		assert_int_equal(set.items[i].pid, 2 + (N_PIDS - 1 - i / PER_PID));
	pc_listener_set_free(&set);
	free(inodes);
	rm_tree(root);
}

/* The real /proc and kernel, unprivileged: our own listener is found and is ours. */
static void test_live(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct pc_listener_set set = {};
	struct stat st;
	bool found = false;
	int fd, r;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(fstat(fd, &st), 0);

	r = pc_listeners_read(&set);
	if (r == -EPERM || r == -EACCES || r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT ||
	    r == -ENOENT) {
		print_message("sock_diag or /proc not available here (%s), skipping\n",
			      strerror(-r));
		close(fd);
		skip();
	}
	assert_int_equal(r, 0);
	for (size_t i = 0; i < set.n; i++) {
		if (set.items[i].inode != st.st_ino)
			continue;
		assert_int_equal(set.items[i].pid, getpid());
		/* The kernel keeps 15 bytes of the executable's name. */
		assert_int_equal(strncmp(set.items[i].comm, program_invocation_short_name, 15), 0);
		found = true;
	}
	assert_true(found);
	pc_listener_set_free(&set);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fake_tree),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_scale),
	    cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
