#!/bin/bash
# The host-shutdown policy engine through Manager.Preserve, on firmware-only
# guests (they ignore ACPI, so every shutdown step runs into its timeout):
# step fallback, reverse startup order, the parallel limit, per-guest and
# berth.conf settings, cancelling, SIGTERM during a preserve, and guestd
# without logind on the bus.
. "$(dirname "$0")/lib.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
manager_prop() { bbus get-property org.berth.guest1 /org/berth/guest1 org.berth.guest1.Manager "$1" | cut -d' ' -f2-; }
preserve_log() { bctl task log "$(bctl task list | awk '/:preserve:/ { print $1 }' | tail -n1)"; }
# line_of PATTERN: the number of the first line of the last preserve's log matching it.
line_of() { preserve_log | grep -n -m1 -- "$1" | cut -d: -f1; }
task_logged() { bctl task log "$1" | grep -q -- "$2"; }
task_ended() { task_logged "$1" '^TASK'; }
start_all() { for v in "$@"; do bctl start "$v" >/dev/null || fail "start $v failed"; done; }

start_bus
start_stack

create_guest 201 "$(firmware_guest_config first)
startup: order=1"
create_guest 202 "$(firmware_guest_config second-a)
startup: order=2"
create_guest 203 "$(firmware_guest_config second-b)
startup: order=2"
start_all 201 202 203
[ "$(manager_prop Inhibited)" = false ] || fail "Inhibited without logind on the bus"
[ "$(manager_prop ShuttingDown)" = false ] || fail "ShuttingDown without a shutdown"
bctl stop 203 >/dev/null
bctl start 203 >/dev/null
n=$(grep -c "Cannot take a shutdown inhibitor" "$T/logs/berth-guestd.log")
[ "$n" -eq 1 ] || fail "the missing inhibitor was logged $n times, not once"
ok "without logind guestd runs guests, not inhibiting, and says so once"

expect_error org.berth.Error.InvalidArgument bctl host-shutdown --preserve --policy save,hibernate
expect_error org.berth.Error.InvalidArgument bctl host-shutdown --preserve --parallel 1025
expect_error "Invalid shutdown-timeout 86401" bbus call org.berth.guest1 /org/berth/guest1 \
        org.berth.guest1.Manager Preserve 'a{sv}' 1 shutdown-timeout u 86401
expect_error "Unknown option 'timeout'" bbus call org.berth.guest1 /org/berth/guest1 \
        org.berth.guest1.Manager Preserve 'a{sv}' 1 timeout u 5
bctl host-shutdown >/dev/null 2>&1 && fail "host-shutdown without --preserve succeeded"
for v in 201 202 203; do expect_prop $v State running; done
ok "bad Preserve options are refused and change nothing"

start=$(now_ms)
out=$(bctl host-shutdown --preserve --policy shutdown,poweroff --timeout 2 --parallel 8) || fail "preserve failed: $out"
took=$(($(now_ms) - start))
[ "$out" = "3 of 3 guests preserved: 0 saved, 0 shut down, 3 powered off, 0 not running" ] || fail "result: $out"
for v in 201 202 203; do expect_prop $v State stopped; done
preserve_log | grep -q "TASK WARNINGS" || fail "a preserve that fell back to poweroff did not end with warnings"
a=$(line_of "Guest 202: shutdown (") b=$(line_of "Guest 203: shutdown (")
a_done=$(line_of "Guest 202: poweroff done") b_done=$(line_of "Guest 203: poweroff done")
first=$(line_of "Guest 201: shutdown (")
[ "$a" -lt "$b_done" ] && [ "$b" -lt "$a_done" ] || fail "the guests of order 2 did not shut down together"
[ "$first" -gt "$a_done" ] && [ "$first" -gt "$b_done" ] || fail "order 1 began before order 2 was done"
# Two groups, each a 2 s shutdown timeout then a poweroff.
[ "$took" -ge 4000 ] || fail "preserve at parallel 8 took only $took ms"
ok "shutdown times out after 2 s, poweroff follows; order 2 before order 1, in parallel ($took ms)"

start_all 201 202 203
start=$(now_ms)
bctl host-shutdown --preserve --policy shutdown,poweroff --timeout 2 --parallel 1 >/dev/null || fail "preserve failed"
took=$(($(now_ms) - start))
[ "$(line_of "Guest 203: shutdown (")" -gt "$(line_of "Guest 202: poweroff done")" ] ||
        fail "at parallel 1 two guests were shut down at once"
[ "$took" -ge 6000 ] || fail "three guests one at a time took only $took ms"
ok "parallel 1: one guest at a time ($took ms)"

# berth.conf gives the default; a guest's own shutdown-policy and down= win over it.
mkdir -p "$ROOT/etc/berth"
printf 'shutdown-policy: poweroff\nshutdown-timeout: 30\n' >"$ROOT/etc/berth/berth.conf"
create_guest 204 "$(firmware_guest_config own)
shutdown-policy: shutdown,poweroff
startup: down=1"
start_all 201 204
bctl suspend 201 >/dev/null
create_guest 205 "$(firmware_guest_config paused)
shutdown-policy: shutdown,poweroff"
start_all 205
bctl suspend 205 >/dev/null
expect_prop 205 State paused
out=$(bctl host-shutdown --preserve) || fail "preserve failed: $out"
preserve_log | grep -q "Guest 201: policy poweroff, order 1, timeout 30 s" || fail "berth.conf's policy not used for 201"
preserve_log | grep -q "Guest 204: policy shutdown,poweroff, order -1, timeout 1 s" ||
        fail "the guest's own policy and down= not used for 204"
preserve_log | grep -q "Guest 204: shutdown failed after 1\." || fail "204's shutdown did not time out after 1 s: $(preserve_log)"
preserve_log | grep -q "Guest 205: shutdown (" && fail "the paused guest was asked to shut down by ACPI"
for v in 201 204 205; do expect_prop $v State stopped; done
rm "$ROOT/etc/berth/berth.conf"
ok "berth.conf's policy, the guest's own policy and down=, a paused guest powered off at once"

start_all 201 202
upid=$(bctl host-shutdown --preserve --policy shutdown,poweroff --timeout 30 --parallel 1 --no-wait)
expect_error org.berth.Error.Busy bctl host-shutdown --preserve
task=$(bbus call org.berth.guest1 /org/berth/guest1 org.berth.Tasks1 GetTask s "$upid" | cut -d'"' -f2)
wait_until "the preserve asks 202 to shut down" task_logged "$upid" "Guest 202: shutdown ("
bbus call org.berth.guest1 "$task" org.berth.Task1 Cancel || fail "cancel failed"
wait_until "the cancelled preserve ends" task_ended "$upid"
bctl task log "$upid" | grep -q "^TASK CANCELLED" || fail "the preserve did not end cancelled: $(bctl task log "$upid")"
expect_prop 201 State running
expect_prop 202 State running
ok "a second preserve is refused while one runs; cancelling leaves the guests not yet stopped running"

# SIGTERM while preserving: guestd finishes the preserve, then exits. The shutdown timeout
# is long; the test ends each guest's shutdown itself by killing its QEMU, as if the guest
# had obeyed, so the preserve is still under way for as long as the test needs it to be.
upid=$(bctl host-shutdown --preserve --policy shutdown,poweroff --timeout 600 --parallel 1 --no-wait)
wait_until "the preserve asks 202 to shut down" task_logged "$upid" "Guest 202: shutdown ("
pid=$(cat "$T/berth-guestd.pid")
mark=$(log_size berth-guestd)
kill -TERM "$pid"
wait_until "guestd answers SIGTERM by finishing the preserve" \
        logged_since berth-guestd "$mark" "Preserving guests before exiting (0 of 2 done)"
kill -TERM "$pid"
wait_until "guestd takes a second SIGTERM as the first" \
        logged_since berth-guestd "$mark" "Received Terminated: still preserving guests (0 of 2 done)"
running "$pid" || fail "guestd exited on SIGTERM before the guests were preserved"
kill -KILL "$(qemu_pid 202)"
wait_until "the preserve asks 201 to shut down" task_logged "$upid" "Guest 201: shutdown ("
running "$pid" || fail "guestd exited on SIGTERM with one guest still to preserve"
kill -KILL "$(qemu_pid 201)"
wait_until "guestd exits after the preserve" exited "$pid"
log=$ROOT/var/log/berth/tasks/$upid
grep -q "^Guest 202: shutdown done" "$log" && grep -q "^Guest 201: shutdown done" "$log" &&
        [ "$(tail -n1 "$log")" = "TASK OK" ] || fail "the preserve log does not end preserved: $(cat "$log")"
[ -z "$(ls "$ROOT/run/berth/qemu")" ] || fail "QEMU left running: $(ls "$ROOT/run/berth/qemu")"
ok "SIGTERM during a preserve: guestd preserves every guest first, then exits"

start_daemon berth-guestd org.berth.guest1
# A guest busy with another operation is taken up again the moment that operation ends.
start_all 201
shutdown=$(bctl shutdown 201 --timeout 2 --no-force-stop --no-wait)
bctl host-shutdown --preserve --policy poweroff >/dev/null || fail "preserve of a busy guest failed"
task_ended "$shutdown" || fail "the preserve did not wait for the guest's own shutdown"
preserve_log | grep -q "Guest 201 is busy with another operation" || fail "busy guest not waited for: $(preserve_log)"
expect_prop 201 State stopped
ok "a preserve waits for a busy guest's operation, then stops it"

start_all 201
qemu=$(prop 201 Pid)
stop_daemon berth-guestd TERM
kill -0 "$qemu" || fail "SIGTERM without a shutdown stopped guest 201"
start_daemon berth-guestd org.berth.guest1
expect_prop 201 State running
bctl stop 201 >/dev/null
ok "SIGTERM without a shutdown leaves the guests running"

finish
