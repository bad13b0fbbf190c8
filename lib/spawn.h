/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * The one way berth runs external programs: fork + execve, no shell, a clean
 * environment (PATH plus what the caller adds), every fd closed but the ones
 * asked for, the argv logged at debug level. A dry-run hook lets tests record
 * command lines instead of running them.
 */

typedef struct SpawnOptions {
        char *const *env; /* extra "KEY=value" entries, NULL-terminated */
        const int *keep_fds; /* passed to the child under the same numbers */
        size_t n_keep_fds;
        const char *log_path; /* stdout and stderr are appended here; NULL means /dev/null */
        bool new_process_group;
} SpawnOptions;

typedef void (*SpawnDryRunHook)(char *const argv[], void *userdata);

/* While a hook is set, spawn() calls it instead of running anything and reports pid 0. */
void spawn_set_dry_run(SpawnDryRunHook hook, void *userdata);

int spawn(char *const argv[], const SpawnOptions *o, pid_t *ret_pid);
/* Runs argv to completion. Returns -errno if it could not run, else its exit status (128+N for a signal). */
int spawn_and_wait(char *const argv[], const SpawnOptions *o);
/* Waits for pid and returns its exit status (128+N for a signal) or -errno. */
int spawn_wait(pid_t pid);
