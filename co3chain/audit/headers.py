"""Rebuild a block header from its JSON-RPC fields and recompute its hash (QBFT or plain Ethereum).

Why rebuild: a node could report any ``hash``; the hash the auditor trusts is the one it computes itself from
the fields, so parent links, seals and state roots all hang off recomputed hashes. Optional fields are included
exactly when the node reports them (London ``baseFeePerGas``, Shanghai ``withdrawalsRoot``, Cancun blob fields
and ``parentBeaconBlockRoot``, Prague ``requestsHash``), so the same code hashes Besu QBFT headers of any fork.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp
from eth_hash.auto import keccak

from co3chain.audit.rpc import RpcError, hex_bytes, hex_int
from co3chain.consensus.qbft.extradata import ExtraDataError, QbftExtraData

#: Index of extraData in the header RLP list.
EXTRA_INDEX = 12
#: (JSON name, kind) of the header fields in RLP order; "q" = quantity, "d" = data (with length or None).
_BASE_FIELDS: tuple[tuple[str, str, int | None], ...] = (
    ("parentHash", "d", 32),
    ("sha3Uncles", "d", 32),
    ("miner", "d", 20),
    ("stateRoot", "d", 32),
    ("transactionsRoot", "d", 32),
    ("receiptsRoot", "d", 32),
    ("logsBloom", "d", 256),
    ("difficulty", "q", None),
    ("number", "q", None),
    ("gasLimit", "q", None),
    ("gasUsed", "q", None),
    ("timestamp", "q", None),
    ("extraData", "d", None),
    ("mixHash", "d", 32),
    ("nonce", "d", 8),
)
#: Fork-dependent trailing fields, in order; each is present only if all earlier ones are.
_OPTIONAL_FIELDS: tuple[tuple[str, str, int | None], ...] = (
    ("baseFeePerGas", "q", None),
    ("withdrawalsRoot", "d", 32),
    ("blobGasUsed", "q", None),
    ("excessBlobGas", "q", None),
    ("parentBeaconBlockRoot", "d", 32),
    ("requestsHash", "d", 32),
)


class HeaderError(RpcError):
    """A block object from the node lacks a header field or has a malformed one."""


@dataclass(frozen=True)
class Header:
    """A header as the auditor sees it: the RLP items it rebuilt and the hash the node claimed."""

    items: tuple[Any, ...]
    reported_hash: bytes | None

    @property
    def number(self) -> int:
        return _as_int(self.items[8])

    @property
    def parent_hash(self) -> bytes:
        return self.items[0]

    @property
    def coinbase(self) -> bytes:
        return self.items[2]

    @property
    def state_root(self) -> bytes:
        return self.items[3]

    @property
    def transactions_root(self) -> bytes:
        return self.items[4]

    @property
    def receipts_root(self) -> bytes:
        return self.items[5]

    @property
    def bloom(self) -> bytes:
        return self.items[6]

    @property
    def difficulty(self) -> int:
        return _as_int(self.items[7])

    @property
    def timestamp(self) -> int:
        return _as_int(self.items[11])

    @property
    def extra_data(self) -> bytes:
        return self.items[EXTRA_INDEX]

    @property
    def mix_hash(self) -> bytes:
        return self.items[13]

    @property
    def nonce(self) -> bytes:
        return self.items[14]

    def rlp(self, extra_data: bytes | None = None) -> bytes:
        """Header RLP, optionally with ``extra_data`` substituted (the QBFT hashing variants)."""
        items = list(self.items)
        if extra_data is not None:
            items[EXTRA_INDEX] = extra_data
        return rlp.encode(items)

    def plain_hash(self) -> bytes:
        """keccak(RLP(header)): the Ethereum hash (and the QBFT genesis hash)."""
        return keccak(self.rlp())

    def qbft(self) -> QbftExtraData:
        """Decoded QBFT extraData; raises ``ExtraDataError``."""
        return QbftExtraData.decode(self.extra_data)

    def qbft_hash(self) -> bytes:
        """QBFT on-chain hash: extraData re-encoded with round 0 and no seals (genesis: raw)."""
        if self.number == 0:
            return self.plain_hash()
        return keccak(self.rlp(self.qbft().encode_for_onchain_hash()))

    def commit_seal_digest(self) -> bytes:
        """What each validator signed: the header with the real round and no seals."""
        return keccak(self.rlp(self.qbft().encode_for_commit_seal()))

    def computed_hash(self) -> bytes:
        """QBFT hash when extraData is QBFT-shaped, else the plain Ethereum hash (anvil, eth-tester)."""
        try:
            return self.qbft_hash()
        except ExtraDataError:
            return self.plain_hash()


def _as_int(item: bytes) -> int:
    return int.from_bytes(item, "big")


def _encode_field(block: dict[str, Any], name: str, kind: str, length: int | None, number: Any) -> Any:
    value = block[name]
    try:
        if kind == "q":
            n = hex_int(value, name)
            return n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
        return hex_bytes(value, name, length)
    except RpcError as exc:
        raise HeaderError(f"block {number}: {exc}") from None


def header_from_json(block: dict[str, Any]) -> Header:
    """Rebuild the header of a JSON-RPC block object; raises :class:`HeaderError` on missing/bad fields."""
    if not isinstance(block, dict):
        raise HeaderError(f"block object expected, got {type(block).__name__}")
    number = block.get("number", "?")
    items: list[Any] = []
    for name, kind, length in _BASE_FIELDS:
        if name not in block or block[name] is None:
            raise HeaderError(f"block {number}: field {name} missing")
        items.append(_encode_field(block, name, kind, length, number))
    for name, kind, length in _OPTIONAL_FIELDS:
        if block.get(name) is None:
            break
        items.append(_encode_field(block, name, kind, length, number))
    reported = block.get("hash")
    return Header(tuple(items), hex_bytes(reported, "hash", 32) if reported is not None else None)
