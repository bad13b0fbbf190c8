/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include "alloc.h"
#include "bus.h"
#include "fileio.h"
#include "multipath.h"
#include "output.h"

#define MULTIPATH_SERVICE "org.berth.multipath1"
#define MULTIPATH_PATH "/org/berth/multipath1"
#define MULTIPATH_INTERFACE "org.berth.multipath1.Manager"

typedef enum Option {
        OPTION_DIGEST = 1 << 0,
        OPTION_DELETE = 1 << 1,
        OPTION_FORCE = 1 << 2,
} Option;

static const char *arg_bus_address;
static OutputMode arg_output = OUTPUT_TEXT;
static Option arg_given;
static const char *arg_digest;
static char **arg_delete;
static bool arg_force;

#define usage_error(...) usage_error_for("multipath ", __VA_ARGS__)

/* A method call with its arguments but the trailing a{sv} of options, which call() adds. */
static int new_call(sd_bus *bus, const char *method, sd_bus_message **ret)
{
        int r = sd_bus_message_new_method_call(
                bus, ret, MULTIPATH_SERVICE, MULTIPATH_PATH, MULTIPATH_INTERFACE, method);
        if (r < 0)
                return error_errno(r, "Failed to build the %s call: %m", method);
        return 0;
}

static int call(sd_bus *bus, sd_bus_message *m, sd_bus_message **ret_reply)
{
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return error_errno(r, "Failed to build the call: %m");
        r = sd_bus_call(bus, m, 0, &error, ret_reply);
        if (r < 0)
                return error_bus(r, &error);
        return 0;
}

/* KEY=VALUE arguments as the a{sv} of knob settings. */
static int append_settings(sd_bus_message *m, char **args)
{
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        STRV_FOREACH (a, args) {
                const char *eq = strchr(*a, '=');
                if (!eq || eq == *a)
                        return usage_error("Expected KEY=VALUE, got '%s'", *a);
                _cleanup_free_ char *key = xstrndup(*a, eq - *a);
                if (r >= 0)
                        r = sd_bus_message_append(m, "{sv}", key, "s", eq + 1);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, arg_delete);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", strempty(arg_digest));
        if (r < 0)
                return error_errno(r, "Failed to build the call: %m");
        return 0;
}

static void print_section(const char *header, json_object *alias, json_object *knobs)
{
        printf("%s\n", header);
        if (alias)
                printf("\talias %s\n", json_object_get_string(alias));
        json_object_object_foreach (knobs, key, value)
                printf("\t%s %s\n", key, json_object_get_string(value));
}

static int verb_config(sd_bus *bus, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        static const char *const keys[] = { "defaults", "wwids", "aliases", "luns", "overrides", "digest" };
        int r;

        r = new_call(bus, "GetConfig", &m);
        if (r >= 0)
                r = call(bus, m, &reply);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                json_object *v;
                char type;

                r = sd_bus_message_peek_type(reply, &type, NULL);
                if (r >= 0)
                        r = type == 'a' && i != 1 ? bus_message_read_properties(reply, NULL, &v)
                                                  : bus_message_read_json(reply, &v);
                if (r < 0)
                        return error_errno(r, "Failed to parse the reply of GetConfig: %m");
                json_object_object_add(o, keys[i], v);
        }
        if (arg_output == OUTPUT_JSON) {
                output_json(o);
                return 0;
        }

        /* multipath.cfg's own form, defaults as multipathd uses them, then the overrides as stored. */
        json_object *wwids = json_object_object_get(o, "wwids"),
                    *aliases = json_object_object_get(o, "aliases"),
                    *luns = json_object_object_get(o, "luns");
        const char *overrides = json_object_get_string(json_object_object_get(o, "overrides"));

        print_section("defaults: defaults", NULL, json_object_object_get(o, "defaults"));
        for (size_t i = 0; i < json_object_array_length(wwids); i++) {
                const char *wwid = json_object_get_string(json_object_array_get_idx(wwids, i));
                _cleanup_free_ char *header = xasprintf("\nwwid: %s", wwid);

                print_section(
                        header, json_object_object_get(aliases, wwid), json_object_object_get(luns, wwid));
        }
        printf("\n# multipath-overrides.conf%s\n%s", isempty(overrides) ? ": none" : "", strempty(overrides));
        if (!isempty(overrides) && !endswith(overrides, "\n"))
                putchar('\n');
        printf("# digest %s\n", json_object_get_string(json_object_object_get(o, "digest")));
        return 0;
}

static int verb_set_defaults(sd_bus *bus, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_call(bus, "SetDefaults", &m);
        if (r >= 0)
                r = append_settings(m, args);
        if (r < 0)
                return r;
        return call(bus, m, NULL);
}

static int verb_update_wwid(sd_bus *bus, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_call(bus, "UpdateWwid", &m);
        if (r >= 0 && (r = sd_bus_message_append(m, "s", args[0])) < 0)
                return error_errno(r, "Failed to build the call: %m");
        if (r >= 0)
                r = append_settings(m, args + 1);
        if (r < 0)
                return r;
        return call(bus, m, NULL);
}

/* The verbs whose arguments are strings and nothing else, in order: the method's own signature. */
static int call_strings(sd_bus *bus, const char *method, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_call(bus, method, &m);
        if (r < 0)
                return r;
        STRV_FOREACH (a, args) {
                r = sd_bus_message_append(m, "s", *a);
                if (r < 0)
                        return error_errno(r, "Failed to build the %s call: %m", method);
        }
        return call(bus, m, NULL);
}

static int verb_add_wwid(sd_bus *bus, char **args)
{
        return call_strings(bus, "AddWwid", args);
}

static int verb_set_alias(sd_bus *bus, char **args)
{
        return call_strings(bus, "SetAlias", args);
}

static int verb_remove_alias(sd_bus *bus, char **args)
{
        return call_strings(bus, "RemoveAlias", args);
}

static int verb_remove_wwid(sd_bus *bus, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_call(bus, "RemoveWwid", &m);
        if (r >= 0 && (r = sd_bus_message_append(m, "sb", args[0], arg_force)) < 0)
                return error_errno(r, "Failed to build the RemoveWwid call: %m");
        if (r < 0)
                return r;
        return call(bus, m, NULL);
}

static int verb_set_overrides(sd_bus *bus, char **args)
{
        _cleanup_free_ char *text = NULL;
        const char *path = streq(args[0], "-") ? "/dev/stdin" : args[0];
        int r;

        r = read_full_file(path, &text, NULL);
        if (r < 0)
                return error_errno(r, "Failed to read %s: %m", args[0]);
        return call_strings(bus, "SetOverrides", (char *[]){ text, (char *) strempty(arg_digest), NULL });
}

static int verb_apply(sd_bus *bus, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t generation;
        int r;

        r = new_call(bus, "Apply", &m);
        if (r >= 0)
                r = call(bus, m, NULL);
        if (r < 0)
                return r;
        r = sd_bus_get_property_trivial(bus, MULTIPATH_SERVICE, MULTIPATH_PATH, MULTIPATH_INTERFACE,
                "ApplyGeneration", &error, 't', &generation);
        if (r < 0)
                return error_bus(r, &error);
        printf("Applied generation %" PRIu64 ".\n", generation);
        return 0;
}

static char *timestamp_text(uint64_t usec)
{
        time_t t = (time_t) (usec / 1000000);
        char buf[64];
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return xstrdup("-");
        return xstrdup(buf);
}

static const char *get_string(json_object *record, const char *key)
{
        return json_object_get_string(json_object_object_get(record, key));
}

static int64_t get_int(json_object *record, const char *key)
{
        return json_object_get_int64(json_object_object_get(record, key));
}

/* The matrix as a table: a row per LUN with its roll-up, a column per node with the cell's state and paths. */
static void output_matrix(json_object *luns, json_object *cells, json_object *nodes)
{
        _cleanup_(json_object_putp) json_object *rows = json_object_new_array();
        _cleanup_strv_free_ char **columns = NULL;

        strv_push(&columns, "wwid");
        strv_push(&columns, "alias");
        strv_push(&columns, "state");
        for (size_t i = 0; i < json_object_array_length(nodes); i++)
                strv_push(&columns, get_string(json_object_array_get_idx(nodes, i), "node"));

        for (size_t i = 0; i < json_object_array_length(luns); i++) {
                json_object *lun = json_object_array_get_idx(luns, i), *row = json_object_new_object();
                const char *wwid = get_string(lun, "wwid");

                json_object_object_add(row, "wwid", json_object_new_string(wwid));
                json_object_object_add(row, "alias", json_object_get(json_object_object_get(lun, "alias")));
                json_object_object_add(row, "state", json_object_get(json_object_object_get(lun, "state")));
                for (size_t c = 0; c < json_object_array_length(cells); c++) {
                        json_object *cell = json_object_array_get_idx(cells, c);
                        int64_t total = get_int(cell, "paths-total");

                        if (!streq(get_string(cell, "wwid"), wwid))
                                continue;
                        _cleanup_free_ char *text = total > 0
                                ? xasprintf("%s:%" PRIi64 "/%" PRIi64, get_string(cell, "state"),
                                          get_int(cell, "paths-active"), total)
                                : xstrdup(get_string(cell, "state"));
                        json_object_object_add(row, get_string(cell, "node"), json_object_new_string(text));
                }
                json_object_array_add(rows, row);
        }
        output_records(OUTPUT_TEXT, rows, (const char *const *) columns);
}

static void output_nodes(json_object *nodes)
{
        _cleanup_(json_object_putp) json_object *rows = json_object_new_array();

        for (size_t i = 0; i < json_object_array_length(nodes); i++) {
                json_object *n = json_object_array_get_idx(nodes, i), *row = json_object_new_object();
                const char *apply_error = get_string(n, "apply-error");
                _cleanup_free_ char *updated = timestamp_text((uint64_t) get_int(n, "timestamp"));

                json_object_object_add(row, "node", json_object_get(json_object_object_get(n, "node")));
                json_object_object_add(row, "report", json_object_get(json_object_object_get(n, "report")));
                json_object_object_add(row, "updated", json_object_new_string(updated));
                json_object_object_add(
                        row, "generation", json_object_get(json_object_object_get(n, "generation")));
                json_object_object_add(row, "apply", json_object_get(json_object_object_get(n, "apply")));
                json_object_object_add(row, "detail",
                        json_object_new_string(isempty(apply_error) ? get_string(n, "problem") : apply_error));
                json_object_array_add(rows, row);
        }
        output_records(OUTPUT_TEXT, rows,
                (const char *const[]){ "node", "report", "updated", "generation", "apply", "detail", NULL });
}

static int verb_status(sd_bus *bus, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(json_object_putp) json_object *luns = NULL, *cells = NULL, *nodes = NULL;
        int r;

        r = new_call(bus, "GetHealth", &m);
        if (r >= 0)
                r = call(bus, m, &reply);
        if (r < 0)
                return r;
        r = bus_message_read_records(reply, (const char *const[]){ "wwid", "alias", "state", NULL }, &luns);
        if (r >= 0)
                r = bus_message_read_records(reply,
                        (const char *const[]){ "wwid", "node", "state", "map", "dm-state", "paths-active",
                                "paths-total", "failed-paths", NULL },
                        &cells);
        if (r >= 0)
                r = bus_message_read_records(reply,
                        (const char *const[]){ "node", "report", "timestamp", "generation", "apply",
                                "apply-error", "problem", NULL },
                        &nodes);
        if (r < 0)
                return error_errno(r, "Failed to parse the reply of GetHealth: %m");

        if (arg_output == OUTPUT_JSON) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object_object_add(o, "luns", json_object_get(luns));
                json_object_object_add(o, "cells", json_object_get(cells));
                json_object_object_add(o, "nodes", json_object_get(nodes));
                output_json(o);
                return 0;
        }
        output_matrix(luns, cells, nodes);
        putchar('\n');
        output_nodes(nodes);
        return 0;
}

typedef struct Verb {
        const char *name;
        const char *usage; /* of the arguments */
        unsigned min_args, max_args;
        Option options; /* accepted */
        int (*run)(sd_bus *bus, char **args);
} Verb;

static const Verb verbs[] = {
        { "config", "", 0, 0, 0, verb_config },
        { "set-defaults", "KEY=VALUE...", 0, UINT_MAX, OPTION_DIGEST | OPTION_DELETE, verb_set_defaults },
        { "add-wwid", "WWID", 1, 1, 0, verb_add_wwid },
        { "update-wwid", "WWID KEY=VALUE...", 1, UINT_MAX, OPTION_DIGEST | OPTION_DELETE, verb_update_wwid },
        { "remove-wwid", "WWID", 1, 1, OPTION_FORCE, verb_remove_wwid },
        { "set-alias", "WWID ALIAS", 2, 2, 0, verb_set_alias },
        { "remove-alias", "WWID", 1, 1, 0, verb_remove_alias },
        { "set-overrides", "FILE", 1, 1, OPTION_DIGEST, verb_set_overrides },
        { "apply", "", 0, 0, 0, verb_apply },
        { "status", "", 0, 0, 0, verb_status },
};

static void help(void)
{
        printf("berthctl [OPTIONS...] multipath COMMAND ...\n\n"
               "Manage the cluster's multipath configuration through berth-multipathd-sync.\n\n"
               "Commands:\n"
               "  config                       Print the configuration: effective defaults, LUNs,\n"
               "                               overrides and the digest\n"
               "  set-defaults KEY=VALUE... [--delete KEY[,KEY...]] [--digest D]\n"
               "                               Set global knobs (kebab-case); --delete resets them\n"
               "  add-wwid WWID                Allow-list a LUN\n"
               "  update-wwid WWID KEY=VALUE... [--delete KEY[,KEY...]] [--digest D]\n"
               "                               Set a LUN's knobs; --delete resets them\n"
               "  remove-wwid WWID [--force]   Remove a LUN; --force even while a storage uses it\n"
               "  set-alias WWID ALIAS         Name a LUN's map\n"
               "  remove-alias WWID            Name the map by its WWID again\n"
               "  set-overrides FILE [--digest D]\n"
               "                               Replace multipath-overrides.conf ('-' = stdin; an\n"
               "                               empty file clears it)\n"
               "  apply                        Apply the configuration to this node again\n"
               "  status                       The health of every LUN on every node\n\n"
               "Options:\n"
               "  -h --help                    Show this help\n"
               "     --bus-address ADDR        Talk on this bus (default: $BERTH_BUS_ADDRESS, else\n"
               "                               the system bus)\n"
               "  -o --output text|json        Output format of config and status\n"
               "     --digest D                Refuse the change unless the configuration's digest is D\n"
               "     --delete KEY[,KEY...]     Knobs to reset (may be repeated)\n"
               "     --force                   remove-wwid: even while a storage uses the LUN\n");
}

static const char *option_name(Option o)
{
        return o & OPTION_DIGEST ? "--digest" : o & OPTION_DELETE ? "--delete" : "--force";
}

static int parse_argv(int argc, char *argv[])
{
        enum { ARG_BUS_ADDRESS = 0x100, ARG_DIGEST, ARG_DELETE, ARG_FORCE };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "output", required_argument, NULL, 'o' },
                { "digest", required_argument, NULL, ARG_DIGEST },
                { "delete", required_argument, NULL, ARG_DELETE },
                { "force", no_argument, NULL, ARG_FORCE },
                {},
        };
        int c;

        opterr = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, ":ho:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_BUS_ADDRESS:
                        arg_bus_address = optarg;
                        break;
                case 'o':
                        if (output_mode_from_string(optarg, &arg_output) < 0)
                                return usage_error("Unknown output format '%s' (text or json)", optarg);
                        break;
                case ARG_DIGEST:
                        arg_digest = optarg;
                        arg_given |= OPTION_DIGEST;
                        break;
                case ARG_DELETE:
                        for (const char *p = optarg;;) {
                                size_t n = strcspn(p, ",");
                                if (n == 0)
                                        return usage_error("Empty knob name in --delete '%s'", optarg);
                                _cleanup_free_ char *name = xstrndup(p, n);
                                strv_push(&arg_delete, name);
                                if (!p[n])
                                        break;
                                p += n + 1;
                        }
                        arg_given |= OPTION_DELETE;
                        break;
                case ARG_FORCE:
                        arg_force = true;
                        arg_given |= OPTION_FORCE;
                        break;
                case ':':
                        return usage_error("Option '%s' needs an argument", argv[optind - 1]);
                default:
                        return usage_error("Unknown option '%s'", argv[optind - 1]);
                }
        return 1;
}

/* The verb argv names and its arguments, checked against the table. */
static int verb_find(int argc, char **argv, const Verb **ret)
{
        const Verb *v = NULL;
        unsigned n;

        if (argc < 1)
                return usage_error("Missing multipath command");
        for (size_t i = 0; i < ELEMENTSOF(verbs) && !v; i++)
                if (streq(verbs[i].name, argv[0]))
                        v = &verbs[i];
        if (!v)
                return usage_error("Unknown multipath command '%s'", argv[0]);
        n = (unsigned) argc - 1;
        if (n < v->min_args || n > v->max_args)
                return v->max_args == 0 ? usage_error("'multipath %s' takes no arguments", v->name)
                                        : usage_error("'multipath %s' takes %s", v->name, v->usage);
        if (arg_given & ~v->options)
                return usage_error(
                        "%s is not valid for 'multipath %s'", option_name(arg_given & ~v->options), v->name);
        if (streq(v->name, "set-defaults") && n == 0 && !(arg_given & OPTION_DELETE))
                return usage_error("'multipath set-defaults' needs KEY=VALUE or --delete");
        *ret = v;
        return 0;
}

bool multipath_is_command(int argc, char *argv[])
{
        return command_group_is(argc, argv, "multipath");
}

int multipath_main(int argc, char *argv[])
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *v = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0) {
                strv_free(arg_delete);
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        }
        /* getopt moved the options to the front: the command, then "multipath"'s own words. */
        r = verb_find(argc - optind - 1, argv + optind + 1, &v);
        if (r >= 0) {
                r = bus_connect(arg_bus_address, &bus);
                if (r >= 0)
                        r = v->run(bus, argv + optind + 2);
                r = r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        } else
                r = EXIT_USAGE;
        strv_free(arg_delete);
        return r;
}
