/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/*
 * berthctl turns every bus reply into JSON first and renders that, so the text
 * and the JSON output of a command cannot disagree about what is in it.
 */

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

typedef enum OutputMode {
        OUTPUT_TEXT,
        OUTPUT_JSON,
} OutputMode;

typedef enum FieldFlags {
        FIELD_JSON_ONLY = 1 << 0, /* too long or too redundant for the text view */
        FIELD_TIMESTAMP = 1 << 1, /* µs since the epoch; 0 means "not yet" */
} FieldFlags;

/* One D-Bus property and the key it gets in berthctl's output. Tables end with an empty entry. */
typedef struct Field {
        const char *property;
        const char *key;
        FieldFlags flags;
} Field;

/* Reads the next complete value (basic, array, struct, variant) from m. */
int bus_message_read_json(sd_bus_message *m, json_object **ret);
/* Reads an array of structs into an array of objects, the struct members named by keys (NULL-terminated). */
int bus_message_read_records(sd_bus_message *m, const char *const *keys, json_object **ret);
/*
 * Reads a dictionary with string keys (the a{sv} of Properties.GetAll(), an
 * a{ss}, an a{sa{sv}}) into an object, nested dictionaries into objects; keys
 * not in fields (may be NULL) keep their D-Bus name.
 */
int bus_message_read_properties(sd_bus_message *m, const Field *fields, json_object **ret);
/* An aa{sv} into an array of objects, each as bus_message_read_properties() reads it. */
int bus_message_read_dicts(sd_bus_message *m, json_object **ret);

/* Whether the command line's command (the first word that is no option) is group. */
bool command_group_is(int argc, char *argv[], const char *group);

/* Prints "berthctl: <message>" on stderr, %m being strerror(r); returns -abs(r). */
int error_errno(int r, const char *fmt, ...) _printf_(2, 3);
/* Prints the message of a failed call, or strerror(r) when there is none; returns -abs(r). */
int error_bus(int r, const sd_bus_error *error);

/* berthctl's exit status for a command line it cannot take. */
#define EXIT_USAGE 2

/* "berthctl: <message>" and where help is on stderr (help: "" for berthctl's own, "multipath " for a group's); -EINVAL. */
int usage_error_for(const char *help, const char *fmt, ...) _printf_(2, 3);
/* The argument of -o/--output: -EINVAL for anything but text and json. */
int output_mode_from_string(const char *s, OutputMode *ret);
/* Opens the bus (bus.h's bus_open()); a failure is printed, naming the bus. */
int bus_connect(const char *address, sd_bus **ret);

void output_json(json_object *o);
/* A table with one column per key (headers are the keys in upper case), or the array as JSON. */
void output_records(OutputMode mode, json_object *records, const char *const *columns);
/* "key: value" lines in the order of fields, or the whole object as JSON. */
void output_properties(OutputMode mode, json_object *properties, const Field *fields);
