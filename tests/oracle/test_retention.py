"""Retention of the oracle queue on both backends: after the configured time past finality, raw bodies, the
source MAC and quoted coordinates are gone; what audits, rate limits and dedup need stays."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from co3chain.cli import cli
from co3chain.oracle.events import parse_event, salted_commitment
from co3chain.oracle.retention import DAY, apply_retention, retention_days_of
from co3chain.oracle.store import LocationFacts, SqliteQueueStore, open_store
from tests.oracle.helpers import CITIZEN, INSIDE, OUTSIDE, T0, checkin_body, domain_of
from tests.oracle.pg_server import shared_cluster

SALT = bytes(range(32))


@pytest.fixture(scope="session")
def pg_cluster():
    with shared_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def queue(request, tmp_path):
    if request.param == "sqlite":
        store = SqliteQueueStore(tmp_path / "q.db")
        yield store
        store.close()
        return
    with request.getfixturevalue("pg_cluster").database() as url:
        store = open_store(url)
        yield store
        store.close()


def _insert(store, event_id: str, **kw):
    body = checkin_body(event_id, **kw)
    event = parse_event("ar-app", "ar", body, SALT)
    item, _ = store.insert_received(event, body, T0, "sha256=feed", T0)
    return item, event


def _confirmed(store, event_id: str, at: float) -> str:
    item, event = _insert(store, event_id)
    store.mark_validated(item.attestation_id, {"id": item.attestation_id, "evidenceHash": item.evidence_hash}, at,
                         LocationFacts(True, "891f8d7a49bffff"))
    store.mark_signed(item.attestation_id, [{"signer": "0x1", "signature": "0x2"}], at)
    store.record_submission("0xt" + event_id, 0, b"raw", [item.attestation_id], at)
    store.confirm_submission("0xt" + event_id, 7, [item.attestation_id], at)
    return item.attestation_id


def test_retention_removes_raw_data_after_the_period_and_keeps_what_audits_need(queue) -> None:
    ok = _confirmed(queue, "ok", T0)
    out_item, _ = _insert(queue, "out", lat=OUTSIDE[0], lon=OUTSIDE[1])
    reason = f"point ({OUTSIDE[0]}, {OUTSIDE[1]}) is outside the polygon of area 1"
    queue.mark_rejected(out_item.attestation_id, reason, T0, LocationFacts(False, "891f8d7a4b3ffff"))
    fresh, _ = _insert(queue, "in-flight")  # old but not final: never touched
    before = queue.get(ok)

    assert apply_retention(queue, T0 + 29 * DAY, 30).redacted == []
    report = apply_retention(queue, T0 + 31 * DAY, 30)
    assert sorted(report.redacted) == sorted([ok, out_item.attestation_id])

    kept = queue.get(ok)
    assert kept.body == b"" and kept.auth_signature == "" and kept.redacted_at == T0 + 31 * DAY
    assert str(round(INSIDE[0] * 1e6)) not in json.dumps(kept.public())
    # Audit material is intact: state, block, the attestation and signatures that went on chain.
    for field in ("state", "block", "attestation", "signatures", "evidence_hash", "observed_at", "citizen",
                  "activity_id", "evidence_salt", "evidence_digest"):
        assert getattr(kept, field) == getattr(before, field), field
    assert (kept.geo_inside, kept.geo_cell) == (True, "891f8d7a49bffff")
    # The on-chain commitment can still be checked against the kept digest and salt.
    assert kept.evidence_hash == "0x" + salted_commitment(kept.salt, bytes.fromhex(kept.evidence_digest[2:])).hex()

    rejected = queue.get(out_item.attestation_id)
    assert rejected.reason == "point (location removed) is outside the polygon of area 1"
    assert str(OUTSIDE[0]) not in rejected.reason and rejected.geo_inside is False
    assert queue.get(fresh.attestation_id).body == checkin_body("in-flight")
    # Rate limits and dedup still see the redacted rows.
    assert queue.count_accepted(CITIZEN, 1, 0, 2**62) == 1
    assert queue.find_accepted_duplicate(CITIZEN, 1, before.evidence_digest, 0, 0, exclude="x").attestation_id == ok
    assert apply_retention(queue, T0 + 40 * DAY, 30).redacted == []  # idempotent


def test_expired_signed_rows_of_a_cosigner_expire_too(queue) -> None:
    item, _ = _insert(queue, "cosigned")
    queue.mark_validated(item.attestation_id, {"id": item.attestation_id, "expiresAt": T0 + 7 * DAY}, T0)
    queue.mark_signed(item.attestation_id, [{"signer": "0x1", "signature": "0x2"}], T0)
    assert apply_retention(queue, T0 + 36 * DAY, 30).redacted == []  # expired at T0+7d, cutoff T0+6d
    assert apply_retention(queue, T0 + 38 * DAY, 30).redacted == [item.attestation_id]
    assert queue.get(item.attestation_id).body == b"" and queue.get(item.attestation_id).state == "signed"


def test_zero_retention_redacts_every_final_event_at_once(queue) -> None:
    ids = [_confirmed(queue, f"e{i}", T0) for i in range(5)]
    report = apply_retention(queue, T0 + 1, 0, batch=2)  # several batches
    assert sorted(report.redacted) == sorted(ids)
    assert all(queue.get(a).body == b"" for a in ids)


def test_old_queue_gains_privacy_columns_and_keeps_deduplicating(tmp_path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, attestation_id TEXT NOT NULL
        UNIQUE, source TEXT NOT NULL, event_id TEXT NOT NULL, source_kind TEXT NOT NULL, body BLOB NOT NULL,
        auth_timestamp INTEGER NOT NULL, auth_signature TEXT NOT NULL, citizen TEXT NOT NULL, area_id TEXT NOT NULL,
        activity_id TEXT NOT NULL, kind INTEGER NOT NULL, observed_at INTEGER NOT NULL, evidence_hash TEXT NOT NULL,
        state TEXT NOT NULL, reason TEXT, attestation TEXT, signatures TEXT, tx_hash TEXT, block INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0, received_at REAL NOT NULL,
        updated_at REAL NOT NULL, UNIQUE (source, event_id));
        INSERT INTO events (attestation_id, source, event_id, source_kind, body, auth_timestamp, auth_signature,
        citizen, area_id, activity_id, kind, observed_at, evidence_hash, state, received_at, updated_at)
        VALUES ('0xaa', 'ar-app', 'old', 'ar', X'7b7d', 1, 's', 'CITIZEN_ADDRESS', '1', '1', 0, 5, '0xdd', 'validated', 1, 1);
    """.replace("CITIZEN_ADDRESS", CITIZEN))
    conn.close()
    store = SqliteQueueStore(path)
    item = store.get("0xaa")
    assert item.evidence_digest == "0xdd" and item.evidence_salt is None
    assert store.find_accepted_duplicate(CITIZEN, 1, "0xdd", 10_000, 0, exclude="x") is not None
    store.close()


def test_retention_cli_reads_the_period_from_oracle_toml(tmp_path) -> None:
    store = SqliteQueueStore(tmp_path / "q.db")
    aid = _confirmed(store, "cli", 1_000_000_000)  # final in 2001: long past any retention
    store.close()
    runner = CliRunner()
    result = runner.invoke(cli, ["privacy", "retention", "--db", str(tmp_path / "q.db"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["attestation_ids"] == [aid]
    (tmp_path / "oracle.toml").write_text('[oracle]\ndb = "q.db"\n[privacy]\nretention_days = "soon"\n')
    bad = runner.invoke(cli, ["privacy", "retention", "--config", str(tmp_path / "oracle.toml")])
    assert bad.exit_code == 1 and "retention_days must be a number" in bad.output
    (tmp_path / "oracle.toml").write_text('[oracle]\ndb = "q.db"\n[privacy]\nretention_days = 7\n')
    assert retention_days_of(tmp_path / "oracle.toml") == 7.0
    ok = runner.invoke(cli, ["privacy", "retention", "--config", str(tmp_path / "oracle.toml")])
    assert ok.exit_code == 0 and "retention 7 days: removed raw data of 0" in ok.output
    missing = runner.invoke(cli, ["privacy", "retention", "--db", str(tmp_path / "nope.db")])
    assert missing.exit_code == 1 and "no oracle queue" in missing.output


def test_public_listings_never_quote_the_exact_point(queue) -> None:
    item, _ = _insert(queue, "outside", lat=OUTSIDE[0], lon=OUTSIDE[1])
    queue.mark_rejected(item.attestation_id, f"point ({OUTSIDE[0]}, {OUTSIDE[1]}) is outside the H3 cells", T0)
    listed = queue.list_items("rejected", 10)[0].public()
    assert listed["reason"] == "point (location removed) is outside the H3 cells"
    assert queue.get(item.attestation_id).reason.startswith(f"point ({OUTSIDE[0]}")  # operators still see it


def test_erasure_and_export_queries_on_both_backends(queue) -> None:
    from co3chain.oracle.events import new_salt
    from co3chain.privacy.rights import export_citizen
    from tests.oracle.helpers import OTHER_KEY

    done = _confirmed(queue, "done", T0)
    flight, _ = _insert(queue, "flight")
    other_body = checkin_body("other", key=OTHER_KEY)
    other, _ = queue.insert_received(parse_event("ar-app", "ar", other_body, new_salt()), other_body, T0, "s", T0)
    queue.record_submission("0xshared", 1, b"raw", [], T0)  # an unrelated submission: not exported
    exported = export_citizen(CITIZEN.lower(), oracle_store=queue)["oracle"]
    assert [e["event_id"] for e in exported["events"]] == ["done", "flight"]
    assert [s["tx_hash"] for s in exported["submissions"]] == ["0xtdone"]
    assert exported["events"][0]["body"]["lat_e6"] == round(INSIDE[0] * 1e6)

    result = queue.erase_citizen(CITIZEN.lower(), T0 + 5)
    assert sorted(result.erased) == sorted([done, flight.attestation_id]) and result.pending == []
    assert result.stopped == [flight.attestation_id]
    for aid in (done, flight.attestation_id):
        row = queue.get(aid)
        assert (row.body, row.auth_signature, row.evidence_salt, row.evidence_digest, row.geo_cell) == (
            b"", "", None, None, None)
        assert row.erased_at == T0 + 5
    assert queue.get(done).state == "confirmed" and queue.get(done).geo_inside is True
    assert queue.get(flight.attestation_id).state == "rejected"
    assert queue.get(other.attestation_id).body == other_body  # someone else's event is untouched
    assert apply_retention(queue, T0 + 100 * DAY, 30).redacted == []  # erased rows need no retention pass


def test_erasure_leaves_events_being_submitted_for_a_rerun(queue) -> None:
    item, _ = _insert(queue, "sending")
    queue.mark_validated(item.attestation_id, {"id": item.attestation_id}, T0)
    queue.mark_signed(item.attestation_id, [{"signer": "0x1", "signature": "0x2"}], T0)
    queue.record_submission("0xsending", 0, b"raw", [item.attestation_id], T0)
    result = queue.erase_citizen(CITIZEN, T0)
    assert result.pending == [item.attestation_id] and result.erased == []
    assert queue.get(item.attestation_id).body  # untouched until the outcome is known
    queue.confirm_submission("0xsending", 3, [item.attestation_id], T0)
    assert queue.erase_citizen(CITIZEN, T0).erased == [item.attestation_id]


def test_the_operator_worker_runs_retention_on_its_schedule(services, suite) -> None:
    import time as _time

    from fastapi.testclient import TestClient

    from co3chain.oracle.retention import RetentionConfig, RetentionSchedule
    from tests.oracle.helpers import AR, headers_for

    lead, _ = services
    assert lead.retention.config == RetentionConfig()  # default: 30 days, hourly
    lead.retention = RetentionSchedule(lead.store, RetentionConfig(retention_days=0, retention_interval=1e-6))
    body = checkin_body("bg", timestamp=int(_time.time()) - 5, **domain_of(suite))
    resp = TestClient(lead.app).post("/oracle/v1/webhooks/ar/checkin", content=body,
                                     headers=headers_for(AR, body, int(_time.time())))
    aid = resp.json()["attestation_id"]
    for _ in range(30):
        lead.step()
        item = lead.store.get(aid)
        if item.state == "confirmed" and item.redacted_at is not None:
            break
    assert item.state == "confirmed" and item.body == b"" and item.geo_inside is True
    off = RetentionSchedule(lead.store, RetentionConfig(retention_days=0, retention_interval=0))
    assert off.maybe_run(_time.time()) == 0


def test_privacy_table_of_oracle_toml(tmp_path) -> None:
    from co3chain.errors import Co3Error
    from co3chain.oracle.config import parse_config
    from co3chain.oracle.retention import RetentionConfig

    base = {"oracle": {"db": "q.db"}, "chain": {"rpc_url": "http://x", "hub": "0x1", "areas": "0x2",
                                                "registry": "0x3"}, "signer": {"private_key_env": "X"}}
    assert parse_config(base, tmp_path).retention == RetentionConfig(30.0, 3600.0)
    tuned = parse_config({**base, "privacy": {"retention_days": 7, "retention_interval": 0}}, tmp_path)
    assert tuned.retention == RetentionConfig(7.0, 0.0)
    with pytest.raises(Co3Error, match="unknown keys"):
        parse_config({**base, "privacy": {"retention": 7}}, tmp_path)
    with pytest.raises(Co3Error, match="retention_days must be a number"):
        parse_config({**base, "privacy": {"retention_days": -1}}, tmp_path)
