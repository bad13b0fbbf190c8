#!/bin/bash
# Three berth nodes on a real etcd of three members: the cluster-wide view
# (every guest of every node, with its node and state, on any node), a vmid
# unique across nodes, NextId under concurrent creates on all nodes, and
# liveness: a node whose clusterd is stopped goes offline once its lease runs
# out, with its guests "unknown", and comes back by itself; killed and
# restarted, it rejoins under its name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

nodes=(node1 node2 node3)
ttl=5

cl_json() { # cl_json NODE METHOD SIGNATURE ARGS...: a clusterd call on NODE, as JSON
        local node=$1 method=$2
        shift 2
        busctl --address="${node_bus[$node]}" --json=short call org.berth.cluster1 /org/berth/cluster1 \
                org.berth.cluster1.Manager "$method" "$@"
}
# field NODE ID-OR-NAME FIELD: a field of one record in ListNodes (a name) or ListResources (an id).
field() {
        if [[ $2 == */* ]]; then
                cl_json "$1" ListResources 'sa{sv}' '' 0
        else
                cl_json "$1" ListNodes 'a{sv}' 0
        fi | python3 -c '
import json, sys
for r in json.load(sys.stdin)["data"][0]:
    if (r["id"] if "id" in r else r["name"])["data"] == sys.argv[1]:
        print(r[sys.argv[2]]["data"])' "$2" "$3"
}
field_is() { [ "$(field "$1" "$2" "$3")" = "$4" ]; }
all_online() {
        local n
        for n in "${nodes[@]}"; do
                field_is "$1" "$n" online True || return
        done
}
gcreate() { # gcreate NODE VMID NAME: berthctl create on that node
        firmware_guest_config "$3" >"$T/$2.conf"
        on_node "$1" bctl create "$2" --config "$T/$2.conf"
}

start_etcd
for n in "${nodes[@]}"; do
        mkdir -p "$T/root-$n/etc/berth"
        printf 'node-lease-ttl: %s\n' "$ttl" >"$T/root-$n/etc/berth/berth.conf"
        start_cluster_node "$n" "berth-cleanupd org.berth.cleanup1" "berth-guestd org.berth.guest1" \
                "berth-clusterd org.berth.cluster1"
done
for n in "${nodes[@]}"; do
        wait_until "$n sees all three nodes online" all_online "$n"
done
ok "three nodes on etcd see each other online"

gcreate node1 101 one >/dev/null || fail "create 101 on node1"
gcreate node2 102 two >/dev/null || fail "create 102 on node2"
gcreate node3 103 three >/dev/null || fail "create 103 on node3"
for v in 101 102 103; do
        wait_until "node1 lists guest $v" field_is node1 "qemu/$v" vmid "$v"
done
field_is node1 qemu/102 node node2 && field_is node1 qemu/103 node node3 && field_is node3 qemu/101 node node1 ||
        fail "the resources name the wrong nodes: $(cl_json node1 ListResources 'sa{sv}' '' 0)"
field_is node1 qemu/102 status stopped || fail "guest 102 on node1's list: $(field node1 qemu/102 status)"
on_node node2 bctl start 102 >/dev/null || fail "start 102 on node2"
wait_until "node1 sees 102 running" field_is node1 qemu/102 status running
on_node node2 bctl stop 102 >/dev/null || fail "stop 102 on node2"
wait_until "node3 sees 102 stopped" field_is node3 qemu/102 status stopped
ok "every node lists every guest of the cluster with its node and its state"

upid=$(on_node node2 bctl task list | awk '/:qmstop:102:/ { print $1 }' | tail -n1)
[ -n "$upid" ] || fail "node2 lists no stop task of 102"
task_state_on() { on_node "$1" bctl task status "$2" 2>/dev/null | grep -qx "state: $3"; }
wait_until "node1 knows node2's stop task from the index" task_state_on node1 "$upid" ok
on_node node3 bctl task status "$upid" -o json | grep -q '"result": "guest 102 stopped"' ||
        fail "node3's answer: $(on_node node3 bctl task status "$upid" -o json)"
out=$(on_node node1 bctl task log "$upid" 2>&1) && fail "node1 printed a log it does not have: $out"
case $out in *"is kept on node node2"*) ;; *) fail "task log of node2's task on node1: $out" ;; esac
on_node node2 bctl task log "$upid" | grep -q "^TASK OK" || fail "node2 does not give its own task's log"
ok "a task of another node is answered for from the cluster's task index; its log, on its node"

out=$(gcreate node2 101 again 2>&1) && fail "a vmid of node1 was created again on node2"
case $out in *"already exists on node node1"*) ;; *) fail "the refusal does not name node1: $out" ;; esac
[ -z "$(etcd_get nodes/node2/qemu/101.conf)" ] || fail "the refused create left a config behind"
ok "a vmid is unique across the cluster: a create elsewhere is refused, naming the node"

# NextId, then create with it, twenty times at once over the three nodes.
for i in $(seq 20); do
        n=${nodes[i % 3]}
        (
                vmid=$(cl_json "$n" NextId 'a{sv}' 0 | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0])')
                gcreate "$n" "$vmid" "auto$i" >/dev/null && echo "$vmid" >>"$T/created"
        ) &
done
wait
[ "$(wc -l <"$T/created")" = 20 ] || fail "only $(wc -l <"$T/created") of 20 creates with NextId succeeded"
[ "$(sort -u "$T/created" | wc -l)" = 20 ] || fail "NextId gave one vmid twice: $(sort "$T/created" | uniq -d)"
ok "NextId under 20 concurrent creates on three nodes gives 20 distinct vmids"

pid=$(cat "$T/berth-clusterd-node3.pid")
kill -STOP "$pid"
wait_until "node1 sees node3 offline" field_is node1 node3 online False
wait_until "node3's guest is unknown on node1" field_is node1 qemu/103 status unknown
field_is node2 node3 online False || fail "node2 still sees node3 online"
kill -CONT "$pid"
wait_until "node3 is back online" field_is node1 node3 online True
wait_until "node3's guest is known again" field_is node1 qemu/103 status stopped
ok "a stopped clusterd's node goes offline, its guests unknown, and comes back by itself"

kill -KILL "$pid"
start_node_daemon node3 berth-clusterd org.berth.cluster1
wait_until "the restarted node3 is online" field_is node1 node3 online True
[ "$(field node1 node3 local)" = False ] && [ "$(field node3 node3 local)" = True ] || fail "local is wrong"
ok "killed and restarted, node3 rejoins under its name"

finish
