/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

void log_parse_environment(void)
{
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info",
                "debug" };
        const char *e = getenv("BERTH_LOG_LEVEL");

        if (isempty(e))
                return;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(e, names[i])) {
                        max_level = (int) i;
                        return;
                }
        char *end;
        long l = strtol(e, &end, 10);
        if (*end == 0 && l >= LOG_EMERG && l <= LOG_DEBUG)
                max_level = (int) l;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...)
{
        char buf[2048];
        va_list ap;

        error = abs(error);
        /* Makes %m print the error we were handed, not whatever errno happens to hold. */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        if (max_level >= LOG_DEBUG)
                fprintf(stderr, "<%d>%s:%d %s: %s\n", level, file, line, func, buf);
        else
                fprintf(stderr, "<%d>%s\n", level, buf);
        return -error;
}
