/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

#include "access.h"
#include "alloc.h"
#include "bus.h"
#include "fileio.h"
#include "output.h"

#define ACCESS_SERVICE "org.berth.access1"
#define ACCESS_PATH "/org/berth/access1"
#define ACCESS_INTERFACE "org.berth.access1.Manager"

/* How an option's value goes into the call's a{sv}. */
typedef enum OptionKind {
        KIND_STRING, /* s */
        KIND_LIST, /* as, from a comma-separated list */
        KIND_BOOL, /* b, from 0 or 1 */
        KIND_UINT64, /* t */
        KIND_TRUE, /* b true; takes no value */
        KIND_FALSE, /* b false; takes no value */
        KIND_LOCAL, /* berthctl's own, not sent as an option */
} OptionKind;

typedef enum Option {
        OPTION_DIGEST = 1 << 0,
        OPTION_PASSWORD_FILE = 1 << 1,
        OPTION_ENABLE = 1 << 2,
        OPTION_EXPIRE = 1 << 3,
        OPTION_FIRSTNAME = 1 << 4,
        OPTION_LASTNAME = 1 << 5,
        OPTION_EMAIL = 1 << 6,
        OPTION_COMMENT = 1 << 7,
        OPTION_KEYS = 1 << 8,
        OPTION_GROUPS = 1 << 9,
        OPTION_APPEND = 1 << 10,
        OPTION_DELETE = 1 << 11,
        OPTION_ENABLED = 1 << 12,
        OPTION_USERS = 1 << 13,
        OPTION_TOKENS = 1 << 14,
        OPTION_NO_PROPAGATE = 1 << 15,
        OPTION_PRIVSEP = 1 << 16,
        OPTION_PATH = 1 << 17,
        OPTION_CSRF = 1 << 18,
        OPTIONS_USER = OPTION_ENABLE | OPTION_EXPIRE | OPTION_FIRSTNAME | OPTION_LASTNAME | OPTION_EMAIL |
                OPTION_COMMENT | OPTION_KEYS | OPTION_GROUPS | OPTION_DIGEST,
        OPTIONS_TOKEN = OPTION_EXPIRE | OPTION_PRIVSEP | OPTION_COMMENT | OPTION_DIGEST,
        OPTIONS_ACL = OPTION_USERS | OPTION_GROUPS | OPTION_TOKENS | OPTION_DIGEST,
} Option;

/* The command options; the order of the bits in Option. */
static const struct {
        const char *name;
        const char *key; /* in the call's options */
        OptionKind kind;
} option_table[] = {
        { "digest", "digest", KIND_STRING },
        { "password-file", NULL, KIND_LOCAL },
        { "enable", "enable", KIND_BOOL },
        { "expire", "expire", KIND_UINT64 },
        { "firstname", "firstname", KIND_STRING },
        { "lastname", "lastname", KIND_STRING },
        { "email", "email", KIND_STRING },
        { "comment", "comment", KIND_STRING },
        { "keys", "keys", KIND_STRING },
        { "groups", "groups", KIND_LIST },
        { "append", "append", KIND_TRUE },
        { "delete", "delete", KIND_LIST },
        { "enabled", "enabled", KIND_TRUE },
        { "users", "users", KIND_LIST },
        { "tokens", "tokens", KIND_LIST },
        { "no-propagate", "propagate", KIND_FALSE },
        { "privsep", "privsep", KIND_BOOL },
        { "path", NULL, KIND_LOCAL },
        { "csrf", "csrf", KIND_STRING },
};

#define N_OPTIONS ELEMENTSOF(option_table)

static const char *arg_bus_address;
static OutputMode arg_output = OUTPUT_TEXT;
static Option arg_given;
static const char *arg_values[N_OPTIONS];

#define usage_error(...) usage_error_for("access ", __VA_ARGS__)

/* Where a command's password goes: none, an argument after the first, or the "password" option. */
typedef enum PasswordUse {
        PASSWORD_NONE,
        PASSWORD_ARGUMENT,
        PASSWORD_OPTION,
} PasswordUse;

typedef struct Verb Verb;
struct Verb {
        const char *name; /* "user list": a second word selects within a group */
        const char *usage; /* of the arguments */
        unsigned min_args, max_args;
        Option options; /* accepted */
        Option required;
        int (*run)(sd_bus *bus, const Verb *v, char **args);
        const char *method;
        PasswordUse password;
        bool list_last; /* the last argument is a comma-separated list, sent as "as" */
        bool revoke; /* sends "delete": true */
        const char *const *columns; /* of a listing */
        const Field *fields; /* of a reply of values, in their order */
};

static void erase_and_freep(char **s)
{
        if (*s) {
                explicit_bzero(*s, strlen(*s));
                free(*s);
        }
}

static int split_list(const char *what, const char *s, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;

        for (const char *p = s;;) {
                size_t n = strcspn(p, ",");
                if (n == 0)
                        return usage_error("Empty name in %s '%s'", what, s);
                _cleanup_free_ char *name = xstrndup(p, n);
                strv_push(&l, name);
                if (!p[n])
                        break;
                p += n + 1;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int option_index(Option o)
{
        return __builtin_ctz((unsigned) o);
}

/* A line of stdin, without its newline. */
static int read_line(char **ret)
{
        _cleanup_(erase_and_freep) char *line = NULL;
        size_t size = 0;
        ssize_t n;

        n = getline(&line, &size, stdin);
        if (n < 0)
                return feof(stdin) ? -ENODATA : negative_errno();
        line[strcspn(line, "\r\n")] = 0;
        *ret = TAKE_PTR(line);
        return 0;
}

/* From the terminal without echo, so that it is neither on the screen nor in a command line. */
static int read_password_tty(const char *prompt, char **ret)
{
        struct termios old, quiet;
        int r;

        if (tcgetattr(STDIN_FILENO, &old) < 0)
                return negative_errno();
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        quiet.c_lflag |= ECHONL;
        fputs(prompt, stderr);
        fflush(stderr);
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
                return negative_errno();
        r = read_line(ret);
        (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        return r;
}

/* --password-file F ('-' = stdin, its first line), else stdin: the terminal with a prompt, or a pipe. */
static int read_password(const char *prompt, char **ret)
{
        const char *file = arg_values[option_index(OPTION_PASSWORD_FILE)];
        _cleanup_(erase_and_freep) char *password = NULL;
        int r;

        if (file && !streq(file, "-")) {
                r = read_full_file(file, &password, NULL);
                if (r < 0)
                        return error_errno(r, "Failed to read %s: %m", file);
                password[strcspn(password, "\r\n")] = 0;
        } else {
                r = !file && isatty(STDIN_FILENO) ? read_password_tty(prompt, &password)
                                                  : read_line(&password);
                if (r < 0)
                        return error_errno(r, "Failed to read the password: %m");
        }
        if (isempty(password))
                return error_errno(-EINVAL, "The password is empty");
        *ret = TAKE_PTR(password);
        return 0;
}

static int append_option(sd_bus_message *m, OptionKind kind, const char *key, const char *value)
{
        _cleanup_strv_free_ char **l = NULL;
        int r;

        switch (kind) {
        case KIND_STRING:
                return sd_bus_message_append(m, "{sv}", key, "s", value);
        case KIND_BOOL:
                return sd_bus_message_append(m, "{sv}", key, "b", streq(value, "1"));
        case KIND_UINT64:
                return sd_bus_message_append(m, "{sv}", key, "t", strtoull(value, NULL, 10));
        case KIND_TRUE:
        case KIND_FALSE:
                return sd_bus_message_append(m, "{sv}", key, "b", kind == KIND_TRUE);
        case KIND_LIST:
                /* Checked when the command line was parsed. */
                (void) split_list(key, value, &l);
                r = sd_bus_message_open_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", key);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, SD_BUS_TYPE_VARIANT, "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, l);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r;
        case KIND_LOCAL:
                break;
        }
        return 0;
}

/* The options given (the daemon's defaults stay its own); commands were already checked to take them. */
static int append_options(sd_bus_message *m, const Verb *v, const char *password)
{
        int r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        for (size_t i = 0; i < N_OPTIONS && r >= 0; i++)
                if (arg_given & (1u << i))
                        r = append_option(m, option_table[i].kind, option_table[i].key, arg_values[i]);
        if (r >= 0 && password && v->password == PASSWORD_OPTION)
                r = sd_bus_message_append(m, "{sv}", "password", "s", password);
        if (r >= 0 && v->revoke)
                r = sd_bus_message_append(m, "{sv}", "delete", "b", true);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* Calls v's method with args (strings, the last one a list if v says so), its password and the options. */
static int call(sd_bus *bus, const Verb *v, char **args, sd_bus_message **ret_reply)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(erase_and_freep) char *password = NULL;
        int r;

        if (v->password == PASSWORD_ARGUMENT ||
                (v->password == PASSWORD_OPTION && (arg_given & OPTION_PASSWORD_FILE))) {
                _cleanup_free_ char *prompt = xasprintf("Password for %s: ", args[0]);
                r = read_password(prompt, &password);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_new_method_call(bus, &m, ACCESS_SERVICE, ACCESS_PATH, ACCESS_INTERFACE, v->method);
        /* Passwords, tickets and token secrets travel in these calls and their replies: erased when freed. */
        if (r >= 0)
                r = sd_bus_message_sensitive(m);
        STRV_FOREACH (a, args) {
                if (r >= 0 && v->list_last && !a[1]) {
                        _cleanup_strv_free_ char **l = NULL;
                        /* Checked when the command line was parsed. */
                        (void) split_list("the list", *a, &l);
                        r = sd_bus_message_append_strv(m, l);
                } else if (r >= 0)
                        r = sd_bus_message_append(m, "s", *a);
                if (r >= 0 && a == args && v->password == PASSWORD_ARGUMENT)
                        r = sd_bus_message_append(m, "s", password);
        }
        if (r >= 0)
                r = append_options(m, v, password);
        if (r < 0)
                return error_errno(r, "Failed to build the %s call: %m", v->method);
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return error_bus(r, &error);
        r = sd_bus_message_sensitive(reply);
        if (r < 0)
                return error_errno(r, "Failed to handle the reply of %s: %m", v->method);
        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return 0;
}

static int verb_call(sd_bus *bus, const Verb *v, char **args)
{
        return call(bus, v, args, NULL);
}

/* The next value of a reply: dictionaries as objects, anything else as bus_message_read_json() reads it. */
static int read_value(sd_bus_message *m, json_object **ret)
{
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;
        return type == SD_BUS_TYPE_ARRAY && contents[0] == '{' ? bus_message_read_properties(m, NULL, ret)
                                                               : bus_message_read_json(m, ret);
}

static int verb_list(sd_bus *bus, const Verb *v, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *records = NULL;
        int r;

        r = call(bus, v, args, &reply);
        if (r < 0)
                return r;
        r = bus_message_read_dicts(reply, &records);
        if (r < 0)
                return error_errno(r, "Failed to parse the reply of %s: %m", v->method);
        output_records(arg_output, records, v->columns);
        return 0;
}

/*
 * A reply of values, named by v->fields. As text one value alone is printed as it is, for scripts; more
 * are "key: value" lines.
 */
static int output_reply(sd_bus *bus, const Verb *v, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        int r;

        r = call(bus, v, args, &reply);
        if (r < 0)
                return r;
        for (const Field *f = v->fields; f->property; f++) {
                json_object *value;

                r = read_value(reply, &value);
                if (r < 0)
                        return error_errno(r, "Failed to parse the reply of %s: %m", v->method);
                json_object_object_add(o, f->key, value);
        }
        if (arg_output == OUTPUT_TEXT && !v->fields[1].property)
                puts(json_object_get_string(json_object_object_get(o, v->fields[0].key)));
        else
                output_properties(arg_output, o, v->fields);
        return 0;
}

static int verb_token_add(sd_bus *bus, const Verb *v, char **args)
{
        int r = output_reply(bus, v, args);
        if (r >= 0)
                fputs("The secret is not kept and is not shown again: store it now.\n", stderr);
        return r;
}

static int verb_show_user(sd_bus *bus, const Verb *v, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *user = NULL;
        int r;

        r = call(bus, v, args, &reply);
        if (r < 0)
                return r;
        r = bus_message_read_properties(reply, NULL, &user);
        if (r < 0)
                return error_errno(r, "Failed to parse the reply of %s: %m", v->method);
        output_properties(arg_output, user, v->fields);
        return 0;
}

/* The ticket or the header from stdin when it is "-": a command line is visible to every user. */
static int verb_verify(sd_bus *bus, const Verb *v, char **args)
{
        _cleanup_(erase_and_freep) char *secret = NULL;
        int r;

        if (!streq(args[0], "-"))
                return output_reply(bus, v, args);
        r = read_line(&secret);
        if (r < 0)
                return error_errno(r, "Failed to read stdin: %m");
        return output_reply(bus, v, (char *[]){ secret, NULL });
}

static int verb_permissions(sd_bus *bus, const Verb *v, char **args)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *permissions = NULL, *rows = json_object_new_array();
        const char *path = arg_values[option_index(OPTION_PATH)];
        int r;

        r = call(bus, v, (char *[]){ (char *) strempty(args[0]), (char *) strempty(path), NULL }, &reply);
        if (r < 0)
                return r;
        r = bus_message_read_properties(reply, NULL, &permissions);
        if (r < 0)
                return error_errno(r, "Failed to parse the reply of %s: %m", v->method);
        if (arg_output == OUTPUT_JSON) {
                output_json(permissions);
                return 0;
        }
        json_object_object_foreach (permissions, p, privs) {
                json_object *row = json_object_new_object();
                json_object_object_add(row, "path", json_object_new_string(p));
                json_object_object_add(row, "privileges", json_object_get(privs));
                json_object_array_add(rows, row);
        }
        output_records(OUTPUT_TEXT, rows, v->columns);
        return 0;
}

static const Field login_fields[] = {
        { "ticket", "ticket" },
        { "csrf", "csrf" },
        { "username", "username" },
        { "cap", "cap", FIELD_JSON_ONLY },
        {},
};

static const Field user_fields[] = {
        { "userid", "userid" },
        { "enable", "enable" },
        { "expire", "expire" },
        { "firstname", "firstname" },
        { "lastname", "lastname" },
        { "email", "email" },
        { "comment", "comment" },
        { "keys", "keys" },
        { "groups", "groups" },
        { "tokens", "tokens" },
        {},
};

static const Field token_fields[] = {
        { "tokenid", "tokenid" },
        { "secret", "secret" },
        {},
};

static const Field ticket_fields[] = {
        { "user", "user" },
        {},
};

static const Field header_fields[] = {
        { "tokenid", "tokenid" },
        {},
};

static const char *const user_columns[] = { "userid", "enable", "expire", "email", "groups", "tokens",
        "comment", NULL };
static const char *const group_columns[] = { "groupid", "members", "comment", NULL };
static const char *const role_columns[] = { "roleid", "special", "privs", NULL };
static const char *const acl_columns[] = { "path", "type", "ugid", "roleid", "propagate", NULL };
static const char *const token_columns[] = { "tokenid", "expire", "privsep", "comment", NULL };
static const char *const permission_columns[] = { "path", "privileges", NULL };

static const Verb verbs[] = {
        { "login", "USER", 1, 1, OPTION_PASSWORD_FILE, 0, output_reply, "Authenticate", PASSWORD_ARGUMENT,
                .fields = login_fields },
        { "user list", "", 0, 0, OPTION_ENABLED, 0, verb_list, "ListUsers", .columns = user_columns },
        { "user show", "USERID", 1, 1, 0, 0, verb_show_user, "GetUser", .fields = user_fields },
        { "user add", "USERID", 1, 1, OPTIONS_USER | OPTION_PASSWORD_FILE, 0, verb_call, "CreateUser",
                PASSWORD_OPTION },
        { "user set", "USERID", 1, 1, OPTIONS_USER | OPTION_APPEND | OPTION_DELETE, 0, verb_call,
                "UpdateUser" },
        { "user remove", "USERID", 1, 1, OPTION_DIGEST, 0, verb_call, "DeleteUser" },
        { "user passwd", "USERID", 1, 1, OPTION_PASSWORD_FILE | OPTION_DIGEST, 0, verb_call, "SetPassword",
                PASSWORD_ARGUMENT },
        { "group list", "", 0, 0, 0, 0, verb_list, "ListGroups", .columns = group_columns },
        { "group add", "GROUPID", 1, 1, OPTION_COMMENT | OPTION_DIGEST, 0, verb_call, "CreateGroup" },
        { "group set", "GROUPID", 1, 1, OPTION_COMMENT | OPTION_DIGEST, OPTION_COMMENT, verb_call,
                "UpdateGroup" },
        { "group remove", "GROUPID", 1, 1, OPTION_DIGEST, 0, verb_call, "DeleteGroup" },
        { "role list", "", 0, 0, 0, 0, verb_list, "ListRoles", .columns = role_columns },
        { "role add", "ROLEID PRIV[,PRIV...]", 2, 2, OPTION_DIGEST, 0, verb_call, "CreateRole",
                .list_last = true },
        { "role set", "ROLEID PRIV[,PRIV...]", 2, 2, OPTION_APPEND | OPTION_DIGEST, 0, verb_call,
                "UpdateRole", .list_last = true },
        { "role remove", "ROLEID", 1, 1, OPTION_DIGEST, 0, verb_call, "DeleteRole" },
        { "acl list", "", 0, 0, 0, 0, verb_list, "ListAcl", .columns = acl_columns },
        { "acl grant", "PATH ROLE[,ROLE...]", 2, 2, OPTIONS_ACL | OPTION_NO_PROPAGATE, 0, verb_call,
                "UpdateAcl", .list_last = true },
        { "acl revoke", "PATH ROLE[,ROLE...]", 2, 2, OPTIONS_ACL, 0, verb_call, "UpdateAcl",
                .list_last = true, .revoke = true },
        { "token list", "USERID", 1, 1, 0, 0, verb_list, "ListTokens", .columns = token_columns },
        { "token add", "USERID TOKENID", 2, 2, OPTIONS_TOKEN, 0, verb_token_add, "CreateToken",
                .fields = token_fields },
        { "token set", "USERID TOKENID", 2, 2, OPTIONS_TOKEN, 0, verb_call, "UpdateToken" },
        { "token remove", "USERID TOKENID", 2, 2, OPTION_DIGEST, 0, verb_call, "DeleteToken" },
        { "permissions", "[AUTHID]", 0, 1, OPTION_PATH, 0, verb_permissions, "GetPermissions",
                .columns = permission_columns },
        { "verify-ticket", "TICKET", 1, 1, OPTION_CSRF, 0, verb_verify, "VerifyTicket",
                .fields = ticket_fields },
        { "verify-token", "HEADER", 1, 1, 0, 0, verb_verify, "VerifyToken", .fields = header_fields },
};

static void help(void)
{
        printf("berthctl [OPTIONS...] access COMMAND ...\n\n"
               "Manage users, groups, roles, ACL entries and API tokens through berth-accessd.\n"
               "Passwords are read from --password-file F ('-' = stdin), else from the terminal\n"
               "without echo, else from stdin; never from the command line.\n\n"
               "Commands:\n"
               "  login USER [--password-file F]\n"
               "                               Log in: print a ticket, its CSRF token and the user\n"
               "  user list [--enabled]        List users\n"
               "  user show USERID             Show a user\n"
               "  user add USERID [FIELDS] [--password-file F]\n"
               "                               Add a user (a berth realm user's password from F)\n"
               "  user set USERID [FIELDS] [--append] [--delete FIELD[,FIELD...]]\n"
               "                               Change a user; --append adds --groups to its groups\n"
               "  user remove USERID           Remove a user, its tokens and ACL entries\n"
               "  user passwd USERID [--password-file F]\n"
               "                               Set a berth realm user's password\n"
               "  group list                   List groups\n"
               "  group add GROUPID [--comment TEXT]\n"
               "  group set GROUPID --comment TEXT\n"
               "  group remove GROUPID\n"
               "  role list                    List roles and their privileges\n"
               "  role add ROLEID PRIV[,PRIV...]\n"
               "  role set ROLEID PRIV[,PRIV...] [--append]\n"
               "  role remove ROLEID\n"
               "  acl list                     List ACL entries\n"
               "  acl grant PATH ROLE[,ROLE...] [--users U,..] [--groups G,..] [--tokens T,..]\n"
               "            [--no-propagate]   Grant roles on a path\n"
               "  acl revoke PATH ROLE[,ROLE...] [--users U,..] [--groups G,..] [--tokens T,..]\n"
               "  token list USERID            List a user's API tokens\n"
               "  token add USERID TOKENID [--expire EPOCH] [--privsep 0|1] [--comment TEXT]\n"
               "                               Add a token; its secret is shown this once\n"
               "  token set USERID TOKENID [--expire EPOCH] [--privsep 0|1] [--comment TEXT]\n"
               "  token remove USERID TOKENID\n"
               "  permissions [AUTHID] [--path PATH]\n"
               "                               The privileges of a user or token (default: the\n"
               "                               caller) on a path, or on every path\n"
               "  verify-ticket TICKET [--csrf TOKEN]\n"
               "                               Print the user of a valid ticket ('-' = stdin)\n"
               "  verify-token HEADER          Print the token id of a valid\n"
               "                               'PVEAPIToken=USER@REALM!ID=SECRET' ('-' = stdin)\n\n"
               "User fields:\n"
               "     --enable 0|1 --expire EPOCH (0: never) --firstname TEXT --lastname TEXT\n"
               "     --email TEXT --comment TEXT --keys TEXT --groups G[,G...]\n\n"
               "Options:\n"
               "  -h --help                    Show this help\n"
               "     --bus-address ADDR        Talk on this bus (default: $BERTH_BUS_ADDRESS, else\n"
               "                               the system bus)\n"
               "  -o --output text|json        Output format\n"
               "     --digest D                Refuse a change unless user.cfg's digest is D\n");
}

static int check_option_value(size_t i, const char *value)
{
        _cleanup_strv_free_ char **l = NULL;
        char *end;

        switch (option_table[i].kind) {
        case KIND_BOOL:
                if (!streq(value, "0") && !streq(value, "1"))
                        return usage_error("--%s takes 0 or 1, not '%s'", option_table[i].name, value);
                return 0;
        case KIND_UINT64:
                errno = 0;
                if (!isempty(value) && strchr("0123456789", value[0]) &&
                        strtoull(value, &end, 10) < UINT64_MAX && errno == 0 && *end == 0)
                        return 0;
                return usage_error(
                        "--%s takes seconds since the epoch, not '%s'", option_table[i].name, value);
                return 0;
        case KIND_LIST:
                return split_list(option_table[i].name, value, &l);
        default:
                return 0;
        }
}

static int parse_argv(int argc, char *argv[])
{
        enum { ARG_BUS_ADDRESS = 0x100, ARG_FIRST_OPTION };
        struct option options[N_OPTIONS + 4] = {
                { "help", no_argument, NULL, 'h' },
                { "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
                { "output", required_argument, NULL, 'o' },
        };
        int c;

        for (size_t i = 0; i < N_OPTIONS; i++) {
                bool flag = option_table[i].kind == KIND_TRUE || option_table[i].kind == KIND_FALSE;
                options[3 + i] = (struct option){ option_table[i].name,
                        flag ? no_argument : required_argument, NULL, ARG_FIRST_OPTION + (int) i };
        }

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
                case ':':
                        return usage_error("Option '%s' needs an argument", argv[optind - 1]);
                default:
                        if (c < ARG_FIRST_OPTION || c >= ARG_FIRST_OPTION + (int) N_OPTIONS)
                                return usage_error("Unknown option '%s'", argv[optind - 1]);
                        size_t i = (size_t) (c - ARG_FIRST_OPTION);
                        if (optarg && check_option_value(i, optarg) < 0)
                                return -EINVAL;
                        arg_values[i] = optarg;
                        arg_given |= 1u << i;
                }
        return 1;
}

static const char *option_name(Option mask)
{
        return option_table[option_index(mask)].name;
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

/* The command argv names and its arguments, checked against the table. */
static int verb_find(int argc, char **argv, const Verb **ret, char ***ret_args)
{
        const Verb *v = NULL;
        int words = 0;
        unsigned n;

        if (argc < 1)
                return usage_error("Missing access command");
        for (size_t i = 0; i < ELEMENTSOF(verbs) && !v; i++) {
                words = verb_match(&verbs[i], argc, argv);
                if (words > 0)
                        v = &verbs[i];
        }
        if (!v) {
                _cleanup_free_ char *group = xasprintf("%s ", argv[0]);
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (startswith(verbs[i].name, group))
                                return argc > 1
                                        ? usage_error("Unknown access %s command '%s'", argv[0], argv[1])
                                        : usage_error("Missing access %s command", argv[0]);
                return usage_error("Unknown access command '%s'", argv[0]);
        }
        n = (unsigned) (argc - words);
        if (n < v->min_args || n > v->max_args)
                return v->max_args == 0 ? usage_error("'access %s' takes no arguments", v->name)
                                        : usage_error("'access %s' takes %s", v->name, v->usage);
        if (v->list_last) {
                _cleanup_strv_free_ char **l = NULL;
                if (split_list("the list", argv[argc - 1], &l) < 0)
                        return -EINVAL;
        }
        if (arg_given & ~v->options)
                return usage_error(
                        "--%s is not valid for 'access %s'", option_name(arg_given & ~v->options), v->name);
        if (v->required & ~arg_given)
                return usage_error("'access %s' needs --%s", v->name, option_name(v->required & ~arg_given));
        *ret = v;
        *ret_args = argv + words;
        return 0;
}

bool access_is_command(int argc, char *argv[])
{
        return command_group_is(argc, argv, "access");
}

int access_main(int argc, char *argv[])
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *v = NULL;
        char **args = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        /* getopt moved the options to the front: the command, then "access"'s own words. */
        r = verb_find(argc - optind - 1, argv + optind + 1, &v, &args);
        if (r < 0)
                return EXIT_USAGE;
        r = bus_connect(arg_bus_address, &bus);
        if (r >= 0)
                r = v->run(bus, v, args);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
