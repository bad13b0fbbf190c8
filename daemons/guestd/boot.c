/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include "alloc.h"
#include "berth-conf.h"
#include "boot.h"
#include "fileio.h"
#include "guest-batch.h"
#include "host-shutdown.h"
#include "log.h"
#include "paths.h"
#include "qemu.h"
#include "vmid.h"

/* The phases of a boot, in the batch's group numbers: each phase's groups come after the one before. */
#define GROUP_RESTORE 0
#define GROUP_ONBOOT 20000
#define GROUP_AUTOSTART_ONCE 40000
/* How long a start may take before the next step (there is none) or a busy guest is given up on. */
#define START_BUDGET_SEC 120U

struct Boot {
        Manager *manager;
        Task *task;
        GuestBatch *batch;
        size_t n_started, n_restored, n_failed;
};

/* Ascending startup order; guests without an order after every ordered one. */
static int order_group(const Guest *g)
{
        GuestStartup s;

        guest_config_get_startup(g->config, &s);
        return s.order < 0 ? 10000 : s.order;
}

static char *boot_id_path(void)
{
        return root_path("run/berth/guestd.boot-id");
}

/* Records the host's boot id; true when it was recorded already: guestd ran before in this boot. */
static bool boot_seen_before(void)
{
        _cleanup_free_ char *path = boot_id_path(), *now = NULL, *seen = NULL, *dir = NULL;
        int r;

        r = read_full_file("/proc/sys/kernel/random/boot_id", &now, NULL);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the boot id; taking this start for a boot: %m");
                now = xstrdup("unknown\n");
        }
        if (read_full_file(path, &seen, NULL) >= 0 && streq(seen, now))
                return true;
        dir = root_path("run/berth");
        r = mkdir_p(dir, 0755);
        if (r >= 0)
                r = write_string_file_atomic(path, now, 0644);
        if (r < 0)
                log_warning_errno(r, "Failed to record the boot in %s, ignoring: %m", path);
        return false;
}

static char *preserved_key(const Manager *m, uint32_t vmid)
{
        _cleanup_free_ char *prefix = preserved_prefix(m);
        return xasprintf("%s%u", prefix, vmid);
}

static void boot_add(Boot *b, Guest *g, const char *name, int group, unsigned delay_after)
{
        GuestBatchItem it = {
                .vmid = g->vmid,
                .group = group,
                .delay_after = delay_after,
                .n_steps = 1,
        };

        it.steps[0] = (GuestBatchStep){
                .name = name,
                .action = GUEST_ACTION_START,
                .opts = { .force_stop = true, .user = xstrdup("root@pam") },
                .budget = START_BUDGET_SEC,
        };
        guest_batch_add(b->batch, &it);
}

static bool boot_has(const Boot *b, uint32_t vmid)
{
        for (size_t i = 0; i < b->batch->n_items; i++)
                if (b->batch->items[i].vmid == vmid)
                        return true;
        return false;
}

/* The guests a preserve saved; marks of guests that are no longer saved go. */
static void boot_add_restores(Boot *b)
{
        Manager *m = b->manager;
        _cleanup_free_ char *prefix = preserved_prefix(m);
        StoreEntry *entries = NULL;
        size_t n = 0;
        int r;

        r = store_list(m->store, prefix, &entries, &n);
        if (r < 0) {
                log_error_errno(r, "Failed to list the guests to restore: %m");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                uint32_t vmid;
                Guest *g;

                if (vmid_parse(entries[i].key + strlen(prefix), &vmid) < 0)
                        continue;
                g = manager_find_guest(m, vmid);
                if (!g || g->state != GUEST_SUSPENDED) {
                        log_info("Guest %u was saved by a preserve but is no longer suspended: nothing to "
                                 "restore.",
                                vmid);
                        (void) store_delete(m->store, entries[i].key, STORE_REVISION_ANY);
                        continue;
                }
                boot_add(b, g, "restore", GROUP_RESTORE + order_group(g), 0);
        }
        store_entries_free(entries, n);
}

static void boot_add_starts(Boot *b)
{
        Manager *m = b->manager;

        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                GuestStartup s;

                if (!guest_config_get_bool(g->config, "onboot", false) || boot_has(b, g->vmid))
                        continue;
                guest_config_get_startup(g->config, &s);
                boot_add(b, g, "start", GROUP_ONBOOT + order_group(g), s.up);
        }
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                int r;

                if (!guest_config_get_bool(g->config, "autostart-once", false))
                        continue;
                /* Cleared before the start: whatever happens next, it is not started again at the next boot. */
                (void) guest_config_set(g->config, "autostart-once", NULL, NULL);
                r = guest_save_config(g);
                if (r < 0) {
                        log_error_errno(
                                r, "Guest %u: failed to clear autostart-once, not starting it: %m", g->vmid);
                        continue;
                }
                if (!boot_has(b, g->vmid))
                        boot_add(b, g, "start once", GROUP_AUTOSTART_ONCE, 0);
        }
}

static void on_item_done(GuestBatch *batch, GuestBatchItem *it, void *userdata)
{
        Boot *b = userdata;
        bool restore = streq(it->steps[0].name, "restore");

        if (it->outcome == GUEST_BATCH_DONE || it->outcome == GUEST_BATCH_NOTHING) {
                if (restore) {
                        _cleanup_free_ char *key = preserved_key(b->manager, it->vmid);
                        (void) store_delete(b->manager->store, key, STORE_REVISION_ANY);
                }
                if (it->outcome == GUEST_BATCH_DONE)
                        (*(restore ? &b->n_restored : &b->n_started))++;
                return;
        }
        b->n_failed++;
        /* A restore that failed keeps its mark and its state: the next boot tries again. */
        log_error("Guest %u: %s at boot failed%s", it->vmid, it->steps[0].name,
                restore ? "; it stays suspended" : "");
}

static void on_finished(GuestBatch *batch, void *userdata)
{
        Boot *b = userdata;
        _cleanup_free_ char *summary = xasprintf(
                "%zu restored, %zu started, %zu failed", b->n_restored, b->n_started, b->n_failed);

        log_info("Boot starts done: %s.", summary);
        task_finish(b->task,
                batch->cancelled      ? TASK_CANCELLED
                        : b->n_failed ? TASK_ERROR
                                      : TASK_OK,
                "%s", summary);
        b->manager->boot = boot_free(b);
}

static const GuestBatchCallbacks boot_callbacks = {
        .item_done = on_item_done,
        .finished = on_finished,
};

void boot_schedule(Manager *m)
{
        _cleanup_free_ char *error = NULL;
        BerthConf conf;
        Boot *b;
        int r;

        if (boot_seen_before()) {
                log_info("guestd restarted within this boot: guests are left as they are.");
                return;
        }
        if (berth_conf_load(&conf, &error) < 0) {
                log_warning("Invalid berth.conf (%s), using the defaults.", strempty(error));
                berth_conf_defaults(&conf);
        }
        b = new0(Boot, 1);
        b->manager = m;
        /* The batch writes to the task only once started: the task exists only when there is work. */
        b->batch = guest_batch_new(m, NULL, berth_conf_parallel(&conf), &boot_callbacks, b);
        boot_add_restores(b);
        boot_add_starts(b);
        log_info("The host booted: %zu guests to restore or start.", b->batch->n_items);
        if (b->batch->n_items == 0) {
                guest_batch_free(b->batch);
                free(b);
                return;
        }
        r = task_new(m->tasks, "startall", "", "root@pam", &b->task);
        if (r < 0) {
                log_error_errno(r, "Failed to create the boot task; no guest is started: %m");
                guest_batch_free(b->batch);
                free(b);
                return;
        }
        b->batch->log = b->task;
        task_log(b->task, "Host boot: %zu guests to restore or start, %u at a time", b->batch->n_items,
                b->batch->parallel);
        m->boot = b;
        guest_batch_start(b->batch);
}

void boot_cancel(Boot *b)
{
        if (b)
                guest_batch_cancel(b->batch);
}

Boot *boot_free(Boot *b)
{
        if (!b)
                return NULL;
        if (task_get_state(b->task) == TASK_RUNNING)
                task_finish(b->task, TASK_ERROR, "guestd stopped before the boot starts were done");
        guest_batch_free(b->batch);
        free(b);
        return NULL;
}
