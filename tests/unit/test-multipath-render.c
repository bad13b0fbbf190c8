/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "golden.h"
#include "multipath-config.h"
#include "multipath-render.h"

/*
 * Golden files: tests/golden/multipath/<case>.cfg is a multipath.cfg and
 * <case>.overrides, where present, a multipath-overrides.conf; <case>.conf is
 * the expected generated drop-in and <case>.overrides.conf the expected
 * overrides drop-in. BERTH_UPDATE_GOLDEN=1 rewrites the expected files instead.
 * test-multipath-validate runs every expected file through multipath -t.
 */
static const char *const cases[] = { "defaults-only", "many-wwids", "overrides", "empty" };

START_TEST(test_golden)
{
        const char *name = cases[_i];
        _cleanup_(multipath_config_freep) MultipathConfig *c = NULL, *again = NULL;
        _cleanup_free_ char *cfg = golden_path("multipath", name, "cfg"),
                            *ovr = golden_path("multipath", name, "overrides"), *text = NULL,
                            *overrides = NULL, *error = NULL, *canonical = NULL, *config = NULL,
                            *again_config = NULL, *dropin = NULL;

        ck_assert_int_eq(read_full_file(cfg, &text, NULL), 0);
        ck_assert_msg(multipath_config_parse(text, &c, &error) == 0, "%s: %s", cfg, error);
        if (read_full_file(ovr, &overrides, NULL) < 0)
                overrides = xstrdup("");
        ck_assert_msg(multipath_overrides_check(overrides, &error) == 0, "%s: %s", ovr, error);

        config = multipath_render_config(c);
        dropin = multipath_render_overrides(overrides);
        golden_check("multipath", name, "conf", config);
        golden_check("multipath", name, "overrides.conf", dropin);

        /* The canonical form means the same: it renders the same drop-in. */
        canonical = multipath_config_format(c);
        ck_assert_int_eq(multipath_config_parse(canonical, &again, NULL), 0);
        again_config = multipath_render_config(again);
        ck_assert_str_eq(again_config, config);
}
END_TEST

START_TEST(test_overrides_dropin)
{
        _cleanup_free_ char *a = multipath_render_overrides("devices {\n}"),
                            *b = multipath_render_overrides("devices {\n}\n");

        ck_assert_ptr_null(multipath_render_overrides(""));
        ck_assert_ptr_null(multipath_render_overrides(" \n\t\n"));
        /* Verbatim below the header, with the final newline a file needs. */
        ck_assert_str_eq(a, b);
        ck_assert_ptr_nonnull(startswith(a, "#"));
        ck_assert(endswith(a, "\ndevices {\n}\n"));
}
END_TEST

/* The allow-list is anchored and literal, else a WWID would let in every WWID it is a part of. */
START_TEST(test_wwid_regex)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = multipath_config_new();
        _cleanup_free_ char *text = NULL;

        ck_assert_int_eq(multipath_config_add_wwid(c, "eui.00:1-2.x", NULL), 0);
        text = multipath_render_config(c);
        ck_assert_ptr_nonnull(strstr(text, "blacklist_exceptions {\n\twwid \"^eui\\.00:1-2\\.x$\"\n}\n"));
        ck_assert_ptr_nonnull(strstr(text, "\t\twwid \"eui.00:1-2.x\"\n"));
}
END_TEST

int main(void)
{
        Suite *s = suite_create("multipath-render");
        TCase *tc = tcase_create("render");

        tcase_add_loop_test(tc, test_golden, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_overrides_dropin);
        tcase_add_test(tc, test_wwid_regex);
        suite_add_tcase(s, tc);

        return run_suite(s);
}
