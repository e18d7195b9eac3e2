"""Indexer: contract events → SQLite, in block ranges, resuming after restarts, patient with the node.

Why poll ``eth_getLogs`` by range instead of subscribing: a range query is idempotent and restartable (the
"last indexed block" marker commits with the rows), works over plain HTTP on every node we target, and a
node that is briefly unreachable only delays the next range. The chain is final (QBFT), so there are no
reorgs to undo.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3._utils.events import get_event_data

from co3chain.api import electorate_index, recoveries
from co3chain.api.budget_index import BudgetIndex
from co3chain.api.chain import ChainContext
from co3chain.api.config import IndexerSettings
from co3chain.api.spends import SpendIndex
from co3chain.api.store import ApiStore
from co3chain.delegation import index as delegation_index
from co3chain.errors import Co3Error
from co3chain.initiative import index as initiative_index

log = logging.getLogger("co3chain.api.indexer")

#: (contract, event) pairs the indexer stores.
INDEXED: dict[str, tuple[str, ...]] = {
    "CO3Governance": ("ProposalCreated", "VoteCast", "VoteCommitted", "VoteRevealed", "ProposalCanceled",
                      *electorate_index.EVENTS["CO3Governance"]),
    "CommoningAreas": ("AreaCreated", "AreaUpdated", "AreaManagerChanged", "AreaClosed", "ActivityCreated",
                       "ActivityUpdated", "ActivityClosed"),
    "CitizenRegistry": ("CitizenRegistered", "CitizenRenewed", "CitizenRevoked",
                        *electorate_index.EVENTS["CitizenRegistry"]),
    "AttestationHub": ("AttestationAccepted",),
    initiative_index.CONTRACT: initiative_index.EVENTS,
    "LiquidDelegation": delegation_index.EVENTS,
}
for _contract, _events in recoveries.EVENTS.items():  # lost-key recoveries (co3chain/api/recoveries.py)
    INDEXED[_contract] = INDEXED.get(_contract, ()) + _events


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


@dataclass
class IndexerStatus:
    """What ``/v1/health`` reports about the indexer and the node as the indexer last saw it."""

    node_reachable: bool = True
    last_error: str | None = None
    last_success: float | None = None
    chain_head: int | None = None
    failures: int = 0


class Indexer:
    """Pulls the suite's events from the node into :class:`ApiStore`."""

    def __init__(self, chain: ChainContext, store: ApiStore, settings: IndexerSettings | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.chain = chain
        self.store = store
        self.settings = settings or IndexerSettings()
        self.clock = clock
        self.status = IndexerStatus()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._chain_checked = False
        self._events: dict[bytes, tuple[str, dict[str, Any]]] = {}
        self.spends = SpendIndex(chain, store, self.settings.batch_blocks)
        self.budget = BudgetIndex(chain, store, self.settings.batch_blocks)
        with store.write() as db:
            recoveries.ensure_schema(db)
        self._addresses: dict[str, str] = {}
        #: Called after each successful pass (e.g. the delegation counter, see co3chain/delegation/counter.py).
        self.after_sync: list[Callable[[], Any]] = []
        self._timestamps: dict[int, int] = {}
        for name, events in INDEXED.items():
            contract = chain.contracts.get(name)
            if contract is None:
                continue
            self._addresses[contract.address.lower()] = name
            for item in contract.abi:
                if item.get("type") == "event" and item.get("name") in events:
                    self._events[event_abi_to_log_topic(item)] = (name, item)

    def start_block(self) -> int:
        """First block to index on an empty database: the configured one, else the suite's deployment."""
        if self.settings.from_block is not None:
            return self.settings.from_block
        blocks = [int(e.get("blockNumber", 0)) for e in self.chain.manifest.get("contracts", {}).values()]
        return min(blocks) if blocks else 0

    def next_block(self) -> int:
        last = self.store.last_block()
        return self.start_block() if last is None else last + 1

    # ------------------------------------------------------------------ one pass
    def sync_once(self) -> int:
        """Index from the last indexed block up to the head; returns the number of events stored."""
        if not self._chain_checked:
            node_chain = int(self.chain.w3.eth.chain_id)
            if node_chain != self.chain.chain_id:
                raise Co3Error(f"the node is chain {node_chain}, the manifest is for chain {self.chain.chain_id}")
            self._chain_checked = True
        head = int(self.chain.w3.eth.block_number)
        self.status.chain_head = head
        stored = 0
        start = self.next_block()
        while start <= head and not self._stop.is_set():
            end = min(head, start + self.settings.batch_blocks - 1)
            logs = self.chain.w3.eth.get_logs({
                "fromBlock": start, "toBlock": end,
                "address": [to_checksum_address(a) for a in self._addresses],
            })
            stored += self._store_range(end, logs)
            start = end + 1
        if not self._stop.is_set():
            stored += self.spends.sync(head)
            stored += self.budget.sync(head)
        for hook in self.after_sync:
            hook()
        self.status.node_reachable = True
        self.status.last_error = None
        self.status.last_success = self.clock()
        self.status.failures = 0
        return stored

    def _store_range(self, end: int, logs: list[Any]) -> int:
        ordered = sorted(logs, key=lambda lg: (int(lg["blockNumber"]), int(lg["logIndex"])))
        count = 0
        with self.store.write() as db:
            for entry in ordered:
                topics = entry.get("topics") or []
                if not topics:
                    continue
                known = self._events.get(bytes(topics[0]))
                if known is None or entry["address"].lower() not in self._addresses:
                    continue
                contract, abi = known
                event = get_event_data(self.chain.w3.codec, abi, entry)
                self._apply(db, abi["name"], dict(event["args"]), int(entry["blockNumber"]), int(entry["logIndex"]),
                            _hex(entry["transactionHash"]))
                count += 1
            ApiStore.set_last_block(db, end)
        return count

    def _apply(self, db: Any, name: str, a: dict[str, Any], block: int, log_index: int, tx: str) -> None:
        """Store one decoded event (idempotent: a re-indexed range replaces its own rows)."""
        feed = ApiStore.add_feed
        if name in initiative_index.EVENTS:
            entry = initiative_index.apply(db, name, a, block, log_index, tx)
            if entry is not None:
                feed(db, "initiative", block, entry)
        elif name in electorate_index.NAMES:
            electorate_index.apply(db, name, a, block, tx)
        if name in recoveries.HANDLED:
            recoveries.apply_event(db, name, a, block, log_index, tx)
        elif name == "ProposalCreated":
            pid = str(a["proposalId"])
            db.execute(
                "INSERT OR REPLACE INTO proposals(id, proposer, area_id, mode, commit_reveal, vote_start, vote_end,"
                " reveal_end, quorum_numerator, description, canceled, block, tx_hash)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,0,?,?)",
                (pid, a["proposer"], int(a["areaId"]), int(a["mode"]), int(bool(a["commitReveal"])),
                 int(a["voteStart"]), int(a["voteEnd"]), int(a["revealEnd"]), int(a["quorumNumerator"]),
                 a["description"], block, tx))
            feed(db, "proposal", block, {"proposalId": pid, "proposer": a["proposer"], "areaId": int(a["areaId"]),
                                         "description": a["description"], "txHash": tx})
        elif name == "ProposalCanceled":
            db.execute("UPDATE proposals SET canceled = 1 WHERE id = ?", (str(a["proposalId"]),))
        elif name in ("VoteCast", "VoteRevealed", "VoteCommitted"):
            kind = {"VoteCast": "cast", "VoteRevealed": "revealed", "VoteCommitted": "committed"}[name]
            support = int(a["support"]) if "support" in a else None
            weight = str(a["weight"]) if "weight" in a else None
            commitment = _hex(a["commitment"]) if "commitment" in a else None
            pid = str(a["proposalId"])
            db.execute("INSERT OR REPLACE INTO votes(block, log_index, proposal_id, voter, type, support, weight,"
                       " commitment, tx_hash) VALUES (?,?,?,?,?,?,?,?,?)",
                       (block, log_index, pid, a["voter"], kind, support, weight, commitment, tx))
            data = {"proposalId": pid, "voter": a["voter"], "type": kind, "txHash": tx}
            if kind != "committed":
                data.update(support=support, weight=weight)
            feed(db, "vote", block, data)
            if kind == "cast" and "LiquidDelegation" in self.chain.contracts:
                row = db.execute("SELECT mode, commit_reveal FROM proposals WHERE id = ?", (pid,)).fetchone()
                if row is not None and row[0] != 1 and not row[1]:  # delegable: not token-weighted, open vote
                    delegation_index.queue_vote(db, pid, a["voter"])
        elif name in delegation_index.EVENTS:
            delegation_index.apply_event(db, name, a, block, log_index, tx, self._block_timestamp)
        elif name == "AreaCreated":
            db.execute("INSERT OR REPLACE INTO areas(id, managing_pa, geometry_hash, metadata_uri, creator, closed_at,"
                       " block, tx_hash) VALUES (?,?,?,?,?,0,?,?)",
                       (int(a["areaId"]), a["managingPA"], _hex(a["geometryHash"]), a["metadataURI"], a["creator"],
                        block, tx))
            feed(db, "area", block, {"areaId": int(a["areaId"]), "managingPA": a["managingPA"], "txHash": tx})
        elif name == "AreaUpdated":
            db.execute("UPDATE areas SET geometry_hash = ?, metadata_uri = ? WHERE id = ?",
                       (_hex(a["geometryHash"]), a["metadataURI"], int(a["areaId"])))
        elif name == "AreaManagerChanged":
            db.execute("UPDATE areas SET managing_pa = ? WHERE id = ?", (a["newManager"], int(a["areaId"])))
        elif name == "AreaClosed":
            db.execute("UPDATE areas SET closed_at = ? WHERE id = ?", (int(a["closedAt"]), int(a["areaId"])))
        elif name == "ActivityCreated":
            db.execute("INSERT OR REPLACE INTO activities(id, area_id, kind, token_reward, reputation_reward,"
                       " starts_at, ends_at, max_claims, closed_at, block, tx_hash) VALUES (?,?,?,?,?,?,?,?,0,?,?)",
                       (int(a["activityId"]), int(a["areaId"]), int(a["kind"]), str(a["tokenReward"]),
                        str(a["reputationReward"]), int(a["startsAt"]), int(a["endsAt"]),
                        int(a["maxClaimsPerCitizen"]), block, tx))
        elif name == "ActivityUpdated":
            db.execute("UPDATE activities SET token_reward = ?, reputation_reward = ?, starts_at = ?, ends_at = ?,"
                       " max_claims = ? WHERE id = ?",
                       (str(a["tokenReward"]), str(a["reputationReward"]), int(a["startsAt"]), int(a["endsAt"]),
                        int(a["maxClaimsPerCitizen"]), int(a["activityId"])))
        elif name == "ActivityClosed":
            db.execute("UPDATE activities SET closed_at = ? WHERE id = ?", (int(a["closedAt"]), int(a["activityId"])))
        elif name == "CitizenRegistered":
            db.execute("INSERT OR REPLACE INTO citizens(address, identity_hash, expires_at, status, registrar, block)"
                       " VALUES (?,?,?,?,?,?)",
                       (a["citizen"], _hex(a["identityHash"]), int(a["expiresAt"]), "registered", a["registrar"], block))
        elif name == "CitizenRenewed":
            db.execute("UPDATE citizens SET expires_at = ? WHERE address = ?", (int(a["expiresAt"]), a["citizen"]))
        elif name == "CitizenRevoked":
            db.execute("UPDATE citizens SET status = 'revoked' WHERE address = ?", (a["citizen"],))
        elif name == "AttestationAccepted":
            aid = _hex(a["id"])
            db.execute("INSERT OR REPLACE INTO attestations(id, subject, activity_id, kind, evidence_hash, token_reward,"
                       " reputation_reward, block, tx_hash) VALUES (?,?,?,?,?,?,?,?,?)",
                       (aid, a["subject"], int(a["activityId"]), int(a["kind"]), _hex(a["evidenceHash"]),
                        str(a["tokenReward"]), str(a["reputationReward"]), block, tx))
            feed(db, "reward", block, {"attestationId": aid, "subject": a["subject"],
                                       "activityId": int(a["activityId"]), "tokenReward": str(a["tokenReward"]),
                                       "reputationReward": str(a["reputationReward"]), "txHash": tx})

    def recovery_events(self, account: str | None, limit: int = 100) -> list[dict[str, Any]]:
        """Indexed lost-key recovery events (see :mod:`co3chain.api.recoveries`)."""
        return recoveries.recovery_events(self.store, account, limit)
    def _block_timestamp(self, block: int) -> int:
        if block not in self._timestamps:
            self._timestamps[block] = int(self.chain.w3.eth.get_block(block)["timestamp"])
        return self._timestamps[block]

    # ------------------------------------------------------------------ background loop
    def backoff(self, failures: int) -> float:
        return min(self.settings.max_backoff, self.settings.poll_interval * (2 ** min(failures, 10)))

    def step(self) -> float:
        """One polling round; returns how long to wait before the next. Errors are recorded, never raised:
        a node that is briefly down only delays indexing (exponential backoff up to ``max_backoff``)."""
        try:
            self.sync_once()
            return self.settings.poll_interval
        except Exception as exc:  # node down, malformed answer: never let the thread die
            self.status.failures += 1
            self.status.node_reachable = False
            self.status.last_error = f"{exc.__class__.__name__}: {exc}"[:300]
            delay = self.backoff(self.status.failures)
            log.warning("indexer: %s (retry in %.1fs)", self.status.last_error, delay)
            return delay

    def run(self) -> None:
        """Loop until :meth:`stop`."""
        while not self._stop.is_set():
            self._stop.wait(self.step())

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="co3-api-indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
