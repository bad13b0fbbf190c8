/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A UPID names a task's log file and is compared as a string across daemons
 * and nodes, so one that parses has exactly one spelling: formatting it gives
 * the input back, and that parses to the same fields. It must also be usable
 * as a file name as it stands.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *) data, size), *formatted = NULL;
        _cleanup_(upid_done) Upid u = {}, again = {};
        int r;

        r = upid_parse(text, &u);
        if (r < 0) {
                if (r != -EINVAL)
                        abort();
                return 0;
        }
        if (strlen(text) > NAME_MAX || strchr(text, '/'))
                abort();
        formatted = upid_format(&u);
        if (!streq(formatted, text))
                abort();
        if (upid_parse(formatted, &again) < 0)
                abort();
        if (!streq(u.node, again.node) || !streq(u.daemon, again.daemon) || u.seq != again.seq ||
                u.starttime != again.starttime || !streq(u.type, again.type) || !streq(u.id, again.id) ||
                !streq(u.user, again.user))
                abort();
        return 0;
}
