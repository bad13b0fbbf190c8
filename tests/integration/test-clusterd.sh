#!/bin/bash
# berth-clusterd on the embedded file store: this node's status on its lease,
# the node list and the cluster's resources from what is in the store, NextId
# reservations, and liveness: a second clusterd (node "other", on a bus of its
# own, the same store) that is stopped with SIGSTOP goes offline once its lease
# runs out and comes back by itself on SIGCONT; one that is killed and
# restarted rejoins under its name. The same on etcd with three nodes is in
# test-cluster.sh.
. "$(dirname "$0")/lib.sh"

store=$ROOT/var/lib/berth/store
mkdir -p "$ROOT/etc/berth"
printf 'cluster-name: lab\nnode-lease-ttl: 2\n' >"$ROOT/etc/berth/berth.conf"

cl() { bbus call org.berth.cluster1 /org/berth/cluster1 org.berth.cluster1.Manager "$@"; }
# gcl METHOD ARGS...: the same through gdbus, which names the D-Bus error of a failed call.
gcl() {
        local method=$1
        shift
        gdbus call --address "$BERTH_BUS_ADDRESS" --dest org.berth.cluster1 --object-path /org/berth/cluster1 \
                --method "org.berth.cluster1.Manager.$method" "$@"
}
cl_prop() { bbus get-property org.berth.cluster1 /org/berth/cluster1 org.berth.cluster1.Manager "$1" | cut -d' ' -f2- | tr -d '"'; }
# nodes_json [BUS]: ListNodes as JSON.
nodes_json() {
        busctl --address="${1:-$BERTH_BUS_ADDRESS}" --json=short call org.berth.cluster1 /org/berth/cluster1 \
                org.berth.cluster1.Manager ListNodes 'a{sv}' 0
}
# node_field NODE FIELD [BUS]: a field of one node in ListNodes.
node_field() {
        nodes_json "${3:-}" | python3 -c '
import json, sys
for n in json.load(sys.stdin)["data"][0]:
    if n["name"]["data"] == sys.argv[1]:
        print(n[sys.argv[2]]["data"])' "$1" "$2"
}
node_is() { [ "$(node_field "$1" online)" = "$2" ]; }
resource_field() { # resource_field ID FIELD
        busctl --address="$BERTH_BUS_ADDRESS" --json=short call org.berth.cluster1 /org/berth/cluster1 \
                org.berth.cluster1.Manager ListResources 'sa{sv}' '' 0 | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"][0]:
    if r["id"]["data"] == sys.argv[1]:
        print(r[sys.argv[2]]["data"])' "$1" "$2"
}
resource_is() { [ "$(resource_field "$1" "$2")" = "$3" ]; }
# put KEY TEXT: a key written into the file store by hand, atomically, as another node would.
put() {
        mkdir -p "$(dirname "$store/$1")"
        printf '%s' "$2" >"$store/$1.tmp.test"
        mv "$store/$1.tmp.test" "$store/$1"
}

start_bus
start_daemon berth-clusterd org.berth.cluster1
[ "$(cl_prop Node)" = testnode ] || fail "Node is '$(cl_prop Node)'"
[ "$(cl_prop ClusterName)" = lab ] || fail "ClusterName is '$(cl_prop ClusterName)'"
[ "$(cl_prop Quorate)" = true ] || fail "not quorate on the file store"
[ "$(cl_prop Nodes)" = 1 ] || fail "Nodes is $(cl_prop Nodes)"
python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); assert s["cpus"] >= 1 and s["memory"] > 0 and len(s["load"]) == 3, s' \
        "$store/nodes/testnode/status" || fail "the status key: $(cat "$store/nodes/testnode/status")"
[ "$(node_field testnode online)" = True ] && [ "$(node_field testnode local)" = True ] ||
        fail "ListNodes: $(nodes_json)"
[ "$(node_field testnode cpus)" -ge 1 ] || fail "ListNodes has no CPUs: $(nodes_json)"
ok "a node writes its status on its lease and lists itself online"

# A guest of a node that has never been online: known from its config, its state unknown.
put nodes/far/qemu/105.conf "name: web
memory: 2048
cores: 2
tags: prod;db
"
put nodes/far/qemu-status/105 '{"state":"running","pid":4242,"run-id":"r1","start-time":1}'
wait_until "the guest of far is listed" resource_is qemu/105 node far
resource_is qemu/105 status unknown || fail "a guest of an offline node is $(resource_field qemu/105 status)"
resource_is qemu/105 name web && resource_is qemu/105 maxmem $((2048 * 1024 * 1024)) &&
        resource_is qemu/105 maxcpu 2 && resource_is qemu/105 tags "prod;db" ||
        fail "guest 105 from its config: $(resource_field qemu/105 name) $(resource_field qemu/105 maxmem)"
node_is far False || fail "far should be listed offline"
[ "$(cl_prop Nodes)" = 2 ] || fail "Nodes is $(cl_prop Nodes) with far"
put nodes/far/status '{"version":"0.1","cpus":4,"memory":1000,"load":[0.5,0.25,0],"uptime":9}'
wait_until "far is online" node_is far True
wait_until "the guest of far shows its state" resource_is qemu/105 status running
[ "$(resource_field qemu/105 uptime)" -gt 0 ] || fail "a running guest has no uptime"
resource_is node/far maxcpu 4 || fail "node/far: $(resource_field node/far maxcpu) CPUs"
bctl nodes | grep -Eq '^far +yes +no +4 ' || fail "berthctl nodes: $(bctl nodes)"
bctl resources -o json | python3 -c '
import json, sys
r = {x["id"]: x for x in json.load(sys.stdin)}
assert r["qemu/105"]["status"] == "running" and r["qemu/105"]["node"] == "far", r
assert r["node/testnode"]["status"] == "online", r' || fail "berthctl resources: $(bctl resources -o json)"
rm "$store/nodes/far/status"
wait_until "far is offline again" node_is far False
wait_until "its guest is unknown again" resource_is qemu/105 status unknown
rm "$store/nodes/far/qemu/105.conf" "$store/nodes/far/qemu-status/105"
nodes_are() { [ "$(cl_prop Nodes)" = "$1" ]; }
wait_until "far, offline without guests, is forgotten" nodes_are 1
expect_error org.berth.Error.InvalidArgument gcl ListResources storage '@a{sv} {}'
expect_error org.berth.Error.InvalidArgument gcl ListNodes "{'frob': <'x'>}"
ok "the cluster's resources: configs and states of every node, unknown while a node is offline"

# NextId: the lowest free vmid, reserved so that the next call gets another one.
put guests/100 far
[ "$(cl NextId 'a{sv}' 0)" = "u 101" ] || fail "NextId with 100 taken"
[ "$(cl NextId 'a{sv}' 0)" = "u 102" ] || fail "NextId reserved nothing"
grep -Eq '^testnode [0-9]+$' "$store/vmid-reservations/101" || fail "the reservation of 101: $(cat "$store/vmid-reservations/101")"
# Another node's reservation holds until its time, then the vmid is free again.
put vmid-reservations/103 "far 1"
put vmid-reservations/104 "far 99999999999"
[ "$(cl NextId 'a{sv}' 0)" = "u 103" ] || fail "NextId skipped a reservation that ran out"
[ "$(cl NextId 'a{sv}' 0)" = "u 105" ] || fail "NextId took a vmid another node holds"
ok "NextId gives the lowest free vmid and reserves it for a while"

# A second node on the same store, on a bus of its own.
sed "s|$T/dbus/bus.sock|$T/dbus/bus-b.sock|" "$T/dbus/bus.conf" >"$T/dbus/bus-b.conf"
dbus-daemon --config-file="$T/dbus/bus-b.conf" --nofork --nopidfile --print-address=3 \
        3>"$T/dbus/address-b" 2>"$T/logs/dbus-b.log" &
echo $! >"$T/dbus-b.pid"
disown
wait_until "the second bus prints its address" test -s "$T/dbus/address-b"
BUS_B=$(head -n1 "$T/dbus/address-b")
start_other() {
        wait_until "the bus releases the other clusterd's name" bus_lacks_name "$BUS_B" org.berth.cluster1
        BERTH_LOG_LEVEL=debug "$build/daemons/clusterd/berth-clusterd" --root "$ROOT" --bus-address "$BUS_B" \
                --node other >>"$T/logs/berth-clusterd-other.log" 2>&1 &
        echo $! >"$T/berth-clusterd-other.pid"
        disown
        wait_until "the other clusterd takes its name" bus_has_name "$BUS_B" org.berth.cluster1
}
start_other
wait_until "other joins" node_is other True
node_field testnode online "$BUS_B" | grep -qx True || fail "other does not see testnode"
ok "a second node joins and both see each other"

pid=$(cat "$T/berth-clusterd-other.pid")
kill -STOP "$pid"
wait_until "the stopped node goes offline" node_is other False
kill -CONT "$pid"
wait_until "the node comes back by itself" node_is other True
grep -q "lease is lost" "$T/logs/berth-clusterd-other.log" || fail "other did not notice it lost its lease"
ok "a stopped node goes offline when its lease runs out, and rejoins on SIGCONT"

kill -KILL "$pid"
start_other
wait_until "the restarted node is online" node_is other True
stop_daemon berth-clusterd-other TERM
wait_until "a node that stops leaves at once" node_is other False
[ "$(cl_prop Nodes)" = 2 ] || fail "a member that left is no longer counted"
ok "killed and restarted, a node rejoins under its name; stopped, it leaves"

stop_daemon berth-clusterd TERM
[ ! -e "$store/nodes/testnode/status" ] || fail "the status key outlived its clusterd"
ok "the status goes with its clusterd"
finish
