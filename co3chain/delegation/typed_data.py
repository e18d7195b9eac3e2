"""EIP-712 ``Delegate`` / ``Undelegate`` messages of ``LiquidDelegation``, computed off chain.

Why: citizens' wallets sign them, the API relays them (``delegateBySig`` / ``undelegateBySig``, open to anyone)
and the tests compare them with the contract, so every party must produce exactly the bytes it hashes.

Domain ``"CO3 Liquid Delegation"``, version ``"1"``, chain id, delegation contract address. ``nonce`` is
``LiquidDelegation.nonces(delegator)`` (one sequence per citizen: a newer signed delegation supersedes an older
unsubmitted one); ``expiry`` is a unix time after which the signature is refused.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from co3chain.contracts.typed_data import EIP712_DOMAIN_TYPE
from co3chain.contracts.typed_data import check_address as _address
from co3chain.contracts.typed_data import check_uint as _uint

DELEGATION_DOMAIN_NAME = "CO3 Liquid Delegation"
DELEGATION_DOMAIN_VERSION = "1"

DELEGATE_TYPE = [
    {"name": "delegator", "type": "address"},
    {"name": "scope", "type": "uint256"},
    {"name": "delegatee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]

UNDELEGATE_TYPE = [
    {"name": "delegator", "type": "address"},
    {"name": "scope", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]


def delegation_domain(chain_id: int, delegation_address: str) -> dict[str, Any]:
    """EIP-712 domain of a deployed ``LiquidDelegation``."""
    return {
        "name": DELEGATION_DOMAIN_NAME,
        "version": DELEGATION_DOMAIN_VERSION,
        "chainId": _uint("chainId", chain_id, 256),
        "verifyingContract": _address("verifyingContract", delegation_address),
    }


def delegate_typed_data(chain_id: int, delegation_address: str, *, delegator: str, scope: int, delegatee: str,
                        nonce: int, expiry: int) -> dict[str, Any]:
    """Typed data a citizen signs to delegate its vote in ``scope`` (0 = global, else an area id)."""
    domain = delegation_domain(chain_id, delegation_address)
    message = {
        "delegator": _address("delegator", delegator),
        "scope": _uint("scope", scope, 256),
        "delegatee": _address("delegatee", delegatee),
        "nonce": _uint("nonce", nonce, 256),
        "expiry": _uint("expiry", expiry, 256),
    }
    return {"types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "Delegate": DELEGATE_TYPE}, "primaryType": "Delegate",
            "domain": domain, "message": message}


def undelegate_typed_data(chain_id: int, delegation_address: str, *, delegator: str, scope: int, nonce: int,
                          expiry: int) -> dict[str, Any]:
    """Typed data a citizen signs to revoke its delegation in ``scope``."""
    domain = delegation_domain(chain_id, delegation_address)
    message = {
        "delegator": _address("delegator", delegator),
        "scope": _uint("scope", scope, 256),
        "nonce": _uint("nonce", nonce, 256),
        "expiry": _uint("expiry", expiry, 256),
    }
    return {"types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "Undelegate": UNDELEGATE_TYPE},
            "primaryType": "Undelegate", "domain": domain, "message": message}


def sign_typed(private_key: bytes | str, typed_data: dict[str, Any]) -> bytes:
    """65-byte signature r‖s‖v of ``typed_data`` (either message above)."""
    signed = Account.sign_message(encode_typed_data(full_message=typed_data), private_key)
    return bytes(signed.signature)


def recover_signer(typed_data: dict[str, Any], signature: bytes | str) -> str:
    """Address that signed ``typed_data`` (the API checks it before paying gas)."""
    return str(Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature))
