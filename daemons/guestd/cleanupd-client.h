/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "guestd.h"

/*
 * guestd's side of org.berth.cleanup1: berth-cleanupd owns what happens after
 * a QEMU run ends (its runtime files, volumes, post-stop hook), so guestd asks
 * it before starting a run, tells it about each new run and why a run is being
 * stopped, and learns from CleanupFinished when a run is clean.
 */

/* error is NULL on success, else the D-Bus error of the call (including the bus's own, e.g. no cleanupd). */
typedef void (*CleanupdReplyHandler)(const sd_bus_error *error, void *userdata);

/* The calls are asynchronous; unreferencing *ret_slot before the reply drops it without calling handler. */
int cleanupd_prepare_start(
        Manager *m, uint32_t vmid, CleanupdReplyHandler handler, void *userdata, sd_bus_slot **ret_slot);
int cleanupd_register_run(Manager *m, uint32_t vmid, const char *run_id, pid_t pid,
        CleanupdReplyHandler handler, void *userdata, sd_bus_slot **ret_slot);
int cleanupd_set_stop_intent(Manager *m, uint32_t vmid, const char *run_id, const char *reason,
        bool keep_active, CleanupdReplyHandler handler, void *userdata, sd_bus_slot **ret_slot);

/* Subscribes to CleanupFinished; each one for a guest of this node goes to qemu_on_run_clean(). */
int cleanupd_subscribe(Manager *m);
