/* SPDX-License-Identifier: MIT */
/*
 * portcheckd: serve io.portcheck over Varlink on a Unix socket and watch for listeners
 * the firewall blocks. Foreground, logs to stderr (the journal under systemd). This file:
 * options, configuration and its reload, start-up and the loop; methods.c, analyses.c
 * and log.c do the rest.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "portcheck/bg_analysis.h"
#include "portcheck/config.h"
#include "portcheck/exposure_track.h"
#include "portcheck/open.h"
#include "portcheck/polkit.h"
#include "portcheck/status.h"
#include "portcheck/util.h"
#include "portcheck/varlink.h"
#include "portcheck/varlink_server.h"
#include "portcheck/watch.h"

#include "daemon.h"

/* GetInfo's url; the build may define the project's home page. */
#ifndef PORTCHECK_URL
#define PORTCHECK_URL ""
#endif

/* Returns 1 and the gid, 0 when there is no such group, -errno on lookup failure. */
static int group_lookup(const char *name, gid_t *ret_gid)
{
	_cleanup_free_ char *buf = NULL;
	struct group gr;
	int r = pc_getgrnam(name, &gr, &buf);

	if (r > 0)
		*ret_gid = gr.gr_gid;
	return r;
}

static void usage(FILE *f)
{
	fputs("usage: portcheckd [--socket PATH] [--config FILE]\n"
	      "\n"
	      "Serve io.portcheck (Varlink) on a Unix socket, in the foreground, logging to\n"
	      "stderr (to the journal under systemd), and watch for listeners that the\n"
	      "firewall blocks: nftables, routing and firewalld changes are followed as they\n"
	      "happen, listening sockets are rescanned every RescanIntervalSec=. Under\n"
	      "systemd socket activation the socket passed in is used.\n"
	      "\n"
	      "options:\n"
	      "  --socket PATH  socket to create (default " PC_SOCKET_PATH_DEFAULT ")\n"
	      "  --config FILE  read only this configuration file (default: the portcheck.conf\n"
	      "                 lookup of portcheck.conf(5): /etc/portcheck/portcheck.conf and\n"
	      "                 drop-ins in /etc, /run and /usr/lib portcheck/portcheck.conf.d)\n"
	      "  --help         show this help\n"
	      "  --version      show the version\n"
	      "\n"
	      "signals: SIGHUP re-reads the configuration (a bad one is logged and the last\n"
	      "good one kept); SIGTERM and SIGINT stop.\n"
	      "environment: PORTCHECK_CONFIG_ROOT=DIR looks for the configuration under DIR;\n"
	      "PORTCHECKD_LOG_LEVEL=debug overrides LogLevel=.\n",
	      f);
}

/* Apply a loaded configuration: the read group, log level, rescan interval. */
static void daemon_apply_config(struct daemon *d)
{
	const char *level = getenv("PORTCHECKD_LOG_LEVEL");
	int r;

	log_max = d->config.log_level;
	if (level && pc_config_parse_log_level(level) >= 0)
		log_max = pc_config_parse_log_level(level);
	d->have_group = false;
	d->group = NULL;
	if (d->config.read_group && *d->config.read_group) {
		d->group = d->config.read_group;
		r = group_lookup(d->config.read_group, &d->gid);
		if (r < 0)
			log_msg(LOG_WARNING,
				"cannot look up group %s (ReadGroup=): %s; only root may "
				"read the status",
				d->group, strerror(-r));
		else if (r == 0)
			log_msg(LOG_WARNING,
				"group %s (ReadGroup=) does not exist; only root may "
				"read the status (reload after creating it)",
				d->group);
		d->have_group = r > 0;
	}
	if (d->watch)
		pc_watch_set_rescan_interval(d->watch, d->config.rescan_interval_sec);
}

/* SIGHUP: the new configuration replaces the old only if all of it is good. */
static void daemon_reload(struct daemon *d)
{
	_cleanup_free_ char *error = NULL;
	struct pc_config next = {0};
	int r;

	sd_notify(0, "RELOADING=1");
	r = pc_config_load(d->config_root, d->config_path, &next, &error);
	if (r < 0) {
		log_msg(LOG_ERR, "reload failed, keeping the last good configuration: %s",
			error ? error : strerror(-r));
	} else {
		pc_config_clear(&d->config);
		d->config = next;
		daemon_apply_config(d);
		log_msg(LOG_INFO, "reloaded configuration%s%s", d->config_path ? " from " : "",
			d->config_path ? d->config_path : "");
		/* Ignore lists may have changed what counts as news, and IgnoreInterfaces=
		 * the answers themselves: no kept answer survives. */
		pc_exposure_track_clear(&d->track);
		d->changes++;
		if (d->watch)
			pc_watch_request(d->watch);
	}
	sd_notify(0, "READY=1");
}

/* The listening socket from systemd, if we were socket-activated. Returns 1 and the fd, 0
 * when not activated, -errno when what systemd passed is unusable (logged). */
static int socket_from_systemd(int *ret_fd)
{
	int n = sd_listen_fds(1), r;

	if (n < 0) {
		log_msg(LOG_ERR, "cannot take the sockets passed by systemd: %s", strerror(-n));
		return n;
	}
	if (n == 0)
		return 0;
	if (n > 1) {
		log_msg(LOG_ERR, "systemd passed %d sockets, expected one", n);
		return -EINVAL;
	}
	r = sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0);
	if (r <= 0) {
		log_msg(LOG_ERR, "the socket passed by systemd is not a listening Unix stream "
				 "socket");
		return r < 0 ? r : -EINVAL;
	}
	*ret_fd = SD_LISTEN_FDS_START;
	return 1;
}

static void try_help(void)
{
	fputs("Try 'portcheckd --help'.\n", stderr);
}

/* Returns -1 to go on (--socket in *socket_path, --config in d->config_path), else the
 * exit code: 0 after --help or --version, 2 on a usage error. */
static int parse_args(int argc, char **argv, struct daemon *d, const char **socket_path)
{
	static const struct option options[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			*socket_path = optarg;
			break;
		case 'c':
			d->config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("portcheckd %s\n", PORTCHECK_VERSION);
			return 0;
		case ':':
			fprintf(stderr, "portcheckd: option '%s' needs an argument\n",
				argv[optind - 1]);
			try_help();
			return 2;
		default:
			fprintf(stderr, "portcheckd: unknown option '%s'\n", argv[optind - 1]);
			try_help();
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "portcheckd: unexpected argument '%s'\n", argv[optind]);
		try_help();
		return 2;
	}
	return -1;
}

/* The configuration at start-up: a bad one is fatal (at reload, the last good one is
 * kept). */
static int daemon_load_config(struct daemon *d)
{
	_cleanup_free_ char *error = NULL;
	int r;

	d->config_root = getenv("PORTCHECK_CONFIG_ROOT");
	r = pc_config_load(d->config_root, d->config_path, &d->config, &error);
	if (r < 0) {
		log_msg(LOG_ERR, "bad configuration: %s", error ? error : strerror(-r));
		return r;
	}
	daemon_apply_config(d);
	return 0;
}

/* The listening socket: systemd's, else one created at *socket_path (--socket, or the
 * default put there; *created set). Returns the fd or -errno (logged). */
static int open_socket(const char **socket_path, bool *created)
{
	int fd = -1, r;

	r = socket_from_systemd(&fd);
	if (r < 0)
		return r;
	if (r > 0) {
		if (*socket_path)
			log_msg(LOG_NOTICE,
				"socket-activated: using the socket from systemd, "
				"not --socket %s",
				*socket_path);
		return fd;
	}
	*socket_path = *socket_path ?: PC_SOCKET_PATH_DEFAULT;
	r = pc_server_listen_path(*socket_path, &fd);
	if (r < 0) {
		log_msg(LOG_ERR, "cannot listen on %s: %s%s", *socket_path, strerror(-r),
			r == -EADDRINUSE ? " (another portcheckd is running)" : "");
		return r;
	}
	*created = true;
	return fd;
}

/* The Varlink server on @fd (consumed), serving io.portcheck. */
static int daemon_start_server(struct daemon *d, int fd)
{
	static const struct pc_varlink_method methods[] = {
	    {"io.portcheck.Status", method_status},
	    {"io.portcheck.Explain", method_explain},
	    {"io.portcheck.Open", method_open},
	    {"io.portcheck.Close", method_close},
	};
	static const struct pc_varlink_interface interfaces[] = {
	    {"io.portcheck", pc_varlink_idl_io_portcheck},
	};
	const struct pc_server_config scfg = {
	    .methods = methods,
	    .n_methods = ELEMENTSOF(methods),
	    .interfaces = interfaces,
	    .n_interfaces = ELEMENTSOF(interfaces),
	    .vendor = "portcheck",
	    .product = "portcheck",
	    .version = PORTCHECK_VERSION,
	    .url = PORTCHECK_URL,
	    .authorize = authorize,
	    .log = server_log,
	    .userdata = d,
	    .handle_signals = true,
	    .tick = daemon_tick,
	};
	int r;

	d->queued_tail = &d->queued;
	d->arrived_tail = &d->arrived;
	d->job_queue_tail = &d->job_queue;
	r = pc_server_new(&scfg, fd, &d->server);
	if (r < 0)
		log_msg(LOG_ERR, "cannot start the server: %s", strerror(-r));
	return r;
}

/* The watcher of nftables, routing, firewalld and the listeners; and the watchdog. */
static int daemon_start_watch(struct daemon *d)
{
	const struct pc_watch_callbacks cb = {
	    .analyse = watch_analyse,
	    .changed = watch_changed,
	    .firewalld = watch_firewalld,
	    .add_fd = watch_add_fd,
	    .remove_fd = watch_remove_fd,
	    .log = watch_log,
	    .userdata = d,
	};
	uint64_t watchdog_usec = 0;
	int r;

	r = pc_watch_new(&cb, d->config.rescan_interval_sec, &d->watch);
	if (r < 0) {
		log_msg(LOG_ERR, "cannot start watching: %s", strerror(-r));
		return r;
	}
	/* The watchdog is pinged from the loop at half its period, and during analyses. */
	the_daemon = d;
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec >= 2000)
		d->watchdog_interval_ms = watchdog_usec / 2000;
	return 0;
}

/* Serve until SIGTERM or SIGINT; SIGHUP reloads. Returns the exit code. */
static int daemon_loop(struct daemon *d)
{
	int r;

	for (;;) {
		r = pc_server_run(d->server);
		if (r != SIGHUP)
			break;
		daemon_reload(d);
	}
	sd_notify(0, "STOPPING=1");
	if (r < 0) {
		log_msg(LOG_ERR, "event loop failed: %s", strerror(-r));
		return 1;
	}
	return 0;
}

static void daemon_teardown(struct daemon *d, const char *created_socket)
{
	d->stopping = true;
	analyses_stop(d);
	pc_watch_free(d->watch);
	pc_server_free(d->server);
	if (created_socket && unlink(created_socket) < 0 && errno != ENOENT)
		log_msg(LOG_WARNING, "cannot remove %s: %s", created_socket, strerror(errno));
	pc_exposure_track_clear(&d->track);
	pc_config_clear(&d->config);
	free(d->last_analysis_error);
}

int main(int argc, char **argv)
{
	const char *socket_path = NULL;
	struct daemon d = {0};
	bool created_socket = false;
	int fd, r, ret = 1;

	r = parse_args(argc, argv, &d, &socket_path);
	if (r >= 0)
		return r;

	log_journal = stderr_is_journal();
	/* glibc raises its mmap threshold (up to 32 MiB) each time a large mapped block is
	 * freed, and a forked analysis child inherits the raised one: its large arrays then
	 * come from the heap and stay resident after they are freed. Measured on the bench's
	 * large host: a second analysis on one daemon peaked at 131-135 MiB against the
	 * first's 125 MiB. A fixed threshold (glibc's default) keeps every child like the first. */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	/* No huge pages for the daemon, whatever GLIBC_TUNABLES asks of malloc: its memory
	 * between analyses is what malloc_trim() leaves, not 2 MiB around each page still in
	 * use. Its job children get what it inherited back (bg_analysis.c, util.h). */
	r = pc_huge_pages_daemon();
	if (r < 0)
		log_msg(LOG_DEBUG, "huge pages stay as they are: prctl: %s", strerror(-r));
	/* A vanished stderr reader must not kill the daemon; sockets use MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);

	if (daemon_load_config(&d) < 0)
		goto out;
	fd = open_socket(&socket_path, &created_socket);
	if (fd < 0)
		goto out;
	if (daemon_start_server(&d, fd) < 0 || daemon_start_watch(&d) < 0)
		goto out;

	log_msg(LOG_INFO, "listening on %s; status readable by root%s%s; rescanning listeners %s",
		created_socket ? socket_path : "the socket from systemd",
		d.have_group ? " and group " : "", d.have_group ? d.group : "",
		d.config.rescan_interval_sec ? "periodically" : "only on changes and requests");
	sd_notify(0, "READY=1\nSTATUS=Serving io.portcheck; first analysis pending");
	ret = daemon_loop(&d);
out:
	daemon_teardown(&d, created_socket ? socket_path : NULL);
	return ret;
}
