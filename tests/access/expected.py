#!/usr/bin/env python3
"""expected.py TABLE JSON - checks `struere access --format json` (JSON, a
file) against the hand-written TABLE (expected.table). Prints PASS/FAIL
lines, one per subject and per (subject, resource, action), and exits 1 on
any failure."""
import json
import sys

RESOURCES = ["guardian", "payment", "progress-report", "session", "student",
             "teacher", "users"]
ACTIONS = ["create", "read", "update", "delete", "list"]


def scope_of(text):
    text = text.strip()
    if text == "-":
        return None
    entries = []
    for part in text.split(";;"):
        role, rules = part.split(":", 1)
        allof = []
        for rule in rules.split("&&"):
            field, op, value = rule.strip().split(" ", 2)
            allof.append({"field": field, "operator": op,
                          "value": json.loads(value)})
        entries.append({"role": role.strip(), "allOf": allof})
    return {"anyOf": entries}


def masks_of(text):
    text = text.strip()
    if text == "-":
        return []
    out = []
    for m in text.split(", "):
        parts = m.split(" ", 2)
        out.append({"field": parts[0], "type": parts[1],
                    "replacement": json.loads(parts[2]) if len(parts) > 2
                    else None})
    return out


def key(m):
    return json.dumps(m, sort_keys=True)


ORGANIZATION = "org_acme_tutoring"


def resolved(rules, subject):
    """The scope `rules` (the rules as written: a literal as a string, an
    actor reference as {"actor": ...}) selects for the subject, resolved
    as the header of expected.table says: an agent's user id is its slug,
    a role subject's is "actor.userId"; neither has a bound record nor
    relations."""
    if rules is None:
        return None
    kind, slug = subject.split(":", 1)
    user = slug if kind == "agent" else "actor.userId"

    def value(v):
        if not isinstance(v, dict):
            return v
        return {"userId": user, "organizationId": ORGANIZATION,
                "entityId": None, "relatedIds": []}[v["actor"]]
    return {"anyOf": [{"role": t["role"],
                       "allOf": [dict(c, value=value(c["value"]))
                                 for c in t["allOf"]]}
                      for t in rules["anyOf"]]}


def main():
    want = {}   # subject -> {(res, act): (kind, by, scope, masks)}
    # RESOURCE may list several, comma-separated, as ACTIONS does
    roles = {}
    for line in open(sys.argv[1]):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = [x.strip() for x in line.split("|")]
        if f[1] == "roles":
            roles[f[0]] = f[2].split(",")
            continue
        subject, ress, acts, kind, by = f[0], f[1], f[2], f[3], f[4]
        for res, act in [(r, a) for r in ress.split(",")
                         for a in acts.split(",")]:
            want.setdefault(subject, {})[(res, act)] = (
                kind, by.split(","),
                scope_of(f[5]) if kind == "allow" else None,
                masks_of(f[6]) if kind == "allow" else None)
    got = json.load(open(sys.argv[2]))
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print("PASS " + name)
        else:
            failed += 1
            print("FAIL %s (%s)" % (name, detail))

    check("top level keys", set(got) == {"environment", "commit", "subjects"}
          and got["environment"] == "development"
          and isinstance(got["commit"], str) and len(got["commit"]) == 40,
          str({k: got.get(k) for k in ("environment", "commit")}))
    subjects = {s["subject"]: s for s in got["subjects"]}
    for subject, pairs in want.items():
        s = subjects.get(subject)
        if s is None:
            check(subject, False, "absent")
            continue
        check(subject + " roles", s["roles"] == roles[subject], s["roles"])
        allowed = {(e["resource"], e["action"]): e for e in s["allowed"]}
        denied = {(e["resource"], e["action"]): e for e in s["denied"]}
        check(subject + " no duplicates",
              len(allowed) == len(s["allowed"]) and
              len(denied) == len(s["denied"]))
        for res in RESOURCES:
            for act in ACTIONS:
                name = "%s %s %s" % (subject, act, res)
                w = pairs.get((res, act))
                a, d = allowed.get((res, act)), denied.get((res, act))
                if w is None:
                    check(name + ": neither allowed nor denied",
                          a is None and d is None, a or d)
                elif w[0] == "denied":
                    check(name + ": denied by " + ",".join(w[1]),
                          a is None and d is not None and d["by"] == w[1]
                          and set(d) == {"resource", "action", "by"}, a or d)
                else:
                    ok = (d is None and a is not None and
                          set(a) == {"resource", "action", "by", "scope",
                                     "rules", "masks"} and
                          a["by"] == w[1] and a["scope"] == w[2] and
                          resolved(a["rules"], subject) == w[2] and
                          sorted(map(key, a["masks"])) ==
                          sorted(map(key, w[3])))
                    check(name + ": allowed", ok,
                          "got %s, want by %s scope %s masks %s" %
                          (json.dumps(a), w[1], json.dumps(w[2]),
                           json.dumps(w[3])))
    print("expected: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
