/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What happens to the guests when the host shuts down. While any guest runs,
 * guestd holds a logind "delay" inhibitor for shutdown; on PrepareForShutdown(true)
 * it runs the shutdown policy over every running guest (each guest's steps
 * save, shutdown, poweroff tried in order; reverse startup order; a parallel
 * limit), then lets the inhibitor go. A SIGTERM that arrives meanwhile waits
 * for the run to end, with sd_notify EXTEND_TIMEOUT_USEC= telling systemd how
 * much longer; a SIGTERM without a shutdown leaves every guest running.
 *
 * Settings, most specific first: the Preserve() options, the guest's own
 * shutdown-policy and startup down=, then berth.conf (see lib/berth-conf.h).
 */

#include "bus.h"
#include "guestd.h"

/* The options of Manager.Preserve(). */
typedef struct PreserveOptions {
        uint32_t shutdown_timeout; /* seconds; 0: the guest's down=, else berth.conf's */
        uint32_t parallel; /* 0: berth.conf's */
        char *policy; /* NULL: the guest's own, else berth.conf's */
        char *user;
} PreserveOptions;

void preserve_options_done(PreserveOptions *o);

int host_shutdown_new(Manager *m, HostShutdown **ret);
HostShutdown *host_shutdown_free(HostShutdown *hs);

/* Guests started or stopped: takes, renames or releases the inhibitor. */
void host_shutdown_guests_changed(HostShutdown *hs);

/* Runs the policy over the running guests now, as a task. -EBUSY while a run is under way. */
int host_shutdown_preserve(HostShutdown *hs, const PreserveOptions *o, Task **ret);

bool host_shutdown_inhibited(const HostShutdown *hs);
bool host_shutdown_shutting_down(const HostShutdown *hs);

/*
 * After the main loop ended on SIGTERM: when the host is shutting down (a run
 * is under way, or systemd is stopping the system), serves until the guests
 * are preserved. Returns at once otherwise.
 */
int host_shutdown_drain(HostShutdown *hs, BusEvent *be);

/* The store keys of the guests a preserve saved, "<prefix><vmid>": restored at the next boot. */
char *preserved_prefix(const Manager *m);
