/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>

#include "alloc.h"
#include "check-main.h"
#include "vmid.h"

static const struct {
        const char *s;
        int r;
        uint32_t v;
} parse_cases[] = {
        { "100", 0, 100 },
        { "101", 0, 101 },
        { "4242", 0, 4242 },
        { "999999999", 0, 999999999 },
        { "99", -ERANGE, 0 },
        { "0", -ERANGE, 0 },
        { "1000000000", -ERANGE, 0 },
        { "4294967295", -ERANGE, 0 },
        { "4294967396", -ERANGE, 0 },
        { "18446744073709551716", -ERANGE, 0 },
        { "99999999999999999999", -ERANGE, 0 },
        { "999999999999999999999999999999999999999", -ERANGE, 0 },
        { "", -EINVAL, 0 },
        { "0100", -EINVAL, 0 },
        { "00", -EINVAL, 0 },
        { "+100", -EINVAL, 0 },
        { "-100", -EINVAL, 0 },
        { " 100", -EINVAL, 0 },
        { "100 ", -EINVAL, 0 },
        { "100\n", -EINVAL, 0 },
        { "1e3", -EINVAL, 0 },
        { "0x100", -EINVAL, 0 },
        { "100,101", -EINVAL, 0 },
        { "１００", -EINVAL, 0 },
};

START_TEST(test_vmid_parse)
{
        uint32_t v = 7;

        ck_assert_int_eq(vmid_parse(parse_cases[_i].s, &v), parse_cases[_i].r);
        ck_assert_uint_eq(v, parse_cases[_i].r == 0 ? parse_cases[_i].v : 7);
}
END_TEST

static const struct {
        const char *s;
        int r;
        const char *expected; /* the ids, space-separated, or NULL */
} list_cases[] = {
        { "100", 0, "100" },
        { "100,105-107 200", 0, "100 105 106 107 200" },
        { "  300\t200 ,100\n", 0, "100 200 300" },
        { "100 , 101,102 103", 0, "100 101 102 103" },
        { "105-107,100-110,106", 0, "100 101 102 103 104 105 106 107 108 109 110" },
        { "110-112 100-105 106-109", 0, "100 101 102 103 104 105 106 107 108 109 110 111 112" },
        { "200-200", 0, "200" },
        { "200 200 200", 0, "200" },
        { "999999998-999999999", 0, "999999998 999999999" },
        { "", -EINVAL, NULL },
        { "   ", -EINVAL, NULL },
        { ",", -EINVAL, NULL },
        { ",100", -EINVAL, NULL },
        { "100,", -EINVAL, NULL },
        { "100,,101", -EINVAL, NULL },
        { "100, ,101", -EINVAL, NULL },
        { "110-100", -EINVAL, NULL },
        { "100-", -EINVAL, NULL },
        { "-100", -EINVAL, NULL },
        { "100--110", -EINVAL, NULL },
        { "100-105-110", -EINVAL, NULL },
        { "100 - 110", -EINVAL, NULL },
        { "100;101", -EINVAL, NULL },
        { "0100", -EINVAL, NULL },
        { "abc", -EINVAL, NULL },
        { "99", -ERANGE, NULL },
        { "100 99", -ERANGE, NULL },
        { "99-200", -ERANGE, NULL },
        { "100-99999999999999999999", -ERANGE, NULL },
        { "100-1000000000", -ERANGE, NULL },
        { "100-100099", 0, NULL },
        { "100-100100", -E2BIG, NULL },
        { "1000-200000", -E2BIG, NULL },
        /* Overlapping ranges count once towards the list limit. */
        { "100-100099 100-100099 50000-149999", 0, NULL },
        { "100-100099 100100-200099 200100-300099 300100-400099 400100-500099 "
          "500100-600099 600100-700099 700100-800099 800100-900099 900100-1000099",
                0, NULL },
        { "100-100099 100100-200099 200100-300099 300100-400099 400100-500099 "
          "500100-600099 600100-700099 700100-800099 800100-900099 900100-1000099 1000100",
                -E2BIG, NULL },
};

START_TEST(test_vmid_list_parse)
{
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        int r;

        r = vmid_list_parse(list_cases[_i].s, &ids, &n);
        ck_assert_msg(r == list_cases[_i].r, "'%s': %d", list_cases[_i].s, r);
        if (r < 0) {
                ck_assert_ptr_null(ids);
                return;
        }
        ck_assert_uint_gt(n, 0);
        for (size_t i = 0; i < n; i++) {
                ck_assert(vmid_is_valid(ids[i]));
                if (i > 0)
                        ck_assert_uint_lt(ids[i - 1], ids[i]);
        }
        if (list_cases[_i].expected) {
                _cleanup_free_ char *joined = xstrdup("");
                for (size_t i = 0; i < n; i++) {
                        char *j = xasprintf("%s%s%u", joined, i > 0 ? " " : "", ids[i]);
                        free(joined);
                        joined = j;
                }
                ck_assert_str_eq(joined, list_cases[_i].expected);
        }
}
END_TEST

START_TEST(test_vmid_list_sizes)
{
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;

        ck_assert_int_eq(vmid_list_parse("100-100099 150000", &ids, &n), 0);
        ck_assert_uint_eq(n, VMID_RANGE_MAX_SPAN + 1);
        ck_assert_uint_eq(ids[0], 100);
        ck_assert_uint_eq(ids[VMID_RANGE_MAX_SPAN - 1], 100099);
        ck_assert_uint_eq(ids[VMID_RANGE_MAX_SPAN], 150000);
        free(ids);
        ck_assert_int_eq(vmid_list_parse("100-100099 100-100099 50000-149999", &ids, &n), 0);
        ck_assert_uint_eq(n, 149999 - 100 + 1);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("vmid");
        TCase *tc = tcase_create("vmid");

        tcase_add_loop_test(tc, test_vmid_parse, 0, ELEMENTSOF(parse_cases));
        tcase_add_loop_test(tc, test_vmid_list_parse, 0, ELEMENTSOF(list_cases));
        tcase_add_test(tc, test_vmid_list_sizes);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
