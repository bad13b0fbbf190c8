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

/* The command line every daemon takes: --root, --bus-address, --store, --node, --help, --version. */
typedef struct DaemonArgs {
        const char *root; /* "/" unless given */
        const char *bus_address;
        const char *store;
        const char *node;
} DaemonArgs;

typedef enum DaemonOptionType {
        DAEMON_OPTION_SECONDS, /* whole seconds, 1 to 86400, into an unsigned */
        DAEMON_OPTION_PATH, /* an absolute path into a const char *, or "" for none (NULL) */
} DaemonOptionType;

/* An option of one daemon's own: --<name> <metavar>. */
typedef struct DaemonOption {
        const char *name;
        const char *metavar;
        DaemonOptionType type;
        void *value;
        bool *given; /* set when the option was given; may be NULL */
        const char *help;
} DaemonOption;

/*
 * Parses the command line of daemon name: the common options into args and
 * the daemon's own (a table ending with an empty entry) into their values.
 * Returns 1 to run, 0 after printing the help or the version, -EINVAL (logged)
 * for a bad command line. Values point into argv.
 */
int daemon_parse_argv(int argc, char *argv[], const char *name, const char *summary,
        const DaemonOption *options, DaemonArgs *args);

/* Frees what daemon_setup() made; the daemon's model must be freed first. */
void daemon_done(Daemon *d);
