# SPDX-License-Identifier: BSD-3-Clause
"""JSON-RPC 2.0 on the Unix socket: errors, framing, hostile clients, concurrency.

After every test the shared daemon must still answer (SharedDaemonTestCase.tearDown)."""

import json
import socket
import threading
import time

import vtlib
from vtlib import SharedDaemonTestCase, connect, expect_no_data, recv_json, wait_closed

NUM_BDEVS = 4


def request(method, params=None, req_id=1):
    req = {"jsonrpc": "2.0", "method": method, "id": req_id}
    if params is not None:
        req["params"] = params
    return req


def send(sock, obj):
    sock.sendall(json.dumps(obj).encode())


class ProtocolTest(SharedDaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for i in range(NUM_BDEVS):
            cls.d.call("bdev_malloc_create",
                       {"name": "P%d" % i, "num_blocks": 64 * (i + 1), "block_size": 512})

    def conn(self):
        s = connect(self.d.sock)
        self.addCleanup(s.close)
        return s

    def ask(self, sock, obj):
        send(sock, obj)
        resp, rest = recv_json(sock)
        self.assertIsNotNone(resp, "connection closed instead of an answer")
        self.assertEqual(rest.strip(), "", "extra data after the answer")
        return resp

    def assertError(self, resp, code, req_id=1):
        self.assertEqual(resp.get("jsonrpc"), "2.0", resp)
        self.assertIn("error", resp, resp)
        self.assertNotIn("result", resp, resp)
        self.assertEqual(resp["id"], req_id, resp)
        self.assertEqual(resp["error"]["code"], code, resp)
        self.assertIsInstance(resp["error"]["message"], str)
        return resp["error"]["message"]

    # ---- errors ------------------------------------------------------------------------------

    def test_unknown_method_is_32601(self):
        s = self.conn()
        msg = self.assertError(self.ask(s, request("no_such_method", req_id=7)), -32601, 7)
        self.assertIn("no_such_method", msg)
        # The connection stays usable.
        resp = self.ask(s, request("spdk_get_version", req_id=8))
        self.assertEqual(resp["id"], 8)
        self.assertIn("result", resp)

    def test_missing_parameter_is_32602_and_named(self):
        s = self.conn()
        msg = self.assertError(self.ask(s, request("bdev_malloc_create",
                                                   {"name": "X", "num_blocks": 8})), -32602)
        self.assertIn("block_size", msg)

    def test_mistyped_parameter_is_32602_and_named(self):
        s = self.conn()
        msg = self.assertError(self.ask(s, request("bdev_malloc_create",
                                                   {"name": "X", "num_blocks": "many",
                                                    "block_size": 512})), -32602)
        self.assertIn("num_blocks", msg)
        msg = self.assertError(self.ask(s, request("bdev_malloc_create",
                                                   {"name": "X", "num_blocks": -8,
                                                    "block_size": 512})), -32602)
        self.assertIn("num_blocks", msg)

    def test_params_must_be_object_or_array(self):
        s = self.conn()
        resp = self.ask(s, request("bdev_get_bdevs", 5))
        self.assertIn(resp["error"]["code"], (-32600, -32602), resp)

    def test_request_without_method_is_32600(self):
        s = self.conn()
        self.assertError(self.ask(s, {"jsonrpc": "2.0", "id": 3}), -32600, 3)
        self.assertError(self.ask(s, {"jsonrpc": "2.0", "method": 12, "id": 4}), -32600, 4)

    def test_request_not_an_object_is_32600(self):
        s = self.conn()
        # A newline ends each value: a streaming parser cannot know "42" is complete before.
        for value in (42, "text", None, True):
            s.sendall(json.dumps(value).encode() + b"\n")
            resp, _ = recv_json(s)
            self.assertEqual(resp["error"]["code"], -32600, resp)
            self.assertIsNone(resp["id"])
        # In a batch: one error per invalid element.
        s.sendall(b"[1, 2]\n")
        resp, _ = recv_json(s)
        self.assertIsInstance(resp, list, resp)
        self.assertEqual([r["error"]["code"] for r in resp], [-32600, -32600])

    def test_bad_id_type_is_32600(self):
        s = self.conn()
        resp = self.ask(s, {"jsonrpc": "2.0", "method": "spdk_get_version", "id": {"a": 1}})
        self.assertEqual(resp["error"]["code"], -32600, resp)
        self.assertIsNone(resp["id"])

    def test_string_ids_are_echoed(self):
        s = self.conn()
        resp = self.ask(s, request("spdk_get_version", req_id="abc-1"))
        self.assertEqual(resp["id"], "abc-1")
        self.assertIn("result", resp)

    def test_malformed_json_is_32700_then_closed(self):
        s = self.conn()
        s.sendall(b'{"jsonrpc": "2.0", "method": ] }')
        resp, _ = recv_json(s)
        self.assertIsNotNone(resp, "connection closed without the -32700 answer")
        self.assertEqual(resp["error"]["code"], -32700, resp)
        self.assertIsNone(resp["id"])
        wait_closed(s)

    def test_invalid_utf8_is_refused(self):
        s = self.conn()
        s.sendall(b'{"jsonrpc": "2.0", "method": "spdk_get_version\xff\xfe", "id": 1}')
        resp, _ = recv_json(s)
        if resp is not None:
            self.assertIn(resp["error"]["code"], (-32700, -32600, -32601), resp)

    # ---- framing -----------------------------------------------------------------------------

    def test_truncated_request_waits_for_the_rest(self):
        s = self.conn()
        text = json.dumps(request("bdev_get_bdevs", {"name": "P1"}, req_id=11)).encode()
        cut = len(text) // 2
        s.sendall(text[:cut])
        expect_no_data(s, 0.5)
        # Byte by byte for a few, then the rest.
        for i in range(cut, cut + 5):
            s.sendall(text[i:i + 1])
            time.sleep(0.01)
        s.sendall(text[cut + 5:])
        resp, _ = recv_json(s)
        self.assertEqual(resp["id"], 11)
        self.assertEqual(resp["result"][0]["name"], "P1")

    def test_closing_mid_request_is_harmless(self):
        for n in range(5):
            s = connect(self.d.sock)
            s.sendall(b'{"jsonrpc": "2.0", "method": "bdev_get_bdevs", "params": {"na')
            s.close()
        # Also half-closed: the request is complete but the client shut its writing side.
        s = self.conn()
        send(s, request("spdk_get_version", req_id=2))
        s.shutdown(socket.SHUT_WR)
        resp, _ = recv_json(s)
        if resp is not None:
            self.assertEqual(resp["id"], 2)
        self.assertIn("version", self.d.call("spdk_get_version"))

    def test_oversized_request_is_refused(self):
        s = self.conn()
        blob = "A" * (10 * 1024 * 1024)
        text = json.dumps(request("bdev_get_bdevs", {"name": blob}, req_id=5)).encode()
        sent = 0
        s.settimeout(vtlib.RPC_TIMEOUT)
        try:
            while sent < len(text):
                n = s.send(text[sent:sent + 1024 * 1024])
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            pass
        except socket.timeout:
            self.fail("the daemon stopped reading an oversized request without closing")
        try:
            resp, _ = recv_json(s, timeout=vtlib.RPC_TIMEOUT)
        except ConnectionResetError:
            resp = None
        if resp is not None:
            self.assertEqual(resp["error"]["code"], -32600, resp)
            self.assertIn("too large", resp["error"]["message"].lower())
        self.assertIn("version", self.d.call("spdk_get_version"))

    def test_pipelined_requests_are_answered_in_order(self):
        s = self.conn()
        reqs = []
        for i in range(20):
            if i % 3 == 0:
                reqs.append(request("bdev_get_bdevs", {"name": "P%d" % (i % NUM_BDEVS)}, 100 + i))
            elif i % 3 == 1:
                reqs.append(request("no_such_method", None, 100 + i))
            else:
                reqs.append(request("spdk_get_version", None, 100 + i))
        s.sendall("".join(json.dumps(r) for r in reqs).encode())
        rest = ""
        for i, r in enumerate(reqs):
            resp, rest = recv_json(s, buf=rest)
            self.assertIsNotNone(resp, "connection closed after %d answers" % i)
            self.assertEqual(resp["id"], r["id"], "answers out of order")
            if i % 3 == 0:
                self.assertEqual(resp["result"][0]["name"], "P%d" % (i % NUM_BDEVS))
            elif i % 3 == 1:
                self.assertEqual(resp["error"]["code"], -32601)
            else:
                self.assertIn("version", resp["result"])

    def test_pipelined_with_newlines_and_whitespace(self):
        s = self.conn()
        a = json.dumps(request("spdk_get_version", None, 1), indent=2)
        b = json.dumps(request("bdev_get_bdevs", {"name": "P0"}, 2))
        s.sendall(("\n  " + a + "\r\n\t" + b + "\n").encode())
        r1, rest = recv_json(s)
        r2, rest = recv_json(s, buf=rest)
        self.assertEqual((r1["id"], r2["id"]), (1, 2))

    # ---- batches and notifications -----------------------------------------------------------

    def test_batch_request(self):
        s = self.conn()
        batch = [request("bdev_get_bdevs", {"name": "P2"}, 21),
                 {"jsonrpc": "2.0", "method": "spdk_get_version"},
                 request("no_such_method", None, 22),
                 request("spdk_get_version", None, 23)]
        resp = self.ask(s, batch)
        self.assertIsInstance(resp, list, resp)
        by_id = {r["id"]: r for r in resp}
        self.assertEqual(sorted(by_id), [21, 22, 23], "a notification in a batch got an answer")
        self.assertEqual(by_id[21]["result"][0]["name"], "P2")
        self.assertEqual(by_id[22]["error"]["code"], -32601)
        self.assertIn("version", by_id[23]["result"])

    def test_empty_batch_is_invalid(self):
        s = self.conn()
        resp = self.ask(s, [])
        self.assertIsInstance(resp, dict, resp)
        self.assertEqual(resp["error"]["code"], -32600)

    def test_batch_of_notifications_gets_no_answer(self):
        s = self.conn()
        send(s, [{"jsonrpc": "2.0", "method": "spdk_get_version"},
                 {"jsonrpc": "2.0", "method": "bdev_get_bdevs"}])
        resp = self.ask(s, request("spdk_get_version", None, 31))
        self.assertEqual(resp.get("id"), 31, "the notification batch was answered: %s" % resp)

    def test_notification_gets_no_answer(self):
        s = self.conn()
        send(s, {"jsonrpc": "2.0", "method": "spdk_get_version"})
        send(s, {"jsonrpc": "2.0", "method": "no_such_method"})
        expect_no_data(s, 0.3)
        resp = self.ask(s, request("spdk_get_version", None, 41))
        self.assertEqual(resp["id"], 41)

    def test_notification_side_effect_happens(self):
        s = self.conn()
        send(s, {"jsonrpc": "2.0", "method": "bdev_malloc_create",
                 "params": {"name": "Notified", "num_blocks": 64, "block_size": 512}})
        resp = self.ask(s, request("bdev_get_bdevs", {"name": "Notified"}, 42))
        self.assertEqual(resp["result"][0]["name"], "Notified")
        self.assertIs(self.ask(s, request("bdev_malloc_delete", {"name": "Notified"}, 43))
                      ["result"], True)

    # ---- many clients ------------------------------------------------------------------------

    def test_64_clients_at_once(self):
        n = 64
        barrier = threading.Barrier(n, timeout=10 * vtlib.SLOW)
        results = [None] * n

        def client(i):
            try:
                s = connect(self.d.sock)
                try:
                    barrier.wait()
                    name = "P%d" % (i % NUM_BDEVS)
                    send(s, request("bdev_get_bdevs", {"name": name}, 1000 + i))
                    resp, _ = recv_json(s, timeout=20 * vtlib.SLOW)
                    ok = (resp is not None and resp.get("id") == 1000 + i and
                          resp["result"][0]["name"] == name and
                          resp["result"][0]["num_blocks"] == 64 * (i % NUM_BDEVS + 1))
                    results[i] = True if ok else resp
                finally:
                    s.close()
            except Exception as ex:  # reported below
                results[i] = repr(ex)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30 * vtlib.SLOW)
        self.assertFalse(any(t.is_alive() for t in threads), "clients still waiting")
        bad = {i: r for i, r in enumerate(results) if r is not True}
        self.assertEqual(bad, {}, "clients with a wrong or missing answer")

    def test_many_connections_opened_and_closed(self):
        for i in range(200):
            s = connect(self.d.sock)
            if i % 2:
                send(s, request("spdk_get_version", None, i))
                resp, _ = recv_json(s)
                self.assertEqual(resp["id"], i)
            s.close()
