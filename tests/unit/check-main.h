/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>
#include <stdlib.h>

#include "alloc.h"
#include "fileio.h"

/* A fresh directory under /tmp for one test; test_tmpdir_free() removes it with its contents. */
static inline char *test_tmpdir_new(void)
{
        char t[] = "/tmp/berth-test-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(t));
        return xstrdup(t);
}

static inline void test_tmpdir_free(char *dir)
{
        ck_assert_int_eq(rm_rf(dir), 0);
        free(dir);
}

/* Runs every test of s, each in its own process; the exit status of the test program. */
static inline int run_suite(Suite *s)
{
        SRunner *sr = srunner_create(s);
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
