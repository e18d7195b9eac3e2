"""RLP for Merkle-Patricia trie nodes: byte strings and nested lists of them, nothing else.

Why: hashing the state tries is the largest single cost of importing a block after revm took over
execution, and a third of it was pyrlp's generic ``rlp.encode``/``rlp.decode`` on trie nodes (type
inference, sedes objects and validation per item). A trie node has only two shapes (a list of 2 or 17
items; each item bytes or an inline node), so a direct encoder/decoder does the same bytes in a fraction
of the time. Both agree with pyrlp on every input they accept (``tests/chain/test_noderlp.py``);
anything else (an int, a malformed or trailing-byte encoding) is refused or handed to pyrlp.
"""

from __future__ import annotations

from typing import Any

import rlp

from co3chain.chain.rlpwrite import length_prefix


def encode_node(item: Any) -> bytes:
    """``rlp.encode(item)`` for bytes and (nested) lists of bytes."""
    if isinstance(item, bytes):
        n = len(item)
        if n == 1 and item[0] < 0x80:
            return item
        return (bytes((0x80 + n,)) if n < 56 else length_prefix(n, 0x80)) + item
    if isinstance(item, list | tuple):
        # a branch holds 17 items, nearly all empty or 32-byte hashes: encode byte strings in line
        parts = []
        for x in item:
            if x.__class__ is bytes and len(x) == 32:
                parts.append(b"\xa0" + x)
            elif x.__class__ is bytes and not x:
                parts.append(b"\x80")
            else:
                parts.append(encode_node(x))
        payload = b"".join(parts)
        n = len(payload)
        return (bytes((0xC0 + n,)) if n < 56 else length_prefix(n, 0xC0)) + payload
    return rlp.encode(item)  # not a trie-node shape: let pyrlp decide (and raise) as before


def _item(data: bytes, pos: int, end: int) -> tuple[Any, int]:
    b0 = data[pos]
    if b0 < 0x80:
        return data[pos : pos + 1], pos + 1
    if b0 < 0xB8:
        n = b0 - 0x80
        start = pos + 1
        if n == 1 and start < end and data[start] < 0x80:
            raise rlp.exceptions.DecodingError("single byte not canonically encoded", data)
    elif b0 < 0xC0:
        ll = b0 - 0xB7
        n = int.from_bytes(data[pos + 1 : pos + 1 + ll], "big")
        start = pos + 1 + ll
        if n < 56 or data[pos + 1] == 0:
            raise rlp.exceptions.DecodingError("long string with short length", data)
    else:
        if b0 < 0xF8:
            n = b0 - 0xC0
            start = pos + 1
        else:
            ll = b0 - 0xF7
            n = int.from_bytes(data[pos + 1 : pos + 1 + ll], "big")
            start = pos + 1 + ll
            if n < 56 or data[pos + 1] == 0:
                raise rlp.exceptions.DecodingError("long list with short length", data)
        stop = start + n
        if stop > end:
            raise rlp.exceptions.DecodingError("list longer than its container", data)
        out = []
        p = start
        while p < stop:
            child, p = _item(data, p, stop)
            out.append(child)
        if p != stop:
            raise rlp.exceptions.DecodingError("list items overrun the list", data)
        return out, stop
    stop = start + n
    if stop > end:
        raise rlp.exceptions.DecodingError("string longer than its container", data)
    return data[start:stop], stop


def decode_node(data: bytes) -> Any:
    """``rlp.decode(data)`` (no sedes): bytes or nested lists; raises ``DecodingError`` like pyrlp."""
    if not data:
        raise rlp.exceptions.DecodingError("empty RLP", data)
    data = bytes(data)
    try:
        item, end = _item(data, 0, len(data))
    except IndexError:
        raise rlp.exceptions.DecodingError("truncated RLP", data) from None
    if end != len(data):
        raise rlp.exceptions.DecodingError("trailing bytes after the RLP item", data)
    return item
