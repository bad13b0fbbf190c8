/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Kernel uevents, as the kernel multicasts them on NETLINK_KOBJECT_UEVENT
 * group 1: "ACTION@DEVPATH" then NUL-separated "KEY=value" entries. A map's
 * health changes with events of the block subsystem: paths (sdX) coming and
 * going, and device-mapper's own (DM_ACTION=PATH_FAILED, PATH_REINSTATED) on
 * the multipath maps. Pure.
 */

/* Whether the message is a well-formed uevent of the block subsystem. */
bool block_uevent_matches(const char *msg, size_t n);
