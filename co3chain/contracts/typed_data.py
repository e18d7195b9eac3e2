"""EIP-712 typed data of the CO3 suite's signed messages: oracle attestations and gasless token spends.

Why a shared module: the oracle (signing), the API (relaying, pre-checks), the audit toolkit and the tests
must all produce byte-identical digests to what ``AttestationHub`` and ``CommonsToken`` verify on chain.
Keeping the type strings and domain names in one place makes a drift a single-file change.

Attestation dicts use the Solidity field names (``id, subject, activityId, kind, evidenceHash, observedAt,
expiresAt, tokenReward, reputationReward, signerSetVersion``); ``bytes32`` fields accept ``bytes`` or ``0x``
hex strings.  The rewards are signed so that the hub mints what the oracles saw when they validated, never a
rule changed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, keccak, to_checksum_address

from co3chain.errors import Co3Error

ATTESTATION_DOMAIN_NAME = "CO3 AttestationHub"
TOKEN_DOMAIN_NAME = "CO3 Commons"
DOMAIN_VERSION = "1"

EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

ATTESTATION_TYPE = [
    {"name": "id", "type": "bytes32"},
    {"name": "subject", "type": "address"},
    {"name": "activityId", "type": "uint256"},
    {"name": "kind", "type": "uint8"},
    {"name": "evidenceHash", "type": "bytes32"},
    {"name": "observedAt", "type": "uint64"},
    {"name": "expiresAt", "type": "uint64"},
    {"name": "tokenReward", "type": "uint256"},
    {"name": "reputationReward", "type": "uint256"},
    {"name": "signerSetVersion", "type": "uint64"},
]

SPEND_TYPE = [
    {"name": "owner", "type": "address"},
    {"name": "service", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "ref", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

ATTESTATION_FIELDS: tuple[str, ...] = tuple(f["name"] for f in ATTESTATION_TYPE)

_UINT_BITS = {"uint8": 8, "uint64": 64, "uint256": 256}


class TypedDataError(Co3Error):
    """A message to sign is malformed (missing field, wrong type, out-of-range value)."""


def check_bytes32(name: str, value: Any) -> bytes:
    if isinstance(value, str):
        text = value[2:] if value.startswith(("0x", "0X")) else value
        try:
            value = bytes.fromhex(text)
        except ValueError as exc:
            raise TypedDataError(f"{name}: not a hex string: {value!r}") from exc
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise TypedDataError(f"{name}: expected 32 bytes, got {value!r}")
    return bytes(value)


def check_uint(name: str, value: Any, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypedDataError(f"{name}: expected an integer, got {value!r}")
    if not 0 <= value < 2**bits:
        raise TypedDataError(f"{name}: {value} does not fit in uint{bits}")
    return value


def check_address(name: str, value: Any) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise TypedDataError(f"{name}: not an address: {value!r}")
    return to_checksum_address(value)


def _normalize(fields: list[dict[str, str]], message: Mapping[str, Any], what: str) -> dict[str, Any]:
    names = [f["name"] for f in fields]
    missing = [n for n in names if n not in message]
    extra = sorted(set(message) - set(names))
    if missing or extra:
        raise TypedDataError(f"{what}: missing fields {missing}, unknown fields {extra}")
    out: dict[str, Any] = {}
    for field in fields:
        name, typ = field["name"], field["type"]
        value = message[name]
        if typ == "bytes32":
            out[name] = check_bytes32(f"{what}.{name}", value)
        elif typ == "address":
            out[name] = check_address(f"{what}.{name}", value)
        else:
            out[name] = check_uint(f"{what}.{name}", value, _UINT_BITS[typ])
    return out


def _domain(name: str, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": DOMAIN_VERSION,
        "chainId": check_uint("chainId", chain_id, 256),
        "verifyingContract": check_address("verifyingContract", verifying_contract),
    }


def normalize_attestation(attestation: Mapping[str, Any]) -> dict[str, Any]:
    """Validated copy of ``attestation`` (bytes32 as bytes, checksummed subject); raises TypedDataError."""
    return _normalize(ATTESTATION_TYPE, attestation, "attestation")


def attestation_tuple(attestation: Mapping[str, Any]) -> tuple[Any, ...]:
    """The attestation as the ordered tuple web3 expects for the Solidity ``Attestation`` struct."""
    norm = normalize_attestation(attestation)
    return tuple(norm[name] for name in ATTESTATION_FIELDS)


def attestation_typed_data(chain_id: int, hub_address: str, attestation: Mapping[str, Any]) -> dict[str, Any]:
    """Full EIP-712 message (``types``, ``primaryType``, ``domain``, ``message``) for an attestation."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "Attestation": ATTESTATION_TYPE},
        "primaryType": "Attestation",
        "domain": _domain(ATTESTATION_DOMAIN_NAME, chain_id, hub_address),
        "message": normalize_attestation(attestation),
    }


def attestation_digest(chain_id: int, hub_address: str, attestation: Mapping[str, Any]) -> bytes:
    """The 32-byte digest each oracle signs (equals ``AttestationHub.hashAttestation``)."""
    signable = encode_typed_data(full_message=attestation_typed_data(chain_id, hub_address, attestation))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_attestation(
    private_key: bytes | str, chain_id: int, hub_address: str, attestation: Mapping[str, Any]
) -> bytes:
    """65-byte ``r || s || v`` (v = 27/28) signature of one oracle over ``attestation``."""
    data = attestation_typed_data(chain_id, hub_address, attestation)
    signed = Account.sign_typed_data(private_key, full_message=data)
    return bytes(signed.signature)


def recover_attestation_signer(
    chain_id: int, hub_address: str, attestation: Mapping[str, Any], signature: bytes
) -> str:
    """Checksummed address that produced ``signature`` over ``attestation``."""
    signable = encode_typed_data(full_message=attestation_typed_data(chain_id, hub_address, attestation))
    return Account.recover_message(signable, signature=signature)


def order_signatures(signatures: Iterable[tuple[str, bytes]]) -> list[bytes]:
    """Signatures sorted by strictly ascending signer address, as ``AttestationHub`` requires.

    ``signatures`` are ``(signer_address, signature)`` pairs; a signer appearing twice is an error
    because the hub would reject the whole submission.
    """
    pairs = sorted(((int(check_address("signer", a), 16), sig) for a, sig in signatures), key=lambda p: p[0])
    for (a, _), (b, _) in zip(pairs, pairs[1:], strict=False):
        if a == b:
            raise TypedDataError(f"duplicate signer 0x{a:040x}")
    return [sig for _, sig in pairs]


def sign_attestation_multi(
    private_keys: Iterable[bytes | str], chain_id: int, hub_address: str, attestation: Mapping[str, Any]
) -> list[bytes]:
    """Signatures of several oracle keys over ``attestation``, already in the order the hub requires."""
    pairs = []
    for key in private_keys:
        address = Account.from_key(key).address
        pairs.append((address, sign_attestation(key, chain_id, hub_address, attestation)))
    return order_signatures(pairs)


def spend_typed_data(
    chain_id: int,
    token_address: str,
    *,
    owner: str,
    service: str,
    amount: int,
    ref: bytes | str,
    nonce: int,
    deadline: int,
) -> dict[str, Any]:
    """Full EIP-712 message of a gasless ``CommonsToken.spendBySig`` authorization.

    ``nonce`` must be the owner's current ``CommonsToken.nonces(owner)``.
    """
    message = {
        "owner": owner,
        "service": service,
        "amount": amount,
        "ref": ref,
        "nonce": nonce,
        "deadline": deadline,
    }
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "Spend": SPEND_TYPE},
        "primaryType": "Spend",
        "domain": _domain(TOKEN_DOMAIN_NAME, chain_id, token_address),
        "message": _normalize(SPEND_TYPE, message, "spend"),
    }


def sign_spend(private_key: bytes | str, typed_data: Mapping[str, Any]) -> bytes:
    """65-byte signature over a message built by :func:`spend_typed_data`."""
    return bytes(Account.sign_typed_data(private_key, full_message=dict(typed_data)).signature)
