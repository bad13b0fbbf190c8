/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Standard base64 (RFC 4648 §4) with padding. */
char *base64_encode(const void *data, size_t size);
/*
 * Decodes standard padded base64 of exactly n bytes (no whitespace). The result is
 * NUL-terminated beyond *ret_size. -EINVAL for anything but valid base64.
 */
int base64_decode(const char *text, size_t n, char **ret, size_t *ret_size);
