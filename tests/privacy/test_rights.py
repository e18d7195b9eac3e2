"""Export and erasure end to end: two citizens rewarded through the real 2-of-3 oracle on eth-tester, then
retention, export (everything about one address, nothing of the other) and erasure (the commitment no
longer links to the evidence on any operator, while what audits check still holds)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import h3
from click.testing import CliRunner
from eth_account import Account
from eth_utils import keccak
from fastapi.testclient import TestClient

from co3chain.cli import cli
from co3chain.contracts.typed_data import recover_attestation_signer
from co3chain.oracle.retention import apply_retention
from co3chain.oracle.store import ERASED_REASON
from co3chain.privacy.rights import export_citizen
from tests.oracle.chain_helpers import register_citizen
from tests.oracle.helpers import (
    AR,
    CITIZEN,
    INSIDE,
    OTHER_KEY,
    SOCIAL,
    checkin_body,
    domain_of,
    headers_for,
    social_body,
)

OTHER = Account.from_key(OTHER_KEY).address


def drain(service, rounds: int = 30) -> None:
    for _ in range(rounds):
        if not service.step():
            return
    raise AssertionError("oracle pipeline did not settle")


def post(client: TestClient, source, body: bytes) -> str:
    path = "/oracle/v1/webhooks/ar/checkin" if source is AR else "/oracle/v1/webhooks/social/event"
    resp = client.post(path, content=body, headers=headers_for(source, body, int(time.time())))
    assert resp.status_code == 202, resp.text
    return resp.json()["attestation_id"]


def contracts_of(suite) -> dict:
    return {"CitizenRegistry": suite.registry, "CommonsToken": suite.token, "AttestationHub": suite.hub,
            "Reputation": suite.reputation, "CommoningAreas": suite.areas}


def on_chain_evidence(suite, aid: str) -> bytes:
    for entry in suite.hub.events.AttestationAccepted().get_logs(from_block=0):
        if "0x" + bytes(entry["args"]["id"]).hex() == aid:
            return bytes(entry["args"]["evidenceHash"])
    raise AssertionError(f"{aid} not accepted on chain")


def audit_item(suite, item) -> None:
    """What a reward audit checks from the oracle's record: the stored attestation is the one on chain and
    its signatures recover to the hub's current signers."""
    hub = suite.hub.functions
    assert item.attestation["evidenceHash"] == "0x" + on_chain_evidence(suite, item.attestation_id).hex()
    signers = set(hub.getSigners().call())
    for sig in item.signatures:
        signer = recover_attestation_signer(suite.w3.eth.chain_id, suite.hub.address, item.attestation,
                                            bytes.fromhex(sig["signature"][2:]))
        assert signer in signers


def rewarded_world(services, suite):
    lead, peers = services
    register_citizen(suite, OTHER, int(time.time()) + 86_400)
    client = TestClient(lead.app)
    now = int(time.time())
    mine = [post(client, SOCIAL, social_body("mine-post", timestamp=now - 5)),
            post(client, AR, checkin_body("mine-ci", timestamp=now - 5, **domain_of(suite)))]
    theirs = post(client, SOCIAL, social_body("their-post", timestamp=now - 5, citizen=OTHER))
    drain(lead)
    for aid in [*mine, theirs]:
        assert lead.store.get(aid).state == "confirmed", lead.store.get(aid).reason
    return lead, peers, mine, theirs


def test_export_holds_everything_about_the_citizen_and_nothing_of_others(services, suite) -> None:
    lead, _, mine, theirs = rewarded_world(services, suite)
    data = export_citizen(CITIZEN, oracle_store=lead.store, w3=suite.w3, contracts=contracts_of(suite))
    assert data["sources"] == ["oracle", "chain"]
    assert sorted(e["attestation_id"] for e in data["oracle"]["events"]) == sorted(mine)
    ci = next(e for e in data["oracle"]["events"] if e["event_id"] == "mine-ci")
    assert ci["body"]["lat_e6"] == round(INSIDE[0] * 1e6) and ci["evidence_salt"] == lead.store.get(ci["attestation_id"]).evidence_salt
    # Derived location facts recorded at validation: inside, and the H3 cell of the point.
    cell = ci["location"]["h3_cell"]
    assert ci["location"]["inside_geofence"] is True
    assert cell == h3.latlng_to_cell(INSIDE[0], INSIDE[1], h3.get_resolution(cell))
    assert data["oracle"]["submissions"] and all(set(s) == {"tx_hash", "state", "block"}
                                                 for s in data["oracle"]["submissions"])
    chain_events = {(e["contract"], e["event"]) for e in data["chain"]["events"]}
    assert {("CitizenRegistry", "CitizenRegistered"), ("AttestationHub", "AttestationAccepted")} <= chain_events
    accepted = {e["args"]["id"] for e in data["chain"]["events"] if e["event"] == "AttestationAccepted"}
    assert accepted == set(mine)
    assert int(data["chain"]["token_balance"]) == 13 and data["chain"]["citizen"]["revoked"] is False
    text = json.dumps(data).lower()
    for foreign in (OTHER.lower(), theirs, "their-post"):
        assert foreign not in text


def test_retention_then_erasure_unlink_the_evidence_and_audits_still_hold(services, suite, tmp_path) -> None:
    lead, peers, mine, theirs = rewarded_world(services, suite)
    post_aid = mine[0]
    url = b"https://social.example/mine-post"
    commitment = on_chain_evidence(suite, post_aid)
    assert commitment != keccak(url)
    salt_hex = lead.store.get(post_aid).evidence_salt[2:]

    # Retention first: raw bodies go, audits and dedup keep working.
    assert set(apply_retention(lead.store, time.time() + 1, 0).redacted) == {*mine, theirs}
    for aid in mine:
        audit_item(suite, lead.store.get(aid))
    again = post(TestClient(lead.app), SOCIAL, social_body("mine-post-2", timestamp=int(time.time()) - 1,
                                                           evidence_url=url.decode()))
    lead.step()
    assert "duplicate" in (lead.store.get(again).reason or "")
    pending = post(TestClient(lead.app), AR, checkin_body("mine-late", timestamp=int(time.time()) - 1, **domain_of(suite)))
    assert lead.store.get(pending).state == "received"

    # Erasure on every operator (CLI on the lead's SQLite file, the library on the peers).
    log = tmp_path / "privacy-log.jsonl"
    result = CliRunner().invoke(cli, ["privacy", "erase", "--citizen", CITIZEN.lower(), "--oracle-db",
                                      lead.config.db, "--yes", "--json", "--log", str(log)])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output)
    assert outcome["complete"] and outcome["erased"] == 4
    for peer in peers:
        peer.store.erase_citizen(CITIZEN, time.time())
    for store in [lead.store, *(p.store for p in peers)]:
        item = store.get(post_aid)
        assert item.evidence_salt is None and item.evidence_digest is None and item.body == b""
        assert item.erased_at is not None
    assert lead.store.get(post_aid).state == "confirmed"
    # A co-signer never learns of the confirmation: its 'signed' row is stopped so it never signs it again.
    assert {p.store.get(post_aid).reason for p in peers} == {ERASED_REASON}
    stopped = lead.store.get(pending)
    assert stopped.state == "rejected" and stopped.reason == ERASED_REASON and stopped.body == b""
    # The on-chain record stays, and nothing kept anywhere in the export reproduces its commitment.
    assert on_chain_evidence(suite, post_aid) == commitment
    export = export_citizen(CITIZEN, oracle_store=lead.store, w3=suite.w3, contracts=contracts_of(suite))
    assert all(e["evidence_salt"] is None and e["body"] is None for e in export["oracle"]["events"])
    assert keccak(url) != commitment
    # Not even the database files keep the salt (secure_delete, WAL truncated after erasure).
    for path in [lead.config.db, *(p.config.db for p in peers)]:
        raw = b"".join(Path(f).read_bytes() for f in (path, path + "-wal") if Path(f).exists())
        assert salt_hex.encode() not in raw and url not in raw
    # Audits of the erased rows still hold; the other citizen's data is untouched.
    for aid in mine:
        audit_item(suite, lead.store.get(aid))
    assert lead.store.get(theirs).evidence_digest is not None
    assert suite.token.functions.balanceOf(CITIZEN).call() == 13
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["action"], e["citizen"]) for e in entries] == [("erase", CITIZEN)]
    assert "mine-post" not in log.read_text()


def test_export_cli_writes_json_and_logs_the_request(services, suite, tmp_path) -> None:
    from co3chain.api.store import ApiStore

    lead, _, mine, theirs = rewarded_world(services, suite)
    api_db = tmp_path / "api.sqlite"
    with ApiStore(api_db).write() as db:  # the indexed copy of one reward of each citizen
        for aid, who in ((mine[0], CITIZEN), (theirs, OTHER)):
            db.execute("INSERT INTO attestations VALUES (?,?,?,?,?,?,?,?,?)", (aid, who, 2, 1, "0x00", "3", "1", 5,
                                                                               "0xtx"))
    out, log = tmp_path / "export.json", tmp_path / "requests.jsonl"
    runner = CliRunner()
    result = runner.invoke(cli, ["privacy", "export", "--citizen", CITIZEN, "--oracle-db", lead.config.db,
                                 "--api-db", str(api_db), "--out", str(out), "--log", str(log), "--actor", "t-1"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["sources"] == ["oracle", "api"]
    assert [r["id"] for r in data["api"]["attestations"]] == [mine[0]]
    assert sorted(e["attestation_id"] for e in data["oracle"]["events"]) == sorted(mine)
    assert OTHER.lower() not in out.read_text().lower()
    (entry,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert (entry["action"], entry["actor"], entry["outcome"]) == ("export", "t-1", {"sources": ["oracle", "api"]})

    bad = runner.invoke(cli, ["privacy", "export", "--citizen", "0xnot", "--oracle-db", lead.config.db])
    assert bad.exit_code == 1 and "not an address" in bad.output
    nothing = runner.invoke(cli, ["privacy", "export", "--citizen", CITIZEN])
    assert nothing.exit_code == 1 and "nothing to export from" in nothing.output
