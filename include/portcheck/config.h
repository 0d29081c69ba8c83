/* SPDX-License-Identifier: MIT */
/*
 * portcheck.conf(5): the settings shared by portcheckd and `portcheck check`, read from
 * the UAPI configuration-file locations (see docs/system-service.md). Parsing is pure
 * (pc_config_parse_text); only pc_config_load touches the file system.
 *
 * Why not libeconf: every error must name the file and the line, including an unknown
 * key or a bad value; libeconf 0.5 (Debian 12) reports a position only for syntax errors
 * and loses which drop-in a merged key came from.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "portcheck/util.h"

enum pc_ignore_proto {
	PC_IGNORE_ANY = 0,
	PC_IGNORE_TCP,
	PC_IGNORE_UDP,
};

struct pc_port_range {
	uint16_t low, high;
	enum pc_ignore_proto proto;
};

struct pc_config {
	/* [Daemon] */
	char *read_group;	      /* "" or NULL: root only */
	unsigned rescan_interval_sec; /* 0: no periodic rescan */
	int log_level;		      /* syslog LOG_* */
	/* [Findings] */
	struct pc_port_range *ignore_ports;
	size_t n_ignore_ports;
	struct pc_strv ignore_processes;
	struct pc_strv ignore_units;	  /* fnmatch(3) patterns */
	struct pc_strv ignore_interfaces; /* fnmatch(3) patterns over interface names */
	struct pc_strv ignore_sets;	  /* fnmatch(3) patterns over nftables set names */
	/* [Check] */
	char *textfile_path; /* NULL: none */
};

/* Built-in defaults (ReadGroup=portcheck, RescanIntervalSec=60, LogLevel=info).
 * Returns 0 or -ENOMEM. */
int pc_config_init(struct pc_config *cfg);

/* Free everything and leave @cfg zeroed. NULL-safe. */
void pc_config_clear(struct pc_config *cfg);

/*
 * Apply the settings in @text (the contents of @filename, used in messages) on top of
 * @cfg. On error returns -EINVAL (or -ENOMEM) and sets *ret_error to a malloc'ed
 * "FILE:LINE: what is wrong" message; @cfg may then hold part of the file's settings, so
 * callers parse into a scratch copy (pc_config_load does).
 */
int pc_config_parse_text(struct pc_config *cfg, const char *filename, const char *text,
			 char **ret_error);

/*
 * Load the configuration: defaults, then @explicit_path alone if not NULL (it must
 * exist), else the main file and the drop-ins from the UAPI locations under @root (NULL
 * or "" for "/"; the environment variable PORTCHECK_CONFIG_ROOT is the caller's business).
 * On success moves the result into *ret_cfg (which the caller has cleared). On failure
 * returns -errno and a malloc'ed message in *ret_error; *ret_cfg is untouched.
 */
int pc_config_load(const char *root, const char *explicit_path, struct pc_config *ret_cfg,
		   char **ret_error);

/* Whether [Findings] says to leave this listener out of findings. @process and @unit
 * may be NULL. @proto is "tcp" or "udp". */
bool pc_config_ignores(const struct pc_config *cfg, const char *proto, unsigned port,
		       const char *process, const char *unit);

/* "err" ... "debug" to LOG_*; -EINVAL for anything else. */
int pc_config_parse_log_level(const char *s);
