#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpora of the host-side harnesses into test/fuzz/corpus/:
scsi_cmd/ (one valid command of each family, in the input format fuzz_scsi_cmd.c describes),
json_rpc/ (a valid request of each method fuzz_json_rpc.c calls) and config/ (the default
configuration, as `vtarget --print-default-config` prints it, and smaller valid ones).

Seeds are named seed-*; regression inputs (crashes found by fuzzing) are named regress-* and are
not touched. Run from anywhere: python3 test/fuzz/gen_host_corpus.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(sub, name, data):
    d = os.path.join(CORPUS, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- fuzz_scsi_cmd ------------------------------------------------------------------------

READ_ONLY, SECOND_LUN, CLEAR_UA_A, CLEAR_UA_B, NULL_BDEV = 1, 2, 4, 8, 16
SAN_FAILED, SAN_AUSE, SPC2 = 32, 64, 128
OUT, IN, NONE = 1, 2, 0
WAIT = 0x20


def state(flags=CLEAR_UA_A | CLEAR_UA_B, bs_idx=0, phys=0, wce=True, dsense=False, blocks=127,
          ua_a=0, ua_b=0, pr=0, san=0):
    geom = bs_idx | (phys << 2) | (0x10 if wce else 0) | (0x20 if dsense else 0)
    return bytes([flags, geom]) + struct.pack(">I", blocks) + bytes([ua_a, ua_b, pr, san])


def cmd(cdb, direction=NONE, data=b"", length=None, port_b=False, lun=0, wait=True, split=0):
    if length is None:
        length = len(data)
    op = (direction << 6) | (WAIT if wait else 0) | (lun << 3) | (4 if port_b else 0)
    cdb = bytes(cdb)
    return (bytes([op, len(cdb) - 6]) + cdb + struct.pack(">H", length) + bytes([split]) +
            (data if direction == OUT else b""))


def tmf(func, tag=0, port_b=False, lun=0, wait=True):
    op = 3 | (WAIT if wait else 0) | (lun << 3) | (4 if port_b else 0)
    return bytes([op, func, tag])


def be(n, v):
    return v.to_bytes(n, "big")


def rw10(op, lba, n, flags=0):
    return [op, flags] + list(be(4, lba)) + [0] + list(be(2, n)) + [0]


def rw16(op, lba, n, flags=0):
    return [op, flags] + list(be(8, lba)) + list(be(4, n)) + [0, 0]


def prout(sa, type_, key, sa_key):
    params = be(8, key) + be(8, sa_key) + bytes(8)
    return cmd([0x5F, sa, type_, 0, 0] + list(be(4, 24)) + [0], OUT, params)


def designator(lun):
    u = bytes(16 * lun + i + 1 for i in range(16))
    return bytes([0x60 | (u[0] & 0x0F)]) + u[1:]


def xcopy_list(nblocks=4, src_lba=0, dst_lba=32):
    cscds = b""
    for lun in (0, 1):
        d = bytes([0xE4, 0, 0, 0, 0x01, 0x03, 0, 16]) + designator(lun) + bytes(4)
        d += bytes([0]) + be(3, 512)
        cscds += d
    seg = bytes([0x02, 0]) + be(2, 0x18) + be(2, 0) + be(2, 1) + bytes(2) + be(2, nblocks)
    seg += be(8, src_lba) + be(8, dst_lba)
    hdr = bytes([1, 0]) + be(2, len(cscds)) + bytes(4) + be(4, len(seg)) + be(4, 0)
    return hdr + cscds + seg


def scsi_seeds():
    bs = 512
    blk = bytes(range(256)) * 2
    s = {}
    s["tur"] = state() + cmd([0x00, 0, 0, 0, 0, 0])
    s["tur_ua"] = state(flags=0) + cmd([0x00, 0, 0, 0, 0, 0]) + cmd([0x00] + [0] * 5)
    s["request_sense"] = state(flags=0) + cmd([0x03, 0, 0, 0, 252, 0], IN, length=252)
    s["inquiry_std"] = state() + cmd([0x12, 0, 0, 0, 255, 0], IN, length=255)
    for page in (0x00, 0x80, 0x83, 0x86, 0x8F, 0xB0, 0xB1, 0xB2):
        s["inquiry_vpd_%02x" % page] = state() + cmd([0x12, 1, page, 0, 255, 0], IN,
                                                     length=255)
    s["inquiry_no_lun"] = state() + cmd([0x12, 0, 0, 0, 96, 0], IN, length=96, lun=2)
    s["report_luns"] = state(flags=SECOND_LUN) + cmd([0xA0, 0, 0, 0, 0, 0] + list(be(4, 256)) +
                                                     [0, 0], IN, length=256)
    s["mode_sense6_all"] = state() + cmd([0x1A, 0, 0x3F, 0, 255, 0], IN, length=255)
    s["mode_sense10_all"] = state() + cmd([0x5A, 0, 0x3F, 0, 0, 0, 0, 0x04, 0, 0], IN,
                                          length=1024)
    caching = bytes([0x08, 0x12, 0x04]) + bytes(17)
    s["mode_select6_caching"] = state() + cmd([0x15, 0x10, 0, 0, 4 + len(caching), 0], OUT,
                                              bytes(4) + caching)
    control = bytes([0x0A, 0x0A, 0x04]) + bytes(9)
    s["mode_select10_control"] = state() + cmd([0x55, 0x10, 0, 0, 0, 0, 0, 0, 8 + len(control),
                                                0], OUT, bytes(8) + control)
    s["read_capacity10"] = state() + cmd([0x25] + [0] * 9, IN, length=8)
    s["read_capacity16"] = state() + cmd([0x9E, 0x10] + [0] * 8 + list(be(4, 32)) + [0, 0], IN,
                                         length=32)
    s["get_lba_status"] = state() + cmd([0x9E, 0x12] + [0] * 8 + list(be(4, 64)) + [0, 0], IN,
                                        length=64)
    s["read6"] = state() + cmd([0x08, 0, 0, 1, 2, 0], IN, length=2 * bs)
    s["write6"] = state() + cmd([0x0A, 0, 0, 1, 1, 0], OUT, blk)
    s["write10_read10"] = (state() + cmd(rw10(0x2A, 3, 1), OUT, blk) +
                           cmd(rw10(0x28, 3, 1), IN, length=bs, split=0x15))
    s["write12_fua"] = state() + cmd([0xAA, 0x08] + list(be(4, 5)) + list(be(4, 1)) + [0, 0],
                                     OUT, blk)
    s["read12"] = state() + cmd([0xA8, 0] + list(be(4, 0)) + list(be(4, 2)) + [0, 0], IN,
                                length=2 * bs)
    s["write16_read16"] = (state() + cmd(rw16(0x8A, 7, 1), OUT, blk) +
                           cmd(rw16(0x88, 7, 1), IN, length=bs))
    s["read16_4k"] = state(bs_idx=3, phys=1) + cmd(rw16(0x88, 1, 1), IN, length=4096)
    s["read10_out_of_range"] = state() + cmd(rw10(0x28, 0xFFFFFFFF, 1), IN, length=bs)
    s["verify10_bytchk"] = (state() + cmd(rw10(0x2A, 2, 1), OUT, blk) +
                            cmd(rw10(0x2F, 2, 1, 0x02), OUT, blk))
    s["verify16"] = state() + cmd(rw16(0x8F, 0, 4), NONE)
    s["write_verify10"] = state() + cmd(rw10(0x2E, 9, 1), OUT, blk)
    s["write_verify16"] = state() + cmd(rw16(0x8E, 9, 1), OUT, blk)
    s["prefetch10"] = state() + cmd(rw10(0x34, 0, 8))
    s["prefetch16"] = state() + cmd(rw16(0x90, 0, 8))
    s["sync_cache10"] = state() + cmd(rw10(0x35, 0, 0))
    s["sync_cache16"] = state() + cmd(rw16(0x91, 0, 0))
    unmap = be(2, 22) + be(2, 16) + bytes(4) + be(8, 4) + be(4, 8) + bytes(4)
    s["unmap"] = state() + cmd([0x42, 0, 0, 0, 0, 0, 0] + list(be(2, len(unmap))) + [0], OUT,
                               unmap)
    s["unmap_null"] = state(flags=NULL_BDEV | CLEAR_UA_A | CLEAR_UA_B, blocks=0x7FFFFFFF) + \
        cmd([0x42, 0, 0, 0, 0, 0, 0] + list(be(2, len(unmap))) + [0], OUT, unmap)
    s["write_same10"] = state() + cmd(rw10(0x41, 0, 16), OUT, blk)
    s["write_same16_unmap"] = state() + cmd(rw16(0x93, 16, 16, 0x08), OUT, blk)
    s["write_same16_ndob"] = state() + cmd(rw16(0x93, 0, 0x20, 0x09))
    caw = [0x89, 0] + list(be(8, 4)) + [0, 0, 0, 1, 0, 0]
    s["compare_and_write"] = (state() + cmd(rw10(0x2A, 4, 1), OUT, blk) +
                              cmd(caw, OUT, blk + blk))
    s["orwrite16"] = state() + cmd(rw16(0x8B, 1, 1), OUT, blk)
    s["write_atomic16"] = state() + cmd([0x9C, 0] + list(be(8, 2)) + [0, 0] + list(be(2, 1)) +
                                        [0, 0], OUT, blk)
    s["read_defect10"] = state() + cmd([0x37, 0, 0x18, 0, 0, 0, 0, 0, 8, 0], IN, length=8)
    s["read_defect12"] = state() + cmd([0xB7, 0x18] + [0] * 4 + list(be(4, 8)) + [0, 0], IN,
                                       length=8)
    s["report_opcodes_all"] = state() + cmd([0xA3, 0x0C, 0, 0, 0, 0] + list(be(4, 8192)) +
                                            [0, 0], IN, length=8192)
    s["report_opcodes_one"] = state() + cmd([0xA3, 0x0C, 2, 0x89, 0, 0] + list(be(4, 64)) +
                                            [0, 0], IN, length=64)
    s["report_opcodes_sa"] = state() + cmd([0xA3, 0x0C, 3, 0x9E, 0, 0x10] + list(be(4, 64)) +
                                           [0, 0], IN, length=64)
    s["start_stop"] = state() + cmd([0x1B, 0, 0, 0, 1, 0])
    s["prevent_allow"] = state() + cmd([0x1E, 0, 0, 0, 1, 0]) + cmd([0x1E, 0, 0, 0, 0, 0])
    s["reserve6_conflict"] = (state() + cmd([0x16, 0, 0, 0, 0, 0]) +
                              cmd(rw10(0x28, 0, 1), IN, length=bs, port_b=True) +
                              cmd([0x17, 0, 0, 0, 0, 0]))
    s["reserve10_release10"] = (state() + cmd([0x56] + [0] * 9) +
                                cmd([0x57] + [0] * 9))
    s["spc2_state"] = state(flags=SPC2 | CLEAR_UA_B) + cmd(rw10(0x2A, 0, 1), OUT, blk,
                                                           port_b=True)
    # Persistent reservations: every PR IN service action, every PR OUT one.
    for sa in range(4):
        s["prin_%d" % sa] = state(pr=0x01 | (1 << 2)) + cmd([0x5E, sa, 0, 0, 0, 0, 0, 0x04, 0,
                                                              0], IN, length=1024)
    s["prout_register_reserve"] = (state() + prout(0, 0, 0, 0x1234) + prout(1, 1, 0x1234, 0) +
                                   cmd(rw10(0x2A, 0, 1), OUT, blk, port_b=True))
    s["prout_release"] = state(pr=0x01 | (2 << 2)) + prout(2, 3, 0xAAAA, 0)
    s["prout_clear"] = state(pr=0x03 | (3 << 2)) + prout(3, 0, 0xAAAA, 0)
    s["prout_preempt"] = (state(pr=0x03 | (1 << 2)) +
                          cmd([0x5F, 4, 1, 0, 0] + list(be(4, 24)) + [0], OUT,
                              be(8, 0xBBBB) + be(8, 0xAAAA) + bytes(8), port_b=True))
    s["prout_preempt_abort"] = (state(pr=0x03 | (5 << 2)) +
                                cmd(rw10(0x28, 0, 64), IN, length=64 * bs, wait=False) +
                                cmd([0x5F, 5, 7, 0, 0] + list(be(4, 24)) + [0], OUT,
                                    be(8, 0xBBBB) + be(8, 0xAAAA) + bytes(8), port_b=True))
    s["prout_register_ignore"] = state(pr=0x01) + prout(6, 0, 0, 0x5555)
    s["pr_all_regs_b_holder"] = state(pr=0x03 | (6 << 2) | 0x20) + cmd(rw10(0x2A, 0, 1), OUT,
                                                                      blk)
    # SANITIZE: each method, and commands while one runs.
    ow = bytes([1, 0, 0, 4, 0xDE, 0xAD, 0xBE, 0xEF])
    s["sanitize_overwrite"] = state() + cmd([0x48, 0x01, 0, 0, 0, 0, 0] + list(be(2, 8)) + [0],
                                            OUT, ow)
    s["sanitize_block_erase"] = state() + cmd([0x48, 0x02] + [0] * 8)
    s["sanitize_crypto_erase"] = state() + cmd([0x48, 0x03] + [0] * 8)
    s["sanitize_exit_failure"] = state(flags=SAN_FAILED | SAN_AUSE | CLEAR_UA_A) + \
        cmd([0x48, 0x1F] + [0] * 8)
    s["sanitize_in_progress"] = (state(san=1, blocks=255) +
                                 cmd([0x03, 0, 0, 0, 252, 0], IN, length=252, wait=False) +
                                 cmd(rw10(0x28, 0, 1), IN, length=bs, wait=False) +
                                 cmd([0x12, 0, 0, 0, 96, 0], IN, length=96))
    s["sanitize_immed_tmf"] = (state(san=2) + cmd([0x48, 0x82] + [0] * 8, wait=False) +
                               tmf(0, tag=1) + tmf(3))
    # EXTENDED COPY between LUN 0 and LUN 1, and its results.
    lst = xcopy_list()
    s["xcopy"] = (state(flags=SECOND_LUN | CLEAR_UA_A | CLEAR_UA_B) +
                  cmd([0x83, 0] + [0] * 8 + list(be(4, len(lst))) + [0, 0], OUT, lst) +
                  cmd([0x84, 0, 1] + [0] * 7 + list(be(4, 64)) + [0, 0], IN, length=64))
    s["rcr_operating"] = state() + cmd([0x84, 3] + [0] * 8 + list(be(4, 64)) + [0, 0], IN,
                                       length=64)
    # Task management against commands in flight, removal, resize.
    s["abort_task"] = (state() + cmd(rw10(0x28, 0, 64), IN, length=64 * bs, wait=False) +
                       tmf(0, tag=0))
    s["abort_task_set"] = (state() + cmd(rw10(0x2A, 0, 8), OUT, blk * 8, wait=False) +
                           tmf(1) + cmd([0, 0, 0, 0, 0, 0]))
    s["lun_reset"] = (state() + cmd(rw10(0x28, 0, 8), IN, length=8 * bs, wait=False) +
                      tmf(3) + cmd([0, 0, 0, 0, 0, 0]) + cmd([0x03, 0, 0, 0, 18, 0], IN,
                                                            length=18))
    s["it_nexus_reset"] = state() + tmf(4, port_b=True) + cmd([0, 0, 0, 0, 0, 0], port_b=True)
    s["query_task_set"] = (state() + cmd(rw10(0x28, 0, 8), IN, length=8 * bs, wait=False) +
                           tmf(6) + tmf(5, tag=0))
    s["clear_task_set"] = state() + cmd(rw10(0x28, 0, 8), IN, length=8 * bs, wait=False) + \
        tmf(2)
    s["remove_lun_in_flight"] = (state(flags=SECOND_LUN | CLEAR_UA_A) +
                                 cmd(rw10(0x28, 0, 8), IN, length=8 * bs, lun=1, wait=False) +
                                 bytes([3, 7]) + cmd([0, 0, 0, 0, 0, 0], lun=1))
    s["resize_null"] = (state(flags=NULL_BDEV | CLEAR_UA_A, blocks=1 << 20) +
                        bytes([3, 8, 3]) + cmd([0, 0, 0, 0, 0, 0]) +
                        cmd([0x25] + [0] * 9, IN, length=8))
    s["read_only_write"] = state(flags=READ_ONLY | CLEAR_UA_A) + cmd(rw10(0x2A, 0, 1), OUT, blk)
    s["desc_sense"] = state(dsense=True) + cmd(rw16(0x88, 1 << 40, 1), IN, length=bs)
    s["cdb32_unknown"] = state() + cmd([0x7F] + [0] * 6 + [0x18] + [0] * 24)
    s["ua_capacity_changed"] = state(ua_a=0x80) + cmd([0, 0, 0, 0, 0, 0]) + \
        cmd([0x03, 0, 0, 0, 18, 0], IN, length=18)
    for name, data in s.items():
        write("scsi_cmd", name, data)


# ---- fuzz_json_rpc ----------------------------------------------------------------------------

def rpc_seeds():
    reqs = {
        "rpc_get_methods": {"current": True},
        "spdk_get_version": None,
        "log_set_flag": {"flag": "rpc"},
        "log_clear_flag": {"flag": "scsi"},
        "log_get_flags": None,
        "log_set_level": {"level": "NOTICE"},
        "log_get_level": None,
        "log_set_print_level": {"level": "ERROR"},
        "log_get_print_level": None,
        "vhost_get_controllers": {"name": "vhost.0"},
        "vhost_delete_controller": {"ctrlr": "vhost.0"},
        "vhost_start_scsi_controller": {"ctrlr": "vhost.1"},
        "vhost_scsi_controller_add_target": {"ctrlr": "vhost.1", "scsi_target_num": 0,
                                             "bdev_name": "Malloc0"},
        "vhost_scsi_controller_remove_target": {"ctrlr": "vhost.1", "scsi_target_num": 0},
        "framework_get_subsystems": None,
        "framework_get_config": {"name": "bdev"},
        "framework_wait_init": None,
        "bdev_get_bdevs": {"name": "Malloc0", "timeout": 0},
        "bdev_get_iostat": {"name": "Malloc0"},
        "bdev_set_options": {"bdev_io_pool_size": 65535, "bdev_io_cache_size": 256,
                             "bdev_auto_examine": True},
        "bdev_wait_for_examine": None,
        "bdev_malloc_create": {"name": "Malloc0", "num_blocks": 2048, "block_size": 512,
                               "physical_block_size": 4096,
                               "uuid": "8b3b6e56-3cde-4b4e-9d45-0c1f4ef1fb3b",
                               "optimal_io_boundary": 16},
        "bdev_malloc_delete": {"name": "Malloc0"},
        "bdev_null_create": {"name": "Null0", "num_blocks": 1 << 30, "block_size": 4096},
        "bdev_null_delete": {"name": "Null0"},
        "bdev_null_resize": {"name": "Null0", "new_size": 1024},
        "bdev_aio_delete": {"name": "Aio0"},
        "bdev_uring_delete": {"name": "Uring0"},
        "bdev_aio_rescan": {"name": "Aio0"},
        "bdev_uring_rescan": {"name": "Uring0"},
        "delete_aio_bdev": {"name": "Aio0"},
        # The harness's own image file (fuzz_rpc_env.h): the only file they may open.
        "bdev_aio_create": {"name": "Aio0", "filename": "fz.img", "block_size": 512,
                            "readonly": False, "fallocate": True,
                            "uuid": "0c6bb0d6-2c4f-4a55-8d36-8f0f2fd6ad50"},
        "bdev_uring_create": {"name": "Uring0", "filename": "fz.img", "block_size": 4096},
        "construct_aio_bdev": {"name": "Aio1", "filename": "fz.img", "block_size": 4096},
    }
    create = {"jsonrpc": "2.0", "id": 0, "method": "bdev_malloc_create",
              "params": {"name": "Malloc0", "num_blocks": 64, "block_size": 512}}
    create_null = {"jsonrpc": "2.0", "id": 0, "method": "bdev_null_create",
                   "params": {"name": "Null0", "num_blocks": 64, "block_size": 512}}
    for i, (method, params) in enumerate(reqs.items()):
        r = {"jsonrpc": "2.0", "id": i + 1, "method": method}
        if params is not None:
            r["params"] = params
        # Methods that act on a bdev get one created first in the same stream.
        pre = ""
        if "Malloc0" in json.dumps(params) and method != "bdev_malloc_create":
            pre = json.dumps(create) + "\n"
        elif "Null0" in json.dumps(params) and method != "bdev_null_create":
            pre = json.dumps(create_null) + "\n"
        text = pre + json.dumps(r)
        # mode byte: bit 0 runtime, bits 1-4 piece size, bit 5 through the socket.
        write("json_rpc", method, bytes([0x21 | ((i % 16) << 1)]) + text.encode())
        write("json_rpc", method + "_startup", bytes([0x20]) + text.encode())
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "spdk_get_version"},
             {"jsonrpc": "2.0", "method": "log_get_flags"},
             {"jsonrpc": "2.0", "id": "x", "method": "no_such_method"},
             {"jsonrpc": "1.0", "id": 2, "method": "bdev_get_bdevs"}]
    write("json_rpc", "batch", bytes([0x23]) + json.dumps(batch).encode())
    write("json_rpc", "stream_with_comments", bytes([0x25]) +
          b'/* c */ {"jsonrpc":"2.0","id":1,"method":"spdk_get_version"} // x\n'
          b'{"jsonrpc":"2.0","id":[1],"method":"spdk_get_version"} 42 "s" true')
    write("json_rpc", "numbers", bytes([0x01]) +
          b'[0, -1, 1e3, 18446744073709551615, 18446744073709551616, -9223372036854775808, '
          b'4294967295, 4294967296, 2147483648, 255, 256, 65535, 65536, 1.5, -0, 1E-2, '
          b'"\\u00e9\\ud83d\\ude00", null, false, {"a": {"b": [[]]}}]')
    write("json_rpc", "parse_error", bytes([0x21]) + b'{"jsonrpc":"2.0","id":1,"method":')


# ---- fuzz_config ------------------------------------------------------------------------------

def config_seeds():
    with open(os.path.join(HERE, "..", "..", "app", "vtarget", "default_config.c")) as f:
        src = f.read()
    # The C string literal pieces of vtarget_default_config, joined: the printed config.
    body = src[src.index("vtarget_default_config[] ="):]
    body = body[:body.index(";")]
    text = ""
    for line in body.splitlines():
        line = line.strip()
        if line.startswith('"'):
            text += json.loads(line)
    write("config", "default", text.encode())
    small = {"subsystems": [
        {"subsystem": "bdev", "config": [
            {"method": "bdev_set_options", "params": {"bdev_io_pool_size": 4096}},
            {"method": "bdev_malloc_create",
             "params": {"name": "Malloc0", "num_blocks": 256, "block_size": 512}},
            {"method": "bdev_null_create",
             "params": {"name": "Null0", "num_blocks": 1024, "block_size": 4096}},
            {"method": "bdev_aio_create",
             "params": {"name": "Aio0", "filename": "fz.img", "block_size": 512}},
            {"method": "bdev_wait_for_examine"}]},
        {"subsystem": "vhost_blk", "config": None},
        {"subsystem": "vhost_scsi", "config": []}]}
    write("config", "bdevs", json.dumps(small, indent=2).encode())
    bad = {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_malloc_create", "params": {"name": "M", "num_blocks": 8,
                                                    "block_size": 512}},
        {"method": "bdev_malloc_create", "params": {"name": "M", "num_blocks": 8,
                                                    "block_size": 512}}]}]}
    write("config", "duplicate_fails", json.dumps(bad).encode())
    write("config", "unknown_subsystem", b'{"subsystems":[{"subsystem":"iscsi","config":[]}]}')
    write("config", "empty", b'{"subsystems":[]}')


if __name__ == "__main__":
    scsi_seeds()
    rpc_seeds()
    config_seeds()
