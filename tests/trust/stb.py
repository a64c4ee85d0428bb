#!/usr/bin/env python3
"""stb.py - bundle surgery for the trust tests, from runtime/BUNDLE.md
alone: the section table, a byte changed, and the CRC-32s (zlib's crc32)
recomputed so that only the manifest's SHA-256 can tell.

  stb.py sections FILE              "ID OFFSET SIZE" per section
  stb.py flip IN OUT OFFSET [--fix] OUT is IN with byte OFFSET xor 0x01;
                                    --fix recomputes every CRC
  stb.py fix IN OUT                 IN with every CRC recomputed
  stb.py replace IN OUT OLD NEW     OUT is IN with the first OLD (text) made
                                    NEW (as long), every CRC recomputed
  stb.py at FILE ID [letter]        the offset of section ID's first byte;
                                    with letter, of the first a-z byte
                                    from the middle of the section on
"""
import struct
import sys
import zlib

HEADER = 64
ENTRY = 24


def sections(data):
    """[(id, crc, offset, size)] of the section table."""
    count = struct.unpack_from("<I", data, 16)[0]
    out = []
    for i in range(count):
        sid, crc, off, size = struct.unpack_from("<4sIQQ", data, HEADER + ENTRY * i)
        out.append((sid.decode("latin-1"), crc, off, size))
    return out


def fix_crcs(data):
    """The bundle with each section's CRC and then the header CRC made
    right for the bytes it holds (BUNDLE.md: header CRC over the 64 header
    bytes with the field zero, then the section table)."""
    b = bytearray(data)
    count = struct.unpack_from("<I", b, 16)[0]
    for i in range(count):
        at = HEADER + ENTRY * i
        _, _, off, size = struct.unpack_from("<4sIQQ", b, at)
        struct.pack_into("<I", b, at + 4, zlib.crc32(bytes(b[off:off + size])))
    struct.pack_into("<I", b, 20, 0)
    crc = zlib.crc32(bytes(b[:HEADER + ENTRY * count]))
    struct.pack_into("<I", b, 20, crc)
    return bytes(b)


def flip(data, offset, fix=False):
    b = bytearray(data)
    b[offset] ^= 0x01
    return fix_crcs(bytes(b)) if fix else bytes(b)


def main(argv):
    if len(argv) == 3 and argv[1] == "sections":
        for sid, _, off, size in sections(open(argv[2], "rb").read()):
            print(sid, off, size)
        return 0
    if len(argv) in (5, 6) and argv[1] == "flip":
        data = open(argv[2], "rb").read()
        open(argv[3], "wb").write(flip(data, int(argv[4]), argv[5:] == ["--fix"]))
        return 0
    if len(argv) == 4 and argv[1] == "fix":
        open(argv[3], "wb").write(fix_crcs(open(argv[2], "rb").read()))
        return 0
    if len(argv) == 6 and argv[1] == "replace":
        data = open(argv[2], "rb").read()
        old, new = argv[4].encode(), argv[5].encode()
        at = data.find(old)
        if at < 0 or len(old) != len(new):
            sys.stderr.write("replace: not found, or not as long\n")
            return 1
        data = data[:at] + new + data[at + len(old):]
        open(argv[3], "wb").write(fix_crcs(data))
        return 0
    if len(argv) in (4, 5) and argv[1] == "at":
        data = open(argv[2], "rb").read()
        for sid, _, off, size in sections(data):
            if sid != argv[3]:
                continue
            if argv[4:] != ["letter"]:
                print(off)
                return 0
            for o in range(off + size // 2, off + size):
                if 0x61 <= data[o] <= 0x7A:
                    print(o)
                    return 0
        return 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
