/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMID_MIN 100U
#define VMID_MAX 999999999U
/* Limits of vmid_list_parse(): ids in one range, and distinct ids in the whole list. */
#define VMID_RANGE_MAX_SPAN 100000U
#define VMID_LIST_MAX 1000000U

static inline bool vmid_is_valid(uint64_t v)
{
        return v >= VMID_MIN && v <= VMID_MAX;
}

/* Parses one vmid (decimal, no sign, no leading zeros); -EINVAL on syntax, -ERANGE outside 100–999999999. */
int vmid_parse(const char *s, uint32_t *ret);
/*
 * Parses a list such as "100,105-110 200": commas and/or spaces, ranges with
 * '-'. The result is sorted and without duplicates. A range may span at most
 * VMID_RANGE_MAX_SPAN ids and the list at most VMID_LIST_MAX ids (-E2BIG);
 * -EINVAL on syntax (including an empty list or item, or a range a-b with a > b),
 * -ERANGE when an id is outside 100–999999999.
 */
int vmid_list_parse(const char *s, uint32_t **ret, size_t *ret_n);
