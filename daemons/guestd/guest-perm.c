/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "access.h"
#include "alloc.h"
#include "guest-perm.h"
#include "storage.h"

#define P(p) ACL_PRIV_BIT(ACL_PRIV_##p)

typedef struct KeyPerm {
        const char *name;
        bool indexed; /* name<N> */
        AclPrivSet privs; /* on /vms/<vmid>, all of them; 0: root@pam only */
} KeyPerm;

static const KeyPerm key_perms[] = {
        { "accel", false, P(VM_CONFIG_HWTYPE) },
        { "append", false, 0 },
        { "autostart-once", false, P(VM_CONFIG_OPTIONS) },
        { "cores", false, P(VM_CONFIG_CPU) },
        { "cpu", false, P(VM_CONFIG_CPU) },
        { "disk", true, P(VM_CONFIG_DISK) },
        { "hookscript", false, 0 },
        { "initrd", false, 0 },
        { "kernel", false, 0 },
        { "lock", false, 0 },
        { "machine", false, P(VM_CONFIG_HWTYPE) },
        { "memory", false, P(VM_CONFIG_MEMORY) },
        { "name", false, P(VM_CONFIG_OPTIONS) },
        { "net", true, P(VM_CONFIG_NETWORK) },
        { "onboot", false, P(VM_CONFIG_OPTIONS) },
        { "shutdown-policy", false, P(VM_CONFIG_OPTIONS) },
        { "sockets", false, P(VM_CONFIG_CPU) },
        { "startup", false, P(VM_CONFIG_OPTIONS) },
        { "tags", false, P(VM_CONFIG_OPTIONS) },
        { "vmstate", false, P(VM_CONFIG_DISK) | P(VM_POWER_MGMT) },
};

static const KeyPerm *key_perm_find(const char *key)
{
        for (size_t i = 0; i < ELEMENTSOF(key_perms); i++) {
                const char *rest = startswith(key, key_perms[i].name);
                if (!rest)
                        continue;
                if (key_perms[i].indexed ? *rest && strspn(rest, "0123456789") == strlen(rest) : !*rest)
                        return &key_perms[i];
        }
        return NULL;
}

static int require_all(Manager *m, const char *auth_id, const char *path, AclPrivSet privs, sd_bus_error *error)
{
        for (AclPriv p = 0; p < _ACL_PRIV_MAX; p++) {
                if (!acl_priv_set_has(privs, p))
                        continue;
                int r = access_require(m->access, auth_id, path, p, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Whether c has a disk on the volume storage:volume. */
static bool config_has_volume(const GuestConfig *c, const char *storage, const char *volume)
{
        GuestDisk *disks = NULL;
        size_t n = 0;
        bool found = false;

        if (c && guest_config_get_disks(c, &disks, &n) >= 0)
                for (size_t i = 0; i < n && !found; i++)
                        found = streq(disks[i].storage, storage) && streq(disks[i].volume, volume);
        guest_disks_free(disks, n);
        return found;
}

/* What using the volume volid (on storage) asks beyond the key's own privilege. */
static int check_volume(Manager *m, const char *auth_id, uint32_t vmid, const GuestConfig *old,
        const char *volid, sd_bus_error *error)
{
        const char *colon = strchr(volid, ':');
        _cleanup_free_ char *storage = xstrndup(volid, colon - volid);
        _cleanup_free_ char *path = xasprintf("/storage/%s", storage);
        uint32_t owner;

        if (storage_volume_owner(m->storage, volid, &owner) < 0 || owner != vmid)
                return access_require(m->access, auth_id, path, ACL_PRIV_DATASTORE_ALLOCATE, error);
        if (config_has_volume(old, storage, colon + 1))
                return 0;
        return access_require(m->access, auth_id, path, ACL_PRIV_DATASTORE_ALLOCATE_SPACE, error);
}

/* The volume ID a disk<N> or vmstate value names. */
static char *key_volume(const GuestConfig *c, const char *key)
{
        const char *value = guest_config_get(c, key);

        if (!value)
                return NULL;
        return xstrndup(value, strcspn(value, ","));
}

static int check_key(Manager *m, const char *auth_id, uint32_t vmid, const GuestConfig *old,
        const GuestConfig *new, const char *key, sd_bus_error *error)
{
        _cleanup_free_ char *vm_path = xasprintf("/vms/%u", vmid), *what = NULL, *volid = NULL;
        const KeyPerm *k = key_perm_find(key);
        int r;

        if (!k || k->privs == 0) {
                what = xasprintf("set '%s'", key);
                return access_require_root(auth_id, what, error);
        }
        r = require_all(m, auth_id, vm_path, k->privs, error);
        if (r < 0)
                return r;
        if (streq(key, "startup"))
                return access_require(m->access, auth_id, "/", ACL_PRIV_SYS_MODIFY, error);
        if (streq(k->name, "disk") || streq(key, "vmstate")) {
                volid = key_volume(new, key);
                if (volid)
                        return check_volume(m, auth_id, vmid, old, volid, error);
        }
        return 0;
}

int guest_perm_check_config(Manager *m, const char *auth_id, uint32_t vmid, const GuestConfig *old,
        const GuestConfig *new, sd_bus_error *error)
{
        _cleanup_free_ char *vm_path = xasprintf("/vms/%u", vmid);
        int r;

        if (access_is_root(auth_id))
                return 0;
        if (!streq_ptr(old ? old->description : NULL, new->description)) {
                r = access_require(m->access, auth_id, vm_path, ACL_PRIV_VM_CONFIG_OPTIONS, error);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < new->n_entries; i++) {
                const GuestConfigEntry *e = &new->entries[i];
                if (old && streq_ptr(guest_config_get(old, e->key), e->value))
                        continue;
                r = check_key(m, auth_id, vmid, old, new, e->key, error);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; old && i < old->n_entries; i++) {
                if (guest_config_get(new, old->entries[i].key))
                        continue;
                r = check_key(m, auth_id, vmid, old, new, old->entries[i].key, error);
                if (r < 0)
                        return r;
        }
        return 0;
}
