/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdio.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "log.h"

/* stderr goes to a temp file for each test; captured() flushes and returns what was written so far. */
static char capture_path[] = "/tmp/berth-test-log-XXXXXX";
static int saved_stderr = -1;

static void setup(void)
{
        int fd;

        strcpy(capture_path, "/tmp/berth-test-log-XXXXXX");
        fd = mkstemp(capture_path);
        ck_assert_int_ge(fd, 0);
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        ck_assert_int_ge(saved_stderr, 0);
        ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        close(fd);
        unsetenv("BERTH_LOG_LEVEL");
        log_set_max_level(LOG_INFO);
}

static void teardown(void)
{
        fflush(stderr);
        ck_assert_int_eq(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
        saved_stderr = safe_close(saved_stderr);
        ck_assert_int_eq(unlink(capture_path), 0);
}

static char *captured(void)
{
        char *s = NULL;

        fflush(stderr);
        ck_assert_int_eq(read_full_file(capture_path, &s, NULL), 0);
        return s;
}

START_TEST(test_error_errno_returns_negative)
{
        _cleanup_free_ char *out = NULL;

        ck_assert_int_eq(log_error_errno(ENOENT, "positive"), -ENOENT);
        ck_assert_int_eq(log_error_errno(-EACCES, "negative"), -EACCES);
        /* Not printed at this level, still the same return value. */
        ck_assert_int_eq(log_debug_errno(-EBUSY, "quiet"), -EBUSY);
        ck_assert_int_eq(log_debug_errno(EBUSY, "quiet"), -EBUSY);
        out = captured();
        ck_assert_str_eq(out, "<3>positive\n<3>negative\n");
}
END_TEST

START_TEST(test_percent_m_is_the_given_error)
{
        _cleanup_free_ char *out = NULL,
                            *expected = xasprintf("<3>Failed to open /x: %s\n<4>Busy: %s, ignoring\n",
                                    strerror(ENOENT), strerror(EBUSY));

        errno = EPERM;
        log_error_errno(ENOENT, "Failed to open %s: %m", "/x");
        errno = EPERM;
        log_warning_errno(-EBUSY, "Busy: %m, ignoring");
        out = captured();
        ck_assert_str_eq(out, expected);
}
END_TEST

START_TEST(test_below_max_level_not_printed)
{
        _cleanup_free_ char *out = NULL, *more = NULL;

        log_set_max_level(LOG_WARNING);
        ck_assert_int_eq(log_get_max_level(), LOG_WARNING);
        log_info("info hidden");
        log_notice("notice hidden");
        log_debug("debug hidden");
        log_warning("warning shown");
        log_error("error shown");
        out = captured();
        ck_assert_str_eq(out, "<4>warning shown\n<3>error shown\n");

        /* At debug level every line also says where it came from. */
        log_set_max_level(LOG_DEBUG);
        log_debug("debug shown");
        more = captured();
        ck_assert_ptr_nonnull(strstr(more, "<7>"));
        ck_assert_ptr_nonnull(strstr(more, "test-log.c:"));
        ck_assert_ptr_nonnull(strstr(more, " test_below_max_level_not_printed"));
        ck_assert_ptr_nonnull(strstr(more, ": debug shown\n"));
}
END_TEST

static const struct {
        const char *value;
        int level; /* the level set beforehand is LOG_NOTICE: an invalid value must keep it */
} env_cases[] = {
        { "debug", LOG_DEBUG },
        { "info", LOG_INFO },
        { "warning", LOG_WARNING },
        { "err", LOG_ERR },
        { "emerg", LOG_EMERG },
        { "7", LOG_DEBUG },
        { "3", LOG_ERR },
        { "0", LOG_EMERG },
        { "", LOG_NOTICE },
        { "8", LOG_NOTICE },
        { "-1", LOG_NOTICE },
        { "3x", LOG_NOTICE },
        { "DEBUG", LOG_NOTICE },
        { "verbose", LOG_NOTICE },
        { "error", LOG_NOTICE },
        { "99999999999999999999", LOG_NOTICE },
};

START_TEST(test_parse_environment)
{
        log_set_max_level(LOG_NOTICE);
        ck_assert_int_eq(setenv("BERTH_LOG_LEVEL", env_cases[_i].value, 1), 0);
        log_parse_environment();
        ck_assert_int_eq(log_get_max_level(), env_cases[_i].level);
}
END_TEST

START_TEST(test_parse_environment_unset)
{
        log_set_max_level(LOG_NOTICE);
        log_parse_environment();
        ck_assert_int_eq(log_get_max_level(), LOG_NOTICE);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("log");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_error_errno_returns_negative);
        tcase_add_test(tc, test_percent_m_is_the_given_error);
        tcase_add_test(tc, test_below_max_level_not_printed);
        tcase_add_loop_test(tc, test_parse_environment, 0, ELEMENTSOF(env_cases));
        tcase_add_test(tc, test_parse_environment_unset);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
