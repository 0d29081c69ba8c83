/* SPDX-License-Identifier: MIT */
/* Writing a node_exporter textfile so that a scrape never sees half of it. */
#pragma once

#include <stddef.h>

/*
 * Replace the file @path with the @len bytes at @data: they go to a temporary file in the
 * same directory (a rename is atomic only within one file system), named ".NAME.XXXXXX"
 * so that node_exporter's textfile collector, which reads "*.prom" only, never picks it
 * up; then mode 0644 (the collector runs as another user), fsync, rename over @path, and
 * fsync of the directory so the rename survives a crash. On failure the temporary file is
 * removed and @path is left as it was. Returns 0 or -errno.
 */
int pc_textfile_write(const char *path, const char *data, size_t len);
