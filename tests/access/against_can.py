"""What the access tests share: building small projects with `struere
build`, and checking a `struere diff` access list against `struere can` on
both bundles, subject by subject, resource by resource, action by action.

Set BIN to the struere binary before use.
"""

import json
import os
import shutil
import subprocess

BIN = "struere"
ACTIONS = ["create", "read", "update", "delete", "list"]


class Checks:
    """Counts checks; prints each failure as FAIL NAME (WHY)."""

    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, name, ok, why=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f" ({why})" if why else ""))

    def done(self, what):
        print(f"{what}: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def write(files, root):
    shutil.rmtree(root, ignore_errors=True)
    for path, text in files.items():
        p = os.path.join(root, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)


def build(files, root):
    """Writes the project `files` (path -> text) to root and builds it
    into root/dist: (ok, stderr)."""
    write(files, root)
    r = subprocess.run([BIN, "-C", root, "build", "--out", root + "/dist"],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr


def rows(pred):
    """A predicate as what it means, up to order and repetition: the set
    of its OR terms, each the set of its AND conditions."""
    if pred is True or pred is False:
        return pred
    return frozenset(frozenset(json.dumps(c, sort_keys=True)
                               for c in t["allOf"]) for t in pred["anyOf"])


def fields(mask):
    """A mask as what it does: field -> (mask, replacement), without the
    masks under a masked parent (the parent's decides)."""
    m = {x["field"]: (x["mask"], x.get("replacement")) for x in mask}
    return {f: v for f, v in m.items()
            if not any(f.startswith(p + ".") for p in m)}


def can(bundle, subject, resource, action):
    """(decision, rows, fields) of `struere can` for a subject "agent:X"
    (the agent) or "role:X" (a user holding only X), or None."""
    kind, slug = subject.split(":", 1)
    actor = (["--as", "agent:" + slug] if kind == "agent" else
             ["--as", "user:actor.userId", "--role", slug])
    r = subprocess.run([BIN, "can", action, resource, "--bundle", bundle,
                        "--json"] + actor, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        return None
    d = json.loads(r.stdout)
    # an explicit deny names its role's policy ("Denied by role ...")
    explicit = d["decision"] == "deny" and d["reason"].startswith(
        "Denied by role")
    return (d["decision"], rows(d["predicate"]), fields(d["mask"]),
            explicit)


def subjects(files):
    out = []
    for prefix, kind in (("agents/", "agent"), ("roles/", "role")):
        for p in sorted(files):
            if p.startswith(prefix):
                out.append(kind + ":" + os.path.splitext(p[len(prefix):])[0])
    return out


def resources(files):
    return sorted(os.path.splitext(p[5:])[0] for p in files
                  if p.startswith("data/")) + ["users"]


def table(bundle, files):
    """`can` on every subject x resource x action of the project."""
    return {(s, r, a): can(bundle, s, r, a) for s in subjects(files)
            for r in resources(files) for a in ACTIONS}


def contradictions(before, after, doc):
    """Where the diff document's access list contradicts `can` on the two
    sides: a decision that flips must be listed as granted or revoked; a
    pair denied on both sides, or allowed with the same rows and masks,
    must not be listed; one allowed on both sides with other rows or masks
    must be. A role alone (a user may hold it with others) denied on both
    sides must be listed as deny-removed (widens) when only the old side
    denies it explicitly, deny-added when only the new side does, and not
    at all otherwise; an agent's denies are never listed (its roles are
    all it holds). Also: granted widens, revoked does not, and "widens"
    is their OR. A deny on a data type one side lacks is never listed
    (nothing is done with that type there). Returns the contradictions
    found (empty: none)."""
    listed = {}
    bad = []
    for c in doc.get("access", []):
        if c["change"].startswith("automation-"):
            # what a subject sets off, not what can decides for it
            if c["widens"] is not (c["change"] == "automation-granted"):
                bad.append((c["subject"], c["change"], c["widens"]))
            continue
        key = (c["subject"], c["resource"], c["action"])
        listed[key] = c["change"]
        if c["change"] == "granted" and c["widens"] is not True:
            bad.append((key, "granted but not widening"))
        if c["change"] == "revoked" and c["widens"] is not False:
            bad.append((key, "revoked but widening"))
        if c["change"] == "deny-removed" and c["widens"] is not True:
            bad.append((key, "deny removed but not widening"))
        if c["change"] == "deny-added" and c["widens"] is not False:
            bad.append((key, "deny added but widening"))
    if doc.get("widens") is not any(c["widens"] for c in doc.get("access", [])):
        bad.append(("widens", doc.get("widens")))
    both_types = {k[1] for k in before} & {k[1] for k in after}
    for key in set(before) | set(after):
        a, b = before.get(key), after.get(key)
        da = a[0] if a else "deny"
        db = b[0] if b else "deny"
        change = listed.get(key)
        if da != db:
            want = "granted" if db == "allow" else "revoked"
            if change != want:
                bad.append((key, da, db, change))
        elif da == "deny":
            ea, eb = bool(a and a[3]), bool(b and b[3])
            want = None
            if key[0].startswith("role:") and ea != eb and \
                    key[1] in both_types:
                want = "deny-removed" if ea else "deny-added"
            if change != want:
                bad.append((key, "denied on both sides", change, want))
        elif a == b and change:
            bad.append((key, "identical", change))
        elif a != b and not change:
            bad.append((key, "rows or masks differ, nothing listed"))
    return bad


def check_diff(check, name, base_bundle, base_table, bundle, files, expected,
               blind=frozenset()):
    """`struere diff` from base_bundle to bundle (of project `files`): its
    access list is exactly `expected` ((subject, resource, action,
    change, widens) tuples), "widens" their OR, `--check no-new-access`
    exits 1 exactly when one widens, and nothing contradicts `can` (but
    pairs in `blind`, which can's made-up actor cannot tell apart, may be
    listed as identical). Returns the diff document, or None."""
    r = subprocess.run([BIN, "diff", base_bundle, bundle, "--format", "json"],
                       capture_output=True, text=True)
    check(f"{name}: diff exits 0", r.returncode == 0, r.stderr)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        check(f"{name}: diff prints JSON", False, r.stdout[:300])
        return None
    got = sorted((c["subject"], c["resource"], c["action"], c["change"],
                  c["widens"]) for c in doc.get("access", []))
    want = sorted(expected)
    check(f"{name}: the access changes", got == want,
          f"got {got} want {want}")
    widens = any(c[4] for c in expected)
    check(f"{name}: widens is {widens}", doc.get("widens") is widens)
    g = subprocess.run([BIN, "diff", base_bundle, bundle, "--check",
                        "no-new-access"], capture_output=True, text=True)
    check(f"{name}: --check no-new-access exits {int(widens)}",
          g.returncode == int(widens), g.stdout + g.stderr)
    bad = [b for b in contradictions(base_table, table(bundle, files), doc)
           if not (b[0] in blind and b[1] == "identical")]
    check(f"{name}: agrees with can on every subject x resource x action",
          not bad, str(bad[:3]))
    return doc
