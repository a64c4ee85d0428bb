#!/usr/bin/env python3
"""Random projects, randomly edited: `struere diff`'s access list against
`struere can` on both bundles (against_can.contradictions), where nobody
wrote the expected changes down: the catalogue's check run on shapes
nobody thought of.

    random_edits.py STRUERE_BINARY WORKDIR [ROUNDS] [SEED]

Each round generates a small valid project (three data types with nested
fields, three or four roles of random allow/deny policies, scope rules
and masks, two or three agents holding random roles), applies one to
three random edits (an action, a deny, a policy, a scope rule, a mask
type or replacement, an agent's roles, a role or a data type added or
removed), builds both and checks the diff. `diff --check no-new-access`
must exit as "widens" says. Ends "random edits: N passed, M failed".
"""

import copy
import json
import os
import random
import subprocess
import sys

import against_can
from against_can import Checks, ACTIONS, build, contradictions, table

BIN, WORK = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 12
SEED = int(sys.argv[4]) if len(sys.argv) > 4 else 20261202
against_can.BIN = BIN
check = Checks()


# every type has these fields (paths for rules and masks)
FIELDS = ["data.title", "data.status", "data.ownerId", "data.info",
          "data.info.email", "data.info.phone"]
VALUES = ["actor.userId", "literal:open", "literal:closed",
          "actor.organizationId"]


def new_policy(rng, types):
    acts = rng.sample(ACTIONS, rng.randint(1, 3)) if rng.random() < 0.85 \
        else ["*"]
    res = rng.choice(types + ["users"] * 1 + ["*"] * 1)
    return {"resource": res, "actions": acts,
            "effect": "deny" if rng.random() < 0.25 else "allow"}


def new_rule(rng, types):
    return {"entityType": rng.choice(types), "field": rng.choice(FIELDS[:3]),
            "operator": rng.choice(["eq", "neq"]), "value": rng.choice(VALUES)}


def new_mask(rng, types):
    m = {"entityType": rng.choice(types), "fieldPath": rng.choice(FIELDS[1:]),
         "maskType": rng.choice(["hide", "redact"])}
    if m["maskType"] == "redact":
        m["replacement"] = rng.choice(["***", "[x]"])
    return m


def new_role(rng, types):
    return {"policies": [new_policy(rng, types)
                         for _ in range(rng.randint(1, 4))],
            "rules": [new_rule(rng, types) for _ in range(rng.randint(0, 2))],
            "masks": [new_mask(rng, types) for _ in range(rng.randint(0, 3))]}


def generate(rng):
    types = ["alpha", "beta", "gamma"]
    roles = {f"r{i}": new_role(rng, types) for i in range(rng.randint(3, 4))}
    agents = {f"a{i}": rng.sample(sorted(roles), rng.randint(1, 2))
              for i in range(rng.randint(2, 3))}
    return {"types": types, "roles": roles, "agents": agents}


def q(s):
    return json.dumps(s)


def render(p):
    files = {"struere.yaml": "name: random\nversion: 1.0.0\n"}
    for t in p["types"]:
        files[f"data/{t}.yaml"] = f"""name: {t.title()}
slug: {t}
schema:
  type: object
  properties:
    title: {{type: string}}
    status: {{type: string}}
    ownerId: {{type: string}}
    info:
      type: object
      properties:
        email: {{type: string}}
        phone: {{type: string}}
"""
    for slug, r in p["roles"].items():
        t = f"name: {slug.upper()}\nslug: {slug}\npolicies:\n"
        for pol in r["policies"]:
            t += (f"  - resource: {q(pol['resource'])}\n"
                  f"    actions: [{', '.join(q(a) for a in pol['actions'])}]\n"
                  f"    effect: {pol['effect']}\n")
        if r["rules"]:
            t += "scopeRules:\n"
            for u in r["rules"]:
                t += (f"  - entityType: {u['entityType']}\n"
                      f"    field: {u['field']}\n"
                      f"    operator: {u['operator']}\n"
                      f"    value: {q(u['value'])}\n")
        if r["masks"]:
            t += "fieldMasks:\n"
            for m in r["masks"]:
                t += (f"  - entityType: {m['entityType']}\n"
                      f"    fieldPath: {m['fieldPath']}\n"
                      f"    maskType: {m['maskType']}\n")
                if m["maskType"] == "redact":
                    t += f"    maskConfig:\n      replacement: {q(m['replacement'])}\n"
        files[f"roles/{slug}.yaml"] = t
    for slug, roles in p["agents"].items():
        files[f"agents/{slug}.yaml"] = (
            f"name: Agent {slug}\nslug: {slug}\nversion: 1.0.0\n"
            f"model:\n  model: openai/gpt-5-mini\n"
            f"roles: [{', '.join(roles)}]\n"
            f"systemPrompt: |\n  You are {slug}.\n")
    return files


def mutate(rng, p):
    """One random edit of project p, in place; returns what it did."""
    roles, types = p["roles"], p["types"]
    slug = rng.choice(sorted(roles))
    r = roles[slug]
    kind = rng.randrange(12)
    if kind == 0:
        pol = rng.choice(r["policies"])
        if pol["actions"] != ["*"]:
            pol["actions"] = sorted(set(pol["actions"]) ^ {rng.choice(ACTIONS)}) \
                or ["read"]
        return f"{slug}: an action toggled"
    if kind == 1:
        r["policies"].append(new_policy(rng, types))
        return f"{slug}: a policy added"
    if kind == 2 and len(r["policies"]) > 1:
        r["policies"].pop(rng.randrange(len(r["policies"])))
        return f"{slug}: a policy removed"
    if kind == 3:
        pol = rng.choice(r["policies"])
        pol["effect"] = "allow" if pol["effect"] == "deny" else "deny"
        return f"{slug}: an effect flipped"
    if kind == 4:
        r["rules"].append(new_rule(rng, types))
        return f"{slug}: a scope rule added"
    if kind == 5 and r["rules"]:
        r["rules"].pop(rng.randrange(len(r["rules"])))
        return f"{slug}: a scope rule removed"
    if kind == 6 and r["rules"]:
        u = rng.choice(r["rules"])
        u["value"] = rng.choice(VALUES)
        u["operator"] = rng.choice(["eq", "neq"])
        return f"{slug}: a scope rule changed"
    if kind == 7:
        r["masks"].append(new_mask(rng, types))
        return f"{slug}: a mask added"
    if kind == 8 and r["masks"]:
        m = r["masks"].pop(rng.randrange(len(r["masks"])))
        if rng.random() < 0.5:  # its type flipped instead
            m["maskType"] = "hide" if m["maskType"] == "redact" else "redact"
            m["replacement"] = "***"
            r["masks"].append(m)
            return f"{slug}: a mask's type flipped"
        return f"{slug}: a mask removed"
    if kind == 9:
        agent = rng.choice(sorted(p["agents"]))
        p["agents"][agent] = rng.sample(sorted(roles), rng.randint(1, 2))
        return f"{agent}: roles replaced"
    if kind == 10:
        new = f"r{len(roles) + 10}"
        roles[new] = new_role(rng, types)
        return f"{new}: a role added"
    if kind == 11 and "gamma" in types:
        # gamma removed: from every rule, mask and policy that names it
        types.remove("gamma")
        for x in roles.values():
            x["policies"] = [q for q in x["policies"] if q["resource"] != "gamma"] \
                or [{"resource": "users", "actions": ["read"], "effect": "allow"}]
            x["rules"] = [u for u in x["rules"] if u["entityType"] != "gamma"]
            x["masks"] = [m for m in x["masks"] if m["entityType"] != "gamma"]
        return "gamma: a data type removed"
    r["masks"].append(new_mask(rng, types))
    return f"{slug}: a mask added"


rng = random.Random(SEED)
for n in range(ROUNDS):
    base = generate(rng)
    edited = copy.deepcopy(base)
    what = [mutate(rng, edited) for _ in range(rng.randint(1, 3))]
    name = f"round {n} ({'; '.join(what)})"
    fa, fb = render(base), render(edited)
    ra, rb = os.path.join(WORK, f"r{n}a"), os.path.join(WORK, f"r{n}b")
    ok_a, err_a = build(fa, ra)
    ok_b, err_b = build(fb, rb)
    check(f"{name}: both build", ok_a and ok_b, (err_a + err_b)[:500])
    if not (ok_a and ok_b):
        continue
    A, B = ra + "/dist/production.stb", rb + "/dist/production.stb"
    r = subprocess.run([BIN, "diff", A, B, "--format", "json"],
                       capture_output=True, text=True)
    check(f"{name}: diff exits 0", r.returncode == 0, r.stderr)
    if r.returncode != 0:
        continue
    doc = json.loads(r.stdout)
    bad = contradictions(table(A, fa), table(B, fb), doc)
    check(f"{name}: agrees with can", not bad, str(bad[:3]))
    g = subprocess.run([BIN, "diff", A, B, "--check", "no-new-access"],
                       capture_output=True, text=True)
    check(f"{name}: --check exits as widens says",
          g.returncode == (1 if doc["widens"] else 0), g.stdout[-300:])

sys.exit(check.done("random edits"))
