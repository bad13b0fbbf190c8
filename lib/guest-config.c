/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
/* For SHA256_Init() & co, see guest_config_digest(). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "berth-conf.h"
#include "guest-config.h"
#include "macro.h"
#include "utf8.h"

static const char *const disk_format_table[_DISK_FORMAT_MAX] = {
        [DISK_FORMAT_QCOW2] = "qcow2",
        [DISK_FORMAT_RAW] = "raw",
};

DEFINE_STRING_TABLE_LOOKUP(disk_format, DiskFormat);

static const char *const disk_cache_modes[] = { "none", "writeback", "writethrough", "directsync", "unsafe",
        NULL };
static const char *const net_models[] = { "virtio", "e1000", "rtl8139", NULL };
static const char *const lock_names[] = { "backup", "clone", "create", "migrate", "rollback", "snapshot",
        "suspending", "suspended", NULL };

static _printf_(3, 4) int fail(char **ret_error, int r, const char *fmt, ...)
{
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                *ret_error = xvasprintf(fmt, ap);
                va_end(ap);
        }
        return r;
}

/* Keys come from untrusted text and messages end up in D-Bus errors, which must be short, valid UTF-8. */
static char *escape_key(const char *key)
{
        size_t n = strlen(key), shown = MIN(n, (size_t) 64);
        char *e = xmalloc(shown * 4 + 4), *p = e;

        for (size_t i = 0; i < shown; i++) {
                unsigned char c = key[i];
                if (c >= 0x20 && c < 0x7f && c != '\\')
                        *p++ = c;
                else
                        p += sprintf(p, "\\x%02x", c);
        }
        if (shown < n)
                p = stpcpy(p, "...");
        *p = 0;
        return e;
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
        return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool in_set(const char *s, const char *const *set)
{
        for (; *set; set++)
                if (streq(s, *set))
                        return true;
        return false;
}

/* Strict decimal: digits only, no sign, no leading zeros. */
static bool parse_uint_n(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;

        if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(s[i]))
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        if (v < min || v > max)
                return false;
        if (ret)
                *ret = v;
        return true;
}

static bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
        return parse_uint_n(s, strlen(s), min, max, ret);
}

/* Splits s on sep, keeping empty pieces so that callers can reject them. */
static char **split(const char *s, char sep)
{
        char **l = NULL;

        for (;;) {
                const char *e = strchrnul(s, sep);
                _cleanup_free_ char *piece = xstrndup(s, e - s);
                strv_push(&l, piece);
                if (!*e)
                        return l;
                s = e + 1;
        }
}

static bool storage_id_is_valid(const char *s, size_t n)
{
        if (n < 1 || n > 32 || !(s[0] >= 'a' && s[0] <= 'z'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

/* Volume names become paths below the storage: no way out of it, and nothing QEMU's option parser splits on. */
static bool volume_is_valid(const char *s)
{
        if (!is_alnum(s[0]))
                return false;
        for (const char *p = s; *p; p++)
                if (!(is_alnum(*p) || *p == '.' || *p == '_' || *p == '/' || *p == '-'))
                        return false;
        for (const char *c = s;;) {
                size_t n = strcspn(c, "/");
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!c[n])
                        return true;
                c += n + 1;
        }
}

static const char *storage_volume_parse(const char *s, char **ret_storage, char **ret_volume)
{
        const char *colon = strchr(s, ':');

        if (!colon)
                return "must be <storage>:<volume>";
        if (!storage_id_is_valid(s, colon - s))
                return "storage id must be [a-z][a-z0-9_-]*, at most 32 characters";
        if (!volume_is_valid(colon + 1))
                return "volume must be [A-Za-z0-9][A-Za-z0-9._/-]* without '.', '..' or empty path "
                       "components";
        if (ret_storage)
                *ret_storage = xstrndup(s, colon - s);
        if (ret_volume)
                *ret_volume = xstrdup(colon + 1);
        return NULL;
}

static void guest_disk_done(GuestDisk *d)
{
        free(d->storage);
        free(d->volume);
        free(d->cache);
        *d = (GuestDisk){};
}

static const char *disk_parse(const char *value, GuestDisk *ret)
{
        _cleanup_strv_free_ char **parts = split(value, ',');
        _cleanup_free_ char *storage = NULL, *volume = NULL;
        const char *format = NULL, *cache = NULL, *why;
        DiskFormat f;

        why = storage_volume_parse(parts[0], &storage, &volume);
        if (why)
                return why;
        STRV_FOREACH (o, parts + 1) {
                const char *v;
                if ((v = startswith(*o, "format=")) && !format)
                        format = v;
                else if ((v = startswith(*o, "cache=")) && !cache)
                        cache = v;
                else
                        return "options must be format= and cache=, each at most once";
        }
        if (format) {
                f = disk_format_from_string(format);
                if (f < 0)
                        return "format must be qcow2 or raw";
        } else if (endswith(volume, ".qcow2"))
                f = DISK_FORMAT_QCOW2;
        else if (endswith(volume, ".raw") || endswith(volume, ".img"))
                f = DISK_FORMAT_RAW;
        else
                return "format= is required when the volume does not end in .qcow2, .raw or .img";
        if (cache && !in_set(cache, disk_cache_modes))
                return "cache must be none, writeback, writethrough, directsync or unsafe";

        if (ret)
                *ret = (GuestDisk){
                        .storage = TAKE_PTR(storage),
                        .volume = TAKE_PTR(volume),
                        .format = f,
                        .cache = cache ? xstrdup(cache) : NULL,
                };
        return NULL;
}

static bool mac_is_valid_unicast(const char *s)
{
        if (strlen(s) != 17)
                return false;
        for (size_t i = 0; i < 17; i++)
                if (i % 3 == 2 ? s[i] != ':' : !is_hex(s[i]))
                        return false;
        /* The low bit of the first octet marks group addresses, which no NIC may own. */
        return strchr("02468aceACE", s[1]) != NULL;
}

static bool ifname_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n < 1 || n > 15 || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (!(is_alnum(*p) || *p == '_' || *p == '.' || *p == '-'))
                        return false;
        return true;
}

static void guest_net_done(GuestNet *n)
{
        free(n->model);
        free(n->mac);
        free(n->bridge);
        *n = (GuestNet){};
}

static const char *net_parse(const char *value, GuestNet *ret)
{
        _cleanup_strv_free_ char **parts = split(value, ',');
        const char *model = NULL, *mac = NULL, *bridge = NULL;

        STRV_FOREACH (o, parts) {
                const char *v;
                if ((v = startswith(*o, "model=")) && !model)
                        model = v;
                else if ((v = startswith(*o, "macaddr=")) && !mac)
                        mac = v;
                else if ((v = startswith(*o, "bridge=")) && !bridge)
                        bridge = v;
                else
                        return "options must be model=, macaddr= and bridge=, each at most once";
        }
        if (!model)
                return "model= is required";
        if (!in_set(model, net_models))
                return "model must be virtio, e1000 or rtl8139";
        if (mac && !mac_is_valid_unicast(mac))
                return "macaddr must be a unicast address aa:bb:cc:dd:ee:ff";
        if (bridge && !ifname_is_valid(bridge))
                return "bridge must be an interface name of 1-15 characters [A-Za-z0-9_.-]";

        if (ret)
                *ret = (GuestNet){
                        .model = xstrdup(model),
                        .mac = mac ? xstrdup(mac) : NULL,
                        .bridge = bridge ? xstrdup(bridge) : NULL,
                };
        return NULL;
}

static const char *startup_parse(const char *value, GuestStartup *ret)
{
        _cleanup_strv_free_ char **parts = split(value, ',');
        GuestStartup s = { .order = -1 };
        bool have_up = false, have_down = false;

        STRV_FOREACH (o, parts) {
                const char *v;
                uint64_t n;

                if ((v = startswith(*o, "order=")) && s.order < 0) {
                        if (!parse_uint(v, 0, 9999, &n))
                                return "order must be an integer 0-9999";
                        s.order = (int) n;
                } else if ((v = startswith(*o, "up=")) && !have_up) {
                        if (!parse_uint(v, 0, 86400, &n))
                                return "up must be an integer 0-86400";
                        s.up = (unsigned) n;
                        have_up = true;
                } else if ((v = startswith(*o, "down=")) && !have_down) {
                        if (!parse_uint(v, 0, 86400, &n))
                                return "down must be an integer 0-86400";
                        s.down = (unsigned) n;
                        have_down = true;
                } else
                        return "must be a comma-separated list of order=N, up=S and down=S, each at most "
                               "once";
        }
        if (ret)
                *ret = s;
        return NULL;
}

static const char *check_name(const char *v)
{
        size_t n = strlen(v);

        if (n > 63 || !is_alnum(v[0]))
                return "must be [A-Za-z0-9][A-Za-z0-9.-]*, at most 63 characters";
        for (const char *p = v; *p; p++)
                if (!(is_alnum(*p) || *p == '.' || *p == '-'))
                        return "must be [A-Za-z0-9][A-Za-z0-9.-]*, at most 63 characters";
        return NULL;
}

static const char *check_memory(const char *v)
{
        return parse_uint(v, 16, 4194304, NULL) ? NULL : "must be an integer 16-4194304";
}

static const char *check_cores(const char *v)
{
        return parse_uint(v, 1, 128, NULL) ? NULL : "must be an integer 1-128";
}

static const char *check_sockets(const char *v)
{
        return parse_uint(v, 1, 4, NULL) ? NULL : "must be an integer 1-4";
}

static bool machine_version_is_valid(const char *s)
{
        const char *dot = strchr(s, '.');

        return dot && parse_uint_n(s, dot - s, 1, 99, NULL) && parse_uint(dot + 1, 0, 99, NULL);
}

static const char *check_machine(const char *v)
{
        const char *version;

        if (streq(v, "pc") || streq(v, "q35") || streq(v, "microvm"))
                return NULL;
        if ((version = startswith(v, "pc-i440fx-")) || (version = startswith(v, "pc-q35-")))
                if (machine_version_is_valid(version))
                        return NULL;
        return "must be pc, q35, pc-i440fx-X.Y, pc-q35-X.Y or microvm";
}

static const char *check_accel(const char *v)
{
        return streq(v, "kvm") || streq(v, "tcg") ? NULL : "must be kvm or tcg";
}

static const char *check_path(const char *v)
{
        if (v[0] != '/' || strchr(v, ',') || utf8_check_printable(v, strlen(v), false) < 0)
                return "must be an absolute path without ',' or control characters";
        return NULL;
}

static const char *check_append(const char *v)
{
        return utf8_check_printable(v, strlen(v), false) < 0 ? "must be printable UTF-8 text" : NULL;
}

static const char *check_cpu(const char *v)
{
        return guest_cpu_parse(v, NULL);
}

static const char *check_disk(const char *v)
{
        return disk_parse(v, NULL);
}

static const char *check_net(const char *v)
{
        return net_parse(v, NULL);
}

static const char *check_bool(const char *v)
{
        return streq(v, "0") || streq(v, "1") ? NULL : "must be 0 or 1";
}

static const char *check_startup(const char *v)
{
        return startup_parse(v, NULL);
}

static const char *check_tags(const char *v)
{
        _cleanup_strv_free_ char **tags = split(v, ';');

        STRV_FOREACH (t, tags) {
                size_t n = strlen(*t);
                if (n < 1 || n > 64)
                        return "must be ';'-separated tags of 1-64 characters [a-z0-9_+.-]";
                for (const char *p = *t; *p; p++)
                        if (!(is_digit(*p) || (*p >= 'a' && *p <= 'z') || strchr("_+.-", *p)))
                                return "must be ';'-separated tags of 1-64 characters [a-z0-9_+.-]";
        }
        return NULL;
}

static const char *check_shutdown_policy(const char *v)
{
        if (shutdown_policy_parse(v, NULL) < 0)
                return "must be a comma-separated list of distinct steps save, shutdown, poweroff";
        return NULL;
}

static const char *check_lock(const char *v)
{
        if (!in_set(v, lock_names))
                return "must be backup, clone, create, migrate, rollback, snapshot, suspending or suspended";
        return NULL;
}

static const char *check_vmstate(const char *v)
{
        return storage_volume_parse(v, NULL, NULL);
}

typedef struct KeySchema {
        const char *name;
        unsigned n_indexed; /* 0 for a plain key, else the key is name<N> with N < n_indexed */
        const char *(*check)(const char *value);
} KeySchema;

static const KeySchema schema[] = {
        { "accel", 0, check_accel },
        { "append", 0, check_append },
        { "autostart-once", 0, check_bool },
        { "cores", 0, check_cores },
        { "cpu", 0, check_cpu },
        { "disk", 16, check_disk },
        { "hookscript", 0, check_path },
        { "initrd", 0, check_path },
        { "kernel", 0, check_path },
        { "lock", 0, check_lock },
        { "machine", 0, check_machine },
        { "memory", 0, check_memory },
        { "name", 0, check_name },
        { "net", 8, check_net },
        { "onboot", 0, check_bool },
        { "shutdown-policy", 0, check_shutdown_policy },
        { "sockets", 0, check_sockets },
        { "startup", 0, check_startup },
        { "tags", 0, check_tags },
        { "vmstate", 0, check_vmstate },
};

static const KeySchema *schema_find(const char *key, unsigned *ret_index)
{
        for (size_t i = 0; i < ELEMENTSOF(schema); i++) {
                const char *rest = startswith(key, schema[i].name);
                uint64_t n;

                if (!rest)
                        continue;
                if (schema[i].n_indexed == 0 ? *rest == 0 : parse_uint(rest, 0, schema[i].n_indexed - 1, &n)) {
                        if (ret_index)
                                *ret_index = schema[i].n_indexed == 0 ? 0 : (unsigned) n;
                        return &schema[i];
                }
        }
        return NULL;
}

int guest_config_validate(const char *key, const char *value, char **ret_error)
{
        const KeySchema *k = schema_find(key, NULL);
        const char *why;
        size_t n;

        if (!k) {
                _cleanup_free_ char *e = escape_key(key);
                return fail(ret_error, -ENOKEY, "unknown key '%s'", e);
        }
        n = strlen(value);
        if (n > GUEST_CONFIG_MAX_VALUE)
                return fail(ret_error, -EBADMSG, "invalid value for '%s': longer than %u bytes", key,
                        GUEST_CONFIG_MAX_VALUE);
        if (n == 0)
                why = "must not be empty";
        else if (is_space(value[0]) || is_space(value[n - 1]))
                /* The parser trims values, so such a value would not survive a write and a read. */
                why = "must not start or end with whitespace";
        else
                why = k->check(value);
        if (why)
                return fail(ret_error, -EBADMSG, "invalid value for '%s': %s", key, why);
        return 0;
}

GuestConfig *guest_config_free(GuestConfig *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_entries; i++) {
                free(c->entries[i].key);
                free(c->entries[i].value);
        }
        free(c->entries);
        free(c->description);
        free(c);
        return NULL;
}

static GuestConfigEntry *entry_find(const GuestConfig *c, const char *key)
{
        for (size_t i = 0; i < c->n_entries; i++)
                if (streq(c->entries[i].key, key))
                        return &c->entries[i];
        return NULL;
}

static void entry_append(GuestConfig *c, char *key, char *value)
{
        c->entries = xrealloc(c->entries, (c->n_entries + 1) * sizeof(GuestConfigEntry));
        c->entries[c->n_entries++] = (GuestConfigEntry){ .key = key, .value = value };
}

static const char *trim(const char *s, const char *end, size_t *ret_len)
{
        while (s < end && is_space(*s))
                s++;
        while (end > s && is_space(end[-1]))
                end--;
        *ret_len = end - s;
        return s;
}

int guest_config_parse(const char *text, GuestConfig **ret, char **ret_error)
{
        _cleanup_(guest_config_freep) GuestConfig *c = new0(GuestConfig, 1);
        size_t desc_len = 0;
        unsigned line = 0;

        if (strnlen(text, GUEST_CONFIG_MAX_SIZE + 1) > GUEST_CONFIG_MAX_SIZE)
                return fail(ret_error, -EBADMSG, "config is larger than %u bytes", GUEST_CONFIG_MAX_SIZE);

        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n'), *end = eol, *s, *colon;
                _cleanup_free_ char *key = NULL, *value = NULL, *error = NULL;
                size_t n;

                line++;
                if (end > p && end[-1] == '\r')
                        end--;
                s = trim(p, end, &n);
                p = *eol ? eol + 1 : eol;
                if (n == 0)
                        continue;

                if (s[0] == '#') {
                        /* The text after '#' is kept verbatim, trailing blanks included. */
                        size_t m = end - s - 1;

                        if (c->n_entries > 0)
                                return fail(ret_error,
                                        -EBADMSG, "line %u: '#' line after the first key; the description must come first",
                                        line);
                        if (utf8_check_printable(s + 1, m, true) < 0)
                                return fail(ret_error, -EBADMSG,
                                        "line %u: description must be UTF-8 text without control characters",
                                        line);
                        if (desc_len + !!c->description + m > GUEST_CONFIG_MAX_DESCRIPTION)
                                return fail(ret_error, -EBADMSG,
                                        "line %u: description is longer than %u bytes", line,
                                        GUEST_CONFIG_MAX_DESCRIPTION);
                        if (c->description)
                                c->description[desc_len++] = '\n';
                        else
                                c->description = xmalloc(GUEST_CONFIG_MAX_DESCRIPTION + 1);
                        memcpy(c->description + desc_len, s + 1, m);
                        desc_len += m;
                        c->description[desc_len] = 0;
                        continue;
                }

                colon = memchr(s, ':', n);
                if (!colon || colon == s)
                        return fail(ret_error, -EBADMSG, "line %u: expected 'key: value'", line);
                s = trim(s, colon, &n);
                key = xstrndup(s, n);
                s = trim(colon + 1, end, &n);
                value = xstrndup(s, n);

                if (entry_find(c, key))
                        return fail(ret_error, -EBADMSG, "line %u: duplicate key '%s'", line, key);
                if (guest_config_validate(key, value, &error) < 0)
                        return fail(ret_error, -EBADMSG, "line %u: %s", line, error);
                entry_append(c, TAKE_PTR(key), TAKE_PTR(value));
        }

        *ret = TAKE_PTR(c);
        return 0;
}

/* Orders digit runs by value, so that disk2 sorts before disk10. */
static int natural_cmp(const char *a, const char *b)
{
        const char *x = a, *y = b;

        while (*x && *y) {
                if (is_digit(*x) && is_digit(*y)) {
                        size_t nx, ny;
                        int r;

                        while (*x == '0')
                                x++;
                        while (*y == '0')
                                y++;
                        nx = strspn(x, "0123456789");
                        ny = strspn(y, "0123456789");
                        if (nx != ny)
                                return nx < ny ? -1 : 1;
                        r = memcmp(x, y, nx);
                        if (r != 0)
                                return r;
                        x += nx;
                        y += ny;
                        continue;
                }
                if (*x != *y)
                        return (unsigned char) *x < (unsigned char) *y ? -1 : 1;
                x++;
                y++;
        }
        if (*x || *y)
                return *x ? 1 : -1;
        return strcmp(a, b);
}

static int entry_ptr_cmp(const void *a, const void *b)
{
        const GuestConfigEntry *const *x = a, *const *y = b;
        return natural_cmp((*x)->key, (*y)->key);
}

char *guest_config_format(const GuestConfig *c)
{
        _cleanup_free_ const GuestConfigEntry **sorted = new0(const GuestConfigEntry *, c->n_entries);
        size_t size = 1;
        char *text, *p;

        for (size_t i = 0; i < c->n_entries; i++)
                sorted[i] = &c->entries[i];
        qsort(sorted, c->n_entries, sizeof(sorted[0]), entry_ptr_cmp);

        if (c->description)
                for (const char *d = c->description;; d++) {
                        /* Each line gets a '#' and a '\n'; the line's text is counted char by char. */
                        size += *d == '\n' || !*d ? 2 : 1;
                        if (!*d)
                                break;
                }
        for (size_t i = 0; i < c->n_entries; i++)
                size += strlen(sorted[i]->key) + 2 + strlen(sorted[i]->value) + 1;

        p = text = xmalloc(size);
        if (c->description) {
                *p++ = '#';
                for (const char *d = c->description; *d; d++) {
                        *p++ = *d;
                        if (*d == '\n')
                                *p++ = '#';
                }
                *p++ = '\n';
        }
        for (size_t i = 0; i < c->n_entries; i++)
                p += sprintf(p, "%s: %s\n", sorted[i]->key, sorted[i]->value);
        *p = 0;
        return text;
}

void guest_config_digest(const char *text, char ret[GUEST_CONFIG_DIGEST_LEN + 1])
{
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256_CTX ctx;

        /*
         * OpenSSL's low-level SHA-256 (deprecated in 3.0, still shipped): EVP_Digest() and SHA256()
         * first set up the provider machinery, about 2 MB of resident memory in every daemon for
         * this one hash, twice the daemon's own.
         */
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, text, strlen(text));
        SHA256_Final(md, &ctx);
        for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; i++)
                sprintf(ret + 2 * i, "%02x", md[i]);
}

const char *guest_config_get(const GuestConfig *c, const char *key)
{
        GuestConfigEntry *e = entry_find(c, key);
        return e ? e->value : NULL;
}

int guest_config_set(GuestConfig *c, const char *key, const char *value, char **ret_error)
{
        GuestConfigEntry *e;
        int r;

        if (!value) {
                if (!schema_find(key, NULL)) {
                        _cleanup_free_ char *k = escape_key(key);
                        return fail(ret_error, -ENOKEY, "unknown key '%s'", k);
                }
                e = entry_find(c, key);
                if (e) {
                        free(e->key);
                        free(e->value);
                        memmove(e, e + 1, (c->entries + c->n_entries - e - 1) * sizeof(GuestConfigEntry));
                        c->n_entries--;
                }
                return 0;
        }

        r = guest_config_validate(key, value, ret_error);
        if (r < 0)
                return r;
        e = entry_find(c, key);
        if (e) {
                free(e->value);
                e->value = xstrdup(value);
        } else
                entry_append(c, xstrdup(key), xstrdup(value));
        return 0;
}

uint64_t guest_config_get_memory_mib(const GuestConfig *c)
{
        const char *v = guest_config_get(c, "memory");
        uint64_t n;

        return v && parse_uint(v, 16, 4194304, &n) ? n : 512;
}

unsigned guest_config_get_cores(const GuestConfig *c)
{
        const char *v = guest_config_get(c, "cores");
        uint64_t n;

        return v && parse_uint(v, 1, 128, &n) ? (unsigned) n : 1;
}

bool guest_config_get_bool(const GuestConfig *c, const char *key, bool def)
{
        const char *v = guest_config_get(c, key);

        if (streq_ptr(v, "1"))
                return true;
        if (streq_ptr(v, "0"))
                return false;
        return def;
}

char **guest_config_get_tags(const GuestConfig *c)
{
        const char *v = guest_config_get(c, "tags");

        return v ? split(v, ';') : NULL;
}

void guest_config_get_startup(const GuestConfig *c, GuestStartup *ret)
{
        const char *v = guest_config_get(c, "startup");

        if (!v || startup_parse(v, ret))
                *ret = (GuestStartup){ .order = -1 };
}

int guest_config_get_cpu(const GuestConfig *c, GuestCpu *ret)
{
        const char *v = guest_config_get(c, "cpu");

        if (!v) {
                *ret = (GuestCpu){ .model = GUEST_CPU_MODEL_DEFAULT };
                return 0;
        }
        return guest_cpu_parse(v, ret) ? -EBADMSG : 0;
}

static int disk_index_cmp(const void *a, const void *b)
{
        const GuestDisk *x = a, *y = b;
        return x->index < y->index ? -1 : x->index > y->index;
}

int guest_config_get_disks(const GuestConfig *c, GuestDisk **ret, size_t *ret_n)
{
        GuestDisk *disks = NULL;
        size_t n = 0;

        for (size_t i = 0; i < c->n_entries; i++) {
                const KeySchema *k;
                unsigned index;
                GuestDisk d;

                k = schema_find(c->entries[i].key, &index);
                if (!k || !streq(k->name, "disk"))
                        continue;
                if (disk_parse(c->entries[i].value, &d)) {
                        guest_disks_free(disks, n);
                        return -EBADMSG;
                }
                d.index = index;
                disks = xrealloc(disks, (n + 1) * sizeof(GuestDisk));
                disks[n++] = d;
        }
        if (n > 0)
                qsort(disks, n, sizeof(GuestDisk), disk_index_cmp);

        *ret = disks;
        *ret_n = n;
        return 0;
}

void guest_disks_free(GuestDisk *d, size_t n)
{
        for (size_t i = 0; i < n; i++)
                guest_disk_done(&d[i]);
        free(d);
}

static int net_index_cmp(const void *a, const void *b)
{
        const GuestNet *x = a, *y = b;
        return x->index < y->index ? -1 : x->index > y->index;
}

int guest_config_get_nets(const GuestConfig *c, GuestNet **ret, size_t *ret_n)
{
        GuestNet *nets = NULL;
        size_t n = 0;

        for (size_t i = 0; i < c->n_entries; i++) {
                const KeySchema *k;
                unsigned index;
                GuestNet net;

                k = schema_find(c->entries[i].key, &index);
                if (!k || !streq(k->name, "net"))
                        continue;
                if (net_parse(c->entries[i].value, &net)) {
                        guest_nets_free(nets, n);
                        return -EBADMSG;
                }
                net.index = index;
                nets = xrealloc(nets, (n + 1) * sizeof(GuestNet));
                nets[n++] = net;
        }
        if (n > 0)
                qsort(nets, n, sizeof(GuestNet), net_index_cmp);

        *ret = nets;
        *ret_n = n;
        return 0;
}

void guest_nets_free(GuestNet *n, size_t count)
{
        for (size_t i = 0; i < count; i++)
                guest_net_done(&n[i]);
        free(n);
}
