/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* sd-bus.h defines sd_bus_unrefp, sd_bus_message_unrefp etc. itself. */
#define _cleanup_bus_error_ _cleanup_(sd_bus_error_free)

/*
 * Opens the bus berth talks on: the address given (--bus-address), else
 * $BERTH_BUS_ADDRESS, else the system bus. Clients and daemons alike.
 */
int bus_open(const char *address, sd_bus **ret);

/* sd-bus attached to a libevent loop: an fd event and an absolute-monotonic timer. */
typedef struct BusEvent BusEvent;

int bus_event_attach(sd_bus *bus, struct event_base *base, BusEvent **ret);
BusEvent *bus_event_free(BusEvent *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusEvent *, bus_event_free);
/* Brings the fd events and the timer in line with what sd-bus now wants. */
void bus_event_rearm(BusEvent *b);

/*
 * Runs the loop until event_base_loopbreak()/loopexit(). Before every poll it
 * re-arms the bus, so messages queued outside bus callbacks (a QMP event, a
 * timer) get flushed without the caller having to remember it.
 */
int bus_event_loop(BusEvent *b);
