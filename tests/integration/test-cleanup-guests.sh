#!/bin/bash
# Real QEMU guests, guestd and cleanupd together: every way a run can end is
# cleaned exactly once (post-stop hook once, runtime files gone), the hooks run
# in their phases, and restarts of either daemon neither stop nor clean a guest.
. "$(dirname "$0")/lib.sh"

HOOK_LOG=$T/hook.log
touch "$HOOK_LOG"
# Records "<vmid> <phase> <run id> <reason>" per call; behaves as the files beside it say.
cat >"$T/hook.sh" <<'HOOK'
#!/bin/sh
dir=${0%/*}
echo "$1 $2 $BERTH_RUN_ID $BERTH_STOP_REASON" >>"$dir/hook.log"
[ -e "$dir/fail-$2" ] && exit 1
[ -e "$dir/hang-$2" ] && exec sleep 613.25
[ -e "$dir/slow-$2" ] && sleep 2
exit 0
HOOK
chmod 755 "$T/hook.sh"

hook_count() { # hook_count VMID PHASE [RUN-ID]
        grep -c "^$1 $2 ${3:-}" "$HOOK_LOG" || true
}

expect_hooks() { # expect_hooks VMID PHASE RUN-ID COUNT
        local n
        n=$(hook_count "$1" "$2" "$3")
        [ "$n" = "$4" ] || fail "$2 hook of guest $1 run '$3' ran $n times, expected $4 ($(cat "$HOOK_LOG"))"
}

ledger_state() { sed -n 's/^state=//p' "$ROOT/run/berth/cleanup/$1.run" 2>/dev/null; }
ledger_is() { [ "$(ledger_state "$1")" = "$2" ]; }
hook_ran() { [ "$(hook_count "$1" "$2" "$3")" -ge 1 ]; }

# Once both daemons have exited nothing can run a hook any more: only then does the hook
# log prove that no cleanup was doubled and no reboot request honoured twice.
expect_nothing_doubled() {
        local dup
        stop_daemon berth-guestd TERM
        stop_daemon berth-cleanupd TERM
        dup=$(awk '$2 == "post-stop" { print $1, $3 }' "$HOOK_LOG" | sort | uniq -d)
        [ -z "$dup" ] || fail "post-stop hooks ran twice for: $dup"
        expect_hooks 505 pre-start "" 2
}
new_run_of() { [ "$(prop "$1" State)" = running ] && [ "$(prop "$1" RunId)" != "$2" ]; }

# expect_cleaned_once VMID RUN-ID: the run's cleanup happened, once, and took its files.
expect_cleaned_once() {
        wait_until "run $2 of guest $1 is clean" ledger_is "$1" clean
        wait_until "the post-stop hook of $1/$2 ran" hook_ran "$1" post-stop "$2"
        [ ! -e "$ROOT/run/berth/qemu/$1" ] || fail "runtime files of guest $1 left behind"
        # A cleanup doubled later would show in expect_nothing_doubled, once the daemons are gone.
        expect_hooks "$1" post-stop "$2" 1
}

hooked_os_guest() { # hooked_os_guest NAME [APPEND-EXTRA]
        os_guest_config "$1" | sed "s|^append: .*|& ${2:-}|"
        echo "hookscript: $T/hook.sh"
}

hooked_firmware_guest() {
        firmware_guest_config "$1"
        echo "hookscript: $T/hook.sh"
}

start_bus
start_daemon berth-cleanupd org.berth.cleanup1 --hook-timeout 2
start_daemon berth-guestd org.berth.guest1 --hook-timeout 2

create_guest 500 "$(hooked_os_guest shutdown)"
create_guest 501 "$(hooked_os_guest poweroff berth.poweroff=1)"
create_guest 502 "$(hooked_firmware_guest keep)"
create_guest 503 "$(hooked_firmware_guest crash)"
create_guest 504 "$(hooked_os_guest restarts)"
create_guest 505 "$(hooked_firmware_guest reboot)"

# API shutdown of an OS guest: every phase once, in order.
bctl start 500 >/dev/null || fail "start 500 failed"
run=$(prop 500 RunId)
[ -e "$ROOT/run/berth/cleanup/500.run" ] || fail "no ledger entry for the run"
wait_guest_up 500
bctl shutdown 500 --timeout 60 >/dev/null || fail "shutdown 500 failed"
expect_prop 500 State stopped
expect_cleaned_once 500 "$run"
expect_hooks 500 pre-start "" 1
expect_hooks 500 post-start "$run" 1
expect_hooks 500 pre-stop "$run" 1
[ "$(grep "^500 " "$HOOK_LOG" | cut -d' ' -f2 | tr '\n' ' ')" = "pre-start post-start pre-stop post-stop " ] ||
        fail "hook phases out of order: $(grep "^500 " "$HOOK_LOG")"
grep -q "^500 post-stop $run shutdown$" "$HOOK_LOG" || fail "post-stop did not get the reason: $(grep "^500 post-stop" "$HOOK_LOG")"
ok "API shutdown: hooks pre-start, post-start, pre-stop, post-stop once each; runtime files gone"

# The guest powers itself off: cleanupd hears it from QEMU itself.
bctl start 501 >/dev/null || fail "start 501 failed"
run=$(prop 501 RunId)
expect_cleaned_once 501 "$run"
expect_prop 501 State stopped
grep -q "^501 post-stop $run guest-shutdown$" "$HOOK_LOG" ||
        fail "a guest poweroff was not recorded as the guest's: $(grep "^501 post-stop" "$HOOK_LOG")"
expect_hooks 501 pre-stop "$run" 0
ok "guest-initiated poweroff: recorded as guest-shutdown, cleaned once, no pre-stop"

# API stop with keep-active: deactivation skipped, the hook still once.
bctl start 502 >/dev/null
run=$(prop 502 RunId)
bctl stop 502 --keep-active >/dev/null || fail "stop 502 failed"
expect_cleaned_once 502 "$run"
grep -q "Guest 502: keep-active set, volume deactivation skipped" "$T/logs/berth-cleanupd.log" ||
        fail "cleanupd did not skip deactivation"
bctl start 502 >/dev/null
run=$(prop 502 RunId)
bctl stop 502 >/dev/null
expect_cleaned_once 502 "$run"
grep -q "Guest 502: no volumes to deactivate" "$T/logs/berth-cleanupd.log" ||
        fail "cleanupd did not deactivate without keep-active"
ok "API stop with keep-active: deactivation skipped, hook once; without it, deactivation runs"

# kill -9 of QEMU.
bctl start 503 >/dev/null
run=$(prop 503 RunId)
kill -KILL "$(prop 503 Pid)"
expect_cleaned_once 503 "$run"
expect_prop 503 State stopped
ok "kill -9 of QEMU: cleaned once"

# A crash followed at once by a start: the new run waits until the old one is clean,
# and the old run's cleanup (made slow here) never touches the new run's files.
bctl start 503 >/dev/null
old=$(prop 503 RunId)
touch "$T/slow-post-stop"
kill -KILL "$(prop 503 Pid)"
bctl start 503 >/dev/null || fail "start right after a crash failed"
rm -f "$T/slow-post-stop"
new=$(prop 503 RunId)
[ "$new" != "$old" ] || fail "the new start reused run id $old"
expect_hooks 503 post-stop "$old" 1
order=$(grep -n "^503 " "$HOOK_LOG" | grep -e "post-stop $old" -e "post-start $new" | cut -d: -f1 | tr '\n' ' ')
[ "$(echo "$order" | cut -d' ' -f1)" -lt "$(echo "$order" | cut -d' ' -f2)" ] ||
        fail "the new run started before the old one was clean: $(grep "^503 " "$HOOK_LOG")"
expect_prop 503 State running
[ "$(cat "$ROOT/run/berth/qemu/503/qemu.pid")" = "$(prop 503 Pid)" ] || fail "the new run's pidfile is gone"
[ -S "$ROOT/run/berth/qemu/503/qmp.sock" ] || fail "the new run's QMP socket is gone"
[ "$(ledger_state 503)" = running ] || fail "the ledger does not show the new run running"
ok "crash then immediate start: the new run began after the old run was clean, untouched by it"

# The same, 20 times over without the slow hook: guestd must not answer AlreadyRunning
# while it has not yet seen the killed QEMU go, and each old run is cleaned once, first.
for i in $(seq 20); do
        old=$(prop 503 RunId)
        kill -KILL "$(prop 503 Pid)"
        bctl start 503 >/dev/null || fail "start $i right after a crash failed"
        new=$(prop 503 RunId)
        [ "$new" != "$old" ] && [ -n "$new" ] || fail "start $i: run id '$new' after run $old"
        expect_hooks 503 post-stop "$old" 1
        expect_hooks 503 post-start "$new" 1
        [ "$(grep -n "^503 post-stop $old" "$HOOK_LOG" | cut -d: -f1)" -lt \
                "$(grep -n "^503 post-start $new" "$HOOK_LOG" | cut -d: -f1)" ] ||
                fail "start $i: run $new started before run $old was clean: $(grep "^503 " "$HOOK_LOG" | tail -n 6)"
done
expect_prop 503 State running
bctl stop 503 >/dev/null
expect_cleaned_once 503 "$new"
ok "kill -9 then an immediate start, 20 times: every start went through, each old run cleaned once before the new one"

# cleanupd killed while a guest runs; the guest is killed meanwhile; cleanupd restarted.
bctl start 502 >/dev/null
run=$(prop 502 RunId)
stop_daemon berth-cleanupd KILL
kill -KILL "$(prop 502 Pid)"
wait_until "guestd sees guest 502 stopped" state_is 502 stopped
[ -e "$ROOT/run/berth/qemu/502" ] || fail "runtime files went without cleanupd"
start_daemon berth-cleanupd org.berth.cleanup1 --hook-timeout 2
expect_cleaned_once 502 "$run"
ok "cleanupd down while the guest died: cleaned once when it came back"

# Both daemons restarted while guests run: nothing stopped, nothing cleaned.
bctl start 504 >/dev/null
bctl start 502 >/dev/null
run=$(prop 504 RunId)
fw=$(prop 502 RunId)
pid=$(prop 504 Pid)
wait_guest_up 504
stop_daemon berth-guestd KILL
stop_daemon berth-cleanupd TERM
start_daemon berth-cleanupd org.berth.cleanup1 --hook-timeout 2
start_daemon berth-guestd org.berth.guest1 --hook-timeout 2
kill -0 "$pid" || fail "the guest died with its daemons"
expect_prop 504 State running
expect_prop 504 RunId "$run"
expect_hooks 504 post-stop "$run" 0
expect_hooks 502 post-stop "$fw" 0
[ "$(ledger_state 504)" = running ] || fail "ledger of 504 is $(ledger_state 504)"
[ -S "$ROOT/run/berth/qemu/504/qmp.sock" ] || fail "runtime files of a running guest removed"
# QEMU's event monitor reconnects to the new cleanupd: a guest poweroff is still the guest's.
wait_until "QEMU reconnected to the event socket" grep -q "QEMU $pid connected to the event socket" \
        "$T/logs/berth-cleanupd.log"
bctl shutdown 504 --timeout 60 >/dev/null || fail "shutdown after restarts failed"
expect_cleaned_once 504 "$run"
bctl stop 502 >/dev/null
expect_cleaned_once 502 "$fw"
ok "guestd and cleanupd restarted: guests kept running, nothing cleaned until they stopped"

# A reboot request: the guest comes back once, as a new run.
bctl start 505 >/dev/null
run=$(prop 505 RunId)
bbus call org.berth.cleanup1 /org/berth/cleanup1 org.berth.cleanup1.Manager SetStopIntent \
        'usa{sv}' 505 "$run" 2 reboot b true reason s reboot >/dev/null
kill -KILL "$(prop 505 Pid)"
# The new run follows the old one's cleanup at once, so the old run is never seen clean from outside.
wait_until "the post-stop hook of the old run ran" hook_ran 505 post-stop "$run"
wait_until "guest 505 runs a new run" new_run_of 505 "$run"
new=$(prop 505 RunId)
expect_hooks 505 post-stop "$run" 1
expect_hooks 505 pre-start "" 2
bctl stop 505 >/dev/null
expect_cleaned_once 505 "$new"
expect_prop 505 State stopped
ok "reboot request: started again once"

# QEMU dies while a stop or a reboot runs its slow pre-stop hook. The stop then ends with the
# clean run and the reboot starts the guest once; nothing is signalled in the dead QEMU's name,
# which would reach this test's own process group (guestd runs in it).
touch "$T/slow-pre-stop"
for verb in stop reboot; do
        bctl start 502 >/dev/null
        run=$(prop 502 RunId)
        starts=$(hook_count 502 pre-start)
        bctl "$verb" 502 >"$T/$verb-502.out" 2>&1 &
        job=$!
        wait_until "the pre-stop hook of 502/$run ran" hook_ran 502 pre-stop "$run"
        kill -KILL "$(prop 502 Pid)"
        wait "$job" || fail "the $verb whose QEMU died during its pre-stop hook failed: $(cat "$T/$verb-502.out")"
        want="guest 502 stopped"
        [ "$verb" = reboot ] && want="guest 502 started"
        [ "$(cat "$T/$verb-502.out")" = "$want" ] || fail "the $verb said '$(cat "$T/$verb-502.out")', not '$want'"
        wait_until "the post-stop hook of 502/$run ran" hook_ran 502 post-stop "$run"
        expect_hooks 502 post-stop "$run" 1
        kill -0 "$(cat "$T/berth-guestd.pid")" || fail "guestd died during the $verb"
done
new_run_of 502 "$run" || fail "guest 502 is not running a new run after its reboot"
expect_hooks 502 pre-start "" $((starts + 1))
rm -f "$T/slow-pre-stop"
run=$(prop 502 RunId)
bctl stop 502 >/dev/null
expect_cleaned_once 502 "$run"
ok "QEMU gone during the pre-stop hook: the stop ends clean, the reboot starts the guest once"

# A failing pre-start hook aborts the start with a named error.
touch "$T/fail-pre-start"
expect_error org.berth.Error.HookFailed bctl start 502
rm -f "$T/fail-pre-start"
expect_prop 502 State stopped
[ ! -e "$ROOT/run/berth/qemu/502" ] || fail "a QEMU was started despite the failed pre-start hook"
ok "failing pre-start hook: start refused with org.berth.Error.HookFailed, no QEMU"

# A hanging hook is killed after the timeout and logged.
touch "$T/hang-pre-start"
out=$(bctl start 502 2>&1) && fail "start with a hanging pre-start hook succeeded"
rm -f "$T/hang-pre-start"
case $out in *"timed out after 2 s"*"HookFailed"*) ;; *) fail "unexpected error for a hanging hook: $out" ;; esac
pgrep -fx "sleep 613.25" >/dev/null && fail "the hanging hook is still running"
expect_prop 502 State stopped
ok "hanging pre-start hook: killed after the timeout, start refused"

# A guest that powered itself off while its QEMU lingers (-no-shutdown) is told to quit.
create_guest 506 "$(hooked_firmware_guest linger)"
qemu-system-x86_64 -name linger,process=berth-506 -nodefaults -display none -machine q35,accel=tcg -m 256 \
        -no-shutdown -nic none -kernel "$guest_dir/vmlinux" -initrd "$guest_dir/initramfs.cpio" \
        -append "console=ttyS0 quiet panic=-1 berth.poweroff=1" -serial "file:$T/linger.log" \
        -chardev "socket,id=ev,path=$ROOT/run/berth/events.sock,reconnect=1" -mon chardev=ev,mode=control &
pid=$!
bbus call org.berth.cleanup1 /org/berth/cleanup1 org.berth.cleanup1.Manager RegisterRun \
        'usua{sv}' 506 linger-run "$pid" 0 >/dev/null
expect_cleaned_once 506 linger-run
kill -0 "$pid" 2>/dev/null && fail "the lingering QEMU is still there"
grep -q "Guest 506: guest powered off but QEMU $pid is still there, telling it to quit" \
        "$T/logs/berth-cleanupd.log" || fail "cleanupd did not tell the lingering QEMU to quit"
grep -q "^506 post-stop linger-run guest-shutdown$" "$HOOK_LOG" || fail "linger: $(grep "^506" "$HOOK_LOG")"
ok "a powered-off guest's lingering QEMU is told to quit, then cleaned once"

# The task's error name outlives guestd: GetTask reads it back from the task log.
stop_daemon berth-guestd TERM
start_daemon berth-guestd org.berth.guest1 --hook-timeout 2
last=$(ls -t "$ROOT/var/log/berth/tasks/" | head -n1)
task=$(bbus call org.berth.guest1 /org/berth/guest1 org.berth.Tasks1 GetTask s "$last" | cut -d'"' -f2)
name=$(bbus get-property org.berth.guest1 "$task" org.berth.Task1 ErrorName | cut -d'"' -f2)
[ "$name" = org.berth.Error.HookFailed ] || fail "reloaded task $last has error name '$name'"
ok "a reloaded task still names its error"

expect_nothing_doubled
ok "with the daemons gone: no post-stop hook ran twice for a run, the reboot request started guest 505 once"

finish
