/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever parses must format canonically: a second parse and format reproduce the first output. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(storage_config_freep) StorageConfig *c = NULL, *again = NULL;
        _cleanup_free_ char *text = xmalloc(size + 1), *error = NULL, *first = NULL, *second = NULL;

        memcpy(text, data, size);
        text[size] = 0;
        if (storage_config_parse(text, &c, &error) < 0) {
                if (!error || !startswith(error, "line "))
                        abort();
                return 0;
        }
        first = storage_config_format(c);
        if (storage_config_parse(first, &again, NULL) < 0)
                abort();
        second = storage_config_format(again);
        if (!streq(first, second))
                abort();
        return 0;
}
