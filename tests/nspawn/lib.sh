# Shared set-up of the tests that run berth under a real systemd: containers
# booted with tools/berth-nspawn, berth installed into each with meson install,
# TCG guests inside. Sourced by each test; BERTH_SOURCE_ROOT and
# BERTH_BUILD_ROOT come from meson. Needs root; skips (77) where
# systemd-nspawn cannot run.
set -euo pipefail

src=${BERTH_SOURCE_ROOT:?}
build=${BERTH_BUILD_ROOT:?}
nspawn=$src/tools/berth-nspawn
guest_dir=$build/test-guest
# Where berth-nspawn mounts guest_dir inside every container.
ct_guest_dir=/opt/berth-test-guest

machines=()
checks=0

skip() {
        echo "SKIP: $*"
        exit 77
}

if ! why=$("$nspawn" check 2>&1); then
        skip "${why#berth-nspawn: }"
fi

# The containers' journals outlive them when a test fails: where they are is part of the failure.
keep_journals() {
        local kept=${BERTH_TEST_LOG_DIR:-/tmp}/$(basename "$0" .sh).$$ m
        mkdir -p "$kept"
        for m in ${machines[@]+"${machines[@]}"}; do
                "$nspawn" journal "$m" -o short-monotonic >"$kept/$m.journal" 2>&1 || true
        done
        echo "$kept"
}

fail() {
        local m
        echo "FAIL: $*" >&2
        echo "journals kept in $(keep_journals)" >&2
        for m in ${machines[@]+"${machines[@]}"}; do
                echo "--- journal of berth-guestd and berth-cleanupd in $m" >&2
                "$nspawn" journal "$m" -u berth-guestd -u berth-cleanupd -n 60 >&2 || true
        done
        exit 1
}
ok() {
        checks=$((checks + 1))
        echo "ok $checks - $*"
}

# Seconds a wait may last (containers boot and their guests run on TCG).
wait_limit=120
. "$src/tests/wait.sh"
finish() { echo "all $checks checks ok"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

cleanup() {
        local m
        for m in ${machines[@]+"${machines[@]}"}; do
                "$nspawn" destroy "$m" || true
        done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

"$src/tools/berth-mkguest" "$guest_dir" || fail "cannot build the test guest"

# machine_name TAG: a name no other test run uses at the same time.
machine_name() { echo "berth-$1-$$"; }

# boot_machine NAME: a fresh container with this tree's berth, booted; the
# test's exit destroys it.
boot_machine() {
        machines+=("$1")
        "$nspawn" boot --guest "$guest_dir" "$1" "$build" || fail "container $1 did not boot"
}

# in_ct NAME CMD...: runs CMD inside the container.
in_ct() {
        local m=$1
        shift
        "$nspawn" exec "$m" "$@"
}

ct_bctl() { # ct_bctl NAME BERTHCTL-ARGS...
        local m=$1
        shift
        in_ct "$m" berthctl "$@"
}

# poweroff_machine NAME TIMEOUT: systemctl poweroff inside; fails the test
# unless the container is gone within TIMEOUT seconds.
poweroff_machine() {
        "$nspawn" poweroff "$1" "$2" || fail "container $1 did not power off within $2 s"
}

# ct_journal NAME UNIT: the unit's journal, also after poweroff.
ct_journal() { "$nspawn" journal "$1" "$2"; }

ct_unit_active() { # ct_unit_active NAME UNIT
        local state
        state=$(in_ct "$1" systemctl is-active "$2") || true
        [ "$state" = active ] || fail "$2 in $1 is '$state', expected active: $(ct_journal "$1" "$2" | tail -n 10)"
}

ct_prop() { # ct_prop NAME VMID PROPERTY
        in_ct "$1" busctl get-property org.berth.guest1 "/org/berth/guest1/guest/$2" org.berth.guest1.Guest "$3" |
                cut -d' ' -f2- | tr -d '"'
}

. "$src/tests/guest-configs.sh"
os_guest_config() { os_guest_config_in "$1" "$ct_guest_dir"; }

ct_create_guest() { # ct_create_guest NAME VMID CONFIG-TEXT
        printf '%s\n' "$3" | in_ct "$1" sh -c "cat >/root/guest-$2.conf" || fail "cannot write the config of guest $2 in $1"
        ct_bctl "$1" create "$2" --config "/root/guest-$2.conf" >/dev/null || fail "berthctl create $2 failed in $1"
}

ct_state_is() { [ "$(ct_prop "$1" "$2" State 2>/dev/null)" = "$3" ]; }

# ct_wait_state NAME VMID STATE
ct_wait_state() {
        poll ct_state_is "$@" || fail "guest $2 in $1 is '$(ct_prop "$1" "$2" State 2>/dev/null)', expected $3"
}

# ct_wait_guest_up NAME VMID: the OS guest has reached its init and listens
# for the power button.
ct_wait_guest_up() {
        local log=/run/berth/qemu/$2/serial.log
        poll in_ct "$1" grep -qs "berth-test-guest: up" "$log" ||
                fail "guest $2 in $1 did not boot (serial log: $(in_ct "$1" tail -c 300 "$log" 2>/dev/null))"
}
