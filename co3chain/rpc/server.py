"""HTTP + WebSocket JSON-RPC on one port: a bare ASGI app served by uvicorn (httptools, websockets).

Why no web framework: the per-request cost dominates RPC throughput on two cores; the app below is a
few dict lookups per request. WebSocket connections get a :class:`CallContext` with a ``send`` callback
so ``eth_subscribe`` can push notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import orjson
import uvicorn

from co3chain.rpc.dispatch import CallContext, Dispatcher
from co3chain.rpc.errors import LIMIT_EXCEEDED, PARSE_ERROR
from co3chain.rpc.httpguard import uvicorn_settings

log = logging.getLogger(__name__)

#: geth's default HTTP body limit.
DEFAULT_MAX_BODY = 5 * 1024 * 1024
#: Messages waiting for one WebSocket client before it counts as a slow consumer and is dropped.
DEFAULT_WS_QUEUE = 1024
#: ... or this many bytes (one answer larger than this is still sent when nothing else waits).
DEFAULT_WS_QUEUE_BYTES = 16 * 1024 * 1024
#: Subscriptions one WebSocket connection may hold.
DEFAULT_WS_MAX_SUBSCRIPTIONS = 64

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON_HEADERS = [(b"content-type", b"application/json")]


class RpcApp:
    """ASGI application: POST → JSON-RPC; WebSocket → JSON-RPC with subscriptions; GET → 405."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        cors_origins: list[str] | None = None,
        on_ws_close: Callable[[CallContext], None] | None = None,
        ws_queue: int = DEFAULT_WS_QUEUE,
        ws_queue_bytes: int = DEFAULT_WS_QUEUE_BYTES,
        ws_max_subscriptions: int = DEFAULT_WS_MAX_SUBSCRIPTIONS,
    ) -> None:
        self.dispatcher = dispatcher
        self.max_body = max_body
        self.ws_queue = ws_queue
        self.ws_queue_bytes = ws_queue_bytes
        self.ws_max_subscriptions = ws_max_subscriptions
        self.cors_origins = cors_origins or []
        self.on_ws_close = on_ws_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._ws(scope, receive, send)

    def _cors_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        if not self.cors_origins:
            return []
        origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
        if origin is None:
            return []
        if "*" in self.cors_origins:
            allowed = b"*"
        elif origin.decode("latin-1") in self.cors_origins:
            allowed = origin
        else:
            return []
        return [
            (b"access-control-allow-origin", allowed),
            (b"access-control-allow-methods", b"POST, GET, OPTIONS"),
            (b"access-control-allow-headers", b"content-type"),
        ]

    async def _respond(
        self, send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        cors = self._cors_headers(scope)
        method = scope["method"]
        if method == "OPTIONS":
            await self._respond(send, 204, b"", cors)
            return
        if method != "POST":
            await self._respond(send, 405, b"method not allowed: use POST (or a WebSocket)\n", cors)
            return
        for k, v in scope["headers"]:
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = 0
                if declared > self.max_body:
                    await self._too_large(send, declared, cors)
                    return
                break
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(send, size, cors)
                return
            chunks.append(chunk)
            if not msg.get("more_body"):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        out = await self.dispatcher.handle_bytes(body, CallContext("http"))
        await self._respond(send, 200, out if out is not None else b"", _JSON_HEADERS + cors)

    async def _too_large(self, send: Send, size: int, cors: list[tuple[bytes, bytes]]) -> None:
        body = orjson.dumps(
            {
                "jsonrpc": "2.0",
                "id": None,
                "error": {
                    "code": LIMIT_EXCEEDED,
                    "message": f"request body too large: {size} > {self.max_body}",
                },
            }
        )
        await self._respond(send, 413, body, _JSON_HEADERS + cors)

    async def _ws(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One WebSocket connection. Everything sent to the client (responses and subscription
        notifications) goes through a bounded per-connection queue drained by a writer task, so a client
        that stops reading never blocks the notifier shared by every subscriber: when its queue is full
        it is a slow consumer and is disconnected."""
        msg = await receive()
        if msg["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        outbox: asyncio.Queue[bytes] = asyncio.Queue(maxsize=self.ws_queue)
        dropped = False
        queued = 0  # bytes waiting in the outbox
        handler = asyncio.current_task()

        def drop(reason: str) -> None:
            """End this connection: cancel the handler (it may be waiting in ``receive``)."""
            nonlocal dropped
            if not dropped:
                dropped = True
                log.info("dropping WebSocket client %s: %s", scope.get("client"), reason)
                if handler is not None:
                    handler.cancel()

        async def push(data: bytes) -> None:
            nonlocal queued
            if dropped:
                return
            if queued + len(data) > self.ws_queue_bytes and not outbox.empty():
                drop(f"slow consumer ({outbox.qsize()} messages, {queued} bytes unsent)")
                return
            try:
                outbox.put_nowait(data)
            except asyncio.QueueFull:
                drop(f"slow consumer ({outbox.qsize()} messages, {queued} bytes unsent)")
                return
            queued += len(data)

        async def writer() -> None:
            nonlocal queued
            try:
                while True:
                    data = await outbox.get()
                    queued -= len(data)
                    await send({"type": "websocket.send", "text": data.decode()})
            except Exception:  # client gone mid-send
                drop("send failed")

        ctx = CallContext("ws", send=push, subscriptions=set(), max_subscriptions=self.ws_max_subscriptions)
        writer_task = asyncio.create_task(writer())
        try:
            while True:
                msg = await receive()
                if msg["type"] == "websocket.disconnect":
                    break
                if msg["type"] != "websocket.receive":
                    continue
                raw = msg.get("text")
                data = raw.encode() if raw is not None else (msg.get("bytes") or b"")
                if len(data) > self.max_body:
                    out: bytes | None = orjson.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": None,
                            "error": {"code": LIMIT_EXCEEDED, "message": "message too large"},
                        }
                    )
                elif not data:
                    out = orjson.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": None,
                            "error": {"code": PARSE_ERROR, "message": "parse error"},
                        }
                    )
                else:
                    out = await self.dispatcher.handle_bytes(data, ctx)
                if out is not None:
                    await push(out)
        except asyncio.CancelledError:
            if not dropped:
                raise  # the server is stopping
        except Exception:  # client vanished mid-send
            log.debug("websocket connection ended with an error", exc_info=True)
        finally:
            dropped = True
            writer_task.cancel()
            if self.on_ws_close is not None:
                self.on_ws_close(ctx)


class _QuietServer(uvicorn.Server):
    """uvicorn server that leaves signal handling to the node service (graceful SIGTERM is ours)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class RpcServer:
    """Runs an :class:`RpcApp` on ``host:port`` inside the current asyncio loop."""

    def __init__(self, app: RpcApp, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    async def start(self) -> None:
        """Bind (port 0 = any free port, see :attr:`port`) and serve in a background task."""
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(
            self.app,
            ws="websockets-sansio",
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws_max_size=self.app.max_body,
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            backlog=1024,
            **uvicorn_settings(),
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="rpc-server")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise the bind/startup error
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        self._server.force_exit = True  # do not wait for idle keep-alive / ws clients
        try:
            await asyncio.wait_for(self._task, timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
        self._server = None
        self._task = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
