/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "alloc.h"
#include "fileio.h"
#include "paths.h"
#include "section-config.h"
#include "spawn.h"
#include "storage.h"
#include "vmid.h"

#define STORAGE_ID_MAX 32
#define NODE_NAME_MAX 63
#define VOLUME_FILE_MAX 255

static const char *const storage_type_table[_STORAGE_TYPE_MAX] = {
        [STORAGE_TYPE_DIR] = "dir",
        [STORAGE_TYPE_LVM] = "lvm",
        [STORAGE_TYPE_MULTIPATH] = "multipath",
};
DEFINE_STRING_TABLE_LOOKUP(storage_type, StorageType);

static const char *const storage_content_table[_STORAGE_CONTENT_MAX] = {
        [STORAGE_CONTENT_IMAGES] = "images",
        [STORAGE_CONTENT_ROOTDIR] = "rootdir",
        [STORAGE_CONTENT_VZTMPL] = "vztmpl",
        [STORAGE_CONTENT_ISO] = "iso",
        [STORAGE_CONTENT_BACKUP] = "backup",
        [STORAGE_CONTENT_SNIPPETS] = "snippets",
};
DEFINE_STRING_TABLE_LOOKUP(storage_content, StorageContent);

#define BIT(n) (1U << (n))
#define ALL_TYPES ((1U << _STORAGE_TYPE_MAX) - 1)

/* Proxmox's defaults, so a storage.cfg written for Proxmox means the same here. */
static const unsigned default_content[_STORAGE_TYPE_MAX] = {
        [STORAGE_TYPE_DIR] = BIT(STORAGE_CONTENT_IMAGES) | BIT(STORAGE_CONTENT_ROOTDIR),
        [STORAGE_TYPE_LVM] = BIT(STORAGE_CONTENT_IMAGES) | BIT(STORAGE_CONTENT_ROOTDIR),
        [STORAGE_TYPE_MULTIPATH] = BIT(STORAGE_CONTENT_IMAGES),
};

static void append(char **buf, const char *fmt, ...) _printf_(2, 3);
static void append(char **buf, const char *fmt, ...)
{
        _cleanup_free_ char *old = *buf, *piece = NULL;
        va_list ap;

        va_start(ap, fmt);
        piece = xvasprintf(fmt, ap);
        va_end(ap);
        *buf = xasprintf("%s%s", strempty(old), piece);
}

/* The rule guest configs apply to the storage part of "<storage>:<volume>", so every storage can be referenced. */
static bool storage_id_is_valid(const char *id)
{
        size_t n = strlen(id);

        if (n == 0 || n > STORAGE_ID_MAX || !(id[0] >= 'a' && id[0] <= 'z'))
                return false;
        return strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool node_name_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > NODE_NAME_MAX)
                return false;
        if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != n)
                return false;
        return s[0] != '-' && s[n - 1] != '-';
}

/* A file inside a guest's directory: no separators, no hidden files, so never "." or "..". */
static bool volume_file_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > VOLUME_FILE_MAX || s[0] == '.')
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") == n;
}

/* Splits a comma list; an empty item is an error. */
static int split_list(const char *value, char ***ret, char **ret_reason)
{
        _cleanup_strv_free_ char **l = NULL;

        for (const char *p = value;;) {
                size_t n = strcspn(p, ",");
                if (n == 0) {
                        *ret_reason = xstrdup("empty list item");
                        return -EINVAL;
                }
                _cleanup_free_ char *item = xstrndup(p, n);
                strv_push(&l, item);
                if (!p[n])
                        break;
                p += n + 1;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* Values of the schema's keys, each parsed into a field of Storage and written back from it. */

static int parse_absolute_path(const char *value, void *field, char **ret_reason)
{
        _cleanup_free_ char *path = xstrdup(value);
        size_t n = strlen(path);

        if (path[0] != '/') {
                *ret_reason = xstrdup("not an absolute path");
                return -EINVAL;
        }
        if (n >= PATH_MAX) {
                *ret_reason = xstrdup("path too long");
                return -EINVAL;
        }
        while (n > 1 && path[n - 1] == '/')
                path[--n] = 0;
        if (strchr(" \t", path[n - 1])) {
                *ret_reason = xstrdup("path ends in whitespace");
                return -EINVAL;
        }
        for (const char *p = path + 1; n > 1;) {
                size_t k = strcspn(p, "/");
                if (k == 0 || (k == 1 && p[0] == '.') || (k == 2 && p[0] == '.' && p[1] == '.')) {
                        *ret_reason = xstrdup("path has an empty, '.' or '..' component");
                        return -EINVAL;
                }
                if (!p[k])
                        break;
                p += k + 1;
        }
        free(*(char **) field);
        *(char **) field = TAKE_PTR(path);
        return 0;
}

/* What lvm(8) accepts as a volume group name. */
static int parse_vgname(const char *value, void *field, char **ret_reason)
{
        size_t n = strlen(value);

        if (n > 127 || value[0] == '-' ||
                strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_.-") != n) {
                *ret_reason = xstrdup("not a volume group name");
                return -EINVAL;
        }
        free(*(char **) field);
        *(char **) field = xstrdup(value);
        return 0;
}

/* "<storage>:<name>"; whether that storage exists is the business of whoever uses the volume. */
static int parse_volume_id(const char *value, void *field, char **ret_reason)
{
        const char *colon = strchr(value, ':');
        _cleanup_free_ char *id = colon ? xstrndup(value, colon - value) : NULL;

        if (!id || !storage_id_is_valid(id) || !colon[1] || strpbrk(colon + 1, " \t,")) {
                *ret_reason = xstrdup("expected '<storage>:<volume>'");
                return -EINVAL;
        }
        free(*(char **) field);
        *(char **) field = xstrdup(value);
        return 0;
}

static void format_string(char **buf, const char *key, const void *field)
{
        const char *s = *(char *const *) field;
        if (s)
                append(buf, "\t%s %s\n", key, s);
}

static int parse_content(const char *value, void *field, char **ret_reason)
{
        _cleanup_strv_free_ char **items = NULL;
        unsigned mask = 0;
        int r;

        r = split_list(value, &items, ret_reason);
        if (r < 0)
                return r;
        STRV_FOREACH (i, items) {
                StorageContent t = storage_content_from_string(*i);
                if (t < 0) {
                        *ret_reason = xasprintf("unknown content type '%s'", *i);
                        return -EINVAL;
                }
                if (mask & BIT(t)) {
                        *ret_reason = xasprintf("content type '%s' listed twice", *i);
                        return -EINVAL;
                }
                mask |= BIT(t);
        }
        *(unsigned *) field = mask;
        return 0;
}

static void format_content(char **buf, const char *key, const void *field)
{
        unsigned mask = *(const unsigned *) field;
        bool first = true;

        if (mask == 0)
                return;
        append(buf, "\t%s ", key);
        for (StorageContent t = 0; t < _STORAGE_CONTENT_MAX; t++)
                if (mask & BIT(t)) {
                        append(buf, "%s%s", first ? "" : ",", storage_content_to_string(t));
                        first = false;
                }
        append(buf, "\n");
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int parse_nodes(const char *value, void *field, char **ret_reason)
{
        _cleanup_strv_free_ char **nodes = NULL;
        size_t n;
        int r;

        r = split_list(value, &nodes, ret_reason);
        if (r < 0)
                return r;
        STRV_FOREACH (i, nodes)
                if (!node_name_is_valid(*i)) {
                        *ret_reason = xasprintf("invalid node name '%s'", *i);
                        return -EINVAL;
                }
        n = strv_length(nodes);
        qsort(nodes, n, sizeof(char *), compare_strings);
        for (size_t i = 1; i < n; i++)
                if (streq(nodes[i - 1], nodes[i])) {
                        *ret_reason = xasprintf("node '%s' listed twice", nodes[i]);
                        return -EINVAL;
                }
        strv_free(*(char ***) field);
        *(char ***) field = TAKE_PTR(nodes);
        return 0;
}

static void format_nodes(char **buf, const char *key, const void *field)
{
        char *const *nodes = *(char **const *) field;

        if (!nodes)
                return;
        append(buf, "\t%s ", key);
        STRV_FOREACH (i, nodes)
                append(buf, "%s%s", i == nodes ? "" : ",", *i);
        append(buf, "\n");
}

static int parse_bool(const char *value, void *field, char **ret_reason)
{
        if (!streq(value, "0") && !streq(value, "1")) {
                *ret_reason = xstrdup("expected 0 or 1");
                return -EINVAL;
        }
        *(bool *) field = value[0] == '1';
        return 0;
}

static void format_bool(char **buf, const char *key, const void *field)
{
        if (*(const bool *) field)
                append(buf, "\t%s 1\n", key);
}

typedef struct StorageKey {
        const char *name;
        unsigned types; /* mask of BIT(StorageType) that take this key */
        unsigned required; /* mask of types that must set it */
        size_t offset; /* of the field in Storage */
        int (*parse)(const char *value, void *field, char **ret_reason);
        void (*format)(char **buf, const char *key, const void *field);
} StorageKey;

/* In the order the canonical form writes them. */
static const StorageKey storage_keys[] = {
        { "path", BIT(STORAGE_TYPE_DIR), BIT(STORAGE_TYPE_DIR), offsetof(Storage, path), parse_absolute_path,
                format_string },
        { "vgname", BIT(STORAGE_TYPE_LVM), BIT(STORAGE_TYPE_LVM), offsetof(Storage, vgname), parse_vgname,
                format_string },
        { "base", BIT(STORAGE_TYPE_LVM), 0, offsetof(Storage, base), parse_volume_id, format_string },
        { "content", ALL_TYPES, 0, offsetof(Storage, content), parse_content, format_content },
        { "nodes", ALL_TYPES, 0, offsetof(Storage, nodes), parse_nodes, format_nodes },
        { "shared", ALL_TYPES, 0, offsetof(Storage, shared), parse_bool, format_bool },
        { "disable", ALL_TYPES, 0, offsetof(Storage, disabled), parse_bool, format_bool },
};

static const StorageKey *storage_key_find(StorageType type, const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(storage_keys); i++)
                if ((storage_keys[i].types & BIT(type)) && streq(storage_keys[i].name, name))
                        return &storage_keys[i];
        return NULL;
}

static void storage_done(Storage *s)
{
        free(s->id);
        free(s->path);
        free(s->vgname);
        free(s->base);
        strv_free(s->nodes);
}

StorageConfig *storage_config_free(StorageConfig *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_storages; i++)
                storage_done(&c->storages[i]);
        free(c->storages);
        free(c);
        return NULL;
}

static Storage *storage_config_add(StorageConfig *c, StorageType type, const char *id)
{
        c->storages = xrealloc(c->storages, (c->n_storages + 1) * sizeof(Storage));
        c->storages[c->n_storages] = (Storage){ .type = type, .id = xstrdup(id) };
        return &c->storages[c->n_storages++];
}

typedef struct ParseState {
        StorageConfig *config; /* the current section is always the config's last storage */
        bool seen[ELEMENTSOF(storage_keys)];
} ParseState;

static int reject(char **ret_reason, const char *fmt, ...) _printf_(2, 3);
static int reject(char **ret_reason, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        *ret_reason = xvasprintf(fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int parse_section_end(void *userdata, char **ret_reason)
{
        ParseState *st = userdata;
        const Storage *s = &st->config->storages[st->config->n_storages - 1];

        for (size_t i = 0; i < ELEMENTSOF(storage_keys); i++)
                if ((storage_keys[i].required & BIT(s->type)) && !st->seen[i])
                        return reject(ret_reason, "%s storage '%s' needs '%s'",
                                storage_type_to_string(s->type), s->id, storage_keys[i].name);
        return 0;
}

static int parse_section(const char *type_name, const char *id, void *userdata, char **ret_reason)
{
        ParseState *st = userdata;
        StorageType type = storage_type_from_string(type_name);

        if (type < 0)
                return reject(ret_reason, "unknown storage type '%s'", type_name);
        if (!storage_id_is_valid(id))
                return reject(ret_reason, "invalid storage id '%s'", id);
        if (storage_find(st->config, id))
                return reject(ret_reason, "duplicate storage id '%s'", id);

        storage_config_add(st->config, type, id);
        memset(st->seen, 0, sizeof(st->seen));
        return 0;
}

static int parse_key(const char *key, const char *value, void *userdata, char **ret_reason)
{
        ParseState *st = userdata;
        Storage *s = &st->config->storages[st->config->n_storages - 1];
        _cleanup_free_ char *reason = NULL;
        int r;

        const StorageKey *sk = storage_key_find(s->type, key);
        if (!sk)
                return reject(ret_reason, "unknown key '%s' for %s storage '%s'", key,
                        storage_type_to_string(s->type), s->id);
        if (st->seen[sk - storage_keys])
                return reject(ret_reason, "duplicate key '%s' in storage '%s'", key, s->id);
        if (isempty(value))
                return reject(ret_reason, "key '%s' needs a value", key);

        r = sk->parse(value, (uint8_t *) s + sk->offset, &reason);
        if (r < 0)
                return reject(ret_reason, "invalid %s '%s': %s", key, value, reason);
        st->seen[sk - storage_keys] = true;
        return 0;
}

static const SectionConfigParser storage_parser = {
        .what = "storage",
        .section = parse_section,
        .key = parse_key,
        .section_end = parse_section_end,
};

int storage_config_parse(const char *text, StorageConfig **ret, char **ret_error)
{
        _cleanup_(storage_config_freep) StorageConfig *c = new0(StorageConfig, 1);
        ParseState st = { .config = c };
        int r;

        r = section_config_parse(text, &storage_parser, &st, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

char *storage_config_format(const StorageConfig *c)
{
        char *buf = xstrdup("");

        for (size_t i = 0; i < c->n_storages; i++) {
                const Storage *s = &c->storages[i];

                append(&buf, "%s%s: %s\n", i > 0 ? "\n" : "", storage_type_to_string(s->type), s->id);
                for (size_t k = 0; k < ELEMENTSOF(storage_keys); k++)
                        if (storage_keys[k].types & BIT(s->type))
                                storage_keys[k].format(&buf, storage_keys[k].name,
                                        (const uint8_t *) s + storage_keys[k].offset);
        }
        return buf;
}

StorageConfig *storage_config_default(void)
{
        StorageConfig *c = new0(StorageConfig, 1);
        Storage *s = storage_config_add(c, STORAGE_TYPE_DIR, "local");

        s->path = xstrdup("/var/lib/berth/images");
        return c;
}

const Storage *storage_find(const StorageConfig *c, const char *id)
{
        for (size_t i = 0; i < c->n_storages; i++)
                if (streq(c->storages[i].id, id))
                        return &c->storages[i];
        return NULL;
}

bool storage_has_content(const Storage *s, StorageContent content)
{
        unsigned mask = s->content != 0 ? s->content : default_content[s->type];
        return mask & BIT(content);
}

/* dir: volumes are files "<path>/<vmid>/<file>"; the volume name is "<vmid>/<file>". */

static int dir_parse_name(const char *name, uint32_t *ret_vmid, const char **ret_file)
{
        const char *slash = strchr(name, '/');
        uint32_t vmid;

        if (!slash)
                return -EINVAL;
        _cleanup_free_ char *v = xstrndup(name, slash - name);
        if (vmid_parse(v, &vmid) < 0 || !volume_file_is_valid(slash + 1))
                return -EINVAL;
        *ret_vmid = vmid;
        *ret_file = slash + 1;
        return 0;
}

static int dir_volume_path(const Storage *s, const char *name, char **ret_path)
{
        const char *file;
        uint32_t vmid;
        int r;

        r = dir_parse_name(name, &vmid, &file);
        if (r < 0)
                return r;
        *ret_path = root_path("%s/%" PRIu32 "/%s", s->path, vmid, file);
        return 0;
}

/* Creates the file exclusively, so two allocations never get the same volume. */
static int create_exclusive(const char *dir, const char *file)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd < 0)
                return negative_errno();
        safe_close(fd);
        return 0;
}

/* The first "vm-<vmid>-disk-<n>.<ext>" whose n no volume of any format uses yet; the file is created. */
static int dir_reserve_free_name(const char *dir, uint32_t vmid, DiskFormat format, char **ret_file)
{
        for (unsigned n = 0;; n++) {
                bool taken = false;
                int r;

                for (DiskFormat f = 0; f < _DISK_FORMAT_MAX && !taken; f++) {
                        _cleanup_free_ char *other = xasprintf(
                                "%s/vm-%" PRIu32 "-disk-%u.%s", dir, vmid, n, disk_format_to_string(f));
                        taken = access(other, F_OK) >= 0;
                }
                if (taken)
                        continue;
                _cleanup_free_ char *file = xasprintf(
                        "vm-%" PRIu32 "-disk-%u.%s", vmid, n, disk_format_to_string(format));
                r = create_exclusive(dir, file);
                if (r == -EEXIST)
                        continue;
                if (r < 0)
                        return r;
                *ret_file = TAKE_PTR(file);
                return 0;
        }
}

static int dir_volume_alloc(const Storage *s, uint32_t vmid, const char *name, DiskFormat format,
        uint64_t size_bytes, char **ret_name)
{
        _cleanup_free_ char *dir = root_path("%s/%" PRIu32, s->path, vmid), *file = NULL, *path = NULL,
                            *ext = NULL;
        const char *fmt = disk_format_to_string(format);
        char size[32];
        int r;

        if (!fmt)
                return -EINVAL;
        ext = xasprintf(".%s", fmt);
        if (name && (!volume_file_is_valid(name) || !endswith(name, ext)))
                return -EINVAL;

        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        if (name) {
                r = create_exclusive(dir, name);
                if (r < 0)
                        return r;
                file = xstrdup(name);
        } else {
                r = dir_reserve_free_name(dir, vmid, format, &file);
                if (r < 0)
                        return r;
        }

        path = xasprintf("%s/%s", dir, file);
        snprintf(size, sizeof size, "%" PRIu64, size_bytes);
        char *argv[] = { (char *) QEMU_IMG, (char *) "create", (char *) "-q", (char *) "-f", (char *) fmt,
                path, size, NULL };
        r = spawn_and_wait(argv, NULL);
        if (r != 0) {
                (void) unlink(path);
                return r < 0 ? r : -EIO;
        }
        *ret_name = xasprintf("%" PRIu32 "/%s", vmid, file);
        return 0;
}

static int dir_volume_free(const Storage *s, const char *name)
{
        _cleanup_free_ char *path = NULL;
        int r;

        r = dir_volume_path(s, name, &path);
        if (r < 0)
                return r;
        if (unlink(path) < 0)
                return negative_errno();
        /* The guest's directory goes with its last volume; while others remain, rmdir() fails harmlessly. */
        *strrchr(path, '/') = 0;
        (void) rmdir(path);
        return 0;
}

typedef struct StorageDriver {
        int (*volume_path)(const Storage *s, const char *name, char **ret_path);
        int (*volume_alloc)(const Storage *s, uint32_t vmid, const char *name, DiskFormat format,
                uint64_t size_bytes, char **ret_name);
        int (*volume_free)(const Storage *s, const char *name);
        /* NULL when volumes of the type are always usable */
        int (*volume_activate)(const Storage *s, const char *name);
        int (*volume_deactivate)(const Storage *s, const char *name);
} StorageDriver;

static const StorageDriver storage_drivers[_STORAGE_TYPE_MAX] = {
        [STORAGE_TYPE_DIR] = {
                .volume_path = dir_volume_path,
                .volume_alloc = dir_volume_alloc,
                .volume_free = dir_volume_free,
        },
};

/* Splits "<storage>:<name>" and finds the storage, which must be enabled. */
static int volume_lookup(
        const StorageConfig *c, const char *volid, const Storage **ret_storage, const char **ret_name)
{
        const char *colon = strchr(volid, ':');
        const Storage *s;

        if (!colon || !colon[1])
                return -EINVAL;
        _cleanup_free_ char *id = xstrndup(volid, colon - volid);
        if (!storage_id_is_valid(id))
                return -EINVAL;
        s = storage_find(c, id);
        if (!s)
                return -ENOENT;
        if (s->disabled)
                return -ENOMEDIUM;
        if (!storage_drivers[s->type].volume_path)
                return -EOPNOTSUPP;
        *ret_storage = s;
        *ret_name = colon + 1;
        return 0;
}

int storage_volume_path(const StorageConfig *c, const char *volid, char **ret_path)
{
        const Storage *s;
        const char *name;
        int r;

        r = volume_lookup(c, volid, &s, &name);
        if (r < 0)
                return r;
        return storage_drivers[s->type].volume_path(s, name, ret_path);
}

int storage_volume_alloc(const StorageConfig *c, const char *storage_id, uint32_t vmid, const char *name,
        DiskFormat format, uint64_t size_bytes, char **ret_volid)
{
        _cleanup_free_ char *vname = NULL;
        const Storage *s;
        int r;

        s = storage_find(c, storage_id);
        if (!s)
                return -ENOENT;
        if (s->disabled)
                return -ENOMEDIUM;
        if (!storage_has_content(s, STORAGE_CONTENT_IMAGES))
                return -EMEDIUMTYPE;
        if (!vmid_is_valid(vmid) || size_bytes == 0)
                return -EINVAL;
        if (!storage_drivers[s->type].volume_alloc)
                return -EOPNOTSUPP;

        r = storage_drivers[s->type].volume_alloc(s, vmid, name, format, size_bytes, &vname);
        if (r < 0)
                return r;
        *ret_volid = xasprintf("%s:%s", s->id, vname);
        return 0;
}

int storage_volume_free(const StorageConfig *c, const char *volid)
{
        const Storage *s;
        const char *name;
        int r;

        r = volume_lookup(c, volid, &s, &name);
        if (r < 0)
                return r;
        return storage_drivers[s->type].volume_free(s, name);
}

int storage_volume_owner(const StorageConfig *c, const char *volid, uint32_t *ret_vmid)
{
        const Storage *s;
        const char *name, *file;
        int r;

        r = volume_lookup(c, volid, &s, &name);
        if (r < 0)
                return r;
        if (s->type != STORAGE_TYPE_DIR)
                return -ENXIO;
        return dir_parse_name(name, ret_vmid, &file);
}

/* Activation validates the volume ID like every other operation, even where the type has nothing to do. */
static int volume_change_activation(const StorageConfig *c, const char *volid, bool activate)
{
        _cleanup_free_ char *path = NULL;
        const Storage *s;
        const char *name;
        int r;

        r = volume_lookup(c, volid, &s, &name);
        if (r < 0)
                return r;
        r = storage_drivers[s->type].volume_path(s, name, &path);
        if (r < 0)
                return r;

        const StorageDriver *d = &storage_drivers[s->type];
        int (*op)(const Storage *, const char *) = activate ? d->volume_activate : d->volume_deactivate;
        return op ? op(s, name) : 0;
}

int storage_volume_activate(const StorageConfig *c, const char *volid)
{
        return volume_change_activation(c, volid, true);
}

int storage_volume_deactivate(const StorageConfig *c, const char *volid)
{
        return volume_change_activation(c, volid, false);
}
