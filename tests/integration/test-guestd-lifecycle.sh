#!/bin/bash
# A real OS guest through its whole life, driven with berthctl as an operator would.
. "$(dirname "$0")/lib.sh"

start_bus
start_stack

create_guest 100 "$(os_guest_config lifecycle)"
expect_prop 100 State stopped
ok "created guest is stopped"

bctl start 100 >/dev/null || fail "start failed"
expect_prop 100 State running
pid=$(prop 100 Pid)
[ "$pid" -gt 0 ] && kill -0 "$pid" || fail "no QEMU process behind pid '$pid'"
[ -n "$(prop 100 RunId)" ] || fail "running guest has no run id"
ok "start: running, QEMU $pid"

wait_guest_up 100
start=$(date +%s%N)
out=$(bctl shutdown 100 --timeout 60) || fail "shutdown failed: $out"
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_prop 100 State stopped
kill -0 "$pid" 2>/dev/null && fail "QEMU $pid still runs after shutdown"
[ ! -e "$ROOT/run/berth/qemu/100" ] || fail "runtime files left after shutdown"
# A graceful shutdown is not a forced stop; how long it takes is for bench/, not a test.
case $out in *"did not shut down"*) fail "shutdown was forced: $out" ;; esac
ok "shutdown: the guest powered off by itself in $took ms"

bctl start 100 >/dev/null
wait_guest_up 100
bctl suspend 100 >/dev/null || fail "suspend failed"
expect_prop 100 State paused
bctl resume 100 >/dev/null || fail "resume failed"
expect_prop 100 State running
ok "suspend pauses, resume continues"

bctl suspend 100 --to-disk >/dev/null || fail "suspend to disk failed"
expect_prop 100 State suspended
expect_prop 100 Lock suspended
vmstate=$(bctl config 100 | sed -n 's/^vmstate: //p')
[ -n "$vmstate" ] || fail "no vmstate in the config of a suspended guest"
state_file=$ROOT/var/lib/berth/images/${vmstate#local:}
[ -s "$state_file" ] || fail "state file $state_file missing"
[ ! -e "$ROOT/run/berth/qemu/100" ] || fail "QEMU of a suspended guest still has runtime files"
expect_error org.berth.Error.Locked bctl shutdown 100
ok "suspend to disk: state saved to $vmstate, QEMU gone"

bctl resume 100 >/dev/null || fail "resume from disk failed"
expect_prop 100 State running
expect_prop 100 Lock ""
[ ! -e "$state_file" ] || fail "state file kept after restore"
bctl config 100 | grep -q '^vmstate:' && fail "vmstate still in config after restore"
# The restored guest is the same running OS: it still answers the power button.
out=$(bctl shutdown 100 --timeout 60) || fail "shutdown of the restored guest failed"
case $out in *"did not shut down"*) fail "restored guest ignored the power button: $out" ;; esac
expect_prop 100 State stopped
ok "resume restores the saved guest, which still powers off on ACPI"

bctl start 100 >/dev/null
bctl stop 100 >/dev/null || fail "stop failed"
expect_prop 100 State stopped
ok "stop"

bctl reboot 100 >/dev/null 2>&1 && fail "reboot of a stopped guest succeeded"
bctl start 100 >/dev/null
wait_guest_up 100
old_run=$(prop 100 RunId)
bctl reboot 100 --timeout 60 >/dev/null || fail "reboot failed"
expect_prop 100 State running
[ "$(prop 100 RunId)" != "$old_run" ] || fail "reboot kept the run id"
bctl stop 100 >/dev/null
ok "reboot: a new run"

upid=$(bctl start 100 --no-wait)
case $upid in UPID:testnode:guestd:*:qmstart:100:root@pam:) ;; *) fail "bad UPID '$upid'" ;; esac
wait_until "the started guest runs" state_is 100 running
bctl task log "$upid" | grep -q "TASK OK" || fail "task log of $upid has no TASK OK"
bctl stop 100 >/dev/null
ok "task log by UPID"

bctl destroy 100 || fail "destroy failed"
expect_error org.berth.Error.NoSuchGuest bctl status 100
[ ! -e "$ROOT/var/lib/berth/store/nodes/testnode/qemu/100.conf" ] || fail "config left in the store"
ok "destroy"

finish
