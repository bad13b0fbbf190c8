/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Access control as Proxmox VE's user.cfg has it: users, API tokens, groups,
 * roles and ACL entries, and the evaluation of a caller's privileges on a path
 * as PVE/AccessControl.pm roles() and PVE/RPCEnvironment.pm permissions() do.
 * A pure library: text in, text out, no store and no logging.
 *
 * Lines of user.cfg (fields trimmed, trailing empty fields may be left out,
 * blank lines ignored):
 *
 *   user:<userid>:<enable 0|1>:<expire>:<firstname>:<lastname>:<email>:<comment>:<keys>:
 *   token:<userid>!<tokenid>:<expire>:<privsep 0|1>:<comment>:
 *   group:<groupid>:<member userids, comma-separated>:<comment>:
 *   role:<roleid>:<privileges, comma-separated>:
 *   acl:<propagate 0|1>:<path>:<userids, @groupids, tokenids>:<roleids>:
 *
 * expire is seconds since the epoch, 0 or empty for never; an empty 0|1
 * field is 0, as Proxmox reads it. Text fields are kept as the file has them
 * (Proxmox percent-encodes them). Ids follow Proxmox's rules: a userid is
 * name@realm (3-64 characters, the name without whitespace, ':' or '/', the
 * realm [A-Za-z][A-Za-z0-9._-]+ as Proxmox's realm_regex: two characters at
 * least), a token id is the same after the '!'; ACL paths are normalized and
 * must be ones Proxmox's check_path() allows.
 *
 * Anything malformed is an error (-EBADMSG, "line N: ..."), as are a
 * duplicate user, token, group or role and a role line naming a built-in
 * role. Where Proxmox drops or keeps a reference with a warning, so does this
 * parser, and the warning goes into AclConfig.warnings for the caller to log:
 *   - a privilege berth does not know in a role line is dropped (a newer
 *     Proxmox may have privileges berth has not);
 *   - an ACL role that is not defined (yet: definitions come first) is dropped;
 *   - an ACL token that is not defined (yet) is dropped;
 *   - a token whose user is not defined (yet) is dropped;
 *   - an ACL entry for root@pam is dropped (it has every privilege anyway;
 *     Proxmox's writer leaves it out);
 *   - an ACL user or group that is not defined is kept, as is a group member
 *     that is not a defined user: they grant nothing until it exists.
 * Pools ("pool:" lines) are not supported yet and are an error.
 * root@pam is always defined (enabled) even when the file leaves it out; its
 * own line, anywhere, replaces that default.
 *
 * acl_config_format() writes what Proxmox's write_user_config() writes, in
 * its order: users (each followed by its tokens), groups, pools, roles (not
 * the built-in ones), ACL entries, the sections separated by blank lines.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "macro.h"

typedef enum AclPriv {
        ACL_PRIV_VM_ALLOCATE,
        ACL_PRIV_VM_AUDIT,
        ACL_PRIV_VM_POWER_MGMT,
        ACL_PRIV_VM_MIGRATE,
        ACL_PRIV_VM_CONSOLE,
        ACL_PRIV_VM_CONFIG_DISK,
        ACL_PRIV_VM_CONFIG_CPU,
        ACL_PRIV_VM_CONFIG_MEMORY,
        ACL_PRIV_VM_CONFIG_NETWORK,
        ACL_PRIV_VM_CONFIG_OPTIONS,
        ACL_PRIV_VM_CONFIG_HWTYPE,
        ACL_PRIV_VM_CONFIG_CDROM,
        ACL_PRIV_VM_CONFIG_CLOUDINIT,
        ACL_PRIV_VM_SNAPSHOT,
        ACL_PRIV_VM_BACKUP,
        ACL_PRIV_VM_CLONE,
        ACL_PRIV_VM_MONITOR,
        ACL_PRIV_DATASTORE_ALLOCATE,
        ACL_PRIV_DATASTORE_ALLOCATE_SPACE,
        ACL_PRIV_DATASTORE_ALLOCATE_TEMPLATE,
        ACL_PRIV_DATASTORE_AUDIT,
        ACL_PRIV_SYS_AUDIT,
        ACL_PRIV_SYS_MODIFY,
        ACL_PRIV_SYS_CONSOLE,
        ACL_PRIV_SYS_SYSLOG,
        ACL_PRIV_SYS_POWER_MGMT,
        ACL_PRIV_SYS_INCOMING,
        ACL_PRIV_USER_MODIFY,
        ACL_PRIV_GROUP_ALLOCATE,
        ACL_PRIV_PERMISSIONS_MODIFY,
        ACL_PRIV_REALM_ALLOCATE,
        ACL_PRIV_REALM_ALLOCATE_USER,
        ACL_PRIV_POOL_ALLOCATE,
        ACL_PRIV_POOL_AUDIT,
        ACL_PRIV_SDN_AUDIT,
        ACL_PRIV_SDN_USE,
        ACL_PRIV_SDN_ALLOCATE,
        ACL_PRIV_MAPPING_AUDIT,
        ACL_PRIV_MAPPING_USE,
        ACL_PRIV_MAPPING_MODIFY,
        _ACL_PRIV_MAX,
        _ACL_PRIV_INVALID = -EINVAL,
} AclPriv;

/* "VM.Allocate" and back. */
const char *acl_priv_to_string(AclPriv p);
AclPriv acl_priv_from_string(const char *s);

/* A set of privileges, bit (1 << AclPriv). */
typedef uint64_t AclPrivSet;
#define ACL_PRIV_BIT(p) (UINT64_C(1) << (p))
#define ACL_PRIV_ALL (ACL_PRIV_BIT(_ACL_PRIV_MAX) - 1)

static inline bool acl_priv_set_has(AclPrivSet s, AclPriv p)
{
        return p >= 0 && p < _ACL_PRIV_MAX && (s & ACL_PRIV_BIT(p));
}

typedef struct AclUser {
        char *id; /* name@realm */
        bool enable;
        int64_t expire; /* 0: never */
        char *firstname, *lastname, *email, *comment, *keys;
} AclUser;

typedef struct AclToken {
        char *id; /* name@realm!tokenid */
        int64_t expire; /* 0: never */
        bool privsep;
        char *comment;
} AclToken;

typedef struct AclGroup {
        char *id;
        char **members; /* userids, sorted, distinct */
        char *comment;
} AclGroup;

typedef struct AclRole {
        char *id;
        AclPrivSet privs;
} AclRole;

/* One role granted to one user, @group or token on one path. */
typedef struct AclEntry {
        char *path; /* normalized: "/", "/vms/100" */
        char *member; /* userid, "@groupid" or tokenid */
        char *role;
        bool propagate;
} AclEntry;

typedef struct AclConfig {
        AclUser *users;
        size_t n_users;
        AclToken *tokens;
        size_t n_tokens;
        AclGroup *groups;
        size_t n_groups;
        AclRole *roles; /* defined in the file; the built-in ones are not here */
        size_t n_roles;
        AclEntry *entries; /* at most one per (path, member, role) */
        size_t n_entries;
        char **warnings; /* "line N: ...", what was dropped or refers to nothing */
} AclConfig;

AclConfig *acl_config_free(AclConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(AclConfig *, acl_config_free);

/* -EBADMSG with "line N: ..." in ret_error (if given) on the first error. */
int acl_config_parse(const char *text, AclConfig **ret, char **ret_error);
/* The canonical text: parse(format(c)) formats to the same text. */
char *acl_config_format(const AclConfig *c);

/* The user, token, group or role (defined in the file) of that id; NULL when there is none. */
AclUser *acl_find_user(const AclConfig *c, const char *id);
AclToken *acl_find_token(const AclConfig *c, const char *id);
AclGroup *acl_find_group(const AclConfig *c, const char *id);
AclRole *acl_find_role(const AclConfig *c, const char *id);

/* Syntax checks, as Proxmox's verify_username, split_tokenid, verify_groupname, verify_rolename. */
bool acl_userid_is_valid(const char *s);
bool acl_tokenid_is_valid(const char *s);
bool acl_groupid_is_valid(const char *s);
bool acl_roleid_is_valid(const char *s);
/* Collapses repeated and trailing '/' and adds a leading one; NULL for characters outside [A-Za-z0-9._/-]. */
char *acl_path_normalize(const char *path);
/* Whether a normalized path is one ACLs may be set on (Proxmox's check_path). */
bool acl_path_is_valid(const char *path);

/* The i-th built-in role, NULL past the last; whether a name is one. */
const char *acl_builtin_role(size_t i);
bool acl_role_is_builtin(const char *id);
/* The privileges of a role, built-in or defined in c; -ENOENT when there is no such role. */
int acl_role_privs(const AclConfig *c, const char *id, AclPrivSet *ret);

/*
 * What auth_id (a userid or a tokenid) may do on path at time now:
 *   - root@pam has every privilege, always;
 *   - a user that is not defined, disabled, or whose expire is before now has
 *     none, and so have its tokens; so has a token that is not defined or
 *     whose expire is before now;
 *   - otherwise the path is walked from "/" down; on each level an entry
 *     applies when it is on the path asked for or propagates, and the roles
 *     of the applying entries replace those inherited from above. On a level
 *     the user's own entries win over those of its groups (those of all its
 *     groups together), and only if none of its own apply do its groups count;
 *   - NoAccess among the resulting roles gives nothing;
 *   - a token without privilege separation has its user's privileges; with
 *     it, those the walk gives for the token's own entries (its user's and
 *     groups' do not count) that its user has too.
 * -EINVAL when auth_id is neither a userid nor a tokenid or path cannot be normalized.
 */
int acl_permissions(const AclConfig *c, const char *auth_id, const char *path, time_t now, AclPrivSet *ret);
/* 1 when auth_id has priv on path, 0 when not, negative errno as acl_permissions(). */
int acl_check(const AclConfig *c, const char *auth_id, const char *path, time_t now, AclPriv priv);
