#!/usr/bin/env python3
"""tamper.py: edits that keep every checksum a cache or object carries
consistent, as an attacker would make them (tests/store/run.sh,
cache_trust).

  tamper.py bundle FILE OLD NEW      OLD -> NEW (same length) everywhere in
                                     a bundle, then every section CRC and
                                     the header CRC recomputed (BUNDLE.md)
  tamper.py defs FILE OLD NEW KEY    the same in a definition cache, its
                                     HMAC recomputed under KEY (a file
                                     holding the key, or "random")
  tamper.py loose GITDIR ID FILE     the loose object ID now holds FILE's
                                     bytes (zlib, as git writes it)

Exits 1 when OLD is not found.
"""
import hashlib
import hmac
import os
import struct
import sys
import zlib


def replace(data, old, new):
    old, new = old.encode(), new.encode()
    assert len(old) == len(new), "OLD and NEW must have the same length"
    if old not in data:
        sys.exit("tamper.py: %r not found" % old)
    return data.replace(old, new)


def fix_bundle_crcs(b):
    b = bytearray(b)
    n = struct.unpack_from("<I", b, 16)[0]
    for i in range(n):
        e = 64 + 24 * i
        off, size = struct.unpack_from("<QQ", b, e + 8)
        struct.pack_into("<I", b, e + 4, zlib.crc32(bytes(b[off:off + size])))
    head = bytearray(b[:64])
    head[20:24] = b"\0\0\0\0"
    crc = zlib.crc32(bytes(head) + bytes(b[64:64 + 24 * n]))
    struct.pack_into("<I", b, 20, crc)
    return bytes(b)


def main():
    what = sys.argv[1]
    if what == "bundle":
        path, old, new = sys.argv[2:5]
        data = fix_bundle_crcs(replace(open(path, "rb").read(), old, new))
        open(path, "wb").write(data)
    elif what == "defs":
        path, old, new, keyfile = sys.argv[2:6]
        data = open(path, "rb").read()[:-32]
        key = os.urandom(32) if keyfile == "random" else open(keyfile, "rb").read()
        body = replace(data, old, new)
        tag = hmac.new(key, hashlib.sha256(body).digest(), hashlib.sha256).digest()
        open(path, "wb").write(body + tag)
    elif what == "loose":
        gitdir, oid, src = sys.argv[2:5]
        data = open(src, "rb").read()
        obj = os.path.join(gitdir, "objects", oid[:2], oid[2:])
        if not os.path.exists(obj):
            sys.exit("tamper.py: %s is not a loose object" % oid)
        os.chmod(obj, 0o644)
        open(obj, "wb").write(zlib.compress(b"blob %d\0" % len(data) + data, 1))
    else:
        sys.exit(__doc__)


main()
