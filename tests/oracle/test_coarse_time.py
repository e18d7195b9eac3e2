"""Issue 19 on the real contracts (eth-tester): the public attestation carries a coarse time.

Device-signed check-in → validation → 2-of-3 co-signing → ``submitBatch``; the ``observedAt`` in the mined
calldata is the event time rounded down to ``[privacy] time_resolution`` (clamped to the activity start) and
the hub accepts it.  Also: co-signers with another resolution refuse with a clear reason (the event is
deferred, not rejected), and the submitter's release schedule holds a batch until the boundary.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from co3chain.oracle.operator import LocalCosigner
from co3chain.oracle.service import OracleService
from co3chain.oracle.signing import forwarded_request
from tests.oracle.chain_helpers import abi_for
from tests.oracle.conftest import make_config
from tests.oracle.helpers import AR, CITIZEN, SQUARE, checkin_body, domain_of, headers_for
from tests.oracle.test_chain_ethtester import drain


def _services(tmp_path, suite, monkeypatch, lead_resolution: int, peer_resolution: int | None = None):
    (tmp_path / "area1.geojson").write_text(json.dumps(SQUARE))

    def service(name: str, index: int, resolution: int, submit: bool) -> OracleService:
        cfg = make_config(tmp_path, name, suite, index, monkeypatch, submit=submit)
        return OracleService(dataclasses.replace(cfg, time_resolution=resolution), w3=suite.w3, abi_for=abi_for)

    peers = [service(f"peer{i}", i, peer_resolution or lead_resolution, False) for i in (1, 2)]
    lead = service("lead", 0, lead_resolution, True)
    lead.operator.cosigners = [LocalCosigner(p.operator) for p in peers]
    return lead, peers


@pytest.fixture
def cluster(tmp_path, suite, monkeypatch):
    made: list[OracleService] = []

    def build(lead_resolution: int, peer_resolution: int | None = None):
        lead, peers = _services(tmp_path, suite, monkeypatch, lead_resolution, peer_resolution)
        made.extend([lead, *peers])
        return lead, peers

    yield build
    for svc in made:
        svc.store.close()


def _checkin(lead: OracleService, suite: Any, event_id: str, timestamp: int, activity_id: int = 1) -> str:
    body = checkin_body(event_id, timestamp=timestamp, activity_id=activity_id, **domain_of(suite))
    resp = TestClient(lead.app).post("/oracle/v1/webhooks/ar/checkin", content=body,
                                     headers=headers_for(AR, body, int(time.time())))
    assert resp.status_code == 202, resp.text
    return resp.json()["attestation_id"]


def _onchain_attestation(suite: Any, tx_hash: str, aid: str) -> dict[str, Any]:
    """The attestation of ``aid`` as decoded from the mined submitBatch calldata (what everyone can read)."""
    tx = suite.w3.eth.get_transaction(tx_hash)
    _, args = suite.hub.decode_function_input(tx["input"])
    for att in args["a"]:
        if "0x" + bytes(att["id"]).hex() == aid:
            return att
    raise AssertionError(f"{aid} not in the calldata of {tx_hash}")


def _starts_at(suite: Any, activity_id: int) -> int:
    return int(suite.areas.functions.getActivity(activity_id).call()[5])


def test_onchain_attestation_carries_the_hour_and_is_accepted(cluster, suite) -> None:
    lead, _ = cluster(3600)
    t = int(time.time()) - 5
    aid = _checkin(lead, suite, "coarse-1", t)
    drain(lead)
    item = lead.store.get(aid)
    assert item.state == "confirmed", item.reason
    onchain = _onchain_attestation(suite, item.tx_hash, aid)
    assert onchain["observedAt"] == max(t - t % 3600, _starts_at(suite, 1))
    assert onchain["expiresAt"] % 3600 == 0 and onchain["expiresAt"] >= t + 7 * 86_400
    assert item.observed_at == t  # the oracle keeps the exact time off-chain (dedup, rate limits)
    assert suite.token.functions.balanceOf(CITIZEN).call() == 10


def test_activity_started_ten_minutes_ago_is_clamped_to_its_start(cluster, suite) -> None:
    """With a day resolution the rounded time falls before an activity that started 10 minutes ago; the
    oracle signs the start instead, and the hub's open-activity check accepts it."""
    lead, _ = cluster(86_400)
    now = int(time.time())
    suite.call(suite.areas, "createActivity", 1, 0, 7, 2, now - 600, now + 86_400, 0)
    activity = int(suite.areas.functions.activityCount().call())
    t = now - 5
    aid = _checkin(lead, suite, "coarse-clamp", t, activity_id=activity)
    drain(lead)
    item = lead.store.get(aid)
    assert item.state == "confirmed", item.reason
    observed = _onchain_attestation(suite, item.tx_hash, aid)["observedAt"]
    if t % 86_400 > 600:  # not in the first 10 minutes of a UTC day (then the day start is after it anyway)
        assert observed == now - 600
    assert observed == max(t - t % 86_400, now - 600)
    assert suite.token.functions.balanceOf(CITIZEN).call() == 7


def test_cosigners_with_another_resolution_refuse_and_the_event_waits(cluster, suite) -> None:
    lead, peers = cluster(3600, peer_resolution=60)
    t = int(time.time()) - 5
    if t % 3600 < 60:  # both resolutions give the same minute: move the event so that they differ
        t -= 120
    aid = _checkin(lead, suite, "coarse-mismatch", t)
    lead.operator.validate_pending(time.time())
    lead.operator.collect_pending(time.time())
    item = lead.store.get(aid)
    assert item.state == "validated", item.reason  # deferred and retried, never rejected
    assert "time_resolution" in item.reason and "must be the same on every operator" in item.reason
    # Over HTTP the co-signer answers 409 with the same reason.
    resp = TestClient(peers[0].app).post("/oracle/v1/sign", json=forwarded_request(item))
    assert resp.status_code == 409 and "time_resolution here: 60 s" in resp.json()["detail"]
    # Once the consortium agrees again, the same event goes through.
    for peer in peers:
        peer.operator.time_resolution = 3600
    lead.store.defer(aid, "retry now (test)", 0, time.time())
    drain(lead)
    assert lead.store.get(aid).state == "confirmed", lead.store.get(aid).reason


def test_schedule_holds_the_batch_until_the_boundary(cluster, suite) -> None:
    lead, _ = cluster(3600)
    period = 600
    lead.submitter.config = dataclasses.replace(lead.submitter.config, schedule_seconds=period,
                                                schedule_window_seconds=30)
    aid = _checkin(lead, suite, "coarse-sched", int(time.time()) - 5)
    lead.operator.validate_pending(time.time())
    lead.operator.collect_pending(time.time())
    assert lead.store.get(aid).state == "signed"
    boundary = (int(time.time()) // period + 1) * period
    sender = lead.submitter.account.address
    sent_before = suite.w3.eth.get_transaction_count(sender)
    for now in (boundary - period + 31, boundary - 5, boundary - 0.001):
        assert lead.submitter.submit_ready(now) == 0
    assert lead.store.get(aid).state == "signed"
    assert suite.w3.eth.get_transaction_count(sender) == sent_before
    assert lead.submitter.config.next_release(boundary - 5) == boundary
    assert lead.submitter.submit_ready(boundary + 1) == 1
    lead.submitter.poll(boundary + 2)
    assert lead.store.get(aid).state == "confirmed"
    assert suite.w3.eth.get_transaction_count(sender) == sent_before + 1
