#!/bin/bash
# kill -9 of guestd never stops a guest: the restarted daemon re-attaches to it.
. "$(dirname "$0")/lib.sh"

start_bus
start_stack

create_guest 400 "$(os_guest_config restart)"
create_guest 401 "$(firmware_guest_config gone)"
bctl start 400 >/dev/null
bctl start 401 >/dev/null
pid=$(prop 400 Pid)
run=$(prop 400 RunId)
gone=$(prop 401 Pid)
bctl suspend 401 >/dev/null

stop_daemon berth-guestd KILL
kill -0 "$pid" || fail "guest QEMU died with guestd"
# While guestd is down, one QEMU dies: the new guestd must notice, cleanupd tidies up.
kill -KILL "$gone"
start_daemon berth-guestd org.berth.guest1
ok "guestd killed and restarted"

expect_prop 400 State running
expect_prop 400 Pid "$pid"
expect_prop 400 RunId "$run"
expect_prop 401 State stopped
wait_until "cleanupd removed the dead guest's runtime files" test ! -e "$ROOT/run/berth/qemu/401"
ok "re-attached to the running guest; the dead one shows stopped, cleaned up"

wait_guest_up 400
out=$(bctl shutdown 400 --timeout 60) || fail "shutdown after re-attach failed: $out"
case $out in *"did not shut down"*) fail "shutdown was forced: $out" ;; esac
expect_prop 400 State stopped
ok "the re-attached guest shuts down through QMP"

bctl start 401 >/dev/null
bctl suspend 401 >/dev/null
stop_daemon berth-guestd TERM
start_daemon berth-guestd org.berth.guest1
expect_prop 401 State paused
bctl stop 401 >/dev/null
ok "a paused guest is seen paused after a restart"

finish
