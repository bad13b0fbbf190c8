/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <limits.h>

#include "alloc.h"
#include "check-main.h"
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
        return run_suite(s);
}
