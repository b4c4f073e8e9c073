#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Command-line client for the vtarget JSON-RPC server.

The syntax follows SPDK's scripts/rpc.py for the methods vtarget implements, so scripts written
for SPDK keep working. Python 3 standard library only. The module can be imported: the tests use
JSONRPCClient and the command table directly.
"""

import argparse
import codecs
import json
import os
import shlex
import socket
import sys
import time

DEFAULT_SOCKET = "/var/tmp/vtarget.sock"
DEFAULT_TIMEOUT = 60.0

# Methods the command line reaches that are not daemon methods: they are composed client side.
CLIENT_SIDE_COMMANDS = ("save_config", "load_config", "call")

# SPDK's command names before its 19.10 renaming (its vhost guide still shows some): each runs the
# command that replaced it after a warning on stderr. The daemon accepts them as methods too.
DEPRECATED_ALIASES = {
    "bdev_malloc_create": ["construct_malloc_bdev"],
    "bdev_malloc_delete": ["delete_malloc_bdev"],
    "bdev_null_create": ["construct_null_bdev"],
    "bdev_null_delete": ["delete_null_bdev"],
    "bdev_error_create": ["construct_error_bdev"],
    "bdev_error_delete": ["delete_error_bdev"],
    "bdev_error_inject_error": ["bdev_inject_error"],
    "bdev_split_create": ["construct_split_vbdev"],
    "bdev_split_delete": ["destruct_split_vbdev"],
    "bdev_aio_create": ["construct_aio_bdev"],
    "bdev_aio_delete": ["delete_aio_bdev"],
    "bdev_get_bdevs": ["get_bdevs"],
    "bdev_get_iostat": ["get_bdevs_iostat"],
    "bdev_set_options": ["set_bdev_options"],
    "bdev_set_qos_limit": ["set_bdev_qos_limit"],
    "framework_wait_init": ["wait_subsystem_init"],
    "framework_start_init": ["start_subsystem_init"],
    "framework_get_subsystems": ["get_subsystems"],
    "framework_get_config": ["get_subsystem_config"],
    "spdk_kill_instance": ["kill_instance"],
    "rpc_get_methods": ["get_rpc_methods"],
    "spdk_get_version": ["get_spdk_version"],
    "log_set_flag": ["set_log_flag", "set_trace_flag"],
    "log_clear_flag": ["clear_log_flag", "clear_trace_flag"],
    "log_get_flags": ["get_log_flags", "get_trace_flags"],
    "log_set_level": ["set_log_level"],
    "log_get_level": ["get_log_level"],
    "log_set_print_level": ["set_log_print_level"],
    "log_get_print_level": ["get_log_print_level"],
    "vhost_create_scsi_controller": ["construct_vhost_scsi_controller"],
    "vhost_scsi_controller_add_target": ["add_vhost_scsi_lun"],
    "vhost_scsi_controller_remove_target": ["remove_vhost_scsi_target", "remove_vhost_scsi_dev"],
    "vhost_create_blk_controller": ["construct_vhost_blk_controller"],
    "vhost_get_controllers": ["get_vhost_controllers"],
    "vhost_delete_controller": ["remove_vhost_controller", "remove_vhost_scsi_controller",
                                "remove_vhost_blk_controller"],
    "vhost_controller_set_coalescing": ["set_vhost_controller_coalescing"],
}
ALIAS_OF = {old: new for new, olds in DEPRECATED_ALIASES.items() for old in olds}


class JSONRPCException(Exception):
    """A failed call: connection problem, timeout, or an error response (then code is set)."""

    def __init__(self, message, code=None, error=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.error = error


def remove_null(params):
    """Drops the parameters the user did not give, as SPDK's client does."""
    return {k: v for k, v in params.items() if v is not None}


class JSONRPCClient:
    """A JSON-RPC 2.0 client on a Unix stream socket.

    Requests are written one after the other; responses are read until one complete JSON value
    has been decoded, whatever the way the server splits them into writes.
    """

    def __init__(self, addr=DEFAULT_SOCKET, timeout=DEFAULT_TIMEOUT, verbose=None,
                 conn_retries=0):
        self.addr = addr
        self.timeout = float(timeout) if timeout is not None else DEFAULT_TIMEOUT
        self.verbose = verbose
        self.sock = None
        self._request_id = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._buf = ""
        self._connect(conn_retries)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()

    def _log(self, level, text):
        levels = {"DEBUG": 0, "INFO": 1, "ERROR": 2}
        if self.verbose is not None and levels.get(self.verbose, 2) <= levels[level]:
            print("%s: %s" % (level, text), file=sys.stderr)

    def _connect(self, retries):
        last = None
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(0.2)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout)
                sock.connect(self.addr)
            except OSError as ex:
                sock.close()
                last = ex
                continue
            self.sock = sock
            return
        raise JSONRPCException("Error while connecting to %s\n"
                               "Is the vtarget daemon running?\n"
                               "Error details: %s" % (self.addr, last))

    def close(self):
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None

    def next_id(self):
        self._request_id += 1
        return self._request_id

    def send_raw(self, data):
        """Writes bytes (or text) as they are: the tests use it for malformed input."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def send(self, method, params=None, req_id=None, notification=False):
        """Writes one request; returns its id (None for a notification)."""
        req = {"jsonrpc": "2.0", "method": method}
        if not notification:
            req["id"] = self.next_id() if req_id is None else req_id
        if params:
            req["params"] = params
        text = json.dumps(req, indent=2)
        self._log("INFO", "request:\n%s" % text)
        self.send_raw(text)
        return req.get("id")

    def _decode_one(self):
        buf = self._buf.lstrip()
        if not buf:
            self._buf = ""
            return None, False
        try:
            obj, end = json.JSONDecoder().raw_decode(buf)
        except ValueError:
            self._buf = buf
            return None, False
        self._buf = buf[end:]
        return obj, True

    def recv(self, timeout=None):
        """Returns the next complete JSON value the server wrote.

        Raises JSONRPCException on timeout or when the server closes the connection first.
        """
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        obj, done = self._decode_one()
        while not done:
            left = deadline - time.monotonic()
            if left <= 0:
                raise JSONRPCException("Timeout while waiting for response:\n%s\n" % self._buf)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise JSONRPCException("Timeout while waiting for response:\n%s\n" % self._buf)
            if not data:
                raise JSONRPCException("Connection closed with partial response:\n%s\n"
                                       % self._buf)
            self._buf += self._decoder.decode(data)
            obj, done = self._decode_one()
        self._log("INFO", "response:\n%s" % json.dumps(obj, indent=2))
        return obj

    def call(self, method, params=None):
        """Calls method and returns its result; an error response raises JSONRPCException."""
        if self.timeout <= 0:
            raise JSONRPCException("Timeout value is invalid: %s\n" % self.timeout)
        if isinstance(params, dict):
            params = dict(params)
        req_id = self.send(method, params)
        try:
            response = self.recv()
        except JSONRPCException:
            if method == "spdk_kill_instance":
                # The daemon may close the socket before it answers: that is success here.
                return True
            raise
        if not isinstance(response, dict):
            raise JSONRPCException("Invalid response (not an object):\n%s\n"
                                   % json.dumps(response))
        if response.get("id") != req_id:
            raise JSONRPCException("Response id %r does not match request id %r\n"
                                   % (response.get("id"), req_id))
        if "error" in response:
            shown = dict(params) if isinstance(params, dict) else {}
            if params and not isinstance(params, dict):
                shown["params"] = params
            shown["method"] = method
            shown["req_id"] = req_id
            error = response["error"]
            msg = "\n".join(["request:", json.dumps(shown, indent=2),
                             "Got JSON-RPC error response",
                             "response:", json.dumps(error, indent=2)])
            code = error.get("code") if isinstance(error, dict) else None
            raise JSONRPCException(msg, code=code, error=error)
        return response.get("result")


class DryRunClient:
    """--dry-run: prints each request instead of sending it."""

    def call(self, method, params=None):
        print("Request:\n" + json.dumps({"method": method, "params": params or None}, indent=2))
        return None

    def close(self):
        pass


# ---- output, as SPDK's client prints ----------------------------------------------------------

def print_dict(value):
    """Any result as indented JSON (SPDK prints lists, objects and some strings this way)."""
    if value is not None:
        print(json.dumps(value, indent=2))


def print_json(value):
    """A string result bare, anything else as indented JSON (true prints as `true`)."""
    if value is not None:
        print(json.dumps(value, indent=2).strip('"'))


def json_dump(config, fd, indent):
    """indent < 0 writes compact JSON."""
    if indent is None:
        indent = 2
    elif indent < 0:
        indent = None
    json.dump(config, fd, indent=indent)
    fd.write("\n")


def json_load(source):
    """source: an open file, a path, or JSON text (as SPDK's load_config accepts)."""
    if hasattr(source, "read"):
        return json.load(source)
    if os.path.exists(source):
        with open(source, "r", encoding="utf-8") as f:
            return json.load(f)
    return json.loads(source)


# ---- client-side compositions ----------------------------------------------------------------

def save_config(client, fd, indent=2, subsystems=None):
    """Writes {"subsystems":[{"subsystem":..,"config":[..]}]} built from the live daemon."""
    listing = client.call("framework_get_subsystems") or []
    deps = {}
    for elem in listing:
        name = elem["subsystem"]
        deps[name] = {name}
        for d in elem.get("depends_on", []):
            deps[name].update(deps.get(d, {d}))
    wanted = set(deps)
    if subsystems:
        wanted = set()
        for s in subsystems.split(","):
            if s not in deps:
                raise JSONRPCException("unknown subsystem '%s'" % s)
            wanted.update(deps[s])
    config = {"subsystems": []}
    for elem in listing:
        if elem["subsystem"] in wanted:
            cfg = client.call("framework_get_config", {"name": elem["subsystem"]})
            config["subsystems"].append({"subsystem": elem["subsystem"], "config": cfg})
    json_dump(config, fd, indent)


def load_config(client, source, include_aliases=False, out=sys.stdout):
    """Calls every method of a saved configuration, subsystem by subsystem, in file order.

    The first failing call raises JSONRPCException (the remaining ones are not made). Methods
    the daemon has but cannot run in its current state are skipped with a note, as SPDK does.
    """
    try:
        config = json_load(source)
    except (OSError, ValueError) as ex:
        raise JSONRPCException("cannot read the configuration: %s" % ex)
    if not isinstance(config, dict) or not isinstance(config.get("subsystems"), list):
        raise JSONRPCException("invalid configuration: no \"subsystems\" array")
    entries = []
    for sub in config["subsystems"]:
        for elem in (sub.get("config") or []) if isinstance(sub, dict) else []:
            if not isinstance(elem, dict) or "method" not in elem:
                raise JSONRPCException("invalid configuration entry: %s" % json.dumps(elem))
            entries.append(elem)
    if not entries:
        return
    params = {"include_aliases": True} if include_aliases else None
    known = set(client.call("rpc_get_methods", params) or [])
    for elem in entries:
        if known and elem["method"] not in known:
            raise JSONRPCException("Unknown method '%s' was included in the config file"
                                   % elem["method"])
    cur_params = {"current": True}
    if include_aliases:
        cur_params["include_aliases"] = True
    current = set(client.call("rpc_get_methods", cur_params) or [])
    skipped = 0
    for elem in entries:
        if current and elem["method"] not in current:
            skipped += 1
            continue
        client.call(elem["method"], elem.get("params"))
    if skipped:
        print("Some configs were skipped because the RPC state that can call them passed over.",
              file=out)


# ---- the command table -----------------------------------------------------------------------

def _call(args, method, **params):
    return args.client.call(method, remove_null(params))


def add_app_commands(sub):
    p = sub.add_parser("rpc_get_methods", help="Get list of supported RPC methods")
    p.add_argument("-c", "--current", action="store_true",
                   help="Only the methods callable in the current state")
    p.add_argument("-i", "--include-aliases", action="store_true", help="Include RPC aliases")
    p.set_defaults(func=lambda a: print_dict(_call(a, "rpc_get_methods", current=a.current,
                                                   include_aliases=a.include_aliases)))

    for method, what in (("framework_get_reactors", "the reactors: busy/idle ticks, threads"),
                         ("thread_get_stats", "each thread's busy/idle ticks and pollers")):
        p = sub.add_parser(method, help="Display %s" % what)
        p.set_defaults(func=lambda a, m=method: print_dict(_call(a, m)))

    p = sub.add_parser("spdk_get_version", help="Get the daemon's version")
    p.set_defaults(func=lambda a: print_json(_call(a, "spdk_get_version")))

    p = sub.add_parser("framework_wait_init", help="Block until subsystems have been initialized")
    p.set_defaults(func=lambda a: _call(a, "framework_wait_init"))

    p = sub.add_parser("framework_start_init",
                       help="Start initialization of subsystems (daemon started with -w)")
    p.set_defaults(func=lambda a: _call(a, "framework_start_init"))

    p = sub.add_parser("framework_get_subsystems",
                       help="Print subsystems in initialization order with their dependencies")
    p.set_defaults(func=lambda a: print_dict(_call(a, "framework_get_subsystems")))

    p = sub.add_parser("framework_get_config", help="Print the configuration of one subsystem")
    p.add_argument("name", help="Name of subsystem to query")
    p.set_defaults(func=lambda a: print_dict(_call(a, "framework_get_config", name=a.name)))

    p = sub.add_parser("spdk_kill_instance", help="Send a signal to the daemon")
    p.add_argument("sig_name", help="SIGINT, SIGTERM, SIGQUIT, SIGHUP or SIGKILL")
    p.set_defaults(func=lambda a: _call(a, "spdk_kill_instance", sig_name=a.sig_name))

    p = sub.add_parser("save_config",
                       help="Write the live configuration of every subsystem (stdout by default)")
    p.add_argument("-i", "--indent", type=int, default=2,
                   help="Indent level; a value below 0 means compact. Default 2")
    p.add_argument("-s", "--subsystems",
                   help="Comma-separated list of subsystems (and their dependencies) to save")
    p.add_argument("-o", "--output", help="Write to this file instead of stdout")
    p.set_defaults(func=cmd_save_config)

    p = sub.add_parser("load_config",
                       help="Replay a saved configuration through the RPC methods")
    p.add_argument("-i", "--include-aliases", action="store_true", help="Include RPC aliases")
    p.add_argument("-j", "--json-conf", default=sys.stdin,
                   help="Configuration file, or JSON text (default: stdin)")
    p.set_defaults(func=lambda a: load_config(a.client, a.json_conf, a.include_aliases))

    p = sub.add_parser("call", help="Call any method: call METHOD ['{\"param\": value}']")
    p.add_argument("method", help="Method name")
    p.add_argument("params", nargs="?", help="Parameters as a JSON object or array")
    p.set_defaults(func=cmd_call)


def cmd_save_config(args):
    if args.output:
        tmp = args.output + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            save_config(args.client, f, args.indent, args.subsystems)
        os.replace(tmp, args.output)
    else:
        save_config(args.client, sys.stdout, args.indent, args.subsystems)


def cmd_call(args):
    params = None
    if args.params is not None:
        try:
            params = json.loads(args.params)
        except ValueError as ex:
            raise JSONRPCException("params are not valid JSON: %s" % ex)
    print_dict(args.client.call(args.method, params))


def add_log_commands(sub):
    for method, what in (("log_set_flag", "set"), ("log_clear_flag", "clear")):
        p = sub.add_parser(method, help="%s a debug log flag" % what)
        p.add_argument("flag", help='log flag (for example "bdev"), or "all"')
        p.set_defaults(func=lambda a, m=method: _call(a, m, flag=a.flag))

    p = sub.add_parser("log_get_flags", help="get log flags")
    p.set_defaults(func=lambda a: print_dict(_call(a, "log_get_flags")))

    for method, what in (("log_set_level", "log level"), ("log_set_print_level",
                                                          "log print level")):
        p = sub.add_parser(method, help="set %s" % what)
        p.add_argument("level", help='%s (for example "DEBUG")' % what)
        p.set_defaults(func=lambda a, m=method: _call(a, m, level=a.level))

    for method, what in (("log_get_level", "log level"), ("log_get_print_level",
                                                          "log print level")):
        p = sub.add_parser(method, help="get %s" % what)
        p.set_defaults(func=lambda a, m=method: print_dict(_call(a, m)))

    p = sub.add_parser("log_enable_timestamps", help="log lines with or without timestamps")
    p.add_argument("--timestamps", dest="enabled", action=argparse.BooleanOptionalAction,
                   required=True, help="--timestamps or --no-timestamps")
    p.set_defaults(func=lambda a: _call(a, "log_enable_timestamps", enabled=a.enabled))


def add_notify_commands(sub):
    p = sub.add_parser("notify_get_types", help="List the notification types")
    p.set_defaults(func=lambda a: print_dict(_call(a, "notify_get_types")))

    p = sub.add_parser("notify_get_notifications", help="Get notifications")
    p.add_argument("-i", "--id", type=int,
                   help="id of the first event to return (default: 0, the oldest kept)")
    p.add_argument("-n", "--max", type=int, help="most events to return (default: no limit)")
    p.set_defaults(func=lambda a: print_dict(_call(a, "notify_get_notifications", id=a.id,
                                                   max=a.max)))


def cmd_bdev_malloc_create(args):
    num_blocks = int((args.total_size * 1024 * 1024) // args.block_size)
    print_json(_call(args, "bdev_malloc_create", num_blocks=num_blocks,
                     block_size=args.block_size,
                     physical_block_size=args.physical_block_size, name=args.name,
                     uuid=args.uuid, optimal_io_boundary=args.optimal_io_boundary))


def cmd_bdev_null_create(args):
    num_blocks = (args.total_size * 1024 * 1024) // args.block_size
    print_json(_call(args, "bdev_null_create", num_blocks=num_blocks,
                     block_size=args.block_size, name=args.name, uuid=args.uuid,
                     read_zeroes=False if args.no_read_zeroes else None))


def add_bdev_commands(sub):
    p = sub.add_parser("bdev_get_bdevs", help="Display the block devices, or one of them")
    p.add_argument("-b", "--name", help="Name or alias of the bdev")
    p.add_argument("-t", "--timeout-ms", dest="timeout_ms", type=int,
                   help="Time in ms to wait for the bdev named by -b to appear (default 0)")
    p.set_defaults(func=lambda a: print_dict(_call(a, "bdev_get_bdevs", name=a.name,
                                                   timeout=a.timeout_ms)))

    p = sub.add_parser("bdev_get_iostat", help="Display I/O statistics of the bdevs, or one")
    p.add_argument("-b", "--name", help="Name or alias of the bdev (SPDK before 23.01)")
    p.add_argument("--names", type=lambda s: s.split(","),
                   help="Bdev names to obtain I/O statistics from, comma-separated")
    p.add_argument("-c", "--per-channel", action="store_true",
                   help="Display per channel IO stats for the one bdev given")
    p.add_argument("--reset-mode", choices=["all", "maxmin", "error", "none"],
                   help="Mode to reset I/O statistics after getting them")
    p.set_defaults(func=lambda a: print_dict(_call(
        a, "bdev_get_iostat", name=a.name, names=a.names, per_channel=a.per_channel or None,
        reset_mode=a.reset_mode)))

    p = sub.add_parser("bdev_reset_iostat", help="Reset I/O statistics of the bdevs, or one")
    p.add_argument("-b", "--name", help="Name of the bdev (default: every bdev)")
    p.add_argument("-m", "--mode", choices=["all", "maxmin", "error", "none"],
                   help="What to reset (default: all)")
    p.set_defaults(func=lambda a: print_dict(_call(a, "bdev_reset_iostat", name=a.name,
                                                   mode=a.mode)))

    p = sub.add_parser("bdev_enable_histogram",
                       help="Enable or disable histogram for specified bdev")
    p.add_argument("--histogram", dest="enable", action=argparse.BooleanOptionalAction,
                   required=True, help="Enable or disable histograms on specified device")
    p.add_argument("-o", "--opc", help="Only this I/O type (default: every type)")
    p.add_argument("--granularity", type=int, help="Histogram bucket granularity (default 7)")
    p.add_argument("--min-nsec", type=int, help="Histogram min value in nanoseconds")
    p.add_argument("--max-nsec", type=int, help="Histogram max value in nanoseconds")
    p.add_argument("name", help="bdev name")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "bdev_enable_histogram", name=a.name, enable=a.enable, opc=a.opc,
        granularity=a.granularity, min_nsec=a.min_nsec, max_nsec=a.max_nsec)))

    p = sub.add_parser("bdev_get_histogram", help="Get histogram for specified bdev")
    p.add_argument("name", help="bdev name")
    p.set_defaults(func=lambda a: print_dict(_call(a, "bdev_get_histogram", name=a.name)))

    p = sub.add_parser("delete_bdev", help="Delete a bdev of any module (deprecated: use "
                       "bdev_malloc_delete, bdev_null_delete, bdev_aio_delete...)")
    p.add_argument("bdev_name", help="Block device name")
    p.set_defaults(func=lambda a: print_json(_call(a, "delete_bdev", name=a.bdev_name)))

    p = sub.add_parser("bdev_set_options", help="Set options of the bdev subsystem")
    p.add_argument("-p", "--bdev-io-pool-size", type=int,
                   help="Number of bdev_io structures in the shared pool")
    p.add_argument("-c", "--bdev-io-cache-size", type=int,
                   help="Maximum number of bdev_io structures cached per reactor")
    p.add_argument("-s", "--small-buf-pool-size", type=int,
                   help="Number of small (8 KiB) data buffers in the shared pool")
    p.add_argument("-l", "--large-buf-pool-size", type=int,
                   help="Number of large (64 KiB) data buffers in the shared pool")
    p.add_argument("--auto-examine", dest="bdev_auto_examine",
                   action=argparse.BooleanOptionalAction, help="Enable or disable auto examine")
    p.add_argument("--iobuf-small-cache-size", type=int,
                   help="Size of the small buffer cache per reactor")
    p.add_argument("--iobuf-large-cache-size", type=int,
                   help="Size of the large buffer cache per reactor")
    p.set_defaults(func=lambda a: _call(a, "bdev_set_options",
                                        bdev_io_pool_size=a.bdev_io_pool_size,
                                        bdev_io_cache_size=a.bdev_io_cache_size,
                                        small_buf_pool_size=a.small_buf_pool_size,
                                        large_buf_pool_size=a.large_buf_pool_size,
                                        bdev_auto_examine=a.bdev_auto_examine,
                                        iobuf_small_cache_size=a.iobuf_small_cache_size,
                                        iobuf_large_cache_size=a.iobuf_large_cache_size))

    p = sub.add_parser("bdev_wait_for_examine", help="Report when all bdevs have been examined")
    p.set_defaults(func=lambda a: _call(a, "bdev_wait_for_examine"))

    p = sub.add_parser("bdev_set_qos_limit",
                       help="Set QoS rate limits on a bdev (0 removes a limit)")
    p.add_argument("name", help="Blockdev name to set QoS")
    p.add_argument("--rw_ios_per_sec", "--rw-ios-per-sec", type=int,
                   help="R/W IOs per second limit (>=1000, multiple of 1000; 0 = unlimited)")
    for kind, what in (("rw", "R/W"), ("r", "Read"), ("w", "Write")):
        p.add_argument("--%s_mbytes_per_sec" % kind, "--%s-mbytes-per-sec" % kind, type=int,
                       help="%s megabytes per second limit (0 = unlimited)" % what)
    p.set_defaults(func=lambda a: _call(
        a, "bdev_set_qos_limit", name=a.name, rw_ios_per_sec=a.rw_ios_per_sec,
        rw_mbytes_per_sec=a.rw_mbytes_per_sec, r_mbytes_per_sec=a.r_mbytes_per_sec,
        w_mbytes_per_sec=a.w_mbytes_per_sec))

    p = sub.add_parser("bdev_malloc_create", help="Create a bdev with malloc backend")
    p.add_argument("-b", "--name", help="Name of the bdev")
    p.add_argument("-u", "--uuid", help="UUID of the bdev (optional)")
    p.add_argument("total_size", type=float, help="Size of malloc bdev in MB (float > 0)")
    p.add_argument("block_size", type=int, help="Block size for this bdev")
    p.add_argument("-p", "--physical-block-size", type=int,
                   help="Physical block size for this bdev (a power of two multiple of "
                   "block_size; default: block_size)")
    p.add_argument("-o", "--optimal-io-boundary", type=int,
                   help="Split on optimal IO boundary, in number of blocks, default 0 (disabled)")
    p.set_defaults(func=cmd_bdev_malloc_create)

    p = sub.add_parser("bdev_null_create", help="Add a bdev with null backend")
    p.add_argument("name", help="Block device name")
    p.add_argument("-u", "--uuid", help="UUID of the bdev (optional)")
    p.add_argument("total_size", type=int, help="Size of null bdev in MB (int > 0)")
    p.add_argument("block_size", type=int, help="Block size for this bdev")
    p.add_argument("--no-read-zeroes", dest="no_read_zeroes", action="store_true",
                   help="Reads leave their buffers untouched (vtarget only; for benchmarks)")
    p.set_defaults(func=cmd_bdev_null_create)

    p = sub.add_parser("bdev_null_resize", help="Resize a null bdev")
    p.add_argument("name", help="null bdev name")
    p.add_argument("new_size", type=int, help="New bdev size in MiB")
    p.set_defaults(func=lambda a: print_json(_call(a, "bdev_null_resize", name=a.name,
                                                   new_size=a.new_size)))

    p = sub.add_parser("bdev_aio_create", help="Add a bdev with aio backend")
    p.add_argument("filename", help="Path to device or file (ex: /dev/sda)")
    p.add_argument("name", help="Block device name")
    p.add_argument("block_size", type=int, nargs="?",
                   help="Block size for this bdev (default: the device's logical block size)")
    p.add_argument("-r", "--readonly", action="store_true", help="Set this bdev as read-only")
    p.add_argument("--fallocate", action="store_true",
                   help="Support unmap/write_zeroes by fallocate")
    p.add_argument("-u", "--uuid", help="UUID of the bdev (optional)")
    p.add_argument("--no-wait", dest="nowait", action="store_true",
                   help="Use RWF_NOWAIT on reads and writes (block devices only)")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "bdev_aio_create", filename=a.filename, name=a.name, block_size=a.block_size,
        readonly=a.readonly or None, fallocate=a.fallocate or None, uuid=a.uuid,
        nowait=a.nowait or None)))

    p = sub.add_parser("bdev_uring_create", help="Create a bdev with io_uring backend")
    p.add_argument("filename", help="Path to device or file (ex: /dev/nvme0n1)")
    p.add_argument("name", help="bdev name")
    p.add_argument("block_size", type=int, nargs="?",
                   help="Block size for this bdev (default: the device's logical block size)")
    p.add_argument("-u", "--uuid", help="UUID of the bdev (optional)")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "bdev_uring_create", filename=a.filename, name=a.name, block_size=a.block_size,
        uuid=a.uuid)))

    for module, what in (("malloc", "malloc disk"), ("null", "null bdev"),
                         ("aio", "aio disk"), ("uring", "uring bdev")):
        method = "bdev_%s_delete" % module
        p = sub.add_parser(method, help="Delete a %s" % what)
        p.add_argument("name", help="%s name" % what)
        p.set_defaults(func=lambda a, m=method: _call(a, m, name=a.name))

    # Virtual bdevs (issue 14): SPDK's command lines.
    p = sub.add_parser("bdev_error_create", help="Add bdev with error injection backend")
    p.add_argument("base_name", help="base bdev name")
    p.add_argument("--uuid", help="UUID for this bdev")
    p.set_defaults(func=lambda a: print_json(_call(a, "bdev_error_create",
                                                   base_name=a.base_name, uuid=a.uuid)))

    p = sub.add_parser("bdev_error_inject_error", help="bdev inject error")
    p.add_argument("name", help="the name of the error injection bdev")
    p.add_argument("io_type", choices=["clear", "read", "write", "unmap", "flush", "all"],
                   help="IO type")
    p.add_argument("error_type", choices=["failure", "pending", "corrupt_data", "nomem"],
                   help="Error type")
    p.add_argument("-n", "--num", type=int, help="the number of commands to fail (default 1)")
    p.add_argument("-q", "--queue-depth", type=int,
                   help="the queue depth at which to trigger the error")
    p.add_argument("-o", "--corrupt-offset", type=int,
                   help="the offset in bytes to xor with corrupt_value")
    p.add_argument("-v", "--corrupt-value", type=int,
                   help="the value for xor (1-255, 0 is invalid)")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "bdev_error_inject_error", name=a.name, io_type=a.io_type, error_type=a.error_type,
        num=a.num, queue_depth=a.queue_depth, corrupt_offset=a.corrupt_offset,
        corrupt_value=a.corrupt_value)))

    p = sub.add_parser("bdev_error_resume_pending",
                       help="Resume all error bdev pending requests")
    p.add_argument("name", help="the name of the error injection bdev")
    p.set_defaults(func=lambda a: print_json(_call(a, "bdev_error_resume_pending",
                                                   name=a.name)))

    p = sub.add_parser("bdev_delay_create",
                       help="Add a delay bdev on existing bdev (latencies in microseconds)")
    p.add_argument("-b", "--base-bdev-name", required=True, help="Name of the existing bdev")
    p.add_argument("-d", "--name", required=True, help="Name of the delay bdev")
    p.add_argument("-u", "--uuid", help="UUID of the bdev (optional)")
    p.add_argument("-r", "--avg-read-latency", type=int, required=True,
                   help="Average latency to apply before completing read ops (us)")
    p.add_argument("-t", "--nine-nine-read-latency", dest="p99_read_latency", type=int,
                   required=True, help="Latency of 1 in 100 read ops (us)")
    p.add_argument("-w", "--avg-write-latency", type=int, required=True,
                   help="Average latency to apply before completing write ops (us)")
    p.add_argument("-n", "--nine-nine-write-latency", dest="p99_write_latency", type=int,
                   required=True, help="Latency of 1 in 100 write ops (us)")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "bdev_delay_create", base_bdev_name=a.base_bdev_name, name=a.name, uuid=a.uuid,
        avg_read_latency=a.avg_read_latency, p99_read_latency=a.p99_read_latency,
        avg_write_latency=a.avg_write_latency, p99_write_latency=a.p99_write_latency)))

    p = sub.add_parser("bdev_delay_update_latency",
                       help="Update one of the latency values of a delay bdev")
    p.add_argument("delay_bdev_name", help="The name of the given delay bdev")
    p.add_argument("latency_type", choices=["avg_read", "avg_write", "p99_read", "p99_write"],
                   help="one of: avg_read, avg_write, p99_read, p99_write")
    p.add_argument("latency_us", type=int, help="new latency value in microseconds")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "bdev_delay_update_latency", delay_bdev_name=a.delay_bdev_name,
        latency_type=a.latency_type, latency_us=a.latency_us)))

    for module, what in (("error", "error bdev"), ("delay", "delay bdev")):
        method = "bdev_%s_delete" % module
        p = sub.add_parser(method, help="Delete a %s" % what)
        p.add_argument("name", help="%s name" % what)
        p.set_defaults(func=lambda a, m=method: _call(a, m, name=a.name))

    p = sub.add_parser("bdev_split_create",
                       help="Split a bdev into equal parts <base_bdev>p0..p<N-1>")
    p.add_argument("base_bdev", help="base bdev name")
    p.add_argument("-s", "--split-size-mb", type=int, help="size in MiB for each bdev")
    p.add_argument("split_count", type=int, help="number of split bdevs to create")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "bdev_split_create", base_bdev=a.base_bdev, split_count=a.split_count,
        split_size_mb=a.split_size_mb)))

    p = sub.add_parser("bdev_split_delete", help="Delete every split part of a base bdev")
    p.add_argument("base_bdev", help="base bdev name")
    p.set_defaults(func=lambda a: _call(a, "bdev_split_delete", base_bdev=a.base_bdev))

    p = sub.add_parser("bdev_raid_create", help="Create new raid bdev")
    p.add_argument("-n", "--name", required=True, help="raid bdev name")
    p.add_argument("-z", "--strip-size-kb", type=int, help="strip size in KB")
    p.add_argument("-r", "--raid-level", required=True,
                   help="raid level: raid0 (0), raid1 (1), concat")
    p.add_argument("-b", "--base-bdevs", required=True,
                   help="base bdevs name, whitespace separated list in quotes")
    p.add_argument("--uuid", help="UUID for this raid bdev")
    p.add_argument("-s", "--superblock", action="store_true",
                   help="information about raid bdev will be stored in superblock on each "
                   "base bdev")
    p.set_defaults(func=lambda a: _call(
        a, "bdev_raid_create", name=a.name, strip_size_kb=a.strip_size_kb,
        raid_level=a.raid_level, base_bdevs=a.base_bdevs.split(), uuid=a.uuid,
        superblock=a.superblock or None))

    p = sub.add_parser("bdev_raid_get_bdevs", help="Get raid bdevs of a category")
    p.add_argument("category", nargs="?", default="all",
                   help="all, online, configuring or offline")
    p.set_defaults(func=lambda a: print_json(_call(a, "bdev_raid_get_bdevs",
                                                   category=a.category)))

    p = sub.add_parser("bdev_raid_delete", help="Delete existing raid bdev")
    p.add_argument("name", help="raid bdev name")
    p.set_defaults(func=lambda a: _call(a, "bdev_raid_delete", name=a.name))

    p = sub.add_parser("bdev_raid_add_base_bdev", help="Add base bdev to existing raid bdev")
    p.add_argument("raid_bdev", help="raid bdev name")
    p.add_argument("base_bdev", help="base bdev name")
    p.set_defaults(func=lambda a: _call(a, "bdev_raid_add_base_bdev", raid_bdev=a.raid_bdev,
                                        base_bdev=a.base_bdev))

    p = sub.add_parser("bdev_raid_remove_base_bdev",
                       help="Remove base bdev from existing raid bdev")
    p.add_argument("name", help="base bdev name")
    p.set_defaults(func=lambda a: _call(a, "bdev_raid_remove_base_bdev", name=a.name))

    for module in ("aio", "uring"):
        method = "bdev_%s_rescan" % module
        p = sub.add_parser(method, help="Re-read the size of a bdev with %s backend" % module)
        p.add_argument("name", help="Block device name")
        p.set_defaults(func=lambda a, m=method: print_json(_call(a, m, name=a.name)))

    p = sub.add_parser("bdev_iscsi_set_options", help="Set options of the iSCSI bdev module")
    p.add_argument("-t", "--timeout-sec", type=int,
                   help="request timeout in seconds (0: none); applies to bdevs created later")
    p.set_defaults(func=lambda a: _call(a, "bdev_iscsi_set_options", timeout_sec=a.timeout_sec))

    p = sub.add_parser("bdev_iscsi_create", help="Add a bdev on a LUN of an iSCSI target")
    p.add_argument("-b", "--name", required=True, help="name of the bdev")
    p.add_argument("-i", "--initiator-iqn", required=True, help="our initiator IQN")
    p.add_argument("--url", required=True,
                   help="iscsi://[user[%%password]@]host[:port]/target-iqn/lun")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "bdev_iscsi_create", name=a.name, initiator_iqn=a.initiator_iqn, url=a.url)))

    p = sub.add_parser("bdev_iscsi_delete", help="Delete an iSCSI bdev")
    p.add_argument("name", help="iSCSI bdev name")
    p.set_defaults(func=lambda a: _call(a, "bdev_iscsi_delete", name=a.name))


def _key_values(entries, flag):
    """["k=v", ...] from repeated options into {k: v}; None when none were given."""
    if not entries:
        return None
    out = {}
    for e in entries:
        key, sep, value = e.partition("=")
        if not sep or not key:
            raise SystemExit("%s %r: expected key=value" % (flag, e))
        out[key] = value
    return out


def add_rbd_commands(sub):
    p = sub.add_parser("bdev_rbd_register_cluster",
                       help="Connect to a Ceph cluster that rbd bdevs can share")
    p.add_argument("name", help="cluster name, for bdev_rbd_create --cluster-name")
    p.add_argument("--user", dest="user_id", help="Ceph user (admin, not client.admin)")
    p.add_argument("--config-param", action="append", metavar="key=value",
                   help="a rados option (repeatable)")
    p.add_argument("--config-file", help="ceph.conf to read")
    p.add_argument("--key-file", help="keyring file")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "bdev_rbd_register_cluster", name=a.name, user_id=a.user_id,
        config_param=_key_values(a.config_param, "--config-param"),
        config_file=a.config_file, key_file=a.key_file)))

    p = sub.add_parser("bdev_rbd_unregister_cluster", help="Disconnect an unused Ceph cluster")
    p.add_argument("name", help="cluster name")
    p.set_defaults(func=lambda a: _call(a, "bdev_rbd_unregister_cluster", name=a.name))

    p = sub.add_parser("bdev_rbd_get_clusters_info", help="Show the registered Ceph clusters")
    p.add_argument("-b", "--name", help="only this cluster")
    p.set_defaults(func=lambda a: print_json(_call(a, "bdev_rbd_get_clusters_info",
                                                   name=a.name)))

    p = sub.add_parser("bdev_rbd_create", help="Add a bdev on a Ceph RBD image")
    p.add_argument("-b", "--name", help="bdev name (default Ceph0, Ceph1, ...)")
    p.add_argument("--user", dest="user_id", help="Ceph user, without --cluster-name")
    p.add_argument("--config", action="append", metavar="key=value",
                   help="a rados option, without --cluster-name (repeatable)")
    p.add_argument("pool_name", help="pool")
    p.add_argument("rbd_name", help="image")
    p.add_argument("block_size", type=int, help="block size in bytes")
    p.add_argument("-c", "--cluster-name", help="a cluster from bdev_rbd_register_cluster")
    p.add_argument("-u", "--uuid", help="UUID of the bdev")
    p.add_argument("-r", "--readonly", dest="read_only", action="store_true",
                   help="open the image read-only")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "bdev_rbd_create", name=a.name, user_id=a.user_id,
        config=_key_values(a.config, "--config"), pool_name=a.pool_name,
        rbd_name=a.rbd_name, block_size=a.block_size, cluster_name=a.cluster_name,
        uuid=a.uuid, read_only=a.read_only or None)))

    p = sub.add_parser("bdev_rbd_delete", help="Delete an rbd bdev")
    p.add_argument("name", help="bdev name")
    p.set_defaults(func=lambda a: _call(a, "bdev_rbd_delete", name=a.name))

    p = sub.add_parser("bdev_rbd_resize", help="Grow an rbd bdev and its image")
    p.add_argument("name", help="bdev name")
    p.add_argument("new_size", type=int, help="new size in MiB")
    p.set_defaults(func=lambda a: print_json(_call(a, "bdev_rbd_resize", name=a.name,
                                                   new_size=a.new_size)))


def add_vhost_commands(sub):
    p = sub.add_parser("vhost_create_blk_controller", help="Add a new vhost block controller")
    p.add_argument("ctrlr", help="controller name")
    p.add_argument("dev_name", help="device name")
    p.add_argument("--cpumask", help="cpu mask for this controller")
    p.add_argument("--transport", help="virtio blk transport name (default: vhost_user_blk)")
    p.add_argument("-r", "--readonly", action="store_true", help="Set controller as read-only")
    p.add_argument("-p", "--packed_ring", action="store_true",
                   help="Set controller as packed ring supported")
    p.add_argument("--shared", action="store_true",
                   help="share the bdev with other shared blk controllers (vtarget extension)")
    p.set_defaults(func=lambda a: _call(
        a, "vhost_create_blk_controller", ctrlr=a.ctrlr, dev_name=a.dev_name,
        cpumask=a.cpumask, transport=a.transport, readonly=a.readonly or None,
        packed_ring=a.packed_ring or None, shared=a.shared or None))

    p = sub.add_parser("vhost_get_controllers", help="List all or specific vhost controller(s)")
    p.add_argument("-n", "--name", help="Name of vhost controller")
    p.set_defaults(func=lambda a: print_dict(_call(a, "vhost_get_controllers", name=a.name)))

    p = sub.add_parser("vhost_create_scsi_controller", help="Add a new vhost controller")
    p.add_argument("ctrlr", help="controller name")
    p.add_argument("--cpumask", help="cpu mask for this controller")
    p.add_argument("--delay", action="store_true",
                   help="whether delay starting controller or not")
    p.set_defaults(func=lambda a: _call(
        a, "vhost_create_scsi_controller", ctrlr=a.ctrlr, cpumask=a.cpumask,
        delay=a.delay or None))

    p = sub.add_parser("vhost_start_scsi_controller", help="Start vhost scsi controller")
    p.add_argument("ctrlr", help="controller name")
    p.set_defaults(func=lambda a: _call(a, "vhost_start_scsi_controller", ctrlr=a.ctrlr))

    p = sub.add_parser("vhost_scsi_controller_add_target",
                       help="Add lun to vhost controller")
    p.add_argument("ctrlr", help="controller name where add lun")
    p.add_argument("scsi_target_num", type=int, help="scsi_target_num (-1: the first free)")
    p.add_argument("bdev_name", help="bdev name")
    p.set_defaults(func=lambda a: print_json(_call(
        a, "vhost_scsi_controller_add_target", ctrlr=a.ctrlr,
        scsi_target_num=a.scsi_target_num, bdev_name=a.bdev_name)))

    p = sub.add_parser("vhost_scsi_controller_remove_target",
                       help="Remove target from vhost controller")
    p.add_argument("ctrlr", help="controller name to remove target from")
    p.add_argument("scsi_target_num", type=int, help="scsi_target_num")
    p.set_defaults(func=lambda a: _call(
        a, "vhost_scsi_controller_remove_target", ctrlr=a.ctrlr,
        scsi_target_num=a.scsi_target_num))

    p = sub.add_parser("vhost_delete_controller", help="Delete a vhost controller")
    p.add_argument("ctrlr", help="controller name")
    p.set_defaults(func=lambda a: _call(a, "vhost_delete_controller", ctrlr=a.ctrlr))

    p = sub.add_parser("vhost_controller_set_coalescing",
                       help="Set vhost controller coalescing")
    p.add_argument("ctrlr", help="controller name")
    p.add_argument("delay_base_us", type=int, help="longest call delay in microseconds (0: off)")
    p.add_argument("iops_threshold", type=int,
                   help="IOPS per queue above which calls are delayed (at least 100)")
    p.set_defaults(func=lambda a: _call(
        a, "vhost_controller_set_coalescing", ctrlr=a.ctrlr, delay_base_us=a.delay_base_us,
        iops_threshold=a.iops_threshold))


def build_parser():
    parser = argparse.ArgumentParser(
        description="vtarget RPC command line interface (SPDK rpc.py syntax)",
        usage="%(prog)s [options] COMMAND [args]")
    parser.add_argument("-s", "--server", dest="server_addr", default=DEFAULT_SOCKET,
                        help="RPC Unix socket path. Default: %s" % DEFAULT_SOCKET)
    parser.add_argument("-t", "--timeout", dest="timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="Seconds to wait for each response. Default: 60.0")
    parser.add_argument("-r", "--conn-retries", dest="conn_retries", type=int, default=0,
                        help="Retry connecting N times with 0.2 s interval. Default: 0")
    parser.add_argument("-v", dest="verbose", action="store_const", const="INFO",
                        default="ERROR", help="Verbose: print requests and responses to stderr")
    parser.add_argument("--verbose", dest="verbose", choices=["DEBUG", "INFO", "ERROR"],
                        help="Set the verbosity level")
    parser.add_argument("--dry-run", dest="dry_run", action="store_true",
                        help="Print the requests instead of sending them")
    sub = parser.add_subparsers(dest="called_rpc_name", metavar="COMMAND",
                                help="RPC methods (COMMAND -h for its arguments)")
    add_parser = sub.add_parser
    sub.add_parser = lambda name, **kw: add_parser(
        name, aliases=DEPRECATED_ALIASES.get(name, []), **kw)
    add_app_commands(sub)
    add_log_commands(sub)
    add_notify_commands(sub)
    add_bdev_commands(sub)
    add_vhost_commands(sub)
    add_rbd_commands(sub)
    return parser


def command_names():
    """Every subcommand the CLI has."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return sorted(n for n in action.choices if n not in ALIAS_OF)
    return []


def rpc_methods():
    """The daemon methods the CLI has a subcommand for (the client-side ones left out)."""
    return [n for n in command_names() if n not in CLIENT_SIDE_COMMANDS]


def make_client(args):
    if args.dry_run:
        return DryRunClient()
    return JSONRPCClient(args.server_addr, args.timeout, verbose=args.verbose,
                         conn_retries=args.conn_retries)


def run_args(args):
    """Runs one parsed command; returns the exit code (errors go to stderr)."""
    old = getattr(args, "called_rpc_name", None)
    if old in ALIAS_OF:
        print("warning: '%s' is deprecated, use '%s' instead" % (old, ALIAS_OF[old]),
              file=sys.stderr)
    try:
        args.client = make_client(args)
        try:
            args.func(args)
        finally:
            args.client.close()
    except JSONRPCException as ex:
        print(ex.message.rstrip("\n"), file=sys.stderr)
        return 1
    except OSError as ex:
        print("error: %s" % ex, file=sys.stderr)
        return 1
    return 0


def run_script(parser, base, lines):
    """Commands read from stdin, one per line ('#' starts a comment), as SPDK's rpc.py does."""
    for line in lines:
        words = shlex.split(line, comments=True)
        if not words:
            continue
        args = parser.parse_args(words)
        for name in ("server_addr", "timeout", "conn_retries", "verbose", "dry_run"):
            setattr(args, name, getattr(base, name))
        if not hasattr(args, "func"):
            print("error: no command in line: %s" % line.strip(), file=sys.stderr)
            return 1
        rc = run_args(args)
        if rc:
            print("failed command: %s" % line.strip(), file=sys.stderr)
            return rc
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        if sys.stdin.isatty():
            parser.print_help()
            return 1
        return run_script(parser, args, sys.stdin)
    return run_args(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
