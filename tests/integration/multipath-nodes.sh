# Two berth-multipathd-sync nodes on one host, for tests and benchmarks; sourced
# after lib.sh. One bus has one owner of org.berth.multipath1, so each node gets
# a private bus of its own (lib.sh's, and a second one made the same way); both
# share one file store. multipathd cannot run on this host (no device-mapper):
# the nodes run without one.

store=$T/store

# start_second_bus: BUS_A is lib.sh's bus, BUS_B a second one with the same policy.
start_second_bus() {
        BUS_A=$BERTH_BUS_ADDRESS
        sed "s|$T/dbus/bus.sock|$T/dbus/bus-b.sock|" "$T/dbus/bus.conf" >"$T/dbus/bus-b.conf"
        dbus-daemon --config-file="$T/dbus/bus-b.conf" --nofork --nopidfile --print-address=3 \
                3>"$T/dbus/address-b" 2>"$T/logs/dbus-b.log" &
        echo $! >"$T/dbus-b.pid"
        disown
        wait_until "the second dbus-daemon prints its address" test -s "$T/dbus/address-b"
        BUS_B=$(head -n1 "$T/dbus/address-b")
}

start_node() { # start_node NODE BUS: its root is $T/root-NODE
        mkdir -p "$T/root-$1"
        BERTH_LOG_LEVEL=${BERTH_LOG_LEVEL:-debug} "$build/daemons/multipathd-sync/berth-multipathd-sync" \
                --root "$T/root-$1" --bus-address "$2" --store "file:$store" --node "$1" --multipathd '' \
                --health-interval 5 >>"$T/logs/multipathd-$1.log" 2>&1 &
        echo $! >"$T/multipathd-$1.pid"
        disown
        wait_until "node $1 takes org.berth.multipath1" bus_has_name "$2" org.berth.multipath1
}

stop_node() {
        local pid
        pid=$(cat "$T/multipathd-$1.pid")
        kill -TERM "$pid"
        wait_until "node $1 exits" exited "$pid"
}
