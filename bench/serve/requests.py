#!/usr/bin/env python3
"""bench/serve/requests.py DECISIONS.JSONL OUT - the Cedar differential's
requests (tests/runtime/cedar/decisions.jsonl) as POST /v1/authorize
bodies, one a line, in a seeded shuffle so consecutive requests mix actor
kinds, actions and types: {"actor", "action", "resource", "recordId"}
(an agent actor as {"type": "agent", "slug"}; records are the eval
fixtures', so the bench asks with an eval key). Also OUT.expected: the
decision Cedar gave for each line, in the same order."""
import json
import random
import sys

src, out = sys.argv[1], sys.argv[2]
rows = [json.loads(line) for line in open(src, encoding="utf-8") if line.strip()]
random.Random(1).shuffle(rows)
with open(out, "w", encoding="utf-8") as f, \
        open(out + ".expected", "w", encoding="utf-8") as g:
    for r in rows:
        actor = dict(r["actor"])
        if actor["type"] == "agent":
            actor = {"type": "agent", "slug": actor["id"]}
        body = {"actor": actor, "action": r["action"],
                "resource": r["resource"], "recordId": r["record"]}
        f.write(json.dumps(body, separators=(",", ":")) + "\n")
        g.write(r["decision"] + "\n")
