#!/bin/bash
# Runs the multipathd-sync benchmark: render + multipath -t of 10,000 WWIDs, and
# a configuration write on one node until another node has applied it, each
# against a baseline measured in the same run. Two nodes on one host, each on a
# private bus of its own, one file store, under a temporary root; tools/berth-dev's
# build. Needs root (multipath -t runs in a private mount namespace). Prints
# figures; asserts nothing.
BERTH_SOURCE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH_BUILD_ROOT=${BERTH_BUILD_ROOT:-$BERTH_SOURCE_ROOT/build}
export BERTH_SOURCE_ROOT BERTH_BUILD_ROOT
. "$BERTH_SOURCE_ROOT/tests/integration/lib.sh"
. "$BERTH_SOURCE_ROOT/tests/integration/multipath-nodes.sh"

ninja -C "$build" >/dev/null
start_bus
start_second_bus
BERTH_LOG_LEVEL=info
start_node a "$BUS_A"
start_node b "$BUS_B"
"$build/bench/bench-multipath" "$build/daemons/multipathd-sync/berth-multipath-validate" "$BUS_A" "$BUS_B" \
        "file:$store"
