"""Share verification: the lead accepts only current signers' signatures over exactly its attestation."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account

from co3chain.errors import Co3Error
from co3chain.oracle.events import parse_event
from co3chain.oracle.signing import OperatorKey, Share, build_attestation, ordered_signatures, verify_share
from tests.oracle.helpers import SIGNER_KEYS, SIGNERS, T0, FakeChain, checkin_body


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
    assert att == again


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


def _at(timestamp: int, starts_at: int, resolution: int, ttl: int = 7 * 86_400) -> dict:
    chain = FakeChain()
    activity = dataclasses.replace(chain.activities[1], starts_at=starts_at)
    event = parse_event("ar-app", "ar", checkin_body(timestamp=timestamp))
    return build_attestation(event, chain.hub_info, activity, ttl, time_resolution_s=resolution)


def test_signed_time_is_rounded_down_to_the_resolution() -> None:
    """Issue 19: the public observedAt says only the hour (default); expiresAt does not give the exact
    second back either (exact + ttl rounded up, so never earlier than with exact times)."""
    hour, day = 3600, 86_400
    event_time = T0 + 37 * 60 + 12  # 12:37:12 on an hour boundary T0
    att = _at(event_time, starts_at=T0 - day, resolution=hour)
    assert att["observedAt"] == T0
    assert att["expiresAt"] == T0 + 7 * day + hour >= event_time + 7 * day
    # Default (no argument) is the hour; 1 is the exact second as before.
    chain = FakeChain()
    event = parse_event("ar-app", "ar", checkin_body(timestamp=event_time))
    assert build_attestation(event, chain.hub_info, chain.activities[1], 60)["observedAt"] == T0
    exact = _at(event_time, starts_at=T0 - day, resolution=1)
    assert (exact["observedAt"], exact["expiresAt"]) == (event_time, event_time + 7 * day)
    # Two events in the same hour carry the same public times.
    other = _at(T0 + 59 * 60 + 59, starts_at=T0 - day, resolution=hour)
    assert (other["observedAt"], other["expiresAt"]) == (att["observedAt"], att["expiresAt"])
    # 15-minute resolution.
    assert _at(event_time, starts_at=T0 - day, resolution=900)["observedAt"] == T0 + 30 * 60


def test_signed_time_is_clamped_to_the_activity_start() -> None:
    """An activity that started 10 minutes before the event: rounding down would fall before its start and
    the hub's open-activity check would fail, so the signed time is the start itself."""
    starts = T0 + 30 * 60
    att = _at(starts + 10 * 60, starts_at=starts, resolution=3600)
    assert att["observedAt"] == starts
    assert att["expiresAt"] >= starts + 10 * 60 + 7 * 86_400
    # Never after the event, even for an event at the very start.
    assert _at(starts, starts_at=starts, resolution=3600)["observedAt"] == starts


@pytest.mark.parametrize("bad", [0, -5, 86_401, 1.5, True, "3600"])
def test_bad_time_resolution_is_refused(bad) -> None:
    with pytest.raises(Co3Error, match="time resolution"):
        _at(T0, starts_at=T0 - 86_400, resolution=bad)
