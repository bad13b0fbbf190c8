/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "alloc.h"
#include "macro.h"

void strv_free(char **l)
{
        STRV_FOREACH (s, l)
                free(*s);
        free(l);
}

size_t strv_length(char *const *l)
{
        size_t n = 0;
        STRV_FOREACH (s, l)
                n++;
        return n;
}

void strv_push(char ***l, const char *s)
{
        size_t n = strv_length(*l);
        *l = xrealloc(*l, (n + 2) * sizeof(char *));
        (*l)[n] = xstrdup(s);
        (*l)[n + 1] = NULL;
}

bool strv_contains(char *const *l, const char *s)
{
        STRV_FOREACH (i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

char *strv_join(char *const *l, const char *separator)
{
        size_t n = 1, k = strlen(separator);
        char *out, *p;

        STRV_FOREACH (s, l)
                n += strlen(*s) + k;
        p = out = xmalloc(n);
        *p = 0;
        STRV_FOREACH (s, l) {
                if (p != out)
                        p = stpcpy(p, separator);
                p = stpcpy(p, *s);
        }
        return out;
}

bool endswith(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}
