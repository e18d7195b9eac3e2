"""Polling filters (eth_newFilter & co.) and WebSocket subscriptions (eth_subscribe).

Polling filters keep only a cursor (the last block number delivered), not buffered results: on
``eth_getFilterChanges`` the blocks after the cursor are read back from the chain. Why: the chain is
final (no reorgs), so re-reading is exact, and an abandoned filter costs a few bytes until it expires.

Subscriptions are push-based: the chain's import listener (producer thread) hands each new block to the
event loop, where one consumer task notifies every subscriber in block order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from co3chain.rpc import formatters as fmt
from co3chain.rpc.dispatch import CallContext
from co3chain.rpc.errors import RpcError, ServerError
from co3chain.rpc.params import FilterCriteria, log_matches

log = logging.getLogger(__name__)

#: geth drops filters not polled for 5 minutes.
FILTER_TIMEOUT = 300.0
MAX_FILTERS = 10_000


def new_id() -> str:
    """A random 128-bit id as a quantity (minimal hex, as geth's ``rpc.NewID`` trims leading zeros).

    Why a quantity: the spec types filter and subscription ids as quantities, and clients that keep them
    as integers re-send them without the leading zeros.
    """
    while True:
        n = int.from_bytes(os.urandom(16), "big")
        if n:
            return hex(n)


def canonical_id(value: Any) -> str | None:
    """An id as sent by a client (``0x00ab``, ``0xab``, ``0xAB``) in the form we store it; None if it is no id."""
    if not isinstance(value, str) or value[:2] not in ("0x", "0X") or not 2 < len(value) <= 2 + 64:
        return None
    try:
        return hex(int(value[2:], 16))
    except ValueError:
        return None


@dataclass
class _Filter:
    kind: str  # "block" | "logs" | "pending"
    cursor: int  # last block number already delivered
    criteria: FilterCriteria | None = None
    last_poll: float = field(default_factory=time.monotonic)
    pending: list[bytes] = field(default_factory=list)
    #: serialises polls of one filter, so two concurrent polls cannot deliver the same blocks twice
    lock: threading.Lock = field(default_factory=threading.Lock)


def _fixed_bound(ref: Any, default: int | None) -> int | None:
    """A block bound that does not move with the head: a number, or 0 for ``earliest``; else ``default``."""
    if ref.number is not None:
        return int(ref.number)
    if ref.tag == "earliest":
        return 0
    return default


class FilterManager:
    """State behind eth_newFilter, eth_newBlockFilter, eth_getFilterChanges and eth_uninstallFilter.

    ``resolve_range(criteria) -> (from, to)`` and ``get_logs(criteria, from, to)`` come from the eth API
    so tag handling and range limits are the same as eth_getLogs.
    """

    def __init__(
        self,
        head_number: Callable[[], int],
        block_hash_at: Callable[[int], bytes | None],
        get_logs: Callable[[FilterCriteria, int, int], list[dict[str, Any]]],
        resolve_range: Callable[[FilterCriteria], tuple[int, int]],
        max_range: int = 10_000,
    ) -> None:
        self._head_number = head_number
        self._block_hash_at = block_hash_at
        self._get_logs = get_logs
        self._resolve_range = resolve_range
        self._max_range = max(1, max_range)
        self._filters: dict[str, _Filter] = {}
        self._lock = threading.Lock()

    def _add(self, f: _Filter) -> str:
        self.expire()
        with self._lock:
            if len(self._filters) >= MAX_FILTERS:
                raise ServerError("too many filters installed")
            fid = new_id()
            self._filters[fid] = f
            return fid

    def new_block_filter(self) -> str:
        return self._add(_Filter("block", self._head_number()))

    def new_pending_filter(self) -> str:
        return self._add(_Filter("pending", self._head_number()))

    def new_log_filter(self, crit: FilterCriteria) -> str:
        self._resolve_range(crit)  # validate tags now, as geth does
        return self._add(_Filter("logs", self._head_number(), crit))

    def uninstall(self, fid: Any) -> bool:
        key = canonical_id(fid)
        with self._lock:
            return key is not None and self._filters.pop(key, None) is not None

    def on_pending_tx(self, tx_hash: bytes) -> None:
        if not self._filters:  # called per accepted transaction: no lock when nobody has a filter
            return
        with self._lock:
            for f in self._filters.values():
                if f.kind == "pending":
                    f.pending.append(tx_hash)

    def _get(self, fid: Any) -> _Filter:
        key = canonical_id(fid)
        f = self._filters.get(key) if key is not None else None
        if f is None:
            raise ServerError("filter not found")
        f.last_poll = time.monotonic()
        return f

    def changes(self, fid: Any) -> list[Any]:
        """What happened since the last poll: each new block hash, pending tx hash or matching log once.

        A log filter scans every block after its cursor up to the head (clamped to the filter's own
        fixed ``fromBlock``/``toBlock`` numbers, if any): ``latest``-style tags move with the head, so
        they bound nothing here. The cursor advances only after the scan succeeded.
        """
        f = self._get(fid)
        if f.kind == "pending":
            with self._lock:
                out, f.pending = f.pending, []
            return [fmt.hd(h) for h in out]
        with f.lock:
            head = self._head_number()
            if head <= f.cursor:
                return []
            start = f.cursor + 1
            if f.kind == "block":
                hashes = [self._block_hash_at(n) for n in range(start, head + 1)]
                f.cursor = head
                return [fmt.hd(h) for h in hashes if h is not None]
            assert f.criteria is not None
            crit = f.criteria
            if crit.block_hash is not None:
                lo, hi = self._resolve_range(crit)
            else:
                lo = _fixed_bound(crit.from_block, start)
                hi = _fixed_bound(crit.to_block, head)
                assert lo is not None and hi is not None
            lo, hi = max(lo, start), min(hi, head)
            out: list[dict[str, Any]] = []
            for chunk_lo in range(lo, hi + 1, self._max_range):
                out.extend(self._get_logs(crit, chunk_lo, min(hi, chunk_lo + self._max_range - 1)))
            f.cursor = head
            return out

    def logs(self, fid: Any) -> list[dict[str, Any]]:
        f = self._get(fid)
        if f.kind != "logs" or f.criteria is None:
            raise ServerError("filter not found")
        lo, hi = self._resolve_range(f.criteria)
        return self._get_logs(f.criteria, lo, hi)

    def expire(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for fid in [k for k, f in self._filters.items() if now - f.last_poll > FILTER_TIMEOUT]:
                del self._filters[fid]

    def __len__(self) -> int:
        return len(self._filters)


@dataclass
class _Subscription:
    kind: str  # "newHeads" | "logs" | "newPendingTransactions"
    ctx: CallContext
    criteria: FilterCriteria | None = None


class SubscriptionManager:
    """eth_subscribe over WebSocket; :meth:`notify_block` is fed by the chain import listener."""

    def __init__(self, receipt_infos: Callable[[Any], list[Any]]) -> None:
        self._receipt_infos = receipt_infos
        self._subs: dict[str, _Subscription] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Bind to the running loop and start the delivery task."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._deliver(), name="rpc-subscriptions")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def subscribe(self, kind: str, ctx: CallContext, criteria: FilterCriteria | None = None) -> str:
        if ctx.send is None or ctx.subscriptions is None:
            raise RpcError(-32601, "notifications not supported")  # geth's message over HTTP
        if kind not in ("newHeads", "logs", "newPendingTransactions"):
            raise RpcError(-32602, f"no {kind!r} subscription in eth namespace")
        sid = new_id()
        self._subs[sid] = _Subscription(kind, ctx, criteria)
        ctx.subscriptions.add(sid)
        return sid

    def unsubscribe(self, sid: Any, ctx: CallContext) -> bool:
        sid = canonical_id(sid)
        if sid is None or ctx.subscriptions is None or sid not in ctx.subscriptions:
            return False
        ctx.subscriptions.discard(sid)
        return self._subs.pop(sid, None) is not None

    def drop_connection(self, ctx: CallContext) -> None:
        for sid in list(ctx.subscriptions or ()):
            self._subs.pop(sid, None)

    def notify_block_threadsafe(self, block: Any, receipts: Any = None) -> None:
        """Chain import listener: may run on any thread."""
        if self._loop is not None and self._queue is not None and self._subs:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, ("block", block))

    def notify_pending_threadsafe(self, tx_hash: bytes) -> None:
        if self._loop is not None and self._queue is not None and self._subs:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, ("pending", tx_hash))

    async def _deliver(self) -> None:
        assert self._queue is not None
        while True:
            kind, item = await self._queue.get()
            try:
                if kind == "block":
                    await self._deliver_block(item)
                else:
                    await self._send_all("newPendingTransactions", lambda _s, h=item: fmt.hd(h))
            except Exception:
                log.exception("subscription delivery failed")

    async def _send_all(self, kind: str, make: Callable[[_Subscription], Any]) -> None:
        for sid, sub in list(self._subs.items()):
            if sub.kind != kind:
                continue
            result = make(sub)
            if result is None:
                continue
            results = result if isinstance(result, list) and kind == "logs" else [result]
            for r in results:
                msg = {
                    "jsonrpc": "2.0",
                    "method": "eth_subscription",
                    "params": {"subscription": sid, "result": r},
                }
                try:
                    assert sub.ctx.send is not None
                    await sub.ctx.send(orjson.dumps(msg))
                except Exception:
                    self._subs.pop(sid, None)
                    break

    async def _deliver_block(self, block: Any) -> None:
        if any(s.kind == "newHeads" for s in self._subs.values()):
            head = fmt.header_json(block.header)
            await self._send_all("newHeads", lambda _s: head)
        if any(s.kind == "logs" for s in self._subs.values()):
            logs = [lg for info in self._receipt_infos(block) for lg in info.logs]
            if not logs:
                return

            def matching(sub: _Subscription) -> list[dict[str, Any]] | None:
                crit = sub.criteria or FilterCriteria()
                ts = block.header.timestamp
                out = [fmt.log_json(lg, ts) for lg in logs if log_matches(crit, lg.address, lg.topics)]
                return out or None

            await self._send_all("logs", matching)
