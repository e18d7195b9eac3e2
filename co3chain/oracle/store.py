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
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eth_utils import is_hex_address, to_checksum_address

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
    evidence_digest TEXT,
    evidence_salt   TEXT,
    geo_inside      INTEGER,
    geo_cell        TEXT,
    redacted_at     REAL,
    erased_at       REAL,
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

#: Columns added after the first release (privacy, issue 19): ``(name, SQL type)``, added to older queues on
#: open.  ``evidence_digest`` is the unsalted evidence hash (dedup key), ``evidence_salt`` the per-event salt of
#: the on-chain commitment, ``geo_*`` the derived location facts kept after retention removed the body.
PRIVACY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("evidence_digest", "TEXT"), ("evidence_salt", "TEXT"), ("geo_inside", "INTEGER"), ("geo_cell", "TEXT"),
    ("redacted_at", "REAL"), ("erased_at", "REAL"),
)

#: States after which an event never changes again: the retention clock starts at the move into them.
FINAL_STATES = ("confirmed", "rejected")


class StoreError(Co3Error):
    """The queue database cannot be opened or is inconsistent."""


#: Where a rejection reason quotes the exact point, e.g. ``point (45.071, 7.6855) is outside …``.
_COORDINATES = re.compile(r"\(\s*-?\d+(?:\.\d+)?(?:e-?\d+)?\s*,\s*-?\d+(?:\.\d+)?(?:e-?\d+)?\s*\)")
REDACTED_POINT = "(location removed)"
ERASED_REASON = "evidence erased at the citizen's request: this operator will not sign or submit it"
#: In-flight states an erasure stops (the event is rejected); ``submitted`` may already be mined, so it waits.
ERASABLE_IN_FLIGHT = ("received", "validated", "signed")


def scrub_reason(reason: str | None) -> str | None:
    """``reason`` without exact coordinates (validation quotes the point in geofence rejections)."""
    return None if reason is None else _COORDINATES.sub(REDACTED_POINT, reason)


@dataclass(frozen=True)
class ErasureResult:
    """What :meth:`QueueStore.erase_citizen` did: rows blanked, in-flight events stopped, rows still pending."""

    erased: list[str]
    stopped: list[str]
    pending: list[str]


@dataclass(frozen=True)
class ErasureStep:
    """One row an erasure blanks: the state it ends in and its reason with the coordinates scrubbed."""

    attestation_id: str
    state: str
    reason: str | None


def plan_erasure(rows: Iterable[Mapping[str, Any]]) -> tuple[list[ErasureStep], ErasureResult]:
    """Decide, from a citizen's ``(attestation_id, state, reason)`` rows, which to blank and how, so the SQLite
    and PostgreSQL stores apply one rule: ``submitted`` rows wait (they may be mined), in-flight ones are
    rejected with :data:`ERASED_REASON`, every other row keeps its state."""
    steps: list[ErasureStep] = []
    stopped: list[str] = []
    pending: list[str] = []
    for row in rows:
        aid, state, reason = row["attestation_id"], row["state"], row["reason"]
        if state == "submitted":
            pending.append(aid)
            continue
        if state in ERASABLE_IN_FLIGHT:
            stopped.append(aid)
            state, reason = "rejected", ERASED_REASON
        steps.append(ErasureStep(aid, state, scrub_reason(reason)))
    return steps, ErasureResult([s.attestation_id for s in steps], stopped, pending)


def carrying(submissions: Iterable[Submission], attestation_ids: Iterable[str]) -> list[Submission]:
    """The ``submissions`` that carried any of ``attestation_ids`` (compared case-insensitively)."""
    wanted = {a.lower() for a in attestation_ids}
    return [s for s in submissions if wanted & {a.lower() for a in s.attestation_ids}]


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
    evidence_digest: str | None = None
    evidence_salt: str | None = None
    geo_inside: bool | None = None
    geo_cell: str | None = None
    redacted_at: float | None = None
    erased_at: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> QueueItem:
        data = dict(row)
        data["area_id"] = int(data["area_id"])
        data["activity_id"] = int(data["activity_id"])
        data["body"] = bytes(data["body"])
        if data.get("geo_inside") is not None:
            data["geo_inside"] = bool(data["geo_inside"])
        data["attestation"] = json.loads(data["attestation"]) if data["attestation"] else None
        data["signatures"] = json.loads(data["signatures"]) if data["signatures"] else None
        return cls(**data)

    def public(self) -> dict[str, Any]:
        """JSON-friendly summary for status listings and HTTP replies: no raw body, no auth material, and no
        exact coordinates (rejection reasons quote the point; the listings are readable without a PA key)."""
        return {
            "attestation_id": self.attestation_id, "source": self.source, "event_id": self.event_id,
            "citizen": self.citizen, "area_id": self.area_id, "activity_id": self.activity_id,
            "kind": self.kind, "observed_at": self.observed_at, "state": self.state,
            "reason": scrub_reason(self.reason),
            "tx_hash": self.tx_hash, "block": self.block, "attempts": self.attempts,
            "received_at": self.received_at, "updated_at": self.updated_at,
        }

    @property
    def salt(self) -> bytes | None:
        """The evidence salt as bytes (None: unsalted legacy row, or erased)."""
        return bytes.fromhex(self.evidence_salt[2:]) if self.evidence_salt else None

    @property
    def redacted(self) -> bool:
        """True once retention or erasure removed the raw body (it can no longer be re-parsed)."""
        return self.redacted_at is not None or self.erased_at is not None


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
    def redact_final(self, cutoff: float, now: float, limit: int = 1000) -> list[str]: ...
    def items_of_citizen(self, citizen: str) -> list[QueueItem]: ...
    def submissions_of(self, attestation_ids: Iterable[str]) -> list[Submission]: ...
    def erase_citizen(self, citizen: str, now: float) -> ErasureResult: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class LocationFacts:
    """What the oracle keeps about where an event happened once the exact coordinates are gone.

    ``inside``: the point was inside every geofence representation of the area (None: no location given);
    ``cell``: the H3 cell (hex string) containing the point at the area's resolution.
    """

    inside: bool | None
    cell: str | None


def _location_sets(location: LocationFacts | None) -> dict[str, Any]:
    if location is None:
        return {}
    return {"geo_inside": None if location.inside is None else int(location.inside), "geo_cell": location.cell}


@dataclass(frozen=True)
class RedactionRow:
    """One row as retention/erasure sees it: what to blank and the reason text to scrub."""

    attestation_id: str
    reason: str | None


class QueueTransitions:
    """The state moves of the queue, shared by every backend so their rules cannot drift apart.

    A backend provides ``_transition(attestation_id, allowed_from, sets, now)``: one atomic conditional update
    that raises :class:`StoreError` when the item is not in one of ``allowed_from``.
    """

    def _transition(self, attestation_id: str, allowed_from: tuple[str, ...], sets: dict[str, Any],
                    now: float) -> None:
        raise NotImplementedError

    def mark_validated(self, attestation_id: str, attestation: dict[str, Any], now: float,
                       location: LocationFacts | None = None) -> None:
        self._transition(attestation_id, ("received",),
                         {"state": "validated", "reason": None, "attestation": json.dumps(attestation),
                          **_location_sets(location)}, now)

    def mark_rejected(self, attestation_id: str, reason: str, now: float,
                      location: LocationFacts | None = None) -> None:
        self._transition(attestation_id, ("received", "validated", "signed", "submitted"),
                         {"state": "rejected", "reason": reason, **_location_sets(location)}, now)

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
            # Overwrite deleted content with zeros: erased bodies and salts must not linger in free pages.
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.executescript(_SCHEMA)
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open oracle queue {self.path}: {exc}") from exc
        self._lock = threading.RLock()

    def _migrate(self) -> None:
        """Add the privacy columns to a queue created by an older release; unsalted rows dedup on their hash."""
        have = {r["name"] for r in self._conn.execute("PRAGMA table_info(events)")}
        for name, sql_type in PRIVACY_COLUMNS:
            if name not in have:
                self._conn.execute(f"ALTER TABLE events ADD COLUMN {name} {sql_type}")
        self._conn.execute("UPDATE events SET evidence_digest = evidence_hash "
                           "WHERE evidence_digest IS NULL AND evidence_salt IS NULL AND erased_at IS NULL")

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
                       received_at, updated_at, evidence_digest, evidence_salt)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?, 'received', ?, ?, ?, ?)
                   ON CONFLICT DO NOTHING""",
                (aid, event.source, event.event_id, event.source_kind, body, auth_timestamp, auth_signature,
                 event.citizen, str(event.area_id), str(event.activity_id), int(event.kind), event.observed_at,
                 *_evidence_columns(event), now, now, *_salt_columns(event)),
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
        return [_submission(r) for r in rows]

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

    def find_accepted_duplicate(self, citizen: str, activity_id: int, evidence_digest: str, observed_at: int,
                                window: int, exclude: str) -> QueueItem | None:
        """An accepted event of the same citizen and activity with the same evidence or within ``window`` s.

        Compares the *unsalted* evidence digest: two events with the same evidence get different salts, so
        their on-chain commitments differ and could not be compared.
        """
        marks = ",".join("?" * len(ACCEPTED_STATES))
        rows = self._query(
            f"SELECT * FROM events WHERE citizen = ? AND activity_id = ? AND state IN ({marks}) "
            f"AND attestation_id != ? AND (evidence_digest = ? OR (observed_at > ? AND observed_at < ?)) "
            f"ORDER BY seq LIMIT 1",
            (citizen, str(activity_id), *ACCEPTED_STATES, exclude, evidence_digest, observed_at - window,
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

    # -- privacy: retention, export, erasure --------------------------------------------------------------------

    def redact_final(self, cutoff: float, now: float, limit: int = 1000) -> list[str]:
        """Retention: drop raw body, source MAC and quoted coordinates of events final before ``cutoff``; keeps
        the derived facts, the salt and the digest.  Returns the attestation ids redacted.

        "Final" also covers a ``validated``/``signed`` row whose attestation expired before ``cutoff``: the hub
        refuses it from then on, and a co-signer (which never learns of the confirmation) keeps its rows
        ``signed`` forever, so without this its bodies would never expire.
        """
        marks = ",".join("?" * len(FINAL_STATES))
        with self._tx() as conn:
            rows = conn.execute(
                f"SELECT attestation_id, reason FROM events WHERE redacted_at IS NULL AND erased_at IS NULL AND "
                f"((state IN ({marks}) AND updated_at < ?) OR (state IN ('validated', 'signed') "
                f"AND attestation IS NOT NULL AND CAST(json_extract(attestation, '$.expiresAt') AS REAL) < ?)) "
                f"ORDER BY seq LIMIT ?",
                (*FINAL_STATES, cutoff, cutoff, limit)).fetchall()
            for row in rows:
                conn.execute("UPDATE events SET body = ?, auth_signature = '', reason = ?, redacted_at = ? "
                             "WHERE attestation_id = ?", (b"", scrub_reason(row["reason"]), now,
                                                          row["attestation_id"]))
        if rows:
            self._purge_wal()
        return [r["attestation_id"] for r in rows]

    def _purge_wal(self) -> None:
        """Copy the WAL into the database and truncate it, so old page images (with the removed bodies and
        salts) do not survive in the ``-wal`` file; best effort while readers hold old snapshots."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def items_of_citizen(self, citizen: str) -> list[QueueItem]:
        """Every queued event whose subject is ``citizen`` (checksummed or not), oldest first."""
        rows = self._query("SELECT * FROM events WHERE citizen = ? ORDER BY seq", (_stored_address(citizen),))
        return [QueueItem.from_row(r) for r in rows]

    def submissions_of(self, attestation_ids: Iterable[str]) -> list[Submission]:
        """Submission transactions that carried any of ``attestation_ids``."""
        rows = self._query("SELECT * FROM submissions ORDER BY nonce")
        return carrying((_submission(r) for r in rows), attestation_ids)

    def erase_citizen(self, citizen: str, now: float) -> ErasureResult:
        """Erasure: stop the citizen's in-flight events, then blank body, MAC, salt, digest, H3 cell and quoted
        coordinates of every final one.  ``submitted`` rows may already be mined: they are left for a re-run."""
        with self._tx() as conn:
            rows = conn.execute("SELECT attestation_id, state, reason FROM events WHERE citizen = ? "
                                "ORDER BY seq", (_stored_address(citizen),)).fetchall()
            steps, result = plan_erasure(rows)
            for step in steps:
                conn.execute("UPDATE events SET state = ?, body = ?, auth_signature = '', evidence_salt = NULL, "
                             "evidence_digest = NULL, geo_cell = NULL, reason = ?, erased_at = ?, updated_at = ? "
                             "WHERE attestation_id = ?", (step.state, b"", step.reason, now, now,
                                                          step.attestation_id))
        self._purge_wal()
        return result

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _stored_address(citizen: str) -> str:
    """Addresses are stored checksummed (the event parser normalises them): match any spelling, use the index."""
    return to_checksum_address(citizen) if is_hex_address(citizen) else citizen


def _submission(r: Any) -> Submission:
    return Submission(r["tx_hash"], r["nonce"], bytes(r["raw_tx"]), json.loads(r["attestation_ids"]), r["state"],
                      r["block"])


def _evidence_columns(event: OracleEvent) -> tuple[str]:
    """The on-chain commitment column of a new row."""
    return ("0x" + event.evidence_hash.hex(),)


def _salt_columns(event: OracleEvent) -> tuple[str, str | None]:
    """(evidence_digest, evidence_salt) of a new row: the dedup key and the salt, both off-chain only."""
    digest = event.evidence_digest or event.evidence_hash
    salt = None if event.evidence_salt is None else "0x" + event.evidence_salt.hex()
    return "0x" + digest.hex(), salt


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
