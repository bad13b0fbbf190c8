/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdio.h>
#include <sys/stat.h>

#include "alloc.h"
#include "berth-conf.h"
#include "check-main.h"
#include "fileio.h"
#include "paths.h"

static const struct {
        const char *text;
        ShutdownStep steps[_SHUTDOWN_STEP_MAX];
        size_t n_steps;
} policies[] = {
        { "save", { SHUTDOWN_STEP_SAVE }, 1 },
        { "poweroff", { SHUTDOWN_STEP_POWEROFF }, 1 },
        { "shutdown,poweroff", { SHUTDOWN_STEP_SHUTDOWN, SHUTDOWN_STEP_POWEROFF }, 2 },
        { "poweroff,save", { SHUTDOWN_STEP_POWEROFF, SHUTDOWN_STEP_SAVE }, 2 },
        { "save,shutdown,poweroff", { SHUTDOWN_STEP_SAVE, SHUTDOWN_STEP_SHUTDOWN, SHUTDOWN_STEP_POWEROFF }, 3 },
};

START_TEST(test_policy_parse)
{
        ShutdownPolicy p;

        ck_assert_int_eq(shutdown_policy_parse(policies[_i].text, &p), 0);
        ck_assert_uint_eq(p.n_steps, policies[_i].n_steps);
        for (size_t i = 0; i < p.n_steps; i++) {
                ck_assert_int_eq(p.steps[i], policies[_i].steps[i]);
                ck_assert(shutdown_policy_has(&p, p.steps[i]));
        }
        ck_assert_int_eq(shutdown_policy_parse(policies[_i].text, NULL), 0);
}
END_TEST

static const char *const bad_policies[] = {
        "",
        ",",
        "save,",
        ",save",
        "save,save",
        "shutdown,poweroff,shutdown",
        "Save",
        "save ,shutdown",
        "suspend",
        "save,shutdown,poweroff,save",
};

START_TEST(test_policy_parse_rejects)
{
        ShutdownPolicy p = { .n_steps = 99 };

        ck_assert_int_eq(shutdown_policy_parse(bad_policies[_i], &p), -EINVAL);
        ck_assert_uint_eq(p.n_steps, 99);
}
END_TEST

START_TEST(test_defaults)
{
        BerthConf c;

        berth_conf_defaults(&c);
        ck_assert_uint_eq(c.shutdown_policy.n_steps, 2);
        ck_assert_int_eq(c.shutdown_policy.steps[0], SHUTDOWN_STEP_SHUTDOWN);
        ck_assert_int_eq(c.shutdown_policy.steps[1], SHUTDOWN_STEP_POWEROFF);
        ck_assert_uint_eq(c.shutdown_timeout, BERTH_CONF_DEFAULT_SHUTDOWN_TIMEOUT);
        ck_assert_uint_eq(c.shutdown_parallel, 0);
        /* Unset, the limit is the machine's CPU count: at least one. */
        ck_assert_uint_ge(berth_conf_parallel(&c), 1);
        c.shutdown_parallel = 7;
        ck_assert_uint_eq(berth_conf_parallel(&c), 7);
        ck_assert_str_eq(c.cluster_name, "berth");
        ck_assert_uint_eq(c.node_lease_ttl, 10);
}
END_TEST

START_TEST(test_parse)
{
        BerthConf c;

        ck_assert_int_eq(berth_conf_parse("# host settings\n"
                                          "\n"
                                          "shutdown-policy: save,poweroff\n"
                                          "  shutdown-timeout :\t60 \n"
                                          "# more\n"
                                          "shutdown-parallel: 3",
                                 &c, NULL),
                0);
        ck_assert_uint_eq(c.shutdown_policy.n_steps, 2);
        ck_assert_int_eq(c.shutdown_policy.steps[0], SHUTDOWN_STEP_SAVE);
        ck_assert_int_eq(c.shutdown_policy.steps[1], SHUTDOWN_STEP_POWEROFF);
        ck_assert_uint_eq(c.shutdown_timeout, 60);
        ck_assert_uint_eq(c.shutdown_parallel, 3);

        /* What the file leaves out keeps its default. */
        ck_assert_int_eq(berth_conf_parse("shutdown-timeout: 86400\n", &c, NULL), 0);
        ck_assert_uint_eq(c.shutdown_timeout, 86400);
        ck_assert_uint_eq(c.shutdown_policy.n_steps, 2);
        ck_assert_int_eq(c.shutdown_policy.steps[0], SHUTDOWN_STEP_SHUTDOWN);
        ck_assert_uint_eq(c.shutdown_parallel, 0);

        ck_assert_int_eq(berth_conf_parse("", &c, NULL), 0);
        ck_assert_uint_eq(c.shutdown_timeout, BERTH_CONF_DEFAULT_SHUTDOWN_TIMEOUT);

        ck_assert_int_eq(berth_conf_parse("cluster-name: lab-2\nnode-lease-ttl: 600\n", &c, NULL), 0);
        ck_assert_str_eq(c.cluster_name, "lab-2");
        ck_assert_uint_eq(c.node_lease_ttl, 600);
        ck_assert_int_eq(berth_conf_parse("cluster-name: Aabcdefghijklmnopqrstuvwxyz01234\n", &c, NULL), 0);
        ck_assert_str_eq(c.cluster_name, "Aabcdefghijklmnopqrstuvwxyz01234");
}
END_TEST

static const struct {
        const char *text;
        const char *error;
} bad_confs[] = {
        { "shutdown-policy: suspend\n", "line 1: shutdown-policy must be" },
        { "\n\nshutdown-policy:\n", "line 3: shutdown-policy must be" },
        { "shutdown-timeout: 0\n", "line 1: shutdown-timeout must be an integer 1-86400" },
        { "shutdown-timeout: 86401\n", "line 1: shutdown-timeout must be an integer 1-86400" },
        { "shutdown-timeout: 060\n", "line 1: shutdown-timeout must be" },
        { "shutdown-timeout: -1\n", "line 1: shutdown-timeout must be" },
        { "shutdown-timeout: 99999999999999999999\n", "line 1: shutdown-timeout must be" },
        { "shutdown-parallel: 0\n", "line 1: shutdown-parallel must be an integer 1-1024" },
        { "shutdown-parallel: 1025\n", "line 1: shutdown-parallel must be" },
        { "shutdown-parallel: 2\nshutdown-parallel: 2\n", "line 2: duplicate key 'shutdown-parallel'" },
        { "# ok\nonboot: 1\n", "line 2: unknown key 'onboot'" },
        { "cluster-name: 1lab\n", "line 1: cluster-name must be 1-32 letters" },
        { "cluster-name:\n", "line 1: cluster-name must be" },
        { "cluster-name: lab_2\n", "line 1: cluster-name must be" },
        { "cluster-name: Aabcdefghijklmnopqrstuvwxyz012345\n", "line 1: cluster-name must be" },
        { "cluster-name: a\ncluster-name: b\n", "line 2: duplicate key 'cluster-name'" },
        { "node-lease-ttl: 1\n", "line 1: node-lease-ttl must be an integer 2-600" },
        { "node-lease-ttl: 601\n", "line 1: node-lease-ttl must be" },
        { "Shutdown-Timeout: 5\n", "line 1: unknown key 'Shutdown-Timeout'" },
        { "shutdown-timeout 5\n", "line 1: expected 'key: value'" },
        { "shutdown-timeout: 5\x01\n", "line 1: not printable UTF-8 text" },
        { "# \xc3\x28\n", "line 1: not printable UTF-8 text" },
};

START_TEST(test_parse_rejects)
{
        _cleanup_free_ char *error = NULL;
        BerthConf c = { .shutdown_timeout = 4242 };

        ck_assert_int_eq(berth_conf_parse(bad_confs[_i].text, &c, &error), -EBADMSG);
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(startswith(error, bad_confs[_i].error), "'%s' does not start with '%s'", error,
                bad_confs[_i].error);
        /* Nothing written on failure. */
        ck_assert_uint_eq(c.shutdown_timeout, 4242);
        ck_assert_int_eq(berth_conf_parse(bad_confs[_i].text, &c, NULL), -EBADMSG);
}
END_TEST

START_TEST(test_parse_size_limit)
{
        size_t n = BERTH_CONF_MAX_SIZE + 1;
        _cleanup_free_ char *text = xmalloc(n + 1), *error = NULL;
        BerthConf c;

        memset(text, '#', n);
        text[n] = 0;
        ck_assert_int_eq(berth_conf_parse(text, &c, &error), -EBADMSG);
        ck_assert_str_eq(error, "line 1: the file is larger than 65536 bytes");
        text[n - 1] = 0;
        ck_assert_int_eq(berth_conf_parse(text, &c, NULL), 0);
}
END_TEST

START_TEST(test_load)
{
        char *t = test_tmpdir_new();
        _cleanup_free_ char *dir = NULL, *path = NULL, *error = NULL;
        BerthConf c;

        ck_assert_int_eq(paths_set_root(t), 0);
        dir = root_path("etc/berth");
        path = root_path("etc/berth/berth.conf");

        /* No file: the defaults. */
        ck_assert_int_eq(berth_conf_load(&c, &error), 0);
        ck_assert_uint_eq(c.shutdown_timeout, BERTH_CONF_DEFAULT_SHUTDOWN_TIMEOUT);

        ck_assert_int_eq(mkdir_p(dir, 0755), 0);
        ck_assert_int_eq(
                write_string_file_atomic(path, "shutdown-policy: save\nshutdown-timeout: 9\n", 0644), 0);
        ck_assert_int_eq(berth_conf_load(&c, &error), 0);
        ck_assert_uint_eq(c.shutdown_policy.n_steps, 1);
        ck_assert_int_eq(c.shutdown_policy.steps[0], SHUTDOWN_STEP_SAVE);
        ck_assert_uint_eq(c.shutdown_timeout, 9);

        ck_assert_int_eq(write_string_file_atomic(path, "shutdown-policy: none\n", 0644), 0);
        ck_assert_int_eq(berth_conf_load(&c, &error), -EBADMSG);
        ck_assert(startswith(error, "line 1: shutdown-policy must be"));

        /* A file that cannot be read is an error of its own, not the defaults. */
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        ck_assert_int_eq(berth_conf_load(&c, NULL), -EISDIR);

        ck_assert_int_eq(paths_set_root("/"), 0);
        test_tmpdir_free(t);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("berth-conf");
        TCase *tc = tcase_create("berth-conf");

        tcase_add_loop_test(tc, test_policy_parse, 0, ELEMENTSOF(policies));
        tcase_add_loop_test(tc, test_policy_parse_rejects, 0, ELEMENTSOF(bad_policies));
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_parse);
        tcase_add_loop_test(tc, test_parse_rejects, 0, ELEMENTSOF(bad_confs));
        tcase_add_test(tc, test_parse_size_limit);
        tcase_add_test(tc, test_load);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
