/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between task.c (the model), task-index.c (the cluster task index) and task-bus.c (its D-Bus objects). */

#include <time.h>

#include "task.h"

struct Task {
        TaskManager *manager;
        char *upid;
        char *path;
        char *type;
        char *id;
        char *user;
        char *log_path;
        TaskState state;
        char *result;
        char *error_name; /* a D-Bus error name once ended in error, else "" */
        uint64_t start_usec; /* µs since the epoch */
        uint64_t end_usec;
        int log_fd;
        char *index_key; /* once published to the index */
        TaskCancelHandler cancel;
        void *cancel_userdata;
        struct TaskFinishHook *finish_hooks;
        size_t n_finish_hooks;
        Task *prev, *next;
};

typedef struct TaskFinishHook {
        TaskFinishHandler cb;
        void *userdata;
} TaskFinishHook;

struct TaskManager {
        sd_bus *bus;
        char *node;
        char *daemon;
        char *manager_path;
        char *task_prefix; /* <manager_path>/task */
        char *log_dir;
        uint32_t seq;
        Task *head, *tail;
        size_t n_finished;
        sd_bus_slot *tasks_slot;
        sd_bus_slot *vtable_slot;
        sd_bus_slot *enumerator_slot;
        struct TaskIndex *index; /* NULL without a store */
        size_t index_limit;
};

static inline uint64_t now_realtime_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* The result of a task whose log has no end: its daemon stopped while it ran. */
#define TASK_LOST_RESULT "task ended unexpectedly: its daemon stopped while it ran"

Task *task_manager_find_by_path(TaskManager *m, const char *path);
Task *task_manager_find_by_upid(TaskManager *m, const char *upid);
/* Brings a finished task back from its log file; -ENXIO when there is none of ours. */
int task_manager_load(TaskManager *m, const char *upid, Task **ret);
int task_read_log(const Task *t, char ***ret_lines);
void task_get_info(const Task *t, TaskInfo *ret);
/* A task of this daemon, held or from its log file: -EINVAL for a malformed UPID, -ENXIO when neither knows it. */
int task_manager_read_info(TaskManager *m, const char *upid, TaskInfo *ret);
/* The same, else from the cluster task index: -ENXIO when that does not know it either, -EHOSTDOWN. */
int task_manager_get_info(TaskManager *m, const char *upid, TaskInfo *ret);

typedef struct TaskIndex TaskIndex;
/* Writes the task's current state to the index, now or, while the store is unavailable, later. */
void task_index_publish(TaskIndex *x, Task *t);
TaskIndex *task_index_free(TaskIndex *x);

int task_bus_register(TaskManager *m);
void task_bus_emit_added(Task *t);
void task_bus_emit_removed(Task *t);
void task_bus_emit_finished(Task *t);
