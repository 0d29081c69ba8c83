/* SPDX-License-Identifier: MIT */
/* Collecting a Status reply: read every source, analyse, serialise. The daemon's only
 * entry point into the core for io.portcheck.Status. */
#pragma once

#include <jansson.h>

struct pc_status_options {
	int dbus_timeout_ms; /* per firewalld call */
	int dbus_budget_ms;  /* for all firewalld calls of one collection */
};

/*
 * Read listeners, interfaces and firewalld, run the analysis and build the Status reply
 * parameters (DESIGN.md schema, version 1). firewalld faults are part of the reply, not
 * errors. Returns 0 and a new reference in *ret, or -errno when the kernel could not be read.
 */
int pc_status_collect(const struct pc_status_options *opts, json_t **ret);
