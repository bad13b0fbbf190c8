/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "guest-cpu.h"
#include "macro.h"

/*
 * A guest's config: Proxmox-style "key: value" lines, one file per guest.
 * Leading "#" lines are the description (written back the same way). Keys
 * follow a fixed schema; unknown keys and invalid values are errors, never
 * dropped. Entries keep file order; the writer emits description first, then
 * the keys sorted by name, so parse → write → parse → write is stable.
 */

typedef struct GuestConfigEntry {
        char *key;
        char *value;
} GuestConfigEntry;

typedef struct GuestConfig {
        char *description; /* NULL when none; may contain '\n' */
        GuestConfigEntry *entries;
        size_t n_entries;
} GuestConfig;

#define GUEST_CONFIG_DIGEST_LEN 64 /* hex sha256 */
#define GUEST_CONFIG_MAX_SIZE 262144U /* bytes of config text */
#define GUEST_CONFIG_MAX_VALUE 4096U /* bytes of one value */
/* Bytes of the description; bounded so that a parsed config always formats within GUEST_CONFIG_MAX_SIZE. */
#define GUEST_CONFIG_MAX_DESCRIPTION 8192U

GuestConfig *guest_config_free(GuestConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(GuestConfig *, guest_config_free);

/*
 * Parses text. On a syntax error, an unknown key, a duplicate key, an invalid
 * value, a '#' line after the first key or a size limit exceeded returns
 * -EBADMSG and, if ret_error is given, a message naming the line and key.
 */
int guest_config_parse(const char *text, GuestConfig **ret, char **ret_error);
/* Formats the config in canonical form. */
char *guest_config_format(const GuestConfig *c);
/* Hex sha256 of the text (the config file's bytes). */
void guest_config_digest(const char *text, char ret[GUEST_CONFIG_DIGEST_LEN + 1]);

/* Checks one key/value pair against the schema; -EBADMSG with a message when invalid, -ENOKEY when unknown. */
int guest_config_validate(const char *key, const char *value, char **ret_error);

const char *guest_config_get(const GuestConfig *c, const char *key);
/* Sets (validated) or, with value NULL, deletes a key. */
int guest_config_set(GuestConfig *c, const char *key, const char *value, char **ret_error);

/* Typed accessors over validated values; return def when the key is unset. */
uint64_t guest_config_get_memory_mib(const GuestConfig *c); /* default 512 */
unsigned guest_config_get_cores(const GuestConfig *c); /* default 1 */
bool guest_config_get_bool(const GuestConfig *c, const char *key, bool def);
/* The "tags" value split on ';' (NULL when none). */
char **guest_config_get_tags(const GuestConfig *c);

typedef struct GuestStartup {
        int order; /* -1 when unset */
        unsigned up; /* seconds to wait after starting this guest */
        unsigned down; /* seconds to wait for its shutdown; 0 = default */
} GuestStartup;
void guest_config_get_startup(const GuestConfig *c, GuestStartup *ret);

/* The "cpu" entry; GUEST_CPU_MODEL_DEFAULT with no flags when unset, -EBADMSG when invalid. */
int guest_config_get_cpu(const GuestConfig *c, GuestCpu *ret);

typedef enum DiskFormat {
        DISK_FORMAT_QCOW2,
        DISK_FORMAT_RAW,
        _DISK_FORMAT_MAX,
        _DISK_FORMAT_INVALID = -EINVAL,
} DiskFormat;
const char *disk_format_to_string(DiskFormat f);
DiskFormat disk_format_from_string(const char *s);

typedef struct GuestDisk {
        unsigned index; /* N of disk<N> */
        char *storage; /* storage id */
        char *volume; /* volume name within the storage */
        DiskFormat format; /* from format= or the volume's extension */
        char *cache; /* NULL or none|writeback|writethrough|directsync|unsafe */
} GuestDisk;

/* The disk<N> entries in index order. */
int guest_config_get_disks(const GuestConfig *c, GuestDisk **ret, size_t *ret_n);
void guest_disks_free(GuestDisk *d, size_t n);

typedef struct GuestNet {
        unsigned index; /* N of net<N> */
        char *model; /* virtio|e1000|rtl8139 */
        char *mac; /* NULL or aa:bb:cc:dd:ee:ff */
        char *bridge; /* NULL means user-mode networking */
} GuestNet;

int guest_config_get_nets(const GuestConfig *c, GuestNet **ret, size_t *ret_n);
void guest_nets_free(GuestNet *n, size_t count);
