# Shared set-up of berth's integration tests: a private dbus-daemon with berth's
# policy files and the daemons under a temporary root. Sourced by each test;
# BERTH_SOURCE_ROOT and BERTH_BUILD_ROOT come from meson.
set -euo pipefail

src=${BERTH_SOURCE_ROOT:?}
build=${BERTH_BUILD_ROOT:?}
guest_dir=$build/test-guest

T=$(mktemp -d /tmp/berth-it.XXXXXX)
ROOT=$T/root
mkdir -p "$ROOT" "$T/dbus/system.d" "$T/logs"
checks=0

# A test that replays from a seed or a setting says how, here: every failure prints it.
replay=

# The logs outlive the temporary root of a failed test: where they are is part of the failure.
keep_logs() {
        local kept=${BERTH_TEST_LOG_DIR:-/tmp}/$(basename "$0" .sh).$$
        mkdir -p "$kept"
        cp -a "$T"/logs/. "$kept"/ 2>/dev/null || true
        echo "$kept"
}

failed=
fail() {
        failed=1
        echo "FAIL: $*" >&2
        [ -z "$replay" ] || echo "replay with: $replay" >&2
        echo "logs kept in $(keep_logs)" >&2
        for f in "$T"/logs/*.log; do
                [ -f "$f" ] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }
        done
        exit 1
}

# A sanitizer report in a daemon's log fails the test that started the daemon, even when the
# daemon lived on (no halt) or the report came at its exit.
sanitizer_pattern='^(==[0-9]+==ERROR: (Address|Leak|Undefined)Sanitizer|.*: runtime error: )'
sanitizer_reports() {
        grep -l -E "$sanitizer_pattern" "$T"/logs/*.log 2>/dev/null
}
ok() { checks=$((checks + 1)); echo "ok $checks - $*"; }

# Seconds a wait may last.
wait_limit=60
. "$src/tests/wait.sh"

running() { kill -0 "$1" 2>/dev/null; }
exited() { ! running "$1"; }

# log_size NAME: the lines in NAME's log so far; logged_since NAME LINES PATTERN: a line
# after the first LINES of the log matches PATTERN.
log_size() { wc -l <"$T/logs/$1.log"; }
logged_since() { tail -n +"$(($2 + 1))" "$T/logs/$1.log" | grep -q -- "$3"; }

cleanup() {
        local rc=$? p reports
        # A daemon a sanitizer halted fails the test through a dead bus call, not through fail().
        if [ $rc -ne 0 ] && [ -z "$failed" ] && reports=$(sanitizer_reports); then
                echo "FAIL: sanitizer reports in $(echo $reports); logs kept in $(keep_logs)" >&2
                grep -h -A40 -E "$sanitizer_pattern" $reports >&2 || true
        fi
        # The guests of every root: $ROOT, and $T/root-NODE of a test's other nodes.
        for p in "$T"/root*/run/berth/qemu/*/qemu.pid; do
                [ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null || true
        done
        for p in "$T"/*.pid; do
                [ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null || true
        done
        # A QEMU caught starting has no pidfile yet; its command line names one of this test's roots.
        pkill -KILL -f -- "-pidfile $T/root" 2>/dev/null || true
        rm -rf "$T"
}
trap cleanup EXIT

# new_bus NAME: a private dbus-daemon with berth's policy files in $T/NAME, its log
# $T/logs/NAME.log, its pidfile $T/NAME.pid; its address in $bus_address.
new_bus() {
        local dir=$T/$1
        mkdir -p "$dir/system.d"
        cp "$src"/systemd-units/*.conf "$dir/system.d/"
        sed -e "s|<listen>.*</listen>|<listen>unix:path=$dir/bus.sock</listen>|" \
            -e "s|<pidfile>.*</pidfile>||" \
            -e "s|<includedir>system.d</includedir>|<includedir>$dir/system.d</includedir>|" \
            -e "s|<includedir>/etc/dbus-1/system.d</includedir>||" \
            -e "s|<user>messagebus</user>||" \
            -e "s|<syslog/>||" \
            /usr/share/dbus-1/system.conf >"$dir/bus.conf"
        # Any uid may connect: the policy files decide what it may do.
        sed -i 's|<auth>EXTERNAL</auth>|<auth>EXTERNAL</auth><allow_anonymous/>|' "$dir/bus.conf"
        chmod 755 "$T" "$dir"
        dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile --print-address=3 \
                3>"$dir/address" 2>"$T/logs/$1.log" &
        echo $! >"$T/$1.pid"
        disown
        wait_until "the dbus-daemon in $dir prints its address" test -s "$dir/address"
        bus_address=$(head -n1 "$dir/address")
}

# start_bus: the test's bus, in $T/dbus; its address in BERTH_BUS_ADDRESS.
start_bus() {
        new_bus dbus
        BERTH_BUS_ADDRESS=$bus_address
        export BERTH_BUS_ADDRESS
}

bus_has_name() { busctl --address="$1" status "$2" >/dev/null 2>&1; }
bus_lacks_name() { ! bus_has_name "$@"; }

# run_daemon ID ROOT BUS NODE BINARY BUS_NAME [ARGS...]: the daemon of node NODE on that root
# and bus; ID names its log ($T/logs/ID.log) and its pidfile ($T/ID.pid, what stop_daemon takes).
run_daemon() {
        local id=$1 root=$2 bus=$3 node=$4 bin=$5 name=$6
        shift 6
        # A killed daemon's name stays taken until the bus has seen its connection close.
        wait_until "the bus releases $name" bus_lacks_name "$bus" "$name"
        BERTH_LOG_LEVEL=${BERTH_LOG_LEVEL:-debug} "$build/daemons/${bin#berth-}/$bin" --root "$root" --bus-address "$bus" \
                --node "$node" "$@" >>"$T/logs/$id.log" 2>&1 &
        echo $! >"$T/$id.pid"
        disown
        wait_until "$id takes $name" bus_has_name "$bus" "$name"
}

# start_daemon BINARY BUS_NAME [ARGS...]: on the test's root and bus, as node testnode.
start_daemon() { run_daemon "$1" "$ROOT" "$BERTH_BUS_ADDRESS" testnode "$@"; }

# start_stack [GUESTD-ARGS...]: cleanupd, then guestd, which needs it to start and stop guests.
start_stack() {
        start_daemon berth-cleanupd org.berth.cleanup1
        start_daemon berth-guestd org.berth.guest1 "$@"
}

stop_daemon() {
        local bin=$1 sig=${2:-TERM}
        local pid
        pid=$(cat "$T/$bin.pid")
        kill -"$sig" "$pid"
        wait_until "$bin exits on SIG$sig" exited "$pid"
}

bctl() { "$build/tools/berthctl/berthctl" "$@"; }
bbus() { busctl --address="$BERTH_BUS_ADDRESS" "$@"; }

prop() { # prop VMID PROPERTY
        bbus get-property org.berth.guest1 "/org/berth/guest1/guest/$1" org.berth.guest1.Guest "$2" | cut -d' ' -f2- | tr -d '"'
}

state_is() { [ "$(prop "$1" State)" = "$2" ]; }

expect_prop() { # expect_prop VMID PROPERTY VALUE
        local v
        v=$(prop "$1" "$2")
        [ "$v" = "$3" ] || fail "guest $1 $2 is '$v', expected '$3'"
}

# expect_error ERRORNAME COMMAND...: the command fails and names the error.
expect_error() {
        local name=$1 out
        shift
        if out=$("$@" 2>&1); then
                fail "'$*' succeeded, expected $name"
        fi
        case $out in
        *"$name"*) ;;
        *) fail "'$*' failed with '$out', expected $name" ;;
        esac
}

. "$src/tests/guest-configs.sh"
os_guest_config() { os_guest_config_in "$1" "$guest_dir"; }

create_guest() { # create_guest VMID CONFIG-TEXT
        local f=$T/$1.conf
        printf '%s\n' "$2" >"$f"
        bctl create "$1" --config "$f" >/dev/null
}

# wait_guest_up VMID: the OS guest has reached its init and listens for the power button.
wait_guest_up() {
        local log=$ROOT/run/berth/qemu/$1/serial.log
        poll grep -qs "berth-test-guest: up" "$log" ||
                fail "guest $1 did not boot (serial log: $(tail -c 300 "$log" 2>/dev/null))"
}

qemu_pid() { cat "$ROOT/run/berth/qemu/$1/qemu.pid"; }

finish() {
        local reports p
        # Daemons still running end here, with TERM, so LeakSanitizer looks at them too.
        for p in "$T"/berth-*.pid; do
                if [ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null; then
                        stop_daemon "$(basename "$p" .pid)"
                fi
        done
        if reports=$(sanitizer_reports); then
                fail "sanitizer reports in $(echo $reports)"
        fi
        echo "all $checks checks ok"
}
