#!/bin/bash
# The bus policy: an unprivileged uid may call the reading methods but not act;
# what it reads is what the access config lets it see, and it has none.
. "$(dirname "$0")/lib.sh"

start_bus
start_stack
create_guest 500 "$(firmware_guest_config policy)"

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

v=$(as_nobody busctl --address="$BERTH_BUS_ADDRESS" call org.berth.guest1 /org/berth/guest1 \
        org.berth.guest1.Manager ListGuests) || fail "nobody cannot list guests"
[ "$v" = 'a(ussso) 0' ] || fail "nobody listed '$v'"
expect_error "Unknown object" as_nobody busctl --address="$BERTH_BUS_ADDRESS" get-property org.berth.guest1 \
        /org/berth/guest1/guest/500 org.berth.guest1.Guest State
ok "an unprivileged uid may list guests, and sees none it has no VM.Audit on"

if out=$(as_nobody busctl --address="$BERTH_BUS_ADDRESS" call org.berth.guest1 /org/berth/guest1 \
        org.berth.guest1.Manager StartGuest 'ua{sv}' 500 0 2>&1); then
        fail "nobody started a guest"
fi
case $out in *"Access denied"* | *AccessDenied*) ;; *) fail "unexpected refusal: $out" ;; esac
expect_prop 500 State stopped
ok "an unprivileged uid is denied StartGuest"

finish
