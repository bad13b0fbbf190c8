/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest-config.h"
#include "macro.h"

/*
 * storage.cfg, in Proxmox section-config format:
 *
 *     dir: local
 *             path /var/lib/berth/images
 *             content images,rootdir
 *
 * A "<type>: <id>" header, then indented "key value" lines; a blank line ends
 * the section, lines starting with '#' are comments. Which keys a section takes
 * depends on its type. Unknown types and keys, duplicate keys and ids, and
 * invalid values are errors.
 *
 * Volume IDs are "<storage>:<name>". On a dir storage a name is
 * "<vmid>/<file>" and lives at "<path>/<vmid>/<file>", the path taken under
 * the root prefix (paths.h).
 *
 * lvm (a volume group, optionally on a "base" volume such as a LUN of a
 * multipath storage, whose volume names are WWIDs) and multipath storages are
 * configuration only so far: their volumes cannot be used (-EOPNOTSUPP).
 */

typedef enum StorageType {
        STORAGE_TYPE_DIR,
        STORAGE_TYPE_LVM,
        STORAGE_TYPE_MULTIPATH,
        _STORAGE_TYPE_MAX,
        _STORAGE_TYPE_INVALID = -EINVAL,
} StorageType;
const char *storage_type_to_string(StorageType t);
StorageType storage_type_from_string(const char *s);

typedef enum StorageContent {
        STORAGE_CONTENT_IMAGES,
        STORAGE_CONTENT_ROOTDIR,
        STORAGE_CONTENT_VZTMPL,
        STORAGE_CONTENT_ISO,
        STORAGE_CONTENT_BACKUP,
        STORAGE_CONTENT_SNIPPETS,
        _STORAGE_CONTENT_MAX,
        _STORAGE_CONTENT_INVALID = -EINVAL,
} StorageContent;
const char *storage_content_to_string(StorageContent c);
StorageContent storage_content_from_string(const char *s);

typedef struct Storage {
        StorageType type;
        char *id;
        unsigned content; /* mask of 1U << StorageContent; 0 when not configured (the type's default) */
        char **nodes; /* sorted; NULL means every node */
        bool shared;
        bool disabled;
        char *path; /* dir: absolute host path, without the root prefix */
        char *vgname; /* lvm: the volume group */
        char *base; /* lvm: the volume ID of the device it sits on; NULL when none */
} Storage;

typedef struct StorageConfig {
        Storage *storages; /* in file order */
        size_t n_storages;
} StorageConfig;

StorageConfig *storage_config_free(StorageConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(StorageConfig *, storage_config_free);

/* -EBADMSG on invalid text, with a "line N: ..." message in ret_error if given. */
int storage_config_parse(const char *text, StorageConfig **ret, char **ret_error);
/* Canonical form: sections in config order, keys in schema order, settings at their default omitted. */
char *storage_config_format(const StorageConfig *c);
/* What a node uses when the store holds no storage.cfg: "dir: local" at /var/lib/berth/images. */
StorageConfig *storage_config_default(void);

const Storage *storage_find(const StorageConfig *c, const char *id);
/* Whether the storage holds this kind of content, honouring the type's default when content is unset. */
bool storage_has_content(const Storage *s, StorageContent content);

/*
 * Volume operations. Common errors: -EINVAL for a malformed volume ID or name
 * (including any ".." component), -ENOENT for an unknown storage, -ENOMEDIUM
 * for a disabled one, -EOPNOTSUPP for a configuration-only type.
 */

/* The volume's path on this host (root prefix applied); the volume need not exist. */
int storage_volume_path(const StorageConfig *c, const char *volid, char **ret_path);
/*
 * Creates a volume of size_bytes with qemu-img and returns its volume ID. A
 * NULL name picks the first free "vm-<vmid>-disk-<n>.<format>"; a given name
 * must end in ".<format>". -EEXIST when the volume exists, -EMEDIUMTYPE when the
 * storage does not hold images, -EIO when qemu-img fails.
 */
int storage_volume_alloc(const StorageConfig *c, const char *storage_id, uint32_t vmid, const char *name,
        DiskFormat format, uint64_t size_bytes, char **ret_volid);
/*
 * The guest that owns a volume, as the name says ("<vmid>/<file>" on a dir storage); -ENXIO for a volume
 * whose name names no owner (lvm, multipath).
 */
int storage_volume_owner(const StorageConfig *c, const char *volid, uint32_t *ret_vmid);
/* Removes a volume; -ENOENT when it does not exist. */
int storage_volume_free(const StorageConfig *c, const char *volid);
/* Makes a volume usable on this host before a guest opens it, and releases it afterwards. */
int storage_volume_activate(const StorageConfig *c, const char *volid);
int storage_volume_deactivate(const StorageConfig *c, const char *volid);
