/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What /proc/<pid>/stat says of a process, the fields berth reads. */
typedef struct ProcStat {
        char state; /* R, S, D, Z, X, ... */
        unsigned flags; /* the kernel's PF_* flags of the task */
        uint64_t start_time; /* clock ticks since boot */
} ProcStat;

/* Parses the text of /proc/<pid>/stat; -EBADMSG when it is not of that shape. Pure. */
int proc_stat_parse(const char *text, ProcStat *ret);
/* Whether the text of /proc/<pid>/status shows a SIGKILL pending, for the thread or its group. Pure. */
bool proc_status_sigkill_pending(const char *text);

/* The start time (clock ticks since boot) and state letter of a process; -ESRCH when it is gone. */
int proc_pid_start_time(pid_t pid, uint64_t *ret_start_time, char *ret_state);

/*
 * 1 when the process is on its way out — dead or a zombie, exiting, or with a SIGKILL pending,
 * which nothing survives — 0 when it lives on, -ESRCH when it is gone.
 */
int proc_pid_exiting(pid_t pid);
