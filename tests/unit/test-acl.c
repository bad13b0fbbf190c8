/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "acl.h"
#include "alloc.h"
#include "check-main.h"

static AclConfig *parse_ok(const char *text)
{
        _cleanup_free_ char *error = NULL;
        AclConfig *c = NULL;

        ck_assert_msg(acl_config_parse(text, &c, &error) == 0, "parse failed: %s", strempty(error));
        return c;
}

/* The union of the privileges of names, each a role or a privilege, comma-separated. */
static AclPrivSet privs_of(const AclConfig *c, const char *names)
{
        _cleanup_free_ char *copy = xstrdup(names);
        AclPrivSet s = 0;

        for (char *p = copy, *n; (n = strsep(&p, ","));) {
                AclPrivSet r;
                AclPriv priv;

                if (!*n)
                        continue;
                priv = acl_priv_from_string(n);
                if (priv >= 0) {
                        s |= ACL_PRIV_BIT(priv);
                        continue;
                }
                ck_assert_msg(acl_role_privs(c, n, &r) == 0, "no role '%s'", n);
                s |= r;
        }
        return s;
}

START_TEST(test_priv_names)
{
        for (AclPriv p = 0; p < _ACL_PRIV_MAX; p++) {
                const char *name = acl_priv_to_string(p);

                ck_assert_ptr_nonnull(name);
                ck_assert_int_eq(acl_priv_from_string(name), p);
        }
        ck_assert_int_eq(_ACL_PRIV_MAX, 40);
        ck_assert_int_eq(acl_priv_from_string("VM.Replicate"), -EINVAL);
        ck_assert_int_eq(acl_priv_from_string("vm.audit"), -EINVAL);
        ck_assert_ptr_null(acl_priv_to_string(_ACL_PRIV_MAX));
}
END_TEST

/* Proxmox's built-in roles, as PVE 8's create_roles() makes them from $privgroups, spelled out. */
static const struct {
        const char *role;
        const char *privs;
} builtin_privs[] = {
        { "NoAccess", "" },
        { "PVEAuditor", "VM.Audit,Sys.Audit,Datastore.Audit,SDN.Audit,Pool.Audit,Mapping.Audit" },
        { "PVETemplateUser", "VM.Clone,VM.Audit" },
        { "PVEVMUser", "VM.Config.CDROM,VM.Config.Cloudinit,VM.Console,VM.Backup,VM.PowerMgmt,VM.Audit" },
        { "PVEVMAdmin",
                "VM.Config.Disk,VM.Config.CPU,VM.Config.Memory,VM.Config.Network,VM.Config.HWType,"
                "VM.Config.Options,VM.Allocate,VM.Clone,VM.Migrate,VM.Monitor,VM.Snapshot,VM.Config.CDROM,"
                "VM.Config.Cloudinit,VM.Console,VM.Backup,VM.PowerMgmt,VM.Audit" },
        { "PVESysAdmin", "Sys.Console,Sys.Syslog,Sys.Audit" },
        { "PVEDatastoreUser", "Datastore.AllocateSpace,Datastore.Audit" },
        { "PVEDatastoreAdmin",
                "Datastore.Allocate,Datastore.AllocateTemplate,Datastore.AllocateSpace,Datastore.Audit" },
        { "PVEUserAdmin", "User.Modify,Group.Allocate,Realm.AllocateUser" },
        { "PVEPoolAdmin", "Pool.Allocate,Pool.Audit" },
        { "PVEPoolUser", "Pool.Audit" },
        { "PVESDNAdmin", "SDN.Allocate,SDN.Audit,SDN.Use" },
        { "PVESDNUser", "SDN.Use,SDN.Audit" },
        { "PVEMappingAdmin", "Mapping.Modify,Mapping.Use,Mapping.Audit" },
        { "PVEMappingUser", "Mapping.Use,Mapping.Audit" },
        /* Everything but the root-only privileges, Permissions.Modify and Mapping.Modify. */
        { "PVEAdmin",
                "PVEVMAdmin,PVESysAdmin,PVEDatastoreAdmin,PVESDNAdmin,PVEUserAdmin,PVEPoolAdmin,"
                "Mapping.Use,Mapping.Audit" },
};

START_TEST(test_builtin_roles)
{
        _cleanup_(acl_config_freep) AclConfig *c = parse_ok("");
        AclPrivSet s;

        ck_assert(acl_role_is_builtin(builtin_privs[_i].role));
        ck_assert_int_eq(acl_role_privs(c, builtin_privs[_i].role, &s), 0);
        ck_assert_msg(s == privs_of(c, builtin_privs[_i].privs), "%s: %#llx", builtin_privs[_i].role,
                (unsigned long long) s);
}
END_TEST

START_TEST(test_builtin_role_list)
{
        _cleanup_(acl_config_freep) AclConfig *c = parse_ok("");
        size_t n = 0;
        AclPrivSet s;

        for (const char *r; (r = acl_builtin_role(n)); n++) {
                ck_assert(acl_role_is_builtin(r));
                ck_assert_int_eq(acl_role_privs(c, r, &s), 0);
        }
        ck_assert_uint_eq(n, 17);
        ck_assert_int_eq(acl_role_privs(c, "Administrator", &s), 0);
        ck_assert(s == ACL_PRIV_ALL);
        ck_assert(!acl_role_is_builtin("PVESysUser"));
        ck_assert_int_eq(acl_role_privs(c, "PVESysUser", &s), -ENOENT);
}
END_TEST

static const struct {
        const char *s;
        bool user, token;
} ids[] = {
        { "root@pam", true, false },
        { "a.b-c_d@pve", true, false },
        { "first last@pve", false, false },
        { "x@y@ldap-1", true, false },
        { "ab@p", false, false },
        { "@pve", false, false },
        { "a/b@pve", false, false },
        { "a@1pve", false, false },
        { "alice@pve!ci", false, true },
        { "alice@pve!c", false, false },
        { "alice@pve!c!d", false, false },
        { "alice@pve!1a", false, false },
        { "alice!ci", false, false },
};

START_TEST(test_ids)
{
        ck_assert_int_eq(acl_userid_is_valid(ids[_i].s), ids[_i].user);
        ck_assert_int_eq(acl_tokenid_is_valid(ids[_i].s), ids[_i].token);
}
END_TEST

static const struct {
        const char *in, *normalized;
        bool valid;
} paths[] = {
        { "/", "/", true },
        { "", NULL, false },
        { "vms", "/vms", true },
        { "//vms//100/", "/vms/100", true },
        { "/vms/99", "/vms/99", false },
        { "/vms/0100", "/vms/0100", false },
        { "/storage/local-lvm", "/storage/local-lvm", true },
        { "/storage/local/x", "/storage/local/x", false },
        { "/nodes/n1", "/nodes/n1", true },
        { "/access", "/access", true },
        { "/access/groups/ops", "/access/groups/ops", true },
        { "/pool/a/b/c", "/pool/a/b/c", true },
        { "/pool/a/b/c/d", "/pool/a/b/c/d", false },
        { "/sdn/zones/z1/vnet1/4094", "/sdn/zones/z1/vnet1/4094", true },
        { "/sdn/zones/z1/vnet1/10000", "/sdn/zones/z1/vnet1/10000", false },
        { "/sdn/ipams/pve-x", "/sdn/ipams/pve-x", false },
        { "/mapping/pci/gpu", "/mapping/pci/gpu", true },
        { "/etc", "/etc", false },
        { "/vms/1 00", NULL, false },
};

START_TEST(test_paths)
{
        _cleanup_free_ char *n = acl_path_normalize(paths[_i].in);

        ck_assert_str_eq(strempty(n), strempty(paths[_i].normalized));
        if (n)
                ck_assert_int_eq(acl_path_is_valid(n), paths[_i].valid);
}
END_TEST

static const char every_line[] = "user:alice@pve:1:1700000000:Alice:Smith:a@example.com:hi:yubico:\n"
                                 "token:alice@pve!ci:1800000000:1:for CI:\n"
                                 "group:ops:alice@pve:Operators:\n"
                                 "role:Watcher:VM.Audit,Sys.Audit:\n"
                                 "acl:0:/vms/100:alice@pve,@ops,alice@pve!ci:Watcher,PVEVMUser:\n";

START_TEST(test_parse_every_line)
{
        _cleanup_(acl_config_freep) AclConfig *c = parse_ok(every_line);

        ck_assert_uint_eq(c->n_users, 2);
        ck_assert_str_eq(c->users[1].id, "alice@pve");
        ck_assert(c->users[1].enable);
        ck_assert_int_eq(c->users[1].expire, 1700000000);
        ck_assert_str_eq(c->users[1].firstname, "Alice");
        ck_assert_str_eq(c->users[1].lastname, "Smith");
        ck_assert_str_eq(c->users[1].email, "a@example.com");
        ck_assert_str_eq(c->users[1].comment, "hi");
        ck_assert_str_eq(c->users[1].keys, "yubico");
        /* Always there, as in Proxmox. */
        ck_assert_str_eq(c->users[0].id, "root@pam");
        ck_assert(c->users[0].enable);

        ck_assert_uint_eq(c->n_tokens, 1);
        ck_assert_str_eq(c->tokens[0].id, "alice@pve!ci");
        ck_assert_int_eq(c->tokens[0].expire, 1800000000);
        ck_assert(c->tokens[0].privsep);
        ck_assert_str_eq(c->tokens[0].comment, "for CI");

        ck_assert_uint_eq(c->n_groups, 1);
        ck_assert_str_eq(c->groups[0].id, "ops");
        ck_assert_uint_eq(strv_length(c->groups[0].members), 1);
        ck_assert_str_eq(c->groups[0].members[0], "alice@pve");
        ck_assert_str_eq(c->groups[0].comment, "Operators");

        ck_assert_uint_eq(c->n_roles, 1);
        ck_assert_str_eq(c->roles[0].id, "Watcher");
        ck_assert(c->roles[0].privs == (ACL_PRIV_BIT(ACL_PRIV_VM_AUDIT) | ACL_PRIV_BIT(ACL_PRIV_SYS_AUDIT)));

        /* Three members times two roles. */
        ck_assert_uint_eq(c->n_entries, 6);
        for (size_t i = 0; i < c->n_entries; i++) {
                ck_assert_str_eq(c->entries[i].path, "/vms/100");
                ck_assert(!c->entries[i].propagate);
        }
        ck_assert_ptr_null(c->warnings);
}
END_TEST

START_TEST(test_parse_lenient)
{
        /* What Proxmox accepts too: blank lines, spaces around fields, trailing empty fields left out, an
         * unnormalized path, a later line setting the propagation of the same entry. */
        _cleanup_(acl_config_freep) AclConfig *c = parse_ok("\n"
                                                            "  user : bob@pve : 0 : \n"
                                                            "\t\n"
                                                            "token:bob@pve!tk::0\n"
                                                            "acl:1://vms/:bob@pve:PVEAuditor\n"
                                                            "acl:0:/vms:bob@pve:PVEAuditor:\n");

        ck_assert_str_eq(c->users[1].id, "bob@pve");
        ck_assert(!c->users[1].enable);
        ck_assert_int_eq(c->users[1].expire, 0);
        ck_assert_str_eq(c->users[1].email, "");
        ck_assert_int_eq(c->tokens[0].expire, 0);
        ck_assert_uint_eq(c->n_entries, 1);
        ck_assert_str_eq(c->entries[0].path, "/vms");
        ck_assert(!c->entries[0].propagate);
}
END_TEST

START_TEST(test_parse_root)
{
        /* root@pam's own line replaces the one Proxmox adds; its tokens may come first. */
        _cleanup_(acl_config_freep)
                AclConfig *c = parse_ok("token:root@pam!ci:0:1::\nuser:root@pam:0:0:Root:::::\n");

        ck_assert_uint_eq(c->n_users, 1);
        ck_assert_str_eq(c->users[0].id, "root@pam");
        ck_assert(!c->users[0].enable);
        ck_assert_str_eq(c->users[0].firstname, "Root");
        ck_assert_uint_eq(c->n_tokens, 1);
}
END_TEST

START_TEST(test_parse_warnings)
{
        _cleanup_(acl_config_freep) AclConfig *c = parse_ok(
                "user:alice@pve:1:0::::::\n"
                "token:ghost@pve!tk:0:0::\n"
                "group:ops:alice@pve,ghost@pve::\n"
                "role:Future:VM.Audit,VM.Replicate:\n"
                "acl:1:/:alice@pve,ghost@pve,@nogroup,alice@pve!none,root@pam:Future,Undefined:\n");
        static const char *const expected[] = {
                "line 2: ignoring token 'ghost@pve!tk' of undefined user 'ghost@pve'",
                "line 3: group 'ops' member 'ghost@pve' is not a defined user",
                "line 4: ignoring unknown privilege 'VM.Replicate' in role 'Future'",
                "line 5: acl user 'ghost@pve' is not defined",
                "line 5: acl group 'nogroup' is not defined",
                "line 5: ignoring undefined acl token 'alice@pve!none'",
                "line 5: ignoring acl entry for root@pam",
                "line 5: ignoring undefined acl role 'Undefined'",
        };

        ck_assert_uint_eq(strv_length(c->warnings), ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                ck_assert_str_eq(c->warnings[i], expected[i]);
        ck_assert_uint_eq(c->n_tokens, 0);
        /* Kept: the member that is no user yet, the undefined user and group in the ACL. */
        ck_assert_uint_eq(strv_length(c->groups[0].members), 2);
        ck_assert(c->roles[0].privs == ACL_PRIV_BIT(ACL_PRIV_VM_AUDIT));
        ck_assert_uint_eq(c->n_entries, 3);
        for (size_t i = 0; i < c->n_entries; i++)
                ck_assert_str_eq(c->entries[i].role, "Future");
}
END_TEST

static const struct {
        const char *text, *error;
} bad[] = {
        { "user:alice:1:0::::::\n", "line 1: invalid userid 'alice'" },
        { "user:alice@p:1:0::::::\n", "line 1: invalid userid 'alice@p'" },
        { "user:alice@pve:2:0::::::\n", "line 1: enable must be 0 or 1, not '2'" },
        { "user:alice@pve:1:soon::::::\n", "line 1: invalid expire 'soon'" },
        { "user:alice@pve:1:-1::::::\n", "line 1: invalid expire '-1'" },
        { "user:alice@pve:1:0::::::\n\nuser:alice@pve:0:0::::::\n", "line 3: duplicate user 'alice@pve'" },
        { "user:root@pam:1:0::::::\nuser:root@pam:1:0::::::\n", "line 2: duplicate user 'root@pam'" },
        { "user:alice@pve:1:0:a:b:c:d:e:f:\n", "line 1: too many fields" },
        { "token:alice@pve:0:0::\n", "line 1: invalid tokenid 'alice@pve'" },
        { "user:alice@pve:1:0::::::\ntoken:alice@pve!tk:0:2::\n", "line 2: privsep must be 0 or 1, not '2'" },
        { "user:alice@pve:1:0::::::\ntoken:alice@pve!tk:0:0::\ntoken:alice@pve!tk:0:1::\n",
                "line 3: duplicate token 'alice@pve!tk'" },
        { "token:alice@pve!tk:0:0:c:x:\n", "line 1: too many fields" },
        { "group:bad group:::\n", "line 1: invalid groupid 'bad group'" },
        { "group:g:nobody::\n", "line 1: invalid userid 'nobody' in group 'g'" },
        { "group:g:::\ngroup:g:::\n", "line 2: duplicate group 'g'" },
        { "role:PVEAdmin:VM.Audit:\n", "line 1: role 'PVEAdmin' is built in and cannot be redefined" },
        { "role:r:VM Audit:\n", "line 1: invalid privilege name 'VM Audit' in role 'r'" },
        { "role:r::\nrole:r:VM.Audit:\n", "line 2: duplicate role 'r'" },
        { "role:r/x::\n", "line 1: invalid roleid 'r/x'" },
        { "acl:2:/:alice@pve:PVEAuditor:\n", "line 1: propagate must be 0 or 1, not '2'" },
        { "acl:1:/vms/abc:alice@pve:PVEAuditor:\n", "line 1: invalid acl path '/vms/abc'" },
        { "acl:1:/etc:alice@pve:PVEAuditor:\n", "line 1: invalid acl path '/etc'" },
        { "acl:1:/vms/1 00:alice@pve:PVEAuditor:\n", "line 1: invalid acl path '/vms/1 00'" },
        { "acl:1:/:alice:PVEAuditor:\n", "line 1: invalid user, group or token 'alice' in acl" },
        { "acl:1:/:@bad!:PVEAuditor:\n", "line 1: invalid groupid 'bad!' in acl" },
        { "acl:1:/::PVEAuditor:\n", "line 1: acl without users, groups or tokens" },
        { "acl:1:/:alice@pve::\n", "line 1: acl without roles" },
        { "acl:1:/:alice@pve:bad role:\n", "line 1: invalid roleid 'bad role' in acl" },
        { "acl:1:/:alice@pve:PVEAuditor:x:\n", "line 1: too many fields" },
        { "pool:p1::100::\n", "line 1: pools are not supported" },
        { "\nfoo:bar\n", "line 2: unknown line type 'foo'" },
        { "# a comment\n", "line 1: unknown line type '# a comment'" },
        { "user:alice@pve:1:0:\x01:::::\n", "line 1: not printable UTF-8 text" },
        { "user:alice@pve:1:0:\xc3\x28:::::\n", "line 1: not printable UTF-8 text" },
};

START_TEST(test_parse_rejects)
{
        _cleanup_free_ char *error = NULL;
        AclConfig *c = (AclConfig *) 0x1;

        ck_assert_int_eq(acl_config_parse(bad[_i].text, &c, &error), -EBADMSG);
        ck_assert_ptr_nonnull(error);
        ck_assert_str_eq(error, bad[_i].error);
        /* Nothing written on failure. */
        ck_assert_ptr_eq(c, (AclConfig *) 0x1);
        ck_assert_int_eq(acl_config_parse(bad[_i].text, &c, NULL), -EBADMSG);
}
END_TEST

/* Proxmox's write_user_config() order: users with their tokens, groups, (pools), roles, ACLs by tree path,
 * each path's lines by propagation, then role list. */
START_TEST(test_format_canonical)
{
        _cleanup_(acl_config_freep)
                AclConfig *c = parse_ok(" user:bob@pve:1:0::::::\n"
                                        "user:alice@pve:1:1700000000:Alice:Smith:a@example.com:hi::\n"
                                        "token:bob@pve!bb:0:1:ci:\n"
                                        "token:alice@pve!zz:0:0::\n"
                                        "token:alice@pve!aa:5:1:x:\n"
                                        "group:ops:bob@pve,alice@pve,bob@pve:Operators:\n"
                                        "group:admins:::\n"
                                        "role:Zed:VM.Console,VM.Audit:\n"
                                        "role:Empty::\n"
                                        "acl:1:/vms/100:bob@pve:PVEVMUser:\n"
                                        "acl:0:/vms/100:bob@pve:PVEAuditor:\n"
                                        "acl:1:/vms/100:@ops:PVEVMUser:\n"
                                        "acl:1:/pool/a-b:alice@pve:PVEAuditor:\n"
                                        "acl:1:/pool/a/b:alice@pve:PVEAuditor:\n"
                                        "acl:1:/:alice@pve:PVEAuditor:\n"
                                        "acl:1:/storage:alice@pve:Zed:\n"
                                        "acl:1:/storage:@admins:Zed:\n"
                                        "acl:1:/storage/local:bob@pve!bb:Zed,PVEAuditor:\n");
        _cleanup_free_ char *text = acl_config_format(c);

        ck_assert_str_eq(text,
                "user:alice@pve:1:1700000000:Alice:Smith:a@example.com:hi::\n"
                "token:alice@pve!aa:5:1:x:\n"
                "token:alice@pve!zz:0:0::\n"
                "user:bob@pve:1:0::::::\n"
                "token:bob@pve!bb:0:1:ci:\n"
                "user:root@pam:1:0::::::\n"
                "\n"
                "group:admins:::\n"
                "group:ops:alice@pve,bob@pve:Operators:\n"
                "\n"
                "\n"
                "role:Empty::\n"
                "role:Zed:VM.Audit,VM.Console:\n"
                "\n"
                "acl:1:/:alice@pve:PVEAuditor:\n"
                "acl:1:/pool/a/b:alice@pve:PVEAuditor:\n"
                "acl:1:/pool/a-b:alice@pve:PVEAuditor:\n"
                "acl:1:/storage:@admins,alice@pve:Zed:\n"
                "acl:1:/storage/local:bob@pve!bb:PVEAuditor,Zed:\n"
                "acl:0:/vms/100:bob@pve:PVEAuditor:\n"
                "acl:1:/vms/100:@ops,bob@pve:PVEVMUser:\n");
}
END_TEST

static const char *const round_trips[] = {
        "",
        every_line,
        "user:root@pam:1:0::::::\n",
        "user:x@pve:0:1:%C3%A9t%C3%A9:::comment%20here:x:\n"
        "token:x@pve!aa:0:0::\ntoken:x@pve!bb:9:1::\n"
        "acl:1:/:x@pve!aa,x@pve!bb,x@pve:PVEAuditor,NoAccess:\n"
        "acl:0:/:x@pve:PVEVMAdmin:\n"
        "acl:1:/sdn/zones/z/v/100:x@pve:PVESDNUser:\n",
        "role:A:VM.Audit,Mapping.Modify,Permissions.Modify,Sys.Incoming:\nrole:B::\nacl:1:/access:@g:A,B:\n",
        "group:g:a@pve,b@pve::\nuser:a@pve:1:0::::::\nacl:0:/nodes/n1:a@pve,@g:PVESysAdmin:\n",
};

START_TEST(test_round_trip)
{
        _cleanup_(acl_config_freep) AclConfig *c = parse_ok(round_trips[_i]), *again = NULL;
        _cleanup_free_ char *first = acl_config_format(c), *second = NULL;

        again = parse_ok(first);
        second = acl_config_format(again);
        ck_assert_str_eq(first, second);
        ck_assert_uint_eq(again->n_entries, c->n_entries);
        ck_assert_uint_eq(again->n_users, c->n_users);
        ck_assert_uint_eq(again->n_tokens, c->n_tokens);
}
END_TEST

static const char matrix_config[] = "user:alice@pve:1:0:Alice:::::\n"
                                    "token:alice@pve!full:0:0::\n"
                                    "token:alice@pve!sep:0:1::\n"
                                    "token:alice@pve!old:1000:0::\n"
                                    "user:bob@pve:1:0::::::\n"
                                    "user:carol@pve:0:0::::::\n"
                                    "token:carol@pve!tk:0:0::\n"
                                    "user:dave@pve:1:1000::::::\n"
                                    "user:erin@pve:1:0::::::\n"
                                    "user:frank@pve:1:0::::::\n"
                                    "token:root@pam!ci:0:1::\n"
                                    "group:ops:bob@pve,erin@pve::\n"
                                    "group:audit:alice@pve,erin@pve::\n"
                                    "role:Multi:VM.Audit,VM.Console,Sys.Audit:\n"
                                    "acl:1:/:@audit:PVEAuditor:\n"
                                    "acl:1:/vms:@ops:PVEVMUser:\n"
                                    "acl:1:/vms:alice@pve:PVEVMAdmin:\n"
                                    "acl:0:/vms/100:bob@pve:Multi:\n"
                                    "acl:1:/vms/100:@ops:PVEAuditor:\n"
                                    "acl:1:/vms/200:bob@pve:NoAccess:\n"
                                    "acl:1:/vms/300:@ops:NoAccess:\n"
                                    "acl:1:/vms/300:erin@pve:PVEVMAdmin:\n"
                                    "acl:1:/vms/400:frank@pve:NoAccess,PVEVMAdmin:\n"
                                    "acl:1:/vms/500:alice@pve:PVETemplateUser:\n"
                                    "acl:1:/storage:alice@pve,dave@pve:PVEDatastoreUser:\n"
                                    "acl:1:/:alice@pve!sep:PVEAuditor:\n"
                                    "acl:1:/vms:alice@pve!sep:PVEVMUser:\n"
                                    "acl:1:/storage/local:alice@pve!sep:Administrator:\n"
                                    "acl:1:/nodes:carol@pve,carol@pve!tk:Administrator:\n"
                                    "acl:1:/vms:root@pam!ci:PVEVMUser:\n";

static const struct {
        const char *who, *path;
        time_t now;
        const char *privs; /* roles and privileges whose union is expected */
} matrix[] = {
        /* root@pam has everything, entries or not. */
        { "root@pam", "/", 0, "Administrator" },
        { "root@pam", "/vms/100", 0, "Administrator" },
        /* A group's entry on / propagates. */
        { "alice@pve", "/", 0, "PVEAuditor" },
        { "alice@pve", "/nodes/n1", 0, "PVEAuditor" },
        { "erin@pve", "/access/groups/ops", 0, "PVEAuditor" },
        /* The user's own entry replaces what its groups and the levels above give. */
        { "alice@pve", "/vms", 0, "PVEVMAdmin" },
        { "alice@pve", "/vms/100", 0, "PVEVMAdmin" },
        { "alice@pve", "//vms//101/", 0, "PVEVMAdmin" },
        /* A deeper entry replaces the inherited one, even with less. */
        { "alice@pve", "/vms/500", 0, "PVETemplateUser" },
        { "alice@pve", "/storage", 0, "PVEDatastoreUser" },
        { "alice@pve", "/storage/local", 0, "PVEDatastoreUser" },
        /* No entry anywhere on the path. */
        { "bob@pve", "/", 0, "" },
        { "bob@pve", "/nodes", 0, "" },
        { "bob@pve", "/storage/local", 0, "" },
        /* A group entry deeper replaces another group's from above. */
        { "bob@pve", "/vms", 0, "PVEVMUser" },
        { "bob@pve", "/vms/101", 0, "PVEVMUser" },
        { "erin@pve", "/vms", 0, "PVEVMUser" },
        /* propagate 0 counts on its path alone; there it wins over the group's, below it does not. */
        { "bob@pve", "/vms/100", 0, "Multi" },
        { "bob@pve", "/vms/100", 0, "VM.Audit,VM.Console,Sys.Audit" },
        { "bob@pve", "/vms/100/disk", 0, "PVEAuditor" },
        { "erin@pve", "/vms/100", 0, "PVEAuditor" },
        /* NoAccess. */
        { "bob@pve", "/vms/200", 0, "" },
        { "bob@pve", "/vms/200/x", 0, "" },
        { "bob@pve", "/vms/300", 0, "" },
        { "erin@pve", "/vms/300", 0, "PVEVMAdmin" },
        { "erin@pve", "/vms/300/x", 0, "PVEVMAdmin" },
        { "frank@pve", "/vms/400", 0, "" },
        { "frank@pve", "/vms", 0, "" },
        /* Disabled and expired users; an expire is valid through its second. */
        { "carol@pve", "/nodes", 0, "" },
        { "carol@pve!tk", "/nodes", 0, "" },
        { "dave@pve", "/storage", 500, "PVEDatastoreUser" },
        { "dave@pve", "/storage", 1000, "PVEDatastoreUser" },
        { "dave@pve", "/storage", 1001, "" },
        { "nobody@pve", "/", 0, "" },
        /* Tokens without privilege separation: the user's privileges. */
        { "alice@pve!full", "/", 0, "PVEAuditor" },
        { "alice@pve!full", "/vms", 0, "PVEVMAdmin" },
        { "alice@pve!old", "/vms", 999, "PVEVMAdmin" },
        { "alice@pve!old", "/vms", 1001, "" },
        { "alice@pve!none", "/vms", 0, "" },
        /* With it: the token's own entries, within what the user has. */
        { "alice@pve!sep", "/", 0, "PVEAuditor" },
        { "alice@pve!sep", "/vms", 0, "PVEVMUser" },
        { "alice@pve!sep", "/vms/100", 0, "PVEVMUser" },
        { "alice@pve!sep", "/storage", 0, "Datastore.Audit" },
        { "alice@pve!sep", "/storage/local", 0, "PVEDatastoreUser" },
        { "root@pam!ci", "/vms/100", 0, "PVEVMUser" },
        { "root@pam!ci", "/", 0, "" },
};

START_TEST(test_permissions)
{
        _cleanup_(acl_config_freep) AclConfig *c = parse_ok(matrix_config);
        AclPrivSet got, want = privs_of(c, matrix[_i].privs);

        ck_assert_int_eq(acl_permissions(c, matrix[_i].who, matrix[_i].path, matrix[_i].now, &got), 0);
        ck_assert_msg(got == want, "%s on %s: %#llx, expected %#llx", matrix[_i].who, matrix[_i].path,
                (unsigned long long) got, (unsigned long long) want);
        for (AclPriv p = 0; p < _ACL_PRIV_MAX; p++)
                ck_assert_int_eq(acl_check(c, matrix[_i].who, matrix[_i].path, matrix[_i].now, p),
                        acl_priv_set_has(want, p));
}
END_TEST

/* Proxmox's own src/test/test8.cfg and perm-test8.pl, with "/users" (no ACL path since) made "/access". */
static const char proxmox_test8[] = "user:joe@pve:1:\n"
                                    "user:max@pve:1:\n"
                                    "token:max@pve!token::0:\n"
                                    "token:max@pve!token2::1:\n"
                                    "user:alex@pve:1:\n"
                                    "user:sue@pve:1:\n"
                                    "user:carol@pam:1:\n"
                                    "token:carol@pam!token:\n"
                                    "\n"
                                    "group:testgroup1:joe@pve,max@pve,sue@pve:\n"
                                    "group:testgroup2:alex@pve,carol@pam,sue@pve:\n"
                                    "group:testgroup3:max@pve:\n"
                                    "\n"
                                    "role:storage_manager:Datastore.AllocateSpace,Datastore.Audit:\n"
                                    "role:customer:VM.Audit,VM.PowerMgmt:\n"
                                    "role:vm_admin:VM.Audit,VM.Allocate,VM.Console:\n"
                                    "\n"
                                    "acl:1:/vms:@testgroup1:vm_admin:\n"
                                    "acl:0:/vms/300:max@pve:customer:\n"
                                    "acl:1:/vms/300:max@pve:vm_admin:\n"
                                    "acl:1:/vms/100/:alex@pve,max@pve:customer:\n"
                                    "acl:1:/storage/nfs1:@testgroup2:storage_manager:\n"
                                    "acl:1:/access:max@pve:Administrator:\n"
                                    "\n"
                                    "acl:1:/vms/200:@testgroup3:storage_manager:\n"
                                    "acl:1:/vms/200:@testgroup2:NoAccess:\n"
                                    "\n"
                                    "acl:1:/vms/200:carol@pam!token:vm_admin\n"
                                    "acl:1:/vms/200:max@pve!token:storage_manager\n"
                                    "acl:1:/vms/200:max@pve!token2:customer\n"
                                    "\n"
                                    "acl:1:/vms/300:max@pve!token2:Administrator\n";

static const struct {
        const char *who, *path, *privs;
} proxmox_test8_perms[] = {
        { "max@pve", "/", "" },
        { "max@pve", "/vms", "vm_admin" },
        { "max@pve", "/vms/100", "customer" },
        { "max@pve", "/vms/101", "vm_admin" },
        { "alex@pve", "/vms", "" },
        { "alex@pve", "/vms/100", "customer" },
        { "max@pve", "/vms/200", "storage_manager" },
        { "joe@pve", "/vms/200", "vm_admin" },
        { "sue@pve", "/vms/200", "" },
        { "carol@pam", "/vms/200", "" },
        { "carol@pam!token", "/vms/200", "" },
        { "max@pve!token", "/vms/200", "storage_manager" },
        /* Its own customer role, none of which its user has there. */
        { "max@pve!token2", "/vms/200", "" },
        { "max@pve!token2", "/vms/300", "VM.Allocate,VM.Audit,VM.Console,VM.PowerMgmt" },
        { "max@pve", "/access/groups/x", "Administrator" },
};

START_TEST(test_proxmox_test8)
{
        _cleanup_(acl_config_freep) AclConfig *c = parse_ok(proxmox_test8);
        AclPrivSet got, want = privs_of(c, proxmox_test8_perms[_i].privs);

        ck_assert_int_eq(
                acl_permissions(c, proxmox_test8_perms[_i].who, proxmox_test8_perms[_i].path, 0, &got), 0);
        ck_assert_msg(got == want, "%s on %s: %#llx, expected %#llx", proxmox_test8_perms[_i].who,
                proxmox_test8_perms[_i].path, (unsigned long long) got, (unsigned long long) want);
}
END_TEST

START_TEST(test_permissions_invalid)
{
        _cleanup_(acl_config_freep) AclConfig *c = parse_ok(matrix_config);
        AclPrivSet s = 42;

        ck_assert_int_eq(acl_permissions(c, "alice", "/", 0, &s), -EINVAL);
        ck_assert_int_eq(acl_permissions(c, "alice@pve", "", 0, &s), -EINVAL);
        ck_assert_int_eq(acl_permissions(c, "alice@pve", "/vms/1 00", 0, &s), -EINVAL);
        ck_assert_int_eq(acl_check(c, "alice@pve!", "/", 0, ACL_PRIV_VM_AUDIT), -EINVAL);
        ck_assert(s == 42);
        ck_assert_int_eq(acl_check(c, "alice@pve", "/vms/100", 0, ACL_PRIV_VM_ALLOCATE), 1);
        ck_assert_int_eq(acl_check(c, "alice@pve", "/vms/100", 0, ACL_PRIV_SYS_AUDIT), 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("acl");
        TCase *tc = tcase_create("acl");

        tcase_add_test(tc, test_priv_names);
        tcase_add_loop_test(tc, test_builtin_roles, 0, ELEMENTSOF(builtin_privs));
        tcase_add_test(tc, test_builtin_role_list);
        tcase_add_loop_test(tc, test_ids, 0, ELEMENTSOF(ids));
        tcase_add_loop_test(tc, test_paths, 0, ELEMENTSOF(paths));
        tcase_add_test(tc, test_parse_every_line);
        tcase_add_test(tc, test_parse_lenient);
        tcase_add_test(tc, test_parse_root);
        tcase_add_test(tc, test_parse_warnings);
        tcase_add_loop_test(tc, test_parse_rejects, 0, ELEMENTSOF(bad));
        tcase_add_test(tc, test_format_canonical);
        tcase_add_loop_test(tc, test_round_trip, 0, ELEMENTSOF(round_trips));
        tcase_add_loop_test(tc, test_permissions, 0, ELEMENTSOF(matrix));
        tcase_add_loop_test(tc, test_proxmox_test8, 0, ELEMENTSOF(proxmox_test8_perms));
        tcase_add_test(tc, test_permissions_invalid);
        suite_add_tcase(s, tc);
        return run_suite(s);
}
