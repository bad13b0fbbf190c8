#!/bin/bash
# Every bad input gets its named error and changes nothing.
. "$(dirname "$0")/lib.sh"

start_bus
start_stack

create_guest 200 "$(firmware_guest_config errors)"
digest=$(prop 200 Digest)
config_before=$(bctl config 200)

expect_error org.berth.Error.NoSuchGuest bctl status 201
expect_error org.berth.Error.NoSuchGuest bctl start 201
expect_error "VMID 99 is out of range" bbus call org.berth.guest1 /org/berth/guest1 org.berth.guest1.Manager GetGuest u 99
ok "unknown vmid, vmid out of range"

expect_error org.berth.Error.GuestExists create_guest 200 "$(firmware_guest_config other)"
expect_error org.berth.Error.InvalidConfig create_guest 202 "memory: lots"
expect_error org.berth.Error.InvalidConfig create_guest 203 "$(printf 'name: x\nfrobnicate: 1')"
expect_error org.berth.Error.NoSuchGuest bctl status 202
expect_error org.berth.Error.NoSuchGuest bctl status 203
[ "$(bctl config 200)" = "$config_before" ] || fail "config of 200 changed"
ok "duplicate create, invalid value, unknown key: nothing created or changed"

expect_error org.berth.Error.NotRunning bctl shutdown 200
expect_error org.berth.Error.NotRunning bctl stop 200
expect_error org.berth.Error.NotRunning bctl suspend 200
expect_error org.berth.Error.NotRunning bctl resume 200
expect_error "Option 'timeout' has the wrong type" bbus call org.berth.guest1 /org/berth/guest1 org.berth.guest1.Manager StartGuest 'ua{sv}' 200 1 timeout s soon
expect_prop 200 State stopped
ok "acting on a stopped guest, an option of the wrong type"

bctl start 200 >/dev/null
expect_error org.berth.Error.AlreadyRunning bctl start 200
expect_error org.berth.Error.AlreadyRunning bctl destroy 200
expect_error "Unknown option 'bogus'" bbus call org.berth.guest1 /org/berth/guest1 org.berth.guest1.Manager StartGuest 'ua{sv}' 200 1 bogus b true
expect_prop 200 State running
ok "start of a running guest, destroy of a running one, unknown option"

bctl stop 200 >/dev/null
printf '%s\nlock: backup\n' "$(firmware_guest_config errors)" >"$T/locked.conf"
bctl set-config 200 --config "$T/locked.conf" --digest "$digest" || fail "set-config failed"
expect_prop 200 Lock backup
expect_error org.berth.Error.Locked bctl start 200
expect_error org.berth.Error.Locked bctl destroy 200
expect_prop 200 State stopped
ok "a locked guest neither starts nor is destroyed"

expect_error org.berth.Error.DigestMismatch bctl set-config 200 --config "$T/locked.conf" --digest "$digest"
printf 'memory: 0\n' >"$T/bad.conf"
expect_error org.berth.Error.InvalidConfig bctl set-config 200 --config "$T/bad.conf"
expect_prop 200 Lock backup
ok "a stale digest and an invalid config are refused"

finish
