"""PostgreSQL queue: what only a server database can show — URL selection and errors, two processes racing
for the same row, a server crash/restart under a live store, and the whole oracle running on it.

The behaviour shared with SQLite (idempotency, state machine, submissions) runs on both backends in
``test_store.py``.  Every test here uses a throwaway cluster (``tests/oracle/pg_server.py``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from co3chain.oracle.cli import oracle as oracle_cli
from co3chain.oracle.events import parse_event
from co3chain.oracle.store import StoreError, open_store
from co3chain.oracle.store_pg import PostgresQueueStore, redact
from tests.oracle.helpers import T0, checkin_body, domain_of
from tests.oracle.pg_server import PgCluster, shared_cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def pg_cluster():
    with shared_cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: PgCluster):
    with pg_cluster.database() as url:
        yield url


def _insert(store, event_id: str = "e1"):
    body = checkin_body(event_id)
    return store.insert_received(parse_event("ar-app", "ar", body), body, T0, "sha256=aa", T0)


def _signed(store, event_id: str = "e1") -> str:
    item, _ = _insert(store, event_id)
    store.mark_validated(item.attestation_id, {"id": item.attestation_id}, T0)
    store.mark_signed(item.attestation_id, [{"signer": "0x1", "signature": "0x2"}], T0)
    return item.attestation_id


# -- URL selection and errors ---------------------------------------------------------------------------------


def test_open_store_selects_postgres_and_creates_schema_once(pg_url: str) -> None:
    store = open_store(pg_url)
    assert isinstance(store, PostgresQueueStore)
    item, _ = _insert(store)
    again = open_store(pg_url)  # schema already there: CREATE ... IF NOT EXISTS, data untouched
    assert again.get(item.attestation_id) == item
    with psycopg.connect(pg_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"oracle_events", "oracle_submissions"}
    again.close()
    store.close()


def test_unreachable_server_is_a_clear_error_without_the_password(tmp_path) -> None:
    url = f"postgresql://oracle:s3cret-pw@/queue?host={tmp_path}&port=5999"
    with pytest.raises(StoreError, match="cannot open oracle queue") as info:
        open_store(url)
    assert "s3cret-pw" not in str(info.value)
    assert redact("postgresql://u:pw@db.example:5433/q") == "postgresql://u:***@db.example:5433/q"


def test_missing_psycopg_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now fails as if not installed
    monkeypatch.delitem(sys.modules, "co3chain.oracle.store_pg")
    with pytest.raises(StoreError, match=r"needs psycopg 3: pip install 'psycopg\[binary\]'"):
        open_store("postgresql://oracle@db.example/queue")


def test_closed_store_refuses_work(pg_url: str) -> None:
    store = open_store(pg_url)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.counts_by_state()


def test_constraint_violations_are_store_errors(pg_url: str) -> None:
    store = open_store(pg_url)
    aid = _signed(store)
    store.record_submission("0xtx1", 1, b"raw", [aid], T0)
    store.fail_submission("0xtx1", "dropped", T0, T0)
    with pytest.raises(StoreError, match="duplicate key"):  # same tx hash twice: rolled back entirely
        store.record_submission("0xtx1", 1, b"raw", [aid], T0)
    assert store.get(aid).state == "signed"
    store.close()


# -- two processes racing ---------------------------------------------------------------------------------------


def _race(url: str, hold_sql: str, hold_params: tuple[Any, ...], calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` in threads while a third connection holds a lock (``hold_sql``) they all need, wait
    until every call is blocked on it, then release it: the calls meet the row at the same moment.
    Returns each call's result or raised exception."""
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except Exception as exc:  # collected for the assertions
            results[i] = exc

    with psycopg.connect(url, autocommit=True) as holder, psycopg.connect(url, autocommit=True) as watcher:
        with holder.transaction():
            holder.execute(hold_sql, hold_params)
            threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 60  # a synchronisation guard, not a speed assertion
            while True:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'").fetchone()[0]
                if waiting >= len(calls):
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"only {waiting} of {len(calls)} calls reached the lock")
                time.sleep(0.02)
        for t in threads:  # holder committed: the calls proceed
            t.join(timeout=60)
    return results


def test_two_processes_cannot_submit_the_same_attestation_twice(pg_url: str) -> None:
    a, b = open_store(pg_url), open_store(pg_url)  # two connections, as two operator processes would have
    aid = _signed(a)
    results = _race(pg_url, "SELECT 1 FROM oracle_events WHERE attestation_id = %s FOR UPDATE", (aid,), [
        lambda: a.record_submission("0xtxA", 1, b"rawA", [aid], T0),
        lambda: b.record_submission("0xtxB", 1, b"rawB", [aid], T0),
    ])
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], StoreError), results
    assert "not in state 'signed'" in str(errors[0])
    winner = "0xtxA" if results[0] is None else "0xtxB"
    item = a.get(aid)
    assert item.state == "submitted" and item.tx_hash == winner and item.attempts == 1
    # The loser's submissions row was rolled back with its failed UPDATE.
    assert [s.tx_hash for s in b.pending_submissions()] == [winner]
    a.close()
    b.close()


def test_concurrent_transitions_move_a_row_once(pg_url: str) -> None:
    a, b = open_store(pg_url), open_store(pg_url)
    item, _ = _insert(a)
    aid = item.attestation_id
    results = _race(pg_url, "SELECT 1 FROM oracle_events WHERE attestation_id = %s FOR UPDATE", (aid,), [
        lambda: a.mark_validated(aid, {"by": "a"}, T0 + 1),
        lambda: b.mark_validated(aid, {"by": "b"}, T0 + 2),
    ])
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and "cannot move from validated" in str(errors[0]), results
    winner = "a" if results[0] is None else "b"
    got = b.get(aid)
    assert got.state == "validated" and got.attestation == {"by": winner}
    a.close()
    b.close()


def test_concurrent_duplicate_webhooks_queue_one_row(pg_url: str) -> None:
    a, b = open_store(pg_url), open_store(pg_url)
    results = _race(pg_url, "LOCK TABLE oracle_events IN SHARE MODE", (), [
        lambda: _insert(a, "dup"), lambda: _insert(b, "dup"),
    ])
    assert not any(isinstance(r, Exception) for r in results), results
    (item_a, created_a), (item_b, created_b) = results
    assert sorted([created_a, created_b]) == [False, True]
    assert item_a.seq == item_b.seq and a.counts_by_state()["received"] == 1
    a.close()
    b.close()


# -- durability -----------------------------------------------------------------------------------------------


def test_accepted_items_survive_a_server_crash(pg_cluster: PgCluster, pg_url: str) -> None:
    store = open_store(pg_url)
    received, _ = _insert(store, "r")
    signed = _signed(store, "s")
    submitted = _signed(store, "t")
    store.record_submission("0xtx1", 3, b"raw-tx", [submitted], T0)
    before = {i.attestation_id: i for i in store.list_items(None, 10)}

    pg_cluster.restart()  # pg_ctl stop -m immediate (no shutdown checkpoint) + start: WAL recovery

    # The live store's connection died with the server: the next call reconnects (reads and writes).
    assert {i.attestation_id: i for i in store.list_items(None, 10)} == before
    store.mark_validated(received.attestation_id, {"after": "restart"}, T0 + 1)
    fresh = open_store(pg_url)
    assert fresh.get(received.attestation_id).state == "validated"
    assert fresh.get(signed).state == "signed" and fresh.get(signed).signatures
    assert fresh.get(submitted).tx_hash == "0xtx1"
    assert [(s.tx_hash, s.nonce, s.raw_tx) for s in fresh.pending_submissions()] == [("0xtx1", 3, b"raw-tx")]
    fresh.close()
    store.close()


# -- the oracle on PostgreSQL -------------------------------------------------------------------------------------


def test_cli_status_and_events_read_a_postgres_queue(pg_url: str) -> None:
    store = open_store(pg_url)
    aid = _signed(store)
    store.close()
    runner = CliRunner()
    status = runner.invoke(oracle_cli, ["status", "--db", pg_url, "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["queue"]["signed"] == 1
    events = runner.invoke(oracle_cli, ["events", "--db", pg_url, "--json"])
    assert events.exit_code == 0, events.output
    assert [e["attestation_id"] for e in json.loads(events.output)] == [aid]


def test_oracle_service_round_trip_on_postgres(pg_cluster: PgCluster, tmp_path, suite, monkeypatch) -> None:
    """Lead + two co-signers, each with its own PostgreSQL queue: check-in → 2-of-3 → tokens on chain."""
    from fastapi.testclient import TestClient

    from co3chain.oracle.operator import LocalCosigner
    from co3chain.oracle.service import OracleService
    from tests.oracle.chain_helpers import abi_for
    from tests.oracle.conftest import make_config
    from tests.oracle.helpers import CITIZEN, SQUARE
    from tests.oracle.test_chain_ethtester import drain, post

    (tmp_path / "area1.geojson").write_text(json.dumps(SQUARE))
    with ExitStack() as stack:
        urls = [stack.enter_context(pg_cluster.database()) for _ in range(3)]

        def service(index: int, submit: bool) -> OracleService:
            config = make_config(tmp_path, f"op{index}", suite, index, monkeypatch, submit=submit)
            svc = OracleService(dataclasses.replace(config, db=urls[index]), w3=suite.w3, abi_for=abi_for)
            stack.callback(svc.store.close)
            return svc

        peers = [service(1, False), service(2, False)]
        lead = service(0, True)
        lead.operator.cosigners = [LocalCosigner(p.operator) for p in peers]
        assert all(isinstance(s.store, PostgresQueueStore) for s in [lead, *peers])
        assert not list(tmp_path.glob("*.db"))  # nothing fell back to SQLite

        client = TestClient(lead.app)
        body = checkin_body("ci-pg", timestamp=int(time.time()) - 5, **domain_of(suite))
        resp = post(client, body)
        assert resp.status_code == 202
        aid = resp.json()["attestation_id"]
        drain(lead)
        item = lead.store.get(aid)
        assert item.state == "confirmed", item.reason
        assert suite.hub.functions.isUsed(bytes.fromhex(aid[2:])).call()
        assert suite.token.functions.balanceOf(CITIZEN).call() == 10
        assert lead.store.last_confirmed_block() == item.block
        assert post(client, body).status_code == 200  # duplicate webhook: acknowledged, not queued again
        assert lead.store.counts_by_state()["confirmed"] == 1
        # Each co-signer ingested, validated and signed the event independently, in its own PostgreSQL queue.
        assert [p.store.get(aid).state for p in peers] == ["signed", "signed"]
