/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "access-secrets.h"
#include "alloc.h"
#include "ticket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input read as either file: whatever parses formats to text that parses to the same text, holds what
 * it held, and loses its entries one by one; whatever fails says on which line. */
static void run(AccessSecretsType type, const char *text)
{
        _cleanup_(access_secrets_freep) AccessSecrets *s = NULL, *again = NULL;
        _cleanup_(ticket_secret_freep) char *first = NULL, *second = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = access_secrets_parse(type, text, &s, &error);
        if (r < 0) {
                if (r != -EBADMSG || !error || !startswith(error, "line "))
                        abort();
                return;
        }
        first = access_secrets_format(s);
        if (access_secrets_parse(type, first, &again, NULL) < 0)
                abort();
        second = access_secrets_format(again);
        if (!streq(first, second) || again->n_entries != s->n_entries)
                abort();
        for (size_t i = 0; i < s->n_entries; i++) {
                if (i > 0 && strcmp(s->entries[i - 1].id, s->entries[i].id) >= 0)
                        abort();
                if (!streq_ptr(access_secrets_get(again, s->entries[i].id), s->entries[i].value))
                        abort();
                if (access_secrets_remove(again, s->entries[i].id) < 0)
                        abort();
        }
        if (again->n_entries != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* The text is a C string: what follows a NUL is not part of it. */
        _cleanup_(ticket_secret_freep) char *text = xstrndup((const char *) data, size);

        run(ACCESS_SECRETS_TOKEN, text);
        run(ACCESS_SECRETS_SHADOW, text);
        return 0;
}
