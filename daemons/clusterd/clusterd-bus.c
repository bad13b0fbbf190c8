/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <time.h>

#include "alloc.h"
#include "clusterd.h"
#include "errors.h"
#include "log.h"

#define MANAGER_PATH "/org/berth/cluster1"
#define MANAGER_INTERFACE "org.berth.cluster1.Manager"

static int append_entry(sd_bus_message *reply, const char *key, const char *type, ...)
{
        va_list ap;
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', type);
        if (r >= 0) {
                va_start(ap, type);
                r = sd_bus_message_appendv(reply, type, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_load(sd_bus_message *reply, const double load[3])
{
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "load");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "ad");
        if (r >= 0)
                r = sd_bus_message_append_array(reply, 'd', load, 3 * sizeof(double));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_node(Manager *m, sd_bus_message *reply, const ClusterNode *n)
{
        const NodeStatus *s = &n->status;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_entry(reply, "name", "s", n->name);
        if (r >= 0)
                r = append_entry(reply, "online", "b", n->online);
        if (r >= 0)
                r = append_entry(reply, "local", "b", streq(n->name, m->node));
        if (r >= 0)
                r = append_entry(reply, "version", "s", strempty(s->version));
        if (r >= 0)
                r = append_entry(reply, "cpus", "u", s->cpus);
        if (r >= 0)
                r = append_entry(reply, "memory", "t", s->memory);
        if (r >= 0)
                r = append_load(reply, s->load);
        if (r >= 0)
                r = append_entry(reply, "uptime", "t", s->uptime);
        if (r >= 0)
                r = append_entry(reply, "gateway-url", "s", strempty(s->gateway_url));
        if (r >= 0)
                r = append_entry(reply, "fingerprint", "s", strempty(s->fingerprint));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* As Proxmox's /nodes and /cluster/resources list them: what the caller may audit. */
static bool may_see_node(Manager *m, const char *caller, const ClusterNode *n)
{
        _cleanup_free_ char *path = xasprintf("/nodes/%s", n->name);
        return access_allowed(m->access, caller, path, ACL_PRIV_SYS_AUDIT);
}

static bool may_see_guest(Manager *m, const char *caller, const ClusterGuest *g)
{
        _cleanup_free_ char *path = xasprintf("/vms/%u", g->vmid);
        return access_allowed(m->access, caller, path, ACL_PRIV_VM_AUDIT);
}

static int method_list_nodes(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *caller = NULL;
        Manager *m = userdata;
        int r;

        r = access_read_caller(m->access, msg, &caller, error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < m->n_nodes; i++)
                if (may_see_node(m, caller, &m->nodes[i]))
                        r = append_node(m, reply, &m->nodes[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* A guest's uptime: since its QEMU started, while it runs or is paused. */
static uint64_t guest_uptime(const ClusterGuest *g)
{
        time_t now = time(NULL);

        if (!g->has_status || g->status.start_time == 0 || (uint64_t) now < g->status.start_time)
                return 0;
        return (uint64_t) now - g->status.start_time;
}

static int append_guest(Manager *m, sd_bus_message *reply, const ClusterGuest *g)
{
        const ClusterNode *n = manager_find_node(m, g->node);
        _cleanup_free_ char *id = xasprintf("qemu/%u", g->vmid);
        /* The state of a guest of an offline node is not known: it may be running on still. */
        const char *status = !n || !n->online ? "unknown" : g->has_status ? g->status.state : "stopped";
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_entry(reply, "id", "s", id);
        if (r >= 0)
                r = append_entry(reply, "type", "s", "qemu");
        if (r >= 0)
                r = append_entry(reply, "vmid", "u", g->vmid);
        if (r >= 0)
                r = append_entry(reply, "name", "s", g->name);
        if (r >= 0)
                r = append_entry(reply, "node", "s", g->node);
        if (r >= 0)
                r = append_entry(reply, "status", "s", status);
        if (r >= 0)
                r = append_entry(reply, "tags", "s", g->tags);
        if (r >= 0)
                r = append_entry(reply, "maxmem", "t", g->maxmem);
        if (r >= 0)
                r = append_entry(reply, "maxcpu", "u", g->maxcpu);
        if (r >= 0)
                r = append_entry(reply, "uptime", "t", streq(status, "unknown") ? 0 : guest_uptime(g));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_node_resource(sd_bus_message *reply, const ClusterNode *n)
{
        _cleanup_free_ char *id = xasprintf("node/%s", n->name);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_entry(reply, "id", "s", id);
        if (r >= 0)
                r = append_entry(reply, "type", "s", "node");
        if (r >= 0)
                r = append_entry(reply, "node", "s", n->name);
        if (r >= 0)
                r = append_entry(reply, "status", "s", n->online ? "online" : "offline");
        if (r >= 0)
                r = append_entry(reply, "maxcpu", "u", n->status.cpus);
        if (r >= 0)
                r = append_entry(reply, "maxmem", "t", n->status.memory);
        if (r >= 0)
                r = append_entry(reply, "uptime", "t", n->online ? n->status.uptime : 0);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_list_resources(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *caller = NULL;
        Manager *m = userdata;
        const char *type;
        bool nodes, guests;
        int r;

        r = sd_bus_message_read(msg, "s", &type);
        if (r < 0)
                return r;
        r = access_read_caller(m->access, msg, &caller, error);
        if (r < 0)
                return r;
        nodes = isempty(type) || streq(type, "node");
        guests = isempty(type) || streq(type, "vm");
        if (!nodes && !guests)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                        "Unknown resource type '%s' (vm, node, or empty for both)", type);

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        /* Sorted by id: "node/..." before "qemu/...", nodes by name, guests by vmid. */
        for (size_t i = 0; nodes && r >= 0 && i < m->n_nodes; i++)
                if (may_see_node(m, caller, &m->nodes[i]))
                        r = append_node_resource(reply, &m->nodes[i]);
        for (size_t i = 0; guests && r >= 0 && i < m->n_guests; i++)
                if (may_see_guest(m, caller, &m->guests[i]))
                        r = append_guest(m, reply, &m->guests[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_next_id(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *caller = NULL;
        Manager *m = userdata;
        uint32_t vmid;
        int r;

        r = access_read_caller(m->access, msg, &caller, error);
        if (r < 0)
                return r;
        /*
         * Proxmox lets anyone ask, but here the answer is a reservation in the store that holds the id
         * for a while: only who may create guests may take ids away from the others.
         */
        r = access_require(m->access, caller, "/vms", ACL_PRIV_VM_ALLOCATE, error);
        if (r < 0)
                return r;
        r = manager_next_id(m, &vmid);
        if (r == -ENOSPC)
                return sd_bus_error_setf(error, BERTH_ERROR_FAILED, "Every vmid is taken");
        if (r < 0)
                return berth_bus_error_set_errnof(error, r, "Cannot reserve a vmid: %s", strerror(-r));
        return sd_bus_reply_method_return(msg, "u", vmid);
}

static int property_get_nodes(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) m->n_nodes);
}

static int property_get_quorate(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        return sd_bus_message_append(reply, "b", m->quorate);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Node", "s", NULL, offsetof(Manager, node), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY(
                "ClusterName", "s", NULL, offsetof(Manager, cluster_name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Nodes", "u", property_get_nodes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Quorate", "b", property_get_quorate, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ListNodes", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("aa{sv}", nodes),
                method_list_nodes, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListResources", SD_BUS_ARGS("s", type, "a{sv}", options),
                SD_BUS_RESULT("aa{sv}", resources), method_list_resources, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("NextId", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("u", vmid),
                method_next_id, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("NodeJoined", SD_BUS_ARGS("s", node), 0),
        SD_BUS_SIGNAL_WITH_ARGS("NodeLeft", SD_BUS_ARGS("s", node), 0),
        SD_BUS_SIGNAL_WITH_ARGS("NodeChanged", SD_BUS_ARGS("s", node), 0),
        SD_BUS_VTABLE_END,
};

int manager_bus_register(Manager *m)
{
        int r = sd_bus_add_object_vtable(
                m->bus, &m->manager_slot, MANAGER_PATH, MANAGER_INTERFACE, manager_vtable, m);
        return r < 0 ? log_error_errno(r, "Failed to register %s: %m", MANAGER_PATH) : 0;
}

void manager_bus_emit_node(Manager *m, const char *signal, const char *node)
{
        int r = sd_bus_emit_signal(m->bus, MANAGER_PATH, MANAGER_INTERFACE, signal, "s", node);
        if (r < 0)
                log_warning_errno(r, "Failed to emit %s for %s, ignoring: %m", signal, node);
}

void manager_bus_emit_properties(Manager *m, const char *property)
{
        int r;

        if (!m->manager_slot)
                return;
        r = sd_bus_emit_properties_changed(m->bus, MANAGER_PATH, MANAGER_INTERFACE, property, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to announce %s, ignoring: %m", property);
}
