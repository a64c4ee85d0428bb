#!/usr/bin/env python3
"""Generate a valid struere definition project for the compile benchmark.

    bench/gen-project.py N OUTDIR [--seed S]

Writes N definitions spread over every kind in realistic proportions and
sizes (see KIND_SHARE), with every cross-reference pointing at something that
exists: agent tools and roles, policy resources, scope/mask field paths,
automation entity types, eval suite agents, fixture types and record data
(valid against the data type's schema, `references` fields holding refs of
records of the referenced type). Output is a pure function of (N, seed).

Only the Python standard library is used; YAML is written by hand in block
style with every string as a JSON-style double-quoted scalar, so no value can
be misread as a number, boolean or null.
"""

import json
import os
import random
import re
import sys

# Share of the N definitions per kind (sums to 1.0).
KIND_SHARE = [
    ("data", 0.20),
    ("tool", 0.10),
    ("role", 0.15),
    ("agent", 0.15),
    ("automation", 0.15),
    ("eval", 0.10),
    ("fixture", 0.15),
]

BUILTIN_TOOLS = [
    "entity.create", "entity.get", "entity.query", "entity.update",
    "entity.delete", "calendar.list", "calendar.create", "web.search",
    "web.fetch", "email.send", "agent.chat", "whatsapp.send",
]
# Built-ins weighted towards the entity tools, as real agents are.
BUILTIN_WEIGHTED = (["entity.query"] * 6 + ["entity.get"] * 4 +
                    ["entity.create"] * 3 + ["entity.update"] * 3 +
                    BUILTIN_TOOLS)

MODELS = (["openai/gpt-5-mini"] * 8 +
          ["anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6"])

NOUNS = """customer order invoice ticket teacher student session payment
product shipment lead appointment course lesson guardian booking room
vendor contract project task milestone note message review refund
subscription plan coupon warehouse supplier employee shift visit patient
doctor claim policy asset device incident report campaign contact account
opportunity quote delivery route driver vehicle listing tenant lease""".split()

ADJ = """primary active premium regional internal external weekly monthly
daily priority standard legacy partner enterprise retail wholesale
domestic global local urgent pending verified""".split()

VERBS = """lookup fetch create sync notify compute check send schedule
resolve export import validate estimate summarize classify""".split()

ROLE_NAMES = """admin manager agent viewer editor teacher guardian support
sales billing auditor dispatcher coordinator reviewer operator analyst
owner member guest supervisor""".split()

FIELD_WORDS = """name title email phone status amount total price quantity
notes description address city country zip region category priority
score rating dueDate startDate endDate createdBy ownerId assignedTo
teacherId studentId customerId reference code label source channel
language currency discount tax weight height width color size tags
comments attachments items metadata settings contact billing shipping
isActive isPaid isVerified isArchived hasAccess count level stage
duration capacity budget margin""".split()

OBJECT_FIELDS = set("address billing shipping contact metadata settings".split())
ARRAY_FIELDS = set("tags items attachments comments".split())
NUMBER_FIELDS = set("""amount total price quantity score rating discount tax
weight height width count level duration capacity budget margin""".split())
ENUM_FIELDS = set("status priority stage category channel".split())

SENTENCES = [
    "Always confirm the customer's identity before sharing account details.",
    "Use the available tools to look up records instead of guessing.",
    "Keep answers short, friendly and specific to the question asked.",
    "If a request falls outside your scope, say so and offer a next step.",
    "Never reveal internal identifiers, prices below cost or staff notes.",
    "Summarize long lists and offer to show more on request.",
    "When a record is missing, explain what you searched for.",
    "Prefer the customer's language and repeat key numbers back to them.",
    "Escalate to a human when the user is upset or asks for one.",
    "Double-check dates and times against the current time before answering.",
    "Do not invent policies; quote the documented rules verbatim.",
    "Ask one clarifying question at a time when information is missing.",
    "Record every change you make with a short note for the audit trail.",
    "Respect the data you cannot see: masked fields stay hidden.",
    "Use bullet points for steps and tables for comparisons.",
]

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


# ---------------------------------------------------------------- YAML out

PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ykey(k):
    return k if PLAIN_KEY.match(k) else json.dumps(k)


def yscalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(str(v))


def is_scalar(v):
    return not isinstance(v, (dict, list))


def emit(obj, out, indent=0):
    """Append block-style YAML lines for a dict to out."""
    pad = " " * indent
    for k, v in obj.items():
        if isinstance(v, dict):
            if not v:
                out.append(f"{pad}{ykey(k)}: {{}}")
            else:
                out.append(f"{pad}{ykey(k)}:")
                emit(v, out, indent + 2)
        elif isinstance(v, list):
            if not v:
                out.append(f"{pad}{ykey(k)}: []")
            elif all(is_scalar(x) for x in v):
                out.append(f"{pad}{ykey(k)}: [" +
                           ", ".join(yscalar(x) for x in v) + "]")
            else:
                out.append(f"{pad}{ykey(k)}:")
                emit_list(v, out, indent + 2)
        else:
            out.append(f"{pad}{ykey(k)}: {yscalar(v)}")


def emit_list(lst, out, indent):
    pad = " " * indent
    for item in lst:
        if isinstance(item, dict) and item:
            sub = []
            emit(item, sub, indent + 2)
            sub[0] = pad + "- " + sub[0][indent + 2:]
            out.extend(sub)
        elif isinstance(item, list) and item:
            if all(is_scalar(x) for x in item):
                out.append(pad + "- [" + ", ".join(yscalar(x) for x in item) + "]")
            else:
                sub = []
                emit_list(item, sub, indent + 2)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out.extend(sub)
        elif isinstance(item, dict):
            out.append(pad + "- {}")
        elif isinstance(item, list):
            out.append(pad + "- []")
        else:
            out.append(pad + "- " + yscalar(item))


def to_yaml(obj):
    out = []
    emit(obj, out)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- helpers

def counts_for(n):
    """Split n over the kinds; each kind gets at least one when n >= 7."""
    raw = [(k, n * s) for k, s in KIND_SHARE]
    got = {k: int(x) for k, x in raw}
    rest = n - sum(got.values())
    for k, x in sorted(raw, key=lambda kx: -(kx[1] - int(kx[1]))):
        if rest <= 0:
            break
        got[k] += 1
        rest -= 1
    if n >= len(KIND_SHARE):
        for k, _ in KIND_SHARE:
            while got[k] == 0:
                donor = max(got, key=lambda d: got[d])
                got[donor] -= 1
                got[k] += 1
    return got


def title(words):
    return " ".join(w[:1].upper() + w[1:] for w in words)


def camel(words):
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


class Gen:
    def __init__(self, n, seed):
        self.n = n
        self.r = random.Random(seed)
        self.counts = counts_for(n)
        self.data = []      # list of dicts: slug, schema, strings, ...
        self.tools = []     # tool names
        self.tool_params = {}   # tool name -> parameters schema
        self.roles = []     # role slugs
        self.agents = []    # (slug, tools)
        self.files = []     # (relpath, text)

    # ------------------------------------------------------------ data

    def prop_for(self, r, fname, depth):
        """A property schema whose type suits its name, as people write them."""
        if fname in OBJECT_FIELDS and depth < 2:
            return self.sub_object(r, depth + 1)
        if fname in ARRAY_FIELDS:
            if fname in ("items", "attachments") and depth < 2:
                return {"type": "array", "items": self.sub_object(r, depth + 1)}
            return {"type": "array", "items": {"type": "string"}}
        if fname.startswith(("is", "has")):
            return {"type": "boolean"}
        if fname in NUMBER_FIELDS:
            return {"type": "number"}
        if fname == "email":
            return {"type": "string", "format": "email"}
        if fname in ("dueDate", "startDate", "endDate"):
            return {"type": "string", "format": "date-time"}
        if fname in ENUM_FIELDS:
            vals = r.sample(["new", "open", "active", "closed", "pending",
                             "archived", "low", "medium", "high", "draft"],
                            r.randint(2, 5))
            return {"type": "string", "enum": vals}
        return {"type": "string"}

    def sub_object(self, r, depth):
        props = {}
        names = r.sample(FIELD_WORDS, r.randint(2, 4))
        for nm in names:
            props[nm] = self.prop_for(r, nm, depth)
        o = {"type": "object", "properties": props}
        req = [k for k in names if r.random() < 0.5]
        if req:
            o["required"] = req
        return o

    def gen_data(self, i):
        r = self.r
        noun = NOUNS[i % len(NOUNS)]
        adj = ADJ[(i * 5 + i // len(NOUNS)) % len(ADJ)]
        slug = f"{adj}-{noun}-{i}"
        nfields = r.randint(5, 15)
        names = ["name"] + [f for f in r.sample(FIELD_WORDS, nfields + 3)
                            if f != "name"][: nfields - 1]
        props = {}
        strings = []            # top-level plain string fields
        nested_paths = []       # "obj.sub" paths into object fields
        for fname in names:
            if fname == "name":
                p = {"type": "string", "description": f"Display name of the {noun}"}
            else:
                p = self.prop_for(r, fname, 0)
                if p["type"] == "object":
                    nested_paths.extend(f"{fname}.{k}" for k in p["properties"])
                elif r.random() < 0.2:
                    p["description"] = f"The {noun}'s {fname}"
            props[fname] = p
            if p["type"] == "string" and "enum" not in p and "format" not in p:
                strings.append(fname)
        # A foreign key to an earlier type that has none itself, so fixture
        # record chains stay one level deep.
        ref_target = None
        roots = [d for d in self.data if d["ref"] is None]
        if roots and r.random() < 0.35:
            ref_target = r.choice(roots)["slug"]
            fk = camel([ref_target.split("-")[1], "id"])
            if fk in props:
                fk += "Ref"
            props[fk] = {"type": "string", "references": ref_target,
                         "description": f"The related {ref_target}"}
            ref_field = fk
        required = ["name"] + [k for k in props if k != "name" and r.random() < 0.4]
        if ref_target and r.random() < 0.5 and ref_field not in required:
            required.append(ref_field)
        schema = {"type": "object", "properties": props, "required": required}
        doc = {
            "name": title([adj, noun, str(i)]),
            "slug": slug,
            "description": f"{title([adj, noun])} records kept by the team.",
            "schema": schema,
            "searchFields": strings[: r.randint(1, min(3, len(strings)))],
        }
        if r.random() < 0.5:
            doc["displayConfig"] = {"titleField": "name"}
        self.data.append({"slug": slug, "schema": schema, "strings": strings,
                          "nested": nested_paths,
                          "ref": ref_target,
                          "ref_field": ref_field if ref_target else None})
        self.files.append((f"data/{slug}.yaml", to_yaml(doc)))

    # ------------------------------------------------------------ values

    def value_for(self, p, ctx):
        """A value valid for schema property p. ctx supplies refs."""
        r = self.r
        t = p["type"]
        if "references" in p:
            return ctx(p["references"])
        if t == "string":
            if "enum" in p:
                return r.choice(p["enum"])
            fmt = p.get("format")
            if fmt == "email":
                return f"user{r.randint(1, 99999)}@example.com"
            if fmt == "date-time":
                return (f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
                        f"T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z")
            return f"{r.choice(ADJ)} {r.choice(NOUNS)} {r.randint(1, 9999)}"
        if t == "number":
            if r.random() < 0.5:
                return r.randint(0, 10000)
            return round(r.uniform(0, 1000), 2)
        if t == "boolean":
            return r.random() < 0.5
        if t == "array":
            return [self.value_for(p["items"], ctx)
                    for _ in range(r.randint(0, 3))]
        if t == "object":
            return self.object_for(p, ctx, 0.5)
        raise ValueError(t)

    def object_for(self, schema, ctx, optional_share):
        req = set(schema.get("required", []))
        out = {}
        for k, p in schema["properties"].items():
            if k in req or self.r.random() < optional_share:
                out[k] = self.value_for(p, ctx)
        return out

    # ------------------------------------------------------------ tools

    def gen_tool(self, i):
        r = self.r
        name = f"{VERBS[i % len(VERBS)]}_{NOUNS[(i * 7) % len(NOUNS)]}_{i}"
        props = {}
        for fname in r.sample(FIELD_WORDS, r.randint(1, 5)):
            p = self.prop_for(r, fname, 2)
            p["description"] = f"The {fname} to use"
            props[fname] = p
        params = {"type": "object", "properties": props}
        req = [k for k in props if r.random() < 0.5]
        if req:
            params["required"] = req
        doc = {
            "name": name,
            "description": f"{title([VERBS[i % len(VERBS)]])} a "
                           f"{NOUNS[(i * 7) % len(NOUNS)]} in the external system.",
            "parameters": params,
        }
        self.tools.append(name)
        self.tool_params[name] = params
        self.files.append((f"tools/{name}.yaml", to_yaml(doc)))

    # ------------------------------------------------------------ roles

    def gen_role(self, i):
        r = self.r
        base = ROLE_NAMES[i % len(ROLE_NAMES)]
        slug = f"{base}-{i}"
        allowed = r.sample(self.data, min(len(self.data), r.randint(1, 3)))
        policies = []
        for d in allowed:
            acts = ["list", "read"]
            if r.random() < 0.3:
                acts += ["create", "update"]
            policies.append({"resource": d["slug"], "actions": acts,
                             "effect": "allow"})
        denied = r.choice(self.data)
        policies.append({"resource": denied["slug"],
                         "actions": r.choice([["delete"], ["update", "delete"],
                                              ["list", "read"]]),
                         "effect": "deny"})
        if r.random() < 0.1:
            policies.append({"resource": "users", "actions": ["list", "read"],
                             "effect": "allow"})
        doc = {"name": title([base, str(i)]), "slug": slug,
               "description": f"What the {base} role may see and change.",
               "policies": policies}
        scope, masks = [], []
        for d in allowed:
            if d["strings"] and r.random() < 0.6:
                scope.append({"entityType": d["slug"],
                              "field": "data." + r.choice(d["strings"]),
                              "operator": "eq", "value": "actor.userId"})
            if r.random() < 0.5:
                fields = [k for k in d["schema"]["properties"] if k != "name"]
                paths = fields + d["nested"]
                for fp in r.sample(paths, min(len(paths), r.randint(1, 2))):
                    m = {"entityType": d["slug"], "fieldPath": "data." + fp,
                         "maskType": "hide"}
                    if r.random() < 0.25:
                        m["maskType"] = "redact"
                        m["maskConfig"] = {"replacement": "***"}
                    masks.append(m)
        if scope:
            doc["scopeRules"] = scope
        if masks:
            doc["fieldMasks"] = masks
        self.roles.append(slug)
        self.files.append((f"roles/{slug}.yaml", to_yaml(doc)))

    # ------------------------------------------------------------ agents

    def prompt_body(self, name, tools):
        r = self.r
        target = r.randint(1024, 3072)
        parts = [f"# {name}\n",
                 "You are {{agentName}}, the assistant of {{organizationName}}. "
                 "The current time is {{currentTime}}.\n"]
        sections = ["Responsibilities", "How to work", "Rules", "Tone",
                    "Escalation", "Data you can use", "Examples"]
        r.shuffle(sections)
        k = 0
        while sum(len(p) for p in parts) < target:
            sec = sections[k % len(sections)]
            k += 1
            parts.append(f"## {sec}\n")
            style = r.random()
            if sec == "Data you can use":
                for t in tools:
                    parts.append(f"- `{t}`: {r.choice(SENTENCES)}")
                parts.append("")
            elif style < 0.4:
                for j in range(r.randint(3, 6)):
                    parts.append(f"- {r.choice(SENTENCES)}")
                parts.append("")
            elif style < 0.7:
                for j in range(r.randint(3, 6)):
                    parts.append(f"{j + 1}. {r.choice(SENTENCES)}")
                parts.append("")
            else:
                parts.append(" ".join(r.choice(SENTENCES)
                                      for _ in range(r.randint(3, 6))) + "\n")
            if r.random() < 0.2:
                parts.append("Remember: you speak for **{{organizationName}}**"
                             " and today is {{currentTime}}.\n")
        return "\n".join(parts)

    def gen_agent(self, i):
        r = self.r
        noun = NOUNS[(i * 3) % len(NOUNS)]
        job = r.choice(["assistant", "helper", "concierge", "advisor", "bot"])
        slug = f"{noun}-{job}-{i}"
        name = title([noun, job, str(i)])
        ntools = r.randint(1, 5)
        tools = []
        for _ in range(ntools):
            t = (r.choice(self.tools) if self.tools and r.random() < 0.4
                 else r.choice(BUILTIN_WEIGHTED))
            if t not in tools:
                tools.append(t)
        fm = {"name": name, "slug": slug, "version": f"0.{r.randint(1, 9)}.{r.randint(0, 20)}",
              "description": f"Helps with {noun} questions.",
              "model": {"model": r.choice(MODELS),
                        "temperature": r.choice([0.2, 0.3, 0.5, 0.7, 1.0]),
                        "maxTokens": r.choice([1024, 2048, 4096, 8192])},
              "tools": tools,
              "roles": r.sample(self.roles, min(len(self.roles), r.randint(1, 2)))}
        if r.random() < 0.4:
            fm["firstMessageSuggestions"] = [f"Show my {noun}s",
                                             f"Create a new {noun}"]
        if r.random() < 0.15:
            fm["threadContextParams"] = [{"name": "customerId", "type": "string",
                                          "required": False,
                                          "description": "Caller's customer id"}]
        if r.random() < 0.1:
            fm["environments"] = {"production": {"model": {"temperature": 0.2}}}
        body = self.prompt_body(name, tools)
        self.agents.append((slug, tools))
        self.files.append((f"agents/{slug}.md",
                           "---\n" + to_yaml(fm) + "---\n\n" + body))

    # ------------------------------------------------------------ automations

    def gen_automation(self, i):
        r = self.r
        d = r.choice(self.data)
        action = r.choice(["created", "created", "updated", "updated", "deleted"])
        slug = f"on-{d['slug']}-{action}-{i}"
        props = d["schema"]["properties"]
        keys = r.sample(list(props), min(len(props), r.randint(1, 3)))
        data = {}
        for k in keys:
            p = props[k]
            if p["type"] == "string" and "enum" not in p and \
                    "format" not in p and "references" not in p:
                data[k] = "{{trigger.data." + k + "}}"
            else:
                data[k] = self.value_for(p, lambda t: "{{trigger.data.name}}")
        first = {"tool": "entity.update",
                 "args": {"id": "{{trigger.entityId}}", "type": d["slug"],
                          "data": data}}
        if r.random() < 0.3:
            first["as"] = "touched"
        acts = [first]
        if self.tools and r.random() < 0.35:
            # Then tell an external system, through a declared custom tool,
            # with arguments that satisfy its parameters.
            name = r.choice(self.tools)
            tparams = self.tool_params[name]
            args = {}
            for k, p in tparams["properties"].items():
                if k in tparams.get("required", []) or r.random() < 0.3:
                    if p["type"] == "string" and "enum" not in p \
                            and "format" not in p:
                        args[k] = "{{trigger.data.name}}"
                    else:
                        args[k] = self.value_for(p, None)
            acts.append({"tool": name, "args": args})
        on = {"entityType": d["slug"], "action": action}
        enum_fields = [k for k, p in props.items()
                       if p["type"] == "string" and "enum" in p]
        if enum_fields and r.random() < 0.4:
            k = r.choice(enum_fields)
            cond = {"data." + k: r.choice(props[k]["enum"])}
            if action == "updated" and r.random() < 0.5:
                cond["previousData." + k] = r.choice(props[k]["enum"])
            on["condition"] = cond
        doc = {"name": title(["on", d["slug"].split("-")[1], action, str(i)]),
               "slug": slug,
               "description": f"Keeps {d['slug']} records tidy after {action}.",
               "on": on, "actions": acts}
        if r.random() < 0.2:
            doc["schedule"] = {"delay": r.choice([1000, 60000, 3600000])}
            doc["retry"] = {"maxAttempts": r.randint(1, 5), "backoffMs": 60000}
        self.files.append((f"automations/{slug}.yaml", to_yaml(doc)))

    # ------------------------------------------------------------ evals

    def gen_eval(self, i):
        r = self.r
        agent, tools = r.choice(self.agents)
        slug = f"{agent}-suite-{i}"
        cases = []
        for c in range(r.randint(2, 6)):
            turns = []
            for t in range(r.randint(1, 3)):
                noun = r.choice(NOUNS)
                asserts = [{"type": "contains", "value": noun}]
                if r.random() < 0.4:
                    asserts.append({"type": "llm_judge",
                                    "criteria": f"The answer explains the {noun} clearly",
                                    "weight": r.randint(1, 5)})
                if r.random() < 0.3:
                    asserts.append({"type": "tool_called", "value": r.choice(tools)})
                turns.append({"user": f"Can you tell me about my {noun} {r.randint(1, 999)}?",
                              "assertions": asserts})
            case = {"name": f"Case {c + 1}", "turns": turns}
            if r.random() < 0.3:
                case["tags"] = ["smoke"]
            if r.random() < 0.2:
                case["finalAssertions"] = [{"type": "tool_not_called",
                                            "value": r.choice(tools)}]
            cases.append(case)
        doc = {"suite": title([agent.split("-")[0], "suite", str(i)]),
               "slug": slug, "agent": agent,
               "description": f"Regression checks for {agent}.",
               "tags": ["regression"], "cases": cases}
        if r.random() < 0.3:
            doc["judgeModel"] = "openai/gpt-5-mini"
        self.files.append((f"evals/{slug}.eval.yaml", to_yaml(doc)))

    # ------------------------------------------------------------ fixtures

    def gen_fixture(self, i):
        r = self.r
        slug = f"fixture-set-{i}"
        types = r.sample(self.data, min(len(self.data), r.randint(1, 4)))
        by_slug = {d["slug"]: d for d in self.data}
        entities = []
        made = {}   # type slug -> [refs]
        counter = [0]

        def make(d):
            counter[0] += 1
            ref = f"f{i}-{d['slug'].split('-')[1]}-{counter[0]}"

            def ctx(target):
                if not made.get(target):
                    make(by_slug[target])
                return r.choice(made[target])

            data = self.object_for(d["schema"], ctx, 0.5)
            ent = {"ref": ref, "type": d["slug"], "data": data}
            if r.random() < 0.1:
                ent["status"] = "active"
            entities.append(ent)
            made.setdefault(d["slug"], []).append(ref)

        total = r.randint(3, 10)
        for k in range(total):
            make(types[k % len(types)])
        rels = []
        refs = [e["ref"] for e in entities]
        for _ in range(r.randint(0, 4) if len(refs) > 1 else 0):
            a, b = r.sample(refs, 2)
            rel = {"from": a, "to": b,
                   "type": r.choice(["owns", "manages", "teaches", "follows",
                                     "contains", "assigned"])}
            if r.random() < 0.2:
                rel["metadata"] = {"since": "2024-01-01"}
            rels.append(rel)
        doc = {"name": title(["fixture set", str(i)]), "slug": slug,
               "entities": entities}
        if rels:
            doc["relations"] = rels
        self.files.append((f"fixtures/{slug}.fixture.yaml", to_yaml(doc)))

    # ------------------------------------------------------------ driver

    def run(self):
        c = self.counts
        for i in range(c["data"]):
            self.gen_data(i)
        for i in range(c["tool"]):
            self.gen_tool(i)
        for i in range(c["role"]):
            self.gen_role(i)
        for i in range(c["agent"]):
            self.gen_agent(i)
        for i in range(c["automation"]):
            self.gen_automation(i)
        for i in range(c["eval"]):
            self.gen_eval(i)
        for i in range(c["fixture"]):
            self.gen_fixture(i)


def main(argv):
    seed = 20260401
    args = []
    it = iter(argv[1:])
    for a in it:
        if a == "--seed":
            seed = int(next(it))
        elif a.startswith("--seed="):
            seed = int(a.split("=", 1)[1])
        else:
            args.append(a)
    if len(args) != 2 or not args[0].isdigit() or int(args[0]) < 7:
        sys.stderr.write("usage: gen-project.py N OUTDIR [--seed S]   (N >= 7)\n")
        return 2
    n, outdir = int(args[0]), args[1]
    if os.path.exists(outdir) and os.listdir(outdir):
        sys.stderr.write(f"gen-project.py: {outdir} exists and is not empty\n")
        return 2
    g = Gen(n, seed)
    g.run()
    dirs = set()
    for rel, text in g.files:
        d = os.path.dirname(rel)
        if d not in dirs:
            os.makedirs(os.path.join(outdir, d), exist_ok=True)
            dirs.add(d)
        with open(os.path.join(outdir, rel), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(outdir, "struere.yaml"), "w", encoding="utf-8") as f:
        f.write(to_yaml({"name": f"bench-{n}", "version": "1.0.0"}))
    summary = " ".join(f"{k}={v}" for k, v in g.counts.items())
    sys.stderr.write(f"gen-project.py: wrote {len(g.files)} definitions to "
                     f"{outdir} ({summary})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
