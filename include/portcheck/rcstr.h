/* SPDX-License-Identifier: MIT */
/*
 * Reference-counted strings: one copy of a text that many holders name (the analysis'
 * sources forms: 23,500 paths of the bench host carry 4,004 distinct ones). A holder gets
 * a plain `char *` and lets go of it with pc_rcstr_unref, never free().
 */
#pragma once

/* A counted copy of @s with one reference, or NULL when out of memory. */
char *pc_rcstr_new(const char *s);
/* One more reference to @s (NULL stays NULL). */
char *pc_rcstr_ref(char *s);
/* One reference less; the string goes with the last. NULL is ignored. */
void pc_rcstr_unref(char *s);
