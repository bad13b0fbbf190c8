#!/bin/bash
# What guestd starts when the host has booted: onboot guests in startup order
# with their up= delays, autostart-once guests once, and nothing at all when
# guestd merely restarts. A "boot" here is a start of guestd after the boot id
# it recorded in run/berth is gone, as a reboot empties /run.
. "$(dirname "$0")/lib.sh"

boot_id=$ROOT/run/berth/guestd.boot-id

# When the QEMU of a guest started, in clock ticks since the host booted.
qemu_started() { awk '{ print $22 }' "/proc/$(prop "$1" Pid)/stat"; }

task_ended() { bctl task log "$1" | grep -q '^TASK'; }

reboot_guestd() {
        stop_daemon berth-guestd TERM
        rm -f "$boot_id"
        start_daemon berth-guestd org.berth.guest1
}

start_bus
start_stack
[ -s "$boot_id" ] || fail "guestd did not record the boot in $boot_id"
[ "$(cat "$boot_id")" = "$(cat /proc/sys/kernel/random/boot_id)" ] || fail "$boot_id does not hold this boot's id"
ok "the first start records the boot id"

create_guest 301 "$(firmware_guest_config second)
onboot: 1
startup: order=2"
create_guest 302 "$(firmware_guest_config first)
onboot: 1
startup: order=1,up=2"
create_guest 303 "$(firmware_guest_config unordered)
onboot: 1"
create_guest 304 "$(firmware_guest_config once)"
create_guest 305 "$(firmware_guest_config manual)"
bctl autostart-once 304 || fail "autostart-once failed"
bctl config 304 | grep -qx 'autostart-once: 1' || fail "autostart-once is not in the config of 304"
expect_error org.berth.Error.NoSuchGuest bctl autostart-once 399
ok "autostart-once sets the flag in the config"

stop_daemon berth-guestd TERM
mark=$(log_size berth-guestd)
start_daemon berth-guestd org.berth.guest1
wait_until "guestd sees it restarted within the boot" \
        logged_since berth-guestd "$mark" "guestd restarted within this boot: guests are left as they are"
for v in 301 302 303 304 305; do expect_prop $v State stopped; done
ok "a restart of guestd within the same boot starts nothing"

reboot_guestd
for v in 301 302 303 304; do
        wait_until "guest $v runs after the boot" state_is $v running
done
expect_prop 305 State stopped
hz=$(getconf CLK_TCK)
t301=$(qemu_started 301) t302=$(qemu_started 302) t303=$(qemu_started 303) t304=$(qemu_started 304)
[ $((t301 - t302)) -ge $((2 * hz)) ] || fail "order 2 started $(((t301 - t302) * 1000 / hz)) ms after order 1 with up=2"
[ "$t303" -ge "$t301" ] || fail "the guest without an order started before the ordered ones"
[ "$t304" -ge "$t303" ] || fail "the autostart-once guest started before the onboot ones"
ok "onboot guests start in order, 2 s (up=2) between order 1 and order 2; autostart-once after them"

bctl config 304 | grep -q '^autostart-once' && fail "autostart-once was not cleared after the start"
upid=$(bctl task list | awk '/:startall:/ { print $1 }' | tail -n1)
[ -n "$upid" ] || fail "no startall task"
bctl task log "$upid" | grep -q "TASK OK" || fail "the startall task did not end OK: $(bctl task log "$upid")"
ok "the boot ran as a startall task; autostart-once is cleared"

for v in 301 302 303 304; do bctl stop $v >/dev/null; done
mark=$(log_size berth-guestd)
reboot_guestd
wait_until "guestd plans the second boot" logged_since berth-guestd "$mark" "The host booted: "
logged_since berth-guestd "$mark" "The host booted: 3 guests to restore or start" ||
        fail "the second boot did not plan exactly the three onboot guests: $(tail -n +"$mark" "$T/logs/berth-guestd.log" | grep "The host booted")"
for v in 301 302 303; do
        wait_until "guest $v runs after the second boot" state_is $v running
done
expect_prop 304 State stopped
ok "autostart-once started the guest once only"

# A guest that cannot start does not keep the others from starting.
for v in 301 302 303; do bctl stop $v >/dev/null; done
bctl set-config 302 --config <(firmware_guest_config broken
        echo "onboot: 1"
        echo "startup: order=1"
        echo "kernel: /nonexistent/vmlinux") || fail "set-config failed"
reboot_guestd
wait_until "guest 301 runs although 302 failed" state_is 301 running
wait_until "guest 303 runs although 302 failed" state_is 303 running
expect_prop 302 State stopped
upid=$(bctl task list | awk '/:startall:/ { print $1 }' | tail -n1)
wait_until "the startall task ends" task_ended "$upid"
bctl task log "$upid" | grep -q "TASK ERROR: 0 restored, 2 started, 1 failed" ||
        fail "the startall task does not report the failure: $(bctl task log "$upid")"
for v in 301 303; do bctl stop $v >/dev/null; done
ok "a guest that fails to start is logged, the others start"

finish
