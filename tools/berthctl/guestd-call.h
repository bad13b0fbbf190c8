/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "output.h"

/* berthctl's calls to berth-guestd, and the options every command shares (in berthctl.c). */

#define GUEST_SERVICE "org.berth.guest1"
#define MANAGER_PATH "/org/berth/guest1"
#define MANAGER_INTERFACE "org.berth.guest1.Manager"
#define GUEST_INTERFACE "org.berth.guest1.Guest"
#define TASK_INTERFACE "org.berth.Task1"
#define TASKS_INTERFACE "org.berth.Tasks1"

extern const char *arg_bus_address;
extern OutputMode arg_output;

int connect_bus(sd_bus **ret);
int reply_read_path(sd_bus_message *reply, char **ret);
int call_methodv(sd_bus *bus, const char *path, const char *interface, const char *method,
        sd_bus_message **ret_reply, const char *types, va_list ap);
/* Calls a method of guestd; a failure is printed with the daemon's own message. */
int call_method(sd_bus *bus, const char *path, const char *interface, const char *method,
        sd_bus_message **ret_reply, const char *types, ...);
int get_string_property(sd_bus *bus, const char *path, const char *interface, const char *name, char **ret);
int output_all_properties(sd_bus *bus, const char *path, const char *interface, const Field *fields);
int output_method_records(sd_bus *bus, const char *interface, const char *method, const char *const *keys,
        const char *const *columns, int (*compare)(const void *, const void *));
/* Connects and looks an object up through a method of the manager object that replies with its path. */
int open_object(const char *interface, const char *method, sd_bus **ret_bus, char **ret_path,
        const char *types, ...);

/* berthctl task log|status|list (task.c). */
int task_show_log(const char *upid);
int task_show_status(const char *upid);
int task_show_list(void);
