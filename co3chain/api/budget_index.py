"""Budget index: the participatory budget's and the treasury's events, per round, with block timestamps.

Why an index when the budget routes read contract state: state gives the *current* tally and project state,
but a citizen following a round, a journalist or a PA clerk wants its history — when the round opened, each
ballot, the outcome, each tranche paid with the evidence hash behind it — and the SSE feed (``/v1/events``)
announces them as they happen. Why its own cursor (as the spend index has): the table arrived after
deployments had already indexed their history, and a deployment may add the budget contracts later
(``co3chain budget deploy``); a separate marker back-fills from the budget contract's deployment block
without re-applying every other event.
"""

from __future__ import annotations

import json
from typing import Any

from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3._utils.events import get_event_data

from co3chain.api.chain import ChainContext
from co3chain.api.store import ApiStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS budget_events (
  block INTEGER NOT NULL, log_index INTEGER NOT NULL, timestamp INTEGER NOT NULL, contract TEXT NOT NULL,
  event TEXT NOT NULL, round_id INTEGER, data TEXT NOT NULL, tx_hash TEXT NOT NULL,
  PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS budget_events_round ON budget_events(round_id, block, log_index);
"""
CURSOR = "last_budget_block"

#: Events stored, per contract; ``FEED`` ones are also announced on the SSE feed as type "budget".
EVENTS: dict[str, tuple[str, ...]] = {
    "ParticipatoryBudget": ("RoundCreated", "ProjectListed", "BudgetBallotCast", "RoundFinalized", "RoundCancelled",
                            "ProjectStateChanged"),
    "CommonsTreasury": ("Deposited", "BudgetAssigned", "BudgetWithdrawn", "Withdrawn", "Reserved", "Released",
                        "Paid"),
}
FEED = frozenset({"RoundCreated", "BudgetBallotCast", "RoundFinalized", "RoundCancelled", "ProjectStateChanged",
                  "BudgetAssigned", "Paid"})
PROJECT_STATES = ("Proposed", "NotFunded", "Funded", "InProgress", "Delivered", "Cancelled")
BALLOT_KINDS = ("approval", "knapsack")


def _json_value(name: str, value: Any) -> Any:
    """JSON form of one event argument: hex for bytes, decimal strings for amounts, names for enums."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if name == "state":
        return PROJECT_STATES[int(value)]
    if name == "kind":
        return BALLOT_KINDS[int(value)]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        # ids and small counters stay numbers; token amounts (may exceed 2^53) are decimal strings
        return value if name in ("index", "maxChoices", "snapshot", "voteStart", "voteEnd") else str(value)
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    return value


def _round_of(args: dict[str, Any], budget_address: str | None) -> int | None:
    """The round an event belongs to: its ``roundId``, or for the treasury's reservations and payments made by
    the budget contract their ``ref`` (the contract uses the round id as the reference)."""
    if "roundId" in args:
        return int(args["roundId"])
    payer = args.get("payer")
    if budget_address and payer and payer.lower() == budget_address and "ref" in args:
        ref = int.from_bytes(bytes(args["ref"]), "big")
        return ref if 0 < ref < 2**63 else None
    return None


class BudgetIndex:
    """Keeps ``budget_events`` up to the chain head (called by the indexer after each pass)."""

    def __init__(self, chain: ChainContext, store: ApiStore, batch_blocks: int = 2000) -> None:
        self.chain, self.store, self.batch = chain, store, batch_blocks
        self._topics: dict[bytes, tuple[str, dict[str, Any]]] = {}
        self._addresses: dict[str, str] = {}
        for name, events in EVENTS.items():
            contract = chain.contracts.get(name)
            if contract is None:
                continue
            self._addresses[contract.address.lower()] = name
            for item in contract.abi:
                if item.get("type") == "event" and item.get("name") in events:
                    self._topics[event_abi_to_log_topic(item)] = (name, item)
        budget = chain.contracts.get("ParticipatoryBudget")
        self._budget_address = budget.address.lower() if budget is not None else None
        with store.write() as db:
            for statement in SCHEMA.strip().split(";"):
                if statement.strip():
                    db.execute(statement)

    @property
    def enabled(self) -> bool:
        return self._budget_address is not None

    def indexed_block(self) -> int | None:
        rows = self.store.query("SELECT value FROM meta WHERE key = ?", (CURSOR,))
        return int(rows[0]["value"]) if rows else None

    def _start(self) -> int:
        last = self.indexed_block()
        if last is not None:
            return last + 1
        contracts = self.chain.manifest["contracts"]
        blocks = [int(contracts[n].get("blockNumber", 0)) for n in EVENTS if n in contracts]
        return min(blocks) if blocks else 0

    def sync(self, head: int) -> int:
        """Index the budget's events up to ``head``; returns how many were stored."""
        if not self.enabled:
            return 0
        w3 = self.chain.w3
        stored = 0
        start = self._start()
        while start <= head:
            end = min(head, start + self.batch - 1)
            logs = w3.eth.get_logs({"fromBlock": start, "toBlock": end,
                                    "address": [to_checksum_address(a) for a in self._addresses]})
            ordered = sorted(logs, key=lambda lg: (int(lg["blockNumber"]), int(lg["logIndex"])))
            times: dict[int, int] = {}
            rows: list[tuple[Any, ...]] = []
            feed: list[tuple[int, dict[str, Any]]] = []
            for entry in ordered:
                topics = entry.get("topics") or []
                known = self._topics.get(bytes(topics[0])) if topics else None
                if known is None or entry["address"].lower() not in self._addresses:
                    continue
                contract, abi = known
                number = int(entry["blockNumber"])
                if number not in times:
                    times[number] = int(w3.eth.get_block(number)["timestamp"])
                args = dict(get_event_data(w3.codec, abi, entry)["args"])
                data = {k: _json_value(k, v) for k, v in args.items()}
                round_id = _round_of(args, self._budget_address)
                tx = "0x" + bytes(entry["transactionHash"]).hex()
                rows.append((number, int(entry["logIndex"]), times[number], contract, abi["name"], round_id,
                             json.dumps(data, sort_keys=True), tx))
                if abi["name"] in FEED:
                    feed.append((number, {"event": abi["name"], "roundId": round_id, **data, "txHash": tx}))
            with self.store.write() as db:
                db.executemany("INSERT OR REPLACE INTO budget_events(block, log_index, timestamp, contract, event,"
                               " round_id, data, tx_hash) VALUES (?,?,?,?,?,?,?,?)", rows)
                for number, item in feed:
                    ApiStore.add_feed(db, "budget", number, item)
                db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                           "value = excluded.value", (CURSOR, str(end)))
            stored += len(rows)
            start = end + 1
        return stored

    def history(self, round_id: int, limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """(events of ``round_id`` in chain order, total count)."""
        total = self.store.query("SELECT COUNT(*) AS n FROM budget_events WHERE round_id = ?", (round_id,))[0]["n"]
        rows = self.store.query("SELECT * FROM budget_events WHERE round_id = ? ORDER BY block, log_index "
                                "LIMIT ? OFFSET ?", (round_id, limit, offset))
        items = [{"block": r["block"], "logIndex": r["log_index"], "timestamp": r["timestamp"],
                  "contract": r["contract"], "event": r["event"], "data": json.loads(r["data"]),
                  "txHash": r["tx_hash"]} for r in rows]
        return items, int(total)
