#!/bin/bash
# berth-multipathd-sync on two nodes, a and b: each with its own root and its
# own private bus (one bus has one owner of org.berth.multipath1), both on one
# store: a file store, or with BERTH_TEST_STORE=etcd a real etcd of three
# members (test-multipath-sync-etcd), where b learns of a's changes through
# etcd's watch. A change made on a is applied on b; every rejection is a named
# error and changes nothing; RemoveWwid is refused while a storage uses the LUN;
# the health matrix shows stale, missing and malformed reports for what they are;
# on etcd, a change still reaches b with etcd's leader killed.
#
# multipathd cannot run on this host's kernel (no device-mapper), so both
# daemons run without one (--multipathd ''): the health they publish lists no
# maps, which is what the real code reports without multipathd. The reports of
# the other nodes in the matrix are written into the store by this test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/multipath-nodes.sh"

W1=3600a098038303053453f463045727a56
W2=3600a098038303053453f463045727a57

mpa() { BERTH_BUS_ADDRESS=$BUS_A bctl multipath "$@"; }
mpb() { BERTH_BUS_ADDRESS=$BUS_B bctl multipath "$@"; }
# gcall BUS METHOD ARGS...: gdbus names the D-Bus error of a failed call.
gcall() {
        local bus=$1 method=$2
        shift 2
        gdbus call --address "$bus" --dest org.berth.multipath1 --object-path /org/berth/multipath1 \
                --method "org.berth.multipath1.Manager.$method" "$@"
}
prop() { # prop BUS PROPERTY
        busctl --address="$1" get-property org.berth.multipath1 /org/berth/multipath1 \
                org.berth.multipath1.Manager "$2" | cut -d' ' -f2- | tr -d '"'
}
digest() { mpa config -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])'; }
confb=$T/root-b/etc/multipath/conf.d

# Lines and files of others on node b, which berth must leave alone.
mkdir -p "$confb"
printf 'defaults {\n}\n' >"$confb/10-local.conf"
printf '/boot-lun-by-hand/\n' >"$T/root-b/etc/multipath/wwids"

start_store
start_node a
start_node b
BUS_A=${node_bus[a]}
BUS_B=${node_bus[b]}
[ "$(prop "$BUS_A" Node)" = a ] && [ "$(prop "$BUS_B" Node)" = b ] || fail "the nodes do not know their names"
[ "$(prop "$BUS_B" ApplyResult)" = ok ] || fail "node b's first apply: $(prop "$BUS_B" ApplyError)"
[ ! -e "$confb/50-berth.conf" ] || fail "an empty configuration installed a drop-in"
ok "both nodes applied the empty configuration"

# berthctl's multipath commands check their arguments before any call.
usage() { # usage MESSAGE ARGS...: berthctl ARGS exits 2 saying MESSAGE
        local out rc=0
        out=$(bctl "${@:2}" 2>&1) || rc=$?
        [ "$rc" -eq 2 ] && [[ $out == *"$1"* ]] || fail "berthctl ${*:2}: exit $rc, '$out'"
}
usage "Missing multipath command" multipath
usage "Unknown multipath command 'frob'" multipath frob
usage "'multipath add-wwid' takes WWID" multipath add-wwid
usage "'multipath set-alias' takes WWID ALIAS" multipath set-alias $W1
usage "'multipath status' takes no arguments" multipath status x
usage "--force is not valid for 'multipath add-wwid'" multipath add-wwid $W1 --force
usage "--digest is not valid for 'multipath remove-wwid'" --bus-address "$BUS_A" multipath remove-wwid $W1 --digest x
usage "'multipath set-defaults' needs KEY=VALUE or --delete" multipath set-defaults
usage "Unknown output format 'yaml'" -o yaml multipath status
bctl --help | grep -q "multipath COMMAND" || fail "berthctl --help does not mention multipath"
bctl multipath --help | grep -q "remove-wwid WWID \[--force\]" || fail "berthctl multipath --help"
ok "berthctl multipath checks its command line"

# --- A change on a is applied on b.
busctl --address="$BUS_B" monitor --json=short \
        --match "type='signal',interface='org.berth.multipath1.Manager',member='Applied'" >"$T/applied-b.json" 2>/dev/null &
echo $! >"$T/monitor-b.pid"
disown
wait_until "the bus monitor on b is listening" grep -q "became a monitor" "$T/logs/dbus-b.log"
gen_b=$(prop "$BUS_B" ApplyGeneration)
mpa add-wwid $W1 || fail "add-wwid"
mpa set-alias $W1 db1 || fail "set-alias"
mpa set-defaults no-path-retry=12 polling-interval=10 || fail "set-defaults"
mpa update-wwid $W1 failback=immediate || fail "update-wwid"
final_conf() { grep -q 'failback "immediate"' "$confb/50-berth.conf" 2>/dev/null; }
wait_until "node b installs the change" final_conf
grep -q 'alias "db1"' "$confb/50-berth.conf" || fail "b's drop-in lacks the alias"
grep -q 'no_path_retry "12"' "$confb/50-berth.conf" || fail "b's drop-in lacks the defaults"
grep -q 'find_multipaths "strict"' "$confb/50-berth.conf" || fail "b's drop-in lacks the baseline"
grep -qx "/$W1/" "$T/root-b/etc/multipath/wwids" || fail "b's wwids file does not list $W1"
grep -qx "/boot-lun-by-hand/" "$T/root-b/etc/multipath/wwids" || fail "b's wwids file lost a line of others"
same_generation() { [ "$(prop "$BUS_B" ApplyGeneration)" = "$(prop "$BUS_A" ApplyGeneration)" ]; }
wait_until "b applied the generation a applied" same_generation
gen=$(prop "$BUS_B" ApplyGeneration)
[ "$gen" -gt "$gen_b" ] || fail "b's generation did not advance ($gen_b -> $gen)"
applied_signal() { grep -q "\"data\":\[$gen,true,\"\"\]" "$T/applied-b.json"; }
wait_until "b signals Applied for generation $gen" applied_signal
ok "a change on node a is applied on node b (generation $gen_b -> $gen, Applied signal)"

# Node b reads the same configuration as a.
mpb config | grep -q "^wwid: $W1" || fail "b's config lacks $W1"
[ "$(mpb config -o json | python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])')" = "$(digest)" ] ||
        fail "a and b disagree on the digest"
mpa config -o json | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c["wwids"] == ["'$W1'"], c
assert c["aliases"] == {"'$W1'": "db1"}, c
assert c["luns"]["'$W1'"] == {"failback": "immediate"}, c
assert c["defaults"]["no-path-retry"] == "12" and c["defaults"]["path-checker"] == "tur", c
' || fail "GetConfig does not return what was set"
ok "GetConfig returns effective defaults, allow-list, aliases and knobs"

# --- Every rejection is a named error and leaves the digest alone.
before=$(digest)
long=$(printf 'w%.0s' $(seq 129))
expect_error org.berth.Error.InvalidArgument mpa add-wwid 'bad wwid'
expect_error org.berth.Error.InvalidArgument mpa add-wwid "$long"
expect_error org.berth.Error.AliasInUse mpa add-wwid db1
[[ $(mpa add-wwid db1 2>&1 || true) == *"wwid 'db1' is the alias of wwid '$W1'"* ]] || fail "the AliasInUse error does not say why"
expect_error org.berth.Error.NoSuchWwid mpa set-alias $W2 db2
expect_error org.berth.Error.NoSuchWwid mpa update-wwid $W2 failback=manual
expect_error org.berth.Error.NoSuchWwid mpb remove-wwid $W2
expect_error org.berth.Error.NoSuchWwid mpb remove-alias $W2
expect_error org.berth.Error.InvalidArgument mpa set-alias $W1 'bad alias'
expect_error org.berth.Error.InvalidArgument mpa set-defaults no-path-retry=12 --delete no-path-retry
expect_error org.berth.Error.InvalidArgument mpa set-defaults --delete type
expect_error org.berth.Error.InvalidArgument mpa set-defaults --delete no-such-knob
expect_error org.berth.Error.InvalidArgument mpa set-defaults no-path-retry=sometimes
expect_error org.berth.Error.InvalidArgument mpa update-wwid $W1 path-checker=tur
expect_error org.berth.Error.InvalidArgument mpa update-wwid $W1 --delete alias
expect_error org.berth.Error.DigestMismatch mpa set-defaults no-path-retry=13 --digest 0000
expect_error org.berth.Error.DigestMismatch mpb update-wwid $W1 failback=manual --digest 0000
printf 'devices {\n' >"$T/unclosed.conf"
printf 'defaults {\n}\n' >"$T/section.conf"
printf 'overrides {\n\tno_path_retry sometimes\n}\n' >"$T/keyword.conf"
head -c 140000 /dev/zero | tr '\0' '#' >"$T/big.conf"
expect_error org.berth.Error.InvalidConfig mpa set-overrides "$T/unclosed.conf"
expect_error org.berth.Error.InvalidConfig mpa set-overrides "$T/section.conf"
expect_error org.berth.Error.InvalidConfig mpa set-overrides "$T/keyword.conf"
expect_error org.berth.Error.InvalidConfig mpa set-overrides "$T/big.conf"
expect_error org.berth.Error.InvalidArgument gcall "$BUS_A" AddWwid "'$W2'" "{'frob': <true>}"
expect_error org.berth.Error.InvalidArgument gcall "$BUS_A" SetDefaults "{'no-path-retry': <[1]>}" "@as []" "''" "@a{sv} {}"
expect_error org.berth.Error.PermissionDenied setpriv --reuid nobody --regid nogroup --clear-groups \
        gdbus call --address "$BUS_A" --dest org.berth.multipath1 --object-path /org/berth/multipath1 \
        --method org.berth.multipath1.Manager.GetConfig "{'user': <'root@pam'>}"
[ "$(digest)" = "$before" ] || fail "a rejected call changed the configuration"
ok "every rejection is a named error and leaves the digest unchanged"

# Adding what is there and removing an alias that is not set change nothing either.
mpa add-wwid $W1 || fail "adding an allow-listed wwid again failed"
[ "$(digest)" = "$before" ] || fail "adding an allow-listed wwid again changed the configuration"
ok "adding an allow-listed WWID again is a no-op"

# --- RemoveWwid while a storage uses the LUN.
store_put storage.cfg "multipath: san
	nodes a,b,c,d,e

lvm: vg1
	vgname vg1
	base san:$W1
	nodes a,b,c,d,e
	shared 1
"
expect_error org.berth.Error.Busy mpa remove-wwid $W1
[[ $(mpa remove-wwid $W1 2>&1 || true) == *"wwid '$W1' is in use by storage vg1"* ]] || fail "the Busy error does not name vg1"
expect_error org.berth.Error.Busy gcall "$BUS_B" RemoveWwid "'$W1'" false "{}"
[ "$(digest)" = "$before" ] || fail "a refused RemoveWwid changed the configuration"
mpa remove-wwid $W1 --force || fail "a forced remove-wwid failed"
mpa config -o json | python3 -c 'import json, sys; assert json.load(sys.stdin)["wwids"] == []' ||
        fail "$W1 is still allow-listed"
removed() { ! grep -q "$W1" "$confb/50-berth.conf"; }
wait_until "b drops $W1" removed
ok "RemoveWwid is refused (Busy) while vg1 uses the LUN, allowed with force"
mpa add-wwid $W1 && mpa set-alias $W1 db1 && mpa add-wwid $W2 || fail "re-adding the LUNs"

# --- The health matrix.
now_us=$(($(date +%s) * 1000000))
report() { # report NODE TIMESTAMP-USEC ACTIVE TOTAL
        local failed=""
        [ "$3" -lt "$4" ] && failed='"sdb"'
        printf '{"node":"%s","timestamp":%s,"interval":60,"apply":{"generation":1,"result":"ok"},"multipathd":true,"maps":[{"wwid":"%s","name":"db1","dm-state":"active","paths-active":%s,"paths-total":%s,"failed-paths":[%s]}]}' \
                "$1" "$2" "$W1" "$3" "$4" "$failed"
}
store_put nodes/c/multipath-health "$(report c "$now_us" 1 2)"
store_put nodes/d/multipath-health "$(report d "$now_us" 2 2)"
store_put nodes/f/multipath-health '{"node":"f","timestamp":'
# Node b's own report made stale: its daemon stopped, an old timestamp written into its key.
wait_until "b publishes its report" store_has nodes/b/multipath-health
stop_node b
old=$(store_get nodes/b/multipath-health |
        python3 -c 'import json, sys; r = json.load(sys.stdin); r["timestamp"] = 1; print(json.dumps(r))')
store_put nodes/b/multipath-health "$old"

health() { mpa status -o json >"$T/health.json" || fail "GetHealth failed"; }
cell() { # cell WWID NODE: its state, "-" without a cell
        python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))
print(next((c["state"] for c in h["cells"] if c["wwid"] == sys.argv[2] and c["node"] == sys.argv[3]), "-"))
' "$T/health.json" "$1" "$2"
}
lun() { python3 -c 'import json, sys; print(next(l["state"] for l in json.load(open(sys.argv[1]))["luns"] if l["wwid"] == sys.argv[2]))' "$T/health.json" "$1"; }
node_report() { python3 -c 'import json, sys; print(next(n["report"] for n in json.load(open(sys.argv[1]))["nodes"] if n["node"] == sys.argv[2]))' "$T/health.json" "$1"; }
expect_cell() { # expect_cell WWID NODE STATE
        local s
        s=$(cell "$1" "$2")
        [ "$s" = "$3" ] || fail "cell $1 on $2 is $s, expected $3 ($(cat "$T/health.json"))"
}

health
expect_cell $W1 a missing
expect_cell $W1 b unknown
expect_cell $W1 c degraded
expect_cell $W1 d ok
expect_cell $W1 e missing
expect_cell $W1 f -
[ "$(node_report b)" = stale ] || fail "b's report is $(node_report b), expected stale"
[ "$(node_report e)" = none ] || fail "e's report is $(node_report e), expected none"
[ "$(node_report f)" = malformed ] || fail "f's report is $(node_report f), expected malformed"
[ "$(lun $W1)" = degraded ] || fail "LUN $W1 rolls up to $(lun $W1), expected degraded"
ok "health: a stale report is unknown, an expected node without the LUN or any report is missing"
# No lvm storage uses W2: it is expected wherever san is.
expect_cell $W2 c missing
[ "$(lun $W2)" = missing ] || fail "LUN $W2 rolls up to $(lun $W2), expected missing"
mpa status >"$T/status.txt" || fail "berthctl multipath status failed"
grep -Eq "^$W1 +db1 +degraded +missing +unknown +degraded:1/2 +ok:2/2 +missing" "$T/status.txt" ||
        fail "the status table is not as expected: $(cat "$T/status.txt")"
grep -Eq "^b +stale " "$T/status.txt" || fail "the node table does not show b stale: $(cat "$T/status.txt")"
ok "berthctl multipath status prints the matrix as a table"

# Back up, b applies what changed meanwhile and reports afresh.
mpa set-alias $W2 db2 || fail "set-alias while b is down"
start_node b
fresh() { health; [ "$(node_report b)" = ok ]; }
wait_until "b reports afresh" fresh
grep -q 'alias "db2"' "$confb/50-berth.conf" || fail "b did not apply the change made while it was down"
expect_cell $W1 b missing
ok "a restarted node applies the configuration and reports afresh"

# --- A configuration multipath rejects is not installed; the failure is visible everywhere.
good=$(store_get multipath.cfg)
cp "$confb/50-berth.conf" "$T/installed.conf"
store_put multipath.cfg "wwid: $W1
	bogus-knob 1
"
failed() { [ "$(prop "$BUS_B" ApplyResult)" = failed ]; }
wait_until "b's apply fails" failed
prop "$BUS_B" ApplyError | grep -q "bogus-knob" || fail "b's ApplyError does not say why: $(prop "$BUS_B" ApplyError)"
cmp -s "$confb/50-berth.conf" "$T/installed.conf" || fail "a failed apply changed the installed drop-in"
expect_error org.berth.Error.InvalidConfig mpb apply
expect_error org.berth.Error.InvalidConfig mpa add-wwid $W2
health_failed() { health; python3 -c '
import json, sys
n = next(n for n in json.load(open(sys.argv[1]))["nodes"] if n["node"] == "b")
sys.exit(0 if n["apply"] == "failed" and "bogus-knob" in n["apply-error"] else 1)' "$T/health.json"; }
wait_until "b's report carries the failed apply" health_failed
store_put multipath.cfg "$good"
applied_ok() { [ "$(prop "$BUS_B" ApplyResult)" = ok ]; }
wait_until "b applies the repaired configuration" applied_ok
mpb apply | grep -q "^Applied generation [0-9]*\.$" || fail "berthctl multipath apply"
ok "a failed apply installs nothing and shows in ApplyResult, ApplyError and the health report"

# --- Overrides, then the emptied configuration removes only berth's files.
printf 'devices {\n\tdevice {\n\t\tvendor "LIO-ORG"\n\t\tproduct ".*"\n\t\tno_path_retry 30\n\t}\n}\n' >"$T/ovr.conf"
mpa set-overrides "$T/ovr.conf" --digest "$(digest)" || fail "set-overrides"
has_overrides() { grep -q 'vendor "LIO-ORG"' "$confb/51-berth-overrides.conf" 2>/dev/null; }
wait_until "b installs the overrides" has_overrides
mpa config | grep -q 'vendor "LIO-ORG"' || fail "config does not show the overrides"
ok "overrides are installed on b as a drop-in of their own"

mpa remove-wwid $W1 --force && mpa remove-wwid $W2 && mpa set-defaults --delete no-path-retry,polling-interval &&
        printf '' | mpa set-overrides - || fail "emptying the configuration"
emptied() { [ ! -e "$confb/50-berth.conf" ] && [ ! -e "$confb/51-berth-overrides.conf" ]; }
wait_until "b removes its drop-ins" emptied
[ -e "$confb/10-local.conf" ] || fail "b's own drop-in was removed"
grep -q "$W1" "$T/root-b/etc/multipath/wwids" && fail "b's wwids file still lists $W1"
grep -qx "/boot-lun-by-hand/" "$T/root-b/etc/multipath/wwids" || fail "b's wwids file lost a line of others"
ok "the emptied configuration removes berth's drop-ins and wwids, nothing else"

# --- On etcd: with the leader killed, the members left elect another and b's watch goes on.
# Until they have, a change fails (Unavailable): that is the store's contract, not tested here.
if [ "$store_kind" = etcd ]; then
        leader=$(etcd_leader) || fail "etcd has no leader"
        etcd_kill "$leader"
        another_leader() { local l; l=$(etcd_leader) && [ "$l" != "$leader" ]; }
        wait_until "the members left elect a leader" another_leader
        mpa add-wwid $W2 || fail "add-wwid with etcd's leader $leader killed"
        has_w2() { grep -q "$W2" "$confb/50-berth.conf" 2>/dev/null; }
        wait_until "b installs $W2 with the leader killed" has_w2
        etcd_restart "$leader"
        wait_until "$leader is back and every member serves reads" etcd_healthy
        mpa remove-wwid $W2 || fail "remove-wwid with $leader back"
        wait_until "b removes its drop-in again" emptied
        ok "with etcd's leader $leader killed and back, changes on a reach b"
fi

finish
