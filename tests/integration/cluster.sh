# Several berth nodes on one host for integration tests, on a real etcd of three
# members; sourced after lib.sh. Each node has a name, a root ($T/root-NAME), a
# private bus of its own (one bus has one owner of each org.berth.* name) and
# its daemons (pidfiles $T/BINARY-NAME.pid, logs $T/logs/BINARY-NAME.log, so
# lib.sh's stop_daemon, finish and cleanup take them like any other). The
# members' data is below $T/etcd, their logs in $T/logs/etcd-mK.log; lib.sh's
# cleanup ends them with SIGKILL (SIGTERM can take seconds after quorum loss).

etcd_members=(m0 m1 m2)
# Key prefix of the store in etcd: the etcd: backend's default namespace.
etcd_namespace=berth/
declare -gA etcd_client_url=() etcd_peer_url=() node_bus=() node_daemons=()
# The store every node is started on; start_etcd sets it to the cluster (a test may set any store URL).
cluster_store=

etcdctl_on() { # etcdctl_on ENDPOINTS ARGS...
        local endpoints=$1
        shift
        ETCDCTL_API=3 etcdctl --endpoints="$endpoints" --dial-timeout=1s --command-timeout=2s "$@"
}
etcd_endpoints() {
        local m urls=()
        for m in "${etcd_members[@]}"; do
                urls+=("${etcd_client_url[$m]}")
        done
        (IFS=,; echo "${urls[*]}")
}
# etcd_ctl ARGS...: etcdctl on the whole cluster.
etcd_ctl() { etcdctl_on "$(etcd_endpoints)" "$@"; }

etcd_spawn() { # etcd_spawn MEMBER new|existing
        local m=$1 cluster="" other
        for other in "${etcd_members[@]}"; do
                cluster+=${cluster:+,}$other=${etcd_peer_url[$other]}
        done
        etcd --name "$m" --data-dir "$T/etcd/$m" \
                --listen-client-urls "${etcd_client_url[$m]}" --advertise-client-urls "${etcd_client_url[$m]}" \
                --listen-peer-urls "${etcd_peer_url[$m]}" --initial-advertise-peer-urls "${etcd_peer_url[$m]}" \
                --initial-cluster "$cluster" --initial-cluster-state "$2" --initial-cluster-token "$T" \
                --heartbeat-interval 50 --election-timeout 500 --logger zap --log-level warn \
                >>"$T/logs/etcd-$m.log" 2>&1 </dev/null &
        echo $! >"$T/etcd-$m.pid"
        disown
}

# etcd_runs MEMBER: the member is up. It serves its peers at once, its clients only once it is
# part of a quorum.
etcd_runs() { curl -sf --max-time 1 "${etcd_peer_url[$1]}/version" >/dev/null; }
# etcd_healthy [MEMBER...]: each member (default all) serves a read that needs quorum.
etcd_healthy() {
        local m
        for m in "${@:-${etcd_members[@]}}"; do
                etcdctl_on "${etcd_client_url[$m]}" endpoint health >/dev/null 2>&1 || return
        done
}

# start_etcd: three members on free loopback ports; the store URL of the cluster in $cluster_store.
start_etcd() {
        local ports m i=0
        # Bound all at once, so the six are distinct; the kernel hands out ports in turn, so they stay free.
        read -ra ports < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
        for m in "${etcd_members[@]}"; do
                etcd_client_url[$m]=http://127.0.0.1:${ports[i]}
                etcd_peer_url[$m]=http://127.0.0.1:${ports[i + 1]}
                i=$((i + 2))
        done
        mkdir -p "$T/etcd"
        for m in "${etcd_members[@]}"; do
                etcd_spawn "$m" new
        done
        wait_until "etcd's members ${etcd_members[*]} answer with quorum" etcd_healthy
        cluster_store=etcd:$(etcd_endpoints)
}

# etcd_kill MEMBER: SIGKILL, and gone.
etcd_kill() {
        local pid
        pid=$(cat "$T/etcd-$1.pid")
        kill -KILL "$pid"
        wait_until "etcd member $1 exits" exited "$pid"
}

# etcd_restart MEMBER: a killed member back on its data; returns once it runs, which is
# before it serves clients: wait for etcd_healthy where a test needs that.
etcd_restart() {
        etcd_spawn "$1" existing
        wait_until "etcd member $1 runs" etcd_runs "$1"
}

# etcd_leader: prints the member that leads; fails while none does (an election, no quorum).
etcd_leader() {
        # etcdctl fails when a member is down, and still reports the others.
        { etcd_ctl endpoint status -w json 2>/dev/null || true; } | python3 -c '
import json, sys
urls = dict(zip(sys.argv[2].split(","), sys.argv[1].split(",")))
try:
    status = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
for s in status:
    if s["Status"].get("leader") == s["Status"]["header"]["member_id"]:
        print(urls[s["Endpoint"]])
        sys.exit(0)
sys.exit(1)' "$(IFS=,; echo "${etcd_members[*]}")" "$(etcd_endpoints)"
}

# etcd_put KEY VALUE, etcd_get KEY: a store key written or read behind the daemons' backs.
etcd_put() { printf '%s' "$2" | etcd_ctl put "$etcd_namespace$1" >/dev/null; }
etcd_get() { etcd_ctl get --print-value-only "$etcd_namespace$1"; }

# add_node NAME [BUS]: node NAME with its root, on BUS or on a new bus of its own ($T/dbus-NAME).
add_node() {
        mkdir -p "$T/root-$1"
        if [ -n "${2:-}" ]; then
                node_bus[$1]=$2
        else
                new_bus "dbus-$1"
                node_bus[$1]=$bus_address
        fi
}

# start_node_daemon NAME BINARY BUS_NAME [ARGS...]: one daemon of node NAME, on the cluster's store.
start_node_daemon() {
        local node=$1 bin=$2
        [ -n "$cluster_store" ] || fail "no store for node $node: start_etcd first"
        shift
        run_daemon "$bin-$node" "$T/root-$node" "${node_bus[$node]}" "$node" "$@" --store "$cluster_store"
        [[ " ${node_daemons[$node]:-} " == *" $bin "* ]] || node_daemons[$node]+=" $bin"
}

# start_cluster_node NAME DAEMON...: a new node and its daemons, in order. A DAEMON is one word
# of "BINARY BUS_NAME [ARGS...]" (split at spaces; --opt= for an empty value).
start_cluster_node() {
        local node=$1 daemon
        shift
        add_node "$node"
        for daemon in "$@"; do
                # shellcheck disable=SC2086
                start_node_daemon "$node" $daemon
        done
}

# stop_node_daemon NAME BINARY [SIGNAL]; stop_cluster_node NAME [SIGNAL]: its daemons, last first.
stop_node_daemon() { stop_daemon "$2-$1" "${3:-TERM}"; }
stop_cluster_node() {
        local bins bin i
        read -ra bins <<<"${node_daemons[$1]:-}"
        for ((i = ${#bins[@]} - 1; i >= 0; i--)); do
                bin=${bins[i]}
                if running "$(cat "$T/$bin-$1.pid")"; then
                        stop_node_daemon "$1" "$bin" "${2:-TERM}"
                fi
        done
}

# on_node NAME COMMAND...: the command, talking to node NAME's bus.
on_node() {
        local node=$1
        shift
        BERTH_BUS_ADDRESS=${node_bus[$node]} "$@"
}
