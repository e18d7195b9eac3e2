"""The RPC server's header/body deadlines are timestamps swept periodically (co3chain/rpc/httpguard.py),
not a timer per request: a connection is in the swept set exactly while a deadline runs for it, so honest
keep-alive traffic leaves nothing behind, a half-sent request is tracked until it is cut or closed, and a
WebSocket upgrade is never cut. (The cut-off times themselves: tests/hostile/test_slow_body.py and
test_http_input.py.)"""

from __future__ import annotations

import asyncio
import socket
import time

from co3chain.rpc.dispatch import Dispatcher
from co3chain.rpc.server import RpcApp, RpcServer

BODY = b'{"jsonrpc":"2.0","id":1,"method":"web3_clientVersion","params":[]}'
REQUEST = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)


def _read_response(s: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(v) for k, _, v in (h.partition(b": ") for h in head.split(b"\r\n")[1:])
                  if k.lower() == b"content-length")
    while len(body) < length:
        body += s.recv(4096)
    return body


def test_deadlines_are_tracked_only_while_a_request_is_incomplete() -> None:
    d = Dispatcher()
    d.register("web3_clientVersion", lambda: "co3chain/test")

    async def main() -> None:
        server = RpcServer(RpcApp(d), "127.0.0.1", 0)
        await server.start()
        assert server._server is not None
        proto = server._server.config.http
        armed = proto.armed_connections
        loop = asyncio.get_running_loop()

        def honest_keep_alive() -> None:
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
                for _ in range(20):
                    s.sendall(REQUEST)
                    assert b"co3chain/test" in _read_response(s)

        try:
            await loop.run_in_executor(None, honest_keep_alive)
            await asyncio.sleep(0.05)  # the server side sees the close
            assert not armed, "a finished request left its connection in the deadline set"
            half = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            half.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")  # body never finished
            for _ in range(100):
                if armed:
                    break
                await asyncio.sleep(0.01)
            assert len(armed) == 1, "an incomplete body has no deadline"
            assert next(iter(armed))._deadline > time.monotonic()  # uvloop's clock is monotonic
            half.close()
            for _ in range(100):
                if not armed:
                    break
                await asyncio.sleep(0.01)
            assert not armed, "a closed connection stayed in the deadline set"
        finally:
            await server.stop()

    asyncio.run(main())
