"""EIP-712 messages of CitizenInitiatives: a citizen's signed support and the author's signed steps.

Domain: name ``"CO3 CitizenInitiatives"``, version ``"1"``, chain id, the contract (so a signature is good for
one deployment on one chain only). Messages (``nonce`` is ``nonces(signer, key)`` with key 0 for drafts, else
the initiative id, so signing one step never voids a pending signature for another initiative; ``deadline``
is the last block timestamp the signature is valid at):

- ``SupportInitiative(uint256 initiativeId,bytes32 versionHash,address supporter,uint256 nonce,uint256 deadline)``
  (``versionHash``: the version the citizen read; an initiative is frozen once open);
- ``DraftInitiative(bytes32 contentHash,address author,uint256 nonce,uint256 deadline)``;
- ``AmendInitiative(uint256 initiativeId,bytes32 contentHash,address author,uint256 nonce,uint256 deadline)``;
- ``OpenInitiative(uint256 initiativeId,bytes32 versionHash,address author,uint256 nonce,uint256 deadline)``.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from co3chain.contracts.typed_data import EIP712_DOMAIN_TYPE, check_address, check_bytes32, check_uint

DOMAIN_NAME = "CO3 CitizenInitiatives"
DOMAIN_VERSION = "1"


def _fields(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "type": t} for n, t in pairs]


_TAIL = (("nonce", "uint256"), ("deadline", "uint256"))
TYPES: dict[str, list[dict[str, str]]] = {
    "SupportInitiative": _fields(("initiativeId", "uint256"), ("versionHash", "bytes32"), ("supporter", "address"),
                                 *_TAIL),
    "DraftInitiative": _fields(("contentHash", "bytes32"), ("author", "address"), *_TAIL),
    "AmendInitiative": _fields(("initiativeId", "uint256"), ("contentHash", "bytes32"), ("author", "address"), *_TAIL),
    "OpenInitiative": _fields(("initiativeId", "uint256"), ("versionHash", "bytes32"), ("author", "address"), *_TAIL),
}


def domain(chain_id: int, contract: str) -> dict[str, Any]:
    """EIP-712 domain of a deployed CitizenInitiatives."""
    return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": check_uint("chainId", chain_id, 256),
            "verifyingContract": check_address("verifyingContract", contract)}


def _typed(primary: str, chain_id: int, contract: str, message: dict[str, Any]) -> dict[str, Any]:
    dom = domain(chain_id, contract)
    checked: dict[str, Any] = {}
    for f in TYPES[primary]:
        name, typ = f["name"], f["type"]
        value = message[name]
        checked[name] = (check_bytes32(name, value) if typ == "bytes32" else check_address(name, value)
                         if typ == "address" else check_uint(name, value, 256))
    return {"types": {"EIP712Domain": EIP712_DOMAIN_TYPE, primary: TYPES[primary]}, "primaryType": primary,
            "domain": dom, "message": checked}


def support_typed_data(chain_id: int, contract: str, *, initiative_id: int, version_hash: bytes | str,
                       supporter: str, nonce: int, deadline: int) -> dict[str, Any]:
    """Full EIP-712 message of a signed support (``supportBySig``)."""
    return _typed("SupportInitiative", chain_id, contract, {
        "initiativeId": initiative_id, "versionHash": version_hash, "supporter": supporter, "nonce": nonce,
        "deadline": deadline})


def draft_typed_data(chain_id: int, contract: str, *, content_hash: bytes | str, author: str, nonce: int,
                     deadline: int) -> dict[str, Any]:
    """Full EIP-712 message of a signed draft (``draftBySig``); ``nonce`` is ``nonces(author, 0)``."""
    return _typed("DraftInitiative", chain_id, contract, {
        "contentHash": content_hash, "author": author, "nonce": nonce, "deadline": deadline})


def amend_typed_data(chain_id: int, contract: str, *, initiative_id: int, content_hash: bytes | str, author: str,
                     nonce: int, deadline: int) -> dict[str, Any]:
    """Full EIP-712 message of a signed amendment (``amendBySig``)."""
    return _typed("AmendInitiative", chain_id, contract, {
        "initiativeId": initiative_id, "contentHash": content_hash, "author": author, "nonce": nonce,
        "deadline": deadline})


def open_typed_data(chain_id: int, contract: str, *, initiative_id: int, version_hash: bytes | str, author: str,
                    nonce: int, deadline: int) -> dict[str, Any]:
    """Full EIP-712 message of a signed opening for supports (``openBySig``)."""
    return _typed("OpenInitiative", chain_id, contract, {
        "initiativeId": initiative_id, "versionHash": version_hash, "author": author, "nonce": nonce,
        "deadline": deadline})


def digest(typed_data: dict[str, Any]) -> bytes:
    """The 32-byte digest the contract verifies."""
    signable = encode_typed_data(full_message=typed_data)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign(private_key: bytes | str, typed_data: dict[str, Any]) -> bytes:
    """65-byte signature of ``typed_data``."""
    return bytes(Account.sign_typed_data(private_key, full_message=typed_data).signature)


def recover(typed_data: dict[str, Any], signature: bytes) -> str:
    """Checksummed signer of ``signature`` over ``typed_data`` (relayer pre-check)."""
    return Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature)
