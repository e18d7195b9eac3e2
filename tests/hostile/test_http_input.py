"""Finding 6 (and the HTTP half of 5): bodies are bounded before they are read, strangers are refused
before their body is read, uvicorn never rewrites the client address from X-Forwarded-For, and a client
that never finishes its headers is disconnected."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from co3chain.oracle.webhooks import create_app
from co3chain.rpc.httpguard import uvicorn_settings
from tests.node.procs import NodeProcess, free_port
from tests.oracle.helpers import AR, SIGNER_KEYS, T0, FakeChain, checkin_body, headers_for
from tests.oracle.test_operator import make_operator


def _serve(app: Any, **settings: Any) -> Iterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           **settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def oracle_port(tmp_path: Any) -> Iterator[int]:
    op = make_operator(tmp_path, "lead", SIGNER_KEYS[0], FakeChain())
    yield from _serve(create_app(op, clock=lambda: T0), **uvicorn_settings())


def _raw_request(port: int, head: str, timeout: float = 5) -> bytes:
    """Send headers only (no body) and return what the server answers within ``timeout``."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head.encode())
        try:
            return s.recv(4096)
        except TimeoutError:
            return b""


def _webhook_head(headers: dict[str, str], length: int) -> str:
    lines = ["POST /oracle/v1/webhooks/ar/checkin HTTP/1.1", "Host: x", f"Content-Length: {length}",
             "Content-Type: application/json", *(f"{k}: {v}" for k, v in headers.items())]
    return "\r\n".join(lines) + "\r\n\r\n"


def test_oversized_webhook_refused_on_content_length(oracle_port: int) -> None:
    headers = headers_for(AR, b"{}", T0)
    answer = _raw_request(oracle_port, _webhook_head(headers, 200_000_000))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_stranger_refused_before_the_body_is_read(oracle_port: int) -> None:
    headers = {"X-CO3-Source": "nobody", "X-CO3-Timestamp": str(T0), "X-CO3-Signature": "00"}
    answer = _raw_request(oracle_port, _webhook_head(headers, 60_000))
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    stale = headers_for(AR, b"{}", T0 - 3600)
    assert _raw_request(oracle_port, _webhook_head(stale, 60_000)).startswith(b"HTTP/1.1 401")


def test_chunked_body_counted_while_streaming_and_honest_webhook_accepted(oracle_port: int) -> None:
    url = f"http://127.0.0.1:{oracle_port}/oracle/v1/webhooks/ar/checkin"
    big = b"x" * (200 * 1024)

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(big), 8192):
            yield big[i:i + 8192]

    r = httpx.post(url, content=chunks(), headers=headers_for(AR, big, T0))
    assert r.status_code == 413
    body = checkin_body()
    r = httpx.post(url, content=body, headers=headers_for(AR, body, T0))
    assert r.status_code == 202, r.text


async def _echo_client(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = (scope["client"][0] if scope.get("client") else "none").encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def test_forwarded_for_is_not_trusted_from_loopback() -> None:
    for port in _serve(_echo_client, **uvicorn_settings()):
        r = httpx.get(f"http://127.0.0.1:{port}/", headers={"X-Forwarded-For": "203.0.113.9"})
        assert r.text == "127.0.0.1"


def test_headers_deadline_closes_slow_loris() -> None:
    for port in _serve(_echo_client, **uvicorn_settings(header_timeout=0.5)):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes the headers
            t0 = time.monotonic()
            assert s.recv(100) == b""  # closed by the server
            assert time.monotonic() - t0 < 3
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200


def test_node_rpc_drops_connections_that_never_finish_headers(live_node: NodeProcess) -> None:
    port = int(live_node.url.rsplit(":", 1)[1])
    socks = []
    try:
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", port), timeout=20)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        t0 = time.monotonic()
        assert socks[0].recv(100) == b""
        assert time.monotonic() - t0 < 15
        r = httpx.post(live_node.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []})
        assert "result" in r.json()
    finally:
        for s in socks:
            s.close()


