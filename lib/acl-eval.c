/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "acl.h"
#include "alloc.h"

/* Privileges, built-in roles, the syntax of ids and paths, and the evaluation of ACLs: all but the file. */

static bool is_id_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '-' || c == '_';
}

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* [A-Za-z0-9._-]+ over s[0..n). */
static bool span_is_id(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_id_char(s[i]))
                        return false;
        return true;
}

/* Proxmox's realm_regex, also its token subid: [A-Za-z][A-Za-z0-9._-]+ */
static bool span_is_realm(const char *s, size_t n)
{
        return n >= 2 && is_alpha(s[0]) && span_is_id(s + 1, n - 1);
}

static bool span_is_userid(const char *s, size_t n)
{
        const char *at = NULL;

        if (n < 3 || n > 64)
                return false;
        /* The name may hold '@' itself; the realm is what follows the last one. */
        for (size_t i = 0; i < n; i++) {
                if (strchr(" \t\n\r\f\v:/", s[i]))
                        return false;
                if (s[i] == '@')
                        at = s + i;
        }
        return at && at > s && span_is_realm(at + 1, n - (at + 1 - s));
}

bool acl_userid_is_valid(const char *s)
{
        return span_is_userid(s, strlen(s));
}

bool acl_tokenid_is_valid(const char *s)
{
        const char *bang = strrchr(s, '!');

        return bang && span_is_userid(s, bang - s) && span_is_realm(bang + 1, strlen(bang + 1));
}

bool acl_groupid_is_valid(const char *s)
{
        return span_is_id(s, strlen(s));
}

bool acl_roleid_is_valid(const char *s)
{
        return span_is_id(s, strlen(s));
}

char *acl_path_normalize(const char *path)
{
        size_t n = 0;
        char *r;

        if (isempty(path))
                return NULL;
        r = xmalloc(strlen(path) + 2);
        r[n++] = '/';
        for (const char *s = path; *s; s++) {
                if (*s != '/' && !is_id_char(*s))
                        return mfree(r);
                if (*s == '/' && r[n - 1] == '/')
                        continue;
                r[n++] = *s;
        }
        if (n > 1 && r[n - 1] == '/')
                n--;
        r[n] = 0;
        return r;
}

/* Path components: "*" any [A-Za-z0-9._-]+, "#" a vmid (three digits or more, no leading 0), "a"
 * [A-Za-z0-9]+, "n" a VLAN tag 1-9999, else literally. */
static const char *const valid_paths[][5] = {
        { NULL },
        { "access" },
        { "access", "groups" },
        { "access", "groups", "*" },
        { "access", "realm" },
        { "access", "realm", "*" },
        { "nodes" },
        { "nodes", "*" },
        { "pool" },
        { "pool", "*" },
        { "pool", "*", "*" },
        { "pool", "*", "*", "*" },
        { "sdn" },
        { "sdn", "controllers" },
        { "sdn", "controllers", "*" },
        { "sdn", "dns" },
        { "sdn", "dns", "a" },
        { "sdn", "fabrics" },
        { "sdn", "fabrics", "a" },
        { "sdn", "ipams" },
        { "sdn", "ipams", "a" },
        { "sdn", "prefix-lists" },
        { "sdn", "prefix-lists", "a" },
        { "sdn", "route-maps" },
        { "sdn", "route-maps", "a" },
        { "sdn", "zones" },
        { "sdn", "zones", "*" },
        { "sdn", "zones", "*", "*" },
        { "sdn", "zones", "*", "*", "n" },
        { "storage" },
        { "storage", "*" },
        { "vms" },
        { "vms", "#" },
        { "mapping" },
        { "mapping", "*" },
        { "mapping", "*", "*" },
};

static bool component_matches(const char *pattern, const char *s, size_t n)
{
        if (streq(pattern, "*"))
                return span_is_id(s, n);
        if (streq(pattern, "#") || streq(pattern, "n")) {
                if (n == 0 || s[0] == '0' || (streq(pattern, "#") && n < 3) || (streq(pattern, "n") && n > 4))
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (s[i] < '0' || s[i] > '9')
                                return false;
                return true;
        }
        if (streq(pattern, "a")) {
                for (size_t i = 0; i < n; i++)
                        if (!is_id_char(s[i]) || strchr(".-_", s[i]))
                                return false;
                return n > 0;
        }
        return strlen(pattern) == n && strncmp(pattern, s, n) == 0;
}

bool acl_path_is_valid(const char *path)
{
        if (path[0] != '/')
                return false;
        for (size_t i = 0; i < ELEMENTSOF(valid_paths); i++) {
                const char *s = streq(path, "/") ? "" : path + 1;
                size_t k = 0;

                for (; k < ELEMENTSOF(valid_paths[i]) && valid_paths[i][k] && *s; k++) {
                        size_t n = strcspn(s, "/");

                        if (!component_matches(valid_paths[i][k], s, n))
                                break;
                        s += n;
                        if (*s == '/')
                                s++;
                }
                if (*s == 0 && (k == ELEMENTSOF(valid_paths[i]) || !valid_paths[i][k]))
                        return true;
        }
        return false;
}

/*
 * Proxmox makes its built-in roles from privilege groups (AccessControl.pm
 * $privgroups): per category, privileges only root should have, those of an
 * admin, of a user and of an auditor. The table keeps the groups so the roles
 * come out as Proxmox's do (VM.Monitor where Proxmox VE 8 had it).
 */
typedef enum Category {
        CAT_VM,
        CAT_SYS,
        CAT_DATASTORE,
        CAT_SDN,
        CAT_USER,
        CAT_POOL,
        CAT_MAPPING,
        CAT_NONE, /* Permissions.Modify: Administrator's alone */
        _CAT_MAX,
} Category;

enum {
        TIER_ROOT = 1 << 0,
        TIER_ADMIN = 1 << 1,
        TIER_USER = 1 << 2,
        TIER_AUDIT = 1 << 3,
};

static const struct {
        const char *name;
        Category category;
        unsigned tiers;
} privs[_ACL_PRIV_MAX] = {
        [ACL_PRIV_VM_ALLOCATE] = { "VM.Allocate", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_VM_AUDIT] = { "VM.Audit", CAT_VM, TIER_AUDIT },
        [ACL_PRIV_VM_POWER_MGMT] = { "VM.PowerMgmt", CAT_VM, TIER_USER },
        [ACL_PRIV_VM_MIGRATE] = { "VM.Migrate", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_VM_CONSOLE] = { "VM.Console", CAT_VM, TIER_USER },
        [ACL_PRIV_VM_CONFIG_DISK] = { "VM.Config.Disk", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_VM_CONFIG_CPU] = { "VM.Config.CPU", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_VM_CONFIG_MEMORY] = { "VM.Config.Memory", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_VM_CONFIG_NETWORK] = { "VM.Config.Network", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_VM_CONFIG_OPTIONS] = { "VM.Config.Options", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_VM_CONFIG_HWTYPE] = { "VM.Config.HWType", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_VM_CONFIG_CDROM] = { "VM.Config.CDROM", CAT_VM, TIER_USER },
        [ACL_PRIV_VM_CONFIG_CLOUDINIT] = { "VM.Config.Cloudinit", CAT_VM, TIER_USER },
        [ACL_PRIV_VM_SNAPSHOT] = { "VM.Snapshot", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_VM_BACKUP] = { "VM.Backup", CAT_VM, TIER_USER },
        [ACL_PRIV_VM_CLONE] = { "VM.Clone", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_VM_MONITOR] = { "VM.Monitor", CAT_VM, TIER_ADMIN },
        [ACL_PRIV_DATASTORE_ALLOCATE] = { "Datastore.Allocate", CAT_DATASTORE, TIER_ADMIN },
        [ACL_PRIV_DATASTORE_ALLOCATE_SPACE] = { "Datastore.AllocateSpace", CAT_DATASTORE, TIER_USER },
        [ACL_PRIV_DATASTORE_ALLOCATE_TEMPLATE] = { "Datastore.AllocateTemplate", CAT_DATASTORE, TIER_ADMIN },
        [ACL_PRIV_DATASTORE_AUDIT] = { "Datastore.Audit", CAT_DATASTORE, TIER_AUDIT },
        [ACL_PRIV_SYS_AUDIT] = { "Sys.Audit", CAT_SYS, TIER_AUDIT },
        [ACL_PRIV_SYS_MODIFY] = { "Sys.Modify", CAT_SYS, TIER_ROOT },
        [ACL_PRIV_SYS_CONSOLE] = { "Sys.Console", CAT_SYS, TIER_ADMIN },
        [ACL_PRIV_SYS_SYSLOG] = { "Sys.Syslog", CAT_SYS, TIER_ADMIN },
        [ACL_PRIV_SYS_POWER_MGMT] = { "Sys.PowerMgmt", CAT_SYS, TIER_ROOT },
        [ACL_PRIV_SYS_INCOMING] = { "Sys.Incoming", CAT_SYS, TIER_ROOT },
        [ACL_PRIV_USER_MODIFY] = { "User.Modify", CAT_USER, TIER_ADMIN },
        [ACL_PRIV_GROUP_ALLOCATE] = { "Group.Allocate", CAT_USER, TIER_ADMIN },
        [ACL_PRIV_PERMISSIONS_MODIFY] = { "Permissions.Modify", CAT_NONE, 0 },
        [ACL_PRIV_REALM_ALLOCATE] = { "Realm.Allocate", CAT_USER, TIER_ROOT },
        [ACL_PRIV_REALM_ALLOCATE_USER] = { "Realm.AllocateUser", CAT_USER, TIER_ADMIN },
        [ACL_PRIV_POOL_ALLOCATE] = { "Pool.Allocate", CAT_POOL, TIER_ADMIN },
        [ACL_PRIV_POOL_AUDIT] = { "Pool.Audit", CAT_POOL, TIER_USER | TIER_AUDIT },
        [ACL_PRIV_SDN_AUDIT] = { "SDN.Audit", CAT_SDN, TIER_ADMIN | TIER_AUDIT },
        [ACL_PRIV_SDN_USE] = { "SDN.Use", CAT_SDN, TIER_USER },
        [ACL_PRIV_SDN_ALLOCATE] = { "SDN.Allocate", CAT_SDN, TIER_ADMIN },
        [ACL_PRIV_MAPPING_AUDIT] = { "Mapping.Audit", CAT_MAPPING, TIER_AUDIT },
        [ACL_PRIV_MAPPING_USE] = { "Mapping.Use", CAT_MAPPING, TIER_USER },
        [ACL_PRIV_MAPPING_MODIFY] = { "Mapping.Modify", CAT_MAPPING, TIER_ADMIN },
};

const char *acl_priv_to_string(AclPriv p)
{
        if (p < 0 || p >= _ACL_PRIV_MAX)
                return NULL;
        return privs[p].name;
}

AclPriv acl_priv_from_string(const char *s)
{
        for (AclPriv p = 0; s && p < _ACL_PRIV_MAX; p++)
                if (streq(privs[p].name, s))
                        return p;
        return _ACL_PRIV_INVALID;
}

static AclPrivSet privs_in(Category category, unsigned tiers)
{
        AclPrivSet s = 0;

        for (AclPriv p = 0; p < _ACL_PRIV_MAX; p++)
                if ((category == _CAT_MAX || privs[p].category == category) && (privs[p].tiers & tiers))
                        s |= ACL_PRIV_BIT(p);
        return s;
}

static const struct {
        const char *id;
        Category category; /* _CAT_MAX: every category */
        unsigned tiers;
        AclPrivSet extra; /* what no tier gives */
        AclPrivSet except;
} builtin[] = {
        { "Administrator", _CAT_MAX, 0, ACL_PRIV_ALL, 0 },
        { "NoAccess", _CAT_MAX, 0, 0, 0 },
        /* Proxmox keeps Mapping.Modify to Administrator and PVEMappingAdmin "for now". */
        { "PVEAdmin", _CAT_MAX, TIER_ADMIN | TIER_USER | TIER_AUDIT, 0, ACL_PRIV_BIT(ACL_PRIV_MAPPING_MODIFY) },
        { "PVEAuditor", _CAT_MAX, TIER_AUDIT, 0, 0 },
        { "PVETemplateUser", _CAT_MAX, 0, ACL_PRIV_BIT(ACL_PRIV_VM_CLONE) | ACL_PRIV_BIT(ACL_PRIV_VM_AUDIT),
                0 },
        { "PVEVMAdmin", CAT_VM, TIER_ADMIN | TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVEVMUser", CAT_VM, TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVESysAdmin", CAT_SYS, TIER_ADMIN | TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVEDatastoreAdmin", CAT_DATASTORE, TIER_ADMIN | TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVEDatastoreUser", CAT_DATASTORE, TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVESDNAdmin", CAT_SDN, TIER_ADMIN | TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVESDNUser", CAT_SDN, TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVEUserAdmin", CAT_USER, TIER_ADMIN | TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVEPoolAdmin", CAT_POOL, TIER_ADMIN | TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVEPoolUser", CAT_POOL, TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVEMappingAdmin", CAT_MAPPING, TIER_ADMIN | TIER_USER | TIER_AUDIT, 0, 0 },
        { "PVEMappingUser", CAT_MAPPING, TIER_USER | TIER_AUDIT, 0, 0 },
};

const char *acl_builtin_role(size_t i)
{
        return i < ELEMENTSOF(builtin) ? builtin[i].id : NULL;
}

bool acl_role_is_builtin(const char *id)
{
        for (size_t i = 0; i < ELEMENTSOF(builtin); i++)
                if (streq(builtin[i].id, id))
                        return true;
        return false;
}

int acl_role_privs(const AclConfig *c, const char *id, AclPrivSet *ret)
{
        for (size_t i = 0; i < ELEMENTSOF(builtin); i++)
                if (streq(builtin[i].id, id)) {
                        *ret = (privs_in(builtin[i].category, builtin[i].tiers) | builtin[i].extra) &
                                ~builtin[i].except;
                        return 0;
                }
        for (size_t i = 0; i < c->n_roles; i++)
                if (streq(c->roles[i].id, id)) {
                        *ret = c->roles[i].privs;
                        return 0;
                }
        return -ENOENT;
}

static bool group_has_member(const AclConfig *c, const char *member, const char *userid)
{
        if (member[0] != '@')
                return false;
        for (size_t i = 0; i < c->n_groups; i++)
                if (streq(c->groups[i].id, member + 1))
                        return strv_contains(c->groups[i].members, userid);
        return false;
}

/* Which level of path ("/" is 0, "/vms" 1, "/vms/100" 2) entry_path is; -1 when it is none. */
static int level_of(const char *entry_path, const char *path)
{
        const char *rest;
        int level = 0;

        if (streq(entry_path, "/"))
                return 0;
        rest = startswith(path, entry_path);
        if (!rest || (*rest != '\0' && *rest != '/'))
                return -1;
        for (const char *s = entry_path; *s; s++)
                level += *s == '/';
        return level;
}

/*
 * Proxmox's roles(), then the privileges of those roles: id is a userid, or a tokenid whose own entries
 * alone count. One pass over the entries sorts those that apply (on the path asked for, or propagating)
 * by level; then, from "/" down, a level's roles replace those above it.
 */
static AclPrivSet walk(const AclConfig *c, const char *id, bool token, const char *path)
{
        size_t n = 1;
        for (const char *s = path + 1; *s; s++)
                n += *s == '/';
        if (path[1])
                n++;
        _cleanup_free_ char ***own = new0(char **, n), ***groups = new0(char **, n);
        char **roles = NULL;
        AclPrivSet s = 0;

        for (size_t i = 0; i < c->n_entries; i++) {
                const AclEntry *e = c->entries + i;
                int level = level_of(e->path, path);

                if (level < 0 || !((size_t) level == n - 1 || e->propagate))
                        continue;
                if (streq(e->member, id))
                        strv_push(&own[level], e->role);
                else if (!token && group_has_member(c, e->member, id))
                        /* A token has no groups. */
                        strv_push(&groups[level], e->role);
        }
        /* The user's own entries on a level win over its groups'. */
        for (size_t level = 0; level < n; level++) {
                char **found = own[level] ?: groups[level];
                if (found)
                        roles = found;
        }
        if (!strv_contains(roles, "NoAccess"))
                STRV_FOREACH (role, roles) {
                        AclPrivSet p;

                        if (acl_role_privs(c, *role, &p) >= 0)
                                s |= p;
                }
        for (size_t level = 0; level < n; level++) {
                strv_free(own[level]);
                strv_free(groups[level]);
        }
        return s;
}

static bool user_active(const AclConfig *c, const char *userid, time_t now)
{
        for (size_t i = 0; i < c->n_users; i++)
                if (streq(c->users[i].id, userid))
                        return c->users[i].enable && (c->users[i].expire == 0 || c->users[i].expire >= now);
        return false;
}

int acl_permissions(const AclConfig *c, const char *auth_id, const char *path, time_t now, AclPrivSet *ret)
{
        _cleanup_free_ char *p = acl_path_normalize(path), *userid = NULL;
        bool is_token = acl_tokenid_is_valid(auth_id);
        const AclToken *token = NULL;
        AclPrivSet user_privs;

        if (!p || (!is_token && !acl_userid_is_valid(auth_id)))
                return -EINVAL;
        if (streq(auth_id, "root@pam")) {
                *ret = ACL_PRIV_ALL;
                return 0;
        }
        if (is_token) {
                userid = xstrndup(auth_id, strrchr(auth_id, '!') - auth_id);
                token = acl_find_token(c, auth_id);
        } else
                userid = xstrdup(auth_id);
        /* Proxmox refuses these at authentication, before any permission is looked at. */
        if (!user_active(c, userid, now) ||
                (is_token && (!token || (token->expire != 0 && token->expire < now)))) {
                *ret = 0;
                return 0;
        }
        user_privs = streq(userid, "root@pam") ? ACL_PRIV_ALL : walk(c, userid, false, p);
        *ret = token && token->privsep ? walk(c, auth_id, true, p) & user_privs : user_privs;
        return 0;
}

int acl_check(const AclConfig *c, const char *auth_id, const char *path, time_t now, AclPriv priv)
{
        AclPrivSet s;
        int r;

        r = acl_permissions(c, auth_id, path, now, &s);
        if (r < 0)
                return r;
        return acl_priv_set_has(s, priv);
}
