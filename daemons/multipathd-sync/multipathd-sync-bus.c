/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "alloc.h"
#include "bus.h"
#include "errors.h"
#include "log.h"
#include "multipathd-sync.h"

#define MANAGER_PATH "/org/berth/multipath1"
#define MANAGER_INTERFACE "org.berth.multipath1.Manager"

/*
 * Reads the options; who asked (for the log too), and whether it may: the config is the whole cluster's,
 * so reads need Sys.Audit on "/" and changes Sys.Modify.
 */
static int read_options(Manager *m, sd_bus_message *msg, AclPriv priv, char **ret_user, sd_bus_error *error)
{
        _cleanup_free_ char *user = NULL;
        int r;

        r = access_read_caller(m->access, msg, &user, error);
        if (r < 0)
                return r;
        r = access_require(m->access, user, "/", priv, error);
        if (r < 0)
                return r;
        *ret_user = TAKE_PTR(user);
        return 0;
}

/* Knob settings: kebab-case names to strings, numbers or booleans, flattened into name, value pairs. */
static int read_settings(sd_bus_message *msg, char ***ret, sd_bus_error *error)
{
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                _cleanup_free_ char *value = NULL;
                const char *name, *contents, *s;
                uint32_t u;
                int32_t i;
                int b;

                r = sd_bus_message_read(msg, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(msg, NULL, &contents);
                if (r < 0)
                        return r;
                if (streq(contents, "s") && sd_bus_message_read(msg, "v", "s", &s) >= 0)
                        value = xstrdup(s);
                else if (streq(contents, "u") && sd_bus_message_read(msg, "v", "u", &u) >= 0)
                        value = xasprintf("%" PRIu32, u);
                else if (streq(contents, "i") && sd_bus_message_read(msg, "v", "i", &i) >= 0)
                        value = xasprintf("%" PRIi32, i);
                else if (streq(contents, "b") && sd_bus_message_read(msg, "v", "b", &b) >= 0)
                        value = xstrdup(b ? "yes" : "no");
                else
                        return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                "Setting '%s' must be a string, a number or a boolean", name);
                strv_push(&l, name);
                strv_push(&l, value);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int reply_edit_error(sd_bus_error *error, int r, const char *message)
{
        const char *m = message ?: strerror(-r);

        switch (r) {
        case -EINVAL:
        case -ENOKEY:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT, "Invalid argument: %s", m);
        case -ENOENT:
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_WWID, "No such LUN: %s", m);
        case -EEXIST:
                return sd_bus_error_setf(error, BERTH_ERROR_ALIAS_IN_USE, "Alias in use: %s", m);
        case -EBUSY:
                return sd_bus_error_setf(error, BERTH_ERROR_BUSY, "LUN in use: %s", m);
        case -ESTALE:
                return sd_bus_error_set(error, BERTH_ERROR_DIGEST_MISMATCH,
                        "The multipath configuration was changed by someone else (digest mismatch)");
        case -EBADMSG:
        case -EFBIG:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_CONFIG, "Invalid configuration: %s", m);
        default:
                return berth_bus_error_set_errnof(
                        error, r, "Failed to change the multipath configuration: %s", m);
        }
}

/* Replies to an edit: its error, or success after logging who did what. */
static int reply_edit(sd_bus_message *msg, sd_bus_error *error, int r, const char *message, const char *user,
        const char *fmt, ...) _printf_(6, 7);
static int reply_edit(sd_bus_message *msg, sd_bus_error *error, int r, const char *message, const char *user,
        const char *fmt, ...)
{
        _cleanup_free_ char *what = NULL;
        va_list ap;

        if (r < 0)
                return reply_edit_error(error, r, message);
        va_start(ap, fmt);
        what = xvasprintf(fmt, ap);
        va_end(ap);
        log_info("%s: %s.", user, what);
        return sd_bus_reply_method_return(msg, NULL);
}

/* Reads a change's plain arguments as types says, then its options. */
static int read_call(
        Manager *m, sd_bus_message *msg, char **ret_user, sd_bus_error *error, const char *types, ...)
{
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_message_readv(msg, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        return read_options(m, msg, ACL_PRIV_SYS_MODIFY, ret_user, error);
}

static int method_set_overrides(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *user = NULL, *message = NULL;
        const char *overrides, *digest;
        int r;

        r = read_call(userdata, msg, &user, error, "ss", &overrides, &digest);
        if (r < 0)
                return r;
        r = manager_set_overrides(userdata, overrides, digest, &message);
        return reply_edit(msg, error, r, message, user, "set the overrides");
}

/* The settings, delete and digest of SetDefaults and UpdateWwid, then the options. */
static int read_changes(Manager *m, sd_bus_message *msg, char ***ret_set, char ***ret_delete,
        const char **ret_digest, char **ret_user, sd_bus_error *error)
{
        int r;

        r = read_settings(msg, ret_set, error);
        if (r >= 0)
                r = sd_bus_message_read_strv(msg, ret_delete);
        if (r >= 0)
                r = read_call(m, msg, ret_user, error, "s", ret_digest);
        return r;
}

static int method_set_defaults(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_strv_free_ char **set = NULL, **delete = NULL;
        _cleanup_free_ char *user = NULL, *message = NULL;
        const char *digest;
        int r;

        r = read_changes(userdata, msg, &set, &delete, &digest, &user, error);
        if (r < 0)
                return r;
        r = manager_set_defaults(userdata, set, delete, digest, &message);
        return reply_edit(msg, error, r, message, user, "changed the defaults");
}

static int method_update_wwid(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_strv_free_ char **set = NULL, **delete = NULL;
        _cleanup_free_ char *user = NULL, *message = NULL;
        const char *wwid, *digest;
        int r;

        r = sd_bus_message_read(msg, "s", &wwid);
        if (r >= 0)
                r = read_changes(userdata, msg, &set, &delete, &digest, &user, error);
        if (r < 0)
                return r;
        r = manager_update_wwid(userdata, wwid, set, delete, digest, &message);
        return reply_edit(msg, error, r, message, user, "changed the knobs of wwid %s", wwid);
}

/* AddWwid, RemoveWwid, SetAlias and RemoveAlias: a WWID, for some a force flag or an alias, the options. */
static int method_edit_wwid(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *user = NULL, *message = NULL;
        const char *member = sd_bus_message_get_member(msg), *wwid, *alias = "";
        int force = false, r;

        r = sd_bus_message_read(msg, "s", &wwid);
        if (r >= 0 && streq(member, "SetAlias"))
                r = sd_bus_message_read(msg, "s", &alias);
        if (r >= 0 && streq(member, "RemoveWwid"))
                r = sd_bus_message_read(msg, "b", &force);
        if (r >= 0)
                r = read_options(userdata, msg, ACL_PRIV_SYS_MODIFY, &user, error);
        if (r < 0)
                return r;

        if (streq(member, "AddWwid"))
                r = manager_add_wwid(userdata, wwid, &message);
        else if (streq(member, "RemoveWwid"))
                r = manager_remove_wwid(userdata, wwid, force, &message);
        else if (streq(member, "SetAlias"))
                r = manager_set_alias(userdata, wwid, alias, &message);
        else
                r = manager_remove_alias(userdata, wwid, &message);
        return reply_edit(msg, error, r, message, user, "%s %s%s%s%s", member, wwid,
                isempty(alias) ? "" : " ", alias, force ? " (forced)" : "");
}

/* A section's knobs; with c, the effective defaults: what is set, else multipathd's own. */
static int append_knobs(sd_bus_message *reply, char *const knobs[], const MultipathConfig *c)
{
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        for (MultipathKnob k = 0; k < _MULTIPATH_KNOB_MAX; k++) {
                const MultipathKnobInfo *info = multipath_knob_info(k);
                const char *value = c ? multipath_config_effective_default(c, k) : knobs[k];

                if (!value)
                        continue;
                r = sd_bus_message_append(reply, "{sv}", info->name, "s", value);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int append_config(sd_bus_message *reply, const MultipathState *s)
{
        const MultipathConfig *c = s->config;
        int r;

        r = append_knobs(reply, c->defaults, c);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < c->n_luns; i++)
                r = sd_bus_message_append(reply, "s", c->luns[i]->wwid);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{ss}");
        for (size_t i = 0; r >= 0 && i < c->n_luns; i++)
                if (c->luns[i]->alias)
                        r = sd_bus_message_append(reply, "{ss}", c->luns[i]->wwid, c->luns[i]->alias);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
        for (size_t i = 0; r >= 0 && i < c->n_luns; i++) {
                r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", c->luns[i]->wwid);
                if (r >= 0)
                        r = append_knobs(reply, c->luns[i]->knobs, NULL);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "ss", s->overrides, s->digest);
        return r;
}

static int method_get_config(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *user = NULL, *message = NULL;
        MultipathState s = {};
        int r;

        r = read_options(userdata, msg, ACL_PRIV_SYS_AUDIT, &user, error);
        if (r < 0)
                return r;
        r = manager_load_state(userdata, &s, &message);
        if (r < 0)
                return reply_edit_error(error, r, message);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_config(reply, &s);
        multipath_state_done(&s);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int append_health(sd_bus_message *reply, const MultipathHealthMatrix *h)
{
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sss)");
        for (size_t i = 0; r >= 0 && i < h->n_luns; i++)
                r = sd_bus_message_append(reply, "(sss)", h->luns[i].wwid, strempty(h->luns[i].alias),
                        multipath_health_state_to_string(h->luns[i].state));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssssuuas)");
        for (size_t i = 0; r >= 0 && i < h->n_cells; i++) {
                const MultipathHealthCell *c = &h->cells[i];
                const MultipathMapHealth *map = c->map;

                r = sd_bus_message_open_container(reply, 'r', "sssssuuas");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "sssssuu", h->luns[c->lun].wwid,
                                h->nodes[c->node].node, multipath_health_state_to_string(c->state),
                                map ? map->name : "", map ? map->dm_state : "", map ? map->paths_active : 0,
                                map ? map->paths_total : 0);
                if (r >= 0)
                        r = sd_bus_message_append_strv(reply, map ? map->failed_paths : NULL);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssttsss)");
        for (size_t i = 0; r >= 0 && i < h->n_nodes; i++) {
                const MultipathHealthNode *n = &h->nodes[i];
                const MultipathHealthReport *rep = n->report;

                r = sd_bus_message_append(reply, "(ssttsss)", n->node,
                        multipath_report_state_to_string(n->report_state), rep ? rep->timestamp : 0,
                        rep ? rep->apply_generation : 0,
                        multipath_apply_result_to_string(rep ? rep->apply_result : MULTIPATH_APPLY_NONE),
                        rep ? strempty(rep->apply_error) : "", strempty(n->problem));
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_get_health(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(multipath_health_matrix_freep) MultipathHealthMatrix *h = NULL;
        _cleanup_free_ char *user = NULL;
        int r;

        r = read_options(userdata, msg, ACL_PRIV_SYS_AUDIT, &user, error);
        if (r < 0)
                return r;
        r = manager_health(userdata, &h);
        if (r < 0)
                return berth_bus_error_set_errnof(
                        error, r, "Failed to read the health reports: %s", strerror(-r));
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_health(reply, h);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_apply(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *user = NULL, *message = NULL;
        int r;

        r = read_options(userdata, msg, ACL_PRIV_SYS_MODIFY, &user, error);
        if (r < 0)
                return r;
        r = manager_apply(userdata, true, &message);
        if (r == -EBADMSG)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_CONFIG, "%s", strempty(message));
        if (r < 0)
                return berth_bus_error_set_errnof(error, r, "%s", message ?: strerror(-r));
        log_info("%s: applied the configuration again.", user);
        return sd_bus_reply_method_return(msg, NULL);
}

static int property_get_apply_result(sd_bus *bus, const char *path, const char *interface,
        const char *property, sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", multipath_apply_result_to_string(m->apply_result));
}

static int property_get_apply_error(sd_bus *bus, const char *path, const char *interface,
        const char *property, sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", strempty(m->apply_error));
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Node", "s", NULL, offsetof(Manager, node), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ApplyGeneration", "t", NULL, offsetof(Manager, apply_generation),
                SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ApplyResult", "s", property_get_apply_result, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ApplyError", "s", property_get_apply_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("GetConfig", SD_BUS_ARGS("a{sv}", options),
                SD_BUS_RESULT("a{sv}", defaults, "as", wwids, "a{ss}", aliases, "a{sa{sv}}", luns, "s",
                        overrides, "s", digest),
                method_get_config, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetOverrides", SD_BUS_ARGS("s", overrides, "s", digest, "a{sv}", options),
                SD_BUS_NO_RESULT, method_set_overrides, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetDefaults",
                SD_BUS_ARGS("a{sv}", settings, "as", delete, "s", digest, "a{sv}", options),
                SD_BUS_NO_RESULT, method_set_defaults, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddWwid", SD_BUS_ARGS("s", wwid, "a{sv}", options), SD_BUS_NO_RESULT,
                method_edit_wwid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UpdateWwid",
                SD_BUS_ARGS("s", wwid, "a{sv}", settings, "as", delete, "s", digest, "a{sv}", options),
                SD_BUS_NO_RESULT, method_update_wwid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveWwid", SD_BUS_ARGS("s", wwid, "b", force, "a{sv}", options),
                SD_BUS_NO_RESULT, method_edit_wwid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetAlias", SD_BUS_ARGS("s", wwid, "s", alias, "a{sv}", options),
                SD_BUS_NO_RESULT, method_edit_wwid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveAlias", SD_BUS_ARGS("s", wwid, "a{sv}", options), SD_BUS_NO_RESULT,
                method_edit_wwid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetHealth", SD_BUS_ARGS("a{sv}", options),
                SD_BUS_RESULT("a(sss)", luns, "a(sssssuuas)", cells, "a(ssttsss)", nodes), method_get_health,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Apply", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT, method_apply,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Applied", SD_BUS_ARGS("t", generation, "b", ok, "s", error), 0),
        SD_BUS_VTABLE_END,
};

int manager_bus_register(Manager *m)
{
        int r;

        r = access_new(m->store, &m->access);
        if (r < 0)
                return log_error_errno(r, "Failed to read the access config: %m");
        r = sd_bus_add_object_vtable(
                m->bus, &m->manager_slot, MANAGER_PATH, MANAGER_INTERFACE, manager_vtable, m);
        return r < 0 ? log_error_errno(r, "Failed to register %s: %m", MANAGER_PATH) : 0;
}

void manager_bus_emit_applied(Manager *m)
{
        int r;

        r = sd_bus_emit_properties_changed(m->bus, MANAGER_PATH, MANAGER_INTERFACE, "ApplyGeneration",
                "ApplyResult", "ApplyError", NULL);
        if (r >= 0)
                r = sd_bus_emit_signal(m->bus, MANAGER_PATH, MANAGER_INTERFACE, "Applied", "tbs",
                        m->apply_generation, m->apply_result == MULTIPATH_APPLY_OK, strempty(m->apply_error));
        if (r < 0)
                log_warning_errno(r, "Failed to announce the apply, ignoring: %m");
}
