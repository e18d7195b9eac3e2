"""Share verification: the lead accepts only current signers' signatures over exactly its attestation."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account

from co3chain.errors import Co3Error
from co3chain.oracle.events import parse_event
from co3chain.oracle.signing import OperatorKey, Share, build_attestation, ordered_signatures, verify_share
from tests.oracle.helpers import SIGNER_KEYS, SIGNERS, FakeChain, checkin_body


def _attestation():
    chain = FakeChain()
    hub = chain.hub_info
    return hub, build_attestation(parse_event("ar-app", "ar", checkin_body()), hub, chain.activities[1], 3600)


def test_valid_share_is_accepted_and_ordering_is_ascending() -> None:
    hub, att = _attestation()
    shares = [OperatorKey(k).sign(hub, att) for k in reversed(SIGNER_KEYS)]
    assert all(verify_share(s, hub, att) is None for s in shares)
    ordered = ordered_signatures(shares, 2)
    assert [s["signer"] for s in ordered] == sorted(SIGNERS, key=lambda a: int(a, 16))[:2]


def test_forged_or_foreign_shares_are_refused() -> None:
    hub, att = _attestation()
    good = OperatorKey(SIGNER_KEYS[1]).sign(hub, att)
    # A signature over a different attestation (e.g. a bigger reward subject) is not counted.
    other = {**att, "observedAt": att["observedAt"] + 1}
    assert "different attestation" in verify_share(Share(good.signer, good.signature, other), hub, att)
    # A share claiming to be signer 2 but signed by signer 1.
    assert "recovers to" in verify_share(Share(SIGNERS[2], good.signature, att), hub, att)
    # A key outside the signer set cannot even produce a share, and a hand-made one is refused.
    outsider = Account.from_key(b"\x55" * 32)
    from co3chain.contracts.typed_data import sign_attestation

    sig = sign_attestation(b"\x55" * 32, hub.chain_id, hub.address, att)
    assert "not a current signer" in verify_share(Share(outsider.address, sig, att), hub, att)
    assert "unrecoverable" in verify_share(Share(SIGNERS[0], b"\x00" * 65, att), hub, att)


def test_attestation_is_deterministic_across_operators() -> None:
    hub, att = _attestation()
    again = build_attestation(parse_event("ar-app", "ar", checkin_body()), hub, FakeChain().activities[1], 3600)
    assert att == again and att["expiresAt"] == att["observedAt"] + 3600


def test_attestation_carries_the_reward_rule_it_was_derived_from() -> None:
    """The reward is signed: an attestation derived under another rule is another attestation."""
    chain = FakeChain()
    event = parse_event("ar-app", "ar", checkin_body())
    att = build_attestation(event, chain.hub_info, chain.activities[1], 3600)
    assert (att["tokenReward"], att["reputationReward"]) == (10, 5)
    raised = dataclasses.replace(chain.activities[1], token_reward=2**208 - 1)
    other = build_attestation(event, chain.hub_info, raised, 3600)
    assert other["tokenReward"] == 2**208 - 1
    share = OperatorKey(SIGNER_KEYS[0]).sign(chain.hub_info, other)
    assert "different attestation" in verify_share(share, chain.hub_info, att)
    with pytest.raises(Co3Error, match="activity 2 given for an event of activity 1"):
        build_attestation(event, chain.hub_info, chain.activities[2], 3600)
