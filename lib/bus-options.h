/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

/* The a{sv} options of berth's mutating methods, read by table. */

typedef enum BusOptionType {
        BUS_OPTION_BOOL, /* "b" into a bool */
        BUS_OPTION_UINT32, /* "u" into a uint32_t */
        BUS_OPTION_STRING, /* "s" into a char *, a copy the caller frees */
        BUS_OPTION_UINT64, /* "t" into a uint64_t */
        BUS_OPTION_TRISTATE, /* "b" into an int: 1 or 0, left as it is (-1: not given) when absent */
        BUS_OPTION_STRV, /* "as" into a char **, a copy the caller frees */
} BusOptionType;

typedef struct BusOption {
        const char *name;
        BusOptionType type;
        size_t offset; /* of the field in the destination struct */
} BusOption;

/*
 * Reads an a{sv} into dest as the table (ended by an entry with name NULL; a
 * NULL table accepts no option) says. An unknown option or a value of the
 * wrong type is an org.berth.Error.InvalidArgument naming the option.
 */
int bus_message_read_options(sd_bus_message *msg, const BusOption *table, void *dest, sd_bus_error *error);
