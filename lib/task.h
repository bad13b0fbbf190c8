/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "store.h"

/*
 * Tasks: every long operation of a daemon is a task with a UPID
 *   UPID:<node>:<daemon>:<seq-hex>:<starttime-hex>:<type>:<id>:<user>:
 * a log file var/log/berth/tasks/<UPID> that ends with a "TASK ..." line, and
 * an org.berth.Task1 object under <manager path>/task/. Finished tasks stay
 * reachable through org.berth.Tasks1.GetTask() from their log file after the
 * daemon has forgotten them or restarted, and, with a store, through the
 * cluster task index (below) from every node.
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
/* Free it before the Store given to task_manager_set_store(). */
TaskManager *task_manager_free(TaskManager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(TaskManager *, task_manager_free);

/*
 * The cluster task index. With a store set, every task is written to
 * tasks/<node>/<key> when it starts and again when it ends, as a JSON object:
 *   "upid", "node", "daemon", "type", "id", "user" (s: the UPID's fields),
 *   "state" (s: task_state_to_string()), "result", "error-name" (s: as the
 *   Task1 properties), "start-time", "end-time" (µs since the epoch; 0 while running)
 * and org.berth.Tasks1.GetTaskInfo() answers for the tasks of every node from it.
 *
 * <node> is the node's name and <key> the UPID, both with '_' and every byte a
 * store key cannot hold written as "_XX" (hex): "...:admin@pve!t1:" becomes
 * "...:admin@pve_21t1:". A UPID whose key would still be invalid (too long,
 * or holding ".tmp.") is keyed "sha256-<hex sha256 of the UPID>" instead. Find
 * an entry with task_index_key(); take the UPID from the value, not the key.
 *
 * At most TASK_INDEX_LIMIT entries are kept per node: a task that pushes past
 * it deletes the oldest (by start time) that this manager knows of, from a
 * listing when the store was set plus the tasks it wrote since, never one of
 * its own running tasks. The other daemons of the node prune in the same way,
 * each from what it knows.
 *
 * Entries are written as the task starts and ends, before task_new() and
 * task_finish() return. A store that cannot be reached never fails a task:
 * what could not be written is kept (the newest state of each entry) and
 * written from base, with backoff, while anything is pending. Only the write
 * that finds the store gone waits for the store's timeout; those after it, until
 * a retry gets through, are left to the retry and do not wait at all. What is
 * pending when the manager is freed is lost, but entries of this daemon that
 * the listing shows running and that no longer run (the daemon stopped before
 * their end was written) get their end from the log file once the node's entries
 * are listed: when the store is set, or when it first answers.
 */
#define TASK_INDEX_LIMIT 1000

/*
 * Publishes this manager's tasks, those started already and all from now on, in
 * the store's index. -EINVAL when the node's name cannot be a store key
 * component, -EALREADY when a store is set already. Never fails because the
 * store is unavailable.
 */
int task_manager_set_store(TaskManager *m, Store *s, struct event_base *base);
/* Entries kept per node, TASK_INDEX_LIMIT unless changed (tests lower it). */
void task_manager_set_index_limit(TaskManager *m, size_t limit);

/* The store key of a UPID's index entry; -EINVAL when it is no UPID or its node cannot be a key. */
int task_index_key(const char *upid, char **ret);

/* One index entry: what GetTaskInfo() reports. */
typedef struct TaskInfo {
        char *upid;
        char *node;
        char *daemon;
        char *type;
        char *id;
        char *user;
        TaskState state;
        char *result;
        char *error_name;
        uint64_t start_usec;
        uint64_t end_usec;
} TaskInfo;

void task_info_done(TaskInfo *i);
/* Parses an index entry; -EBADMSG when a field is missing, of the wrong type, or the upid or state invalid. */
int task_info_parse(const char *json, TaskInfo *ret);
/* The JSON text of an index entry. */
char *task_info_format(const TaskInfo *i);

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
