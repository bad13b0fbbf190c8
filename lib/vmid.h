/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMID_MIN 100U
#define VMID_MAX 999999999U

static inline bool vmid_is_valid(uint64_t v)
{
        return v >= VMID_MIN && v <= VMID_MAX;
}

/* Parses one vmid (decimal, no sign, no leading zeros); -EINVAL on syntax, -ERANGE outside 100–999999999. */
int vmid_parse(const char *s, uint32_t *ret);
/*
 * Parses a list such as "100,105-110 200": commas and/or spaces, ranges with
 * '-'. The result is sorted and without duplicates. A range may span at most
 * 100000 ids.
 */
int vmid_list_parse(const char *s, uint32_t **ret, size_t *ret_n);
