/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Binary search in an array sorted as cmp(key, element) orders it: the index of the element equal
 * to key (*ret_found true), or the index where key would be inserted to keep the order.
 */
static inline size_t sorted_index(const void *base, size_t n, size_t size, const void *key,
        int (*cmp)(const void *key, const void *element), bool *ret_found)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = cmp(key, (const char *) base + mid * size);

                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c > 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}
