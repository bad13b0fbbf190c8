/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "multipath-config.h"
#include "multipath-render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Whatever parses must format canonically: a second parse and format
 * reproduce the first output, and both render the same drop-in. The same
 * bytes as overrides are accepted or refused with a message.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = NULL, *again = NULL;
        _cleanup_free_ char *text = xmalloc(size + 1), *error = NULL, *first = NULL, *second = NULL,
                            *rendered = NULL, *rendered_again = NULL, *overrides_error = NULL, *dropin = NULL;
        int r;

        memcpy(text, data, size);
        text[size] = 0;

        r = multipath_overrides_check(text, &overrides_error);
        if (r == 0)
                dropin = multipath_render_overrides(text);
        else if (!(r == -EBADMSG && startswith(overrides_error, "line ")) && r != -EFBIG)
                abort();

        if (multipath_config_parse(text, &c, &error) < 0) {
                if (!error || !startswith(error, "line "))
                        abort();
                return 0;
        }
        first = multipath_config_format(c);
        if (multipath_config_parse(first, &again, NULL) < 0)
                abort();
        second = multipath_config_format(again);
        if (!streq(first, second))
                abort();
        rendered = multipath_render_config(c);
        rendered_again = multipath_render_config(again);
        if (!streq(rendered, rendered_again))
                abort();
        return 0;
}
