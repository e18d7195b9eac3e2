"""AttestationHub: M-of-N EIP-712 oracle attestations, replay protection, signer rotation, reward rules."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from co3chain.contracts.typed_data import (
    TypedDataError,
    attestation_digest,
    attestation_tuple,
    attestation_typed_data,
    order_signatures,
    recover_attestation_signer,
    sign_attestation,
    sign_attestation_multi,
)
from co3chain.privacy.revocation import RevocationReason
from tests.contracts.suite_helpers import (
    ADMIN_ROLE,
    Suite,
    build_suite,
    encode_error,
    events,
    latest_time,
    next_block_at,
    oracle_keys,
    reverts,
    send,
)

ZERO = "0x" + "00" * 20
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
TOKEN_REWARD = 5 * 10**18
REP_REWARD = 3 * 10**18
_ids = itertools.count(1)


@pytest.fixture
def suite(w3: Web3, accounts: list[Any], deploy: Any) -> Suite:
    s = build_suite(w3, accounts, deploy)
    now = latest_time(w3)
    for i, citizen in enumerate(accounts[3:6]):
        send(
            s.registry.functions.register(citizen.address, Web3.keccak(text=f"id-{i}"), now + 10**6),
            s.registrar,
        )
    send(s.areas.functions.createArea(s.pa.address, Web3.keccak(text="geom"), "ipfs://area"), s.pa)
    # activity 1: AR check-in, cap 2; activity 2: social post, unlimited, no token reward
    send(s.areas.functions.createActivity(1, 0, TOKEN_REWARD, REP_REWARD, now - 100, now + 10**5, 2), s.pa)
    send(s.areas.functions.createActivity(1, 1, 0, REP_REWARD, now - 100, now + 10**5, 0), s.pa)
    return s


@pytest.fixture
def alice(accounts: list[Any]) -> Any:
    return accounts[3]


def make_att(s: Suite, subject: str, **over: Any) -> dict[str, Any]:
    now = latest_time(s.w3)
    att = {
        "id": Web3.keccak(text=f"attestation-{next(_ids)}"),
        "subject": subject,
        "activityId": 1,
        "kind": 0,
        "evidenceHash": Web3.keccak(text="photo+gps"),
        "observedAt": now - 10,
        "expiresAt": now + 3600,
        "tokenReward": TOKEN_REWARD,
        "reputationReward": REP_REWARD,
        "signerSetVersion": 1,
    }
    if over.get("activityId") == 2:  # the social-post activity pays reputation only
        att["tokenReward"] = 0
    att.update(over)
    return att


def sigs(s: Suite, att: dict[str, Any], keys: list[bytes] | None = None) -> list[bytes]:
    return sign_attestation_multi(
        keys if keys is not None else s.oracle_keys[:2], s.chain_id, s.hub.address, att
    )


def submit(s: Suite, att: dict[str, Any], signatures: list[bytes], sender: Any = None) -> Any:
    return s.hub.functions.submit(attestation_tuple(att), signatures).transact(
        {"from": (sender or s.admin).address}
    )


def test_constructor_validation(w3: Web3, accounts: list[Any], deploy: Any) -> None:
    s = build_suite(w3, accounts, deploy)
    signers = [Account.from_key(k).address for k in oracle_keys(3)]
    base = [s.admin.address, s.registry.address, s.areas.address, s.token.address, s.reputation.address]
    for i in range(5):
        args = list(base)
        args[i] = ZERO
        with reverts("ZeroAddress()"):
            deploy("AttestationHub", *args, signers, 2)
    with reverts("InvalidThreshold(uint256,uint256)", 0, 3):
        deploy("AttestationHub", *base, signers, 0)
    with reverts("InvalidThreshold(uint256,uint256)", 4, 3):
        deploy("AttestationHub", *base, signers, 4)
    with reverts("InvalidThreshold(uint256,uint256)", 1, 0):
        deploy("AttestationHub", *base, [], 1)
    with reverts("DuplicateSigner(address)", signers[0]):
        deploy("AttestationHub", *base, [signers[0], signers[1], signers[0]], 2)
    with reverts("ZeroAddress()"):
        deploy("AttestationHub", *base, [signers[0], ZERO], 1)


def test_views_and_digest(suite: Suite, alice: Any) -> None:
    hub = suite.hub
    signers = [Account.from_key(k).address for k in suite.oracle_keys]
    assert hub.functions.signerSetVersion().call() == 1
    assert hub.functions.threshold().call() == 2
    assert hub.functions.getSigners().call() == signers
    assert all(hub.functions.isSigner(a).call() for a in signers)
    assert not hub.functions.isSigner(alice.address).call()
    assert not hub.functions.isSigner(ZERO).call()
    domain = hub.functions.eip712Domain().call()
    assert (domain[1], domain[2], domain[3], domain[4]) == (
        "CO3 AttestationHub",
        "1",
        suite.chain_id,
        hub.address,
    )
    att = make_att(suite, alice.address)
    on_chain = hub.functions.hashAttestation(attestation_tuple(att)).call()
    assert on_chain == attestation_digest(suite.chain_id, hub.address, att)


def test_accepts_and_rewards(suite: Suite, alice: Any, accounts: list[Any]) -> None:
    att = make_att(suite, alice.address)
    # Anyone can submit: here a random account relays it.
    tx = submit(suite, att, sigs(suite, att), sender=accounts[7])
    receipt = suite.w3.eth.wait_for_transaction_receipt(tx)
    (ev,) = events(suite.hub, receipt, "AttestationAccepted")
    assert (ev.args.id, ev.args.subject, ev.args.activityId, ev.args.kind) == (att["id"], alice.address, 1, 0)
    assert (ev.args.evidenceHash, ev.args.tokenReward, ev.args.reputationReward) == (
        att["evidenceHash"],
        TOKEN_REWARD,
        REP_REWARD,
    )
    assert suite.hub.functions.isUsed(att["id"]).call()
    assert suite.hub.functions.claimsOf(1, alice.address).call() == 1
    assert suite.token.functions.balanceOf(alice.address).call() == TOKEN_REWARD
    assert suite.token.functions.getVotes(alice.address).call() == TOKEN_REWARD  # auto self-delegated
    area_domain = (1).to_bytes(32, "big")
    assert suite.reputation.functions.scoreOf(alice.address, area_domain).call() == REP_REWARD
    assert suite.reputation.functions.scoreOf(alice.address, b"\x00" * 32).call() == REP_REWARD


def test_all_signers_may_sign(suite: Suite, alice: Any) -> None:
    att = make_att(suite, alice.address)
    submit(suite, att, sigs(suite, att, suite.oracle_keys))
    assert suite.hub.functions.isUsed(att["id"]).call()


def test_replay_is_rejected(suite: Suite, alice: Any) -> None:
    att = make_att(suite, alice.address)
    signatures = sigs(suite, att)
    submit(suite, att, signatures)
    with reverts("AttestationAlreadyUsed(bytes32)", att["id"]):
        submit(suite, att, signatures)
    # Same id with other content is the same attestation as far as replay goes.
    other = dict(att, activityId=2, kind=1, tokenReward=0)
    with reverts("AttestationAlreadyUsed(bytes32)", att["id"]):
        submit(suite, other, sigs(suite, other))


def test_expired_attestation(suite: Suite, tester: Any, alice: Any) -> None:
    now = latest_time(suite.w3)
    att = make_att(suite, alice.address, expiresAt=now + 50)
    signatures = sigs(suite, att)
    next_block_at(tester, now + 51)
    with reverts("AttestationExpired(bytes32,uint64)", att["id"], now + 50):
        submit(suite, att, signatures)
    on_time = make_att(suite, alice.address, expiresAt=latest_time(suite.w3) + 5)
    next_block_at(tester, on_time["expiresAt"])  # block.timestamp == expiresAt is still valid
    submit(suite, on_time, sigs(suite, on_time))


def test_wrong_signer_set_version(suite: Suite, alice: Any) -> None:
    att = make_att(suite, alice.address, signerSetVersion=2)
    with reverts("WrongSignerSetVersion(uint64,uint64)", 2, 1):
        submit(suite, att, sigs(suite, att))


def test_signature_count_below_threshold(suite: Suite, alice: Any) -> None:
    att = make_att(suite, alice.address)
    with reverts("InsufficientSignatures(uint256,uint256)", 1, 2):
        submit(suite, att, sigs(suite, att, suite.oracle_keys[:1]))
    with reverts("InsufficientSignatures(uint256,uint256)", 0, 2):
        submit(suite, att, [])


def test_unsorted_and_duplicate_signatures(suite: Suite, alice: Any) -> None:
    att = make_att(suite, alice.address)
    ordered = sigs(suite, att)
    with reverts("SignersNotAscending(uint256)", 1):
        submit(suite, att, list(reversed(ordered)))
    with reverts("SignersNotAscending(uint256)", 1):
        submit(suite, att, [ordered[0], ordered[0]])
    with reverts("SignersNotAscending(uint256)", 2):
        submit(suite, att, [*ordered, ordered[1]])


def test_non_signer_and_tampered_content(suite: Suite, alice: Any, accounts: list[Any]) -> None:
    att = make_att(suite, alice.address)
    outsider = accounts[9]
    signatures = sign_attestation_multi(
        [suite.oracle_keys[0], outsider.key], suite.chain_id, suite.hub.address, att
    )
    with reverts("NotASigner(address)", outsider.address):
        submit(suite, att, signatures)
    tampered = dict(att, evidenceHash=Web3.keccak(text="other evidence"))
    with reverts("NotASigner(address)"):
        submit(suite, tampered, sigs(suite, att))
    # Signed for another hub (EIP-712 domain binds the verifying contract).
    foreign = sign_attestation_multi(suite.oracle_keys[:2], suite.chain_id, suite.token.address, att)
    with reverts("NotASigner(address)"):
        submit(suite, att, foreign)


def test_malformed_and_malleable_signatures(suite: Suite, alice: Any) -> None:
    att = make_att(suite, alice.address)
    good = sigs(suite, att)
    with reverts("InvalidSignature(uint256)", 0):
        submit(suite, att, [good[0][:64], good[1]])
    with reverts("InvalidSignature(uint256)", 1):
        submit(suite, att, [good[0], b"\x00" * 65])
    r, s, v = good[1][:32], int.from_bytes(good[1][32:64], "big"), good[1][64]
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # same signer, high s
    with reverts("InvalidSignature(uint256)", 1):
        submit(suite, att, [good[0], twin])


def test_subject_must_be_citizen(suite: Suite, tester: Any, alice: Any, accounts: list[Any]) -> None:
    stranger = accounts[8]
    att = make_att(suite, stranger.address)
    with reverts("SubjectNotCitizen(address)", stranger.address):
        submit(suite, att, sigs(suite, att))
    send(suite.registry.functions.revoke(alice.address, RevocationReason.UNSPECIFIED), suite.registrar)
    att = make_att(suite, alice.address)
    with reverts("SubjectNotCitizen(address)", alice.address):
        submit(suite, att, sigs(suite, att))
    # An expired citizen is not a citizen either.
    bob = accounts[4]
    expiry = suite.registry.functions.getCitizen(bob.address).call()[2]
    next_block_at(tester, expiry + 1)
    att = make_att(suite, bob.address, observedAt=expiry - 10, expiresAt=expiry + 100)
    with reverts("SubjectNotCitizen(address)", bob.address):
        submit(suite, att, sigs(suite, att))


def test_observed_in_future(suite: Suite, alice: Any) -> None:
    future = latest_time(suite.w3) + 1000
    att = make_att(suite, alice.address, observedAt=future)
    with reverts("ObservedInFuture(uint64)", future):
        submit(suite, att, sigs(suite, att))


def test_activity_must_be_open_at_observation(suite: Suite, tester: Any, alice: Any) -> None:
    activity = suite.areas.functions.getActivity(1).call()
    starts = activity[5]
    att = make_att(suite, alice.address, observedAt=starts - 1)
    with reverts("ActivityNotOpen(uint256,uint64)", 1, starts - 1):
        submit(suite, att, sigs(suite, att))
    att = make_att(suite, alice.address, activityId=42)
    with reverts("ActivityNotOpen(uint256,uint64)", 42, att["observedAt"]):
        submit(suite, att, sigs(suite, att))
    # Close the activity: observations before the close still count, later ones are refused.
    observed_before = latest_time(suite.w3)
    send(suite.areas.functions.closeActivity(1), suite.pa)
    closed_at = suite.areas.functions.getActivity(1).call()[8]
    next_block_at(tester, closed_at + 20)
    late = make_att(suite, alice.address, observedAt=closed_at + 5)
    with reverts("ActivityNotOpen(uint256,uint64)", 1, closed_at + 5):
        submit(suite, late, sigs(suite, late))
    early = make_att(suite, alice.address, observedAt=observed_before)
    submit(suite, early, sigs(suite, early))


def test_kind_must_match_activity(suite: Suite, alice: Any) -> None:
    att = make_att(suite, alice.address, kind=3)
    with reverts("KindMismatch(uint8,uint8)", 0, 3):
        submit(suite, att, sigs(suite, att))


def test_claim_cap(suite: Suite, alice: Any, accounts: list[Any]) -> None:
    for _ in range(2):
        att = make_att(suite, alice.address)
        submit(suite, att, sigs(suite, att))
    att = make_att(suite, alice.address)
    with reverts("ClaimCapExceeded(address,uint256,uint32)", alice.address, 1, 2):
        submit(suite, att, sigs(suite, att))
    # The cap is per citizen.
    bob = accounts[4]
    att = make_att(suite, bob.address)
    submit(suite, att, sigs(suite, att))
    assert suite.hub.functions.claimsOf(1, alice.address).call() == 2
    assert suite.hub.functions.claimsOf(1, bob.address).call() == 1


def test_unlimited_activity_without_token_reward(suite: Suite, alice: Any) -> None:
    for _ in range(3):
        att = make_att(suite, alice.address, activityId=2, kind=1)
        submit(suite, att, sigs(suite, att))
    assert suite.hub.functions.claimsOf(2, alice.address).call() == 3
    assert suite.token.functions.balanceOf(alice.address).call() == 0
    assert suite.reputation.functions.scoreOf(alice.address, (1).to_bytes(32, "big")).call() > 2 * REP_REWARD


def test_set_signers_rotates_and_invalidates(suite: Suite, alice: Any, accounts: list[Any]) -> None:
    hub = suite.hub
    new_keys = oracle_keys(5)[3:]
    new_signers = [Account.from_key(k).address for k in new_keys]
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", alice.address, ADMIN_ROLE):
        hub.functions.setSigners(new_signers, 1).transact({"from": alice.address})
    with reverts("InvalidThreshold(uint256,uint256)", 3, 2):
        hub.functions.setSigners(new_signers, 3).transact({"from": suite.admin.address})
    with reverts("DuplicateSigner(address)", new_signers[0]):
        hub.functions.setSigners([new_signers[0], new_signers[0]], 1).transact({"from": suite.admin.address})

    pending = make_att(suite, alice.address)
    old_sigs = sigs(suite, pending)
    receipt = send(hub.functions.setSigners(new_signers, 2), suite.admin)
    (ev,) = events(hub, receipt, "SignerSetUpdated")
    assert (ev.args.version, ev.args.signers, ev.args.threshold) == (2, new_signers, 2)
    assert hub.functions.signerSetVersion().call() == 2
    assert not hub.functions.isSigner(Account.from_key(suite.oracle_keys[0]).address).call()
    assert hub.functions.isSigner(new_signers[0]).call()
    with reverts("WrongSignerSetVersion(uint64,uint64)", 1, 2):
        submit(suite, pending, old_sigs)
    # Old signers re-signing for the new version are no longer signers.
    v2 = dict(pending, signerSetVersion=2)
    with reverts("NotASigner(address)"):
        submit(suite, v2, sigs(suite, v2))
    submit(suite, v2, sign_attestation_multi(new_keys, suite.chain_id, hub.address, v2))
    assert hub.functions.isUsed(v2["id"]).call()
    # A signer can come back in a later set.
    send(hub.functions.setSigners([Account.from_key(suite.oracle_keys[0]).address], 1), suite.admin)
    assert hub.functions.isSigner(Account.from_key(suite.oracle_keys[0]).address).call()
    assert not hub.functions.isSigner(new_signers[0]).call()


def test_submit_batch_skips_failures(suite: Suite, alice: Any, accounts: list[Any]) -> None:
    good = make_att(suite, alice.address)
    expired = make_att(suite, alice.address, expiresAt=latest_time(suite.w3) - 1)
    stranger = make_att(suite, accounts[8].address)
    items = [good, expired, good, stranger]
    signatures = [sigs(suite, a) for a in items]
    fn = suite.hub.functions.submitBatch([attestation_tuple(a) for a in items], signatures)
    assert fn.call({"from": suite.admin.address}) == [True, False, False, False]
    receipt = send(fn, suite.admin)
    accepted = events(suite.hub, receipt, "AttestationAccepted")
    assert [e.args.id for e in accepted] == [good["id"]]
    rejected = events(suite.hub, receipt, "AttestationRejected")
    assert [(e.args.id, e.args.reason) for e in rejected] == [
        (
            expired["id"],
            encode_error("AttestationExpired(bytes32,uint64)", expired["id"], expired["expiresAt"]),
        ),
        (good["id"], encode_error("AttestationAlreadyUsed(bytes32)", good["id"])),
        (stranger["id"], encode_error("SubjectNotCitizen(address)", accounts[8].address)),
    ]
    assert suite.token.functions.balanceOf(alice.address).call() == TOKEN_REWARD
    assert not suite.hub.functions.isUsed(expired["id"]).call()


def test_submit_batch_length_mismatch(suite: Suite, alice: Any) -> None:
    att = make_att(suite, alice.address)
    with reverts("LengthMismatch(uint256,uint256)", 1, 0):
        suite.hub.functions.submitBatch([attestation_tuple(att)], []).transact({"from": suite.admin.address})


def test_single_signature_helper_matches_multi(suite: Suite, alice: Any) -> None:
    att = make_att(suite, alice.address)
    keys = suite.oracle_keys[:2]
    singles = [sign_attestation(k, suite.chain_id, suite.hub.address, att) for k in keys]
    assert sorted(singles) == sorted(sigs(suite, att, keys))


def test_typed_data_accepts_hex_and_rejects_bad_input(alice: Any) -> None:
    att = {
        "id": "0x" + "11" * 32,
        "subject": alice.address.lower(),
        "activityId": 1,
        "kind": 0,
        "evidenceHash": bytes(32),
        "observedAt": 1,
        "expiresAt": 2,
        "tokenReward": 10,
        "reputationReward": 0,
        "signerSetVersion": 1,
    }
    data = attestation_typed_data(1, "0x" + "22" * 20, att)
    assert data["primaryType"] == "Attestation"
    assert data["message"]["id"] == b"\x11" * 32
    assert data["message"]["subject"] == alice.address
    bad_cases = [
        ({k: v for k, v in att.items() if k != "kind"}, "missing fields"),
        (dict(att, extra=1), "unknown fields"),
        (dict(att, id="0x1234"), "expected 32 bytes"),
        (dict(att, id="0xzz" + "00" * 31), "not a hex string"),
        (dict(att, subject="0x1234"), "not an address"),
        (dict(att, kind=256), "does not fit in uint8"),
        (dict(att, observedAt=-1), "does not fit in uint64"),
        (dict(att, activityId=True), "expected an integer"),
        (dict(att, tokenReward=2**256), "does not fit in uint256"),
        ({k: v for k, v in att.items() if k != "reputationReward"}, "missing fields"),
    ]
    for bad, message in bad_cases:
        with pytest.raises(TypedDataError, match=message):
            attestation_typed_data(1, "0x" + "22" * 20, bad)
    with pytest.raises(TypedDataError, match="not an address"):
        attestation_typed_data(1, "hub", att)


def test_order_signatures_rejects_duplicate_signer() -> None:
    signer = Account.from_key(oracle_keys(1)[0]).address
    with pytest.raises(TypedDataError, match="duplicate signer"):
        order_signatures([(signer, b"a"), (signer.lower(), b"b")])
    assert order_signatures([("0x" + "02" * 20, b"b"), ("0x" + "01" * 20, b"a")]) == [b"a", b"b"]


def test_recover_attestation_signer(suite: Suite, alice: Any) -> None:
    att = make_att(suite, alice.address)
    key = suite.oracle_keys[2]
    sig = sign_attestation(key, suite.chain_id, suite.hub.address, att)
    assert (
        recover_attestation_signer(suite.chain_id, suite.hub.address, att, sig)
        == Account.from_key(key).address
    )


# -- defect: unbounded rewards after signing (issue 10, defect 1) ------------------------------------------
DAY = 86_400
HOUR = 3600
BIG = 2**208 - 1  # the amount of the reported attack (ERC20Votes' safe supply)


def limits(max_token: int, max_rep: int, token_budget: int, rep_budget: int, period: int = DAY) -> tuple:
    return (max_token, max_rep, token_budget, rep_budget, period)


def norm(value: Any) -> Any:
    """Web3 returns structs as tuples and multiple outputs as lists: compare both as tuples."""
    return tuple(norm(v) for v in value) if isinstance(value, (list, tuple)) else value


def raise_rewards(s: Suite, activity_id: int, token: int, rep: int) -> None:
    a = s.areas.functions.getActivity(activity_id).call()
    send(s.areas.functions.updateActivity(activity_id, token, rep, a[5], a[6], a[7]), s.pa)


def test_rule_change_after_signing_does_not_apply(suite: Suite, alice: Any) -> None:
    """The attack: oracles sign a check-in, then the area manager raises the reward to 2^208-1."""
    att = make_att(suite, alice.address)
    signatures = sigs(suite, att)
    raise_rewards(suite, 1, BIG, BIG)
    receipt = suite.w3.eth.wait_for_transaction_receipt(submit(suite, att, signatures))
    (ev,) = events(suite.hub, receipt, "AttestationAccepted")
    assert (ev.args.tokenReward, ev.args.reputationReward) == (TOKEN_REWARD, REP_REWARD)
    assert suite.token.functions.balanceOf(alice.address).call() == TOKEN_REWARD
    assert suite.reputation.functions.scoreOf(alice.address, (1).to_bytes(32, "big")).call() == REP_REWARD
    # Lowering the rule after signing does not apply either: the signed amount is what was promised.
    low = make_att(suite, alice.address)
    low_sigs = sigs(suite, low)
    raise_rewards(suite, 1, 1, 1)
    submit(suite, low, low_sigs)
    assert suite.token.functions.balanceOf(alice.address).call() == 2 * TOKEN_REWARD


def test_signed_reward_is_bound_by_the_signatures(suite: Suite, alice: Any) -> None:
    """A relayer cannot change the reward of a signed attestation: the signatures no longer recover."""
    att = make_att(suite, alice.address)
    signatures = sigs(suite, att)
    with reverts("NotASigner(address)"):
        submit(suite, dict(att, tokenReward=BIG), signatures)
    with reverts("NotASigner(address)"):
        submit(suite, dict(att, reputationReward=REP_REWARD + 1), signatures)


def test_oracles_cannot_sign_above_the_default_caps(suite: Suite, alice: Any) -> None:
    """Even if the oracles sign the raised rule (manager raised it before validation), the caps hold."""
    hub = suite.hub
    assert norm(hub.functions.defaultRewardLimits().call()) == (10**21, 10**21, 10**23, 10**23, DAY)
    raise_rewards(suite, 1, BIG, BIG)
    att = make_att(suite, alice.address, tokenReward=BIG, reputationReward=BIG)
    with reverts("ActivityRewardCapExceeded(uint256,uint256,uint256)", 1, BIG, BIG):
        submit(suite, att, sigs(suite, att))
    at_cap = make_att(suite, alice.address, tokenReward=10**21, reputationReward=10**21)
    submit(suite, at_cap, sigs(suite, at_cap))
    assert suite.token.functions.balanceOf(alice.address).call() == 10**21


def test_reward_limits_are_admin_only_and_logged(suite: Suite, alice: Any) -> None:
    hub, admin = suite.hub, suite.admin
    lim = limits(7, 8, 70, 80, 3600)
    for fn in (
        hub.functions.setDefaultRewardLimits(lim),
        hub.functions.setAreaRewardLimits(1, lim),
        hub.functions.clearAreaRewardLimits(1),
        hub.functions.setActivityRewardLimits(1, lim),
        hub.functions.clearActivityRewardLimits(1),
    ):
        with reverts("AccessControlUnauthorizedAccount(address,bytes32)", alice.address, ADMIN_ROLE):
            fn.transact({"from": alice.address})
        with reverts("AccessControlUnauthorizedAccount(address,bytes32)", suite.pa.address, ADMIN_ROLE):
            fn.transact({"from": suite.pa.address})  # the area manager cannot lift its own caps
    with reverts("InvalidRewardLimits()"):
        hub.functions.setDefaultRewardLimits(limits(1, 1, 1, 1, 0)).transact({"from": admin.address})
    with reverts("InvalidRewardLimits()"):
        hub.functions.setAreaRewardLimits(1, limits(1, 1, 1, 1, 0)).transact({"from": admin.address})
    with reverts("UnknownArea(uint256)", 9):
        hub.functions.setAreaRewardLimits(9, lim).transact({"from": admin.address})
    with reverts("UnknownActivity(uint256)", 3):
        hub.functions.setActivityRewardLimits(3, lim).transact({"from": admin.address})
    with reverts("UnknownActivity(uint256)", 0):
        hub.functions.setActivityRewardLimits(0, lim).transact({"from": admin.address})

    default = norm(hub.functions.defaultRewardLimits().call())
    assert norm(hub.functions.areaRewardLimits(1).call()) == (default, False)
    (ev,) = events(hub, send(hub.functions.setAreaRewardLimits(1, lim), admin), "AreaRewardLimitsSet")
    assert (ev.args.areaId, tuple(ev.args.limits.values())) == (1, lim)
    assert norm(hub.functions.areaRewardLimits(1).call()) == (lim, True)
    (ev,) = events(hub, send(hub.functions.setActivityRewardLimits(2, lim), admin), "ActivityRewardLimitsSet")
    assert (ev.args.activityId, tuple(ev.args.limits.values())) == (2, lim)
    assert norm(hub.functions.activityRewardLimits(2).call()) == (lim, True)
    assert norm(hub.functions.activityRewardLimits(1).call()) == (default, False)
    (ev,) = events(hub, send(hub.functions.clearAreaRewardLimits(1), admin), "AreaRewardLimitsCleared")
    assert ev.args.areaId == 1 and norm(hub.functions.areaRewardLimits(1).call()) == (default, False)
    (ev,) = events(hub, send(hub.functions.clearActivityRewardLimits(2), admin), "ActivityRewardLimitsCleared")
    assert ev.args.activityId == 2 and norm(hub.functions.activityRewardLimits(2).call()) == (default, False)
    (ev,) = events(hub, send(hub.functions.setDefaultRewardLimits(lim), admin), "DefaultRewardLimitsSet")
    assert tuple(ev.args.limits.values()) == lim
    assert norm(hub.functions.areaRewardLimits(1).call()) == (lim, False)


def test_constructor_logs_the_initial_default_limits(w3: Web3, accounts: list[Any], deploy: Any) -> None:
    s = build_suite(w3, accounts, deploy)
    logs = s.hub.events.DefaultRewardLimitsSet().get_logs(from_block=0)
    assert [tuple(e.args.limits.values()) for e in logs] == [(10**21, 10**21, 10**23, 10**23, DAY)]


def test_per_claim_caps_of_area_and_activity(suite: Suite, alice: Any) -> None:
    send(suite.hub.functions.setActivityRewardLimits(1, limits(TOKEN_REWARD, REP_REWARD, 10**27, 10**27)), suite.admin)
    over = make_att(suite, alice.address, tokenReward=TOKEN_REWARD + 1)
    with reverts("ActivityRewardCapExceeded(uint256,uint256,uint256)", 1, TOKEN_REWARD + 1, REP_REWARD):
        submit(suite, over, sigs(suite, over))
    # The area's cap applies to each of its activities, on top of the activity's own.
    send(suite.hub.functions.setAreaRewardLimits(1, limits(10**27, REP_REWARD - 1, 10**27, 10**27)), suite.admin)
    att = make_att(suite, alice.address)
    with reverts("AreaRewardCapExceeded(uint256,uint256,uint256)", 1, TOKEN_REWARD, REP_REWARD):
        submit(suite, att, sigs(suite, att))
    send(suite.hub.functions.clearAreaRewardLimits(1), suite.admin)
    submit(suite, att, sigs(suite, att))
    assert suite.hub.functions.isUsed(att["id"]).call()


def test_budgets_per_period(suite: Suite, tester: Any, accounts: list[Any]) -> None:
    hub, admin = suite.hub, suite.admin
    alice, bob, carol = accounts[3], accounts[4], accounts[5]
    # Activity 1: two rewards per hour; area 1 (activities 1 and 2): three reputation rewards per hour.
    send(hub.functions.setActivityRewardLimits(1, limits(10**27, 10**27, 2 * TOKEN_REWARD, 10**27, HOUR)), admin)
    send(hub.functions.setAreaRewardLimits(1, limits(10**27, 10**27, 10**27, 3 * REP_REWARD, HOUR)), admin)
    now = latest_time(suite.w3)
    hour = now - now % HOUR + HOUR
    next_block_at(tester, hour + 10)  # start of a fresh window, far from its end
    for who in (alice, bob):
        att = make_att(suite, who.address)
        submit(suite, att, sigs(suite, att))
    assert norm(hub.functions.activitySpent(1).call()) == (hour, 2 * TOKEN_REWARD, 2 * REP_REWARD)
    third = make_att(suite, carol.address)
    with reverts("ActivityBudgetExceeded(uint256,uint64)", 1, hour):
        submit(suite, third, sigs(suite, third))
    social = make_att(suite, carol.address, activityId=2, kind=1)
    submit(suite, social, sigs(suite, social))
    assert norm(hub.functions.areaSpent(1).call()) == (hour, 2 * TOKEN_REWARD, 3 * REP_REWARD)
    more = make_att(suite, carol.address, activityId=2, kind=1)
    with reverts("AreaBudgetExceeded(uint256,uint64)", 1, hour):
        submit(suite, more, sigs(suite, more))
    # A failed submission spends nothing; the next period starts afresh.
    assert norm(hub.functions.activitySpent(1).call()) == (hour, 2 * TOKEN_REWARD, 2 * REP_REWARD)
    next_block_at(tester, hour + HOUR + 1)
    assert norm(hub.functions.areaSpent(1).call()) == (hour + HOUR, 0, 0)
    third = make_att(suite, carol.address, observedAt=hour + HOUR - 5, expiresAt=hour + 2 * HOUR)
    submit(suite, third, sigs(suite, third))
    assert norm(hub.functions.activitySpent(1).call()) == (hour + HOUR, TOKEN_REWARD, REP_REWARD)


def test_signer_set_version_is_in_the_signed_struct(suite: Suite, alice: Any) -> None:
    """Rotation invalidates old signatures because the version is signed (the type hash names it)."""
    type_string = (
        "Attestation(bytes32 id,address subject,uint256 activityId,uint8 kind,bytes32 evidenceHash,"
        "uint64 observedAt,uint64 expiresAt,uint256 tokenReward,uint256 reputationReward,uint64 signerSetVersion)"
    )
    assert suite.hub.functions.ATTESTATION_TYPEHASH().call() == Web3.keccak(text=type_string)
    att = make_att(suite, alice.address)
    assert attestation_digest(suite.chain_id, suite.hub.address, att) != attestation_digest(
        suite.chain_id, suite.hub.address, dict(att, signerSetVersion=2)
    )
