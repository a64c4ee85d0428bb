#!/usr/bin/env python3
"""The catalogue of access changes: hand-made edits of a small project,
each with the access changes `struere diff` must report, written by hand
from the project below and DESIGN.md section 10 (never from the program's
output).

    catalogue.py STRUERE_BINARY WORKDIR

For each edit: both projects are built (`struere build`), `struere diff
--format json` of their production bundles must list exactly the expected
(subject, resource, action, change, widens) tuples, "widens" must be their
OR, `diff --check no-new-access` must exit 1 exactly when one widens, and
`struere can` on both bundles must not contradict the list: a decision that
flips is listed as granted/revoked, a pair whose decision, rows and masks
mean the same (predicates compared as sets of sets of conditions, masks
without those under a masked parent) is not listed, and one where they
differ is. Ends "catalogue: N passed, M failed".
"""

import json
import os
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
  temperature: {temp}
roles: {roles}
systemPrompt: |
  You help the support desk.
"""

# The base project. Effective access, worked out by hand:
#   support (helper):  ticket read/list/update where data.ownerId = the
#       user, data.customer.phone redacted "***"; invoice read/list, every
#       row, data.card hidden.
#   billing (cashier): invoice create/read/update/list where data.status !=
#       "void" (delete: denied); ticket read/list, every row, data.notes
#       hidden.
#   auditor: read/list on archive, ticket, invoice and users, every row
#       of ticket and users; archive (a type no other role names) where
#       _id is among the actor's related ids of type manages, invoice
#       where data.customerId is the organization id (none is set).
#   restricted: nothing allowed; denies update and delete on ticket, to
#       a user who holds it with support, say.
BASE = {
    "struere.yaml": "name: catalogue\nversion: 1.0.0\n",
    "data/ticket.yaml": """name: Ticket
slug: ticket
schema:
  type: object
  properties:
    title: {type: string}
    status: {type: string, enum: [open, closed]}
    ownerId: {type: string}
    notes: {type: string}
    customer:
      type: object
      properties:
        email: {type: string}
        phone: {type: string}
  required: [title]
""",
    "data/invoice.yaml": """name: Invoice
slug: invoice
schema:
  type: object
  properties:
    amount: {type: number}
    status: {type: string, enum: [draft, paid, void]}
    customerId: {type: string}
    card:
      type: object
      properties:
        last4: {type: string}
  required: [amount]
""",
    "data/archive.yaml": """name: Archive
slug: archive
schema:
  type: object
  properties:
    title: {type: string}
""",
    "roles/support.yaml": """name: Support
slug: support
policies:
  - resource: ticket
    actions: [read, list]
    effect: allow
  - resource: ticket
    actions: [update]
    effect: allow
  - resource: invoice
    actions: [read, list]
    effect: allow
scopeRules:
  - entityType: ticket
    field: data.ownerId
    operator: eq
    value: actor.userId
fieldMasks:
  - entityType: invoice
    fieldPath: data.card
    maskType: hide
  - entityType: ticket
    fieldPath: data.customer.phone
    maskType: redact
    maskConfig:
      replacement: "***"
""",
    "roles/billing.yaml": """name: Billing
slug: billing
policies:
  - resource: invoice
    actions: ["*"]
    effect: allow
  - resource: invoice
    actions: [delete]
    effect: deny
  - resource: ticket
    actions: [read, list]
    effect: allow
scopeRules:
  - entityType: invoice
    field: data.status
    operator: neq
    value: literal:void
fieldMasks:
  - entityType: ticket
    fieldPath: data.notes
    maskType: hide
""",
    "roles/auditor.yaml": """name: Auditor
slug: auditor
policies:
  - resource: "*"
    actions: [read, list]
    effect: allow
scopeRules:
  - entityType: archive
    field: _id
    operator: in
    value: actor.relatedIds:manages
  - entityType: invoice
    field: data.customerId
    operator: eq
    value: actor.organizationId
""",
    "roles/restricted.yaml": """name: Restricted
slug: restricted
policies:
  - resource: ticket
    actions: [update, delete]
    effect: deny
""",
    "agents/helper.yaml": AGENT.format(name="Helper", slug="helper", temp="0.3",
                                       roles="[support]"),
    "agents/cashier.yaml": AGENT.format(name="Cashier", slug="cashier",
                                        temp="0.3", roles="[billing]"),
}


def sub(path, old, new):
    """An edit replacing `old` by `new` once in file `path`."""
    def edit(files):
        assert old in files[path], (path, old)
        files[path] = files[path].replace(old, new, 1)
    return edit


def add(path, text):
    def edit(files):
        files[path] = text
    return edit


def remove(path):
    def edit(files):
        del files[path]
    return edit


def both(*edits):
    def edit(files):
        for e in edits:
            e(files)
    return edit


SUPPORT, BILLING, AUDITOR, RESTRICTED = (
    "roles/support.yaml", "roles/billing.yaml", "roles/auditor.yaml",
    "roles/restricted.yaml")
W, N = True, False  # widens, or not


def pairs(subjects, resource, actions, change, widens):
    return [(s, resource, a, change, widens) for s in subjects
            for a in actions]


SUP = ["agent:helper", "role:support"]
BIL = ["agent:cashier", "role:billing"]
RL = ["read", "list"]
RLU = ["read", "list", "update"]
CRUL = ["create", "read", "update", "list"]

# (name, edit, expected changes)
CATALOGUE = [
    ("allow added under a deny",
     sub(BILLING, "  - resource: ticket\n",
         "  - resource: invoice\n    actions: [delete]\n    effect: allow\n"
         "  - resource: ticket\n"), []),
    ("a duplicate policy",
     sub(SUPPORT, "  - resource: invoice\n",
         "  - resource: ticket\n    actions: [update]\n    effect: allow\n"
         "  - resource: invoice\n"), []),
    ("policies reordered",
     sub(SUPPORT, "    actions: [read, list]\n    effect: allow\n"
         "  - resource: ticket\n    actions: [update]\n",
         "    actions: [update]\n    effect: allow\n"
         "  - resource: ticket\n    actions: [read, list]\n"), []),
    ("an action list reordered",
     sub(SUPPORT, "actions: [read, list]", "actions: [list, read]"), []),
    ("a role's description", sub(AUDITOR, "slug: auditor\n",
                                 "slug: auditor\ndescription: Reads.\n"), []),
    ("an agent's model", sub("agents/helper.yaml", "temperature: 0.3",
                             "temperature: 0.9"), []),
    # nothing billing allows is removed (invoice delete was denied), but a
    # user holding billing with a role that allows delete loses it
    ("a deny policy that removes nothing billing allows (deny delete on *)",
     sub(BILLING, "  - resource: ticket\n",
         "  - resource: \"*\"\n    actions: [delete]\n    effect: deny\n"
         "  - resource: ticket\n"),
     [("role:billing", r, "delete", "deny-added", N)
      for r in ("archive", "ticket", "users")]),
    ("a scope rule written twice",
     sub(SUPPORT, "fieldMasks:\n",
         "  - entityType: ticket\n    field: data.ownerId\n    operator: eq\n"
         "    value: actor.userId\nfieldMasks:\n"), []),
    ("two edits that cancel (update moved into the first policy)",
     both(sub(SUPPORT, "actions: [read, list]", "actions: [read, list, update]"),
          sub(SUPPORT, "  - resource: ticket\n    actions: [update]\n"
              "    effect: allow\n", "")), []),
    ("a deny removed",
     sub(BILLING, "  - resource: invoice\n    actions: [delete]\n"
         "    effect: deny\n", ""),
     pairs(BIL, "invoice", ["delete"], "granted", W)),
    ("a deny added",
     sub(SUPPORT, "scopeRules:\n",
         "  - resource: ticket\n    actions: [update]\n    effect: deny\n"
         "scopeRules:\n"),
     pairs(SUP, "ticket", ["update"], "revoked", N)),
    ("an action added",
     sub(SUPPORT, "actions: [update]", "actions: [update, create]"),
     pairs(SUP, "ticket", ["create"], "granted", W)),
    # Support's grant of ticket list carried its phone mask: a user who
    # holds support with billing or auditor (both grant ticket list, on
    # every row) had the phone redacted, and no longer has (a granting
    # role's masks apply; its rules are ORed with the others', one
    # without rules admitting every row).
    ("an action removed",
     sub(SUPPORT, "actions: [read, list]", "actions: [read]"),
     pairs(SUP, "ticket", ["list"], "revoked", N) +
     [("roles:billing+support", "ticket", "list", "mask-removed", W),
      ("roles:auditor+support", "ticket", "list", "mask-removed", W)]),
    # The same for invoice read: support granted it on every row with
    # data.card hidden; billing (status != void) and auditor (customerId
    # is the organization id) grant it with rules of their own and no
    # mask: for a user with both, the rows narrow (not listed) and the
    # card shows (listed).
    ("a masked grant revoked while other roles grant the same",
     sub(SUPPORT, "  - resource: invoice\n    actions: [read, list]\n",
         "  - resource: invoice\n    actions: [list]\n"),
     pairs(SUP, "invoice", ["read"], "revoked", N) +
     [("roles:billing+support", "invoice", "read", "mask-removed", W),
      ("roles:auditor+support", "invoice", "read", "mask-removed", W)]),
    ("a wildcard action for a role no agent holds",
     sub(AUDITOR, "actions: [read, list]", "actions: [\"*\"]"),
     [("role:auditor", r, a, "granted", W)
      for r in ("archive", "invoice", "ticket", "users")
      for a in ("create", "update", "delete")]),
    ("a scope rule removed",
     sub(SUPPORT, "scopeRules:\n  - entityType: ticket\n"
         "    field: data.ownerId\n    operator: eq\n    value: actor.userId\n",
         ""),
     pairs(SUP, "ticket", RLU, "scope-widened", W)),
    ("a scope rule added (an AND with more conditions)",
     sub(BILLING, "fieldMasks:\n",
         "  - entityType: invoice\n    field: data.customerId\n"
         "    operator: eq\n    value: actor.userId\nfieldMasks:\n"),
     pairs(BIL, "invoice", CRUL, "scope-narrowed", N)),
    ("a scope rule's field and value replaced",
     sub(SUPPORT, "    field: data.ownerId\n    operator: eq\n"
         "    value: actor.userId\n",
         "    field: data.status\n    operator: eq\n    value: literal:open\n"),
     pairs(SUP, "ticket", RLU, "scope-changed", W)),
    ("a scope rule's operator flipped",
     sub(BILLING, "operator: neq", "operator: eq"),
     pairs(BIL, "invoice", CRUL, "scope-changed", W)),
    ("a scope rule for a role with its own rules added to another type",
     sub(AUDITOR, "scopeRules:\n",
         "scopeRules:\n  - entityType: ticket\n"
         "    field: data.status\n    operator: eq\n"
         "    value: literal:open\n"),
     pairs(["role:auditor"], "ticket", RL, "scope-narrowed", N)),
    ("a mask removed",
     sub(SUPPORT, "  - entityType: invoice\n    fieldPath: data.card\n"
         "    maskType: hide\n", ""),
     pairs(SUP, "invoice", RL, "mask-removed", W)),
    ("a mask added",
     sub(BILLING, "fieldMasks:\n",
         "fieldMasks:\n  - entityType: invoice\n    fieldPath: data.card\n"
         "    maskType: hide\n"),
     pairs(BIL, "invoice", CRUL, "mask-added", N)),
    ("a mask relaxed from hide to redact",
     sub(SUPPORT, "    fieldPath: data.card\n    maskType: hide\n",
         "    fieldPath: data.card\n    maskType: redact\n"
         "    maskConfig:\n      replacement: \"****\"\n"),
     pairs(SUP, "invoice", RL, "mask-changed", W)),
    ("a mask tightened from redact to hide",
     sub(SUPPORT, "    fieldPath: data.customer.phone\n    maskType: redact\n"
         "    maskConfig:\n      replacement: \"***\"\n",
         "    fieldPath: data.customer.phone\n    maskType: hide\n"),
     pairs(SUP, "ticket", RLU, "mask-changed", N)),
    ("a redaction's replacement changed",
     sub(SUPPORT, "replacement: \"***\"", "replacement: \"[redacted]\""),
     pairs(SUP, "ticket", RLU, "mask-changed", N)),
    ("a mask on a parent added: the child's own mask decides nothing more",
     sub(SUPPORT, "fieldMasks:\n",
         "fieldMasks:\n  - entityType: ticket\n    fieldPath: data.customer\n"
         "    maskType: hide\n"),
     pairs(SUP, "ticket", RLU, "mask-added", N)),
    # helper with support and billing: tickets read/list are also granted by
    # billing on every row (so the OR is every row) with billing's
    # data.notes mask added; invoices create/update come from billing
    # alone; read/list already every row with data.card hidden by support.
    ("an agent gains a role",
     sub("agents/helper.yaml", "roles: [support]", "roles: [support, billing]"),
     pairs(["agent:helper"], "ticket", RL, "scope-widened", W) +
     pairs(["agent:helper"], "ticket", RL, "mask-added", N) +
     pairs(["agent:helper"], "invoice", ["create", "update"], "granted", W)),
    # cashier with auditor instead of billing: invoices every row, read and
    # list only; tickets without the notes mask; users readable.
    ("an agent's role replaced",
     sub("agents/cashier.yaml", "roles: [billing]", "roles: [auditor]"),
     pairs(["agent:cashier"], "invoice", ["create", "update"], "revoked", N) +
     # status != void, then customerId = the organization id: neither
     # holds the other
     pairs(["agent:cashier"], "invoice", RL, "scope-changed", W) +
     pairs(["agent:cashier"], "ticket", RL, "mask-removed", W) +
     pairs(["agent:cashier"], "users", RL, "granted", W) +
     pairs(["agent:cashier"], "archive", RL, "granted", W)),
    ("an agent gains a role listed first (the order of roles does not matter)",
     both(sub("agents/helper.yaml", "roles: [support]",
              "roles: [billing, support]")),
     pairs(["agent:helper"], "ticket", RL, "scope-widened", W) +
     pairs(["agent:helper"], "ticket", RL, "mask-added", N) +
     pairs(["agent:helper"], "invoice", ["create", "update"], "granted", W)),
    ("an agent added",
     add("agents/auditbot.yaml", AGENT.format(name="Audit bot", slug="auditbot",
                                              temp="0", roles="[auditor]")),
     pairs(["agent:auditbot"], "invoice", RL, "granted", W) +
     pairs(["agent:auditbot"], "ticket", RL, "granted", W) +
     pairs(["agent:auditbot"], "users", RL, "granted", W) +
     pairs(["agent:auditbot"], "archive", RL, "granted", W)),
    ("an agent removed", remove("agents/cashier.yaml"),
     pairs(["agent:cashier"], "invoice", CRUL, "revoked", N) +
     pairs(["agent:cashier"], "ticket", RL, "revoked", N)),
    ("a role added that no agent holds",
     add("roles/viewer.yaml", "name: Viewer\nslug: viewer\npolicies:\n"
         "  - resource: ticket\n    actions: [read, list]\n"
         "    effect: allow\n"),
     pairs(["role:viewer"], "ticket", RL, "granted", W)),
    # Billing gone (its agent moved to auditor): a user who held billing
    # with support or auditor read tickets with data.notes hidden, and now
    # sees them; invoices narrow for billing with auditor, and are as
    # they were for billing with support (support's own grant, every row,
    # card hidden).
    ("a role with masks removed",
     both(remove(BILLING),
          sub("agents/cashier.yaml", "roles: [billing]", "roles: [auditor]")),
     pairs(["agent:cashier"], "invoice", ["create", "update"], "revoked", N) +
     pairs(["agent:cashier"], "invoice", RL, "scope-changed", W) +
     pairs(["agent:cashier"], "ticket", RL, "mask-removed", W) +
     pairs(["agent:cashier"], "users", RL, "granted", W) +
     pairs(["agent:cashier"], "archive", RL, "granted", W) +
     pairs(["role:billing"], "invoice", CRUL, "revoked", N) +
     pairs(["role:billing"], "ticket", RL, "revoked", N) +
     [("role:billing", "invoice", "delete", "deny-removed", W)] +
     pairs(["roles:billing+support", "roles:auditor+billing"], "ticket", RL,
           "mask-removed", W)),
    ("a role removed", remove(AUDITOR),
     [("role:auditor", r, a, "revoked", N)
      for r in ("archive", "invoice", "ticket", "users") for a in RL]),
    ("a data type removed: the auditor's * loses it",
     both(remove("data/archive.yaml"),
          sub(AUDITOR, "  - entityType: archive\n    field: _id\n"
              "    operator: in\n    value: actor.relatedIds:manages\n", "")),
     pairs(["role:auditor"], "archive", RL, "revoked", N)),
    ("a data type added: the auditor's * reaches it",
     add("data/note.yaml", "name: Note\nslug: note\nschema:\n  type: object\n"
         "  properties:\n    text: {type: string}\n"),
     pairs(["role:auditor"], "note", RL, "granted", W)),
    ("a deny-only role's deny narrowed: update no longer denied",
     sub(RESTRICTED, "actions: [update, delete]", "actions: [delete]"),
     [("role:restricted", "ticket", "update", "deny-removed", W)]),
    ("a deny-only role's deny widened to create",
     sub(RESTRICTED, "actions: [update, delete]",
         "actions: [update, delete, create]"),
     [("role:restricted", "ticket", "create", "deny-added", N)]),
    ("a deny-only role removed", remove(RESTRICTED),
     pairs(["role:restricted"], "ticket", ["update", "delete"],
           "deny-removed", W)),
    # A made-up actor with no relations resolves both to [] (so can, on
    # it, cannot tell them apart): the rules compare with other records.
    ("a scope rule's relation type changed",
     sub(AUDITOR, "actor.relatedIds:manages", "actor.relatedIds:knows"),
     pairs(["role:auditor"], "archive", RL, "scope-changed", W),
     {("role:auditor", "archive", a) for a in RL}),
    # The role subject's user id is the text "actor.userId": the literal
    # resolves alike, but admits other rows (checked with a record below).
    ("actor.userId replaced by the literal text actor.userId",
     sub(SUPPORT, "    value: actor.userId\n",
         "    value: \"literal:actor.userId\"\n"),
     pairs(SUP, "ticket", RLU, "scope-changed", W),
     {("role:support", "ticket", a) for a in RLU}),
    ("the organization id set: rules on actor.organizationId",
     sub("struere.yaml", "version: 1.0.0\n",
         "version: 1.0.0\norganization:\n  id: org_b\n  name: B\n"),
     pairs(["role:auditor"], "invoice", RL, "scope-changed", W)),
    # with no organization id, actor.organizationId is the project name
    ("the project renamed, no organization id: rules on it",
     sub("struere.yaml", "name: catalogue\n", "name: other-tenant\n"),
     pairs(["role:auditor"], "invoice", RL, "scope-changed", W)),
    # A data type bound to auditor: actor.entityId (and the relatedIds
    # that start from it) now stands for the user's staff record, and the
    # archive rule (_id in actor.relatedIds:manages) selects other rows
    # though it reads the same (can's made-up actor has no record either
    # way: blind).
    ("a data type bound to a role whose rules read actor.relatedIds",
     add("data/staff.yaml", "name: Staff\nslug: staff\nboundToRole: auditor\n"
         "schema:\n  type: object\n  properties:\n"
         "    userId: {type: string}\n"),
     pairs(["role:auditor"], "staff", RL, "granted", W) +
     pairs(["role:auditor"], "archive", RL, "binding-changed", W),
     {("role:auditor", "archive", a) for a in RL}),
    ("users made readable",
     sub(SUPPORT, "scopeRules:\n",
         "  - resource: users\n    actions: [read]\n    effect: allow\n"
         "scopeRules:\n"),
     pairs(SUP, "users", ["read"], "granted", W)),
]

base_dir = os.path.join(WORK, "base")
ok, err = build(BASE, base_dir)
check("the base project builds", ok, err)
base_bundle = base_dir + "/dist/production.stb"
base_table = table(base_bundle, BASE) if ok else {}
check("at least 30 edits in the catalogue", len(CATALOGUE) >= 30,
      str(len(CATALOGUE)))

for i, (name, edit, expected, *rest) in enumerate(CATALOGUE):
    blind = rest[0] if rest else set()  # pairs can's made-up actor
    # cannot tell apart: listed as changed, identical to can
    files = dict(BASE)
    edit(files)
    root = os.path.join(WORK, "edit%02d" % i)
    ok, err = build(files, root)
    check(f"{name}: builds", ok, err)
    if not ok:
        continue
    bundle = root + "/dist/production.stb"
    check_diff(check, name, base_bundle, base_table, bundle, files, expected,
               blind)
    if name.startswith("actor.userId replaced"):
        # a ticket of user u7: u7 holding support reads it before, not after
        with open(os.path.join(WORK, "t7.json"), "w") as f:
            json.dump({"_id": "t7", "type": "ticket",
                       "data": {"title": "x", "ownerId": "u7"}}, f)
        for b, want in ((base_bundle, 0), (bundle, 1)):
            r = subprocess.run([BIN, "can", "read", "ticket", "--as",
                                "user:u7", "--role", "support", "--record",
                                os.path.join(WORK, "t7.json"), "--bundle", b],
                               capture_output=True, text=True)
            check(f"{name}: u7 reads its ticket {'before' if want == 0 else 'not after'}",
                  r.returncode == want, r.stdout + r.stderr)

sys.exit(check.done("catalogue"))
