# SPDX-License-Identifier: BSD-3-Clause
"""bdev_enable_histogram / bdev_get_histogram (issue 11): SPDK's histogram_data layout, decoded
here (bucket arithmetic of SPDK's include/spdk/histogram_data.h, reimplemented) and by SPDK's own
scripts/histogram.py when an SPDK snapshot is at $SPDK_DIR or /tmp/spdk."""

import base64
import os
import subprocess

import vtlib
from test_vhost_blk import vtc_bin
from vtlib import VtTestCase


def decode(h):
    """[(start_ticks, end_ticks, count)] of the non-empty buckets; the total count."""
    data = base64.b64decode(h["histogram"])
    g, lo, hi = h["granularity"], h["min_range"], h["max_range"]
    n = (hi - lo + 1) << g
    assert len(data) == n * 8, (len(data), n)
    out, total = [], 0
    for r in range(lo, hi + 1):
        for j in range(1 << g):
            i = ((r - lo) << g) + j
            count = int.from_bytes(data[i * 8:i * 8 + 8], "little")
            if r > 0:
                start = (1 << (r + g - 1)) + (j << (r - 1))
                end = (1 << (r + g - 1)) + ((j + 1) << (r - 1))
            else:
                start, end = j, j + 1
            total += count
            if count:
                out.append((start, end, count))
    return out, total


def vtc(*args):
    p = subprocess.run([vtc_bin()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60 * vtlib.SLOW)
    if p.returncode != 0:
        raise AssertionError("vtc %s failed: %s" % (args, p.stderr))
    return p.stdout


class HistogramTest(VtTestCase):

    def setUp(self):
        self.d = self.start_daemon()
        self.d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 8192, "block_size": 512})
        self.d.call("vhost_create_blk_controller", {"ctrlr": "h0", "dev_name": "M0"})
        self.sock = os.path.join(self.d.dir, "h0")

    def tearDown(self):
        self.stop_clean(self.d)

    def test_counts_every_io_and_spdk_decoder_reads_it(self):
        self.assertIs(self.d.call("bdev_enable_histogram", {"name": "M0", "enable": True}),
                      True)
        # 16 writes then 16 reads of 4 KiB.
        vtc("io", self.sock, "--write", "--read", "--verify", "--size", "64K", "--bs", "4K")
        st = self.d.call("bdev_get_iostat", {"name": "M0"})["bdevs"][0]
        done = st["num_read_ops"] + st["num_write_ops"]
        self.assertEqual(done, 32)
        h = self.d.call("bdev_get_histogram", {"name": "M0"})
        self.assertEqual((h["granularity"], h["tsc_rate"]), (7, 10**9))
        # SPDK's RPC defaults: 1 us .. 120 s.
        self.assertEqual((h["min_range"], h["max_range"]), (3, 30))
        buckets, total = decode(h)
        self.assertEqual(total, done)
        # Latencies are plausible: every bucket between 1 ns and 10 s.
        for start, end, _ in buckets:
            self.assertLess(start, end)
            self.assertLess(end, 10 * 10**9)
        # The same through scripts/rpc.py, and SPDK's own decoder.
        r = vtlib.run_rpc_py(self.d.sock, "bdev_get_histogram", "M0")
        self.assertEqual(r.returncode, 0, r.stderr)
        spdk = os.environ.get("SPDK_DIR", "/tmp/spdk")
        script = os.path.join(spdk, "scripts", "histogram.py")
        if os.path.exists(script):
            p = subprocess.run(["python3", script], input=r.stdout, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("Latency histogram", p.stdout)
            counts = [int(line.rsplit("(", 1)[1].rstrip(")").strip())
                      for line in p.stdout.splitlines() if line.rstrip().endswith(")")]
            # SPDK's script leaves out the last range (max_range): nothing falls there here.
            self.assertEqual(sum(counts), done, p.stdout)

    def test_opc_counts_one_type_and_disable_clears(self):
        self.d.call("bdev_enable_histogram", {"name": "M0", "enable": True, "opc": "write",
                                              "granularity": 4, "min_nsec": 0,
                                              "max_nsec": 2**40})
        vtc("io", self.sock, "--write", "--read", "--verify", "--size", "32K", "--bs", "4K")
        h = self.d.call("bdev_get_histogram", {"name": "M0"})
        self.assertEqual((h["granularity"], h["min_range"], h["max_range"]), (4, 0, 36))
        self.assertEqual(decode(h)[1], 8)  # the 8 writes only
        # Enabling again starts from zero.
        r = vtlib.run_rpc_py(self.d.sock, "bdev_enable_histogram", "--histogram", "M0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(decode(self.d.call("bdev_get_histogram", {"name": "M0"}))[1], 0)
        vtc("io", self.sock, "--read", "--size", "16K", "--bs", "4K")
        self.assertEqual(decode(self.d.call("bdev_get_histogram", {"name": "M0"}))[1], 4)
        r = vtlib.run_rpc_py(self.d.sock, "bdev_enable_histogram", "--no-histogram", "M0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRpcError(self.d, "bdev_get_histogram", {"name": "M0"}, -14, "not enabled")
        # Off: I/O still works.
        vtc("io", self.sock, "--read", "--size", "4K", "--bs", "4K")

    def test_bad_params(self):
        m = "bdev_enable_histogram"
        self.assertRpcError(self.d, m, {"enable": True}, -32602, "name")
        self.assertRpcError(self.d, m, {"name": "M0"}, -32602, "enable")
        self.assertRpcError(self.d, m, {"name": "nope", "enable": True}, -19, "nope")
        self.assertRpcError(self.d, m, {"name": "M0", "enable": True, "opc": "fly"}, -32602,
                            "opc")
        self.assertRpcError(self.d, m, {"name": "M0", "enable": True, "granularity": 0},
                            -32602, "granularity")
        self.assertRpcError(self.d, m, {"name": "M0", "enable": True, "granularity": 17},
                            -32602, "granularity")
        self.assertRpcError(self.d, m, {"name": "M0", "enable": True, "min_nsec": 5,
                                        "max_nsec": 5}, -32602, "min_nsec")
        self.assertRpcError(self.d, m, {"name": "M0", "enable": True, "x": 1}, -32602, "x")
        self.assertRpcError(self.d, "bdev_get_histogram", {}, -32602, "name")
        self.assertRpcError(self.d, "bdev_get_histogram", {"name": "nope"}, -19, "nope")
        self.assertRpcError(self.d, "bdev_get_histogram", {"name": "M0"}, -14, "not enabled")
