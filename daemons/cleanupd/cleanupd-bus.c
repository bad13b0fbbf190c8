/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "alloc.h"
#include "bus-options.h"
#include "bus.h"
#include "cleanupd.h"
#include "errors.h"
#include "log.h"
#include "vmid.h"

#define MANAGER_PATH "/org/berth/cleanup1"
#define MANAGER_INTERFACE "org.berth.cleanup1.Manager"

static int reply_run_error(sd_bus_error *error, int r, uint32_t vmid, const char *what)
{
        switch (r) {
        case -ENOENT:
                return sd_bus_error_setf(error, BERTH_ERROR_NO_SUCH_GUEST, "Guest %u has no run", vmid);
        case -ERANGE:
                return sd_bus_error_setf(error, BERTH_ERROR_INVALID_ARGUMENT,
                        "VMID %u is out of range %u-%u", vmid, VMID_MIN, VMID_MAX);
        case -EBUSY:
                return sd_bus_error_setf(
                        error, BERTH_ERROR_BUSY, "The previous run of guest %u is not clean yet", vmid);
        case -ESRCH:
                return sd_bus_error_setf(
                        error, BERTH_ERROR_NOT_RUNNING, "The run of guest %u is not running", vmid);
        case -EINVAL:
                return sd_bus_error_setf(
                        error, BERTH_ERROR_INVALID_ARGUMENT, "Invalid argument for guest %u", vmid);
        case -ETIMEDOUT:
                return sd_bus_error_setf(error, BERTH_ERROR_TIMEOUT,
                        "The previous run of guest %u did not end in time", vmid);
        default:
                return berth_bus_error_set_errnof(
                        error, r, "Failed to %s guest %u: %s", what, vmid, strerror(-r));
        }
}

/* The methods that change runs are guestd's, which runs as root: no one else may call them. */
static int require_uid_0(sd_bus_message *msg, sd_bus_error *error)
{
        uid_t uid;
        int r;

        r = access_sender_uid(msg, &uid);
        if (r < 0)
                return berth_bus_error_set_errnof(error, r, "Failed to identify the caller: %s", strerror(-r));
        if (uid != 0)
                return sd_bus_error_setf(error, BERTH_ERROR_PERMISSION_DENIED, "Only root may call %s",
                        sd_bus_message_get_member(msg));
        return 0;
}

/* The options of SetStopIntent, as they arrive; RunStopIntent borrows the reason from here. */
typedef struct StopOptions {
        bool keep_active;
        char *reason;
        bool skip_post_stop;
        bool reboot;
} StopOptions;

static const BusOption stop_options[] = {
        { "keep-active", BUS_OPTION_BOOL, offsetof(StopOptions, keep_active) },
        { "reason", BUS_OPTION_STRING, offsetof(StopOptions, reason) },
        { "skip-post-stop", BUS_OPTION_BOOL, offsetof(StopOptions, skip_post_stop) },
        { "reboot", BUS_OPTION_BOOL, offsetof(StopOptions, reboot) },
        {},
};

static int method_register_run(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        const char *run_id;
        uint32_t vmid, pid;
        int r;

        r = require_uid_0(msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "usu", &vmid, &run_id, &pid);
        if (r < 0)
                return r;
        /* RegisterRun takes no options yet; the a{sv} is there so it can grow. */
        r = bus_message_read_options(msg, NULL, NULL, error);
        if (r < 0)
                return r;
        if (pid == 0 || pid > INT32_MAX)
                return reply_run_error(error, -EINVAL, vmid, "register a run of");
        r = manager_register_run(userdata, vmid, run_id, (pid_t) pid);
        if (r < 0)
                return reply_run_error(error, r, vmid, "register a run of");
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_set_stop_intent(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        StopOptions o = {};
        const char *run_id;
        uint32_t vmid;
        int r;

        r = require_uid_0(msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "us", &vmid, &run_id);
        if (r < 0)
                return r;
        r = bus_message_read_options(msg, stop_options, &o, error);
        _cleanup_free_ char *reason = o.reason;
        if (r < 0)
                return r;
        RunStopIntent intent = {
                .keep_active = o.keep_active,
                .reason = reason,
                .skip_post_stop = o.skip_post_stop,
                .reboot = o.reboot,
        };
        r = manager_set_stop_intent(userdata, vmid, run_id, &intent);
        if (r < 0)
                return reply_run_error(error, r, vmid, "set the stop intent of");
        return sd_bus_reply_method_return(msg, NULL);
}

static void on_prepared(Guest *g, int error, void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata;
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (error < 0) {
                reply_run_error(&e, error, g->vmid, "prepare the start of");
                r = sd_bus_reply_method_error(msg, &e);
        } else
                r = sd_bus_reply_method_return(msg, NULL);
        if (r < 0)
                log_warning_errno(r, "Guest %u: failed to reply to PrepareStart, ignoring: %m", g->vmid);
}

static int method_prepare_start(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        uint32_t vmid;
        int r;

        r = require_uid_0(msg, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "u", &vmid);
        if (r < 0)
                return r;
        r = manager_prepare_start(userdata, vmid, on_prepared, msg);
        if (r < 0)
                return reply_run_error(error, r, vmid, "prepare the start of");
        if (r > 0)
                return sd_bus_reply_method_return(msg, NULL);
        /* Answered by on_prepared() once the run is clean or the wait timed out. */
        sd_bus_message_ref(msg);
        return 1;
}

static int method_get_run(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        uint32_t vmid;
        Guest *g;
        int r;

        r = sd_bus_message_read(msg, "u", &vmid);
        if (r < 0)
                return r;
        if (!vmid_is_valid(vmid))
                return reply_run_error(error, -ERANGE, vmid, "get the run of");
        g = manager_find_guest(userdata, vmid);
        if (!g || !g->run)
                return reply_run_error(error, -ENOENT, vmid, "get the run of");
        return sd_bus_reply_method_return(
                msg, "ssu", g->run->run_id, run_state_to_string(g->run->state), (uint32_t) g->run->pid);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("RegisterRun", SD_BUS_ARGS("u", vmid, "s", run_id, "u", pid, "a{sv}", options),
                SD_BUS_NO_RESULT, method_register_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetStopIntent", SD_BUS_ARGS("u", vmid, "s", run_id, "a{sv}", options),
                SD_BUS_NO_RESULT, method_set_stop_intent, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PrepareStart", SD_BUS_ARGS("u", vmid), SD_BUS_NO_RESULT,
                method_prepare_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetRun", SD_BUS_ARGS("u", vmid),
                SD_BUS_RESULT("s", run_id, "s", state, "u", pid), method_get_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("CleanupFinished", SD_BUS_ARGS("u", vmid, "s", run_id, "s", result), 0),
        SD_BUS_VTABLE_END,
};

int manager_bus_register(Manager *m)
{
        int r;

        r = sd_bus_add_object_vtable(
                m->bus, &m->manager_slot, MANAGER_PATH, MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register %s: %m", MANAGER_PATH);
        return 0;
}

void manager_emit_cleanup_finished(Manager *m, const Run *r)
{
        int k;

        k = sd_bus_emit_signal(m->bus, MANAGER_PATH, MANAGER_INTERFACE, "CleanupFinished", "uss", r->vmid,
                r->run_id, strempty(r->result));
        if (k < 0)
                log_warning_errno(k, "Guest %u: failed to emit CleanupFinished, ignoring: %m", r->vmid);
}

static int on_start_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        uint32_t vmid = (uint32_t) (uintptr_t) userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_error("Guest %u: guestd did not start it again: %s", vmid,
                        e->message ? e->message : e->name);
        else
                log_info("Guest %u: guestd is starting it again.", vmid);
        return 0;
}

void manager_request_start(Manager *m, uint32_t vmid)
{
        int r;

        /* Floating: the slot lives until the reply comes, whatever happens to this guest meanwhile. */
        r = sd_bus_call_method_async(m->bus, NULL, "org.berth.guest1", "/org/berth/guest1",
                "org.berth.guest1.Manager", "StartGuest", on_start_reply, (void *) (uintptr_t) vmid,
                "ua{sv}", vmid, 0);
        if (r < 0)
                log_error_errno(r, "Guest %u: failed to ask guestd to start it again: %m", vmid);
}
