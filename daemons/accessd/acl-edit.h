/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The changes accessd makes to an AclConfig (acl.h), as Proxmox's /access
 * API makes them to user.cfg. Pure: no store, no bus, no logging. Each edit
 * validates everything first and changes nothing when it fails; its error
 * message (ret_error, may be NULL, written only on failure) is for the
 * caller to pass on, in Proxmox's words where it has them ("user 'x@pve'
 * does not exist").
 *
 * Errors: -EINVAL (a malformed id, path or field: a field with ':' or a
 * control character, which user.cfg cannot hold, or with whitespace at its
 * ends, which its parser strips), -ENOENT (the user, group, role or token
 * named does not exist), -EEXIST (it does already), -EPERM (a built-in role
 * would change, or root@pam would be removed: Proxmox puts it back on the
 * next read). A new userid must not hold ',' (user.cfg's lists are
 * comma-separated) or '!' (a token id ends at its last one).
 *
 * The edits keep what acl_config_parse() establishes (a group's members
 * sorted and distinct, at most one ACL entry per path, member and role, no
 * token without its user, no ACL entry for an undefined token or role or for
 * root@pam), so that the text acl_config_format() writes of an edited config
 * parses to a config that formats to the same text. New items are appended:
 * the formatter sorts.
 */

#include "acl.h"

/*
 * The text fields of a user, and its groups. NULL: not given (a new user's
 * field is empty; an update leaves it as it is); "" clears it.
 */
typedef struct AclUserFields {
        const char *firstname, *lastname, *email, *comment, *keys;
        bool set_enable, enable;
        bool set_expire;
        int64_t expire;
        char **groups; /* NULL: not given */
} AclUserFields;

/* Whether tokenid ("user@realm!id") is a token of userid: its user part ends at its last '!'. */
bool acl_token_is_of_user(const char *tokenid, const char *userid);
/* The groups userid is a member of, sorted; NULL when none. */
char **acl_user_groups(const AclConfig *c, const char *userid);
/* The token ids of userid ("user@realm!id"), in the config's order; NULL when none. */
char **acl_user_tokens(const AclConfig *c, const char *userid);

/* A new user; enable defaults to true, expire to 0 (never). The groups must exist. */
int acl_edit_user_add(AclConfig *c, const char *userid, const AclUserFields *f, char **ret_error);
/* Sets what f gives; with append, f->groups are added to the user's groups, else they replace them. */
int acl_edit_user_update(
        AclConfig *c, const char *userid, const AclUserFields *f, bool append, char **ret_error);
/* The user, its tokens, its ACL entries and those of its tokens, and its group memberships. */
int acl_edit_user_remove(AclConfig *c, const char *userid, char **ret_error);

/* A comment of NULL is empty. */
int acl_edit_group_add(AclConfig *c, const char *groupid, const char *comment, char **ret_error);
int acl_edit_group_set_comment(AclConfig *c, const char *groupid, const char *comment, char **ret_error);
/* The group and its ACL entries. */
int acl_edit_group_remove(AclConfig *c, const char *groupid, char **ret_error);

int acl_edit_role_add(AclConfig *c, const char *roleid, AclPrivSet privs, char **ret_error);
/* With append, privs are added to the role's; otherwise they replace them. */
int acl_edit_role_update(AclConfig *c, const char *roleid, AclPrivSet privs, bool append, char **ret_error);
/* The role and every ACL entry granting it. */
int acl_edit_role_remove(AclConfig *c, const char *roleid, char **ret_error);

/*
 * Grants (or with remove revokes) each of roles on path to each of members
 * (userids, "@groupid"s and tokenids), as Proxmox's PUT /access/acl: the path
 * is normalized and must be valid (to revoke, only normalizable), the roles,
 * users, groups and tokens must exist, and a grant that exists gets the new
 * propagate flag. An entry for root@pam is refused (-EINVAL): it has every
 * privilege anyway. Revoking what is not granted is no error.
 */
int acl_edit_acl(AclConfig *c, const char *path, char *const *roles, char *const *members, bool propagate,
        bool remove, char **ret_error);

/* A token of an existing user; t->id is "user@realm!id", a t->comment of NULL is empty. */
int acl_edit_token_add(AclConfig *c, const AclToken *t, char **ret_error);
/* Sets expire, privsep and comment (NULL: unchanged) of an existing token. */
int acl_edit_token_update(AclConfig *c, const char *tokenid, const int64_t *expire, const bool *privsep,
        const char *comment, char **ret_error);
/* The token and its ACL entries. */
int acl_edit_token_remove(AclConfig *c, const char *tokenid, char **ret_error);
