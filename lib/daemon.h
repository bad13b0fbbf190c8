/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "bus.h"
#include "store.h"

/*
 * What every berth daemon does around its own model: the root prefix, the
 * node name, the store and the bus on one libevent loop, then serving its bus
 * name until SIGTERM or SIGINT with sd_notify telling systemd how it goes.
 */
typedef struct Daemon {
        char *node;
        struct event_base *base;
        sd_bus *bus;
        Store *store;
        BusEvent *bus_event;
} Daemon;

/*
 * Sets up everything but the daemon's own model. node NULL means the host name;
 * store_url NULL means file:<root>/var/lib/berth/store. Logs its failures.
 */
int daemon_setup(
        Daemon *d, const char *root, const char *bus_address, const char *store_url, const char *node);
/* Takes bus_name (once the model is ready for clients), then runs the loop until a signal stops it. */
int daemon_serve(Daemon *d, const char *bus_name, const char *status);
/* A timeout option's value: whole seconds, 1 to 86400; -EINVAL otherwise. */
int daemon_parse_seconds(const char *s, unsigned *ret);

/* Frees what daemon_setup() made; the daemon's model must be freed first. */
void daemon_done(Daemon *d);
