#!/bin/bash
# Host shutdown and boot under a real systemd and systemd-logind: guestd holds
# a delay inhibitor while guests run, preserves them on `systemctl poweroff`
# (policy shutdown, save, per guest, a firmware guest powered off after its
# timeout while systemd waits on EXTEND_TIMEOUT_USEC=), restores saved guests
# at the next boot, starts onboot guests in order with their up= delays and
# autostart-once guests once; a daemon restart leaves guests running; a
# cancelled shutdown re-takes the inhibitor.
. "$(dirname "$0")/lib.sh"

manager_prop() { # manager_prop NAME PROPERTY
        in_ct "$1" busctl get-property org.berth.guest1 /org/berth/guest1 org.berth.guest1.Manager "$2" | cut -d' ' -f2-
}
# The inhibitors logind holds for "berth": "WHY MODE" lines.
berth_inhibitors() {
        in_ct "$1" busctl --json=short call org.freedesktop.login1 /org/freedesktop/login1 \
                org.freedesktop.login1.Manager ListInhibitors |
                python3 -c 'import json, sys
for what, who, why, mode, uid, pid in json.load(sys.stdin)["data"][0]:
    if who == "berth": print(why, mode)'
}
reboot_machine() {
        "$nspawn" boot "$1" || fail "container $1 did not boot again"
}
# The log of the last preserve task, read from the container's root (running or not).
preserve_log() {
        local root
        root=$("$nspawn" root "$1")
        cat "$(ls -tr "$root"/var/log/berth/tasks/UPID:*:preserve:* | tail -n1)"
}
# What the last preserve ended with, from guestd's journal.
preserve_summary() { ct_journal "$1" berth-guestd | grep -o "Preserve finished: .*" | tail -n1; }
# The number of saved guest states on the container's storage.
state_files() { find "$1/var/lib/berth/images" -name 'vm-*-state-*.raw' | wc -l; }
write_ct_file() { # write_ct_file NAME PATH TEXT
        printf '%s\n' "$3" | in_ct "$1" sh -c "mkdir -p \"\$(dirname '$2')\" && cat >'$2'" || fail "cannot write $2 in $1"
}
boot_guests() { # boot_guests NAME VMID...
        local m=$1 v
        shift
        for v in "$@"; do ct_bctl "$m" start "$v" --no-wait >/dev/null || fail "start $v failed in $m"; done
        for v in "$@"; do ct_wait_guest_up "$m" "$v"; done
}
graceful_shutdown() { # graceful_shutdown NAME VMID: the guest still answers the power button
        local out
        out=$(ct_bctl "$1" shutdown "$2" --timeout 60) || fail "shutdown of $2 failed: $out"
        case $out in *"did not shut down"*) fail "guest $2 ignored the power button: $out" ;; esac
}
qemu_started() { # qemu_started NAME VMID: clock ticks since boot when its QEMU started
        in_ct "$1" awk '{ print $22 }' "/proc/$(ct_prop "$1" "$2" Pid)/stat"
}
manager_prop_is() { [ "$(manager_prop "$1" "$2" 2>/dev/null)" = "$3" ]; }
wait_prop() { # wait_prop NAME PROPERTY VALUE
        poll manager_prop_is "$@" || fail "Manager.$2 in $1 is '$(manager_prop "$1" "$2" 2>/dev/null)', expected $3"
}

m=$(machine_name shutdown)
boot_machine "$m"
for v in 101 102 103; do ct_create_guest "$m" $v "$(os_guest_config os-$v)"; done
boot_guests "$m" 101 102 103
[ "$(manager_prop "$m" Inhibited)" = true ] || fail "no inhibitor with 3 guests running"
[ "$(berth_inhibitors "$m")" = "3 guests running delay" ] || fail "logind holds for berth: '$(berth_inhibitors "$m")'"
ok "3 guests running: guestd holds a delay inhibitor that names them"

pids=$(for v in 101 102 103; do ct_prop "$m" $v Pid; done)
in_ct "$m" systemctl restart berth-guestd || fail "systemctl restart berth-guestd failed"
for v in 101 102 103; do ct_wait_state "$m" $v running; done
[ "$(for v in 101 102 103; do ct_prop "$m" $v Pid; done)" = "$pids" ] || fail "a guest got a new QEMU across the restart"
wait_prop "$m" Inhibited true
ok "systemctl restart berth-guestd leaves the guests running; the inhibitor is taken again"

write_ct_file "$m" /etc/berth/berth.conf "shutdown-policy: shutdown"
poweroff_machine "$m" 120
log=$(preserve_log "$m")
grep -q "^TASK OK" <<<"$log" || fail "the preserve at poweroff did not end OK: $log"
[ "$(preserve_summary "$m")" = "Preserve finished: 3 of 3 guests preserved: 0 saved, 3 shut down, 0 powered off, 0 not running." ] ||
        fail "not all shut down: $(preserve_summary "$m"): $log"
ct_journal "$m" berth-guestd | grep -q "The host is shutting down: preserving 3 guests" ||
        fail "guestd did not see PrepareForShutdown"
ok "systemctl poweroff with policy shutdown: all 3 guests shut down by ACPI before the container went"

reboot_machine "$m"
for v in 101 102 103; do ct_wait_state "$m" $v stopped; done
write_ct_file "$m" /etc/berth/berth.conf "shutdown-policy: save"
boot_guests "$m" 101 102 103
ct_bctl "$m" suspend 103 >/dev/null || fail "pausing 103 failed"
poweroff_machine "$m" 120
log=$(preserve_log "$m")
[ "$(preserve_summary "$m")" = "Preserve finished: 3 of 3 guests preserved: 3 saved, 0 shut down, 0 powered off, 0 not running." ] ||
        fail "not all saved: $(preserve_summary "$m"): $log"
root=$("$nspawn" root "$m")
n=$(state_files "$root")
[ "$n" -eq 3 ] || fail "$n state files on storage, expected 3"
for v in 101 102 103; do
        [ -e "$root/var/lib/berth/store/nodes/$m/preserved/$v" ] || fail "guest $v not marked for restore"
done
ok "policy save: 3 state files on storage, the guests marked for restore"

reboot_machine "$m"
ct_wait_state "$m" 101 running
ct_wait_state "$m" 102 running
ct_wait_state "$m" 103 paused
n=$(state_files "$root")
[ "$n" -eq 0 ] || fail "$n state files left after the restore"
ct_bctl "$m" resume 103 >/dev/null || fail "resuming the restored 103 failed"
for v in 101 102 103; do graceful_shutdown "$m" $v; done
ok "the next boot restores them (the paused one paused), removes the states, and the OSes still run"

in_ct "$m" rm /etc/berth/berth.conf
ct_create_guest "$m" 111 "$(os_guest_config saved)
shutdown-policy: save"
ct_create_guest "$m" 112 "$(os_guest_config shut)
shutdown-policy: shutdown"
ct_create_guest "$m" 113 "$(os_guest_config off)
shutdown-policy: poweroff"
ct_create_guest "$m" 114 "$(firmware_guest_config firmware)
shutdown-policy: shutdown,poweroff
startup: down=10"
# systemd alone would give guestd 4 s after its SIGTERM, less than the preserve needs past
# logind's 5 s delay: only EXTEND_TIMEOUT_USEC= lets it finish.
write_ct_file "$m" /etc/systemd/system/berth-guestd.service.d/stop-timeout.conf "[Service]
TimeoutStopSec=4s"
in_ct "$m" systemctl daemon-reload
boot_guests "$m" 111 112 113
ct_bctl "$m" start 114 >/dev/null || fail "start 114 failed"
poweroff_machine "$m" 120
log=$(preserve_log "$m")
grep -q "4 of 4 guests preserved: 1 saved, 1 shut down, 2 powered off" <<<"$log" || fail "mixed policies: $log"
grep -q "Guest 112: shutdown done" <<<"$log" || fail "112 not shut down by ACPI: $log"
grep -q "Guest 113: shutdown (" <<<"$log" && fail "113 was asked to shut down: $log"
grep -q "Guest 114: shutdown failed after 10\." <<<"$log" || fail "114's shutdown did not run out its 10 s: $log"
grep -q "Guest 114: poweroff done" <<<"$log" || fail "114 was not powered off: $log"
tail -n1 <<<"$log" | grep -q "^TASK WARNINGS" || fail "the preserve did not end (systemd killed guestd?): $log"
ok "per-guest policies: one saved, one shut down, one powered off; the firmware guest powered off after its 10 s"

reboot_machine "$m"
ct_wait_state "$m" 111 running
for v in 112 113 114; do ct_wait_state "$m" $v stopped; done
graceful_shutdown "$m" 111
ok "the saved guest is restored at the next boot, the others stay stopped"

# Cancelled shutdown: logind's start of poweroff.target is refused after its delay, so it
# sends PrepareForShutdown(false). The guest's policy gives up after 1 s and keeps it running.
ct_create_guest "$m" 121 "$(firmware_guest_config stays)
shutdown-policy: shutdown
startup: down=1"
ct_bctl "$m" start 121 >/dev/null || fail "start 121 failed"
wait_prop "$m" Inhibited true
write_ct_file "$m" /etc/systemd/system/poweroff.target.d/refuse.conf "[Unit]
RefuseManualStart=yes"
in_ct "$m" systemctl daemon-reload
in_ct "$m" systemctl poweroff || fail "systemctl poweroff failed"
# The preserve is over at once (the guest could not be shut down): the inhibitor is let go,
# logind goes on, is refused, and says the shutdown is off; guestd takes the inhibitor again.
guestd_logged() { "$nspawn" journal "$1" berth-guestd -b | grep -q -- "$2"; }
wait_until "guestd says the host shutdown was cancelled" guestd_logged "$m" "The host shutdown was cancelled"
events=$("$nspawn" journal "$m" berth-guestd -b -o cat | grep -E "^(The host |Released|Holding)" | tail -n4)
[ "$events" = "The host is shutting down: preserving 1 guest.
Released the shutdown inhibitor.
The host shutdown was cancelled.
Holding a shutdown inhibitor for 1 running guest." ] || fail "guestd's inhibitor across the cancelled shutdown: $events"
wait_prop "$m" ShuttingDown false
wait_prop "$m" Inhibited true
[ "$(berth_inhibitors "$m")" = "1 guest running delay" ] || fail "logind holds for berth: '$(berth_inhibitors "$m")'"
ct_wait_state "$m" 121 running
in_ct "$m" rm /etc/systemd/system/poweroff.target.d/refuse.conf
in_ct "$m" systemctl daemon-reload
ok "a cancelled shutdown: ShuttingDown goes back to false and the inhibitor is taken again"

ct_bctl "$m" stop 121 >/dev/null
# Firmware guests ignore ACPI: the poweroffs below give them 2 s each.
write_ct_file "$m" /etc/berth/berth.conf "shutdown-timeout: 2"
ct_create_guest "$m" 131 "$(firmware_guest_config first)
onboot: 1
startup: order=1,up=3"
ct_create_guest "$m" 132 "$(firmware_guest_config second)
onboot: 1
startup: order=2"
ct_create_guest "$m" 133 "$(firmware_guest_config once)"
ct_bctl "$m" autostart-once 133 || fail "autostart-once failed"
poweroff_machine "$m" 120
reboot_machine "$m"
for v in 131 132 133; do ct_wait_state "$m" $v running 60; done
hz=$(getconf CLK_TCK)
t131=$(qemu_started "$m" 131) t132=$(qemu_started "$m" 132) t133=$(qemu_started "$m" 133)
[ $((t132 - t131)) -ge $((3 * hz)) ] || fail "order 2 started $(((t132 - t131) * 1000 / hz)) ms after order 1 (up=3)"
[ "$t133" -ge "$t132" ] || fail "the autostart-once guest started before the onboot ones"
ok "boot: onboot guests in order, 3 s apart (up=3), then the autostart-once guest"

poweroff_machine "$m" 120
reboot_machine "$m"
wait_until "guestd plans the boot" guestd_logged "$m" "The host booted: "
guestd_logged "$m" "The host booted: 2 guests to restore or start" ||
        fail "the second boot did not plan exactly the two onboot guests: $("$nspawn" journal "$m" berth-guestd -b | grep "The host booted")"
ct_wait_state "$m" 131 running
ct_wait_state "$m" 132 running
[ "$(ct_prop "$m" 133 State)" = stopped ] || fail "the autostart-once guest started at a second boot"
ok "autostart-once started its guest at one boot only"

finish
