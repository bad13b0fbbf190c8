/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/*
 * berthctl access ...: users, groups, roles, ACL entries, API tokens and logins
 * through org.berth.access1. Like multipath, the group parses the whole
 * command line itself, berthctl's global options included.
 */

/* Whether the command line's command is "access" (global options may come first). */
bool access_is_command(int argc, char *argv[]);
/* Runs it; berthctl's exit status. */
int access_main(int argc, char *argv[]);
