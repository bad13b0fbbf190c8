/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>

#include "check-main.h"
#include "errors.h"

static const struct {
        const char *name;
        int error;
} cases[] = {
        { BERTH_ERROR_NO_SUCH_GUEST, ENOENT },
        { BERTH_ERROR_GUEST_EXISTS, EEXIST },
        { BERTH_ERROR_INVALID_CONFIG, EBADMSG },
        { BERTH_ERROR_INVALID_ARGUMENT, EINVAL },
        { BERTH_ERROR_LOCKED, ENOLCK },
        { BERTH_ERROR_BUSY, EBUSY },
        { BERTH_ERROR_NOT_RUNNING, ESRCH },
        { BERTH_ERROR_ALREADY_RUNNING, EALREADY },
        { BERTH_ERROR_DIGEST_MISMATCH, ESTALE },
        { BERTH_ERROR_PERMISSION_DENIED, EPERM },
        { BERTH_ERROR_TIMEOUT, ETIMEDOUT },
        { BERTH_ERROR_NO_SUCH_TASK, ENXIO },
        { BERTH_ERROR_NO_SUCH_WWID, ENODEV },
        { BERTH_ERROR_ALIAS_IN_USE, EADDRINUSE },
        { BERTH_ERROR_HOOK_FAILED, ECHILD },
        { BERTH_ERROR_UNAVAILABLE, EHOSTDOWN },
        { BERTH_ERROR_FAILED, EIO },
};

START_TEST(test_name_to_errno)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;

        ck_assert_int_eq(berth_errors_register(), 0);
        sd_bus_error_set(&e, cases[_i].name, "x");
        ck_assert_int_eq(sd_bus_error_get_errno(&e), cases[_i].error);
        sd_bus_error_free(&e);
}
END_TEST

START_TEST(test_errno_to_name)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;

        ck_assert_int_eq(
                berth_bus_error_set_errnof(&e, -cases[_i].error, "failed: %s", "why"), -cases[_i].error);
        ck_assert_str_eq(e.name, cases[_i].name);
        ck_assert_str_eq(e.message, "failed: why");
        sd_bus_error_free(&e);
}
END_TEST

START_TEST(test_unmapped_errno)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;

        ck_assert_int_eq(berth_bus_error_set_errnof(&e, -ENOSPC, "disk full"), -ENOSPC);
        ck_assert_str_eq(e.name, BERTH_ERROR_FAILED);
        sd_bus_error_free(&e);
}
END_TEST

START_TEST(test_names_unique)
{
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                for (size_t j = i + 1; j < sizeof cases / sizeof cases[0]; j++) {
                        ck_assert_str_ne(cases[i].name, cases[j].name);
                        ck_assert_int_ne(cases[i].error, cases[j].error);
                }
}
END_TEST

int main(void)
{
        Suite *s = suite_create("errors");
        TCase *tc = tcase_create("map");
        int n = (int) (sizeof cases / sizeof cases[0]);

        tcase_add_loop_test(tc, test_name_to_errno, 0, n);
        tcase_add_loop_test(tc, test_errno_to_name, 0, n);
        tcase_add_test(tc, test_unmapped_errno);
        tcase_add_test(tc, test_names_unique);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
