/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What guestd starts when the host has booted: the guests a preserve saved
 * (restored, then their marks removed), then the guests with onboot: 1 in
 * startup order (order= ascending, guests without an order last, up= seconds
 * after each order group), then the guests with autostart-once: 1 in their
 * config (the key is removed before the start, so it happens once). All of it
 * with berth.conf's parallel limit, as one "startall" task; a failure is
 * logged and the rest go on.
 *
 * Only the first start of guestd after the host booted does this: the host's
 * boot id is recorded in <root>/run/berth/guestd.boot-id, so a daemon restart
 * (an upgrade, systemctl restart) never starts guests the admin has stopped.
 * /run is a tmpfs that a reboot empties; the boot id covers a root whose run/
 * outlives reboots, such as a development root.
 */

#include "guestd.h"

/* At daemon start, once the guests are loaded: begins the boot starts if the host booted since guestd last ran. */
void boot_schedule(Manager *m);
/* No further guest is started (a host shutdown is under way). */
void boot_cancel(Boot *b);
Boot *boot_free(Boot *b);
