#!/usr/bin/env python3
"""What subjects set off: automations in `struere access` and `struere
diff`. Automations run as the system actor (every row, no mask), so a
subject allowed the write an automation's trigger names does, through it,
what its actions do, and what the automations its cascading writes set off
do. Every expectation below is worked out by hand from the project in this
file and the model's automation semantics (reference section 2.4:
triggers on created/updated/deleted, record tools, cascade: true), never
from the program's output.

    automations.py STRUERE_BINARY WORKDIR

Ends "automations: N passed, M failed".
"""

import json
import os
import re
import subprocess
import sys

import against_can
from against_can import Checks, build, check_diff, table

BIN, WORK = sys.argv[1], sys.argv[2]
against_can.BIN = BIN
check = Checks()

AGENT = """name: {name}
slug: {slug}
version: 1.0.0
model:
  model: openai/gpt-5-mini
roles: {roles}
systemPrompt: |
  You help the desk.
"""

TOOL = """name: {name}
description: A tool.
parameters:
  type: object
  properties:
    id: {{type: string}}
handler: |
{handler}"""


def data(slug, props):
    return (f"name: {slug.title()}\nslug: {slug}\nschema:\n  type: object\n"
            f"  properties:\n" +
            "".join(f"    {p}: {{type: string}}\n" for p in props))


def role(slug, policies):
    return (f"name: {slug.title()}\nslug: {slug}\npolicies:\n" +
            "".join(f"  - resource: {r}\n    actions: {a}\n    effect: {e}\n"
                    for r, a, e in policies))


# The base project, and what it does, by hand:
#   support: read/list/update ticket; every invoice action denied.
#   clerk: create/read/list invoice.
#   viewer: read/list ticket.
#   bill-ticket (on ticket updated): entity.get by id (read, any type:
#     actions[0]); entity.create invoice with cascade (create invoice:
#     actions[1]), which sets off log-invoice; entity.update ticket without
#     cascade (update ticket: actions[2]); email.send (no record).
#   log-invoice (on invoice created): entity.create audit, no cascade
#     (create audit: actions[0]); entity.query invoice (list invoice:
#     actions[1]).
#   sweep-audit (on audit created): entity.delete by id (delete, any type):
#     nothing sets it off, log-invoice's create has no cascade.
#   helper's tools: entity.query and entity.update; no automation asks it
#     (agent.chat) in the base.
#   tools lookup (handler: struere.entity.query and struere.entity.get),
#     notify (handler: fetch alone; names like mystruere are not struere),
#     wild (handler: struere handed to a variable, so any method): no
#     automation calls them in the base.
BASE = {
    "struere.yaml": "name: automations\nversion: 1.0.0\n",
    "data/ticket.yaml": data("ticket", ["title", "status", "kind", "ownerId"]),
    "data/invoice.yaml": data("invoice", ["ticketId", "amount"]),
    "data/audit.yaml": data("audit", ["what"]),
    "roles/support.yaml": role("support", [
        ("ticket", "[read, list, update]", "allow"),
        ("invoice", '["*"]', "deny")]),
    "roles/clerk.yaml": role("clerk", [("invoice", "[create, read, list]",
                                        "allow")]),
    "roles/viewer.yaml": role("viewer", [("ticket", "[read, list]", "allow")]),
    "agents/helper.yaml": AGENT.format(name="Helper", slug="helper",
                                       roles="[support]") +
    "tools: [entity.query, entity.update]\n",
    "tools/lookup.yaml": TOOL.format(name="lookup", handler="""\
  const rows = await struere.entity.query({ type: "ticket" })
  const one = await struere
    .entity?.get({ id: args.id })
  return { rows, one }
"""),
    "tools/notify.yaml": TOOL.format(name="notify", handler="""\
  const mystruere = "x", struereX = 1
  const r = await fetch("https://hooks.example.com/notify", { method: "POST" })
  return { ok: r.ok, mystruere, struereX }
"""),
    "tools/wild.yaml": TOOL.format(name="wild", handler="""\
  const api = struere
  return api.entity.delete({ id: args.id })
"""),
    "automations/bill-ticket.yaml": """name: Bill Ticket
slug: bill-ticket
on:
  entityType: ticket
  action: updated
  condition:
    data.status: done
actions:
  - tool: entity.get
    args:
      id: "{{trigger.data.ownerId}}"
    as: owner
  - tool: entity.create
    args:
      type: invoice
      data:
        ticketId: "{{trigger.entityId}}"
      cascade: true
  - tool: entity.update
    args:
      id: "{{trigger.entityId}}"
      type: ticket
      data:
        status: billed
  - tool: email.send
    args:
      to: billing@example.com
      subject: "Billed {{trigger.entityId}}"
      text: done
""",
    "automations/log-invoice.yaml": """name: Log Invoice
slug: log-invoice
on:
  entityType: invoice
  action: created
actions:
  - tool: entity.create
    args:
      type: audit
      data:
        what: "invoice {{trigger.entityId}}"
  - tool: entity.query
    args:
      type: invoice
""",
    "automations/sweep-audit.yaml": """name: Sweep Audit
slug: sweep-audit
on:
  entityType: audit
  action: created
actions:
  - tool: entity.delete
    args:
      id: "{{trigger.entityId}}"
""",
}

BILL = [("*", "read", "bill-ticket#actions[0]"),
        ("invoice", "create", "bill-ticket#actions[1]"),
        ("audit", "create", "log-invoice#actions[0]"),
        ("invoice", "list", "log-invoice#actions[1]"),
        ("ticket", "update", "bill-ticket#actions[2]")]
LOG = [("audit", "create", "log-invoice#actions[0]"),
       ("invoice", "list", "log-invoice#actions[1]")]
SWEEP = [("*", "delete", "sweep-audit#actions[0]")]


def sets_off(doc):
    """subject -> {automation: (when, sorted does)} of an access doc."""
    return {s["subject"]: {a["automation"]: (
        (a["when"]["resource"], a["when"]["action"]),
        sorted((d["resource"], d["action"], d["by"]) for d in a["does"]))
        for a in s.get("automations", [])} for s in doc["subjects"]}


base_dir = os.path.join(WORK, "base")
ok, err = build(BASE, base_dir)
check("the base project builds", ok, err)
base_bundle = base_dir + "/dist/production.stb"

# ---- struere access ----------------------------------------------------------
r = subprocess.run([BIN, "access", base_bundle, "--format", "json"],
                   capture_output=True, text=True)
check("access --format json exits 0", r.returncode == 0, r.stderr)
got = sets_off(json.loads(r.stdout)) if r.returncode == 0 else {}
bill = (("ticket", "update"), sorted(BILL))
want = {"agent:helper": {"bill-ticket": bill},
        "role:support": {"bill-ticket": bill},
        "role:clerk": {"log-invoice": (("invoice", "create"), sorted(LOG))},
        "role:viewer": {}}
for subject, autos in want.items():
    check(f"access: {subject} sets off exactly {sorted(autos)}",
          got.get(subject) == autos, f"got {got.get(subject)}")
doc = json.loads(r.stdout) if r.returncode == 0 else {"subjects": []}
cond = [a["when"]["condition"] for s in doc["subjects"]
        for a in s.get("automations", []) if a["automation"] == "bill-ticket"]
check("access: the trigger's condition as written",
      cond and all(c == {"data.status": "done"} for c in cond), str(cond))
r = subprocess.run([BIN, "access", base_bundle, "--role", "support"],
                   capture_output=True, text=True)
check("access text: support sets off bill-ticket, as the system actor",
      "  sets off automation bill-ticket on update ticket (runs as the system "
      "actor: every row, no mask)\n    does read *  by bill-ticket#actions[0]\n"
      "    does create invoice  by bill-ticket#actions[1]\n" in r.stdout,
      r.stdout[-600:])
check("access text: the cascade's writes are listed",
      "    does create audit  by log-invoice#actions[0]\n" in r.stdout,
      r.stdout[-600:])
r = subprocess.run([BIN, "access", base_bundle, "--role", "viewer"],
                   capture_output=True, text=True)
check("access text: viewer sets off nothing", r.returncode == 0 and
      "sets off" not in r.stdout, r.stdout)
for fmt in ("md", "html"):
    r = subprocess.run([BIN, "access", base_bundle, "--role", "clerk",
                        "--format", fmt], capture_output=True, text=True)
    check(f"access {fmt}: clerk's automations listed", r.returncode == 0 and
          "Sets off automations" in r.stdout and
          "log-invoice#actions[1]" in r.stdout, r.stdout[-400:])
r = subprocess.run([BIN, "access", base_dir + "/dist/eval.stb", "--format",
                    "json"], capture_output=True, text=True)
check("access in eval (no automations): none set off", r.returncode == 0 and
      all(s["automations"] == [] for s in json.loads(r.stdout)["subjects"]),
      r.stdout[:300] + r.stderr)


# ---- struere diff ------------------------------------------------------------
def sub(path, old, new):
    def edit(files):
        assert old in files[path], (path, old)
        files[path] = files[path].replace(old, new, 1)
    return edit


def remove(path):
    def edit(files):
        del files[path]
    return edit


def add(path, text):
    def edit(files):
        files[path] = text
    return edit


W, N = True, False
CHAT_HELPER = ("  - tool: agent.chat\n    args:\n      agent: helper\n"
               "      message: \"Close {{trigger.entityId}}\"\n")


def call(tool):
    return (f"  - tool: {tool}\n    args:\n"
            "      id: \"{{trigger.entityId}}\"\n")


SUP = ["agent:helper", "role:support"]


def routes(subjects, pairs, change):
    return [(s, r, a, change, change == "automation-granted")
            for s in subjects for r, a in pairs]


ALL_BILL = [(r, a) for r, a, _ in BILL]
BILL_AUTO = "automations/bill-ticket.yaml"
# (name, edit, expected (subject, resource, action, change, widens))
CATALOGUE = [
    ("an automation's description", sub(BILL_AUTO, "slug: bill-ticket\n",
                                        "slug: bill-ticket\ndescription: x\n"),
     []),
    ("an automation removed", remove(BILL_AUTO),
     routes(SUP, ALL_BILL, "automation-revoked")),
    # routes are per automation (access.h, README): the same automation
    # under a new slug is its routes revoked and granted again
    ("an automation renamed",
     lambda files: files.update({"automations/bill-ticket-2.yaml": files.pop(
         BILL_AUTO).replace("slug: bill-ticket\n", "slug: bill-ticket-2\n")}),
     routes(SUP, ALL_BILL, "automation-revoked") +
     routes(SUP, ALL_BILL, "automation-granted")),
    ("an automation's trigger moved to a write nobody may do",
     sub(BILL_AUTO, "action: updated", "action: created"),
     routes(SUP, ALL_BILL, "automation-revoked")),
    ("a cascade removed: the set-off automation's writes go",
     sub(BILL_AUTO, "      cascade: true\n", ""),
     routes(SUP, [("audit", "create"), ("invoice", "list")],
            "automation-revoked")),
    # log-invoice's write now sets off sweep-audit: everyone reaching
    # log-invoice (the clerk, and support through bill-ticket) reaches its
    # delete (by id: any type)
    ("a cascade added on the audit write",
     sub("automations/log-invoice.yaml",
         "        what: \"invoice {{trigger.entityId}}\"\n",
         "        what: \"invoice {{trigger.entityId}}\"\n      cascade: true\n"),
     routes(SUP + ["role:clerk"], [("*", "delete")], "automation-granted")),
    # a created record of any type sets off every automation on created:
    # log-invoice as before, and sweep-audit now
    ("a type written as a template: any type",
     sub(BILL_AUTO, "      type: invoice\n", "      type: \"{{trigger.data.kind}}\"\n"),
     routes(SUP, [("*", "create"), ("*", "delete")], "automation-granted") +
     routes(SUP, [("invoice", "create")], "automation-revoked")),
    ("a role allowed the trigger's write",
     sub("roles/viewer.yaml", "actions: [read, list]",
         "actions: [read, list, update]"),
     [("role:viewer", "ticket", "update", "granted", W)] +
     routes(["role:viewer"], ALL_BILL, "automation-granted")),
    # helper holds clerk too, but support's deny on every invoice action
    # wins: helper may not create invoices, so sets off no log-invoice
    ("an agent gains a role whose trigger write a deny overrides",
     sub("agents/helper.yaml", "roles: [support]", "roles: [support, clerk]"),
     []),
    # a cascade written as a template may resolve to true when the
    # automation runs (a string that is one {{path}} becomes its value):
    # what it sets off is still reached
    ("a cascade written as a template",
     sub(BILL_AUTO, "      cascade: true\n",
         "      cascade: \"{{trigger.data.kind}}\"\n"),
     []),
    # entity.delete takes an id alone: a type beside it is not read, and
    # the record deleted may be of any type
    ("an automation added whose delete names a type beside its id",
     add("automations/purge.yaml", "name: Purge\nslug: purge\non:\n"
         "  entityType: ticket\n  action: updated\nactions:\n"
         "  - tool: entity.delete\n    args:\n"
         "      id: \"{{trigger.data.kind}}\"\n      type: audit\n"),
     routes(SUP, [("*", "delete")], "automation-granted")),
    ("an automation added that writes no record",
     add("automations/ping.yaml", "name: Ping\nslug: ping\non:\n"
         "  entityType: ticket\n  action: updated\nactions:\n"
         "  - tool: email.send\n    args:\n      to: a@example.com\n"
         "      subject: ping\n      text: ping\n"),
     []),
    ("an automation added that the clerk sets off",
     add("automations/void-ticket.yaml", "name: Void Ticket\nslug: void-ticket\n"
         "on:\n  entityType: invoice\n  action: created\nactions:\n"
         "  - tool: entity.update\n    args:\n      id: \"{{trigger.data.ticketId}}\"\n"
         "      type: ticket\n      data:\n        status: void\n"),
     # support reaches it too, through bill-ticket's cascading invoice
     # create, but bill-ticket updated tickets already: a route is an
     # automation and what it does, not which of its actions does it
     routes(["role:clerk"], [("ticket", "update")], "automation-granted")),
    # agent.chat: the agent asked may do what its tools do, on any type
    # (the model picks it), as the automation's system actor; helper's
    # update sets off bill-ticket, which is already on the route
    ("an automation asks an agent (agent.chat)",
     sub(BILL_AUTO, "  - tool: email.send\n", CHAT_HELPER + "  - tool: email.send\n"),
     routes(SUP, [("*", "list"), ("*", "update")], "automation-granted")),
    # a templated agent may be any agent: purger's delete too; purger is a
    # new subject, with viewer's reads
    ("an automation asks an agent named by a template",
     lambda files: (sub(BILL_AUTO, "  - tool: email.send\n", CHAT_HELPER.replace(
         "agent: helper", 'agent: "{{trigger.data.kind}}"') +
         "  - tool: email.send\n")(files), files.update(
         {"agents/purger.yaml": AGENT.format(name="Purger", slug="purger",
                                             roles="[viewer]") +
          "tools: [entity.delete]\n"})),
     routes(SUP, [("*", "list"), ("*", "update"), ("*", "delete")],
            "automation-granted") +
     [("agent:purger", "ticket", "read", "granted", W),
      ("agent:purger", "ticket", "list", "granted", W)]),
    ("an agent no automation asks gains a delete tool",
     sub("agents/helper.yaml", "tools: [entity.query, entity.update]",
         "tools: [entity.query, entity.update, entity.delete]"),
     []),
    # a custom tool's handler reaches records through struere alone
    ("an automation calls a custom tool whose handler queries and gets",
     sub(BILL_AUTO, "  - tool: email.send\n", call("lookup") + "  - tool: email.send\n"),
     routes(SUP, [("*", "list")], "automation-granted")),
    ("an automation calls a custom tool whose handler only fetches",
     sub(BILL_AUTO, "  - tool: email.send\n", call("notify") + "  - tool: email.send\n"),
     []),
    # struere handed to a variable: any method, so all five on any type;
    # its writes set off every automation on created, updated and deleted
    # (log-invoice, sweep-audit, bill-ticket itself)
    ("an automation calls a custom tool whose handler hands struere on",
     sub(BILL_AUTO, "  - tool: email.send\n", call("wild") + "  - tool: email.send\n"),
     routes(SUP, [("*", "create"), ("*", "update"), ("*", "delete"),
                  ("*", "list")], "automation-granted")),
    ("an automation asks an agent whose custom tool hands struere on",
     lambda files: (sub(BILL_AUTO, "  - tool: email.send\n", CHAT_HELPER +
                        "  - tool: email.send\n")(files),
                    sub("agents/helper.yaml",
                        "tools: [entity.query, entity.update]",
                        "tools: [wild]")(files)),
     routes(SUP, [("*", "create"), ("*", "update"), ("*", "delete"),
                  ("*", "list")], "automation-granted")),
]

base_table = table(base_bundle, BASE) if ok else {}
for i, (name, edit, expected) in enumerate(CATALOGUE):
    files = dict(BASE)
    edit(files)
    root = os.path.join(WORK, "edit%02d" % i)
    ok, err = build(files, root)
    check(f"{name}: builds", ok, err)
    if not ok:
        continue
    bundle = root + "/dist/production.stb"
    doc = check_diff(check, name, base_bundle, base_table, bundle, files,
                     expected)
    if doc is None:
        continue
    for c in doc.get("access", []):
        if c["change"].startswith("automation-"):
            side = c["to"] if c["change"] == "automation-granted" else c["from"]
            check(f"{name}: {c['subject']} {c['action']} {c['resource']} "
                  "names its automation and actions",
                  side and side.get("automation") and side.get("by") and
                  all(b.startswith(tuple(a + "#actions[" for a in (
                      "bill-ticket", "log-invoice", "sweep-audit",
                      "void-ticket", "purge", "bill-ticket-2")))
                      for b in side["by"]),
                  str(side))

# ---- what is reached through an agent or a tool, exactly --------------------
def built_access(name, files, root):
    """Builds project `files` in root ("NAME: builds" checked): `access
    --format json` on its production bundle, and what it says subjects set
    off (sets_off; {} when it failed)."""
    ok, err = build(files, root)
    check(f"{name}: builds", ok, err)
    r = subprocess.run([BIN, "access", root + "/dist/production.stb",
                        "--format", "json"], capture_output=True, text=True)
    return r, sets_off(json.loads(r.stdout)) if r.returncode == 0 else {}


# bill-ticket calls lookup (actions[3]) and asks helper (actions[4]). A
# route lists each (resource, action) once, by the first way met (README:
# the automations breadth first, each one's actions in order): read * is
# actions[0]'s before lookup's get; list * is lookup's query before the
# helper's entity.query; update * is the helper's alone. Each names the
# action, and the tool or agent it goes through.
files = dict(BASE)
sub(BILL_AUTO, "  - tool: email.send\n",
    call("lookup") + CHAT_HELPER + "  - tool: email.send\n")(files)
r, got = built_access("through an agent and a tool", files,
                      os.path.join(WORK, "through"))
via = sorted(BILL + [
    ("*", "list", "bill-ticket#actions[3] via tool lookup"),
    ("*", "update",
     "bill-ticket#actions[4] via agent helper, tool entity.update")])
for subject in SUP:
    check(f"through an agent and a tool: {subject}'s route, entry by entry",
          got.get(subject) == {"bill-ticket": (("ticket", "update"), via)},
          f"got {got.get(subject)}")

# The nearest way is the automation's own: bill-ticket creates an audit
# itself (actions[3], before email.send), after the invoice create (actions[1]) that sets off
# log-invoice, which creates one too (its actions[0]). One entry, by
# bill-ticket's own action, although log-invoice's is met first in the
# order of the actions.
files = dict(BASE)
sub(BILL_AUTO, "  - tool: email.send\n",
    "  - tool: entity.create\n    args:\n      type: audit\n"
    "      data:\n        what: direct\n  - tool: email.send\n")(files)
r, got = built_access("the nearest way", files, os.path.join(WORK, "nearest"))
near = sorted([e for e in BILL if e[:2] != ("audit", "create")] +
              [("audit", "create", "bill-ticket#actions[3]")])
check("the nearest way: support's route names bill-ticket's own create",
      got.get("role:support") == {"bill-ticket": (("ticket", "update"),
                                                  near)},
      f"got {got.get('role:support')}")

# Many automations asking one agent that may update any record: each one's
# agent sets off all the others (ticket updated), yet each lists its own
# two ways only, not the others' (before, each listed every automation's:
# a listing growing with the square of their number).
MANY = 40
files = dict(BASE)
del files[BILL_AUTO]
for k in range(MANY):
    files[f"automations/ask-{k:02}.yaml"] = (
        f"name: Ask {k}\nslug: ask-{k:02}\non:\n  entityType: ticket\n"
        "  action: updated\nactions:\n" + CHAT_HELPER)
r, got = built_access("many automations asking one agent", files,
                      os.path.join(WORK, "many"))
many = {f"ask-{k:02}": (("ticket", "update"), sorted([
    ("*", "list", f"ask-{k:02}#actions[0] via agent helper, tool entity.query"),
    ("*", "update",
     f"ask-{k:02}#actions[0] via agent helper, tool entity.update")]))
    for k in range(MANY)}
for subject in SUP:
    check(f"many automations asking one agent: {subject} sets off each, "
          "with its own ways only", got.get(subject) == many,
          f"got {str(got.get(subject))[:600]}")

# An agent that asks agents (router: agent.chat alone) reaches every agent's
# tools; each entry names the agents on a shortest way: router asks helper
# itself, so not "router, asker, helper" (asker, which sorts first, may
# ask agents too).
files = dict(BASE)
for slug in ("router", "asker"):
    files[f"agents/{slug}.yaml"] = (AGENT.format(name=slug.title(), slug=slug,
                                                 roles="[]") +
                                    "tools: [agent.chat]\n")
sub(BILL_AUTO, "  - tool: email.send\n",
    CHAT_HELPER.replace("agent: helper", "agent: router") +
    "  - tool: email.send\n")(files)
r, got = built_access("through an agent that asks agents", files,
                      os.path.join(WORK, "through-router"))
via = sorted(BILL + [
    ("*", "list",
     "bill-ticket#actions[3] via agent router, agent helper, tool entity.query"),
    ("*", "update",
     "bill-ticket#actions[3] via agent router, agent helper, tool entity.update")])
check("through an agent that asks agents: support's route names the way",
      got.get("role:support") == {"bill-ticket": (("ticket", "update"), via)},
      f"got {got.get('role:support')}")

# A NUL in an agent's prompt (a YAML "\0") is refused where the file is
# read (DIAGNOSTICS.md, nul-character): build fails there and writes no
# bundle, so access never reads a prompt cut at its NUL.
files = dict(BASE)
sub("agents/helper.yaml", "systemPrompt: |\n  You help the desk.\n",
    'systemPrompt: "You help\\0 the desk."\n')(files)
sub(BILL_AUTO, "  - tool: email.send\n", CHAT_HELPER + "  - tool: email.send\n")(files)
nul_root = os.path.join(WORK, "nul-prompt")
ok, err = build(files, nul_root)
check("a NUL in an agent's prompt: build refuses it",
      not ok and re.search(r"agents/helper\.yaml:\d+:\d+: error: the escape "
                           r"\\0 writes a NUL .*\[nul-character\]", err),
      err)
check("a NUL in an agent's prompt: no bundle written",
      not os.path.exists(os.path.join(nul_root, "dist", "production.stb")),
      str(os.listdir(nul_root)))

# ---- a change to what an automation asks or calls, under it -----------------
# The automation's body is the same on both sides: the agent's tools or
# the tool's handler changed.
UNDER = [
    ("the agent an automation asks gains a delete tool",
     CHAT_HELPER,
     sub("agents/helper.yaml", "tools: [entity.query, entity.update]",
         "tools: [entity.query, entity.update, entity.delete]"),
     routes(SUP, [("*", "delete")], "automation-granted")),
    # a create of any type sets off log-invoice and sweep-audit: sweep's
    # delete is new on the route
    ("the handler of a tool an automation calls creates records",
     call("lookup"),
     sub("tools/lookup.yaml", "  return { rows, one }\n",
         "  await struere.entity.create({ type: \"audit\", data: {} })\n"
         "  return { rows, one }\n"),
     routes(SUP, [("*", "create"), ("*", "delete")], "automation-granted")),
    # JavaScript reads str\u0075ere as struere
    ("the handler of a tool an automation calls names struere with an escape",
     call("lookup"),
     sub("tools/lookup.yaml", "  return { rows, one }\n",
         "  await str\\u0075ere.entity.delete({ id: args.id })\n"
         "  return { rows, one }\n"),
     routes(SUP, [("*", "delete")], "automation-granted")),
    ("the handler of a tool an automation calls stops getting",
     call("lookup"),
     sub("tools/lookup.yaml", "  const one = await struere\n    .entity?.get({ id: args.id })\n",
         "  const one = null\n"),
     []),
]
for i, (name, action, edit, expected) in enumerate(UNDER):
    before = dict(BASE)
    sub(BILL_AUTO, "  - tool: email.send\n", action + "  - tool: email.send\n")(before)
    broot = os.path.join(WORK, "under%02d-base" % i)
    ok, err = build(before, broot)
    check(f"{name}: the base builds", ok, err)
    after = dict(before)
    edit(after)
    aroot = os.path.join(WORK, "under%02d" % i)
    ok2, err2 = build(after, aroot)
    check(f"{name}: builds", ok2, err2)
    if ok and ok2:
        bb = broot + "/dist/production.stb"
        check_diff(check, name, bb, table(bb, before),
                   aroot + "/dist/production.stb", after, expected)

sys.exit(check.done("automations"))
