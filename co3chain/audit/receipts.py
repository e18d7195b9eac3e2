"""Receipts-root and bloom checks: prove which logs a block really emitted.

Why: ``eth_getLogs`` is the node's word. Every header commits to a ``logsBloom`` and a ``receiptsRoot``; a block
whose bloom matches a log filter while the node returned no such log is suspicious, and rebuilding the receipts
trie from the node's receipts and comparing with the sealed ``receiptsRoot`` decides it: either the receipts
prove the omitted log, or the node lied about the receipts as well (which the root exposes).
"""

from __future__ import annotations

from typing import Any

from eth_hash.auto import keccak

from co3chain.audit.rpc import RpcError, hex_bytes, hex_int
from co3chain.chain.rlpwrite import rlp_list, rlp_string, rlp_uint
from co3chain.chain.triehash import ordered_trie_root
from co3chain.errors import Co3Error


class ReceiptsError(Co3Error):
    """The node's receipts do not hash to the header's receiptsRoot."""


def _bloom_bits(item: bytes) -> list[tuple[int, int]]:
    h = keccak(item)
    out = []
    for i in (0, 2, 4):
        bit = ((h[i] << 8) | h[i + 1]) & 2047
        out.append((255 - bit // 8, 1 << (bit % 8)))
    return out


def bloom_contains(bloom: bytes, item: bytes) -> bool:
    """True if ``item`` (an address or a topic) may be in ``bloom`` (2048-bit Ethereum log bloom)."""
    return all(bloom[byte] & mask for byte, mask in _bloom_bits(item))


def bloom_matches(bloom: bytes, address: bytes, topic_sets: list[list[bytes] | None]) -> bool:
    """Bloom test of a log filter: the address and, per position, any of the allowed topics."""
    if not bloom_contains(bloom, address):
        return False
    return all(ts is None or any(bloom_contains(bloom, t) for t in ts) for ts in topic_sets)


def encode_receipt(r: dict[str, Any]) -> bytes:
    """Consensus encoding of a JSON-RPC receipt (EIP-2718: typed receipts are ``type ‖ rlp``).

    Written with the direct RLP writers (:mod:`co3chain.chain.rlpwrite`), not ``rlp.encode``: a replaying
    audit encodes every served receipt, and pyrlp's type inference per item was ~30 µs of each.
    ``tests/audit/test_receipts_encoding.py`` holds it equal to ``rlp.encode`` of the same fields."""
    try:
        status = hex_int(r["status"], "status")
        logs = b"".join(
            rlp_list(
                rlp_string(hex_bytes(lg["address"], "address", 20))
                + rlp_list(b"".join(rlp_string(hex_bytes(t, "topic", 32)) for t in lg["topics"]))
                + rlp_string(hex_bytes(lg["data"], "data"))
            )
            for lg in r["logs"]
        )
        cumulative = hex_int(r["cumulativeGasUsed"], "cumulativeGasUsed")
        bloom = hex_bytes(r["logsBloom"], "logsBloom", 256)
        tx_type = hex_int(r.get("type", "0x0"), "type")
    except (KeyError, TypeError, RpcError) as exc:
        raise ReceiptsError(f"malformed receipt: {exc}") from None
    if cumulative < 0 or not 0 <= tx_type < 0x80:
        raise ReceiptsError(f"malformed receipt: cumulativeGasUsed {cumulative} or type {tx_type} out of range")
    body = rlp_list((b"\x01" if status else b"\x80") + rlp_uint(cumulative) + rlp_string(bloom) + rlp_list(logs))
    return body if tx_type == 0 else bytes([tx_type]) + body


def proven_receipts(client: Any, block_number: int, receipts_root: bytes) -> list[dict[str, Any]]:
    """The block's receipts (``eth_getBlockReceipts``, else per transaction), checked against ``receipts_root``."""
    try:
        receipts = client.call("eth_getBlockReceipts", hex(block_number))
    except RpcError:
        block = client.call("eth_getBlockByNumber", hex(block_number), False)
        receipts = client.batch([("eth_getTransactionReceipt", (h,)) for h in block["transactions"]]) if block else []
    if not isinstance(receipts, list):
        raise ReceiptsError(f"block {block_number}: the node returned no receipts")
    receipts = sorted(receipts, key=lambda r: hex_int(r.get("transactionIndex", "0x0"), "transactionIndex"))
    root = ordered_trie_root([encode_receipt(r) for r in receipts])
    if root != receipts_root:
        raise ReceiptsError(f"block {block_number}: receipts hash to 0x{root.hex()}, the sealed header says "
                            f"0x{receipts_root.hex()}")
    return receipts
