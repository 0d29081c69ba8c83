/* SPDX-License-Identifier: MIT */
/*
 * Rendering replies for humans. The reply comes from another process: every field may be
 * missing or wrongly typed, and is then shown as "?" rather than trusted.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/*
 * Write a Status reply's parameters (docs/json.md, version 1) to @f as a
 * table: a firewalld line, then one line per listener (port, address, process, exposure,
 * zone and why, fix), with indented lines for paths that differ. @colour adds ANSI
 * colours; the caller decides (a terminal, NO_COLOR unset). Text from the reply is
 * stripped of control characters. Returns 0, -ENOMEM, or -EIO when writing failed.
 */
int pc_render_status(FILE *f, const json_t *status, bool colour);

/*
 * The number of listeners that are findings: exposure "blocked", "partial", "unknown",
 * or anything unrecognised (a reply that cannot be read is not a clean bill).
 */
size_t pc_render_status_findings(const json_t *status);

/*
 * Write an Explain reply (one path with its trace, docs/json.md) to @f: the flow, the
 * verdict, what the client sees, the deciding rule, firewalld's view, then every rule met
 * in order. Returns 0, -ENOMEM, or -EIO.
 */
int pc_render_explain(FILE *f, const json_t *path, bool colour);

/*
 * Write an Open or Close reply to @f in words: one line per zone and item changed (or, in
 * a dry run, that would be), the notes, then per listener on those ports its exposure
 * afterwards and, when still refused, why. Returns 0, -ENOMEM, or -EIO.
 */
int pc_render_change(FILE *f, const json_t *reply, bool colour);

/*
 * The listeners an Open or Close did not get where it meant to: Open, not open (nor
 * local-only); Close, still open or partly open. 0 for a dry run.
 */
size_t pc_render_change_findings(const json_t *reply);
