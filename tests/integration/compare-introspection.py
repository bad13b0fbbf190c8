#!/usr/bin/env python3
"""Compares a live introspection (stdin) with the contract XML of one interface.

Usage: compare-introspection.py CONTRACT.xml < live.xml
Exits 1 and prints the differences when methods, signals, properties, their
arguments or annotations differ; the standard org.freedesktop.DBus.* interfaces
of the live side are ignored.
"""
import sys
import xml.etree.ElementTree as ET


def describe(iface):
    items = []
    for el in iface:
        if el.tag not in ("method", "signal", "property", "annotation"):
            continue
        if el.tag == "annotation":
            items.append(("annotation", el.get("name"), el.get("value")))
            continue
        args = tuple((a.get("type"), a.get("name"), a.get("direction", "out" if el.tag == "signal" else "in"))
                     for a in el.findall("arg"))
        notes = tuple(sorted((a.get("name"), a.get("value")) for a in el.findall("annotation")))
        items.append((el.tag, el.get("name"), el.get("type"), el.get("access"), args, notes))
    return sorted(items, key=repr)


def main():
    contract = ET.parse(sys.argv[1]).getroot()
    live = ET.fromstring(sys.stdin.read())
    live_ifaces = {i.get("name"): i for i in live.findall("interface")}
    failed = False
    for iface in contract.findall("interface"):
        name = iface.get("name")
        if name not in live_ifaces:
            print(f"{name}: missing from the live object")
            failed = True
            continue
        want, have = describe(iface), describe(live_ifaces[name])
        for item in want:
            if item not in have:
                print(f"{name}: contract has {item}, live does not")
                failed = True
        for item in have:
            if item not in want:
                print(f"{name}: live has {item}, contract does not")
                failed = True
    sys.exit(1 if failed else 0)


main()
