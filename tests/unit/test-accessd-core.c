/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "accessd.h"
#include "alloc.h"
#include "check-main.h"
#include "login-delay.h"

#define SEC UINT64_C(1000000)

START_TEST(test_doubles_per_user_and_source)
{
        _cleanup_(login_delay_freep) LoginDelay *d = login_delay_new();
        uint64_t now = 1000 * SEC;

        ck_assert_uint_eq(login_delay_failed(d, "alice@pve", "10.0.0.1", now), LOGIN_DELAY_BASE_USEC);
        ck_assert_uint_eq(login_delay_failed(d, "alice@pve", "10.0.0.1", now + 1), 2 * LOGIN_DELAY_BASE_USEC);
        ck_assert_uint_eq(login_delay_failed(d, "alice@pve", "10.0.0.1", now + 2), 4 * LOGIN_DELAY_BASE_USEC);
        /* Another source, another user: not slowed down by alice's failures from 10.0.0.1. */
        ck_assert_uint_eq(login_delay_failed(d, "alice@pve", "10.0.0.2", now + 3), LOGIN_DELAY_BASE_USEC);
        ck_assert_uint_eq(login_delay_failed(d, "bob@pve", "10.0.0.1", now + 4), LOGIN_DELAY_BASE_USEC);
        ck_assert_uint_eq(login_delay_failures(d, "alice@pve", "10.0.0.1", now + 5), 3);

        for (unsigned i = 0; i < 20; i++)
                ck_assert_uint_le(
                        login_delay_failed(d, "alice@pve", "10.0.0.1", now + 10 + i), LOGIN_DELAY_MAX_USEC);
        ck_assert_uint_eq(login_delay_failed(d, "alice@pve", "10.0.0.1", now + 40), LOGIN_DELAY_MAX_USEC);

        /* A success forgets the pair, and only it. */
        login_delay_succeeded(d, "alice@pve", "10.0.0.1");
        ck_assert_uint_eq(login_delay_failures(d, "alice@pve", "10.0.0.1", now + 41), 0);
        ck_assert_uint_eq(login_delay_failures(d, "alice@pve", "10.0.0.2", now + 41), 1);
        ck_assert_uint_eq(login_delay_failed(d, "alice@pve", "10.0.0.1", now + 42), LOGIN_DELAY_BASE_USEC);
}
END_TEST

START_TEST(test_forgotten_after_a_while)
{
        _cleanup_(login_delay_freep) LoginDelay *d = login_delay_new();
        uint64_t now = 5 * SEC;

        (void) login_delay_failed(d, "alice@pve", "a", now);
        (void) login_delay_failed(d, "alice@pve", "a", now);
        ck_assert_uint_eq(login_delay_failures(d, "alice@pve", "a", now + LOGIN_DELAY_FORGET_USEC - 1), 2);
        ck_assert_uint_eq(login_delay_failures(d, "alice@pve", "a", now + LOGIN_DELAY_FORGET_USEC), 0);
        ck_assert_uint_eq(login_delay_failed(d, "alice@pve", "a", now + LOGIN_DELAY_FORGET_USEC),
                LOGIN_DELAY_BASE_USEC);
}
END_TEST

START_TEST(test_bounded)
{
        _cleanup_(login_delay_freep) LoginDelay *d = login_delay_new();
        _cleanup_free_ char *first = NULL;

        /* The pair that failed longest ago makes room; the others keep their count. */
        for (unsigned i = 0; i <= LOGIN_DELAY_MAX_ENTRIES; i++) {
                _cleanup_free_ char *source = xasprintf("10.1.%u.%u", i / 256, i % 256);
                (void) login_delay_failed(d, "mallory@pve", source, SEC + i);
                if (i == 0)
                        (void) login_delay_failed(d, "mallory@pve", source, SEC + i);
        }
        ck_assert_uint_eq(login_delay_failures(d, "mallory@pve", "10.1.0.0", SEC + 5000), 0);
        ck_assert_uint_eq(login_delay_failures(d, "mallory@pve", "10.1.0.1", SEC + 5000), 1);
        ck_assert_uint_eq(login_delay_failures(d, "mallory@pve", "10.1.16.0", SEC + 5000), 1);
}
END_TEST

static AclPrivSet cap(const AclPrivSet caps[], AccessCapPart part)
{
        return caps[part];
}

START_TEST(test_capabilities)
{
        _cleanup_(acl_config_freep) AclConfig *c = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        AclPrivSet caps[_ACCESS_CAP_PART_MAX];

        ck_assert_int_eq(acl_config_parse("user:alice@pve:1:0::::::\n"
                                          "acl:1:/vms/100:alice@pve:PVEVMUser:\n"
                                          "acl:1:/storage/local:alice@pve:PVEDatastoreUser:\n"
                                          "acl:1:/nodes/n1:alice@pve:PVEAuditor:\n",
                                 &c, NULL),
                0);
        access_capabilities(c, "alice@pve", 0, caps);
        /* Privileges on a deeper path count for its part, as in Proxmox's login "cap". */
        ck_assert(acl_priv_set_has(cap(caps, ACCESS_CAP_VMS), ACL_PRIV_VM_POWER_MGMT));
        ck_assert(!acl_priv_set_has(cap(caps, ACCESS_CAP_VMS), ACL_PRIV_VM_ALLOCATE));
        ck_assert(!acl_priv_set_has(cap(caps, ACCESS_CAP_VMS), ACL_PRIV_DATASTORE_AUDIT));
        ck_assert(acl_priv_set_has(cap(caps, ACCESS_CAP_STORAGE), ACL_PRIV_DATASTORE_ALLOCATE_SPACE));
        ck_assert(acl_priv_set_has(cap(caps, ACCESS_CAP_NODES), ACL_PRIV_SYS_AUDIT));
        ck_assert_uint_eq(cap(caps, ACCESS_CAP_ACCESS), 0);
        ck_assert_uint_eq(cap(caps, ACCESS_CAP_DC), 0);

        access_capabilities(c, "root@pam", 0, caps);
        ck_assert(acl_priv_set_has(cap(caps, ACCESS_CAP_DC), ACL_PRIV_SYS_MODIFY));
        ck_assert(!acl_priv_set_has(cap(caps, ACCESS_CAP_DC), ACL_PRIV_VM_AUDIT));
        ck_assert(acl_priv_set_has(cap(caps, ACCESS_CAP_ACCESS), ACL_PRIV_USER_MODIFY));

        paths = access_permission_paths(c);
        _cleanup_free_ char *joined = strv_join(paths, " ");
        ck_assert_str_eq(
                joined, "/ /access /access/groups /nodes /nodes/n1 /storage /storage/local /vms /vms/100");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("accessd-core");
        TCase *tc = tcase_create("accessd-core");

        tcase_add_test(tc, test_doubles_per_user_and_source);
        tcase_add_test(tc, test_forgotten_after_a_while);
        tcase_add_test(tc, test_bounded);
        tcase_add_test(tc, test_capabilities);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
