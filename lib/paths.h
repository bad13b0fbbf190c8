/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Every berth path hangs off one root prefix (--root, default "/"), so tests and
 * the dev stack run entirely inside a temporary directory.
 */

#include "macro.h"

/* Sets the root prefix; a relative dir is made absolute. Returns -errno. */
int paths_set_root(const char *dir);
const char *paths_root(void);
/* Returns a newly allocated absolute path: the root joined with the formatted relative path. */
char *root_path(const char *fmt, ...) _printf_(1, 2);
