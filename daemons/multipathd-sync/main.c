/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "alloc.h"
#include "daemon.h"
#include "log.h"
#include "multipathd-sync.h"
#include "paths.h"

static const char *arg_root = "/";
static const char *arg_bus_address;
static char *arg_store;
static char *arg_node;
static unsigned arg_health_interval = 60;
static char *arg_multipathd;
static bool arg_multipathd_given;

static void help(void)
{
        printf("berth-multipathd-sync [OPTIONS]\n\n"
               "Applies the cluster's multipath configuration to this node, publishes the health of its "
               "maps and serves org.berth.multipath1.\n\n"
               "  --root DIR                prefix of every path (default /)\n"
               "  --bus-address ADDR        bus to serve on (default $BERTH_BUS_ADDRESS, else the system "
               "bus)\n"
               "  --store URL               the store (default file:<root>/var/lib/berth/store)\n"
               "  --node NAME               this node's name (default the host name)\n"
               "  --health-interval SECS    how often the health is published at least (default 60)\n"
               "  --multipathd PATH         the multipathd to reconfigure and ask for maps ('' for none;\n"
               "                            default: multipathd from $PATH with root /, else none)\n"
               "  -h --help                 show this help\n"
               "  --version                 show the version\n");
}

static int parse_argv(int argc, char *argv[])
{
        enum {
                ARG_ROOT = 0x100,
                ARG_BUS_ADDRESS,
                ARG_STORE,
                ARG_NODE,
                ARG_HEALTH_INTERVAL,
                ARG_MULTIPATHD,
                ARG_VERSION,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "root", required_argument, NULL, ARG_ROOT },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "store", required_argument, NULL, ARG_STORE },
                { "node", required_argument, NULL, ARG_NODE },
                { "health-interval", required_argument, NULL, ARG_HEALTH_INTERVAL },
                { "multipathd", required_argument, NULL, ARG_MULTIPATHD },
                {},
        };
        unsigned long v;
        char *end;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts(BERTH_VERSION);
                        return 0;
                case ARG_ROOT:
                        arg_root = optarg;
                        break;
                case ARG_BUS_ADDRESS:
                        arg_bus_address = optarg;
                        break;
                case ARG_STORE:
                        free(arg_store);
                        arg_store = xstrdup(optarg);
                        break;
                case ARG_NODE:
                        free(arg_node);
                        arg_node = xstrdup(optarg);
                        break;
                case ARG_HEALTH_INTERVAL:
                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || *optarg == '-' || v == 0 || v > 86400)
                                return log_error_errno(EINVAL, "Invalid number of seconds: %s", optarg);
                        arg_health_interval = (unsigned) v;
                        break;
                case ARG_MULTIPATHD:
                        if (!isempty(optarg) && optarg[0] != '/')
                                return log_error_errno(
                                        EINVAL, "--multipathd needs an absolute path: %s", optarg);
                        free(arg_multipathd);
                        arg_multipathd = isempty(optarg) ? NULL : xstrdup(optarg);
                        arg_multipathd_given = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        return 1;
}

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
        Daemon d;
        int r;

        log_parse_environment();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        r = daemon_setup(&d, arg_root, arg_bus_address, arg_store, arg_node);
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
        free(arg_store);
        free(arg_node);
        free(arg_multipathd);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
