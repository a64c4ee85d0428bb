#!/usr/bin/env python3
"""doc.py - crafts the documents of runtime/TRUST.md by hand for
tests/trust/run.sh (what an attacker with push access could write).
FIELD=VALUE takes VALUE as JSON when it parses, else as a string; a
dotted FIELD (require.production) reaches into an object.

  doc.py payload STATEMENT [FIELD=VALUE...]   a statement's payload, edited
  doc.py edit STATEMENT [FIELD=VALUE...]      the document with its payload
                                              edited and its signatures kept
  doc.py wrap PAYLOAD [SIGFILE...]            {"statement", "signatures"}
  doc.py sigs DOC [SIGFILE...]                DOC with those signatures only
  doc.py next-policy TRUST [FIELD=VALUE...]   the payload following the
                                              last policy of TRUST (version
                                              + 1, previous = its SHA-256)
  doc.py append TRUST PAYLOAD [SIGFILE...]    TRUST with that chain entry
  doc.py record-payload KEYS PREFIX           the signed text of a record
  doc.py record-set KEYS PREFIX [FIELD=VALUE...]  keys.json with that
                                              record changed (signature=
                                              SIGFILE, or signature=- to
                                              remove it)
  doc.py record-add KEYS ENV SHA256 PREFIX   keys.json with a new,
                                              unsigned record
Documents are printed to stdout.
"""
import hashlib
import json
import sys


def value(v):
    try:
        return json.loads(v)
    except ValueError:
        return v


def apply(obj, edits):
    for e in edits:
        field, v = e.split("=", 1)
        path = field.split(".")
        o = obj
        for p in path[:-1]:
            o = o[p]
        o[path[-1]] = value(v)
    return obj


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read())


def sigs(files):
    return [load(f) for f in files]


def out(obj):
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


def record(keys, prefix):
    for r in keys:
        if r.get("prefix") == prefix:
            return r
    sys.exit("doc.py: no record with prefix %s" % prefix)


def main(a):
    cmd = a[1]
    if cmd == "payload":
        st = json.loads(load(a[2])["statement"])
        sys.stdout.write(canon(apply(st, a[3:])))
    elif cmd == "edit":
        doc = load(a[2])
        doc["statement"] = canon(apply(json.loads(doc["statement"]), a[3:]))
        out(doc)
    elif cmd == "wrap":
        out({"statement": open(a[2]).read(), "signatures": sigs(a[3:])})
    elif cmd == "sigs":
        doc = load(a[2])
        doc["signatures"] = sigs(a[3:])
        out(doc)
    elif cmd == "next-policy":
        last = load(a[2])["chain"][-1]["policy"]
        p = json.loads(last)
        p["version"] += 1
        p["previous"] = hashlib.sha256(last.encode()).hexdigest()
        sys.stdout.write(canon(apply(p, a[3:])))
    elif cmd == "append":
        t = load(a[2])
        t["chain"].append({"policy": open(a[3]).read(), "signatures": sigs(a[4:])})
        out(t)
    elif cmd == "record-payload":
        r = record(load(a[2]), a[3])
        sys.stdout.write("sha256=%s\nenvironment=%s\nrevoked=%s\nexpires=%s\n" % (
            r["sha256"], r["environment"], "true" if r["revoked"] else "false",
            r["expires"] if r["expires"] is not None else "null"))
    elif cmd == "record-set":
        keys = load(a[2])
        r = record(keys, a[3])
        for e in a[4:]:
            field, v = e.split("=", 1)
            if field == "signature":
                if v == "-":
                    r.pop("signature", None)
                else:
                    r["signature"] = load(v)
            else:
                r[field] = value(v)
        out(keys)
    elif cmd == "record-add":
        keys = load(a[2])
        keys.append({"created": "2026-01-01T00:00:00Z", "environment": a[3],
                     "expires": None, "name": "by hand", "prefix": a[5],
                     "revoked": False, "sha256": a[4]})
        out(keys)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
