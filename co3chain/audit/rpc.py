"""Minimal JSON-RPC 2.0 client for the auditor: batched calls over a pluggable transport.

Why not web3.py: the auditor needs raw JSON (to rebuild header RLP from the exact fields the node reports),
batch requests for throughput, and a transport that tests can wrap to simulate a lying node. A transport is
any callable taking a JSON-serialisable request (object or list) and returning the decoded response.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from co3chain.errors import Co3Error

Transport = Callable[[Any], Any]

#: Requests per batch: below Besu's default ``--rpc-http-max-batch-size`` (1024) and our node's limit.
DEFAULT_BATCH_SIZE = 100


class RpcError(Co3Error):
    """The node could not be reached, or answered with an error or a malformed response."""


def http_transport(url: str, timeout: float = 60.0) -> Transport:
    """A transport that POSTs to ``url`` with one persistent HTTP connection."""
    client = httpx.Client(timeout=timeout)

    def send(payload: Any) -> Any:
        try:
            resp = client.post(url, json=payload)
        except httpx.HTTPError as exc:
            raise RpcError(f"cannot reach {url}: {exc.__class__.__name__}: {exc}") from None
        if resp.status_code != 200:
            raise RpcError(f"{url} answered HTTP {resp.status_code}: {resp.text[:200]}")
        try:
            return resp.json()
        except ValueError:
            raise RpcError(f"{url} did not answer JSON: {resp.text[:200]!r}") from None

    send.close = client.close  # type: ignore[attr-defined]
    return send


class RpcClient:
    """Calls and batches of calls; every error becomes :class:`RpcError` naming the method."""

    def __init__(self, transport: Transport | str, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.transport: Transport = http_transport(transport) if isinstance(transport, str) else transport
        if batch_size < 1:
            raise RpcError("batch size must be at least 1")
        self.batch_size = batch_size
        self._ids = itertools.count(1)
        self.requests = 0

    def call(self, method: str, *params: Any) -> Any:
        """One request; returns ``result`` (may be ``None``)."""
        rid = next(self._ids)
        self.requests += 1
        resp = self.transport({"jsonrpc": "2.0", "id": rid, "method": method, "params": list(params)})
        return _result(resp, method)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Results of ``calls`` in order, sent in batches of :attr:`batch_size` requests."""
        out: list[Any] = []
        for start in range(0, len(calls), self.batch_size):
            chunk = calls[start : start + self.batch_size]
            ids = [next(self._ids) for _ in chunk]
            payload = [
                {"jsonrpc": "2.0", "id": rid, "method": m, "params": list(p)}
                for rid, (m, p) in zip(ids, chunk, strict=True)
            ]
            self.requests += len(payload)
            resp = self.transport(payload)
            if isinstance(resp, dict) and "error" in resp:
                raise RpcError(f"batch rejected: {_error_text(resp['error'])}")
            if not isinstance(resp, list):
                raise RpcError("batch answer is not a JSON array")
            by_id = {r.get("id"): r for r in resp if isinstance(r, dict)}
            for rid, (method, _) in zip(ids, chunk, strict=True):
                if rid not in by_id:
                    raise RpcError(f"batch answer lacks the response to {method} (id {rid})")
                out.append(_result(by_id[rid], method))
        return out

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the transport however the audit ended, so every command need not repeat try/finally."""
        self.close()


def _error_text(err: Any) -> str:
    if isinstance(err, dict):
        return f"{err.get('message', '?')} (code {err.get('code', '?')})"
    return str(err)


def _result(resp: Any, method: str) -> Any:
    if not isinstance(resp, dict):
        raise RpcError(f"{method}: malformed response {resp!r:.200}")
    if "error" in resp:
        raise RpcError(f"{method} failed: {_error_text(resp['error'])}")
    if "result" not in resp:
        raise RpcError(f"{method}: response has neither result nor error")
    return resp["result"]


def hex_int(value: Any, name: str = "quantity") -> int:
    """A JSON-RPC quantity (``0x``-hex string) as int; raises :class:`RpcError` on anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcError(f"{name} is not a hex quantity: {value!r:.80}")
    try:
        return int(value, 16)
    except ValueError:
        raise RpcError(f"{name} is not a hex quantity: {value!r:.80}") from None


def hex_bytes(value: Any, name: str = "data", length: int | None = None) -> bytes:
    """JSON-RPC data (``0x``-hex string) as bytes, optionally of a fixed ``length``."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcError(f"{name} is not hex data: {value!r:.80}")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise RpcError(f"{name} is not hex data: {value!r:.80}") from None
    if length is not None and len(raw) != length:
        raise RpcError(f"{name} must be {length} bytes, got {len(raw)}")
    return raw
