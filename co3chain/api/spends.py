"""Spend index: every ``CommonsToken.Spent`` with its block timestamp, for merchant statements per period.

Why its own cursor (not the main indexer's): the table was added after deployments had already indexed
their history; with a separate ``last_spend_block`` marker an existing database back-fills spends from the
token's deployment block without re-applying (and re-announcing on the SSE feed) every other event.
Why store the block timestamp: statements are per calendar period, and a merchant's settlement must not
depend on the node answering ``eth_getBlock`` for every row at report time.
"""

from __future__ import annotations

from typing import Any

from eth_utils import event_abi_to_log_topic
from web3._utils.events import get_event_data

from co3chain.api.chain import ChainContext
from co3chain.api.store import ApiStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS spends (
  block INTEGER NOT NULL, log_index INTEGER NOT NULL, timestamp INTEGER NOT NULL, owner TEXT NOT NULL,
  service TEXT NOT NULL, amount TEXT NOT NULL, ref TEXT NOT NULL, burned INTEGER NOT NULL, tx_hash TEXT NOT NULL,
  PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS spends_by_service ON spends(service, timestamp);
"""
CURSOR = "last_spend_block"


class SpendIndex:
    """Keeps the ``spends`` table up to the chain head (called by the indexer after each pass)."""

    def __init__(self, chain: ChainContext, store: ApiStore, batch_blocks: int = 2000) -> None:
        self.chain, self.store, self.batch = chain, store, batch_blocks
        self.token = chain.contracts.get("CommonsToken")
        self._abi = next((i for i in self.token.abi if i.get("type") == "event" and i.get("name") == "Spent"), None) \
            if self.token is not None else None
        with store.write() as db:
            for statement in SCHEMA.strip().split(";"):
                if statement.strip():
                    db.execute(statement)

    def indexed_block(self) -> int | None:
        rows = self.store.query("SELECT value FROM meta WHERE key = ?", (CURSOR,))
        return int(rows[0]["value"]) if rows else None

    def _start(self) -> int:
        last = self.indexed_block()
        if last is not None:
            return last + 1
        return int(self.chain.manifest["contracts"].get("CommonsToken", {}).get("blockNumber", 0))

    def sync(self, head: int) -> int:
        """Index ``Spent`` up to ``head``; returns how many were stored."""
        if self.token is None or self._abi is None:
            return 0
        w3 = self.chain.w3
        topic = event_abi_to_log_topic(self._abi)
        stored = 0
        start = self._start()
        while start <= head:
            end = min(head, start + self.batch - 1)
            logs = w3.eth.get_logs({"fromBlock": start, "toBlock": end, "address": self.token.address,
                                    "topics": ["0x" + topic.hex()]})
            times: dict[int, int] = {}
            rows: list[tuple[Any, ...]] = []
            for entry in logs:
                number = int(entry["blockNumber"])
                if number not in times:
                    times[number] = int(w3.eth.get_block(number)["timestamp"])
                args = get_event_data(w3.codec, self._abi, entry)["args"]
                rows.append((number, int(entry["logIndex"]), times[number], args["owner"], args["service"],
                             str(args["amount"]), "0x" + bytes(args["ref"]).hex(), int(bool(args["burned"])),
                             "0x" + bytes(entry["transactionHash"]).hex()))
            with self.store.write() as db:
                db.executemany("INSERT OR REPLACE INTO spends(block, log_index, timestamp, owner, service, amount, ref,"
                               " burned, tx_hash) VALUES (?,?,?,?,?,?,?,?,?)", rows)
                db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                           "value = excluded.value", (CURSOR, str(end)))
            stored += len(rows)
            start = end + 1
        return stored

    def statement(self, service: str, from_ts: int, to_ts: int) -> list[Any]:
        """Rows of ``service`` with ``from_ts <= timestamp < to_ts``, in chain order."""
        return self.store.query("SELECT * FROM spends WHERE service = ? AND timestamp >= ? AND timestamp < ? "
                                "ORDER BY block, log_index", (service, from_ts, min(to_ts, 2**63 - 1)))
