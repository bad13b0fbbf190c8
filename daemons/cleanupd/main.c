/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cleanupd.h"
#include "daemon.h"
#include "log.h"

static unsigned arg_prepare_timeout = 10;
static unsigned arg_hook_timeout = 60;

static const DaemonOption options[] = {
        { "prepare-timeout", "SECS", DAEMON_OPTION_SECONDS, &arg_prepare_timeout, NULL,
                "how long PrepareStart waits for a run to end (default 10)" },
        { "hook-timeout", "SECS", DAEMON_OPTION_SECONDS, &arg_hook_timeout, NULL,
                "when a post-stop hook is killed (default 60)" },
        {},
};

static int run(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        DaemonArgs args;
        Daemon d;
        int r;

        log_parse_environment();
        r = daemon_parse_argv(argc, argv,
                "berth-cleanupd", "Cleans up after every run of this node's guests, exactly once, and serves org.berth.cleanup1.",
                options, &args);
        if (r <= 0)
                return r;
        r = daemon_setup(&d, args.root, args.bus_address, args.store, args.node);
        if (r >= 0)
                r = manager_new(d.base, d.bus, d.store, d.node, &m);
        if (r >= 0) {
                m->prepare_timeout_sec = arg_prepare_timeout;
                m->hook_timeout_sec = arg_hook_timeout;
                r = manager_bus_register(m);
        }
        if (r >= 0)
                r = manager_listen_events(m);
        if (r >= 0)
                r = manager_reconcile(m);
        /* Taken after reconciliation: a client that sees the name finds every run accounted for. */
        if (r >= 0)
                r = daemon_serve(&d, "org.berth.cleanup1", "Watching runs");
        m = manager_free(m);
        daemon_done(&d);
        return r;
}

int main(int argc, char *argv[])
{
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
