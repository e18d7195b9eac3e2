"""Operator pipeline without a chain: webhook → queue → validation → 2-of-3 co-signing (local and HTTP)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from co3chain.contracts.typed_data import recover_attestation_signer
from co3chain.oracle.auth import Authenticator
from co3chain.oracle.geometry import AreaGeometry
from co3chain.oracle.operator import Backoff, LocalCosigner, OracleOperator
from co3chain.oracle.signing import HttpCosigner, OperatorKey
from co3chain.oracle.store import SqliteQueueStore
from co3chain.oracle.validation import ValidationPolicy, Validator
from co3chain.oracle.webhooks import create_app
from tests.oracle.helpers import (
    AR,
    OUTSIDE,
    SIGNER_KEYS,
    SIGNERS,
    SOCIAL,
    SQUARE,
    T0,
    FakeChain,
    checkin_body,
    headers_for,
    social_body,
)


def make_operator(tmp_path, name: str, key: bytes, chain: FakeChain, cosigners=()) -> OracleOperator:
    store = SqliteQueueStore(tmp_path / f"{name}.db")
    validator = Validator(chain, store, {1: AreaGeometry.from_geojson(1, SQUARE)}, ValidationPolicy())
    return OracleOperator(store=store, auth=Authenticator([AR, SOCIAL]), validator=validator, chain=chain,
                          key=OperatorKey(key), cosigners=cosigners, backoff=Backoff(base=10, cap=60))


@pytest.fixture
def chain() -> FakeChain:
    return FakeChain()


@pytest.fixture
def trio(tmp_path, chain):
    """Lead (signer 0) with two local co-signers (signers 1 and 2), each with its own queue and chain view."""
    peers = [make_operator(tmp_path, f"peer{i}", SIGNER_KEYS[i], chain) for i in (1, 2)]
    lead = make_operator(tmp_path, "lead", SIGNER_KEYS[0], chain,
                         [LocalCosigner(p, clock=lambda: T0) for p in peers])
    return lead, peers


READ_TOKEN = "read-token-of-the-operator-0123"


def client_for(op: OracleOperator, read_token: str | None = READ_TOKEN) -> TestClient:
    return TestClient(create_app(op, clock=lambda: T0, read_token=read_token))


def post_checkin(client: TestClient, body: bytes, ts: int = T0):
    return client.post("/oracle/v1/webhooks/ar/checkin", content=body, headers=headers_for(AR, body, ts))


def test_webhook_accepts_once_and_replay_is_idempotent(trio) -> None:
    lead, _ = trio
    client = client_for(lead)
    body = checkin_body("ci-1")
    first = post_checkin(client, body)
    assert first.status_code == 202 and first.json()["state"] == "received"
    replay = post_checkin(client, body)
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert replay.json()["attestation_id"] == first.json()["attestation_id"]
    assert lead.store.counts_by_state()["received"] == 1
    # Same event id, different content: a conflict, not a silent duplicate.
    changed = checkin_body("ci-1", accuracy_m=9.0)
    conflict = post_checkin(client, changed)
    assert conflict.status_code == 409 and "different content" in conflict.json()["detail"]


def test_webhook_auth_and_payload_errors(trio) -> None:
    lead, _ = trio
    client = client_for(lead)
    body = checkin_body("ci-2")
    assert post_checkin(client, body, ts=T0 - 3600).status_code == 401  # stale replay
    bad = headers_for(AR, body)
    assert client.post("/oracle/v1/webhooks/ar/checkin", content=body + b" ", headers=bad).status_code == 401
    junk = b'{"event_id": "x"}'
    assert post_checkin(client, junk).status_code == 422
    # A social source cannot post to the AR endpoint.
    sbody = social_body()
    resp = client.post("/oracle/v1/webhooks/ar/checkin", content=sbody, headers=headers_for(SOCIAL, sbody))
    assert resp.status_code == 422 and "sends 'social' events" in resp.json()["detail"]
    assert lead.store.counts_by_state() == {s: 0 for s in lead.store.counts_by_state()}
    metrics = client.get("/metrics").text
    assert "co3_oracle_auth_failures_total 2.0" in metrics


def test_full_signing_flow_2_of_3(trio, chain) -> None:
    lead, peers = trio
    client = client_for(lead)
    aid = post_checkin(client, checkin_body("ci-3")).json()["attestation_id"]
    assert lead.validate_pending(T0) == 1
    assert lead.collect_pending(T0) == 1
    item = lead.store.get(aid)
    assert item.state == "signed"
    signers = [s["signer"] for s in item.signatures]
    assert len(signers) == 2 and signers == sorted(signers, key=lambda a: int(a, 16))
    hub = chain.hub_info
    for s in item.signatures:
        sig = bytes.fromhex(s["signature"][2:])
        assert recover_attestation_signer(hub.chain_id, hub.address, item.attestation, sig) == s["signer"]
    assert set(signers) <= set(SIGNERS)
    # Each co-signer validated independently and recorded the event in its own queue.
    for p in peers:
        assert p.store.get(aid).state == "signed"


def test_signed_reward_is_the_rule_read_when_signing(trio, chain, tmp_path) -> None:
    """The reward is re-read right before signing, by the lead and by each co-signer; operators that read
    different rules produce different attestations and the lead does not count the mismatching share."""
    import dataclasses

    lead, peers = trio
    aid = post_checkin(client_for(lead), checkin_body("ci-rule")).json()["attestation_id"]
    lead.validate_pending(T0)
    assert lead.store.get(aid).attestation["tokenReward"] == 10
    chain.activities[1] = dataclasses.replace(chain.activities[1], token_reward=12, reputation_reward=6)
    lead.collect_pending(T0)
    item = lead.store.get(aid)
    assert item.state == "signed"
    assert (item.attestation["tokenReward"], item.attestation["reputationReward"]) == (12, 6)
    hub = chain.hub_info
    for s in item.signatures:
        sig = bytes.fromhex(s["signature"][2:])
        assert recover_attestation_signer(hub.chain_id, hub.address, item.attestation, sig) == s["signer"]

    # A co-signer whose node shows another rule signs another attestation: not counted, retried later.
    stale = FakeChain()
    odd = make_operator(tmp_path, "odd", SIGNER_KEYS[1], stale)
    lead2 = make_operator(tmp_path, "lead2", SIGNER_KEYS[0], chain, [LocalCosigner(odd, lambda: T0)])
    aid2 = post_checkin(client_for(lead2), checkin_body("ci-rule-2")).json()["attestation_id"]
    lead2.validate_pending(T0)
    lead2.collect_pending(T0)
    got = lead2.store.get(aid2)
    assert got.state == "validated" and "different attestation" in got.reason


def test_cosigners_revalidate_and_refuse(tmp_path, chain) -> None:
    """The lead's geometry is wrong (accepts everything); honest co-signers refuse to sign → rejected."""
    huge = {"type": "Polygon", "coordinates": [[[0, 0], [20, 0], [20, 60], [0, 60], [0, 0]]]}
    peers = [make_operator(tmp_path, f"peer{i}", SIGNER_KEYS[i], chain) for i in (1, 2)]
    lead = make_operator(tmp_path, "lead", SIGNER_KEYS[0], chain, [LocalCosigner(p, lambda: T0) for p in peers])
    lead.validator.geometries[1] = AreaGeometry.from_geojson(1, huge)
    from co3chain.oracle.chainview import AreaInfo
    from co3chain.oracle.geometry import geometry_hash

    lead_chain = FakeChain(areas={1: AreaInfo(1, geometry_hash(huge), 0, ())})
    lead.validator.chain = lead_chain
    body = checkin_body("ci-out", lat=OUTSIDE[0], lon=OUTSIDE[1])
    item, _ = lead.ingest(headers_for(AR, body), body, T0)
    assert lead.validate_item(item, T0).state == "validated"
    lead.collect_item(lead.store.get(item.attestation_id), T0)
    got = lead.store.get(item.attestation_id)
    assert got.state == "rejected" and "outside the polygon" in got.reason
    assert all(p.store.get(item.attestation_id).state == "rejected" for p in peers)


def test_unreachable_cosigners_defer_with_backoff(tmp_path, chain) -> None:
    peer_chain = FakeChain(down=True)
    peers = [make_operator(tmp_path, f"peer{i}", SIGNER_KEYS[i], peer_chain) for i in (1, 2)]
    lead = make_operator(tmp_path, "lead", SIGNER_KEYS[0], chain, [LocalCosigner(p, lambda: T0) for p in peers])
    body = checkin_body("ci-5")
    item, _ = lead.ingest(headers_for(AR, body), body, T0)
    lead.validate_item(item, T0)
    lead.collect_item(lead.store.get(item.attestation_id), T0)
    got = lead.store.get(item.attestation_id)
    assert got.state == "validated" and got.reason.startswith("1/2 signatures")
    assert lead.store.items_in_state("validated", 10, now=T0 + 1) == []  # backed off
    peer_chain.down = False
    assert lead.collect_pending(T0 + 60) == 1
    assert lead.store.get(item.attestation_id).state == "signed"


def test_chain_down_defers_validation(tmp_path, chain) -> None:
    lead = make_operator(tmp_path, "lead", SIGNER_KEYS[0], chain)
    body = checkin_body("ci-6")
    item, _ = lead.ingest(headers_for(AR, body), body, T0)
    chain.down = True
    assert lead.validate_item(item, T0).state == "received"
    chain.down = False
    assert lead.validate_pending(T0 + 100) == 1
    assert lead.store.get(item.attestation_id).state == "validated"


def test_http_cosigner_endpoint(tmp_path, chain) -> None:
    peer = make_operator(tmp_path, "peer", SIGNER_KEYS[1], chain)
    peer_client = client_for(peer)
    lead = make_operator(tmp_path, "lead", SIGNER_KEYS[0], chain,
                         [HttpCosigner("http://testserver", client=peer_client)])
    body = checkin_body("ci-7")
    item, _ = lead.ingest(headers_for(AR, body), body, T0)
    lead.validate_item(item, T0)
    lead.collect_item(lead.store.get(item.attestation_id), T0)
    assert lead.store.get(item.attestation_id).state == "signed"
    # Forged forward (body changed after the source signed it) is refused with 401.
    forged = {"headers": headers_for(AR, body), "body": "e30="}
    assert peer_client.post("/oracle/v1/sign", json=forged).status_code == 401
    assert peer_client.post("/oracle/v1/sign", json={"nope": 1}).status_code == 400
    out = lead.ingest(headers_for(AR, checkin_body("ci-8", accuracy_m=500)), checkin_body("ci-8", accuracy_m=500),
                      T0)[0]
    from co3chain.oracle.signing import forwarded_request

    resp = peer_client.post("/oracle/v1/sign", json=forwarded_request(out))
    assert resp.status_code == 422 and "accuracy" in resp.json()["detail"]


def test_status_and_rejected_listing(trio) -> None:
    lead, _ = trio
    client = client_for(lead)
    post_checkin(client, checkin_body("in"))
    post_checkin(client, checkin_body("out", lat=OUTSIDE[0], lon=OUTSIDE[1], timestamp=T0 - 30))
    lead.validate_pending(T0)
    status = client.get("/oracle/v1/status").json()
    assert status["accepted"] == 1 and status["rejected"] == 1 and status["queue"]["validated"] == 1
    reader = {"Authorization": f"Bearer {READ_TOKEN}"}
    rejected = client.get("/oracle/v1/events", params={"state": "rejected"}, headers=reader).json()
    assert [r["event_id"] for r in rejected] == ["out"] and "outside" in rejected[0]["reason"]
    assert client.get("/oracle/v1/events", params={"state": "bogus"}, headers=reader).status_code == 400
    one = client.get(f"/oracle/v1/events/{rejected[0]['attestation_id']}", headers=reader)
    assert one.status_code == 200 and one.json()["event_id"] == "out"


def test_event_listings_need_the_read_token(trio) -> None:
    """Who was where and when is personal data: the listings answer only to the operator's read token, and
    stay closed when none is configured (status counts stay open: they name nobody)."""
    lead, _ = trio
    client = client_for(lead)
    post_checkin(client, checkin_body("in"))
    for path in ("/oracle/v1/events", "/oracle/v1/events/0x" + "00" * 32):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
        assert client.get(path, headers={"Authorization": READ_TOKEN}).status_code == 401  # no scheme
    # an app follows its own event by id without a token; the answer names no citizen, area or time
    aid = next(iter(lead.store.list_items(None, 10))).attestation_id
    status = client.get(f"/oracle/v1/events/{aid}/status")
    assert status.status_code == 200 and set(status.json()) == {"attestation_id", "state", "reason", "tx_hash",
                                                                "block", "updated_at"}
    assert client.get("/oracle/v1/events/0x" + "00" * 32 + "/status").status_code == 404
    closed = client_for(lead, read_token=None)
    refused = closed.get("/oracle/v1/events", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert refused.status_code == 403 and "read_token_env" in refused.json()["detail"]
    assert closed.get("/oracle/v1/status").status_code == 200


def test_key_outside_signer_set_defers_instead_of_crashing(tmp_path) -> None:
    from co3chain.oracle.chainview import HubInfo
    from tests.oracle.helpers import HUB_ADDRESS

    chain = FakeChain(hub_info=HubInfo(31337, HUB_ADDRESS, tuple(SIGNERS[1:]), 2, 1))
    lead = make_operator(tmp_path, "lead", SIGNER_KEYS[0], chain)
    body = checkin_body("ci-9")
    item, _ = lead.ingest(headers_for(AR, body), body, T0)
    lead.validate_item(item, T0)
    lead.collect_pending(T0)
    got = lead.store.get(item.attestation_id)
    assert got.state == "validated" and "not in the hub's current signer set" in got.reason
    client = client_for(lead)
    from co3chain.oracle.signing import forwarded_request

    assert client.post("/oracle/v1/sign", json=forwarded_request(got)).status_code == 503


def test_backoff_is_capped() -> None:
    b = Backoff(base=1, cap=60)
    assert [b.delay(n) for n in (0, 1, 2, 5, 6, 100)] == [1, 2, 4, 32, 60, 60]
