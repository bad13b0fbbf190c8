/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "block-uevent.h"
#include "macro.h"

bool block_uevent_matches(const char *msg, size_t n)
{
        const char *end = msg + n, *p;

        /* The header "ACTION@DEVPATH"; libudev's re-broadcasts start with "libudev" and are not the kernel's. */
        p = memchr(msg, 0, n);
        if (!p || !memchr(msg, '@', (size_t) (p - msg)))
                return false;
        for (p++; p < end;) {
                const char *entry_end = memchr(p, 0, (size_t) (end - p));
                size_t len = entry_end ? (size_t) (entry_end - p) : (size_t) (end - p);

                if (len == strlen("SUBSYSTEM=block") && memcmp(p, "SUBSYSTEM=block", len) == 0)
                        return true;
                p += len + 1;
        }
        return false;
}
