#!/bin/bash
# What guestd keeps in the store for the rest of the cluster: the vmid index guests/<vmid>, the
# config, and nodes/<node>/qemu-status/<vmid>, which follows the guest's every state.
. "$(dirname "$0")/lib.sh"

store=$ROOT/var/lib/berth/store
config_file() { echo "$store/nodes/testnode/qemu/$1.conf"; }
status_file() { echo "$store/nodes/testnode/qemu-status/$1"; }
status_is() { [ "$(cat "$(status_file "$1")" 2>/dev/null)" = "$2" ]; }
stopped='{"state":"stopped","pid":0,"run-id":"","start-time":0}'

# put_by_hand KEY VALUE: a value written into the store as an operator or another node would, atomically:
# a temp file in the same directory (a name the store never takes for a key), then a rename.
put_by_hand() {
        local f=$store/$1 tmp
        mkdir -p "$(dirname "$f")"
        tmp=$(mktemp "$(dirname "$f")/.by-hand.XXXXXX")
        printf '%s' "$2" >"$tmp"
        mv "$tmp" "$f"
}

# expect_create_error VMID TEXT...: creating the guest fails, and the error says each TEXT.
expect_create_error() {
        local vmid=$1 out t
        shift
        if out=$(create_guest "$vmid" "$(firmware_guest_config keys-$vmid)" 2>&1); then
                fail "creating guest $vmid succeeded"
        fi
        for t in "$@"; do
                case $out in *"$t"*) ;; *) fail "creating guest $vmid failed with '$out', expected '$t'" ;; esac
        done
}

# The QEMU's start in seconds since the epoch, as the kernel counts it: boot time plus clock ticks.
qemu_start_time() {
        local ticks btime
        ticks=$(awk '{ print $22 }' "/proc/$1/stat")
        btime=$(awk '$1 == "btime" { print $2 }' /proc/stat)
        echo $((btime + ticks / $(getconf CLK_TCK)))
}

start_bus
start_stack

create_guest 500 "$(firmware_guest_config keys)"
[ "$(cat "$store/guests/500")" = testnode ] || fail "guests/500 is '$(cat "$store/guests/500")', expected testnode"
[ "$(cat "$(config_file 500)")" = "$(firmware_guest_config keys)" ] || fail "config of 500 not in the store"
wait_until "the status of 500 says stopped" status_is 500 "$stopped"
ok "create: the index names this node, the config and a stopped status are in the store"

put_by_hand guests/501 othernode
expect_create_error 501 org.berth.Error.GuestExists "Guest 501 already exists on node othernode"
[ "$(cat "$store/guests/501")" = othernode ] || fail "guests/501 changed to '$(cat "$store/guests/501")'"
[ ! -e "$(config_file 501)" ] || fail "a config of 501 was written"
[ ! -e "$(status_file 501)" ] || fail "a status of 501 was written"
expect_error org.berth.Error.NoSuchGuest bctl status 501
ok "a vmid another node holds: GuestExists naming that node, nothing written"

put_by_hand guests/502 testnode
expect_create_error 502 org.berth.Error.GuestExists "Guest 502 already exists"
case $(create_guest 502 "$(firmware_guest_config keys-502)" 2>&1) in
*"on node"*) fail "a vmid of this node was reported as another node's" ;;
esac
[ ! -e "$(config_file 502)" ] || fail "a config of 502 was written"
expect_create_error 500 org.berth.Error.GuestExists "Guest 500 already exists"
ok "a vmid this node holds: GuestExists, nothing written"

bctl start 500 >/dev/null || fail "start failed"
wait_until "guest 500 runs" state_is 500 running
pid=$(prop 500 Pid)
run=$(prop 500 RunId)
running="{\"state\":\"running\",\"pid\":$pid,\"run-id\":\"$run\",\"start-time\":$(qemu_start_time "$pid")}"
wait_until "the status of 500 says running" status_is 500 "$running"
ok "start: the status has the state, QEMU's pid and start time, the run id"

bctl suspend 500 >/dev/null || fail "suspend failed"
wait_until "the status of 500 says paused" status_is 500 "${running/running/paused}"
bctl resume 500 >/dev/null || fail "resume failed"
wait_until "the status of 500 says running again" status_is 500 "$running"
ok "suspend and resume: the status follows"

bctl stop 500 >/dev/null || fail "stop failed"
wait_until "the status of 500 says stopped" status_is 500 "$stopped"
ok "stop: the status says stopped, without a QEMU"

bctl start 500 >/dev/null || fail "second start failed"
wait_until "guest 500 runs" state_is 500 running
pid=$(prop 500 Pid)
kill -KILL "$pid"
wait_until "the status of 500 says stopped after QEMU died" status_is 500 "$stopped"
ok "a QEMU that dies: the status says stopped"

bctl destroy 500 || fail "destroy failed"
[ ! -e "$(config_file 500)" ] || fail "config of 500 left in the store"
[ ! -e "$store/guests/500" ] || fail "guests/500 left in the store"
[ ! -e "$(status_file 500)" ] || fail "status of 500 left in the store"
ok "destroy removes the config, the index entry and the status"

create_guest 506 "$(firmware_guest_config keys-506)"
wait_until "the status of 506 says stopped" status_is 506 "$stopped"
rm "$(config_file 506)"
wait_until "guest 506 is gone with its config" sh -c "! bctl status 506 >/dev/null 2>&1"
wait_until "the status of 506 is removed" test ! -e "$(status_file 506)"
ok "a config removed from the store takes the guest's status with it"

create_guest 503 "$(firmware_guest_config keys-503)"
create_guest 505 "$(firmware_guest_config keys-505)"
bctl start 505 >/dev/null || fail "start of 505 failed"
wait_until "guest 505 runs" state_is 505 running
pid=$(prop 505 Pid)
running="{\"state\":\"running\",\"pid\":$pid,\"run-id\":\"$(prop 505 RunId)\",\"start-time\":$(qemu_start_time "$pid")}"
put_by_hand nodes/testnode/qemu-status/503 '{"state":"running","pid":1,"run-id":"stale","start-time":1}'
put_by_hand nodes/testnode/qemu-status/505 "$stopped"
put_by_hand nodes/testnode/qemu-status/504 '{"state":"running","pid":1,"run-id":"gone","start-time":1}'
stop_daemon berth-guestd
start_daemon berth-guestd org.berth.guest1
wait_until "the status of the vanished guest 504 is removed" test ! -e "$(status_file 504)"
wait_until "the status of 503 is written again" status_is 503 "$stopped"
wait_until "the status of the re-attached 505 is written again" status_is 505 "$running"
expect_prop 503 State stopped
expect_prop 505 State running
ok "guestd's restart writes every status, re-attached QEMUs' too, and removes that of a vanished guest"

finish
