/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "guestd.h"

/* "kvm" when /dev/kvm can be opened, else "tcg": the accelerator of configs that name none. */
const char *qemu_host_default_accel(void);

/* The directory of a guest's runtime files: run/berth/qemu/<vmid>. */
char *qemu_run_dir(uint32_t vmid);

/* At daemon start: finds the guest's QEMU from its pidfile and QMP socket, or cleans up after it. */
void qemu_reattach(Guest *g);
/* Drops the daemon's handles on the guest's QEMU without stopping it. */
void qemu_detach(Guest *g);

int guest_save_config(Guest *g);

/* The task of the lifecycle operation under way, NULL when there is none. */
Task *qemu_operation_task(const Guest *g);

/* cleanupd reports a run of the guest clean (CleanupFinished). */
void qemu_on_run_clean(Guest *g, const char *run_id, const char *result);
