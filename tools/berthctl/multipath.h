/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/*
 * berthctl multipath ...: the cluster's multipath configuration through
 * org.berth.multipath1. Its commands take options of their own, so the group
 * parses the whole command line itself, berthctl's global options included.
 */

/* Whether the command line's command is "multipath" (global options may come first). */
bool multipath_is_command(int argc, char *argv[]);
/* Runs it; berthctl's exit status. */
int multipath_main(int argc, char *argv[]);
