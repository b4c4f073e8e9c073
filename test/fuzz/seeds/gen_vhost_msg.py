#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vhost_msg (input layout in fuzz_vhost_msg.c)."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1 << 20
UA = 0x7f0000000000
F_VERSION_1, F_PROTOCOL, F_PACKED, F_EVENT_IDX, F_INDIRECT = 1 << 32, 1 << 30, 1 << 34, \
    1 << 29, 1 << 28


def msg(req, payload=b'', files=()):
    return struct.pack('<BBHB', req, 1, len(payload), len(files)) + bytes(files) + payload


def u64(req, v):
    return msg(req, struct.pack('<Q', v))


def state(req, idx, num):
    return msg(req, struct.pack('<II', idx, num))


def mem_table(regions):
    """regions: (gpa, size, uaddr, offset, file selector)."""
    p = struct.pack('<II', len(regions), 0)
    for gpa, size, ua, off, _ in regions:
        p += struct.pack('<QQQQ', gpa, size, ua, off)
    return msg(5, p, [r[4] for r in regions])


def vring_addr(idx, desc, used, avail):
    return msg(9, struct.pack('<IIQQQQ', idx, 0, desc, used, avail, 0))


def queue_setup(idx, num, base, ua):
    return [state(8, idx, num), state(10, idx, base), vring_addr(idx, ua, ua + 0x3000,
                                                                  ua + 0x2000),
            u64(12, idx), u64(13, idx), state(18, idx, 1)]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', 'corpus', 'vhost_msg')
    os.makedirs(out, exist_ok=True)
    table = mem_table([(0, MIB, UA, 0, 3), (MIB, 64 * 1024, UA + 0x200000, 0, 2),
                       (0x10000000, MIB, UA + 0x400000, 4096, 4)])
    seeds = {
        'split_queue_setup': [u64(2, F_VERSION_1 | F_PROTOCOL | F_EVENT_IDX | F_INDIRECT),
                              u64(16, 1 << 0 | 1 << 3 | 1 << 9), table] +
        queue_setup(0, 256, 0, UA) + [state(11, 0, 0)],
        'packed_queue_setup': [u64(2, F_VERSION_1 | F_PROTOCOL | F_PACKED), table] +
        queue_setup(1, 100, 0x80008000, UA + 0x400000),
        'config_and_queue_num': [msg(24, struct.pack('<III', 0, 60, 0) + bytes(60)),
                                 msg(17), msg(24, struct.pack('<III', 20, 40, 0) + bytes(40))],
        # GET_INFLIGHT_FD, then SET_INFLIGHT_FD with a zeroed 64 KiB memfd (version 0: refused).
        'inflight_get_set': [u64(2, F_VERSION_1 | F_PROTOCOL | F_EVENT_IDX),
                             u64(16, 1 << 0 | 1 << 3 | 1 << 12),
                             msg(31, struct.pack('<QQHHI', 0, 0, 1, 64, 0)),
                             msg(32, struct.pack('<QQHHI', 1088, 0, 1, 64, 0), [2])],
        'small_table_ring_outside_refused': [table, msg(4), u64(2, F_VERSION_1),
                             mem_table([(0, 4096, UA, 0, 1)])] + queue_setup(63, 1, 0, UA),
    }
    for name, msgs in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(b''.join(msgs))


if __name__ == '__main__':
    main()
