/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "alloc.h"
#include "bus.h"
#include "errors.h"
#include "task-internal.h"

static int task_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
        void **ret_found, sd_bus_error *error)
{
        Task *t = task_manager_find_by_path(userdata, path);
        if (!t)
                return 0;
        *ret_found = t;
        return 1;
}

static int task_node_enumerator(
        sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error)
{
        TaskManager *m = userdata;
        char **nodes = NULL;

        for (Task *t = m->head; t; t = t->next)
                strv_push(&nodes, t->path);
        *ret_nodes = nodes;
        return 0;
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Task *t = userdata;
        return sd_bus_message_append(reply, "s", task_state_to_string(t->state));
}

static int method_get_log(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        Task *t = userdata;
        uint32_t offset, limit;
        int r;

        r = sd_bus_message_read(msg, "uu", &offset, &limit);
        if (r < 0)
                return r;
        r = task_read_log(t, &lines);
        if (r < 0)
                return berth_bus_error_set_errnof(
                        error, r, "Failed to read the log of %s: %s", t->upid, strerror(-r));
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(us)");
        if (r < 0)
                return r;
        size_t n = strv_length(lines);
        for (size_t i = offset; i < n && (limit == 0 || i - offset < limit); i++) {
                r = sd_bus_message_append(reply, "(us)", (uint32_t) i, lines[i]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_cancel(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Task *t = userdata;

        if (t->state != TASK_RUNNING)
                return sd_bus_error_setf(error, BERTH_ERROR_NOT_RUNNING, "Task %s has already ended", t->upid);
        if (!t->cancel)
                return sd_bus_error_setf(error, BERTH_ERROR_BUSY, "Task %s cannot be cancelled", t->upid);
        t->cancel(t, t->cancel_userdata);
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable task_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Upid", "s", NULL, offsetof(Task, upid), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Kind", "s", NULL, offsetof(Task, type), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Target", "s", NULL, offsetof(Task, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("User", "s", NULL, offsetof(Task, user), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Result", "s", NULL, offsetof(Task, result), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY(
                "ErrorName", "s", NULL, offsetof(Task, error_name), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StartTime", "t", NULL, offsetof(Task, start_usec), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("EndTime", "t", NULL, offsetof(Task, end_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetLog", SD_BUS_ARGS("u", offset, "u", limit),
                SD_BUS_RESULT("a(us)", lines), method_get_log, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Cancel", NULL, NULL, method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Finished", SD_BUS_ARGS("s", state, "s", result), 0),
        SD_BUS_VTABLE_END,
};

static int method_get_task(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        TaskManager *m = userdata;
        const char *upid;
        Task *t;
        int r;

        r = sd_bus_message_read(msg, "s", &upid);
        if (r < 0)
                return r;
        t = task_manager_find_by_upid(m, upid);
        if (!t) {
                r = task_manager_load(m, upid, &t);
                if (r == -EINVAL)
                        return sd_bus_error_setf(
                                error, BERTH_ERROR_INVALID_ARGUMENT, "Invalid UPID '%s'", upid);
                if (r < 0)
                        return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_TASK, "No task %s", upid);
        }
        return sd_bus_reply_method_return(msg, "o", t->path);
}

static int method_get_task_info(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(task_info_done) TaskInfo i = {};
        TaskManager *m = userdata;
        const char *upid;
        int r;

        r = sd_bus_message_read(msg, "s", &upid);
        if (r < 0)
                return r;
        r = task_manager_get_info(m, upid, &i);
        if (r == -EINVAL)
                return berth_bus_error_set_errnof(error, r, "Invalid UPID '%s'", upid);
        if (r == -ENXIO)
                return berth_bus_error_set_errnof(error, r, "No task %s", upid);
        if (r < 0)
                return berth_bus_error_set_errnof(error, r,
                        "Failed to read task %s from the cluster task index: %s", upid, strerror(-r));
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "a{sv}", 11, "upid", "s", i.upid, "node", "s", i.node, "daemon",
                "s", i.daemon, "type", "s", i.type, "id", "s", i.id, "user", "s", i.user, "state", "s",
                task_state_to_string(i.state), "result", "s", i.result, "error-name", "s", i.error_name,
                "start-time", "t", i.start_usec, "end-time", "t", i.end_usec);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_tasks(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        TaskManager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sso)");
        if (r < 0)
                return r;
        for (Task *t = m->head; t; t = t->next) {
                r = sd_bus_message_append(reply, "(sso)", t->upid, task_state_to_string(t->state), t->path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable tasks_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("GetTask", SD_BUS_ARGS("s", upid), SD_BUS_RESULT("o", task), method_get_task,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetTaskInfo", SD_BUS_ARGS("s", upid), SD_BUS_RESULT("a{sv}", info),
                method_get_task_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTasks", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sso)", tasks),
                method_list_tasks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int task_bus_register(TaskManager *m)
{
        int r;

        r = sd_bus_add_object_vtable(
                m->bus, &m->tasks_slot, m->manager_path, "org.berth.Tasks1", tasks_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, &m->vtable_slot, m->task_prefix, "org.berth.Task1",
                task_vtable, task_object_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(
                m->bus, &m->enumerator_slot, m->task_prefix, task_node_enumerator, m);
}

void task_bus_emit_added(Task *t)
{
        (void) sd_bus_emit_object_added(t->manager->bus, t->path);
}

void task_bus_emit_removed(Task *t)
{
        (void) sd_bus_emit_object_removed(t->manager->bus, t->path);
}

void task_bus_emit_finished(Task *t)
{
        sd_bus *bus = t->manager->bus;
        const char *state = task_state_to_string(t->state);

        (void) sd_bus_emit_properties_changed(
                bus, t->path, "org.berth.Task1", "State", "Result", "ErrorName", "EndTime", NULL);
        (void) sd_bus_emit_signal(bus, t->path, "org.berth.Task1", "Finished", "ss", state, t->result);
}
