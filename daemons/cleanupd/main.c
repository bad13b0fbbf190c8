/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "alloc.h"
#include "bus.h"
#include "cleanupd.h"
#include "errors.h"
#include "log.h"
#include "paths.h"

static const char *arg_root = "/";
static const char *arg_bus_address;
static char *arg_store;
static char *arg_node;
static unsigned arg_prepare_timeout = 10;
static unsigned arg_hook_timeout = 60;

static void help(void)
{
        printf("berth-cleanupd [OPTIONS]\n\n"
               "Cleans up after every run of this node's guests, exactly once, and serves "
               "org.berth.cleanup1.\n\n"
               "  --root DIR              prefix of every path (default /)\n"
               "  --bus-address ADDR      bus to serve on (default $BERTH_BUS_ADDRESS, else the system "
               "bus)\n"
               "  --store URL             the store (default file:<root>/var/lib/berth/store)\n"
               "  --node NAME             this node's name (default the host name)\n"
               "  --prepare-timeout SECS  how long PrepareStart waits for a run to end (default 10)\n"
               "  --hook-timeout SECS     when a post-stop hook is killed (default 60)\n"
               "  -h --help               show this help\n"
               "  --version               show the version\n");
}

static int parse_seconds(const char *s, unsigned *ret)
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

static int parse_argv(int argc, char *argv[])
{
        enum {
                ARG_ROOT = 0x100,
                ARG_BUS_ADDRESS,
                ARG_STORE,
                ARG_NODE,
                ARG_PREPARE_TIMEOUT,
                ARG_HOOK_TIMEOUT,
                ARG_VERSION,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "root", required_argument, NULL, ARG_ROOT },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "store", required_argument, NULL, ARG_STORE },
                { "node", required_argument, NULL, ARG_NODE },
                { "prepare-timeout", required_argument, NULL, ARG_PREPARE_TIMEOUT },
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
                case ARG_PREPARE_TIMEOUT:
                case ARG_HOOK_TIMEOUT:
                        if (parse_seconds(optarg,
                                    c == ARG_HOOK_TIMEOUT ? &arg_hook_timeout : &arg_prepare_timeout) < 0)
                                return log_error_errno(EINVAL, "Invalid number of seconds: %s", optarg);
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        return 1;
}

static char *default_node(void)
{
        char host[256] = {};

        if (gethostname(host, sizeof host - 1) < 0 || !*host)
                return xstrdup("localhost");
        host[strcspn(host, ".")] = 0;
        return xstrdup(host);
}

static void on_signal(evutil_socket_t sig, short what, void *userdata)
{
        log_info("Received %s, exiting; runs stay in the ledger.", strsignal((int) sig));
        event_base_loopbreak(userdata);
}

static int run(int argc, char *argv[])
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(bus_event_freep) BusEvent *bus_event = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(store_freep) Store *store = NULL;
        struct event_base *base = NULL;
        struct event *sigterm = NULL, *sigint = NULL;
        int r;

        log_parse_environment();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        (void) berth_errors_register();
        signal(SIGPIPE, SIG_IGN);

        r = paths_set_root(arg_root);
        if (r < 0)
                return log_error_errno(r, "Invalid root %s: %m", arg_root);
        if (!arg_node)
                arg_node = default_node();
        if (!arg_store) {
                _cleanup_free_ char *dir = root_path("var/lib/berth/store");
                arg_store = xasprintf("file:%s", dir);
        }

        base = event_base_new();
        if (!base)
                return log_oom();
        r = store_open(arg_store, base, &store);
        if (r < 0)
                return log_error_errno(r, "Failed to open the store %s: %m", arg_store);
        r = bus_open(arg_bus_address, &bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the bus: %m");
        r = manager_new(base, bus, store, arg_node, &m);
        if (r < 0)
                return r;
        m->prepare_timeout_sec = arg_prepare_timeout;
        m->hook_timeout_sec = arg_hook_timeout;
        r = manager_bus_register(m);
        if (r < 0)
                return r;
        r = manager_reconcile(m);
        if (r < 0)
                return r;
        /* Taken after reconciliation: a client that sees the name finds every run accounted for. */
        r = sd_bus_request_name(bus, "org.berth.cleanup1", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire org.berth.cleanup1: %m");
        r = bus_event_attach(bus, base, &bus_event);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        sigterm = evsignal_new(base, SIGTERM, on_signal, base);
        sigint = evsignal_new(base, SIGINT, on_signal, base);
        evsignal_add(sigterm, NULL);
        evsignal_add(sigint, NULL);

        (void) sd_notify(false, "READY=1\nSTATUS=Watching runs");
        log_info("berth-cleanupd %s serving node %s.", BERTH_VERSION, arg_node);
        r = bus_event_loop(bus_event);
        (void) sd_notify(false, "STOPPING=1");

        event_free(sigterm);
        event_free(sigint);
        m = manager_free(m);
        bus_event = bus_event_free(bus_event);
        store = store_free(store);
        event_base_free(base);
        return r;
}

int main(int argc, char *argv[])
{
        int r = run(argc, argv);
        free(arg_store);
        free(arg_node);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
