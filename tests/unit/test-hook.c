/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "hook.h"

static char *tmpdir;

static void setup(void)
{
        tmpdir = test_tmpdir_new();
}

static void teardown(void)
{
        test_tmpdir_free(tmpdir);
}

typedef struct Outcome {
        bool done;
        int status;
        bool timed_out;
} Outcome;

static void on_done(Hook *h, int status, bool timed_out, void *userdata)
{
        Outcome *o = userdata;
        o->done = true;
        o->status = status;
        o->timed_out = timed_out;
}

static char *write_script(const char *name, const char *body)
{
        char *path = xasprintf("%s/%s", tmpdir, name);
        _cleanup_free_ char *text = xasprintf("#!/bin/sh\n%s\n", body);
        ck_assert_int_eq(write_string_file_atomic(path, text, 0755), 0);
        return path;
}

/* Exists and is not a zombie: an orphan killed with its group waits for whoever adopted it to reap it. */
static bool process_alive(pid_t pid)
{
        _cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int) pid), *text = NULL;
        const char *p;

        if (read_full_file(path, &text, NULL) < 0)
                return false;
        p = strrchr(text, ')');
        return p && p[1] == ' ' && p[2] != 'Z';
}

/* Runs the hook to its end on a loop of its own. */
static Outcome run_hook(const char *script, const char *phase, const HookOptions *o)
{
        struct event_base *base = event_base_new();
        Outcome out = {};
        Hook *h = NULL;

        ck_assert_int_eq(hook_start(base, script, 100, phase, o, on_done, &out, &h), 0);
        ck_assert_int_gt(hook_get_pid(h), 0);
        while (!out.done)
                ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
        hook_free(h);
        event_base_free(base);
        return out;
}

START_TEST(test_arguments_env_and_log)
{
        _cleanup_free_ char *script = write_script("ok.sh", "echo \"$1 $2 $BERTH_RUN_ID\"; echo oops >&2"),
                            *log = xasprintf("%s/hook.log", tmpdir), *text = NULL;
        char *env[] = { (char *) "BERTH_RUN_ID=r1", NULL };
        HookOptions o = { .env = env, .log_path = log, .timeout_sec = 10 };
        Outcome out = run_hook(script, "pre-start", &o);

        ck_assert_int_eq(out.status, 0);
        ck_assert(!out.timed_out);
        ck_assert_int_eq(read_full_file(log, &text, NULL), 0);
        ck_assert_str_eq(text, "100 pre-start r1\noops\n");
}
END_TEST

START_TEST(test_exit_status)
{
        _cleanup_free_ char *script = write_script("fail.sh", "exit 3");
        HookOptions o = { .timeout_sec = 10 };
        Outcome out = run_hook(script, "post-stop", &o);

        ck_assert_int_eq(out.status, 3);
        ck_assert(!out.timed_out);
}
END_TEST

START_TEST(test_timeout_kills_the_group)
{
        _cleanup_free_ char *pidfile = xasprintf("%s/child.pid", tmpdir),
                            *body = xasprintf("sleep 600 & echo $! >%s; wait", pidfile),
                            *script = write_script("hang.sh", body), *text = NULL;
        HookOptions o = { .timeout_sec = 1 };
        Outcome out = run_hook(script, "pre-stop", &o);
        int child;

        ck_assert(out.timed_out);
        ck_assert_int_eq(out.status, 128 + SIGKILL);
        /* What the hook started went with it. */
        ck_assert_int_eq(read_full_file(pidfile, &text, NULL), 0);
        ck_assert_int_eq(sscanf(text, "%d", &child), 1);
        for (int i = 0; i < 100 && process_alive(child); i++)
                usleep(10000);
        ck_assert(!process_alive(child));
}
END_TEST

START_TEST(test_missing_script)
{
        _cleanup_free_ char *script = xasprintf("%s/none.sh", tmpdir);
        HookOptions o = { .timeout_sec = 10 };
        Outcome out = run_hook(script, "pre-start", &o);

        /* spawn() reports an exec failure as exit status 127, like a shell. */
        ck_assert_int_ne(out.status, 0);
}
END_TEST

START_TEST(test_free_kills_a_running_hook)
{
        _cleanup_free_ char *script = write_script("long.sh", "exec sleep 600");
        struct event_base *base = event_base_new();
        HookOptions o = { .timeout_sec = 600 };
        Outcome out = {};
        Hook *h = NULL;
        pid_t pid;

        ck_assert_int_eq(hook_start(base, script, 100, "pre-start", &o, on_done, &out, &h), 0);
        pid = hook_get_pid(h);
        hook_free(h);
        ck_assert(!process_alive(pid));
        ck_assert(!out.done);
        event_base_free(base);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("hook");
        TCase *tc = tcase_create("hook");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_arguments_env_and_log);
        tcase_add_test(tc, test_exit_status);
        tcase_add_test(tc, test_timeout_kills_the_group);
        tcase_add_test(tc, test_missing_script);
        tcase_add_test(tc, test_free_kills_a_running_hook);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
