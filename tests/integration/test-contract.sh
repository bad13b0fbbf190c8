#!/bin/bash
# The contract: every interface's live introspection equals its XML in dbus-interfaces/.
. "$(dirname "$0")/lib.sh"

start_bus
start_stack
# multipathd cannot run here: the contract does not depend on it.
start_daemon berth-multipathd-sync org.berth.multipath1 --multipathd ''
start_daemon berth-clusterd org.berth.cluster1
start_daemon berth-accessd org.berth.access1
create_guest 600 "$(firmware_guest_config contract)"
task=$(bbus call org.berth.guest1 /org/berth/guest1 org.berth.guest1.Manager StartGuest 'ua{sv}' 600 0 | cut -d'"' -f2)
bctl stop 600 >/dev/null 2>&1 || true

check() { # check OBJECT-PATH INTERFACE-FILE [SERVICE]
        local live
        live=$(bbus introspect --xml-interface "${3:-org.berth.guest1}" "$1") || fail "cannot introspect $1"
        python3 "$src/tests/integration/compare-introspection.py" "$src/dbus-interfaces/$2" <<<"$live" ||
                fail "$1 differs from $2"
        ok "$2 on $1"
}

check /org/berth/guest1 org.berth.guest1.Manager.xml
check /org/berth/guest1 org.berth.Tasks1.xml
check /org/berth/guest1/guest/600 org.berth.guest1.Guest.xml
check "$task" org.berth.Task1.xml
check /org/berth/cleanup1 org.berth.cleanup1.Manager.xml org.berth.cleanup1
check /org/berth/multipath1 org.berth.multipath1.Manager.xml org.berth.multipath1
check /org/berth/cluster1 org.berth.cluster1.Manager.xml org.berth.cluster1
check /org/berth/access1 org.berth.access1.Manager.xml org.berth.access1

objects=$(bbus call org.berth.guest1 /org/berth/guest1 org.freedesktop.DBus.ObjectManager GetManagedObjects)
case $objects in *"/org/berth/guest1/guest/600"*) ;; *) fail "ObjectManager does not list guest 600" ;; esac
ok "the ObjectManager lists the guests"

finish
