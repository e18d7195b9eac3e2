"""Finding 5: a WebSocket client that never reads is dropped instead of stalling every other subscriber;
subscriptions per connection are capped."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time

from websockets.sync.client import connect

from tests.node.procs import NodeProcess

#: eth_call of code (a state override) ``PUSH3 0x100000 PUSH1 0 RETURN``: a 1 MiB (2 MiB hex) answer.
_BIG = "0x" + "77" * 20
BIG_REQUEST = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                          "params": [{"to": _BIG, "gas": hex(10_000_000)}, "latest",
                                     {_BIG: {"code": "0x621000006000f3"}}]})


def _ws_url(node: NodeProcess) -> str:
    return node.url.replace("http://", "ws://")


def _frame(text: str) -> bytes:
    """A masked client text frame (RFC 6455)."""
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
                             if n < 65536 else bytes([0x80 | 127]) + n.to_bytes(8, "big"))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _stalled_consumer(url: str, stop: threading.Event) -> None:
    """Raw WebSocket client: subscribe to new heads, ask for big answers, never read a byte."""
    host, port = url.removeprefix("ws://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    try:
        sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(1)
        assert answer.startswith(b"HTTP/1.1 101"), answer
        sock.sendall(_frame(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "eth_subscribe",
                                        "params": ["newHeads"]})))
        sock.settimeout(0.5)
        for _ in range(60):
            if stop.is_set():
                break
            try:
                sock.sendall(_frame(BIG_REQUEST))
            except OSError:
                break  # our send buffer is full (the node stopped reading us) or it dropped us
        stop.wait(30)
    except OSError:
        pass
    finally:
        sock.close()


def test_stalled_consumer_does_not_starve_other_subscribers(live_node: NodeProcess) -> None:
    url = _ws_url(live_node)
    stop = threading.Event()
    attackers = [threading.Thread(target=_stalled_consumer, args=(url, stop), daemon=True) for _ in range(2)]
    for t in attackers:
        t.start()
    try:
        time.sleep(3)  # let the attackers' buffers fill
        heads = 0
        with connect(url, open_timeout=10) as ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
            json.loads(ws.recv(timeout=10))
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                try:
                    msg = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                except TimeoutError:
                    break
                heads += msg.get("method") == "eth_subscription"
        assert heads >= 6, f"honest subscriber got {heads} heads in 8 s"
    finally:
        stop.set()
        for t in attackers:
            t.join(10)


def test_subscriptions_per_connection_are_capped(live_node: NodeProcess) -> None:
    with connect(_ws_url(live_node), open_timeout=10) as ws:
        errors = []
        for i in range(70):
            ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "eth_subscribe", "params": ["newHeads"]}))
            while True:
                msg = json.loads(ws.recv(timeout=10))
                if msg.get("id") == i:
                    break
            if "error" in msg:
                errors.append(msg["error"])
        assert len(errors) == 6 and errors[0]["code"] == -32005 and "too many subscriptions" in errors[0]["message"]
