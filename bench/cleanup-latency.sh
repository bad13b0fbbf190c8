#!/bin/bash
# cleanupd's latency from a QEMU exit to CleanupFinished, median and p99 over
# BERTH_BENCH_RUNS (100) runs of a firmware guest, against a fork+exec of
# /bin/true to its exit measured beside every sample: a guest whose hook is
# /bin/true killed with kill -9, the same guest stopped with berthctl stop,
# and a guest with no hook killed with kill -9. Runs against a private stack
# (tools/berth-dev's build, a temporary root). Prints figures; asserts nothing.
BERTH_SOURCE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH_BUILD_ROOT=${BERTH_BUILD_ROOT:-$BERTH_SOURCE_ROOT/build}
export BERTH_SOURCE_ROOT BERTH_BUILD_ROOT
. "$BERTH_SOURCE_ROOT/tests/integration/lib.sh"

runs=${BERTH_BENCH_RUNS:-100}
ninja -C "$build" bench/bench-cleanup daemons/cleanupd/berth-cleanupd daemons/guestd/berth-guestd \
        tools/berthctl/berthctl >/dev/null
start_bus
BERTH_LOG_LEVEL=info
start_stack
create_guest 700 "$(firmware_guest_config hooked; echo "hookscript: /bin/true")"
create_guest 701 "$(firmware_guest_config bare)"

# sample VMID HOW: one run of the guest, ended by "kill" (kill -9) or "stop"
# (berthctl stop); appends "<exit to CleanupFinished ns> <fork+exec ns>".
sample() {
        local v=$1 line pid from watcher
        bctl start "$v" >/dev/null || fail "start of guest $v failed"
        pid=$(prop "$v" Pid)
        coproc watch { "$build/bench/bench-cleanup" "$v" "$(prop "$v" RunId)" "$pid"; }
        # bash drops the coprocess's fds once it exits: keep our own copy for the last line.
        watcher=$watch_PID
        exec {from}<&"${watch[0]}"
        read -r line <&"$from" && [ "$line" = ready ] || fail "bench-cleanup did not start"
        case $2 in
        kill) kill -KILL "$pid" ;;
        stop) bctl stop "$v" >/dev/null || fail "stop of guest $v failed" ;;
        esac
        read -r line <&"$from" || fail "bench-cleanup gave no sample"
        exec {from}<&-
        wait "$watcher" || fail "bench-cleanup failed"
        echo "$line" >>"$T/$v-$2"
        wait_until "guest $v is stopped" state_is "$v" stopped
}
state_is() { [ "$(prop "$1" State)" = "$2" ]; }

# stats FILE COLUMN: "median p99" of a column, in ns, nearest rank.
stats() {
        cut -d' ' -f"$2" "$1" | sort -n | awk '{ v[NR] = $1 }
                END { p = int(NR * 0.99); if (p < NR * 0.99) p++; print v[int(NR / 2) + 1], v[p] }'
}

report() { # report FILE LABEL
        echo "$(stats "$1" 1) $(stats "$1" 2)" | awk -v what="$2" -v n="$(wc -l <"$1")" '{
                printf "%s (%d runs): median %.2f ms, p99 %.2f ms; fork+exec /bin/true median %.2f ms, p99 %.2f ms",
                        what, n, $1 / 1e6, $2 / 1e6, $3 / 1e6, $4 / 1e6
                printf " (ratio %.1f median, %.1f p99); target p99 < 50 ms: %s\n",
                        $1 / $3, $2 / $4, $2 < 50e6 ? "met" : "missed" }'
}

for how in kill stop; do
        for _ in $(seq "$runs"); do sample 700 "$how"; done
done
for _ in $(seq "$runs"); do sample 701 kill; done

report "$T/700-kill" "QEMU exit to CleanupFinished, kill -9, hook /bin/true"
report "$T/700-stop" "QEMU exit to CleanupFinished, berthctl stop, hook /bin/true"
report "$T/701-kill" "QEMU exit to CleanupFinished, kill -9, no hook"
