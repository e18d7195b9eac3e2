"""Pure-Python checks of ``governance_typed_data``: input validation, signing round trips and id binding.

The byte-for-byte agreement with the contract is tested on chain in ``test_governance.py``; these tests
cover what a relayer or wallet sees before any transaction: bad input is refused with ``TypedDataError``.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak

from co3chain.contracts.governance_typed_data import (
    CountingMode,
    ProposalState,
    Support,
    TypedDataError,
    ballot_typed_data,
    commitment_typed_data,
    proposal_id,
    random_salt,
    recover_signer,
    sign_ballot,
    sign_commitment,
    typed_data_digest,
    vote_commitment,
)

KEY = keccak(text="typed-data-test-key")
VOTER = Account.from_key(KEY).address
GOV = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20


def test_enums_match_solidity_order() -> None:
    assert [m.value for m in CountingMode] == [0, 1, 2]
    assert [s.value for s in Support] == [0, 1, 2]
    assert [s.name for s in ProposalState] == [
        "PENDING",
        "ACTIVE",
        "REVEALING",
        "SUCCEEDED",
        "DEFEATED",
        "CANCELED",
        "QUEUED",
        "EXPIRED",
        "EXECUTED",
    ]


def test_ballot_signature_round_trip_and_binding() -> None:
    sig = sign_ballot(KEY, 1337, GOV, proposal_id=42, support=Support.FOR, nonce=0)
    data = ballot_typed_data(1337, GOV, proposal_id=42, support=1, voter=VOTER, nonce=0)
    assert recover_signer(data, sig) == VOTER
    # Every field and the domain are inside the digest.
    variants = [
        ballot_typed_data(1337, GOV, proposal_id=43, support=1, voter=VOTER, nonce=0),
        ballot_typed_data(1337, GOV, proposal_id=42, support=0, voter=VOTER, nonce=0),
        ballot_typed_data(1337, GOV, proposal_id=42, support=1, voter=OTHER, nonce=0),
        ballot_typed_data(1337, GOV, proposal_id=42, support=1, voter=VOTER, nonce=1),
        ballot_typed_data(1, GOV, proposal_id=42, support=1, voter=VOTER, nonce=0),
        ballot_typed_data(1337, OTHER, proposal_id=42, support=1, voter=VOTER, nonce=0),
    ]
    digests = {typed_data_digest(v) for v in variants} | {typed_data_digest(data)}
    assert len(digests) == len(variants) + 1
    for variant in variants:
        assert recover_signer(variant, sig) != VOTER


def test_commitment_signature_round_trip() -> None:
    commitment = vote_commitment(42, VOTER, Support.AGAINST, b"\x01" * 32)
    sig = sign_commitment(KEY, 1337, GOV, proposal_id=42, commitment=commitment, nonce=0)
    data = commitment_typed_data(
        1337, GOV, proposal_id=42, commitment="0x" + commitment.hex(), voter=VOTER, nonce=0
    )
    assert recover_signer(data, sig) == VOTER
    ballot = ballot_typed_data(1337, GOV, proposal_id=42, support=0, voter=VOTER, nonce=0)
    assert typed_data_digest(ballot) != typed_data_digest(data)


def test_vote_commitment_binds_every_input() -> None:
    salt = b"\x07" * 32
    base = vote_commitment(1, VOTER, 1, salt)
    assert vote_commitment(1, VOTER, 1, "0x" + salt.hex()) == base
    assert vote_commitment(1, VOTER.lower(), 1, salt) == base
    others = {
        vote_commitment(2, VOTER, 1, salt),
        vote_commitment(1, OTHER, 1, salt),
        vote_commitment(1, VOTER, 2, salt),
        vote_commitment(1, VOTER, 1, b"\x08" * 32),
    }
    assert base not in others and len(others) == 4


def test_proposal_id_binds_every_parameter() -> None:
    args = (VOTER, 1, CountingMode.TOKEN_WEIGHTED, True, 100, 200, 300, "text")
    base = proposal_id(*args)
    assert 0 <= base < 2**256
    changed = [
        (OTHER, *args[1:]),
        (VOTER, 2, *args[2:]),
        (*args[:2], CountingMode.REPUTATION_WEIGHTED, *args[3:]),
        (*args[:3], False, *args[4:]),
        (*args[:4], 101, *args[5:]),
        (*args[:5], 201, *args[6:]),
        (*args[:6], 301, args[7]),
        (*args[:7], "text "),
    ]
    ids = {proposal_id(*c) for c in changed}
    assert base not in ids and len(ids) == len(changed)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ballot_typed_data(1, GOV, proposal_id=-1, support=1, voter=VOTER, nonce=0),
        lambda: ballot_typed_data(1, GOV, proposal_id=2**256, support=1, voter=VOTER, nonce=0),
        lambda: ballot_typed_data(1, GOV, proposal_id=1, support=3, voter=VOTER, nonce=0),
        lambda: ballot_typed_data(1, GOV, proposal_id=1, support=True, voter=VOTER, nonce=0),
        lambda: ballot_typed_data(1, GOV, proposal_id=1, support=1, voter="alice", nonce=0),
        lambda: ballot_typed_data(1, "0x12", proposal_id=1, support=1, voter=VOTER, nonce=0),
        lambda: ballot_typed_data(-1, GOV, proposal_id=1, support=1, voter=VOTER, nonce=0),
        lambda: ballot_typed_data(1, GOV, proposal_id=1, support=1, voter=VOTER, nonce="0"),
        lambda: commitment_typed_data(1, GOV, proposal_id=1, commitment=b"\x00" * 31, voter=VOTER, nonce=0),
        lambda: commitment_typed_data(1, GOV, proposal_id=1, commitment="0xzz", voter=VOTER, nonce=0),
        lambda: vote_commitment(1, VOTER, 1, b"short"),
        lambda: vote_commitment(1, VOTER, 9, b"\x00" * 32),
        lambda: proposal_id(VOTER, 0, 0, 1, 1, 2, 0, "x"),
        lambda: proposal_id(VOTER, 0, 256, False, 1, 2, 0, "x"),
        lambda: proposal_id(VOTER, 0, 0, False, 2**64, 2, 0, "x"),
        lambda: proposal_id(VOTER, 0, 0, False, 1, 2, 0, b"x"),
    ],
)
def test_bad_input_is_refused(call: object) -> None:
    with pytest.raises(TypedDataError):
        call()  # type: ignore[operator]


def test_random_salts_are_fresh() -> None:
    salts = {random_salt() for _ in range(8)}
    assert len(salts) == 8 and all(len(s) == 32 for s in salts)
