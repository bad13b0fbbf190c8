#!/bin/bash
# Preserving real OS guests (TCG) as at host shutdown, through Manager.Preserve:
# policy shutdown powers them off by ACPI; policy save leaves their state on
# storage and the next boot restores them, a paused one paused; per-guest
# policies mix. A "boot" is a start of guestd after the boot id it recorded in
# run/berth is gone, as a reboot empties /run.
. "$(dirname "$0")/lib.sh"

preserve_log() { bctl task log "$(bctl task list | awk '/:preserve:/ { print $1 }' | tail -n1)"; }
marker() { echo "$ROOT/var/lib/berth/store/nodes/testnode/preserved/$1"; }
state_file() { # state_file VMID: the vmstate volume's file, from the guest's config
        local volid
        volid=$(bctl config "$1" | sed -n 's/^vmstate: //p')
        [ -n "$volid" ] && echo "$ROOT/var/lib/berth/images/${volid#local:}"
}
boot_all() { # boot_all VMID...: start the guests together, wait for every OS to be up
        for v in "$@"; do bctl start "$v" --no-wait >/dev/null || fail "start $v failed"; done
        for v in "$@"; do wait_guest_up "$v"; done
}
# A graceful shutdown proves the guest runs the same OS: it still answers the power button.
graceful_shutdown() {
        local out
        out=$(bctl shutdown "$1" --timeout 60) || fail "shutdown of $1 failed: $out"
        case $out in *"did not shut down"*) fail "guest $1 ignored the power button: $out" ;; esac
}

start_bus
start_stack
for v in 501 502 503; do create_guest $v "$(os_guest_config os-$v)"; done

boot_all 501 502 503
out=$(bctl host-shutdown --preserve --policy shutdown --timeout 60) || fail "preserve failed: $out"
[ "$out" = "3 of 3 guests preserved: 0 saved, 3 shut down, 0 powered off, 0 not running" ] || fail "result: $out"
preserve_log | grep -q "^TASK OK" || fail "the preserve did not end OK: $(preserve_log)"
preserve_log | grep -q "did not shut down" && fail "a guest was not shut down gracefully: $(preserve_log)"
for v in 501 502 503; do expect_prop $v State stopped; done
ok "policy shutdown: every OS guest powered off by ACPI"

# berth.conf's policy; one guest paused before the host goes down.
mkdir -p "$ROOT/etc/berth"
echo "shutdown-policy: save" >"$ROOT/etc/berth/berth.conf"
boot_all 501 502 503
bctl suspend 503 >/dev/null
expect_prop 503 State paused
out=$(bctl host-shutdown --preserve) || fail "preserve failed: $out"
[ "$out" = "3 of 3 guests preserved: 3 saved, 0 shut down, 0 powered off, 0 not running" ] || fail "result: $out"
for v in 501 502 503; do
        expect_prop $v State suspended
        f=$(state_file $v) || fail "guest $v has no vmstate in its config"
        [ -s "$f" ] || fail "the saved state of $v ($f) is missing"
        [ -e "$(marker $v)" ] || fail "guest $v is not marked for restore"
        eval "state_$v=\$f"
done
rm "$ROOT/etc/berth/berth.conf"
ok "policy save: state files on storage, guests marked for restore"

stop_daemon berth-guestd TERM
rm "$ROOT/run/berth/guestd.boot-id"
start_daemon berth-guestd org.berth.guest1
wait_until "501 is restored" state_is 501 running
wait_until "502 is restored" state_is 502 running
wait_until "503 is restored" state_is 503 paused
for v in 501 502 503; do
        eval "f=\$state_$v"
        [ ! -e "$f" ] || fail "the saved state of $v ($f) is still there after the restore"
        [ ! -e "$(marker $v)" ] || fail "guest $v is still marked for restore"
        expect_prop $v Lock ""
done
bctl resume 503 >/dev/null || fail "resume of the restored paused guest failed"
for v in 501 502 503; do graceful_shutdown $v; done
ok "the next boot restores them, the paused one paused; states and marks are gone; the OSes still run"

create_guest 511 "$(os_guest_config saved)
shutdown-policy: save,shutdown"
create_guest 512 "$(os_guest_config shut)
shutdown-policy: shutdown,poweroff"
create_guest 513 "$(os_guest_config off)
shutdown-policy: poweroff"
boot_all 511 512 513
out=$(bctl host-shutdown --preserve --timeout 60) || fail "preserve failed: $out"
[ "$out" = "3 of 3 guests preserved: 1 saved, 1 shut down, 1 powered off, 0 not running" ] || fail "result: $out"
expect_prop 511 State suspended
expect_prop 512 State stopped
expect_prop 513 State stopped
preserve_log | grep -q "Guest 512: shutdown done" || fail "512 was not shut down by ACPI: $(preserve_log)"
preserve_log | grep -q "Guest 513: shutdown (" && fail "513 was asked to shut down although its policy is poweroff"
[ -e "$(marker 511)" ] && [ ! -e "$(marker 512)" ] && [ ! -e "$(marker 513)" ] || fail "wrong guests marked for restore"
bctl resume 511 >/dev/null || fail "resume of 511 failed"
graceful_shutdown 511
ok "per-guest policies: one saved, one shut down, one powered off"

finish
