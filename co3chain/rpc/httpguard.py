"""uvicorn settings every co3chain HTTP server uses (node RPC, API, oracle): timeouts and proxy trust.

Why:

* **slow loris** — uvicorn has no request-header timeout: a client that sends one header byte a minute
  holds its connection forever (300 such connections held a node for 45 s). :func:`guarded_http_protocol`
  is uvicorn's httptools protocol plus a deadline from the first byte of a request (or from connect) to
  the end of its headers; past it the connection is closed.
* **slow body** — the same attack one step later: complete headers announcing a body, then one body byte
  a second. The app's ``receive()`` waits for the rest, so the connection and its request task are held
  for as long as the client likes. The protocol therefore also gives the *whole body* a deadline, counted
  from the end of the headers to the end of the message (the body size is already capped by each app, so
  an honest client on any real link finishes well within it); past it the connection is closed, the app
  sees ``http.disconnect`` and nothing of the request is acted on. WebSocket upgrades have no body and are
  not timed.
* **forwarded IPs** — uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1 by default (``forwarded_allow_ips``),
  so any local process, or a proxy we never configured, could pick the client address and bypass the
  per-client relay budget (``trusted_proxies = []`` was not enough). We always pass
  ``proxy_headers=False``: the ASGI scope keeps the real peer address and the apps that care (the API's
  per-client limiter) read ``X-Forwarded-For`` themselves, only from their configured ``trusted_proxies``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Seconds from connect / from a request's first byte to the end of its headers.
DEFAULT_HEADER_TIMEOUT = 10.0
#: Seconds from the end of a request's headers to the end of its body.
DEFAULT_BODY_TIMEOUT = 30.0
#: Seconds an idle keep-alive connection is kept.
DEFAULT_KEEP_ALIVE = 5


def guarded_http_protocol(
    header_timeout: float = DEFAULT_HEADER_TIMEOUT, body_timeout: float = DEFAULT_BODY_TIMEOUT
) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a header deadline of ``header_timeout`` seconds and a body deadline
    of ``body_timeout`` seconds (from the end of the headers)."""

    #: connections with a running deadline (header or body phase) of servers using this class
    armed: set[GuardedHttpToolsProtocol] = set()
    sweeper: list[asyncio.TimerHandle | None] = [None]
    #: deadlines are checked this often: a connection is cut at most ~1/8 of its timeout late
    sweep_every = min(header_timeout, body_timeout) / 8

    def sweep() -> None:
        """Close every connection past its deadline; runs only while some connection has one."""
        sweeper[0] = None
        if not armed:
            return
        loop = next(iter(armed)).loop
        now = loop.time()
        for conn in [c for c in armed if c._deadline <= now]:
            conn._expired()
        if armed:
            sweeper[0] = loop.call_later(sweep_every, sweep)

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        """Deadlines are timestamps checked by one periodic :func:`sweep` per server instead of a
        ``call_later`` + ``cancel`` pair per phase and request (~1.4 µs each on the event loop, two per
        request): a request's hot path only stores a float and touches a set."""

        _deadline: float = 0.0
        #: (for tests and debugging) the connections of this server class that have a running deadline
        armed_connections = armed

        def _set_deadline(self, seconds: float) -> None:
            self._deadline = self.loop.time() + seconds
            armed.add(self)
            if sweeper[0] is None:
                sweeper[0] = self.loop.call_later(sweep_every, sweep)

        def _arm(self) -> None:
            """Header deadline, unless one already runs (from connect, for the first request)."""
            if self not in armed:
                self._set_deadline(header_timeout)

        def _disarm(self) -> None:
            armed.discard(self)

        def _expired(self) -> None:
            armed.discard(self)
            if not self.transport.is_closing():
                self.transport.close()  # connection_lost tells the app (http.disconnect)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
            if not (self.parser.should_upgrade() and self._should_upgrade()):
                self._set_deadline(body_timeout)

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedHttpToolsProtocol


def uvicorn_settings(
    header_timeout: float = DEFAULT_HEADER_TIMEOUT, body_timeout: float = DEFAULT_BODY_TIMEOUT
) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` / ``uvicorn.run``: header, body and keep-alive timeouts,
    no forwarded-IP rewriting by uvicorn."""
    return {
        "http": guarded_http_protocol(header_timeout, body_timeout),
        "timeout_keep_alive": DEFAULT_KEEP_ALIVE,
        "proxy_headers": False,
        "forwarded_allow_ips": "",
    }
