"""The API's SQLite database (WAL): the indexed contract events, the off-chain area geometries and the
event feed behind ``/v1/events``.

Why SQLite: lists and filters (proposals of an area, votes of a proposal, attestations of a citizen) would
otherwise mean scanning logs on every request. Each indexed block range is written in one transaction
together with the "last indexed block" marker, so a restart resumes exactly where the last commit ended
and never double-counts. Numbers above 2^63 (ids, token amounts) are stored as decimal text.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from co3chain.api.electorate_index import SCHEMA as ELECTORATE_SCHEMA
from co3chain.delegation.index import SCHEMA as DELEGATION_SCHEMA
from co3chain.initiative.index import SCHEMA as INITIATIVE_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS proposals (
  id TEXT PRIMARY KEY, proposer TEXT NOT NULL, area_id INTEGER NOT NULL, mode INTEGER NOT NULL,
  commit_reveal INTEGER NOT NULL, vote_start INTEGER NOT NULL, vote_end INTEGER NOT NULL,
  reveal_end INTEGER NOT NULL, quorum_numerator INTEGER NOT NULL, description TEXT NOT NULL,
  canceled INTEGER NOT NULL DEFAULT 0, block INTEGER NOT NULL, tx_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS proposals_area ON proposals(area_id, block);
CREATE TABLE IF NOT EXISTS votes (
  block INTEGER NOT NULL, log_index INTEGER NOT NULL, proposal_id TEXT NOT NULL, voter TEXT NOT NULL,
  type TEXT NOT NULL, support INTEGER, weight TEXT, commitment TEXT, tx_hash TEXT NOT NULL,
  PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS votes_proposal ON votes(proposal_id, block, log_index);
CREATE INDEX IF NOT EXISTS votes_voter ON votes(voter);
CREATE TABLE IF NOT EXISTS areas (
  id INTEGER PRIMARY KEY, managing_pa TEXT NOT NULL, geometry_hash TEXT NOT NULL, metadata_uri TEXT NOT NULL,
  creator TEXT NOT NULL, closed_at INTEGER NOT NULL DEFAULT 0, block INTEGER NOT NULL, tx_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS activities (
  id INTEGER PRIMARY KEY, area_id INTEGER NOT NULL, kind INTEGER NOT NULL, token_reward TEXT NOT NULL,
  reputation_reward TEXT NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL,
  max_claims INTEGER NOT NULL, closed_at INTEGER NOT NULL DEFAULT 0, block INTEGER NOT NULL, tx_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS activities_area ON activities(area_id);
CREATE TABLE IF NOT EXISTS attestations (
  id TEXT PRIMARY KEY, subject TEXT NOT NULL, activity_id INTEGER NOT NULL, kind INTEGER NOT NULL,
  evidence_hash TEXT NOT NULL, token_reward TEXT NOT NULL, reputation_reward TEXT NOT NULL,
  block INTEGER NOT NULL, tx_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attestations_subject ON attestations(subject);
CREATE INDEX IF NOT EXISTS attestations_activity ON attestations(activity_id);
CREATE TABLE IF NOT EXISTS citizens (
  address TEXT PRIMARY KEY, identity_hash TEXT NOT NULL, expires_at INTEGER NOT NULL, status TEXT NOT NULL,
  registrar TEXT NOT NULL, block INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS feed (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, block INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS geometries (hash TEXT PRIMARY KEY, geojson TEXT NOT NULL);
"""

LAST_BLOCK = "last_indexed_block"


class ApiStore:
    """Thread-safe access: one connection per thread, WAL so readers never block the indexer."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._memory = self.path == ":memory:"
        self._shared: sqlite3.Connection | None = None
        self._shared_lock = threading.RLock()
        with self._shared_lock:
            self._connect().executescript(SCHEMA + INITIATIVE_SCHEMA + ELECTORATE_SCHEMA + DELEGATION_SCHEMA)  # manages its own transaction

    def _connect(self) -> sqlite3.Connection:
        if self._memory:  # one shared connection: a :memory: database is per connection
            if self._shared is None:
                self._shared = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
                self._shared.row_factory = sqlite3.Row
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on error)."""
        with self._shared_lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        if self._memory:
            with self._shared_lock:
                return list(self._connect().execute(sql, tuple(params)))
        return list(self._connect().execute(sql, tuple(params)))

    # ------------------------------------------------------------------ meta
    def last_block(self) -> int | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (LAST_BLOCK,))
        return int(rows[0]["value"]) if rows else None

    @staticmethod
    def set_last_block(db: sqlite3.Connection, block: int) -> None:
        db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   (LAST_BLOCK, str(block)))

    # ------------------------------------------------------------------ geometries
    def put_geometry(self, geometry_hash: str, geojson: Any) -> None:
        with self.write() as db:
            db.execute("INSERT OR REPLACE INTO geometries(hash, geojson) VALUES (?, ?)",
                       (geometry_hash.lower(), json.dumps(geojson, separators=(",", ":"))))

    def geometry(self, geometry_hash: str) -> Any | None:
        rows = self.query("SELECT geojson FROM geometries WHERE hash = ?", (geometry_hash.lower(),))
        return json.loads(rows[0]["geojson"]) if rows else None

    # ------------------------------------------------------------------ feed
    @staticmethod
    def add_feed(db: sqlite3.Connection, kind: str, block: int, data: dict[str, Any]) -> None:
        db.execute("INSERT INTO feed(type, block, data) VALUES (?, ?, ?)", (kind, block, json.dumps(data)))

    def feed_after(self, seq: int, limit: int = 100) -> list[sqlite3.Row]:
        return self.query("SELECT seq, type, block, data FROM feed WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))

    def feed_head(self) -> int:
        rows = self.query("SELECT COALESCE(MAX(seq), 0) AS s FROM feed")
        return int(rows[0]["s"])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._shared is not None:
            self._shared.close()
            self._shared = None
