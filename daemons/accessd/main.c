/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "accessd.h"
#include "daemon.h"
#include "log.h"

static const DaemonOption options[] = {
        {},
};

static int run(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        DaemonArgs args;
        Daemon d;
        int r;

        log_parse_environment();
        r = daemon_parse_argv(argc, argv, "berth-accessd",
                "Serves users, groups, roles, ACLs, API tokens, logins and tickets on org.berth.access1.",
                options, &args);
        if (r <= 0)
                return r;
        r = daemon_setup(&d, args.root, args.bus_address, args.store, args.node);
        if (r >= 0)
                r = manager_new(d.base, d.bus, d.store, &m);
        if (r >= 0)
                r = manager_bus_register(m);
        if (r >= 0)
                r = daemon_serve(&d, "org.berth.access1", "Serving access control");
        m = manager_free(m);
        daemon_done(&d);
        return r;
}

int main(int argc, char *argv[])
{
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
