"""EIP-712 typed data of ``KeyRecovery.cancelBySig``: the old key's "do not move me" signature.

Why typed data: a citizen who still holds the old key usually holds no ETH, so the API relays the cancel; the
signature is bound to the chain id and the KeyRecovery contract (domain), to one recovery id and to the old
key's current nonce (``KeyRecovery.nonces(oldAccount)``), and expires at ``deadline`` — it cannot be replayed
on another chain, contract or request, nor twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from co3chain.contracts.typed_data import EIP712_DOMAIN_TYPE, _domain, _normalize

RECOVERY_DOMAIN_NAME = "CO3 KeyRecovery"

CANCEL_RECOVERY_TYPE = [
    {"name": "recoveryId", "type": "uint256"},
    {"name": "oldAccount", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def cancel_typed_data(chain_id: int, recovery_address: str, *, recovery_id: int, old_account: str, nonce: int,
                      deadline: int) -> dict[str, Any]:
    """Full EIP-712 message the old key signs to cancel recovery ``recovery_id``."""
    message = {"recoveryId": recovery_id, "oldAccount": old_account, "nonce": nonce, "deadline": deadline}
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "CancelRecovery": CANCEL_RECOVERY_TYPE},
        "primaryType": "CancelRecovery",
        "domain": _domain(RECOVERY_DOMAIN_NAME, chain_id, recovery_address),
        "message": _normalize(CANCEL_RECOVERY_TYPE, message, "cancelRecovery"),
    }


def sign_cancel(private_key: bytes | str, typed_data: Mapping[str, Any]) -> bytes:
    """65-byte signature over a message built by :func:`cancel_typed_data`."""
    return bytes(Account.sign_typed_data(private_key, full_message=dict(typed_data)).signature)


def cancel_digest(typed_data: Mapping[str, Any]) -> bytes:
    """The 32-byte digest ``KeyRecovery`` recovers the signer from (``cancelDigest`` on chain)."""
    signable = encode_typed_data(full_message=dict(typed_data))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def recover_cancel_signer(typed_data: Mapping[str, Any], signature: bytes | str) -> str:
    """Address that signed ``typed_data`` (for the API's pre-check before relaying)."""
    return str(Account.recover_message(encode_typed_data(full_message=dict(typed_data)), signature=signature))
