/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "paths.h"
#include "spawn.h"

static char *tmpdir;

static void setup(void)
{
        tmpdir = test_tmpdir_new();
}

static void teardown(void)
{
        test_tmpdir_free(tmpdir);
}

START_TEST(test_atomic_write_replaces)
{
        _cleanup_free_ char *p = xasprintf("%s/f", tmpdir), *data = NULL;
        struct stat st;
        size_t n;

        ck_assert_int_eq(write_string_file_atomic(p, "one", 0600), 0);
        ck_assert_int_eq(write_string_file_atomic(p, "second", 0640), 0);
        ck_assert_int_eq(read_full_file(p, &data, &n), 0);
        ck_assert_str_eq(data, "second");
        ck_assert_uint_eq(n, 6);
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0640);
}
END_TEST

START_TEST(test_atomic_write_leaves_no_temp_on_failure)
{
        _cleanup_free_ char *p = xasprintf("%s/missing-dir/f", tmpdir);
        ck_assert_int_eq(write_string_file_atomic(p, "x", 0600), -ENOENT);
}
END_TEST

START_TEST(test_mkdir_p_and_rm_rf)
{
        _cleanup_free_ char *deep = xasprintf("%s/a/b/c", tmpdir), *f = xasprintf("%s/a/b/c/f", tmpdir),
                            *top = xasprintf("%s/a", tmpdir);
        ck_assert_int_eq(mkdir_p(deep, 0755), 0);
        ck_assert_int_eq(mkdir_p(deep, 0755), 0);
        ck_assert_int_eq(write_string_file_atomic(f, "x", 0600), 0);
        ck_assert_int_eq(rm_rf(top), 0);
        ck_assert_int_eq(access(top, F_OK), -1);
        ck_assert_int_eq(rm_rf(top), 0);
}
END_TEST

START_TEST(test_root_path)
{
        _cleanup_free_ char *a = NULL, *b = NULL;

        ck_assert_int_eq(paths_set_root(tmpdir), 0);
        a = root_path("/etc/berth/%s", "berth.conf");
        b = xasprintf("%s/etc/berth/berth.conf", tmpdir);
        ck_assert_str_eq(a, b);
        ck_assert_int_eq(paths_set_root("/"), 0);
        free(a);
        a = root_path("run/berth");
        ck_assert_str_eq(a, "/run/berth");
        ck_assert_int_eq(paths_set_root("/nonexistent/berth"), -ENOENT);
}
END_TEST

START_TEST(test_spawn_clean_env_and_fds)
{
        _cleanup_free_ char *log = xasprintf("%s/log", tmpdir), *out = NULL;
        char *argv[] = { "/bin/sh", "-c", "echo \"$PATH|$FOO|$HOME\"; ls /proc/self/fd | wc -l", NULL };
        char *env[] = { "FOO=bar", NULL };
        SpawnOptions o = { .env = env, .log_path = log };
        int leak = open("/dev/null", O_RDONLY);

        ck_assert_int_ge(leak, 3);
        setenv("HOME", "/root", 1);
        ck_assert_int_eq(spawn_and_wait(argv, &o), 0);
        ck_assert_int_eq(read_full_file(log, &out, NULL), 0);
        /* Only 0, 1, 2 and the fd ls itself opens: our leak must not be inherited. */
        ck_assert_str_eq(out, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|bar|\n4\n");
        close(leak);
}
END_TEST

START_TEST(test_spawn_keeps_fd_and_reports_status)
{
        char *argv[] = { "/bin/sh", "-c", "echo hi >&5; exit 3", NULL };
        int p[2];
        char buf[8] = {};

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(dup2(p[1], 5), 5);
        SpawnOptions o = { .keep_fds = (int[]){ 5 }, .n_keep_fds = 1 };
        ck_assert_int_eq(spawn_and_wait(argv, &o), 3);
        close(5);
        close(p[1]);
        ck_assert_int_eq(read(p[0], buf, sizeof buf - 1), 3);
        ck_assert_str_eq(buf, "hi\n");
        close(p[0]);
}
END_TEST

static char **recorded;
static void record(char *const argv[], void *userdata)
{
        for (char *const *a = argv; *a; a++)
                strv_push(&recorded, *a);
}

START_TEST(test_spawn_dry_run_and_bad_argv)
{
        char *argv[] = { "/bin/false", "x y", NULL };
        char *relative[] = { "false", NULL };
        pid_t pid = 1;

        spawn_set_dry_run(record, NULL);
        ck_assert_int_eq(spawn(argv, NULL, &pid), 0);
        spawn_set_dry_run(NULL, NULL);
        ck_assert_int_eq(pid, 0);
        ck_assert_uint_eq(strv_length(recorded), 2);
        ck_assert_str_eq(recorded[1], "x y");
        strv_free(recorded);
        ck_assert_int_eq(spawn(relative, NULL, &pid), -EINVAL);
        ck_assert_int_eq(spawn_and_wait(argv, NULL), 1);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("fileio");
        TCase *tc = tcase_create("fileio");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_atomic_write_replaces);
        tcase_add_test(tc, test_atomic_write_leaves_no_temp_on_failure);
        tcase_add_test(tc, test_mkdir_p_and_rm_rf);
        tcase_add_test(tc, test_root_path);
        tcase_add_test(tc, test_spawn_clean_env_and_fds);
        tcase_add_test(tc, test_spawn_keeps_fd_and_reports_status);
        tcase_add_test(tc, test_spawn_dry_run_and_bad_argv);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
