#!/usr/bin/env python3
"""The shell lines of a GitHub Actions workflow, job by job.

    workflow.py FILE

Prints JSON {"JOB": [{"step": NAME, "line": SHELL_LINE}, ...], ...}: every
line of every `run:` of every step (a `run: |` block, or `run: COMMAND`),
in file order, with continuation lines (ending in a backslash) joined. Reads
the block style the file is written in, with the standard library only.
"""

import json
import re
import sys


def indent(line):
    return len(line) - len(line.lstrip(" "))


def main(path):
    lines = open(path).read().split("\n")
    jobs = {}
    job = None
    step = None
    in_jobs = False
    i = 0
    while i < len(lines):
        line = lines[i]
        text = line.strip()
        i += 1
        if not text or text.startswith("#"):
            continue
        ind = indent(line)
        if ind == 0:
            in_jobs = text == "jobs:"
            job = None
            continue
        if not in_jobs:
            continue
        if ind == 2 and text.endswith(":"):
            job = text[:-1]
            jobs[job] = []
            continue
        m = re.match(r"^(- )?name: (.*)$", text)
        if m and job:
            step = m.group(2)
            continue
        m = re.match(r"^(- )?run: (.*)$", text)
        if not (m and job):
            continue
        body = m.group(2)
        run = []
        if body in ("|", "|-", ">"):
            block = None
            while i < len(lines):
                nxt = lines[i]
                if nxt.strip() and indent(nxt) <= ind:
                    break
                i += 1
                if not nxt.strip():
                    continue
                block = block if block is not None else indent(nxt)
                run.append(nxt[block:])
        else:
            run.append(body)
        joined = []
        for r in run:
            if joined and joined[-1].endswith("\\"):
                joined[-1] = joined[-1][:-1].rstrip() + " " + r.strip()
            else:
                joined.append(r)
        for r in joined:
            jobs[job].append({"step": step, "line": r})
    json.dump(jobs, sys.stdout, indent=1)
    print()


main(sys.argv[1])
