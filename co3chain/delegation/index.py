"""The API indexer's delegation tables: pointer history (with block timestamps), counted and moved weight,
and the queue of votes after which delegations are counted.

Why pointer history with timestamps: the relayer must find, for a vote on a proposal, the citizens whose chain
at the proposal's snapshot reaches the voter — the contract only follows chains upwards. The table gives the
reverse (who delegates to whom at a timepoint) without scanning the chain.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from co3chain.delegation.rule import MAX_DEPTH

SCHEMA = """
CREATE TABLE IF NOT EXISTS delegation_changes (
  block INTEGER NOT NULL, log_index INTEGER NOT NULL, timestamp INTEGER NOT NULL, delegator TEXT NOT NULL,
  scope TEXT NOT NULL, from_delegate TEXT NOT NULL, to_delegate TEXT NOT NULL, tx_hash TEXT NOT NULL,
  PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS delegation_changes_delegator ON delegation_changes(delegator, scope);
CREATE TABLE IF NOT EXISTS delegation_weights (
  block INTEGER NOT NULL, log_index INTEGER NOT NULL, proposal_id TEXT NOT NULL, kind TEXT NOT NULL,
  citizen TEXT NOT NULL, representative TEXT NOT NULL, weight TEXT NOT NULL, regained TEXT, hops INTEGER,
  tx_hash TEXT NOT NULL, PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS delegation_weights_proposal ON delegation_weights(proposal_id, block, log_index);
CREATE TABLE IF NOT EXISTS delegation_todo (proposal_id TEXT NOT NULL, voter TEXT NOT NULL,
  PRIMARY KEY (proposal_id, voter));
"""

#: Events of ``LiquidDelegation`` the indexer stores.
EVENTS = ("DelegateChanged", "DelegatedWeightCounted", "DelegatedWeightMoved")

ZERO = "0x" + "00" * 20


def apply_event(db: sqlite3.Connection, name: str, a: dict[str, Any], block: int, log_index: int, tx: str,
                timestamp_of: Callable[[int], int]) -> None:
    """Store one decoded ``LiquidDelegation`` event (idempotent, like the other indexer rows)."""
    if name == "DelegateChanged":
        db.execute("INSERT OR REPLACE INTO delegation_changes VALUES (?,?,?,?,?,?,?,?)",
                   (block, log_index, timestamp_of(block), a["delegator"], str(a["scope"]), a["fromDelegate"],
                    a["toDelegate"], tx))
    elif name == "DelegatedWeightCounted":
        db.execute("INSERT OR REPLACE INTO delegation_weights VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (block, log_index, str(a["proposalId"]), "counted", a["delegator"], a["representative"],
                    str(a["weight"]), None, int(a["hops"]), tx))
    elif name == "DelegatedWeightMoved":
        db.execute("INSERT OR REPLACE INTO delegation_weights VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (block, log_index, str(a["proposalId"]), "moved", a["voter"], a["from"], str(a["moved"]),
                    str(a["regained"]), None, tx))


def queue_vote(db: sqlite3.Connection, proposal_id: str, voter: str) -> None:
    """Remember to count the delegations that reach ``voter`` on the proposal (done by the relayer)."""
    db.execute("INSERT OR IGNORE INTO delegation_todo(proposal_id, voter) VALUES (?, ?)", (proposal_id, voter))


def pointers_at(rows: Iterable[Any], timestamp: int) -> dict[tuple[str, int], str]:
    """(delegator, scope) → delegate in force at ``timestamp`` from ``delegation_changes`` rows in log order."""
    out: dict[tuple[str, int], str] = {}
    for r in rows:
        if int(r["timestamp"]) > timestamp:
            continue
        key = (str(r["delegator"]), int(r["scope"]))
        if r["to_delegate"] == ZERO:
            out.pop(key, None)
        else:
            out[key] = str(r["to_delegate"])
    return out


def effective_next(pointers: dict[tuple[str, int], str], area_id: int) -> Callable[[str], str | None]:
    """The chain step of a proposal in ``area_id``: the area's delegation if set, else the global one."""

    def next_of(citizen: str) -> str | None:
        if area_id and (citizen, area_id) in pointers:
            return pointers[(citizen, area_id)]
        return pointers.get((citizen, 0))

    return next_of


def delegators_below(pointers: dict[tuple[str, int], str], area_id: int, voter: str,
                     voted: set[str], max_depth: int = MAX_DEPTH) -> list[str]:
    """Citizens whose chain for ``area_id`` reaches ``voter`` within ``max_depth`` hops through non-voters."""
    step = effective_next(pointers, area_id)
    citizens = {c for c, _s in pointers}
    children: dict[str, list[str]] = defaultdict(list)
    for c in citizens:
        nxt = step(c)
        if nxt is not None:
            children[nxt].append(c)
    found: list[str] = []
    frontier, seen = [voter], {voter}
    for _ in range(max_depth):
        nxt_frontier = []
        for node in frontier:
            for child in sorted(children.get(node, ())):
                if child in seen or child in voted:
                    continue
                seen.add(child)
                found.append(child)
                nxt_frontier.append(child)
        frontier = nxt_frontier
    return found


def history_rows(query: Callable[..., list[Any]]) -> list[Any]:
    return query("SELECT * FROM delegation_changes ORDER BY block, log_index")
