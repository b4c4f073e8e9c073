#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_blk and fuzz_virtio_scsi (input layout: fuzz_session.h)."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def rbuf(content, length=None):
    """A device-readable buffer of fresh guest memory holding content."""
    length = len(content) if length is None else length
    return struct.pack('<BH', 0, length) + content[:min(length, 64)]


def wbuf(length):
    return struct.pack('<BH', 1, length)


def req(bufs, indirect=False, batch=False):
    return bytes([len(bufs) - 1, (1 if indirect else 0) | (2 if batch else 0)]) + b''.join(bufs)


def batched(reqs):
    """The same requests, each made available before the previous one is answered."""
    return [r[:1] + bytes([r[1] | 2]) + r[2:] for r in reqs]


# ---- virtio-blk ----

def blk_hdr(t, sector):
    return struct.pack('<IIQ', t, 0, sector)


def blk_requests(indirect):
    data = bytes(range(64))
    return [
        req([rbuf(blk_hdr(1, 8)), rbuf(data, 4096), wbuf(1)], indirect),		# OUT
        req([rbuf(blk_hdr(0, 8)), wbuf(4096), wbuf(1)], indirect),		# IN
        req([rbuf(blk_hdr(4, 0)), wbuf(1)], indirect),				# FLUSH
        req([rbuf(blk_hdr(8, 0)), wbuf(20), wbuf(1)], indirect),			# GET_ID
        req([rbuf(blk_hdr(11, 0)), rbuf(struct.pack('<QII', 16, 8, 0)), wbuf(1)],
            indirect),								# DISCARD
        req([rbuf(blk_hdr(13, 0)), rbuf(struct.pack('<QII', 32, 8, 1)), wbuf(1)],
            indirect),								# WRITE_ZEROES
    ]


# ---- virtio-scsi ----

def lun(target, l=0):
    return bytes([1, target, 0x40 | (l >> 8), l & 0xff, 0, 0, 0, 0])


def scsi_cmd(cdb, target=0, tag=1):
    cdb = cdb + bytes(32 - len(cdb))
    return lun(target) + struct.pack('<QBBB', tag, 0, 0, 0) + cdb


def scsi_requests(indirect):
    resp = 108  # response header with 96 bytes of sense
    return [
        req([rbuf(scsi_cmd(bytes([0x12, 0, 0, 0, 96, 0]))), wbuf(resp), wbuf(96)],
            indirect),								# INQUIRY
        req([rbuf(scsi_cmd(bytes([0x00]))), wbuf(resp)], indirect),		# TEST UNIT READY
        req([rbuf(scsi_cmd(bytes([0x25]))), wbuf(resp), wbuf(8)], indirect),	# READ CAPACITY
        req([rbuf(scsi_cmd(bytes([0x2a, 0, 0, 0, 0, 8, 0, 0, 1, 0]))), rbuf(bytes(64), 512),
             wbuf(resp)], indirect),							# WRITE(10)
        req([rbuf(scsi_cmd(bytes([0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0]))), wbuf(resp),
             wbuf(512)], indirect),							# READ(10)
        req([rbuf(scsi_cmd(bytes([0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0]))), wbuf(resp),
             wbuf(256)], indirect),							# REPORT LUNS
        req([rbuf(scsi_cmd(bytes([0x03, 0, 0, 0, 96, 0]))), wbuf(resp), wbuf(96)],
            indirect),								# REQUEST SENSE
        req([rbuf(scsi_cmd(bytes([0x1a, 0, 0x3f, 0, 255, 0]))), wbuf(resp), wbuf(255)],
            indirect),								# MODE SENSE(6)
        req([rbuf(scsi_cmd(bytes([0x5e, 0, 0, 0, 0, 0, 0, 0, 255, 0]))), wbuf(resp),
             wbuf(255)], indirect),							# PR IN
    ]


def tmf(subtype, target=0):
    return struct.pack('<II', 0, subtype) + lun(target) + struct.pack('<Q', 1)


def an(event_requested, target=0):
    return struct.pack('<I', 1) + lun(target) + struct.pack('<I', event_requested)


def scsi_ctrl_requests():
    return [
        req([rbuf(tmf(0)), wbuf(1)]),			# ABORT TASK
        req([rbuf(tmf(5)), wbuf(1)]),			# LOGICAL UNIT RESET
        req([rbuf(tmf(4)), wbuf(1)]),			# I_T NEXUS RESET
        req([rbuf(tmf(8)), wbuf(1)]),			# QUERY TASK
        req([rbuf(an(0x10)), wbuf(8)]),			# AN QUERY
        req([rbuf(struct.pack('<I', 2) + lun(0) + struct.pack('<I', 0x10)), wbuf(8)]),
    ]


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', 'corpus')
    blk = os.path.join(corpus, 'blk')
    for mode, name in ((2, 'split_event_idx'), (1, 'packed'), (4, 'split_queue1'),
                       (11, 'packed_event_idx_no_indirect')):
        write(blk, name, bytes([mode]) + b''.join(blk_requests(False)))
    write(blk, 'split_indirect', bytes([2]) + b''.join(blk_requests(True)))
    write(blk, 'packed_indirect', bytes([3]) + b''.join(blk_requests(True)))
    # 1 + 201 + 1 buffers in one indirect table: more than a request's 128 inline iovecs.
    long_read = bytes([2, 16]) + rbuf(blk_hdr(0, 0)) + wbuf(512) + wbuf(1) + bytes([200])
    write(blk, 'split_long_chain', bytes([2]) + long_read + blk_requests(False)[2])
    write(blk, 'split_batch', bytes([2]) + b''.join(batched(blk_requests(False))))
    write(blk, 'packed_batch_indirect', bytes([1]) + b''.join(batched(blk_requests(True))))
    scsi = os.path.join(corpus, 'virtio_scsi')
    # Mode byte: bit 0 packed, bit 1 EVENT_IDX, bits 2-3 queue (0 request, 1 control,
    # 2 event), then requests; see fuzz_virtio_scsi.c.
    write(scsi, 'cmd_split', bytes([2]) + b''.join(scsi_requests(False)))
    write(scsi, 'cmd_packed_indirect', bytes([3]) + b''.join(scsi_requests(True)))
    write(scsi, 'cmd_packed_batch', bytes([1 | 12]) + b''.join(batched(scsi_requests(False))))
    write(scsi, 'ctrl_split', bytes([2 | 4]) + b''.join(scsi_ctrl_requests()))
    write(scsi, 'ctrl_packed', bytes([1 | 4]) + b''.join(scsi_ctrl_requests()))
    # WRITE(10) of 201 blocks from 201 data-out buffers (a chain longer than 128 iovecs).
    long_write = bytes([2, 16]) + rbuf(scsi_cmd(bytes([0x2a, 0, 0, 0, 0, 8, 0, 0, 201, 0]))) + \
        rbuf(bytes(64), 512) + wbuf(108) + bytes([200])
    write(scsi, 'cmd_long_chain', bytes([2]) + scsi_requests(False)[0] + long_write +
          scsi_requests(False)[4])
    # Commands in flight on request queue 2 while the control queue aborts and resets.
    def on_ctrl(r):
        return r[:1] + bytes([r[1] | 8]) + r[2:]
    ctrl = scsi_ctrl_requests()
    cmds = batched(scsi_requests(False))
    write(scsi, 'cmd_in_flight_tmf', bytes([2]) + cmds[3] + cmds[4] + on_ctrl(ctrl[0]) +
          cmds[3] + on_ctrl(ctrl[1]) + cmds[4] + on_ctrl(ctrl[2]) + scsi_requests(False)[0])
    # Event queue: buffers for events, then event triggers (fuzz_virtio_scsi.c).
    ev = b''.join(req([wbuf(16)]) for _ in range(4))
    trig = b''.join(bytes([0, 2]) + struct.pack('<IBI', e, t, r)
                    for e, t, r in ((1, 0, 1), (1, 1, 2), (2, 0, 0x10), (3, 1, 0)))
    write(scsi, 'event_split', bytes([2 | 8]) + ev + trig)
    write(scsi, 'event_packed_before_buffers', bytes([1 | 8]) + trig + ev)
    # Target 1 hot-removed between commands to it.
    cmds = scsi_requests(False)
    t1 = [c[:6] + bytes([1]) + c[7:] for c in cmds]  # LUN byte 1: target 1
    write(scsi, 'cmd_target1_hot_remove', bytes([2]) + t1[3] + bytes([0, 4]) + t1[4] + t1[0])


if __name__ == '__main__':
    main()
