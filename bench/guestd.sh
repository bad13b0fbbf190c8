#!/bin/bash
# Runs the guestd benchmark against a private stack: tools/berth-dev's build, a
# temporary root. Prints figures; asserts nothing.
BERTH_SOURCE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH_BUILD_ROOT=${BERTH_BUILD_ROOT:-$BERTH_SOURCE_ROOT/build}
export BERTH_SOURCE_ROOT BERTH_BUILD_ROOT
. "$BERTH_SOURCE_ROOT/tests/integration/lib.sh"

ninja -C "$build" >/dev/null
start_bus
BERTH_LOG_LEVEL=info
start_stack
sleep 1
"$build/bench/bench-guestd" "$(cat "$T/berth-guestd.pid")" "$(cat "$T/dbus.pid")"
