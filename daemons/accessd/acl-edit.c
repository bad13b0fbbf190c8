/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <strings.h>

#include "acl-edit.h"
#include "alloc.h"
#include "sorted.h"
#include "utf8.h"

/* The largest expire user.cfg's parser reads back: 18 decimal digits. */
#define EXPIRE_MAX INT64_C(999999999999999999)

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...)
{
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                *ret_error = xvasprintf(fmt, ap);
                va_end(ap);
        }
        return r;
}

bool acl_token_is_of_user(const char *tokenid, const char *userid)
{
        const char *bang = strrchr(tokenid, '!');

        return bang && (size_t) (bang - tokenid) == strlen(userid) &&
                strncmp(tokenid, userid, bang - tokenid) == 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int cmp_key_str(const void *key, const void *element)
{
        return strcmp(key, *(char *const *) element);
}

static size_t member_index(const AclGroup *g, const char *userid, bool *ret_found)
{
        return sorted_index(
                g->members, strv_length(g->members), sizeof(char *), userid, cmp_key_str, ret_found);
}

char **acl_user_groups(const AclConfig *c, const char *userid)
{
        char **groups = NULL;
        bool found;

        for (size_t i = 0; i < c->n_groups; i++) {
                member_index(c->groups + i, userid, &found);
                if (found)
                        strv_push(&groups, c->groups[i].id);
        }
        if (groups)
                qsort(groups, strv_length(groups), sizeof(char *), cmp_str);
        return groups;
}

char **acl_user_tokens(const AclConfig *c, const char *userid)
{
        char **tokens = NULL;

        for (size_t i = 0; i < c->n_tokens; i++)
                if (acl_token_is_of_user(c->tokens[i].id, userid))
                        strv_push(&tokens, c->tokens[i].id);
        return tokens;
}

/* Checks, each returning 0 or a negative errno with its message. */

/* A userid as Proxmox's verify_username() words its refusal. */
static int check_userid(const char *userid, char **ret_error)
{
        size_t n = strlen(userid);

        if (n < 3)
                return fail(ret_error, -EINVAL, "user name '%s' is too short", userid);
        if (n > 64)
                return fail(ret_error, -EINVAL, "user name '%s' is too long (%zu > 64)", userid, n);
        if (!acl_userid_is_valid(userid))
                return fail(ret_error, -EINVAL, "value '%s' does not look like a valid user name", userid);
        return 0;
}

static int check_tokenid(const char *tokenid, char **ret_error)
{
        if (!acl_tokenid_is_valid(tokenid))
                return fail(ret_error, -EINVAL, "'%s' is not a valid token ID", tokenid);
        return 0;
}

static int check_groupid(const char *groupid, char **ret_error)
{
        if (!acl_groupid_is_valid(groupid))
                return fail(ret_error, -EINVAL, "group name '%s' contains invalid characters", groupid);
        return 0;
}

static int check_roleid(const char *roleid, char **ret_error)
{
        if (!acl_roleid_is_valid(roleid))
                return fail(ret_error, -EINVAL, "role name '%s' contains invalid characters", roleid);
        return 0;
}

/* An id that goes into one of user.cfg's comma-separated lists (a group's members, an ACL's). */
static int check_listable(const char *id, char **ret_error)
{
        if (strchr(id, ','))
                return fail(ret_error, -EINVAL, "'%s' cannot be listed in user.cfg: it holds ','", id);
        return 0;
}

/* A text field as user.cfg holds it and its parser gives it back; NULL (not given) is fine. */
static int check_text(const char *what, const char *s, char **ret_error)
{
        size_t n;

        if (!s)
                return 0;
        n = strlen(s);
        if (strchr(s, ':') || utf8_check_printable(s, n, true) < 0)
                return fail(ret_error, -EINVAL, "%s must be printable UTF-8 text without ':'", what);
        if (n > 0 && (strchr(" \t", s[0]) || strchr(" \t", s[n - 1])))
                return fail(ret_error, -EINVAL, "%s must not begin or end with whitespace", what);
        return 0;
}

static int check_expire(int64_t expire, char **ret_error)
{
        if (expire < 0 || expire > EXPIRE_MAX)
                return fail(ret_error, -EINVAL, "invalid expire %lld", (long long) expire);
        return 0;
}

static int check_user_fields(const AclUserFields *f, char **ret_error)
{
        int r;

        r = check_text("firstname", f->firstname, ret_error);
        if (r >= 0)
                r = check_text("lastname", f->lastname, ret_error);
        if (r >= 0)
                r = check_text("email", f->email, ret_error);
        if (r >= 0)
                r = check_text("comment", f->comment, ret_error);
        if (r >= 0)
                r = check_text("keys", f->keys, ret_error);
        if (r >= 0 && f->set_expire)
                r = check_expire(f->expire, ret_error);
        return r;
}

/* The groups userid is to join: valid, existing, and userid one their member lists can hold. */
static int check_groups(const AclConfig *c, const char *userid, char *const *groups, char **ret_error)
{
        int r;

        if (!groups)
                return 0;
        STRV_FOREACH (g, groups) {
                r = check_groupid(*g, ret_error);
                if (r < 0)
                        return r;
                if (!acl_find_group(c, *g))
                        return fail(ret_error, -ENOENT, "no such group '%s'", *g);
        }
        return *groups ? check_listable(userid, ret_error) : 0;
}

static int require_user(const AclConfig *c, const char *userid, AclUser **ret, char **ret_error)
{
        AclUser *u = NULL;
        int r;

        r = check_userid(userid, ret_error);
        if (r < 0)
                return r;
        u = acl_find_user(c, userid);
        if (!u)
                return fail(ret_error, -ENOENT, "user '%s' does not exist", userid);
        if (ret)
                *ret = u;
        return 0;
}

static int require_group(const AclConfig *c, const char *groupid, AclGroup **ret, char **ret_error)
{
        AclGroup *g = NULL;
        int r;

        r = check_groupid(groupid, ret_error);
        if (r < 0)
                return r;
        g = acl_find_group(c, groupid);
        if (!g)
                return fail(ret_error, -ENOENT, "group '%s' does not exist", groupid);
        if (ret)
                *ret = g;
        return 0;
}

static int require_token(const AclConfig *c, const char *tokenid, AclToken **ret, char **ret_error)
{
        const char *bang;
        AclToken *t = NULL;
        int r;

        r = check_tokenid(tokenid, ret_error);
        if (r < 0)
                return r;
        bang = strrchr(tokenid, '!');
        _cleanup_free_ char *userid = xstrndup(tokenid, bang - tokenid);
        r = require_user(c, userid, NULL, ret_error);
        if (r < 0)
                return r;
        t = acl_find_token(c, tokenid);
        if (!t)
                return fail(ret_error, -ENOENT, "no such token '%s' for user '%s'", bang + 1, userid);
        if (ret)
                *ret = t;
        return 0;
}

/* A role that may be changed or removed: defined in the config, not built in. */
static int require_own_role(
        const AclConfig *c, const char *roleid, const char *verb, AclRole **ret, char **ret_error)
{
        AclRole *role = NULL;
        int r;

        r = check_roleid(roleid, ret_error);
        if (r < 0)
                return r;
        if (acl_role_is_builtin(roleid))
                return fail(ret_error, -EPERM, "auto-generated role '%s' cannot be %s", roleid, verb);
        role = acl_find_role(c, roleid);
        if (!role)
                return fail(ret_error, -ENOENT, "role '%s' does not exist", roleid);
        *ret = role;
        return 0;
}

static int check_privs(AclPrivSet privs, char **ret_error)
{
        if (privs & ~ACL_PRIV_ALL)
                return fail(ret_error, -EINVAL, "invalid privilege");
        return 0;
}

/* Changes, which cannot fail. */

static void set_text(char **field, const char *value)
{
        if (!value)
                return;
        free(*field);
        *field = xstrdup(value);
}

static void group_add_member(AclGroup *g, const char *userid)
{
        size_t n = strv_length(g->members), i;
        bool found;

        i = member_index(g, userid, &found);
        if (found)
                return;
        g->members = xrealloc(g->members, (n + 2) * sizeof(char *));
        g->members[n + 1] = NULL;
        memmove(g->members + i + 1, g->members + i, (n - i) * sizeof(char *));
        g->members[i] = xstrdup(userid);
}

static void group_remove_member(AclGroup *g, const char *userid)
{
        size_t n = strv_length(g->members), i;
        bool found;

        i = member_index(g, userid, &found);
        if (!found)
                return;
        free(g->members[i]);
        memmove(g->members + i, g->members + i + 1, (n - i) * sizeof(char *));
}

static void join_groups(AclConfig *c, const char *userid, char *const *groups)
{
        STRV_FOREACH (g, groups)
                group_add_member(acl_find_group(c, *g), userid);
}

static void leave_groups(AclConfig *c, const char *userid)
{
        for (size_t i = 0; i < c->n_groups; i++)
                group_remove_member(c->groups + i, userid);
}

/* Removes the entries matching path, member and role, each NULL for any. */
static void remove_entries(AclConfig *c, const char *path, const char *member, const char *role)
{
        size_t k = 0;

        for (size_t i = 0; i < c->n_entries; i++) {
                AclEntry *e = c->entries + i;

                if ((!path || streq(e->path, path)) && (!member || streq(e->member, member)) &&
                        (!role || streq(e->role, role))) {
                        free(e->path);
                        free(e->member);
                        free(e->role);
                        continue;
                }
                c->entries[k++] = *e;
        }
        c->n_entries = k;
}

static void grant(AclConfig *c, const char *path, const char *member, const char *role, bool propagate)
{
        for (size_t i = 0; i < c->n_entries; i++)
                if (streq(c->entries[i].path, path) && streq(c->entries[i].member, member) &&
                        streq(c->entries[i].role, role)) {
                        c->entries[i].propagate = propagate;
                        return;
                }
        c->entries = xrealloc(c->entries, (c->n_entries + 1) * sizeof(AclEntry));
        c->entries[c->n_entries++] = (AclEntry){
                .path = xstrdup(path),
                .member = xstrdup(member),
                .role = xstrdup(role),
                .propagate = propagate,
        };
}

static void remove_token(AclConfig *c, AclToken *t)
{
        remove_entries(c, NULL, t->id, NULL);
        free(t->id);
        free(t->comment);
        c->n_tokens--;
        memmove(t, t + 1, (c->n_tokens - (t - c->tokens)) * sizeof(AclToken));
}

int acl_edit_user_add(AclConfig *c, const char *userid, const AclUserFields *f, char **ret_error)
{
        int r;

        r = check_userid(userid, ret_error);
        if (r < 0)
                return r;
        if (strpbrk(userid, ",!"))
                return fail(ret_error, -EINVAL, "user name '%s' must not contain ',' or '!'", userid);
        if (acl_find_user(c, userid))
                return fail(ret_error, -EEXIST, "user '%s' already exists", userid);
        r = check_user_fields(f, ret_error);
        if (r < 0)
                return r;
        r = check_groups(c, userid, f->groups, ret_error);
        if (r < 0)
                return r;

        c->users = xrealloc(c->users, (c->n_users + 1) * sizeof(AclUser));
        c->users[c->n_users++] = (AclUser){
                .id = xstrdup(userid),
                .enable = f->set_enable ? f->enable : true,
                .expire = f->set_expire ? f->expire : 0,
                .firstname = xstrdup(strempty(f->firstname)),
                .lastname = xstrdup(strempty(f->lastname)),
                .email = xstrdup(strempty(f->email)),
                .comment = xstrdup(strempty(f->comment)),
                .keys = xstrdup(strempty(f->keys)),
        };
        join_groups(c, userid, f->groups);
        return 0;
}

int acl_edit_user_update(
        AclConfig *c, const char *userid, const AclUserFields *f, bool append, char **ret_error)
{
        AclUser *u = NULL;
        int r;

        r = require_user(c, userid, &u, ret_error);
        if (r < 0)
                return r;
        r = check_user_fields(f, ret_error);
        if (r < 0)
                return r;
        r = check_groups(c, userid, f->groups, ret_error);
        if (r < 0)
                return r;

        if (f->set_enable)
                u->enable = f->enable;
        if (f->set_expire)
                u->expire = f->expire;
        set_text(&u->firstname, f->firstname);
        set_text(&u->lastname, f->lastname);
        set_text(&u->email, f->email);
        set_text(&u->comment, f->comment);
        set_text(&u->keys, f->keys);
        if (f->groups && !append)
                leave_groups(c, userid);
        join_groups(c, userid, f->groups);
        return 0;
}

int acl_edit_user_remove(AclConfig *c, const char *userid, char **ret_error)
{
        AclUser *u = NULL;
        int r;

        r = require_user(c, userid, &u, ret_error);
        if (r < 0)
                return r;
        if (streq(userid, "root@pam"))
                return fail(ret_error, -EPERM, "user 'root@pam' cannot be removed");

        for (size_t i = c->n_tokens; i > 0; i--)
                if (acl_token_is_of_user(c->tokens[i - 1].id, userid))
                        remove_token(c, c->tokens + i - 1);
        remove_entries(c, NULL, userid, NULL);
        leave_groups(c, userid);
        free(u->id);
        free(u->firstname);
        free(u->lastname);
        free(u->email);
        free(u->comment);
        free(u->keys);
        c->n_users--;
        memmove(u, u + 1, (c->n_users - (u - c->users)) * sizeof(AclUser));
        return 0;
}

int acl_edit_group_add(AclConfig *c, const char *groupid, const char *comment, char **ret_error)
{
        int r;

        r = check_groupid(groupid, ret_error);
        if (r < 0)
                return r;
        if (acl_find_group(c, groupid))
                return fail(ret_error, -EEXIST, "group '%s' already exists", groupid);
        r = check_text("comment", comment, ret_error);
        if (r < 0)
                return r;

        c->groups = xrealloc(c->groups, (c->n_groups + 1) * sizeof(AclGroup));
        c->groups[c->n_groups++] = (AclGroup){ .id = xstrdup(groupid), .comment = xstrdup(strempty(comment)) };
        return 0;
}

int acl_edit_group_set_comment(AclConfig *c, const char *groupid, const char *comment, char **ret_error)
{
        AclGroup *g = NULL;
        int r;

        r = require_group(c, groupid, &g, ret_error);
        if (r < 0)
                return r;
        r = check_text("comment", comment, ret_error);
        if (r < 0)
                return r;

        set_text(&g->comment, strempty(comment));
        return 0;
}

int acl_edit_group_remove(AclConfig *c, const char *groupid, char **ret_error)
{
        _cleanup_free_ char *member = NULL;
        AclGroup *g = NULL;
        int r;

        r = require_group(c, groupid, &g, ret_error);
        if (r < 0)
                return r;

        member = xasprintf("@%s", groupid);
        remove_entries(c, NULL, member, NULL);
        free(g->id);
        strv_free(g->members);
        free(g->comment);
        c->n_groups--;
        memmove(g, g + 1, (c->n_groups - (g - c->groups)) * sizeof(AclGroup));
        return 0;
}

int acl_edit_role_add(AclConfig *c, const char *roleid, AclPrivSet privs, char **ret_error)
{
        int r;

        r = check_roleid(roleid, ret_error);
        if (r < 0)
                return r;
        /* Proxmox keeps the prefix for the roles it builds in, the ones of its future versions too. */
        if (strncasecmp(roleid, "PVE", 3) == 0)
                return fail(ret_error, -EINVAL,
                        "cannot use role ID starting with the (case-insensitive) 'PVE' namespace");
        if (acl_role_is_builtin(roleid) || acl_find_role(c, roleid))
                return fail(ret_error, -EEXIST, "role '%s' already exists", roleid);
        r = check_privs(privs, ret_error);
        if (r < 0)
                return r;

        c->roles = xrealloc(c->roles, (c->n_roles + 1) * sizeof(AclRole));
        c->roles[c->n_roles++] = (AclRole){ .id = xstrdup(roleid), .privs = privs };
        return 0;
}

int acl_edit_role_update(AclConfig *c, const char *roleid, AclPrivSet privs, bool append, char **ret_error)
{
        AclRole *role = NULL;
        int r;

        r = require_own_role(c, roleid, "modified", &role, ret_error);
        if (r < 0)
                return r;
        r = check_privs(privs, ret_error);
        if (r < 0)
                return r;

        role->privs = append ? role->privs | privs : privs;
        return 0;
}

int acl_edit_role_remove(AclConfig *c, const char *roleid, char **ret_error)
{
        AclRole *role = NULL;
        int r;

        r = require_own_role(c, roleid, "deleted", &role, ret_error);
        if (r < 0)
                return r;

        remove_entries(c, NULL, NULL, roleid);
        free(role->id);
        c->n_roles--;
        memmove(role, role + 1, (c->n_roles - (role - c->roles)) * sizeof(AclRole));
        return 0;
}

static int check_acl_member(const AclConfig *c, const char *member, char **ret_error)
{
        int r;

        r = check_listable(member, ret_error);
        if (r < 0)
                return r;
        if (member[0] == '@')
                return require_group(c, member + 1, NULL, ret_error);
        if (streq(member, "root@pam"))
                return fail(ret_error, -EINVAL, "root@pam has every privilege: it takes no ACL entries");
        if (acl_userid_is_valid(member))
                return require_user(c, member, NULL, ret_error);
        if (acl_tokenid_is_valid(member))
                return require_token(c, member, NULL, ret_error);
        return fail(ret_error, -EINVAL, "'%s' is neither a user, a @group nor a token", member);
}

int acl_edit_acl(AclConfig *c, const char *path, char *const *roles, char *const *members, bool propagate,
        bool remove, char **ret_error)
{
        _cleanup_free_ char *normalized = acl_path_normalize(path);
        AclPrivSet unused;
        int r;

        if (!normalized || (!remove && !acl_path_is_valid(normalized)))
                return fail(ret_error, -EINVAL, "invalid ACL path '%s'", strempty(path));
        if (strv_length(roles) == 0)
                return fail(ret_error, -EINVAL, "no roles given");
        if (strv_length(members) == 0)
                return fail(ret_error, -EINVAL, "either users, groups or tokens are required");
        STRV_FOREACH (role, roles) {
                r = check_roleid(*role, ret_error);
                if (r < 0)
                        return r;
                if (acl_role_privs(c, *role, &unused) < 0)
                        return fail(ret_error, -ENOENT, "role '%s' does not exist", *role);
        }
        STRV_FOREACH (m, members) {
                r = check_acl_member(c, *m, ret_error);
                if (r < 0)
                        return r;
        }

        STRV_FOREACH (role, roles)
                STRV_FOREACH (m, members)
                        if (remove)
                                remove_entries(c, normalized, *m, *role);
                        else
                                grant(c, normalized, *m, *role, propagate);
        return 0;
}

int acl_edit_token_add(AclConfig *c, const AclToken *t, char **ret_error)
{
        int r;

        r = check_tokenid(t->id, ret_error);
        if (r < 0)
                return r;
        _cleanup_free_ char *userid = xstrndup(t->id, strrchr(t->id, '!') - t->id);
        r = require_user(c, userid, NULL, ret_error);
        if (r < 0)
                return r;
        if (acl_find_token(c, t->id))
                return fail(ret_error, -EEXIST, "token '%s' already exists", t->id);
        r = check_expire(t->expire, ret_error);
        if (r < 0)
                return r;
        r = check_text("comment", t->comment, ret_error);
        if (r < 0)
                return r;

        c->tokens = xrealloc(c->tokens, (c->n_tokens + 1) * sizeof(AclToken));
        c->tokens[c->n_tokens++] = (AclToken){
                .id = xstrdup(t->id),
                .expire = t->expire,
                .privsep = t->privsep,
                .comment = xstrdup(strempty(t->comment)),
        };
        return 0;
}

int acl_edit_token_update(AclConfig *c, const char *tokenid, const int64_t *expire, const bool *privsep,
        const char *comment, char **ret_error)
{
        AclToken *t = NULL;
        int r;

        r = require_token(c, tokenid, &t, ret_error);
        if (r < 0)
                return r;
        if (expire) {
                r = check_expire(*expire, ret_error);
                if (r < 0)
                        return r;
        }
        r = check_text("comment", comment, ret_error);
        if (r < 0)
                return r;

        if (expire)
                t->expire = *expire;
        if (privsep)
                t->privsep = *privsep;
        set_text(&t->comment, comment);
        return 0;
}

int acl_edit_token_remove(AclConfig *c, const char *tokenid, char **ret_error)
{
        AclToken *t = NULL;
        int r;

        r = require_token(c, tokenid, &t, ret_error);
        if (r < 0)
                return r;

        remove_token(c, t);
        return 0;
}
