/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "alloc.h"
#include "bus.h"
#include "cluster.h"

#define CLUSTER_SERVICE "org.berth.cluster1"
#define CLUSTER_PATH "/org/berth/cluster1"
#define CLUSTER_INTERFACE "org.berth.cluster1.Manager"

/* An aa{sv} of records into an array of objects. */
static int list(sd_bus *bus, OutputMode mode, sd_bus_message *call, const char *const *columns)
{
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *records = NULL;
        int r;

        r = sd_bus_message_append(call, "a{sv}", 0);
        if (r < 0)
                return error_errno(r, "Failed to build the call: %m");
        r = sd_bus_call(bus, call, 0, &error, &reply);
        if (r < 0)
                return error_bus(r, &error);
        r = bus_message_read_dicts(reply, &records);
        if (r < 0)
                return error_errno(r, "Failed to parse the reply: %m");
        output_records(mode, records, columns);
        return 0;
}

int cluster_list_nodes(sd_bus *bus, OutputMode mode)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        r = sd_bus_message_new_method_call(
                bus, &call, CLUSTER_SERVICE, CLUSTER_PATH, CLUSTER_INTERFACE, "ListNodes");
        if (r < 0)
                return error_errno(r, "Failed to build the call: %m");
        return list(
                bus, mode, call, (const char *const[]){ "name", "online", "local", "cpus", "uptime", NULL });
}

int cluster_list_resources(sd_bus *bus, OutputMode mode)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        r = sd_bus_message_new_method_call(
                bus, &call, CLUSTER_SERVICE, CLUSTER_PATH, CLUSTER_INTERFACE, "ListResources");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", "");
        if (r < 0)
                return error_errno(r, "Failed to build the call: %m");
        return list(bus, mode, call, (const char *const[]){ "id", "node", "status", "name", "uptime", NULL });
}
