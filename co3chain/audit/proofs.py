"""Check ``eth_getProof`` answers (EIP-1186) against a state root the auditor trusts.

Why: a node can answer ``eth_call``/``eth_getStorageAt`` with anything. A Merkle-Patricia proof ties an
account (nonce, balance, storageHash, codeHash) to the block's ``stateRoot`` and a storage value to that
``storageHash``; the state root itself is in a header whose hash the auditor recomputed and whose commit
seals it checked. So a value that passes here was agreed by a quorum of validators, whatever the node says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp
from eth.constants import BLANK_ROOT_HASH
from eth_hash.auto import keccak
from trie import HexaryTrie
from trie.exceptions import BadTrieProof
from trie.exceptions import ValidationError as TrieValidationError

from co3chain.audit.rpc import RpcError, hex_bytes, hex_int
from co3chain.errors import Co3Error

EMPTY_CODE_HASH = keccak(b"")


class ProofError(Co3Error):
    """A proof does not verify against the trusted root, or contradicts the values the node reported."""


@dataclass(frozen=True)
class ProvenAccount:
    address: bytes
    nonce: int
    balance: int
    storage_hash: bytes
    code_hash: bytes


def _nodes(items: Any, what: str) -> list[bytes]:
    if not isinstance(items, list):
        raise ProofError(f"{what} is not a list of nodes")
    try:
        return [hex_bytes(n, what) for n in items]
    except RpcError as exc:
        raise ProofError(str(exc)) from None


def _lookup(root: bytes, key: bytes, nodes: list[bytes], what: str) -> bytes:
    try:
        # py-trie takes decoded nodes and indexes them by keccak(rlp(node)), so every node is hash-checked.
        return HexaryTrie.get_from_proof(root, key, [rlp.decode(n) for n in nodes])
    except (BadTrieProof, TrieValidationError, rlp.exceptions.DecodingError, ValueError, KeyError, TypeError) as exc:
        raise ProofError(f"{what} does not verify against root 0x{root.hex()}: {exc}") from None


def verify_account(state_root: bytes, address: bytes, proof: dict[str, Any]) -> ProvenAccount:
    """The account proven under ``state_root``; raises :class:`ProofError` if the node's fields disagree."""
    label = f"account proof of 0x{address.hex()}"
    raw = _lookup(state_root, keccak(address), _nodes(proof.get("accountProof"), "accountProof"), label)
    if raw:
        try:
            nonce_b, balance_b, storage_hash, code_hash = rlp.decode(raw)
        except (rlp.exceptions.DecodingError, ValueError) as exc:
            raise ProofError(f"{label}: account leaf is not an account: {exc}") from None
        proven = ProvenAccount(address, int.from_bytes(nonce_b, "big"), int.from_bytes(balance_b, "big"),
                               storage_hash, code_hash)
    else:
        proven = ProvenAccount(address, 0, 0, BLANK_ROOT_HASH, EMPTY_CODE_HASH)
    try:
        reported = (
            hex_int(proof.get("nonce"), "nonce"),
            hex_int(proof.get("balance"), "balance"),
            hex_bytes(proof.get("storageHash"), "storageHash", 32),
            hex_bytes(proof.get("codeHash"), "codeHash", 32),
        )
    except RpcError as exc:
        raise ProofError(f"{label}: {exc}") from None
    if not raw:
        # Absent account: some clients report zero hashes instead of the empty-trie/empty-code hashes.
        if reported[:2] != (0, 0):
            raise ProofError(f"{label}: the account does not exist but the node reports a nonce/balance")
        return proven
    if reported != (proven.nonce, proven.balance, proven.storage_hash, proven.code_hash):
        raise ProofError(f"{label}: reported account fields differ from the proven leaf")
    return proven


def verify_storage(account: ProvenAccount, slot: int, entry: dict[str, Any]) -> int:
    """The value of ``slot`` proven under the account's storageHash; checks the reported ``value`` too."""
    label = f"storage proof of slot 0x{slot:x} in 0x{account.address.hex()}"
    try:
        reported_key = entry.get("key")
        key_int = hex_int(reported_key, "key") if isinstance(reported_key, str) and len(reported_key) < 66 else int(
            hex_bytes(reported_key, "key", 32).hex(), 16)
        reported_value = hex_int(entry.get("value"), "value")
    except RpcError as exc:
        raise ProofError(f"{label}: {exc}") from None
    if key_int != slot:
        raise ProofError(f"{label}: the node answered for slot 0x{key_int:x}")
    if account.storage_hash == BLANK_ROOT_HASH:
        proven = 0
    else:
        raw = _lookup(account.storage_hash, keccak(slot.to_bytes(32, "big")), _nodes(entry.get("proof"), "proof"), label)
        proven = rlp.decode(raw, sedes=rlp.sedes.big_endian_int) if raw else 0
    if proven != reported_value:
        raise ProofError(f"{label}: node reports {reported_value}, the proof says {proven}")
    return proven


def prove_storage(client: Any, state_root: bytes, block: int, address: bytes, slots: list[int]) -> dict[int, int]:
    """Fetch ``eth_getProof`` at ``block`` and return the proven values of ``slots``."""
    # Storage keys as full 32-byte words: a slot like 0x0abc… written with hex() has an odd digit count,
    # which anvil (and other nodes) reject as invalid params.
    keys = ["0x" + s.to_bytes(32, "big").hex() for s in slots]
    proof = client.call("eth_getProof", "0x" + address.hex(), keys, hex(block))
    if not isinstance(proof, dict):
        raise ProofError("eth_getProof returned no object")
    account = verify_account(state_root, address, proof)
    entries = proof.get("storageProof")
    if not isinstance(entries, list) or len(entries) != len(slots):
        raise ProofError(f"eth_getProof returned {len(entries) if isinstance(entries, list) else 0} storage proofs "
                         f"for {len(slots)} slots")
    return {slot: verify_storage(account, slot, entry) for slot, entry in zip(slots, entries, strict=True)}


def mapping_slot(key: bytes, base_slot: int) -> int:
    """Storage slot of ``mapping[key]`` declared at ``base_slot`` (key already left-padded to 32 bytes)."""
    return int.from_bytes(keccak(key.rjust(32, b"\x00") + base_slot.to_bytes(32, "big")), "big")
