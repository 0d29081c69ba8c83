/* SPDX-License-Identifier: MIT */
/* Asking polkit whether a local process may do something. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* firewalld's own action for configuration changes: existing firewalld policy decides. */
#define PC_POLKIT_ACTION_FIREWALLD_CONFIG "org.fedoraproject.FirewallD1.config"

/*
 * The start time of @pid (field 22 of /proc/PID/stat, clock ticks since boot), which polkit
 * uses with the pid to tell a process from a later one with the same pid. Pure on @stat.
 * Returns 0 or -EINVAL.
 */
int pc_polkit_parse_start_time(const char *stat, uint64_t *ret);

/* The start time of @pid from /proc/PID/stat. Returns 0 or -errno. */
int pc_polkit_read_start_time(pid_t pid, uint64_t *ret);

/*
 * Ask polkit (CheckAuthorization, no interaction) whether process @pid of @uid, started
 * at @start_time (read when it connected), may do @action, over a private system bus
 * connection, waiting at most @timeout_ms. Returns 1 authorized, 0 not authorized, or
 * -errno (polkit not on the bus, error, timeout) with a message in *ret_error: the
 * caller refuses then too.
 */
int pc_polkit_check(pid_t pid, uid_t uid, uint64_t start_time, const char *action, int timeout_ms,
		    char **ret_error);
