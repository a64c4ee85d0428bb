#!/usr/bin/env python3
"""tests/alloc/serve_alloc.py BUILD_DIR WORKDIR

`struere serve` with its allocations failing, one at a time, while it
answers: BUILD_DIR/struere-failalloc serve (every allocation of struere's
own code counted, failalloc.c) is armed by SIGUSR2 between requests
(STRUERE_FAILALLOC_ARM) to fail the Nth allocation from then on, for
every N a request makes, on every route with each key kind, the
dashboard's and the operational routes among them; then while a moved
branch is reloaded.

A request with an allocation failing must be answered: either exactly as
without the failure (it was absorbed) or 500 with the JSON error
{"code": "internal", "message": "out of memory"}; never a crash, a hang, a
dropped connection, a sanitizer's report (make check: ASan, UBSan and
LeakSanitizer at exit) or another answer. The same request then, with
nothing failing, gets the answer it had before: nothing half-made was
kept. A reload whose allocation fails leaves the last bundle serving; the
next reload loads the new one. SIGTERM then stops serve with exit 0.
The answer "without the failure" is serve's own, taken just before: what
this suite judges is that a failure changes nothing else (the serve suite
judges the answers against the CLI). Ends "serve-alloc: N passed, M
failed".
"""
import http.client
import json
import os
import re
import shutil
import shlex
import signal
import subprocess
import sys
import time

B = os.path.abspath(sys.argv[1])
T = os.path.abspath(sys.argv[2])
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STORE = os.path.join(T, "store")
ARM = os.path.join(T, "arm")
# Under the sanitizers every other N is tried (the stride).
STRIDE = int(os.environ.get("SERVE_ALLOC_STRIDE", "2" if "asan" in B else "1"))
PASSED = 0
FAILED = 0


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
    else:
        FAILED += 1
        print("FAIL %s%s" % (name, " (%s)" % str(detail)[:600] if detail != "" else ""))
    return cond


def run(*args, key=None):
    env = dict(os.environ)
    env.pop("STRUERE_API_KEY", None)
    if key:
        env["STRUERE_API_KEY"] = key
    p = subprocess.run(args, cwd=STORE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode().strip(), p.stderr.decode()


def git(*args):
    rc, out, err = run("git", *args)
    if rc:
        raise RuntimeError("git %s: %s" % (" ".join(args), err))
    return out


# ---- the store: the example, dev, deploy, a key per environment, and a
# second development commit to reload.
shutil.copytree(os.path.join(ROOT, "fixtures", "example"), STORE)
git("init", "-q")
ST = os.path.join(B, "struere")
ok = run(ST, "dev")[0] == 0 and run(ST, "deploy", "--yes")[0] == 0
KEYS = {}
for env in ("development", "production", "eval"):
    KEYS[env] = run(ST, "keys", "create", "--env", env, "--name", "alloc")[1]
COMMIT_A = git("rev-parse", "refs/heads/struere/development")
fd = os.path.join(STORE, "agents", "front-desk.md")
text = open(fd).read()
open(fd, "w").write(text.replace("name: Front Desk", "name: Front Desk Two", 1))
ok = ok and run(ST, "dev")[0] == 0
COMMIT_B = git("rev-parse", "refs/heads/struere/development")
open(fd, "w").write(text.replace("name: Front Desk", "name: Front Desk Three", 1))
ok = ok and run(ST, "dev")[0] == 0
COMMIT_C = git("rev-parse", "refs/heads/struere/development")
git("update-ref", "refs/heads/struere/development", COMMIT_A)
if not check("setup: dev, deploy, keys and a second commit",
             ok and all(k.startswith("sk_") for k in KEYS.values()) and len({COMMIT_A, COMMIT_B, COMMIT_C}) == 3):
    print("serve-alloc: %d passed, %d failed" % (PASSED, FAILED))
    sys.exit(1)

LOG = os.path.join(T, "serve.err")
errf = open(LOG, "wb")
env = dict(os.environ, STRUERE_FAILALLOC_ARM=ARM)
env.pop("STRUERE_FAILALLOC", None)
# One worker thread: the allocations of a request come in one order.
# SERVE_ALLOC_WRAP: a command serve runs under, to debug it (gdb --args)
WRAP = shlex.split(os.environ.get("SERVE_ALLOC_WRAP", ""))
S = subprocess.Popen(WRAP + [os.path.join(B, "struere-failalloc"), "serve", "--store", STORE,
                      "--listen", "127.0.0.1:0", "--threads", "1", "--dashboard",
                      "--decision-log", os.path.join(T, "decisions.log")],
                     stdout=errf if WRAP else subprocess.DEVNULL, stderr=errf, env=env)
PORT = TOKEN = None
deadline = time.time() + 60
while time.time() < deadline and S.poll() is None and not PORT:
    text = open(LOG, errors="replace").read()
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
    t = re.search(r"dashboard token: (\S+)", text)
    if m and t:
        PORT, TOKEN = int(m.group(1)), t.group(1)
    time.sleep(0.05)
SERVE_PID = S.pid
if WRAP and PORT:
    SERVE_PID = int(open("/proc/%d/task/%d/children" % (S.pid, S.pid)).read().split()[0])


def signal_serve(sig):
    os.kill(SERVE_PID, sig)


if not check("struere-failalloc serve starts", PORT, open(LOG, errors="replace").read()[-800:]):
    S.kill()
    print("serve-alloc: %d passed, %d failed" % (PASSED, FAILED))
    sys.exit(1)

SEQ = 0


def arm(n, every=0):
    """Arms the Nth allocation from now (0: none), and with every the
    Nth and every every'th after it; returns what the last arming saw:
    (whether an allocation failed, allocations since)."""
    global SEQ
    SEQ += 1
    tmp = ARM + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d %d\n" % (SEQ, n, every))
    os.replace(tmp, ARM)
    signal_serve(signal.SIGUSR2)
    end = time.time() + 30
    while time.time() < end and S.poll() is None:
        try:
            parts = open(ARM + ".status").read().split()
            if len(parts) == 3 and int(parts[0]) == SEQ:
                return parts[1] == "1", int(parts[2])
        except (OSError, ValueError):
            pass
        time.sleep(0.001)
    raise RuntimeError("serve did not answer SIGUSR2 (arming %d): exit %s\n%s"
                       % (n, S.poll(), open(LOG, errors="replace").read()[-3000:]))


KEEP = ("content-type", "struere-environment", "struere-commit", "allow")


def ask(method, path, body, key):
    """(status, the headers kept, body) or an exception's text."""
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        h = {"Authorization": "Bearer " + key} if key else {}
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        out = r.read()
        hd = {k.lower(): v for k, v in r.getheaders() if k.lower() in KEEP}
        return r.status, hd, out
    except Exception as e:  # a dropped connection, a timeout
        return None, {}, ("%s: %s" % (type(e).__name__, e)).encode()
    finally:
        c.close()


def out_of_memory(status, body):
    try:
        return status == 500 and json.loads(body) == {
            "error": {"code": "internal", "message": "out of memory"}}
    except ValueError:
        return False


def comparable(path, answer):
    """/metrics counts what it is asked (a 500 adds its own series): what
    is compared is the metrics it names (its # HELP and # TYPE lines)."""
    status, hd, body = answer
    if path == "/metrics" and status == 200:
        body = b"\n".join(x for x in body.split(b"\n") if x.startswith(b"# "))
    return status, hd, body


# ---- every route, each key kind ------------------------------------------
USER = {"type": "user", "id": "user_maria_martinez", "roles": ["guardian"]}
RECORD = {"_id": "r1", "type": "student", "status": "active",
          "data": {"name": "Ana", "guardianId": "g1", "notes": "secret"}}
EVENT = {"type": "session", "action": "created", "id": "s-1",
         "data": {"guardianId": "g1", "studentId": "s1", "teacherId": "t1", "status": "completed",
                  "startTime": "2026-10-08T16:00:00-05:00", "durationMinutes": 60, "subject": "math"}}
REQUESTS = []
for e, k in KEYS.items():
    REQUESTS += [
        (e, "GET", "/v1/agents", None, k),
        (e, "GET", "/v1/agents/front-desk", None, k),
        (e, "GET", "/v1/roles/guardian", None, k),
        (e, "GET", "/v1/data-types/nothing", None, k),
        (e, "POST", "/v1/authorize", {"actor": USER, "action": "read", "resource": "student",
                                      "record": RECORD}, k),
        (e, "POST", "/v1/authorize", {"actor": {"type": "agent", "slug": "front-desk"},
                                      "action": "read", "resource": "student",
                                      "recordId": "student-sofia"}, k),
        (e, "POST", "/v1/authorize/batch", [
            {"actor": USER, "action": "list", "resource": "session"},
            {"actor": {"type": "robot"}, "action": "read", "resource": "student"}], k),
        (e, "POST", "/v1/agents/front-desk/prompt",
         {"channel": "whatsapp", "params": {"guardianPhone": "+15125550142"}, "now": 1760000000000}, k),
        (e, "POST", "/v1/agents/front-desk/model-request",
         {"message": "When is the next lesson?", "now": 1760000000000}, k),
        (e, "POST", "/v1/events", EVENT, k),
        (e, "POST", "/v1/entities/query", {"actor": USER, "type": "student", "limit": 2}, k),
        (e, "POST", "/v1/entities/get", {"actor": USER, "type": "student", "id": "student-sofia"}, k),
        (e, "GET", "/v1/evals/front-desk-basics/plan", None, k),
    ]
REQUESTS += [
    ("-", "GET", "/v1/agents", None, "sk_prod_" + "A" * 40),
    ("-", "GET", "/health", None, None),
    ("-", "GET", "/ready", None, None),
    ("-", "GET", "/metrics", None, None),
    ("-", "GET", "/", None, None),
    ("-", "GET", "/dashboard/api/environments", None, TOKEN),
    ("-", "GET", "/dashboard/api/env/eval/definitions", None, TOKEN),
    ("-", "GET", "/dashboard/api/env/eval/agents/front-desk", None, TOKEN),
    ("-", "GET", "/dashboard/api/env/development/access", None, TOKEN),
    ("-", "GET", "/dashboard/api/history", None, TOKEN),
    ("-", "GET", "/dashboard/api/compare", None, TOKEN),
]

tried = 0
ONLY = os.environ.get("SERVE_ALLOC_ONLY")  # a regular expression: the requests to try
for e, method, path, body, key in REQUESTS:
    name = "%s %s %s" % (e, method, path)
    if ONLY and not re.search(ONLY, name):
        continue
    arm(0)
    want = comparable(path, ask(method, path, body, key))
    _, count = arm(0)
    if not check(name + ": answered without a failure", want[0] is not None, want):
        continue
    n = 1
    while n <= count:
        arm(n)
        got = comparable(path, ask(method, path, body, key))
        failed, _ = arm(0)
        again = comparable(path, ask(method, path, body, key))
        tried += 1
        check("%s, allocation %d of %d failing: answered as without it, or 500 out of memory"
              % (name, n, count), got == want or (failed and out_of_memory(got[0], got[2])),
              (got[0], got[2][:300], want[0], want[2][:200]))
        check("%s, allocation %d failing: then answered as before" % (name, n),
              again == want, (again[0], again[2][:300]))
        n += STRIDE
print("serve-alloc: %d requests each with one of their allocations failing (stride %d)"
      % (tried, STRIDE))

# ---- reloads: development moved, its allocations failing in turn ---------
DEV = KEYS["development"]


def commit_now():
    s, h, b = ask("GET", "/v1/agents", None, DEV)
    return s, h.get("struere-commit"), b


def keys_unavailable(status, body):
    """Key records that could not be loaded (here: no memory) are not
    worked around with the old ones (server/README.md): 503 until they
    load, which serve tries again on its next round."""
    try:
        return status == 503 and json.loads(body)["error"]["code"] == "keys_unavailable"
    except (ValueError, KeyError, TypeError):
        return False


def reload_to(target, timeout, hup=True):
    """Moves development to target, reloads at once (SIGHUP; hup False:
    neither, only waits), waits until serve answers from it or timeout:
    the commits seen, and whether every answer was good (200 from one of
    the two commits, 500 out of memory, 503 keys_unavailable)."""
    if hup:
        git("update-ref", "refs/heads/struere/development", target)
        signal_serve(signal.SIGHUP)
    seen, good = [], True
    end = time.time() + timeout
    while time.time() < end:
        s, c, b = commit_now()
        seen.append(c)
        ok = (s == 200 and c in (COMMIT_A, COMMIT_B)) or out_of_memory(s, b) or keys_unavailable(s, b)
        if not ok:
            BAD.append((s, b[:200]))
        good = good and ok
        if c == target:
            break
        time.sleep(0.02)
    return seen, good


BAD = []  # the answers that were not good, for the report
# how many allocations one reload makes
arm(0)
seen, good = reload_to(COMMIT_B, 10)
_, count = arm(0)
check("a reload without a failure loads the moved branch", seen and seen[-1] == COMMIT_B and good, seen[-5:])
points = sorted(set([1, 2, 3] + list(range(1, count + 1, max(1, count // 24))) + [count]))
for n in points:
    here = git("rev-parse", "refs/heads/struere/development")
    other = COMMIT_A if here == COMMIT_B else COMMIT_B
    arm(n)
    seen, good = reload_to(other, 1.5)
    failed, _ = arm(0)
    check("reload with allocation %d of about %d failing: every answer 200 from one of the two commits "
          "or 500 out of memory" % (n, count), good, (seen[-5:], BAD[-3:]))
    seen, good = reload_to(other, 10, hup=False)
    check("reload after allocation %d failed: serve tries again by itself and serves the moved branch" % n,
          seen and seen[-1] == other and good, (failed, seen[-5:], BAD[-3:]))
print("serve-alloc: %d reloads with one of their allocations failing" % len(points))

# ---- memory short for good: the retries back off, a moved ref does not wait
# One of every N allocations fails, N half of what a reload makes, so
# that every try fails, for WINDOW seconds without a request. serve tries after a round (0.2 s),
# then after twice as long each time (server.h, SRV_RETRY_MAX_MS): tries
# at 0, 0.2, 0.6, 1.4, 3.0 and 6.2 s, the next at 12.6 s. Without the
# back-off it tried five times a second.
WINDOW = 6.5
here = git("rev-parse", "refs/heads/struere/development")
other = COMMIT_A if here == COMMIT_B else COMMIT_B
# the allocations of a quiet round (the refs read) and of a reload alone
arm(0)
time.sleep(1)
_, quiet = arm(0)
git("update-ref", "refs/heads/struere/development", other)
time.sleep(1)
_, reload = arm(0)
git("update-ref", "refs/heads/struere/development", here)
time.sleep(1)
# every reload fails (two of its allocations or more), most quiet rounds not
every = max(2, (reload - quiet) // 2)
start = len(open(LOG, "rb").read())
arm(1, every)
git("update-ref", "refs/heads/struere/development", other)
time.sleep(WINDOW)
arm(0)
tries = len(re.findall(rb"struere serve: development: not loaded: ", open(LOG, "rb").read()[start:]))
check("memory short for good: serve tries the reload again, at doubling intervals "
      "(2 to 7 tries in %.1f s)" % WINDOW, 2 <= tries <= 7, tries)
# the retry now due in about 6 s; a ref that moves is loaded at once
git("update-ref", "refs/heads/struere/development", COMMIT_C)
seen = []
end = time.time() + 3
while time.time() < end and (not seen or seen[-1] != COMMIT_C):
    seen.append(commit_now()[1])
    time.sleep(0.02)
check("memory short for good, then a ref moved: loaded within 3 s, without waiting for the retry "
      "(due 6 s later)", seen and seen[-1] == COMMIT_C, seen[-5:])

signal_serve(signal.SIGTERM)
try:
    rc = S.wait(60)
except subprocess.TimeoutExpired:
    S.kill()
    rc = S.wait()
err = open(LOG, errors="replace").read()
check("SIGTERM stops serve with exit 0", rc == 0, (rc, err[-1500:]))
check("no sanitizer report", not re.search(r"Sanitizer|runtime error", err), err[-3000:])
check("--threads 1 starts without libmicrohttpd's warning of a pool of one", "Warning" not in err,
      err[:600])
print("serve-alloc: %d passed, %d failed" % (PASSED, FAILED))
sys.exit(1 if FAILED else 0)
