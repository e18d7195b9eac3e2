"""Durable journal of accepted transactions, re-admitted to the pool when the node starts.

Why: ``eth_sendRawTransaction`` returns a hash, and clients take that as "the network has it". After a
``kill -9`` of every validator, transactions accepted a few seconds earlier were gone. Like geth's
local-transaction journal (``transactions.rlp``), every transaction the pool accepts is appended here
and replayed through normal admission on start (so whatever was mined meanwhile is refused as "nonce too
low" and dropped).

Durability: each record is written to the file with ``os.write`` before the pool answers, so it survives
the process being killed at any point (the kernel has it); a background thread ``fsync``\\ s at most
``sync_interval`` seconds later (0.2 s), which bounds what a power cut can take without putting a disk
flush on the event loop for every transaction. The file is rewritten from the pool's content (temp file,
fsync, rename) when it has grown well past what the pool holds, so it stays proportional to the pool.

Batching: the thread that admits ``eth_sendRawTransaction`` (:class:`~co3chain.rpc.intake.IntakeLane`)
runs many admissions per wake-up and answers them together. Its appends are held (:meth:`defer_on`)
and written with one ``os.write`` just before the answers go out (:meth:`flush_deferred`), so the
contract is unchanged — no client gets a hash for a transaction that is not in the file — while the
thread releases the GIL once per batch instead of once per transaction (each release under load handed
the GIL to the block builder and cost the intake a wait of up to one switch interval, 5 ms).

Format: records of ``4-byte big-endian length ‖ raw transaction``; a torn last record (crash mid-write)
is ignored.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger("co3chain.node.txjournal")

DEFAULT_SYNC_INTERVAL = 0.2
#: Rewrite when the file holds this many records more than the pool (and twice the pool's size).
COMPACT_SLACK = 1000
_MAX_RECORD = 1 << 20


class TxJournal:
    """Append-only journal at ``path``; thread-safe."""

    def __init__(self, path: Path, sync_interval: float = DEFAULT_SYNC_INTERVAL) -> None:
        self.path = Path(path)
        self.sync_interval = sync_interval
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._records = 0
        self._dirty = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        #: thread id -> records appended by that thread and not yet written (see :meth:`defer_on`)
        self._held: dict[int, list[bytes]] = {}
        self._snapshot: Callable[[], Iterable[bytes]] | None = None
        self._pool_size: Callable[[], int] = lambda: 0
        self._thread = threading.Thread(target=self._syncer, name="txjournal-sync", daemon=True)
        self._thread.start()

    # -- reading ---------------------------------------------------------------------------------------
    @staticmethod
    def read(path: Path) -> list[bytes]:
        """Every complete record in ``path`` (none if it does not exist)."""
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            return []
        out: list[bytes] = []
        pos = 0
        while pos + 4 <= len(data):
            n = int.from_bytes(data[pos : pos + 4], "big")
            if n > _MAX_RECORD or pos + 4 + n > len(data):
                break  # torn tail: the crash happened mid-write
            out.append(data[pos + 4 : pos + 4 + n])
            pos += 4 + n
        return out

    def restore(self, admit: Callable[[bytes], object]) -> tuple[int, int]:
        """Feed every journaled transaction to ``admit`` (the pool's ``add``); returns (re-admitted,
        refused). Refusals (mined meanwhile, now invalid) are expected and only counted."""
        ok = bad = 0
        for raw in self.read(self.path):
            try:
                admit(raw)
                ok += 1
            except Exception:
                bad += 1
        return ok, bad

    # -- writing ---------------------------------------------------------------------------------------
    def attach(self, snapshot: Callable[[], Iterable[bytes]], pool_size: Callable[[], int]) -> None:
        """Where compaction reads the live transactions from (the pool's raw encodings and its size)."""
        self._snapshot = snapshot
        self._pool_size = pool_size

    def append(self, raw: bytes) -> None:
        """Record ``raw``; on return it survives the process dying (fsync follows within the interval).

        On a thread registered with :meth:`defer_on` the record is only queued: it survives the process
        once that thread calls :meth:`flush_deferred` (which it does before telling anyone).
        """
        record = len(raw).to_bytes(4, "big") + bytes(raw)
        held = self._held.get(threading.get_ident())
        if held is not None:
            held.append(record)
            return
        with self._lock:
            if self._fd < 0:
                return
            os.write(self._fd, record)
            self._records += 1
            self._dirty = True

    def defer_on(self, thread_id: int) -> None:
        """From now on, appends made by thread ``thread_id`` wait for its :meth:`flush_deferred`."""
        self._held.setdefault(thread_id, [])

    def stop_deferring(self, thread_id: int) -> None:
        """Undo :meth:`defer_on` once that thread has ended (thread ids are reused); anything it still
        held is written."""
        held = self._held.pop(thread_id, None)
        if held:
            with self._lock:
                if self._fd >= 0:
                    os.write(self._fd, b"".join(held))
                    self._records += len(held)
                    self._dirty = True

    def flush_deferred(self) -> None:
        """Write (one ``os.write``) what the calling thread appended since its last flush.

        Raises ``OSError`` when the write fails (e.g. a full disk): the caller must then not report those
        transactions as accepted. The records are dropped either way (the next flush starts clean).
        """
        held = self._held.get(threading.get_ident())
        if not held:
            return
        data = b"".join(held)
        count = len(held)
        held.clear()
        with self._lock:
            if self._fd < 0:
                return
            view = memoryview(data)
            while view:  # a regular file takes it all at once; loop for the rare short write
                view = view[os.write(self._fd, view):]
            self._records += count
            self._dirty = True

    def _syncer(self) -> None:
        while not self._stop.wait(self.sync_interval):
            try:
                self.sync()
                self._maybe_compact()
            except Exception:  # a full disk must not kill the node; the next round retries
                log.exception("tx journal sync failed")

    def sync(self) -> None:
        with self._lock:
            if self._dirty and self._fd >= 0:
                os.fsync(self._fd)
                self._dirty = False

    def _maybe_compact(self) -> None:
        if self._snapshot is None:
            return
        live = self._pool_size()
        if self._records <= max(COMPACT_SLACK + live, 2 * live):
            return
        self.compact()

    def compact(self) -> None:
        """Rewrite the journal with exactly the pool's current transactions (atomic rename)."""
        if self._snapshot is None:
            return
        with self._lock:  # appends wait: nothing accepted meanwhile can be lost by the rename
            raws = list(self._snapshot())
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "wb") as fh:
                for raw in raws:
                    fh.write(len(raw).to_bytes(4, "big") + raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            os.close(self._fd)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._records = len(raws)
            self._dirty = False

    def close(self) -> None:
        """Compact (the pool's content at shutdown), fsync and close."""
        self._stop.set()
        self._thread.join(5)
        try:
            self.compact()
        except Exception:
            log.exception("tx journal compaction at shutdown failed")
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
