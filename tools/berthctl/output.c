/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "alloc.h"
#include "bus.h"
#include "output.h"

static int bus_message_read_basic_json(sd_bus_message *m, char type, json_object **ret)
{
        union {
                uint8_t u8;
                int b;
                int16_t i16;
                uint16_t u16;
                int32_t i32;
                uint32_t u32;
                int64_t i64;
                uint64_t u64;
                double d;
                const char *s;
                int fd;
        } v;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case SD_BUS_TYPE_BYTE:
                *ret = json_object_new_int(v.u8);
                return 0;
        case SD_BUS_TYPE_BOOLEAN:
                *ret = json_object_new_boolean(v.b);
                return 0;
        case SD_BUS_TYPE_INT16:
                *ret = json_object_new_int(v.i16);
                return 0;
        case SD_BUS_TYPE_UINT16:
                *ret = json_object_new_int(v.u16);
                return 0;
        case SD_BUS_TYPE_INT32:
                *ret = json_object_new_int(v.i32);
                return 0;
        case SD_BUS_TYPE_UINT32:
                *ret = json_object_new_int64(v.u32);
                return 0;
        case SD_BUS_TYPE_INT64:
                *ret = json_object_new_int64(v.i64);
                return 0;
        case SD_BUS_TYPE_UINT64:
                *ret = json_object_new_uint64(v.u64);
                return 0;
        case SD_BUS_TYPE_DOUBLE:
                *ret = json_object_new_double(v.d);
                return 0;
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE:
                *ret = json_object_new_string(v.s);
                return 0;
        case SD_BUS_TYPE_UNIX_FD:
                *ret = json_object_new_int(v.fd);
                return 0;
        default:
                return -EBADMSG;
        }
}

static bool bus_type_is_container(char type)
{
        return type == SD_BUS_TYPE_ARRAY || type == SD_BUS_TYPE_VARIANT || type == SD_BUS_TYPE_STRUCT ||
                type == SD_BUS_TYPE_DICT_ENTRY;
}

int bus_message_read_json(sd_bus_message *m, json_object **ret)
{
        _cleanup_(json_object_putp) json_object *a = NULL;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;
        if (!bus_type_is_container(type))
                return bus_message_read_basic_json(m, type, ret);

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        if (type == SD_BUS_TYPE_VARIANT) {
                r = bus_message_read_json(m, &a);
                if (r < 0)
                        return r;
        } else {
                /* Structs and dict entries become arrays too: their members have no names to use as keys. */
                a = json_object_new_array();
                for (;;) {
                        json_object *e;

                        r = sd_bus_message_at_end(m, false);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                break;
                        r = bus_message_read_json(m, &e);
                        if (r < 0)
                                return r;
                        json_object_array_add(a, e);
                }
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

/* Enters the next container if it is of this type, whatever its contents; 0 at the end of the enclosing one. */
static int bus_message_enter_any(sd_bus_message *m, char type)
{
        const char *contents;
        char t;
        int r;

        r = sd_bus_message_peek_type(m, &t, &contents);
        if (r <= 0)
                return r;
        if (t != type)
                return -ENXIO;
        return sd_bus_message_enter_container(m, type, contents);
}

int bus_message_read_records(sd_bus_message *m, const char *const *keys, json_object **ret)
{
        _cleanup_(json_object_putp) json_object *records = json_object_new_array();
        int r;

        r = bus_message_enter_any(m, SD_BUS_TYPE_ARRAY);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENXIO;
        while ((r = bus_message_enter_any(m, SD_BUS_TYPE_STRUCT)) > 0) {
                json_object *record = json_object_new_object();

                json_object_array_add(records, record);
                for (const char *const *k = keys; *k; k++) {
                        json_object *v;

                        r = bus_message_read_json(m, &v);
                        if (r < 0)
                                return r;
                        json_object_object_add(record, *k, v);
                }
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(records);
        return 0;
}

static const Field *field_find(const Field *fields, const char *property)
{
        for (const Field *f = fields; f->property; f++)
                if (streq(f->property, property))
                        return f;
        return NULL;
}

int bus_message_read_properties(sd_bus_message *m, const Field *fields, json_object **ret)
{
        _cleanup_(json_object_putp) json_object *properties = json_object_new_object();
        _cleanup_free_ char *entry = NULL;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0 || type != SD_BUS_TYPE_ARRAY || !startswith(contents, "{s"))
                return -ENXIO;
        /* "{sv}" holds entries of "sv". */
        entry = xstrndup(contents + 1, strlen(contents) - 2);
        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, contents);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, entry)) > 0) {
                const char *name, *value;
                json_object *v;

                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, &type, &value);
                if (r < 0)
                        return r;
                r = type == SD_BUS_TYPE_ARRAY && value[0] == '{' ? bus_message_read_properties(m, NULL, &v)
                                                                 : bus_message_read_json(m, &v);
                if (r < 0)
                        return r;
                const Field *f = fields ? field_find(fields, name) : NULL;
                json_object_object_add(properties, f ? f->key : name, v);
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(properties);
        return 0;
}

/* Shared by berthctl's commands and command groups. */

int usage_error_for(const char *help, const char *fmt, ...)
{
        va_list ap;

        fputs("berthctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'berthctl %s--help' for more information.\n", help);
        return -EINVAL;
}

int output_mode_from_string(const char *s, OutputMode *ret)
{
        if (streq(s, "text"))
                *ret = OUTPUT_TEXT;
        else if (streq(s, "json"))
                *ret = OUTPUT_JSON;
        else
                return -EINVAL;
        return 0;
}

int bus_connect(const char *address, sd_bus **ret)
{
        int r = bus_open(address, ret);
        if (r < 0) {
                const char *name = address ?: getenv("BERTH_BUS_ADDRESS");
                return error_errno(r, "Failed to connect to %s: %m", isempty(name) ? "the system bus" : name);
        }
        return 0;
}

static char *timestamp_to_text(uint64_t usec)
{
        time_t t = (time_t) (usec / 1000000);
        char buf[64];
        struct tm tm;

        if (usec == 0)
                return xstrdup("-");
        if (!localtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return xasprintf("@%llu", (unsigned long long) t);
        return xstrdup(buf);
}

static char *value_to_text(json_object *v, FieldFlags flags)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                return xstrdup("");
        case json_type_string:
                return xstrdup(json_object_get_string(v));
        case json_type_boolean:
                return xstrdup(json_object_get_boolean(v) ? "yes" : "no");
        case json_type_int:
                if (flags & FIELD_TIMESTAMP)
                        return timestamp_to_text(json_object_get_uint64(v));
                return xstrdup(json_object_to_json_string(v));
        case json_type_array: {
                /* ';' as in the config file, so "tags: a;b" reads back the way it was written. */
                char *s = xstrdup("");
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        _cleanup_free_ char *e = value_to_text(json_object_array_get_idx(v, i), flags),
                                            *old = s;
                        s = xasprintf("%s%s%s", old, i > 0 ? ";" : "", e);
                }
                return s;
        }
        default:
                return xstrdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_NOSLASHESCAPE));
        }
}

int error_errno(int r, const char *fmt, ...)
{
        va_list ap;

        fputs("berthctl: ", stderr);
        errno = abs(r);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -abs(r);
}

/*
 * The daemon's message says what failed and why; sd-bus fills one in for local failures too. berth's own
 * errors also show their name, which scripts can match on.
 */
int error_bus(int r, const sd_bus_error *error)
{
        if (sd_bus_error_is_set(error) && !isempty(error->message) &&
                startswith(error->name, "org.berth.Error."))
                return error_errno(r, "%s (%s)", error->message, error->name);
        if (sd_bus_error_is_set(error) && !isempty(error->message))
                return error_errno(r, "%s", error->message);
        return error_errno(r, "%m");
}

void output_json(json_object *o)
{
        puts(json_object_to_json_string_ext(
                o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void table_print_row(char *const *cells, const size_t *widths, size_t n_columns)
{
        for (size_t c = 0; c < n_columns; c++)
                if (c + 1 < n_columns)
                        printf("%-*s  ", (int) widths[c], cells[c]);
                else
                        printf("%s\n", cells[c]);
}

static void output_table(json_object *records, const char *const *columns)
{
        size_t n_columns = strv_length((char *const *) columns), n_rows = json_object_array_length(records);
        _cleanup_free_ size_t *widths = new0(size_t, n_columns);
        /* Row 0 is the header. */
        _cleanup_free_ char **cells = new0(char *, (n_rows + 1) * n_columns);

        for (size_t c = 0; c < n_columns; c++) {
                char *h = xstrdup(columns[c]);
                for (char *p = h; *p; p++)
                        *p = (char) toupper((unsigned char) *p);
                cells[c] = h;
        }
        for (size_t row = 0; row < n_rows; row++) {
                json_object *record = json_object_array_get_idx(records, row);
                for (size_t c = 0; c < n_columns; c++) {
                        char *s = value_to_text(json_object_object_get(record, columns[c]), 0);
                        /* Keeps the columns splittable on whitespace. */
                        if (isempty(s)) {
                                free(s);
                                s = xstrdup("-");
                        }
                        cells[(row + 1) * n_columns + c] = s;
                }
        }
        for (size_t i = 0; i < (n_rows + 1) * n_columns; i++)
                widths[i % n_columns] = MAX(widths[i % n_columns], strlen(cells[i]));
        for (size_t row = 0; row <= n_rows; row++)
                table_print_row(cells + row * n_columns, widths, n_columns);
        for (size_t i = 0; i < (n_rows + 1) * n_columns; i++)
                free(cells[i]);
}

void output_records(OutputMode mode, json_object *records, const char *const *columns)
{
        if (mode == OUTPUT_JSON)
                output_json(records);
        else
                output_table(records, columns);
}

void output_properties(OutputMode mode, json_object *properties, const Field *fields)
{
        if (mode == OUTPUT_JSON) {
                output_json(properties);
                return;
        }
        for (const Field *f = fields; f->property; f++) {
                json_object *v;

                if ((f->flags & FIELD_JSON_ONLY) || !json_object_object_get_ex(properties, f->key, &v))
                        continue;
                _cleanup_free_ char *s = value_to_text(v, f->flags);
                printf("%s: %s\n", f->key, s);
        }
}

int bus_message_read_dicts(sd_bus_message *m, json_object **ret)
{
        _cleanup_(json_object_putp) json_object *records = json_object_new_array();
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "a{sv}");
        while (r >= 0 && (r = sd_bus_message_at_end(m, false)) == 0) {
                json_object *record;

                r = bus_message_read_properties(m, NULL, &record);
                if (r >= 0)
                        json_object_array_add(records, record);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(records);
        return 0;
}

bool command_group_is(int argc, char *argv[], const char *group)
{
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--"))
                        return false;
                /* The global options that take a separate value; the command comes before any other. */
                if (strv_contains((char *const[]){ (char *) "--bus-address", (char *) "-o",
                                          (char *) "--output", NULL },
                            argv[i])) {
                        i++;
                        continue;
                }
                if (argv[i][0] != '-')
                        return streq(argv[i], group);
        }
        return false;
}
