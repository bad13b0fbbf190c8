/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "alloc.h"
#include "login-delay.h"

typedef struct Entry {
        char *user, *source;
        unsigned failures;
        uint64_t last;
} Entry;

struct LoginDelay {
        Entry *entries;
        size_t n;
};

LoginDelay *login_delay_new(void)
{
        return new0(LoginDelay, 1);
}

static void entry_done(Entry *e)
{
        free(e->user);
        free(e->source);
}

LoginDelay *login_delay_free(LoginDelay *d)
{
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n; i++)
                entry_done(d->entries + i);
        free(d->entries);
        free(d);
        return NULL;
}

static void remove_at(LoginDelay *d, size_t i)
{
        entry_done(d->entries + i);
        d->entries[i] = d->entries[--d->n];
}

static Entry *find(const LoginDelay *d, const char *user, const char *source)
{
        for (size_t i = 0; i < d->n; i++)
                if (streq(d->entries[i].user, user) && streq(d->entries[i].source, source))
                        return d->entries + i;
        return NULL;
}

static bool forgotten(const Entry *e, uint64_t now)
{
        return now >= e->last + LOGIN_DELAY_FORGET_USEC;
}

uint64_t login_delay_failed(LoginDelay *d, const char *user, const char *source, uint64_t now)
{
        Entry *e;

        for (size_t i = d->n; i > 0; i--)
                if (forgotten(d->entries + i - 1, now))
                        remove_at(d, i - 1);
        e = find(d, user, source);
        if (!e) {
                if (d->n == LOGIN_DELAY_MAX_ENTRIES) {
                        size_t oldest = 0;
                        for (size_t i = 1; i < d->n; i++)
                                if (d->entries[i].last < d->entries[oldest].last)
                                        oldest = i;
                        remove_at(d, oldest);
                } else
                        d->entries = xrealloc(d->entries, (d->n + 1) * sizeof *d->entries);
                e = d->entries + d->n++;
                *e = (Entry){ .user = xstrdup(user), .source = xstrdup(source) };
        }
        if (e->failures < UINT32_MAX)
                e->failures++;
        e->last = now;

        uint64_t delay = LOGIN_DELAY_BASE_USEC;
        for (unsigned i = 1; i < e->failures && delay < LOGIN_DELAY_MAX_USEC; i++)
                delay *= 2;
        return delay < LOGIN_DELAY_MAX_USEC ? delay : LOGIN_DELAY_MAX_USEC;
}

unsigned login_delay_failures(const LoginDelay *d, const char *user, const char *source, uint64_t now)
{
        const Entry *e = find(d, user, source);
        return e && !forgotten(e, now) ? e->failures : 0;
}

void login_delay_succeeded(LoginDelay *d, const char *user, const char *source)
{
        Entry *e = find(d, user, source);
        if (e)
                remove_at(d, (size_t) (e - d->entries));
}
