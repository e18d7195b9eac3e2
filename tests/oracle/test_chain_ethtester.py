"""Oracle against the real contracts on eth-tester: check-in → 2-of-3 attestation → token and reputation.

Also the restart paths of the submitter that do not need a separate process: a transaction recorded but
never broadcast, and one broadcast whose receipt the crashed process never saw.
"""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from web3 import Web3

from co3chain.oracle.submitter import Submitter
from tests.oracle.helpers import (
    AR,
    CITIZEN,
    OUTSIDE,
    SOCIAL,
    checkin_body,
    domain_of,
    headers_for,
    social_body,
)


def drain(service, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not service.step():
            return
    raise AssertionError("oracle pipeline did not settle")


def post(client: TestClient, body: bytes):
    now = int(time.time())
    return client.post("/oracle/v1/webhooks/ar/checkin", content=body, headers=headers_for(AR, body, now))


def area_domain(area_id: int) -> bytes:
    return area_id.to_bytes(32, "big")


def test_checkin_rewards_once_and_out_of_area_is_rejected(services, suite) -> None:
    lead, peers = services
    client = TestClient(lead.app)
    now = int(time.time())
    body = checkin_body("ci-1", timestamp=now - 5, **domain_of(suite))
    resp = post(client, body)
    assert resp.status_code == 202
    aid = resp.json()["attestation_id"]
    drain(lead)
    item = lead.store.get(aid)
    assert item.state == "confirmed", item.reason
    assert suite.hub.functions.isUsed(bytes.fromhex(aid[2:])).call()
    assert suite.token.functions.balanceOf(CITIZEN).call() == 10
    assert suite.reputation.functions.scoreOf(CITIZEN, area_domain(1)).call() > 0
    assert lead.store.last_confirmed_block() == item.block

    # The same webhook again: acknowledged as duplicate, nothing new on chain.
    assert post(client, body).status_code == 200
    # The same observation under a new event id: caught by the dedup window.
    dup = post(client, checkin_body("ci-1-again", timestamp=now - 4, **domain_of(suite))).json()["attestation_id"]
    # Outside the polygon.
    out = post(client, checkin_body("ci-out", lat=OUTSIDE[0], lon=OUTSIDE[1], timestamp=now - 3000, **domain_of(suite)))
    drain(lead)
    assert lead.store.get(dup).state == "rejected" and "duplicate" in lead.store.get(dup).reason
    rejected = lead.store.get(out.json()["attestation_id"])
    assert rejected.state == "rejected" and "outside the polygon" in rejected.reason
    assert suite.token.functions.balanceOf(CITIZEN).call() == 10
    status = client.get("/oracle/v1/status").json()
    assert status["queue"]["confirmed"] == 1 and status["rejected"] == 2


def test_resubmitting_a_used_attestation_does_not_reward_twice(services, suite) -> None:
    lead, _ = services
    body = checkin_body("ci-2", timestamp=int(time.time()) - 5, **domain_of(suite))
    aid = post(TestClient(lead.app), body).json()["attestation_id"]
    drain(lead)
    assert lead.store.get(aid).state == "confirmed"
    # Force the confirmed item back through the submitter as if a restart had lost its state.
    store = lead.store
    with store._tx() as conn:  # test-only: rewind the row to 'signed'
        conn.execute("UPDATE events SET state = 'signed', next_attempt_at = 0 WHERE attestation_id = ?", (aid,))
    sent_before = suite.w3.eth.get_transaction_count(lead.submitter.account.address)
    drain(lead)
    assert store.get(aid).state == "confirmed"
    # isUsed was checked before building a batch: no transaction was sent at all.
    assert suite.w3.eth.get_transaction_count(lead.submitter.account.address) == sent_before
    assert suite.token.functions.balanceOf(CITIZEN).call() == 10


def test_recorded_but_not_broadcast_is_sent_after_restart(services, suite, monkeypatch) -> None:
    lead, _ = services
    aid = post(TestClient(lead.app), checkin_body("ci-3", timestamp=int(time.time()) - 5, **domain_of(suite))).json()["attestation_id"]
    lead.operator.validate_pending(time.time())
    lead.operator.collect_pending(time.time())
    assert lead.store.get(aid).state == "signed"

    def broken(raw):
        raise ConnectionError("node unreachable (test)")

    monkeypatch.setattr(suite.w3.eth, "send_raw_transaction", broken)
    assert lead.submitter.submit_ready(time.time()) == 1
    monkeypatch.undo()
    assert suite.token.functions.balanceOf(CITIZEN).call() == 0
    assert lead.store.get(aid).state == "submitted"
    assert lead.store.pending_submissions()
    # "Restart": a fresh submitter on the same queue recovers and re-broadcasts the recorded bytes.
    fresh = Submitter(w3=suite.w3, hub=lead.submitter.hub, account=lead.submitter.account, store=lead.store,
                      chain=lead.chain)
    fresh.recover(time.time())
    fresh.poll(time.time())
    assert lead.store.get(aid).state == "confirmed"
    assert suite.token.functions.balanceOf(CITIZEN).call() == 10


def test_signer_rotation_resigns_pending_items(services, suite) -> None:
    lead, _ = services
    aid = post(TestClient(lead.app), checkin_body("ci-4", timestamp=int(time.time()) - 5, **domain_of(suite))).json()["attestation_id"]
    lead.operator.validate_pending(time.time())
    lead.operator.collect_pending(time.time())
    assert lead.store.get(aid).state == "signed"
    signers = suite.hub.functions.getSigners().call()
    suite.call(suite.hub, "setSigners", signers, 2)  # same set, new version: old signatures are void
    lead.chain.invalidate()  # the lead notices at once; co-signers refresh on the version hint
    drain(lead)
    item = lead.store.get(aid)
    assert item.state == "confirmed", item.reason
    assert item.attestation["signerSetVersion"] == suite.hub.functions.signerSetVersion().call()
    assert Web3.to_checksum_address(CITIZEN) and suite.token.functions.balanceOf(CITIZEN).call() == 10


def test_social_post_rewards_and_metrics(services, suite) -> None:
    lead, _ = services
    client = TestClient(lead.app)
    body = social_body("post-1", timestamp=int(time.time()) - 5)
    resp = client.post("/oracle/v1/webhooks/social/event", content=body,
                       headers=headers_for(SOCIAL, body, int(time.time())))
    assert resp.status_code == 202
    drain(lead)
    assert lead.store.get(resp.json()["attestation_id"]).state == "confirmed"
    assert suite.token.functions.balanceOf(CITIZEN).call() == 3
    metrics = client.get("/metrics").text
    assert 'co3_oracle_queue_events{state="confirmed"} 1.0' in metrics
    assert 'co3_oracle_transactions_total{result="mined"} 1.0' in metrics
    assert 'co3_oracle_events_received_total{source="social"} 1.0' in metrics


def test_reward_raised_after_signing_mints_the_signed_reward(services, suite) -> None:
    """Issue 10, defect 1, through the oracle: the area manager raises the reward to 2^208-1 after the
    oracles signed; the pending attestation still mints the 10 tokens it was signed for, and later events are
    refused (the oracle reads the hub's per-claim cap, which the hub enforces too) instead of minting it."""
    lead, _ = services
    client = TestClient(lead.app)
    aid = post(client, checkin_body("ci-raise", timestamp=int(time.time()) - 5, **domain_of(suite))).json()["attestation_id"]
    lead.operator.validate_pending(time.time())
    lead.operator.collect_pending(time.time())
    assert lead.store.get(aid).state == "signed"
    _, _, _, _, starts, ends, max_claims, _ = suite.areas.functions.getActivity(1).call()[1:]
    big = 2**208 - 1
    suite.call(suite.areas, "updateActivity", 1, big, big, starts, ends, max_claims)
    drain(lead)
    assert lead.store.get(aid).state == "confirmed"
    assert suite.token.functions.balanceOf(CITIZEN).call() == 10

    later = post(client, checkin_body("ci-raise-2", timestamp=int(time.time()) - 2000, **domain_of(suite))).json()["attestation_id"]
    lead.chain.invalidate()
    drain(lead)
    item = lead.store.get(later)
    assert item.state == "rejected" and "above the consortium's cap per claim" in item.reason, item.reason
    assert suite.token.functions.balanceOf(CITIZEN).call() == 10
