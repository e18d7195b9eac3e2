"""A single thread that runs transaction admission calls in arrival order, many per wake-up.

Why not an ordinary executor: with ``run_in_executor`` every ``eth_sendRawTransaction`` paid two
cross-thread hand-offs (a queue put/get to reach the worker, a ``call_soon_threadsafe`` wake-up of the
event loop to deliver the answer) plus a watchdog-tracked job object: measured ~60 µs of node CPU per
request, as much as decoding the transaction. Here the event loop appends ``(call, future)`` to a list;
the intake thread takes *everything* waiting, runs it, and settles all those futures with one wake-up of
the loop. Under load (many clients in flight) one hand-off serves dozens of transactions; a lone request
still gets its answer right after its own call.

``before_answer`` (optional) runs on the intake thread just before answers are delivered: the node writes
the transaction journal's records of the batch there (one write instead of one per transaction, see
:mod:`co3chain.node.txjournal`). If it raises, every call of that group is answered with its error.

Semantics kept from the pool it replaces (:class:`~co3chain.rpc.workpool.RpcWorkPool` with one worker):
calls run one at a time, in arrival order, off the event loop, never interrupted (they change state);
when ``max_pending`` calls are queued or running, a new one is refused at once with
:class:`~co3chain.rpc.workpool.RpcBusy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from co3chain.rpc.workpool import RpcBusy

#: Answers already computed are delivered at least this often while a long batch is still running.
SETTLE_INTERVAL = 0.005

_Item = tuple[Callable[[], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]


def _settle(done: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    """Deliver results on the event loop (a caller that gave up, e.g. a closed connection, is skipped)."""
    for fut, result, error in done:
        if fut.cancelled():
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)


class IntakeLane:
    """One worker thread; :meth:`run` from the event loop awaits ``call()`` executed on it."""

    def __init__(
        self,
        max_pending: int = 4096,
        name: str = "tx-intake",
        before_answer: Callable[[], None] | None = None,
    ) -> None:
        if max_pending < 1:
            raise ValueError("IntakeLane needs max_pending >= 1")
        self.max_pending = max_pending
        self.busy_refusals = 0
        #: wake-ups of the intake thread (each ran every call waiting at that moment)
        self.batches = 0
        self._items: list[_Item] = []
        self._inflight = 0
        self._cv = threading.Condition()
        self._stopping = False
        self.before_answer = before_answer
        self._thread = threading.Thread(target=self._worker, name=f"{name}-0", daemon=True)
        self._thread.start()

    @property
    def thread_id(self) -> int:
        """``threading.get_ident()`` of the intake thread (the journal holds its appends by this id)."""
        ident = self._thread.ident
        assert ident is not None  # started in __init__
        return ident

    @property
    def inflight(self) -> int:
        """Calls queued or running."""
        return self._inflight

    async def run(self, call: Callable[[], Any]) -> Any:
        """Queue ``call`` and await its result (raises :class:`RpcBusy` at once when full)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        with self._cv:
            if self._stopping:
                raise RuntimeError("transaction intake is shut down")
            if self._inflight >= self.max_pending:
                self.busy_refusals += 1
                raise RpcBusy(self.max_pending)
            self._inflight += 1
            self._items.append((call, fut, loop))
            if len(self._items) == 1:
                self._cv.notify()
        return await fut

    def _worker(self) -> None:
        while True:
            with self._cv:
                while not self._items and not self._stopping:
                    self._cv.wait()
                if not self._items:
                    return
                batch, self._items = self._items, []
                self.batches += 1
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Item]) -> None:
        pending: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        flushed_at = time.monotonic()
        for call, fut, loop in batch:
            result: Any = None
            error: BaseException | None = None
            try:
                result = call()
            except BaseException as exc:  # delivered to the caller, as an executor would
                error = exc
            with self._cv:
                self._inflight -= 1
            pending.setdefault(loop, []).append((fut, result, error))
            now = time.monotonic()
            if now - flushed_at >= SETTLE_INTERVAL:
                self._flush(pending)
                flushed_at = now
        self._flush(pending)

    def _flush(self, pending: dict[asyncio.AbstractEventLoop, list[Any]]) -> None:
        if not pending:
            return
        if self.before_answer is not None:
            try:
                self.before_answer()
            except BaseException as exc:  # e.g. the journal's disk is full: nothing of this group is "accepted"
                for done in pending.values():
                    done[:] = [(fut, res, err if err is not None else exc) for fut, res, err in done]
        for loop, done in pending.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, done)
        pending.clear()

    def shutdown(self, wait: bool = True) -> None:
        """Finish what is queued, then stop the thread."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
        if wait:
            self._thread.join(30.0)
