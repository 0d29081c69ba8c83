/* SPDX-License-Identifier: MIT */
/* The portcheck command's own parts outside main.c. */
#pragma once

#include <stdio.h>

/* The --help text: usage, commands, options and exit statuses. */
void pc_cli_usage(FILE *f);
