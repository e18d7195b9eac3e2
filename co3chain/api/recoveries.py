"""The API's index of lost-key recoveries: KeyRecovery and CitizenRegistry events → SQLite rows and feed.

Why index them: an app must warn a citizen the moment a recovery of their key is initiated (the defence
against a rogue registrar is that the old key hears of it and cancels), and a PA clerk must list an account's
recoveries without scanning logs. Each ``RecoveryInitiated`` is also a ``recovery`` event of ``/v1/events``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from co3chain.api.store import ApiStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS recovery_events (
  block INTEGER NOT NULL, log_index INTEGER NOT NULL, recovery_id INTEGER NOT NULL, event TEXT NOT NULL,
  old_account TEXT NOT NULL, new_account TEXT, by_account TEXT, canceller TEXT, executable_at INTEGER,
  tokens TEXT, reputation TEXT, area_domains INTEGER, tx_hash TEXT NOT NULL, PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS recovery_events_old ON recovery_events(old_account);
CREATE INDEX IF NOT EXISTS recovery_events_new ON recovery_events(new_account);
"""

#: (contract, events) this module stores.
EVENTS: dict[str, tuple[str, ...]] = {
    "KeyRecovery": ("RecoveryInitiated", "RecoveryCancelled", "RecoveryFinalized"),
    "CitizenRegistry": ("CitizenRecovered",),
}
HANDLED = frozenset(e for events in EVENTS.values() for e in events)
CANCELLERS = ("OldKey", "OldKeySignature", "Guardian", "Registrar")


def ensure_schema(db: sqlite3.Connection) -> None:
    for statement in filter(None, (s.strip() for s in SCHEMA.split(";"))):
        db.execute(statement)


def apply_event(db: sqlite3.Connection, name: str, a: dict[str, Any], block: int, log_index: int, tx: str) -> None:
    """Store one decoded recovery event (idempotent per (block, log index))."""
    row: dict[str, Any] = {"recovery_id": None, "new_account": None, "by_account": None, "canceller": None,
                           "executable_at": None, "tokens": None, "reputation": None, "area_domains": None}
    if name == "CitizenRecovered":
        old, new = a["from"], a["to"]
        found = db.execute("SELECT identity_hash, expires_at, registrar FROM citizens WHERE address = ?",
                           (old,)).fetchone()
        if found is not None:
            db.execute("INSERT OR REPLACE INTO citizens(address, identity_hash, expires_at, status, registrar, block)"
                       " VALUES (?,?,?,?,?,?)", (new, found[0], found[1], "registered", found[2], block))
        db.execute("UPDATE citizens SET status = 'recovered' WHERE address = ?", (old,))
        return
    rid = int(a["recoveryId"])
    old = a["oldAccount"]
    if name == "RecoveryInitiated":
        event = "initiated"
        row.update(new_account=a["newAccount"], by_account=a["registrar"], executable_at=int(a["executableAt"]))
    elif name == "RecoveryCancelled":
        event = "cancelled"
        row.update(by_account=a["by"], canceller=CANCELLERS[int(a["canceller"])])
    else:
        event = "finalized"
        row.update(new_account=a["newAccount"], tokens=str(a["tokens"]), reputation=str(a["reputation"]),
                   area_domains=int(a["areaDomains"]))
    if row["new_account"] is None:
        first = db.execute("SELECT new_account FROM recovery_events WHERE recovery_id = ? AND event = 'initiated'",
                           (rid,)).fetchone()
        row["new_account"] = first[0] if first else None
    db.execute("INSERT OR REPLACE INTO recovery_events(block, log_index, recovery_id, event, old_account, new_account,"
               " by_account, canceller, executable_at, tokens, reputation, area_domains, tx_hash)"
               " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (block, log_index, rid, event, old, row["new_account"], row["by_account"], row["canceller"],
                row["executable_at"], row["tokens"], row["reputation"], row["area_domains"], tx))
    data = {"recoveryId": rid, "event": event, "oldAccount": old, "newAccount": row["new_account"], "txHash": tx}
    if row["executable_at"] is not None:
        data["executableAt"] = row["executable_at"]
    ApiStore.add_feed(db, "recovery", block, data)


def recovery_events(store: ApiStore, account: str | None, limit: int) -> list[dict[str, Any]]:
    """Indexed events, newest first; with ``account``, those where it is the old or the new key."""
    sql = ("SELECT block, log_index, recovery_id, event, old_account, new_account, by_account, canceller,"
           " executable_at, tokens, reputation, area_domains, tx_hash FROM recovery_events")
    params: list[Any] = []
    if account:
        sql += " WHERE old_account = ? OR new_account = ?"
        params = [account, account]
    sql += " ORDER BY block DESC, log_index DESC LIMIT ?"
    rows = store.query(sql, [*params, limit])
    out = []
    for r in rows:
        item = {"recoveryId": r["recovery_id"], "event": r["event"], "oldAccount": r["old_account"],
                "newAccount": r["new_account"], "by": r["by_account"], "canceller": r["canceller"],
                "executableAt": r["executable_at"], "tokens": r["tokens"], "reputation": r["reputation"],
                "areaDomains": r["area_domains"], "block": r["block"], "txHash": r["tx_hash"]}
        out.append({k: v for k, v in item.items() if v is not None})
    return out
