/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/*
 * Tasks: every long operation of a daemon is a task with a UPID
 *   UPID:<node>:<daemon>:<seq-hex>:<starttime-hex>:<type>:<id>:<user>:
 * a log file var/log/berth/tasks/<UPID> that ends with a "TASK ..." line, and
 * an org.berth.Task1 object under <manager path>/task/. Finished tasks stay
 * reachable through org.berth.Tasks1.GetTask() from their log file after the
 * daemon has forgotten them or restarted.
 */

typedef enum TaskState {
        TASK_RUNNING,
        TASK_OK,
        TASK_WARNINGS,
        TASK_ERROR,
        TASK_CANCELLED,
        _TASK_STATE_MAX,
        _TASK_STATE_INVALID = -EINVAL,
} TaskState;

const char *task_state_to_string(TaskState s);
TaskState task_state_from_string(const char *s);

typedef struct Upid {
        char *node;
        char *daemon;
        uint32_t seq;
        uint32_t starttime; /* seconds since the epoch */
        char *type;
        char *id;
        char *user;
} Upid;

char *upid_format(const Upid *u);
/* Parses a UPID; -EINVAL when malformed. Fields are validated so a UPID is always a safe file name. */
int upid_parse(const char *s, Upid *ret);
void upid_done(Upid *u);

typedef struct TaskManager TaskManager;
typedef struct Task Task;
typedef void (*TaskCancelHandler)(Task *t, void *userdata);
typedef void (*TaskFinishHandler)(Task *t, void *userdata);

/*
 * Registers org.berth.Tasks1 on manager_path and the task objects below it.
 * daemon is the short daemon name in UPIDs ("guestd").
 */
int task_manager_new(
        sd_bus *bus, const char *node, const char *daemon, const char *manager_path, TaskManager **ret);
TaskManager *task_manager_free(TaskManager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(TaskManager *, task_manager_free);

/* Starts a task: creates its log file and its object. The manager owns the task. */
int task_new(TaskManager *m, const char *type, const char *id, const char *user, Task **ret);
void task_set_cancel_handler(Task *t, TaskCancelHandler cb, void *userdata);
/* Asks the task's cancel handler to end it: -ESRCH once it has ended, -EOPNOTSUPP when it cannot be cancelled. */
int task_cancel(Task *t);
/*
 * Calls cb once when the task ends, after its Finished signal, handlers in the
 * order they were added; on a task that has already ended, at once. The code
 * that ends a task may still be tidying up when cb runs: act on its outcome
 * later (from the event loop), not from within cb.
 */
void task_add_finish_handler(Task *t, TaskFinishHandler cb, void *userdata);
void task_remove_finish_handler(Task *t, TaskFinishHandler cb, void *userdata);
void task_log(Task *t, const char *fmt, ...) _printf_(2, 3);
/* Ends a task: writes the "TASK ..." line, emits PropertiesChanged and Finished. Only the first call counts. */
void task_finish(Task *t, TaskState state, const char *fmt, ...) _printf_(3, 4);
/* Ends a task in error, naming the error as a method would (org.berth.Error.*); task_finish() names it Failed. */
void task_fail(Task *t, const char *error_name, const char *fmt, ...) _printf_(3, 4);

const char *task_get_path(const Task *t);
const char *task_get_upid(const Task *t);
TaskState task_get_state(const Task *t);
const char *task_get_result(const Task *t);
const char *task_get_error_name(const Task *t);
