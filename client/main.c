/* SPDX-License-Identifier: MIT */
/* portcheck: ask portcheckd which listening ports the network can reach, and show it. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portcheck/check.h"
#include "portcheck/config.h"
#include "portcheck/fwspec.h"
#include "portcheck/render.h"
#include "portcheck/textfile.h"
#include "portcheck/util.h"
#include "portcheck/varlink.h"
#include "portcheck/varlink_client.h"

#include "cli.h"

/* Exit statuses, as portcheck(1) documents them. */
#define EXIT_CLEAN 0
#define EXIT_FINDINGS 1
#define EXIT_USAGE 2
#define EXIT_NO_ANSWER 3

__attribute__((format(printf, 1, 2))) static int usage_error(const char *format, ...)
{
	va_list ap;

	fputs("portcheck: ", stderr);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputs("\nTry 'portcheck --help'.\n", stderr);
	return EXIT_USAGE;
}

static bool want_colour(void)
{
	const char *no_colour = getenv("NO_COLOR"), *term = getenv("TERM");

	/* no-color.org: set and non-empty disables colour. */
	if (no_colour && *no_colour)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(STDOUT_FILENO);
}

/* Tell @f why there is no answer; always EXIT_NO_ANSWER. */
static int no_answer(FILE *f, const char *path, int r)
{
	switch (r) {
	case -ENOENT:
		fprintf(f,
			"portcheck: portcheckd is not running (no socket at %s): start it with "
			"`systemctl start portcheckd.socket` or run `portcheckd`\n",
			path);
		break;
	case -ECONNREFUSED:
		fprintf(f,
			"portcheck: portcheckd is not running (nothing listens on %s): start it "
			"with `systemctl start portcheckd.socket` or run `portcheckd`\n",
			path);
		break;
	case -EACCES:
	case -EPERM:
		fprintf(f, "portcheck: permission denied: cannot connect to %s\n", path);
		break;
	case -ETIMEDOUT:
		fprintf(f, "portcheck: portcheckd did not answer within %d s (socket %s)\n",
			PC_VARLINK_TIMEOUT_MS / 1000, path);
		break;
	case -ECONNRESET:
		fprintf(f, "portcheck: portcheckd closed the connection without answering\n");
		break;
	case -EBADMSG:
	case -EMSGSIZE:
		fprintf(f, "portcheck: portcheckd sent a malformed reply (%s)\n", strerror(-r));
		break;
	default:
		fprintf(f, "portcheck: cannot talk to portcheckd at %s: %s\n", path, strerror(-r));
		break;
	}
	return EXIT_NO_ANSWER;
}

static int error_reply(FILE *f, const struct pc_varlink_reply *reply)
{
	const char *e = reply->error;

	if (strcmp(e, PC_VARLINK_ERROR_PERMISSION_DENIED) == 0) {
		fputs("portcheck: permission denied: only root and members of the read group "
		      "(ReadGroup= in portcheck.conf, portcheck by default) may read the status; "
		      "run as root, or add yourself to the group and log in again\n",
		      f);
	} else if (strcmp(e, "io.portcheck.BadRequest") == 0) {
		const char *reason =
		    json_string_value(json_object_get(reply->parameters, "reason"));

		fprintf(f, "portcheck: %s\n", reason ?: "the request was refused");
		return EXIT_USAGE;
	} else if (strcmp(e, "io.portcheck.Busy") == 0) {
		const char *reason =
		    json_string_value(json_object_get(reply->parameters, "reason"));

		fprintf(f, "portcheck: portcheckd is busy (%s); try again in a moment\n",
			reason ?: "too much work queued");
	} else if (strcmp(e, "io.portcheck.ReadFailed") == 0) {
		const char *reason =
		    json_string_value(json_object_get(reply->parameters, "reason"));

		fprintf(f, "portcheck: portcheckd could not read the system's state: %s\n",
			reason ?: "unknown reason");
	} else {
		_cleanup_free_ char *params = json_dumps(reply->parameters, JSON_COMPACT);

		fprintf(f, "portcheck: portcheckd replied with error %s %s\n", e, params ?: "");
	}
	return EXIT_NO_ANSWER;
}

/* An Open or Close error: what the user must know, and the exit status. */
static int change_error(const struct pc_varlink_reply *reply)
{
	const char *e = reply->error;
	const char *reason = json_string_value(json_object_get(reply->parameters, "reason"));

	if (strcmp(e, PC_VARLINK_ERROR_PERMISSION_DENIED) == 0) {
		fputs("portcheck: permission denied: changing the firewall needs root, or polkit "
		      "authorization for org.fedoraproject.FirewallD1.config; nothing was "
		      "changed\n",
		      stderr);
	} else if (strcmp(e, "io.portcheck.BadRequest") == 0 ||
		   strcmp(e, PC_VARLINK_ERROR_INVALID_PARAMETER) == 0) {
		fprintf(stderr, "portcheck: %s\n",
			reason ?: json_string_value(json_object_get(reply->parameters,
								    "parameter"))
				       ?: "the request was refused");
		return EXIT_USAGE;
	} else if (strcmp(e, "io.portcheck.FirewalldUnavailable") == 0) {
		fprintf(stderr,
			"portcheck: firewalld cannot take the change: %s; nothing was "
			"changed\n",
			reason ?: "unknown reason");
	} else if (strcmp(e, "io.portcheck.ChangeFailed") == 0) {
		const char *state = json_string_value(json_object_get(reply->parameters, "state"));

		fprintf(stderr, "portcheck: the change failed: %s\nportcheck: state left: %s\n",
			reason ?: "unknown reason", state ?: "unknown");
	} else if (strcmp(e, "io.portcheck.NoFirewalld") == 0) {
		const char *cmd =
		    json_string_value(json_object_get(reply->parameters, "nft_command"));

		fprintf(stderr, "portcheck: %s\n", reason ?: "firewalld is not running");
		/* The command goes to stdout: it is the answer, ready to copy. */
		if (cmd && *cmd)
			printf("%s\n", cmd);
	} else {
		return error_reply(stderr, reply);
	}
	return EXIT_NO_ANSWER;
}

/* "5s", "10m", "1h", "1d" or plain seconds. Returns seconds, or -EINVAL. */
static long parse_duration(const char *s)
{
	char *end;
	long v, mult = 1;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		if (end[1])
			return -EINVAL;
		switch (*end) {
		case 's':
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		default:
			return -EINVAL;
		}
	}
	if (v < 1 || v > 30L * 86400 / mult)
		return -EINVAL;
	return v * mult;
}

struct change_args {
	const char *spec, *zone, *timeout;
	bool permanent, dry_run;
};

/* The reply as JSON (--json) or through @render for humans. Returns 0, or -errno after
 * saying that the output could not be written. */
static int print_reply(const json_t *params, bool json,
		       int (*render)(FILE *f, const json_t *reply, bool colour))
{
	int r;

	if (json) {
		r = json_dumpf(params, stdout, JSON_INDENT(2));
		if (r == 0)
			fputc('\n', stdout);
		else
			r = -EIO;
	} else {
		r = render(stdout, params, want_colour());
	}
	if (r >= 0 && fflush(stdout) != 0)
		r = -EIO;
	if (r < 0)
		fprintf(stderr, "portcheck: cannot write the output: %s\n", strerror(-r));
	return r;
}

/*
 * Ask portcheckd for the Status: the one path `status` and `check` share. Returns
 * EXIT_CLEAN with the reply in *ret_reply (its "listeners" an array: the exit status
 * depends on it; the renderer copes with the rest being odd), or the exit status after
 * telling @err why.
 */
static int get_status(const char *path, FILE *err, bool fresh, struct pc_varlink_reply *ret_reply)
{
	struct pc_varlink_reply reply;
	_cleanup_close_ int fd = -1;
	_cleanup_json_ json_t *params = NULL;
	int r, ret;

	r = pc_varlink_connect(path, PC_VARLINK_TIMEOUT_MS, &fd);
	if (r < 0)
		return no_answer(err, path, r);
	if (fresh && !(params = json_pack("{s:b}", "fresh", 1)))
		return no_answer(err, path, -ENOMEM);
	r = pc_varlink_call(fd, "io.portcheck.Status", params, PC_VARLINK_TIMEOUT_MS, &reply);
	if (r < 0)
		return no_answer(err, path, r);
	if (reply.error) {
		ret = error_reply(err, &reply);
	} else if (!json_is_array(json_object_get(reply.parameters, "listeners"))) {
		fputs("portcheck: portcheckd sent a malformed reply (no listeners)\n", err);
		ret = EXIT_NO_ANSWER;
	} else {
		*ret_reply = reply;
		return EXIT_CLEAN;
	}
	pc_varlink_reply_clear(&reply);
	return ret;
}

static int cmd_status(const char *path, bool fresh, bool json)
{
	struct pc_varlink_reply reply;
	int ret;

	ret = get_status(path, stderr, fresh, &reply);
	if (ret != EXIT_CLEAN)
		return ret;
	ret = pc_render_status_findings(reply.parameters) > 0 ? EXIT_FINDINGS : EXIT_CLEAN;
	if (print_reply(reply.parameters, json, pc_render_status) < 0)
		ret = EXIT_NO_ANSWER;
	pc_varlink_reply_clear(&reply);
	return ret;
}

struct check_args {
	const char *textfile, *config;
	bool quiet, nagios;
};

static void config_clearp(struct pc_config *cfg)
{
	pc_config_clear(cfg);
}

/*
 * A failure `check --nagios` reports: the plugin line on stdout (Nagios shows nothing
 * else) and the message on stderr. Always PC_NAGIOS_UNKNOWN: a check that could not run
 * says nothing about the listeners.
 */
static int nagios_unknown(const char *why)
{
	_cleanup_free_ char *line = NULL;
	enum pc_nagios_state state;

	if (pc_check_nagios(NULL, why, &line, &state) < 0)
		puts("PORTCHECK UNKNOWN - out of memory");
	else
		puts(line);
	return PC_NAGIOS_UNKNOWN;
}

/* The first line of a message get_status wrote, without the "portcheck: " prefix. */
static const char *first_line(char *msg)
{
	const char *prefix = "portcheck: ";

	if (!msg)
		return NULL;
	msg[strcspn(msg, "\n")] = '\0';
	if (strncmp(msg, prefix, strlen(prefix)) == 0)
		msg += strlen(prefix);
	return *msg ? msg : NULL;
}

/*
 * Talk to portcheckd like `status`, through @err (a buffer under --nagios, whose first
 * line becomes the plugin's summary, else stderr). Returns EXIT_CLEAN and the findings in
 * *ret_check with the reply in *ret_reply, or the exit status with @*ret_why set (when
 * @err is a buffer).
 */
static int check_fetch(const char *path, const struct pc_config *cfg, bool capture,
		       struct pc_varlink_reply *ret_reply, struct pc_check *ret_check,
		       char **ret_why)
{
	char *buf = NULL;
	size_t size;
	FILE *err = capture ? open_memstream(&buf, &size) : stderr;
	int ret, r;

	if (!err)
		err = stderr;
	ret = get_status(path, err, false, ret_reply);
	if (ret == EXIT_CLEAN) {
		r = pc_check_evaluate(ret_reply->parameters, cfg, ret_check);
		if (r < 0) {
			fprintf(err, "portcheck: cannot evaluate the reply: %s\n", strerror(-r));
			pc_varlink_reply_clear(ret_reply);
			ret = EXIT_NO_ANSWER;
		}
	}
	if (err != stderr) {
		fclose(err);
		/* Nagios shows stdout only; the journal or a terminal still gets it all. */
		if (buf)
			fputs(buf, stderr);
		*ret_why = buf;
	}
	return ret;
}

/* cmd_check's output: the Nagios line, the JSON reply or the findings. Returns the exit status. */
static int check_print(const struct check_args *a, bool json, bool answered,
		       const struct pc_config *cfg, const struct pc_varlink_reply *reply,
		       const struct pc_check *check, char *why, int ret)
{
	_cleanup_free_ char *text = NULL;
	enum pc_nagios_state state;
	int r;

	if (a->nagios) {
		if (!answered) {
			ret = nagios_unknown(first_line(why));
		} else if (pc_check_nagios(check, NULL, &text, &state) < 0) {
			ret = nagios_unknown("out of memory");
		} else {
			puts(text);
			ret = state;
		}
	} else if (answered && json) {
		r = pc_check_mark_ignored(reply->parameters, cfg);
		if (r < 0 || print_reply(reply->parameters, true, pc_render_status) < 0)
			ret = EXIT_NO_ANSWER;
	} else if (answered && !a->quiet) {
		r = pc_check_findings_text(check, &text);
		if (r < 0 || fputs(text, stdout) < 0 || fflush(stdout) != 0) {
			fprintf(stderr, "portcheck: cannot write the output: %s\n",
				strerror(r < 0 ? -r : EIO));
			ret = EXIT_NO_ANSWER;
		}
	}
	return ret;
}

static int cmd_check(const char *path, const struct check_args *a, bool json)
{
	_cleanup_(config_clearp) struct pc_config cfg = {0};
	_cleanup_free_ char *cfg_error = NULL, *why = NULL, *metrics = NULL;
	struct pc_varlink_reply reply = {0};
	struct pc_check check = {0};
	const char *root = getenv("PORTCHECK_CONFIG_ROOT"), *textfile = a->textfile;
	struct timespec now;
	bool answered;
	int r, ret;

	if (a->nagios && json)
		return usage_error("--nagios and --json cannot be combined");
	if (a->quiet && (a->nagios || json))
		return usage_error("--quiet cannot be combined with --nagios or --json");
	if (textfile && !*textfile)
		return usage_error("--textfile needs a file name");

	r = pc_config_load(root && *root ? root : NULL, a->config, &cfg, &cfg_error);
	if (r < 0) {
		fprintf(stderr, "portcheck: %s\n", cfg_error ?: strerror(-r));
		return a->nagios ? nagios_unknown(cfg_error ?: strerror(-r)) : EXIT_USAGE;
	}
	/* TextfilePath= is for the timer's run; a Nagios agent runs as another user, and
	 * would fail to write the timer's file (or race it). */
	if (!textfile && !a->nagios && cfg.textfile_path && *cfg.textfile_path)
		textfile = cfg.textfile_path;

	clock_gettime(CLOCK_REALTIME, &now);
	ret = check_fetch(path, &cfg, a->nagios, &reply, &check, &why);
	answered = ret == EXIT_CLEAN;
	if (answered)
		ret = check.n_findings ? EXIT_FINDINGS : EXIT_CLEAN;

	/* First the metrics: under --nagios, failing to write them makes the line UNKNOWN. */
	if (textfile) {
		r = pc_check_metrics(answered ? &check : NULL,
				     (double)now.tv_sec + (double)now.tv_nsec / 1e9,
				     PORTCHECK_VERSION, &metrics);
		if (r >= 0)
			r = pc_textfile_write(textfile, metrics, strlen(metrics));
		if (r < 0) {
			fprintf(stderr, "portcheck: cannot write the metrics to %s: %s\n", textfile,
				strerror(-r));
			if (a->nagios) {
				free(why);
				if (asprintf(&why, "cannot write the metrics to %s: %s", textfile,
					     strerror(-r)) < 0)
					why = NULL;
				answered = false;
			}
			ret = EXIT_NO_ANSWER;
		}
	}

	ret = check_print(a, json, answered, &cfg, &reply, &check, why, ret);
	if (fflush(stdout) != 0)
		ret = a->nagios ? PC_NAGIOS_UNKNOWN : EXIT_NO_ANSWER;
	pc_check_clear(&check);
	pc_varlink_reply_clear(&reply);
	return ret;
}

/* "80/tcp" → port and protocol. Returns 0 or -EINVAL. */
static int parse_port_proto(const char *spec, long *ret_port, const char **ret_proto)
{
	const char *slash = strchr(spec, '/');
	char *end;
	long port;

	if (!slash)
		return -EINVAL;
	errno = 0;
	port = strtol(spec, &end, 10);
	if (errno || end != slash || port < 1 || port > 65535)
		return -EINVAL;
	if (strcmp(slash + 1, "tcp") != 0 && strcmp(slash + 1, "udp") != 0)
		return -EINVAL;
	*ret_port = port;
	*ret_proto = slash + 1;
	return 0;
}

/* "40000" → a source port. Returns 0 or -EINVAL. */
static int parse_sport(const char *s, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return -EINVAL;
	*ret = v;
	return 0;
}

static bool verdict_is_accept(const json_t *path)
{
	const char *v = json_string_value(json_object_get(path, "verdict"));

	return v && strcmp(v, "accept") == 0;
}

struct explain_args {
	const char *spec, *from, *iface, *to, *sport;
};

static int cmd_explain(const char *path, const struct explain_args *a, bool json)
{
	struct pc_varlink_reply reply;
	_cleanup_close_ int fd = -1;
	const char *proto;
	json_t *params;
	long port, sport = 0;
	int r, ret;

	if (parse_port_proto(a->spec, &port, &proto) < 0)
		return usage_error("'%s' is not PORT/PROTO (e.g. 80/tcp; tcp or udp)", a->spec);
	if (!a->from)
		return usage_error("explain needs --from ADDR: the client's address");
	if (a->sport && parse_sport(a->sport, &sport) < 0)
		return usage_error("--sport '%s' is not a port number (1-65535)", a->sport);
	params = json_pack("{s:i,s:s,s:s,s:s?,s:s?}", "port", (int)port, "protocol", proto, "from",
			   a->from, "iface", a->iface, "to", a->to);
	if (params && a->sport && json_object_set_new(params, "sport", json_integer(sport)) < 0) {
		json_decref(params);
		params = NULL;
	}
	if (!params)
		return usage_error("cannot build the request");

	r = pc_varlink_connect(path, PC_VARLINK_TIMEOUT_MS, &fd);
	if (r >= 0)
		r = pc_varlink_call(fd, "io.portcheck.Explain", params, PC_VARLINK_TIMEOUT_MS,
				    &reply);
	json_decref(params);
	if (r < 0)
		return no_answer(stderr, path, r);
	if (reply.error) {
		if (strcmp(reply.error, PC_VARLINK_ERROR_INVALID_PARAMETER) == 0)
			ret = usage_error(
			    "portcheckd refused parameter '%s'",
			    json_string_value(json_object_get(reply.parameters, "parameter"))
				?: "?");
		else if (strcmp(reply.error, "io.portcheck.BadRequest") == 0 &&
			 json_string_value(json_object_get(reply.parameters, "parameter")) &&
			 *json_string_value(json_object_get(reply.parameters, "parameter")))
			ret = usage_error(
			    "%s: %s",
			    json_string_value(json_object_get(reply.parameters, "parameter")),
			    json_string_value(json_object_get(reply.parameters, "reason"))
				?: "invalid");
		else
			ret = error_reply(stderr, &reply);
		goto out;
	}
	ret = verdict_is_accept(reply.parameters) ? EXIT_CLEAN : EXIT_FINDINGS;
	if (print_reply(reply.parameters, json, pc_render_explain) < 0)
		ret = EXIT_NO_ANSWER;
out:
	pc_varlink_reply_clear(&reply);
	return ret;
}

static int cmd_change(const char *path, bool open, const struct change_args *a, bool json)
{
	struct pc_varlink_reply reply;
	_cleanup_close_ int fd = -1;
	json_t *params;
	long timeout = 0;
	int r, ret;

	if (a->timeout) {
		if (!open)
			return usage_error("--timeout belongs to open");
		if (a->permanent)
			return usage_error(
			    "--timeout is for runtime changes; it cannot be combined "
			    "with --permanent");
		timeout = parse_duration(a->timeout);
		if (timeout < 0)
			return usage_error("'%s' is not a duration (5s, 10m, 1h, 1d or seconds; at "
					   "most 30 days)",
					   a->timeout);
	}
	params = json_pack("{s:s,s:s?,s:b,s:b}", "spec", a->spec, "zone", a->zone, "permanent",
			   a->permanent, "dry_run", a->dry_run);
	if (params && timeout && json_object_set_new(params, "timeout", json_integer(timeout)) < 0)
		json_decref(TAKE_PTR(params));
	if (!params)
		return usage_error("cannot build the request");

	r = pc_varlink_connect(path, PC_VARLINK_TIMEOUT_MS, &fd);
	if (r >= 0)
		r = pc_varlink_call(fd, open ? "io.portcheck.Open" : "io.portcheck.Close", params,
				    PC_VARLINK_TIMEOUT_MS, &reply);
	json_decref(params);
	if (r < 0)
		return no_answer(stderr, path, r);
	if (reply.error) {
		ret = change_error(&reply);
		goto out;
	}
	if (!json_is_array(json_object_get(reply.parameters, "changes"))) {
		fputs("portcheck: portcheckd sent a malformed reply (no changes)\n", stderr);
		ret = EXIT_NO_ANSWER;
		goto out;
	}
	ret = pc_render_change_findings(reply.parameters) > 0 ? EXIT_FINDINGS : EXIT_CLEAN;
	if (print_reply(reply.parameters, json, pc_render_change) < 0)
		ret = EXIT_NO_ANSWER;
out:
	pc_varlink_reply_clear(&reply);
	return ret;
}

/* Everything the command line says besides the command and its arguments. */
struct cli {
	struct explain_args ex;
	struct change_args ch;
	struct check_args ck;
	const char *socket_arg;
	bool json, fresh;
};

static const struct option cli_options[] = {
    {"socket", required_argument, NULL, 's'},  {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},	       {"version", no_argument, NULL, 'V'},
    {"from", required_argument, NULL, 'f'},    {"iface", required_argument, NULL, 'i'},
    {"to", required_argument, NULL, 't'},      {"sport", required_argument, NULL, 'S'},
    {"zone", required_argument, NULL, 'z'},    {"permanent", no_argument, NULL, 'P'},
    {"timeout", required_argument, NULL, 'T'}, {"dry-run", no_argument, NULL, 'n'},
    {"quiet", no_argument, NULL, 'q'},	       {"textfile", required_argument, NULL, 'x'},
    {"nagios", no_argument, NULL, 'N'},	       {"config", required_argument, NULL, 'c'},
    {"fresh", no_argument, NULL, 'F'},	       {},
};

/* The options, up to the command. Returns -1 to go on, else the exit status (--help, errors). */
static int parse_options(int argc, char **argv, struct cli *o)
{
	int c;

	/* Our own messages, not getopt's: they end in the --help hint. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", cli_options, NULL)) >= 0) {
		switch (c) {
		case 's':
			o->socket_arg = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'f':
			o->ex.from = optarg;
			break;
		case 'i':
			o->ex.iface = optarg;
			break;
		case 't':
			o->ex.to = optarg;
			break;
		case 'S':
			o->ex.sport = optarg;
			break;
		case 'z':
			o->ch.zone = optarg;
			break;
		case 'P':
			o->ch.permanent = true;
			break;
		case 'T':
			o->ch.timeout = optarg;
			break;
		case 'n':
			o->ch.dry_run = true;
			break;
		case 'q':
			o->ck.quiet = true;
			break;
		case 'F':
			o->fresh = true;
			break;
		case 'x':
			o->ck.textfile = optarg;
			break;
		case 'N':
			o->ck.nagios = true;
			break;
		case 'c':
			o->ck.config = optarg;
			break;
		case 'h':
			pc_cli_usage(stdout);
			return EXIT_CLEAN;
		case 'V':
			printf("portcheck %s\n", PORTCHECK_VERSION);
			return EXIT_CLEAN;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	return -1;
}

/* open or close SPEC, after checking SPEC here too. */
static int change_command(int argc, char **argv, const char *command, const struct cli *o)
{
	struct change_args ch = o->ch;
	bool open = strcmp(command, "open") == 0;

	if (o->ex.from || o->ex.iface || o->ex.to || o->ex.sport)
		return usage_error("--from, --iface, --to and --sport belong to explain");
	if (optind >= argc)
		return usage_error("%s needs SPEC: 80/tcp, 8000-8010/udp, a service name "
				   "(http) or a comma-separated list",
				   command);
	ch.spec = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	{
		/* The daemon checks it too; checking here gives exit 2 for a typo even
		 * when the daemon is down or the caller may not change the firewall. */
		_cleanup_free_ char *why = NULL;
		struct pc_fw_spec spec;

		if (pc_fw_spec_parse(ch.spec, &spec, &why) < 0)
			return usage_error("invalid SPEC: %s", why ? why : "out of memory");
	}
	return cmd_change(pc_varlink_socket_path(o->socket_arg), open, &ch, o->json);
}

int main(int argc, char **argv)
{
	struct cli o = {0};
	const char *command;
	int r = parse_options(argc, argv, &o);

	if (r >= 0)
		return r;
	if (optind >= argc)
		return usage_error("no command given");
	command = argv[optind++];
	if (o.fresh && strcmp(command, "status") != 0)
		return usage_error("--fresh belongs to status");
	if (strcmp(command, "check") == 0) {
		if (o.ex.from || o.ex.iface || o.ex.to || o.ex.sport)
			return usage_error("--from, --iface, --to and --sport belong to explain");
		if (o.ch.zone || o.ch.permanent || o.ch.timeout || o.ch.dry_run)
			return usage_error("--zone, --permanent, --timeout and --dry-run belong to "
					   "open and close");
		if (optind < argc)
			return usage_error("unexpected argument '%s'", argv[optind]);
		return cmd_check(pc_varlink_socket_path(o.socket_arg), &o.ck, o.json);
	}
	if (o.ck.quiet || o.ck.textfile || o.ck.nagios || o.ck.config)
		return usage_error("--quiet, --textfile, --nagios and --config belong to check");
	if (strcmp(command, "open") == 0 || strcmp(command, "close") == 0)
		return change_command(argc, argv, command, &o);
	if (o.ch.zone || o.ch.permanent || o.ch.timeout || o.ch.dry_run)
		return usage_error(
		    "--zone, --permanent, --timeout and --dry-run belong to open and "
		    "close");
	if (strcmp(command, "explain") == 0) {
		if (optind >= argc)
			return usage_error("explain needs PORT/PROTO, e.g. 80/tcp");
		o.ex.spec = argv[optind++];
		if (optind < argc)
			return usage_error("unexpected argument '%s'", argv[optind]);
		return cmd_explain(pc_varlink_socket_path(o.socket_arg), &o.ex, o.json);
	}
	if (o.ex.from || o.ex.iface || o.ex.to || o.ex.sport)
		return usage_error("--from, --iface, --to and --sport belong to explain");
	if (strcmp(command, "status") == 0) {
		if (optind < argc)
			return usage_error("unexpected argument '%s'", argv[optind]);
		return cmd_status(pc_varlink_socket_path(o.socket_arg), o.fresh, o.json);
	}
	return usage_error("unknown command '%s'", command);
}
