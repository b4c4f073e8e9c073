#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_virtqueue (see the input layout in fuzz_virtqueue.c)."""
import os
import struct
import sys

NEXT, WRITE, INDIRECT = 1, 2, 4
P_AVAIL, P_USED = 1 << 7, 1 << 15
R0 = 0x4000
DRIVER, DEVICE = 0x1000, 0x1800


def split_desc(addr, length, flags, nxt):
    return struct.pack('<QIHH', addr, length, flags, nxt)


def packed_desc(addr, length, id_, flags):
    return struct.pack('<QIHH', addr, length, id_, flags)


def put(mem, off, b):
    mem[off:off + len(b)] = b


# Three request shapes: a blk-like chain, the same through an indirect table, and a buffer that
# spans regions 0 and 1.
CHAINS = [
    [(0x2000, 16, False), (0x2100, 512, True), (0x2400, 1, True)],
    [(0x2500, 16, False), (0x2600, 0x900, True)],
    [(0x3f00, 0x200, False), (0x2f00, 1, True)],
]
TABLE = 0x3000


def split_seed(size, features, ops, indirect_chain):
    mem = bytearray(R0)
    d = 0
    heads = []
    for c in CHAINS:
        heads.append(d)
        for i, (a, n, w) in enumerate(c):
            put(mem, d * 16, split_desc(a, n, (WRITE if w else 0) |
                                        (NEXT if i + 1 < len(c) else 0), d + 1))
            d += 1
    if indirect_chain:
        heads.append(d)
        c = CHAINS[0]
        put(mem, d * 16, split_desc(TABLE, 16 * len(c), INDIRECT, 0))
        for i, (a, n, w) in enumerate(c):
            put(mem, TABLE + i * 16, split_desc(a, n, (WRITE if w else 0) |
                                                (NEXT if i + 1 < len(c) else 0), i + 1))
    put(mem, DRIVER, struct.pack('<HH', 0, len(heads)))
    for i, h in enumerate(heads):
        put(mem, DRIVER + 4 + 2 * i, struct.pack('<H', h))
    hdr = bytes([features, 3 if size == 8 else 4, 0, 0, 0, 0, len(ops)]) + bytes(ops)
    return hdr + bytes(mem[:TABLE + 0x100]).rstrip(b'\0')


def packed_seed(size, features, ops, indirect_chain):
    mem = bytearray(R0)
    s = 0
    for bid, c in enumerate(CHAINS):
        for i, (a, n, w) in enumerate(c):
            put(mem, s * 16, packed_desc(a, n, bid, P_AVAIL | (WRITE if w else 0) |
                                         (NEXT if i + 1 < len(c) else 0)))
            s += 1
    if indirect_chain:
        c = CHAINS[0]
        put(mem, s * 16, packed_desc(TABLE, 16 * len(c), 5, P_AVAIL | INDIRECT))
        for i, (a, n, w) in enumerate(c):
            put(mem, TABLE + i * 16, packed_desc(a, n, 0, WRITE if w else 0))
    hdr = bytes([features | 1, size - 1, 0, 0x80, 0, 0x80, len(ops)]) + bytes(ops)
    return hdr + bytes(mem[:TABLE + 0x100]).rstrip(b'\0')


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), '..', 'corpus', 'virtqueue')
    os.makedirs(out, exist_ok=True)
    seeds = {
        'split_drain_publish': split_seed(8, 2, [1, 2, 3], True),
        'split_event_idx_one_by_one': split_seed(16, 6, [0, 2, 0, 0, 2, 7, 0, 6, 3], True),
        'split_no_indirect_feature': split_seed(8, 0, [1, 2], True),
        'packed_drain_publish': packed_seed(8, 2, [1, 2, 3], True),
        'packed_held_out_of_order': packed_seed(16, 6, [5, 6, 3, 0, 2, 7], True),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
