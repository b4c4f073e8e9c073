#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes test/integration/data/spdk_params.json from SPDK's schema/schema.yaml.

For every method vtarget registers (the VT_RPC_REGISTER names in lib/ and app/) and that the
schema describes: its parameters, each with its schema type, whether it is required, and a sample
value of that type. test_spdk_compat.py sends each parameter to a daemon and checks that none is
refused as unknown. Rerun after adding a method or updating the SPDK snapshot:

    scripts/gen_spdk_params.py /path/to/spdk/schema/schema.yaml [--spdk-commit SHA]
"""

import argparse
import json
import os
import re
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "test", "integration", "data", "spdk_params.json")
REGISTER_RE = re.compile(r'VT_RPC_REGISTER\(\s*"([A-Za-z0-9_]+)"')

# A value of each scalar schema type that decodes (the test sends it, so it must be well-typed).
SCALAR_SAMPLES = {
    "string": "spdk-compat",
    "boolean": False,
    "bool": False,
    "int8": 0, "int16": 0, "int32": 0, "int64": 0,
    "uint8": 0, "uint16": 0, "uint32": 0, "uint64": 0,
    "number": 0,
    "uuid": "0d3c7a51-8f5e-4b2c-a1d9-5e6f7a8b9c0d",
}


def registered_methods():
    names = set()
    for top in ("lib", "app"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith(".c"):
                    with open(os.path.join(dirpath, f)) as fh:
                        names.update(REGISTER_RE.findall(fh.read()))
    return sorted(names)


def sample(param, schema):
    t = param["type"]
    if t in SCALAR_SAMPLES:
        return SCALAR_SAMPLES[t]
    cls = param.get("class")
    if t == "enum":
        enum = next(e for e in schema["enums"] if e["name"] == cls)
        return enum["fields"][0]["name"]
    if t == "array":
        arr = next(a for a in schema["arrays"] if a["name"] == cls)
        item = {"type": arr["item_type"], "class": arr.get("class")}
        return [sample(item, schema)]
    if t == "object":
        obj = next(o for o in schema["objects"] if o["name"] == cls)
        return {f["name"]: sample(f, schema) for f in obj["fields"] if f.get("required")}
    raise SystemExit("unknown schema type %r in %r" % (t, param))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("schema", help="SPDK's schema/schema.yaml")
    ap.add_argument("--spdk-commit", default="", help="the SPDK commit the schema comes from")
    ap.add_argument("-o", "--output", default=OUT)
    args = ap.parse_args()
    with open(args.schema) as f:
        schema = yaml.safe_load(f)
    by_name = {m["name"]: m for m in schema["methods"]}
    methods, missing = {}, []
    for name in registered_methods():
        m = by_name.get(name)
        if m is None:
            missing.append(name)
            continue
        methods[name] = {"params": [{
            "name": p["name"],
            "type": p["type"] if p["type"] not in ("enum", "array", "object")
            else "%s:%s" % (p["type"], p.get("class")),
            "required": bool(p.get("required", False)),
            "sample": sample(p, schema),
        } for p in (m.get("params") or [])]}
    data = {
        "source": "SPDK schema/schema.yaml" +
                  (" at %s" % args.spdk_commit if args.spdk_commit else ""),
        "generator": "scripts/gen_spdk_params.py",
        "not_in_schema": missing,
        "methods": methods,
    }
    with open(args.output, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    print("%d methods, %d parameters -> %s" % (
        len(methods), sum(len(m["params"]) for m in methods.values()), args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
