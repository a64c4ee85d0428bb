#!/usr/bin/env python3
"""exhaustive.py STRUERE STORE [--fix] [--step N]

Single-byte corruption of the production bundle that `struere deploy`
would promote (tests/trust/run.sh): for every Nth byte offset of
bundles/production.stb in the development commit of STORE (all of them
with --step 1), a commit whose production.stb has that byte xor 0x01 and
whose manifest.json is unchanged (built in one `git fast-import`), then
`struere deploy --yes` with development moved to it. Every one must be
refused (exit 3, "refusing to move production") with production, the
promotions and the trust ref unmoved, and no verified-blob record left
for it. With --fix the CRC-32s are recomputed (stb.py) and only offsets
inside section bodies are tried: then a changed ASCII byte of STRS keeps
the bundle well-formed, and only the manifest's SHA-256 can refuse it
(the message must say "SHA-256").

Prints PASS/FAIL lines, the counts by refusal message, and ends with
"exhaustive: N passed, M failed".
"""
import hashlib
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stb  # noqa: E402


def git(store, *args, data=None):
    return subprocess.run(["git", "-C", store] + list(args), input=data,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=True).stdout


def refs(store):
    """The refs a refused deploy must leave alone."""
    out = git(store, "for-each-ref", "--format=%(refname) %(objectname)",
              "refs/heads/struere/production", "refs/struere/")
    return out.decode()


def category(msg):
    for key in ("SHA-256", "CRC", "not a JSON object", "UTF-8", "NUL",
                "padding", "sorted", "environment", "version", "magic",
                "size", "offset", "section", "string"):
        if key in msg:
            return key
    return "other"


def main(argv):
    args = argv[1:]
    fix = "--fix" in args
    step = 1
    if "--step" in args:
        step = int(args[args.index("--step") + 1])
    struere, store = args[0], args[1]
    dev = git(store, "rev-parse", "refs/heads/struere/development").decode().strip()
    prod = git(store, "rev-parse", "refs/heads/struere/production").decode().strip()
    bundle = git(store, "cat-file", "blob", dev + ":bundles/production.stb")
    secs = stb.sections(bundle)
    strs = [s for s in secs if s[0] == "STRS"][0]
    if fix:
        offsets = [o for _, _, off, size in secs for o in range(off, off + size)]
    else:
        offsets = list(range(len(bundle)))
    offsets = sorted(offsets)[::step]
    # One fast-import run builds every commit: each starts from dev's
    # tree (so manifest.json is dev's) with production.stb replaced.
    stream = bytearray()
    blobs = {}
    for i, off in enumerate(offsets):
        data = stb.flip(bundle, off, fix)
        blobs[off] = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        msg = b"tamper: byte %d" % off
        stream += b"commit refs/tamper/scratch\nmark :%d\n" % (i + 1)
        stream += b"committer Tamper <tamper@example.com> 1700000000 +0000\n"
        stream += b"data %d\n%s\nfrom %s\n" % (len(msg), msg, dev.encode())
        stream += b"M 100644 inline bundles/production.stb\n"
        stream += b"data %d\n%s\n" % (len(data), data)
    with tempfile.NamedTemporaryFile(delete=False) as marks:
        marks_path = marks.name
    git(store, "fast-import", "--quiet", "--export-marks=" + marks_path,
        data=bytes(stream))
    git(store, "update-ref", "-d", "refs/tamper/scratch")
    commits = {}
    for line in open(marks_path):
        mark, sha = line.split()
        commits[offsets[int(mark[1:]) - 1]] = sha
    os.unlink(marks_path)

    before = refs(store)
    passed = failed = 0
    wrong = []          # offsets not refused as the contract says
    by_cat = {}
    sha_wanted = sha_missing = 0
    for off in offsets:
        git(store, "update-ref", "refs/heads/struere/development", commits[off])
        p = subprocess.run([struere, "-C", store, "deploy", "--yes"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = p.stderr.decode(errors="replace")
        cat = category(err)
        by_cat[cat] = by_cat.get(cat, 0) + 1
        ok = (p.returncode == 3 and "refusing to move production" in err
              and refs(store) == before)
        # A changed ASCII character of a string keeps the bundle
        # well-formed: with CRCs right, only the digest can see it.
        if fix and strs[2] <= off < strs[2] + strs[3] and 0 < bundle[off] < 0x80:
            sha_wanted += 1
            if "SHA-256" not in err:
                sha_missing += 1
                ok = False
        if not ok:
            wrong.append((off, p.returncode, err.strip().splitlines()[:2]))
    git(store, "update-ref", "refs/heads/struere/development", dev)
    what = "with CRCs recomputed, section bodies" if fix else "CRCs as they were"
    print("%d offsets of %d bytes tried (%s, every %d)" %
          (len(offsets), len(bundle), what, step))
    for cat in sorted(by_cat):
        print("  refused with '%s' in the message: %d" % (cat, by_cat[cat]))
    if wrong:
        failed += 1
        print("FAIL exhaustive %s: %d not refused as expected" % (what, len(wrong)))
        for off, rc, lines in wrong[:10]:
            print("    offset %d: exit %d %s" % (off, rc, lines))
    else:
        passed += 1
        print("PASS exhaustive %s: %d of %d offsets refused (exit 3, refs unmoved)"
              % (what, len(offsets), len(offsets)))
    if fix:
        if sha_wanted and not sha_missing:
            passed += 1
            print("PASS %d string-byte changes with right CRCs refused by the "
                  "manifest's SHA-256" % sha_wanted)
        else:
            failed += 1
            print("FAIL SHA-256 check: %d of %d string-byte changes without "
                  "'SHA-256' in the message" % (sha_missing, sha_wanted))
    if git(store, "rev-parse", "refs/heads/struere/production").decode().strip() == prod:
        passed += 1
        print("PASS production still at %.12s" % prod)
    else:
        failed += 1
        print("FAIL production moved")
    vdir = os.path.join(git(store, "rev-parse", "--absolute-git-dir").decode().strip(),
                        "struere", "verified")
    recorded = set(os.listdir(vdir)) if os.path.isdir(vdir) else set()
    leaked = [off for off in offsets if blobs[off] in recorded]
    if leaked:
        failed += 1
        print("FAIL verified records written for tampered blobs at offsets %s"
              % leaked[:10])
    else:
        passed += 1
        print("PASS no verified-blob record for any tampered bundle")
    print("exhaustive: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
