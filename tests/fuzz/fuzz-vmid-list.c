/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"
#include "vmid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed list is non-empty, strictly increasing (sorted, no duplicates) and holds only valid ids. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *) data, size);
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        int r;

        r = vmid_list_parse(text, &ids, &n);
        if (r < 0) {
                if (r != -EINVAL && r != -ERANGE && r != -E2BIG)
                        abort();
                return 0;
        }
        if (n == 0 || n > VMID_LIST_MAX)
                abort();
        for (size_t i = 0; i < n; i++)
                if (!vmid_is_valid(ids[i]) || (i > 0 && ids[i - 1] >= ids[i]))
                        abort();
        return 0;
}
