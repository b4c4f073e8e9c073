# SPDX-License-Identifier: BSD-3-Clause
"""--wait-for-rpc and framework_start_init (issue 11): the RPC server comes up before the
subsystems, in a pre-init state where only SPDK's start-up methods run (options, logs, version,
method list, framework_wait_init); framework_start_init starts the subsystems, replays -c, and
answers once the daemon is ready; it is refused afterwards."""

import json
import os
import shutil
import signal
import tempfile
import threading
import time

import vtlib
from vtlib import VtTestCase

PREINIT = {"framework_start_init", "bdev_set_options", "framework_wait_init", "rpc_get_methods",
           "spdk_get_version", "log_set_flag", "log_clear_flag", "log_get_flags",
           "log_set_level", "log_get_level", "log_set_print_level", "log_get_print_level",
           "log_enable_timestamps"}


class WaitForRpcTest(VtTestCase):

    def start_waiting(self, *args, config=None):
        d = vtlib.Daemon(args=("--wait-for-rpc",) + args, config=config)
        self.addCleanup(d.cleanup)
        d.start(wait=False)
        deadline = time.monotonic() + vtlib.START_TIMEOUT
        while True:
            self.assertIsNone(d.proc.poll(), "exited:\n%s" % d.describe_logs(40))
            if vtlib.is_socket(d.sock):
                try:
                    d.call("spdk_get_version")
                    return d
                except (OSError, vtlib.rpc.JSONRPCException):
                    pass
            self.assertLess(time.monotonic(), deadline, d.describe_logs(40))
            time.sleep(0.02)

    def test_preinit_methods_then_start_init(self):
        d = self.start_waiting()
        self.assertIn("waiting for framework_start_init", d.stderr())
        current = set(d.call("rpc_get_methods", {"current": True}))
        self.assertEqual(current, PREINIT)
        self.assertIn("bdev_malloc_create", d.call("rpc_get_methods"))
        self.assertRpcError(d, "bdev_malloc_create", {"num_blocks": 64, "block_size": 512},
                            -32601, "pre-init", "framework_start_init")
        self.assertRpcError(d, "vhost_get_controllers", None, -32601, "pre-init")
        # Options the initialisation reads.
        self.assertIs(d.call("bdev_set_options", {"bdev_io_pool_size": 4095,
                                                  "bdev_io_cache_size": 64}), True)
        d.call("log_set_flag", {"flag": "vhost"})
        # framework_wait_init waits for the start (on its own connection).
        waited = {}

        def wait_init():
            waited["result"] = d.call("framework_wait_init", timeout=60 * vtlib.SLOW)
            waited["at"] = time.monotonic()

        t = threading.Thread(target=wait_init)
        t.start()
        self.addCleanup(t.join, 60)
        time.sleep(0.2)  # give it time to (wrongly) answer early; the assert below checks
        self.assertNotIn("result", waited)
        started = time.monotonic()
        r = vtlib.run_rpc_py(d.sock, "framework_start_init")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        t.join(30 * vtlib.SLOW)
        self.assertIs(waited.get("result"), True)
        self.assertGreaterEqual(waited["at"], started)
        # Now the runtime methods, and the option set before the start.
        self.assertIn("bdev_malloc_create", d.call("rpc_get_methods", {"current": True}))
        self.assertNotIn("framework_start_init", d.call("rpc_get_methods", {"current": True}))
        d.call("bdev_malloc_create", {"name": "M0", "num_blocks": 64, "block_size": 512})
        opts = [e for e in d.call("framework_get_config", {"name": "bdev"})
                if e["method"] == "bdev_set_options"][0]["params"]
        self.assertEqual((opts["bdev_io_pool_size"], opts["bdev_io_cache_size"]), (4095, 64))
        self.assertTrue(d.call("log_get_flags")["vhost"])
        # Only once.
        self.assertRpcError(d, "framework_start_init", None, -32601, "runtime")
        self.assertRpcError(d, "start_subsystem_init", None, -32601, "runtime")
        self.stop_clean(d)

    def test_config_replayed_after_start_init(self):
        tmp = tempfile.mkdtemp(prefix="vt-it-wfr-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "c.json")
        with open(path, "w") as f:
            json.dump({"subsystems": [{"subsystem": "bdev", "config": [
                {"method": "bdev_malloc_create",
                 "params": {"name": "Cfg0", "num_blocks": 64, "block_size": 512}}]}]}, f)
        d = self.start_waiting("-w", config=path)
        self.assertRpcError(d, "bdev_get_bdevs", None, -32601, "pre-init")
        self.assertIs(d.call("start_subsystem_init"), True)  # SPDK's old name
        names = [b["name"] for b in d.call("bdev_get_bdevs")]
        self.assertEqual(names, ["Cfg0"])
        self.stop_clean(d)

    def test_bad_params_and_stop_while_waiting(self):
        d = self.start_waiting()
        self.assertRpcError(d, "framework_start_init", {"x": 1}, -32602, "no parameters")
        # SIGTERM before the start: a clean exit, nothing was started.
        d.send_signal(signal.SIGTERM)
        rc = d.wait_exit(20 * vtlib.SLOW)
        self.assertEqual(rc, 0, d.describe_logs(40))
        self.assertFalse(os.path.exists(d.sock))

    def test_without_the_option_start_init_is_refused(self):
        d = self.start_daemon()
        self.assertRpcError(d, "framework_start_init", None, -32601, "runtime")
        self.stop_clean(d)
