"""EIP-712 messages, commitments and proposal ids of ``CO3Governance``, computed off chain.

Why a module of its own: citizens' wallets (signing), the API relayer (pre-checks before paying gas), the
audit toolkit (recomputing ids and commitments) and the tests must all produce exactly the bytes the
contract hashes. Everything here is pure Python (no node, no RPC); the tests compare each function with
the contract's own view functions so a drift on either side fails loudly.

Signed messages (domain ``"CO3 Governance"``, version ``"1"``, chain id, governance address):

- ``Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)`` for ``castVoteBySig``;
- ``Commitment(uint256 proposalId,bytes32 commitment,address voter,uint256 nonce)`` for ``commitVoteBySig``;
- ``CancelBallots(uint256 proposalId,address voter,uint256 nonce)`` for ``cancelSignedVotesBySig``: uses up
  the nonce, so every ballot or commitment the voter signed with it (e.g. two conflicting ones) is void.

``nonce`` is ``CO3Governance.nonces(voter, proposalId)``: it is per (voter, proposal), so a signed vote on
one proposal never invalidates a pending signed vote on another.
"""

from __future__ import annotations

import secrets
from enum import IntEnum
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from co3chain.contracts.typed_data import EIP712_DOMAIN_TYPE, TypedDataError
from co3chain.contracts.typed_data import check_address as _address
from co3chain.contracts.typed_data import check_bytes32 as _bytes32
from co3chain.contracts.typed_data import check_uint as _uint

GOVERNANCE_DOMAIN_NAME = "CO3 Governance"
GOVERNANCE_DOMAIN_VERSION = "1"


BALLOT_TYPE = [
    {"name": "proposalId", "type": "uint256"},
    {"name": "support", "type": "uint8"},
    {"name": "voter", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]

COMMITMENT_TYPE = [
    {"name": "proposalId", "type": "uint256"},
    {"name": "commitment", "type": "bytes32"},
    {"name": "voter", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]

CANCEL_TYPE = [
    {"name": "proposalId", "type": "uint256"},
    {"name": "voter", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]


class CountingMode(IntEnum):
    """``CO3Governance.CountingMode``."""

    ONE_CITIZEN_ONE_VOTE = 0
    TOKEN_WEIGHTED = 1
    REPUTATION_WEIGHTED = 2


class Support(IntEnum):
    """Vote support values accepted by ``CO3Governance``."""

    AGAINST = 0
    FOR = 1
    ABSTAIN = 2


class ProposalState(IntEnum):
    """``CO3Governance.ProposalState``."""

    PENDING = 0
    ACTIVE = 1
    REVEALING = 2
    SUCCEEDED = 3
    DEFEATED = 4
    CANCELED = 5
    QUEUED = 6
    EXPIRED = 7
    EXECUTED = 8


#: ``ProposalState`` names as the contract, the API and the audit print them (index = enum value).
STATE_NAMES = ("Pending", "Active", "Revealing", "Succeeded", "Defeated", "Canceled", "Queued", "Expired", "Executed")


def _support(value: Any) -> int:
    support = _uint("support", value, 8)
    if support > Support.ABSTAIN:
        raise TypedDataError(f"support: {support} is not 0 (against), 1 (for) or 2 (abstain)")
    return support


def governance_domain(chain_id: int, governance_address: str) -> dict[str, Any]:
    """EIP-712 domain of a deployed ``CO3Governance``."""
    return {
        "name": GOVERNANCE_DOMAIN_NAME,
        "version": GOVERNANCE_DOMAIN_VERSION,
        "chainId": _uint("chainId", chain_id, 256),
        "verifyingContract": _address("verifyingContract", governance_address),
    }


def _governance_message(domain: dict[str, Any], primary: str, fields: list[dict[str, str]],
                        message: dict[str, Any]) -> dict[str, Any]:
    """The EIP-712 envelope (types, primary type, domain) around one checked ``message``; callers build the
    domain first so that, as before, a bad chain id or address is reported before a bad message field."""
    return {"types": {"EIP712Domain": EIP712_DOMAIN_TYPE, primary: fields}, "primaryType": primary,
            "domain": domain, "message": message}


def ballot_typed_data(
    chain_id: int, governance_address: str, *, proposal_id: int, support: int, voter: str, nonce: int
) -> dict[str, Any]:
    """Full EIP-712 message of a signed open vote (``castVoteBySig``)."""
    return _governance_message(governance_domain(chain_id, governance_address), "Ballot", BALLOT_TYPE, {
        "proposalId": _uint("proposalId", proposal_id, 256),
        "support": _support(support),
        "voter": _address("voter", voter),
        "nonce": _uint("nonce", nonce, 256),
    })


def commitment_typed_data(
    chain_id: int,
    governance_address: str,
    *,
    proposal_id: int,
    commitment: bytes | str,
    voter: str,
    nonce: int,
) -> dict[str, Any]:
    """Full EIP-712 message of a signed commitment (``commitVoteBySig``)."""
    return _governance_message(governance_domain(chain_id, governance_address), "Commitment", COMMITMENT_TYPE, {
        "proposalId": _uint("proposalId", proposal_id, 256),
        "commitment": _bytes32("commitment", commitment),
        "voter": _address("voter", voter),
        "nonce": _uint("nonce", nonce, 256),
    })


def cancel_typed_data(chain_id: int, governance_address: str, *, proposal_id: int, voter: str,
                      nonce: int) -> dict[str, Any]:
    """Full EIP-712 message of a signed cancellation of pending signed votes (``cancelSignedVotesBySig``)."""
    return _governance_message(governance_domain(chain_id, governance_address), "CancelBallots", CANCEL_TYPE, {
        "proposalId": _uint("proposalId", proposal_id, 256),
        "voter": _address("voter", voter),
        "nonce": _uint("nonce", nonce, 256),
    })


def sign_cancel(private_key: bytes | str, chain_id: int, governance_address: str, *, proposal_id: int,
                nonce: int) -> bytes:
    """Signature of the key's owner voiding its signed votes on ``proposal_id`` that use ``nonce``."""
    voter = Account.from_key(private_key).address
    return sign_typed(private_key, cancel_typed_data(chain_id, governance_address, proposal_id=proposal_id,
                                                     voter=voter, nonce=nonce))


def typed_data_digest(typed_data: dict[str, Any]) -> bytes:
    """The 32-byte EIP-712 digest the contract verifies for ``typed_data``."""
    signable = encode_typed_data(full_message=typed_data)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_typed(private_key: bytes | str, typed_data: dict[str, Any]) -> bytes:
    """65-byte ``r || s || v`` signature over a message built by this module."""
    return bytes(Account.sign_typed_data(private_key, full_message=typed_data).signature)


def recover_signer(typed_data: dict[str, Any], signature: bytes) -> str:
    """Checksummed address that produced ``signature`` over ``typed_data`` (relayer pre-check)."""
    return Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature)


def sign_ballot(
    private_key: bytes | str,
    chain_id: int,
    governance_address: str,
    *,
    proposal_id: int,
    support: int,
    nonce: int,
) -> bytes:
    """Signature of the key's owner voting ``support`` on ``proposal_id`` with ``nonce``."""
    voter = Account.from_key(private_key).address
    data = ballot_typed_data(
        chain_id, governance_address, proposal_id=proposal_id, support=support, voter=voter, nonce=nonce
    )
    return sign_typed(private_key, data)


def sign_commitment(
    private_key: bytes | str,
    chain_id: int,
    governance_address: str,
    *,
    proposal_id: int,
    commitment: bytes | str,
    nonce: int,
) -> bytes:
    """Signature of the key's owner committing ``commitment`` on ``proposal_id`` with ``nonce``."""
    voter = Account.from_key(private_key).address
    data = commitment_typed_data(
        chain_id, governance_address, proposal_id=proposal_id, commitment=commitment, voter=voter, nonce=nonce
    )
    return sign_typed(private_key, data)


def vote_commitment(proposal_id: int, voter: str, support: int, salt: bytes | str) -> bytes:
    """``keccak256(abi.encode(proposalId, voter, support, salt))``, as ``CO3Governance.voteCommitment``.

    The voter's address is inside the hash so that a commitment copied by someone else cannot be revealed
    as their vote, and the proposal id so that it cannot be reused on another proposal.
    """
    return keccak(
        encode(
            ["uint256", "address", "uint8", "bytes32"],
            [
                _uint("proposalId", proposal_id, 256),
                _address("voter", voter),
                _support(support),
                _bytes32("salt", salt),
            ],
        )
    )


def random_salt() -> bytes:
    """A fresh 32-byte salt: it must be unpredictable, or the hidden vote can be brute-forced (3 options)."""
    return secrets.token_bytes(32)


def proposal_id(
    proposer: str,
    area_id: int,
    mode: int,
    commit_reveal: bool,
    vote_start: int,
    vote_end: int,
    reveal_end: int,
    description: str,
) -> int:
    """The id ``CO3Governance.propose`` assigns when ``proposer`` submits these parameters."""
    if not isinstance(commit_reveal, bool):
        raise TypedDataError(f"commit_reveal: expected a bool, got {commit_reveal!r}")
    if not isinstance(description, str):
        raise TypedDataError(f"description: expected a string, got {description!r}")
    encoded = encode(
        ["address", "uint256", "uint8", "bool", "uint64", "uint64", "uint64", "bytes32"],
        [
            _address("proposer", proposer),
            _uint("areaId", area_id, 256),
            _uint("mode", mode, 8),
            commit_reveal,
            _uint("voteStart", vote_start, 64),
            _uint("voteEnd", vote_end, 64),
            _uint("revealEnd", reveal_end, 64),
            keccak(text=description),
        ],
    )
    return int.from_bytes(keccak(encoded), "big")


def actions_hash(targets: list[str], values: list[int], calldatas: list[bytes]) -> bytes:
    """``CO3Governance.hashActions``: keccak256(abi.encode(targets, values, calldatas))."""
    if not targets or not len(targets) == len(values) == len(calldatas):
        raise TypedDataError("actions: targets, values and calldatas must be non-empty and of equal length")
    return keccak(encode(["address[]", "uint256[]", "bytes[]"],
                         [[_address("target", t) for t in targets], [_uint("value", v, 256) for v in values],
                          [bytes(c) for c in calldatas]]))


def proposal_id_with_actions(proposer: str, mode: int, commit_reveal: bool, vote_start: int, vote_end: int,
                             reveal_end: int, description: str, targets: list[str], values: list[int],
                             calldatas: list[bytes]) -> int:
    """The id ``CO3Governance.proposeWithActions`` assigns (consortium-wide, area 0)."""
    base = proposal_id(proposer, 0, mode, commit_reveal, vote_start, vote_end, reveal_end, description)
    return int.from_bytes(keccak(encode(["uint256", "bytes32"], [base, actions_hash(targets, values, calldatas)])),
                          "big")
