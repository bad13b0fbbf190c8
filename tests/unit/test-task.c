/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <limits.h>
#include <sys/socket.h>

#include "alloc.h"
#include "bus.h"
#include "check-main.h"
#include "errors.h"
#include "etcd-test.h"
#include "fileio.h"
#include "paths.h"
#include "task.h"

#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

START_TEST(test_upid_format_parse_round_trip)
{
        Upid u = {
                .node = (char *) "pve-a.example.com",
                .daemon = (char *) "guestd",
                .seq = 0xDEADBEEF,
                .starttime = 0x6B0409CD,
                .type = (char *) "qmstart",
                .id = (char *) "",
                .user = (char *) "admin@pve!token1",
        };
        _cleanup_(upid_done) Upid parsed = {};
        _cleanup_free_ char *s = upid_format(&u), *again = NULL;

        ck_assert_str_eq(s, "UPID:pve-a.example.com:guestd:DEADBEEF:6B0409CD:qmstart::admin@pve!token1:");
        ck_assert_int_eq(upid_parse(s, &parsed), 0);
        ck_assert_str_eq(parsed.node, u.node);
        ck_assert_str_eq(parsed.daemon, u.daemon);
        ck_assert_uint_eq(parsed.seq, u.seq);
        ck_assert_uint_eq(parsed.starttime, u.starttime);
        ck_assert_str_eq(parsed.type, u.type);
        ck_assert_str_eq(parsed.id, u.id);
        ck_assert_str_eq(parsed.user, u.user);
        again = upid_format(&parsed);
        ck_assert_str_eq(again, s);
}
END_TEST

/* Zero-padded hex formats to the same fixed width it was parsed from, so the string survives unchanged. */
static const char *const valid_upids[] = {
        "UPID:node1:guestd:00000001:6B0409CD:qmstart:100:root@pam:",
        "UPID:n:tunneld:FFFFFFFF:FFFFFFFF:migrate:100-200:root@pam:",
        "UPID:n:bulkd:00000000:00000000:startall::u:",
        "UPID:" X64 X64 ":d:0000ABCD:0000EF01:t:i:u:",
};

START_TEST(test_upid_parse_formats_back)
{
        _cleanup_(upid_done) Upid u = {};
        _cleanup_free_ char *s = NULL;

        ck_assert_int_eq(upid_parse(valid_upids[_i], &u), 0);
        s = upid_format(&u);
        ck_assert_str_eq(s, valid_upids[_i]);
}
END_TEST

static const char *const invalid_upids[] = {
        "",
        ":",
        "UPID:",
        "UPID:node1:guestd:00000001:6B0409CD:qmstart:100:",
        "UPID:node1:guestd:00000001:6B0409CD:qmstart:100:root@pam:extra:",
        "UPID:node1:guestd:00000001:6B0409CD:qmstart:100:root@pam",
        "upid:node1:guestd:00000001:6B0409CD:qmstart:100:root@pam:",
        "UPID:node1:guestd:0000000a:6B0409CD:qmstart:100:root@pam:",
        "UPID:node1:guestd:00000001:6b0409cd:qmstart:100:root@pam:",
        "UPID:node1:guestd:0000001:6B0409CD:qmstart:100:root@pam:",
        "UPID:node1:guestd:000000001:6B0409CD:qmstart:100:root@pam:",
        "UPID:node1:guestd:00000001:6B0409CG:qmstart:100:root@pam:",
        "UPID:node1:guestd:0x000001:6B0409CD:qmstart:100:root@pam:",
        "UPID:node1:guestd:00000001:6B0409CD:qmstart:../100:root@pam:",
        "UPID:node/1:guestd:00000001:6B0409CD:qmstart:100:root@pam:",
        "UPID::guestd:00000001:6B0409CD:qmstart:100:root@pam:",
        "UPID:node1:guestd:00000001:6B0409CD::100:root@pam:",
        "UPID:node1:guestd:00000001:6B0409CD:qmstart:100::",
        "UPID:node1:guestd:00000001:6B0409CD:qmstart:100:root pam:",
        "UPID:node1:guestd:00000001:6B0409CD:qm\tstart:100:root@pam:",
        "UPID:node1:guest\xc3\xa9:00000001:6B0409CD:qmstart:100:root@pam:",
        /* One field over 128 bytes, the whole well under NAME_MAX. */
        "UPID:" X64 X64 "x:guestd:00000001:6B0409CD:qmstart:100:root@pam:",
        /* Every field within bounds, the whole too long to be a file name. */
        "UPID:" X64 X64 ":" X64 X64 ":00000001:6B0409CD:qmstart:100:root@pam:",
};

START_TEST(test_upid_parse_rejects)
{
        char sentinel;
        Upid u = { .node = &sentinel };

        ck_assert_int_eq(upid_parse(invalid_upids[_i], &u), -EINVAL);
        /* Nothing written on failure. */
        ck_assert_ptr_eq(u.node, &sentinel);
        ck_assert_ptr_null(u.daemon);
}
END_TEST

/* The limit is the file name's: NAME_MAX bytes exactly is fine, one more is not. */
START_TEST(test_upid_parse_name_max)
{
        static const char prefix[] = "UPID:n:guestd:00000001:6B0409CD:qmstart:";
        size_t user_len = NAME_MAX - (sizeof prefix - 1) - 100 - 2 + (size_t) _i;
        _cleanup_free_ char *id = xmalloc(101), *user = xmalloc(user_len + 1), *s = NULL;
        _cleanup_(upid_done) Upid u = {};

        memset(id, 'i', 100);
        id[100] = 0;
        memset(user, 'u', user_len);
        user[user_len] = 0;
        s = xasprintf("%s%s:%s:", prefix, id, user);
        ck_assert_uint_eq(strlen(s), NAME_MAX + (size_t) _i);
        ck_assert_int_eq(upid_parse(s, &u), _i == 0 ? 0 : -EINVAL);
}
END_TEST

static const char *const state_names[] = {
        [TASK_RUNNING] = "running",
        [TASK_OK] = "ok",
        [TASK_WARNINGS] = "warnings",
        [TASK_ERROR] = "error",
        [TASK_CANCELLED] = "cancelled",
};

START_TEST(test_task_state_strings)
{
        ck_assert_str_eq(task_state_to_string((TaskState) _i), state_names[_i]);
        ck_assert_int_eq(task_state_from_string(state_names[_i]), _i);
}
END_TEST

START_TEST(test_task_state_invalid)
{
        ck_assert_ptr_null(task_state_to_string(_TASK_STATE_MAX));
        ck_assert_ptr_null(task_state_to_string(_TASK_STATE_INVALID));
        ck_assert_int_eq(task_state_from_string(NULL), _TASK_STATE_INVALID);
        ck_assert_int_eq(task_state_from_string(""), _TASK_STATE_INVALID);
        ck_assert_int_eq(task_state_from_string("OK"), _TASK_STATE_INVALID);
        ck_assert_int_eq(task_state_from_string("ok "), _TASK_STATE_INVALID);
        ck_assert_int_eq(task_state_from_string("cancel"), _TASK_STATE_INVALID);
}
END_TEST

/* Tasks of a manager on a bus that is never connected: signals go nowhere, the log files are real. */
static char *tmpdir;
static sd_bus *bus;
static TaskManager *manager;

static void manager_setup(void)
{
        tmpdir = test_tmpdir_new();
        ck_assert_int_eq(paths_set_root(tmpdir), 0);
        ck_assert_int_ge(sd_bus_new(&bus), 0);
        ck_assert_int_eq(task_manager_new(bus, "node1", "guestd", "/org/berth/guest1", &manager), 0);
}

static void manager_teardown(void)
{
        manager = task_manager_free(manager);
        bus = sd_bus_unref(bus);
        ck_assert_int_eq(paths_set_root("/"), 0);
        test_tmpdir_free(tmpdir);
}

static Task *new_task(void)
{
        Task *t;

        ck_assert_int_eq(task_new(manager, "qmstart", "100", "root@pam", &t), 0);
        return t;
}

/* What the finish handlers saw, in call order: their number and the task's state then. */
typedef struct Calls {
        int who[8];
        TaskState state[8];
        size_t n;
        Task *remove; /* handler 1 removes handler 2 from this task */
} Calls;

static void record(Calls *c, int who, Task *t)
{
        ck_assert_uint_lt(c->n, ELEMENTSOF(c->who));
        c->who[c->n] = who;
        c->state[c->n++] = task_get_state(t);
}

static void on_finish_2(Task *t, void *userdata)
{
        record(userdata, 2, t);
}

static void on_finish_1(Task *t, void *userdata)
{
        Calls *c = userdata;

        record(c, 1, t);
        if (c->remove)
                task_remove_finish_handler(c->remove, on_finish_2, c);
}

START_TEST(test_finish_handlers_in_order_once)
{
        Task *t = new_task();
        Calls c = {};

        task_add_finish_handler(t, on_finish_1, &c);
        task_add_finish_handler(t, on_finish_2, &c);
        task_log(t, "working");
        ck_assert_uint_eq(c.n, 0);
        task_finish(t, TASK_WARNINGS, "half done");
        ck_assert_uint_eq(c.n, 2);
        ck_assert_int_eq(c.who[0], 1);
        ck_assert_int_eq(c.who[1], 2);
        /* The handlers see the task ended. */
        ck_assert_int_eq(c.state[0], TASK_WARNINGS);
        ck_assert_int_eq(c.state[1], TASK_WARNINGS);
        /* A second end does not count, and does not call anyone again. */
        task_finish(t, TASK_OK, "again");
        ck_assert_uint_eq(c.n, 2);
        ck_assert_int_eq(task_get_state(t), TASK_WARNINGS);
}
END_TEST

START_TEST(test_finish_handler_removed)
{
        Task *t = new_task(), *other = new_task();
        Calls c = {};

        task_add_finish_handler(t, on_finish_1, &c);
        task_add_finish_handler(t, on_finish_2, &c);
        task_remove_finish_handler(t, on_finish_1, &c);
        /* Removing what is not there changes nothing. */
        task_remove_finish_handler(other, on_finish_2, &c);
        task_remove_finish_handler(t, on_finish_1, NULL);
        task_finish(t, TASK_ERROR, "failed");
        ck_assert_uint_eq(c.n, 1);
        ck_assert_int_eq(c.who[0], 2);
        ck_assert_int_eq(c.state[0], TASK_ERROR);
        task_finish(other, TASK_OK, "done");
        ck_assert_uint_eq(c.n, 1);
}
END_TEST

START_TEST(test_finish_handler_removes_a_later_one)
{
        Task *t = new_task();
        Calls c = { .remove = t };

        task_add_finish_handler(t, on_finish_1, &c);
        task_add_finish_handler(t, on_finish_2, &c);
        task_finish(t, TASK_OK, "done");
        ck_assert_uint_eq(c.n, 1);
        ck_assert_int_eq(c.who[0], 1);
}
END_TEST

START_TEST(test_finish_handler_on_ended_task)
{
        Task *t = new_task();
        Calls c = {};

        task_finish(t, TASK_OK, "done");
        task_add_finish_handler(t, on_finish_2, &c);
        ck_assert_uint_eq(c.n, 1);
        ck_assert_int_eq(c.state[0], TASK_OK);
}
END_TEST

static void on_cancel(Task *t, void *userdata)
{
        (*(int *) userdata)++;
        task_finish(t, TASK_CANCELLED, "cancelled");
}

START_TEST(test_cancel)
{
        Task *t = new_task(), *plain = new_task();
        Calls c = {};
        int cancels = 0;

        ck_assert_int_eq(task_cancel(plain), -EOPNOTSUPP);
        ck_assert_int_eq(task_get_state(plain), TASK_RUNNING);

        task_set_cancel_handler(t, on_cancel, &cancels);
        task_add_finish_handler(t, on_finish_2, &c);
        ck_assert_int_eq(task_cancel(t), 0);
        ck_assert_int_eq(cancels, 1);
        ck_assert_uint_eq(c.n, 1);
        ck_assert_int_eq(c.state[0], TASK_CANCELLED);
        ck_assert_int_eq(task_cancel(t), -ESRCH);
        ck_assert_int_eq(cancels, 1);
}
END_TEST

/* Index keys: the UPID as it is where it can be, escaped where it cannot, hashed where even that fails. */
int main(void)
{
        Suite *s = suite_create("task");
        TCase *tc = tcase_create("task");

        tcase_add_test(tc, test_upid_format_parse_round_trip);
        tcase_add_loop_test(tc, test_upid_parse_formats_back, 0, ELEMENTSOF(valid_upids));
        tcase_add_loop_test(tc, test_upid_parse_rejects, 0, ELEMENTSOF(invalid_upids));
        tcase_add_loop_test(tc, test_upid_parse_name_max, 0, 2);
        tcase_add_loop_test(tc, test_task_state_strings, 0, _TASK_STATE_MAX);
        tcase_add_test(tc, test_task_state_invalid);
        suite_add_tcase(s, tc);

        tc = tcase_create("finish");
        tcase_add_checked_fixture(tc, manager_setup, manager_teardown);
        tcase_add_test(tc, test_finish_handlers_in_order_once);
        tcase_add_test(tc, test_finish_handler_removed);
        tcase_add_test(tc, test_finish_handler_removes_a_later_one);
        tcase_add_test(tc, test_finish_handler_on_ended_task);
        tcase_add_test(tc, test_cancel);
        suite_add_tcase(s, tc);

        return run_suite(s);
}
