#!/usr/bin/env python3
"""bench/serve/deploy_latency.py STRUERE STORE PORT KEY N - time from a
`struere deploy` (and a `struere rollback`) to the first answer of a
running `struere serve` from the new commit. The store's production is at
commit A and development at B; the run alternates `deploy --yes` (to B)
and `rollback --yes` (to A), N moves in all. For each move, one client
on a kept-alive connection asks GET /v1/agents with a production key as
fast as answers come, from just before the command starts until an
answer's Struere-Commit header names the new commit. Prints each move
(`MOVE i kind cmd_ms visible_after_cmd_ms total_ms`) and a summary line
per kind and for all:
  DEPLOY_LATENCY kind=all n=N cmd_median_ms=.. median_ms=.. worst_ms=.. after_cmd_median_ms=.. after_cmd_worst_ms=.. failed=F
where median/worst are from the command's start and after_cmd from the
moment it exited (the ref moved). failed counts answers that were not
200 or named neither commit."""
import http.client
import statistics
import subprocess
import sys
import threading
import time

S, store, port, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])


def ref(env):
    return subprocess.run(["git", "-C", store, "rev-parse", "refs/heads/struere/" + env],
                          check=True, capture_output=True, text=True).stdout.strip()


conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def ask():
    global conn
    try:
        conn.request("GET", "/v1/agents", headers={"Authorization": "Bearer " + key})
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("Struere-Commit")
    except (OSError, http.client.HTTPException):
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        return 0, None


a, b = ref("production"), ref("development")
if a == b:
    sys.exit("deploy_latency: production and development must differ")
status, seen = ask()
if status != 200 or seen != a:
    sys.exit(f"deploy_latency: serve answers {status} from {seen}, want 200 from {a}")
failed = 0
rows = []
for i in range(n):
    kind, want, old = ("deploy", b, a) if i % 2 == 0 else ("rollback", a, b)
    done = {}

    def command():
        p = subprocess.run([S, kind, "--yes"], cwd=store, capture_output=True, text=True)
        done["t"] = time.monotonic()
        done["rc"] = p.returncode
        done["err"] = p.stderr

    t0 = time.monotonic()
    th = threading.Thread(target=command)
    th.start()
    while True:
        status, c = ask()
        t = time.monotonic()
        if status != 200 or c not in (a, b):
            failed += 1
        if c == want:
            break
        if "rc" in done and done["rc"] != 0:
            sys.exit(f"deploy_latency: {kind} failed: {done['err']}")
        if t - t0 > 60:
            sys.exit(f"deploy_latency: {kind} {i}: the new commit not seen in 60 s")
    th.join()
    if done["rc"] != 0:
        sys.exit(f"deploy_latency: {kind} failed: {done['err']}")
    if ref("production") != want:
        sys.exit(f"deploy_latency: production is not at {want} after {kind}")
    cmd = (done["t"] - t0) * 1000
    total = (t - t0) * 1000
    after = (t - done["t"]) * 1000  # negative: seen before the command exited
    rows.append((kind, cmd, total, after))
    print(f"MOVE {i} {kind} {cmd:.1f} {after:.1f} {total:.1f}", flush=True)


def summary(kind, rs):
    print(f"DEPLOY_LATENCY kind={kind} n={len(rs)} cmd_median_ms={statistics.median(r[1] for r in rs):.1f} "
          f"median_ms={statistics.median(r[2] for r in rs):.1f} worst_ms={max(r[2] for r in rs):.1f} "
          f"after_cmd_median_ms={statistics.median(r[3] for r in rs):.1f} "
          f"after_cmd_worst_ms={max(r[3] for r in rs):.1f} failed={failed}")


for k in ("deploy", "rollback"):
    summary(k, [r for r in rows if r[0] == k])
summary("all", rows)
