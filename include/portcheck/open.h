/* SPDX-License-Identifier: MIT */
/* io.portcheck.Open and Close: change firewalld, then prove the result by re-analysing. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "portcheck/fwchange.h"
#include "portcheck/status.h"

struct pc_open_request {
	bool open; /* Open, else Close */
	struct pc_fw_spec spec;
	const char *spec_text; /* borrowed from the parameters */
	const char *zone;      /* NULL: chosen (see pc_fw_plan_make) */
	bool permanent;
	int timeout_s; /* 0: none; runtime only */
	bool dry_run;
};

/*
 * Validate Open's or Close's parameters (borrowed: @params must outlive *ret). Pure.
 * Returns 0, or -EINVAL with the bad parameter in *ret_param and a message in *ret_why
 * (malloc'd).
 */
int pc_open_parse(const json_t *params, bool open, struct pc_open_request *ret,
		  const char **ret_param, char **ret_why);

/* Told one line per change actually made, for the daemon's audit log. */
typedef void (*pc_open_audit_fn)(const char *line, void *userdata);

/*
 * Carry out @req: read and analyse, choose the zones, check firewalld, change runtime then
 * permanent (undoing the runtime change when the permanent one fails), re-read and
 * re-analyse. Sets *ret_reply to a complete Varlink reply, success or error
 * (io.portcheck.BadRequest, FirewalldUnavailable, ChangeFailed, NoFirewalld, ReadFailed).
 * Returns 0, or -errno when no reply could be built.
 */
int pc_open_run(const struct pc_status_options *opts, const struct pc_open_request *req,
		pc_open_audit_fn audit, void *userdata, json_t **ret_reply);
