"""Share verification: the lead accepts only current signers' signatures over exactly its attestation."""

from __future__ import annotations

from eth_account import Account

from co3chain.oracle.events import parse_event
from co3chain.oracle.signing import OperatorKey, Share, build_attestation, ordered_signatures, verify_share
from tests.oracle.helpers import SIGNER_KEYS, SIGNERS, FakeChain, checkin_body


def _attestation():
    hub = FakeChain().hub_info
    return hub, build_attestation(parse_event("ar-app", "ar", checkin_body()), hub, 3600)


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
    again = build_attestation(parse_event("ar-app", "ar", checkin_body()), hub, 3600)
    assert att == again and att["expiresAt"] == att["observedAt"] + 3600
