/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "alloc.h"
#include "bus-options.h"
#include "bus.h"
#include "errors.h"
#include "berth-conf.h"
#include "guest-perm.h"
#include "guestd.h"
#include "host-shutdown.h"
#include "vmid.h"

#define MANAGER_PATH "/org/berth/guest1"
#define GUEST_PREFIX "/org/berth/guest1/guest"
#define MANAGER_INTERFACE "org.berth.guest1.Manager"
#define GUEST_INTERFACE "org.berth.guest1.Guest"

static const BusOption guest_options[] = {
        { "timeout", BUS_OPTION_UINT32, offsetof(GuestOptions, timeout) },
        { "force-stop", BUS_OPTION_BOOL, offsetof(GuestOptions, force_stop) },
        { "keep-active", BUS_OPTION_BOOL, offsetof(GuestOptions, keep_active) },
        { "to-disk", BUS_OPTION_BOOL, offsetof(GuestOptions, to_disk) },
        { "statestorage", BUS_OPTION_STRING, offsetof(GuestOptions, statestorage) },
        { "user", BUS_OPTION_STRING, offsetof(GuestOptions, user) },
        {},
};

static int read_options(Manager *m, sd_bus_message *msg, GuestOptions *o, sd_bus_error *error)
{
        *o = (GuestOptions){ .force_stop = true };
        return access_read_options(m->access, msg, guest_options, o, &o->user, error);
}

/*
 * The caller of the message being dispatched, for what it may see; NULL when it cannot be told. The
 * message is held until the next one, so its address identifies it.
 */
static const char *manager_caller(Manager *m, sd_bus_message *msg)
{
        if (msg == m->caller_msg)
                return m->caller;
        m->caller_msg = sd_bus_message_unref(m->caller_msg);
        m->caller = mfree(m->caller);
        if (access_caller(m->access, msg, NULL, &m->caller, NULL) < 0)
                return NULL;
        m->caller_msg = sd_bus_message_ref(msg);
        return m->caller;
}

static bool caller_may_see(Manager *m, const char *caller, uint32_t vmid)
{
        _cleanup_free_ char *path = xasprintf("/vms/%u", vmid);
        return caller && access_allowed(m->access, caller, path, ACL_PRIV_VM_AUDIT);
}

/* Whether the guest is there for whoever the bus is walking the objects for: anyone, for a signal. */
static bool bus_may_see(Manager *m, sd_bus *bus, uint32_t vmid)
{
        sd_bus_message *msg = sd_bus_get_current_message(bus);

        if (m->emitting || !msg)
                return true;
        return caller_may_see(m, manager_caller(m, msg), vmid);
}

static int require_vm(Manager *m, const char *caller, uint32_t vmid, AclPriv priv, sd_bus_error *error)
{
        _cleanup_free_ char *path = xasprintf("/vms/%u", vmid);
        return access_require(m->access, caller, path, priv, error);
}

static int reply_guest_error(sd_bus_error *error, int r, uint32_t vmid, const char *what)
{
        switch (r) {
        case -ENOENT:
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_GUEST, "Guest %u does not exist", vmid);
        case -ERANGE:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                        "VMID %u is out of range %u-%u", vmid, VMID_MIN, VMID_MAX);
        case -EEXIST:
                return sd_bus_error_setf(error, BERTH_ERROR_GUEST_EXISTS, "Guest %u already exists", vmid);
        case -EALREADY:
                return sd_bus_error_setf(
                        error, BERTH_ERROR_ALREADY_RUNNING, "Guest %u is already running", vmid);
        case -ESRCH:
                return sd_bus_error_setf(error, BERTH_ERROR_NOT_RUNNING, "Guest %u is not running", vmid);
        case -EBUSY:
                return sd_bus_error_setf(
                        error, BERTH_ERROR_BUSY, "Guest %u is busy with another operation", vmid);
        case -ENOLCK:
                return sd_bus_error_setf(error, BERTH_ERROR_LOCKED, "Guest %u is locked", vmid);
        case -ESTALE:
                return sd_bus_error_setf(error, BERTH_ERROR_DIGEST_MISMATCH,
                        "The config of guest %u was changed by someone else (digest mismatch)", vmid);
        case -EINVAL:
                return sd_bus_error_setf(
                        error, BERTH_ERROR_INVALID_ARGUMENT, "Invalid argument for guest %u", vmid);
        case -ENOTCONN:
                return sd_bus_error_setf(
                        error, BERTH_ERROR_FAILED, "Guest %u: the QMP connection to its QEMU is lost", vmid);
        default:
                return berth_bus_error_set_errnof(
                        error, r, "Failed to %s guest %u: %s", what, vmid, strerror(-r));
        }
}

static int lookup_guest(Manager *m, uint32_t vmid, Guest **ret, sd_bus_error *error)
{
        Guest *g;

        if (!vmid_is_valid(vmid))
                return reply_guest_error(error, -ERANGE, vmid, "find");
        g = manager_find_guest(m, vmid);
        if (!g)
                return reply_guest_error(error, -ENOENT, vmid, "find");
        *ret = g;
        return 0;
}

static int reply_config_error(sd_bus_error *error, int r, uint32_t vmid, const char *what, const char *message)
{
        if (r == -EBADMSG || r == -ENOKEY)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_CONFIG,
                        "Invalid config for guest %u: %s", vmid, strempty(message));
        return reply_guest_error(error, r, vmid, what);
}

static int method_list_guests(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *caller = NULL;
        Manager *m = userdata;
        int r;

        r = access_caller(m->access, msg, NULL, &caller, error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ussso)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (!caller_may_see(m, caller, g->vmid))
                        continue;
                r = sd_bus_message_append(reply, "(ussso)", g->vmid,
                        strempty(guest_config_get(g->config, "name")), "qemu",
                        guest_state_to_string(g->state), g->path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_guest(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *caller = NULL;
        Manager *m = userdata;
        uint32_t vmid;
        Guest *g;
        int r;

        r = sd_bus_message_read(msg, "u", &vmid);
        if (r < 0)
                return r;
        r = access_caller(m->access, msg, NULL, &caller, error);
        if (r < 0)
                return r;
        r = lookup_guest(m, vmid, &g, error);
        if (r < 0)
                return r;
        /* A guest the caller may not see is one that does not exist. */
        if (!caller_may_see(m, caller, vmid))
                return reply_guest_error(error, -ENOENT, vmid, "find");
        return sd_bus_reply_method_return(msg, "o", g->path);
}

static int method_create_guest(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(guest_options_done) GuestOptions o = {};
        _cleanup_free_ char *message = NULL, *owner = NULL;
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        Manager *m = userdata;
        const char *config;
        uint32_t vmid;
        Guest *g;
        int r;

        r = sd_bus_message_read(msg, "us", &vmid, &config);
        if (r < 0)
                return r;
        r = read_options(m, msg, &o, error);
        if (r < 0)
                return r;
        if (!vmid_is_valid(vmid))
                return reply_guest_error(error, -ERANGE, vmid, "create");
        r = require_vm(m, o.user, vmid, ACL_PRIV_VM_ALLOCATE, error);
        if (r < 0)
                return r;
        r = guest_config_parse(config, &c, &message);
        if (r < 0)
                return reply_config_error(error, r, vmid, "create", message);
        r = guest_perm_check_config(m, o.user, vmid, NULL, c, error);
        if (r < 0)
                return r;
        r = manager_create_guest(m, vmid, config, &message, &owner, &g);
        if (r == -EEXIST && owner)
                return sd_bus_error_setf(
                        error, BERTH_ERROR_GUEST_EXISTS, "Guest %u already exists on node %s", vmid, owner);
        if (r < 0)
                return reply_config_error(error, r, vmid, "create", message);
        return sd_bus_reply_method_return(msg, "o", g->path);
}

static int method_destroy_guest(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(guest_options_done) GuestOptions o = {};
        Manager *m = userdata;
        uint32_t vmid;
        Guest *g;
        int r;

        r = sd_bus_message_read(msg, "u", &vmid);
        if (r < 0)
                return r;
        r = read_options(m, msg, &o, error);
        if (r < 0)
                return r;
        r = require_vm(m, o.user, vmid, ACL_PRIV_VM_ALLOCATE, error);
        if (r < 0)
                return r;
        r = lookup_guest(m, vmid, &g, error);
        if (r < 0)
                return r;
        r = manager_destroy_guest(m, vmid);
        if (r < 0)
                return reply_guest_error(error, r, vmid, "destroy");
        return sd_bus_reply_method_return(msg, NULL);
}

/* What an action asks beyond VM.PowerMgmt: a suspend to disk, room on the storage of the state. */
static int require_state_storage(Manager *m, const GuestOptions *o, sd_bus_error *error)
{
        const Storage *s = manager_state_storage(m, o->statestorage);
        _cleanup_free_ char *path = NULL;

        if (!s)
                return 0;
        path = xasprintf("/storage/%s", s->id);
        return access_require(m->access, o->user, path, ACL_PRIV_DATASTORE_ALLOCATE_SPACE, error);
}

/*
 * Both the Manager's XxxGuest(vmid, opts) and the Guest's Xxx(opts) end up here; the Manager's before it
 * looks the guest up, so that a guest the caller may not act on is refused whether it exists or not.
 */
static int act(sd_bus_message *msg, Manager *m, uint32_t vmid, GuestAction action, sd_bus_error *error)
{
        _cleanup_(guest_options_done) GuestOptions o = {};
        Task *task;
        Guest *g;
        int r;

        r = read_options(m, msg, &o, error);
        if (r < 0)
                return r;
        if (o.to_disk && action != GUEST_ACTION_SUSPEND)
                return sd_bus_error_setf(
                        error, BERTH_ERROR_INVALID_ARGUMENT, "Option 'to-disk' only applies to suspend");
        r = require_vm(m, o.user, vmid, ACL_PRIV_VM_POWER_MGMT, error);
        if (r >= 0 && o.to_disk)
                r = require_state_storage(m, &o, error);
        if (r < 0)
                return r;
        r = lookup_guest(m, vmid, &g, error);
        if (r < 0)
                return r;
        r = guest_act(g, action, &o, &task);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                        "No usable storage '%s' for the saved state", strempty(o.statestorage));
        if (r < 0)
                return reply_guest_error(error, r, vmid, guest_action_to_string(action));
        return sd_bus_reply_method_return(msg, "o", task_get_path(task));
}

static GuestAction action_from_member(const char *member)
{
        _cleanup_free_ char *name = NULL;
        size_t n = strlen(member);

        /* "StartGuest" and "Start" both name GUEST_ACTION_START. */
        if (endswith(member, "Guest"))
                n -= strlen("Guest");
        name = xstrndup(member, n);
        name[0] = (char) (name[0] - 'A' + 'a');
        return guest_action_from_string(name);
}

static int method_manager_act(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        uint32_t vmid;
        int r;

        r = sd_bus_message_read(msg, "u", &vmid);
        if (r < 0)
                return r;
        return act(msg, userdata, vmid, action_from_member(sd_bus_message_get_member(msg)), error);
}

static int method_guest_act(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Guest *g = userdata;
        return act(msg, g->manager, g->vmid, action_from_member(sd_bus_message_get_member(msg)), error);
}

static int method_set_config(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *message = NULL, *caller = NULL;
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        const char *config, *digest;
        Guest *g = userdata;
        int r;

        r = sd_bus_message_read(msg, "ss", &config, &digest);
        if (r < 0)
                return r;
        r = access_read_caller(g->manager->access, msg, &caller, error);
        if (r < 0)
                return r;
        r = guest_config_parse(config, &c, &message);
        if (r < 0)
                return reply_config_error(error, r, g->vmid, "configure", message);
        r = guest_perm_check_config(g->manager, caller, g->vmid, g->config, c, error);
        if (r < 0)
                return r;
        r = guest_set_config(g, config, digest, &message);
        if (r < 0)
                return reply_config_error(error, r, g->vmid, "configure", message);
        return sd_bus_reply_method_return(msg, NULL);
}

static const BusOption preserve_options[] = {
        { "shutdown-timeout", BUS_OPTION_UINT32, offsetof(PreserveOptions, shutdown_timeout) },
        { "parallel", BUS_OPTION_UINT32, offsetof(PreserveOptions, parallel) },
        { "policy", BUS_OPTION_STRING, offsetof(PreserveOptions, policy) },
        { "user", BUS_OPTION_STRING, offsetof(PreserveOptions, user) },
        {},
};

static int method_preserve(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(preserve_options_done) PreserveOptions o = {};
        Manager *m = userdata;
        Task *task;
        int r;

        r = access_read_options(m->access, msg, preserve_options, &o, &o.user, error);
        if (r < 0)
                return r;
        /* It acts on every guest of the node, as Proxmox's stopall asks VM.PowerMgmt on "/". */
        r = access_require(m->access, o.user, "/", ACL_PRIV_VM_POWER_MGMT, error);
        if (r < 0)
                return r;
        if (o.policy && shutdown_policy_parse(o.policy, NULL) < 0)
                return sd_bus_error_setf(error,
                        BERTH_ERROR_INVALID_ARGUMENT, "Invalid policy '%s': a comma-separated list of distinct steps save, shutdown, poweroff",
                        o.policy);
        if (o.shutdown_timeout > BERTH_CONF_MAX_SHUTDOWN_TIMEOUT)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                        "Invalid shutdown-timeout %u: at most %u s", o.shutdown_timeout,
                        BERTH_CONF_MAX_SHUTDOWN_TIMEOUT);
        if (o.parallel > BERTH_CONF_MAX_PARALLEL)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                        "Invalid parallel %u: at most %u", o.parallel, BERTH_CONF_MAX_PARALLEL);
        r = host_shutdown_preserve(m->host_shutdown, &o, &task);
        if (r == -EBUSY)
                return sd_bus_error_setf(
                        error, BERTH_ERROR_BUSY, "A preserve of the guests is already under way");
        if (r < 0)
                return berth_bus_error_set_errnof(error, r, "Failed to preserve the guests: %s", strerror(-r));
        return sd_bus_reply_method_return(msg, "o", task_get_path(task));
}

static int property_get_manager_bool(sd_bus *bus, const char *path, const char *interface,
        const char *property, sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        bool b = streq(property, "Inhibited") ? host_shutdown_inhibited(m->host_shutdown)
                                              : host_shutdown_shutting_down(m->host_shutdown);
        return sd_bus_message_append(reply, "b", b);
}

#define MANAGER_ACT_METHOD(name) \
        SD_BUS_METHOD_WITH_ARGS(name, SD_BUS_ARGS("u", vmid, "a{sv}", options), SD_BUS_RESULT("o", task), \
                method_manager_act, SD_BUS_VTABLE_UNPRIVILEGED)

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Node", "s", NULL, offsetof(Manager, node), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Inhibited", "b", property_get_manager_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ShuttingDown", "b", property_get_manager_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ListGuests", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ussso)", guests),
                method_list_guests, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetGuest", SD_BUS_ARGS("u", vmid), SD_BUS_RESULT("o", guest),
                method_get_guest, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateGuest", SD_BUS_ARGS("u", vmid, "s", config, "a{sv}", options),
                SD_BUS_RESULT("o", guest), method_create_guest, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DestroyGuest", SD_BUS_ARGS("u", vmid, "a{sv}", options), SD_BUS_NO_RESULT,
                method_destroy_guest, SD_BUS_VTABLE_UNPRIVILEGED),
        MANAGER_ACT_METHOD("StartGuest"),
        MANAGER_ACT_METHOD("ShutdownGuest"),
        MANAGER_ACT_METHOD("StopGuest"),
        MANAGER_ACT_METHOD("SuspendGuest"),
        MANAGER_ACT_METHOD("ResumeGuest"),
        MANAGER_ACT_METHOD("RebootGuest"),
        SD_BUS_METHOD_WITH_ARGS("Preserve", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("o", task),
                method_preserve, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("GuestStarted", SD_BUS_ARGS("u", vmid, "s", run_id), 0),
        SD_BUS_SIGNAL_WITH_ARGS("GuestStopped", SD_BUS_ARGS("u", vmid, "s", run_id, "s", reason), 0),
        SD_BUS_VTABLE_END,
};

static int property_get_name(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Guest *g = userdata;
        const char *key = streq(property, "Name") ? "name" : "lock";
        return sd_bus_message_append(reply, "s", strempty(guest_config_get(g->config, key)));
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Guest *g = userdata;
        return sd_bus_message_append(reply, "s", guest_state_to_string(g->state));
}

static int property_get_type(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", "qemu");
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Guest *g = userdata;
        const char *v = streq(property, "RunId") ? g->run_id
                : streq(property, "Config")      ? g->config_text
                                                 : g->digest;
        return sd_bus_message_append(reply, "s", strempty(v));
}

static int property_get_pid(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Guest *g = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) g->pid);
}

static int property_get_tags(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        _cleanup_strv_free_ char **tags = guest_config_get_tags(((Guest *) userdata)->config);
        return sd_bus_message_append_strv(reply, tags);
}

static int property_get_onboot(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Guest *g = userdata;
        return sd_bus_message_append(reply, "b", guest_config_get_bool(g->config, "onboot", false));
}

static int property_get_startup_order(sd_bus *bus, const char *path, const char *interface,
        const char *property, sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        GuestStartup s;
        guest_config_get_startup(((Guest *) userdata)->config, &s);
        return sd_bus_message_append(reply, "i", (int32_t) s.order);
}

#define GUEST_ACT_METHOD(name) \
        SD_BUS_METHOD_WITH_ARGS(name, SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("o", task), \
                method_guest_act, SD_BUS_VTABLE_UNPRIVILEGED)

static const sd_bus_vtable guest_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Vmid", "u", NULL, offsetof(Guest, vmid), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Type", "s", property_get_type, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Lock", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Pid", "u", property_get_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RunId", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Config", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Digest", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Tags", "as", property_get_tags, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OnBoot", "b", property_get_onboot, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY(
                "StartupOrder", "i", property_get_startup_order, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        GUEST_ACT_METHOD("Start"),
        GUEST_ACT_METHOD("Shutdown"),
        GUEST_ACT_METHOD("Stop"),
        GUEST_ACT_METHOD("Suspend"),
        GUEST_ACT_METHOD("Resume"),
        GUEST_ACT_METHOD("Reboot"),
        SD_BUS_METHOD_WITH_ARGS("SetConfig", SD_BUS_ARGS("s", config, "s", digest, "a{sv}", options),
                SD_BUS_NO_RESULT, method_set_config, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int guest_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
        void **ret_found, sd_bus_error *error)
{
        const char *name = startswith(path, GUEST_PREFIX "/");
        Manager *m = userdata;
        uint32_t vmid;

        if (!name || vmid_parse(name, &vmid) < 0)
                return 0;
        Guest *g = manager_find_guest(m, vmid);
        if (!g || !bus_may_see(m, bus, vmid))
                return 0;
        *ret_found = g;
        return 1;
}

static int guest_node_enumerator(
        sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error)
{
        Manager *m = userdata;
        char **nodes = new0(char *, m->n_guests + 1);
        size_t n = 0;

        for (size_t i = 0; i < m->n_guests; i++)
                if (bus_may_see(m, bus, m->guests[i]->vmid))
                        nodes[n++] = xstrdup(m->guests[i]->path);
        *ret_nodes = nodes;
        return 0;
}

int manager_bus_register(Manager *m)
{
        int r;

        r = sd_bus_add_object_vtable(
                m->bus, &m->manager_slot, MANAGER_PATH, MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(
                m->bus, &m->guest_slot, GUEST_PREFIX, GUEST_INTERFACE, guest_vtable, guest_object_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(m->bus, &m->enumerator_slot, GUEST_PREFIX, guest_node_enumerator, m);
        if (r < 0)
                return r;
        return sd_bus_add_object_manager(m->bus, &m->object_manager_slot, MANAGER_PATH);
}

void guest_bus_emit_changed(Guest *g, const char *property, ...)
{
        char *names[16];
        size_t n = 0;
        va_list ap;

        va_start(ap, property);
        for (const char *p = property; p && n < ELEMENTSOF(names) - 1; p = va_arg(ap, const char *))
                names[n++] = (char *) p;
        va_end(ap);
        names[n] = NULL;
        g->manager->emitting = true;
        (void) sd_bus_emit_properties_changed_strv(g->manager->bus, g->path, GUEST_INTERFACE, names);
        g->manager->emitting = false;
}

void guest_bus_emit_added(Guest *g)
{
        g->manager->emitting = true;
        (void) sd_bus_emit_object_added(g->manager->bus, g->path);
        g->manager->emitting = false;
}

void guest_bus_emit_removed(Guest *g)
{
        g->manager->emitting = true;
        (void) sd_bus_emit_object_removed(g->manager->bus, g->path);
        g->manager->emitting = false;
}

void manager_bus_emit_guest_started(Manager *m, Guest *g)
{
        (void) sd_bus_emit_signal(
                m->bus, MANAGER_PATH, MANAGER_INTERFACE, "GuestStarted", "us", g->vmid, strempty(g->run_id));
        host_shutdown_guests_changed(m->host_shutdown);
}

void manager_bus_emit_guest_stopped(Manager *m, Guest *g, const char *run_id, const char *reason)
{
        (void) sd_bus_emit_signal(
                m->bus, MANAGER_PATH, MANAGER_INTERFACE, "GuestStopped", "uss", g->vmid, run_id, reason);
        host_shutdown_guests_changed(m->host_shutdown);
}

void manager_bus_emit_changed(Manager *m, const char *property)
{
        (void) sd_bus_emit_properties_changed(m->bus, MANAGER_PATH, MANAGER_INTERFACE, property, NULL);
}
