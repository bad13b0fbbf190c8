#!/bin/bash
# Two berth nodes on a real etcd of three members, under a steady write load
# from the daemons: both nodes try to create the same vmids, one after the
# other, as fast as they answer. The leader is killed: writes go on after a new
# election, no acknowledged create is lost, no vmid is created twice. Two of
# three members are killed: calls that need the store fail with
# org.berth.Error.Unavailable, running guests keep running, what the daemons
# know still answers. Quorum back: everything catches up with no manual step.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

nodes=(node1 node2)

quorate() { [ "$(on_node "$1" bbus get-property org.berth.cluster1 /org/berth/cluster1 org.berth.cluster1.Manager Quorate)" = "b $2" ]; }
# create NODE VMID: a CreateGuest through gdbus, which names the error of a failed call.
create() {
        gdbus call --address "${node_bus[$1]}" --dest org.berth.guest1 --object-path /org/berth/guest1 \
                --method org.berth.guest1.Manager.CreateGuest "$2" "$(firmware_guest_config "g$2")" '{}'
}

# load: both nodes try each vmid from 1000 on; "<vmid> <node> ok|<error>" per try, until $T/stop.
load() {
        local vmid=1000 n out
        while [ ! -e "$T/stop" ]; do
                for n in "${nodes[@]}"; do
                        if out=$(create "$n" "$vmid" 2>&1); then
                                echo "$vmid $n ok"
                        else
                                echo "$vmid $n $(grep -o 'org\.berth\.Error\.[A-Za-z]*' <<<"$out" | head -n1)"
                        fi
                done
                vmid=$((vmid + 1))
        done >>"$T/load"
}
acked_since() { [ "$(awk -v from="$1" '$3 == "ok" && NR > from' "$T/load" 2>/dev/null | wc -l)" -ge "$2" ]; }

start_etcd
for n in "${nodes[@]}"; do
        start_cluster_node "$n" "berth-cleanupd org.berth.cleanup1" "berth-guestd org.berth.guest1" \
                "berth-clusterd org.berth.cluster1"
done
create node1 200 >/dev/null || fail "create 200"
on_node node1 bctl start 200 >/dev/null || fail "start 200"
qemu=$(on_node node1 prop 200 Pid)

load &
load_pid=$!
wait_until "the load gets going" acked_since 0 5
leader=$(etcd_leader) || fail "no leader"
etcd_kill "$leader"
mark=$(wc -l <"$T/load")
wait_until "writes resume after the leader $leader was killed" acked_since "$mark" 5
ok "the leader killed, writes resume once the others elect a new one"

# Two of three gone: no quorum.
for m in "${etcd_members[@]}"; do
        [ "$m" != "$leader" ] && { second=$m; break; }
done
etcd_kill "$second"
wait_until "node1's clusterd sees no quorum" quorate node1 false
touch "$T/stop"
wait "$load_pid"
out=$(create node2 300 2>&1) && fail "a create went through without quorum"
case $out in *org.berth.Error.Unavailable*) ;; *) fail "without quorum a create fails with: $out" ;; esac
kill -0 "$qemu" || fail "guest 200's QEMU went with the quorum"
[ "$(on_node node1 prop 200 State)" = running ] || fail "guest 200 is $(on_node node1 prop 200 State)"
on_node node1 bctl list | grep -q '^200 ' || fail "node1 does not list its guests without quorum"
on_node node2 bctl resources | grep -q 'qemu/200' || fail "node2's clusterd forgot the cluster without quorum"
ok "without quorum: Unavailable, the guest runs on, what the daemons know still answers"

etcd_restart "$leader"
etcd_restart "$second"
wait_until "etcd has quorum again" etcd_healthy
for n in "${nodes[@]}"; do
        wait_until "$n's clusterd is quorate again" quorate "$n" true
done
create node2 300 >/dev/null || fail "a create after quorum came back"
wait_until "node1 lists the new guest of node2" sh -c "BERTH_BUS_ADDRESS='${node_bus[node1]}' '$build/tools/berthctl/berthctl' resources | grep -q qemu/300"
ok "quorum back: the nodes catch up by themselves"

# Nothing acknowledged is lost, nothing is doubled: every vmid is at most one node's,
# and an acknowledged create's guest is on its node.
while read -r vmid n result; do
        owner=$(etcd_get "guests/$vmid")
        if [ "$result" = ok ]; then
                [ "$owner" = "$n" ] || fail "the acknowledged create of $vmid on $n is lost (guests/$vmid: '$owner')"
                [ -n "$(etcd_get "nodes/$n/qemu/$vmid.conf")" ] || fail "the config of $vmid on $n is lost"
        fi
done <"$T/load"
for vmid in $(awk '{ print $1 }' "$T/load" | sort -u); do
        count=0
        for n in "${nodes[@]}"; do
                [ -n "$(etcd_get "nodes/$n/qemu/$vmid.conf")" ] && count=$((count + 1))
        done
        [ "$count" -le 1 ] || fail "vmid $vmid exists on $count nodes"
done
acked=$(awk '$3 == "ok"' "$T/load" | wc -l)
ok "$acked acknowledged creates, none lost, no vmid on two nodes"

finish
