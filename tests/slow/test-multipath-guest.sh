#!/bin/bash
# multipathd for real: berth-multipathd-sync allow-lists a LUN, names it and
# applies the configuration to a running multipathd, which assembles the map;
# GetHealth reports it ok, then degraded once one of its two paths goes offline.
#
# This runs inside a guest because multipathd needs device-mapper, which the
# kernel of the machines that build and test berth does not have (nor can
# load): the guest boots Debian's kernel under TCG, where scsi_debug with two
# hosts gives two paths to one LUN. The guest's /init
# (tools/berth-mkguest-multipath) runs the checks and prints a PASS or FAIL
# line for each; this script boots it and requires every PASS.
#
# usage: test-multipath-guest.sh QEMU BERTH-MULTIPATHD-SYNC BERTH-MULTIPATH-VALIDATE
set -euo pipefail

src=${BERTH_SOURCE_ROOT:?}
build=${BERTH_BUILD_ROOT:?}
[ $# -eq 3 ] || { echo "usage: $0 QEMU BERTH-MULTIPATHD-SYNC BERTH-MULTIPATH-VALIDATE" >&2; exit 2; }
qemu=$1
guest=$build/multipath-guest
tag=berth-multipath-guest
# In the order the guest runs them; each needs the ones before.
checks=(paths multipathd daemon apply map health-ok path-offline health-degraded)

T=$(mktemp -d /tmp/berth-mpg.XXXXXX)
trap 'rm -rf "$T"' EXIT

fail() {
        echo "FAIL: $*" >&2
        echo "--- guest console" >&2
        tail -n 150 "$T/console" >&2
        exit 1
}

"$src/tools/berth-mkguest-multipath" "$guest" "$2" "$3"

start=$(date +%s)
# The guest powers itself off when it is done; the timeout only catches a hang.
rc=0
timeout --kill-after=10 600 "$qemu" -accel tcg -cpu max -m 512 -nographic -nic none -no-reboot \
        -kernel "$guest/vmlinux" -initrd "$guest/initramfs.cpio" \
        -append "console=ttyS0 quiet panic=-1" </dev/null >"$T/serial" 2>&1 || rc=$?
tr -d '\r' <"$T/serial" >"$T/console"
echo "guest ran for $(($(date +%s) - start)) s"
[ $rc -ne 124 ] || fail "the guest did not power off within 600 s"
[ $rc -eq 0 ] || fail "qemu exited with status $rc"

# SeaBIOS leaves no newline before the first line of the guest's.
! grep -q "$tag: FAIL" "$T/console" || fail "$(grep -o "$tag: FAIL.*" "$T/console" | head -n 1)"
n=0
for c in "${checks[@]}"; do
        line=$(grep -o "$tag: PASS $c: .*" "$T/console") || fail "no PASS line for $c"
        n=$((n + 1))
        echo "ok $n - ${line#"$tag: PASS "}"
done
grep -q "$tag: done" "$T/console" || fail "the guest did not finish its checks"
