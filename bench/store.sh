#!/bin/bash
# The store on a real etcd of three members (loopback): get, compare-and-swap
# put and watch propagation through berth's client, median and p99 over
# BERTH_BENCH_RUNS (1000) samples, against the same get sent by curl over one
# kept-alive connection in the same run; and the file store beside it. Prints
# figures; asserts nothing.
BERTH_SOURCE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH_BUILD_ROOT=${BERTH_BUILD_ROOT:-$BERTH_SOURCE_ROOT/build}
export BERTH_SOURCE_ROOT BERTH_BUILD_ROOT
. "$BERTH_SOURCE_ROOT/tests/integration/lib.sh"
. "$BERTH_SOURCE_ROOT/tests/integration/cluster.sh"

runs=${BERTH_BENCH_RUNS:-1000}
ninja -C "$build" bench/bench-store >/dev/null
start_etcd
first=${etcd_client_url[m0]}

us() { awk -v ns="$1" 'BEGIN { printf "%.0f", ns / 1000 }'; }
# curl's own figure: time_total of each of N requests on one connection.
key=$(printf 'berth/bench/key' | base64 -w0)
urls=()
# -o is per URL: one for each.
for _ in $(seq "$runs"); do urls+=(-o /dev/null "$first/v3/kv/range"); done
curl -s -w '%{time_total}\n' -H 'Content-Type: application/json' -d "{\"key\":\"$key\"}" "${urls[@]}" |
        awk '{ print int($1 * 1e9) }' | sort -n >"$T/curl"
curl_med=$(awk -v n="$runs" 'NR == int(n / 2) + 1' "$T/curl")
curl_p99=$(awk -v n="$runs" 'NR == int(n * 99 / 100) + 1' "$T/curl")

"$build/bench/bench-store" "$cluster_store" "$runs" >"$T/bench-etcd" || fail "bench-store on etcd failed"
"$build/bench/bench-store" "file:$T/bench-file-store" "$runs" >"$T/bench-file" || fail "bench-store on file: failed"

echo "store latency, $runs samples each, µs (median / p99)"
printf '  curl keep-alive range   %6s / %6s   (baseline)\n' "$(us "$curl_med")" "$(us "$curl_p99")"
while read -r name med p99; do
        ratio=$(awk -v a="$med" -v b="$curl_med" 'BEGIN { printf "%.2f", a / b }')
        printf '  etcd %-18s %6s / %6s   %s× curl\n' "$name" "$(us "$med")" "$(us "$p99")" "$ratio"
done <"$T/bench-etcd"
while read -r name med p99; do
        printf '  file %-18s %6s / %6s\n' "$name" "$(us "$med")" "$(us "$p99")"
done <"$T/bench-file"
finish >/dev/null
