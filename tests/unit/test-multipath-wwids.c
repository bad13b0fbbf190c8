/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "alloc.h"
#include "check-main.h"
#include "multipath-wwids.h"

/* The wwids file: berth adds what the allow-list misses and removes only what it added. */

#define HEADER \
        "# Multipath wwids, Version : 1.0\n" \
        "# NOTE: This file is automatically maintained by multipath and multipathd.\n" \
        "# You should not need to edit this file in normal circumstances.\n" \
        "#\n" \
        "# Valid WWIDs:\n"

static const struct {
        const char *file; /* NULL: there is none */
        const char *const owned[4];
        const char *const wanted[4];
        const char *text;
        const char *const new_owned[4];
} cases[] = {
        /* A new file gets multipath's own header; what is added comes in WWID order. */
        { NULL, {}, { "b", "a" }, HEADER "/a/\n/b/\n", { "b", "a" } },
        { NULL, {}, {}, HEADER, {} },
        /* Lines of others stay, with their comments and spacing; berth's unwanted line goes. */
        { HEADER "/boot-lun/\n# by hand\n  /a/  \n/x/\n", { "a" }, { "b" },
                HEADER "/boot-lun/\n# by hand\n/x/\n/b/\n", { "b" } },
        /* A WWID listed before berth wanted it is not taken over, so it stays when unwanted again. */
        { HEADER "/x/\n", {}, { "x" }, HEADER "/x/\n", {} },
        { HEADER "/x/\n", {}, {}, HEADER "/x/\n", {} },
        /* Kept, berth's own line stays berth's; removed by hand, it comes back. */
        { HEADER "/a/\n", { "a" }, { "a" }, HEADER "/a/\n", { "a" } },
        { HEADER, { "a" }, { "a" }, HEADER "/a/\n", { "a" } },
        /* Without a final newline, and with a line that is no WWID at all. */
        { "/a//junk\n/c/", { "c" }, {}, "/a//junk\n", {} },
        { "", { "a" }, { "a" }, "/a/\n", { "a" } },
};

static char **strv_of(const char *const *l)
{
        char **v = NULL;

        for (size_t i = 0; i < 4 && l[i]; i++)
                strv_push(&v, l[i]);
        return v;
}

START_TEST(test_update)
{
        _cleanup_strv_free_ char **owned = strv_of(cases[_i].owned), **wanted = strv_of(cases[_i].wanted),
                                 **want_owned = strv_of(cases[_i].new_owned), **new_owned = NULL;
        _cleanup_free_ char *text = multipath_wwids_update(cases[_i].file, owned, wanted, &new_owned);

        ck_assert_str_eq(text, cases[_i].text);
        ck_assert_uint_eq(strv_length(new_owned), strv_length(want_owned));
        STRV_FOREACH (w, want_owned)
                ck_assert_msg(strv_contains(new_owned, *w), "%s is not owned", *w);
}
END_TEST

/* Tens of thousands of WWIDs: the allow-list's scale. */
START_TEST(test_many)
{
        _cleanup_strv_free_ char **wanted = NULL, **owned = NULL, **again = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        for (unsigned i = 0; i < 10000; i++) {
                _cleanup_free_ char *w = xasprintf("3600a0980383030%05u", i);
                strv_push(&wanted, w);
        }
        text = multipath_wwids_update(NULL, NULL, wanted, &owned);
        ck_assert_uint_eq(strv_length(owned), 10000);
        text2 = multipath_wwids_update(text, owned, wanted, &again);
        ck_assert_str_eq(text2, text);
        ck_assert_uint_eq(strv_length(again), 10000);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("multipath-wwids");
        TCase *tc = tcase_create("update");

        tcase_add_loop_test(tc, test_update, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_many);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
