/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "alloc.h"
#include "bus.h"
#include "guestd-call.h"

int connect_bus(sd_bus **ret)
{
        return bus_connect(arg_bus_address, ret);
}

int reply_read_path(sd_bus_message *reply, char **ret)
{
        const char *path;
        int r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return error_errno(r, "Failed to parse the reply: %m");
        *ret = xstrdup(path);
        return 0;
}

int call_methodv(sd_bus *bus, const char *path, const char *interface, const char *method,
        sd_bus_message **ret_reply, const char *types, va_list ap)
{
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_methodv(bus, GUEST_SERVICE, path, interface, method, &error, ret_reply, types, ap);
        if (r < 0)
                return error_bus(r, &error);
        return 0;
}

int call_method(sd_bus *bus, const char *path, const char *interface, const char *method,
        sd_bus_message **ret_reply, const char *types, ...)
{
        va_list ap;
        int r;

        va_start(ap, types);
        r = call_methodv(bus, path, interface, method, ret_reply, types, ap);
        va_end(ap);
        return r;
}

int get_string_property(sd_bus *bus, const char *path, const char *interface, const char *name, char **ret)
{
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = sd_bus_get_property_string(bus, GUEST_SERVICE, path, interface, name, &error, ret);
        if (r < 0)
                return error_bus(r, &error);
        return 0;
}

int output_all_properties(sd_bus *bus, const char *path, const char *interface, const Field *fields)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *properties = NULL;
        int r;

        r = call_method(bus, path, "org.freedesktop.DBus.Properties", "GetAll", &reply, "s", interface);
        if (r < 0)
                return r;
        r = bus_message_read_properties(reply, fields, &properties);
        if (r < 0)
                return error_errno(r, "Failed to parse the properties of %s: %m", path);
        output_properties(arg_output, properties, fields);
        return 0;
}

int output_method_records(sd_bus *bus, const char *interface, const char *method, const char *const *keys,
        const char *const *columns, int (*compare)(const void *, const void *))
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *records = NULL;
        int r;

        r = call_method(bus, MANAGER_PATH, interface, method, &reply, NULL);
        if (r < 0)
                return r;
        r = bus_message_read_records(reply, keys, &records);
        if (r < 0)
                return error_errno(r, "Failed to parse the reply of %s: %m", method);
        if (compare)
                json_object_array_sort(records, compare);
        output_records(arg_output, records, columns);
        return 0;
}

int open_object(
        const char *interface, const char *method, sd_bus **ret_bus, char **ret_path, const char *types, ...)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        va_list ap;
        int r;

        r = connect_bus(&bus);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = call_methodv(bus, MANAGER_PATH, interface, method, &reply, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = reply_read_path(reply, ret_path);
        if (r < 0)
                return r;
        *ret_bus = TAKE_PTR(bus);
        return 0;
}
