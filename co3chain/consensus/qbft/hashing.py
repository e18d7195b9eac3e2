"""QBFT block hashing and commit seals (Besu-compatible).

* On-chain block hash = ``keccak(RLP(header))`` with ``extraData`` re-encoded as
  ``[vanity, validators, vote, 0, []]`` (round zeroed, seals removed). Why: validators add their
  commit seals *after* agreeing on the block, and a block may be committed in any round, so neither may
  change the block's identity.
* Commit-seal hash = the same but with the block's real round: a seal commits to the round it was cast
  in (as Besu's ``encodeWithoutCommitSeals``).
* Genesis (detected as ``block_number == 0``) is hashed with its raw ``extraData`` bytes, as Besu does:
  genesis has no seals and its extraData is taken verbatim from genesis.json.

Seals are 65-byte ``r ‖ s ‖ v`` secp256k1 signatures over the commit-seal hash with ``v`` in ``{0, 1}``.
High-``s`` seals are rejected so a seal cannot be re-encoded into a second valid form.

The header argument is any py-evm rlp header object (``rlp.Serializable`` with an ``extra_data`` field,
e.g. ``CancunBlockHeader`` or :class:`co3chain.chain.vm.QbftBlockHeader`).
"""

from __future__ import annotations

from typing import Any

import rlp
from eth_hash.auto import keccak
from eth_keys import KeyAPI
from eth_keys.backends import CoinCurveECCBackend
from eth_keys.exceptions import BadSignature, ValidationError

from co3chain.consensus.qbft.extradata import QbftExtraData

_KEYS = KeyAPI(CoinCurveECCBackend)
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class SealError(ValueError):
    """A commit seal is malformed or does not recover to a public key."""


def _extra_data_index(header: Any) -> int:
    return type(header)._meta.field_names.index("extra_data")


def _hash_with_extra(header: Any, extra: bytes) -> bytes:
    items = list(type(header).serialize(header))
    items[_extra_data_index(header)] = extra
    return keccak(rlp.encode(items))


def onchain_header_hash(header: Any) -> bytes:
    """The QBFT block hash (what parent_hash, BLOCKHASH and RPC use). Raises ``ExtraDataError``."""
    if header.block_number == 0:
        return keccak(rlp.encode(header))
    extra = QbftExtraData.decode(header.extra_data)
    return _hash_with_extra(header, extra.encode_for_onchain_hash())


def commit_seal_hash(header: Any, round: int | None = None) -> bytes:  # noqa: A002 (spec name)
    """The digest validators sign in COMMIT: header hash with ``round`` (default: the header's round)."""
    extra = QbftExtraData.decode(header.extra_data)
    return _hash_with_extra(header, extra.encode_for_commit_seal(round))


def sign_commit_seal(private_key: bytes, header: Any, round: int | None = None) -> bytes:  # noqa: A002
    """Sign the commit-seal hash of ``header`` for ``round``; returns 65 bytes ``r ‖ s ‖ v``, v ∈ {0,1}."""
    digest = commit_seal_hash(header, round)
    return sign_digest(private_key, digest)


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """Sign a 32-byte digest with secp256k1 (coincurve); 65 bytes ``r ‖ s ‖ v`` with low ``s``."""
    if len(private_key) != 32:
        raise ValueError("private key must be 32 bytes")
    sig = _KEYS.PrivateKey(private_key).sign_msg_hash(digest)
    return sig.to_bytes()


def recover_signer(digest: bytes, seal: bytes) -> bytes:
    """Recover the 20-byte address that produced ``seal`` over ``digest``; raises :class:`SealError`."""
    if len(seal) != 65:
        raise SealError(f"seal must be 65 bytes, got {len(seal)}")
    if seal[64] not in (0, 1):
        raise SealError(f"seal recovery id must be 0 or 1, got {seal[64]}")
    s = int.from_bytes(seal[32:64], "big")
    if s == 0 or s > _SECP256K1_N // 2:
        raise SealError("seal has a zero or high s value")
    try:
        pub = _KEYS.Signature(seal).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError) as exc:
        raise SealError(f"seal does not recover to a public key: {exc}") from exc
    return pub.to_canonical_address()


def recover_seal_signers(header: Any) -> list[bytes]:
    """Addresses that signed the commit seals in ``header``'s extraData (in seal order, may repeat)."""
    extra = QbftExtraData.decode(header.extra_data)
    if not extra.seals:
        return []
    digest = _hash_with_extra(header, extra.encode_for_commit_seal())
    return [recover_signer(digest, seal) for seal in extra.seals]


def quorum(n: int) -> int:
    """Commit quorum for ``n`` validators: ⌈2n/3⌉ (Besu's ``BftHelpers.calculateRequiredValidatorQuorum``)."""
    if n < 0:
        raise ValueError("validator count must be non-negative")
    return (2 * n + 2) // 3
