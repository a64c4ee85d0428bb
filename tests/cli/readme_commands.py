#!/usr/bin/env python3
"""tests/cli/readme_commands.py STRUERE README.md

The README's commands table against the program itself: every command
`struere --help` lists has a row, and every option a command's --help
defines (its usage line, or a line of its option list) is named in that
row or in the paragraphs under the table (the runtime commands' shared
options, the global ones). Prints what is missing, one per line; exits 1
when anything is.
"""
import re
import subprocess
import sys

BIN, README = sys.argv[1], sys.argv[2]
text = open(README, encoding="utf-8").read()
lines = text.splitlines()


def helptext(*args):
    return subprocess.run([BIN, *args, "--help"], capture_output=True, text=True).stdout


commands, section = [], None
for line in helptext().splitlines():
    if line.endswith(":") and not line.startswith(" "):
        section = line
    elif section and not section.startswith("options"):
        m = re.match(r"^  ([a-z][a-z-]*)", line)
        if m:
            commands.append(m.group(1))
rows = [i for i, l in enumerate(lines) if l.startswith("| `struere ")]
# the paragraphs under the table, to the next heading
after = []
for l in lines[rows[-1] + 1 if rows else 0:]:
    if l.startswith("#"):
        break
    after.append(l)
shared = "\n".join(after)
missing = []
for c in commands:
    mine = [lines[i] for i in rows if re.match(r"\| `struere %s\b" % re.escape(c), lines[i])]
    if not mine:
        missing.append("%s: no row in the README's commands table" % c)
        continue
    h = helptext(c).splitlines()
    defined = set()
    for l in h:
        if l.startswith("usage:"):
            defined |= set(re.findall(r"\[(--[a-z][a-z-]+)", l))
        m = re.match(r"^\s+(?:-\w, )?(--[a-z][a-z-]+)", l)
        if m:
            defined.add(m.group(1))
    row = " ".join(mine)
    for o in sorted(defined):
        if not re.search(r"`[^`]*%s\b" % re.escape(o), row) and o not in shared:
            missing.append("%s: %s (its --help) is not in its README row" % (c, o))
print("\n".join(missing))
sys.exit(1 if missing else 0)
