/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between task.c (the model) and task-bus.c (its D-Bus objects). */

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
};

Task *task_manager_find_by_path(TaskManager *m, const char *path);
Task *task_manager_find_by_upid(TaskManager *m, const char *upid);
/* Brings a finished task back from its log file; -ENXIO when there is none of ours. */
int task_manager_load(TaskManager *m, const char *upid, Task **ret);
int task_read_log(const Task *t, char ***ret_lines);

int task_bus_register(TaskManager *m);
void task_bus_emit_added(Task *t);
void task_bus_emit_removed(Task *t);
void task_bus_emit_finished(Task *t);
