/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "macro.h"

/* The D-Bus error names of berth, shared by daemons and clients. */
#define BERTH_ERROR_NO_SUCH_GUEST "org.berth.Error.NoSuchGuest"
#define BERTH_ERROR_GUEST_EXISTS "org.berth.Error.GuestExists"
#define BERTH_ERROR_INVALID_CONFIG "org.berth.Error.InvalidConfig"
#define BERTH_ERROR_INVALID_ARGUMENT "org.berth.Error.InvalidArgument"
#define BERTH_ERROR_LOCKED "org.berth.Error.Locked"
#define BERTH_ERROR_BUSY "org.berth.Error.Busy"
#define BERTH_ERROR_NOT_RUNNING "org.berth.Error.NotRunning"
#define BERTH_ERROR_ALREADY_RUNNING "org.berth.Error.AlreadyRunning"
#define BERTH_ERROR_DIGEST_MISMATCH "org.berth.Error.DigestMismatch"
#define BERTH_ERROR_PERMISSION_DENIED "org.berth.Error.PermissionDenied"
#define BERTH_ERROR_TIMEOUT "org.berth.Error.Timeout"
#define BERTH_ERROR_NO_SUCH_TASK "org.berth.Error.NoSuchTask"
#define BERTH_ERROR_NO_SUCH_WWID "org.berth.Error.NoSuchWwid"
#define BERTH_ERROR_ALIAS_IN_USE "org.berth.Error.AliasInUse"
#define BERTH_ERROR_HOOK_FAILED "org.berth.Error.HookFailed"
#define BERTH_ERROR_UNAVAILABLE "org.berth.Error.Unavailable"
#define BERTH_ERROR_NOT_FOUND "org.berth.Error.NotFound"
#define BERTH_ERROR_EXISTS "org.berth.Error.Exists"
#define BERTH_ERROR_AUTHENTICATION_FAILED "org.berth.Error.AuthenticationFailed"
#define BERTH_ERROR_FAILED "org.berth.Error.Failed"

/* Name ↔ errno table, registered with sd_bus_error_add_map() by berth_errors_register(). */
extern const sd_bus_error_map berth_error_map[];

/* Registers berth's error map with sd-bus; call once at start-up of every daemon and client. */
int berth_errors_register(void);

/*
 * Sets a berth error from a negative errno through the table (unmapped errnos
 * become org.berth.Error.Failed) with a formatted message; returns the errno.
 */
int berth_bus_error_set_errnof(sd_bus_error *e, int error, const char *fmt, ...) _printf_(3, 4);
