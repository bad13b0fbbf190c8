#!/bin/bash
# berthctl's command line without a daemon: bad usage exits 2 with a hint, a bad
# VMID exits 1 before any bus is touched, an unreachable bus exits 1 with a
# message naming it. Usage: test-berthctl-usage.sh PATH-TO-BERTHCTL
set -euo pipefail

berthctl=${1:?usage: $0 PATH-TO-BERTHCTL}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# No test may reach a real bus by accident: every default points nowhere.
nowhere="unix:path=$tmp/no-such-socket"
unset BERTH_BUS_ADDRESS
export DBUS_SYSTEM_BUS_ADDRESS=$nowhere

failures=0

# check RC PATTERN ARGS...: berthctl ARGS exits RC and its stdout+stderr match the extended regex PATTERN.
check() {
        local want_rc=$1 pattern=$2 rc=0
        shift 2
        "$berthctl" "$@" >"$tmp/out" 2>&1 </dev/null || rc=$?
        if [ "$rc" -ne "$want_rc" ] || ! grep -Eq -- "$pattern" "$tmp/out"; then
                echo "FAIL: berthctl $* -> exit $rc (want $want_rc), output:"
                sed 's/^/    /' "$tmp/out"
                failures=$((failures + 1))
        else
                echo "ok: berthctl $*"
        fi
}

# Nothing but the one message may be printed: no connection attempt after a bad VMID.
check_only() {
        local want_rc=$1 pattern=$2
        check "$@"
        if [ "$(wc -l <"$tmp/out")" -ne 1 ]; then
                echo "FAIL: berthctl ${*:3} printed more than one line"
                failures=$((failures + 1))
        fi
}

hint="Try 'berthctl --help'"

check 0 '^berthctl \[OPTIONS\.\.\.\] COMMAND' --help
check 0 'task log UPID' -h
check 0 '^berthctl [0-9]' --version

check 2 "Missing command"
check 2 "$hint"
check 2 "Unknown command 'frobnicate'" frobnicate
check 2 "Missing task command" task
check 2 "Unknown task command 'frob'" task frob
check 2 "Unknown option '--frob'" --frob list
check 2 "Unknown option '-x'" -x list
check 2 "Option '--bus-address' needs an argument" list --bus-address
check 2 "Unknown output format 'yaml'" -o yaml list
check 2 "Unknown output format 'xml'" --output xml list
check 2 "'list' takes no arguments" list 100
check 2 "'task list' takes no arguments" task list extra
check 2 "'task log' takes one argument, UPID" task log
check 2 "'task status' takes one argument, UPID" task status a b
check 2 "'status' takes one argument, VMID" status
check 2 "'config' takes one argument, VMID" config 100 101
check 2 "'create' needs --config" create 100
check 2 "'set-config' needs --config" set-config 100 --digest abc
check 2 "--digest is not valid for 'create'" create 100 --config - --digest abc
check 2 "--config is not valid for 'status'" status 100 --config x
check 2 "--timeout is not valid for 'list'" list --timeout 5
check 2 "--to-disk is not valid for 'destroy'" destroy 100 --to-disk
check 2 "Invalid timeout 'soon'" start 100 --timeout soon
check 2 "Invalid timeout '-1'" start 100 --timeout -1
check 2 "Invalid timeout '4294967296'" start 100 --timeout 4294967296

# Every command that takes a VMID rejects a bad one with exit 1, before the bus.
vmid_commands=(status config destroy start shutdown stop suspend resume reboot)
for c in "${vmid_commands[@]}"; do
        check_only 1 "^berthctl: Invalid VMID 'abc'$" --bus-address "$nowhere" "$c" abc
        check_only 1 "^berthctl: VMID 99 is out of range" --bus-address "$nowhere" "$c" 99
        check_only 1 "^berthctl: VMID 1000000000 is out of range" --bus-address "$nowhere" "$c" 1000000000
done
check_only 1 "^berthctl: Invalid VMID '0100'$" --bus-address "$nowhere" status 0100
check_only 1 "^berthctl: Invalid VMID '-5'$" --bus-address "$nowhere" status -- -5
# ... and before reading the config file.
check_only 1 "^berthctl: VMID 5 is out of range" --bus-address "$nowhere" create 5 --config "$tmp/missing"
check_only 1 "^berthctl: Invalid VMID 'x'$" --bus-address "$nowhere" set-config x --config "$tmp/missing"
check_only 1 "^berthctl: Failed to read $tmp/missing: No such file or directory$" \
        --bus-address "$nowhere" create 100 --config "$tmp/missing"

# An unreachable bus: exit 1 and a message naming it, from the option, the environment and the default.
connect_error="^berthctl: Failed to connect to $nowhere: No such file or directory$"
for c in list "status 100" "config 100" "destroy 100" "start 100" "stop 100 --timeout 5 --force-stop" \
        "suspend 100 --to-disk --statestorage local" "task list" "task log UPID:x" "task status UPID:x"; do
        # shellcheck disable=SC2086 # the commands are split into words on purpose
        check_only 1 "$connect_error" --bus-address "$nowhere" $c
done
BERTH_BUS_ADDRESS=$nowhere check_only 1 "$connect_error" list
check_only 1 "^berthctl: Failed to connect to the system bus: " list
# The option wins over the environment.
BERTH_BUS_ADDRESS=unix:path=/elsewhere check_only 1 "$connect_error" --bus-address "$nowhere" list

if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed"
        exit 1
fi
echo "all checks passed"
