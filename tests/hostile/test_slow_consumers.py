"""Finding 5: a WebSocket client that never reads is dropped instead of stalling every other subscriber;
subscriptions per connection are capped."""

from __future__ import annotations

import json
import threading
import time

from websockets.sync.client import connect

from tests.hostile.attacks import ws_stall
from tests.node.procs import NodeProcess


def _ws_url(node: NodeProcess) -> str:
    return node.url.replace("http://", "ws://")


def test_stalled_consumer_does_not_starve_other_subscribers(live_node: NodeProcess) -> None:
    url = _ws_url(live_node)
    stop = threading.Event()
    attackers = [threading.Thread(target=ws_stall, args=(live_node.url, stop), daemon=True) for _ in range(2)]
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
