/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "access.h"
#include "guest-config.h"
#include "qmp.h"
#include "storage.h"
#include "store.h"
#include "task.h"

typedef enum GuestState {
        GUEST_STOPPED,
        GUEST_RUNNING,
        GUEST_PAUSED,
        GUEST_SUSPENDED, /* state saved to disk, QEMU gone */
        _GUEST_STATE_MAX,
        _GUEST_STATE_INVALID = -EINVAL,
} GuestState;

const char *guest_state_to_string(GuestState s);
GuestState guest_state_from_string(const char *s);

typedef struct Manager Manager;
typedef struct Guest Guest;
typedef struct Operation Operation;
typedef struct HostShutdown HostShutdown;
typedef struct Boot Boot;

/* Options of the lifecycle methods (the a{sv} of StartGuest & co). */
typedef struct GuestOptions {
        uint32_t timeout; /* seconds; 0 = the default for the operation */
        bool force_stop; /* default true */
        bool keep_active;
        bool to_disk;
        char *statestorage; /* NULL = the first dir storage that holds images */
        char *user; /* who asked, as "name@realm" */
} GuestOptions;

void guest_options_done(GuestOptions *o);

struct Guest {
        Manager *manager;
        uint32_t vmid;
        char *path; /* D-Bus object path */

        char *config_text;
        GuestConfig *config;
        char digest[GUEST_CONFIG_DIGEST_LEN + 1];
        uint64_t revision; /* of the config in the store */

        GuestState state;
        /* The current QEMU run, if any. */
        pid_t pid;
        char *run_id;
        int pidfd;
        struct event *pidfd_event;
        Qmp *qmp;
        bool powered_off; /* the run's SHUTDOWN event said the guest itself powered off */
        bool shut_down; /* the run's SHUTDOWN event came: QEMU is exiting */
        /* The run that ended and why, until cleanupd reports it clean and GuestStopped goes out. */
        char *exit_run_id;
        char *exit_reason;
        char *clean_result; /* cleanupd reported the current run clean before its QEMU was seen to exit */

        /* The lifecycle operation in progress, if any: one at a time per guest. */
        Operation *op;

        /* nodes/<node>/qemu-status/<vmid> (guest-status.c). */
        char *status_written; /* the value the store last took */
        bool status_pending; /* the status may have changed since, and the store has not taken it yet */
        pid_t status_pid; /* the QEMU status_start_time is of */
        uint64_t status_start_time;
};

struct Manager {
        struct event_base *base;
        sd_bus *bus;
        Store *store;
        TaskManager *tasks;
        char *node;
        char *default_accel;
        StorageConfig *storage;

        Guest **guests; /* sorted by vmid */
        size_t n_guests;

        Access *access; /* who may do what, from the store */
        /* The caller of the message being dispatched, resolved once per message (guestd-bus.c). */
        sd_bus_message *caller_msg;
        char *caller;
        bool emitting; /* the bus objects are being walked for a signal, not for a caller */

        sd_bus_slot *manager_slot;
        sd_bus_slot *guest_slot;
        sd_bus_slot *enumerator_slot;
        sd_bus_slot *object_manager_slot;
        StoreWatch *config_watch;
        sd_bus_slot *cleanupd_slot; /* CleanupFinished */
        unsigned hook_timeout_sec; /* after this, a hook is killed */
        HostShutdown *host_shutdown; /* the inhibitor and the preserve of guests at host shutdown */
        Boot *boot; /* the restores and starts after the host booted, while under way */

        /* Writes again the guest statuses the store did not take; armed only while any is pending. */
        struct event *status_retry;
        unsigned status_retry_sec; /* the current backoff; 0 while the store takes the statuses */
        bool status_prune_pending; /* status keys of guests this node no longer has are still to go */
};

int manager_new(struct event_base *base, sd_bus *bus, Store *store, const char *node, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Loads every guest config of this node from the store and re-attaches to QEMUs still running. */
int manager_load(Manager *m);

Guest *manager_find_guest(Manager *m, uint32_t vmid);

/*
 * -EEXIST when the vmid is taken in the cluster; *ret_owner then names the node that holds it, when that is
 * another node. *ret_error explains an invalid config.
 */
int manager_create_guest(
        Manager *m, uint32_t vmid, const char *config, char **ret_error, char **ret_owner, Guest **ret);
int manager_destroy_guest(Manager *m, uint32_t vmid);
/* digest "" means: don't check. */
int guest_set_config(Guest *g, const char *config, const char *digest, char **ret_error);

typedef enum GuestAction {
        GUEST_ACTION_START,
        GUEST_ACTION_SHUTDOWN,
        GUEST_ACTION_STOP,
        GUEST_ACTION_SUSPEND,
        GUEST_ACTION_RESUME,
        GUEST_ACTION_REBOOT,
        _GUEST_ACTION_MAX,
        _GUEST_ACTION_INVALID = -EINVAL,
} GuestAction;

const char *guest_action_to_string(GuestAction a);
GuestAction guest_action_from_string(const char *s);
/* The task type of an action in UPIDs ("qmstart", ...). */
const char *guest_action_task_type(GuestAction a);

/*
 * Checks that the action is possible now and starts it as a task.
 * -EALREADY running, -ESRCH not running, -EBUSY another operation, -ENOLCK locked.
 */
int guest_act(Guest *g, GuestAction action, const GuestOptions *o, Task **ret);
/* The storage a suspend to disk saves the state on: id, or NULL for the first that holds images. */
const Storage *manager_state_storage(Manager *m, const char *id);

/* Bus side, implemented in guestd-bus.c. */
int manager_bus_register(Manager *m);
void guest_bus_emit_changed(Guest *g, const char *property, ...);
void guest_bus_emit_added(Guest *g);
void guest_bus_emit_removed(Guest *g);
void manager_bus_emit_guest_started(Manager *m, Guest *g);
void manager_bus_emit_guest_stopped(Manager *m, Guest *g, const char *run_id, const char *reason);
/* PropertiesChanged for one property of the Manager. */
void manager_bus_emit_changed(Manager *m, const char *property);
