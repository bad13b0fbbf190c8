/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "bus.h"
#include "log.h"

int bus_open(const char *address, sd_bus **ret)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (isempty(address))
                address = getenv("BERTH_BUS_ADDRESS");
        if (isempty(address))
                return sd_bus_open_system(ret);

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_set_trusted(bus, false);
        if (r < 0)
                return r;
        r = sd_bus_negotiate_creds(bus, true, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

struct BusEvent {
        sd_bus *bus;
        struct event_base *base;
        struct event *io;
        struct event *timer;
        short armed_events;
        int fd;
};

static void bus_event_dispatch(BusEvent *b)
{
        int r;

        do
                r = sd_bus_process(b->bus, NULL);
        while (r > 0);
        if (r < 0) {
                log_error_errno(r, "Bus connection failed: %m");
                event_base_loopbreak(b->base);
                return;
        }
        bus_event_rearm(b);
}

static void on_io(evutil_socket_t fd _unused_, short what _unused_, void *userdata)
{
        bus_event_dispatch(userdata);
}

static void on_timer(evutil_socket_t fd _unused_, short what _unused_, void *userdata)
{
        bus_event_dispatch(userdata);
}

static uint64_t now_monotonic_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

void bus_event_rearm(BusEvent *b)
{
        uint64_t until;
        short want = EV_READ;
        int events = sd_bus_get_events(b->bus);

        if (events > 0 && (events & POLLOUT))
                want |= EV_WRITE;
        if (!b->io || want != b->armed_events) {
                if (b->io)
                        event_free(b->io);
                b->io = event_new(b->base, b->fd, want | EV_PERSIST, on_io, b);
                if (!b->io)
                        abort();
                event_add(b->io, NULL);
                b->armed_events = want;
        }

        event_del(b->timer);
        if (sd_bus_get_timeout(b->bus, &until) >= 0 && until != UINT64_MAX) {
                uint64_t now = now_monotonic_usec(), rel = until > now ? until - now : 0;
                struct timeval tv = { .tv_sec = (time_t) (rel / 1000000),
                        .tv_usec = (suseconds_t) (rel % 1000000) };
                event_add(b->timer, &tv);
        }
}

int bus_event_attach(sd_bus *bus, struct event_base *base, BusEvent **ret)
{
        _cleanup_(bus_event_freep) BusEvent *b = new0(BusEvent, 1);

        b->fd = sd_bus_get_fd(bus);
        if (b->fd < 0)
                return b->fd;
        b->bus = sd_bus_ref(bus);
        b->base = base;
        b->timer = evtimer_new(base, on_timer, b);
        if (!b->timer)
                abort();
        bus_event_rearm(b);
        *ret = TAKE_PTR(b);
        return 0;
}

BusEvent *bus_event_free(BusEvent *b)
{
        if (!b)
                return NULL;
        if (b->io)
                event_free(b->io);
        if (b->timer)
                event_free(b->timer);
        sd_bus_unref(b->bus);
        free(b);
        return NULL;
}

int bus_event_loop(BusEvent *b)
{
        for (;;) {
                bus_event_rearm(b);
                int r = event_base_loop(b->base, EVLOOP_ONCE);
                if (r < 0)
                        return -EIO;
                if (event_base_got_break(b->base) || event_base_got_exit(b->base))
                        return 0;
        }
}
