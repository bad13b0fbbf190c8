/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "access-secrets.h"
#include "acl-edit.h"
#include "alloc.h"
#include "sorted.h"
#include "ticket.h"
#include "utf8.h"

static const struct {
        char separator;
        /* The value's line ends with the separator too. */
        bool terminated;
        const char *syntax, *id_name, *value_name;
} types[_ACCESS_SECRETS_TYPE_MAX] = {
        [ACCESS_SECRETS_TOKEN] = { ' ', false, "<tokenid> <sha256>", "token id",
                "a SHA-256 in 64 lower-case hex digits" },
        [ACCESS_SECRETS_SHADOW] = { ':', true, "<userid>:<hash>:", "userid", "a crypt(3) hash" },
};

/* A copy of a secret text that strsep() cuts up: wiped in full, not only up to its first NUL. */
typedef struct Scratch {
        char *data;
        size_t size;
} Scratch;

static void scratch_done(Scratch *s)
{
        if (!s->data)
                return;
        explicit_bzero(s->data, s->size);
        free(s->data);
}

static void entry_done(AccessSecret *e)
{
        free(e->id);
        ticket_secret_free(e->value);
}

AccessSecrets *access_secrets_new(AccessSecretsType type)
{
        AccessSecrets *s = new0(AccessSecrets, 1);

        s->type = type;
        return s;
}

AccessSecrets *access_secrets_free(AccessSecrets *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++)
                entry_done(s->entries + i);
        free(s->entries);
        return mfree(s);
}

bool access_secrets_id_is_valid(AccessSecretsType type, const char *id)
{
        return type == ACCESS_SECRETS_TOKEN ? acl_tokenid_is_valid(id) : acl_userid_is_valid(id);
}

bool access_secrets_value_is_valid(AccessSecretsType type, const char *value)
{
        size_t n = strlen(value);

        if (type == ACCESS_SECRETS_TOKEN)
                return n == 64 && strspn(value, "0123456789abcdef") == n;
        return n > 0 &&
                strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./$,=*") == n;
}

static int cmp_key_entry(const void *key, const void *element)
{
        return strcmp(key, ((const AccessSecret *) element)->id);
}

static size_t entry_index(const AccessSecrets *s, const char *id, bool *ret_found)
{
        return sorted_index(s->entries, s->n_entries, sizeof(AccessSecret), id, cmp_key_entry, ret_found);
}

static void insert_entry(AccessSecrets *s, size_t i, const char *id, const char *value)
{
        s->entries = xrealloc(s->entries, (s->n_entries + 1) * sizeof(AccessSecret));
        memmove(s->entries + i + 1, s->entries + i, (s->n_entries - i) * sizeof(AccessSecret));
        s->entries[i] = (AccessSecret){ .id = xstrdup(id), .value = xstrdup(value) };
        s->n_entries++;
}

static int fail(char **ret_error, unsigned line, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, unsigned line, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                msg = xvasprintf(fmt, ap);
                va_end(ap);
                *ret_error = xasprintf("line %u: %s", line, msg);
        }
        return -EBADMSG;
}

static int parse_line(AccessSecrets *s, unsigned line, char *text, char **ret_error)
{
        char *value;
        size_t i, n;
        bool found;

        if (text[strspn(text, " \t")] == 0)
                return 0;
        if (utf8_check_printable(text, strlen(text), false) < 0)
                return fail(ret_error, line, "not printable UTF-8 text");
        value = strchr(text, types[s->type].separator);
        n = value ? strlen(value + 1) : 0;
        if (!value || (types[s->type].terminated && (n == 0 || value[n] != types[s->type].separator)))
                return fail(ret_error, line, "expected '%s'", types[s->type].syntax);
        *value++ = 0;
        if (types[s->type].terminated)
                value[n - 1] = 0;
        /* Not named: what is not an id may be a secret in the wrong place. */
        if (!access_secrets_id_is_valid(s->type, text))
                return fail(ret_error, line, "invalid %s", types[s->type].id_name);
        if (!access_secrets_value_is_valid(s->type, value))
                return fail(ret_error, line, "the value of '%s' is not %s", text, types[s->type].value_name);
        i = entry_index(s, text, &found);
        if (found)
                return fail(ret_error, line, "duplicate %s '%s'", types[s->type].id_name, text);
        insert_entry(s, i, text, value);
        return 0;
}

int access_secrets_parse(AccessSecretsType type, const char *text, AccessSecrets **ret, char **ret_error)
{
        _cleanup_(access_secrets_freep) AccessSecrets *s = access_secrets_new(type);
        _cleanup_(scratch_done) Scratch copy = { .size = strlen(text) };
        unsigned line = 0;
        int r;

        copy.data = xmemdup(text, copy.size + 1);
        for (char *p = copy.data, *l; (l = strsep(&p, "\n"));) {
                r = parse_line(s, ++line, l, ret_error);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

char *access_secrets_format(const AccessSecrets *s)
{
        bool terminated = types[s->type].terminated;
        size_t size = 1;
        char *text, *p;

        /* Sized up front, so no reallocation leaves a copy of a secret behind. */
        for (size_t i = 0; i < s->n_entries; i++)
                size += strlen(s->entries[i].id) + strlen(s->entries[i].value) + 2 + terminated;
        p = text = xmalloc(size);
        *p = 0;
        for (size_t i = 0; i < s->n_entries; i++) {
                p = stpcpy(p, s->entries[i].id);
                *p++ = types[s->type].separator;
                p = stpcpy(p, s->entries[i].value);
                if (terminated)
                        *p++ = types[s->type].separator;
                *p++ = '\n';
                *p = 0;
        }
        return text;
}

const char *access_secrets_get(const AccessSecrets *s, const char *id)
{
        bool found;
        size_t i = entry_index(s, id, &found);

        return found ? s->entries[i].value : NULL;
}

int access_secrets_set(AccessSecrets *s, const char *id, const char *value)
{
        bool found;
        size_t i;

        if (!access_secrets_id_is_valid(s->type, id) || !access_secrets_value_is_valid(s->type, value))
                return -EINVAL;
        i = entry_index(s, id, &found);
        if (!found) {
                insert_entry(s, i, id, value);
                return 0;
        }
        ticket_secret_free(s->entries[i].value);
        s->entries[i].value = xstrdup(value);
        return 0;
}

static void remove_at(AccessSecrets *s, size_t i)
{
        entry_done(s->entries + i);
        s->n_entries--;
        memmove(s->entries + i, s->entries + i + 1, (s->n_entries - i) * sizeof(AccessSecret));
}

int access_secrets_remove(AccessSecrets *s, const char *id)
{
        bool found;
        size_t i = entry_index(s, id, &found);

        if (!found)
                return -ENOENT;
        remove_at(s, i);
        return 0;
}

size_t access_secrets_remove_user_tokens(AccessSecrets *s, const char *userid)
{
        size_t removed = 0;

        for (size_t i = s->n_entries; i > 0; i--)
                if (acl_token_is_of_user(s->entries[i - 1].id, userid)) {
                        remove_at(s, i - 1);
                        removed++;
                }
        return removed;
}
