/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <event2/event.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "hook.h"
#include "ledger.h"
#include "macro.h"
#include "qmp.h"
#include "store.h"

/*
 * The model of berth-cleanupd: one Guest per vmid that ever had a run, holding
 * the in-memory copy of its ledger entry (the only one in the process, as
 * run_claim_cleanup() requires), a pidfd watch on the run's process and the
 * state of a cleanup in progress. A run's process exiting, noticed through its
 * pidfd, is what triggers cleanup; PrepareStart triggers it too when the exit
 * happened while nobody watched.
 */

typedef struct Manager Manager;
typedef struct Guest Guest;
typedef struct EventConn EventConn;

/* Called once with 0 when the guest's last run is clean, or -ETIMEDOUT. */
typedef void (*CleanWaitHandler)(Guest *g, int error, void *userdata);

typedef struct CleanWait {
        Guest *guest;
        struct event *timer;
        CleanWaitHandler handler;
        void *userdata;
} CleanWait;

struct Guest {
        Manager *manager;
        uint32_t vmid;
        Run *run; /* NULL before the first run */

        int pidfd; /* of the run's process while it is watched, else -1 */
        struct event *pid_event;

        Hook *hook; /* the post-stop hook of a cleanup in progress */

        CleanWait **waits;
        size_t n_waits;
};

struct Manager {
        struct event_base *base;
        sd_bus *bus;
        Store *store;
        char *node;
        unsigned prepare_timeout_sec; /* how long PrepareStart waits for a live run to end */
        unsigned hook_timeout_sec; /* after this, a post-stop hook is killed */

        Guest **guests;
        size_t n_guests;

        sd_bus_slot *manager_slot;

        /* run/berth/events.sock and the QEMUs connected to it (events.c). */
        int events_fd;
        struct event *events_event;
        EventConn **event_conns;
        size_t n_event_conns;
};

int manager_new(struct event_base *base, sd_bus *bus, Store *store, const char *node, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Reads every ledger: watches the runs whose process lives, cleans the ones whose process died. */
int manager_reconcile(Manager *m);

Guest *manager_find_guest(Manager *m, uint32_t vmid);

/*
 * -EBUSY when the guest's previous run is not clean, -ESRCH when the process is
 * gone, -EINVAL for an invalid run id or pid, -ERANGE for an invalid vmid.
 */
int manager_register_run(Manager *m, uint32_t vmid, const char *run_id, pid_t pid);
/* -ENOENT without a run, -EINVAL when run_id is not the current run's, -ESRCH once its cleanup began. */
int manager_set_stop_intent(Manager *m, uint32_t vmid, const char *run_id, const RunStopIntent *i);
/*
 * Calls handler once the guest's last run is clean: at once when it already is
 * or there is none (returns 1 then, without calling it), otherwise later (returns
 * 0), running the cleanup now if the process is already gone, and with
 * -ETIMEDOUT after prepare_timeout_sec.
 */
int manager_prepare_start(Manager *m, uint32_t vmid, CleanWaitHandler handler, void *userdata);

/*
 * Whether the run's process has ended: all of it, threads included, when its
 * pidfd is held (a QEMU whose main thread exited looks like a zombie in /proc
 * while its other threads wind down). 1 ended, 0 not, -errno.
 */
int guest_run_ended(Guest *g);
/* The run's process is gone (or going): cleans the run unless another trigger already has. */
void guest_cleanup(Guest *g);
/*
 * QEMU said it shut down (its SHUTDOWN event): by the guest itself, or for a
 * reason of the host's. A run nobody asked to stop records QEMU's reason.
 */
void guest_note_shutdown(Guest *g, bool by_guest, const char *qemu_reason);

/* The event socket every QEMU's second QMP monitor connects to (events.c). */
int manager_listen_events(Manager *m);
void manager_close_events(Manager *m);

/* Implemented by the bus side (cleanupd-bus.c). */
int manager_bus_register(Manager *m);
void manager_emit_cleanup_finished(Manager *m, const Run *r);
void manager_request_start(Manager *m, uint32_t vmid);
