#!/bin/bash
# clusterd on a real etcd of three members, three nodes: ListResources with
# BERTH_BENCH_GUESTS (1000) guest configs over the three nodes, median and p99
# of BERTH_BENCH_RUNS (50) calls, against ListNodes measured the same way in the
# same run (the cost of a bus round trip to clusterd); and how long after a
# clusterd is stopped (SIGSTOP) another node reports it offline, against the
# lease TTL, over BERTH_BENCH_LOSSES (3) losses. Prints figures; asserts nothing.
BERTH_SOURCE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH_BUILD_ROOT=${BERTH_BUILD_ROOT:-$BERTH_SOURCE_ROOT/build}
export BERTH_SOURCE_ROOT BERTH_BUILD_ROOT
. "$BERTH_SOURCE_ROOT/tests/integration/lib.sh"
. "$BERTH_SOURCE_ROOT/tests/integration/cluster.sh"

guests=${BERTH_BENCH_GUESTS:-1000}
runs=${BERTH_BENCH_RUNS:-50}
losses=${BERTH_BENCH_LOSSES:-3}
ttl=2
nodes=(node1 node2 node3)
ninja -C "$build" daemons/clusterd/berth-clusterd >/dev/null

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# time_calls OUT METHOD SIGNATURE ARGS...: the duration of each of $runs calls on node1, in µs.
time_calls() {
        local out=$1 t0
        shift
        for _ in $(seq "$runs"); do
                t0=$(date +%s%N)
                busctl --address="${node_bus[node1]}" call org.berth.cluster1 /org/berth/cluster1 \
                        org.berth.cluster1.Manager "$@" >/dev/null
                echo $((($(date +%s%N) - t0) / 1000))
        done | sort -n >"$out"
}
stat_of() { awk -v n="$runs" -v q="$2" 'NR == int(n * q) + 1' "$1"; }
resource_count() {
        busctl --address="${node_bus[node1]}" --json=short call org.berth.cluster1 /org/berth/cluster1 \
                org.berth.cluster1.Manager ListResources 'sa{sv}' vm 0 |
                python3 -c 'import json, sys; print(len(json.load(sys.stdin)["data"][0]))'
}
node_is() {
        busctl --address="${node_bus[node1]}" --json=short call org.berth.cluster1 /org/berth/cluster1 \
                org.berth.cluster1.Manager ListNodes 'a{sv}' 0 | python3 -c '
import json, sys
print(any(n["name"]["data"] == sys.argv[1] and n["online"]["data"] == (sys.argv[2] == "online")
          for n in json.load(sys.stdin)["data"][0]))' "$1" "$2" | grep -q True
}

start_etcd
for n in "${nodes[@]}"; do
        mkdir -p "$T/root-$n/etc/berth"
        printf 'node-lease-ttl: %s\n' "$ttl" >"$T/root-$n/etc/berth/berth.conf"
        start_cluster_node "$n" "berth-clusterd org.berth.cluster1"
done
# The configs go in through etcd's own client, in batches of one transaction each.
for i in $(seq 0 $((guests - 1))); do
        n=${nodes[i % 3]}
        printf 'put berth/nodes/%s/qemu/%d.conf "name: g%d\\nmemory: 512\\n"\n' "$n" $((1000 + i)) "$i"
done | split -l 100 - "$T/batch."
for f in "$T"/batch.*; do
        { echo; cat "$f"; echo; echo; } | etcd_ctl txn >/dev/null || fail "the configs could not be written"
done
lists_all() { [ "$(resource_count)" = "$guests" ]; }
wait_until "node1 lists all $guests guests" lists_all

time_calls "$T/resources" ListResources 'sa{sv}' vm 0
time_calls "$T/nodes" ListNodes 'a{sv}' 0
res_med=$(stat_of "$T/resources" 0.5) res_p99=$(stat_of "$T/resources" 0.99)
nodes_med=$(stat_of "$T/nodes" 0.5) nodes_p99=$(stat_of "$T/nodes" 0.99)

: >"$T/losses"
pid=$(cat "$T/berth-clusterd-node3.pid")
for _ in $(seq "$losses"); do
        wait_until "node3 is online" node_is node3 online
        t0=$(now_ms)
        kill -STOP "$pid"
        wait_until "node1 sees node3 offline" node_is node3 offline
        echo $(($(now_ms) - t0)) >>"$T/losses"
        kill -CONT "$pid"
done

echo "clusterd on etcd, 3 nodes, $guests guests, $runs calls each, µs (median / p99; ratio of medians)"
printf '  ListNodes              %7s / %7s   (baseline)\n' "$nodes_med" "$nodes_p99"
printf '  ListResources vm       %7s / %7s   %s× ListNodes\n' "$res_med" "$res_p99" \
        "$(awk -v a="$res_med" -v b="$nodes_med" 'BEGIN { printf "%.1f", a / b }')"
echo "node loss detection, $losses losses, lease TTL $ttl s"
sort -n "$T/losses" | awk -v ttl="$ttl" '{ printf "  %6d ms   %.2f× the TTL\n", $1, $1 / (ttl * 1000) }'
finish >/dev/null
