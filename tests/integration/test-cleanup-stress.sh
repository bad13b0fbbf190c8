#!/bin/bash
# Stress: start/stop/crash cycles over several firmware guests at once, each
# cycle ended by a trigger picked at random (API stop, forced shutdown, kill -9,
# SIGTERM, a reboot request then kill -9, kill -9 then an immediate start, a
# stop racing a kill). Afterwards every run must have been cleaned exactly
# once: one post-stop hook and one CleanupFinished per run, no start before the
# previous run was clean, no runtime files and no QEMU left.
# The cycles run beside CPU hogs, one per core: the races between a QEMU's exit
# and the calls that follow it show under load, not on an idle machine.
# BERTH_STRESS_SEED replays a trigger order; BERTH_STRESS_CYCLES sets the total;
# BERTH_STRESS_HOGS the number of hogs (0 for none).
. "$(dirname "$0")/lib.sh"

GUESTS=(601 602 603 604)
cycles=${BERTH_STRESS_CYCLES:-200}
hogs=${BERTH_STRESS_HOGS:-$(nproc)}
seed=${BERTH_STRESS_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
replay="BERTH_STRESS_SEED=$seed BERTH_STRESS_CYCLES=$cycles BERTH_STRESS_HOGS=$hogs meson test test-cleanup-stress"
echo "seed $seed, $cycles cycles over ${#GUESTS[@]} guests beside $hogs CPU hogs; replay with: $replay"

HOOK_LOG=$T/hook.log
touch "$HOOK_LOG"
cat >"$T/hook.sh" <<'HOOK'
#!/bin/sh
echo "$1 $2 $BERTH_RUN_ID" >>"${0%/*}/hook.log"
HOOK
chmod 755 "$T/hook.sh"

ledger=$ROOT/run/berth/cleanup

# Interrupted, this test may leave guestd starting a QEMU whose pidfile lib.sh's
# cleanup does not see yet: stop the cycles and guestd first, then every QEMU
# under this test's root.
declare -A job_guest
hog_pids=()
stress_cleanup() {
        local p
        for p in "${hog_pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${!job_guest[@]}"; do kill "$p" 2>/dev/null || true; done
        [ -f "$T/berth-guestd.pid" ] && kill -KILL "$(cat "$T/berth-guestd.pid")" 2>/dev/null || true
        for p in $(pgrep -f "qemu-system.*$ROOT/"); do kill -KILL "$p" 2>/dev/null || true; done
        cleanup
}
trap stress_cleanup EXIT

# run_clean VMID RUN-ID: the ledger's run is this one and it is clean (one read of the file).
run_clean() {
        awk -F= -v run="$2" '$1 == "run_id" && $2 == run { r = 1 } $1 == "state" && $2 == "clean" { c = 1 }
                END { exit !(r && c) }' "$ledger/$1.run" 2>/dev/null
}
hook_ran() { grep -qx "$1 $2 $3" "$HOOK_LOG"; }
# A new run that guestd started by itself is done starting once no task of the guest still runs.
no_task_running() {
        local tasks
        tasks=$(bctl task list) || return 1
        ! awk -v g=":$1:" 'index($1, g) && $2 == "running" { f = 1 } END { exit !f }' <<<"$tasks"
}
runs_again() { # runs_again VMID OLD-RUN-ID
        local run
        [ "$(prop "$1" State)" = running ] || return 1
        run=$(prop "$1" RunId)
        [ -n "$run" ] && [ "$run" != "$2" ]
}

# outcome ERROR-NAME COMMAND...: prints "done" when the command succeeds and
# "refused" when it fails naming ERROR-NAME, a refusal this test's own race
# explains; any other failure fails the test.
outcome() {
        local name=$1 out
        shift
        if out=$("$@" 2>&1); then
                echo done
                return 0
        fi
        case $out in
        *"$name"*) echo refused ;;
        *) fail "'$*' failed: $out" ;;
        esac
}

# expect_stopped_clean VMID RUN-ID: the run is over, its cleanup done, its files gone.
expect_stopped_clean() {
        wait_until "guest $1 is stopped" state_is "$1" stopped
        wait_until "run $2 of guest $1 is clean" run_clean "$1" "$2"
        [ ! -e "$ROOT/run/berth/qemu/$1" ] || fail "runtime files of guest $1 left after run $2 was clean"
}

# Each cycle begins with the guest running and ends with it stopped and clean,
# or running a new run (reboot request, start after a crash).
cycle() { # cycle VMID TRIGGER; sets note
        local v=$1 run pid res bg order
        run=$(prop "$v" RunId)
        pid=$(prop "$v" Pid)
        # kill would take pid 0 for this test's own process group.
        [ "${pid:-0}" -gt 0 ] || fail "guest $v runs run $run without a QEMU pid"
        note=
        case $2 in
        stop)
                bctl stop "$v" >/dev/null || fail "stop of guest $v failed"
                expect_stopped_clean "$v" "$run"
                ;;
        shutdown)
                # A firmware guest ignores the power button: this ends as a forced stop.
                bctl shutdown "$v" --timeout 1 >/dev/null || fail "shutdown of guest $v failed"
                expect_stopped_clean "$v" "$run"
                ;;
        kill9)
                kill -KILL "$pid" || fail "cannot kill QEMU $pid of guest $v"
                expect_stopped_clean "$v" "$run"
                ;;
        term)
                kill -TERM "$pid" || fail "cannot kill QEMU $pid of guest $v"
                expect_stopped_clean "$v" "$run"
                ;;
        reboot)
                bbus call org.berth.cleanup1 /org/berth/cleanup1 org.berth.cleanup1.Manager SetStopIntent \
                        'usa{sv}' "$v" "$run" 2 reboot b true reason s reboot >/dev/null ||
                        fail "SetStopIntent of guest $v run $run failed"
                kill -KILL "$pid" || fail "cannot kill QEMU $pid of guest $v"
                wait_until "guest $v runs again after its reboot request" runs_again "$v" "$run"
                wait_until "the restart of guest $v is done" no_task_running "$v"
                ;;
        crash-start)
                # guestd may not have seen the exit yet: the start still goes through,
                # waiting in PrepareStart until the old run is clean.
                kill -KILL "$pid" || fail "cannot kill QEMU $pid of guest $v"
                bctl start "$v" >/dev/null || fail "start of guest $v right after its QEMU was killed failed"
                [ "$(prop "$v" RunId)" != "$run" ] || fail "guest $v reused run id $run"
                hook_ran "$v" post-stop "$run" || fail "guest $v started again before run $run was clean"
                ;;
        race)
                # A stop or forced shutdown and a kill -9 or SIGTERM, in a random order:
                # the kill first, both at once, or the kill while the stop runs its pre-stop hook.
                local verbs=(stop "shutdown --timeout 1") sigs=(KILL TERM) orders=(kill-first together during-stop)
                local verb=${verbs[RANDOM % 2]} sig=${sigs[RANDOM % 2]} order=${orders[RANDOM % 3]}
                note=" ($verb, kill -$sig, $order)"
                case $order in
                kill-first)
                        kill -"$sig" "$pid" || fail "cannot kill QEMU $pid of guest $v"
                        res=$(outcome org.berth.Error.NotRunning bctl $verb "$v")
                        ;;
                together)
                        outcome org.berth.Error.NotRunning bctl $verb "$v" >"$T/race-$v" &
                        bg=$!
                        kill -"$sig" "$pid" 2>/dev/null || true
                        wait "$bg" || fail "the $verb of guest $v racing a kill failed"
                        res=$(cat "$T/race-$v")
                        ;;
                during-stop)
                        # The stop has begun, so it cannot be refused; it may end QEMU before the kill does.
                        bctl $verb "$v" >"$T/race-$v" 2>&1 &
                        bg=$!
                        wait_until "the pre-stop hook of guest $v run $run ran" hook_ran "$v" pre-stop "$run"
                        kill -"$sig" "$pid" 2>/dev/null || true
                        wait "$bg" || fail "the $verb of guest $v failed when its QEMU was killed: $(cat "$T/race-$v")"
                        res=done
                        ;;
                esac
                note+=": $verb $res"
                expect_stopped_clean "$v" "$run"
                ;;
        esac
}

TRIGGERS=(stop shutdown kill9 term reboot crash-start race)

# worker VMID CYCLES: one guest's cycles, run as a background job beside the others'.
worker() {
        local v=$1 n=$2 i trigger run note
        RANDOM=$((seed + v))
        for ((i = 1; i <= n; i++)); do
                if ! state_is "$v" running; then
                        bctl start "$v" >/dev/null || fail "start of guest $v failed"
                fi
                trigger=${TRIGGERS[RANDOM % ${#TRIGGERS[@]}]}
                cycle "$v" "$trigger"
                echo "guest $v cycle $i/$n: $trigger$note"
        done
        if state_is "$v" running; then
                run=$(prop "$v" RunId)
                bctl stop "$v" >/dev/null || fail "final stop of guest $v failed"
                expect_stopped_clean "$v" "$run"
        fi
}

start_bus
bbus monitor --json=short --match "type='signal',sender='org.berth.cleanup1',member='CleanupFinished'" \
        >"$T/signals.json" 2>"$T/logs/monitor.log" &
echo $! >"$T/monitor.pid"
disown
wait_until "the bus monitor is listening" grep -qs "Monitoring" "$T/logs/monitor.log"
BERTH_LOG_LEVEL=${BERTH_LOG_LEVEL:-info}
start_stack
for v in "${GUESTS[@]}"; do
        create_guest "$v" "$(firmware_guest_config "stress$v"; echo "hookscript: $T/hook.sh")"
done

for ((i = 0; i < hogs; i++)); do
        (while :; do :; done) &
        hog_pids+=($!)
done
began=$SECONDS
for i in "${!GUESTS[@]}"; do
        v=${GUESTS[i]}
        n=$((cycles / ${#GUESTS[@]} + (i < cycles % ${#GUESTS[@]} ? 1 : 0)))
        worker "$v" "$n" &
        job_guest[$!]=$v
done
for _ in "${GUESTS[@]}"; do
        wait -n -p done_job || fail "the cycles of guest ${job_guest[$done_job]} failed"
        unset "job_guest[$done_job]"
done
kill "${hog_pids[@]}" 2>/dev/null || true
hog_pids=()
ok "$cycles cycles over ${#GUESTS[@]} guests in $((SECONDS - began)) s, each ended stopped and clean or running again"

# Every run, per guest in order of the hook log: pre-start, post-start R (R new),
# post-stop R, with pre-stop R at most once anywhere. A pre-start before the
# previous run's post-stop is a start that did not wait for the cleanup.
check_hook_sequence() { # check_hook_sequence VMID: prints the number of runs
        awk -v v="$1" '
                function bad(why) { print "guest " v ", line " NR ": " why ": " $0; err = 1; exit 1 }
                $1 != v { next }
                $2 == "pre-start" { if (cur != "") bad("start before run " cur " was clean"); starting = 1; next }
                $2 == "post-start" {
                        if (!starting) bad("post-start without pre-start")
                        if ($3 in runs) bad("run id seen twice")
                        runs[$3] = 1; cur = $3; starting = 0; n++; next
                }
                $2 == "pre-stop" { if (!($3 in runs) || prestop[$3]++) bad("pre-stop of an unknown run or twice"); next }
                $2 == "post-stop" { if ($3 != cur) bad("post-stop of run other than the current one " cur); cur = ""; next }
                { bad("unknown phase") }
                END { if (err) exit 1; if (cur != "" || starting) { print "guest " v ": run " cur " never cleaned"; exit 1 }; print n }
        ' "$HOOK_LOG"
}

total=0
for v in "${GUESTS[@]}"; do
        runs=$(check_hook_sequence "$v") || fail "hook log of guest $v: $runs"
        post_start=$(grep -c "^$v post-start " "$HOOK_LOG")
        post_stop=$(grep -c "^$v post-stop " "$HOOK_LOG")
        distinct=$(grep "^$v post-start " "$HOOK_LOG" | cut -d' ' -f3 | sort -u | wc -l)
        [ "$post_stop" = "$distinct" ] && [ "$post_start" = "$distinct" ] && [ "$runs" = "$distinct" ] ||
                fail "guest $v: $distinct runs, $post_start post-start and $post_stop post-stop hooks"
        dup=$(grep "^$v post-stop " "$HOOK_LOG" | sort | uniq -d)
        [ -z "$dup" ] || fail "guest $v: post-stop hook ran twice for $dup"
        state_is "$v" stopped || fail "guest $v is $(prop "$v" State) at the end"
        run=$(prop "$v" RunId)
        [ -z "$run" ] || fail "guest $v still has run $run"
        grep -qx "state=clean" "$ledger/$v.run" || fail "ledger of guest $v: $(cat "$ledger/$v.run")"
        total=$((total + runs))
        echo "guest $v: $runs runs, $post_stop post-stop hooks"
done
ok "every run of every guest cleaned once, in order: post-stop hooks equal $total runs, none twice"

signals_seen() { [ "$(grep -c '"CleanupFinished"' "$T/signals.json")" -ge "$total" ]; }
wait_until "CleanupFinished arrived for all $total runs" signals_seen
# "vmid run-id result" per signal, then each against the runs the hooks saw.
sed -n 's/.*"member":"CleanupFinished".*"data":\[\([0-9]*\),"\([^"]*\)","\([^"]*\)"\].*/\1 \2 \3/p' \
        "$T/signals.json" >"$T/signals.txt"
[ "$(wc -l <"$T/signals.txt")" = "$total" ] || fail "$(wc -l <"$T/signals.txt") CleanupFinished signals for $total runs"
awk '$2 == "post-start" { print $1, $3 }' "$HOOK_LOG" | sort >"$T/runs.txt"
cut -d' ' -f1,2 "$T/signals.txt" | sort | diff -u "$T/runs.txt" - >&2 ||
        fail "CleanupFinished signals do not match the runs one to one"
bad=$(awk '$3 != "ok"' "$T/signals.txt")
[ -z "$bad" ] || fail "cleanups that did not end ok: $bad"
ok "one CleanupFinished per run, each ok"

left=$(ls -A "$ROOT/run/berth/qemu" 2>/dev/null)
[ -z "$left" ] || fail "runtime dirs left under run/berth/qemu: $left"
pgrep -af "qemu-system.*$ROOT/" && fail "QEMU processes of the test are left"
ok "no runtime dir and no QEMU left"

finish
