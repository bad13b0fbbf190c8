/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "alloc.h"
#include "boot.h"
#include "cleanupd-client.h"
#include "guest-status.h"
#include "guestd.h"
#include "host-shutdown.h"
#include "log.h"
#include "qemu.h"
#include "vmid.h"

static const char *const guest_state_table[_GUEST_STATE_MAX] = {
        [GUEST_STOPPED] = "stopped",
        [GUEST_RUNNING] = "running",
        [GUEST_PAUSED] = "paused",
        [GUEST_SUSPENDED] = "suspended",
};
DEFINE_STRING_TABLE_LOOKUP(guest_state, GuestState);

void guest_options_done(GuestOptions *o)
{
        free(o->statestorage);
        free(o->user);
        *o = (GuestOptions){};
}

static char *config_key(Manager *m, uint32_t vmid)
{
        return xasprintf("nodes/%s/qemu/%u.conf", m->node, vmid);
}

static char *index_key(uint32_t vmid)
{
        return xasprintf("guests/%u", vmid);
}

static void guest_free(Guest *g)
{
        if (!g)
                return;
        qemu_detach(g);
        guest_config_free(g->config);
        free(g->config_text);
        free(g->path);
        free(g->run_id);
        free(g->exit_run_id);
        free(g->exit_reason);
        free(g->clean_result);
        free(g->status_written);
        free(g);
}

/* Replaces the guest's config with already validated text. */
static void guest_take_config(Guest *g, char *text, GuestConfig *c, uint64_t revision)
{
        free(g->config_text);
        guest_config_free(g->config);
        g->config_text = text;
        g->config = c;
        g->revision = revision;
        guest_config_digest(text, g->digest);
}

static Guest *guest_new(Manager *m, uint32_t vmid, char *text, GuestConfig *c, uint64_t revision)
{
        Guest *g = new0(Guest, 1);

        g->manager = m;
        g->vmid = vmid;
        g->pidfd = -1;
        /* A vmid is all digits, which D-Bus allows in a path element as is: no escaping needed. */
        g->path = xasprintf("/org/berth/guest1/guest/%u", vmid);
        guest_take_config(g, text, c, revision);
        g->state = streq_ptr(guest_config_get(c, "lock"), "suspended") ? GUEST_SUSPENDED : GUEST_STOPPED;
        return g;
}

static int guest_compare(const void *a, const void *b)
{
        uint32_t x = (*(Guest *const *) a)->vmid, y = (*(Guest *const *) b)->vmid;
        return x < y ? -1 : x > y;
}

Guest *manager_find_guest(Manager *m, uint32_t vmid)
{
        Guest key = { .vmid = vmid }, *k = &key, **found;

        /* bsearch() may not be handed a NULL array, even an empty one. */
        if (m->n_guests == 0)
                return NULL;
        found = bsearch(&k, m->guests, m->n_guests, sizeof(Guest *), guest_compare);
        return found ? *found : NULL;
}

static void manager_insert_guest(Manager *m, Guest *g)
{
        size_t i = 0;

        while (i < m->n_guests && m->guests[i]->vmid < g->vmid)
                i++;
        m->guests = xrealloc(m->guests, (m->n_guests + 1) * sizeof(Guest *));
        memmove(m->guests + i + 1, m->guests + i, (m->n_guests - i) * sizeof(Guest *));
        m->guests[i] = g;
        m->n_guests++;
}

static void manager_remove_guest(Manager *m, Guest *g)
{
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i] == g) {
                        memmove(m->guests + i, m->guests + i + 1, (m->n_guests - i - 1) * sizeof(Guest *));
                        m->n_guests--;
                        return;
                }
}

static int manager_load_storage(Manager *m)
{
        _cleanup_free_ char *text = NULL, *error = NULL;
        StorageConfig *c;
        int r;

        r = store_get(m->store, "storage.cfg", &text, NULL, NULL);
        if (r == -ENOENT)
                c = storage_config_default();
        else if (r < 0)
                return log_error_errno(r, "Failed to read storage.cfg: %m");
        else if (storage_config_parse(text, &c, &error) < 0)
                return log_error_errno(EBADMSG, "Invalid storage.cfg: %s", error);
        storage_config_free(m->storage);
        m->storage = c;
        return 0;
}

/* Reads one guest config from the store and adds or updates its guest. */
static int manager_load_guest(Manager *m, uint32_t vmid)
{
        _cleanup_free_ char *key = config_key(m, vmid), *text = NULL, *error = NULL;
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        uint64_t revision;
        Guest *g;
        int r;

        r = store_get(m->store, key, &text, NULL, &revision);
        if (r < 0)
                return r;
        g = manager_find_guest(m, vmid);
        if (g && g->revision == revision)
                return 0;
        r = guest_config_parse(text, &c, &error);
        if (r < 0)
                return log_error_errno(r, "Ignoring invalid config of guest %u: %s", vmid, error);
        if (g) {
                guest_take_config(g, TAKE_PTR(text), TAKE_PTR(c), revision);
                guest_bus_emit_changed(
                        g, "Name", "Lock", "Config", "Digest", "Tags", "OnBoot", "StartupOrder", NULL);
                return 0;
        }
        manager_insert_guest(m, guest_new(m, vmid, TAKE_PTR(text), TAKE_PTR(c), revision));
        return 1;
}

static int parse_config_key(Manager *m, const char *key, uint32_t *ret)
{
        _cleanup_free_ char *prefix = xasprintf("nodes/%s/qemu/", m->node);
        const char *name = startswith(key, prefix);
        _cleanup_free_ char *number = NULL;

        if (!name || !endswith(name, ".conf"))
                return -EINVAL;
        number = xstrndup(name, strlen(name) - strlen(".conf"));
        return vmid_parse(number, ret);
}

static void on_config_changed(Store *s, StoreEventType type, const char *key, uint64_t revision, void *userdata)
{
        Manager *m = userdata;
        uint32_t vmid;
        Guest *g;

        if (parse_config_key(m, key, &vmid) < 0)
                return;
        g = manager_find_guest(m, vmid);
        if (type == STORE_EVENT_DELETE) {
                /*
                 * A running or busy guest keeps its object and last config; once stopped, it is gone at the
                 * daemon's next start, which reads only what the store holds.
                 */
                if (!g || g->state != GUEST_STOPPED || g->op)
                        return;
                log_info("Config of guest %u was removed from the store.", vmid);
                guest_bus_emit_removed(g);
                manager_remove_guest(m, g);
                guest_free(g);
                manager_prune_statuses(m);
                return;
        }
        if (manager_load_guest(m, vmid) > 0) {
                log_info("Guest %u was added to the store.", vmid);
                g = manager_find_guest(m, vmid);
                guest_bus_emit_added(g);
                guest_publish_status(g);
        }
}

int manager_new(struct event_base *base, sd_bus *bus, Store *store, const char *node, Manager **ret)
{
        _cleanup_(manager_freep) Manager *m = new0(Manager, 1);
        int r;

        m->base = base;
        m->bus = sd_bus_ref(bus);
        m->store = store;
        m->node = xstrdup(node);
        m->default_accel = xstrdup(qemu_host_default_accel());
        r = task_manager_new(bus, node, "guestd", "/org/berth/guest1", &m->tasks);
        if (r >= 0)
                /* The cluster's task index: other nodes answer for these tasks too. */
                r = task_manager_set_store(m->tasks, store, base);
        if (r < 0)
                return log_error_errno(r, "Failed to set up tasks: %m");
        r = manager_load_storage(m);
        if (r < 0)
                return r;
        r = access_new(store, &m->access);
        if (r < 0)
                return log_error_errno(r, "Failed to read the access config: %m");
        r = manager_bus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register bus objects: %m");
        r = cleanupd_subscribe(m);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to cleanupd's signals: %m");
        r = host_shutdown_new(m, &m->host_shutdown);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for host shutdown: %m");
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        /* Before the guests: they end the tasks these wait for. */
        m->boot = boot_free(m->boot);
        m->host_shutdown = host_shutdown_free(m->host_shutdown);
        store_watch_free(m->config_watch);
        if (m->status_retry)
                event_free(m->status_retry);
        for (size_t i = 0; i < m->n_guests; i++)
                guest_free(m->guests[i]);
        free(m->guests);
        sd_bus_slot_unref(m->manager_slot);
        sd_bus_slot_unref(m->guest_slot);
        sd_bus_slot_unref(m->enumerator_slot);
        sd_bus_slot_unref(m->object_manager_slot);
        sd_bus_slot_unref(m->cleanupd_slot);
        task_manager_free(m->tasks);
        access_free(m->access);
        sd_bus_message_unref(m->caller_msg);
        free(m->caller);
        storage_config_free(m->storage);
        sd_bus_unref(m->bus);
        free(m->node);
        free(m->default_accel);
        free(m);
        return NULL;
}

int manager_load(Manager *m)
{
        _cleanup_free_ char *prefix = xasprintf("nodes/%s/qemu/", m->node);
        StoreEntry *entries = NULL;
        size_t n = 0;
        int r;

        r = store_watch(m->store, prefix, on_config_changed, m, &m->config_watch);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", prefix);
        r = store_list(m->store, prefix, &entries, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s: %m", prefix);
        for (size_t i = 0; i < n; i++) {
                uint32_t vmid;
                if (parse_config_key(m, entries[i].key, &vmid) < 0) {
                        log_warning("Ignoring unexpected store key %s.", entries[i].key);
                        continue;
                }
                (void) manager_load_guest(m, vmid);
        }
        store_entries_free(entries, n);

        for (size_t i = 0; i < m->n_guests; i++)
                qemu_reattach(m->guests[i]);
        log_info("Loaded %zu guests.", m->n_guests);
        manager_publish_statuses(m);
        host_shutdown_guests_changed(m->host_shutdown);
        boot_schedule(m);
        return 0;
}

/*
 * The node the index names for a vmid that is taken, when that is another node. A name that could not be a
 * node's (it is a component of store keys) names none: it is not fit for an error message.
 */
static char *manager_vmid_owner(Manager *m, uint32_t vmid)
{
        _cleanup_free_ char *index = index_key(vmid), *owner = NULL;
        size_t n;
        int r;

        r = store_get(m->store, index, &owner, &n, NULL);
        if (r < 0) {
                log_debug_errno(r, "Cannot read %s: %m", index);
                return NULL;
        }
        /* Written by hand, the value may well end in a newline. */
        while (n > 0 && owner[n - 1] == '\n')
                owner[--n] = 0;
        if (!store_key_is_valid(owner) || strchr(owner, '/') || streq(owner, m->node))
                return NULL;
        return TAKE_PTR(owner);
}

int manager_create_guest(
        Manager *m, uint32_t vmid, const char *config, char **ret_error, char **ret_owner, Guest **ret)
{
        _cleanup_free_ char *key = config_key(m, vmid), *index = index_key(vmid);
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        uint64_t revision;
        Guest *g;
        int r;

        if (!vmid_is_valid(vmid))
                return -ERANGE;
        if (manager_find_guest(m, vmid))
                return -EEXIST;
        r = guest_config_parse(config, &c, ret_error);
        if (r < 0)
                return r;
        /*
         * The cluster-wide index entry is the claim on the vmid, the config the guest: both or neither, so
         * no crash or racing node can leave a claim without a guest, or a guest without its claim.
         */
        const StoreCompare compares[] = { { .key = index, .revision = 0 }, { .key = key, .revision = 0 } };
        const StoreTxnOp ops[] = {
                { .type = STORE_TXN_PUT, .key = index, .value = m->node, .size = strlen(m->node) },
                { .type = STORE_TXN_PUT, .key = key, .value = config, .size = strlen(config) },
        };
        r = store_txn(m->store, compares, ELEMENTSOF(compares), ops, ELEMENTSOF(ops), &revision);
        if (r == -ESTALE) {
                *ret_owner = manager_vmid_owner(m, vmid);
                return -EEXIST;
        }
        if (r < 0)
                return r;
        g = guest_new(m, vmid, xstrdup(config), TAKE_PTR(c), revision);
        manager_insert_guest(m, g);
        guest_bus_emit_added(g);
        guest_publish_status(g);
        log_info("Created guest %u.", vmid);
        *ret = g;
        return 0;
}

/* Removes the volumes a guest owns: those named "<vmid>/..." on a storage. */
static void guest_free_owned_volumes(Guest *g)
{
        _cleanup_free_ char *prefix = xasprintf("%u/", g->vmid);
        GuestDisk *disks = NULL;
        size_t n = 0;
        const char *vmstate = guest_config_get(g->config, "vmstate");

        if (guest_config_get_disks(g->config, &disks, &n) >= 0)
                for (size_t i = 0; i < n; i++) {
                        if (!startswith(disks[i].volume, prefix))
                                continue;
                        _cleanup_free_ char *volid = xasprintf("%s:%s", disks[i].storage, disks[i].volume);
                        int r = storage_volume_free(g->manager->storage, volid);
                        if (r < 0 && r != -ENOENT)
                                log_warning_errno(r, "Failed to remove volume %s of guest %u, ignoring: %m",
                                        volid, g->vmid);
                }
        guest_disks_free(disks, n);
        if (vmstate)
                (void) storage_volume_free(g->manager->storage, vmstate);
}

int manager_destroy_guest(Manager *m, uint32_t vmid)
{
        _cleanup_free_ char *key = config_key(m, vmid), *index = index_key(vmid),
                            *status = qemu_status_key(m, vmid);
        Guest *g = manager_find_guest(m, vmid);
        int r;

        if (!g)
                return -ENOENT;
        if (g->op)
                return -EBUSY;
        if (g->state == GUEST_RUNNING || g->state == GUEST_PAUSED)
                return -EALREADY;
        if (guest_config_get(g->config, "lock"))
                return -ENOLCK;
        /* On the config's revision: a config changed since was not seen by whoever destroys the guest. */
        const StoreCompare compare = { .key = key, .revision = g->revision };
        const StoreTxnOp ops[] = {
                { .type = STORE_TXN_DELETE, .key = key },
                { .type = STORE_TXN_DELETE, .key = index },
                { .type = STORE_TXN_DELETE, .key = status },
        };
        r = store_txn(m->store, &compare, 1, ops, ELEMENTSOF(ops), NULL);
        if (r < 0)
                return r;
        guest_free_owned_volumes(g);
        guest_bus_emit_removed(g);
        manager_remove_guest(m, g);
        guest_free(g);
        log_info("Destroyed guest %u.", vmid);
        return 0;
}

int guest_set_config(Guest *g, const char *config, const char *digest, char **ret_error)
{
        _cleanup_free_ char *key = config_key(g->manager, g->vmid);
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        uint64_t revision;
        int r;

        if (!isempty(digest) && !streq(digest, g->digest))
                return -ESTALE;
        if (g->op)
                return -EBUSY;
        r = guest_config_parse(config, &c, ret_error);
        if (r < 0)
                return r;
        r = store_put(g->manager->store, key, config, strlen(config), g->revision, &revision);
        if (r < 0)
                return r;
        guest_take_config(g, xstrdup(config), TAKE_PTR(c), revision);
        guest_bus_emit_changed(g, "Name", "Lock", "Config", "Digest", "Tags", "OnBoot", "StartupOrder", NULL);
        return 0;
}

/* Writes a changed config back to the store, e.g. to set or clear a lock. */
int guest_save_config(Guest *g)
{
        _cleanup_free_ char *key = config_key(g->manager, g->vmid);
        char *text = guest_config_format(g->config);
        uint64_t revision;
        int r;

        r = store_put(g->manager->store, key, text, strlen(text), g->revision, &revision);
        if (r < 0) {
                free(text);
                return r;
        }
        free(g->config_text);
        g->config_text = text;
        g->revision = revision;
        guest_config_digest(text, g->digest);
        guest_bus_emit_changed(g, "Lock", "Config", "Digest", NULL);
        return 0;
}
