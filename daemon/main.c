/* SPDX-License-Identifier: MIT */
/* portcheckd: serve io.portcheck over Varlink on a Unix socket. Foreground, logs to stderr. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "portcheck/open.h"
#include "portcheck/polkit.h"
#include "portcheck/status.h"
#include "portcheck/util.h"
#include "portcheck/varlink.h"
#include "portcheck/varlink_server.h"

#define CONFIG_PATH_DEFAULT PORTCHECK_SYSCONFDIR "/portcheck/portcheckd.conf"
#define READ_GROUP_DEFAULT "portcheck"
/* GetInfo's url; the build may define the project's home page. */
#ifndef PORTCHECK_URL
#define PORTCHECK_URL ""
#endif

static bool log_journal; /* stderr is the journal: use <N> priority prefixes */
static int log_max = LOG_INFO;

__attribute__((format(printf, 2, 3))) static void log_msg(int priority, const char *format, ...)
{
	char buf[1024];
	va_list ap;

	if (priority > log_max)
		return;
	va_start(ap, format);
	vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", priority, buf);
	else
		fprintf(stderr, "portcheckd: %s\n", buf);
}

static void server_log(int priority, const char *message, void *userdata)
{
	log_msg(priority, "%s", message);
}

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it connected. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

struct daemon_config {
	char *read_group; /* NULL or "": only root */
};

static void daemon_config_clear(struct daemon_config *c)
{
	free(c->read_group);
	c->read_group = NULL;
}

static char *strip(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]))
		end--;
	*end = '\0';
	return s;
}

/*
 * Read Key=Value lines from @path into @cfg. A missing file is fine unless @explicit.
 * Errors are logged here, naming the file and line. Returns 0 or -errno.
 */
static int config_load(const char *path, bool explicit, struct daemon_config *cfg)
{
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	unsigned lineno = 0;
	int r = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !explicit)
			return 0;
		r = -errno;
		log_msg(LOG_ERR, "cannot read %s: %s", path, strerror(errno));
		return r;
	}

	while (getline(&line, &size, f) >= 0) {
		char *l = strip(line), *eq, *key, *value;

		lineno++;
		if (*l == '\0' || *l == '#')
			continue;
		eq = strchr(l, '=');
		if (!eq) {
			log_msg(LOG_ERR, "%s:%u: expected Key=Value, got '%s'", path, lineno, l);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		key = strip(l);
		value = strip(eq + 1);
		if (strcmp(key, "ReadGroup") == 0) {
			char *v = strdup(value);

			if (!v) {
				r = -ENOMEM;
				break;
			}
			free(cfg->read_group);
			cfg->read_group = v;
		} else {
			log_msg(LOG_ERR, "%s:%u: unknown key '%s' (known: ReadGroup)", path, lineno,
				key);
			r = -EINVAL;
			break;
		}
	}
	if (r == 0 && ferror(f)) {
		r = -EIO;
		log_msg(LOG_ERR, "cannot read %s: %s", path, strerror(EIO));
	}
	fclose(f);
	return r;
}

/* Returns 1 and the gid, 0 when there is no such group, -errno on lookup failure. */
static int group_lookup(const char *name, gid_t *ret_gid)
{
	_cleanup_free_ char *buf = NULL;
	struct group gr, *res = NULL;
	size_t bufsize = 4096;
	int r;

	for (;;) {
		free(buf);
		buf = malloc(bufsize);
		if (!buf)
			return -ENOMEM;
		r = getgrnam_r(name, &gr, buf, bufsize, &res);
		if (r != ERANGE)
			break;
		if (bufsize > (1u << 24))
			return -ERANGE;
		bufsize *= 2;
	}
	if (r != 0)
		return -r;
	if (!res)
		return 0;
	*ret_gid = res->gr_gid;
	return 1;
}

struct daemon {
	bool have_group;
	gid_t gid;
	const char *group;
};

/* How long polkit may take to answer; the caller waits for it (no interaction). */
#define POLKIT_TIMEOUT_MS 5000

static bool method_changes_firewall(const char *method)
{
	return strcmp(method, "io.portcheck.Open") == 0 ||
	       strcmp(method, "io.portcheck.Close") == 0;
}

/*
 * Changing the firewall: root, or whoever polkit authorizes for firewalld's own action,
 * so that the policy already written for firewalld decides. polkit absent, failing or
 * slow: refused. Blocking the loop for the answer is acceptable: changes are rare.
 */
static bool authorize_change(const struct pc_peer *peer, const char *method)
{
	_cleanup_free_ char *error = NULL;
	int r;

	if (peer->uid == 0)
		return true;
	r = pc_polkit_check(peer->pid, peer->uid, PC_POLKIT_ACTION_FIREWALLD_CONFIG,
			    POLKIT_TIMEOUT_MS, &error);
	if (r < 0)
		log_msg(LOG_NOTICE, "%s refused to pid %d (uid %u): polkit unavailable: %s", method,
			(int)peer->pid, (unsigned)peer->uid, error ? error : strerror(-r));
	else if (r == 0)
		log_msg(LOG_NOTICE,
			"%s refused to pid %d (uid %u): not authorized by polkit for "
			"%s",
			method, (int)peer->pid, (unsigned)peer->uid,
			PC_POLKIT_ACTION_FIREWALLD_CONFIG);
	return r > 0;
}

/*
 * The daemon's policy. Introspection (org.varlink.service) is open to everyone: it
 * reveals nothing about the host. Reading the status is for root and the read group.
 * Changing the firewall (Open, Close) is for root and whom polkit authorizes.
 */
static bool authorize(const struct pc_peer *peer, const char *method, void *userdata)
{
	const struct daemon *d = userdata;
	int r;

	if (strncmp(method, "org.varlink.service.", strlen("org.varlink.service.")) == 0)
		return true;
	if (method_changes_firewall(method))
		return authorize_change(peer, method);
	if (peer->uid == 0)
		return true;
	if (!d->have_group)
		return false;
	r = pc_peer_in_group(peer, d->gid);
	if (r < 0) {
		log_msg(LOG_WARNING, "cannot tell whether pid %d (uid %u) is in group %s: %s",
			(int)peer->pid, (unsigned)peer->uid, d->group, strerror(-r));
		return false;
	}
	return r > 0;
}

static int method_status(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	const struct pc_status_options opts = {.dbus_timeout_ms = 2000, .dbus_budget_ms = 8000};
	json_t *status = NULL, *reply, *v;
	const char *key;
	int r;

	json_object_foreach(call->request->parameters, key, v)
	{
		reply = pc_varlink_error_new_string(PC_VARLINK_ERROR_INVALID_PARAMETER, "parameter",
						    key);
		if (!reply)
			return -ENOMEM;
		*ret_reply = reply;
		return 0;
	}

	r = pc_status_collect(&opts, &status);
	if (r < 0) {
		log_msg(LOG_WARNING, "Status: reading the system state failed: %s", strerror(-r));
		reply =
		    pc_varlink_error_new_string("io.portcheck.ReadFailed", "reason", strerror(-r));
	} else {
		reply = pc_varlink_reply_new(status, false);
	}
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

static int method_explain(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	const struct pc_status_options opts = {.dbus_timeout_ms = 2000, .dbus_budget_ms = 8000};
	struct pc_explain_query q;
	const char *param, *why;
	_cleanup_free_ char *error = NULL;
	json_t *result = NULL, *reply;
	int r;

	if (pc_explain_parse(call->request->parameters, &q, &param, &why) < 0) {
		reply =
		    pc_varlink_error_new("io.portcheck.BadRequest",
					 json_pack("{s:s,s:s}", "parameter", param, "reason", why));
	} else {
		param = "";
		r = pc_explain_collect(&opts, &q, &result, &param, &error);
		if (r == -EINVAL)
			reply = pc_varlink_error_new(
			    "io.portcheck.BadRequest",
			    json_pack("{s:s,s:s}", "parameter", param, "reason",
				      error ? error : "the query does not fit this host"));
		else if (r < 0) {
			log_msg(LOG_WARNING, "Explain: reading the system state failed: %s",
				strerror(-r));
			reply = pc_varlink_error_new_string("io.portcheck.ReadFailed", "reason",
							    strerror(-r));
		} else
			reply = pc_varlink_reply_new(result, false);
	}
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

/* Every change to the firewall, with who asked for it. */
static void audit_change(const char *line, void *userdata)
{
	const struct pc_peer *peer = userdata;

	log_msg(LOG_NOTICE, "firewall change by uid %u pid %d: %s", (unsigned)peer->uid,
		(int)peer->pid, line);
}

static int method_open_close(const struct pc_varlink_call *call, bool open, json_t **ret_reply)
{
	const struct pc_status_options opts = {.dbus_timeout_ms = 2000, .dbus_budget_ms = 8000};
	struct pc_open_request req;
	_cleanup_free_ char *why = NULL;
	const char *param = "";
	json_t *reply = NULL;
	int r;

	if (pc_open_parse(call->request->parameters, open, &req, &param, &why) < 0) {
		reply = pc_varlink_error_new(
		    "io.portcheck.BadRequest",
		    json_pack("{s:s,s:s}", "parameter", param, "reason", why ? why : "invalid"));
	} else {
		r = pc_open_run(&opts, &req, audit_change, (void *)call->peer, &reply);
		if (r < 0) {
			log_msg(LOG_WARNING, "%s: %s", open ? "Open" : "Close", strerror(-r));
			return r;
		}
	}
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}

static int method_open(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	return method_open_close(call, true, ret_reply);
}

static int method_close(const struct pc_varlink_call *call, void *userdata, json_t **ret_reply)
{
	return method_open_close(call, false, ret_reply);
}

static void usage(FILE *f)
{
	fputs("usage: portcheckd [--socket PATH] [--config FILE]\n"
	      "\n"
	      "Serve io.portcheck (Varlink) on a Unix socket, in the foreground, logging to\n"
	      "stderr. Under systemd socket activation the socket passed in is used.\n"
	      "\n"
	      "options:\n"
	      "  --socket PATH  socket to create (default " PC_SOCKET_PATH_DEFAULT ")\n"
	      "  --config FILE  configuration (default " CONFIG_PATH_DEFAULT ")\n"
	      "  --help         show this help\n"
	      "  --version      show the version\n"
	      "\n"
	      "environment: PORTCHECKD_LOG_LEVEL=debug logs every connection.\n",
	      f);
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

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {},
	};
	static const struct pc_varlink_method methods[] = {
	    {"io.portcheck.Status", method_status},
	    {"io.portcheck.Explain", method_explain},
	    {"io.portcheck.Open", method_open},
	    {"io.portcheck.Close", method_close},
	};
	static const struct pc_varlink_interface interfaces[] = {
	    {"io.portcheck", pc_varlink_idl_io_portcheck},
	};
	const char *socket_path = NULL, *config_path = NULL, *level;
	struct daemon_config config = {0};
	struct daemon d = {0};
	struct pc_server_config scfg;
	struct pc_server *server = NULL;
	bool created_socket = false;
	int c, r, fd = -1, ret = 1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'c':
			config_path = optarg;
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
			fputs("Try 'portcheckd --help'.\n", stderr);
			return 2;
		default:
			fprintf(stderr, "portcheckd: unknown option '%s'\n", argv[optind - 1]);
			fputs("Try 'portcheckd --help'.\n", stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "portcheckd: unexpected argument '%s'\n", argv[optind]);
		fputs("Try 'portcheckd --help'.\n", stderr);
		return 2;
	}

	log_journal = stderr_is_journal();
	level = getenv("PORTCHECKD_LOG_LEVEL");
	if (level && strcmp(level, "debug") == 0)
		log_max = LOG_DEBUG;
	/* A vanished stderr reader must not kill the daemon; sockets use MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);

	config.read_group = strdup(READ_GROUP_DEFAULT);
	if (!config.read_group) {
		log_msg(LOG_ERR, "out of memory");
		goto out;
	}
	r = config_load(config_path ?: CONFIG_PATH_DEFAULT, config_path != NULL, &config);
	if (r < 0)
		goto out;

	if (config.read_group && *config.read_group) {
		d.group = config.read_group;
		r = group_lookup(config.read_group, &d.gid);
		if (r < 0)
			log_msg(LOG_WARNING,
				"cannot look up group %s (ReadGroup=): %s; only root may "
				"read the status",
				config.read_group, strerror(-r));
		else if (r == 0)
			log_msg(LOG_WARNING,
				"group %s (ReadGroup=) does not exist; only root may "
				"read the status (restart after creating it)",
				config.read_group);
		d.have_group = r > 0;
	}

	r = socket_from_systemd(&fd);
	if (r < 0)
		goto out;
	if (r > 0) {
		if (socket_path)
			log_msg(LOG_NOTICE,
				"socket-activated: using the socket from systemd, "
				"not --socket %s",
				socket_path);
	} else {
		socket_path = socket_path ?: PC_SOCKET_PATH_DEFAULT;
		r = pc_server_listen_path(socket_path, &fd);
		if (r < 0) {
			log_msg(LOG_ERR, "cannot listen on %s: %s%s", socket_path, strerror(-r),
				r == -EADDRINUSE ? " (another portcheckd is running)" : "");
			goto out;
		}
		created_socket = true;
	}

	scfg = (struct pc_server_config){
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
	    .userdata = &d,
	    .handle_signals = true,
	};
	r = pc_server_new(&scfg, fd, &server);
	fd = -1;
	if (r < 0) {
		log_msg(LOG_ERR, "cannot start the server: %s", strerror(-r));
		goto out;
	}

	log_msg(LOG_INFO, "listening on %s; status readable by root%s%s",
		created_socket ? socket_path : "the socket from systemd",
		d.have_group ? " and group " : "", d.have_group ? d.group : "");
	sd_notify(0, "READY=1\nSTATUS=Serving io.portcheck");

	r = pc_server_run(server);
	sd_notify(0, "STOPPING=1");
	if (r < 0)
		log_msg(LOG_ERR, "event loop failed: %s", strerror(-r));
	else
		ret = 0;

out:
	pc_server_free(server);
	if (created_socket && unlink(socket_path) < 0 && errno != ENOENT)
		log_msg(LOG_WARNING, "cannot remove %s: %s", socket_path, strerror(errno));
	daemon_config_clear(&config);
	return ret;
}
