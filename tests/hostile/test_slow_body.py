"""Slow body (finding 5, one step after slow loris): a client that completes its headers, announces a body
and then trickles it one byte at a time is cut off at the body deadline, on the JSON-RPC server and on the
oracle's webhook server; honest requests, and WebSocket connections (which have no body), are not."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from co3chain.oracle.webhooks import create_app
from co3chain.rpc import httpguard
from co3chain.rpc.dispatch import Dispatcher
from co3chain.rpc.httpguard import uvicorn_settings
from co3chain.rpc.server import RpcApp
from tests.hostile.test_http_input import _serve
from tests.oracle.helpers import AR, SIGNER_KEYS, T0, FakeChain, headers_for
from tests.oracle.test_operator import make_operator

BODY_TIMEOUT = 1.0


def _rpc_app() -> RpcApp:
    d = Dispatcher()
    d.register("web3_clientVersion", lambda: "co3chain/test")
    return RpcApp(d)


@pytest.fixture
def rpc_port() -> Iterator[int]:
    yield from _serve(_rpc_app(), **uvicorn_settings(header_timeout=5, body_timeout=BODY_TIMEOUT))


@pytest.fixture
def oracle_port(tmp_path: Any) -> Iterator[int]:
    op = make_operator(tmp_path, "lead", SIGNER_KEYS[0], FakeChain())
    yield from _serve(create_app(op, clock=lambda: T0),
                      **uvicorn_settings(header_timeout=5, body_timeout=BODY_TIMEOUT))


def _trickle(port: int, head: bytes, seconds: float = 6.0) -> float:
    """Send ``head`` then one body byte every 0.2 s; seconds until the server closed the connection (or
    ``seconds`` if it never did)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(head)
        t0 = time.monotonic()
        s.settimeout(0.2)
        while time.monotonic() - t0 < seconds:
            try:
                s.sendall(b" ")
            except OSError:
                return time.monotonic() - t0
            try:
                data = s.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return time.monotonic() - t0
            if data == b"" or data.startswith(b"HTTP/1.1 4"):
                return time.monotonic() - t0
        return seconds


def test_default_body_deadline_is_bounded() -> None:
    assert 0 < httpguard.DEFAULT_BODY_TIMEOUT <= 60


def test_rpc_cuts_off_a_trickled_body(rpc_port: int) -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    took = _trickle(rpc_port, head)
    assert took < BODY_TIMEOUT + 2, f"trickling client held the connection for {took:.1f} s"
    # honest requests still answered
    r = httpx.post(f"http://127.0.0.1:{rpc_port}/",
                   json={"jsonrpc": "2.0", "id": 1, "method": "web3_clientVersion", "params": []})
    assert r.json()["result"] == "co3chain/test"


def test_oracle_cuts_off_a_trickled_signed_webhook(oracle_port: int) -> None:
    # a correctly signed header set (authentication passes on headers alone), then a trickled body
    headers = headers_for(AR, b"{}", T0)
    lines = ["POST /oracle/v1/webhooks/ar/checkin HTTP/1.1", "Host: x", "Content-Length: 60000",
             "Content-Type: application/json", *(f"{k}: {v}" for k, v in headers.items())]
    took = _trickle(oracle_port, ("\r\n".join(lines) + "\r\n\r\n").encode())
    assert took < BODY_TIMEOUT + 2, f"trickling client held the connection for {took:.1f} s"


def test_websocket_outlives_the_body_deadline(rpc_port: int) -> None:
    async def run() -> Any:
        async with websockets.connect(f"ws://127.0.0.1:{rpc_port}/") as ws:
            await asyncio.sleep(BODY_TIMEOUT * 2)
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "web3_clientVersion", "params": []}))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    assert asyncio.run(run())["result"] == "co3chain/test"
