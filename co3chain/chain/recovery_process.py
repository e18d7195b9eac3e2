"""Sender recovery in a child process, so a syncing node (or an auditor's replay) uses its second core.

Why: a follower never saw the transactions it imports, so each sender is recovered from its signature
(~40 µs of libsecp256k1 and decoding per transfer). Done on the importing thread it adds that much to every
transaction; done in a worker *thread* it was worse: the worker needs the GIL between two recoveries, gets
it only when the importer's 5 ms switch interval expires, falls behind, and from then on the importer
waits for the transaction the worker is recovering, one hand-over of the GIL per transaction. Measured on
the import benchmark (10,000 ERC-20 transfers, 2 cores): 245 µs per transfer with every sender already
known, 286 µs recovering inline, 408 µs with the worker thread. A child process has its own interpreter
and GIL: it recovers on the other core while this one executes, and nobody waits for it.

Contract with the consumer: nothing ever *waits* for the child. :meth:`RecoveryProcess.take` returns an
answer only if it already arrived; a consumer that reaches a transaction first recovers it itself, exactly
as without the child. A child that dies, cannot start, or answers late only costs the speed-up.

Sound: the child is this node's own program (``python -m co3chain.chain.recovery_process``, same
interpreter and code), reached only through the pipes it was started with. It decodes each transaction
with the node's own decoder (:class:`co3chain.chain.txdecode.TxDecoder`) and recovers the sender with the
same libsecp256k1 call as :mod:`co3chain.chain.senders`; the answer is keyed by the transaction hash
(``keccak`` of the transaction's complete signed encoding), so it can only ever be applied to that very
transaction. The parent never unpickles what the child sends: answers are fixed-size binary records.
A transaction the child cannot decode or recover is simply not answered; the import recovers it itself
and refuses it in py-evm's words as before.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

#: job kinds: a whole RLP block (``[header, transactions, ...]``) or a list of raw signed transactions
BLOCK = 0
TRANSACTIONS = 1

#: answer frame: job id, the child's CPU seconds so far, number of records; then the records
_HEAD = struct.Struct(">QdI")
#: one record: 1 if recovered, the transaction hash, the sender (20 zero bytes when not recovered)
_RECORD = 53
#: jobs beyond which a consumer stops feeding the child (bounds memory and the sender cache's churn)
DEFAULT_WINDOW_TXS = 8192
#: batches with fewer transactions are recovered inline (starting the child costs ~1 s of the other core)
MIN_BATCH_TXS = 512
#: restarts of a dead child before this process gives up on it (then every consumer recovers inline)
MAX_STARTS = 3


# --- the child -----------------------------------------------------------------------------------------
def _raw_transactions(kind: int, payload: Any) -> list[bytes]:
    """The signed transactions (``eth_sendRawTransaction`` form) of one job."""
    if kind == TRANSACTIONS:
        return [bytes(raw) for raw in payload]
    from co3chain.chain.rawblock import block_raw_transactions

    return block_raw_transactions(bytes(payload))


def recover_records(kind: int, payload: Any) -> list[bytes]:
    """One binary record per transaction of the job (see ``_RECORD``). Runs in the child; a pure function
    so tests can check it against the node's own recovery in-process."""
    from co3chain.chain.rawblock import _tx_decoder
    from co3chain.chain.senders import recover_from_message

    decoder = _tx_decoder()
    records = []
    for raw in _raw_transactions(kind, payload):
        sender = None
        parts = decoder.signing_parts(raw)  # what ``decoder.decode`` gives, without the py-evm object
        if parts is not None:
            tx_hash, message, recovery_id, r, s = parts
            sender = recover_from_message(message, recovery_id, r, s)
        if sender is None:
            records.append(bytes(_RECORD))
        else:
            records.append(b"\x01" + tx_hash + sender)
    return records


def _read_exact(stream: IO[bytes], n: int) -> bytes | None:
    data = stream.read(n)
    return data if data is not None and len(data) == n else None


def _serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """The child's loop: read ``length || pickle((job id, kind, payload))`` frames until end of input."""
    while True:
        head = _read_exact(inp, 4)
        if head is None:
            return
        body = _read_exact(inp, struct.unpack(">I", head)[0])
        if body is None:
            return
        job_id, kind, payload = pickle.loads(body)  # from the parent that started this process
        try:
            records = recover_records(kind, payload)
        except Exception:  # noqa: BLE001 - an undecodable job is answered empty: the consumer recovers inline
            records = []
        out.write(_HEAD.pack(job_id, time.process_time(), len(records)) + b"".join(records))
        out.flush()


# --- the parent ----------------------------------------------------------------------------------------
class RecoveryProcess:
    """A child process recovering senders for this one. Thread-safe; never blocks its callers.

    Jobs go out through a writer thread (a job larger than the pipe's buffer would otherwise stall the
    importer while the child is busy) and answers come back through a reader thread that keeps only the
    answers someone still wants. Both threads sleep in the kernel almost all the time.
    """

    def __init__(self, *, python: str | None = None) -> None:
        self._python = python or sys.executable
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._next_id = 1
        #: job id -> answer (``None`` until it arrives); jobs nobody wants any more are not in here
        self._answers: dict[int, list[tuple[bytes, bytes]] | None] = {}
        self._starts = 0
        self._closed = False
        #: the child's CPU seconds as it last reported them, summed over the children started so far
        self.cpu_seconds = 0.0
        self._cpu_base = 0.0
        self.jobs_submitted = 0
        self.jobs_answered = 0

    # -- lifecycle --
    @property
    def alive(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    def _ensure_started(self) -> bool:
        if self.alive:
            return True
        if self._closed or self._starts >= MAX_STARTS:
            return False
        self._starts += 1
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        try:
            proc = subprocess.Popen(
                [self._python, "-m", "co3chain.chain.recovery_process"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
            )
        except OSError as exc:
            log.warning("sender recovery process could not start (%s): senders are recovered inline", exc)
            return False
        self._cpu_base = self.cpu_seconds
        self.jobs_answered = self.jobs_submitted  # a dead child's lost jobs will never be answered
        self._proc = proc
        self._outbox = queue.SimpleQueue()
        threading.Thread(target=self._write_loop, args=(proc, self._outbox), name="recovery-out",
                         daemon=True).start()
        threading.Thread(target=self._read_loop, args=(proc,), name="recovery-in", daemon=True).start()
        return True

    def close(self) -> None:
        """Stop the child (end of its input) and forget every pending job."""
        with self._lock:
            self._closed = True
            proc, self._proc = self._proc, None
            self._answers.clear()
        if proc is not None:
            self._outbox.put(None)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    # -- jobs --
    def submit(self, kind: int, payload: Any) -> int | None:
        """Queue a job; its id, or ``None`` when there is no child (the caller recovers inline)."""
        with self._lock:
            if not self._ensure_started():
                return None
            job_id = self._next_id
            self._next_id += 1
            self.jobs_submitted += 1
            self._answers[job_id] = None
            body = pickle.dumps((job_id, kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
            self._outbox.put(struct.pack(">I", len(body)) + body)
        return job_id

    def take(self, job_id: int) -> list[tuple[bytes, bytes]] | None:
        """The ``(transaction hash, sender)`` pairs of an answered job (its recovered transactions only),
        removing it; ``None`` while it is not answered (ask again later, or :meth:`forget` it)."""
        with self._lock:
            answer = self._answers.get(job_id)
            if answer is not None:
                del self._answers[job_id]
            return answer

    def forget(self, job_ids: Iterable[int]) -> None:
        """The caller no longer wants these answers (they are dropped when they arrive)."""
        with self._lock:
            for job_id in job_ids:
                self._answers.pop(job_id, None)

    def pending(self) -> int:
        """Jobs someone still wants that are not answered yet."""
        with self._lock:
            return sum(1 for a in self._answers.values() if a is None)

    def settle(self, timeout: float = 10.0) -> bool:
        """Benchmarks and tests: wait until the child answered every job sent to it (wanted or not), so
        :attr:`cpu_seconds` covers them all. Node code never calls this (nothing waits for the child)."""
        end = time.monotonic() + timeout
        while self.alive and self.jobs_answered < self.jobs_submitted:
            if time.monotonic() > end:
                return False
            time.sleep(0.002)
        return True

    def _write_loop(self, proc: subprocess.Popen[bytes], outbox: queue.SimpleQueue[bytes | None]) -> None:
        stdin = proc.stdin
        assert stdin is not None
        try:
            while True:
                frame = outbox.get()
                if frame is None:
                    break
                stdin.write(frame)
                stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the child is gone: its jobs stay unanswered, consumers recover inline
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _read_loop(self, proc: subprocess.Popen[bytes]) -> None:
        stdout = proc.stdout
        assert stdout is not None
        while True:
            head = _read_exact(stdout, _HEAD.size)
            if head is None:
                return
            job_id, cpu, count = _HEAD.unpack(head)
            body = _read_exact(stdout, count * _RECORD)
            if body is None:
                return
            pairs = [
                (body[i + 1 : i + 33], body[i + 33 : i + 53])
                for i in range(0, len(body), _RECORD)
                if body[i] == 1
            ]
            with self._lock:
                self.cpu_seconds = self._cpu_base + cpu
                self.jobs_answered += 1
                if job_id in self._answers:
                    self._answers[job_id] = pairs


_SHARED: RecoveryProcess | None = None
_SHARED_LOCK = threading.Lock()


def shared_recovery() -> RecoveryProcess:
    """The process-wide child (started on its first job, stopped at exit)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = RecoveryProcess()
            atexit.register(_SHARED.close)
        return _SHARED


def started_recovery() -> RecoveryProcess | None:
    """The process-wide child if something already asked for it (monitoring must not start one)."""
    return _SHARED


class SenderFeed:
    """Feeds jobs to the child ahead of their consumer, within a window, and teaches their answers to a
    sender cache (:meth:`co3chain.chain.senders.SenderCache.learn`).

    ``jobs`` are ``(kind, payload, transaction count)`` in the order the consumer will reach them. Call
    :meth:`advance` with the index of the job about to be consumed: answers that arrived are learned, and
    jobs up to ``window_txs`` transactions ahead are sent. :meth:`close` drops the rest.
    """

    def __init__(self, recovery: RecoveryProcess | None, senders: Any, jobs: Sequence[tuple[int, Any, int]],
                 window_txs: int = DEFAULT_WINDOW_TXS) -> None:
        self._recovery = recovery
        self._senders = senders
        self._jobs = jobs
        # never more ahead than half the cache holds: learned senders must still be there when needed
        self._window = min(window_txs, max(1, getattr(senders, "max_entries", window_txs) // 2))
        self._sent: dict[int, int] = {}  # job index -> job id, answer not learned yet
        self._next = 0
        self.learned = 0

    def advance(self, position: int) -> None:
        recovery = self._recovery
        if recovery is None:
            return
        for index, job_id in list(self._sent.items()):
            answer = recovery.take(job_id)
            if answer is not None:
                del self._sent[index]
                self._senders.learn(answer)
                self.learned += len(answer)
            elif index < position:  # the consumer passed it (recovered inline): no longer worth anything
                del self._sent[index]
                recovery.forget((job_id,))
        self._next = max(self._next, position + 1)  # the job being consumed now is too late to send
        ahead = sum(self._jobs[i][2] for i in self._sent)
        while self._next < len(self._jobs) and ahead < self._window:
            kind, payload, count = self._jobs[self._next]
            if count:
                job_id = recovery.submit(kind, payload)
                if job_id is None:
                    self._recovery = None
                    return
                self._sent[self._next] = job_id
                ahead += count
            self._next += 1

    def close(self) -> None:
        if self._recovery is not None and self._sent:
            self._recovery.forget(self._sent.values())
        self._sent.clear()


def feed_senders(senders: Any, jobs: Sequence[tuple[int, Any, int]],
                 recovery: RecoveryProcess | None = None) -> SenderFeed:
    """A :class:`SenderFeed` of ``jobs`` into ``senders`` through ``recovery``, else through the shared child
    when the jobs hold at least :data:`MIN_BATCH_TXS` transactions; a smaller batch gets a feed that does
    nothing (its consumer recovers each sender itself, as it always can)."""
    if recovery is None and sum(count for _, _, count in jobs) >= MIN_BATCH_TXS:
        recovery = shared_recovery()
    return SenderFeed(recovery, senders, jobs)


def block_jobs(raws: Sequence[bytes], blocks: Sequence[Any]) -> list[tuple[int, Any, int]]:
    """Feed jobs for wire blocks (``blocks[i]`` decoded from ``raws[i]``, ``None`` if it did not decode)."""
    return [(BLOCK, raw, 0 if block is None else len(block.transactions)) for raw, block in zip(raws, blocks, strict=True)]


def main() -> None:
    """The child's entry point. It ignores Ctrl-C (the terminal sends it to the node's whole process group:
    the node decides when to stop, and the child ends with its input) and ends quietly when its parent is
    gone (end of input, or a broken pipe while answering)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        _serve(sys.stdin.buffer, sys.stdout.buffer)
    sys.stdout = None  # type: ignore[assignment]  # no flush of a broken pipe at exit


if __name__ == "__main__":
    main()
