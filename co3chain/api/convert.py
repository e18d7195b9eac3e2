"""Parsing of path/body values and conversion of contract structs into response models.

Why separate: bad path values (a non-address, an id above 2^256) must be 4xx before they reach web3, whose
own validation errors would otherwise surface as 5xx.
"""

from __future__ import annotations

from typing import Any

from eth_utils import is_address, to_checksum_address

from co3chain.api import models as m
from co3chain.api.errors import ApiError
from co3chain.contracts.governance_typed_data import STATE_NAMES

MODES = ("OneCitizenOneVote", "TokenWeighted", "ReputationWeighted")
STATES = STATE_NAMES
ZERO = "0x" + "0" * 40


def address(value: str, what: str = "address") -> str:
    if not isinstance(value, str) or not value.startswith("0x") or not is_address(value):
        raise ApiError(422, "validation_error", f"{what}: {value!r} is not a 20-byte hex address")
    if value != value.lower() and value[2:] != value[2:].upper() and to_checksum_address(value) != value:
        raise ApiError(422, "validation_error", f"{what}: {value!r} has a wrong checksum")
    return to_checksum_address(value)


def uint(value: str | int, what: str, bits: int = 256) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError(422, "validation_error", f"{what}: {value!r} is not an integer") from None
    if not 0 <= number < 2**bits:
        raise ApiError(422, "validation_error", f"{what}: {number} is not a uint{bits}")
    return number


def b32(value: str, what: str) -> bytes:
    raw = value[2:] if isinstance(value, str) and value.startswith("0x") else ""
    try:
        data = bytes.fromhex(raw)
    except ValueError:
        data = b""
    if len(data) != 32:
        raise ApiError(422, "validation_error", f"{what}: expected 0x + 64 hex digits")
    return data


def sig(value: str) -> bytes:
    try:
        data = bytes.fromhex(value[2:])
    except ValueError:
        data = b""
    if len(data) != 65:
        raise ApiError(422, "validation_error", "signature: expected 65 bytes (0x + 130 hex digits)")
    return data


def hex32(value: Any) -> str:
    return "0x" + bytes(value).hex()


def activity(t: Any) -> m.Activity:
    """From ``CommoningAreas.getActivity`` (tuple in struct order)."""
    return m.Activity(id=int(t[0]), areaId=int(t[1]), kind=int(t[2]), tokenReward=str(t[3]),
                      reputationReward=str(t[4]), startsAt=int(t[5]), endsAt=int(t[6]),
                      maxClaimsPerCitizen=int(t[7]), closedAt=int(t[8]))


def activity_row(r: Any) -> m.Activity:
    return m.Activity(id=r["id"], areaId=r["area_id"], kind=r["kind"], tokenReward=r["token_reward"],
                      reputationReward=r["reputation_reward"], startsAt=r["starts_at"], endsAt=r["ends_at"],
                      maxClaimsPerCitizen=r["max_claims"], closedAt=r["closed_at"])


def vote_row(r: Any) -> m.Vote:
    return m.Vote(proposalId=r["proposal_id"], voter=r["voter"], type=r["type"], support=r["support"],
                  weight=r["weight"], commitment=r["commitment"], blockNumber=r["block"], txHash=r["tx_hash"])


def attestation_row(r: Any) -> m.Attestation:
    return m.Attestation(id=r["id"], subject=r["subject"], activityId=r["activity_id"], kind=r["kind"],
                         evidenceHash=r["evidence_hash"], tokenReward=r["token_reward"],
                         reputationReward=r["reputation_reward"], blockNumber=r["block"], txHash=r["tx_hash"])
