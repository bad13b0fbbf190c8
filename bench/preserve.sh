#!/bin/bash
# Host-shutdown preserve of 8 OS guests (TCG) with policy shutdown, at parallel
# 8 and at parallel 1, in one run against a private stack, and the slowest
# single guest's own shutdown (from the parallel-1 run, where each guest shuts
# down alone). Prints figures; asserts nothing.
BERTH_SOURCE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH_BUILD_ROOT=${BERTH_BUILD_ROOT:-$BERTH_SOURCE_ROOT/build}
export BERTH_SOURCE_ROOT BERTH_BUILD_ROOT
. "$BERTH_SOURCE_ROOT/tests/integration/lib.sh"

n=8
ninja -C "$build" >/dev/null
[ -f "$guest_dir/vmlinux" ] || "$src/tools/berth-mkguest" "$guest_dir" >/dev/null
start_bus
BERTH_LOG_LEVEL=info
start_stack

vmids=$(seq 701 $((700 + n)))
for v in $vmids; do create_guest "$v" "$(os_guest_config bench-$v)"; done

boot_all() {
        for v in $vmids; do bctl start "$v" --no-wait >/dev/null; done
        for v in $vmids; do wait_guest_up "$v"; done
}

# preserve PARALLEL: prints the wall time in ms; the task log goes to $T/preserve-PARALLEL.log.
preserve() {
        local start took upid
        start=$(date +%s%N)
        bctl host-shutdown --preserve --policy shutdown --timeout 120 --parallel "$1" >/dev/null ||
                fail "preserve at parallel $1 failed"
        took=$((($(date +%s%N) - start) / 1000000))
        upid=$(bctl task list | awk '/:preserve:/ { print $1 }' | tail -n1)
        bctl task log "$upid" >"$T/preserve-$1.log"
        grep -q "did not shut down" "$T/preserve-$1.log" && fail "a guest was not shut down gracefully"
        echo "$took"
}

boot_all
p1=$(preserve 1)
# "Guest 701: shutdown done in 0.31 s: ..." for each guest, one at a time.
# shutdown_times LOG: the "Guest N: shutdown done in S s" of a preserve's log, in ms, one a line.
shutdown_times() {
        awk '/: shutdown done in / { for (i = 1; i <= NF; i++) if ($i == "in") printf "%d\n", $(i + 1) * 1000 }' "$1"
}
longest_shutdown() { shutdown_times "$1" | sort -n | tail -n1; }
slowest=$(longest_shutdown "$T/preserve-1.log")
# What 8 shutdowns need of the CPUs, done one at a time: the floor for any parallel run on this machine.
cpu_floor=$(shutdown_times "$T/preserve-1.log" | awk -v cpus="$(nproc)" '{ s += $1 } END { printf "%d", s / cpus }')
boot_all
p8=$(preserve 8)

echo "guests: $n OS guests (TCG), policy shutdown, $(nproc) CPUs"
echo "preserve at parallel 1: $p1 ms"
echo "preserve at parallel $n: $p8 ms"
echo "slowest single guest's own shutdown: $slowest ms"
echo "slowest guest's shutdown at parallel $n: $(longest_shutdown "$T/preserve-$n.log") ms"
echo "sum of the single shutdowns / CPUs: $cpu_floor ms"
awk -v a="$p8" -v b="$slowest" -v c="$p1" 'BEGIN {
        printf "parallel-%d / slowest single: %.2fx (target <= 1.5x)\n", '"$n"', a / b
        printf "parallel-1 / parallel-%d: %.2fx faster\n", '"$n"', c / a }'
awk -v a="$p8" -v b="$cpu_floor" 'BEGIN { printf "parallel-%d / (sum of single shutdowns / CPUs): %.2fx\n", '"$n"', a / b }'
