/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>

#include "alloc.h"
#include "daemon.h"
#include "guestd.h"
#include "host-shutdown.h"
#include "log.h"

static const char *arg_root = "/";
static const char *arg_bus_address;
static char *arg_store;
static char *arg_node;
static unsigned arg_hook_timeout = 60;

static void help(void)
{
        printf("berth-guestd [OPTIONS]\n\n"
               "Runs this node's guests (QEMU) and serves org.berth.guest1.\n\n"
               "  --root DIR          prefix of every path (default /)\n"
               "  --bus-address ADDR  bus to serve on (default $BERTH_BUS_ADDRESS, else the system bus)\n"
               "  --store URL         the store (default file:<root>/var/lib/berth/store)\n"
               "  --node NAME         this node's name (default the host name)\n"
               "  --hook-timeout SECS when a pre-start, post-start or pre-stop hook is killed (default 60)\n"
               "  -h --help           show this help\n"
               "  --version           show the version\n");
}

static int parse_argv(int argc, char *argv[])
{
        enum { ARG_ROOT = 0x100, ARG_BUS_ADDRESS, ARG_STORE, ARG_NODE, ARG_HOOK_TIMEOUT, ARG_VERSION };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "root", required_argument, NULL, ARG_ROOT },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "store", required_argument, NULL, ARG_STORE },
                { "node", required_argument, NULL, ARG_NODE },
                { "hook-timeout", required_argument, NULL, ARG_HOOK_TIMEOUT },
                {},
        };
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
                case ARG_HOOK_TIMEOUT:
                        if (daemon_parse_seconds(optarg, &arg_hook_timeout) < 0)
                                return log_error_errno(EINVAL, "Invalid number of seconds: %s", optarg);
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        return 1;
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
        free(arg_store);
        free(arg_node);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
