#!/usr/bin/env python3
"""Convert a struere project's definitions to JSON for the ajv-cli baseline.

    bench/to-json.py PROJECTDIR OUTDIR

Writes one JSON file per definition in a mirrored tree (struere.yaml ->
OUTDIR/struere.json, agents/x.md -> OUTDIR/agents/x.json,
evals/x.eval.yaml -> OUTDIR/evals/x.eval.json, ...). An agent's Markdown body
becomes its `systemPrompt`, as struere does. The conversion is not timed by
bench/compile.sh; only ajv's validation of the result is. Needs PyYAML.
"""

import json
import os
import re
import sys
from multiprocessing import Pool

try:
    import yaml
except ImportError:
    sys.exit("to-json.py: needs PyYAML (pip install pyyaml)")


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML 1.2 booleans (true/false only): the key `on:` stays a string,
    as it does for struere."""


Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _ch in "tTfF":
    Loader.yaml_implicit_resolvers.setdefault(_ch, []).insert(0, (
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))

FRONT = re.compile(r"\A---\r?\n(.*?\r?\n)---\r?\n?", re.S)


def convert(job):
    src, dst = job
    with open(src, encoding="utf-8") as f:
        text = f.read()
    if src.endswith(".md"):
        m = FRONT.match(text)
        if not m:
            raise SystemExit(f"to-json.py: {src}: no front matter")
        doc = yaml.load(m.group(1), Loader=Loader) or {}
        doc["systemPrompt"] = text[m.end():]
    else:
        doc = yaml.load(text, Loader=Loader)
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
    return 1


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: to-json.py PROJECTDIR OUTDIR\n")
        return 2
    root, out = argv[1], argv[2]
    jobs = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            base, ext = os.path.splitext(name)
            if ext not in (".yaml", ".yml", ".md"):
                continue
            os.makedirs(os.path.join(out, rel), exist_ok=True)
            jobs.append((os.path.join(dirpath, name),
                         os.path.normpath(os.path.join(out, rel, base + ".json"))))
    with Pool() as pool:
        n = sum(pool.imap_unordered(convert, jobs, chunksize=256))
    sys.stderr.write(f"to-json.py: wrote {n} JSON files to {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
