"""Thread capacity for RPC work, kept apart from consensus, block import and block building.

Why: ``eth_call``/``eth_getLogs``/``eth_getProof`` ran on Python's default thread pool, the same one
QBFT block import and proposal checks use; a dozen 50M-gas calls stopped all blocks for minutes. Now:

* :class:`LaneExecutor` is the event loop's default executor. Work submitted from an RPC request (the
  dispatcher marks its task with :data:`RPC_LANE`) goes to a small :class:`RpcWorkPool`; everything else
  (consensus, import, building, sync) goes to the node's own threads, which RPC can never occupy.
* :class:`RpcWorkPool` has a fixed number of workers and a bounded wait list: when both are full the call
  is answered at once with a "busy" JSON-RPC error instead of queueing without bound.
* Each job has a time limit (geth's ``rpc.evmtimeout``, 5 s). Python threads cannot be killed, so an
  overdue job is *interrupted*: :func:`ctypes.pythonapi.PyThreadState_SetAsyncExc` raises
  :class:`_Interrupted` in the worker at its next bytecode. RPC jobs are read-only (calls run on a
  throw-away overlay), so abandoning one mid-way leaves nothing behind. The EVM's gas cap bounds the
  rest (``NodeChain.call_gas_cap``, 50M like geth's ``rpc.gascap``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import ctypes
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from co3chain.rpc.errors import LIMIT_EXCEEDED, SERVER_ERROR, RpcError

log = logging.getLogger(__name__)

#: True inside a task serving an RPC request (set by the dispatcher).
RPC_LANE: contextvars.ContextVar[bool] = contextvars.ContextVar("co3chain_rpc_lane", default=False)

DEFAULT_RPC_WORKERS = 2
DEFAULT_RPC_MAX_PENDING = 16
#: geth's rpc.evmtimeout.
DEFAULT_RPC_TIMEOUT = 5.0


class RpcBusy(RpcError):
    """Every RPC worker is busy and the wait list is full: retry later (geth's -32005 "limit exceeded")."""

    def __init__(self, limit: int) -> None:
        super().__init__(LIMIT_EXCEEDED, f"server busy: {limit} execution requests in progress, retry later")


class RpcTimeout(RpcError):
    """A job ran past its time limit and was aborted (geth: "execution aborted (timeout = 5s)")."""

    def __init__(self, seconds: float) -> None:
        super().__init__(SERVER_ERROR, f"execution aborted (timeout = {seconds:g}s)")


class _Interrupted(BaseException):  # noqa: N818 - not an error, a signal to a worker thread
    """Raised asynchronously inside an overdue worker (a BaseException so ``except Exception`` in the
    EVM does not swallow it)."""


class _Job:
    __slots__ = ("fn", "future", "deadline", "thread", "lock", "finished")

    def __init__(self, fn: Callable[[], Any], future: cf.Future[Any]) -> None:
        self.fn = fn
        self.future = future
        self.deadline = 0.0
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.finished = False


def _interrupt(thread: threading.Thread) -> None:
    ident = thread.ident
    if ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(_Interrupted))


class RpcWorkPool(cf.Executor):
    """``workers`` threads, at most ``max_pending`` jobs in flight (running + waiting), ``timeout`` each."""

    def __init__(
        self,
        workers: int = DEFAULT_RPC_WORKERS,
        max_pending: int = DEFAULT_RPC_MAX_PENDING,
        timeout: float = DEFAULT_RPC_TIMEOUT,
        name: str = "rpc-worker",
    ) -> None:
        """``timeout=math.inf`` for jobs that change state (tx intake): those are never interrupted."""
        if workers < 1 or max_pending < workers:
            raise ValueError("RpcWorkPool needs 1 <= workers <= max_pending")
        self.workers = workers
        self.max_pending = max_pending
        self.timeout = timeout
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._inflight = 0
        self._lock = threading.Lock()
        self._running: set[_Job] = set()
        self._shutdown = threading.Event()
        #: set when a job starts running (or at shutdown): wakes an idle watchdog
        self._started = threading.Event()
        self.busy_refusals = 0
        self.timeouts = 0
        self._threads = [
            threading.Thread(target=self._worker, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        for t in self._threads:
            t.start()
        self._watchdog = threading.Thread(target=self._watch, name="rpc-watchdog", daemon=True)
        self._watchdog.start()

    @property
    def inflight(self) -> int:
        return self._inflight

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        """Queue ``fn(*args, **kwargs)``; raises :class:`RpcBusy` at once when the pool is full."""
        if self._shutdown.is_set():
            raise RuntimeError("RPC work pool is shut down")
        with self._lock:
            if self._inflight >= self.max_pending:
                self.busy_refusals += 1
                raise RpcBusy(self.max_pending)
            self._inflight += 1
        future: cf.Future[Any] = cf.Future()
        self._queue.put(_Job(lambda: fn(*args, **kwargs), future))
        return future

    def _worker(self) -> None:
        me = threading.current_thread()
        while True:
            try:
                job = self._queue.get()
                if job is None:
                    return
                self._run(job, me)
            except _Interrupted:  # arrived after the job finished: harmless here
                continue

    def _run(self, job: _Job, me: threading.Thread) -> None:
        result: Any = None
        error: BaseException | None = None
        cancelled = False
        try:
            try:
                if job.future.set_running_or_notify_cancel():
                    job.thread = me
                    job.deadline = time.monotonic() + self.timeout
                    with self._lock:
                        self._running.add(job)
                    self._started.set()
                    result = job.fn()
                else:
                    cancelled = True
            finally:
                with job.lock:  # after this the watchdog no longer aims at this thread
                    job.finished = True
        except _Interrupted:
            self.timeouts += 1
            error = RpcTimeout(self.timeout)
        except BaseException as exc:
            error = exc
        with self._lock:
            self._running.discard(job)
            self._inflight -= 1
        if cancelled:
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)

    def _watch(self) -> None:
        """Interrupt overdue jobs. Sleeps while no job runs (it used to wake 20 times a second even on an
        idle node: ~3-7 µs of node CPU per transaction under load, measured); runs until shut down *and*
        idle: a job still running at shutdown keeps its time limit."""
        while True:
            self._started.clear()
            with self._lock:
                busy = bool(self._running)
            if not busy:
                if self._shutdown.is_set():
                    return
                self._started.wait()  # a job started, or shutdown
                continue
            time.sleep(0.05)
            now = time.monotonic()
            with self._lock:
                overdue = [j for j in self._running if j.deadline and j.deadline < now]
            for job in overdue:
                with job.lock:  # the worker cannot finish (and take another job) while we aim at it
                    if not job.finished and job.thread is not None:
                        job.deadline = 0.0
                        _interrupt(job.thread)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown.set()
        self._started.set()
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for t in self._threads:
                t.join(min(self.timeout + 1, 30.0))


class LaneExecutor(cf.ThreadPoolExecutor):
    """Default executor of the node's event loop: its own threads serve the node (consensus, import,
    building, sync); work submitted from an RPC-lane task goes to ``rpc`` instead.

    A ThreadPoolExecutor subclass because asyncio's ``set_default_executor`` insists on one.
    """

    def __init__(self, rpc: RpcWorkPool, node_workers: int = 4) -> None:
        super().__init__(max_workers=node_workers, thread_name_prefix="node-worker")
        self.rpc = rpc

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        if RPC_LANE.get():
            return self.rpc.submit(fn, *args, **kwargs)
        return super().submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.rpc.shutdown(wait)
        super().shutdown(wait, cancel_futures=cancel_futures)
