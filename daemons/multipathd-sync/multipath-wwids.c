/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "multipath-wwids.h"

/* What multipath writes at the top of a wwids file it creates (libmultipath/wwids.h). */
#define WWIDS_FILE_HEADER \
        "# Multipath wwids, Version : 1.0\n" \
        "# NOTE: This file is automatically maintained by multipath and multipathd.\n" \
        "# You should not need to edit this file in normal circumstances.\n" \
        "#\n" \
        "# Valid WWIDs:\n"

/* The WWID of a "/<wwid>/" line, as multipath reads it (whitespace around allowed); NULL for other lines. */
static char *line_wwid(const char *line, size_t n)
{
        const char *p = line + strspn(line, " \t"), *end;

        if (p >= line + n || *p != '/')
                return NULL;
        p++;
        end = memchr(p, '/', (size_t) (line + n - p));
        if (!end || end == p)
                return NULL;
        return xstrndup(p, (size_t) (end - p));
}

static int compare_strings(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Sorted copies and binary search: allow-lists run to tens of thousands of WWIDs. */
static char **sorted_copy(char *const *l, size_t *ret_n)
{
        char **c = NULL;

        STRV_FOREACH (s, l)
                strv_push(&c, *s);
        *ret_n = strv_length(c);
        if (c)
                qsort(c, *ret_n, sizeof(char *), compare_strings);
        return c;
}

static bool contains(char *const *sorted, size_t n, const char *s)
{
        return n > 0 && bsearch(&s, sorted, n, sizeof(char *), compare_strings);
}

char *multipath_wwids_update(const char *file, char *const *owned, char *const *wanted, char ***ret_owned)
{
        _cleanup_strv_free_ char **listed = NULL, **new_owned = NULL, **o = NULL, **w = NULL;
        size_t n_owned, n_wanted, n_listed;
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        o = sorted_copy(owned, &n_owned);
        w = sorted_copy(wanted, &n_wanted);

        /* A memory stream fails only when memory does: the OOM policy applies. */
        f = open_memstream(&text, &size);
        if (!f)
                abort();
        if (!file)
                fputs(WWIDS_FILE_HEADER, f);
        for (const char *p = file; p && *p;) {
                size_t n = strcspn(p, "\n");
                _cleanup_free_ char *wwid = line_wwid(p, n);

                if (wwid && contains(o, n_owned, wwid) && !contains(w, n_wanted, wwid)) {
                        p += n + (p[n] ? 1 : 0);
                        continue;
                }
                if (wwid)
                        strv_push(&listed, wwid);
                fwrite(p, 1, n, f);
                fputc('\n', f);
                p += n + (p[n] ? 1 : 0);
        }
        n_listed = strv_length(listed);
        if (listed)
                qsort(listed, n_listed, sizeof(char *), compare_strings);
        STRV_FOREACH (x, w) {
                if (!contains(listed, n_listed, *x))
                        fprintf(f, "/%s/\n", *x);
                else if (!contains(o, n_owned, *x))
                        continue;
                strv_push(&new_owned, *x);
        }
        if (fclose(f) != 0)
                abort();
        *ret_owned = TAKE_PTR(new_owned);
        return text;
}
