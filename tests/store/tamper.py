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
  tamper.py cached GITDIR OLD NEW [DIR]
                                     in each bundle of dev's bundle cache
                                     (compiler/bundle_cache.c: an index
                                     per bundle, its pieces as files named
                                     by their SHA-256), OLD -> NEW where
                                     found, every CRC recomputed, the
                                     pieces rewritten in place (their
                                     names kept); DIR: each edited
                                     bundle, whole, as DIR/<blob id>.stb
  tamper.py renamed GITDIR OLD NEW   as cached, but each edited piece is
                                     written under the SHA-256 of its new
                                     bytes and the indexes name those,
                                     sealed with the store's key: every
                                     piece is what its name says, only the
                                     bundle's digest is not the manifest's
  tamper.py pieces GITDIR ID         the paths of blob ID's cached pieces,
                                     in order
  tamper.py defs-state FILE          what a definition cache FILE and its
                                     delta FILE.delta (when it names FILE)
                                     hold together, read from
                                     compiler/defcache.c's layout: a line
                                     "R PATH SHA256" per record and
                                     "X PATH SHA256" per result of the
                                     checks between definitions
  tamper.py index GITDIR ID HOW      blob ID's index made malformed: HOW is
                                     magic, short, count, zero, long, sum
                                     or huge (65,536 entries of 256 KiB
                                     naming its first piece), build
                                     (another compiler's), id (another
                                     blob's id in it) or digest (other
                                     bytes' SHA-256 in it), each sealed
                                     again with the store's key; or
                                     forged (the last piece's bytes
                                     copied under another name the index
                                     now gives, not sealed again)

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


# compiler/bundle_cache.c: "STRBIDX3" | the compiler's build (32) | blob id |
# the bytes' SHA-256 | u64 total | u32 count | count x (u32 length |
# sha256) | seal
IDX_HEAD = 8 + 32 + 40 + 32 + 8 + 4


def read_index(gitdir, blob):
    return open(os.path.join(gitdir, "struere", "bundles", blob + ".idx"), "rb").read()


def cache_index(gitdir, blob):
    """The (length, path) of each piece of the cached bundle of blob."""
    d = read_index(gitdir, blob)
    assert d[:8] == b"STRBIDX3", "not an index"
    assert d[40:80] == blob.encode(), "another blob's index"
    count = struct.unpack_from("<I", d, 120)[0]
    pieces = []
    for i in range(count):
        n, = struct.unpack_from("<I", d, IDX_HEAD + 36 * i)
        name = d[IDX_HEAD + 4 + 36 * i:IDX_HEAD + 36 + 36 * i].hex()
        pieces.append((n, os.path.join(gitdir, "struere", "chunks", name)))
    return pieces


def sealed(key, body):
    """body and its seal under key, as cache_file_seal makes it."""
    return body + hmac.new(key, hashlib.sha256(body).digest(), hashlib.sha256).digest()


def seal(gitdir, body):
    """body sealed under the store's cache key: what only someone holding
    the key can make."""
    return sealed(open(os.path.join(gitdir, "struere", "key"), "rb").read(), body)


def write_index(gitdir, blob, build, digest, entries):
    """blob's index written by build, of bytes whose SHA-256 is digest,
    naming entries, (length, sha256 bytes) in order, sealed with the
    store's key."""
    body = b"".join(struct.pack("<I", n) + d for n, d in entries)
    head = b"STRBIDX3" + build + blob.encode() + digest + struct.pack("<QI", sum(n for n, _ in entries), len(entries))
    open(os.path.join(gitdir, "struere", "bundles", blob + ".idx"), "wb").write(seal(gitdir, head + body))


def tamper_cached(gitdir, old, new, out, rename=False):
    edited = 0
    for name in sorted(os.listdir(os.path.join(gitdir, "struere", "bundles"))):
        if not name.endswith(".idx"):
            continue
        pieces = cache_index(gitdir, name[:-4])
        data = b"".join(open(path, "rb").read() for _, path in pieces)
        if old.encode() not in data:
            continue
        data = fix_bundle_crcs(replace(data, old, new))
        at, entries = 0, []
        for n, path in pieces:
            piece = data[at:at + n]
            if rename:
                digest = hashlib.sha256(piece).digest()
                path = os.path.join(os.path.dirname(path), digest.hex())
                entries.append((n, digest))
            open(path, "wb").write(piece)
            at += n
        if rename:
            build = read_index(gitdir, name[:-4])[8:40]
            write_index(gitdir, name[:-4], build, hashlib.sha256(data).digest(), entries)
        edited += 1
        if out:
            open(os.path.join(out, name[:-4] + ".stb"), "wb").write(data)
    if not edited:
        sys.exit("tamper.py: %r is in no cached bundle" % old)


def break_index(gitdir, blob, how):
    """Malformed as HOW says and sealed again with the store's key (as
    only its holder can: the reader's checks past the seal are what is
    tested), except for forged (a piece's bytes copied under another
    name, which the index now gives, the seal left as it was: the whole
    bundle still has the manifest's SHA-256) and short (cut before the
    seal). build, id and digest: the compiler's build, the blob's id or
    its bytes' SHA-256 in the index changed to another's (the pieces are
    still the bundle's)."""
    bundles = os.path.join(gitdir, "struere", "bundles")
    path = os.path.join(bundles, blob + ".idx")
    d = bytearray(open(path, "rb").read())
    d, tag = d[:-32], d[-32:]
    total, count = struct.unpack_from("<QI", d, 112)
    n0, = struct.unpack_from("<I", d, IDX_HEAD)
    if how == "magic":
        d[0] ^= 1
    elif how == "short":
        open(path, "wb").write(bytes(d[:30]))
        return
    elif how == "count":
        struct.pack_into("<I", d, 120, count + 1)
    elif how == "zero":
        struct.pack_into("<I", d, IDX_HEAD, 0)
        struct.pack_into("<Q", d, 112, total - n0)
    elif how == "long":
        struct.pack_into("<I", d, IDX_HEAD, 256 * 1024 + 1)
        struct.pack_into("<Q", d, 112, total - n0 + 256 * 1024 + 1)
    elif how == "sum":
        struct.pack_into("<Q", d, 112, total + 1)
    elif how == "huge":
        write_index(gitdir, blob, bytes(d[8:40]), bytes(d[80:112]),
                    [(256 * 1024, bytes(d[IDX_HEAD + 4:IDX_HEAD + 36]))] * 65536)
        return
    elif how == "build":
        d[8] ^= 1
    elif how == "id":
        d[40:80] = ("0" * 40 if blob != "0" * 40 else "1" * 40).encode()
    elif how == "digest":
        d[80] ^= 1
    elif how == "forged":
        # the last piece's bytes under another name, which the index now
        # gives as its SHA-256: the pieces still make up the bundle, and
        # only the seal (left as it was) says the name is not the bytes'
        n = count - 1
        at = IDX_HEAD + 36 * n + 4
        chunks = os.path.join(gitdir, "struere", "chunks")
        piece = open(os.path.join(chunks, bytes(d[at:at + 32]).hex()), "rb").read()
        name = hashlib.sha256(b"forged" + piece).digest()
        open(os.path.join(chunks, name.hex()), "wb").write(piece)
        d[at:at + 32] = name
        open(path, "wb").write(bytes(d + tag))
        return
    else:
        sys.exit("tamper.py: no such way to break an index: " + how)
    open(path, "wb").write(seal(gitdir, bytes(d)))


def read_uv(d, p):
    v = shift = 0
    while True:
        b = d[p]
        p += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return v, p


def read_str(d, p):
    n, p = read_uv(d, p)
    assert d[p + n] == 0, "a str not NUL-terminated"
    return d[p:p + n].decode(), p + n + 1


def read_cache(d, magic, envs=3):
    """(base MAC named or None, {path: (kind, sha)}, {path: sha}) of one
    file of the definition cache (the MAC itself is not checked)."""
    assert d[:8] == magic, "not a %r file" % magic
    p = 12
    for _ in range(2):
        _, p = read_str(d, p)
    base = None
    if magic == b"STRDDLT1":
        base, p = d[p:p + 32], p + 32
    end = len(d) - 32
    (count,) = struct.unpack_from("<Q", d, p)
    p += 8
    records = {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", d, p)
        path, q = read_str(d, p + 4)
        kind = d[q]
        sha = d[q + 2 + 40:q + 2 + 40 + 32].hex() if kind != 0xFF else None
        records.setdefault(path, sha)  # the first of a path counts
        p += 4 + n
    xchecks = {}
    if p < end:
        p += 32
        (nx,) = struct.unpack_from("<Q", d, p)
        p += 8
        for _ in range(nx):
            path, p = read_str(d, p)
            sha = d[p:p + 32].hex()
            p += 32
            for _ in range(envs):
                (n,) = struct.unpack_from("<I", d, p)
                p += 4 + n
            xchecks.setdefault(path, None if sha == "0" * 64 else sha)
    assert p == end, "the file does not end where its entries do"
    return base, records, xchecks


def defs_state(path):
    base = open(path, "rb").read()
    _, records, xchecks = read_cache(base, b"STRDEFS3")
    if os.path.exists(path + ".delta"):
        named, r2, x2 = read_cache(open(path + ".delta", "rb").read(),
                                   b"STRDDLT1")
        if named == base[-32:]:
            records.update(r2)
            xchecks.update(x2)
    for path, sha in sorted(records.items()):
        if sha:
            print("R", path, sha)
    for path, sha in sorted(xchecks.items()):
        if sha:
            print("X", path, sha)


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
        open(path, "wb").write(sealed(key, replace(data, old, new)))
    elif what == "loose":
        gitdir, oid, src = sys.argv[2:5]
        data = open(src, "rb").read()
        obj = os.path.join(gitdir, "objects", oid[:2], oid[2:])
        if not os.path.exists(obj):
            sys.exit("tamper.py: %s is not a loose object" % oid)
        os.chmod(obj, 0o644)
        open(obj, "wb").write(zlib.compress(b"blob %d\0" % len(data) + data, 1))
    elif what == "cached":
        tamper_cached(sys.argv[2], sys.argv[3], sys.argv[4],
                      sys.argv[5] if len(sys.argv) > 5 else None)
    elif what == "renamed":
        tamper_cached(sys.argv[2], sys.argv[3], sys.argv[4], None, rename=True)
    elif what == "index":
        break_index(*sys.argv[2:5])
    elif what == "defs-state":
        defs_state(sys.argv[2])
    elif what == "pieces":
        for _, path in cache_index(sys.argv[2], sys.argv[3]):
            print(path)
    else:
        sys.exit(__doc__)


main()
