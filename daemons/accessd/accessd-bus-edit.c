/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "accessd-bus.h"
#include "acl-edit.h"
#include "alloc.h"
#include "bus-options.h"
#include "errors.h"
#include "log.h"
#include "password.h"

#define PATH_ACCESS "/access"
#define PATH_GROUPS "/access/groups"

/* Every option of the config's methods; each method's table picks its own. */
typedef struct EditOptions {
        char *user, *digest;
        char *firstname, *lastname, *email, *comment, *keys, *password;
        int enable, privsep, propagate, revoke, append, enabled;
        uint64_t expire;
        char **groups, **delete, **users, **tokens;
} EditOptions;

static void edit_options_done(EditOptions *o)
{
        free(o->user);
        free(o->digest);
        free(o->firstname);
        free(o->lastname);
        free(o->email);
        free(o->comment);
        free(o->keys);
        ticket_secret_free(o->password);
        strv_free(o->groups);
        strv_free(o->delete);
        strv_free(o->users);
        strv_free(o->tokens);
}

#define OPT(name, type, field) \
        { \
                name, BUS_OPTION_##type, offsetof(EditOptions, field) \
        }
#define OPT_CALLER OPT("user", STRING, user)
#define OPT_DIGEST OPT("digest", STRING, digest)
#define OPT_USER_FIELDS \
        OPT("enable", TRISTATE, enable), OPT("expire", UINT64, expire), OPT("firstname", STRING, firstname), \
                OPT("lastname", STRING, lastname), OPT("email", STRING, email), \
                OPT("comment", STRING, comment), OPT("keys", STRING, keys), OPT("groups", STRV, groups)

static const BusOption caller_options[] = { OPT_CALLER, {} };
static const BusOption list_users_options[] = { OPT_CALLER, OPT("enabled", BOOL, enabled), {} };
static const BusOption create_user_options[] = { OPT_CALLER, OPT_DIGEST, OPT_USER_FIELDS,
        OPT("password", STRING, password), {} };
static const BusOption update_user_options[] = { OPT_CALLER, OPT_DIGEST, OPT_USER_FIELDS,
        OPT("append", BOOL, append), OPT("delete", STRV, delete), {} };
static const BusOption digest_options[] = { OPT_CALLER, OPT_DIGEST, {} };
static const BusOption group_options[] = { OPT_CALLER, OPT_DIGEST, OPT("comment", STRING, comment), {} };
static const BusOption role_options[] = { OPT_CALLER, OPT_DIGEST, OPT("append", BOOL, append), {} };
static const BusOption acl_options[] = { OPT_CALLER, OPT_DIGEST, OPT("users", STRV, users),
        OPT("groups", STRV, groups), OPT("tokens", STRV, tokens), OPT("propagate", TRISTATE, propagate),
        OPT("delete", BOOL, revoke), {} };
static const BusOption token_options[] = { OPT_CALLER, OPT_DIGEST, OPT("expire", UINT64, expire),
        OPT("privsep", TRISTATE, privsep), OPT("comment", STRING, comment), {} };

static int read_edit_options(
        Manager *m, sd_bus_message *msg, const BusOption *table, EditOptions *o, sd_bus_error *error)
{
        *o = (EditOptions){ .enable = -1, .privsep = -1, .propagate = -1, .expire = UINT64_MAX };
        return access_read_options(m->access, msg, table, o, &o->user, error);
}

/* The edit's outcome as the reply; the access config in force follows at once. */
static int reply_edit(
        Manager *m, sd_bus_message *msg, int r, const char *message, const char *what, sd_bus_error *error)
{
        if (r < 0)
                return reply_access_error(error, r, message, what);
        (void) access_reload(m->access);
        return sd_bus_reply_method_return(msg, NULL);
}

static bool is_berth_realm(const char *userid)
{
        const char *realm = strrchr(userid, '@');
        return realm && (streq(realm, "@berth") || streq(realm, "@pve"));
}

/* Users */

static int append_entry_begin(sd_bus_message *reply)
{
        return sd_bus_message_open_container(reply, 'a', "{sv}");
}

static int append_user(sd_bus_message *reply, const AclConfig *c, const AclUser *u)
{
        _cleanup_strv_free_ char **groups = acl_user_groups(c, u->id), **tokens = acl_user_tokens(c, u->id);
        int r;

        STRV_FOREACH (t, tokens)
                memmove(*t, strrchr(*t, '!') + 1, strlen(strrchr(*t, '!')));
        r = append_entry_begin(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}", "userid", "s", u->id,
                        "enable", "b", u->enable, "expire", "t", (uint64_t) u->expire, "firstname", "s",
                        strempty(u->firstname), "lastname", "s", strempty(u->lastname), "email", "s",
                        strempty(u->email), "comment", "s", strempty(u->comment), "keys", "s",
                        strempty(u->keys));
        if (r >= 0)
                r = append_strv_entry(reply, "groups", groups);
        if (r >= 0)
                r = append_strv_entry(reply, "tokens", tokens);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

int method_list_users(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(edit_options_done) EditOptions o = {};
        Manager *m = userdata;
        const AclConfig *c = access_config(m->access);
        int r;

        r = read_edit_options(m, msg, list_users_options, &o, error);
        if (r < 0)
                return r;
        bool all = access_allowed(m->access, o.user, PATH_ACCESS, ACL_PRIV_SYS_AUDIT);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < c->n_users; i++) {
                const AclUser *u = c->users + i;
                if ((all || streq(u->id, o.user)) && (!o.enabled || u->enable))
                        r = append_user(reply, c, u);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int method_get_user(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(edit_options_done) EditOptions o = {};
        Manager *m = userdata;
        const AclConfig *c = access_config(m->access);
        const char *userid;
        int r;

        r = sd_bus_message_read(msg, "s", &userid);
        if (r >= 0)
                r = read_edit_options(m, msg, caller_options, &o, error);
        if (r < 0)
                return r;
        r = require_self_or(m, o.user, userid, PATH_ACCESS, ACL_PRIV_SYS_AUDIT, error);
        if (r < 0)
                return r;
        const AclUser *u = acl_find_user(c, userid);
        if (!u)
                return sd_bus_error_setf(error, BERTH_ERROR_NOT_FOUND, "user '%s' does not exist", userid);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_user(reply, c, u);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

typedef struct UserArgs {
        const char *userid;
        AclUserFields fields;
        bool append;
        const char *hash; /* the new password's, or NULL */
} UserArgs;

static int user_fields_from_options(EditOptions *o, AclUserFields *f, sd_bus_error *error)
{
        static const char *const clearable[] = { "firstname", "lastname", "email", "comment", "keys",
                "groups" };

        *f = (AclUserFields){ .firstname = o->firstname,
                .lastname = o->lastname,
                .email = o->email,
                .comment = o->comment,
                .keys = o->keys,
                .set_enable = o->enable >= 0,
                .enable = o->enable > 0,
                .set_expire = o->expire != UINT64_MAX,
                .expire = o->expire == UINT64_MAX ? 0 : (int64_t) o->expire,
                .groups = o->groups };
        if (o->expire != UINT64_MAX && o->expire > INT64_MAX)
                return sd_bus_error_setf(
                        error, BERTH_ERROR_INVALID_ARGUMENT, "Invalid expire %" PRIu64, o->expire);
        STRV_FOREACH (d, o->delete) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(clearable) && !streq(*d, clearable[i]); i++)
                        ;
                if (i == ELEMENTSOF(clearable))
                        return sd_bus_error_setf(
                                error, BERTH_ERROR_INVALID_ARGUMENT, "Cannot delete field '%s'", *d);
                const char **field[] = { &f->firstname, &f->lastname, &f->email, &f->comment, &f->keys };
                if (i < ELEMENTSOF(field)) {
                        if (*field[i])
                                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                        "Field '%s' is both set and deleted", *d);
                        *field[i] = "";
                } else if (f->groups)
                        return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                "Field 'groups' is both set and deleted");
                else
                        f->groups = (char **) (const char *const[]){ NULL };
        }
        return 0;
}

static int edit_user_add(AccessState *s, const void *args, char **ret_error)
{
        const UserArgs *a = args;
        int r = acl_edit_user_add(s->config, a->userid, &a->fields, ret_error);
        if (r >= 0 && a->hash) {
                r = access_secrets_set(s->shadow, a->userid, a->hash);
                s->shadow_changed = true;
        }
        return r;
}

static int edit_user_update(AccessState *s, const void *args, char **ret_error)
{
        const UserArgs *a = args;
        return acl_edit_user_update(s->config, a->userid, &a->fields, a->append, ret_error);
}

static int edit_user_remove(AccessState *s, const void *args, char **ret_error)
{
        const UserArgs *a = args;
        int r = acl_edit_user_remove(s->config, a->userid, ret_error);
        if (r < 0)
                return r;
        s->tokens_changed = access_secrets_remove_user_tokens(s->tokens, a->userid) > 0;
        s->shadow_changed = access_secrets_remove(s->shadow, a->userid) >= 0;
        return 0;
}

static int edit_password(AccessState *s, const void *args, char **ret_error)
{
        const UserArgs *a = args;
        if (!acl_find_user(s->config, a->userid)) {
                if (ret_error)
                        *ret_error = xasprintf("user '%s' does not exist", a->userid);
                return -ENOENT;
        }
        s->shadow_changed = true;
        return access_secrets_set(s->shadow, a->userid, a->hash);
}

static int hash_password(const char *userid, const char *password, char **ret, sd_bus_error *error)
{
        int r;

        if (!is_berth_realm(userid))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                        "Only users of the berth realm have a password kept by berth, not %s", userid);
        if (strlen(password) < 5 || strlen(password) > 64)
                return sd_bus_error_setf(
                        error, BERTH_ERROR_INVALID_ARGUMENT, "A password has 5 to 64 characters");
        r = password_hash(password, ret);
        if (r < 0)
                return berth_bus_error_set_errnof(error, r, "Failed to hash the password: %s", strerror(-r));
        return 0;
}

static int user_edit(sd_bus_message *msg, Manager *m, const BusOption *table, AccessEdit edit,
        const char *what, sd_bus_error *error)
{
        _cleanup_(edit_options_done) EditOptions o = {};
        _cleanup_(ticket_secret_freep) char *hash = NULL;
        _cleanup_free_ char *message = NULL;
        UserArgs a = {};
        int r;

        r = sd_bus_message_read(msg, "s", &a.userid);
        if (r >= 0)
                r = read_edit_options(m, msg, table, &o, error);
        if (r < 0)
                return r;
        r = access_require(m->access, o.user, PATH_GROUPS, ACL_PRIV_USER_MODIFY, error);
        if (r < 0)
                return r;
        r = user_fields_from_options(&o, &a.fields, error);
        if (r < 0)
                return r;
        if (o.password) {
                r = hash_password(a.userid, o.password, &hash, error);
                if (r < 0)
                        return r;
        }
        a.append = o.append;
        a.hash = hash;
        r = manager_edit(m, o.digest, edit, &a, &message);
        if (r >= 0)
                log_info("%s %s user %s.", o.user, what, a.userid);
        return reply_edit(m, msg, r, message, what, error);
}

int method_create_user(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return user_edit(msg, userdata, create_user_options, edit_user_add, "created", error);
}

int method_update_user(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return user_edit(msg, userdata, update_user_options, edit_user_update, "changed", error);
}

int method_delete_user(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return user_edit(msg, userdata, digest_options, edit_user_remove, "removed", error);
}

int method_set_password(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(edit_options_done) EditOptions o = {};
        _cleanup_(ticket_secret_freep) char *hash = NULL;
        _cleanup_free_ char *message = NULL;
        Manager *m = userdata;
        const char *password;
        UserArgs a = {};
        int r;

        r = sd_bus_message_read(msg, "ss", &a.userid, &password);
        if (r >= 0)
                r = read_edit_options(m, msg, caller_options, &o, error);
        if (r < 0)
                return r;
        r = require_self_or(m, o.user, a.userid, PATH_GROUPS, ACL_PRIV_USER_MODIFY, error);
        if (r < 0)
                return r;
        r = hash_password(a.userid, password, &hash, error);
        if (r < 0)
                return r;
        a.hash = hash;
        r = manager_edit(m, NULL, edit_password, &a, &message);
        if (r >= 0)
                log_info("%s set the password of %s.", o.user, a.userid);
        return reply_edit(m, msg, r, message, "set the password of", error);
}

/* Groups */

int method_list_groups(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(edit_options_done) EditOptions o = {};
        Manager *m = userdata;
        const AclConfig *c = access_config(m->access);
        int r;

        r = read_edit_options(m, msg, caller_options, &o, error);
        if (r >= 0)
                r = access_require(m->access, o.user, PATH_ACCESS, ACL_PRIV_SYS_AUDIT, error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < c->n_groups; i++) {
                const AclGroup *g = c->groups + i;
                r = append_entry_begin(reply);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{sv}{sv}", "groupid", "s", g->id, "comment", "s",
                                strempty(g->comment));
                if (r >= 0)
                        r = append_strv_entry(reply, "members", g->members);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

typedef struct NamedArgs {
        const char *id;
        const char *comment;
        AclPrivSet privs;
        bool append;
} NamedArgs;

static int edit_group_add(AccessState *s, const void *args, char **ret_error)
{
        const NamedArgs *a = args;
        return acl_edit_group_add(s->config, a->id, a->comment, ret_error);
}

static int edit_group_update(AccessState *s, const void *args, char **ret_error)
{
        const NamedArgs *a = args;
        return acl_edit_group_set_comment(s->config, a->id, a->comment, ret_error);
}

static int edit_group_remove(AccessState *s, const void *args, char **ret_error)
{
        const NamedArgs *a = args;
        return acl_edit_group_remove(s->config, a->id, ret_error);
}

static int group_edit(sd_bus_message *msg, Manager *m, const BusOption *table, AccessEdit edit,
        const char *what, sd_bus_error *error)
{
        _cleanup_(edit_options_done) EditOptions o = {};
        _cleanup_free_ char *message = NULL;
        NamedArgs a = {};
        int r;

        r = sd_bus_message_read(msg, "s", &a.id);
        if (r >= 0)
                r = read_edit_options(m, msg, table, &o, error);
        if (r >= 0)
                r = access_require(m->access, o.user, PATH_GROUPS, ACL_PRIV_GROUP_ALLOCATE, error);
        if (r < 0)
                return r;
        a.comment = o.comment;
        r = manager_edit(m, o.digest, edit, &a, &message);
        if (r >= 0)
                log_info("%s %s group %s.", o.user, what, a.id);
        return reply_edit(m, msg, r, message, what, error);
}

int method_create_group(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return group_edit(msg, userdata, group_options, edit_group_add, "created", error);
}

int method_update_group(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return group_edit(msg, userdata, group_options, edit_group_update, "changed", error);
}

int method_delete_group(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return group_edit(msg, userdata, digest_options, edit_group_remove, "removed", error);
}

/* Roles */

static int append_role(sd_bus_message *reply, const char *id, AclPrivSet privs, bool special)
{
        _cleanup_strv_free_ char **names = NULL;
        int r;

        names = priv_names(privs);
        r = append_entry_begin(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}", "roleid", "s", id, "special", "b", special);
        if (r >= 0)
                r = append_strv_entry(reply, "privs", names);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

int method_list_roles(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(edit_options_done) EditOptions o = {};
        Manager *m = userdata;
        const AclConfig *c = access_config(m->access);
        const char *id;
        AclPrivSet privs;
        int r;

        r = read_edit_options(m, msg, caller_options, &o, error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && (id = acl_builtin_role(i)); i++) {
                (void) acl_role_privs(c, id, &privs);
                r = append_role(reply, id, privs, true);
        }
        for (size_t i = 0; r >= 0 && i < c->n_roles; i++)
                r = append_role(reply, c->roles[i].id, c->roles[i].privs, false);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int edit_role_add(AccessState *s, const void *args, char **ret_error)
{
        const NamedArgs *a = args;
        return acl_edit_role_add(s->config, a->id, a->privs, ret_error);
}

static int edit_role_update(AccessState *s, const void *args, char **ret_error)
{
        const NamedArgs *a = args;
        return acl_edit_role_update(s->config, a->id, a->privs, a->append, ret_error);
}

static int edit_role_remove(AccessState *s, const void *args, char **ret_error)
{
        const NamedArgs *a = args;
        return acl_edit_role_remove(s->config, a->id, ret_error);
}

static int role_edit(sd_bus_message *msg, Manager *m, bool with_privs, AccessEdit edit, const char *what,
        sd_bus_error *error)
{
        _cleanup_(edit_options_done) EditOptions o = {};
        _cleanup_strv_free_ char **privs = NULL;
        _cleanup_free_ char *message = NULL;
        NamedArgs a = {};
        int r;

        r = sd_bus_message_read(msg, "s", &a.id);
        if (r >= 0 && with_privs)
                r = sd_bus_message_read_strv(msg, &privs);
        if (r >= 0)
                r = read_edit_options(m, msg, with_privs ? role_options : digest_options, &o, error);
        if (r >= 0)
                r = access_require(m->access, o.user, PATH_ACCESS, ACL_PRIV_SYS_MODIFY, error);
        if (r < 0)
                return r;
        STRV_FOREACH (p, privs) {
                AclPriv priv = acl_priv_from_string(*p);
                if (priv < 0)
                        return sd_bus_error_setf(
                                error, BERTH_ERROR_INVALID_ARGUMENT, "Unknown privilege '%s'", *p);
                a.privs |= ACL_PRIV_BIT(priv);
        }
        a.append = o.append;
        r = manager_edit(m, o.digest, edit, &a, &message);
        if (r >= 0)
                log_info("%s %s role %s.", o.user, what, a.id);
        return reply_edit(m, msg, r, message, what, error);
}

int method_create_role(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return role_edit(msg, userdata, true, edit_role_add, "created", error);
}

int method_update_role(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return role_edit(msg, userdata, true, edit_role_update, "changed", error);
}

int method_delete_role(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return role_edit(msg, userdata, false, edit_role_remove, "removed", error);
}

/* ACL entries */

int method_list_acl(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(edit_options_done) EditOptions o = {};
        Manager *m = userdata;
        const AclConfig *c = access_config(m->access);
        int r;

        r = read_edit_options(m, msg, caller_options, &o, error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < c->n_entries; i++) {
                const AclEntry *e = c->entries + i;
                /* As Proxmox: the entries of the paths the caller may audit or change the permissions of. */
                if (!access_allowed_any(m->access, o.user, e->path,
                            ACL_PRIV_BIT(ACL_PRIV_SYS_AUDIT) | ACL_PRIV_BIT(ACL_PRIV_PERMISSIONS_MODIFY)))
                        continue;
                const char *type = e->member[0] == '@' ? "group" : strchr(e->member, '!') ? "token" : "user";
                r = append_entry_begin(reply);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}", "path", "s", e->path,
                                "type", "s", type, "ugid", "s", e->member + (e->member[0] == '@'), "roleid",
                                "s", e->role, "propagate", "b", e->propagate);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

typedef struct AclArgs {
        const char *path;
        char **roles, **members;
        bool propagate, remove;
} AclArgs;

static int edit_acl(AccessState *s, const void *args, char **ret_error)
{
        const AclArgs *a = args;
        return acl_edit_acl(s->config, a->path, a->roles, a->members, a->propagate, a->remove, ret_error);
}

int method_update_acl(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(edit_options_done) EditOptions o = {};
        _cleanup_strv_free_ char **roles = NULL, **members = NULL;
        _cleanup_free_ char *message = NULL, *path = NULL;
        Manager *m = userdata;
        const char *p;
        int r;

        r = sd_bus_message_read(msg, "s", &p);
        if (r >= 0)
                r = sd_bus_message_read_strv(msg, &roles);
        if (r >= 0)
                r = read_edit_options(m, msg, acl_options, &o, error);
        if (r < 0)
                return r;
        path = acl_path_normalize(p);
        if (!path || !acl_path_is_valid(path))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT, "Invalid ACL path '%s'", p);
        r = access_require(m->access, o.user, path, ACL_PRIV_PERMISSIONS_MODIFY, error);
        if (r < 0)
                return r;
        STRV_FOREACH (u, o.users)
                strv_push(&members, *u);
        STRV_FOREACH (g, o.groups) {
                _cleanup_free_ char *member = xasprintf("@%s", *g);
                strv_push(&members, member);
        }
        STRV_FOREACH (t, o.tokens)
                strv_push(&members, *t);
        if (!members || !roles)
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                        "An ACL change names at least one role and one user, group or token");
        AclArgs a = {
                .path = path, .roles = roles, .members = members, .propagate = o.propagate != 0, .remove = o.revoke
        };
        r = manager_edit(m, o.digest, edit_acl, &a, &message);
        if (r >= 0)
                log_info("%s %s on %s.", o.user, o.revoke ? "revoked roles" : "granted roles", path);
        return reply_edit(m, msg, r, message, "change the ACL", error);
}

/* Tokens */

int method_list_tokens(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(edit_options_done) EditOptions o = {};
        Manager *m = userdata;
        const AclConfig *c = access_config(m->access);
        const char *userid;
        int r;

        r = sd_bus_message_read(msg, "s", &userid);
        if (r >= 0)
                r = read_edit_options(m, msg, caller_options, &o, error);
        if (r >= 0)
                r = require_self_or(m, o.user, userid, PATH_ACCESS, ACL_PRIV_SYS_AUDIT, error);
        if (r < 0)
                return r;
        if (!acl_find_user(c, userid))
                return sd_bus_error_setf(error, BERTH_ERROR_NOT_FOUND, "user '%s' does not exist", userid);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < c->n_tokens; i++) {
                const AclToken *t = c->tokens + i;
                if (!acl_token_is_of_user(t->id, userid))
                        continue;
                r = append_entry_begin(reply);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}", "tokenid", "s",
                                strrchr(t->id, '!') + 1, "expire", "t", (uint64_t) t->expire, "privsep", "b",
                                t->privsep, "comment", "s", strempty(t->comment));
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

typedef struct TokenArgs {
        AclToken token;
        const char *hash;
        bool set_expire, set_privsep;
} TokenArgs;

static int edit_token_add(AccessState *s, const void *args, char **ret_error)
{
        const TokenArgs *a = args;
        int r = acl_edit_token_add(s->config, &a->token, ret_error);
        if (r < 0)
                return r;
        s->tokens_changed = true;
        return access_secrets_set(s->tokens, a->token.id, a->hash);
}

static int edit_token_update(AccessState *s, const void *args, char **ret_error)
{
        const TokenArgs *a = args;
        return acl_edit_token_update(s->config, a->token.id, a->set_expire ? &a->token.expire : NULL,
                a->set_privsep ? &a->token.privsep : NULL, a->token.comment, ret_error);
}

static int edit_token_remove(AccessState *s, const void *args, char **ret_error)
{
        const TokenArgs *a = args;
        int r = acl_edit_token_remove(s->config, a->token.id, ret_error);
        if (r < 0)
                return r;
        s->tokens_changed = access_secrets_remove(s->tokens, a->token.id) >= 0;
        return 0;
}

static int token_edit(sd_bus_message *msg, Manager *m, const BusOption *table, AccessEdit edit,
        const char *what, char **ret_secret, sd_bus_error *error)
{
        _cleanup_(edit_options_done) EditOptions o = {};
        _cleanup_(ticket_secret_freep) char *secret = NULL, *hash = NULL;
        _cleanup_free_ char *message = NULL, *tokenid = NULL;
        const char *userid, *name;
        int r;

        r = sd_bus_message_read(msg, "ss", &userid, &name);
        if (r >= 0)
                r = read_edit_options(m, msg, table, &o, error);
        if (r >= 0)
                r = require_self_or(m, o.user, userid, PATH_GROUPS, ACL_PRIV_USER_MODIFY, error);
        if (r < 0)
                return r;
        if (o.expire != UINT64_MAX && o.expire > INT64_MAX)
                return sd_bus_error_setf(
                        error, BERTH_ERROR_INVALID_ARGUMENT, "Invalid expire %" PRIu64, o.expire);
        tokenid = xasprintf("%s!%s", userid, name);
        if (!acl_tokenid_is_valid(tokenid))
                return sd_bus_error_setf(
                        error, BERTH_ERROR_INVALID_ARGUMENT, "Invalid token id '%s'", tokenid);
        if (ret_secret) {
                r = access_token_secret_new(&secret, &hash);
                if (r < 0)
                        return berth_bus_error_set_errnof(
                                error, r, "Failed to make a secret: %s", strerror(-r));
        }
        TokenArgs a = {
                .token = { .id = tokenid,
                        .expire = o.expire == UINT64_MAX ? 0 : (int64_t) o.expire,
                        .privsep = o.privsep != 0,
                        .comment = o.comment },
                .hash = hash,
                .set_expire = o.expire != UINT64_MAX,
                .set_privsep = o.privsep >= 0,
        };
        r = manager_edit(m, o.digest, edit, &a, &message);
        if (r < 0)
                return reply_access_error(error, r, message, what);
        log_info("%s %s token %s.", o.user, what, tokenid);
        (void) access_reload(m->access);
        if (ret_secret)
                *ret_secret = TAKE_PTR(secret);
        return 0;
}

int method_create_token(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(ticket_secret_freep) char *secret = NULL;
        const char *userid, *name;
        int r;

        r = token_edit(msg, userdata, token_options, edit_token_add, "created", &secret, error);
        if (r < 0)
                return r;
        r = sd_bus_message_rewind(msg, true);
        if (r >= 0)
                r = sd_bus_message_read(msg, "ss", &userid, &name);
        if (r < 0)
                return r;
        _cleanup_free_ char *tokenid = xasprintf("%s!%s", userid, name);
        return sd_bus_reply_method_return(msg, "ss", tokenid, secret);
}

int method_update_token(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        int r = token_edit(msg, userdata, token_options, edit_token_update, "changed", NULL, error);
        return r < 0 ? r : sd_bus_reply_method_return(msg, NULL);
}

int method_delete_token(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        int r = token_edit(msg, userdata, digest_options, edit_token_remove, "removed", NULL, error);
        return r < 0 ? r : sd_bus_reply_method_return(msg, NULL);
}
