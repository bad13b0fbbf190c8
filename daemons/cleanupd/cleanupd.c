/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanupd.h"
#include "fileio.h"
#include "guest-config.h"
#include "log.h"
#include "paths.h"
#include "spawn.h"
#include "storage.h"
#include "vmid.h"

static int pidfd_open_checked(pid_t pid)
{
        int fd = pidfd_open(pid, 0);
        return fd < 0 ? -errno : fd;
}

static void guest_unwatch(Guest *g)
{
        if (g->pid_event) {
                event_free(g->pid_event);
                g->pid_event = NULL;
        }
        if (g->pidfd >= 0) {
                close(g->pidfd);
                g->pidfd = -1;
        }
}

static void clean_wait_free(CleanWait *w)
{
        if (!w)
                return;
        if (w->timer)
                event_free(w->timer);
        free(w);
}

static void guest_complete_waits(Guest *g, int error)
{
        /* Handlers may not add waits of their own, but take the list first anyway. */
        CleanWait **waits = g->waits;
        size_t n = g->n_waits;

        g->waits = NULL;
        g->n_waits = 0;
        for (size_t i = 0; i < n; i++) {
                waits[i]->handler(g, error, waits[i]->userdata);
                clean_wait_free(waits[i]);
        }
        free(waits);
}

static Guest *guest_free(Guest *g)
{
        if (!g)
                return NULL;
        guest_unwatch(g);
        hook_free(g->hook);
        /* Whoever waits gets an answer rather than a dropped call. */
        guest_complete_waits(g, -ECANCELED);
        run_free(g->run);
        free(g);
        return NULL;
}

Guest *manager_find_guest(Manager *m, uint32_t vmid)
{
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i]->vmid == vmid)
                        return m->guests[i];
        return NULL;
}

static Guest *manager_get_guest(Manager *m, uint32_t vmid)
{
        Guest *g = manager_find_guest(m, vmid);

        if (g)
                return g;
        g = new0(Guest, 1);
        *g = (Guest){ .manager = m, .vmid = vmid, .pidfd = -1 };
        m->guests = xrealloc(m->guests, (m->n_guests + 1) * sizeof *m->guests);
        m->guests[m->n_guests++] = g;
        return g;
}

int manager_new(struct event_base *base, sd_bus *bus, Store *store, const char *node, Manager **ret)
{
        Manager *m = new0(Manager, 1);

        *m = (Manager){
                .base = base,
                .bus = sd_bus_ref(bus),
                .store = store,
                .node = xstrdup(node),
                .events_fd = -1,
        };
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        manager_close_events(m);
        for (size_t i = 0; i < m->n_guests; i++)
                guest_free(m->guests[i]);
        free(m->guests);
        sd_bus_slot_unref(m->manager_slot);
        sd_bus_unref(m->bus);
        free(m->node);
        free(m);
        return NULL;
}

static void guest_finish_cleanup(Guest *g, const char *result)
{
        Manager *m = g->manager;
        int r;

        r = run_finish(g->run, result);
        if (r < 0)
                log_error_errno(r, "Guest %u: failed to finish run %s: %m", g->vmid, g->run->run_id);
        r = ledger_save(g->run);
        if (r < 0)
                log_error_errno(r, "Guest %u: failed to save the ledger of run %s, ignoring: %m", g->vmid,
                        g->run->run_id);
        log_info("Guest %u: run %s is clean (%s).", g->vmid, g->run->run_id, result);
        manager_emit_cleanup_finished(m, g->run);
        if (g->run->reboot) {
                log_info("Guest %u: reboot requested, asking guestd to start it again.", g->vmid);
                manager_request_start(m, g->vmid);
        }
        guest_complete_waits(g, 0);
}

static void on_hook_done(Hook *h, int status, bool timed_out, void *userdata)
{
        Guest *g = userdata;
        const char *result = "ok";

        if (timed_out) {
                log_error("Guest %u: post-stop hook still running after %us, killed.", g->vmid,
                        g->manager->hook_timeout_sec);
                result = "hook-timeout";
        } else if (status != 0) {
                if (status < 0)
                        log_error_errno(status, "Guest %u: failed to reap the post-stop hook: %m", g->vmid);
                else
                        log_warning("Guest %u: post-stop hook failed with status %d, ignoring.", g->vmid,
                                status);
                result = "hook-failed";
        } else
                log_info("Guest %u: post-stop hook finished.", g->vmid);
        g->hook = hook_free(g->hook);
        guest_finish_cleanup(g, result);
}

/* Starts the hook; 1 when it runs (cleanup continues in on_hook_done), 0 when there is none to run. */
static int guest_start_hook(Guest *g, const char *script)
{
        Run *run = g->run;
        _cleanup_free_ char *env_run = xasprintf("BERTH_RUN_ID=%s", run->run_id);
        _cleanup_free_ char *env_reason = xasprintf("BERTH_STOP_REASON=%s", strempty(run->reason));
        char *env[] = { env_run, env_reason, NULL };
        _cleanup_free_ char *log = hook_log_path(g->vmid);
        HookOptions o = { .env = env, .log_path = log, .timeout_sec = g->manager->hook_timeout_sec };
        int r;

        r = hook_start(g->manager->base, script, g->vmid, "post-stop", &o, on_hook_done, g, &g->hook);
        if (r < 0)
                return log_error_errno(r, "Guest %u: failed to run post-stop hook %s: %m", g->vmid, script);
        log_info("Guest %u: running post-stop hook %s (pid %d).", g->vmid, script,
                (int) hook_get_pid(g->hook));
        return 1;
}

static GuestConfig *guest_load_config(Guest *g)
{
        _cleanup_free_ char *key = xasprintf("nodes/%s/qemu/%u.conf", g->manager->node, g->vmid);
        _cleanup_free_ char *text = NULL, *error = NULL;
        GuestConfig *c;
        int r;

        r = store_get(g->manager->store, key, &text, NULL, NULL);
        if (r == -ENOENT) {
                log_info("Guest %u: no config in the store, no volumes to deactivate and no hook to run.",
                        g->vmid);
                return NULL;
        }
        if (r < 0) {
                log_error_errno(
                        r, "Guest %u: failed to read its config, skipping volumes and hook: %m", g->vmid);
                return NULL;
        }
        r = guest_config_parse(text, &c, &error);
        if (r < 0) {
                log_error("Guest %u: invalid config (%s), skipping volumes and hook.", g->vmid,
                        strempty(error));
                return NULL;
        }
        return c;
}

static void guest_deactivate_volumes(Guest *g, const GuestConfig *c)
{
        _cleanup_(storage_config_freep) StorageConfig *sc = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        GuestDisk *disks = NULL;
        size_t n = 0;
        int r;

        if (g->run->keep_active) {
                log_info("Guest %u: keep-active set, volume deactivation skipped.", g->vmid);
                return;
        }
        r = guest_config_get_disks(c, &disks, &n);
        if (r < 0) {
                log_error_errno(
                        r, "Guest %u: failed to read its disks, volume deactivation skipped: %m", g->vmid);
                return;
        }
        r = store_get(g->manager->store, "storage.cfg", &text, NULL, NULL);
        if (r == -ENOENT)
                sc = storage_config_default();
        else if (r < 0)
                log_error_errno(
                        r, "Guest %u: failed to read storage.cfg, volume deactivation skipped: %m", g->vmid);
        else if (storage_config_parse(text, &sc, &error) < 0)
                log_error("Guest %u: invalid storage.cfg (%s), volume deactivation skipped.", g->vmid,
                        strempty(error));
        for (size_t i = 0; sc && i < n; i++) {
                _cleanup_free_ char *volid = xasprintf("%s:%s", disks[i].storage, disks[i].volume);
                r = storage_volume_deactivate(sc, volid);
                if (r < 0)
                        log_warning_errno(
                                r, "Guest %u: failed to deactivate %s, ignoring: %m", g->vmid, volid);
                else
                        log_info("Guest %u: deactivated %s.", g->vmid, volid);
        }
        if (sc && n == 0)
                log_info("Guest %u: no volumes to deactivate.", g->vmid);
        guest_disks_free(disks, n);
}

void guest_cleanup(Guest *g)
{
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        _cleanup_free_ char *run_dir = NULL;
        const char *script;
        int r;

        r = run_claim_cleanup(g->run);
        if (r == 0)
                return;
        if (r < 0) {
                log_error_errno(
                        r, "Guest %u: failed to claim the cleanup of run %s: %m", g->vmid, g->run->run_id);
                return;
        }
        guest_unwatch(g);
        log_info("Guest %u: cleaning up run %s (pid %d).", g->vmid, g->run->run_id, (int) g->run->pid);

        run_dir = root_path("run/berth/qemu/%u", g->vmid);
        r = rm_rf(run_dir);
        if (r < 0)
                log_error_errno(r, "Guest %u: failed to remove %s, ignoring: %m", g->vmid, run_dir);

        c = guest_load_config(g);
        if (c)
                guest_deactivate_volumes(g, c);

        script = c ? guest_config_get(c, "hookscript") : NULL;
        if (script && g->run->skip_post_stop)
                log_info("Guest %u: skip-post-stop set, post-stop hook not run.", g->vmid);
        else if (script && guest_start_hook(g, script) > 0)
                return;
        guest_finish_cleanup(g, script && !g->run->skip_post_stop ? "hook-failed" : "ok");
}

int guest_run_ended(Guest *g)
{
        struct pollfd p = { .fd = g->pidfd, .events = POLLIN };
        int r;

        if (g->pidfd < 0) {
                r = run_process_alive(g->run);
                return r < 0 ? r : !r;
        }
        r = poll(&p, 1, 0);
        if (r < 0)
                return -errno;
        return r > 0;
}

void guest_note_shutdown(Guest *g, bool by_guest, const char *qemu_reason)
{
        RunStopIntent i = {
                .keep_active = g->run->keep_active,
                .reason = qemu_reason ? qemu_reason
                        : by_guest    ? "guest-shutdown"
                                      : "host",
                .skip_post_stop = g->run->skip_post_stop,
                .reboot = g->run->reboot,
        };
        int r;

        log_info("Guest %u: run %s shut down by the %s (%s).", g->vmid, g->run->run_id,
                by_guest ? "guest" : "host", strempty(qemu_reason));
        /* A stopping run has the host's own reason already. */
        if (g->run->state != RUN_RUNNING)
                return;
        r = run_set_stop_intent(g->run, &i);
        if (r >= 0)
                r = run_transition(g->run, RUN_STOPPING);
        if (r >= 0)
                r = ledger_save(g->run);
        if (r < 0)
                log_warning_errno(
                        r, "Guest %u: failed to record the shutdown of run %s: %m", g->vmid, g->run->run_id);
}

static void on_pid_exit(evutil_socket_t fd, short what, void *userdata)
{
        Guest *g = userdata;

        log_info("Guest %u: process %d of run %s exited.", g->vmid, (int) g->run->pid, g->run->run_id);
        guest_cleanup(g);
}

/* Watches the run's process; cleans the run at once when it is already gone. */
static int guest_watch(Guest *g)
{
        int fd, r;

        fd = pidfd_open_checked(g->run->pid);
        if (fd >= 0) {
                /* The pid may have been reused between reading the ledger and opening the pidfd. */
                r = run_process_alive(g->run);
                if (r <= 0) {
                        close(fd);
                        fd = r < 0 ? r : -ESRCH;
                }
        }
        if (fd == -ESRCH) {
                guest_cleanup(g);
                return 0;
        }
        if (fd < 0)
                return log_error_errno(
                        fd, "Guest %u: failed to watch process %d: %m", g->vmid, (int) g->run->pid);
        g->pidfd = fd;
        g->pid_event = event_new(g->manager->base, fd, EV_READ, on_pid_exit, g);
        event_add(g->pid_event, NULL);
        return 1;
}

int manager_register_run(Manager *m, uint32_t vmid, const char *run_id, pid_t pid)
{
        _cleanup_(run_freep) Run *run = NULL;
        _cleanup_close_ int fd = -1;
        Guest *g;
        int r;

        if (!vmid_is_valid(vmid))
                return -ERANGE;
        g = manager_find_guest(m, vmid);
        if (g && g->run && g->run->state != RUN_CLEAN)
                return -EBUSY;
        r = run_new(vmid, run_id, pid, &run);
        if (r < 0)
                return r;
        fd = pidfd_open_checked(pid);
        if (fd < 0)
                return fd;
        r = run_process_alive(run);
        if (r < 0)
                return r;
        if (r == 0)
                return -ESRCH;
        r = ledger_save(run);
        if (r < 0)
                return log_error_errno(r, "Guest %u: failed to save the ledger of run %s: %m", vmid, run_id);

        g = manager_get_guest(m, vmid);
        run_free(g->run);
        g->run = TAKE_PTR(run);
        g->pidfd = TAKE_FD(fd);
        g->pid_event = event_new(m->base, g->pidfd, EV_READ, on_pid_exit, g);
        event_add(g->pid_event, NULL);
        log_info("Guest %u: registered run %s (pid %d).", vmid, run_id, (int) pid);
        return 0;
}

int manager_set_stop_intent(Manager *m, uint32_t vmid, const char *run_id, const RunStopIntent *i)
{
        Guest *g = manager_find_guest(m, vmid);
        int r;

        if (!g || !g->run)
                return -ENOENT;
        if (!streq(g->run->run_id, run_id))
                return -EINVAL;
        if (g->run->state == RUN_CLEANING || g->run->state == RUN_CLEAN)
                return -ESRCH;
        r = run_set_stop_intent(g->run, i);
        if (r < 0)
                return r;
        if (g->run->state == RUN_RUNNING) {
                r = run_transition(g->run, RUN_STOPPING);
                if (r < 0)
                        return r;
        }
        r = ledger_save(g->run);
        if (r < 0)
                return log_error_errno(
                        r, "Guest %u: failed to save the stop intent of run %s: %m", vmid, run_id);
        log_info("Guest %u: run %s is stopping (reason '%s'%s%s%s).", vmid, run_id, strempty(i->reason),
                i->keep_active ? ", keep-active" : "", i->skip_post_stop ? ", skip-post-stop" : "",
                i->reboot ? ", reboot" : "");
        return 0;
}

static void on_wait_timeout(evutil_socket_t fd, short what, void *userdata)
{
        CleanWait *w = userdata;
        Guest *g = w->guest;

        for (size_t i = 0; i < g->n_waits; i++)
                if (g->waits[i] == w) {
                        memmove(g->waits + i, g->waits + i + 1, (g->n_waits - i - 1) * sizeof *g->waits);
                        g->n_waits--;
                        break;
                }
        log_warning("Guest %u: run %s still not clean after %us.", g->vmid, g->run->run_id,
                g->manager->prepare_timeout_sec);
        w->handler(g, -ETIMEDOUT, w->userdata);
        clean_wait_free(w);
}

int manager_prepare_start(Manager *m, uint32_t vmid, CleanWaitHandler handler, void *userdata)
{
        struct timeval tv = { .tv_sec = m->prepare_timeout_sec };
        Guest *g;
        CleanWait *w;
        int r;

        if (!vmid_is_valid(vmid))
                return -ERANGE;
        g = manager_find_guest(m, vmid);
        if (!g || !g->run || g->run->state == RUN_CLEAN)
                return 1;
        if (g->run->state != RUN_CLEANING) {
                r = guest_run_ended(g);
                if (r < 0)
                        return r;
                if (r > 0) {
                        log_info("Guest %u: run %s ended without cleanup, cleaning up now.", vmid,
                                g->run->run_id);
                        guest_cleanup(g);
                        if (g->run->state == RUN_CLEAN)
                                return 1;
                }
        }

        w = new0(CleanWait, 1);
        *w = (CleanWait){ .guest = g, .handler = handler, .userdata = userdata };
        w->timer = evtimer_new(m->base, on_wait_timeout, w);
        evtimer_add(w->timer, &tv);
        g->waits = xrealloc(g->waits, (g->n_waits + 1) * sizeof *g->waits);
        g->waits[g->n_waits++] = w;
        log_info("Guest %u: a start waits for run %s to end and be cleaned (at most %us).", vmid,
                g->run->run_id, m->prepare_timeout_sec);
        return 0;
}

static int manager_reconcile_one(Manager *m, uint32_t vmid)
{
        _cleanup_(run_freep) Run *run = NULL;
        Guest *g;
        int r;

        r = ledger_load(vmid, &run);
        if (r < 0)
                return log_error_errno(r, "Guest %u: failed to load its ledger, ignoring: %m", vmid);
        g = manager_get_guest(m, vmid);
        g->run = TAKE_PTR(run);
        switch (g->run->state) {
        case RUN_CLEAN:
                return 0;
        case RUN_CLEANING:
                /* Claimed before the restart: running it again could run the hook twice. */
                log_warning("Guest %u: cleanup of run %s was interrupted, marking it clean without "
                            "rerunning it.",
                        vmid, g->run->run_id);
                guest_finish_cleanup(g, "interrupted");
                return 0;
        default:
                r = guest_watch(g);
                if (r > 0)
                        log_info("Guest %u: run %s (pid %d) still running, watching it.", vmid,
                                g->run->run_id, (int) g->run->pid);
                return r;
        }
}

int manager_reconcile(Manager *m)
{
        _cleanup_free_ uint32_t *vmids = NULL;
        size_t n;
        int r;

        r = ledger_list(&vmids, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list the run ledger: %m");
        for (size_t i = 0; i < n; i++)
                (void) manager_reconcile_one(m, vmids[i]);
        return 0;
}
