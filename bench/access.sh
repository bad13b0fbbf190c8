#!/bin/bash
# Access control figures on a private stack: a permission check with 1,000 ACL
# entries against a guest property read, and a berth realm login against the bus
# daemon's round trip. Prints figures; asserts nothing.
BERTH_SOURCE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH_BUILD_ROOT=${BERTH_BUILD_ROOT:-$BERTH_SOURCE_ROOT/build}
export BERTH_SOURCE_ROOT BERTH_BUILD_ROOT
. "$BERTH_SOURCE_ROOT/tests/integration/lib.sh"

ninja -C "$build" bench/bench-access >/dev/null
mkdir -p "$ROOT/var/lib/berth/store/access"
"$build/bench/bench-access" --config >"$ROOT/var/lib/berth/store/access/user.cfg"
start_bus
BERTH_LOG_LEVEL=warning
start_stack
start_daemon berth-accessd org.berth.access1
create_guest 1001 "$(firmware_guest_config bench)"
bbus call org.berth.access1 /org/berth/access1 org.berth.access1.Manager CreateUser sa{sv} bench@berth \
        1 password s "bench password" >/dev/null || fail "CreateUser failed"
"$build/bench/bench-access" bench@berth "bench password" 1001
