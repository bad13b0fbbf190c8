/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "alloc.h"
#include "berth-conf.h"
#include "boot.h"
#include "guest-batch.h"
#include "host-shutdown.h"
#include "log.h"

#define LOGIN1_SERVICE "org.freedesktop.login1"
#define LOGIN1_PATH "/org/freedesktop/login1"
#define LOGIN1_MANAGER "org.freedesktop.login1.Manager"

#define USEC_PER_SEC 1000000ULL
/* Beyond the time a step may take: for its task to end and the next one to begin. */
#define PROGRESS_MARGIN_USEC (15 * USEC_PER_SEC)
/* A poweroff: QMP quit, SIGTERM, SIGKILL, 5 s each, and the cleanup after. */
#define POWEROFF_BUDGET_SEC 20U

typedef struct PreserveRun {
        HostShutdown *hs;
        Task *task;
        GuestBatch *batch;
        bool for_host; /* a host shutdown waits for it: the inhibitor goes when it ends */
        bool begun_by_host; /* begun by PrepareForShutdown(true): a cancelled shutdown cancels it */
        size_t n_saved, n_shut_down, n_powered_off, n_not_running, n_failed, n_fallback;
} PreserveRun;

struct HostShutdown {
        Manager *manager;
        sd_bus_slot *prepare_slot;
        sd_bus_slot *inhibit_slot; /* the Inhibit() call under way */
        int inhibit_fd;
        size_t inhibit_count; /* the number of guests the held inhibitor names */
        size_t inhibit_asked; /* ... and the one under way */
        bool inhibit_warned;
        bool shutting_down;
        bool released; /* the host shutdown's run has ended: no inhibitor until the shutdown is cancelled */
        bool draining;
        PreserveRun *run;
};

void preserve_options_done(PreserveOptions *o)
{
        free(o->policy);
        free(o->user);
        *o = (PreserveOptions){};
}

char *preserved_prefix(const Manager *m)
{
        return xasprintf("nodes/%s/preserved/", m->node);
}

bool host_shutdown_inhibited(const HostShutdown *hs)
{
        return hs && hs->inhibit_fd >= 0;
}

bool host_shutdown_shutting_down(const HostShutdown *hs)
{
        return hs && hs->shutting_down;
}

static bool guest_is_active(const Guest *g)
{
        return g->state == GUEST_RUNNING || g->state == GUEST_PAUSED;
}

/* The guests a preserve acts on: running, or busy with an operation (a start, say) after which they may run. */
static bool guest_is_candidate(const Guest *g)
{
        return guest_is_active(g) || g->op;
}

static size_t count_candidates(const Manager *m)
{
        size_t n = 0;

        for (size_t i = 0; i < m->n_guests; i++)
                n += guest_is_candidate(m->guests[i]);
        return n;
}

/* ---- the inhibitor ---- */

static void inhibit_release(HostShutdown *hs)
{
        if (hs->inhibit_fd < 0)
                return;
        hs->inhibit_fd = safe_close(hs->inhibit_fd);
        hs->inhibit_count = 0;
        log_info("Released the shutdown inhibitor.");
        manager_bus_emit_changed(hs->manager, "Inhibited");
}

static int on_inhibit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        HostShutdown *hs = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        bool had = hs->inhibit_fd >= 0;
        int fd, r;

        hs->inhibit_slot = sd_bus_slot_unref(hs->inhibit_slot);
        if (e) {
                /* Without logind (a container, the test bus) guests still run; only shutdown goes unguarded. */
                if (!hs->inhibit_warned)
                        log_notice(
                                "Cannot take a shutdown inhibitor from logind (%s: %s); continuing without.",
                                e->name, strempty(e->message));
                hs->inhibit_warned = true;
                return 0;
        }
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0)
                return log_warning_errno(r, "Failed to read logind's inhibitor, ignoring: %m"), 0;
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_warning_errno(errno, "Failed to keep logind's inhibitor, ignoring: %m"), 0;
        /* The new one is held before the old one goes: no moment without. */
        safe_close(hs->inhibit_fd);
        hs->inhibit_fd = fd;
        hs->inhibit_count = hs->inhibit_asked;
        if (!had) {
                log_info("Holding a shutdown inhibitor for %zu running guest%s.", hs->inhibit_count,
                        hs->inhibit_count == 1 ? "" : "s");
                manager_bus_emit_changed(hs->manager, "Inhibited");
        }
        /* Guests may have come or gone while logind answered. */
        host_shutdown_guests_changed(hs);
        return 0;
}

static void inhibit_ask(HostShutdown *hs, size_t n)
{
        _cleanup_free_ char *why = xasprintf("%zu guest%s running", n, n == 1 ? "" : "s");
        int r;

        r = sd_bus_call_method_async(hs->manager->bus, &hs->inhibit_slot, LOGIN1_SERVICE, LOGIN1_PATH,
                LOGIN1_MANAGER, "Inhibit", on_inhibit_reply, hs, "ssss", "shutdown", "berth", why, "delay");
        if (r < 0) {
                log_warning_errno(r, "Failed to ask logind for a shutdown inhibitor, ignoring: %m");
                return;
        }
        hs->inhibit_asked = n;
}

void host_shutdown_guests_changed(HostShutdown *hs)
{
        size_t n = 0;

        if (!hs)
                return;
        for (size_t i = 0; i < hs->manager->n_guests; i++)
                n += guest_is_active(hs->manager->guests[i]);
        /* The reply re-evaluates: at most one call at a time. */
        if (hs->inhibit_slot)
                return;
        if (n == 0 || hs->released)
                return inhibit_release(hs);
        /* logind refuses new inhibitors while the shutdown they would delay is under way: keep the one held. */
        if (hs->shutting_down || (hs->inhibit_fd >= 0 && hs->inhibit_count == n))
                return;
        inhibit_ask(hs, n);
}

/* ---- the preserve run ---- */

static void run_notify(PreserveRun *run)
{
        GuestBatch *b = run->batch;
        uint64_t extend = guest_batch_remaining_usec(b) + PROGRESS_MARGIN_USEC;

        /* systemd waits this much longer, and no longer unless the next progress comes. */
        (void) sd_notifyf(false, "STATUS=Preserving guests: %zu of %zu done\nEXTEND_TIMEOUT_USEC=%" PRIu64,
                b->n_ended, b->n_items, extend);
}

static void preserve_mark(PreserveRun *run, uint32_t vmid)
{
        Manager *m = run->hs->manager;
        Guest *g = manager_find_guest(m, vmid);
        const char *vmstate = g ? guest_config_get(g->config, "vmstate") : NULL;
        _cleanup_free_ char *prefix = preserved_prefix(m), *key = xasprintf("%s%u", prefix, vmid);
        int r;

        r = store_put(m->store, key, strempty(vmstate), strlen(strempty(vmstate)), STORE_REVISION_ANY, NULL);
        if (r < 0) {
                log_error_errno(r, "Guest %u: failed to mark it for restore at boot: %m", vmid);
                task_log(run->task, "Guest %u: saved, but not marked for restore at boot: %s", vmid,
                        strerror(-r));
        }
}

static void on_item_done(GuestBatch *b, GuestBatchItem *it, void *userdata)
{
        PreserveRun *run = userdata;

        switch (it->outcome) {
        case GUEST_BATCH_DONE:
                run->n_fallback += it->step > 0;
                switch (it->steps[it->step].action) {
                case GUEST_ACTION_SUSPEND:
                        run->n_saved++;
                        preserve_mark(run, it->vmid);
                        break;
                case GUEST_ACTION_SHUTDOWN:
                        run->n_shut_down++;
                        break;
                default:
                        run->n_powered_off++;
                        break;
                }
                log_info("Guest %u preserved: %s.", it->vmid, it->steps[it->step].name);
                break;
        case GUEST_BATCH_NOTHING:
                run->n_not_running++;
                break;
        default:
                run->n_failed++;
                log_warning("Guest %u could not be preserved and is left as it is.", it->vmid);
                break;
        }
}

static void on_progress(GuestBatch *b, void *userdata)
{
        run_notify(userdata);
}

static void run_free(PreserveRun *run)
{
        guest_batch_free(run->batch);
        free(run);
}

static void on_finished(GuestBatch *b, void *userdata)
{
        PreserveRun *run = userdata;
        HostShutdown *hs = run->hs;
        size_t preserved = run->n_saved + run->n_shut_down + run->n_powered_off + run->n_not_running;
        _cleanup_free_ char *summary = xasprintf(
                "%zu of %zu guests preserved: %zu saved, %zu shut down, %zu powered off, %zu not running",
                preserved, b->n_items, run->n_saved, run->n_shut_down, run->n_powered_off, run->n_not_running);
        TaskState state = b->cancelled ? TASK_CANCELLED
                : run->n_failed > 0    ? TASK_ERROR
                : run->n_fallback > 0  ? TASK_WARNINGS
                                       : TASK_OK;

        log_info("Preserve finished: %s.", summary);
        (void) sd_notifyf(false, "STATUS=Preserved guests: %zu of %zu", preserved, b->n_items);
        task_finish(run->task, state, "%s", summary);
        hs->run = NULL;
        if (run->for_host)
                hs->released = true;
        run_free(run);
        host_shutdown_guests_changed(hs);
        if (hs->draining)
                event_base_loopbreak(hs->manager->base);
}

static const GuestBatchCallbacks preserve_callbacks = {
        .progress = on_progress,
        .item_done = on_item_done,
        .finished = on_finished,
};

static void on_run_cancel(Task *t, void *userdata)
{
        PreserveRun *run = userdata;
        guest_batch_cancel(run->batch);
}

static char *policy_to_string(const ShutdownPolicy *p)
{
        _cleanup_free_ char *s = xstrdup("");

        for (size_t i = 0; i < p->n_steps; i++) {
                char *n = xasprintf("%s%s%s", s, i > 0 ? "," : "", shutdown_step_to_string(p->steps[i]));
                free(s);
                s = n;
        }
        return TAKE_PTR(s);
}

static void run_add_guest(PreserveRun *run, Guest *g, const ShutdownPolicy *override, const BerthConf *conf,
        const PreserveOptions *o)
{
        const char *own = guest_config_get(g->config, "shutdown-policy");
        GuestBatchItem it = { .vmid = g->vmid };
        _cleanup_free_ char *text = NULL;
        ShutdownPolicy p = conf->shutdown_policy;
        GuestStartup startup;
        unsigned timeout;

        if (override)
                p = *override;
        else if (own)
                (void) shutdown_policy_parse(own, &p);
        guest_config_get_startup(g->config, &startup);
        timeout = o->shutdown_timeout ? o->shutdown_timeout
                : startup.down        ? startup.down
                                      : conf->shutdown_timeout;
        /* Reverse startup order: guests without an order first, then the highest order. */
        it.group = startup.order < 0 ? INT_MIN : -startup.order;

        for (size_t i = 0; i < p.n_steps; i++) {
                GuestBatchStep *s = &it.steps[it.n_steps];
                GuestOptions opts = { .force_stop = true, .user = xstrdup(o->user) };

                switch (p.steps[i]) {
                case SHUTDOWN_STEP_SAVE:
                        opts.to_disk = true;
                        *s = (GuestBatchStep){ "save", GUEST_ACTION_SUSPEND, opts, timeout };
                        break;
                case SHUTDOWN_STEP_SHUTDOWN:
                        if (g->state == GUEST_PAUSED) {
                                task_log(run->task,
                                        "Guest %u is paused: it cannot answer ACPI, no shutdown step",
                                        g->vmid);
                                guest_options_done(&opts);
                                continue;
                        }
                        /* On timeout the next step of the policy decides, not a forced stop. */
                        opts.timeout = timeout;
                        opts.force_stop = false;
                        *s = (GuestBatchStep){ "shutdown", GUEST_ACTION_SHUTDOWN, opts, timeout };
                        break;
                default:
                        *s = (GuestBatchStep){ "poweroff", GUEST_ACTION_STOP, opts, POWEROFF_BUDGET_SEC };
                        break;
                }
                it.n_steps++;
        }
        text = policy_to_string(&p);
        task_log(run->task, "Guest %u: policy %s, order %d, timeout %u s", g->vmid, text, startup.order,
                timeout);
        guest_batch_add(run->batch, &it);
}

static int run_begin(HostShutdown *hs, const PreserveOptions *o, bool for_host, Task **ret)
{
        Manager *m = hs->manager;
        _cleanup_free_ char *error = NULL;
        ShutdownPolicy override;
        BerthConf conf;
        PreserveRun *run;
        int r;

        if (hs->run)
                return -EBUSY;
        if (o->policy && shutdown_policy_parse(o->policy, &override) < 0)
                return -EINVAL;
        r = berth_conf_load(&conf, &error);
        if (r < 0) {
                log_warning_errno(r, "Invalid berth.conf (%s), using the defaults: %m", strempty(error));
                berth_conf_defaults(&conf);
        }

        run = new0(PreserveRun, 1);
        run->hs = hs;
        run->for_host = run->begun_by_host = for_host;
        r = task_new(m->tasks, "preserve", "", o->user, &run->task);
        if (r < 0) {
                free(run);
                return r;
        }
        unsigned parallel = o->parallel ? o->parallel : berth_conf_parallel(&conf);
        run->batch = guest_batch_new(m, run->task, parallel, &preserve_callbacks, run);
        task_set_cancel_handler(run->task, on_run_cancel, run);
        task_log(run->task, "Preserving guests%s, %u at a time", for_host ? " for a host shutdown" : "",
                parallel);
        for (size_t i = 0; i < m->n_guests; i++) {
                if (guest_is_candidate(m->guests[i]))
                        run_add_guest(run, m->guests[i], o->policy ? &override : NULL, &conf, o);
        }
        hs->run = run;
        guest_batch_start(run->batch);
        run_notify(run);
        *ret = run->task;
        return 0;
}

int host_shutdown_preserve(HostShutdown *hs, const PreserveOptions *o, Task **ret)
{
        return run_begin(hs, o, false, ret);
}

static void set_shutting_down(HostShutdown *hs, bool b)
{
        if (hs->shutting_down == b)
                return;
        hs->shutting_down = b;
        manager_bus_emit_changed(hs->manager, "ShuttingDown");
}

static void host_shutdown_begin(HostShutdown *hs)
{
        PreserveOptions o = { .user = (char *) "root@pam" };
        size_t n = count_candidates(hs->manager);
        Task *t;
        int r;

        set_shutting_down(hs, true);
        boot_cancel(hs->manager->boot);
        if (hs->run) {
                hs->run->for_host = true;
                task_log(hs->run->task, "The host is shutting down: it waits for this preserve");
                return;
        }
        if (n == 0) {
                log_info("The host is shutting down; no guest runs.");
                hs->released = true;
                return host_shutdown_guests_changed(hs);
        }
        log_info("The host is shutting down: preserving %zu guest%s.", n, n == 1 ? "" : "s");
        r = run_begin(hs, &o, true, &t);
        if (r < 0) {
                log_error_errno(r, "Failed to preserve the guests: %m");
                hs->released = true;
                host_shutdown_guests_changed(hs);
        }
}

static void host_shutdown_cancelled(HostShutdown *hs)
{
        log_info("The host shutdown was cancelled.");
        set_shutting_down(hs, false);
        hs->released = false;
        if (hs->run) {
                hs->run->for_host = false;
                if (hs->run->begun_by_host)
                        guest_batch_cancel(hs->run->batch);
        }
        host_shutdown_guests_changed(hs);
}

static int on_prepare_for_shutdown(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        HostShutdown *hs = userdata;
        int start, r;

        r = sd_bus_message_read(msg, "b", &start);
        if (r < 0)
                return log_warning_errno(r, "Failed to parse PrepareForShutdown, ignoring: %m"), 0;
        if (start)
                host_shutdown_begin(hs);
        else
                host_shutdown_cancelled(hs);
        return 0;
}

int host_shutdown_new(Manager *m, HostShutdown **ret)
{
        HostShutdown *hs = new0(HostShutdown, 1);
        int r;

        hs->manager = m;
        hs->inhibit_fd = -1;
        r = sd_bus_match_signal_async(m->bus, &hs->prepare_slot, LOGIN1_SERVICE, LOGIN1_PATH, LOGIN1_MANAGER,
                "PrepareForShutdown", on_prepare_for_shutdown, NULL, hs);
        if (r < 0) {
                free(hs);
                return r;
        }
        *ret = hs;
        return 0;
}

HostShutdown *host_shutdown_free(HostShutdown *hs)
{
        if (!hs)
                return NULL;
        if (hs->run) {
                task_finish(hs->run->task, TASK_ERROR, "guestd stopped before the guests were preserved");
                run_free(hs->run);
        }
        sd_bus_slot_unref(hs->prepare_slot);
        sd_bus_slot_unref(hs->inhibit_slot);
        safe_close(hs->inhibit_fd);
        free(hs);
        return NULL;
}

/* Whether systemd is taking the system down: then a SIGTERM is the host's shutdown, not a restart. */
static bool system_is_stopping(sd_bus *bus)
{
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *state = NULL;
        int r;

        r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                "org.freedesktop.systemd1.Manager", "SystemState", &error, &state);
        if (r < 0) {
                log_debug("Cannot ask systemd for the system state: %s", strempty(error.message));
                return false;
        }
        return streq(state, "stopping");
}

static void on_signal_while_draining(evutil_socket_t sig, short what, void *userdata)
{
        HostShutdown *hs = userdata;

        if (hs->run)
                log_info("Received %s: still preserving guests (%zu of %zu done); exiting when done.",
                        strsignal((int) sig), hs->run->batch->n_ended, hs->run->batch->n_items);
}

int host_shutdown_drain(HostShutdown *hs, BusEvent *be)
{
        struct event_base *base = hs->manager->base;
        struct event *sigterm = evsignal_new(base, SIGTERM, on_signal_while_draining, hs),
                     *sigint = evsignal_new(base, SIGINT, on_signal_while_draining, hs);
        int r = 0;

        evsignal_add(sigterm, NULL);
        evsignal_add(sigint, NULL);
        if (!hs->run && count_candidates(hs->manager) > 0 && system_is_stopping(hs->manager->bus)) {
                log_info("The system is stopping without a PrepareForShutdown: preserving guests now.");
                host_shutdown_begin(hs);
        }
        if (hs->run) {
                hs->draining = true;
                log_info("Preserving guests before exiting (%zu of %zu done).", hs->run->batch->n_ended,
                        hs->run->batch->n_items);
                /* systemd's stop timeout began with the SIGTERM: extend it from now. */
                run_notify(hs->run);
        }
        while (hs->run && sd_bus_is_open(hs->manager->bus) > 0) {
                r = bus_event_loop(be);
                if (r < 0)
                        break;
        }
        if (hs->run)
                log_warning("Exiting before the guests were preserved: the bus connection is gone.");
        event_free(sigterm);
        event_free(sigint);
        return r;
}
