#!/bin/bash
# The harness itself: a container with berth boots under a real systemd, the
# daemons run as units, logind answers, a TCG guest runs inside, and the
# container powers off in bounded time with its journal kept.
. "$(dirname "$0")/lib.sh"

m=$(machine_name boot)
start=$(now_ms)
boot_machine "$m"
ok "container $m booted with berth installed in $(($(now_ms) - start)) ms"

ct_unit_active "$m" berth-cleanupd.service
ct_unit_active "$m" berth-guestd.service
ok "berth-cleanupd and berth-guestd are active units"

out=$(ct_bctl "$m" list) || fail "berthctl list failed: $out"
[ "$(head -n 1 <<<"$out" | tr -s ' ')" = "VMID NAME TYPE STATE" ] || fail "berthctl list printed '$out'"
ok "berthctl list answers inside"

out=$(in_ct "$m" busctl call org.freedesktop.login1 /org/freedesktop/login1 \
        org.freedesktop.login1.Manager ListInhibitors) || fail "ListInhibitors failed: $out"
case $out in "a(ssssuu) "*) ;; *) fail "ListInhibitors returned '$out'" ;; esac
ok "systemd-logind answers ListInhibitors"

ct_create_guest "$m" 100 "$(os_guest_config nspawn-boot)"
ct_bctl "$m" start 100 >/dev/null || fail "berthctl start 100 failed"
ct_wait_state "$m" 100 running
ct_wait_guest_up "$m" 100
ok "a TCG guest started with berthctl runs inside and has booted"

start=$(now_ms)
poweroff_machine "$m" 60
ok "systemctl poweroff with a guest running: container gone in $(($(now_ms) - start)) ms"

ct_journal "$m" berth-guestd | grep -q "Stopping berth-guestd.service" ||
        fail "the journal kept after poweroff does not show berth-guestd being stopped"
ok "the container's journal is readable after poweroff"

finish
