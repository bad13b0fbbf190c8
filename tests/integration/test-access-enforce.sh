#!/bin/bash
# The daemons enforce the privileges of access/user.cfg themselves: real uids
# in group berth (the bus lets them call) get what their ACL entries grant and
# nothing more, every denial names the path and the privilege and changes
# nothing, root@pam keeps everything, keys that reach into the host stay
# root's, and a change of the config counts without a restart.
. "$(dirname "$0")/lib.sh"

vmuser=bvm$$
auditor=baud$$
stranger=bstr$$
admin=badm$$
users=("$vmuser" "$auditor" "$stranger" "$admin")

remove_users() {
        local rc=$? u
        set +e
        for u in "${users[@]}"; do
                userdel "$u" 2>/dev/null
        done
        (exit $rc)
        cleanup
}
trap remove_users EXIT

groupadd -f berth
for u in "${users[@]}"; do
        useradd -M -N -g berth -s /usr/sbin/nologin "$u"
done

cfg_dir=$ROOT/var/lib/berth/store/access
mkdir -p "$cfg_dir"
# write_user_cfg LINES...: the access config, replaced at once as the store writes it.
write_user_cfg() {
        printf '%s\n' "$@" >"$cfg_dir/.new"
        mv "$cfg_dir/.new" "$cfg_dir/user.cfg"
}
base_cfg=(
        "user:$vmuser@pam:1:0::::::"
        "user:$auditor@pam:1:0::::::"
        "user:$admin@pam:1:0::::::"
        "acl:1:/:$auditor@pam:PVEAuditor:"
        "acl:1:/:$admin@pam:PVEVMAdmin:"
        "acl:1:/vms/100:$vmuser@pam:PVEVMUser:"
)
write_user_cfg "${base_cfg[@]}"

start_bus
start_stack
start_daemon berth-clusterd org.berth.cluster1

as() { # as USER COMMAND...
        local u=$1
        shift
        setpriv --reuid="$u" --regid=berth --init-groups "$@"
}
ubctl() { local u=$1; shift; as "$u" "$build/tools/berthctl/berthctl" "$@"; }
ubus() { local u=$1; shift; as "$u" busctl --address="$BERTH_BUS_ADDRESS" "$@"; }
list_vmids() { # list_vmids USER: the vmids ListGuests shows USER, one a line
        ubus "$1" --json=short call org.berth.guest1 /org/berth/guest1 org.berth.guest1.Manager ListGuests |
                python3 -c 'import json,sys; print("\n".join(str(g[0]) for g in json.load(sys.stdin)["data"][0]))'
}
resources() { # resources USER: the ids ListResources shows USER, one a line
        ubus "$1" --json=short call org.berth.cluster1 /org/berth/cluster1 org.berth.cluster1.Manager \
                ListResources 'sa{sv}' "" 0 |
                python3 -c 'import json,sys; print("\n".join(r["id"]["data"] for r in json.load(sys.stdin)["data"][0]))'
}

create_guest 100 "$(firmware_guest_config hundred)"
create_guest 101 "$(firmware_guest_config hundred-one)"
config_101=$(bctl config 101)

ubctl "$vmuser" start 100 >/dev/null || fail "$vmuser cannot start 100"
expect_prop 100 State running
ubctl "$vmuser" stop 100 >/dev/null || fail "$vmuser cannot stop 100"
expect_prop 100 State stopped
ok "a PVEVMUser of /vms/100 starts and stops 100"

expect_error "Permission check failed (/vms/101, VM.PowerMgmt)" ubctl "$vmuser" start 101
expect_error org.berth.Error.PermissionDenied ubctl "$vmuser" start 101
expect_error "Permission check failed (/vms/101, VM.PowerMgmt)" ubus "$vmuser" call org.berth.guest1 \
        /org/berth/guest1 org.berth.guest1.Manager StartGuest 'ua{sv}' 101 0
expect_prop 101 State stopped
ok "it may not start 101: PermissionDenied naming /vms/101 and VM.PowerMgmt, and 101 stays stopped"

[ "$(list_vmids "$vmuser")" = 100 ] || fail "$vmuser lists '$(list_vmids "$vmuser")'"
expect_error org.berth.Error.NoSuchGuest ubctl "$vmuser" status 101
expect_error "Unknown object" ubus "$vmuser" get-property org.berth.guest1 /org/berth/guest1/guest/101 \
        org.berth.guest1.Guest Config
managed=$(ubus "$vmuser" call org.berth.guest1 /org/berth/guest1 org.freedesktop.DBus.ObjectManager \
        GetManagedObjects)
case $managed in *guest/101*) fail "GetManagedObjects shows $vmuser guest 101" ;; esac
case $managed in *guest/100*) ;; *) fail "GetManagedObjects does not show $vmuser guest 100" ;; esac
ubctl "$vmuser" status 100 >/dev/null || fail "$vmuser cannot read 100"
ok "it sees only 100: in ListGuests, GetGuest, the properties and GetManagedObjects"

printf '%s\n' "$(firmware_guest_config new)" >"$T/new.conf"
expect_error "Permission check failed (/vms/102, VM.Allocate)" ubctl "$vmuser" create 102 --config "$T/new.conf"
expect_error org.berth.Error.NoSuchGuest bctl status 102
ok "it may not create a guest"

expect_error "Only root and berth-gateway may set the 'user' option" ubus "$vmuser" call org.berth.guest1 \
        /org/berth/guest1 org.berth.guest1.Manager StartGuest 'ua{sv}' 100 1 user s root@pam
expect_prop 100 State stopped
expect_error "Permission check failed (/vms/101, VM.PowerMgmt)" bbus call org.berth.guest1 \
        /org/berth/guest1 org.berth.guest1.Manager StartGuest 'ua{sv}' 101 1 user s "$vmuser@pam"
expect_prop 101 State stopped
ok "the 'user' option is refused from another uid, and honoured from root"

[ "$(list_vmids "$auditor")" = "$(printf '100\n101')" ] || fail "$auditor lists '$(list_vmids "$auditor")'"
[ "$(ubctl "$auditor" config 101)" = "$config_101" ] || fail "$auditor cannot read the config of 101"
expect_error "Permission check failed (/vms/101, VM.PowerMgmt)" ubctl "$auditor" start 101
printf '%s\n' "$(firmware_guest_config renamed)" >"$T/renamed.conf"
expect_error "Permission check failed (/vms/101, VM.Config.Options)" \
        ubctl "$auditor" set-config 101 --config "$T/renamed.conf"
expect_error "Permission check failed (/vms/101, VM.Allocate)" ubctl "$auditor" destroy 101
expect_prop 101 State stopped
[ "$(bctl config 101)" = "$config_101" ] || fail "a refused call changed the config of 101"
ok "a PVEAuditor of / reads every guest and changes none"

[ -z "$(list_vmids "$stranger")" ] || fail "$stranger lists '$(list_vmids "$stranger")'"
expect_error org.berth.Error.NoSuchGuest ubctl "$stranger" status 100
expect_error "Permission check failed (/vms/100, VM.PowerMgmt)" ubctl "$stranger" start 100
expect_prop 100 State stopped
ok "a user the config does not name gets nothing"

wait_until "clusterd lists both guests" eval '[ "$(resources root)" = "$(printf "node/testnode\nqemu/100\nqemu/101")" ]'
[ "$(resources "$vmuser")" = qemu/100 ] || fail "$vmuser has the resources '$(resources "$vmuser")'"
[ "$(resources "$auditor")" = "$(resources root)" ] || fail "$auditor has the resources '$(resources "$auditor")'"
[ -z "$(resources "$stranger")" ] || fail "$stranger has the resources '$(resources "$stranger")'"
expect_error "Permission check failed (/vms, VM.Allocate)" ubus "$vmuser" call org.berth.cluster1 \
        /org/berth/cluster1 org.berth.cluster1.Manager NextId 'a{sv}' 0
ubus "$admin" call org.berth.cluster1 /org/berth/cluster1 org.berth.cluster1.Manager NextId 'a{sv}' 0 \
        >/dev/null || fail "$admin cannot reserve a vmid"
ok "clusterd lists what each may audit, and reserves vmids for who may create guests"

printf '%s\nhookscript: /bin/true\n' "$(firmware_guest_config hook)" >"$T/hook.conf"
printf '%s\nkernel: /etc/shadow\n' "$(firmware_guest_config kernel)" >"$T/kernel.conf"
expect_error "Only root@pam may set 'hookscript'" ubctl "$admin" create 103 --config "$T/hook.conf"
expect_error "Only root@pam may set 'kernel'" ubctl "$admin" create 103 --config "$T/kernel.conf"
ubctl "$admin" create 104 --config "$T/new.conf" >/dev/null || fail "$admin cannot create a plain guest"
expect_error "Only root@pam may set 'kernel'" ubctl "$admin" set-config 104 --config "$T/kernel.conf"
expect_error org.berth.Error.NoSuchGuest bctl status 103
bctl set-config 104 --config "$T/kernel.conf" || fail "root cannot set kernel"
printf '%s\nkernel: /boot/other\n' "$(firmware_guest_config kernel)" >"$T/kernel2.conf"
expect_error "Only root@pam may set 'kernel'" ubctl "$admin" set-config 104 --config "$T/kernel2.conf"
bctl config 104 | grep -qx 'kernel: /etc/shadow' || fail "a refused change of kernel changed it"
ok "hookscript and kernel are root@pam's, even for a VM.Allocate and VM.Config.* of /"

printf '%s\ndisk0: local:100/vm-100-disk-0.qcow2\n' "$(firmware_guest_config borrow)" >"$T/borrow.conf"
printf '%s\ndisk0: local:106/vm-106-disk-0.qcow2\n' "$(firmware_guest_config own)" >"$T/own.conf"
expect_error "Permission check failed (/storage/local, Datastore.Allocate)" \
        ubctl "$admin" create 105 --config "$T/borrow.conf"
expect_error "Permission check failed (/storage/local, Datastore.AllocateSpace)" \
        ubctl "$admin" create 106 --config "$T/own.conf"
expect_error org.berth.Error.NoSuchGuest bctl status 105
ok "a disk of another guest needs Datastore.Allocate, a new one of its own Datastore.AllocateSpace"

write_user_cfg "${base_cfg[@]}" "acl:1:/storage/local:$admin@pam:PVEDatastoreUser:"
wait_until "a granted Datastore.AllocateSpace counts" eval 'ubctl "$admin" create 106 --config "$T/own.conf" >/dev/null 2>&1'
expect_error "Permission check failed (/storage/local, Datastore.Allocate)" \
        ubctl "$admin" create 105 --config "$T/borrow.conf"
write_user_cfg "${base_cfg[@]}" "acl:1:/storage/local:$admin@pam:PVEDatastoreAdmin:"
wait_until "a granted Datastore.Allocate counts" eval 'ubctl "$admin" create 105 --config "$T/borrow.conf" >/dev/null 2>&1'
ok "a change of user.cfg counts without a restart"

bctl start 101 >/dev/null || fail "root cannot start 101"
bctl stop 101 >/dev/null || fail "root cannot stop 101"
bctl set-config 101 --config "$T/renamed.conf" || fail "root cannot change 101"
bctl destroy 101 || fail "root cannot destroy 101"
ok "root@pam still does everything"

finish
