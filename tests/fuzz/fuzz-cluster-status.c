/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cluster-status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Any node can write any status: it parses, and then formats and parses to the same, or is -EBADMSG. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *) data, size), *formatted = NULL, *again = NULL;
        NodeStatus s = {}, p = {};
        GuestStatus g = {};

        if (node_status_parse(text, &s) == 0) {
                formatted = node_status_format(&s);
                if (node_status_parse(formatted, &p) < 0)
                        abort();
                again = node_status_format(&p);
                if (!streq(formatted, again))
                        abort();
                node_status_done(&s);
                node_status_done(&p);
        }
        if (guest_status_parse(text, &g) == 0) {
                if (!g.state)
                        abort();
                guest_status_done(&g);
        }
        return 0;
}
