#!/usr/bin/python3
# Prints busctl's call arguments (SIGNATURE ARGS...) as the GVariant texts gdbus call takes, one
# per line, so a test can write its calls once and still learn the D-Bus error name of a failure
# (busctl prints only the message). Takes the types berth's methods use: s, b, u, t, as, a{sv}.
import json
import sys


def split_types(sig):
    types, i = [], 0
    while i < len(sig):
        j = i
        while sig[j] == "a":
            j += 1
        if sig[j] == "{":
            j = sig.index("}", j)
        types.append(sig[i:j + 1])
        i = j + 1
    return types


def value(t, args):
    if t == "s":
        return json.dumps(args.pop(0))
    if t == "b":
        return "true" if args.pop(0) in ("true", "yes", "1") else "false"
    if t in ("u", "t"):
        return "@%s %d" % (t, int(args.pop(0)))
    if t == "as":
        n = int(args.pop(0))
        return "@as [%s]" % ", ".join(value("s", args) for _ in range(n))
    if t == "a{sv}":
        n, items = int(args.pop(0)), []
        for _ in range(n):
            key, vt = args.pop(0), args.pop(0)
            items.append("%s: <%s>" % (json.dumps(key), value(vt, args)))
        return "@a{sv} {%s}" % ", ".join(items)
    sys.exit("unsupported type " + t)


args = sys.argv[2:]
for t in split_types(sys.argv[1]):
    print(value(t, args))
if args:
    sys.exit("arguments left over: %s" % args)
