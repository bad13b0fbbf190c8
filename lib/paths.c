/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>

#include "alloc.h"
#include "paths.h"

static char *root;

int paths_set_root(const char *dir)
{
        char buf[PATH_MAX];

        if (isempty(dir))
                return -EINVAL;
        if (!realpath(dir, buf))
                return negative_errno();
        free(root);
        /* "/" becomes "", so joining never yields "//etc". */
        root = xstrdup(streq(buf, "/") ? "" : buf);
        return 0;
}

const char *paths_root(void)
{
        return root && *root ? root : "/";
}

char *root_path(const char *fmt, ...)
{
        _cleanup_free_ char *rel = NULL;
        va_list ap;

        va_start(ap, fmt);
        rel = xvasprintf(fmt, ap);
        va_end(ap);
        while (*rel == '/')
                memmove(rel, rel + 1, strlen(rel));
        return xasprintf("%s/%s", strempty(root), rel);
}
