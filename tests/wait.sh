# Waiting for a condition, for the test libraries (tests/integration/lib.sh,
# tests/nspawn/lib.sh), which set wait_limit and define fail().
#
# poll COMMAND...: true once the command succeeds, false when it has not within
# BERTH_TEST_WAIT seconds (default: the library's wait_limit). A bound for a stuck
# test, never a guess at how long something takes: a loaded machine is slow, not wrong.
poll() {
        local deadline=$((SECONDS + ${BERTH_TEST_WAIT:-$wait_limit}))
        until "$@"; do
                [ $SECONDS -lt $deadline ] || return 1
                sleep 0.05
        done
}

# wait_until DESCRIPTION COMMAND...: polls the command; a test failure when it never succeeds.
wait_until() {
        local what=$1
        shift
        poll "$@" || fail "timed out waiting until $what"
}
