/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "proc.h"

/* starttime is field 22 of /proc/<pid>/stat, read here independently. */
static unsigned long long stat_start_time(pid_t pid)
{
        _cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int) pid), *text = NULL;
        unsigned long long t;
        char state;

        ck_assert_int_eq(read_full_file(path, &text, NULL), 0);
        ck_assert_int_eq(
                sscanf(strrchr(text, ')') + 2,
                        "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                        &state, &t),
                2);
        return t;
}

START_TEST(test_start_time_is_the_start_time)
{
        pid_t pid = test_fork_sleeper();
        uint64_t self, child;
        char state;

        ck_assert_int_eq(proc_pid_start_time(getpid(), &self, &state), 0);
        ck_assert_uint_eq(self, stat_start_time(getpid()));
        ck_assert_int_eq(state, 'R');
        ck_assert_int_eq(proc_pid_start_time(pid, &child, NULL), 0);
        ck_assert_uint_eq(child, stat_start_time(pid));
        /* A process started after us cannot have started earlier; nothing runs from tick 0. */
        ck_assert_uint_ge(child, self);
        ck_assert_uint_gt(self, 0);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        test_reap(pid);
}
END_TEST

/* The name is the process's own choice: spaces and parentheses in it must not shift the fields. */
START_TEST(test_stat_parse)
{
        const char *text = "4242 (a) b (c) S 1 4242 4242 0 -1 4194564 120 0 0 0 3 1 0 0 20 0 5 0 987654 "
                           "8192000 500 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
        ProcStat st;

        ck_assert_int_eq(proc_stat_parse(text, &st), 0);
        ck_assert_int_eq(st.state, 'S');
        ck_assert_uint_eq(st.flags, 4194564);
        ck_assert_uint_eq(st.start_time, 987654);
}
END_TEST

static const char *const bad_stats[] = {
        "",
        "4242 (qemu",
        "4242 (qemu) S",
        "4242 (qemu) S 1 4242 4242 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 5 0\n", /* ends before starttime */
        "4242 (qemu) S 1 4242 4242 0 -1 x 120 0 0 0 3 1 0 0 20 0 5 0 987654 0\n", /* flags not a number */
        "4242 (qemu) S 1 4242 4242 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 5 0 9z 0\n",
        "4242 (qemu) S 1 4242 4242 0 -1 99999999999 120 0 0 0 3 1 0 0 20 0 5 0 987654 0\n",
        "4242 (qemu) SS 1 4242 4242 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 5 0 987654 0\n",
};

START_TEST(test_stat_parse_bad)
{
        ProcStat st = { .state = '?' };

        ck_assert_int_eq(proc_stat_parse(bad_stats[_i], &st), -EBADMSG);
        ck_assert_int_eq(st.state, '?');
}
END_TEST

static const struct {
        const char *status;
        bool pending;
} sigkill_cases[] = {
        { "Name:\tqemu\nSigQ:\t0/94\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n", false },
        /* SIGTERM pending is not SIGKILL pending. */
        { "Name:\tqemu\nSigPnd:\t0000000000004000\nShdPnd:\t0000000000004000\n", false },
        { "Name:\tqemu\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000100\n", true },
        { "Name:\tqemu\nSigPnd:\t0000000000000100\nShdPnd:\t0000000000000000\n", true },
        { "Name:\tqemu\nShdPnd:\t0000000000004100\n", true },
        /* A name that looks like the field is not the field. */
        { "Name:\tShdPnd: 100\nShdPnd:\t0000000000000000\n", false },
        { "", false },
        { "ShdPnd:\tzz\n", false },
};

START_TEST(test_sigkill_pending)
{
        ck_assert_int_eq(proc_status_sigkill_pending(sigkill_cases[_i].status), sigkill_cases[_i].pending);
}
END_TEST

START_TEST(test_exiting)
{
        pid_t pid = test_fork_sleeper();

        ck_assert_int_eq(proc_pid_exiting(getpid()), 0);
        ck_assert_int_eq(proc_pid_exiting(pid), 0);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        /* Wait until the kernel has made it a zombie, without reaping it. */
        ck_assert_int_eq(waitid(P_PID, (id_t) pid, &(siginfo_t){}, WEXITED | WNOWAIT), 0);
        ck_assert_int_eq(proc_pid_exiting(pid), 1);
        test_reap(pid);
        ck_assert_int_eq(proc_pid_exiting(pid), -ESRCH);
        ck_assert_int_eq(proc_pid_exiting(0), -EINVAL);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("proc");
        TCase *tc = tcase_create("proc");

        tcase_add_test(tc, test_start_time_is_the_start_time);
        tcase_add_test(tc, test_stat_parse);
        tcase_add_loop_test(tc, test_stat_parse_bad, 0, ELEMENTSOF(bad_stats));
        tcase_add_loop_test(tc, test_sigkill_pending, 0, ELEMENTSOF(sigkill_cases));
        tcase_add_test(tc, test_exiting);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
