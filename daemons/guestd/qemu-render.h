/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "guest-config.h"
#include "storage.h"

typedef struct QemuRenderContext {
        const char *qemu_binary; /* e.g. QEMU_SYSTEM_X86_64 from config.h */
        uint32_t vmid;
        const char *run_dir; /* this guest's runtime directory: pidfile, serial log, QMP socket */
        const char *default_accel; /* "kvm" or "tcg": the host's choice for configs that name no accel */
        const StorageConfig *storage; /* resolves disk volumes to paths */
        int qmp_fd; /* >= 0: a listening socket QEMU serves QMP on; -1: QEMU listens on <run_dir>/qmp.sock */
        int incoming_fd; /* >= 0: restore the saved state QEMU will read from this fd ("-incoming defer"); -1 otherwise */
        const char *events_socket; /* cleanupd's event socket, which a second QMP monitor connects to; NULL for none */
} QemuRenderContext;

/*
 * Renders the QEMU command line (NULL-terminated, owned by the caller) for a
 * guest config. Pure: nothing is read or written; volumes are only resolved to
 * path names. -EBADMSG with a message in ret_error (if given) for configs that
 * cannot be rendered: an unknown or disabled storage, a bad volume, a device
 * the machine type cannot take, initrd or append without a kernel.
 */
int qemu_render_argv(const GuestConfig *c, const QemuRenderContext *ctx, char ***ret_argv, char **ret_error);
