/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "alloc.h"
#include "daemon.h"
#include "errors.h"
#include "log.h"
#include "paths.h"

static char *default_node(void)
{
        char host[256] = {};

        if (gethostname(host, sizeof host - 1) < 0 || !*host)
                return xstrdup("localhost");
        host[strcspn(host, ".")] = 0;
        return xstrdup(host);
}

int daemon_setup(Daemon *d, const char *root, const char *bus_address, const char *store_url, const char *node)
{
        _cleanup_free_ char *url = NULL;
        int r;

        *d = (Daemon){};
        (void) berth_errors_register();
        /* A peer that goes away mid-write must not take the daemon with it. */
        signal(SIGPIPE, SIG_IGN);

        r = paths_set_root(root);
        if (r < 0)
                return log_error_errno(r, "Invalid root %s: %m", root);
        d->node = node ? xstrdup(node) : default_node();
        if (store_url)
                url = xstrdup(store_url);
        else {
                _cleanup_free_ char *dir = root_path("var/lib/berth/store");
                url = xasprintf("file:%s", dir);
        }

        d->base = event_base_new();
        if (!d->base)
                return log_oom();
        r = store_open(url, d->base, &d->store);
        if (r < 0)
                return log_error_errno(r, "Failed to open the store %s: %m", url);
        r = bus_open(bus_address, &d->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the bus: %m");
        return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *userdata)
{
        log_info("Received %s, exiting.", strsignal((int) sig));
        event_base_loopbreak(userdata);
}

int daemon_serve(Daemon *d, const char *bus_name, const char *status)
{
        _cleanup_free_ char *notify = xasprintf("READY=1\nSTATUS=%s", status);
        struct event *sigterm, *sigint;
        int r;

        r = sd_bus_request_name(d->bus, bus_name, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire %s: %m", bus_name);
        r = bus_event_attach(d->bus, d->base, &d->bus_event);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        sigterm = evsignal_new(d->base, SIGTERM, on_signal, d->base);
        sigint = evsignal_new(d->base, SIGINT, on_signal, d->base);
        evsignal_add(sigterm, NULL);
        evsignal_add(sigint, NULL);

        (void) sd_notify(false, notify);
        log_info("%s %s serving node %s.", bus_name, BERTH_VERSION, d->node);
        r = bus_event_loop(d->bus_event);
        (void) sd_notify(false, "STOPPING=1");

        event_free(sigterm);
        event_free(sigint);
        return r;
}

void daemon_done(Daemon *d)
{
        bus_event_free(d->bus_event);
        store_free(d->store);
        sd_bus_flush_close_unref(d->bus);
        if (d->base)
                event_base_free(d->base);
        free(d->node);
        *d = (Daemon){};
}

int daemon_parse_seconds(const char *s, unsigned *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end || *s == '-' || v == 0 || v > 86400)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}
