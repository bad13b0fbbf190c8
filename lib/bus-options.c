/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"
#include "bus-options.h"
#include "errors.h"

static const BusOption *find_option(const BusOption *table, const char *name)
{
        for (const BusOption *o = table; o && o->name; o++)
                if (streq(o->name, name))
                        return o;
        return NULL;
}

static int read_value(sd_bus_message *msg, const BusOption *o, void *dest)
{
        char *field = (char *) dest + o->offset;
        const char *s;
        int b, r;

        switch (o->type) {
        case BUS_OPTION_BOOL:
                r = sd_bus_message_read(msg, "v", "b", &b);
                if (r >= 0)
                        *(bool *) field = b;
                return r;
        case BUS_OPTION_TRISTATE:
                r = sd_bus_message_read(msg, "v", "b", &b);
                if (r >= 0)
                        *(int *) field = !!b;
                return r;
        case BUS_OPTION_UINT32:
                return sd_bus_message_read(msg, "v", "u", (uint32_t *) field);
        case BUS_OPTION_UINT64:
                return sd_bus_message_read(msg, "v", "t", (uint64_t *) field);
        case BUS_OPTION_STRV: {
                char **l = NULL;
                r = sd_bus_message_enter_container(msg, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_read_strv(msg, &l);
                if (r >= 0)
                        r = sd_bus_message_exit_container(msg);
                if (r >= 0) {
                        strv_free(*(char ***) field);
                        *(char ***) field = l;
                } else
                        strv_free(l);
                return r;
        }
        case BUS_OPTION_STRING:
                r = sd_bus_message_read(msg, "v", "s", &s);
                if (r >= 0) {
                        free(*(char **) field);
                        *(char **) field = xstrdup(s);
                }
                return r;
        }
        return -EINVAL;
}

int bus_message_read_options(sd_bus_message *msg, const BusOption *table, void *dest, sd_bus_error *error)
{
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const BusOption *o;
                const char *name;

                r = sd_bus_message_read(msg, "s", &name);
                if (r < 0)
                        return r;
                o = find_option(table, name);
                if (!o)
                        return sd_bus_error_setf(
                                error, BERTH_ERROR_INVALID_ARGUMENT, "Unknown option '%s'", name);
                if (read_value(msg, o, dest) < 0)
                        return sd_bus_error_setf(
                                error, BERTH_ERROR_INVALID_ARGUMENT, "Option '%s' has the wrong type", name);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}
