"""Salted evidence commitments: the on-chain evidence hash is keccak256(salt ‖ digest) with a per-event random
salt that every operator shares and nobody outside the oracle stores; dedup still works on the digest."""

from __future__ import annotations

import time

from eth_utils import keccak
from fastapi.testclient import TestClient

from co3chain.oracle.events import parse_event, salted_commitment
from co3chain.oracle.signing import SALT_HEADER
from tests.oracle.helpers import CITIZEN, SOCIAL, headers_for, social_body


def drain(service, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not service.step():
            return
    raise AssertionError("oracle pipeline did not settle")


def post_social(client: TestClient, body: bytes, extra: dict[str, str] | None = None):
    headers = headers_for(SOCIAL, body, int(time.time()))
    headers.update(extra or {})
    return client.post("/oracle/v1/webhooks/social/event", content=body, headers=headers)


def accepted_events(suite) -> list[dict]:
    return [dict(e["args"]) for e in suite.hub.events.AttestationAccepted().get_logs(from_block=0)]


def test_social_commitment_is_salted_and_shared_by_all_operators(services, suite) -> None:
    lead, peers = services
    client = TestClient(lead.app)
    body = social_body("post-salt", timestamp=int(time.time()) - 5)
    url = "https://social.example/post-salt"
    aid = post_social(client, body).json()["attestation_id"]
    drain(lead)
    item = lead.store.get(aid)
    assert item.state == "confirmed", item.reason
    (event,) = accepted_events(suite)
    on_chain = bytes(event["evidenceHash"])
    # The bare URL (what anyone who saw the post knows) does not reproduce the public commitment ...
    assert on_chain != keccak(url.encode())
    # ... the salt kept off-chain does, and both co-signers stored the very same salt and digest.
    assert item.salt is not None and len(item.salt) == 32
    assert on_chain == salted_commitment(item.salt, keccak(url.encode()))
    assert item.evidence_digest == "0x" + keccak(url.encode()).hex()
    for peer in peers:
        twin = peer.store.get(aid)
        assert twin.evidence_salt == item.evidence_salt and twin.evidence_hash == item.evidence_hash


def test_dedup_compares_the_evidence_not_the_salted_hash(services, suite) -> None:
    lead, _ = services
    client = TestClient(lead.app)
    now = int(time.time())
    url = "https://social.example/the-same-post"
    first = post_social(client, social_body("p1", timestamp=now - 900, evidence_url=url)).json()["attestation_id"]
    drain(lead)
    # Same evidence under a new event id, outside the time window: the salts differ, the digest does not.
    again = post_social(client, social_body("p2", timestamp=now - 5, evidence_url=url)).json()["attestation_id"]
    drain(lead)
    assert lead.store.get(first).state == "confirmed"
    assert lead.store.get(again).evidence_hash != lead.store.get(first).evidence_hash
    second = lead.store.get(again)
    assert second.state == "rejected" and "duplicate" in second.reason
    assert suite.token.functions.balanceOf(CITIZEN).call() == 3


def test_a_source_cannot_choose_the_salt(services) -> None:
    lead, _ = services
    chosen = "0x" + "00" * 32
    body = social_body("post-chosen", timestamp=int(time.time()) - 5)
    aid = post_social(TestClient(lead.app), body, {SALT_HEADER: chosen}).json()["attestation_id"]
    assert lead.store.get(aid).evidence_salt not in (None, chosen)


def test_unsalted_parse_keeps_the_legacy_commitment() -> None:
    body = social_body("legacy")
    event = parse_event("social", "social", body)
    assert event.evidence_salt is None
    assert event.evidence_hash == event.evidence_digest == keccak(b"https://social.example/legacy")
    salted = event.with_salt(b"\x01" * 32)
    assert salted.evidence_hash == keccak(b"\x01" * 32 + event.evidence_digest)


def test_a_cosigner_that_queued_the_event_under_another_salt_refuses(services, suite) -> None:
    lead, peers = services
    body = social_body("post-twice", timestamp=int(time.time()) - 5)
    direct = post_social(TestClient(peers[0].app), body).json()["attestation_id"]  # delivered to a peer too
    aid = post_social(TestClient(lead.app), body).json()["attestation_id"]
    assert direct == aid and peers[0].store.get(aid).evidence_salt != lead.store.get(aid).evidence_salt
    lead.operator.validate_pending(time.time())
    from co3chain.oracle.operator import LocalCosigner
    from co3chain.oracle.signing import CosignRefused

    try:
        LocalCosigner(peers[0].operator).request_share(lead.store.get(aid))
    except CosignRefused as exc:
        assert "another evidence salt" in str(exc)
    else:
        raise AssertionError("a co-signer must not sign a commitment under a salt it did not record")
    drain(lead)  # the other co-signer agrees: 2 of 3 still confirm it, under the lead's salt
    assert lead.store.get(aid).state == "confirmed"
    (event,) = accepted_events(suite)
    assert "0x" + bytes(event["evidenceHash"]).hex() == lead.store.get(aid).evidence_hash
