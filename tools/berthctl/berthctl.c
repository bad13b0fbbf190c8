/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "access.h"
#include "alloc.h"
#include "bus.h"
#include "errors.h"
#include "fileio.h"
#include "cluster.h"
#include "guestd-call.h"
#include "multipath.h"
#include "guest-config.h"
#include "output.h"
#include "task-wait.h"
#include "vmid.h"

/* Command options, as bits so each command can say which ones it takes. */
typedef enum Option {
        OPTION_CONFIG = 1 << 0,
        OPTION_DIGEST = 1 << 1,
        OPTION_TIMEOUT = 1 << 2,
        OPTION_FORCE_STOP = 1 << 3,
        OPTION_KEEP_ACTIVE = 1 << 4,
        OPTION_TO_DISK = 1 << 5,
        OPTION_STATESTORAGE = 1 << 6,
        OPTION_PRESERVE = 1 << 7,
        OPTION_POLICY = 1 << 8,
        OPTION_PARALLEL = 1 << 9,
        OPTIONS_LIFECYCLE = OPTION_TIMEOUT | OPTION_FORCE_STOP | OPTION_KEEP_ACTIVE | OPTION_TO_DISK |
                OPTION_STATESTORAGE,
} Option;

static const struct {
        Option option;
        const char *name;
} option_names[] = {
        { OPTION_CONFIG, "--config" },
        { OPTION_DIGEST, "--digest" },
        { OPTION_TIMEOUT, "--timeout" },
        { OPTION_FORCE_STOP, "--force-stop/--no-force-stop" },
        { OPTION_KEEP_ACTIVE, "--keep-active" },
        { OPTION_TO_DISK, "--to-disk" },
        { OPTION_STATESTORAGE, "--statestorage" },
        { OPTION_PRESERVE, "--preserve" },
        { OPTION_POLICY, "--policy" },
        { OPTION_PARALLEL, "--parallel" },
};

const char *arg_bus_address;
OutputMode arg_output = OUTPUT_TEXT;
static bool arg_no_wait;
static Option arg_given;
static const char *arg_config;
static const char *arg_digest;
static uint32_t arg_timeout;
static bool arg_force_stop;
static const char *arg_statestorage;
static const char *arg_policy;
static uint32_t arg_parallel;

static const Field guest_fields[] = {
        { "Vmid", "vmid" },
        { "Name", "name" },
        { "Type", "type", FIELD_JSON_ONLY },
        { "State", "state" },
        { "Pid", "pid" },
        { "RunId", "run-id" },
        { "Lock", "lock" },
        { "Tags", "tags" },
        { "OnBoot", "onboot" },
        { "StartupOrder", "startup-order" },
        { "Digest", "digest" },
        { "Config", "config", FIELD_JSON_ONLY },
        {},
};

#define usage_error(...) usage_error_for("", __VA_ARGS__)

static int parse_vmid(const char *s, uint32_t *ret)
{
        int r = vmid_parse(s, ret);
        if (r == -ERANGE)
                return error_errno(r, "VMID %s is out of range (%u-%u)", s, VMID_MIN, VMID_MAX);
        if (r < 0)
                return error_errno(r, "Invalid VMID '%s'", s);
        return 0;
}

static int read_config_text(char **ret)
{
        const char *path = streq(arg_config, "-") ? "/dev/stdin" : arg_config;
        int r = read_full_file(path, ret, NULL);
        if (r < 0)
                return error_errno(r, "Failed to read %s: %m", arg_config);
        return 0;
}

static int compare_vmid(const void *a, const void *b)
{
        int64_t x = json_object_get_int64(json_object_object_get(*(json_object *const *) a, "vmid")),
                y = json_object_get_int64(json_object_object_get(*(json_object *const *) b, "vmid"));
        return x < y ? -1 : x > y;
}

/* Only the options given: the daemon's defaults stay its own. Commands were already checked to take them. */
static int append_options(sd_bus_message *m)
{
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0 && (arg_given & OPTION_TIMEOUT))
                r = sd_bus_message_append(m, "{sv}", "timeout", "u", arg_timeout);
        if (r >= 0 && (arg_given & OPTION_FORCE_STOP))
                r = sd_bus_message_append(m, "{sv}", "force-stop", "b", arg_force_stop);
        if (r >= 0 && (arg_given & OPTION_KEEP_ACTIVE))
                r = sd_bus_message_append(m, "{sv}", "keep-active", "b", true);
        if (r >= 0 && (arg_given & OPTION_TO_DISK))
                r = sd_bus_message_append(m, "{sv}", "to-disk", "b", true);
        if (r >= 0 && (arg_given & OPTION_STATESTORAGE))
                r = sd_bus_message_append(m, "{sv}", "statestorage", "s", arg_statestorage);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int wait_for_task(sd_bus *bus, const char *path, const char *label)
{
        _cleanup_free_ char *state = NULL, *result = NULL, *error_name = NULL;
        int r;

        r = task_wait(bus, GUEST_SERVICE, path, label);
        if (r < 0)
                return r;
        r = get_string_property(bus, path, TASK_INTERFACE, "State", &state);
        if (r < 0)
                return r;
        r = get_string_property(bus, path, TASK_INTERFACE, "Result", &result);
        if (r < 0)
                return r;
        if (streq(state, "error")) {
                r = get_string_property(bus, path, TASK_INTERFACE, "ErrorName", &error_name);
                if (r < 0)
                        return r;
                fprintf(stderr, "Task failed: %s (%s)\n", result, error_name);
                return -EIO;
        }
        if (!streq(state, "ok") && !streq(state, "warnings")) {
                fprintf(stderr, "Task %s\n", state);
                return -EIO;
        }
        puts(isempty(result) ? "OK" : result);
        return 0;
}

typedef struct Verb Verb;
struct Verb {
        const char *name; /* "task log": a second word selects within a group */
        const char *arg; /* the one positional argument's name, or NULL for none */
        Option options; /* accepted */
        Option required;
        int (*run)(const Verb *v, const char *arg);
        const char *method; /* lifecycle verbs: the Manager method */
};

static int verb_list(const Verb *v, const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = connect_bus(&bus);
        if (r < 0)
                return r;
        return output_method_records(bus, MANAGER_INTERFACE, "ListGuests",
                (const char *const[]){ "vmid", "name", "type", "state", "path", NULL },
                (const char *const[]){ "vmid", "name", "type", "state", NULL }, compare_vmid);
}

static int open_guest(uint32_t vmid, sd_bus **ret_bus, char **ret_path)
{
        return open_object(MANAGER_INTERFACE, "GetGuest", ret_bus, ret_path, "u", vmid);
}

static int verb_status(const Verb *v, const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        uint32_t vmid;
        int r;

        r = parse_vmid(arg, &vmid);
        if (r < 0)
                return r;
        r = open_guest(vmid, &bus, &path);
        if (r < 0)
                return r;
        return output_all_properties(bus, path, GUEST_INTERFACE, guest_fields);
}

static int verb_config(const Verb *v, const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL, *config = NULL;
        uint32_t vmid;
        int r;

        r = parse_vmid(arg, &vmid);
        if (r < 0)
                return r;
        r = open_guest(vmid, &bus, &path);
        if (r < 0)
                return r;
        r = get_string_property(bus, path, GUEST_INTERFACE, "Config", &config);
        if (r < 0)
                return r;
        fputs(config, stdout);
        return 0;
}

static int verb_set_config(const Verb *v, const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL, *config = NULL;
        uint32_t vmid;
        int r;

        r = parse_vmid(arg, &vmid);
        if (r < 0)
                return r;
        r = read_config_text(&config);
        if (r < 0)
                return r;
        r = open_guest(vmid, &bus, &path);
        if (r < 0)
                return r;
        return call_method(
                bus, path, GUEST_INTERFACE, "SetConfig", NULL, "ssa{sv}", config, strempty(arg_digest), 0);
}

/* create, destroy and the lifecycle commands: Manager methods taking (u vmid, [s config,] a{sv} options). */
static int call_manager(
        const char *method, uint32_t vmid, const char *config, sd_bus **ret_bus, sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = connect_bus(&bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, GUEST_SERVICE, MANAGER_PATH, MANAGER_INTERFACE, method);
        if (r >= 0)
                r = sd_bus_message_append(m, "u", vmid);
        if (r >= 0 && config)
                r = sd_bus_message_append(m, "s", config);
        if (r >= 0)
                r = append_options(m);
        if (r < 0)
                return error_errno(r, "Failed to build the %s call: %m", method);
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return error_bus(r, &error);
        *ret_bus = TAKE_PTR(bus);
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

static int verb_create(const Verb *v, const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *config = NULL;
        uint32_t vmid;
        int r;

        r = parse_vmid(arg, &vmid);
        if (r < 0)
                return r;
        r = read_config_text(&config);
        if (r < 0)
                return r;
        return call_manager(v->method, vmid, config, &bus, &reply);
}

static int verb_destroy(const Verb *v, const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint32_t vmid;
        int r;

        r = parse_vmid(arg, &vmid);
        if (r < 0)
                return r;
        return call_manager(v->method, vmid, NULL, &bus, &reply);
}

/* A method replied with a task: wait for it, or with --no-wait print its UPID. */
static int reply_task(sd_bus *bus, sd_bus_message *reply, const char *label)
{
        _cleanup_free_ char *path = NULL, *upid = NULL;
        int r;

        r = reply_read_path(reply, &path);
        if (r < 0)
                return r;
        if (!arg_no_wait)
                return wait_for_task(bus, path, label);
        r = get_string_property(bus, path, TASK_INTERFACE, "Upid", &upid);
        if (r < 0)
                return r;
        puts(upid);
        return 0;
}

static int verb_lifecycle(const Verb *v, const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *label = NULL;
        uint32_t vmid;
        int r;

        r = parse_vmid(arg, &vmid);
        if (r < 0)
                return r;
        r = call_manager(v->method, vmid, NULL, &bus, &reply);
        if (r < 0)
                return r;
        label = xasprintf("%s %s", v->name, arg);
        return reply_task(bus, reply, label);
}

static int verb_host_shutdown(const Verb *v, const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = connect_bus(&bus);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, GUEST_SERVICE, MANAGER_PATH, MANAGER_INTERFACE, v->method);
        if (r >= 0)
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r >= 0 && (arg_given & OPTION_TIMEOUT))
                r = sd_bus_message_append(m, "{sv}", "shutdown-timeout", "u", arg_timeout);
        if (r >= 0 && (arg_given & OPTION_PARALLEL))
                r = sd_bus_message_append(m, "{sv}", "parallel", "u", arg_parallel);
        if (r >= 0 && (arg_given & OPTION_POLICY))
                r = sd_bus_message_append(m, "{sv}", "policy", "s", arg_policy);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return error_errno(r, "Failed to build the %s call: %m", v->method);
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return error_bus(r, &error);
        return reply_task(bus, reply, "preserve");
}

/* Sets autostart-once: 1 in the guest's config: guestd starts it at the next boot, once. */
static int verb_autostart_once(const Verb *v, const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL, *config = NULL, *digest = NULL, *error = NULL, *text = NULL;
        _cleanup_(guest_config_freep) GuestConfig *c = NULL;
        uint32_t vmid;
        int r;

        r = parse_vmid(arg, &vmid);
        if (r < 0)
                return r;
        r = open_guest(vmid, &bus, &path);
        if (r < 0)
                return r;
        r = get_string_property(bus, path, GUEST_INTERFACE, "Digest", &digest);
        if (r < 0)
                return r;
        r = get_string_property(bus, path, GUEST_INTERFACE, "Config", &config);
        if (r < 0)
                return r;
        r = guest_config_parse(config, &c, &error);
        if (r < 0)
                return error_errno(r, "The config of guest %u does not parse: %s", vmid, strempty(error));
        (void) guest_config_set(c, "autostart-once", "1", NULL);
        text = guest_config_format(c);
        /* The digest makes it a compare-and-swap: an edit in between is refused, not overwritten. */
        return call_method(bus, path, GUEST_INTERFACE, "SetConfig", NULL, "ssa{sv}", text, digest, 0);
}

static int verb_task(const Verb *v, const char *arg)
{
        if (streq(v->name, "task log"))
                return task_show_log(arg);
        if (streq(v->name, "task status"))
                return task_show_status(arg);
        return task_show_list();
}

static int verb_cluster(const Verb *v, const char *arg)
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = connect_bus(&bus);
        if (r < 0)
                return r;
        return streq(v->name, "nodes") ? cluster_list_nodes(bus, arg_output)
                                       : cluster_list_resources(bus, arg_output);
}

static const Verb verbs[] = {
        { "list", NULL, 0, 0, verb_list },
        { "status", "VMID", 0, 0, verb_status },
        { "config", "VMID", 0, 0, verb_config },
        { "create", "VMID", OPTION_CONFIG, OPTION_CONFIG, verb_create, "CreateGuest" },
        { "set-config", "VMID", OPTION_CONFIG | OPTION_DIGEST, OPTION_CONFIG, verb_set_config },
        { "destroy", "VMID", 0, 0, verb_destroy, "DestroyGuest" },
        { "start", "VMID", OPTIONS_LIFECYCLE, 0, verb_lifecycle, "StartGuest" },
        { "shutdown", "VMID", OPTIONS_LIFECYCLE, 0, verb_lifecycle, "ShutdownGuest" },
        { "stop", "VMID", OPTIONS_LIFECYCLE, 0, verb_lifecycle, "StopGuest" },
        { "suspend", "VMID", OPTIONS_LIFECYCLE, 0, verb_lifecycle, "SuspendGuest" },
        { "resume", "VMID", OPTIONS_LIFECYCLE, 0, verb_lifecycle, "ResumeGuest" },
        { "reboot", "VMID", OPTIONS_LIFECYCLE, 0, verb_lifecycle, "RebootGuest" },
        { "host-shutdown", NULL, OPTION_PRESERVE | OPTION_POLICY | OPTION_PARALLEL | OPTION_TIMEOUT,
                OPTION_PRESERVE, verb_host_shutdown, "Preserve" },
        { "autostart-once", "VMID", 0, 0, verb_autostart_once },
        { "task log", "UPID", 0, 0, verb_task },
        { "task status", "UPID", 0, 0, verb_task },
        { "task list", NULL, 0, 0, verb_task },
        { "nodes", NULL, 0, 0, verb_cluster },
        { "resources", NULL, 0, 0, verb_cluster },
};

static const char *option_name(Option mask)
{
        for (size_t i = 0; i < ELEMENTSOF(option_names); i++)
                if (mask & option_names[i].option)
                        return option_names[i].name;
        return "?";
}

/* Number of words of argv naming v (1 or 2), or 0 when they do not. */
static int verb_match(const Verb *v, int argc, char **argv)
{
        const char *rest = startswith(v->name, argv[0]);

        if (!rest)
                return 0;
        if (*rest == 0)
                return 1;
        return *rest == ' ' && argc > 1 && streq(rest + 1, argv[1]) ? 2 : 0;
}

/* Finds the command argv names and checks its arguments and options against the table. */
static int verb_find(int argc, char **argv, const Verb **ret, const char **ret_arg)
{
        const Verb *v = NULL;
        int words = 0;

        if (argc == 0)
                return usage_error("Missing command");
        for (size_t i = 0; i < ELEMENTSOF(verbs) && !v; i++) {
                words = verb_match(&verbs[i], argc, argv);
                if (words > 0)
                        v = &verbs[i];
        }
        if (!v) {
                /* A group word alone or with a wrong second word: name the group in the message. */
                _cleanup_free_ char *group = xasprintf("%s ", argv[0]);
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (startswith(verbs[i].name, group))
                                return argc > 1 ? usage_error("Unknown %s command '%s'", argv[0], argv[1])
                                                : usage_error("Missing %s command", argv[0]);
                return usage_error("Unknown command '%s'", argv[0]);
        }

        argc -= words;
        argv += words;
        if (argc != (v->arg ? 1 : 0))
                return v->arg ? usage_error("'%s' takes one argument, %s", v->name, v->arg)
                              : usage_error("'%s' takes no arguments", v->name);
        if (arg_given & ~v->options)
                return usage_error("%s is not valid for '%s'", option_name(arg_given & ~v->options), v->name);
        if (v->required & ~arg_given)
                return usage_error("'%s' needs %s", v->name, option_name(v->required & ~arg_given));

        *ret = v;
        *ret_arg = argc > 0 ? argv[0] : NULL;
        return 0;
}

static void help(void)
{
        printf("berthctl [OPTIONS...] COMMAND ...\n\n"
               "Manage the guests of this host through berth-guestd; see the cluster's nodes and guests.\n\n"
               "Commands:\n"
               "  list                         List guests\n"
               "  status VMID                  Show a guest's state and properties\n"
               "  config VMID                  Print a guest's configuration\n"
               "  create VMID --config FILE    Create a guest from a configuration ('-' = stdin)\n"
               "  set-config VMID --config FILE [--digest D]\n"
               "                               Replace a guest's configuration\n"
               "  destroy VMID                 Remove a guest\n"
               "  start|shutdown|stop|suspend|resume|reboot VMID\n"
               "                               Run a lifecycle task and wait for it to end\n"
               "  host-shutdown --preserve [--policy P] [--parallel N] [--timeout SEC]\n"
               "                               Save, shut down or power off the running guests\n"
               "                               as at host shutdown, and wait for it to end\n"
               "  autostart-once VMID          Start the guest at the next host boot, once\n"
               "  task list                    List tasks\n"
               "  task status UPID             Show a task's properties\n"
               "  task log UPID                Print a task's log\n"
               "  nodes                        List the cluster's nodes, online or not\n"
               "  resources                    List every guest and node of the cluster\n"
               "  multipath COMMAND ...        The cluster's multipath configuration and health\n"
               "                               (berthctl multipath --help)\n"
               "  access COMMAND ...           Users, groups, roles, ACL entries, API tokens, logins\n"
               "                               (berthctl access --help)\n\n"
               "Options:\n"
               "  -h --help                    Show this help\n"
               "     --version                 Show the version\n"
               "     --bus-address ADDR        Talk on this bus (default: $BERTH_BUS_ADDRESS, else\n"
               "                               the system bus)\n"
               "  -o --output text|json        Output format of listings and status\n"
               "     --no-wait                 Print a lifecycle task's UPID instead of waiting\n"
               "     --timeout SEC             Lifecycle: seconds to wait for the guest\n"
               "     --force-stop              Lifecycle: stop the guest hard after the timeout\n"
               "     --no-force-stop           Lifecycle: never stop the guest hard\n"
               "     --keep-active             Lifecycle: keep the guest's volumes active\n"
               "     --to-disk                 Suspend: save the guest's state to disk\n"
               "     --statestorage ID         Suspend: storage for the saved state\n"
               "     --policy STEPS            Host shutdown: steps to try, e.g. save,shutdown,poweroff\n"
               "     --parallel N              Host shutdown: guests at a time\n");
}

static int parse_uint32(const char *s, uint32_t *ret)
{
        unsigned long long v;
        char *end;

        if (isempty(s) || !strchr("0123456789", s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (*end != 0)
                return -EINVAL;
        if (errno == ERANGE || v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

static int parse_argv(int argc, char *argv[])
{
        enum {
                ARG_VERSION = 0x100,
                ARG_BUS_ADDRESS,
                ARG_NO_WAIT,
                ARG_CONFIG,
                ARG_DIGEST,
                ARG_TIMEOUT,
                ARG_FORCE_STOP,
                ARG_NO_FORCE_STOP,
                ARG_KEEP_ACTIVE,
                ARG_TO_DISK,
                ARG_STATESTORAGE,
                ARG_PRESERVE,
                ARG_POLICY,
                ARG_PARALLEL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "output", required_argument, NULL, 'o' },
                { "no-wait", no_argument, NULL, ARG_NO_WAIT },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "digest", required_argument, NULL, ARG_DIGEST },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "force-stop", no_argument, NULL, ARG_FORCE_STOP },
                { "no-force-stop", no_argument, NULL, ARG_NO_FORCE_STOP },
                { "keep-active", no_argument, NULL, ARG_KEEP_ACTIVE },
                { "to-disk", no_argument, NULL, ARG_TO_DISK },
                { "statestorage", required_argument, NULL, ARG_STATESTORAGE },
                { "preserve", no_argument, NULL, ARG_PRESERVE },
                { "policy", required_argument, NULL, ARG_POLICY },
                { "parallel", required_argument, NULL, ARG_PARALLEL },
                {},
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":ho:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts("berthctl " BERTH_VERSION);
                        return 0;
                case ARG_BUS_ADDRESS:
                        arg_bus_address = optarg;
                        break;
                case 'o':
                        if (output_mode_from_string(optarg, &arg_output) < 0)
                                return usage_error("Unknown output format '%s' (text or json)", optarg);
                        break;
                case ARG_NO_WAIT:
                        arg_no_wait = true;
                        break;
                case ARG_CONFIG:
                        arg_config = optarg;
                        arg_given |= OPTION_CONFIG;
                        break;
                case ARG_DIGEST:
                        arg_digest = optarg;
                        arg_given |= OPTION_DIGEST;
                        break;
                case ARG_TIMEOUT:
                        if (parse_uint32(optarg, &arg_timeout) < 0)
                                return usage_error("Invalid timeout '%s' (seconds)", optarg);
                        arg_given |= OPTION_TIMEOUT;
                        break;
                case ARG_FORCE_STOP:
                case ARG_NO_FORCE_STOP:
                        arg_force_stop = c == ARG_FORCE_STOP;
                        arg_given |= OPTION_FORCE_STOP;
                        break;
                case ARG_KEEP_ACTIVE:
                        arg_given |= OPTION_KEEP_ACTIVE;
                        break;
                case ARG_TO_DISK:
                        arg_given |= OPTION_TO_DISK;
                        break;
                case ARG_STATESTORAGE:
                        arg_statestorage = optarg;
                        arg_given |= OPTION_STATESTORAGE;
                        break;
                case ARG_PRESERVE:
                        arg_given |= OPTION_PRESERVE;
                        break;
                case ARG_POLICY:
                        arg_policy = optarg;
                        arg_given |= OPTION_POLICY;
                        break;
                case ARG_PARALLEL:
                        if (parse_uint32(optarg, &arg_parallel) < 0 || arg_parallel == 0)
                                return usage_error("Invalid parallel '%s' (a number of guests)", optarg);
                        arg_given |= OPTION_PARALLEL;
                        break;
                case ':':
                        return usage_error("Option '%s' needs an argument", argv[optind - 1]);
                default:
                        return usage_error("Unknown option '%s'", argv[optind - 1]);
                }
        return 1;
}

int main(int argc, char *argv[])
{
        const char *arg = NULL;
        const Verb *v = NULL;
        int r;

        r = berth_errors_register();
        if (r < 0) {
                error_errno(r, "Failed to register the error names: %m");
                return EXIT_FAILURE;
        }
        if (multipath_is_command(argc, argv))
                return multipath_main(argc, argv);
        if (access_is_command(argc, argv))
                return access_main(argc, argv);
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        r = verb_find(argc - optind, argv + optind, &v, &arg);
        if (r < 0)
                return EXIT_USAGE;
        return v->run(v, arg) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
