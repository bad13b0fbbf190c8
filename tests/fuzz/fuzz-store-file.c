/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "store-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The file: backend reads back what it wrote: a transaction's journal, which a crash can leave
 * behind, and a lease's file. Either parses whole, with valid keys only, or says -EBADMSG.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xmalloc(size + 1);
        FileJournal j = {};
        FileLeaseText l = {};
        int r;

        if (size > 0)
                memcpy(text, data, size);
        text[size] = 0;
        r = file_journal_parse(text, size, &j);
        if (r < 0 && r != -EBADMSG)
                abort();
        for (size_t i = 0; r == 0 && i < j.n; i++) {
                if (!store_key_is_valid(j.ops[i].key))
                        abort();
                if (j.ops[i].type == STORE_TXN_PUT &&
                        ((const char *) j.ops[i].value < text ||
                                (const char *) j.ops[i].value + j.ops[i].size > text + size))
                        abort();
        }
        file_journal_free(&j);

        r = file_lease_text_parse(text, &l);
        if (r < 0 && r != -EBADMSG)
                abort();
        for (char **k = l.keys; r == 0 && k && *k; k++)
                if (!store_key_is_valid(*k))
                        abort();
        file_lease_text_free(&l);
        return 0;
}
