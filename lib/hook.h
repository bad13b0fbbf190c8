/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

struct event_base;

/*
 * A guest's hook script, run as "<script> <vmid> <phase>" (pre-start,
 * post-start, pre-stop, post-stop) through lib/spawn, in a process group of
 * its own so that whatever it starts goes with it. Its end is noticed through
 * a pidfd on the event loop; one that outlasts its timeout is killed, group
 * and all. Its output goes to the log file given, if any.
 */

typedef struct Hook Hook;

/*
 * Called once, from the event loop: status is the hook's exit status (128+N
 * for signal N) or -errno when it could not be reaped; timed_out says it was
 * killed for running too long. The handler may free the hook.
 */
typedef void (*HookDoneHandler)(Hook *h, int status, bool timed_out, void *userdata);

typedef struct HookOptions {
        char *const *env; /* extra "KEY=value" entries, NULL-terminated; may be NULL */
        const char *log_path; /* stdout and stderr are appended here; NULL means discarded */
        unsigned timeout_sec;
} HookOptions;

int hook_start(struct event_base *base, const char *script, uint32_t vmid, const char *phase,
        const HookOptions *o, HookDoneHandler done, void *userdata, Hook **ret);
/* Frees the hook; one still running is killed and reaped first, without its handler being called. */
Hook *hook_free(Hook *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hook *, hook_free);

pid_t hook_get_pid(const Hook *h);

/* Where the hooks of a guest write their output: var/log/berth/hooks/<vmid>.log, its directory created. */
char *hook_log_path(uint32_t vmid);
