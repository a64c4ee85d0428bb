#!/usr/bin/env python3
"""tests/serve/serve_test.py STRUERE_BINARY WORKDIR

`struere serve` end to end: a real server on a free 127.0.0.1 port, real
git stores made by the real `struere` (dev, deploy, keys) in WORKDIR.
Expectations come from the contract (server/README.md, DESIGN §11) or
from an independent path: the `struere` commands with the same key
(`get --json`, `can --json`, `fire --json`, `query --json`, `eval`,
`access --json`, `log --json`, `diff --format json`), the Cedar
differential's decisions, `git rev-parse`, the example's files. Never
from the server itself. Ends "serve: N passed, M failed" (assertions).
"""
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

BIN = os.path.abspath(sys.argv[1])
T = os.path.abspath(sys.argv[2])
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STORE = os.path.join(T, "store")
PASSED = 0
FAILED = 0
QUICK = os.environ.get("SERVE_QUICK") == "1"


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print("PASS " + name)
    else:
        FAILED += 1
        print("FAIL %s%s" % (name, " (%s)" % str(detail)[:600] if detail != "" else ""))
    return cond


def run(*args, key=None, cwd=None, stdin=None):
    env = dict(os.environ)
    env.pop("STRUERE_API_KEY", None)
    if key:
        env["STRUERE_API_KEY"] = key
    p = subprocess.run(args, cwd=cwd or STORE, env=env, input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr


def st(*args, key=None, cwd=None, stdin=None):
    return run(BIN, *args, key=key, cwd=cwd, stdin=stdin)


def git(*args, cwd=None):
    rc, out, err = run("git", *args, cwd=cwd)
    if rc:
        raise RuntimeError("git %s: %s" % (" ".join(args), err.decode()))
    return out.decode().strip()


def rev(env, cwd=None):
    return git("rev-parse", "refs/heads/struere/" + env, cwd=cwd)


class Server:
    def __init__(self, *args, env=None, name="s"):
        self.log = os.path.join(T, name + ".err")
        self.errf = open(self.log, "wb")
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0"] + list(args),
                                  cwd=STORE, stdout=subprocess.DEVNULL, stderr=self.errf, env=e)
        self.port = None
        self.token = None
        deadline = time.time() + 30
        while time.time() < deadline and self.p.poll() is None:
            text = open(self.log).read()
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
            if m:
                self.port = int(m.group(1))
                t = re.search(r"dashboard token: (\S+)", text)
                self.token = t.group(1) if t else None
                break
            time.sleep(0.05)

    def stderr(self):
        return open(self.log, errors="replace").read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()


def req(port, method, path, body=None, key=None, headers=None, raw=None, timeout=20):
    """One request on a new connection: (status, headers (lower-case), body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = dict(headers or {})
    if key is not None:
        h["Authorization"] = "Bearer " + key
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    out = r.read()
    hd = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hd, out


def is_error(body, code=None):
    try:
        d = json.loads(body)
        e = d["error"]
        return list(d) == ["error"] and isinstance(e["message"], str) and \
            isinstance(e["code"], str) and (code is None or e["code"] == code)
    except Exception:
        return False


# ---- the store -----------------------------------------------------------

os.makedirs(os.path.join(T, "home"), exist_ok=True)
shutil.copytree(os.path.join(ROOT, "fixtures", "example"), STORE)
git("init", "-q")
ok = st("dev")[0] == 0 and st("deploy", "--yes")[0] == 0
KEYS = {}
for env in ("development", "production", "eval"):
    rc, out, _ = st("keys", "create", "--env", env, "--name", "serve-test")
    KEYS[env] = out.decode().strip()
rc, out, _ = st("keys", "create", "--env", "production", "--name", "to-revoke")
REVOKE = out.decode().strip()
check("setup: dev, deploy and keys", ok and all(k.startswith("sk_") for k in KEYS.values()) and REVOKE)
COMMIT_A = rev("production")
# development moves on: a second commit with another agent name
fd = os.path.join(STORE, "agents", "front-desk.md")
text = open(fd).read()
open(fd, "w").write(text.replace("name: Front Desk", "name: Front Desk Two", 1))
check("setup: a second development commit", st("dev")[0] == 0 and rev("development") != COMMIT_A)
COMMIT_B = rev("development")
EVAL_COMMIT = rev("eval")
ENVS = ("development", "production", "eval")

S = Server("--dashboard", "--decision-log", os.path.join(T, "decisions.log"), name="main")
check("serve starts and prints its port and dashboard token", S.port and S.token, S.stderr())
if not S.port:
    print("serve: %d passed, %d failed" % (PASSED, FAILED + 1))
    sys.exit(1)
P = S.port

# libmicrohttpd is loaded by serve when it starts (server/mhd.h): the
# program itself does not need it (nor its TLS chain), a running server
# has it mapped.
rc, out, err = run("readelf", "-d", BIN)
needed = re.findall(rb"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
check("struere does not link libmicrohttpd or GnuTLS: only serve loads them",
      rc == 0 and needed and not [n for n in needed if b"microhttpd" in n or b"gnutls" in n],
      needed)
maps = open("/proc/%d/maps" % S.p.pid).read()
check("a running server has libmicrohttpd mapped", "libmicrohttpd.so" in maps)

# ---- every route with each key kind --------------------------------------

KINDS = {"agents": ("agent", "agents"), "data-types": ("data", "data"), "roles": ("role", "roles"),
         "tools": ("tool", "tools"), "automations": ("automation", "automations")}


def example_slugs(folder):
    out = []
    for f in os.listdir(os.path.join(ROOT, "fixtures", "example", folder)):
        base = f.split(".")[0]
        out.append(base)
    return sorted(out)


def bundle_headers(name, h, env):
    return check(name + ": Struere-Environment and Struere-Commit",
                 h.get("struere-environment") == env and h.get("struere-commit") == rev(env),
                 (h.get("struere-environment"), h.get("struere-commit"), rev(env)))


for env in ENVS:
    k = KEYS[env]
    for route, (cli_kind, folder) in KINDS.items():
        s, h, b = req(P, "GET", "/v1/" + route, key=k)
        d = json.loads(b) if s == 200 else {}
        want = example_slugs(folder)
        if route == "automations" and env == "eval":
            want = []  # the eval bundle has no automations
        check("%s key: GET /v1/%s lists the example's definitions" % (env, route),
              s == 200 and sorted(d.get(route, [])) == want, (s, b[:200], want))
        bundle_headers("%s key: GET /v1/%s" % (env, route), h, env)
        for slug in d.get(route, []):
            s, h, b = req(P, "GET", "/v1/%s/%s" % (route, slug), key=k)
            rc, out, err = st("get", cli_kind, slug, "--json", key=k)
            check("%s key: GET /v1/%s/%s is `struere get %s %s --json`" % (env, route, slug, cli_kind, slug),
                  s == 200 and rc == 0 and b == out and h.get("struere-environment") == env,
                  (s, rc, b[:100], out[:100]))
        s, h, b = req(P, "GET", "/v1/%s/no-such-slug" % route, key=k)
        check("%s key: GET /v1/%s/no-such-slug is 404 with an error" % (env, route),
              s == 404 and is_error(b, "not_found"), (s, b))

AUTHZ = [
    ({"type": "agent", "slug": "front-desk"}, "read", "student", ["--as", "agent:front-desk"]),
    ({"type": "agent", "slug": "scheduler"}, "delete", "session", ["--as", "agent:scheduler"]),
    ({"type": "user", "id": "user_maria_martinez", "roles": ["guardian"]}, "list", "session",
     ["--as", "user:user_maria_martinez", "--role", "guardian"]),
    ({"type": "user", "id": "u1", "roles": ["teacher", "staff"]}, "update", "payment",
     ["--as", "user:u1", "--role", "teacher", "--role", "staff"]),
    ({"type": "user", "id": "u2", "roles": []}, "read", "student", ["--as", "user:u2"]),
    ({"type": "system"}, "delete", "payment", ["--as", "system"]),
    ({"type": "admin"}, "create", "teacher", ["--as", "admin"]),
]
RECORD = {"_id": "r1", "type": "student", "status": "active",
          "data": {"name": "Ana", "locationId": "org_acme_tutoring", "guardianId": "g1",
                   "notes": "secret", "dateOfBirth": "2015-01-01"}}
open(os.path.join(T, "record.json"), "w").write(json.dumps(RECORD))
for env in ENVS:
    k = KEYS[env]
    for actor, action, res, cli in AUTHZ:
        s, h, b = req(P, "POST", "/v1/authorize", {"actor": actor, "action": action, "resource": res}, key=k)
        rc, out, err = st("can", action, res, "--json", *cli, key=k)
        check("%s key: authorize %s %s %s is `struere can --json`" % (env, actor.get("slug", actor.get("id", actor["type"])), action, res),
              s == 200 and b == out, (s, b[:300], out[:300], err[:200]))
        if actor["type"] == "agent":
            bundle_headers("%s key: POST /v1/authorize" % env, h, env)
    s, h, b = req(P, "POST", "/v1/authorize", {"actor": AUTHZ[0][0], "action": "read", "resource": "student",
                                                 "record": RECORD}, key=k)
    rc, out, err = st("can", "read", "student", "--json", "--as", "agent:front-desk",
                      "--record", os.path.join(T, "record.json"), key=k)
    check("%s key: authorize with a record is `struere can --record --json`" % env, s == 200 and b == out,
          (s, b[:300], out[:300]))
    s, h, b = req(P, "POST", "/v1/authorize", {"actor": AUTHZ[0][0], "action": "read", "resource": "student",
                                                 "recordId": "student-sofia"}, key=k)
    if env == "eval":
        rc, out, err = st("can", "read", "student", "--json", "--as", "agent:front-desk", "--id", "student-sofia", key=k)
        check("eval key: authorize with a recordId is `struere can --id --json`", s == 200 and b == out, (s, b, out))
    else:
        check("%s key: recordId (eval fixtures) is 403" % env, s == 403 and is_error(b, "eval_only"), (s, b))
    for bad, code, st_ in ((
            {"actor": {"type": "robot"}, "action": "read", "resource": "student"}, "invalid_actor", 400),
            ({"actor": AUTHZ[0][0], "action": "fly", "resource": "student"}, "unknown_action", 400),
            ({"actor": AUTHZ[0][0], "action": "read", "resource": "nothing"}, "unknown_resource", 404),
            ({"actor": AUTHZ[0][0], "action": "read"}, "invalid_request", 400),
            ({"actor": {"type": "agent", "slug": "nobody"}, "action": "read", "resource": "student"}, "invalid_actor", 400),
            ({"actor": AUTHZ[0][0], "action": "read", "resource": "student", "record": {"data": 3}}, "invalid_record", 400)):
        s, h, b = req(P, "POST", "/v1/authorize", bad, key=k)
        check("%s key: authorize %s is %d %s" % (env, json.dumps(bad)[:60], st_, code), s == st_ and is_error(b, code), (s, b))
    # A body is read as JSON, not as bytes (server/body.c): escapes, white
    # space and the order of members change no answer; a key named twice,
    # in the body or in its actor, is the caller's error, told with its
    # line and column (in characters).
    plain = {"actor": {"type": "user", "id": "u1", "roles": ["teacher", "staff"]},
             "action": "update", "resource": "payment"}
    s0, _, b0 = req(P, "POST", "/v1/authorize", plain, key=k)
    spelled = (b'{ "resource" : "pay\\u006dent",\n "action":"upd\\u0061te" ,\t"actor" : '
               b'{ "roles" : [ "te\\u0061cher" , "staff" ] , "id" : "\\u0075\\u0031", "type":"user" } }')
    s1, _, b1 = req(P, "POST", "/v1/authorize", raw=spelled, key=k)
    check("%s key: a question with escapes, white space and members in another order is answered alike" % env,
          s0 == 200 and s1 == 200 and b1 == b0, (s0, s1, b0[:200], b1[:200]))
    sb, _, bb = req(P, "POST", "/v1/authorize/batch", raw=b"[" + spelled + b" ,\n" + json.dumps(plain).encode() + b"]",
                    key=k)
    check("%s key: the same two questions in a batch get the same answer twice" % env,
          sb == 200 and json.loads(bb) == [json.loads(b0)] * 2, (sb, bb[:300]))
    for raw, where in ((b'{"actor": {"type": "system"},\n "action": "read", "resource": "student", "action": "list"}',
                        'body:2:43: the key "action" appears twice'),
                       (b'{"actor": {"type": "user", "id": "\xc3\xa9", "\\u0069d": "x"}, "action": "read"}',
                        'body:1:39: the key "\\u0069d" appears twice'),
                       (b'[{"actor": {"type": "system"}, "action": "read", "resource": "student"},\n'
                        b' {"actor": {"type": "system", "type": "admin"}}]', 'body:2:31: the key "type" appears twice'),
                       # JSON sets no range, jansson does (and a decision log's readers)
                       (b'{"actor":{"type":"system","id":1e400},"action":"read","resource":"student"}',
                        "body:1:32: a number beyond a double's range"),
                       (b'{"actor":{"type":"system"},"action":"read","resource":"student","n":-9223372036854775809}',
                        'body:1:69: an integer beyond 64 bits')):
        route = "/v1/authorize/batch" if raw.startswith(b"[") else "/v1/authorize"
        s, h, b = req(P, "POST", route, raw=raw, key=k)
        msg = json.loads(b)["error"]["message"] if is_error(b) else ""
        check("%s key: %s is 400 invalid_json, located (%s)" % (env, route, where),
              s == 400 and is_error(b, "invalid_json") and msg.startswith(where), (s, b[:300]))
    # The server keeps the actors its requests name (server/actors.c), by
    # every field of the actor: an empty entity is not an absent one (a
    # teacher's lessons are those whose teacherId is the entity), nor is
    # an id holding a control character the same actor as a shorter id
    # with an entity. Asked in both orders, each answer is `struere can`'s
    # for the same actor, whichever was kept first.
    for n, (first, second, tid) in enumerate((
            ({"entity": ""}, {}, ""), ({}, {"entity": ""}, ""),
            ({"id": "a\x1fb"}, {"id": "a", "entity": "b\x1f"}, "b\x1f"))):
        rec = {"id": "s", "data": {"teacherId": tid, "status": "scheduled"}}
        open(os.path.join(T, "actor-record.json"), "w").write(json.dumps(rec))
        for extra in (first, second):
            a = {"type": "user", "id": "fresh-%s-%d" % (env, n), "roles": ["teacher"]}
            a.update(extra)
            s, h, b = req(P, "POST", "/v1/authorize",
                          {"actor": a, "action": "read", "resource": "session", "record": rec}, key=k)
            cli = ["--as", "user:" + a["id"], "--role", "teacher"] + (["--entity", a["entity"]] if "entity" in a else [])
            rc, out, err = st("can", "read", "session", "--json", *cli, "--record",
                              os.path.join(T, "actor-record.json"), key=k)
            check("%s key: authorize as %s after %s is `struere can --json` (actors kept by every field)"
                  % (env, json.dumps(a), json.dumps(first if extra is second else None)),
                  s == 200 and b == out and rc in (0, 1), (s, b[:200], out[:200], err[:200]))
    # The runtime reads each member of a record nested at most 128 arrays
    # and objects deep: a record at that depth is answered as `struere can`
    # answers it; one deeper is the caller's error (400), not the server's.
    # a user with no role is denied without the record being read: the
    # record is refused all the same (checked before the decision)
    deep = {"id": "deep", "data": {"n": json.loads("[" * 140 + "]" * 140)}}
    s, h, b = req(P, "POST", "/v1/authorize", {"actor": {"type": "user", "id": "nobody-deep", "roles": []},
                                               "action": "read", "resource": "session", "record": deep}, key=k)
    check("%s key: a record nested too deep is 400 invalid_record for a question denied without reading it too" % env,
          s == 400 and is_error(b, "invalid_record"), (s, b[:200]))
    for depth, ok in ((128, True), (129, False), (600, False)):
        rec = json.loads('{"id": "deep", "data": {"n": %s%s}}' % ("[" * (depth - 1), "]" * (depth - 1)))
        open(os.path.join(T, "deep-record.json"), "w").write(json.dumps(rec))
        q = {"actor": {"type": "system"}, "action": "read", "resource": "session", "record": rec}
        s, h, b = req(P, "POST", "/v1/authorize", q, key=k)
        rc, out, err = st("can", "read", "session", "--json", "--as", "system", "--record",
                          os.path.join(T, "deep-record.json"), key=k)
        sb, _, bb = req(P, "POST", "/v1/authorize/batch", [q], key=k)
        one = json.loads(bb)[0] if sb == 200 else {}
        if ok:
            check("%s key: a record whose data nests %d deep is answered as `struere can --record --json`" % (env, depth),
                  s == 200 and rc == 0 and b == out and sb == 200 and one.get("decision") == "allow", (s, b[:100], err))
        else:
            check("%s key: a record whose data nests %d deep is 400 invalid_record (in a batch too), and "
                  "`struere can --record` refuses it" % (env, depth),
                  s == 400 and is_error(b, "invalid_record") and b"more than 128 deep" in b and
                  one.get("error", {}).get("code") == "invalid_record" and one.get("status") == 400 and
                  rc == 1 and b"more than 128 deep" in err, (s, b[:200], one, rc, err[:200]))
    # prompt and model request
    now = "1760000000000"
    s, h, b = req(P, "POST", "/v1/agents/front-desk/prompt",
                  {"channel": "whatsapp", "params": {"guardianPhone": "+15125550142"}, "now": int(now)}, key=k)
    rc, out, err = st("prompt", "front-desk", "--json", "--channel", "whatsapp", "--param",
                      "guardianPhone=+15125550142", "--now", now, key=k)
    check("%s key: prompt is `struere prompt --json`" % env, s == 200 and b == out, (s, b[:200], out[:200]))
    bundle_headers("%s key: prompt" % env, h, env)
    s, h, b = req(P, "POST", "/v1/agents/front-desk/model-request",
                  {"message": "When is the next lesson?", "channel": "whatsapp", "now": int(now)}, key=k)
    rc, agent, _ = st("get", "agent", "front-desk", "--json", key=k)
    rc2, pr, _ = st("prompt", "front-desk", "--channel", "whatsapp", "--message", "When is the next lesson?",
                    "--now", now, "--json", key=k)
    ok = False
    try:
        m = json.loads(b)
        a = json.loads(agent)
        tools = [t for t in a.get("tools", []) if not t.get("templateOnly")]
        ok = (m["model"] == a["model"]["model"] and m["temperature"] == a["model"]["temperature"]
              and m["max_tokens"] == a["model"]["maxTokens"]
              and m["messages"] == [{"role": "system", "content": json.loads(pr)["prompt"]},
                                    {"role": "user", "content": "When is the next lesson?"}]
              and [t["function"]["name"] for t in m["tools"]] == [t["name"].replace(".", "_") for t in tools]
              and all(t["type"] == "function" and t["function"]["parameters"] == u["parameters"]
                      and t["function"]["description"] == u["description"] for t, u in zip(m["tools"], tools)))
    except Exception as e:
        ok = False
        b = b + str(e).encode()
    check("%s key: model-request is the OpenAI body of the agent (model, prompt, message, tools, temperature, max_tokens)" % env,
          s == 200 and ok, (s, b[:300]))
    s, h, b = req(P, "POST", "/v1/agents/nobody/model-request", {"message": "x"}, key=k)
    check("%s key: model-request of an unknown agent is 404" % env, s == 404 and is_error(b), (s, b))
    s, h, b = req(P, "POST", "/v1/agents/front-desk/model-request", {}, key=k)
    check("%s key: model-request without a message is 400" % env, s == 400 and is_error(b), (s, b))
    # events
    data = {"guardianId": "g1", "studentId": "s1", "teacherId": "t1", "status": "completed",
            "startTime": "2026-10-08T16:00:00-05:00", "durationMinutes": 60, "subject": "math"}
    open(os.path.join(T, "data.json"), "w").write(json.dumps(data))
    s, h, b = req(P, "POST", "/v1/events", {"type": "session", "action": "created", "data": data, "id": "s-1"}, key=k)
    rc, out, err = st("fire", "session", "created", "--data", os.path.join(T, "data.json"), "--id", "s-1", "--json", key=k)
    if env == "eval":
        check("eval key: events is 403 (eval has no automations)", s == 403 and is_error(b) and rc != 0, (s, b))
    else:
        check("%s key: events is `struere fire --json`" % env, s == 200 and rc == 0 and b == out, (s, b[:200], out[:200]))
    # eval-only routes
    q = {"actor": {"type": "user", "id": "user_maria_martinez", "roles": ["guardian"]}, "type": "student"}
    s, h, b = req(P, "POST", "/v1/entities/query", q, key=k)
    s2, h2, b2 = req(P, "POST", "/v1/entities/get", dict(q, id="student-sofia"), key=k)
    s3, h3, b3 = req(P, "GET", "/v1/evals", key=k)
    s4, h4, b4 = req(P, "GET", "/v1/evals/front-desk-basics/plan", key=k)
    if env == "eval":
        rc, out, _ = st("query", "student", "--as", "user:user_maria_martinez", "--role", "guardian", "--json", key=k)
        check("eval key: entities/query is `struere query --json`", s == 200 and b == out, (s, b[:200], out[:200]))
        recs = {r["_id"]: r for r in json.loads(out)}
        check("eval key: entities/get is the record as query shows it",
              s2 == 200 and json.loads(b2) == recs.get("student-sofia"), (s2, b2[:200]))
        s5, _, b5 = req(P, "POST", "/v1/entities/get", dict(q, id="no-such-record"), key=k)
        check("eval key: entities/get of an unknown record is 404", s5 == 404 and is_error(b5), (s5, b5))
        rc, out, _ = st("query", "student", "--as", "user:user_maria_martinez", "--role", "guardian", "--json",
                        "--filter", "grade=5", "--limit", "1", key=k)
        s5, _, b5 = req(P, "POST", "/v1/entities/query", dict(q, filter={"grade": 5}, limit=1), key=k)
        check("eval key: entities/query with filter and limit is `struere query --filter --limit`",
              s5 == 200 and b5 == out, (s5, b5[:200], out[:200]))
        rc, out, _ = st("eval", "list", "--json", key=k)
        check("eval key: GET /v1/evals is `struere eval list --json`", s3 == 200 and b3 == out, (b3, out))
        rc, out, _ = st("eval", "plan", "front-desk-basics", key=k)
        check("eval key: GET /v1/evals/SUITE/plan is `struere eval plan SUITE`", s4 == 200 and b4 == out, (b4[:200], out[:200]))
        s5, _, b5 = req(P, "GET", "/v1/evals/nothing/plan", key=k)
        check("eval key: an unknown suite is 404", s5 == 404 and is_error(b5), (s5, b5))
    else:
        for name, (sx, bx) in (("entities/query", (s, b)), ("entities/get", (s2, b2)),
                               ("evals", (s3, b3)), ("evals/SUITE/plan", (s4, b4))):
            check("%s key: %s is 403 eval_only" % (env, name), sx == 403 and is_error(bx, "eval_only"), (sx, bx))

# keys that are not keys: 401 and nothing else, on every /v1 route
V1 = [("GET", "/v1/agents"), ("GET", "/v1/agents/front-desk"), ("POST", "/v1/authorize"),
      ("POST", "/v1/authorize/batch"), ("POST", "/v1/agents/front-desk/prompt"),
      ("POST", "/v1/agents/front-desk/model-request"), ("POST", "/v1/events"),
      ("POST", "/v1/entities/query"), ("POST", "/v1/entities/get"), ("GET", "/v1/evals"),
      ("GET", "/v1/evals/front-desk-basics/plan"), ("GET", "/v1/roles"), ("GET", "/v1/tools/price_list")]
BADKEYS = {"no key": None, "malformed": "sk_prod_short", "unknown": "sk_prod_" + "A" * 40,
           "other scheme": "Basic", "the dashboard token": S.token,
           "a key with a wrong prefix": "sk_dev_" + KEYS["production"][len("sk_prod_"):]}
for name, bk in BADKEYS.items():
    for m, path in V1:
        hd = {"Authorization": "Basic abc"} if bk == "Basic" else None
        s, h, b = req(P, m, path, {"actor": {"type": "system"}} if m == "POST" else None,
                      key=None if bk in (None, "Basic") else bk, headers=hd)
        check("%s: %s %s is 401 and nothing else" % (name, m, path),
              s == 401 and is_error(b) and "struere-environment" not in h and "struere-commit" not in h,
              (s, b[:200], h))

# batch
qs = [{"actor": a, "action": ac, "resource": r} for a, ac, r, _ in AUTHZ]
s, h, b = req(P, "POST", "/v1/authorize/batch", qs + [{"actor": {"type": "robot"}, "action": "read", "resource": "x"}, 7],
              key=KEYS["production"])
out = json.loads(b) if s == 200 else []
singles = [json.loads(req(P, "POST", "/v1/authorize", q, key=KEYS["production"])[2]) for q in qs]
check("batch: answers in order, as single authorize", s == 200 and out[:len(qs)] == singles, (s, b[:300]))
check("batch: a bad question gets its error and status in place",
      len(out) == len(qs) + 2 and out[-2].get("status") == 400 and out[-1].get("status") == 400 and "error" in out[-1], out[-2:])
s, h, b = req(P, "POST", "/v1/authorize/batch", [qs[0]] * 1001, key=KEYS["production"])
check("batch: more than 1000 questions is 413", s == 413 and is_error(b, "batch_too_large"), (s, b))
s, h, b = req(P, "POST", "/v1/authorize/batch", [qs[0]] * 1000, key=KEYS["production"])
check("batch: 1000 questions are answered", s == 200 and len(json.loads(b)) == 1000, s)

# ---- the Cedar differential ------------------------------------------------

lines = [json.loads(l) for l in open(os.path.join(ROOT, "tests", "runtime", "cedar", "decisions.jsonl"))]


def to_http(d):
    a = dict(d["actor"])
    if a["type"] == "agent":
        a = {"type": "agent", "slug": a["id"]}
    q = {"actor": a, "action": d["action"], "resource": d["resource"]}
    if d.get("record"):
        q["recordId"] = d["record"]
    return q


def to_cli(d):
    a = d["actor"]
    args = ["can", d["action"], d["resource"], "--json"]
    if a["type"] in ("system", "admin"):
        args += ["--as", a["type"]]
    elif a["type"] == "agent":
        args += ["--as", "agent:" + a["id"]]
    else:
        args += ["--as", "user:" + a["id"]]
        for r in a.get("roles", []):
            args += ["--role", r]
        if a.get("entity"):
            args += ["--entity", a["entity"]]
    if d.get("record"):
        args += ["--id", d["record"]]
    return args


agree = 0
bad = []
for i in range(0, len(lines), 1000):
    chunk = lines[i:i + 1000]
    s, h, b = req(P, "POST", "/v1/authorize/batch", [to_http(d) for d in chunk], key=KEYS["eval"])
    got = json.loads(b) if s == 200 else []
    for d, g in zip(chunk, got):
        if g.get("decision") == d["decision"]:
            agree += 1
        elif len(bad) < 3:
            bad.append((d, g))
check("cedar: /v1/authorize/batch decides all %d requests as Cedar does" % len(lines), agree == len(lines), bad)
# The server keeps the actors a bundle's requests name (server/actors.c):
# asked again, now from kept actors, every answer is still Cedar's.
agree = 0
for i in range(0, len(lines), 1000):
    chunk = lines[i:i + 1000]
    s, h, b = req(P, "POST", "/v1/authorize/batch", [to_http(d) for d in chunk], key=KEYS["eval"])
    got = json.loads(b) if s == 200 else []
    agree += sum(1 for d, g in zip(chunk, got) if g.get("decision") == d["decision"])
check("cedar: asked a second time (the actors kept), all %d decided as Cedar does" % len(lines),
      agree == len(lines), agree)
# More distinct actors than a bundle keeps (4,096): each still answered,
# byte for byte as `struere can` answers the same question (checked for
# the first and the last; all of them decide as the first).
def many(i, j):
    return {"type": "user", "id": "many-%d-%d" % (i, j), "roles": ["staff"]}


def many_cli(i, j):
    return ["can", "read", "session", "--json", "--as", "user:many-%d-%d" % (i, j), "--role", "staff"]


answers = []
for i in range(5):
    qs = [{"actor": many(i, j), "action": "read", "resource": "session"} for j in range(1000)]
    s, h, b = req(P, "POST", "/v1/authorize/batch", qs, key=KEYS["eval"])
    answers += json.loads(b) if s == 200 else []
first = json.dumps(answers[0], separators=(",", ":")).encode() if answers else b""
rc0, out0, _ = st(*many_cli(0, 0), key=KEYS["eval"])
rc4, out4, _ = st(*many_cli(4, 999), key=KEYS["eval"])
s0, _, b0 = req(P, "POST", "/v1/authorize", {"actor": many(0, 0), "action": "read", "resource": "session"}, key=KEYS["eval"])
s4, _, b4 = req(P, "POST", "/v1/authorize", {"actor": many(4, 999), "action": "read", "resource": "session"}, key=KEYS["eval"])
check("actors: 5,000 distinct users (more than a bundle keeps) all answered, as the first decides",
      len(answers) == 5000 and all(a.get("decision") == answers[0].get("decision") for a in answers)
      and answers[0].get("decision") in ("allow", "deny"), len(answers))
check("actors: the first and the last of them are `struere can --json` byte for byte",
      s0 == 200 and s4 == 200 and b0 == out0 and b4 == out4, (b0[:120], out0[:120]))
stride = 97 if not QUICK else 997
same = 0
n = 0
diffs = []
for d in lines[::stride]:
    n += 1
    rc, out, err = st(*to_cli(d), key=KEYS["eval"])
    s, h, b = req(P, "POST", "/v1/authorize", to_http(d), key=KEYS["eval"])
    if s == 200 and b == out:
        same += 1
    elif len(diffs) < 3:
        diffs.append((d, b[:200], out[:200], err[:200]))
check("cedar: /v1/authorize is byte for byte `struere can --json` on every %dth request (%d)" % (stride, n),
      same == n, diffs)

# ---- the decision log and metrics -------------------------------------------

time.sleep(0.5)
log = open(os.path.join(T, "decisions.log")).read().splitlines()
ok = True
for l in log[:2000]:
    d = json.loads(l)
    ok &= set(d) <= {"time", "environment", "commit", "actor", "action", "resource", "decision", "reason", "recordId"}
    ok &= d["decision"] in ("allow", "deny") and d["environment"] in ENVS
check("decision log: one JSON line per decision with the contract's fields", len(log) > 15000 and ok, len(log))
alltext = "\n".join(log)
check("decision log: never a key", not any(k[8:] in alltext for k in KEYS.values()))
check("decision log: never record values", "secret" not in alltext and "2015-01-01" not in alltext)


def prom_problems(text):
    """What breaks the Prometheus text format (0.0.4) in text: lines that are
    neither a HELP, a TYPE nor a sample, a family's samples not all together
    or before its HELP and TYPE, a HELP or TYPE twice, a series twice, a
    histogram whose buckets go down, do not end at +Inf, or whose _count is
    not its +Inf bucket. [] when none."""
    name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
    pair = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
    sample = re.compile(r"^(%s)(\{(?:%s(?:,%s)*,?)?\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$" % (name_re, pair, pair))
    meta = re.compile(r"^# (HELP|TYPE) (%s)( .*)?$" % name_re)
    types, helps, done, seen, out = {}, set(), set(), set(), []
    current, hist = None, {}
    for line in text.splitlines():
        if line.startswith("#"):
            m = meta.match(line)
            if not m:
                out.append("a comment that is neither HELP nor TYPE: " + line)
                continue
            kind, fam = m.group(1), m.group(2)
            if fam in done or fam == current:
                out.append("%s after its family's samples: %s" % (kind, line))
            if kind == "HELP":
                if fam in helps or not (m.group(3) or "").strip():
                    out.append("HELP again or empty: " + line)
                helps.add(fam)
            else:
                if fam in types or (m.group(3) or "").strip() not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    out.append("TYPE again or unknown: " + line)
                types[fam] = (m.group(3) or "").strip()
            continue
        m = sample.match(line)
        if not m:
            out.append("not a sample: " + line)
            continue
        name = m.group(1)
        fam = re.sub(r"_(bucket|sum|count)$", "", name)
        fam = fam if types.get(fam) == "histogram" else name
        if fam not in types or fam not in helps:
            out.append("a sample with no HELP and TYPE before it: " + line)
        if fam != current:
            if fam in done:
                out.append("a family's samples apart: " + line)
            if current:
                done.add(current)
            current = fam
        series = line.rsplit(" ", 1)[0]
        if series in seen:
            out.append("a series twice: " + line)
        seen.add(series)
        if types.get(fam) == "histogram":
            h = hist.setdefault(fam, {"buckets": [], "last": None, "count": None})
            if name.endswith("_bucket"):
                h["buckets"].append(float(m.group(3)))
                h["last"] = re.search(r'le="([^"]*)"', line).group(1)
            elif name.endswith("_count"):
                h["count"] = float(m.group(3))
    for fam, h in hist.items():
        if (not h["buckets"] or h["buckets"] != sorted(h["buckets"]) or h["last"] != "+Inf" or
                h["count"] != h["buckets"][-1]):
            out.append("histogram %s: buckets %s ending at le=%s, count %s" %
                       (fam, h["buckets"][-3:], h["last"], h["count"]))
    return out

s, h, b = req(P, "GET", "/metrics")
mt = b.decode()
check("metrics: Prometheus text with requests by route and status",
      s == 200 and re.search(r'struere_http_requests_total\{route="/v1/authorize/batch",status="200"\} \d+', mt)
      and 'struere_http_requests_total{route="/v1/authorize",status="401"}' in mt, mt[:500])
check("metrics: latency histogram", "struere_http_request_duration_seconds_bucket{le=\"+Inf\"}" in mt and
      "struere_http_request_duration_seconds_count" in mt)
m = re.search(r'struere_decisions_total\{environment="eval",decision="allow"\} (\d+)', mt)
check("metrics: decisions by result", m and int(m.group(1)) >= 6928, m and m.group(0))
check("metrics: per environment the loaded commit",
      'struere_bundle_info{environment="production",commit="%s"} 1' % COMMIT_A in mt and
      'struere_bundle_info{environment="development",commit="%s"} 1' % COMMIT_B in mt, mt[-1500:])
check("metrics: reloads and failed reloads", "struere_reloads_total{environment=\"eval\"}" in mt and
      "struere_reload_failures_total{environment=\"development\"} 0" in mt)
check("metrics: the text is Prometheus's format: each family together after its HELP and TYPE, no series twice, "
      "the histogram's count its +Inf bucket", prom_problems(mt) == [], prom_problems(mt)[:5])
BROKEN = {  # the checker itself finds each kind of break
    "apart": "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\n# HELP b B.\n# TYPE b gauge\nb 1\na{x=\"2\"} 1\n",
    "no TYPE": "# HELP a A.\na 1\n",
    "labels without a comma": "# HELP a A.\n# TYPE a gauge\na{x=\"1\" y=\"2\"} 1\n",
    "count not +Inf": "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
    "no +Inf": "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
    "twice": "# HELP a A.\n# TYPE a gauge\na 1\na 2\n",
}
check("metrics: the format check finds each kind of break it looks for (%s)" % ", ".join(BROKEN),
      all(prom_problems(t) for t in BROKEN.values()) and
      prom_problems("# HELP a A.\n# TYPE a gauge\na{x=\"1\",y=\"q\\\"\"} 1\n") == [],
      {k: prom_problems(t) for k, t in BROKEN.items()})

# ---- probes and hostile HTTP ----------------------------------------------

s, h, b = req(P, "GET", "/health")
check("health: 200", s == 200 and json.loads(b) == {"status": "ok"})
s, h, b = req(P, "GET", "/ready")
d = json.loads(b)
check("ready: 200 with each environment's commit", s == 200 and d["ready"] and
      d["environments"]["production"]["commit"] == COMMIT_A and d["environments"]["eval"]["commit"] == EVAL_COMMIT, b)
for m, path, want in (("DELETE", "/health", "GET, HEAD"), ("POST", "/v1/agents", "GET, HEAD"),
                      ("GET", "/v1/authorize", "POST"), ("PUT", "/v1/events", "POST"),
                      ("PATCH", "/dashboard/api/history", "GET, HEAD")):
    s, h, b = req(P, m, path, key=KEYS["production"])
    check("wrong method: %s %s is 405 with Allow" % (m, path), s == 405 and h.get("allow") == want and is_error(b), (s, h.get("allow")))
s, h, b = req(P, "GET", "/nothing/here")
check("an unknown path is 404", s == 404 and is_error(b, "not_found"))


def big_body(chunked):
    """A body over 1 MiB (announced, or chunked): the answer's first line."""
    c = socket.create_connection(("127.0.0.1", P), timeout=10)
    head = b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEYS["production"].encode()
    n = 1024 * 1024 + 1
    if chunked:
        c.sendall(head + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    else:
        c.sendall(head + b"\r\nContent-Length: %d\r\n\r\n" % n)
    try:
        for i in range(0, n, 65536):
            part = b"x" * min(65536, n - i)
            c.sendall(b"%x\r\n" % len(part) + part + b"\r\n" if chunked else part)
        if chunked:
            c.sendall(b"0\r\n\r\n")
    except OSError:
        pass
    out = b""
    try:
        while b"\r\n\r\n" not in out or not out.endswith(b"\n"):
            chunk = c.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    c.close()
    return out


out = big_body(False)
check("a body over 1 MiB (Content-Length) is 413", out.startswith(b"HTTP/1.1 413") and b"body_too_large" in out, out[:200])
out = big_body(True)
check("a chunked body over 1 MiB is 413", out.startswith(b"HTTP/1.1 413") and b"body_too_large" in out, out[:200])
s, h, b = req(P, "POST", "/v1/authorize", raw=b"{\"actor\": ", key=KEYS["production"])
check("a malformed body is 400 invalid_json", s == 400 and is_error(b, "invalid_json"), (s, b))
s, h, b = req(P, "POST", "/v1/authorize", raw=b'{"actor":{"type":"system"},"action":"read","resource":"\xff\xfe"}',
              key=KEYS["production"])
check("invalid UTF-8 in a body is 400", s == 400 and is_error(b), (s, b))
s, h, b = req(P, "POST", "/v1/authorize", raw=b"[1,2]", key=KEYS["production"])
check("a body of the wrong type is 400", s == 400 and is_error(b, "invalid_request"), (s, b))
s, h, b = req(P, "POST", "/v1/authorize", raw=b"", key=KEYS["production"])
check("an empty body is 400", s == 400 and is_error(b), (s, b))
s, h, b = req(P, "GET", "/v1/agents/%C3%28bad", key=KEYS["production"])
check("invalid UTF-8 in a path is 404", s == 404 and is_error(b), (s, b))


def raw_exchange(data, wait=5.0):
    c = socket.create_connection(("127.0.0.1", P), timeout=wait)
    try:
        c.sendall(data)
        out = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out and (b"Content-Length: 0" in out or out.endswith(b"}\n")):
                break
        return out
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        return b""
    finally:
        c.close()


out = raw_exchange(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
check("headers over the limit (100 KB) are refused with 431", out.startswith(b"HTTP/1.1 431"), out[:80])
out = raw_exchange(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
check("headers of 20 KB are within the limit: 200", out.startswith(b"HTTP/1.1 200"), out[:80])
out = raw_exchange(b"GARBAGE\r\n\r\n")
check("a malformed request line is refused (400 or closed)", out.startswith(b"HTTP/1.1 400") or out == b"", out[:80])
out = raw_exchange(b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
check("a malformed header line is refused with 400", out.startswith(b"HTTP/1.1 400"), out[:80])
out = raw_exchange(b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
check("a malformed Content-Length is refused with 400", out.startswith(b"HTTP/1.1 400"), out[:80])
# slow clients and many connections: the server keeps answering
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = min(1200, max(soft, 0) - 100)
socks = []
for i in range(want):
    try:
        c = socket.create_connection(("127.0.0.1", P), timeout=5)
        if i % 2:
            c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # a slow client: never finishes
        socks.append(c)
    except OSError:
        break
t0 = time.time()
s, h, b = req(P, "GET", "/health")
check("%d connections open (half of them slow clients): a request is still answered at once" % len(socks),
      s == 200 and time.time() - t0 < 2 and len(socks) >= min(1000, want), (s, time.time() - t0, len(socks)))
for c in socks:
    c.close()
# --max-connections: a request on a connection past the limit gets 503
# with Retry-After and the connection closed, not a silent close
M = Server("--max-connections", "8", name="maxconn")
check("--max-connections 8: starts", M.port is not None, M.stderr())
idle = [socket.create_connection(("127.0.0.1", M.port), timeout=5) for _ in range(8)]
time.sleep(0.3)
s, h, b = req(M.port, "GET", "/health")
check("--max-connections 8, 8 open: a 9th connection's request gets 503 too_many_connections",
      s == 503 and is_error(b, "too_many_connections") and b"at most 8 connections" in b, (s, b))
check("the 503 says when to retry and closes the connection",
      h.get("retry-after") == "1" and h.get("connection", "").lower() == "close", h)
# a flood past the limit and the spare connections: every answer is 503
# or a closed connection, never a 200, and the server keeps running
flood = []
for _ in range(120):
    try:
        c = socket.create_connection(("127.0.0.1", M.port), timeout=5)
        c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        flood.append(c)
    except OSError:
        flood.append(None)
seen = {"503": 0, "closed": 0, "other": []}
for c in flood:
    if c is None:
        seen["closed"] += 1
        continue
    try:
        got = c.recv(200)
    except (ConnectionResetError, socket.timeout):
        got = b""
    if got.startswith(b"HTTP/1.1 503"):
        seen["503"] += 1
    elif got == b"":
        seen["closed"] += 1
    else:
        seen["other"].append(got[:40])
    c.close()
check("120 more connections past the limit: each is answered 503 or closed, never served",
      not seen["other"] and seen["503"] > 0 and seen["503"] + seen["closed"] == 120, seen)
for c in idle:
    c.close()
time.sleep(0.3)
s, h, b = req(M.port, "GET", "/health")
check("the 8 closed: the next request is answered 200", s == 200, (s, b))
check("--max-connections: SIGTERM exits 0", M.stop() == 0)
# a slow client is cut off after the idle limit
c = socket.create_connection(("127.0.0.1", P), timeout=30)
c.sendall(b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
t0 = time.time()
try:
    got = c.recv(100)
except (ConnectionResetError, socket.timeout):
    got = b""
check("a client that stops sending is disconnected after the idle limit (10 s)", got == b"" and time.time() - t0 < 20,
      (got, time.time() - t0))
c.close()
s, h, b = req(P, "GET", "/health")
check("the server survived the hostile requests", s == 200 and S.p.poll() is None)

# the request deadline (--request-timeout): a client that sends a byte now
# and then never trips the idle limit; its request gets 408 once late


def dribble(port, head, body=b"", every=0.3, limit=15.0):
    """Sends head, then body, a byte every `every` s, reading meanwhile:
    (seconds until the server's answer was in, what it sent, whether it
    then closed the connection)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=limit)
    c.settimeout(0.02)
    t0 = time.time()
    got = b""
    try:
        if body:
            c.sendall(head)
            data = body
        else:
            data = head
        for i in range(len(data)):
            if time.time() - t0 > limit:
                break
            try:
                c.sendall(data[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(every)
            try:
                chunk = c.recv(4096)
                if not chunk:
                    break
                got += chunk
                if got.endswith(b"}\n"):
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                break
        c.settimeout(2)
        try:
            while not got.endswith(b"}\n"):
                chunk = c.recv(4096)
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        t = time.time() - t0
        # after the answer the server closes: nothing more, then the end
        closed = False
        try:
            closed = c.recv(100) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
        return t, got, closed
    finally:
        c.close()


def answer_408(got):
    head, _, body = got.partition(b"\r\n\r\n")
    return (head.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in head and
            is_error(body, "request_timeout") and b"within 2 s" in body)


R = Server("--request-timeout", "2", name="deadline")
check("--request-timeout 2: starts", R.port is not None, R.stderr())
t, got, closed = dribble(R.port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n")
check("headers sent a byte every 0.3 s (never idle): 408 request_timeout once 2 s have passed, then closed",
      answer_408(got) and closed and 2.0 <= t < 5.0, (t, got[:300], closed))
auth = json.dumps({"actor": {"type": "system"}, "action": "read", "resource": "customer"}).encode()
head = (b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEYS["development"].encode() +
        b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(auth))
t, got, closed = dribble(R.port, head, auth, every=0.3)
check("a body sent a byte every 0.3 s: 408 request_timeout once 2 s have passed, then closed",
      answer_408(got) and closed and 2.0 <= t < 5.0, (t, got[:300], closed))
# chunked framing: libmicrohttpd reads chunk sizes and trailers without
# calling the server; the deadline holds there too
head = (b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEYS["development"].encode() +
        b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n")
t, got, closed = dribble(R.port, head, b"0\r\nX-Trailer: " + b"a" * 200 + b"\r\n\r\n", every=0.3)
check("a chunked body whose trailer comes a byte every 0.3 s: 408 request_timeout once 2 s have passed, then closed",
      answer_408(got) and closed and 2.0 <= t < 5.0, (t, got[:300], closed))
t, got, closed = dribble(R.port, head, b"0" * 200 + b"\r\n\r\n", every=0.3)
check("a chunk size sent a digit every 0.3 s: 408 request_timeout, then closed",
      answer_408(got) and closed and 2.0 <= t < 5.0, (t, got[:300], closed))
t, got, closed = dribble(R.port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", every=0.01)
check("a request that arrives slowly but within the deadline (about 1 s) is answered 200",
      got.startswith(b"HTTP/1.1 200") and t < 2.0, (t, got[:120]))
check("... and its connection, idle after the answer, is closed without a 408 (the idle limit is a second "
      "under the deadline)", closed and b"408" not in got, (closed, got[-200:]))
# keep-alive: each request has its own clock
kc = http.client.HTTPConnection("127.0.0.1", R.port, timeout=10)
codes = []
for i in range(6):
    kc.request("GET", "/health")
    rr = kc.getresponse()
    rr.read()
    codes.append(rr.status)
    time.sleep(0.6)
kc.close()
check("six requests 0.6 s apart on one connection (3.6 s in all): each answered 200, the clock starts per request",
      codes == [200] * 6, codes)
s, h, b = req(R.port, "GET", "/metrics")
text = b.decode()
check("/metrics counts each late request once as 408 (a late head as route other, a late body by its route)",
      'struere_http_requests_total{route="other",status="408"} 1\n' in text and
      'struere_http_requests_total{route="/v1/authorize",status="408"} 3\n' in text,
      [l for l in text.splitlines() if "408" in l])
check("--request-timeout: still serving, and SIGTERM exits 0",
      req(R.port, "GET", "/health")[0] == 200 and R.stop() == 0)

# ---- the dashboard ----------------------------------------------------------

s, h, b = req(P, "GET", "/")
check("dashboard: GET / serves the embedded page",
      s == 200 and h.get("content-type", "").startswith("text/html") and
      b == open(os.path.join(ROOT, "server", "dashboard", "index.html"), "rb").read(), s)
check("dashboard: GET / may not be framed and loads nothing from elsewhere",
      h.get("x-frame-options") == "DENY" and "frame-ancestors 'none'" in h.get("content-security-policy", "")
      and "default-src 'none'" in h.get("content-security-policy", "") and h.get("x-content-type-options") == "nosniff",
      {k: v for k, v in h.items() if k.startswith("x-") or k.startswith("content-sec")})
DAPI = ["/dashboard/api/environments", "/dashboard/api/env/production/definitions",
        "/dashboard/api/env/eval/agents/front-desk", "/dashboard/api/env/development/access",
        "/dashboard/api/history", "/dashboard/api/compare"]
for path in DAPI:
    for name, k in (("no token", None), ("an API key", KEYS["production"]), ("a wrong token", S.token + "x")):
        s, h, b = req(P, "GET", path, key=k)
        check("dashboard: %s without the token (%s) is 401" % (path, name), s == 401 and is_error(b, "unauthorized"), (s, b))
s, h, b = req(P, "GET", "/dashboard/api/environments", key=S.token)
d = json.loads(b)
check("dashboard: environments, each with its commit, load time and readiness",
      s == 200 and [e["environment"] for e in d["environments"]] == list(ENVS) and
      [e["commit"] for e in d["environments"]] == [COMMIT_B, COMMIT_A, EVAL_COMMIT] and
      all(e["ready"] is True and e["error"] is None and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", e["loadedAt"])
          for e in d["environments"]), b)
for env in ENVS:
    s, h, b = req(P, "GET", "/dashboard/api/env/%s/definitions" % env, key=S.token)
    d = json.loads(b)
    check("dashboard: %s definitions" % env,
          s == 200 and d["environment"] == env and d["commit"] == rev(env) and
          d["agents"] == example_slugs("agents") and d["dataTypes"] == example_slugs("data") and
          d["roles"] == example_slugs("roles") and d["tools"] == example_slugs("tools") and
          d["evals"] == (example_slugs("evals") if env == "eval" else []) and
          d["fixtures"] == (example_slugs("fixtures") if env == "eval" else []), b[:300])
    for kind, cli in (("agents", "agent"), ("roles", "role"), ("data-types", "data"), ("tools", "tool")):
        slug = {"agents": "front-desk", "roles": "guardian", "data-types": "student", "tools": "price_list"}[kind]
        s, h, b = req(P, "GET", "/dashboard/api/env/%s/%s/%s" % (env, kind, slug), key=S.token)
        rc, out, _ = st("get", cli, slug, "--json", key=KEYS[env])
        check("dashboard: %s %s/%s is `struere get --json`" % (env, kind, slug), s == 200 and b == out, (s, b[:100]))
    rc, out, _ = st("access", env, "--json")
    s, h, b = req(P, "GET", "/dashboard/api/env/%s/access" % env, key=S.token)
    check("dashboard: %s access is `struere access %s --json`" % (env, env), s == 200 and json.loads(b) == json.loads(out),
          (s, b[:200], out[:200]))
s, h, b = req(P, "GET", "/dashboard/api/env/eval/evals/front-desk-basics", key=S.token)
rc, out, _ = st("get", "eval", "front-desk-basics", "--json", key=KEYS["eval"])
check("dashboard: an eval suite is `struere get eval --json`", s == 200 and b == out)
s, h, b = req(P, "GET", "/dashboard/api/env/eval/agents/nobody", key=S.token)
check("dashboard: an unknown definition is 404", s == 404 and is_error(b, "not_found"))
s, h, b = req(P, "GET", "/dashboard/api/env/staging/definitions", key=S.token)
check("dashboard: an unknown environment is 404", s == 404)
rc, out, _ = st("log", "--json")
s, h, b = req(P, "GET", "/dashboard/api/history", key=S.token)
check("dashboard: history is `struere log --json`", s == 200 and json.loads(b) == json.loads(out), (b[:200], out[:200]))


def responses(so, n, limit=20.0):
    """The first n HTTP/1.1 answers read from so (each with a Content-Length):
    [(status, head bytes, body bytes)], fewer if the connection ends first."""
    so.settimeout(limit)
    buf, out, end = b"", [], time.time() + limit
    while len(out) < n and time.time() < end:
        cut = buf.find(b"\r\n\r\n")
        if cut >= 0:
            head = buf[:cut]
            m = re.search(rb"(?im)^content-length: *(\d+)", head)
            size = int(m.group(1)) if m else 0
            if len(buf) >= cut + 4 + size:
                out.append((int(head.split(b" ", 2)[1]), head, buf[cut + 4:cut + 4 + size]))
                buf = buf[cut + 4 + size:]
                continue
        try:
            chunk = so.recv(65536)
        except (socket.timeout, OSError):
            break
        if not chunk:
            break
        buf += chunk
    return out


# Requests pipelined behind a dashboard answer (sent in the same write, so
# libmicrohttpd reads them before the connection is suspended for the
# child): answered after it, in order, on the same connection.
so = socket.create_connection(("127.0.0.1", P), timeout=20)
so.sendall(("GET /dashboard/api/history HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
            "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET /v1/agents/front-desk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
            % (S.token, KEYS["production"])).encode())
piped = responses(so, 3)
so.close()
check("dashboard: two requests pipelined behind a history request are answered after it, in order "
      "(history as `struere log --json`, /health, an agent)",
      [g[0] for g in piped] == [200, 200, 200] and json.loads(piped[0][2]) == json.loads(out) and
      json.loads(piped[1][2]) == {"status": "ok"} and json.loads(piped[2][2])["slug"] == "front-desk",
      [(g[0], g[2][:80]) for g in piped])
rc, out, _ = st("diff", "production", "development", "--format", "json")
s, h, b = req(P, "GET", "/dashboard/api/compare", key=S.token)
check("dashboard: compare is `struere diff --format json production development`",
      s == 200 and json.loads(b) == json.loads(out) and json.loads(b)["changes"], (b[:300], out[:300]))
# history and comparison read commits and reflogs through libgit2 in a
# child process (struere log / diff): the server itself never loads it
maps = open("/proc/%d/maps" % S.p.pid).read()
check("dashboard: after history and compare, serve has no libgit2 (nor libcrypto) mapped",
      "libgit2" not in maps and "libcrypto" not in maps,
      [l for l in maps.splitlines() if "libgit2" in l or "libcrypto" in l][:3])

# ---- following the store: isolation, deploys, corrupt bundles, keys --------


def served(env, key=None):
    s, h, b = req(P, "GET", "/v1/agents/front-desk", key=key or KEYS[env])
    return s, h.get("struere-environment"), h.get("struere-commit"), b


def wait_for(cond, limit=5.0):
    t0 = time.time()
    while time.time() - t0 < limit:
        if cond():
            return time.time() - t0
        time.sleep(0.02)
    return None


def isolation(state, allowed):
    """Every key kind x every GET/POST route: the key's own environment,
    a commit that environment's branch legitimately named."""
    bad = []
    for env in ENVS:
        for m, path in V1:
            if env != "eval" and ("entities" in path or "evals" in path):
                continue
            body = None
            if m == "POST":
                body = {"actor": {"type": "system"}, "action": "read", "resource": "student", "message": "m",
                        "type": "student", "id": "student-sofia", "data": {}}
                if path.endswith("events"):
                    if env == "eval":
                        continue
                    body = {"type": "session", "action": "created", "data": {}}
                if path.endswith("batch"):
                    body = [{"actor": {"type": "system"}, "action": "read", "resource": "student"}]
            s, h, b = req(P, m, path, body, key=KEYS[env])
            if s != 200 or h.get("struere-environment") != env or h.get("struere-commit") not in allowed[env]:
                bad.append((env, m, path, s, h.get("struere-environment"), h.get("struere-commit"), b[:100]))
    check("isolation (%s): every key kind x every route answers from its own environment" % state, not bad, bad[:3])


LEGIT = {"development": {COMMIT_A, COMMIT_B}, "production": {COMMIT_A, COMMIT_B}, "eval": {EVAL_COMMIT}}
isolation("dev and prod on different commits", LEGIT)
# production moved onto eval's commit: the eval bundle must never answer a production key
git("update-ref", "refs/heads/struere/production", EVAL_COMMIT)
t = wait_for(lambda: not json.loads(req(P, "GET", "/ready")[2])["environments"]["production"]["ready"])
check("a production branch moved onto eval's commit is refused (ready says so)", t is not None)
isolation("production ref on eval's commit", LEGIT)
check("a production key still gets production's bundle", served("production")[2] == COMMIT_A)
git("update-ref", "refs/heads/struere/production", COMMIT_A)
t = wait_for(lambda: req(P, "GET", "/ready")[0] == 200)
check("production back on its commit: ready again", t is not None)


def swapped_commit(base, path, blob):
    env = dict(os.environ, GIT_INDEX_FILE=os.path.join(T, "tmp-index"))
    subprocess.run(["git", "read-tree", base], cwd=STORE, env=env, check=True)
    subprocess.run(["git", "update-index", "--cacheinfo", "100644,%s,%s" % (blob, path)], cwd=STORE, env=env, check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=STORE, env=env, check=True, stdout=subprocess.PIPE).stdout.decode().strip()
    return git("commit-tree", tree, "-p", base, "-m", "tampered")


# development's bundle swapped for production's (both well-formed)
prod_blob = git("rev-parse", COMMIT_B + ":bundles/production.stb")
bad_dev = swapped_commit(COMMIT_B, "bundles/development.stb", prod_blob)
git("update-ref", "refs/heads/struere/development", bad_dev)
t = wait_for(lambda: not json.loads(req(P, "GET", "/ready")[2])["environments"]["development"]["ready"])
check("a development commit holding production's bundle is refused", t is not None)
isolation("development ref on a swapped bundle", LEGIT)
# a corrupt bundle: bytes changed, CRCs fixed up (only the manifest's SHA-256 can tell)
git("update-ref", "refs/heads/struere/development", COMMIT_B)
wait_for(lambda: req(P, "GET", "/ready")[0] == 200)
dev_stb = os.path.join(T, "dev.stb")
with open(dev_stb, "wb") as f:
    f.write(subprocess.run(["git", "cat-file", "blob", COMMIT_B + ":bundles/development.stb"], cwd=STORE,
                           stdout=subprocess.PIPE, check=True).stdout)
stb = [sys.executable, os.path.join(ROOT, "tests", "trust", "stb.py")]
at = subprocess.run(stb + ["at", dev_stb, "STRS", "letter"], stdout=subprocess.PIPE, check=True).stdout.decode().strip()
subprocess.run(stb + ["flip", dev_stb, dev_stb + ".bad", at, "--fix"], check=True)
blob = git("hash-object", "-w", dev_stb + ".bad")
corrupt = swapped_commit(COMMIT_B, "bundles/development.stb", blob)
before = re.search(r'struere_reload_failures_total\{environment="development"\} (\d+)', req(P, "GET", "/metrics")[2].decode())
git("update-ref", "refs/heads/struere/development", corrupt)
t = wait_for(lambda: req(P, "GET", "/ready")[0] == 503)
check("a corrupt bundle pushed is refused within a second: /ready is 503", t is not None and t < 1.5, t)
d = json.loads(req(P, "GET", "/ready")[2])["environments"]["development"]
check("/ready names the environment and why", d["ready"] is False and d["commit"] == COMMIT_B and d["error"], d)
mt = req(P, "GET", "/metrics")[2].decode()
after = re.search(r'struere_reload_failures_total\{environment="development"\} (\d+)', mt)
check("/metrics says so: ready 0, an error, one more failed reload",
      'struere_ready{environment="development"} 0' in mt and 'struere_bundle_error{environment="development"' in mt
      and int(after.group(1)) > int(before.group(1)), mt[-800:])
check("/metrics with an error label is still Prometheus's format", prom_problems(mt) == [], prom_problems(mt)[:5])
s, e, c, b = served("development")
check("the old development bundle keeps serving", s == 200 and c == COMMIT_B, (s, c))
git("update-ref", "refs/heads/struere/development", COMMIT_B)
check("a good bundle again: ready", wait_for(lambda: req(P, "GET", "/ready")[0] == 200) is not None)
# the comparison reads development's production bundle: corrupt that one
prod_stb = os.path.join(T, "prod.stb")
with open(prod_stb, "wb") as f:
    f.write(subprocess.run(["git", "cat-file", "blob", COMMIT_B + ":bundles/production.stb"], cwd=STORE,
                           stdout=subprocess.PIPE, check=True).stdout)
at = subprocess.run(stb + ["at", prod_stb, "STRS", "letter"], stdout=subprocess.PIPE, check=True).stdout.decode().strip()
subprocess.run(stb + ["flip", prod_stb, prod_stb + ".bad", at, "--fix"], check=True)
corrupt = swapped_commit(COMMIT_B, "bundles/production.stb", git("hash-object", "-w", prod_stb + ".bad"))
git("update-ref", "refs/heads/struere/development", corrupt)
rc, _, err = st("diff", "production", "development", "--format", "json")
s, h, b = req(P, "GET", "/dashboard/api/compare", key=S.token)
msg = json.loads(b).get("error", {}).get("message", "") if s == 500 else ""
check("dashboard: compare with development's production bundle corrupt is 500 naming the failed check (diff exits %d)" % rc,
      rc == 1 and s == 500 and is_error(b, "invalid") and msg.startswith("compare: ") and "SHA-256" in msg,
      (rc, s, b[:300], err[:300]))
git("update-ref", "refs/heads/struere/development", COMMIT_B)
check("development restored: ready", wait_for(lambda: req(P, "GET", "/ready")[0] == 200) is not None)



def asking(key, stop, seen):
    """Asks with key on one kept-alive connection until stop: appends
    (time sent, time answered, status, error code) to seen."""
    c = http.client.HTTPConnection("127.0.0.1", P, timeout=20)
    while not stop.is_set():
        t0 = time.time()
        try:
            c.request("GET", "/v1/agents/front-desk", headers={"Authorization": "Bearer " + key})
            r = c.getresponse()
            body = r.read()
            code = json.loads(body)["error"]["code"] if r.status != 200 else ""
            seen.append((t0, time.time(), r.status, code))
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", P, timeout=20)
    c.close()


def asked_meanwhile(key, action, until):
    """Four kept-alive connections ask with key while action() runs and
    until until(seen) holds (10 s at most): what they saw."""
    stop, seen = threading.Event(), []
    ts = [threading.Thread(target=asking, args=(key, stop, seen)) for _ in range(4)]
    for t in ts:
        t.start()
    time.sleep(0.3)
    action()
    wait_for(lambda: until(seen), 10.0)
    stop.set()
    for t in ts:
        t.join()
    return seen


# a revoked key stops at the next keys reload: on every worker thread,
# though each let the key in a moment before (server/envs.c keeps the keys
# a thread let in for the current second and the same key records). The
# revocation, then a new key: once the new key is let in, the server has
# loaded records that hold the revocation, and no request sent after may
# let the revoked key in, whatever second it is (done just after a second
# begins, so that the keys let in are still fresh if nothing forgot them).
check("the key to revoke works", served("production", REVOKE)[0] == 200)
revoked, loaded = [], []


def revoke_then_create():
    time.sleep(1.02 - time.time() % 1.0)
    revoked.append(st("keys", "revoke", REVOKE[:13])[0])
    rc, out, _ = st("keys", "create", "--env", "production", "--name", "after-revoke")
    new = out.decode().strip()
    if rc == 0 and wait_for(lambda: served("production", new)[0] == 200) is not None:
        loaded.append(time.time())


seen = asked_meanwhile(REVOKE, revoke_then_create,
                       lambda seen: sum(1 for x in list(seen) if x[2] == 401) >= 200)
first = min((x[1] for x in seen if x[2] == 401), default=None)
late = [x for x in seen if first is not None and x[0] > first and x[2] != 401]
after = [x for x in seen if loaded and x[0] > loaded[0] and x[2] != 401]
check("keys revoked while four connections ask: 200 before; from the first 401 on, and once a key "
      "created after is let in, every request sent is 401 revoked_key (%d asked)" % len(seen),
      revoked == [0] and loaded and first is not None and any(x[2] == 200 for x in seen) and not late and
      not after and all(x[3] == "revoked_key" for x in seen if x[2] == 401),
      (revoked, loaded, first, late[:5], after[:5]))
t = wait_for(lambda: served("production", REVOKE)[0] == 401)
s, h, b = req(P, "GET", "/v1/agents", key=REVOKE)
check("a revoked key gets 401 revoked_key within a second", revoked == [0] and t is not None and t < 1.5 and
      is_error(b, "revoked_key"), (t, b))
# a key expires once its expiry second is over (expiry before now, in
# whole seconds of the server's clock), whatever was let in before; the
# server's seconds are the kernel's coarse clock, a few ms behind the
# test's, hence the margin below
expires = int(time.time()) + 5
rc, out, _ = st("keys", "create", "--env", "production", "--name", "expiring", "--expires",
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)))
EXPIRING = out.decode().strip()
t = wait_for(lambda: served("production", EXPIRING)[0] == 200)
seen = asked_meanwhile(EXPIRING, lambda: None, lambda seen: time.time() > expires + 1.5)
first = min((x[1] for x in seen if x[2] == 401), default=None)
late = [x for x in seen if (x[0] >= expires + 1.05 or (first is not None and x[0] > first)) and x[2] != 401]
check("a key expiring while four connections ask: 200 before, 401 expired_key once its second is over (%d asked)"
      % len(seen), rc == 0 and t is not None and any(x[2] == 200 for x in seen) and first is not None and
      not late and all(x[3] == "expired_key" for x in seen if x[2] == 401), (rc, t, first, expires, late[:5]))

# key records that cannot be loaded are not worked around with the old
# ones (which may be what they revoke): every key 503, /ready 503, until
# the keys ref holds records that load
KEYS_GOOD = git("rev-parse", "refs/struere/keys")
records = json.loads(git("show", "refs/struere/keys:keys.json"))
records.append({"sha256": "zz", "environment": "production"})
damaged = os.path.join(T, "keys-damaged.json")
open(damaged, "w").write(json.dumps(records))
rc = subprocess.run(["sh", os.path.join(ROOT, "tests", "keys", "git-put.sh"),
                     "refs/struere/keys", "keys.json", damaged], cwd=STORE,
                    capture_output=True).returncode
rc_cli, _, _ = st("get", "agent", "front-desk", key=KEYS["production"])
t = wait_for(lambda: served("production")[0] == 503)
s, h, b = req(P, "GET", "/v1/agents", key=KEYS["production"])
check("damaged key records: the CLI refuses the key (exit %d)" % rc_cli, rc == 0 and rc_cli != 0)
check("damaged key records: a valid key gets 503 keys_unavailable, with Retry-After",
      t is not None and s == 503 and is_error(b, "keys_unavailable") and h.get("retry-after") == "1",
      (rc, t, s, b))
check("damaged key records: an eval key too",
      served("eval")[0] == 503 and is_error(served("eval")[3], "keys_unavailable"))
s, h, b = req(P, "GET", "/ready")
j = json.loads(b) if s in (200, 503) else {}
check("damaged key records: /ready 503, keys not loaded, the error said",
      s == 503 and j.get("keys", {}).get("loaded") is False and j["keys"].get("error"), (s, b))
git("update-ref", "refs/struere/keys", KEYS_GOOD)
check("key records that load again: the key works again",
      wait_for(lambda: served("production")[0] == 200) is not None and
      req(P, "GET", "/ready")[0] == 200)
check("... and the revoked key stays revoked", served("production", REVOKE)[0] == 401)
# a store that has no key records at all: a key is unknown (401), the
# records are not "unavailable" (503 is for records that fail to load)
NOKEYS = os.path.join(T, "nokeys")
shutil.copytree(STORE, NOKEYS)
git("update-ref", "-d", "refs/struere/keys", cwd=NOKEYS)
NK = Server("--store", NOKEYS, name="nokeys")
s, h, b = req(NK.port, "GET", "/v1/agents", key=KEYS["production"]) if NK.port else (0, {}, b"")
check("no key records in the store: a well-formed key gets 401 invalid_key",
      s == 401 and is_error(b, "invalid_key"), (s, b, NK.stderr()[-300:]))
NK.stop()

# live deploy: deploy and rollback alternate while clients ask
results = {"ok": 0, "fail": [], "commits": set()}
stop = threading.Event()
lock = threading.Lock()


def client():
    c = http.client.HTTPConnection("127.0.0.1", P, timeout=10)
    while not stop.is_set():
        try:
            c.request("POST", "/v1/authorize", body=json.dumps(
                {"actor": {"type": "agent", "slug": "front-desk"}, "action": "read", "resource": "student"}),
                headers={"Authorization": "Bearer " + KEYS["production"]})
            r = c.getresponse()
            r.read()
            with lock:
                if r.status == 200:
                    results["ok"] += 1
                    results["commits"].add(r.getheader("Struere-Commit"))
                else:
                    results["fail"].append(r.status)
        except Exception as ex:
            with lock:
                results["fail"].append(repr(ex))
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", P, timeout=10)
    c.close()


threads = [threading.Thread(target=client) for _ in range(3)]
for th in threads:
    th.start()
seen = []
n_alt = 100 if not QUICK else 20
for i in range(n_alt):
    want = COMMIT_B if i % 2 == 0 else COMMIT_A
    rc = st("deploy", "--yes")[0] if i % 2 == 0 else st("rollback", "--yes")[0]
    if rc:
        seen.append(None)
        continue
    seen.append(wait_for(lambda: served("production")[2] == want, 5.0))
stop.set()
for th in threads:
    th.join()
good = [x for x in seen if x is not None]
check("live deploy: %d deploys and rollbacks, each new commit served within 2 s (worst %.3f s, median %.3f s)"
      % (n_alt, max(good or [99]), sorted(good or [99])[len(good) // 2] if good else 99),
      len(good) == n_alt and max(good) < 2.0, seen)
check("live deploy: zero failed requests (%d answered)" % results["ok"], not results["fail"] and results["ok"] > 100,
      results["fail"][:5])
check("live deploy: every Struere-Commit is one of the two", results["commits"] <= {COMMIT_A, COMMIT_B}, results["commits"])

# SIGHUP reloads at once
S.p.send_signal(signal.SIGHUP)
time.sleep(0.5)
check("SIGHUP: reloads and keeps serving", "SIGHUP" in S.stderr() and req(P, "GET", "/health")[0] == 200 and
      S.p.poll() is None)

# SIGTERM: a request in flight finishes, then exit 0
body = json.dumps({"actor": {"type": "system"}, "action": "read", "resource": "student"}).encode()
c = socket.create_connection(("127.0.0.1", P), timeout=10)
c.sendall(b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEYS["production"].encode() +
          b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
time.sleep(0.3)
S.p.send_signal(signal.SIGTERM)
time.sleep(0.3)
refused = False
try:
    socket.create_connection(("127.0.0.1", P), timeout=2).close()
except OSError:
    refused = True
c.sendall(body[10:])
resp = b""
try:
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        resp += chunk
        if resp.endswith(b"}\n"):
            break
except OSError:
    pass
c.close()
rc = S.stop(timeout=30)
check("SIGTERM: new connections are refused", refused)
check("SIGTERM: the request in flight is answered", resp.startswith(b"HTTP/1.1 200") and b'"decision":"allow"' in resp, resp[:200])
check("SIGTERM: exit 0", rc == 0, rc)


# A dashboard answer whose command hangs: a store copy whose production
# reflog is a FIFO nobody writes (libgit2's open of it blocks; serve's own
# reader never reads reflogs). The child is killed at --request-timeout:
# 503 timeout; the server answers meanwhile; at most three such children
# at once (a fourth is 503 busy at once); none is left behind.
def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open("/proc/%s/stat" % d).read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out


HANG = os.path.join(T, "hang-store")
shutil.copytree(STORE, HANG, symlinks=True)
reflog = os.path.join(HANG, ".git", "logs", "refs", "heads", "struere", "production")
check("the hanging store's production reflog exists (to become a FIFO)", os.path.isfile(reflog), reflog)
os.remove(reflog)
os.mkfifo(reflog)
HANG_LOG = os.path.join(T, "hang-decisions.log")
H = Server("--store", HANG, "--dashboard", "--request-timeout", "5", "--decision-log", HANG_LOG, name="hang")
check("a server on the hanging store starts", H.port is not None, H.stderr())
got = {}


def hist(i):
    t0 = time.time()
    got[i] = req(H.port, "GET", "/dashboard/api/history", key=H.token, timeout=30) + (time.time() - t0,)


ths = [threading.Thread(target=hist, args=(i,)) for i in range(3)]
for n, th in enumerate(ths):  # one after the other: each on a worker thread of its own
    th.start()
    wait_for(lambda: len(children(H.p.pid)) == n + 1, 3.0)
s3, _, b3 = req(H.port, "GET", "/dashboard/api/history", key=H.token)
check("dashboard: a fourth answer while three children run is 503 busy", s3 == 503 and is_error(b3, "busy"), (s3, b3))
kids = children(H.p.pid)
s, _, _ = req(H.port, "GET", "/health")
check("the server answers while the children hang (three children, /health 200)", s == 200 and len(kids) == 3, (s, kids))
# what server/README.md promises of a child: in /, stdin /dev/null, in a
# process group of its own, and none of the server's descriptors (its
# sockets, its decision log)


def fds(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


seen = {k: (os.readlink("/proc/%d/cwd" % k), os.getpgid(k), fds(k)) for k in kids}
check("each child runs in /, in a process group of its own, stdin /dev/null",
      all(cwd == "/" and pg == k and f.get(0) == "/dev/null" for k, (cwd, pg, f) in seen.items()), seen)
check("no child holds a socket or the decision log",
      all(not [p for p in f.values() if p.startswith("socket:") or p == HANG_LOG] for _, _, f in seen.values()) and
      HANG_LOG in fds(H.p.pid).values(), seen)
for th in ths:
    th.join(60)
for i in range(3):
    s, h, b, took = got.get(i, (0, {}, b"", 0))
    check("dashboard: a history whose command hangs is 503 timeout after --request-timeout (5 s), request %d" % i,
          s == 503 and is_error(b, "timeout") and b"history took more than 5 s" in b and 4.9 <= took < 15,
          (s, b[:200], took))
left = wait_for(lambda: not children(H.p.pid), 5.0)
check("the killed children are reaped: none left", left is not None, children(H.p.pid))
check("answers once they are gone are not busy (the count went down)",
      req(H.port, "GET", "/dashboard/api/environments", key=H.token)[0] == 200 and
      req(H.port, "GET", "/dashboard/api/compare", key=H.token)[0] == 200)
# A request sent on the connection while it waits for its child (which
# libmicrohttpd does not read while the connection is suspended): the
# child is not killed for it, and both are answered in turn, the second
# once the first is.
so = socket.create_connection(("127.0.0.1", H.port), timeout=20)
so.sendall(("GET /dashboard/api/history HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
            % H.token).encode())
wait_for(lambda: len(children(H.p.pid)) == 1, 5.0)
kid = children(H.p.pid)
so.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(1.0)
alive = [k for k in kid if os.path.exists("/proc/%d" % k)]
t0 = time.time()
piped = responses(so, 2)
took = time.time() - t0
so.close()
check("a request sent behind a dashboard request while its child runs: the child is not killed for it; "
      "the first is 503 timeout at --request-timeout, then the second is answered on the same connection",
      len(kid) == 1 and alive == kid and [g[0] for g in piped] == [503, 200] and is_error(piped[0][2], "timeout") and
      json.loads(piped[1][2]) == {"status": "ok"} and took < 15,
      (kid, alive, [(g[0], g[2][:80]) for g in piped], took))
H.stop()
# Clients that close their connections while their children run: the
# children are killed at once (their answers have no one to go to), not
# at --request-timeout (60 s here), and their places among the three are
# free again. (libmicrohttpd does not watch a suspended connection; the
# job's thread watches it.)
H = Server("--store", HANG, "--dashboard", "--request-timeout", "60", name="hang-gone")
check("a server on the hanging store with --request-timeout 60 starts", H.port is not None, H.stderr())


def ask_raw(port, path, token):
    so = socket.create_connection(("127.0.0.1", port), timeout=10)
    so.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % (path, token)).encode())
    return so


socks = []
for n in range(3):
    socks.append(ask_raw(H.port, "/dashboard/api/history", H.token))
    wait_for(lambda: len(children(H.p.pid)) == n + 1, 5.0)
kids = children(H.p.pid)
t0 = time.time()
for so in socks:
    so.close()
gone = wait_for(lambda: not [k for k in kids if os.path.exists("/proc/%d" % k)], 10.0)
took = time.time() - t0
check("three clients close their connections while their dashboard children hang: the three children are killed "
      "and reaped within 10 s (not at --request-timeout, 60 s)",
      len(kids) == 3 and gone is not None and took < 10, (kids, took))


def gone_requests():
    """How many history requests /metrics counts as ended by their client."""
    s, _, b = req(H.port, "GET", "/metrics")
    m = re.search(rb'struere_http_requests_total\{route="/dashboard/api/history",status="other"\} (\d+)', b)
    return int(m.group(1)) if s == 200 and m else 0


# counted once their connections are done, after their places were freed
counted = wait_for(lambda: gone_requests() == 3, 10.0)
check("/metrics counts the three requests whose clients went away as status \"other\"", counted is not None,
      gone_requests())
so = ask_raw(H.port, "/dashboard/api/history", H.token)
started = wait_for(lambda: len(children(H.p.pid)) == 1, 5.0)
so.settimeout(0.5)
try:
    early = so.recv(100)
except socket.timeout:
    early = None
check("... their places are free: a new dashboard answer starts a child (not 503 busy) and waits for it",
      started is not None and early is None, (started, early))
kid = children(H.p.pid)
so.shutdown(socket.SHUT_WR)  # a half-close counts as gone too (server/README.md)
gone = wait_for(lambda: not [k for k in kid if os.path.exists("/proc/%d" % k)], 10.0)
try:
    so.settimeout(5)
    after = so.recv(100)
except OSError as e:
    after = repr(e)
so.close()
check("a client that shuts its connection down for writing while its child runs: the child is killed, "
      "and the connection closed without an answer",
      len(kid) == 1 and gone is not None and after == b"", (kid, after))
# A client that sent another request behind its dashboard request (not
# read by libmicrohttpd while the connection waits) and then closed the
# connection: gone all the same, its child killed at once.
so = ask_raw(H.port, "/dashboard/api/history", H.token)
wait_for(lambda: len(children(H.p.pid)) == 1, 5.0)
kid = children(H.p.pid)
so.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(0.5)
t0 = time.time()
so.close()
gone = wait_for(lambda: not [k for k in kid if os.path.exists("/proc/%d" % k)], 10.0)
check("a client that sends a second request behind its dashboard request, then closes: the child is killed "
      "within 10 s (the unread request does not keep it running to --request-timeout)",
      len(kid) == 1 and gone is not None and time.time() - t0 < 10, (kid, time.time() - t0))
counted = wait_for(lambda: gone_requests() == 5, 10.0)
s, _, b = req(H.port, "GET", "/metrics")
check("/metrics counts the fourth and fifth too, and none of the five as 503",
      counted is not None and b'route="/dashboard/api/history",status="503"' not in b, (gone_requests(), b[:3000]))
check("the server still answers, and stops with exit 0", req(H.port, "GET", "/health")[0] == 200 and H.stop() == 0)
# No thread to be had for a dashboard answer (pthread_create failing, as
# past a thread limit: tests/serve/fail_threads.c, preloaded): the job
# runs on the worker thread that read the request, as before there were
# job threads, and is answered all the same. Serve's own threads are made
# before the flag file exists.
SHIM = os.path.join(T, "fail_threads.so")
FLAG = os.path.join(T, "fail-threads")
cc = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", SHIM,
                     os.path.join(ROOT, "tests", "serve", "fail_threads.c"), "-ldl"],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
check("the pthread_create shim compiles", cc.returncode == 0, cc.stdout[-500:])
shim_env = {"LD_PRELOAD": SHIM, "STRUERE_TEST_FAIL_THREADS": FLAG,
            # an ASan build wants its runtime first; the shim only forwards
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}


def tasks(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def hanging_history():
    """One history request on the hanging store while its child runs:
    (whether the child ran, serve's threads meanwhile, the answer)."""
    got.clear()
    th = threading.Thread(target=hist, args=(0,))
    th.start()
    running = wait_for(lambda: len(children(H.p.pid)) == 1, 5.0)
    during = tasks(H.p.pid)
    th.join(30)
    return running, during, got.get(0, (0, {}, b"", 0))


H = Server("--store", HANG, "--dashboard", "--request-timeout", "3", env=shim_env, name="no-threads")
check("a server with pthread_create shimmed starts", H.port is not None, H.stderr())
open(FLAG, "w").close()
before = tasks(H.p.pid)
running, during, (s, h, b, took) = hanging_history()
check("no thread to be had: the dashboard child runs (no thread made for it) and its request is answered "
      "503 timeout at --request-timeout (3 s)",
      running is not None and during == before and s == 503 and is_error(b, "timeout") and 2.9 <= took < 15,
      (running, before, during, s, b[:200], took))
check("... the child is reaped", wait_for(lambda: not children(H.p.pid), 5.0) is not None, children(H.p.pid))
os.remove(FLAG)
running, during, _ = hanging_history()
check("the flag removed, the shim lets threads be made again: the child gets a thread of its own",
      running is not None and during == before + 1, (running, before, during))
H.stop()
H = Server("--dashboard", env=shim_env, name="no-threads-answer")
check("a server on the example store with pthread_create shimmed starts", H.port is not None, H.stderr())
open(FLAG, "w").close()
s, _, b = req(H.port, "GET", "/dashboard/api/history", key=H.token)
rc, out, _ = st("log", "--json")
os.remove(FLAG)
check("no thread to be had: the history is answered on the worker thread, as `struere log --json` prints it",
      s == 200 and rc == 0 and json.loads(b) == json.loads(out), (s, b[:300]))
check("... and the server stops with exit 0", H.stop() == 0)
# One worker thread (--threads 1): a child is waited for on a thread of
# its own, its connection suspended, so the worker goes on answering the
# others meanwhile: a kept-alive connection it served before, a new one.
# (While the worker itself waited for the child, every other request
# waited until the child was killed.)
H = Server("--store", HANG, "--dashboard", "--request-timeout", "5", "--threads", "1", name="hang-one-thread")
check("a server with one worker thread on the hanging store starts", H.port is not None, H.stderr())
kept = http.client.HTTPConnection("127.0.0.1", H.port, timeout=20)
kept.request("GET", "/health")
r0 = kept.getresponse()
r0.read()
got.clear()
th = threading.Thread(target=hist, args=(0,))
th.start()
hung = wait_for(lambda: len(children(H.p.pid)) == 1, 5.0)
try:
    kept.request("GET", "/health")
    r1 = kept.getresponse()
    r1.read()
    s1 = r1.status
except (OSError, http.client.HTTPException) as e:
    s1 = repr(e)
try:
    s2 = req(H.port, "GET", "/dashboard/api/environments", key=H.token, timeout=3)[0]
except (OSError, http.client.HTTPException) as e:
    s2 = repr(e)
pending = 0 not in got and len(children(H.p.pid)) == 1
check("one worker thread: while a dashboard child hangs, a kept-alive connection and a new one are answered, "
      "the child's request still waiting",
      hung is not None and r0.status == 200 and s1 == 200 and s2 == 200 and pending,
      (hung, s1, s2, got.get(0)))
kept.close()
th.join(60)
s, h, b, took = got.get(0, (0, {}, b"", 0))
check("one worker thread: the hanging child's request is then answered 503 timeout",
      s == 503 and is_error(b, "timeout") and 4.9 <= took < 15, (s, b[:200], took))
check("one worker thread: the killed child is reaped", wait_for(lambda: not children(H.p.pid), 5.0) is not None,
      children(H.p.pid))
H.stop()
# SIGTERM while a child hangs: the drain waits (20 s), then the child is
# killed, its request answered 503 stopping, and serve exits 0
H = Server("--store", HANG, "--dashboard", "--request-timeout", "120", name="hang-stop")
got.clear()
th = threading.Thread(target=hist, args=(0,))
th.start()
wait_for(lambda: children(H.p.pid), 5.0)
kids = children(H.p.pid)
# a kept-alive connection, open before SIGTERM: a dashboard answer asked
# on it during the drain starts no child (503 stopping at once)
kept = http.client.HTTPConnection("127.0.0.1", H.port, timeout=20)
kept.request("GET", "/health")
kept.getresponse().read()
t0 = time.time()
H.p.send_signal(signal.SIGTERM)
time.sleep(0.5)
try:
    kept.request("GET", "/dashboard/api/history", headers={"Authorization": "Bearer " + H.token})
    r1 = kept.getresponse()
    during = (r1.status, r1.read(), time.time() - t0)
except (OSError, http.client.HTTPException) as e:
    during = (repr(e), b"", time.time() - t0)
kept.close()
check("SIGTERM: a dashboard answer asked during the drain (kept-alive) is 503 stopping at once, no child started",
      during[0] == 503 and is_error(during[1], "stopping") and during[2] < 5 and len(children(H.p.pid)) <= 1,
      (during, children(H.p.pid)))
rc = H.stop(timeout=60)
took = time.time() - t0
th.join(60)
s, h, b, _ = got.get(0, (0, {}, b"", 0))
check("SIGTERM while a dashboard child hangs: answered 503 stopping after the drain, exit 0 within 25 s",
      rc == 0 and took < 25 and s == 503 and is_error(b, "stopping"), (rc, took, s, b[:200]))
check("... and its child (one while it hung) is gone, not left running",
      len(kids) == 1 and not [k for k in kids if os.path.exists("/proc/%d" % k)], kids)

# ---- --follow a bare remote -------------------------------------------------

REMOTE = os.path.join(T, "remote.git")
git("init", "-q", "--bare", REMOTE)


def push():
    git("push", "-q", "-f", REMOTE, "refs/heads/struere/*:refs/heads/struere/*", "refs/struere/*:refs/struere/*")


push()
tmp = os.path.join(T, "tmp")
os.makedirs(tmp, exist_ok=True)
F = Server("--follow", REMOTE, "--interval", "1", env={"TMPDIR": tmp}, name="follow")
check("--follow: starts from the remote", F.port is not None, F.stderr())
P = F.port
s, e, c, b = served("production")
check("--follow: answers from the remote's production commit", s == 200 and c == rev("production", cwd=REMOTE), (s, c))
open(fd, "w").write(text.replace("name: Front Desk", "name: Front Desk Three", 1))
st("dev")
COMMIT_C = rev("development")
push()
t = wait_for(lambda: served("development")[2] == COMMIT_C, 5.0)
check("--follow: a commit pushed to the remote is served within the interval", t is not None and t < 5.0, t)
maps = open("/proc/%d/maps" % F.p.pid).read()
check("--follow: the fetches (struere fetch, a child process) leave no libgit2 (nor libcrypto) in the server",
      "libgit2" not in maps and "libcrypto" not in maps,
      [l for l in maps.splitlines() if "libgit2" in l or "libcrypto" in l][:3])
rc = F.stop()
check("--follow: SIGTERM exits 0 and removes the mirror", rc == 0 and not os.listdir(tmp), (rc, os.listdir(tmp)))
env = dict(os.environ, TMPDIR=tmp)
nowhere = os.path.join(T, "no-such-remote.git")
p = subprocess.run([BIN, "serve", "--follow", nowhere, "--listen", "127.0.0.1:0"], env=env, cwd=T,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
err = p.stderr.decode()
check("--follow a remote that does not exist: exit 3 naming it and why, no mirror left",
      p.returncode == 3 and ("serve --follow %s: " % nowhere) in err and len(err.splitlines()) == 1 and
      not os.listdir(tmp), (p.returncode, err, os.listdir(tmp)))
# fetch --init: a store made where there was none, then the remote's refs
mirror = os.path.join(T, "mirror")
rc, out, err = st("--store", mirror, "fetch", REMOTE, cwd=T)
check("fetch into a place with no store: exit 3, nothing made", rc == 3 and not os.path.exists(mirror), (rc, err))
rc, out, err = st("--store", mirror, "fetch", "--init", REMOTE, cwd=T)
check("fetch --init makes the store and brings the remote's refs",
      rc == 0 and rev("production", cwd=mirror) == rev("production", cwd=REMOTE) and
      rev("development", cwd=mirror) == COMMIT_C, (rc, out, err))
rc, out, err = st("--store", mirror, "fetch", "--init", REMOTE, cwd=T)
check("fetch --init again: the same store, fetched again", rc == 0 and rev("development", cwd=mirror) == COMMIT_C, (rc, err))
inside = os.path.join(STORE, "hosts", "mirror")
rc, out, err = st("--store", inside, "fetch", "--init", REMOTE, cwd=T)
check("fetch --init inside another repository's work tree makes a repository there, not fetching into the outer one",
      rc == 0 and os.path.isdir(os.path.join(inside, ".git")) and rev("development", cwd=inside) == COMMIT_C,
      (rc, err, os.listdir(os.path.dirname(inside)) if os.path.isdir(os.path.dirname(inside)) else None))
shutil.rmtree(os.path.join(STORE, "hosts"))
# a relative remote and a relative TMPDIR (serve runs in STORE; the child in /)
F = Server("--follow", os.path.relpath(REMOTE, STORE), "--interval", "1",
           env={"TMPDIR": os.path.relpath(tmp, STORE)}, name="follow-relative")
check("--follow a relative path, TMPDIR relative: starts", F.port is not None, F.stderr())
P = F.port
s, e, c, b = served("production")
check("--follow a relative path: answers from the remote's production commit",
      s == 200 and c == rev("production", cwd=REMOTE), (s, c))
rc = F.stop()
check("--follow a relative path: SIGTERM exits 0 and removes the mirror", rc == 0 and not os.listdir(tmp), (rc, os.listdir(tmp)))
rc, out, err = st("fetch", "--bogus", REMOTE, cwd=T)
check("fetch --bogus REMOTE: exit 2 with the usage", rc == 2 and b"usage: struere fetch [--init] REMOTE" in err, (rc, err))

# usage errors
for args, pat in ((["--listen", "nowhere"], "ADDR:PORT"), (["--store", STORE, "--follow", REMOTE], "exclusive"),
                  (["--interval", "0"], "1 to 3600"), (["--bogus", "x"], "unknown option"),
                  (["--max-connections", "0"], "1 to 1000000"), (["--max-connections", "many"], "1 to 1000000"),
                  (["--request-timeout", "0"], "1 to 3600"), (["--request-timeout", "soon"], "1 to 3600"),
                  (["--dashboard-token-file", "/nonexistent"], "needs --dashboard")):
    rc, out, err = st("serve", *args)
    check("usage: serve %s is exit 2 naming the problem" % " ".join(args), rc == 2 and pat in err.decode(), (rc, err))
rc, out, err = st("serve", "--listen", "203.0.113.1:1")
check("a listen address that cannot be bound: exit 3 with the reason", rc == 3 and b"cannot listen" in err, (rc, err))
rc, out, err = st("serve", "--help")
check("serve --help", rc == 0 and b"usage: struere serve" in out)

print("serve: %d passed, %d failed" % (PASSED, FAILED))
sys.exit(1 if FAILED else 0)
