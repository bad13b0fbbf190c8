/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Access control figures, each against a baseline measured in the same run:
 *   - one permission check (acl_check) with ACCESS_ENTRIES ACL entries, 500
 *     users in 10 groups, vs a guest property read round trip (its share);
 *   - Authenticate in the berth realm (a yescrypt hash) vs the bus daemon's
 *     own GetId round trip.
 * Usage: bench-access USER PASSWORD VMID (BERTH_BUS_ADDRESS set; guestd with guest
 * VMID and accessd running, USER a berth realm user with PASSWORD).
 * With --config, prints the user.cfg of the benchmark instead and exits.
 */
#include <stdio.h>
#include <stdlib.h>

#include "acl.h"
#include "alloc.h"
#include "bench.h"
#include "bus.h"

#define ACCESS_ENTRIES 1000
#define USERS 500
#define GROUPS 10
#define CHECKS 200000

static char *make_config(void)
{
        _cleanup_free_ char *text = xstrdup("");

        for (unsigned u = 0; u < USERS; u++) {
                char *t = xasprintf("%suser:user%u@pve:1:0::::::\n", text, u);
                free(text);
                text = t;
        }
        for (unsigned g = 0; g < GROUPS; g++) {
                _cleanup_free_ char *members = xstrdup("");
                for (unsigned u = g; u < USERS; u += GROUPS) {
                        char *m = xasprintf("%s%suser%u@pve", members, *members ? "," : "", u);
                        free(members);
                        members = m;
                }
                char *t = xasprintf("%sgroup:group%u:%s::\n", text, g, members);
                free(text);
                text = t;
        }
        /* Half the entries for users on their own guests, half for groups on ranges of them. */
        for (unsigned i = 0; i < ACCESS_ENTRIES; i++) {
                char *t = i % 2
                        ? xasprintf("%sacl:1:/vms/%u:user%u@pve:PVEVMUser:\n", text, 1000 + i, i % USERS)
                        : xasprintf("%sacl:1:/vms/%u:@group%u:PVEAuditor:\n", text, 1000 + i, i % GROUPS);
                free(text);
                text = t;
        }
        return TAKE_PTR(text);
}

static uint64_t time_checks(const AclConfig *c, const char *user, const char *path)
{
        uint64_t start = now_ns();
        int allowed = 0;

        for (unsigned i = 0; i < CHECKS; i++)
                allowed += acl_check(c, user, path, 0, ACL_PRIV_VM_AUDIT) == 1;
        uint64_t ns = (now_ns() - start) / CHECKS;
        if (allowed != CHECKS)
                bench_die("the benchmark's user may not audit its guest", -EPERM);
        return ns;
}

int main(int argc, char *argv[])
{
        _cleanup_(acl_config_freep) AclConfig *c = NULL;
        _cleanup_free_ char *text = make_config(), *path = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (argc == 2 && streq(argv[1], "--config")) {
                fputs(text, stdout);
                return 0;
        }
        if (argc != 4)
                bench_die("usage: bench-access USER PASSWORD VMID | --config", -EINVAL);
        r = acl_config_parse(text, &c, NULL);
        if (r < 0)
                bench_die("parse", r);
        /* user1 has PVEVMUser on /vms/1001; group1, its group, is not named on that path. */
        uint64_t check = time_checks(c, "user1@pve", "/vms/1001");

        r = bus_open(NULL, &bus);
        if (r < 0)
                bench_die("bus", r);
        path = xasprintf("/org/berth/guest1/guest/%s", argv[3]);
        uint64_t get = bench_time_calls(bus, 2000, "org.berth.guest1", path,
                "org.freedesktop.DBus.Properties", "Get", "ss", "org.berth.guest1.Guest", "State");
        printf("permission check with %d ACL entries: %.2f µs; guest property read %.1f µs (the check is "
               "%.1f%% of it)\n",
                ACCESS_ENTRIES, check / 1e3, get / 1e3, 100.0 * (double) check / (double) get);

        uint64_t ping = bench_time_calls(bus, 200, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                "org.freedesktop.DBus", "GetId", NULL);
        uint64_t login = bench_time_calls(bus, 50, "org.berth.access1", "/org/berth/access1",
                "org.berth.access1.Manager", "Authenticate", "ssa{sv}", argv[1], argv[2], 0);
        printf("Authenticate (berth realm, yescrypt): median %.2f ms; bus daemon GetId %.1f µs (ratio "
               "%.0f)\n",
                login / 1e6, ping / 1e3, (double) login / (double) ping);
        return 0;
}
