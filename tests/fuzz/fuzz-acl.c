/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acl.h"
#include "alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever parses formats to text that parses to the same text again, and can be evaluated; whatever fails
 * says on which line. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(acl_config_freep) AclConfig *c = NULL, *again = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL, *first = NULL, *second = NULL;
        AclPrivSet s;
        int r;

        /* The text is a C string: what follows a NUL is not part of it. */
        text = xstrndup((const char *) data, size);
        r = acl_config_parse(text, &c, &error);
        if (r < 0) {
                if (r != -EBADMSG || !error || !startswith(error, "line "))
                        abort();
                return 0;
        }
        first = acl_config_format(c);
        if (acl_config_parse(first, &again, NULL) < 0)
                abort();
        second = acl_config_format(again);
        if (!streq(first, second))
                abort();
        for (size_t i = 0; i < c->n_entries; i++) {
                if (acl_permissions(c, "root@pam", c->entries[i].path, 0, &s) < 0 || s != ACL_PRIV_ALL)
                        abort();
                if (c->entries[i].member[0] != '@' &&
                        acl_permissions(c, c->entries[i].member, c->entries[i].path, 0, &s) < 0)
                        abort();
        }
        return 0;
}
