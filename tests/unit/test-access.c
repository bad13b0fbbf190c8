/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemons' access checks over a file: store: the config followed through
 * the store's watch, a bad change that keeps the last good config, root@pam,
 * and the wording of the denials.
 */
#include <check.h>

#include "access.h"
#include "check-main.h"
#include "errors.h"
#include "store-test.h"

#define CONFIG_ALICE \
        "user:alice@pam:1:0::::::\n" \
        "user:bob@pam:1:0::::::\n" \
        "acl:1:/vms/100:alice@pam:PVEVMUser:\n"

static char *tmpdir;

static void setup(void)
{
        tmpdir = test_tmpdir_new();
        url = xasprintf("file:%s/store", tmpdir);
        base = event_base_new();
        ck_assert_ptr_nonnull(base);
}

static void teardown(void)
{
        event_base_free(base);
        free(url);
        test_tmpdir_free(tmpdir);
}

static bool alice_may_start_100(Access *a)
{
        return access_allowed(a, "alice@pam", "/vms/100", ACL_PRIV_VM_POWER_MGMT);
}

static bool has_error(Access *a)
{
        return access_config_error(a) != NULL;
}

/* Runs the loop until cond holds; fails after 60 s (a bound for a stuck test, not a wait). */
static void run_until(Access *a, bool (*cond)(Access *a), bool expected)
{
        struct timeval tv = { .tv_sec = 60 };
        bool timed_out = false;
        struct event *timer = evtimer_new(base, on_timeout, &timed_out);

        evtimer_add(timer, &tv);
        while (cond(a) != expected && !timed_out)
                ck_assert_int_ge(event_base_loop(base, EVLOOP_ONCE), 0);
        event_free(timer);
        ck_assert(cond(a) == expected);
}

START_TEST(test_missing_config)
{
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(access_freep) Access *a = NULL;

        ck_assert_int_eq(access_new(s, &a), 0);
        ck_assert_ptr_nonnull(access_config(a));
        ck_assert_ptr_null(access_config_error(a));
        ck_assert(!alice_may_start_100(a));
        ck_assert(!access_allowed(a, "alice@pam", "/", ACL_PRIV_SYS_AUDIT));
        ck_assert(access_allowed(a, ACCESS_ROOT, "/vms/100", ACL_PRIV_VM_POWER_MGMT));
}
END_TEST

START_TEST(test_reload_on_change)
{
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(access_freep) Access *a = NULL;

        ck_assert_int_eq(access_new(s, &a), 0);
        put_string(s, ACCESS_USER_CFG_KEY, CONFIG_ALICE);
        run_until(a, alice_may_start_100, true);
        ck_assert(access_allowed(a, "alice@pam", "/vms/100", ACL_PRIV_VM_AUDIT));
        ck_assert(!access_allowed(a, "alice@pam", "/vms/101", ACL_PRIV_VM_POWER_MGMT));
        ck_assert(!access_allowed(a, "alice@pam", "/vms/100", ACL_PRIV_VM_ALLOCATE));
        ck_assert(!access_allowed(a, "bob@pam", "/vms/100", ACL_PRIV_VM_AUDIT));
        ck_assert(access_allowed_any(a, "alice@pam", "/vms/100",
                ACL_PRIV_BIT(ACL_PRIV_VM_ALLOCATE) | ACL_PRIV_BIT(ACL_PRIV_VM_CONSOLE)));
        ck_assert(!access_allowed_any(a, "alice@pam", "/vms/100",
                ACL_PRIV_BIT(ACL_PRIV_VM_ALLOCATE) | ACL_PRIV_BIT(ACL_PRIV_SYS_MODIFY)));

        /* A key that merely starts like it is another key. */
        put_string(s, ACCESS_USER_CFG_KEY ".old", "garbage");
        ck_assert_int_eq(store_delete(s, ACCESS_USER_CFG_KEY, STORE_REVISION_ANY), 0);
        run_until(a, alice_may_start_100, false);
        ck_assert_ptr_null(access_config_error(a));
}
END_TEST

START_TEST(test_bad_change_keeps_last_good)
{
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(access_freep) Access *a = NULL;

        put_string(s, ACCESS_USER_CFG_KEY, CONFIG_ALICE);
        ck_assert_int_eq(access_new(s, &a), 0);
        ck_assert(alice_may_start_100(a));

        put_string(s, ACCESS_USER_CFG_KEY, "acl:1:/vms/100:bob@pam:PVEVMAdmin:\nnonsense\n");
        run_until(a, has_error, true);
        ck_assert_ptr_nonnull(strstr(access_config_error(a), "line 2"));
        ck_assert(alice_may_start_100(a));
        ck_assert(!access_allowed(a, "bob@pam", "/vms/100", ACL_PRIV_VM_AUDIT));

        put_string(s, ACCESS_USER_CFG_KEY, "user:alice@pam:1:0::::::\n");
        run_until(a, has_error, false);
        ck_assert(!alice_may_start_100(a));
}
END_TEST

START_TEST(test_bad_config_at_start)
{
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(access_freep) Access *a = NULL;

        put_string(s, ACCESS_USER_CFG_KEY, "acl:1:/vms/100:alice@pam:PVEVMUser\npool:x:\n");
        ck_assert_int_eq(access_new(s, &a), 0);
        ck_assert_ptr_nonnull(access_config_error(a));
        ck_assert(!alice_may_start_100(a));
        ck_assert(access_allowed(a, ACCESS_ROOT, "/", ACL_PRIV_SYS_MODIFY));
}
END_TEST

START_TEST(test_root)
{
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(access_freep) Access *a = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        put_string(s, ACCESS_USER_CFG_KEY, "user:root@pam:0:0::::::\n" CONFIG_ALICE);
        ck_assert_int_eq(access_new(s, &a), 0);
        ck_assert(access_is_root(ACCESS_ROOT));
        ck_assert(!access_is_root("root@berth"));
        ck_assert(!access_is_root("root@pam!token"));
        ck_assert(!access_is_root(NULL));
        /* root@pam has every privilege everywhere, whatever the config says of it. */
        for (AclPriv p = 0; p < _ACL_PRIV_MAX; p++)
                ck_assert(access_allowed(a, ACCESS_ROOT, "/storage/local", p));
        ck_assert_int_eq(access_require_root(ACCESS_ROOT, "set 'hookscript'", &error), 0);
        ck_assert(!sd_bus_error_is_set(&error));
        ck_assert_int_eq(access_require_root("alice@pam", "set 'hookscript'", &error), -EPERM);
        ck_assert_str_eq(error.name, BERTH_ERROR_PERMISSION_DENIED);
        ck_assert_str_eq(error.message, "Only root@pam may set 'hookscript'");
}
END_TEST

START_TEST(test_require_messages)
{
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(access_freep) Access *a = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e1 = SD_BUS_ERROR_NULL, e2 = SD_BUS_ERROR_NULL,
                                                  e3 = SD_BUS_ERROR_NULL, e4 = SD_BUS_ERROR_NULL;

        put_string(s, ACCESS_USER_CFG_KEY, CONFIG_ALICE);
        ck_assert_int_eq(access_new(s, &a), 0);

        ck_assert_int_eq(access_require(a, "alice@pam", "/vms/100", ACL_PRIV_VM_POWER_MGMT, &e1), 0);
        ck_assert(!sd_bus_error_is_set(&e1));
        ck_assert_int_eq(access_require(a, "alice@pam", "/vms/101", ACL_PRIV_VM_POWER_MGMT, &e2), -EPERM);
        ck_assert_str_eq(e2.name, BERTH_ERROR_PERMISSION_DENIED);
        ck_assert_str_eq(e2.message, "Permission check failed (/vms/101, VM.PowerMgmt)");
        ck_assert_int_eq(
                access_require_any(a, "alice@pam", "/vms/100",
                        ACL_PRIV_BIT(ACL_PRIV_VM_CONFIG_DISK) | ACL_PRIV_BIT(ACL_PRIV_VM_CONFIG_CDROM), &e3),
                0);
        ck_assert_int_eq(
                access_require_any(a, "bob@pam", "/vms/100",
                        ACL_PRIV_BIT(ACL_PRIV_VM_CONFIG_DISK) | ACL_PRIV_BIT(ACL_PRIV_VM_CONFIG_CDROM), &e4),
                -EPERM);
        ck_assert_str_eq(e4.message, "Permission check failed (/vms/100, VM.Config.Disk|VM.Config.CDROM)");
        /* An id that is neither a user nor a token has nothing. */
        ck_assert(!access_allowed(a, "nobody", "/vms/100", ACL_PRIV_VM_AUDIT));
}
END_TEST

static Suite *access_suite(void)
{
        Suite *s = suite_create("access");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_missing_config);
        tcase_add_test(tc, test_reload_on_change);
        tcase_add_test(tc, test_bad_change_keeps_last_good);
        tcase_add_test(tc, test_bad_config_at_start);
        tcase_add_test(tc, test_root);
        tcase_add_test(tc, test_require_messages);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return run_suite(access_suite());
}
