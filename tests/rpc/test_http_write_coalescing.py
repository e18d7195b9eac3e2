"""One transport write per JSON-RPC response (headers + body together) and the deadline sweep that
replaced per-request timers (:mod:`co3chain.rpc.httpguard`): same bytes on the wire, same order, in
fewer writes; HEAD, ``100 Continue`` and a failing app still behave as before."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.rpc.dispatch import Dispatcher
from co3chain.rpc.httpguard import _HeaderCoalescer
from co3chain.rpc.server import RpcApp, RpcServer


class _Transport:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", bytes(data)))

    def writelines(self, parts: Any) -> None:
        self.calls.append(("writelines", b"".join(parts)))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


class _Cycle:
    def __init__(self, method: str = "POST") -> None:
        self.response_started = False
        self.scope = {"method": method}


@settings(max_examples=200, deadline=None)
@given(
    before=st.lists(st.binary(max_size=8), max_size=3),
    after=st.lists(st.binary(max_size=8), min_size=1, max_size=5),
    method=st.sampled_from(["POST", "GET", "HEAD", "OPTIONS"]),
    close=st.booleans(),
)
def test_coalescer_sends_the_same_bytes_in_order(
    before: list[bytes], after: list[bytes], method: str, close: bool
) -> None:
    """Whatever the sequence of writes, the bytes that reach the socket are the written ones, in order;
    with a close at the end nothing stays held; the headers share a call with the first body write."""
    t, cycle = _Transport(), _Cycle(method)
    c = _HeaderCoalescer(t, cycle)
    for chunk in before:  # e.g. "100 Continue": before the response starts, passed through at once
        c.write(chunk)
    assert [d for _, d in t.calls] == before
    cycle.response_started = True
    for chunk in after:
        c.write(chunk)
    if close:
        c.close()
        assert t.closed
    sent = b"".join(d for _, d in t.calls)
    expected = b"".join(before + after)
    if close or len(after) > 1 or method == "HEAD":
        assert sent == expected
    else:  # only the headers so far: held until the body (or a close)
        assert sent == b"".join(before)
    if method != "HEAD" and len(after) > 1:
        assert t.calls[len(before)] == ("writelines", after[0] + after[1])
    assert c.is_closing() is t.closed  # everything else passes through


def _serve_and(requests: list[bytes]) -> list[bytes]:
    """Start the node's RPC server, send each raw request on its own connection, return what came back."""
    d = Dispatcher()
    d.register("web3_clientVersion", lambda: "co3chain/test")

    async def main() -> list[bytes]:
        server = RpcServer(RpcApp(d), "127.0.0.1", 0)
        await server.start()
        loop = asyncio.get_running_loop()
        try:
            return [await loop.run_in_executor(None, _exchange, server.port, r) for r in requests]
        finally:
            await server.stop()

    return asyncio.run(main())


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        if b"Expect: 100-continue" in request:
            head, _, body = request.partition(b"\r\n\r\n")
            s.sendall(head + b"\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 100 Continue"), "100 Continue not sent before the body"
            s.sendall(body)
        else:
            s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


BODY = b'{"jsonrpc":"2.0","id":1,"method":"web3_clientVersion","params":[]}'


def test_responses_on_the_wire_are_complete() -> None:
    post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
    expect = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
    head = b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ok, continued, refused = _serve_and([post, expect, head])
    answer = b'{"jsonrpc":"2.0","id":1,"result":"co3chain/test"}'
    for raw in (ok, continued):  # (the 100 Continue was read by _exchange)
        status, _, rest = raw.partition(b"\r\n")
        assert status == b"HTTP/1.1 200 OK"
        headers, _, body = rest.partition(b"\r\n\r\n")
        assert body == answer
        assert b"content-length: %d" % len(answer) in headers.split(b"\r\n")
    # HEAD: uvicorn writes no body; the headers must still leave (they are not held)
    assert refused.startswith(b"HTTP/1.1 405 ")
    assert refused.endswith(b"\r\n\r\n")
