#!/bin/bash
# A guest without an OS ignores ACPI power-down: shutdown times out and, with
# force-stop (the default), stops it; without force-stop it stays running.
. "$(dirname "$0")/lib.sh"

start_bus
start_stack

create_guest 300 "$(firmware_guest_config firmware)"
bctl start 300 >/dev/null
pid=$(prop 300 Pid)

expect_error "did not shut down within 1 s" bctl shutdown 300 --timeout 1 --no-force-stop
expect_prop 300 State running
kill -0 "$pid" || fail "QEMU died"
ok "shutdown without force-stop times out and leaves the guest running"

out=$(bctl shutdown 300 --timeout 2) || fail "forced shutdown failed: $out"
case $out in *"did not shut down within 2 s and was stopped"*) ;; *) fail "unexpected result '$out'" ;; esac
expect_prop 300 State stopped
kill -0 "$pid" 2>/dev/null && fail "QEMU $pid survived"
ok "shutdown with force-stop stops it after the timeout"

finish
