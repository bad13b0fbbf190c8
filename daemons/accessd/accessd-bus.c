/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <time.h>

#include "accessd-bus.h"
#include "acl-edit.h"
#include "alloc.h"
#include "bus-options.h"
#include "errors.h"
#include "log.h"
#include "password.h"

#define MANAGER_PATH "/org/berth/access1"
#define MANAGER_INTERFACE "org.berth.access1.Manager"

int reply_access_error(sd_bus_error *error, int r, const char *message, const char *what)
{
        switch (r) {
        case -EINVAL:
                return sd_bus_error_setf(
                        error, BERTH_ERROR_INVALID_ARGUMENT, "%s", message ?: "Invalid argument");
        case -ENOENT:
                return sd_bus_error_setf(error, BERTH_ERROR_NOT_FOUND, "%s", message ?: "No such entry");
        case -EEXIST:
                return sd_bus_error_setf(error, BERTH_ERROR_EXISTS, "%s", message ?: "It exists already");
        case -EPERM:
                return sd_bus_error_setf(
                        error, BERTH_ERROR_PERMISSION_DENIED, "%s", message ?: "Not permitted");
        case -ESTALE:
                return sd_bus_error_setf(error, BERTH_ERROR_DIGEST_MISMATCH,
                        "The access config was changed by someone else (digest mismatch)");
        case -EBADMSG:
                return sd_bus_error_setf(
                        error, BERTH_ERROR_INVALID_CONFIG, "%s", message ?: "Invalid access config");
        case -EACCES:
                return sd_bus_error_set(error, BERTH_ERROR_AUTHENTICATION_FAILED, "Authentication failure");
        default:
                return berth_bus_error_set_errnof(error, r, "Failed to %s: %s", what, strerror(-r));
        }
}

int append_strv_entry(sd_bus_message *reply, const char *key, char *const *l)
{
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, (char **) l);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

char **priv_names(AclPrivSet privs)
{
        char **names = NULL;

        for (AclPriv p = 0; p < _ACL_PRIV_MAX; p++)
                if (acl_priv_set_has(privs, p))
                        strv_push(&names, acl_priv_to_string(p));
        return names;
}

int require_self_or(Manager *m, const char *auth_id, const char *userid, const char *path, AclPriv priv,
        sd_bus_error *error)
{
        if (streq(auth_id, userid))
                return 0;
        return access_require(m->access, auth_id, path, priv, error);
}

/* A login under way: its password check runs in a thread, a failure's answer waits out its delay. */
struct Login {
        Manager *m;
        /* In m->delayed while its answer waits out the delay. */
        Login *prev, *next;
        sd_bus_message *msg;
        char *username, *canonical, *source;
        struct event *delay;
};

static void login_free(Login *l)
{
        if (l->delay) {
                event_free(l->delay);
                *(l->prev ? &l->prev->next : &l->m->delayed) = l->next;
                if (l->next)
                        l->next->prev = l->prev;
        }
        sd_bus_message_unref(l->msg);
        free(l->username);
        free(l->canonical);
        free(l->source);
        free(l);
}

static uint64_t monotonic_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int append_caps(sd_bus_message *reply, Manager *m, const char *userid)
{
        AclPrivSet caps[_ACCESS_CAP_PART_MAX];
        int r;

        access_capabilities(access_config(m->access), userid, time(NULL), caps);
        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        for (AccessCapPart part = 0; r >= 0 && part < _ACCESS_CAP_PART_MAX; part++) {
                _cleanup_strv_free_ char **names = NULL;
                names = priv_names(caps[part]);
                if (r >= 0)
                        r = append_strv_entry(reply, access_cap_part_to_string(part), names);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int reply_login(Login *l)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *ticket = NULL, *csrf = NULL;
        Manager *m = l->m;
        int r;

        r = manager_issue_ticket(m, l->canonical, &ticket, &csrf);
        if (r < 0) {
                log_error_errno(r, "Failed to issue a ticket for %s: %m", l->canonical);
                return sd_bus_reply_method_errorf(
                        l->msg, BERTH_ERROR_UNAVAILABLE, "Cannot issue a ticket: %s", strerror(-r));
        }
        r = sd_bus_message_new_method_return(l->msg, &reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "sss", ticket, csrf, l->canonical);
        if (r >= 0)
                r = append_caps(reply, m, l->canonical);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static void on_delay_over(evutil_socket_t fd, short what, void *userdata)
{
        Login *l = userdata;

        (void) sd_bus_reply_method_errorf(l->msg, BERTH_ERROR_AUTHENTICATION_FAILED, "Authentication failure");
        login_free(l);
}

/* Ends a login: a success is answered at once, a failure after its delay. Frees l. */
static void login_done(Login *l, int r)
{
        Manager *m = l->m;

        if (r == 0) {
                login_delay_succeeded(m->login_delay, l->username, l->source);
                log_info("Successful login of %s from %s.", l->canonical, l->source);
                (void) reply_login(l);
                login_free(l);
                return;
        }
        if (r != -EACCES)
                log_error_errno(r, "Cannot check the password of %s: %m", l->username);
        uint64_t delay = login_delay_failed(m->login_delay, l->username, l->source, monotonic_usec());
        log_warning("Authentication failure for %s from %s (%u in a row), answered in %" PRIu64 " ms.",
                l->username, l->source,
                login_delay_failures(m->login_delay, l->username, l->source, monotonic_usec()), delay / 1000);
        l->delay = evtimer_new(m->base, on_delay_over, l);
        if (!l->delay) {
                on_delay_over(-1, 0, l);
                return;
        }
        l->next = m->delayed;
        if (m->delayed)
                m->delayed->prev = l;
        m->delayed = l;
        struct timeval tv = { .tv_sec = (time_t) (delay / 1000000),
                .tv_usec = (suseconds_t) (delay % 1000000) };
        if (evtimer_add(l->delay, &tv) < 0)
                on_delay_over(-1, 0, l);
}

static void on_password_checked(int r, void *userdata)
{
        login_done(userdata, r);
}

/* Where a login comes from: the 'source' option from root and the gateway (the client's address), else the uid. */
static int login_source(Manager *m, sd_bus_message *msg, const char *option, char **ret, sd_bus_error *error)
{
        uid_t uid;
        int r;

        r = access_sender_uid(msg, &uid);
        if (r < 0)
                return r;
        if (option && !access_uid_may_name_user(uid))
                return sd_bus_error_setf(error, BERTH_ERROR_PERMISSION_DENIED,
                        "Only root and %s may set the 'source' option", ACCESS_GATEWAY_USER);
        *ret = option ? xstrdup(option) : xasprintf("uid %u", (unsigned) uid);
        return 0;
}

typedef struct LoginOptions {
        char *source;
} LoginOptions;

static const BusOption login_options[] = {
        { "source", BUS_OPTION_STRING, offsetof(LoginOptions, source) },
        {},
};

static int start_password_check(Login *l, const char *password)
{
        _cleanup_(access_secrets_freep) AccessSecrets *shadow = NULL;
        Manager *m = l->m;
        const char *realm = strrchr(l->canonical, '@') + 1, *hash;
        int r;

        if (streq(realm, "pam")) {
                _cleanup_free_ char *login = xstrndup(l->canonical, (size_t) (realm - 1 - l->canonical));
                return password_check_pam(m->base, m->pam_confdir, ACCESS_PAM_SERVICE, login, password,
                        on_password_checked, l);
        }
        if (!streq(realm, "berth") && !streq(realm, "pve"))
                return -EACCES;
        r = manager_read_secrets(m, ACCESS_SECRETS_SHADOW, &shadow, NULL);
        if (r < 0)
                return r;
        hash = access_secrets_get(shadow, l->canonical);
        if (!hash)
                return -EACCES;
        return password_check_hash(m->base, hash, password, on_password_checked, l);
}

static int method_authenticate(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *source = NULL, *ticket_user = NULL;
        LoginOptions o = {};
        Manager *m = userdata;
        const char *username, *password;
        int r;

        r = sd_bus_message_read(msg, "ss", &username, &password);
        if (r < 0)
                return r;
        r = bus_message_read_options(msg, login_options, &o, error);
        _cleanup_free_ char *source_option = o.source;
        if (r < 0)
                return r;
        r = login_source(m, msg, source_option, &source, error);
        if (r < 0)
                return r;

        Login *l = new0(Login, 1);
        *l = (Login){ .m = m,
                .msg = sd_bus_message_ref(msg),
                .username = xstrdup(username),
                .source = TAKE_PTR(source) };
        r = manager_canonical_user(m, username, &l->canonical);
        if (r < 0 || !manager_user_may_log_in(m, l->canonical)) {
                login_done(l, -EACCES);
                return 1;
        }
        /* A valid ticket of the same user renews it. */
        if (startswith(password, "PVE:")) {
                r = manager_verify_ticket(m, password, NULL, &ticket_user);
                login_done(l, r == 0 && streq(ticket_user, l->canonical) ? 0 : -EACCES);
                return 1;
        }
        r = start_password_check(l, password);
        if (r < 0)
                login_done(l, r);
        return 1;
}

typedef struct VerifyOptions {
        char *csrf;
} VerifyOptions;

static const BusOption verify_ticket_options[] = {
        { "csrf", BUS_OPTION_STRING, offsetof(VerifyOptions, csrf) },
        {},
};

static int method_verify_ticket(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *user = NULL;
        VerifyOptions o = {};
        const char *ticket;
        int r;

        r = sd_bus_message_read(msg, "s", &ticket);
        if (r >= 0)
                r = bus_message_read_options(msg, verify_ticket_options, &o, error);
        _cleanup_free_ char *csrf = o.csrf;
        if (r < 0)
                return r;
        r = manager_verify_ticket(userdata, ticket, csrf, &user);
        if (r < 0)
                return reply_access_error(error, r, NULL, "verify the ticket");
        return sd_bus_reply_method_return(msg, "s", user);
}

static int method_verify_token(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *tokenid = NULL;
        const char *header;
        int r;

        r = sd_bus_message_read(msg, "s", &header);
        if (r >= 0)
                r = bus_message_read_options(msg, NULL, NULL, error);
        if (r < 0)
                return r;
        r = manager_verify_token(userdata, header, &tokenid);
        if (r < 0)
                return reply_access_error(error, r, NULL, "verify the token");
        return sd_bus_reply_method_return(msg, "s", tokenid);
}

static int append_permissions(sd_bus_message *reply, const AclConfig *c, const char *auth_id, const char *path)
{
        _cleanup_strv_free_ char **names = NULL;
        AclPrivSet privs;
        int r;

        r = acl_permissions(c, auth_id, path, time(NULL), &privs);
        if (r < 0)
                return r;
        names = priv_names(privs);
        r = sd_bus_message_open_container(reply, 'e', "sas");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", path);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, names);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_get_permissions(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *caller = NULL, *path = NULL, *owner = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        Manager *m = userdata;
        const AclConfig *c = access_config(m->access);
        const char *auth_id, *p;
        int r;

        r = sd_bus_message_read(msg, "ss", &auth_id, &p);
        if (r >= 0)
                r = access_read_caller(m->access, msg, &caller, error);
        if (r < 0)
                return r;
        if (isempty(auth_id))
                auth_id = caller;
        if (!acl_userid_is_valid(auth_id) && !acl_tokenid_is_valid(auth_id))
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                        "'%s' is neither a user nor a token id", auth_id);
        /* A user may read its own and its tokens' permissions. */
        owner = strchr(auth_id, '!') ? xstrndup(auth_id, (size_t) (strrchr(auth_id, '!') - auth_id))
                                     : xstrdup(auth_id);
        if (!streq(auth_id, caller))
                r = require_self_or(m, caller, owner, "/access", ACL_PRIV_SYS_AUDIT, error);
        if (r < 0)
                return r;
        if (isempty(p))
                paths = access_permission_paths(c);
        else {
                path = acl_path_normalize(p);
                if (!path)
                        return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT, "Invalid path '%s'", p);
                strv_push(&paths, path);
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sas}");
        STRV_FOREACH (q, paths)
                if (r >= 0)
                        r = append_permissions(reply, c, auth_id, *q);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_digest(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", m->digest);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Digest", "s", property_get_digest, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Authenticate", SD_BUS_ARGS("s", username, "s", password, "a{sv}", options),
                SD_BUS_RESULT("s", ticket, "s", csrf, "s", canonical, "a{sv}", cap), method_authenticate,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("VerifyTicket", SD_BUS_ARGS("s", ticket, "a{sv}", options),
                SD_BUS_RESULT("s", user), method_verify_ticket, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("VerifyToken", SD_BUS_ARGS("s", header, "a{sv}", options),
                SD_BUS_RESULT("s", tokenid), method_verify_token, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetPermissions", SD_BUS_ARGS("s", auth_id, "s", path, "a{sv}", options),
                SD_BUS_RESULT("a{sas}", permissions), method_get_permissions, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListUsers", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("aa{sv}", users),
                method_list_users, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetUser", SD_BUS_ARGS("s", userid, "a{sv}", options),
                SD_BUS_RESULT("a{sv}", user), method_get_user, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateUser", SD_BUS_ARGS("s", userid, "a{sv}", options), SD_BUS_NO_RESULT,
                method_create_user, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UpdateUser", SD_BUS_ARGS("s", userid, "a{sv}", options), SD_BUS_NO_RESULT,
                method_update_user, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteUser", SD_BUS_ARGS("s", userid, "a{sv}", options), SD_BUS_NO_RESULT,
                method_delete_user, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetPassword", SD_BUS_ARGS("s", userid, "s", password, "a{sv}", options),
                SD_BUS_NO_RESULT, method_set_password, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListGroups", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("aa{sv}", groups),
                method_list_groups, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateGroup", SD_BUS_ARGS("s", groupid, "a{sv}", options), SD_BUS_NO_RESULT,
                method_create_group, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UpdateGroup", SD_BUS_ARGS("s", groupid, "a{sv}", options), SD_BUS_NO_RESULT,
                method_update_group, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteGroup", SD_BUS_ARGS("s", groupid, "a{sv}", options), SD_BUS_NO_RESULT,
                method_delete_group, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListRoles", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("aa{sv}", roles),
                method_list_roles, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateRole", SD_BUS_ARGS("s", roleid, "as", privs, "a{sv}", options),
                SD_BUS_NO_RESULT, method_create_role, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UpdateRole", SD_BUS_ARGS("s", roleid, "as", privs, "a{sv}", options),
                SD_BUS_NO_RESULT, method_update_role, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteRole", SD_BUS_ARGS("s", roleid, "a{sv}", options), SD_BUS_NO_RESULT,
                method_delete_role, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListAcl", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("aa{sv}", acl),
                method_list_acl, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UpdateAcl", SD_BUS_ARGS("s", path, "as", roles, "a{sv}", options),
                SD_BUS_NO_RESULT, method_update_acl, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTokens", SD_BUS_ARGS("s", userid, "a{sv}", options),
                SD_BUS_RESULT("aa{sv}", tokens), method_list_tokens, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateToken", SD_BUS_ARGS("s", userid, "s", tokenid, "a{sv}", options),
                SD_BUS_RESULT("s", full_tokenid, "s", secret), method_create_token, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UpdateToken", SD_BUS_ARGS("s", userid, "s", tokenid, "a{sv}", options),
                SD_BUS_NO_RESULT, method_update_token, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteToken", SD_BUS_ARGS("s", userid, "s", tokenid, "a{sv}", options),
                SD_BUS_NO_RESULT, method_delete_token, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int manager_bus_register(Manager *m)
{
        return sd_bus_add_object_vtable(m->bus, &m->slot, MANAGER_PATH, MANAGER_INTERFACE, manager_vtable, m);
}

void manager_bus_free_logins(Manager *m)
{
        while (m->delayed)
                login_free(m->delayed);
}

void manager_bus_emit_digest(Manager *m)
{
        if (m->slot)
                (void) sd_bus_emit_properties_changed(m->bus, MANAGER_PATH, MANAGER_INTERFACE, "Digest", NULL);
}
