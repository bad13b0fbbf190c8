/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"

const sd_bus_error_map berth_error_map[] = {
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_GUEST, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_GUEST_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_CONFIG, EBADMSG),
        SD_BUS_ERROR_MAP(BERTH_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(BERTH_ERROR_LOCKED, ENOLCK),
        SD_BUS_ERROR_MAP(BERTH_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NOT_RUNNING, ESRCH),
        SD_BUS_ERROR_MAP(BERTH_ERROR_ALREADY_RUNNING, EALREADY),
        SD_BUS_ERROR_MAP(BERTH_ERROR_DIGEST_MISMATCH, ESTALE),
        SD_BUS_ERROR_MAP(BERTH_ERROR_PERMISSION_DENIED, EPERM),
        SD_BUS_ERROR_MAP(BERTH_ERROR_TIMEOUT, ETIMEDOUT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_TASK, ENXIO),
        SD_BUS_ERROR_MAP(BERTH_ERROR_NO_SUCH_WWID, ENODEV),
        SD_BUS_ERROR_MAP(BERTH_ERROR_ALIAS_IN_USE, EADDRINUSE),
        /* A hook script is a child process of the daemon that failed. */
        SD_BUS_ERROR_MAP(BERTH_ERROR_HOOK_FAILED, ECHILD),
        /* The store, etcd, is out of reach or without quorum. */
        SD_BUS_ERROR_MAP(BERTH_ERROR_UNAVAILABLE, EHOSTDOWN),
        /* After NoSuchGuest and GuestExists, which an ENOENT and an EEXIST stand for. */
        SD_BUS_ERROR_MAP(BERTH_ERROR_NOT_FOUND, ENOENT),
        SD_BUS_ERROR_MAP(BERTH_ERROR_EXISTS, EEXIST),
        /* A wrong user, password, ticket or token. */
        SD_BUS_ERROR_MAP(BERTH_ERROR_AUTHENTICATION_FAILED, EACCES),
        SD_BUS_ERROR_MAP(BERTH_ERROR_FAILED, EIO),
        SD_BUS_ERROR_MAP_END,
};

int berth_errors_register(void)
{
        int r = sd_bus_error_add_map(berth_error_map);
        return r < 0 ? r : 0;
}

int berth_bus_error_set_errnof(sd_bus_error *e, int error, const char *fmt, ...)
{
        const char *name = BERTH_ERROR_FAILED;
        char buf[1024];
        va_list ap;

        error = abs(error);
        for (const sd_bus_error_map *m = berth_error_map; m->name; m++)
                if (m->code == error) {
                        name = m->name;
                        break;
                }
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        sd_bus_error_set(e, name, buf);
        return -error;
}
