/* SPDX-License-Identifier: MIT */
/* portcheck.conf(5): see include/portcheck/config.h and docs/system-service.md. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>

#include "portcheck/config.h"

/* A config file larger than this is a mistake, not a config. */
#define CONFIG_MAX_SIZE (1024 * 1024)
/* Drop-ins considered per directory; more is refused rather than read slowly. */
#define CONFIG_MAX_DROPINS 256
/* RescanIntervalSec= upper bound: a day. Longer is a typo for "off" (0). */
#define RESCAN_MAX_SEC 86400

static const char *const config_dirs[] = {"/etc/portcheck", "/run/portcheck", "/usr/lib/portcheck"};

int pc_config_init(struct pc_config *cfg)
{
	*cfg = (struct pc_config){0};
	cfg->read_group = strdup("portcheck");
	if (!cfg->read_group)
		return -ENOMEM;
	cfg->rescan_interval_sec = 60;
	cfg->log_level = LOG_INFO;
	return 0;
}

void pc_config_clear(struct pc_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->read_group);
	free(cfg->ignore_ports);
	pc_strv_clear(&cfg->ignore_processes);
	pc_strv_clear(&cfg->ignore_units);
	pc_strv_clear(&cfg->ignore_interfaces);
	pc_strv_clear(&cfg->ignore_sets);
	free(cfg->textfile_path);
	*cfg = (struct pc_config){0};
}

int pc_config_parse_log_level(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
	    {"emerg", LOG_EMERG}, {"alert", LOG_ALERT},	    {"crit", LOG_CRIT},
	    {"err", LOG_ERR},	  {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
	    {"info", LOG_INFO},	  {"debug", LOG_DEBUG},
	};

	for (size_t i = 0; i < ELEMENTSOF(levels); i++)
		if (strcmp(s, levels[i].name) == 0)
			return levels[i].level;
	return -EINVAL;
}

__attribute__((format(printf, 4, 5))) static int fail(char **ret_error, const char *file,
						      unsigned line, const char *format, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;
	int r;

	va_start(ap, format);
	what = pc_vstrdupf(format, ap);
	va_end(ap);
	if (!what)
		return -ENOMEM;
	if (line)
		r = asprintf(ret_error, "%s:%u: %s", file, line, what);
	else
		r = asprintf(ret_error, "%s: %s", file, what);
	return r < 0 ? -ENOMEM : -EINVAL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/*
 * A time span as systemd writes them, in whole seconds: "60", "90s", "5min", "1h 30min",
 * "1d". Units: s sec second(s), m min minute(s), h hr hour(s), d day(s). Returns 0 or
 * -EINVAL (also beyond @max).
 */
static int parse_timespan_sec(const char *s, unsigned long max, unsigned long *ret)
{
	static const struct {
		const char *name;
		unsigned long mult;
	} units[] = {
	    {"seconds", 1}, {"second", 1}, {"sec", 1},	    {"s", 1},	     {"minutes", 60},
	    {"minute", 60}, {"min", 60},   {"m", 60},	    {"hours", 3600}, {"hour", 3600},
	    {"hr", 3600},   {"h", 3600},   {"days", 86400}, {"day", 86400},  {"d", 86400},
	};
	unsigned long total = 0;
	bool any = false;

	while (*s) {
		unsigned long v, mult = 1;
		char *end;
		size_t i;

		s += strspn(s, " ");
		if (!*s)
			break;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || v > max)
			return -EINVAL;
		s = end + strspn(end, " ");
		for (i = 0; i < ELEMENTSOF(units); i++) {
			size_t len = strlen(units[i].name);

			if (strncmp(s, units[i].name, len) == 0 &&
			    (s[len] == '\0' || s[len] == ' ' || (s[len] >= '0' && s[len] <= '9'))) {
				mult = units[i].mult;
				s += len;
				break;
			}
		}
		if (i == ELEMENTSOF(units) && *s && !(*s >= '0' && *s <= '9') && *s != ' ')
			return -EINVAL; /* an unknown unit */
		if (v > (max - total) / mult)
			return -EINVAL;
		total += v * mult;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*ret = total;
	return 0;
}

/* "80/tcp", "6000-6010/udp", "53": one entry of IgnorePorts=. */
static int parse_port_range(const char *word, struct pc_port_range *ret)
{
	_cleanup_free_ char *copy = strdup(word);
	struct pc_port_range pr = {.proto = PC_IGNORE_ANY};
	unsigned long low, high;
	char *slash, *dash;

	if (!copy)
		return -ENOMEM;
	slash = strchr(copy, '/');
	if (slash) {
		*slash++ = '\0';
		if (strcmp(slash, "tcp") == 0)
			pr.proto = PC_IGNORE_TCP;
		else if (strcmp(slash, "udp") == 0)
			pr.proto = PC_IGNORE_UDP;
		else
			return -EINVAL;
	}
	dash = strchr(copy, '-');
	if (dash)
		*dash++ = '\0';
	if (parse_uint(copy, 65535, &low) < 0 || low == 0)
		return -EINVAL;
	high = low;
	if (dash && (parse_uint(dash, 65535, &high) < 0 || high < low))
		return -EINVAL;
	pr.low = (uint16_t)low;
	pr.high = (uint16_t)high;
	*ret = pr;
	return 0;
}

/* Split @value on blanks, calling @fn for each word. */
static int for_each_word(char *value, int (*fn)(struct pc_config *, const char *),
			 struct pc_config *cfg, const char **ret_bad)
{
	char *save = NULL;

	for (char *w = strtok_r(value, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		int r = fn(cfg, w);

		if (r < 0) {
			*ret_bad = w;
			return r;
		}
	}
	return 0;
}

static int add_ignore_port(struct pc_config *cfg, const char *word)
{
	struct pc_port_range pr, *n;
	int r = parse_port_range(word, &pr);

	if (r < 0)
		return r;
	n = pc_array_grow(&cfg->ignore_ports, &cfg->n_ignore_ports, sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = pr;
	return 0;
}

static int add_ignore_process(struct pc_config *cfg, const char *word)
{
	/* The kernel's comm is at most 15 bytes: a longer name can never match. */
	if (strlen(word) > 15)
		return -ERANGE;
	return pc_strv_push(&cfg->ignore_processes, word);
}

static int add_ignore_unit(struct pc_config *cfg, const char *word)
{
	return pc_strv_push(&cfg->ignore_units, word);
}

static int add_ignore_interface(struct pc_config *cfg, const char *word)
{
	/* A pattern may be longer than a name ("[abc][abc]..."), but not without bound. */
	if (strlen(word) > 64)
		return -ERANGE;
	return pc_strv_push(&cfg->ignore_interfaces, word);
}

static int add_ignore_set(struct pc_config *cfg, const char *word)
{
	/* nft allows set names of up to 255 bytes; a pattern a little longer. */
	if (strlen(word) > 300)
		return -ERANGE;
	return pc_strv_push(&cfg->ignore_sets, word);
}

static int set_string(char **field, const char *value)
{
	char *v = strdup(value);

	if (!v)
		return -ENOMEM;
	free(*field);
	*field = v;
	return 0;
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

/* One Key=value in [Daemon]: as apply_setting(). */
static int apply_daemon(struct pc_config *cfg, const char *file, unsigned line, const char *key,
			char *value, char **ret_error)
{
	unsigned long n;
	int r;

	if (strcmp(key, "ReadGroup") == 0) {
		if (strpbrk(value, " \t:"))
			return fail(ret_error, file, line, "ReadGroup=%s: not a group name", value);
		return set_string(&cfg->read_group, value);
	}
	if (strcmp(key, "RescanIntervalSec") == 0) {
		if (parse_timespan_sec(value, RESCAN_MAX_SEC, &n) < 0)
			return fail(ret_error, file, line,
				    "RescanIntervalSec=%s: expected a time span from 0 "
				    "(off) to a day: 60, 90s, 5min, 1h",
				    value);
		cfg->rescan_interval_sec = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "LogLevel") == 0) {
		r = pc_config_parse_log_level(value);
		if (r < 0)
			return fail(ret_error, file, line,
				    "LogLevel=%s: expected err, warning, notice, "
				    "info or debug",
				    value);
		cfg->log_level = r;
		return 0;
	}
	return fail(ret_error, file, line,
		    "unknown key '%s' in [Daemon] (known: ReadGroup, "
		    "RescanIntervalSec, LogLevel)",
		    key);
}

/* One Key=value in [Findings]: as apply_setting(). */
static int apply_findings(struct pc_config *cfg, const char *file, unsigned line, const char *key,
			  char *value, char **ret_error)
{
	const char *bad = NULL;
	int r;

	/* An empty assignment resets the list, as in systemd unit files. */
	if (strcmp(key, "IgnorePorts") == 0) {
		if (!*value) {
			free(cfg->ignore_ports);
			cfg->ignore_ports = NULL;
			cfg->n_ignore_ports = 0;
			return 0;
		}
		r = for_each_word(value, add_ignore_port, cfg, &bad);
		if (r == -EINVAL)
			return fail(ret_error, file, line,
				    "IgnorePorts=: '%s' is not PORT, LOW-HIGH, "
				    "PORT/tcp or PORT/udp (ports 1-65535)",
				    bad);
		return r;
	}
	if (strcmp(key, "IgnoreProcesses") == 0) {
		if (!*value) {
			pc_strv_clear(&cfg->ignore_processes);
			return 0;
		}
		r = for_each_word(value, add_ignore_process, cfg, &bad);
		if (r == -ERANGE)
			return fail(ret_error, file, line,
				    "IgnoreProcesses=: '%s' is longer than a process "
				    "name can be (15 characters)",
				    bad);
		return r;
	}
	if (strcmp(key, "IgnoreUnits") == 0) {
		if (!*value) {
			pc_strv_clear(&cfg->ignore_units);
			return 0;
		}
		return for_each_word(value, add_ignore_unit, cfg, &bad);
	}
	if (strcmp(key, "IgnoreInterfaces") == 0) {
		if (!*value) {
			pc_strv_clear(&cfg->ignore_interfaces);
			return 0;
		}
		r = for_each_word(value, add_ignore_interface, cfg, &bad);
		if (r == -ERANGE)
			return fail(ret_error, file, line,
				    "IgnoreInterfaces=: '%s' is longer than 64 characters", bad);
		return r;
	}
	if (strcmp(key, "IgnoreSets") == 0) {
		if (!*value) {
			pc_strv_clear(&cfg->ignore_sets);
			return 0;
		}
		r = for_each_word(value, add_ignore_set, cfg, &bad);
		if (r == -ERANGE)
			return fail(ret_error, file, line,
				    "IgnoreSets=: '%s' is longer than 300 characters", bad);
		return r;
	}
	return fail(ret_error, file, line,
		    "unknown key '%s' in [Findings] (known: IgnorePorts, "
		    "IgnoreProcesses, IgnoreUnits, IgnoreInterfaces, IgnoreSets)",
		    key);
}

/* One Key=value in [Check]: as apply_setting(). */
static int apply_check(struct pc_config *cfg, const char *file, unsigned line, const char *key,
		       char *value, char **ret_error)
{

	if (strcmp(key, "TextfilePath") == 0) {
		if (!*value) {
			free(cfg->textfile_path);
			cfg->textfile_path = NULL;
			return 0;
		}
		if (*value != '/')
			return fail(ret_error, file, line,
				    "TextfilePath=%s: must be an absolute path", value);
		return set_string(&cfg->textfile_path, value);
	}
	return fail(ret_error, file, line, "unknown key '%s' in [Check] (known: TextfilePath)",
		    key);
}

/* One Key=value in [section]: 0, -EINVAL with *ret_error set, or -ENOMEM. */
static int apply_setting(struct pc_config *cfg, const char *file, unsigned line,
			 const char *section, const char *key, char *value, char **ret_error)
{
	if (strcmp(section, "Daemon") == 0)
		return apply_daemon(cfg, file, line, key, value, ret_error);
	if (strcmp(section, "Findings") == 0)
		return apply_findings(cfg, file, line, key, value, ret_error);
	if (strcmp(section, "Check") == 0)
		return apply_check(cfg, file, line, key, value, ret_error);
	/* Unreachable: sections are checked when their header is read. */
	return fail(ret_error, file, line, "setting outside a known section");
}

int pc_config_parse_text(struct pc_config *cfg, const char *filename, const char *text,
			 char **ret_error)
{
	_cleanup_free_ char *copy = strdup(text);
	char section[32] = "";
	unsigned lineno = 0;
	char *next;

	if (!copy)
		return -ENOMEM;
	for (char *l = copy; l; l = next) {
		char *eq, *key, *value;
		int r;

		next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		l = strip(l);
		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			size_t len = strlen(l);

			if (l[len - 1] != ']')
				return fail(ret_error, filename, lineno,
					    "expected a [Section] header, got '%s'", l);
			l[len - 1] = '\0';
			if (strcmp(l + 1, "Daemon") != 0 && strcmp(l + 1, "Findings") != 0 &&
			    strcmp(l + 1, "Check") != 0)
				return fail(ret_error, filename, lineno,
					    "unknown section [%s] (known: [Daemon], "
					    "[Findings], [Check])",
					    l + 1);
			snprintf(section, sizeof(section), "%s", l + 1);
			continue;
		}
		if (l[strlen(l) - 1] == '\\')
			return fail(ret_error, filename, lineno,
				    "line continuation is not supported here");
		eq = strchr(l, '=');
		if (!eq)
			return fail(ret_error, filename, lineno, "expected Key=value, got '%s'", l);
		*eq = '\0';
		key = strip(l);
		value = strip(eq + 1);
		if (!*section)
			return fail(ret_error, filename, lineno,
				    "'%s=' before any [Section] header (it belongs in "
				    "[Daemon], [Findings] or [Check])",
				    key);
		r = apply_setting(cfg, filename, lineno, section, key, value, ret_error);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Read all of @path (a missing file is -ENOENT, silently). */
static int read_file(const char *path, char **ret_text, char **ret_error)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t n;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		if (r != -ENOENT)
			fail(ret_error, path, 0, "cannot read: %s", strerror(-r));
		return r;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) {
		/* A symlink to /dev/null masks a file of the same name (UAPI, systemd). */
		fclose(f);
		*ret_text = strdup("");
		return *ret_text ? 0 : -ENOMEM;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_SIZE) {
		fclose(f);
		fail(ret_error, path, 0, "not a regular file of at most %d bytes", CONFIG_MAX_SIZE);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	r = ferror(f) ? -EIO : 0;
	fclose(f);
	if (r < 0) {
		fail(ret_error, path, 0, "cannot read: %s", strerror(EIO));
		return r;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n))
		return fail(ret_error, path, 0, "contains a NUL byte: not a text file");
	*ret_text = TAKE_PTR(buf);
	return 0;
}

static int apply_file(struct pc_config *cfg, const char *path, bool must_exist, char **ret_error)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file(path, &text, ret_error);

	if (r == -ENOENT) {
		if (must_exist)
			return fail(ret_error, path, 0, "no such file");
		return 0;
	}
	if (r < 0)
		return r;
	return pc_config_parse_text(cfg, path, text, ret_error);
}

/* Add the *.conf names in @dir not yet in @names (earlier directories mask later ones). */
static int collect_dropins(const char *dir, struct pc_strv *names, struct pc_strv *paths,
			   char **ret_error)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned seen = 0;
	int r = 0;

	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		_cleanup_free_ char *path = NULL;

		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (pc_strv_contains(names, de->d_name))
			continue;
		if (++seen > CONFIG_MAX_DROPINS) {
			r = fail(ret_error, dir, 0, "more than %d drop-ins", CONFIG_MAX_DROPINS);
			break;
		}
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		r = pc_strv_push(names, de->d_name);
		if (r >= 0)
			r = pc_strv_push(paths, path);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

/* Sort @paths by their file names (the drop-in order is by name, whatever the dir). */
static int cmp_basename(const void *a, const void *b)
{
	const char *x = strrchr(*(char *const *)a, '/'), *y = strrchr(*(char *const *)b, '/');

	return strcmp(x ? x + 1 : *(char *const *)a, y ? y + 1 : *(char *const *)b);
}

static int load_default_locations(struct pc_config *cfg, const char *root, char **ret_error)
{
	struct pc_strv names = {0}, paths = {0};
	int r = 0;

	/* The main file: the first that exists; the others are masked by it. */
	for (size_t i = 0; i < ELEMENTSOF(config_dirs); i++) {
		_cleanup_free_ char *path = NULL;
		_cleanup_free_ char *text = NULL;

		if (asprintf(&path, "%s%s/portcheck.conf", root, config_dirs[i]) < 0)
			return -ENOMEM;
		r = read_file(path, &text, ret_error);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		r = pc_config_parse_text(cfg, path, text, ret_error);
		if (r < 0)
			return r;
		break;
	}

	for (size_t i = 0; i < ELEMENTSOF(config_dirs); i++) {
		_cleanup_free_ char *dir = NULL;

		if (asprintf(&dir, "%s%s/portcheck.conf.d", root, config_dirs[i]) < 0) {
			r = -ENOMEM;
			goto out;
		}
		r = collect_dropins(dir, &names, &paths, ret_error);
		if (r < 0) {
			if (!*ret_error)
				fail(ret_error, dir, 0, "cannot list: %s", strerror(-r));
			goto out;
		}
	}
	if (paths.n)
		qsort(paths.v, paths.n, sizeof(char *), cmp_basename);
	for (size_t i = 0; i < paths.n && r >= 0; i++)
		r = apply_file(cfg, paths.v[i], false, ret_error);
out:
	pc_strv_clear(&names);
	pc_strv_clear(&paths);
	return r;
}

int pc_config_load(const char *root, const char *explicit_path, struct pc_config *ret_cfg,
		   char **ret_error)
{
	struct pc_config cfg;
	char *error = NULL;
	int r;

	r = pc_config_init(&cfg);
	if (r < 0)
		return r;
	if (!root || strcmp(root, "/") == 0)
		root = "";
	if (explicit_path)
		r = apply_file(&cfg, explicit_path, true, &error);
	else
		r = load_default_locations(&cfg, root, &error);
	if (r < 0) {
		pc_config_clear(&cfg);
		if (!error && r == -ENOMEM)
			error = strdup("out of memory");
		*ret_error = error;
		return r;
	}
	*ret_cfg = cfg;
	return 0;
}

bool pc_config_ignores(const struct pc_config *cfg, const char *proto, unsigned port,
		       const char *process, const char *unit)
{
	enum pc_ignore_proto p = strcmp(proto, "tcp") == 0   ? PC_IGNORE_TCP
				 : strcmp(proto, "udp") == 0 ? PC_IGNORE_UDP
							     : PC_IGNORE_ANY;

	for (size_t i = 0; i < cfg->n_ignore_ports; i++) {
		const struct pc_port_range *pr = &cfg->ignore_ports[i];

		if (port >= pr->low && port <= pr->high &&
		    (pr->proto == PC_IGNORE_ANY || pr->proto == p))
			return true;
	}
	if (process && pc_strv_contains(&cfg->ignore_processes, process))
		return true;
	for (size_t i = 0; unit && i < cfg->ignore_units.n; i++)
		if (fnmatch(cfg->ignore_units.v[i], unit, 0) == 0)
			return true;
	return false;
}
