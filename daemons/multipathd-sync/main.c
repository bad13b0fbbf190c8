/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "alloc.h"
#include "daemon.h"
#include "log.h"
#include "multipathd-sync.h"
#include "paths.h"

static unsigned arg_health_interval = 60;
static const char *arg_multipathd;
static bool arg_multipathd_given;

static const DaemonOption options[] = {
        { "health-interval", "SECS", DAEMON_OPTION_SECONDS, &arg_health_interval, NULL,
                "how often the health is published at least (default 60)" },
        { "multipathd", "PATH", DAEMON_OPTION_PATH, &arg_multipathd, &arg_multipathd_given,
                "the multipathd to reconfigure and ask for maps ('' for none; default: multipathd from "
                "$PATH "
                "with root /, else none)" },
        {},
};

/* The first executable name in $PATH, as an absolute path (spawn() runs nothing else); NULL if none. */
static char *find_in_path(const char *name)
{
        const char *path = getenv("PATH");

        if (isempty(path))
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (const char *p = path;;) {
                size_t n = strcspn(p, ":");

                if (n > 0 && p[0] == '/') {
                        _cleanup_free_ char *candidate = xasprintf("%.*s/%s", (int) n, p, name);
                        if (access(candidate, X_OK) == 0)
                                return TAKE_PTR(candidate);
                }
                if (!p[n])
                        return NULL;
                p += n + 1;
        }
}

/* By default only for root prefix "/": a multipathd reads /etc, whatever prefix the drop-ins went to. */
static char *find_multipathd(void)
{
        if (!arg_multipathd_given)
                return streq(paths_root(), "/") ? find_in_path("multipathd") : NULL;
        if (arg_multipathd && access(arg_multipathd, X_OK) == 0)
                return xstrdup(arg_multipathd);
        return NULL;
}

/* berth-multipath-validate beside this binary (a build tree), else NULL: the installed one. */
static char *find_validate_helper(void)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        char *helper;

        if (n <= 0)
                return NULL;
        self[n] = 0;
        *strrchr(self, '/') = 0;
        helper = xasprintf("%s/berth-multipath-validate", self);
        if (access(helper, X_OK) == 0)
                return helper;
        free(helper);
        return NULL;
}

static int run(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        DaemonArgs args;
        Daemon d;
        int r;

        log_parse_environment();
        r = daemon_parse_argv(argc, argv, "berth-multipathd-sync",
                "Applies the cluster's multipath configuration to this node, publishes the health of its "
                "maps and serves org.berth.multipath1.",
                options, &args);
        if (r <= 0)
                return r;
        r = daemon_setup(&d, args.root, args.bus_address, args.store, args.node);
        if (r >= 0)
                r = manager_new(d.base, d.bus, d.store, d.node, &m);
        if (r >= 0) {
                m->health_interval_sec = arg_health_interval;
                m->multipathd = find_multipathd();
                m->validate_helper = find_validate_helper();
                if (!m->multipathd)
                        log_notice(
                                "%s: configurations are installed without reconfiguring multipathd, and no "
                                "maps are reported.",
                                arg_multipathd_given               ? "No multipathd given"
                                        : streq(paths_root(), "/") ? "No multipathd in $PATH"
                                                                   : "Root prefix other than /");
                r = manager_bus_register(m);
        }
        if (r >= 0)
                r = manager_start(m);
        /* Taken after the first apply: a client that sees the name finds its outcome in the properties. */
        if (r >= 0)
                r = daemon_serve(&d, "org.berth.multipath1", "Applying the multipath configuration");
        m = manager_free(m);
        daemon_done(&d);
        return r;
}

int main(int argc, char *argv[])
{
        int r = run(argc, argv);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
