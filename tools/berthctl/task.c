/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "alloc.h"
#include "bus.h"
#include "errors.h"
#include "guestd-call.h"

static const Field task_fields[] = {
        { "Upid", "upid" },
        { "Kind", "kind" },
        { "Target", "target" },
        { "User", "user" },
        { "State", "state" },
        { "Result", "result" },
        { "ErrorName", "error-name" },
        { "StartTime", "start-time", FIELD_TIMESTAMP },
        { "EndTime", "end-time", FIELD_TIMESTAMP },
        {},
};

/* The object of a task guestd knows; *ret_path NULL when it does not, and only the cluster's index may. */
static int find_task(sd_bus *bus, const char *upid, char **ret_path)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(
                bus, GUEST_SERVICE, MANAGER_PATH, TASKS_INTERFACE, "GetTask", &error, &reply, "s", upid);
        if (r < 0 && sd_bus_error_has_name(&error, BERTH_ERROR_NO_SUCH_TASK)) {
                *ret_path = NULL;
                return 0;
        }
        if (r < 0)
                return error_bus(r, &error);
        return reply_read_path(reply, ret_path);
}

/* The task info of the cluster's index, for a task this node does not run. */
static int read_task_info(sd_bus *bus, const char *upid, const Field *fields, json_object **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = call_method(bus, MANAGER_PATH, TASKS_INTERFACE, "GetTaskInfo", &reply, "s", upid);
        if (r < 0)
                return r;
        r = bus_message_read_properties(reply, fields, ret);
        if (r < 0)
                return error_errno(r, "Failed to parse the reply of GetTaskInfo: %m");
        return 0;
}

/* A log stays on the node that ran the task: say which. */
static int log_elsewhere(sd_bus *bus, const char *upid)
{
        _cleanup_(json_object_putp) json_object *info = NULL;
        json_object *node;
        int r;

        r = read_task_info(bus, upid, NULL, &info);
        if (r < 0)
                return r;
        node = json_object_object_get(info, "node");
        return error_errno(ENOENT, "The log of %s is kept on node %s: ask that node's berthctl", upid,
                node ? json_object_get_string(node) : "?");
}

int task_show_log(const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        const char *line;
        uint32_t n;
        int r;

        r = connect_bus(&bus);
        if (r >= 0)
                r = find_task(bus, arg, &path);
        if (r < 0)
                return r;
        if (!path)
                return log_elsewhere(bus, arg);
        /* A limit of 0 means the whole log. */
        r = call_method(bus, path, TASK_INTERFACE, "GetLog", &reply, "uu", 0, 0);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(us)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(us)", &n, &line)) > 0)
                puts(line);
        if (r < 0)
                return error_errno(r, "Failed to parse the log of %s: %m", arg);
        return 0;
}

/* GetTaskInfo's names for the properties task status prints, under the same keys. */
static const Field task_info_fields[] = {
        { "upid", "upid" },
        { "type", "kind" },
        { "id", "target" },
        { "user", "user" },
        { "state", "state" },
        { "result", "result" },
        { "error-name", "error-name" },
        { "start-time", "start-time", FIELD_TIMESTAMP },
        { "end-time", "end-time", FIELD_TIMESTAMP },
        {},
};

/* A task guestd does not run, from the cluster task index: the same fields as of one it does. */
static int output_task_info(sd_bus *bus, const char *upid)
{
        _cleanup_(json_object_putp) json_object *info = NULL, *properties = json_object_new_object();
        int r;

        r = read_task_info(bus, upid, task_info_fields, &info);
        if (r < 0)
                return r;
        for (const Field *f = task_info_fields; f->property; f++) {
                json_object *v = json_object_object_get(info, f->key);
                if (v)
                        json_object_object_add(properties, f->key, json_object_get(v));
        }
        output_properties(arg_output, properties, task_info_fields);
        return 0;
}

int task_show_status(const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = connect_bus(&bus);
        if (r >= 0)
                r = find_task(bus, arg, &path);
        if (r < 0)
                return r;
        if (!path)
                return output_task_info(bus, arg);
        return output_all_properties(bus, path, TASK_INTERFACE, task_fields);
}

int task_show_list(void)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = connect_bus(&bus);
        if (r < 0)
                return r;
        return output_method_records(bus, TASKS_INTERFACE, "ListTasks",
                (const char *const[]){ "upid", "state", "path", NULL },
                (const char *const[]){ "upid", "state", NULL }, NULL);
}
