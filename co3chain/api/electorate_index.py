"""Indexer part for electorates: PA accounts, citizens' PAs, electoral groups and their members, union
electorates and the electorate of every proposal (issue 11, docs/electorates.md).

Kept apart from :mod:`co3chain.api.indexer` so that the event list, the tables and the way rows are written stay
together; the indexer hands over every event named in :data:`EVENTS`. Writes are idempotent like the rest of
the index (a re-indexed range replaces its own rows).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

#: (contract, events) the electorate index stores.
EVENTS: dict[str, tuple[str, ...]] = {
    "CitizenRegistry": ("AccountPaSet", "CitizenPaSet", "GroupCreated", "GroupMemberAdded", "GroupMemberRemoved",
                        "ElectorateDefined"),
    "CO3Governance": ("ProposalElectorate",),
}
NAMES = frozenset(n for events in EVENTS.values() for n in events)

SCHEMA = """
CREATE TABLE IF NOT EXISTS pa_accounts (account TEXT PRIMARY KEY, pa_id INTEGER NOT NULL, block INTEGER NOT NULL,
    tx_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS citizen_pas (citizen TEXT PRIMARY KEY, pa_id INTEGER NOT NULL, block INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS electoral_groups (id INTEGER PRIMARY KEY, pa_id INTEGER NOT NULL, kind INTEGER NOT NULL,
    metadata_hash TEXT NOT NULL, registrar TEXT NOT NULL, block INTEGER NOT NULL, tx_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS group_members (group_id INTEGER NOT NULL, citizen TEXT NOT NULL, block INTEGER NOT NULL,
    PRIMARY KEY (group_id, citizen));
CREATE INDEX IF NOT EXISTS group_members_citizen ON group_members(citizen);
CREATE TABLE IF NOT EXISTS union_electorates (electorate TEXT PRIMARY KEY, pa_id INTEGER NOT NULL,
    group_ids TEXT NOT NULL, definer TEXT NOT NULL, block INTEGER NOT NULL, tx_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS proposal_electorates (proposal_id TEXT PRIMARY KEY, electorate TEXT NOT NULL,
    block INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS proposal_electorates_electorate ON proposal_electorates(electorate);
"""


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


def apply(db: sqlite3.Connection, name: str, a: dict[str, Any], block: int, tx: str) -> None:
    """Store one decoded electorate event."""
    if name == "AccountPaSet":
        db.execute("INSERT OR REPLACE INTO pa_accounts(account, pa_id, block, tx_hash) VALUES (?,?,?,?)",
                   (a["account"], int(a["paId"]), block, tx))
    elif name == "CitizenPaSet":
        db.execute("INSERT OR REPLACE INTO citizen_pas(citizen, pa_id, block) VALUES (?,?,?)",
                   (a["citizen"], int(a["paId"]), block))
    elif name == "GroupCreated":
        db.execute("INSERT OR REPLACE INTO electoral_groups(id, pa_id, kind, metadata_hash, registrar, block, tx_hash)"
                   " VALUES (?,?,?,?,?,?,?)",
                   (int(a["groupId"]), int(a["paId"]), int(a["kind"]), _hex(a["metadataHash"]), a["registrar"],
                    block, tx))
    elif name == "GroupMemberAdded":
        db.execute("INSERT OR REPLACE INTO group_members(group_id, citizen, block) VALUES (?,?,?)",
                   (int(a["groupId"]), a["citizen"], block))
    elif name == "GroupMemberRemoved":
        db.execute("DELETE FROM group_members WHERE group_id = ? AND citizen = ?", (int(a["groupId"]), a["citizen"]))
    elif name == "ElectorateDefined":
        db.execute("INSERT OR REPLACE INTO union_electorates(electorate, pa_id, group_ids, definer, block, tx_hash)"
                   " VALUES (?,?,?,?,?,?)",
                   (str(a["electorate"]), int(a["paId"]), json.dumps([int(g) for g in a["groupIds"]]), a["definer"],
                    block, tx))
    elif name == "ProposalElectorate":
        db.execute("INSERT OR REPLACE INTO proposal_electorates(proposal_id, electorate, block) VALUES (?,?,?)",
                   (str(a["proposalId"]), str(a["electorate"]), block))
