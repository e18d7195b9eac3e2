"""Durable oracle queue in SQLite (WAL mode), behind the small :class:`QueueStore` interface.

Why SQLite WAL with ``synchronous=FULL``: the webhook answers 202 only after the event row is committed, so an
accepted event survives a crash or power loss; WAL lets the HTTP threads write while the worker reads.  The
PostgreSQL backend (:mod:`co3chain.oracle.store_pg`) implements the same interface, selected by URL scheme in
:func:`open_store`.

Event states::

    received → validated → signed → submitted(tx) → confirmed(block)
            ↘ rejected(reason)        ↖_________↙ (tx dropped/reverted: back to signed, retried)

Idempotency: ``(source, event_id)`` is UNIQUE and so is the derived attestation id; inserting an event that is
already known returns the existing row instead of creating a second one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from co3chain.errors import Co3Error
from co3chain.oracle.events import OracleEvent

STATES = ("received", "validated", "rejected", "signed", "submitted", "confirmed")
ACCEPTED_STATES = ("validated", "signed", "submitted", "confirmed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    attestation_id  TEXT NOT NULL UNIQUE,
    source          TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    source_kind     TEXT NOT NULL,
    body            BLOB NOT NULL,
    auth_timestamp  INTEGER NOT NULL,
    auth_signature  TEXT NOT NULL,
    citizen         TEXT NOT NULL,
    area_id         TEXT NOT NULL,
    activity_id     TEXT NOT NULL,
    kind            INTEGER NOT NULL,
    observed_at     INTEGER NOT NULL,
    evidence_hash   TEXT NOT NULL,
    state           TEXT NOT NULL,
    reason          TEXT,
    attestation     TEXT,
    signatures      TEXT,
    tx_hash         TEXT,
    block           INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    received_at     REAL NOT NULL,
    updated_at      REAL NOT NULL,
    UNIQUE (source, event_id)
);
CREATE INDEX IF NOT EXISTS events_state ON events (state, next_attempt_at, seq);
CREATE INDEX IF NOT EXISTS events_citizen ON events (citizen, activity_id, observed_at);
CREATE TABLE IF NOT EXISTS submissions (
    tx_hash         TEXT PRIMARY KEY,
    nonce           INTEGER NOT NULL,
    raw_tx          BLOB NOT NULL,
    attestation_ids TEXT NOT NULL,
    state           TEXT NOT NULL,
    block           INTEGER,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_state ON submissions (state);
"""


class StoreError(Co3Error):
    """The queue database cannot be opened or is inconsistent."""


@dataclass(frozen=True)
class QueueItem:
    """One queued event row."""

    seq: int
    attestation_id: str
    source: str
    event_id: str
    source_kind: str
    body: bytes
    auth_timestamp: int
    auth_signature: str
    citizen: str
    area_id: int
    activity_id: int
    kind: int
    observed_at: int
    evidence_hash: str
    state: str
    reason: str | None
    attestation: dict[str, Any] | None
    signatures: list[dict[str, str]] | None
    tx_hash: str | None
    block: int | None
    attempts: int
    next_attempt_at: float
    received_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> QueueItem:
        data = dict(row)
        data["area_id"] = int(data["area_id"])
        data["activity_id"] = int(data["activity_id"])
        data["body"] = bytes(data["body"])
        data["attestation"] = json.loads(data["attestation"]) if data["attestation"] else None
        data["signatures"] = json.loads(data["signatures"]) if data["signatures"] else None
        return cls(**data)

    def public(self) -> dict[str, Any]:
        """JSON-friendly summary (no raw body or auth material) for status listings and HTTP replies."""
        return {
            "attestation_id": self.attestation_id, "source": self.source, "event_id": self.event_id,
            "citizen": self.citizen, "area_id": self.area_id, "activity_id": self.activity_id,
            "kind": self.kind, "observed_at": self.observed_at, "state": self.state, "reason": self.reason,
            "tx_hash": self.tx_hash, "block": self.block, "attempts": self.attempts,
            "received_at": self.received_at, "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Submission:
    """A signed transaction recorded before broadcast, so a restart can find out what happened to it."""

    tx_hash: str
    nonce: int
    raw_tx: bytes
    attestation_ids: list[str]
    state: str
    block: int | None


class QueueStore(Protocol):
    """Storage operations the oracle needs; SQLite implements them, PostgreSQL could."""

    def insert_received(self, event: OracleEvent, body: bytes, auth_timestamp: int, auth_signature: str,
                        now: float) -> tuple[QueueItem, bool]: ...
    def get(self, attestation_id: str) -> QueueItem | None: ...
    def items_in_state(self, state: str, limit: int, now: float | None = None) -> list[QueueItem]: ...
    def mark_validated(self, attestation_id: str, attestation: dict[str, Any], now: float) -> None: ...
    def mark_rejected(self, attestation_id: str, reason: str, now: float) -> None: ...
    def mark_signed(self, attestation_id: str, signatures: list[dict[str, str]], now: float,
                    attestation: dict[str, Any] | None = None) -> None: ...
    def resign(self, attestation_id: str, reason: str, now: float) -> None: ...
    def defer(self, attestation_id: str, reason: str, retry_at: float, now: float) -> None: ...
    def record_submission(self, tx_hash: str, nonce: int, raw_tx: bytes, attestation_ids: list[str],
                          now: float) -> None: ...
    def pending_submissions(self) -> list[Submission]: ...
    def confirm_submission(self, tx_hash: str, block: int, confirmed_ids: Iterable[str], now: float,
                           retry_at: float | None = None) -> None: ...
    def fail_submission(self, tx_hash: str, state: str, retry_at: float, now: float) -> None: ...
    def mark_confirmed(self, attestation_id: str, block: int | None, now: float) -> None: ...
    def count_accepted(self, citizen: str, activity_id: int, since: int, until: int,
                       exclude: str | None = None) -> int: ...
    def find_accepted_duplicate(self, citizen: str, activity_id: int, evidence_hash: str, observed_at: int,
                                window: int, exclude: str) -> QueueItem | None: ...
    def counts_by_state(self) -> dict[str, int]: ...
    def last_confirmed_block(self) -> int | None: ...
    def list_items(self, state: str | None, limit: int) -> list[QueueItem]: ...
    def close(self) -> None: ...


class QueueTransitions:
    """The state moves of the queue, shared by every backend so their rules cannot drift apart.

    A backend provides ``_transition(attestation_id, allowed_from, sets, now)``: one atomic conditional update
    that raises :class:`StoreError` when the item is not in one of ``allowed_from``.
    """

    def _transition(self, attestation_id: str, allowed_from: tuple[str, ...], sets: dict[str, Any],
                    now: float) -> None:
        raise NotImplementedError

    def mark_validated(self, attestation_id: str, attestation: dict[str, Any], now: float) -> None:
        self._transition(attestation_id, ("received",),
                         {"state": "validated", "reason": None, "attestation": json.dumps(attestation)}, now)

    def mark_rejected(self, attestation_id: str, reason: str, now: float) -> None:
        self._transition(attestation_id, ("received", "validated", "signed", "submitted"),
                         {"state": "rejected", "reason": reason}, now)

    def mark_signed(self, attestation_id: str, signatures: list[dict[str, str]], now: float,
                    attestation: dict[str, Any] | None = None) -> None:
        """Store the signatures (and the attestation they sign, when it was re-derived for a new signer set)."""
        sets: dict[str, Any] = {"state": "signed", "reason": None, "signatures": json.dumps(signatures)}
        if attestation is not None:
            sets["attestation"] = json.dumps(attestation)
        self._transition(attestation_id, ("validated", "signed"), sets, now)

    def resign(self, attestation_id: str, reason: str, now: float) -> None:
        """Send a ``signed`` item back to ``validated`` (its signatures are for a retired signer set)."""
        self._transition(attestation_id, ("signed",), {"state": "validated", "reason": reason,
                                                       "signatures": None}, now)


class SqliteQueueStore(QueueTransitions):
    """The SQLite implementation; one connection shared by threads under a lock (writes are short)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.row_factory = sqlite3.Row
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if self.path != ":memory:" and mode.lower() != "wal":
                raise StoreError(f"{self.path}: cannot enable WAL journal mode (got {mode})")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open oracle queue {self.path}: {exc}") from exc
        self._lock = threading.RLock()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed (durably) on exit, rolled back on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # -- events ---------------------------------------------------------------------------------------------

    def insert_received(self, event: OracleEvent, body: bytes, auth_timestamp: int, auth_signature: str,
                        now: float) -> tuple[QueueItem, bool]:
        """Insert an event in state ``received``; return (row, created).  Idempotent by (source, event id)."""
        aid = "0x" + event.attestation_id.hex()
        with self._tx() as conn:
            cur = conn.execute(
                """INSERT INTO events (attestation_id, source, event_id, source_kind, body, auth_timestamp,
                       auth_signature, citizen, area_id, activity_id, kind, observed_at, evidence_hash, state,
                       received_at, updated_at)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?, 'received', ?, ?)
                   ON CONFLICT DO NOTHING""",
                (aid, event.source, event.event_id, event.source_kind, body, auth_timestamp, auth_signature,
                 event.citizen, str(event.area_id), str(event.activity_id), int(event.kind), event.observed_at,
                 "0x" + event.evidence_hash.hex(), now, now),
            )
            created = cur.rowcount == 1
            row = conn.execute("SELECT * FROM events WHERE attestation_id = ?", (aid,)).fetchone()
        return QueueItem.from_row(row), created

    def get(self, attestation_id: str) -> QueueItem | None:
        rows = self._query("SELECT * FROM events WHERE attestation_id = ?", (attestation_id.lower(),))
        return QueueItem.from_row(rows[0]) if rows else None

    def items_in_state(self, state: str, limit: int, now: float | None = None) -> list[QueueItem]:
        """Oldest items in ``state`` that are due (``next_attempt_at <= now`` when ``now`` is given)."""
        _check_state(state)
        if now is None:
            rows = self._query("SELECT * FROM events WHERE state = ? ORDER BY seq LIMIT ?", (state, limit))
        else:
            rows = self._query(
                "SELECT * FROM events WHERE state = ? AND next_attempt_at <= ? ORDER BY seq LIMIT ?",
                (state, now, limit))
        return [QueueItem.from_row(r) for r in rows]

    def _transition(self, attestation_id: str, allowed_from: tuple[str, ...], sets: dict[str, Any],
                    now: float) -> None:
        cols = ", ".join(f"{k} = ?" for k in sets)
        marks = ",".join("?" * len(allowed_from))
        with self._tx() as conn:
            cur = conn.execute(
                f"UPDATE events SET {cols}, updated_at = ? WHERE attestation_id = ? AND state IN ({marks})",
                (*sets.values(), now, attestation_id, *allowed_from))
            if cur.rowcount != 1:
                row = conn.execute("SELECT state FROM events WHERE attestation_id = ?",
                                   (attestation_id,)).fetchone()
                have = row["state"] if row else "missing"
                raise StoreError(f"{attestation_id}: cannot move from {have} (expected {allowed_from})")

    def defer(self, attestation_id: str, reason: str, retry_at: float, now: float) -> None:
        """Keep the state but note why it could not progress, and retry no earlier than ``retry_at``."""
        with self._tx() as conn:
            conn.execute("UPDATE events SET reason = ?, attempts = attempts + 1, next_attempt_at = ?, "
                         "updated_at = ? WHERE attestation_id = ?", (reason, retry_at, now, attestation_id))

    def mark_confirmed(self, attestation_id: str, block: int | None, now: float) -> None:
        """Record an attestation found already used on chain (e.g. submitted before a crash)."""
        self._transition(attestation_id, ("validated", "signed", "submitted"),
                         {"state": "confirmed", "reason": None, "block": block}, now)

    # -- submissions ----------------------------------------------------------------------------------------

    def record_submission(self, tx_hash: str, nonce: int, raw_tx: bytes, attestation_ids: list[str],
                          now: float) -> None:
        """Atomically store a signed transaction and move its attestations to ``submitted`` (pre-broadcast)."""
        marks = ",".join("?" * len(attestation_ids))
        with self._tx() as conn:
            conn.execute("INSERT INTO submissions (tx_hash, nonce, raw_tx, attestation_ids, state, created_at, "
                         "updated_at) VALUES (?,?,?,?, 'pending', ?, ?)",
                         (tx_hash, nonce, raw_tx, json.dumps(attestation_ids), now, now))
            cur = conn.execute(f"UPDATE events SET state = 'submitted', tx_hash = ?, attempts = attempts + 1, "
                               f"updated_at = ? WHERE attestation_id IN ({marks}) AND state = 'signed'",
                               (tx_hash, now, *attestation_ids))
            if cur.rowcount != len(attestation_ids):
                raise StoreError("submission includes attestations that are not in state 'signed'")

    def pending_submissions(self) -> list[Submission]:
        rows = self._query("SELECT * FROM submissions WHERE state = 'pending' ORDER BY nonce")
        return [Submission(r["tx_hash"], r["nonce"], bytes(r["raw_tx"]), json.loads(r["attestation_ids"]),
                           r["state"], r["block"]) for r in rows]

    def confirm_submission(self, tx_hash: str, block: int, confirmed_ids: Iterable[str], now: float,
                           retry_at: float | None = None) -> None:
        """The tx was mined: its attestations that are now used on chain become ``confirmed``; the others
        (neither confirmed nor rejected by the caller) return to ``signed``, due again at ``retry_at``."""
        ids = list(confirmed_ids)
        with self._tx() as conn:
            conn.execute("UPDATE submissions SET state = 'mined', block = ?, updated_at = ? WHERE tx_hash = ?",
                         (block, now, tx_hash))
            for aid in ids:
                conn.execute("UPDATE events SET state = 'confirmed', block = ?, reason = NULL, updated_at = ? "
                             "WHERE attestation_id = ? AND state = 'submitted'", (block, now, aid))
            # Anything of this tx that is not used on chain goes back to 'signed' for another try.
            conn.execute("UPDATE events SET state = 'signed', tx_hash = NULL, reason = ?, next_attempt_at = ?, "
                         "updated_at = ? WHERE tx_hash = ? AND state = 'submitted'",
                         (f"not used after tx {tx_hash} mined", retry_at or now, now, tx_hash))

    def fail_submission(self, tx_hash: str, state: str, retry_at: float, now: float) -> None:
        """The tx reverted or was dropped (``state`` 'reverted'/'dropped'): its events return to ``signed``."""
        with self._tx() as conn:
            conn.execute("UPDATE submissions SET state = ?, updated_at = ? WHERE tx_hash = ?",
                         (state, now, tx_hash))
            conn.execute("UPDATE events SET state = 'signed', tx_hash = NULL, reason = ?, next_attempt_at = ?, "
                         "updated_at = ? WHERE tx_hash = ? AND state = 'submitted'",
                         (f"tx {tx_hash} {state}", retry_at, now, tx_hash))

    # -- queries --------------------------------------------------------------------------------------------

    def count_accepted(self, citizen: str, activity_id: int, since: int, until: int,
                       exclude: str | None = None) -> int:
        """Accepted events of ``citizen`` for ``activity_id`` observed in ``[since, until)``."""
        marks = ",".join("?" * len(ACCEPTED_STATES))
        rows = self._query(
            f"SELECT COUNT(*) FROM events WHERE citizen = ? AND activity_id = ? AND observed_at >= ? "
            f"AND observed_at < ? AND state IN ({marks}) AND attestation_id != ?",
            (citizen, str(activity_id), since, until, *ACCEPTED_STATES, exclude or ""))
        return int(rows[0][0])

    def find_accepted_duplicate(self, citizen: str, activity_id: int, evidence_hash: str, observed_at: int,
                                window: int, exclude: str) -> QueueItem | None:
        """An accepted event of the same citizen and activity with the same evidence or within ``window`` s."""
        marks = ",".join("?" * len(ACCEPTED_STATES))
        rows = self._query(
            f"SELECT * FROM events WHERE citizen = ? AND activity_id = ? AND state IN ({marks}) "
            f"AND attestation_id != ? AND (evidence_hash = ? OR (observed_at > ? AND observed_at < ?)) "
            f"ORDER BY seq LIMIT 1",
            (citizen, str(activity_id), *ACCEPTED_STATES, exclude, evidence_hash, observed_at - window,
             observed_at + window))
        return QueueItem.from_row(rows[0]) if rows else None

    def counts_by_state(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for row in self._query("SELECT state, COUNT(*) FROM events GROUP BY state"):
            counts[row[0]] = int(row[1])
        return counts

    def last_confirmed_block(self) -> int | None:
        rows = self._query("SELECT MAX(block) FROM events WHERE state = 'confirmed'")
        return None if rows[0][0] is None else int(rows[0][0])

    def list_items(self, state: str | None, limit: int) -> list[QueueItem]:
        """Newest first; all states when ``state`` is None."""
        if state is None:
            rows = self._query("SELECT * FROM events ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            _check_state(state)
            rows = self._query("SELECT * FROM events WHERE state = ? ORDER BY seq DESC LIMIT ?", (state, limit))
        return [QueueItem.from_row(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _check_state(state: str) -> None:
    if state not in STATES:
        raise StoreError(f"unknown state {state!r} (one of {', '.join(STATES)})")


def open_store(url: str) -> QueueStore:
    """Open the queue named by ``url``: ``sqlite:///path/to/queue.db``, a bare path, or
    ``postgresql://user:pass@host/db`` (needs the ``psycopg`` package, imported only when used)."""
    if url.startswith("sqlite:///"):
        return SqliteQueueStore(url[len("sqlite:///"):] or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from co3chain.oracle.store_pg import PostgresQueueStore
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("psycopg"):
                raise
            raise StoreError("a postgresql:// queue needs psycopg 3: pip install 'psycopg[binary]'") from exc
        return PostgresQueueStore(url)
    if "://" in url:
        scheme = url.split("://", 1)[0]  # not the whole URL: it may carry a password
        raise StoreError(f"unsupported queue URL scheme {scheme!r}: use sqlite:///path or postgresql://...")
    return SqliteQueueStore(url)
