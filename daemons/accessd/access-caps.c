/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "accessd.h"
#include "alloc.h"

static const char *const cap_part_table[_ACCESS_CAP_PART_MAX] = {
        [ACCESS_CAP_VMS] = "vms",
        [ACCESS_CAP_STORAGE] = "storage",
        [ACCESS_CAP_ACCESS] = "access",
        [ACCESS_CAP_NODES] = "nodes",
        [ACCESS_CAP_DC] = "dc",
};

const char *access_cap_part_to_string(AccessCapPart p)
{
        return p >= 0 && p < _ACCESS_CAP_PART_MAX ? cap_part_table[p] : NULL;
}

/* The paths Proxmox's compute_api_permission() always looks at, and those GetPermissions adds. */
static const char *const fixed_paths[] = { "/", "/access", "/access/groups", "/nodes", "/storage", "/vms" };

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

char **access_permission_paths(const AclConfig *c)
{
        char **paths = NULL;

        for (size_t i = 0; i < ELEMENTSOF(fixed_paths); i++)
                strv_push(&paths, fixed_paths[i]);
        for (size_t i = 0; i < c->n_entries; i++)
                if (!strv_contains(paths, c->entries[i].path))
                        strv_push(&paths, c->entries[i].path);
        qsort(paths, strv_length(paths), sizeof *paths, compare_strings);
        return paths;
}

/* Whether priv counts for part, as Proxmox's priv_re_map has it. */
static bool part_takes(AccessCapPart part, AclPriv priv)
{
        const char *name = acl_priv_to_string(priv);

        if (priv == ACL_PRIV_PERMISSIONS_MODIFY)
                return part != ACCESS_CAP_DC;
        switch (part) {
        case ACCESS_CAP_VMS:
                return startswith(name, "VM.");
        case ACCESS_CAP_STORAGE:
                return startswith(name, "Datastore.");
        case ACCESS_CAP_ACCESS:
                return startswith(name, "User.") || startswith(name, "Group.");
        case ACCESS_CAP_NODES:
                return startswith(name, "Sys.");
        case ACCESS_CAP_DC:
                return priv == ACL_PRIV_SYS_AUDIT || priv == ACL_PRIV_SYS_MODIFY || startswith(name, "SDN.");
        default:
                return false;
        }
}

static int part_of_path(const char *path)
{
        static const struct {
                const char *prefix;
                AccessCapPart part;
        } parts[] = {
                { "/vms", ACCESS_CAP_VMS },
                { "/storage", ACCESS_CAP_STORAGE },
                { "/access", ACCESS_CAP_ACCESS },
                { "/nodes", ACCESS_CAP_NODES },
        };

        if (streq(path, "/"))
                return ACCESS_CAP_DC;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                const char *rest = startswith(path, parts[i].prefix);
                if (rest && (*rest == '\0' || *rest == '/'))
                        return parts[i].part;
        }
        return -ENOENT;
}

void access_capabilities(
        const AclConfig *c, const char *auth_id, time_t now, AclPrivSet ret[_ACCESS_CAP_PART_MAX])
{
        _cleanup_strv_free_ char **paths = access_permission_paths(c);

        for (size_t i = 0; i < _ACCESS_CAP_PART_MAX; i++)
                ret[i] = 0;
        STRV_FOREACH (path, paths) {
                int part = part_of_path(*path);
                AclPrivSet privs;

                if (part < 0 || acl_permissions(c, auth_id, *path, now, &privs) < 0)
                        continue;
                for (AclPriv p = 0; p < _ACL_PRIV_MAX; p++)
                        if (acl_priv_set_has(privs, p) && part_takes(part, p))
                                ret[part] |= ACL_PRIV_BIT(p);
        }
}
