/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "acl-edit.h"
#include "alloc.h"
#include "check-main.h"

/* Canonical: acl_config_format() gives it back as it is. Its sections, each without the blank lines
 * that follow it, so that an edit's result can be written as what it changes. */
#define USERS \
        "user:alice@pve:1:0:Alice:Smith:alice@example.com:::\n" \
        "token:alice@pve!ci:0:1:CI:\n" \
        "user:bob@pve:1:0::::::\n" \
        "token:bob@pve!deploy:1900000000:0::\n" \
        "user:root@pam:1:0::::::\n"
#define GROUPS \
        "group:dev:bob@pve::\n" \
        "group:ops:alice@pve,bob@pve:Operators:\n"
#define ROLES "role:Watcher:Sys.Audit,VM.Audit:\n"
#define ACLS \
        "acl:1:/:@ops:Watcher:\n" \
        "acl:0:/vms/100:alice@pve!ci,bob@pve!deploy:PVEVMUser:\n" \
        "acl:1:/vms/100:alice@pve,bob@pve:PVEVMUser,Watcher:\n"
#define TEXT(users, groups, roles, acls) users "\n" groups "\n\n" roles "\n" acls

static const char base[] = TEXT(USERS, GROUPS, ROLES, ACLS);

static AclConfig *load(void)
{
        _cleanup_free_ char *error = NULL;
        AclConfig *c = NULL;

        ck_assert_msg(acl_config_parse(base, &c, &error) == 0, "parse failed: %s", strempty(error));
        return c;
}

/* The text of c, which must parse, without a warning, to a config of the same text. */
static char *format_stable(const AclConfig *c)
{
        _cleanup_(acl_config_freep) AclConfig *again = NULL;
        _cleanup_free_ char *error = NULL, *second = NULL;
        char *text = acl_config_format(c);

        ck_assert_msg(acl_config_parse(text, &again, &error) == 0, "%s: %s", text, strempty(error));
        ck_assert_msg(!again->warnings, "%s: %s", text, again->warnings[0]);
        second = acl_config_format(again);
        ck_assert_str_eq(second, text);
        return text;
}

START_TEST(test_base)
{
        _cleanup_(acl_config_freep) AclConfig *c = load();
        _cleanup_free_ char *text = format_stable(c);

        ck_assert_str_eq(text, base);
}
END_TEST

#define STRV(...) ((char *[]){ __VA_ARGS__, NULL })

typedef enum EditOp {
        USER_ADD,
        USER_UPDATE,
        USER_APPEND, /* an update adding to the user's groups */
        USER_REMOVE,
        GROUP_ADD,
        GROUP_COMMENT,
        GROUP_REMOVE,
        ROLE_ADD,
        ROLE_UPDATE,
        ROLE_APPEND,
        ROLE_REMOVE,
        GRANT,
        REVOKE,
        TOKEN_ADD,
        TOKEN_UPDATE,
        TOKEN_REMOVE,
} EditOp;

/* One call of an edit: id is the userid, groupid, roleid, tokenid or ACL path. */
typedef struct Edit {
        EditOp op;
        const char *id;
        AclUserFields user;
        const char *comment; /* a group's or a token's */
        AclPrivSet privs;
        char **roles, **members;
        bool propagate;
        bool set_expire, set_privsep; /* a token's */
        int64_t expire;
        bool privsep;
} Edit;

static int apply(AclConfig *c, const Edit *e, char **ret_error)
{
        switch (e->op) {
        case USER_ADD:
                return acl_edit_user_add(c, e->id, &e->user, ret_error);
        case USER_UPDATE:
        case USER_APPEND:
                return acl_edit_user_update(c, e->id, &e->user, e->op == USER_APPEND, ret_error);
        case USER_REMOVE:
                return acl_edit_user_remove(c, e->id, ret_error);
        case GROUP_ADD:
                return acl_edit_group_add(c, e->id, e->comment, ret_error);
        case GROUP_COMMENT:
                return acl_edit_group_set_comment(c, e->id, e->comment, ret_error);
        case GROUP_REMOVE:
                return acl_edit_group_remove(c, e->id, ret_error);
        case ROLE_ADD:
                return acl_edit_role_add(c, e->id, e->privs, ret_error);
        case ROLE_UPDATE:
        case ROLE_APPEND:
                return acl_edit_role_update(c, e->id, e->privs, e->op == ROLE_APPEND, ret_error);
        case ROLE_REMOVE:
                return acl_edit_role_remove(c, e->id, ret_error);
        case GRANT:
        case REVOKE:
                return acl_edit_acl(c, e->id, e->roles, e->members, e->propagate, e->op == REVOKE, ret_error);
        case TOKEN_ADD:
                return acl_edit_token_add(c,
                        &(AclToken){ .id = (char *) e->id,
                                .expire = e->expire,
                                .privsep = e->privsep,
                                .comment = (char *) e->comment },
                        ret_error);
        case TOKEN_UPDATE:
                return acl_edit_token_update(c, e->id, e->set_expire ? &e->expire : NULL,
                        e->set_privsep ? &e->privsep : NULL, e->comment, ret_error);
        case TOKEN_REMOVE:
                return acl_edit_token_remove(c, e->id, ret_error);
        }
        assert_not_reached();
}

/* Edits that succeed, and what they make of base. */
static const struct {
        const char *name;
        Edit edit;
        const char *text;
} edits[] = {
        { "add user",
                { USER_ADD, "carol@pve",
                        .user = { .firstname = "Carol",
                                .email = "carol@example.com",
                                .comment = "new\there",
                                .keys = "x",
                                .set_expire = true,
                                .expire = 1800000000,
                                .groups = STRV("ops", "dev", "ops") } },
                TEXT("user:alice@pve:1:0:Alice:Smith:alice@example.com:::\n"
                     "token:alice@pve!ci:0:1:CI:\n"
                     "user:bob@pve:1:0::::::\n"
                     "token:bob@pve!deploy:1900000000:0::\n"
                     "user:carol@pve:1:1800000000:Carol::carol@example.com:new\there:x:\n"
                     "user:root@pam:1:0::::::\n",
                        "group:dev:bob@pve,carol@pve::\n"
                        "group:ops:alice@pve,bob@pve,carol@pve:Operators:\n",
                        ROLES, ACLS) },
        { "add disabled user", { USER_ADD, "aaron@pam", .user = { .set_enable = true, .enable = false } },
                TEXT("user:aaron@pam:0:0::::::\n"
                     "user:alice@pve:1:0:Alice:Smith:alice@example.com:::\n"
                     "token:alice@pve!ci:0:1:CI:\n"
                     "user:bob@pve:1:0::::::\n"
                     "token:bob@pve!deploy:1900000000:0::\n"
                     "user:root@pam:1:0::::::\n",
                        GROUPS, ROLES, ACLS) },
        { "update user",
                { USER_UPDATE, "alice@pve",
                        .user = { .firstname = "",
                                .email = "a@example.com",
                                .comment = "c",
                                .set_enable = true,
                                .enable = false,
                                .set_expire = true,
                                .expire = 0 } },
                TEXT("user:alice@pve:0:0::Smith:a@example.com:c::\n"
                     "token:alice@pve!ci:0:1:CI:\n"
                     "user:bob@pve:1:0::::::\n"
                     "token:bob@pve!deploy:1900000000:0::\n"
                     "user:root@pam:1:0::::::\n",
                        GROUPS, ROLES, ACLS) },
        { "replace groups", { USER_UPDATE, "alice@pve", .user = { .groups = STRV("dev") } },
                TEXT(USERS,
                        "group:dev:alice@pve,bob@pve::\n"
                        "group:ops:bob@pve:Operators:\n",
                        ROLES, ACLS) },
        { "append groups", { USER_APPEND, "alice@pve", .user = { .groups = STRV("dev") } },
                TEXT(USERS,
                        "group:dev:alice@pve,bob@pve::\n"
                        "group:ops:alice@pve,bob@pve:Operators:\n",
                        ROLES, ACLS) },
        { "leave every group", { USER_UPDATE, "bob@pve", .user = { .groups = (char *[]){ NULL } } },
                TEXT(USERS,
                        "group:dev:::\n"
                        "group:ops:alice@pve:Operators:\n",
                        ROLES, ACLS) },
        { "update root@pam",
                { USER_APPEND, "root@pam", .user = { .email = "root@example.com", .groups = STRV("ops") } },
                TEXT("user:alice@pve:1:0:Alice:Smith:alice@example.com:::\n"
                     "token:alice@pve!ci:0:1:CI:\n"
                     "user:bob@pve:1:0::::::\n"
                     "token:bob@pve!deploy:1900000000:0::\n"
                     "user:root@pam:1:0:::root@example.com:::\n",
                        "group:dev:bob@pve::\n"
                        "group:ops:alice@pve,bob@pve,root@pam:Operators:\n",
                        ROLES, ACLS) },
        /* With its token, its and its token's ACL entries, its memberships. */
        { "remove user", { USER_REMOVE, "alice@pve" },
                TEXT("user:bob@pve:1:0::::::\n"
                     "token:bob@pve!deploy:1900000000:0::\n"
                     "user:root@pam:1:0::::::\n",
                        "group:dev:bob@pve::\n"
                        "group:ops:bob@pve:Operators:\n",
                        ROLES,
                        "acl:1:/:@ops:Watcher:\n"
                        "acl:0:/vms/100:bob@pve!deploy:PVEVMUser:\n"
                        "acl:1:/vms/100:bob@pve:PVEVMUser,Watcher:\n") },
        { "remove another user", { USER_REMOVE, "bob@pve" },
                TEXT("user:alice@pve:1:0:Alice:Smith:alice@example.com:::\n"
                     "token:alice@pve!ci:0:1:CI:\n"
                     "user:root@pam:1:0::::::\n",
                        "group:dev:::\n"
                        "group:ops:alice@pve:Operators:\n",
                        ROLES,
                        "acl:1:/:@ops:Watcher:\n"
                        "acl:0:/vms/100:alice@pve!ci:PVEVMUser:\n"
                        "acl:1:/vms/100:alice@pve:PVEVMUser,Watcher:\n") },
        { "add group", { GROUP_ADD, "audit", .comment = "Auditors" },
                TEXT(USERS,
                        "group:audit::Auditors:\n"
                        "group:dev:bob@pve::\n"
                        "group:ops:alice@pve,bob@pve:Operators:\n",
                        ROLES, ACLS) },
        { "add group without comment", { GROUP_ADD, "a-b_c.d" },
                TEXT(USERS,
                        "group:a-b_c.d:::\n"
                        "group:dev:bob@pve::\n"
                        "group:ops:alice@pve,bob@pve:Operators:\n",
                        ROLES, ACLS) },
        { "set group comment", { GROUP_COMMENT, "dev", .comment = "Developers" },
                TEXT(USERS,
                        "group:dev:bob@pve:Developers:\n"
                        "group:ops:alice@pve,bob@pve:Operators:\n",
                        ROLES, ACLS) },
        { "clear group comment", { GROUP_COMMENT, "ops" },
                TEXT(USERS,
                        "group:dev:bob@pve::\n"
                        "group:ops:alice@pve,bob@pve::\n",
                        ROLES, ACLS) },
        /* With its ACL entries; its members stay. */
        { "remove group", { GROUP_REMOVE, "ops" },
                TEXT(USERS, "group:dev:bob@pve::\n", ROLES,
                        "acl:0:/vms/100:alice@pve!ci,bob@pve!deploy:PVEVMUser:\n"
                        "acl:1:/vms/100:alice@pve,bob@pve:PVEVMUser,Watcher:\n") },
        { "add role",
                { ROLE_ADD, "Backup",
                        .privs = ACL_PRIV_BIT(ACL_PRIV_VM_BACKUP) | ACL_PRIV_BIT(ACL_PRIV_DATASTORE_AUDIT) },
                TEXT(USERS, GROUPS,
                        "role:Backup:Datastore.Audit,VM.Backup:\n"
                        "role:Watcher:Sys.Audit,VM.Audit:\n",
                        ACLS) },
        { "add role without privileges", { ROLE_ADD, "Nothing" },
                TEXT(USERS, GROUPS,
                        "role:Nothing::\n"
                        "role:Watcher:Sys.Audit,VM.Audit:\n",
                        ACLS) },
        { "replace privileges", { ROLE_UPDATE, "Watcher", .privs = ACL_PRIV_BIT(ACL_PRIV_DATASTORE_AUDIT) },
                TEXT(USERS, GROUPS, "role:Watcher:Datastore.Audit:\n", ACLS) },
        { "append privileges", { ROLE_APPEND, "Watcher", .privs = ACL_PRIV_BIT(ACL_PRIV_DATASTORE_AUDIT) },
                TEXT(USERS, GROUPS, "role:Watcher:Datastore.Audit,Sys.Audit,VM.Audit:\n", ACLS) },
        /* With every ACL entry granting it. */
        { "remove role", { ROLE_REMOVE, "Watcher" },
                TEXT(USERS, GROUPS, "",
                        "acl:0:/vms/100:alice@pve!ci,bob@pve!deploy:PVEVMUser:\n"
                        "acl:1:/vms/100:alice@pve,bob@pve:PVEVMUser:\n") },
        { "grant",
                { GRANT, "//storage/local/", .roles = STRV("PVEAuditor", "Watcher"),
                        .members = STRV("bob@pve", "@dev", "bob@pve!deploy") },
                TEXT(USERS, GROUPS, ROLES,
                        "acl:1:/:@ops:Watcher:\n"
                        "acl:0:/storage/local:@dev,bob@pve,bob@pve!deploy:PVEAuditor,Watcher:\n"
                        "acl:0:/vms/100:alice@pve!ci,bob@pve!deploy:PVEVMUser:\n"
                        "acl:1:/vms/100:alice@pve,bob@pve:PVEVMUser,Watcher:\n") },
        { "grant again", { GRANT, "/vms/100", .roles = STRV("Watcher"), .members = STRV("bob@pve") },
                TEXT(USERS, GROUPS, ROLES,
                        "acl:1:/:@ops:Watcher:\n"
                        "acl:0:/vms/100:alice@pve!ci,bob@pve!deploy:PVEVMUser:\n"
                        "acl:0:/vms/100:bob@pve:Watcher:\n"
                        "acl:1:/vms/100:bob@pve:PVEVMUser:\n"
                        "acl:1:/vms/100:alice@pve:PVEVMUser,Watcher:\n") },
        /* What is not granted (PVEAdmin, @ops on /vms/100) is no error. */
        { "revoke",
                { REVOKE, "/vms/100/", .roles = STRV("Watcher", "PVEAdmin"),
                        .members = STRV("alice@pve", "bob@pve", "@ops"), .propagate = true },
                TEXT(USERS, GROUPS, ROLES,
                        "acl:1:/:@ops:Watcher:\n"
                        "acl:0:/vms/100:alice@pve!ci,bob@pve!deploy:PVEVMUser:\n"
                        "acl:1:/vms/100:alice@pve,bob@pve:PVEVMUser:\n") },
        { "revoke on a path nothing is granted on",
                { REVOKE, "/etc", .roles = STRV("Watcher"), .members = STRV("alice@pve") }, base },
        { "add token",
                { TOKEN_ADD, "bob@pve!build", .set_expire = true, .expire = 1, .set_privsep = true,
                        .privsep = true },
                TEXT("user:alice@pve:1:0:Alice:Smith:alice@example.com:::\n"
                     "token:alice@pve!ci:0:1:CI:\n"
                     "user:bob@pve:1:0::::::\n"
                     "token:bob@pve!build:1:1::\n"
                     "token:bob@pve!deploy:1900000000:0::\n"
                     "user:root@pam:1:0::::::\n",
                        GROUPS, ROLES, ACLS) },
        { "add a token of root@pam", { TOKEN_ADD, "root@pam!ci", .comment = "root's" },
                TEXT("user:alice@pve:1:0:Alice:Smith:alice@example.com:::\n"
                     "token:alice@pve!ci:0:1:CI:\n"
                     "user:bob@pve:1:0::::::\n"
                     "token:bob@pve!deploy:1900000000:0::\n"
                     "user:root@pam:1:0::::::\n"
                     "token:root@pam!ci:0:0:root's:\n",
                        GROUPS, ROLES, ACLS) },
        { "update token",
                { TOKEN_UPDATE, "alice@pve!ci", .comment = "", .set_expire = true, .expire = 1700000000,
                        .set_privsep = true, .privsep = false },
                TEXT("user:alice@pve:1:0:Alice:Smith:alice@example.com:::\n"
                     "token:alice@pve!ci:1700000000:0::\n"
                     "user:bob@pve:1:0::::::\n"
                     "token:bob@pve!deploy:1900000000:0::\n"
                     "user:root@pam:1:0::::::\n",
                        GROUPS, ROLES, ACLS) },
        { "update token comment", { TOKEN_UPDATE, "bob@pve!deploy", .comment = "deploys" },
                TEXT("user:alice@pve:1:0:Alice:Smith:alice@example.com:::\n"
                     "token:alice@pve!ci:0:1:CI:\n"
                     "user:bob@pve:1:0::::::\n"
                     "token:bob@pve!deploy:1900000000:0:deploys:\n"
                     "user:root@pam:1:0::::::\n",
                        GROUPS, ROLES, ACLS) },
        /* With its ACL entries. */
        { "remove token", { TOKEN_REMOVE, "alice@pve!ci" },
                TEXT("user:alice@pve:1:0:Alice:Smith:alice@example.com:::\n"
                     "user:bob@pve:1:0::::::\n"
                     "token:bob@pve!deploy:1900000000:0::\n"
                     "user:root@pam:1:0::::::\n",
                        GROUPS, ROLES,
                        "acl:1:/:@ops:Watcher:\n"
                        "acl:0:/vms/100:bob@pve!deploy:PVEVMUser:\n"
                        "acl:1:/vms/100:alice@pve,bob@pve:PVEVMUser,Watcher:\n") },
};

START_TEST(test_edit)
{
        _cleanup_(acl_config_freep) AclConfig *c = load();
        _cleanup_free_ char *error = NULL, *text = NULL;

        ck_assert_msg(apply(c, &edits[_i].edit, &error) == 0, "%s: %s", edits[_i].name, strempty(error));
        ck_assert_ptr_null(error);
        text = format_stable(c);
        ck_assert_msg(streq(text, edits[_i].text), "%s:\n%s", edits[_i].name, text);
}
END_TEST

#define LONG_NAME "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Edits that fail; the last check of each comes after others that pass, so a half-done edit would show. */
static const struct {
        Edit edit;
        int r;
        const char *error;
} failures[] = {
        { { USER_ADD, "ab" }, -EINVAL, "user name 'ab' is too short" },
        { { USER_ADD, LONG_NAME "@pve" }, -EINVAL, "user name '" LONG_NAME "@pve' is too long (65 > 64)" },
        { { USER_ADD, "carol" }, -EINVAL, "value 'carol' does not look like a valid user name" },
        { { USER_ADD, "alice@pve!ci" }, -EINVAL, "value 'alice@pve!ci' does not look like a valid user name" },
        { { USER_ADD, "a,b@pve" }, -EINVAL, "user name 'a,b@pve' must not contain ',' or '!'" },
        { { USER_ADD, "a!b@pve" }, -EINVAL, "user name 'a!b@pve' must not contain ',' or '!'" },
        { { USER_ADD, "alice@pve" }, -EEXIST, "user 'alice@pve' already exists" },
        { { USER_ADD, "root@pam" }, -EEXIST, "user 'root@pam' already exists" },
        { { USER_ADD, "carol@pve", .user = { .firstname = "C", .email = "a:b" } }, -EINVAL,
                "email must be printable UTF-8 text without ':'" },
        { { USER_ADD, "carol@pve", .user = { .comment = "a\nb" } }, -EINVAL,
                "comment must be printable UTF-8 text without ':'" },
        { { USER_ADD, "carol@pve", .user = { .lastname = "\xc3\x28" } }, -EINVAL,
                "lastname must be printable UTF-8 text without ':'" },
        { { USER_ADD, "carol@pve", .user = { .firstname = " Carol" } }, -EINVAL,
                "firstname must not begin or end with whitespace" },
        { { USER_ADD, "carol@pve", .user = { .keys = "x\t" } }, -EINVAL,
                "keys must not begin or end with whitespace" },
        { { USER_ADD, "carol@pve", .user = { .set_expire = true, .expire = -1 } }, -EINVAL,
                "invalid expire -1" },
        { { USER_ADD, "carol@pve", .user = { .set_expire = true, .expire = INT64_C(1000000000000000000) } },
                -EINVAL, "invalid expire 1000000000000000000" },
        { { USER_ADD, "carol@pve", .user = { .groups = STRV("ops", "nope") } }, -ENOENT,
                "no such group 'nope'" },
        { { USER_ADD, "carol@pve", .user = { .groups = STRV("ops", "a b") } }, -EINVAL,
                "group name 'a b' contains invalid characters" },
        { { USER_UPDATE, "carol@pve" }, -ENOENT, "user 'carol@pve' does not exist" },
        { { USER_UPDATE, "carol" }, -EINVAL, "value 'carol' does not look like a valid user name" },
        { { USER_UPDATE, "alice@pve", .user = { .set_enable = true, .email = "x", .comment = "a:b" } },
                -EINVAL, "comment must be printable UTF-8 text without ':'" },
        { { USER_UPDATE, "alice@pve", .user = { .email = "x", .set_expire = true, .expire = -5 } }, -EINVAL,
                "invalid expire -5" },
        { { USER_UPDATE, "alice@pve", .user = { .email = "x", .groups = STRV("dev", "nope") } }, -ENOENT,
                "no such group 'nope'" },
        { { USER_APPEND, "alice@pve", .user = { .groups = STRV("dev", "nope") } }, -ENOENT,
                "no such group 'nope'" },
        { { USER_REMOVE, "root@pam" }, -EPERM, "user 'root@pam' cannot be removed" },
        { { USER_REMOVE, "carol@pve" }, -ENOENT, "user 'carol@pve' does not exist" },
        { { USER_REMOVE, "@pve" }, -EINVAL, "value '@pve' does not look like a valid user name" },
        { { GROUP_ADD, "a b" }, -EINVAL, "group name 'a b' contains invalid characters" },
        { { GROUP_ADD, "" }, -EINVAL, "group name '' contains invalid characters" },
        { { GROUP_ADD, "ops" }, -EEXIST, "group 'ops' already exists" },
        { { GROUP_ADD, "audit", .comment = "a:b" }, -EINVAL,
                "comment must be printable UTF-8 text without ':'" },
        { { GROUP_COMMENT, "nope", .comment = "x" }, -ENOENT, "group 'nope' does not exist" },
        { { GROUP_COMMENT, "ops", .comment = "x " }, -EINVAL, "comment must not begin or end with whitespace" },
        { { GROUP_REMOVE, "nope" }, -ENOENT, "group 'nope' does not exist" },
        { { GROUP_REMOVE, "@ops" }, -EINVAL, "group name '@ops' contains invalid characters" },
        { { ROLE_ADD, "a b" }, -EINVAL, "role name 'a b' contains invalid characters" },
        { { ROLE_ADD, "PVEMine" }, -EINVAL,
                "cannot use role ID starting with the (case-insensitive) 'PVE' namespace" },
        { { ROLE_ADD, "pveMine" }, -EINVAL,
                "cannot use role ID starting with the (case-insensitive) 'PVE' namespace" },
        { { ROLE_ADD, "Administrator" }, -EEXIST, "role 'Administrator' already exists" },
        { { ROLE_ADD, "NoAccess" }, -EEXIST, "role 'NoAccess' already exists" },
        { { ROLE_ADD, "Watcher" }, -EEXIST, "role 'Watcher' already exists" },
        { { ROLE_ADD, "Backup", .privs = UINT64_C(1) << 63 }, -EINVAL, "invalid privilege" },
        { { ROLE_UPDATE, "PVEAdmin" }, -EPERM, "auto-generated role 'PVEAdmin' cannot be modified" },
        { { ROLE_APPEND, "NoAccess" }, -EPERM, "auto-generated role 'NoAccess' cannot be modified" },
        { { ROLE_UPDATE, "Nope" }, -ENOENT, "role 'Nope' does not exist" },
        { { ROLE_UPDATE, "Watcher", .privs = ACL_PRIV_ALL + 1 }, -EINVAL, "invalid privilege" },
        { { ROLE_REMOVE, "Administrator" }, -EPERM, "auto-generated role 'Administrator' cannot be deleted" },
        { { ROLE_REMOVE, "Nope" }, -ENOENT, "role 'Nope' does not exist" },
        { { ROLE_REMOVE, "" }, -EINVAL, "role name '' contains invalid characters" },
        { { GRANT, "/etc", .roles = STRV("Watcher"), .members = STRV("alice@pve") }, -EINVAL,
                "invalid ACL path '/etc'" },
        { { GRANT, "/vms/1 00", .roles = STRV("Watcher"), .members = STRV("alice@pve") }, -EINVAL,
                "invalid ACL path '/vms/1 00'" },
        { { REVOKE, "", .roles = STRV("Watcher"), .members = STRV("alice@pve") }, -EINVAL,
                "invalid ACL path ''" },
        { { GRANT, "/", .members = STRV("alice@pve") }, -EINVAL, "no roles given" },
        { { GRANT, "/", .roles = STRV("Watcher") }, -EINVAL, "either users, groups or tokens are required" },
        { { GRANT, "/", .roles = STRV("Watcher", "Nope"), .members = STRV("alice@pve") }, -ENOENT,
                "role 'Nope' does not exist" },
        { { REVOKE, "/vms/100", .roles = STRV("Watcher", "Nope"), .members = STRV("alice@pve") }, -ENOENT,
                "role 'Nope' does not exist" },
        { { GRANT, "/", .roles = STRV("a:b"), .members = STRV("alice@pve") }, -EINVAL,
                "role name 'a:b' contains invalid characters" },
        { { GRANT, "/", .roles = STRV("Watcher"), .members = STRV("alice@pve", "@nope") }, -ENOENT,
                "group 'nope' does not exist" },
        { { GRANT, "/", .roles = STRV("Watcher"), .members = STRV("alice@pve", "@a b") }, -EINVAL,
                "group name 'a b' contains invalid characters" },
        { { GRANT, "/", .roles = STRV("Watcher"), .members = STRV("alice@pve", "carol@pve") }, -ENOENT,
                "user 'carol@pve' does not exist" },
        { { REVOKE, "/vms/100", .roles = STRV("Watcher"), .members = STRV("alice@pve", "carol@pve") },
                -ENOENT, "user 'carol@pve' does not exist" },
        { { GRANT, "/", .roles = STRV("Watcher"), .members = STRV("alice@pve", "alice@pve!nope") }, -ENOENT,
                "no such token 'nope' for user 'alice@pve'" },
        { { GRANT, "/", .roles = STRV("Watcher"), .members = STRV("alice@pve", "carol@pve!ci") }, -ENOENT,
                "user 'carol@pve' does not exist" },
        { { GRANT, "/", .roles = STRV("Watcher"), .members = STRV("alice@pve", "root@pam") }, -EINVAL,
                "root@pam has every privilege: it takes no ACL entries" },
        { { GRANT, "/", .roles = STRV("Watcher"), .members = STRV("alice@pve", "alice") }, -EINVAL,
                "'alice' is neither a user, a @group nor a token" },
        { { GRANT, "/", .roles = STRV("Watcher"), .members = STRV("alice@pve,bob@pve") }, -EINVAL,
                "'alice@pve,bob@pve' cannot be listed in user.cfg: it holds ','" },
        { { TOKEN_ADD, "alice@pve" }, -EINVAL, "'alice@pve' is not a valid token ID" },
        { { TOKEN_ADD, "alice@pve!x" }, -EINVAL, "'alice@pve!x' is not a valid token ID" },
        { { TOKEN_ADD, "carol@pve!ci" }, -ENOENT, "user 'carol@pve' does not exist" },
        { { TOKEN_ADD, "alice@pve!ci" }, -EEXIST, "token 'alice@pve!ci' already exists" },
        { { TOKEN_ADD, "alice@pve!new", .expire = -1 }, -EINVAL, "invalid expire -1" },
        { { TOKEN_ADD, "alice@pve!new", .comment = "a\tb\x7f" }, -EINVAL,
                "comment must be printable UTF-8 text without ':'" },
        { { TOKEN_UPDATE, "alice@pve!nope" }, -ENOENT, "no such token 'nope' for user 'alice@pve'" },
        { { TOKEN_UPDATE, "alice@pve" }, -EINVAL, "'alice@pve' is not a valid token ID" },
        { { TOKEN_UPDATE, "alice@pve!ci", .set_privsep = true, .set_expire = true, .expire = -1 }, -EINVAL,
                "invalid expire -1" },
        { { TOKEN_UPDATE, "alice@pve!ci", .set_privsep = true, .comment = "a:b" }, -EINVAL,
                "comment must be printable UTF-8 text without ':'" },
        { { TOKEN_REMOVE, "bob@pve!ci" }, -ENOENT, "no such token 'ci' for user 'bob@pve'" },
        { { TOKEN_REMOVE, "bob@pve!" }, -EINVAL, "'bob@pve!' is not a valid token ID" },
};

START_TEST(test_fail)
{
        _cleanup_(acl_config_freep) AclConfig *c = load();
        _cleanup_free_ char *error = NULL, *before = acl_config_format(c), *after = NULL;

        ck_assert_int_eq(apply(c, &failures[_i].edit, &error), failures[_i].r);
        ck_assert_str_eq(strempty(error), failures[_i].error);
        after = acl_config_format(c);
        ck_assert_str_eq(after, before);
        /* The error message is optional. */
        ck_assert_int_eq(apply(c, &failures[_i].edit, NULL), failures[_i].r);
}
END_TEST

/* Edits in a row that add and take away again give back what there was. */
START_TEST(test_undo)
{
        const Edit steps[] = {
                { USER_ADD, "carol@pve", .user = { .groups = STRV("dev") } },
                { TOKEN_ADD, "carol@pve!ci" },
                { GROUP_ADD, "audit" },
                { ROLE_ADD, "Backup", .privs = ACL_PRIV_BIT(ACL_PRIV_VM_BACKUP) },
                { GRANT, "/vms", .roles = STRV("Backup", "PVEAuditor"),
                        .members = STRV("carol@pve", "carol@pve!ci", "@audit", "alice@pve!ci") },
                { GRANT, "/vms/100", .roles = STRV("Backup"), .members = STRV("bob@pve"), .propagate = true },
                { USER_REMOVE, "carol@pve" },
                { GROUP_REMOVE, "audit" },
                { ROLE_REMOVE, "Backup" },
                { REVOKE, "/vms", .roles = STRV("PVEAuditor"), .members = STRV("alice@pve!ci") },
        };
        _cleanup_(acl_config_freep) AclConfig *c = load();
        _cleanup_free_ char *text = NULL;

        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                _cleanup_free_ char *error = NULL, *step = NULL;

                ck_assert_msg(apply(c, steps + i, &error) == 0, "step %zu: %s", i, strempty(error));
                step = format_stable(c);
        }
        text = format_stable(c);
        ck_assert_str_eq(text, base);
}
END_TEST

START_TEST(test_lookups)
{
        _cleanup_(acl_config_freep) AclConfig *c = load();
        _cleanup_strv_free_ char **groups = acl_user_groups(c, "bob@pve"),
                                 **tokens = acl_user_tokens(c, "alice@pve");

        ck_assert_uint_eq(strv_length(groups), 2);
        ck_assert_str_eq(groups[0], "dev");
        ck_assert_str_eq(groups[1], "ops");
        ck_assert_ptr_null(acl_user_groups(c, "root@pam"));
        ck_assert_uint_eq(strv_length(tokens), 1);
        ck_assert_str_eq(tokens[0], "alice@pve!ci");
        ck_assert_ptr_null(acl_user_tokens(c, "root@pam"));
        ck_assert_ptr_null(acl_user_tokens(c, "alice@pv"));

        ck_assert_str_eq(acl_find_user(c, "bob@pve")->id, "bob@pve");
        ck_assert_ptr_null(acl_find_user(c, "carol@pve"));
        ck_assert_int_eq(acl_find_token(c, "bob@pve!deploy")->expire, 1900000000);
        ck_assert_ptr_null(acl_find_token(c, "bob@pve!ci"));
        ck_assert_str_eq(acl_find_group(c, "ops")->comment, "Operators");
        ck_assert_ptr_null(acl_find_group(c, "nope"));
}
END_TEST

static const struct {
        const char *tokenid, *userid;
        bool of;
} token_users[] = {
        { "alice@pve!ci", "alice@pve", true },
        { "alice@pve!ci", "alice@pv", false },
        { "alice@pve!ci", "alice@pve!ci", false },
        /* The user part ends at the last '!': this is a token of the user "a@pve!b@pve". */
        { "a@pve!b@pve!ci", "a@pve", false },
        { "a@pve!b@pve!ci", "a@pve!b@pve", true },
        { "alice@pve", "alice@pve", false },
};

START_TEST(test_token_is_of_user)
{
        ck_assert_int_eq(
                acl_token_is_of_user(token_users[_i].tokenid, token_users[_i].userid), token_users[_i].of);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("acl-edit");
        TCase *tc = tcase_create("acl-edit");

        tcase_add_test(tc, test_base);
        tcase_add_loop_test(tc, test_edit, 0, ELEMENTSOF(edits));
        tcase_add_loop_test(tc, test_fail, 0, ELEMENTSOF(failures));
        tcase_add_test(tc, test_undo);
        tcase_add_test(tc, test_lookups);
        tcase_add_loop_test(tc, test_token_is_of_user, 0, ELEMENTSOF(token_users));
        suite_add_tcase(s, tc);
        return run_suite(s);
}
