/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon.h"
#include "guestd.h"
#include "host-shutdown.h"
#include "log.h"

static unsigned arg_hook_timeout = 60;

static const DaemonOption options[] = {
        { "hook-timeout", "SECS", DAEMON_OPTION_SECONDS, &arg_hook_timeout, NULL,
                "when a pre-start, post-start or pre-stop hook is killed (default 60)" },
        {},
};

static int run(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        DaemonArgs args;
        Daemon d;
        int r;

        log_parse_environment();
        r = daemon_parse_argv(argc, argv, "berth-guestd",
                "Runs this node's guests (QEMU) and serves org.berth.guest1.", options, &args);
        if (r <= 0)
                return r;
        r = daemon_setup(&d, args.root, args.bus_address, args.store, args.node);
        if (r >= 0)
                r = manager_new(d.base, d.bus, d.store, d.node, &m);
        if (r >= 0) {
                m->hook_timeout_sec = arg_hook_timeout;
                r = manager_load(m);
        }
        /* The name is taken last: a client that sees it finds every guest loaded. Guests outlive the daemon. */
        if (r >= 0)
                r = daemon_serve(&d, "org.berth.guest1", "Serving guests");
        /* A SIGTERM while the host shuts down waits for the guests to be preserved. */
        if (r >= 0)
                r = host_shutdown_drain(m->host_shutdown, d.bus_event);
        m = manager_free(m);
        daemon_done(&d);
        return r;
}

int main(int argc, char *argv[])
{
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
