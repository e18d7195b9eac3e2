"""The API indexer's tables for CitizenInitiatives events.

Why here and not in :mod:`co3chain.api.indexer`: the indexer only routes this contract's events to
:func:`apply`; the schema and the rows are this package's business. Supports are stored one row per
``InitiativeSupported`` event, so ``/v1/initiatives/{id}/supports`` lists exactly what the audit recounts.
"""

from __future__ import annotations

import sqlite3
from typing import Any

CONTRACT = "CitizenInitiatives"

#: Events the indexer stores.
EVENTS: tuple[str, ...] = ("InitiativeDrafted", "InitiativeVersioned", "InitiativeOpened", "InitiativeSupported",
                           "InitiativeQualified", "InitiativeProposed", "InitiativeProposalFailed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS initiatives (
  id INTEGER PRIMARY KEY, author TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0, title TEXT NOT NULL DEFAULT '',
  electorate TEXT NOT NULL DEFAULT '0', area_id TEXT NOT NULL DEFAULT '0', status TEXT NOT NULL,
  opened_at INTEGER, deadline INTEGER, required INTEGER, support_count INTEGER NOT NULL DEFAULT 0,
  proposal_id TEXT, block INTEGER NOT NULL, tx_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS initiatives_author ON initiatives(author);
CREATE TABLE IF NOT EXISTS initiative_versions (
  initiative_id INTEGER NOT NULL, version INTEGER NOT NULL, version_hash TEXT NOT NULL, text_hash TEXT NOT NULL,
  area_id TEXT NOT NULL, electorate TEXT NOT NULL, mode INTEGER NOT NULL, voting_period INTEGER NOT NULL,
  actions_hash TEXT NOT NULL, title TEXT NOT NULL, block INTEGER NOT NULL, tx_hash TEXT NOT NULL,
  PRIMARY KEY (initiative_id, version));
CREATE TABLE IF NOT EXISTS initiative_supports (
  block INTEGER NOT NULL, log_index INTEGER NOT NULL, initiative_id INTEGER NOT NULL, supporter TEXT NOT NULL,
  support_count INTEGER NOT NULL, by_signature INTEGER NOT NULL, tx_hash TEXT NOT NULL,
  PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS initiative_supports_id ON initiative_supports(initiative_id, block, log_index);
"""


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


def apply(db: sqlite3.Connection, name: str, a: dict[str, Any], block: int, log_index: int, tx: str) -> dict | None:
    """Store one decoded event (idempotent); returns the feed entry to publish, if any."""
    iid = int(a["initiativeId"])
    if name == "InitiativeDrafted":
        db.execute("INSERT OR REPLACE INTO initiatives(id, author, status, block, tx_hash) VALUES (?,?,?,?,?)",
                   (iid, a["author"], "Draft", block, tx))
        return {"initiativeId": iid, "event": "drafted", "author": a["author"], "txHash": tx}
    if name == "InitiativeVersioned":
        db.execute("INSERT OR REPLACE INTO initiative_versions(initiative_id, version, version_hash, text_hash,"
                   " area_id, electorate, mode, voting_period, actions_hash, title, block, tx_hash)"
                   " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   (iid, int(a["version"]), _hex(a["versionHash"]), _hex(a["textHash"]), str(a["areaId"]),
                    str(a["electorate"]), int(a["mode"]), int(a["votingPeriod"]), _hex(a["actionsHash"]), a["title"],
                    block, tx))
        db.execute("UPDATE initiatives SET version = ?, title = ?, electorate = ?, area_id = ? WHERE id = ?",
                   (int(a["version"]), a["title"], str(a["electorate"]), str(a["areaId"]), iid))
        return {"initiativeId": iid, "event": "versioned", "version": int(a["version"]),
                "versionHash": _hex(a["versionHash"]), "txHash": tx}
    if name == "InitiativeOpened":
        db.execute("UPDATE initiatives SET status = 'Collecting', opened_at = ?, deadline = ?, required = ?"
                   " WHERE id = ?", (int(a["snapshot"]) + 1, int(a["deadline"]), int(a["required"]), iid))
        return {"initiativeId": iid, "event": "opened", "deadline": int(a["deadline"]), "required": int(a["required"]),
                "txHash": tx}
    if name == "InitiativeSupported":
        db.execute("INSERT OR REPLACE INTO initiative_supports(block, log_index, initiative_id, supporter,"
                   " support_count, by_signature, tx_hash) VALUES (?,?,?,?,?,?,?)",
                   (block, log_index, iid, a["supporter"], int(a["supportCount"]), int(bool(a["bySignature"])), tx))
        db.execute("UPDATE initiatives SET support_count = MAX(support_count, ?) WHERE id = ?",
                   (int(a["supportCount"]), iid))
        return {"initiativeId": iid, "event": "supported", "supporter": a["supporter"],
                "supportCount": int(a["supportCount"]), "txHash": tx}
    if name == "InitiativeQualified":
        db.execute("UPDATE initiatives SET status = 'Qualified' WHERE id = ?", (iid,))
        return {"initiativeId": iid, "event": "qualified", "txHash": tx}
    if name == "InitiativeProposed":
        db.execute("UPDATE initiatives SET status = 'Proposed', proposal_id = ? WHERE id = ?",
                   (str(a["proposalId"]), iid))
        return {"initiativeId": iid, "event": "proposed", "proposalId": str(a["proposalId"]), "txHash": tx}
    if name == "InitiativeProposalFailed":
        db.execute("UPDATE initiatives SET status = 'Qualified' WHERE id = ?", (iid,))
        return {"initiativeId": iid, "event": "proposal_failed", "reason": _hex(a["reason"]), "txHash": tx}
    return None


def supports(store: Any, initiative_id: int, limit: int, offset: int) -> tuple[list[Any], int]:
    """Indexed supports of an initiative, in chain order, and their total."""
    rows = store.query("SELECT * FROM initiative_supports WHERE initiative_id = ? ORDER BY block, log_index"
                       " LIMIT ? OFFSET ?", (initiative_id, limit, offset))
    total = store.query("SELECT COUNT(*) AS n FROM initiative_supports WHERE initiative_id = ?", (initiative_id,))
    return rows, int(total[0]["n"])
