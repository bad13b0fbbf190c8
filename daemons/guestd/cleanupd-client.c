/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "alloc.h"
#include "cleanupd-client.h"
#include "log.h"
#include "qemu.h"

#define CLEANUPD_SERVICE "org.berth.cleanup1"
#define CLEANUPD_PATH "/org/berth/cleanup1"
#define CLEANUPD_INTERFACE "org.berth.cleanup1.Manager"

/* PrepareStart may wait for a previous run to end; cleanupd bounds that itself, well within this. */
#define CLEANUPD_CALL_TIMEOUT_USEC (120ULL * 1000000ULL)

typedef struct Call {
        CleanupdReplyHandler handler;
        void *userdata;
} Call;

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Call *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        c->handler(e, c->userdata);
        return 0;
}

static void call_destroy(void *userdata)
{
        free(userdata);
}

static int call_async(Manager *m, sd_bus_message *msg, CleanupdReplyHandler handler, void *userdata,
        sd_bus_slot **ret_slot)
{
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        Call *c = new0(Call, 1);
        int r;

        *c = (Call){ .handler = handler, .userdata = userdata };
        r = sd_bus_call_async(m->bus, &slot, msg, on_reply, c, CLEANUPD_CALL_TIMEOUT_USEC);
        if (r < 0) {
                free(c);
                return r;
        }
        /* The Call goes with the slot, whether the reply came or the caller dropped it. */
        (void) sd_bus_slot_set_destroy_callback(slot, call_destroy);
        *ret_slot = TAKE_PTR(slot);
        return 0;
}

static int new_call(Manager *m, const char *member, sd_bus_message **ret)
{
        return sd_bus_message_new_method_call(
                m->bus, ret, CLEANUPD_SERVICE, CLEANUPD_PATH, CLEANUPD_INTERFACE, member);
}

int cleanupd_prepare_start(
        Manager *m, uint32_t vmid, CleanupdReplyHandler handler, void *userdata, sd_bus_slot **ret_slot)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = new_call(m, "PrepareStart", &msg);
        if (r >= 0)
                r = sd_bus_message_append(msg, "u", vmid);
        if (r < 0)
                return r;
        return call_async(m, msg, handler, userdata, ret_slot);
}

int cleanupd_register_run(Manager *m, uint32_t vmid, const char *run_id, pid_t pid,
        CleanupdReplyHandler handler, void *userdata, sd_bus_slot **ret_slot)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = new_call(m, "RegisterRun", &msg);
        if (r >= 0)
                r = sd_bus_message_append(msg, "usua{sv}", vmid, run_id, (uint32_t) pid, 0);
        if (r < 0)
                return r;
        return call_async(m, msg, handler, userdata, ret_slot);
}

int cleanupd_set_stop_intent(Manager *m, uint32_t vmid, const char *run_id, const char *reason,
        bool keep_active, CleanupdReplyHandler handler, void *userdata, sd_bus_slot **ret_slot)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = new_call(m, "SetStopIntent", &msg);
        if (r >= 0)
                r = sd_bus_message_append(msg, "usa{sv}", vmid, run_id, 2, "reason", "s", reason,
                        "keep-active", "b", keep_active);
        if (r < 0)
                return r;
        return call_async(m, msg, handler, userdata, ret_slot);
}

static int on_cleanup_finished(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error)
{
        Manager *m = userdata;
        const char *run_id, *result;
        uint32_t vmid;
        Guest *g;
        int r;

        r = sd_bus_message_read(msg, "uss", &vmid, &run_id, &result);
        if (r < 0) {
                log_warning_errno(r, "Ignoring a malformed CleanupFinished signal: %m");
                return 0;
        }
        g = manager_find_guest(m, vmid);
        if (g)
                qemu_on_run_clean(g, run_id, result);
        return 0;
}

int cleanupd_subscribe(Manager *m)
{
        return sd_bus_match_signal(m->bus, &m->cleanupd_slot, CLEANUPD_SERVICE, CLEANUPD_PATH,
                CLEANUPD_INTERFACE, "CleanupFinished", on_cleanup_finished, m);
}
