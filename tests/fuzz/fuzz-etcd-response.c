/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "base64.h"
#include "store-etcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * What etcd's gateway answers is parsed as JSON, then as a range response: its keys and values
 * in base64, below the namespace. Anything else is an error, never a crash; every key that comes
 * out is a valid store key. Base64 decodes what it encoded.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xmalloc(size + 1), *encoded = NULL, *decoded = NULL;
        EtcdStore e = { .ns = (char *) "berth/" };
        json_object *o = NULL;
        StoreEntry *entries;
        uint64_t revision;
        size_t n, decoded_size;

        if (size > 0)
                memcpy(text, data, size);
        text[size] = 0;
        (void) etcd_response_error(size > 0 ? 200 + data[0] % 400 : 200, text);
        if (etcd_response_parse(200, text, size, &o) == 0) {
                if (etcd_range_parse(&e, o, size % 2, &entries, &n, &revision) == 0) {
                        for (size_t i = 0; i < n; i++)
                                if (!store_key_is_valid(entries[i].key))
                                        abort();
                        store_entries_free(entries, n);
                }
                json_object_put(o);
        }

        encoded = base64_encode(data, size);
        if (base64_decode(encoded, strlen(encoded), &decoded, &decoded_size) < 0 || decoded_size != size ||
                memcmp(decoded, data, size) != 0)
                abort();
        free(decoded);
        decoded = NULL;
        if (base64_decode(text, size, &decoded, &decoded_size) == 0 && decoded[decoded_size] != 0)
                abort();
        return 0;
}
