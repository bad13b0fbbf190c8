/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "check-main.h"
#include "cluster-status.h"

START_TEST(test_node_round_trip)
{
        NodeStatus s = { .version = (char *) "0.1",
                .cpus = 8,
                .memory = 1ULL << 40,
                .load = { 0.5, 1.25, 12 },
                .uptime = 86400,
                .gateway_url = (char *) "https://n1:8006",
                .fingerprint = (char *) "AB:CD" };
        _cleanup_free_ char *text = node_status_format(&s), *again = NULL;
        NodeStatus p = {};

        ck_assert_int_eq(node_status_parse(text, &p), 0);
        ck_assert_str_eq(p.version, "0.1");
        ck_assert_uint_eq(p.cpus, 8);
        ck_assert_uint_eq(p.memory, 1ULL << 40);
        ck_assert_double_eq(p.load[1], 1.25);
        ck_assert_uint_eq(p.uptime, 86400);
        ck_assert_str_eq(p.gateway_url, "https://n1:8006");
        ck_assert_str_eq(p.fingerprint, "AB:CD");
        again = node_status_format(&p);
        ck_assert_str_eq(again, text);
        node_status_done(&p);

        /* Members a later version adds are ignored; missing ones are zero. */
        ck_assert_int_eq(node_status_parse("{\"cpus\":2,\"new\":[1,2]}", &p), 0);
        ck_assert_uint_eq(p.cpus, 2);
        ck_assert_ptr_null(p.version);
        node_status_done(&p);
}
END_TEST

static const char *const bad_nodes[] = {
        "",
        "[]",
        "{\"cpus\":\"8\"}",
        "{\"cpus\":-1}",
        "{\"memory\":1.5}",
        "{\"load\":[1,2]}",
        "{\"load\":[1,2,-3]}",
        "{\"load\":[1,2,\"x\"]}",
        "{\"version\":1}",
        "{\"cpus\":1} trailing",
        "{\"cpus\":1",
};

START_TEST(test_node_rejects)
{
        NodeStatus p = { .cpus = 7 };

        ck_assert_int_eq(node_status_parse(bad_nodes[_i], &p), -EBADMSG);
        ck_assert_uint_eq(p.cpus, 7);
}
END_TEST

START_TEST(test_guest_status)
{
        GuestStatus g = {};

        ck_assert_int_eq(
                guest_status_parse(
                        "{\"state\":\"running\",\"pid\":42,\"run-id\":\"r1\",\"start-time\":1700000000}", &g),
                0);
        ck_assert_str_eq(g.state, "running");
        ck_assert_uint_eq(g.pid, 42);
        ck_assert_str_eq(g.run_id, "r1");
        ck_assert_uint_eq(g.start_time, 1700000000);
        guest_status_done(&g);
        /* The state is the one member a status must have. */
        ck_assert_int_eq(guest_status_parse("{\"pid\":42}", &g), -EBADMSG);
        ck_assert_int_eq(guest_status_parse("{\"state\":\"running\",\"pid\":-1}", &g), -EBADMSG);
        ck_assert_int_eq(guest_status_parse("{\"state\":null}", &g), -EBADMSG);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("cluster-status");
        TCase *tc = tcase_create("cluster-status");

        tcase_add_test(tc, test_node_round_trip);
        tcase_add_loop_test(tc, test_node_rejects, 0, ELEMENTSOF(bad_nodes));
        tcase_add_test(tc, test_guest_status);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
