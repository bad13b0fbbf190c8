/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
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

static const DaemonOption common_options[] = {
        { "root", "DIR", .help = "prefix of every path (default /)" },
        { "bus-address", "ADDR", .help = "bus to serve on (default $BERTH_BUS_ADDRESS, else the system bus)" },
        { "store", "URL", .help = "the store (default file:<root>/var/lib/berth/store)" },
        { "node", "NAME", .help = "this node's name (default the host name)" },
};

static void print_option(const DaemonOption *o)
{
        _cleanup_free_ char *left = xasprintf("--%s %s", o->name, o->metavar);
        printf("  %-24s %s\n", left, o->help);
}

static void help(const char *name, const char *summary, const DaemonOption *options)
{
        printf("%s [OPTIONS]\n\n%s\n\n", name, summary);
        for (size_t i = 0; i < ELEMENTSOF(common_options); i++)
                print_option(&common_options[i]);
        for (const DaemonOption *o = options; o->name; o++)
                print_option(o);
        printf("  %-24s %s\n  %-24s %s\n", "-h --help", "show this help", "--version", "show the version");
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

static int parse_option(const DaemonOption *o, const char *value)
{
        switch (o->type) {
        case DAEMON_OPTION_SECONDS:
                if (parse_seconds(value, o->value) < 0)
                        return log_error_errno(EINVAL, "--%s: invalid number of seconds: %s", o->name, value);
                break;
        case DAEMON_OPTION_PATH:
                if (*value && *value != '/')
                        return log_error_errno(EINVAL, "--%s needs an absolute path: %s", o->name, value);
                *(const char **) o->value = *value ? value : NULL;
                break;
        }
        if (o->given)
                *o->given = true;
        return 0;
}

int daemon_parse_argv(int argc, char *argv[], const char *name, const char *summary,
        const DaemonOption *options, DaemonArgs *args)
{
        enum { ARG_VERSION = 0x100, ARG_COMMON };
        const char **common_values[] = { &args->root, &args->bus_address, &args->store, &args->node };
        _cleanup_free_ struct option *longopts = NULL;
        size_t n_own = 0, n = 0;
        int c, index;

        *args = (DaemonArgs){ .root = "/" };
        while (options[n_own].name)
                n_own++;
        longopts = new0(struct option, 2 + ELEMENTSOF(common_options) + n_own + 1);
        longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
        longopts[n++] = (struct option){ "version", no_argument, NULL, ARG_VERSION };
        for (size_t i = 0; i < ELEMENTSOF(common_options); i++)
                longopts[n++] = (struct option){ common_options[i].name, required_argument, NULL, ARG_COMMON };
        for (size_t i = 0; i < n_own; i++)
                longopts[n++] = (struct option){ options[i].name, required_argument, NULL, ARG_COMMON };

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", longopts, &index)) >= 0)
                switch (c) {
                case 'h':
                        help(name, summary, options);
                        return 0;
                case ARG_VERSION:
                        puts(BERTH_VERSION);
                        return 0;
                case ARG_COMMON:
                        /* The long options are help, version, the common ones, then the daemon's own. */
                        if ((size_t) index < 2 + ELEMENTSOF(common_options))
                                *common_values[index - 2] = optarg;
                        else if (parse_option(&options[index - 2 - ELEMENTSOF(common_options)], optarg) < 0)
                                return -EINVAL;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        return 1;
}
