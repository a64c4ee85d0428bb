#!/usr/bin/env python3
"""Independent sanity check of a generated benchmark project (needs PyYAML).

    bench/check-project.py PROJECTDIR

Checks what DESIGN.md §2 says `struere check` checks, written from the spec
and not from the compiler: every file parses, slugs are well formed and
unique per kind, every cross-reference resolves, fixture records are valid
against their data type's schema. When `struere check` rejects a generated
project, run this to tell a generator bug from a compiler bug.
"""

import glob
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("check-project.py: needs PyYAML (pip install pyyaml)")



class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML 1.2 booleans: only true/false, so the key `on:` stays a string."""


Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for ch in "tTfF":
    Loader.yaml_implicit_resolvers.setdefault(ch, []).insert(0, (
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
BUILTIN = set("""entity.create entity.get entity.query entity.update
entity.delete calendar.list calendar.create calendar.update calendar.delete
calendar.freeBusy whatsapp.send whatsapp.sendTemplate whatsapp.sendInteractive
whatsapp.sendMedia whatsapp.listTemplates whatsapp.getConversation
whatsapp.getStatus agent.chat airtable.listBases airtable.listTables
airtable.listRecords airtable.getRecord airtable.createRecords
airtable.updateRecords airtable.deleteRecords email.send payment.create
payment.getStatus web.search web.fetch""".split())
ACTIONS = {"create", "read", "update", "delete", "list", "*"}
PROVIDERS = ("openai/", "anthropic/", "google/", "xai/")

errors = []


def err(path, msg):
    errors.append(f"{path}: {msg}")


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".md"):
        if not text.startswith("---\n"):
            err(path, "no front matter")
            return {}
        end = text.index("\n---\n", 3)
        doc = yaml.load(text[4:end + 1], Loader=Loader)
        doc["systemPrompt"] = text[end + 5:]
        return doc
    return yaml.load(text, Loader=Loader)


def check_schema(path, s, where, data_slugs):
    t = s.get("type")
    if t not in ("string", "number", "integer", "boolean", "array", "object"):
        err(path, f"{where}: bad type {t!r}")
    if "references" in s:
        if t != "string":
            err(path, f"{where}: references on non-string")
        if s["references"] not in data_slugs:
            err(path, f"{where}: references unknown type {s['references']}")
    if t == "object":
        if "properties" not in s:
            err(path, f"{where}: object without properties")
        for k, p in s.get("properties", {}).items():
            check_schema(path, p, f"{where}.{k}", data_slugs)
        for k in s.get("required", []):
            if k not in s.get("properties", {}):
                err(path, f"{where}: required {k} not a property")
    if t == "array":
        if "items" in s:
            check_schema(path, s["items"], where + "[]", data_slugs)


def has_path(schema, dotted):
    s = schema
    for part in dotted.split("."):
        if s.get("type") != "object" or part not in s.get("properties", {}):
            return False
        s = s["properties"][part]
    return True


def check_value(path, s, v, where, refs_by_type):
    t = s["type"]
    ok = {"string": isinstance(v, str),
          "number": isinstance(v, (int, float)) and not isinstance(v, bool),
          "integer": isinstance(v, int) and not isinstance(v, bool),
          "boolean": isinstance(v, bool),
          "array": isinstance(v, list),
          "object": isinstance(v, dict)}[t]
    if not ok:
        err(path, f"{where}: expected {t}, got {v!r}")
        return
    if "enum" in s and v not in s["enum"]:
        err(path, f"{where}: {v!r} not in enum")
    if "minimum" in s and v < s["minimum"]:
        err(path, f"{where}: below minimum")
    if "references" in s and v not in refs_by_type.get(s["references"], ()):
        err(path, f"{where}: {v!r} is not a ref of a {s['references']} record")
    if t == "array" and "items" in s:
        for i, x in enumerate(v):
            check_value(path, s["items"], x, f"{where}[{i}]", refs_by_type)
    if t == "object":
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                err(path, f"{where}: missing required {k}")
        for k, x in v.items():
            if k not in props:
                err(path, f"{where}: unknown field {k}")
            else:
                check_value(path, props[k], x, f"{where}.{k}", refs_by_type)


def main(root):
    docs = {}
    patterns = {"agent": "agents/*.md", "agent_y": "agents/*.yaml",
                "data": "data/*.yaml", "role": "roles/*.yaml",
                "automation": "automations/*.yaml", "tool": "tools/*.yaml",
                "eval": "evals/*.eval.yaml", "fixture": "fixtures/*.fixture.yaml"}
    for kind, pat in patterns.items():
        kind = kind.replace("_y", "")
        for p in sorted(glob.glob(os.path.join(root, pat))):
            try:
                docs.setdefault(kind, []).append((p, load(p)))
            except Exception as e:  # noqa: BLE001 - report and go on
                err(p, f"parse: {e}")
    proj = load(os.path.join(root, "struere.yaml"))
    if not proj.get("name") or not proj.get("version"):
        err("struere.yaml", "name and version required")

    ident = {}
    for kind, items in docs.items():
        key = "name" if kind == "tool" else "slug"
        seen = set()
        for p, d in items:
            s = d.get(key)
            if kind != "tool" and not (isinstance(s, str) and SLUG.match(s)):
                err(p, f"bad slug {s!r}")
            if s in seen:
                err(p, f"duplicate {kind} {s}")
            seen.add(s)
        ident[kind] = seen

    data = {d["slug"]: d for _, d in docs.get("data", [])}
    tools = ident.get("tool", set())
    for p, d in docs.get("data", []):
        if d["schema"].get("type") != "object":
            err(p, "schema root not object")
        check_schema(p, d["schema"], "schema", data)
        for f in d.get("searchFields", []):
            if f not in d["schema"]["properties"]:
                err(p, f"searchField {f} unknown")

    for p, d in docs.get("tool", []):
        if not d.get("description") or d.get("parameters", {}).get("type") != "object":
            err(p, "tool needs description and object parameters")

    roles = ident.get("role", set())
    for p, d in docs.get("role", []):
        if not d.get("policies"):
            err(p, "no policies")
        resources = set()
        for pol in d.get("policies", []):
            r = pol["resource"]
            if r not in data and r not in ("users", "*"):
                err(p, f"policy resource {r} unknown")
            resources.add(r)
            if not set(pol["actions"]) <= ACTIONS or pol["effect"] not in ("allow", "deny"):
                err(p, f"bad policy {pol}")
            if "priority" in pol:
                err(p, "priority")
        for sr in d.get("scopeRules", []):
            t = sr["entityType"]
            if t not in data:
                err(p, f"scope type {t} unknown")
                continue
            if sr["entityType"] not in resources:
                err(p, f"scope type {t} has no policy")
            if not sr["field"].startswith("data.") or \
                    not has_path(data[t]["schema"], sr["field"][5:]):
                err(p, f"scope field {sr['field']} not in {t}")
            if sr["operator"] not in ("eq", "neq", "in", "contains"):
                err(p, "bad operator")
        for m in d.get("fieldMasks", []):
            t = m["entityType"]
            if t not in data:
                err(p, f"mask type {t} unknown")
                continue
            if t not in resources:
                err(p, f"mask type {t} has no policy")
            if not has_path(data[t]["schema"], m["fieldPath"][5:]):
                err(p, f"mask path {m['fieldPath']} not in {t}")
            if m["maskType"] not in ("hide", "redact"):
                err(p, "bad maskType")

    agents = {}
    for p, d in docs.get("agent", []):
        for k in ("name", "slug", "version", "systemPrompt"):
            if not d.get(k):
                err(p, f"agent {k} missing")
        if not d.get("model", {}).get("model", "").startswith(PROVIDERS):
            err(p, "model without provider prefix")
        for t in d.get("tools", []):
            if t not in BUILTIN and t not in tools:
                err(p, f"unknown tool {t}")
        for r in d.get("roles", []):
            if r not in roles:
                err(p, f"unknown role {r}")
        agents[d["slug"]] = d

    for p, d in docs.get("automation", []):
        on = d["on"]
        if on["entityType"] not in data:
            err(p, f"on.entityType {on['entityType']} unknown")
        if on["action"] not in ("created", "updated", "deleted"):
            err(p, "bad on.action")
        for k in on.get("condition", {}):
            if k.startswith("previousData.") and on["action"] != "updated":
                err(p, "previousData outside updated")
        if not d.get("actions"):
            err(p, "no actions")
        for a in d.get("actions", []):
            if a["tool"] not in BUILTIN and a["tool"] not in tools:
                err(p, f"unknown tool {a['tool']}")
            if a["args"].get("cascade"):
                err(p, "cascade (possible cycle)")
            t = a["args"].get("type")
            if a["tool"].startswith("entity.") and t not in data:
                err(p, f"args.type {t} unknown")
        sch = d.get("schedule", {})
        if "delay" in sch and "at" in sch:
            err(p, "delay and at")

    for p, d in docs.get("eval", []):
        if d["agent"] not in agents:
            err(p, f"unknown agent {d['agent']}")
        for c in d["cases"]:
            if not c.get("name") or not c.get("turns"):
                err(p, "case needs name and turns")
            for t in c["turns"]:
                if not t.get("user"):
                    err(p, "turn needs user")

    refs_by_type = {}
    all_refs = set()
    nrec = 0
    for p, d in docs.get("fixture", []):
        local = set()
        for e in d["entities"]:
            nrec += 1
            t = e["type"]
            if e["ref"] in all_refs:
                err(p, f"duplicate ref {e['ref']}")
            if t not in data:
                err(p, f"fixture type {t} unknown")
            else:
                check_value(p, data[t]["schema"], e["data"], e["ref"], refs_by_type)
            all_refs.add(e["ref"])
            local.add(e["ref"])
            refs_by_type.setdefault(t, set()).add(e["ref"])
        for r in d.get("relations", []):
            if r["from"] not in all_refs or r["to"] not in all_refs:
                err(p, f"relation to unknown ref {r}")

    n = sum(len(v) for v in docs.values())
    for e in errors[:50]:
        print(e)
    print(f"{n} definitions, {nrec} fixture records, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check-project.py PROJECTDIR")
    sys.exit(main(sys.argv[1]))
