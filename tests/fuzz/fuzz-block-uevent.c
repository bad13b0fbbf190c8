/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block-uevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Any bytes are classified without reading past them; a match always names the block subsystem. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *copy = malloc(size ? size : 1);

        if (!copy)
                abort();
        memcpy(copy, data, size);
        if (block_uevent_matches(copy, size) &&
                !memmem(copy, size, "SUBSYSTEM=block", strlen("SUBSYSTEM=block")))
                abort();
        free(copy);
        return 0;
}
