#!/bin/bash
# Two nodes' accessd on a real etcd of three members: one access config and one key ring for
# the cluster, so that what node1 issues and changes holds on node2 at once, and both nodes
# starting together make one signing key between them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

acall() { # acall NODE METHOD SIGNATURE ARGS...
        local node=$1
        shift
        busctl --address="${node_bus[$node]}" call org.berth.access1 /org/berth/access1 org.berth.access1.Manager "$@"
}

start_etcd
add_node node1
add_node node2
# At once: the first key is made under the store lock, by one of them.
start_node_daemon node1 berth-accessd org.berth.access1 &
start_node_daemon node2 berth-accessd org.berth.access1
wait
node_daemons[node1]=" berth-accessd"
keys=$(etcd_get access/keys)
[ "$(grep -c '^private: ' <<<"$keys")" = 1 ] || fail "access/keys: $(sed 's/: .*/: …/' <<<"$keys")"
[ "$(grep -l "Made the ticket signing key" "$T"/logs/berth-accessd-node*.log | wc -l)" = 1 ] ||
        fail "not exactly one node made the signing key"
ok "two nodes starting together make one signing key in etcd"

acall node1 CreateUser sa{sv} carol@berth 1 password s "carol password" >/dev/null || fail "CreateUser on node1"
ticket=$(acall node1 Authenticate ssa{sv} carol@berth "carol password" 0 | cut -d'"' -f2)
[[ $ticket == PVE:carol@berth:* ]] || fail "ticket '$ticket'"
# node2 follows user.cfg through its watch: wait until it knows carol, then the ticket must hold.
wait_until "node2 knows carol" acall node2 GetUser sa{sv} carol@berth 0
[ "$(acall node2 VerifyTicket sa{sv} "$ticket" 0)" = 's "carol@berth"' ] || fail "node2 refuses node1's ticket"
acall node2 Authenticate ssa{sv} carol@berth "carol password" 0 >/dev/null || fail "carol cannot log in on node2"
ok "a ticket issued on node1 is valid on node2, and the user logs in on either"

read -r tokenid secret < <(acall node2 CreateToken ssa{sv} carol@berth ci 0 | tr -d '"' | cut -d' ' -f2-)
wait_until "node1 knows the token" acall node1 ListTokens sa{sv} carol@berth 0
[ "$(acall node1 VerifyToken sa{sv} "PVEAPIToken=$tokenid=$secret" 0)" = "s \"$tokenid\"" ] ||
        fail "node1 refuses node2's token"
acall node1 UpdateUser sa{sv} carol@berth 1 enable b false >/dev/null || fail "disable on node1"
refused() { ! acall node2 VerifyTicket sa{sv} "$ticket" 0 >/dev/null 2>&1; }
wait_until "node2 refuses the ticket of a disabled user" refused
ok "a token made on node2 verifies on node1; disabling a user on node1 voids its ticket on node2"

finish
