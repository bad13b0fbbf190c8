/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/*
 * The run ledger: every QEMU start of a guest is a run, recorded in one file
 * per guest, run/berth/cleanup/<vmid>.run under the root prefix, so that a
 * restarted cleanupd knows which runs still need their cleanup. The file is
 * "key=value" lines; unknown, duplicate or invalid keys make it corrupt
 * (-EBADMSG), never silently dropped.
 *
 * The pid alone does not name a process (pids are reused), so the process's
 * start time (clock ticks since boot, field 22 of /proc/<pid>/stat) is
 * recorded with it and both must match for the run's QEMU to count as alive.
 */

#define RUN_ID_MAX 128U /* bytes of a run id */
#define RUN_REASON_MAX 256U /* bytes of a stop reason */
#define RUN_RESULT_MAX 256U /* bytes of a cleanup result */
#define RUN_LEDGER_MAX_SIZE 4096U /* bytes of a ledger file */

/* Only ever moves forward: running → stopping → cleaning → clean, or running → cleaning after a crash. */
typedef enum RunState {
        RUN_RUNNING,
        RUN_STOPPING,
        RUN_CLEANING,
        RUN_CLEAN,
        _RUN_STATE_MAX,
        _RUN_STATE_INVALID = -EINVAL,
} RunState;

const char *run_state_to_string(RunState s);
RunState run_state_from_string(const char *s);

/* What the host asked for when stopping the guest; applied by the cleanup. */
typedef struct RunStopIntent {
        bool keep_active; /* leave the guest's volumes active */
        const char *reason; /* NULL or "" for none; printable, no control characters */
        bool skip_post_stop; /* a migration source: the guest lives on elsewhere */
        bool reboot; /* start the guest again once clean */
} RunStopIntent;

typedef struct Run {
        uint32_t vmid;
        char *run_id;
        pid_t pid;
        uint64_t pid_start_time;
        RunState state;
        bool keep_active;
        char *reason; /* NULL when none */
        bool skip_post_stop;
        bool reboot;
        char *result; /* NULL until clean, and optional then */
} Run;

Run *run_free(Run *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Run *, run_free);

/*
 * A new run in state running for the process pid, its start time read from
 * /proc. -ESRCH when the process is gone, -EINVAL for an invalid vmid, run id
 * (1–RUN_ID_MAX printable ASCII characters, no spaces) or pid.
 */
int run_new(uint32_t vmid, const char *run_id, pid_t pid, Run **ret);

/* -EINVAL unless to is a forward move the state machine allows from r's state. */
int run_transition(Run *r, RunState to);
/* Moves a cleaning run to clean with result (NULL for none; printable, at most RUN_RESULT_MAX bytes). */
int run_finish(Run *r, const char *result);
/* -EINVAL once cleaning has begun, or for an invalid reason; replaces any earlier intent. */
int run_set_stop_intent(Run *r, const RunStopIntent *i);

/*
 * The exactly-once primitive: moves a running or stopping run to cleaning and
 * saves the ledger before returning 1, so the caller, and only it, does the
 * cleanup. Returns 0 when cleanup was already claimed (cleaning or clean). On
 * a failed save r is left unchanged. Two Run objects for the same run in one
 * process are not reconciled: the daemon keeps exactly one per guest.
 */
int run_claim_cleanup(Run *r);

/*
 * 1 if the run's process exists, is not a zombie and has the recorded start
 * time; 0 otherwise (a reused pid is a different process); -errno when /proc
 * cannot be read.
 */
int run_process_alive(const Run *r);

/* Parses a ledger file's text for guest vmid; -EBADMSG when it is not a valid ledger. Pure. */
int run_parse(uint32_t vmid, const char *text, Run **ret);
/* Formats a valid run in canonical form (fixed key order), which run_parse() accepts. Pure. */
char *run_format(const Run *r);

/* Loads the guest's ledger: -ENOENT when there is none, -EBADMSG when it is corrupt. */
int ledger_load(uint32_t vmid, Run **ret);
/* Writes the run's ledger atomically; -EINVAL for an invalid run. */
int ledger_save(const Run *r);
/* Removes the guest's ledger; a missing one is not an error. */
int ledger_remove(uint32_t vmid);
/*
 * The vmids that have a ledger, sorted. Files that are not "<vmid>.run", such
 * as the temp files of an interrupted atomic write, are skipped.
 */
int ledger_list(uint32_t **ret_vmids, size_t *ret_n);
