/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "golden.h"
#include "multipath-config.h"
#include "multipath-render.h"
#include "multipath-validate.h"

/*
 * The real multipath -t against what berth renders: the golden drop-ins, every
 * value the knob schema allows, the schema's scopes, a 10,000-LUN config. Needs
 * multipath-tools and root (a private mount namespace); skipped otherwise.
 */

static char *helper;

static void assert_valid(const char *config, const char *overrides)
{
        _cleanup_free_ char *error = NULL;
        int r = multipath_validate(helper, config, overrides, &error);

        ck_assert_msg(r == 0, "multipath -t: %s (%d)\n%s", strempty(error), r, strempty(config));
        ck_assert_ptr_null(error);
}

static const char *const golden_cases[] = { "defaults-only", "many-wwids", "overrides", "empty" };

START_TEST(test_golden_accepted)
{
        _cleanup_free_ char *conf = golden_path("multipath", golden_cases[_i], "conf"),
                            *ovr = golden_path("multipath", golden_cases[_i], "overrides.conf"),
                            *config = NULL, *overrides = NULL;

        ck_assert_int_eq(read_full_file(conf, &config, NULL), 0);
        (void) read_full_file(ovr, &overrides, NULL);
        assert_valid(config, overrides);
}
END_TEST

/* Structurally fine, so multipath_overrides_check() lets them through: only multipath can tell. */
static const struct {
        const char *overrides;
        const char *complaint;
} bad_overrides[] = {
        { "devices {\n\tdevice {\n\t\tvendor \"X\"\n\t\tproduct \"Y\"\n\t\tno_such_keyword 1\n\t}\n}\n",
                "invalid keyword in the device section: no_such_keyword" },
        { "overrides {\n\tno_path_retry sometimes\n}\n", "invalid value for no_path_retry: \"sometimes\"" },
        { "blacklist {\n\twwid \"a\"\n\tpath_checker tur\n}\n", "invalid keyword in the blacklist section" },
};

START_TEST(test_bad_override_caught)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = multipath_config_new();
        _cleanup_free_ char *config = multipath_render_config(c),
                            *dropin = multipath_render_overrides(bad_overrides[_i].overrides), *error = NULL;

        ck_assert_int_eq(multipath_overrides_check(bad_overrides[_i].overrides, NULL), 0);
        ck_assert_int_eq(multipath_validate(helper, config, dropin, &error), -EBADMSG);
        ck_assert_msg(strstr(error, bad_overrides[_i].complaint), "%s", error);
        ck_assert_msg(strstr(error, MULTIPATH_OVERRIDES_DROPIN), "%s", error);
        /* The generated part alone is fine. */
        assert_valid(config, NULL);
}
END_TEST

/* The values a knob takes that are worth trying: its words, its range's ends, its default, sample strings. */
static char **candidates(MultipathKnob k)
{
        const MultipathKnobInfo *info = multipath_knob_info(k);
        char **l = NULL;

        for (const char *const *v = info->values; v && *v; v++)
                strv_push(&l, *v);
        if (info->type == MULTIPATH_KNOB_TYPE_INT) {
                _cleanup_free_ char *min = xasprintf("%" PRId64, info->min),
                                    *max = xasprintf("%" PRId64, info->max);
                strv_push(&l, min);
                strv_push(&l, max);
        }
        if (info->type == MULTIPATH_KNOB_TYPE_BOOL) {
                strv_push(&l, "yes");
                strv_push(&l, "no");
        }
        if (info->type == MULTIPATH_KNOB_TYPE_STRING) {
                strv_push(&l, "io_num=20 base_num=10");
                strv_push(&l, "a \"quoted\" word # ! {}");
        }
        if (info->default_value)
                strv_push(&l, info->default_value);
        return l;
}

/*
 * Round r gives every knob its r-th candidate, in the defaults and, where
 * multipath.conf allows it, on a LUN: every allowed spelling meets multipath.
 */
START_TEST(test_every_value_accepted)
{
        char **cands[_MULTIPATH_KNOB_MAX];
        size_t rounds = 0;

        for (MultipathKnob k = 0; k < _MULTIPATH_KNOB_MAX; k++) {
                cands[k] = candidates(k);
                rounds = MAX(rounds, strv_length(cands[k]));
        }
        for (size_t r = 0; r < rounds; r++) {
                _cleanup_(multipath_config_freep) MultipathConfig *c = multipath_config_new();
                _cleanup_strv_free_ char **set = NULL, **lun_set = NULL;
                _cleanup_free_ char *config = NULL, *error = NULL;

                for (MultipathKnob k = 0; k < _MULTIPATH_KNOB_MAX; k++) {
                        const MultipathKnobInfo *info = multipath_knob_info(k);
                        if (r >= strv_length(cands[k]))
                                continue;
                        strv_push(&set, info->name);
                        strv_push(&set, cands[k][r]);
                        if (info->scopes & MULTIPATH_SCOPE_LUN) {
                                strv_push(&lun_set, info->name);
                                strv_push(&lun_set, cands[k][r]);
                        }
                }
                ck_assert_int_eq(multipath_config_set_defaults(c, set, NULL, &error), 0);
                ck_assert_int_eq(multipath_config_add_wwid(c, "36001405000000000000000000000000a", NULL), 0);
                ck_assert_int_eq(multipath_config_update_wwid(
                                         c, "36001405000000000000000000000000a", lun_set, NULL, &error),
                        0);
                config = multipath_render_config(c);
                assert_valid(config, NULL);
        }
        for (MultipathKnob k = 0; k < _MULTIPATH_KNOB_MAX; k++)
                strv_free(cands[k]);
}
END_TEST

/* The schema's scopes are multipath.conf's: a global-only knob in a multipath subsection draws a warning. */
START_TEST(test_scopes_match)
{
        const MultipathKnobInfo *info = multipath_knob_info(_i);
        _cleanup_strv_free_ char **cands = candidates(_i);
        _cleanup_free_ char *error = NULL,
                            *config = xasprintf("multipaths {\n\tmultipath {\n\t\twwid \"3600\"\n"
                                                "\t\t%s \"%s\"\n\t}\n}\n",
                                    info->keyword, cands[0]);
        int r = multipath_validate(helper, config, NULL, &error);

        if (info->scopes & MULTIPATH_SCOPE_LUN) {
                ck_assert_msg(r == 0, "%s: %s", info->keyword, strempty(error));
                return;
        }
        ck_assert_int_eq(r, -EBADMSG);
        ck_assert_msg(strstr(error, "invalid keyword in the multipath section"), "%s", error);
}
END_TEST

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(test_many_wwids)
{
        _cleanup_(multipath_config_freep) MultipathConfig *c = multipath_config_new(), *parsed = NULL;
        _cleanup_free_ char *text = NULL, *config = NULL;
        char *set[] = { "no-path-retry", "queue", "failback", "immediate", NULL };
        double start, rendered, validated;

        for (int i = 0; i < 10000; i++) {
                char wwid[64], alias[32];

                snprintf(wwid, sizeof wwid, "3600a09803830305345%013d", i);
                snprintf(alias, sizeof alias, "lun%d", i);
                ck_assert_int_eq(multipath_config_add_wwid(c, wwid, NULL), 0);
                ck_assert_int_eq(multipath_config_set_alias(c, wwid, alias, NULL), 0);
                ck_assert_int_eq(multipath_config_update_wwid(c, wwid, set, NULL, NULL), 0);
        }
        text = multipath_config_format(c);

        start = now();
        ck_assert_int_eq(multipath_config_parse(text, &parsed, NULL), 0);
        config = multipath_render_config(parsed);
        rendered = now();
        assert_valid(config, NULL);
        validated = now();
        fprintf(stderr,
                "10000 WWIDs: parse + render %.3f s, validate (multipath -t) %.3f s, drop-in %zu bytes\n",
                rendered - start, validated - rendered, strlen(config));
}
END_TEST

START_TEST(test_missing_helper)
{
        _cleanup_free_ char *error = NULL;

        ck_assert_int_eq(
                multipath_validate("/nonexistent/berth-multipath-validate", "", NULL, &error), -ENOENT);
        ck_assert_ptr_nonnull(error);
}
END_TEST

int main(void)
{
        const char *build = getenv("BERTH_BUILD_ROOT");

        if (access(multipath_validate_binary(), X_OK) < 0) {
                fprintf(stderr, "%s not found (multipath-tools), skipping.\n", multipath_validate_binary());
                return 77;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "Not root: no private mount namespace, skipping.\n");
                return 77;
        }
        if (!build) {
                fprintf(stderr, "BERTH_BUILD_ROOT is not set.\n");
                return EXIT_FAILURE;
        }
        helper = xasprintf("%s/daemons/multipathd-sync/berth-multipath-validate", build);

        Suite *s = suite_create("multipath-validate");
        TCase *tc = tcase_create("multipath");

        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_golden_accepted, 0, ELEMENTSOF(golden_cases));
        tcase_add_loop_test(tc, test_bad_override_caught, 0, ELEMENTSOF(bad_overrides));
        tcase_add_test(tc, test_every_value_accepted);
        tcase_add_loop_test(tc, test_scopes_match, 0, _MULTIPATH_KNOB_MAX);
        tcase_add_test(tc, test_many_wwids);
        tcase_add_test(tc, test_missing_helper);
        suite_add_tcase(s, tc);

        int r = run_suite(s);
        free(helper);
        return r;
}
