# SPDX-License-Identifier: BSD-3-Clause
"""The built-in config (`vtarget --default-config`, `make run`) has one source,
app/vtarget/default_config.c. The sentence describing it is derived here from the JSON that
`--print-default-config` prints, and every place that shows it must say exactly that: `--help`,
the hint printed at start-up, the README and doc/app.md. The daemon started on it must hold
what the sentence says."""

import json
import os
import re
import subprocess

import vtlib
from vtlib import VtTestCase

MIB = 1024 * 1024
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def words(items):
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def entries(cfg, subsystem):
    for s in cfg["subsystems"]:
        if s["subsystem"] == subsystem:
            return s["config"]
    return []


def describe(cfg):
    """The sentence for a config made of malloc bdevs, blk controllers and scsi controllers."""
    parts = []
    mallocs = [e["params"] for e in entries(cfg, "bdev") if e["method"] == "bdev_malloc_create"]
    if mallocs:
        parts.append("%s malloc bdev%s, %s" % (
            NUMBERS[len(mallocs)], "s" if len(mallocs) > 1 else "",
            words(["%s (%d MiB, %d B blocks)" % (m["name"], m["num_blocks"] * m["block_size"]
                                                 // MIB, m["block_size"]) for m in mallocs])))
    for e in entries(cfg, "vhost_blk"):
        if e["method"] == "vhost_create_blk_controller":
            parts.append("the vhost-user-blk controller %s over %s"
                         % (e["params"]["ctrlr"], e["params"]["dev_name"]))
    scsi = entries(cfg, "vhost_scsi")
    for e in scsi:
        if e["method"] == "vhost_create_scsi_controller":
            name = e["params"]["ctrlr"]
            targets = ["target %d over %s" % (t["params"]["scsi_target_num"],
                                              t["params"]["bdev_name"])
                       for t in scsi if t["method"] == "vhost_scsi_controller_add_target" and
                       t["params"]["ctrlr"] == name]
            parts.append("the vhost-user-scsi controller %s with %s" % (name, words(targets)))
    return "; ".join(parts)


def flat(text):
    return re.sub(r"\s+", " ", text.replace("`", ""))


def run_vtarget(*args):
    r = subprocess.run([vtlib.daemon_binary()] + list(args), capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError("vtarget %s: exit %d\n%s" % (" ".join(args), r.returncode, r.stderr))
    return r.stdout


class DefaultConfigTest(VtTestCase):

    def setUp(self):
        self.cfg = json.loads(run_vtarget("--print-default-config"))
        self.summary = describe(self.cfg)

    def test_the_sentence_covers_every_entry_of_the_config(self):
        n = sum(len(s["config"]) for s in self.cfg["subsystems"])
        described = (self.summary.count(" MiB, ") + self.summary.count(" controller ") +
                     self.summary.count("target "))
        starts = sum(1 for s in self.cfg["subsystems"] for e in s["config"]
                     if e["method"] == "vhost_start_scsi_controller")
        self.assertEqual(described + starts, n, self.summary)

    def test_help_describes_it(self):
        self.assertIn("The built-in config: %s." % self.summary, flat(run_vtarget("--help")))

    def test_readme_and_doc_app_describe_it(self):
        for doc in ("README.md", os.path.join("doc", "app.md")):
            with open(os.path.join(vtlib.ROOT, doc), encoding="utf-8") as f:
                self.assertIn(self.summary, flat(f.read()), "%s is out of date" % doc)

    def test_started_daemon_holds_it_and_its_hint_describes_it(self):
        d = self.start_daemon(args=["--default-config"])
        bdevs = {b["name"]: b for b in d.call("bdev_get_bdevs")}
        for e in entries(self.cfg, "bdev"):
            p = e["params"]
            self.assertEqual((bdevs[p["name"]]["num_blocks"], bdevs[p["name"]]["block_size"]),
                             (p["num_blocks"], p["block_size"]))
        ctrlrs = {c["ctrlr"]: c for c in d.call("vhost_get_controllers")}
        self.assertEqual(ctrlrs["vhost.0"]["backend_specific"]["block"]["bdev"], "Malloc0")
        self.assertEqual(sorted(t["scsi_dev_num"] for t in
                                ctrlrs["vhost.1"]["backend_specific"]["scsi"]), [0, 1])
        self.assertTrue(vtlib.is_socket(os.path.join(d.dir, "vhost.0")))
        self.assertTrue(vtlib.is_socket(os.path.join(d.dir, "vhost.1")))
        self.stop_clean(d)
        self.assertIn("running the default config: %s" % self.summary, flat(d.stdout()))
