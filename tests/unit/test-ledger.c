/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "check-main.h"
#include "fileio.h"
#include "ledger.h"
#include "paths.h"
#include "proc.h"

static char *tmpdir;

static void setup(void)
{
        tmpdir = test_tmpdir_new();
        ck_assert_int_eq(paths_set_root(tmpdir), 0);
}

static void teardown(void)
{
        ck_assert_int_eq(paths_set_root("/"), 0);
        test_tmpdir_free(tmpdir);
}

static void write_ledger(uint32_t vmid, const char *text)
{
        _cleanup_free_ char *dir = root_path("run/berth/cleanup"), *path = xasprintf("%s/%u.run", dir, vmid);

        ck_assert_int_eq(mkdir_p(dir, 0755), 0);
        ck_assert_int_eq(write_string_file_atomic(path, text, 0600), 0);
}

START_TEST(test_round_trip)
{
        _cleanup_(run_freep) Run *r = NULL, *loaded = NULL, *again = NULL;
        _cleanup_free_ char *path = root_path("run/berth/cleanup/101.run"), *file = NULL, *a = NULL, *b = NULL;
        RunStopIntent intent = { .keep_active = true, .reason = "host shutdown: größte Eile", .reboot = true };
        pid_t pid = test_fork_sleeper();

        ck_assert_int_eq(run_new(101, "UPID:n1:guestd:0000002A:65000000:qmstart:101:root@pam:", pid, &r), 0);
        ck_assert_int_eq(r->state, RUN_RUNNING);
        ck_assert_int_eq(run_set_stop_intent(r, &intent), 0);
        ck_assert_int_eq(run_transition(r, RUN_STOPPING), 0);
        ck_assert_int_eq(ledger_save(r), 0);

        ck_assert_int_eq(read_full_file(path, &file, NULL), 0);
        a = run_format(r);
        ck_assert_str_eq(file, a);
        ck_assert_int_eq(ledger_load(101, &loaded), 0);
        ck_assert_uint_eq(loaded->vmid, 101);
        ck_assert_str_eq(loaded->run_id, r->run_id);
        ck_assert_int_eq(loaded->pid, pid);
        ck_assert_uint_eq(loaded->pid_start_time, r->pid_start_time);
        ck_assert_int_eq(loaded->state, RUN_STOPPING);
        ck_assert(loaded->keep_active);
        ck_assert_str_eq(loaded->reason, intent.reason);
        ck_assert(!loaded->skip_post_stop);
        ck_assert(loaded->reboot);
        ck_assert_ptr_null(loaded->result);

        ck_assert_int_eq(run_claim_cleanup(loaded), 1);
        ck_assert_int_eq(run_finish(loaded, "ok"), 0);
        ck_assert_int_eq(ledger_save(loaded), 0);
        ck_assert_int_eq(ledger_load(101, &again), 0);
        ck_assert_int_eq(again->state, RUN_CLEAN);
        ck_assert_str_eq(again->result, "ok");
        b = run_format(again);
        free(a);
        a = run_format(loaded);
        ck_assert_str_eq(a, b);

        kill(pid, SIGKILL);
        test_reap(pid);
}
END_TEST

START_TEST(test_load_missing_and_invalid_arguments)
{
        Run *r = NULL;

        ck_assert_int_eq(ledger_load(100, &r), -ENOENT);
        ck_assert_int_eq(ledger_load(99, &r), -EINVAL);
        ck_assert_int_eq(run_new(100, "has space", getpid(), &r), -EINVAL);
        ck_assert_int_eq(run_new(100, "", getpid(), &r), -EINVAL);
        ck_assert_int_eq(run_new(100, "r1", 0, &r), -EINVAL);
        ck_assert_ptr_null(r);
}
END_TEST

#define VALID \
        "run_id=r1\npid=1234\npid_start_time=5678\nstate=running\nkeep_active=0\nskip_post_stop=0\nreboot=" \
        "0\n"

static const char *const corrupt_cases[] = {
        VALID "colour=blue\n", /* unknown key */
        "run_id=r1\npid=1234\npid_start_time=5678\nstate=dead\nkeep_active=0\nskip_post_stop=0\nreboot=0\n",
        "pid=1234\npid_start_time=5678\nstate=running\nkeep_active=0\nskip_post_stop=0\nreboot=0\n",
        "run_id=r1\npid=0\npid_start_time=5678\nstate=running\nkeep_active=0\nskip_post_stop=0\nreboot=0\n",
        "run_id=r1\npid=01234\npid_start_time=5678\nstate=running\nkeep_active=0\nskip_post_stop=0\nreboot="
        "0\n",
        "run_id=r1\npid=2147483648\npid_start_time=5678\nstate=running\nkeep_active=0\nskip_post_stop="
        "0\nreboot=0\n",
        "run_id=r1\npid=1234\npid_start_time=18446744073709551616\nstate=running\nkeep_active=0\nskip_post_"
        "stop=0\nreboot=0\n",
        "run_id=r1\npid=1234\npid_start_time=5678\nstate=running\nkeep_active=yes\nskip_post_stop=0\nreboot="
        "0\n",
        VALID "run_id=r2\n", /* duplicate key */
        VALID "result=ok\n", /* a result before the run is clean */
        VALID "reason=\n",
        VALID "reason=tab\there\n",
        VALID "\n",
        VALID "pid\n",
        "run_id=r1\npid=1234\npid_start_time=5678\nstate=running\n", /* intent keys missing */
        "",
};

START_TEST(test_corrupt)
{
        Run *r = NULL;

        write_ledger(100, corrupt_cases[_i]);
        ck_assert_int_eq(ledger_load(100, &r), -EBADMSG);
        ck_assert_ptr_null(r);
}
END_TEST

START_TEST(test_valid_variants)
{
        _cleanup_(run_freep) Run *a = NULL, *b = NULL;
        _cleanup_free_ char *f = NULL;

        /* No final newline and another key order still parse; formatting gives the canonical order. */
        write_ledger(100,
                "reboot=1\nstate=clean\nresult=hook failed: exit 3\nrun_id=r1\npid=1\npid_start_time=0\n"
                "keep_active=0\nskip_post_stop=1");
        ck_assert_int_eq(ledger_load(100, &a), 0);
        f = run_format(a);
        ck_assert_str_eq(f,
                "run_id=r1\npid=1\npid_start_time=0\nstate=clean\nkeep_active=0\nskip_post_stop=1\nreboot="
                "1\n"
                "result=hook failed: exit 3\n");
        ck_assert_int_eq(run_parse(100, f, &b), 0);
        ck_assert_int_eq(b->state, RUN_CLEAN);
        ck_assert(b->skip_post_stop);
}
END_TEST

static const struct {
        RunState from, to;
        int result;
} transitions[] = {
        { RUN_RUNNING, RUN_RUNNING, -EINVAL },
        { RUN_RUNNING, RUN_STOPPING, 0 },
        { RUN_RUNNING, RUN_CLEANING, 0 },
        { RUN_RUNNING, RUN_CLEAN, -EINVAL },
        { RUN_STOPPING, RUN_RUNNING, -EINVAL },
        { RUN_STOPPING, RUN_STOPPING, -EINVAL },
        { RUN_STOPPING, RUN_CLEANING, 0 },
        { RUN_STOPPING, RUN_CLEAN, -EINVAL },
        { RUN_CLEANING, RUN_RUNNING, -EINVAL },
        { RUN_CLEANING, RUN_STOPPING, -EINVAL },
        { RUN_CLEANING, RUN_CLEANING, -EINVAL },
        { RUN_CLEANING, RUN_CLEAN, 0 },
        { RUN_CLEAN, RUN_RUNNING, -EINVAL },
        { RUN_CLEAN, RUN_STOPPING, -EINVAL },
        { RUN_CLEAN, RUN_CLEANING, -EINVAL },
        { RUN_CLEAN, RUN_CLEAN, -EINVAL },
        { RUN_CLEAN, _RUN_STATE_MAX, -EINVAL },
};

START_TEST(test_transition)
{
        _cleanup_(run_freep) Run *r = NULL;

        ck_assert_int_eq(run_new(100, "r1", getpid(), &r), 0);
        r->state = transitions[_i].from;
        ck_assert_int_eq(run_transition(r, transitions[_i].to), transitions[_i].result);
        ck_assert_int_eq(r->state, transitions[_i].result == 0 ? transitions[_i].to : transitions[_i].from);
}
END_TEST

START_TEST(test_claim_exactly_once)
{
        _cleanup_(run_freep) Run *r = NULL, *a = NULL, *later = NULL, *persisted = NULL;

        ck_assert_int_eq(run_new(100, "r1", getpid(), &r), 0);
        ck_assert_int_eq(ledger_save(r), 0);
        ck_assert_int_eq(ledger_load(100, &a), 0);

        ck_assert_int_eq(run_claim_cleanup(a), 1);
        ck_assert_int_eq(run_claim_cleanup(a), 0);
        ck_assert_int_eq(ledger_load(100, &persisted), 0);
        ck_assert_int_eq(persisted->state, RUN_CLEANING);

        /* What a restarted daemon reads: the cleanup is already claimed. */
        ck_assert_int_eq(ledger_load(100, &later), 0);
        ck_assert_int_eq(run_claim_cleanup(later), 0);
        ck_assert_int_eq(run_finish(later, NULL), 0);
        ck_assert_int_eq(run_claim_cleanup(later), 0);
        ck_assert_int_eq(later->state, RUN_CLEAN);
}
END_TEST

START_TEST(test_claim_not_persisted_is_not_claimed)
{
        _cleanup_(run_freep) Run *r = NULL;
        _cleanup_free_ char *berth = root_path("run/berth"), *blocker = root_path("run/berth/cleanup");

        /* A file where the ledger directory belongs makes the save fail. */
        ck_assert_int_eq(mkdir_p(berth, 0755), 0);
        ck_assert_int_eq(write_string_file_atomic(blocker, "", 0600), 0);
        ck_assert_int_eq(run_new(100, "r1", getpid(), &r), 0);
        ck_assert_int_lt(run_claim_cleanup(r), 0);
        ck_assert_int_eq(r->state, RUN_RUNNING);
}
END_TEST

START_TEST(test_stop_intent)
{
        _cleanup_(run_freep) Run *r = NULL;
        RunStopIntent first = { .keep_active = true, .reason = "migrate", .skip_post_stop = true };
        RunStopIntent bad = { .reason = "two\nlines" }, none = {};

        ck_assert_int_eq(run_new(100, "r1", getpid(), &r), 0);
        ck_assert_int_eq(run_set_stop_intent(r, &first), 0);
        ck_assert_int_eq(run_set_stop_intent(r, &bad), -EINVAL);
        ck_assert_str_eq(r->reason, "migrate");
        ck_assert_int_eq(run_transition(r, RUN_STOPPING), 0);
        ck_assert_int_eq(run_set_stop_intent(r, &none), 0);
        ck_assert_ptr_null(r->reason);
        ck_assert(!r->keep_active && !r->skip_post_stop);
        ck_assert_int_eq(run_claim_cleanup(r), 1);
        ck_assert_int_eq(run_set_stop_intent(r, &first), -EINVAL);
        ck_assert_ptr_null(r->reason);
}
END_TEST

START_TEST(test_process_alive)
{
        _cleanup_(run_freep) Run *r = NULL, *gone = NULL;
        pid_t pid = test_fork_sleeper();
        uint64_t t;

        ck_assert_int_eq(run_new(100, "r1", pid, &r), 0);
        ck_assert_int_eq(proc_pid_start_time(pid, &t, NULL), 0);
        ck_assert_uint_eq(r->pid_start_time, t);
        ck_assert_int_eq(run_process_alive(r), 1);

        /* The same pid with another start time is another process. */
        r->pid_start_time++;
        ck_assert_int_eq(run_process_alive(r), 0);
        r->pid_start_time--;

        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        /* Wait until the kernel has made it a zombie, without reaping it. */
        ck_assert_int_eq(waitid(P_PID, (id_t) pid, &(siginfo_t){}, WEXITED | WNOWAIT), 0);
        ck_assert_int_eq(run_process_alive(r), 0);
        test_reap(pid);
        ck_assert_int_eq(run_process_alive(r), 0);
        ck_assert_int_eq(run_new(100, "r2", pid, &gone), -ESRCH);
}
END_TEST

START_TEST(test_list)
{
        _cleanup_free_ uint32_t *vmids = NULL;
        _cleanup_free_ char *dir = root_path("run/berth/cleanup");
        size_t n = 1;

        ck_assert_int_eq(ledger_list(&vmids, &n), 0);
        ck_assert_uint_eq(n, 0);

        for (uint32_t vmid = 100; vmid < 10000; vmid *= 7) {
                _cleanup_(run_freep) Run *r = NULL;
                ck_assert_int_eq(run_new(vmid, "r1", getpid(), &r), 0);
                ck_assert_int_eq(ledger_save(r), 0);
        }
        const char *strays[] = { "100.run.tmp.Ab12Cd", "4900.run.tmp.x", "notes.txt", "99.run", "0100.run" };
        for (size_t i = 0; i < ELEMENTSOF(strays); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, strays[i]);
                ck_assert_int_eq(write_string_file_atomic(p, "x", 0600), 0);
        }

        ck_assert_int_eq(ledger_list(&vmids, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_uint_eq(vmids[0], 100);
        ck_assert_uint_eq(vmids[1], 700);
        ck_assert_uint_eq(vmids[2], 4900);

        ck_assert_int_eq(ledger_remove(700), 0);
        ck_assert_int_eq(ledger_remove(700), 0);
        free(vmids);
        ck_assert_int_eq(ledger_list(&vmids, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(vmids[0], 100);
        ck_assert_uint_eq(vmids[1], 4900);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("ledger");
        TCase *tc = tcase_create("ledger");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_load_missing_and_invalid_arguments);
        tcase_add_loop_test(tc, test_corrupt, 0, ELEMENTSOF(corrupt_cases));
        tcase_add_test(tc, test_valid_variants);
        tcase_add_loop_test(tc, test_transition, 0, ELEMENTSOF(transitions));
        tcase_add_test(tc, test_claim_exactly_once);
        tcase_add_test(tc, test_claim_not_persisted_is_not_claimed);
        tcase_add_test(tc, test_stop_intent);
        tcase_add_test(tc, test_process_alive);
        tcase_add_test(tc, test_list);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
