/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>

#include "utf8.h"

int utf8_check_printable(const char *s, size_t n, bool allow_tab)
{
        const unsigned char *p = (const unsigned char *) s, *end = p + n;

        while (p < end) {
                uint32_t cp, min;
                size_t len;

                if (*p < 0x80) {
                        if ((*p < 0x20 && !(allow_tab && *p == '\t')) || *p == 0x7f)
                                return -EINVAL;
                        p++;
                        continue;
                }
                if ((*p & 0xe0) == 0xc0)
                        len = 2, cp = *p & 0x1f, min = 0x80;
                else if ((*p & 0xf0) == 0xe0)
                        len = 3, cp = *p & 0x0f, min = 0x800;
                else if ((*p & 0xf8) == 0xf0)
                        len = 4, cp = *p & 0x07, min = 0x10000;
                else
                        return -EILSEQ;
                if ((size_t) (end - p) < len)
                        return -EILSEQ;
                for (size_t i = 1; i < len; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return -EILSEQ;
                        cp = cp << 6 | (p[i] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return -EILSEQ;
                p += len;
        }
        return 0;
}
