"""The queue stores: idempotency by (source, event id), state machine, durability across reopen.

The behavioural tests run against both backends (SQLite, and PostgreSQL on a throwaway local cluster);
PostgreSQL-only behaviour (concurrency, server restart, service round trip) is in ``test_store_pg.py``.
"""

from __future__ import annotations

import sqlite3

import pytest

from co3chain.oracle.events import parse_event
from co3chain.oracle.store import SqliteQueueStore, StoreError, open_store
from tests.oracle.helpers import T0, checkin_body
from tests.oracle.pg_server import shared_cluster


@pytest.fixture(scope="session")
def pg_cluster():
    with shared_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def open_queue(request, tmp_path):
    """Opens (and re-opens) one empty queue of the parametrized backend."""
    if request.param == "sqlite":
        path = tmp_path / "q.db"
        yield lambda: SqliteQueueStore(path)
        return
    with request.getfixturevalue("pg_cluster").database() as url:
        yield lambda: open_store(url)


def _insert(store, event_id: str = "e1"):
    body = checkin_body(event_id)
    return store.insert_received(parse_event("ar-app", "ar", body), body, T0, "sha256=aa", T0)


def test_idempotent_insert(open_queue) -> None:
    store = open_queue()
    item, created = _insert(store)
    again, created_again = _insert(store)
    assert created and not created_again
    assert again.seq == item.seq and store.counts_by_state()["received"] == 1
    assert again == item and item.body == checkin_body("e1") and item.state == "received"
    store.close()


def test_sqlite_uses_wal(tmp_path) -> None:
    store = SqliteQueueStore(tmp_path / "q.db")
    _insert(store)
    mode = sqlite3.connect(tmp_path / "q.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    store.close()


def test_committed_rows_survive_reopen(open_queue) -> None:
    store = open_queue()
    item, _ = _insert(store)
    store.mark_validated(item.attestation_id, {"id": item.attestation_id}, T0)
    # No close(): a crashed process never closes; committed data must still be visible.
    other = open_queue()
    got = other.get(item.attestation_id)
    assert got is not None and got.state == "validated" and got.body == item.body
    other.close()
    store.close()


def test_state_machine_refuses_illegal_transitions(open_queue) -> None:
    store = open_queue()
    item, _ = _insert(store)
    with pytest.raises(StoreError, match="cannot move from received"):
        store.mark_signed(item.attestation_id, [], T0)
    store.mark_rejected(item.attestation_id, "outside", T0)
    with pytest.raises(StoreError):
        store.mark_validated(item.attestation_id, {}, T0)
    rejected = store.list_items("rejected", 10)
    assert [r.reason for r in rejected] == ["outside"]
    with pytest.raises(StoreError, match="unknown state"):
        store.list_items("lost", 10)
    store.close()


def test_submission_lifecycle(open_queue) -> None:
    store = open_queue()
    ids = []
    for n in range(3):
        item, _ = _insert(store, f"e{n}")
        store.mark_validated(item.attestation_id, {"id": item.attestation_id}, T0)
        store.mark_signed(item.attestation_id, [{"signer": "0x1", "signature": "0x2"}], T0)
        ids.append(item.attestation_id)
    store.record_submission("0xtx1", 7, b"raw", ids[:2], T0)
    with pytest.raises(StoreError, match="not in state 'signed'"):
        store.record_submission("0xtx2", 8, b"raw", ids[:1], T0)  # rolled back entirely
    assert [s.tx_hash for s in store.pending_submissions()] == ["0xtx1"]
    assert store.counts_by_state()["submitted"] == 2
    store.confirm_submission("0xtx1", 42, [ids[0]], T0)  # ids[1] not used on chain: back to signed
    assert store.get(ids[0]).state == "confirmed" and store.get(ids[0]).block == 42
    assert store.get(ids[1]).state == "signed"
    assert store.last_confirmed_block() == 42 and store.pending_submissions() == []
    store.record_submission("0xtx3", 8, b"raw", [ids[1], ids[2]], T0)
    store.fail_submission("0xtx3", "reverted", T0 + 5, T0)
    assert {store.get(i).state for i in ids[1:]} == {"signed"}
    assert store.items_in_state("signed", 10, now=T0) == []  # retry not due yet
    assert len(store.items_in_state("signed", 10, now=T0 + 5)) == 2
    store.close()


def test_open_store_urls(tmp_path) -> None:
    open_store(f"sqlite:///{tmp_path}/a.db").close()
    assert (tmp_path / "a.db").exists()
    with pytest.raises(StoreError, match="unsupported queue URL scheme"):
        open_store("mysql://db/oracle")
