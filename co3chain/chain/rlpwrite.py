"""Direct RLP writers for the node's hot paths: byte strings, non-negative integers and lists of encoded items.

Why one module: receipts, accounts, transaction signing messages, trie keys, stored blocks and the transaction
index are all written without pyrlp's generic ``rlp.encode`` (type inference and sedes lookup per item cost
more than the rest of the work there). They share these few functions instead of each keeping its own copy;
``tests/chain/test_fastpaths.py`` holds them against ``rlp.encode``.
"""

from __future__ import annotations


def length_prefix(length: int, short: int) -> bytes:
    """The RLP header of an item whose payload is ``length`` bytes: ``short`` is 0x80 (string) or 0xC0 (list)."""
    if length < 56:
        return bytes((short + length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((short + 55 + len(raw),)) + raw


def rlp_string(value: bytes) -> bytes:
    """RLP of a byte string."""
    if len(value) == 1 and value[0] < 0x80:
        return value
    return length_prefix(len(value), 0x80) + value


def rlp_uint(value: int) -> bytes:
    """RLP of a non-negative integer (big-endian, no leading zeros)."""
    if value == 0:
        return b"\x80"
    if value < 0x80:
        return bytes((value,))
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return length_prefix(len(raw), 0x80) + raw


def rlp_list(payload: bytes) -> bytes:
    """RLP list header + ``payload`` (the concatenated encodings of the items)."""
    return length_prefix(len(payload), 0xC0) + payload
