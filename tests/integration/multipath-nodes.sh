# Two berth-multipathd-sync nodes on one host, for tests and benchmarks; sourced
# after lib.sh. One bus has one owner of org.berth.multipath1, so each node gets
# a private bus of its own (cluster.sh's nodes). Both share one store: a file
# store, $store, or with BERTH_TEST_STORE=etcd a real etcd of three members
# (start_store starts it). multipathd cannot run on this host (no
# device-mapper): the nodes run without one.
. "$src/tests/integration/cluster.sh"

store_kind=${BERTH_TEST_STORE:-file}
store=$T/store
case $store_kind in
file) cluster_store=file:$store ;;
etcd) ;;
*) fail "BERTH_TEST_STORE is '$store_kind', expected file or etcd" ;;
esac

# start_store: the store the nodes share, where it is a service of its own.
start_store() {
        if [ "$store_kind" = etcd ]; then
                start_etcd
        fi
}

# start_second_bus: BUS_A is lib.sh's bus, BUS_B a second one with the same policy.
start_second_bus() {
        BUS_A=$BERTH_BUS_ADDRESS
        new_bus dbus-b
        BUS_B=$bus_address
}

# start_node NODE [BUS]: its root is $T/root-NODE, its bus BUS or, the first time without one, a
# new one of its own ($T/dbus-NODE).
start_node() {
        [ -n "${node_bus[$1]:-}" ] || add_node "$1" "${2:-}"
        start_node_daemon "$1" berth-multipathd-sync org.berth.multipath1 --multipathd '' --health-interval 5
}

stop_node() { stop_node_daemon "$1" berth-multipathd-sync; }

# store_put KEY TEXT: writes a store key behind the daemons' backs, the way the store does
# (a file store atomically); store_get KEY prints its value, nothing when it does not exist.
store_put() {
        case $store_kind in
        file)
                mkdir -p "$(dirname "$store/$1")"
                printf '%s' "$2" >"$store/$1.tmp.test"
                mv "$store/$1.tmp.test" "$store/$1"
                ;;
        etcd) etcd_put "$1" "$2" ;;
        esac
}
store_get() {
        case $store_kind in
        file) cat "$store/$1" 2>/dev/null || true ;;
        etcd) etcd_get "$1" ;;
        esac
}
store_has() { [ -n "$(store_get "$1")" ]; }
