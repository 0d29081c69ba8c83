/* SPDX-License-Identifier: MIT */
/* Private parts of io.portcheck.Open / Close, shared by open.c and open_apply.c. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "portcheck/fwchange.h"
#include "portcheck/open.h"
#include "portcheck/util.h"
#include "portcheck/varlink.h"

#define BUS_TIMEOUT_MS 5000

static inline json_t *error_reply(const char *error, json_t *params)
{
	return pc_varlink_error_new(error, params);
}

static inline const char *kind_name(const struct pc_fw_item *it)
{
	return it->kind == PC_FW_ITEM_PORT ? "port" : "service";
}

/* One Open or Close request being carried out through firewalld. */
struct run {
	const struct pc_open_request *req;
	pc_open_audit_fn audit;
	void *userdata;
	struct pc_fw_bus bus;
	struct pc_strv done; /* changes made so far, in words, for a failure's state */
};

/*
 * Apply every entry of @plan through firewalld, in @run, each entry's change into @changes.
 * Returns 0 when all were applied; 1 with the error reply in *@ret_reply (NULL when out of
 * memory) when one failed or firewalld could not be reached; or -ENOMEM.
 */
int pc_open_apply_plan(struct run *run, const struct pc_fw_plan *plan, const struct pc_sources *src,
		       json_t *changes, char **err, json_t **ret_reply);
