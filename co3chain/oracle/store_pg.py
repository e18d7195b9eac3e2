"""Durable oracle queue in PostgreSQL: the production twin of :class:`~co3chain.oracle.store.SqliteQueueStore`.

Same states, transitions, idempotency and errors as the SQLite store (see :mod:`co3chain.oracle.store`); only
the engine differs.  Why PostgreSQL: several operator processes (or a process and an operator's ``status``
command) can share one queue on a managed, replicated, backed-up server.

How the guarantees carry over:

* **durability** — every write is one transaction committed with ``synchronous_commit = on`` (forced per
  session, whatever the server default), so the webhook's 202 still means "on disk";
* **no double transition** — every state change is a *conditional* ``UPDATE ... WHERE state = ANY(allowed)``
  under READ COMMITTED: when two connections race for the same row the second one blocks on the row lock,
  re-checks the condition against the committed winner, matches nothing and raises :class:`StoreError`
  (its whole transaction, e.g. the ``submissions`` row of a losing ``record_submission``, is rolled back);
* **idempotency** — ``UNIQUE (source, event_id)`` and ``UNIQUE (attestation_id)`` with
  ``INSERT ... ON CONFLICT DO NOTHING``: a concurrent duplicate waits for the first insert and then returns
  the existing row;
* **schema on first use** — created in one transaction under an advisory lock, so two processes starting
  together do not race on ``CREATE TABLE``.

Tables are prefixed ``oracle_`` so the queue can live in a shared database; to isolate several operators in
one database give each its own schema (``?options=-csearch_path%3Doperator1``).  One connection is shared by
the HTTP threads and the worker under a lock (writes are short), exactly like the SQLite store.  A lost
connection (server restart, fail-over) is re-opened on the next call, and an operation whose connection died
*before* it committed is retried once on the new connection (nothing of it was committed); a failure during
COMMIT itself is reported as :class:`StoreError`, never retried blindly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from co3chain.oracle.events import OracleEvent
from co3chain.oracle.store import (
    ACCEPTED_STATES,
    FINAL_STATES,
    PRIVACY_COLUMNS,
    STATES,
    ErasureResult,
    QueueItem,
    QueueTransitions,
    StoreError,
    Submission,
    _check_state,
    _evidence_columns,
    _salt_columns,
    _stored_address,
    carrying,
    plan_erasure,
    scrub_reason,
)

T = TypeVar("T")
Cursor = psycopg.Cursor[dict[str, Any]]

#: Arbitrary constant key of the advisory lock that serialises schema creation across processes.
_SCHEMA_LOCK = 0x636F33_6F7261  # "co3ora"

_STATE_LIST = ", ".join(f"'{s}'" for s in STATES)
_SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS oracle_events (
        seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        attestation_id  TEXT NOT NULL UNIQUE,
        source          TEXT NOT NULL,
        event_id        TEXT NOT NULL,
        source_kind     TEXT NOT NULL,
        body            BYTEA NOT NULL,
        auth_timestamp  BIGINT NOT NULL,
        auth_signature  TEXT NOT NULL,
        citizen         TEXT NOT NULL,
        area_id         TEXT NOT NULL,
        activity_id     TEXT NOT NULL,
        kind            INTEGER NOT NULL,
        observed_at     BIGINT NOT NULL,
        evidence_hash   TEXT NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ({_STATE_LIST})),
        reason          TEXT,
        attestation     TEXT,
        signatures      TEXT,
        tx_hash         TEXT,
        block           BIGINT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,
        received_at     DOUBLE PRECISION NOT NULL,
        updated_at      DOUBLE PRECISION NOT NULL,
        UNIQUE (source, event_id)
    )""",
    "CREATE INDEX IF NOT EXISTS oracle_events_state ON oracle_events (state, next_attempt_at, seq)",
    "CREATE INDEX IF NOT EXISTS oracle_events_citizen ON oracle_events (citizen, activity_id, observed_at)",
    "CREATE INDEX IF NOT EXISTS oracle_events_tx ON oracle_events (tx_hash)",
    """CREATE TABLE IF NOT EXISTS oracle_submissions (
        tx_hash         TEXT PRIMARY KEY,
        nonce           BIGINT NOT NULL,
        raw_tx          BYTEA NOT NULL,
        attestation_ids TEXT NOT NULL,
        state           TEXT NOT NULL,
        block           BIGINT,
        created_at      DOUBLE PRECISION NOT NULL,
        updated_at      DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS oracle_submissions_state ON oracle_submissions (state)",
    # Privacy columns (issue 19), also added to queues created by older releases.
    *(f"ALTER TABLE oracle_events ADD COLUMN IF NOT EXISTS {name} "
      f"{'DOUBLE PRECISION' if sql_type == 'REAL' else sql_type}" for name, sql_type in PRIVACY_COLUMNS),
    "UPDATE oracle_events SET evidence_digest = evidence_hash "
    "WHERE evidence_digest IS NULL AND evidence_salt IS NULL AND erased_at IS NULL",
]


def redact(url: str) -> str:
    """``url`` without its password, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresQueueStore(QueueTransitions):
    """The PostgreSQL implementation of :class:`~co3chain.oracle.store.QueueStore`."""

    def __init__(self, url: str, *, connect_timeout: int = 10) -> None:
        if not url.startswith(("postgresql://", "postgres://")):
            raise StoreError(f"not a PostgreSQL URL: {redact(url)!r}")
        self.url = url
        self.connect_timeout = connect_timeout
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[dict[str, Any]] | None = None
        self._run(self._create_schema)

    # -- connection and transactions ------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        try:
            conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row,
                                   connect_timeout=self.connect_timeout)
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            conn.execute("SET synchronous_commit = on")
        except psycopg.Error as exc:
            raise StoreError(f"cannot open oracle queue {redact(self.url)}: {exc}") from exc
        return conn

    def _connection(self) -> psycopg.Connection[dict[str, Any]]:
        """The live connection, re-opened when the previous one was closed or broken."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            self._conn = self._connect()
        return self._conn

    def _run(self, work: Callable[[Cursor], T]) -> T:
        """Run ``work`` in one READ COMMITTED transaction: committed on return, rolled back on error.

        ``work`` may run twice: when the connection dies before COMMIT was sent, nothing of it was committed,
        so it is replayed once on a fresh connection.  Database errors surface as :class:`StoreError`.
        """
        with self._lock:
            if self._conn is not None and self._conn.closed and not self._conn.broken:
                raise StoreError("the oracle queue is closed")
            for attempt in (1, 2):
                conn = self._connection()
                body_done = False
                try:
                    with conn.transaction(), conn.cursor() as cur:
                        result = work(cur)
                        body_done = True
                    return result
                except psycopg.OperationalError as exc:
                    if not body_done and attempt == 1 and (conn.closed or conn.broken):
                        continue  # connection lost before COMMIT: nothing committed, replay once
                    when = "while committing (outcome unknown)" if body_done else "during the operation"
                    raise StoreError(f"oracle queue {redact(self.url)}: connection failed {when}: {exc}") from exc
                except psycopg.Error as exc:
                    raise StoreError(f"oracle queue {redact(self.url)}: {exc}") from exc
            raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _create_schema(cur: Cursor) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        for statement in _SCHEMA:
            cur.execute(statement)

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        def work(cur: Cursor) -> list[dict[str, Any]]:
            cur.execute(sql, tuple(params))
            return cur.fetchall()
        return self._run(work)

    # -- events ---------------------------------------------------------------------------------------------

    def insert_received(self, event: OracleEvent, body: bytes, auth_timestamp: int, auth_signature: str,
                        now: float) -> tuple[QueueItem, bool]:
        """Insert an event in state ``received``; return (row, created).  Idempotent by (source, event id)."""
        aid = "0x" + event.attestation_id.hex()

        def work(cur: Cursor) -> tuple[QueueItem, bool]:
            cur.execute(
                """INSERT INTO oracle_events (attestation_id, source, event_id, source_kind, body, auth_timestamp,
                       auth_signature, citizen, area_id, activity_id, kind, observed_at, evidence_hash, state,
                       received_at, updated_at, evidence_digest, evidence_salt)
                   VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s, 'received', %s, %s, %s, %s)
                   ON CONFLICT DO NOTHING""",
                (aid, event.source, event.event_id, event.source_kind, body, auth_timestamp, auth_signature,
                 event.citizen, str(event.area_id), str(event.activity_id), int(event.kind), event.observed_at,
                 *_evidence_columns(event), now, now, *_salt_columns(event)))
            created = cur.rowcount == 1
            cur.execute("SELECT * FROM oracle_events WHERE attestation_id = %s", (aid,))
            row = cur.fetchone()
            if row is None:  # conflict on (source, event_id) under a different attestation id: corrupt queue
                raise StoreError(f"event {event.event_id!r} of {event.source!r} is queued under another id")
            return _item(row), created

        return self._run(work)

    def get(self, attestation_id: str) -> QueueItem | None:
        rows = self._rows("SELECT * FROM oracle_events WHERE attestation_id = %s", (attestation_id.lower(),))
        return _item(rows[0]) if rows else None

    def items_in_state(self, state: str, limit: int, now: float | None = None) -> list[QueueItem]:
        """Oldest items in ``state`` that are due (``next_attempt_at <= now`` when ``now`` is given)."""
        _check_state(state)
        if now is None:
            rows = self._rows("SELECT * FROM oracle_events WHERE state = %s ORDER BY seq LIMIT %s", (state, limit))
        else:
            rows = self._rows("SELECT * FROM oracle_events WHERE state = %s AND next_attempt_at <= %s "
                              "ORDER BY seq LIMIT %s", (state, now, limit))
        return [_item(r) for r in rows]

    def _transition(self, attestation_id: str, allowed_from: tuple[str, ...], sets: dict[str, Any],
                    now: float) -> None:
        """Conditional UPDATE: only a row currently in ``allowed_from`` moves (see the module docstring)."""
        cols = ", ".join(f"{k} = %s" for k in sets)

        def work(cur: Cursor) -> None:
            cur.execute(f"UPDATE oracle_events SET {cols}, updated_at = %s "
                        "WHERE attestation_id = %s AND state = ANY(%s)",
                        (*sets.values(), now, attestation_id, list(allowed_from)))
            if cur.rowcount != 1:
                cur.execute("SELECT state FROM oracle_events WHERE attestation_id = %s", (attestation_id,))
                row = cur.fetchone()
                have = row["state"] if row else "missing"
                raise StoreError(f"{attestation_id}: cannot move from {have} (expected {allowed_from})")

        self._run(work)

    def defer(self, attestation_id: str, reason: str, retry_at: float, now: float) -> None:
        """Keep the state but note why it could not progress, and retry no earlier than ``retry_at``."""
        def work(cur: Cursor) -> None:
            cur.execute("UPDATE oracle_events SET reason = %s, attempts = attempts + 1, next_attempt_at = %s, "
                        "updated_at = %s WHERE attestation_id = %s", (reason, retry_at, now, attestation_id))
        self._run(work)

    def mark_confirmed(self, attestation_id: str, block: int | None, now: float) -> None:
        """Record an attestation found already used on chain (e.g. submitted before a crash)."""
        self._transition(attestation_id, ("validated", "signed", "submitted"),
                         {"state": "confirmed", "reason": None, "block": block}, now)

    # -- submissions ----------------------------------------------------------------------------------------

    def record_submission(self, tx_hash: str, nonce: int, raw_tx: bytes, attestation_ids: list[str],
                          now: float) -> None:
        """Atomically store a signed transaction and move its attestations to ``submitted`` (pre-broadcast).

        Two processes recording submissions of the same attestation: the loser's conditional UPDATE matches
        fewer rows than asked for, so it raises and its ``oracle_submissions`` row is rolled back too.
        """
        def work(cur: Cursor) -> None:
            cur.execute("INSERT INTO oracle_submissions (tx_hash, nonce, raw_tx, attestation_ids, state, "
                        "created_at, updated_at) VALUES (%s,%s,%s,%s, 'pending', %s, %s)",
                        (tx_hash, nonce, raw_tx, json.dumps(attestation_ids), now, now))
            cur.execute("UPDATE oracle_events SET state = 'submitted', tx_hash = %s, attempts = attempts + 1, "
                        "updated_at = %s WHERE attestation_id = ANY(%s) AND state = 'signed'",
                        (tx_hash, now, list(attestation_ids)))
            if cur.rowcount != len(attestation_ids):
                raise StoreError("submission includes attestations that are not in state 'signed'")
        self._run(work)

    def pending_submissions(self) -> list[Submission]:
        rows = self._rows("SELECT * FROM oracle_submissions WHERE state = 'pending' ORDER BY nonce")
        return [Submission(r["tx_hash"], r["nonce"], bytes(r["raw_tx"]), json.loads(r["attestation_ids"]),
                           r["state"], r["block"]) for r in rows]

    def confirm_submission(self, tx_hash: str, block: int, confirmed_ids: Iterable[str], now: float,
                           retry_at: float | None = None) -> None:
        """The tx was mined: its attestations that are now used on chain become ``confirmed``; the others
        (neither confirmed nor rejected by the caller) return to ``signed``, due again at ``retry_at``."""
        ids = list(confirmed_ids)

        def work(cur: Cursor) -> None:
            cur.execute("UPDATE oracle_submissions SET state = 'mined', block = %s, updated_at = %s "
                        "WHERE tx_hash = %s", (block, now, tx_hash))
            cur.execute("UPDATE oracle_events SET state = 'confirmed', block = %s, reason = NULL, updated_at = %s "
                        "WHERE attestation_id = ANY(%s) AND state = 'submitted'", (block, now, ids))
            # Anything of this tx that is not used on chain goes back to 'signed' for another try.
            cur.execute("UPDATE oracle_events SET state = 'signed', tx_hash = NULL, reason = %s, "
                        "next_attempt_at = %s, updated_at = %s WHERE tx_hash = %s AND state = 'submitted'",
                        (f"not used after tx {tx_hash} mined", retry_at or now, now, tx_hash))
        self._run(work)

    def fail_submission(self, tx_hash: str, state: str, retry_at: float, now: float) -> None:
        """The tx reverted or was dropped (``state`` 'reverted'/'dropped'): its events return to ``signed``."""
        def work(cur: Cursor) -> None:
            cur.execute("UPDATE oracle_submissions SET state = %s, updated_at = %s WHERE tx_hash = %s",
                        (state, now, tx_hash))
            cur.execute("UPDATE oracle_events SET state = 'signed', tx_hash = NULL, reason = %s, "
                        "next_attempt_at = %s, updated_at = %s WHERE tx_hash = %s AND state = 'submitted'",
                        (f"tx {tx_hash} {state}", retry_at, now, tx_hash))
        self._run(work)

    # -- queries --------------------------------------------------------------------------------------------

    def count_accepted(self, citizen: str, activity_id: int, since: int, until: int,
                       exclude: str | None = None) -> int:
        """Accepted events of ``citizen`` for ``activity_id`` observed in ``[since, until)``."""
        rows = self._rows(
            "SELECT COUNT(*) AS n FROM oracle_events WHERE citizen = %s AND activity_id = %s "
            "AND observed_at >= %s AND observed_at < %s AND state = ANY(%s) AND attestation_id != %s",
            (citizen, str(activity_id), since, until, list(ACCEPTED_STATES), exclude or ""))
        return int(rows[0]["n"])

    def find_accepted_duplicate(self, citizen: str, activity_id: int, evidence_digest: str, observed_at: int,
                                window: int, exclude: str) -> QueueItem | None:
        """An accepted event of the same citizen and activity with the same (unsalted) evidence digest or
        within ``window`` s."""
        rows = self._rows(
            "SELECT * FROM oracle_events WHERE citizen = %s AND activity_id = %s AND state = ANY(%s) "
            "AND attestation_id != %s AND (evidence_digest = %s OR (observed_at > %s AND observed_at < %s)) "
            "ORDER BY seq LIMIT 1",
            (citizen, str(activity_id), list(ACCEPTED_STATES), exclude, evidence_digest, observed_at - window,
             observed_at + window))
        return _item(rows[0]) if rows else None

    def counts_by_state(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for row in self._rows("SELECT state, COUNT(*) AS n FROM oracle_events GROUP BY state"):
            counts[row["state"]] = int(row["n"])
        return counts

    def last_confirmed_block(self) -> int | None:
        rows = self._rows("SELECT MAX(block) AS b FROM oracle_events WHERE state = 'confirmed'")
        return None if rows[0]["b"] is None else int(rows[0]["b"])

    def list_items(self, state: str | None, limit: int) -> list[QueueItem]:
        """Newest first; all states when ``state`` is None."""
        if state is None:
            rows = self._rows("SELECT * FROM oracle_events ORDER BY seq DESC LIMIT %s", (limit,))
        else:
            _check_state(state)
            rows = self._rows("SELECT * FROM oracle_events WHERE state = %s ORDER BY seq DESC LIMIT %s",
                              (state, limit))
        return [_item(r) for r in rows]

    # -- privacy: retention, export, erasure (same rules as the SQLite store) -------------------------------

    def redact_final(self, cutoff: float, now: float, limit: int = 1000) -> list[str]:
        """Retention (see :meth:`SqliteQueueStore.redact_final`, expired ``signed`` rows included)."""
        def work(cur: Cursor) -> list[str]:
            cur.execute("SELECT attestation_id, reason FROM oracle_events WHERE redacted_at IS NULL "
                        "AND erased_at IS NULL AND ((state = ANY(%s) AND updated_at < %s) OR "
                        "(state IN ('validated', 'signed') AND attestation IS NOT NULL "
                        "AND (attestation::json->>'expiresAt')::double precision < %s)) "
                        "ORDER BY seq LIMIT %s FOR UPDATE",
                        (list(FINAL_STATES), cutoff, cutoff, limit))
            rows = cur.fetchall()
            for row in rows:
                cur.execute("UPDATE oracle_events SET body = %s, auth_signature = '', reason = %s, redacted_at = %s "
                            "WHERE attestation_id = %s",
                            (b"", scrub_reason(row["reason"]), now, row["attestation_id"]))
            return [r["attestation_id"] for r in rows]
        return self._run(work)

    def items_of_citizen(self, citizen: str) -> list[QueueItem]:
        rows = self._rows("SELECT * FROM oracle_events WHERE citizen = %s ORDER BY seq", (_stored_address(citizen),))
        return [_item(r) for r in rows]

    def submissions_of(self, attestation_ids: Iterable[str]) -> list[Submission]:
        rows = self._rows("SELECT * FROM oracle_submissions ORDER BY nonce")
        subs = [Submission(r["tx_hash"], r["nonce"], bytes(r["raw_tx"]), json.loads(r["attestation_ids"]),
                           r["state"], r["block"]) for r in rows]
        return carrying(subs, attestation_ids)

    def erase_citizen(self, citizen: str, now: float) -> ErasureResult:
        """Erasure (see :meth:`SqliteQueueStore.erase_citizen`)."""
        def work(cur: Cursor) -> ErasureResult:
            cur.execute("SELECT attestation_id, state, reason FROM oracle_events WHERE citizen = %s "
                        "ORDER BY seq FOR UPDATE", (_stored_address(citizen),))
            steps, result = plan_erasure(cur.fetchall())
            for step in steps:
                cur.execute("UPDATE oracle_events SET state = %s, body = %s, auth_signature = '', "
                            "evidence_salt = NULL, evidence_digest = NULL, geo_cell = NULL, reason = %s, "
                            "erased_at = %s, updated_at = %s WHERE attestation_id = %s",
                            (step.state, b"", step.reason, now, now, step.attestation_id))
            return result
        return self._run(work)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()


def _item(row: dict[str, Any]) -> QueueItem:
    """A :class:`QueueItem` from a dict row (``QueueItem.from_row`` only needs a mapping)."""
    return QueueItem.from_row(row)
