"""EIP-712 ``BudgetBallot`` messages of ParticipatoryBudget: build, sign, recover.

Why separate from the governance helpers: the budget ballot has its own domain name (a signed budget ballot
can never be replayed on the governance contract or vice versa) and carries a project bitmask, not a support.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, keccak, to_checksum_address

from co3chain.contracts.typed_data import EIP712_DOMAIN_TYPE
from co3chain.errors import Co3Error

DOMAIN_NAME = "CO3 ParticipatoryBudget"
DOMAIN_VERSION = "1"

BALLOT_TYPE = [
    {"name": "roundId", "type": "uint256"},
    {"name": "selection", "type": "uint256"},
    {"name": "voter", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]


class BudgetBallotError(Co3Error):
    """A ballot field is malformed."""


def _uint(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**256:
        raise BudgetBallotError(f"{name} must be an unsigned 256-bit integer, got {value!r}")
    return value


def _address(name: str, value: Any) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise BudgetBallotError(f"{name} must be a 20-byte hex address, got {value!r}")
    return to_checksum_address(value)


def ballot_typed_data(
    chain_id: int, budget_address: str, *, round_id: int, selection: int, voter: str, nonce: int
) -> dict[str, Any]:
    """Full EIP-712 message of a signed budget ballot (``castBallotBySig``)."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "BudgetBallot": BALLOT_TYPE},
        "primaryType": "BudgetBallot",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": _uint("chainId", chain_id),
            "verifyingContract": _address("verifyingContract", budget_address),
        },
        "message": {
            "roundId": _uint("roundId", round_id),
            "selection": _uint("selection", selection),
            "voter": _address("voter", voter),
            "nonce": _uint("nonce", nonce),
        },
    }


def ballot_digest(typed_data: dict[str, Any]) -> bytes:
    """The 32-byte digest the contract verifies."""
    signable = encode_typed_data(full_message=typed_data)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_ballot(
    private_key: bytes | str, chain_id: int, budget_address: str, *, round_id: int, selection: int, nonce: int
) -> bytes:
    """65-byte signature of the key's owner approving ``selection`` in ``round_id``."""
    voter = Account.from_key(private_key).address
    data = ballot_typed_data(chain_id, budget_address, round_id=round_id, selection=selection, voter=voter, nonce=nonce)
    return bytes(Account.sign_typed_data(private_key, full_message=data).signature)


def recover_voter(typed_data: dict[str, Any], signature: bytes) -> str:
    """Checksummed signer of ``signature`` over ``typed_data`` (relayer pre-check)."""
    return Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature)
