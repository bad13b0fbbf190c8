/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* A child process that waits for a signal, until it gets one that ends it. */
static inline pid_t test_fork_sleeper(void)
{
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        return pid;
}

static inline void test_reap(pid_t pid)
{
        ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
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
