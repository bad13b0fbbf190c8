#!/bin/bash
# berth-cleanupd: every run is cleaned exactly once, whatever ends it, across
# restarts of the daemon; stop intents, PrepareStart and the post-stop hook.
. "$(dirname "$0")/lib.sh"

CLEANUPD_ARGS=(--prepare-timeout 3 --hook-timeout 1)
cbus() { bbus call org.berth.cleanup1 /org/berth/cleanup1 org.berth.cleanup1.Manager "$@"; }
# gcall METHOD ARGS...: the same through gdbus, which names the D-Bus error of a failed call.
gcall() {
        local method=$1
        shift
        gdbus call --address "$BERTH_BUS_ADDRESS" --dest org.berth.cleanup1 --object-path /org/berth/cleanup1 \
                --method "org.berth.cleanup1.Manager.$method" "$@"
}

# The hooks record "<vmid> <phase> <run id> <reason>" per call.
cat >"$T/hook.sh" <<'HOOK'
#!/bin/sh
echo "$1 $2 $BERTH_RUN_ID $BERTH_STOP_REASON" >>"${0%/*}/hook.log"
HOOK
cat >"$T/fail-hook.sh" <<'HOOK'
#!/bin/sh
echo "$1 $2 $BERTH_RUN_ID" >>"${0%/*}/hook.log"
exit 3
HOOK
cat >"$T/hang-hook.sh" <<'HOOK'
#!/bin/sh
echo "$1 $2 $BERTH_RUN_ID" >>"${0%/*}/hook.log"
echo $$ >"${0%/*}/hang-hook.pid"
exec sleep 300
HOOK
chmod +x "$T"/*.sh
touch "$T/hook.log"

store=$ROOT/var/lib/berth/store/nodes/testnode/qemu
mkdir -p "$store"
guest_conf() { # guest_conf VMID HOOK
        printf 'name: cleanup%s\nmemory: 64\ndisk0: local:%s/vm-%s-disk-0.qcow2\nhookscript: %s\n' \
                "$1" "$1" "$1" "$T/$2" >"$store/$1.conf"
}

# new_run VMID: a process standing in for the guest's QEMU, with runtime files; prints its pid.
new_run() {
        mkdir -p "$ROOT/run/berth/qemu/$1"
        echo data >"$ROOT/run/berth/qemu/$1/qemu.pid.extra"
        sleep 300 >/dev/null 2>&1 &
        echo $! >"$T/sleep-$1.pid"
        disown
        cat "$T/sleep-$1.pid"
}
kill_run() { kill -KILL "$(cat "$T/sleep-$1.pid")"; }
# gone PID: the process has ended, reaped or not.
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*[ZX]' "/proc/$1/status" 2>/dev/null; }

register() { # register VMID RUN-ID PID
        cbus RegisterRun 'usua{sv}' "$1" "$2" "$3" 0 >/dev/null
}

run_state() { cbus GetRun u "$1" | cut -d' ' -f3 | tr -d '"'; }

run_state_is() { [ "$(run_state "$1")" = "$2" ]; }
wait_state() { # wait_state VMID STATE
        poll run_state_is "$1" "$2" || fail "guest $1 is '$(run_state "$1")', expected '$2'"
}

hooks() { # hooks VMID RUN-ID: how often the post-stop hook ran for that run
        grep -c "^$1 post-stop $2\b" "$T/hook.log" || true
}

finished() { # finished VMID RUN-ID: the CleanupFinished signals seen for that run
        grep -c "\"data\":\[$1,\"$2\"" "$T/signals.json" || true
}

finished_once() { [ "$(finished "$1" "$2")" = 1 ]; }

expect_cleaned_once() { # expect_cleaned_once VMID RUN-ID HOOK-COUNT
        wait_state "$1" clean
        [ ! -e "$ROOT/run/berth/qemu/$1" ] || fail "the runtime files of guest $1 are still there"
        [ "$(hooks "$1" "$2")" = "$3" ] || fail "post-stop hook of $1/$2 ran $(hooks "$1" "$2") times, expected $3"
        poll finished_once "$1" "$2" || fail "CleanupFinished for $1/$2 seen $(finished "$1" "$2") times"
}

start_bus
bbus monitor --json=short --match "type='signal',interface='org.berth.cleanup1.Manager'" >"$T/signals.json" 2>/dev/null &
echo $! >"$T/monitor.pid"
disown
wait_until "the bus monitor is listening" grep -q "became a monitor" "$T/logs/dbus.log"
start_daemon berth-cleanupd org.berth.cleanup1 "${CLEANUPD_ARGS[@]}"

for v in 701 702 703 704 705; do guest_conf $v hook.sh; done
guest_conf 706 fail-hook.sh
guest_conf 707 hang-hook.sh

expect_error org.berth.Error.NoSuchGuest gcall GetRun 701
cbus PrepareStart u 701 >/dev/null || fail "PrepareStart without any run failed"
true &
gone=$!
wait $gone
expect_error org.berth.Error.NotRunning gcall RegisterRun 701 r0 "$gone" '{}'
expect_error org.berth.Error.InvalidArgument gcall RegisterRun 701 'bad id' $$ '{}'
expect_error org.berth.Error.InvalidArgument gcall RegisterRun 701 r0 $$ "{'bogus': <true>}"
ok "RegisterRun refuses a dead pid, a bad run id and unknown options"

# kill -9 of the run's process.
pid=$(new_run 701)
register 701 r1 "$pid"
[ "$(cbus GetRun u 701)" = "ssu \"r1\" \"running\" $pid" ] || fail "GetRun: $(cbus GetRun u 701)"
expect_error org.berth.Error.Busy gcall RegisterRun 701 r1b $$ '{}'
ok "a registered run is running and blocks a new run"

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
[ "$(as_nobody busctl --address="$BERTH_BUS_ADDRESS" call org.berth.cleanup1 /org/berth/cleanup1 \
        org.berth.cleanup1.Manager GetRun u 701)" = "ssu \"r1\" \"running\" $pid" ] || fail "nobody cannot GetRun"
for call in "SetStopIntent usa{sv} 701 r1 0" "PrepareStart u 701" "RegisterRun usua{sv} 709 x1 $$ 0"; do
        # shellcheck disable=SC2086 # the words are the call's arguments
        if out=$(as_nobody busctl --address="$BERTH_BUS_ADDRESS" call org.berth.cleanup1 /org/berth/cleanup1 \
                org.berth.cleanup1.Manager $call 2>&1); then
                fail "nobody may call ${call%% *}"
        fi
        case $out in *"Access denied"* | *AccessDenied*) ;; *) fail "unexpected refusal of ${call%% *}: $out" ;; esac
done
[ "$(run_state 701)" = running ] || fail "a refused call changed the run"
ok "an unprivileged uid may GetRun but not change runs"
kill_run 701
expect_cleaned_once 701 r1 1
ok "kill -9: runtime files gone, hook once, CleanupFinished once"

# A stop intent travels to the hook; a clean guest takes a new run.
pid=$(new_run 701)
register 701 r2 "$pid"
expect_error org.berth.Error.InvalidArgument gcall SetStopIntent 701 r1 '{}'
cbus SetStopIntent 'usa{sv}' 701 r2 1 reason s shutdown >/dev/null
[ "$(run_state 701)" = stopping ] || fail "SetStopIntent did not move the run to stopping"
kill_run 701
expect_cleaned_once 701 r2 1
grep -q "^701 post-stop r2 shutdown$" "$T/hook.log" || fail "hook did not get the run id and reason: $(cat "$T/hook.log")"
[ "$(hooks 701 r1)" = 1 ] || fail "the second run re-ran the first run's hook"
ok "SetStopIntent checks the run id; the hook gets run id and reason"

# skip-post-stop (a migration source) and keep-active.
pid=$(new_run 702)
register 702 m1 "$pid"
cbus SetStopIntent 'usa{sv}' 702 m1 3 skip-post-stop b true keep-active b true reason s migrate >/dev/null
kill_run 702
expect_cleaned_once 702 m1 0
expect_error org.berth.Error.NotRunning gcall SetStopIntent 702 m1 '{}'
ok "skip-post-stop: cleaned without the hook; a clean run takes no stop intent"

# PrepareStart waits for a live run, answers once it is clean, times out otherwise.
pid=$(new_run 703)
register 703 p1 "$pid"
start=$(date +%s)
expect_error org.berth.Error.Timeout gcall PrepareStart 703
[ $(($(date +%s) - start)) -ge 2 ] || fail "PrepareStart gave up before its timeout"
[ "$(run_state 703)" = running ] || fail "a timed-out PrepareStart changed the run"
ok "PrepareStart times out while the previous run lives"
mark=$(log_size berth-cleanupd)
gcall PrepareStart 703 >/dev/null &
prepare=$!
wait_until "PrepareStart waits for the run of 703" logged_since berth-cleanupd "$mark" "Guest 703: a start waits for run p1"
kill_run 703
wait $prepare || fail "PrepareStart failed although the run ended"
[ "$(run_state 703)" = clean ] || fail "PrepareStart returned before the run was clean"
expect_cleaned_once 703 p1 1
ok "PrepareStart returns once the ending run is clean"

# cleanupd down while one run dies and another lives on.
pid=$(new_run 704)
register 704 d1 "$pid"
pid=$(new_run 705)
register 705 a1 "$pid"
stop_daemon berth-cleanupd KILL
kill_run 704
wait_until "the killed run of 704 is gone" gone "$(cat "$T/sleep-704.pid")"
[ -e "$ROOT/run/berth/qemu/704" ] || fail "runtime files vanished without cleanupd"
start_daemon berth-cleanupd org.berth.cleanup1 "${CLEANUPD_ARGS[@]}"
expect_cleaned_once 704 d1 1
[ "$(run_state 705)" = running ] || fail "the live run of 705 was not kept across the restart"
[ -e "$ROOT/run/berth/qemu/705" ] || fail "the live run's runtime files were removed"
ok "restart: the run that died meanwhile is cleaned once, the live one kept"
stop_daemon berth-cleanupd TERM
start_daemon berth-cleanupd org.berth.cleanup1 "${CLEANUPD_ARGS[@]}"
[ "$(hooks 704 d1)" = 1 ] || fail "a second restart ran the hook of 704 again"
kill_run 705
expect_cleaned_once 705 a1 1
ok "restart: the live run is watched again and cleaned when it dies"

# A failing hook and a hanging hook do not block the cleanup.
pid=$(new_run 706)
register 706 f1 "$pid"
kill_run 706
expect_cleaned_once 706 f1 1
grep -q '"data":\[706,"f1","hook-failed"\]' "$T/signals.json" || fail "no hook-failed result for 706"
ok "a failing hook is reported and the run is still clean"
pid=$(new_run 707)
register 707 h1 "$pid"
kill_run 707
expect_cleaned_once 707 h1 1
grep -q '"data":\[707,"h1","hook-timeout"\]' "$T/signals.json" || fail "no hook-timeout result for 707"
! kill -0 "$(cat "$T/hang-hook.pid")" 2>/dev/null || fail "the hanging hook is still running"
ok "a hanging hook is killed after its timeout"

# A reboot request without guestd on the bus still leaves the run clean.
pid=$(new_run 701)
register 701 b1 "$pid"
cbus SetStopIntent 'usa{sv}' 701 b1 1 reboot b true >/dev/null
kill_run 701
expect_cleaned_once 701 b1 1
kill -0 "$(cat "$T/berth-cleanupd.pid")" || fail "cleanupd died on a reboot request without guestd"
ok "a reboot request without guestd is logged, the run is clean"

finish
