#!/usr/bin/env python3
"""Values in the Markdown and HTML reports stay values: `struere diff
--format md|html` and `struere access --format md|html` on two builds of a
small project whose values hold backticks (one, two, three in a row, at
the start and at the end), Markdown (`**`, an image, a link), HTML, a '|'
and a line end.

    md_report.py STRUERE_BINARY WORKDIR

The Markdown is rendered with libcmark (the library struere links), the
HTML reports read as they are; a table row is first split into cells as
GitHub's tables do (at each '|' not after a backslash, then `\\|` read as
'|'). Each list item and table cell must hold exactly the code spans
written by hand below, each code span's text exactly the value, and the
whole report no image, link, emphasis or raw HTML; the only bold text is
struere's own. Ends "md report: N passed, M failed".
"""

import ctypes
import ctypes.util
import html.parser
import os
import re
import subprocess
import sys

from against_can import Checks, write

BIN, WORK = sys.argv[1], sys.argv[2]
check = Checks()

BASE = {
    "struere.yaml": "name: md\nversion: 1.0.0\n",
    "data/ticket.yaml": """name: Ticket
slug: ticket
schema:
  type: object
  properties:
    title: {type: string}
    owner: {type: string}
""",
}
ROLE = """name: R
slug: r
policies:
  - resource: ticket
    actions: [list, read]
    effect: allow
scopeRules:
  - entityType: ticket
    field: data.owner
    operator: eq
    value: %s
fieldMasks:
  - entityType: ticket
    fieldPath: data.title
    maskType: redact
    maskConfig:
      replacement: %s
"""
A = dict(BASE)
A["roles/r.yaml"] = ROLE % ("literal:plain", '"***"')
A["tools/t.yaml"] = """name: t
description: plain
parameters:
  type: object
  properties:
    q: {type: string}
"""
B = dict(BASE)
B["roles/r.yaml"] = ROLE % ('"literal:x`|**x**"',
                            '"``two`` ![i](http://e.example/i.png)"')
B["tools/t.yaml"] = """name: t
description: "`start and end`"
parameters:
  type: object
  properties:
    "`k`": {type: string, description: "<b>x</b> [l](http://e.example)"}
    "a\\nb": {type: string}
"""

# The bundles' directories are the labels `diff` prints: one starts with
# a backtick, one holds two.
FROM, TO = "`a`", "b``"
for files, out in ((A, FROM), (B, TO)):
    write(files, os.path.join(WORK, "p" + out))
    r = subprocess.run([BIN, "-C", os.path.join(WORK, "p" + out), "build",
                        "--out", os.path.join(WORK, out)],
                       capture_output=True, text=True)
    check("build " + out, r.returncode == 0, r.stderr[-300:])


def struere(*args):
    r = subprocess.run([BIN] + list(args), cwd=WORK, capture_output=True,
                       text=True)
    check("struere " + " ".join(args) + " exits 0",
          r.returncode == 0, r.stderr[-300:])
    return r.stdout


def load_cmark():
    name = ctypes.util.find_library("cmark")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    lib.cmark_markdown_to_html.restype = ctypes.c_void_p
    lib.cmark_markdown_to_html.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                                           ctypes.c_int]
    return lib


CMARK = load_cmark()
libc = ctypes.CDLL(None)
libc.free.argtypes = [ctypes.c_void_p]


def render(md):
    """CommonMark to HTML, with libcmark's default (safe) options."""
    b = md.encode()
    p = CMARK.cmark_markdown_to_html(b, len(b), 0)
    text = ctypes.string_at(p).decode()
    libc.free(p)
    return text


class Node:
    def __init__(self, tag, parent=None):
        self.tag, self.parent, self.kids = tag, parent, []

    def text(self):
        return "".join(k if isinstance(k, str) else k.text()
                       for k in self.kids)

    def all(self, tag):
        for k in self.kids:
            if isinstance(k, Node):
                if k.tag == tag:
                    yield k
                yield from k.all(tag)


class Tree(html.parser.HTMLParser):
    """HTML as a tree of Node; comments kept as tag "!--"."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.at = Node("root")
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        n = Node(tag, self.at)
        self.at.kids.append(n)
        if tag not in ("br", "hr", "img"):
            self.at = n

    def handle_endtag(self, tag):
        n = self.at
        while n.parent and n.tag != tag:
            n = n.parent
        if n.parent:
            self.at = n.parent

    def handle_data(self, data):
        self.at.kids.append(data)

    def handle_comment(self, data):
        self.at.kids.append(Node("!--", self.at))


def codes(node):
    return [c.text() for c in node.all("code")]


def items(tree):
    """Each list item: (its text, its code spans' texts)."""
    return [(li.text().strip(), codes(li)) for li in tree.root.all("li")]


def clean(name, tree, bold):
    """No image, link, emphasis, strike or raw HTML; bold only `bold`."""
    tags = set()

    def walk(n):
        for k in n.kids:
            if isinstance(k, Node):
                tags.add(k.tag)
                walk(k)
    walk(tree.root)
    check(name + ": no image, link, emphasis, raw HTML",
          not tags & {"img", "a", "em", "del", "!--", "b"}, sorted(tags))
    got = sorted(set(s.text() for s in tree.root.all("strong")))
    check(name + ": bold only " + repr(bold), got == sorted(bold), got)


def cells(row):
    """A GitHub table row's cells: split at '|' not after '\\', then
    '\\|' read as '|'."""
    parts = re.split(r"(?<!\\)\|", row.strip())
    return [p.strip().replace("\\|", "|") for p in parts[1:-1]]


def cell_codes(cell):
    return codes(Tree(render(cell)).root)


if not CMARK:
    check("libcmark found (struere links it)", False)
    sys.exit(check.done("md report"))

# ---- diff ----------------------------------------------------------------
# What changed, written from the two projects above: the field paths and
# values as `diff` shows them (JSON, keys sorted; a line end in a key as
# \n), and the access changes in words.
SCOPE_A = 'data.owner = "plain"'
SCOPE_B = 'data.owner = "x`|**x**"'
MASK_B = '"``two`` ![i](http://e.example/i.png)"'
DIFF_ITEMS = [
    ("role r can read ticket on other rows (not provably fewer): rows where "
     + SCOPE_A + " → rows where " + SCOPE_B,
     ["read ticket", SCOPE_A, SCOPE_B]),
    ("role r can list ticket on other rows (not provably fewer): rows where "
     + SCOPE_A + " → rows where " + SCOPE_B,
     ["list ticket", SCOPE_A, SCOPE_B]),
    ("role r can read ticket with data.title redacted as " + MASK_B
     + ' (was redacted as "***")',
     ["read ticket", "data.title", MASK_B, '"***"']),
    ("role r can list ticket with data.title redacted as " + MASK_B
     + ' (was redacted as "***")',
     ["list ticket", "data.title", MASK_B, '"***"']),
]
FIELDS = [
    ("fieldMasks[0].maskConfig.replacement", '"***"', MASK_B),
    ("scopeRules[0].value", '"literal:plain"', '"literal:x`|**x**"'),
    ("description", '"plain"', '"`start and end`"'),
    ("parameters.properties.`k`", "(none)",
     '{"description":"<b>x</b> [l](http://e.example)","type":"string"}'),
    ("parameters.properties.a\\nb", "(none)", '{"type":"string"}'),
    ("parameters.properties.q", '{"type":"string"}', "(none)"),
]
FIELD_ITEMS = [("%s: %s → %s" % f, list(f)) for f in FIELDS]
LABEL_FROM, LABEL_TO = FROM + "/production.stb", TO + "/production.stb"

md = struere("diff", "--format", "md", LABEL_FROM, LABEL_TO)
tree = Tree(render(md))
h2 = list(tree.root.all("h2"))
check("diff md: the heading's labels are code",
      len(h2) == 1 and codes(h2[0]) == [LABEL_FROM, LABEL_TO]
      and h2[0].text() == "struere: %s → %s" % (LABEL_FROM, LABEL_TO),
      [(h.text(), codes(h)) for h in h2])
check("diff md: each access change and each field, values as code",
      items(tree) == DIFF_ITEMS + FIELD_ITEMS, items(tree))
heads = [(h.text(), codes(h)) for h in tree.root.all("h4")]
check("diff md: each definition's heading, its slug as code",
      heads == [("role r (changed)", ["r"]), ("tool t (changed)", ["t"])],
      heads)
clean("diff md", tree, ["This change widens access.", "r"])
rows = [line for line in md.splitlines() if line.startswith("| changed")]
check("diff md: the definitions table, slugs as code",
      [(len(cells(r)), cells(r)[:2], cell_codes(cells(r)[2])) for r in rows]
      == [(3, ["changed", "role"], ["r"]), (3, ["changed", "tool"], ["t"])],
      rows)

page = struere("diff", "--format", "html", LABEL_FROM, LABEL_TO)
tree = Tree(page)
check("diff html: each change listed, values as code",
      items(tree) == DIFF_ITEMS + [("changed role r", ["r"]),
                                   ("changed tool t", ["t"])] + FIELD_ITEMS,
      items(tree))
clean("diff html", tree, ["This change widens access.", "r"])

# ---- access --------------------------------------------------------------
PREDICATE = ('{"anyOf":[{"role":"r","allOf":[{"field":"data.owner",'
             '"operator":"eq","value":"x`|**x**"}]}]}')
md = struere("access", LABEL_TO, "--format", "md", "--role", "r")
rows = [line for line in md.splitlines() if line.startswith("| ticket")]
want = [["ticket", action, "r#policies[0]", [PREDICATE],
         ["data.title", MASK_B]] for action in ("read", "list")]
got = [cells(r)[:3] + [cell_codes(c) for c in cells(r)[3:]] for r in rows]
check("access md: five cells a row; rows and masks as code", got == want
      and all(len(cells(r)) == 5 for r in rows), got)
check("access md: the mask cell's words",
      all(Tree(render(cells(r)[4])).root.text().strip()
          == "data.title redact " + MASK_B for r in rows), rows)
clean("access md", Tree(render(md)), [])

tree = Tree(struere("access", LABEL_TO, "--format", "html", "--role", "r"))
want = [("%s ticket by r#policies[0]; rows: %s; masks: data.title redact %s"
         % (action, PREDICATE, MASK_B), [PREDICATE, "data.title", MASK_B])
        for action in ("read", "list")]
check("access html: rows and masks as code", items(tree) == want,
      items(tree))
clean("access html", tree, [])

sys.exit(check.done("md report"))
