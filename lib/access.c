/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pwd.h>

#include "access.h"
#include "alloc.h"
#include "errors.h"
#include "log.h"

struct Access {
        Store *store;
        StoreWatch *watch;
        AclConfig *config;
        char *error;
};

static void access_set_error(Access *a, char *error)
{
        free(a->error);
        a->error = error;
}

/* Reads the config again; keeps the one in force when the new one cannot be read or parsed. */
static int access_load(Access *a)
{
        _cleanup_(acl_config_freep) AclConfig *c = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        int r;

        r = store_get(a->store, ACCESS_USER_CFG_KEY, &text, NULL, NULL);
        if (r < 0 && r != -ENOENT)
                return log_warning_errno(
                        r, "Failed to read %s, keeping the access config in force: %m", ACCESS_USER_CFG_KEY);
        r = acl_config_parse(strempty(text), &c, &error);
        if (r < 0) {
                log_warning("Invalid %s, keeping the access config in force: %s", ACCESS_USER_CFG_KEY,
                        strempty(error));
                access_set_error(a, TAKE_PTR(error));
                /* At the start there is none in force: nothing but root@pam's rights until a good one comes. */
                if (!a->config)
                        (void) acl_config_parse("", &a->config, NULL);
                return 0;
        }
        STRV_FOREACH (w, c->warnings)
                log_notice("%s: %s", ACCESS_USER_CFG_KEY, *w);
        acl_config_free(a->config);
        a->config = TAKE_PTR(c);
        access_set_error(a, NULL);
        return 0;
}

static void on_access_changed(Store *s, StoreEventType type, const char *key, uint64_t revision, void *userdata)
{
        /* The watch is on the directory of the key: other keys there are none of this. */
        if (streq(key, ACCESS_USER_CFG_KEY))
                (void) access_load(userdata);
}

int access_reload(Access *a)
{
        return access_load(a);
}

int access_new(Store *store, Access **ret)
{
        _cleanup_(access_freep) Access *a = new0(Access, 1);
        int r;

        a->store = store;
        /* The watch first: a change between the read and the watch is not missed. */
        r = store_watch(store, "access/", on_access_changed, a, &a->watch);
        if (r < 0)
                return r;
        r = access_load(a);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

Access *access_free(Access *a)
{
        if (!a)
                return NULL;
        store_watch_free(a->watch);
        acl_config_free(a->config);
        free(a->error);
        free(a);
        return NULL;
}

const AclConfig *access_config(const Access *a)
{
        return a->config;
}

const char *access_config_error(const Access *a)
{
        return a->error;
}

int access_sender_uid(sd_bus_message *msg, uid_t *ret)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        *ret = uid;
        return 0;
}

bool access_uid_may_name_user(uid_t uid)
{
        struct passwd *pw;

        if (uid == 0)
                return true;
        pw = getpwnam(ACCESS_GATEWAY_USER);
        return pw && pw->pw_uid == uid;
}

int access_caller(Access *a, sd_bus_message *msg, const char *user_option, char **ret, sd_bus_error *error)
{
        struct passwd *pw;
        uid_t uid;
        int r;

        r = access_sender_uid(msg, &uid);
        if (r < 0)
                return berth_bus_error_set_errnof(error, r, "Failed to identify the caller: %s", strerror(-r));
        if (user_option) {
                if (!access_uid_may_name_user(uid)) {
                        sd_bus_error_setf(error, BERTH_ERROR_PERMISSION_DENIED,
                                "Only root and %s may set the 'user' option", ACCESS_GATEWAY_USER);
                        return -EPERM;
                }
                if (!acl_userid_is_valid(user_option) && !acl_tokenid_is_valid(user_option)) {
                        sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                                "Invalid 'user' option: neither a user nor a token id");
                        return -EINVAL;
                }
                *ret = xstrdup(user_option);
                return 0;
        }
        if (uid == 0) {
                *ret = xstrdup(ACCESS_ROOT);
                return 0;
        }
        pw = getpwuid(uid);
        *ret = pw ? xasprintf("%s@pam", pw->pw_name) : xasprintf("%u@pam", (unsigned) uid);
        return 0;
}

int access_read_options(
        Access *a, sd_bus_message *msg, const BusOption *table, void *dest, char **user, sd_bus_error *error)
{
        _cleanup_free_ char *option = NULL;
        int r;

        r = bus_message_read_options(msg, table, dest, error);
        if (r < 0)
                return r;
        option = TAKE_PTR(*user);
        return access_caller(a, msg, option, user, error);
}

int access_read_caller(Access *a, sd_bus_message *msg, char **ret, sd_bus_error *error)
{
        static const BusOption table[] = {
                { "user", BUS_OPTION_STRING, 0 },
                {},
        };
        _cleanup_free_ char *user = NULL;
        int r;

        r = access_read_options(a, msg, table, &user, &user, error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(user);
        return 0;
}

bool access_is_root(const char *auth_id)
{
        return streq_ptr(auth_id, ACCESS_ROOT);
}

bool access_allowed_any(Access *a, const char *auth_id, const char *path, AclPrivSet privs)
{
        AclPrivSet have;

        if (access_is_root(auth_id))
                return true;
        if (acl_permissions(a->config, auth_id, path, time(NULL), &have) < 0)
                return false;
        return (have & privs) != 0;
}

bool access_allowed(Access *a, const char *auth_id, const char *path, AclPriv priv)
{
        return access_allowed_any(a, auth_id, path, ACL_PRIV_BIT(priv));
}

int access_require_any(Access *a, const char *auth_id, const char *path, AclPrivSet privs, sd_bus_error *error)
{
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *joined = NULL;

        if (access_allowed_any(a, auth_id, path, privs))
                return 0;
        for (AclPriv p = 0; p < _ACL_PRIV_MAX; p++)
                if (acl_priv_set_has(privs, p))
                        strv_push(&names, acl_priv_to_string(p));
        joined = strv_join(names, "|");
        sd_bus_error_setf(
                error, BERTH_ERROR_PERMISSION_DENIED, "Permission check failed (%s, %s)", path, joined);
        return -EPERM;
}

int access_require(Access *a, const char *auth_id, const char *path, AclPriv priv, sd_bus_error *error)
{
        return access_require_any(a, auth_id, path, ACL_PRIV_BIT(priv), error);
}

int access_require_root(const char *auth_id, const char *what, sd_bus_error *error)
{
        if (access_is_root(auth_id))
                return 0;
        sd_bus_error_setf(error, BERTH_ERROR_PERMISSION_DENIED, "Only %s may %s", ACCESS_ROOT, what);
        return -EPERM;
}
