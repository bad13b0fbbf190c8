/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>

#include "check-main.h"
#include "macro.h"
#include "utf8.h"

/* The bytes of a literal, embedded NULs included. */
#define BYTES(s) s, sizeof(s) - 1

static const struct {
        const char *s;
        size_t n;
        bool allow_tab;
        int r;
} cases[] = {
        { BYTES(""), false, 0 },
        { BYTES("plain text, with punctuation: ~!"), false, 0 },
        { BYTES("a\tb"), true, 0 },
        { BYTES("a\tb"), false, -EINVAL },
        { BYTES("a\nb"), true, -EINVAL },
        { BYTES("a\rb"), true, -EINVAL },
        { BYTES("\x01"), true, -EINVAL },
        { BYTES("\x1f"), true, -EINVAL },
        { BYTES("\x7f"), true, -EINVAL },
        { BYTES("a\0b"), true, -EINVAL },
        { BYTES("gr\xc3\xbc\xc3\x9f"
                "e \xe2\x82\xac \xf0\x9f\x98\x80"),
                false, 0 },
        /* The smallest code point of each length, the largest there is and the one past it. */
        { BYTES("\xc2\x80"), false, 0 },
        { BYTES("\xe0\xa0\x80"), false, 0 },
        { BYTES("\xf0\x90\x80\x80"), false, 0 },
        { BYTES("\xf4\x8f\xbf\xbf"), false, 0 },
        { BYTES("\xf4\x90\x80\x80"), false, -EILSEQ },
        /* Overlong forms. */
        { BYTES("\xc0\xaf"), false, -EILSEQ },
        { BYTES("\xc1\xbf"), false, -EILSEQ },
        { BYTES("\xe0\x80\xaf"), false, -EILSEQ },
        { BYTES("\xf0\x80\x80\xaf"), false, -EILSEQ },
        /* Surrogates, and their neighbours. */
        { BYTES("\xed\x9f\xbf"), false, 0 },
        { BYTES("\xed\xa0\x80"), false, -EILSEQ },
        { BYTES("\xed\xbf\xbf"), false, -EILSEQ },
        { BYTES("\xee\x80\x80"), false, 0 },
        /* Bytes that start nothing, continuations missing or cut off by n. */
        { BYTES("\x80"), false, -EILSEQ },
        { BYTES("\xff"), false, -EILSEQ },
        { BYTES("\xf8\x88\x80\x80\x80"), false, -EILSEQ },
        { BYTES("\xc3"), false, -EILSEQ },
        { BYTES("\xe2\x82"), false, -EILSEQ },
        { BYTES("\xc3x"), false, -EILSEQ },
        { "\xc3\xa9", 1, false, -EILSEQ },
        { "ab\x01", 2, false, 0 },
        /* The first problem decides. */
        { BYTES("\x01\xff"), false, -EINVAL },
        { BYTES("\xff\x01"), false, -EILSEQ },
};

START_TEST(test_check_printable)
{
        ck_assert_int_eq(utf8_check_printable(cases[_i].s, cases[_i].n, cases[_i].allow_tab), cases[_i].r);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("utf8");
        TCase *tc = tcase_create("utf8");

        tcase_add_loop_test(tc, test_check_printable, 0, ELEMENTSOF(cases));
        suite_add_tcase(s, tc);
        return run_suite(s);
}
