/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "macro.h"
#include "vmid.h"

/* Parses the vmid in s[0..n), same rules as vmid_parse(). */
static int vmid_parse_n(const char *s, size_t n, uint32_t *ret)
{
        uint64_t v = 0;

        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        if (s[0] == '0' && n > 1)
                return -EINVAL;
        /* More digits than VMID_MAX has cannot be in range, and would overflow v. */
        if (n > 9)
                return -ERANGE;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (uint64_t) (s[i] - '0');
        if (!vmid_is_valid(v))
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int vmid_parse(const char *s, uint32_t *ret)
{
        return vmid_parse_n(s, strlen(s), ret);
}

typedef struct VmidRange {
        uint32_t first, last;
} VmidRange;

static int vmid_range_cmp(const void *a, const void *b)
{
        const VmidRange *x = a, *y = b;
        return x->first < y->first ? -1 : x->first > y->first;
}

static int vmid_item_parse(const char *s, size_t n, VmidRange *ret)
{
        const char *dash = memchr(s, '-', n);
        VmidRange r;
        int k;

        if (!dash) {
                k = vmid_parse_n(s, n, &r.first);
                if (k < 0)
                        return k;
                r.last = r.first;
        } else {
                k = vmid_parse_n(s, dash - s, &r.first);
                if (k < 0)
                        return k;
                k = vmid_parse_n(dash + 1, n - (dash - s) - 1, &r.last);
                if (k < 0)
                        return k;
                if (r.first > r.last)
                        return -EINVAL;
                if (r.last - r.first >= VMID_RANGE_MAX_SPAN)
                        return -E2BIG;
        }
        *ret = r;
        return 0;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int vmid_list_parse(const char *s, uint32_t **ret, size_t *ret_n)
{
        _cleanup_free_ VmidRange *ranges = NULL;
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n_ranges = 0, allocated = 0, n_ids = 0, m = 0;
        const char *p = s;
        int r;

        while (is_blank(*p))
                p++;
        while (*p) {
                size_t n = strcspn(p, ", \t\n\r");

                if (n_ranges == allocated) {
                        allocated = MAX(allocated * 2, 8U);
                        ranges = xrealloc(ranges, allocated * sizeof(VmidRange));
                }
                r = vmid_item_parse(p, n, &ranges[n_ranges]);
                if (r < 0)
                        return r;
                n_ranges++;
                p += n;

                /* A separator is blanks with at most one comma among them; an empty item is a typo. */
                while (is_blank(*p))
                        p++;
                if (*p == ',') {
                        p++;
                        while (is_blank(*p))
                                p++;
                        if (!*p || *p == ',')
                                return -EINVAL;
                }
        }
        if (n_ranges == 0)
                return -EINVAL;

        /* Merge before expanding so overlapping ranges cost nothing and the size limit counts distinct ids. */
        qsort(ranges, n_ranges, sizeof(VmidRange), vmid_range_cmp);
        for (size_t i = 1; i < n_ranges; i++) {
                if (ranges[i].first <= (uint64_t) ranges[m].last + 1)
                        ranges[m].last = MAX(ranges[m].last, ranges[i].last);
                else
                        ranges[++m] = ranges[i];
        }
        n_ranges = m + 1;
        for (size_t i = 0; i < n_ranges; i++) {
                n_ids += (size_t) ranges[i].last - ranges[i].first + 1;
                if (n_ids > VMID_LIST_MAX)
                        return -E2BIG;
        }

        ids = new0(uint32_t, n_ids);
        n_ids = 0;
        for (size_t i = 0; i < n_ranges; i++)
                for (uint64_t v = ranges[i].first; v <= ranges[i].last; v++)
                        ids[n_ids++] = (uint32_t) v;

        *ret = TAKE_PTR(ids);
        *ret_n = n_ids;
        return 0;
}
