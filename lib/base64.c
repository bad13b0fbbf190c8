/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "base64.h"

char *base64_encode(const void *data, size_t size)
{
        char *out;

        if (size > (size_t) INT_MAX / 4 * 3)
                abort();
        out = xmalloc((size + 2) / 3 * 4 + 1);
        EVP_EncodeBlock((unsigned char *) out, data, (int) size);
        return out;
}

static bool is_base64_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                c == '/';
}

int base64_decode(const char *text, size_t n, char **ret, size_t *ret_size)
{
        size_t padding = 0, size;
        char *out;

        if (n % 4 != 0 || n > (size_t) INT_MAX)
                return -EINVAL;
        if (n > 0 && text[n - 1] == '=')
                padding = text[n - 2] == '=' ? 2 : 1;
        for (size_t i = 0; i < n - padding; i++)
                if (!is_base64_char(text[i]))
                        return -EINVAL;
        /* EVP_DecodeBlock() writes 3 bytes per 4 characters, padding included. */
        out = xmalloc(n / 4 * 3 + 1);
        if (EVP_DecodeBlock((unsigned char *) out, (const unsigned char *) text, (int) n) < 0) {
                free(out);
                return -EINVAL;
        }
        size = n / 4 * 3 - padding;
        out[size] = 0;
        *ret = out;
        *ret_size = size;
        return 0;
}
