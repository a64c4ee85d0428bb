#!/usr/bin/env python3
"""differential.py STRUERE EVAL_BUNDLE - `struere access` against `struere
can`: for every subject `access` lists (every agent, every role alone),
every resource and action, and every fixture record of the resource's
type in the example's eval bundle, the answer of `access EVAL_BUNDLE
--format json` agrees with `can ACTION RESOURCE --as ... --bundle
EVAL_BUNDLE --json` (with --id for a record): the decision, the first
granting (or denying) policy, the predicate and the mask; for a record,
its visibility under the scope `access` prints (evaluated here, as
DESIGN §6 words the operators) and the masked record `can` prints.
Prints FAIL lines and ends "differential: N passed, M failed"."""
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

S, B = sys.argv[1], sys.argv[2]
ACTIONS = ["create", "read", "update", "delete", "list"]
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL %s (%s)" % (name, str(detail)[:400]))


def run(args):
    p = subprocess.run([S] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def actor_args(subject):
    kind, slug = subject.split(":", 1)
    if kind == "agent":
        return ["--as", "agent:" + slug]
    return ["--as", "user:actor.userId", "--role", slug]


MISSING = object()


def at(record, path):
    v = record
    for seg in path.split("."):
        if isinstance(v, dict) and seg in v:
            v = v[seg]
        elif isinstance(v, list) and seg.isdigit() and int(seg) < len(v):
            v = v[int(seg)]
        else:
            return MISSING
    return v


def rule_ok(rule, record):
    v, op, want = at(record, rule["field"]), rule["operator"], rule["value"]
    is_str = isinstance(v, str)
    if op == "in":
        return is_str and isinstance(want, list) and v in want
    if op == "contains":
        return is_str and isinstance(want, str) and want in v
    eq = is_str and isinstance(want, str) and v == want
    if op == "eq":
        return eq
    if op == "neq":
        return not eq
    raise ValueError("operator " + op)


def visible(scope, record):
    if scope is None:
        return True
    return any(all(rule_ok(r, record) for r in e["allOf"])
               for e in scope["anyOf"])


def lib_masks(mask):
    return sorted(json.dumps({"field": m["field"], "type": m["mask"],
                              "replacement": m.get("replacement")},
                             sort_keys=True) for m in mask)


def first_policy(c):
    m = re.search(r"policies\[(\d+)\]", c["reason"])
    return "%s#policies[%s]" % (c["role"], m.group(1)) if m else None


def main():
    rc, out, err = run(["access", B, "--format", "json"])
    if rc != 0:
        print("FAIL access exits %d: %s" % (rc, err))
        print("differential: 0 passed, 1 failed")
        sys.exit(1)
    acc = json.loads(out)
    check("access of a bundle file: commit null, environment eval",
          acc["commit"] is None and acc["environment"] == "eval", acc["commit"])
    rc, out, err = run(["inspect", B, "--json"])
    types = json.loads(out)["definitions"]["data"]
    agents = json.loads(out)["definitions"]["agent"]
    roles = json.loads(out)["definitions"]["role"]
    check("every agent and every role is a subject",
          [s["subject"] for s in acc["subjects"]] ==
          ["agent:" + a for a in agents] + ["role:" + r for r in roles])
    records = {}
    for t in types:
        rc, out, err = run(["query", t, "--as", "system", "--bundle", B,
                            "--json"])
        records[t] = json.loads(out)
    jobs = []
    for s in acc["subjects"]:
        allowed = {(e["resource"], e["action"]): e for e in s["allowed"]}
        denied = {(e["resource"], e["action"]): e for e in s["denied"]}
        for res in types + ["users"]:
            for act in ACTIONS:
                base = ["can", act, res] + actor_args(s["subject"]) + \
                    ["--bundle", B, "--json"]
                a, d = allowed.get((res, act)), denied.get((res, act))
                jobs.append((s["subject"], res, act, None, a, d, base))
                for r in records.get(res, []):
                    jobs.append((s["subject"], res, act, r, a, d,
                                 base + ["--id", r["_id"]]))
    with ThreadPoolExecutor(max_workers=4) as ex:
        results = list(ex.map(lambda j: run(j[6]), jobs))
    for (subject, res, act, rec, a, d, args), (rc, out, err) in \
            zip(jobs, results):
        name = "%s %s %s%s" % (subject, act, res,
                               " " + rec["_id"] if rec else "")
        try:
            c = json.loads(out)
        except ValueError:
            check(name + ": can prints JSON", False, err)
            continue
        if a is None:
            check(name + ": deny", c["decision"] == "deny" and rc == 1, c)
            if d is not None:
                check(name + ": denied by " + d["by"][0],
                      c["reason"].startswith("Denied") and
                      first_policy(c) == d["by"][0], c["reason"])
            continue
        if rec is None:
            check(name + ": allow", c["decision"] == "allow" and rc == 0, c)
            check(name + ": first granting policy",
                  first_policy(c) == a["by"][0], (c["reason"], a["by"]))
            pred = None if c["predicate"] is True else c["predicate"]
            check(name + ": scope is can's predicate", pred == a["scope"],
                  (pred, a["scope"]))
            check(name + ": masks are can's mask",
                  lib_masks(c["mask"]) ==
                  sorted(json.dumps(m, sort_keys=True) for m in a["masks"]),
                  (c["mask"], a["masks"]))
            continue
        vis = visible(a["scope"], rec)
        check(name + ": visible under the scope = can's decision",
              (c["decision"] == "allow") == vis, (vis, c["decision"]))
        if c["decision"] != "allow":
            continue
        shown = c["record"]
        ok = True
        for m in a["masks"]:
            was = at(rec, m["field"])
            now = at(shown, m["field"])
            if m["type"] == "hide":
                ok = ok and now is MISSING
            elif was is not MISSING:
                ok = ok and now == m["replacement"]
        check(name + ": the record as can shows it has the masks", ok,
              (a["masks"], shown))
    print("differential: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
