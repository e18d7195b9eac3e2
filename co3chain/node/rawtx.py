"""Cheap shape checks on a raw transaction *before* it reaches the RLP decoder.

Why: pyrlp decodes recursively. ``0xc1c1c1…`` (100,000 nested one-byte lists) makes it recurse 100,000
levels, which took ~4 s per request on the event loop that also carries p2p and consensus. A signed
transaction is at most 4 lists deep (typed tx → access list → entry → storage keys) and, like geth
(``txMaxSize``), we refuse anything over 128 KiB. The walk below is iterative, O(len(raw)) and stops at
the first violation, so the worst input costs microseconds.
"""

from __future__ import annotations

#: geth's txMaxSize (4 × 32 KiB slots): big enough for a 48 KiB EIP-3860 initcode plus calldata.
MAX_TX_BYTES = 128 * 1024
#: A transaction's deepest list is 4 levels (tx, accessList, entry, storageKeys); leave headroom.
MAX_RLP_DEPTH = 8


class RawTxShapeError(ValueError):
    """The bytes cannot be a transaction we would accept; the message says why in one line."""


def _item_header(data: bytes, pos: int, end: int) -> tuple[bool, int, int]:
    """``(is_list, header_len, payload_len)`` of the RLP item at ``pos`` (not past ``end``)."""
    b0 = data[pos]
    if b0 < 0x80:
        return False, 0, 1
    if b0 < 0xB8:
        return False, 1, b0 - 0x80
    if b0 < 0xC0:
        n = b0 - 0xB7
        is_list = False
    elif b0 < 0xF8:
        return True, 1, b0 - 0xC0
    else:
        n = b0 - 0xF7
        is_list = True
    if pos + 1 + n > end:
        raise RawTxShapeError("invalid transaction: truncated RLP length")
    return is_list, 1 + n, int.from_bytes(data[pos + 1 : pos + 1 + n], "big")


def check_rlp_shape(data: bytes, max_depth: int = MAX_RLP_DEPTH) -> None:
    """Raise :class:`RawTxShapeError` if ``data`` is not well-framed RLP at most ``max_depth`` lists deep.

    Only framing is checked (lengths inside bounds, nesting); field meaning is the decoder's job.
    """
    pos, n = 0, len(data)
    if n == 0:
        raise RawTxShapeError("invalid transaction: empty RLP")
    is_list, header_len, payload_len = _item_header(data, 0, n)
    if header_len + payload_len != n:
        raise RawTxShapeError("invalid transaction: RLP length does not match the data")
    ends: list[int] = [n]  # end offsets of the enclosing lists (the outermost is the buffer)
    while pos < n:
        while pos == ends[-1] and len(ends) > 1:
            ends.pop()
        is_list, header_len, payload_len = _item_header(data, pos, ends[-1])
        item_end = pos + header_len + payload_len
        if item_end > ends[-1]:
            raise RawTxShapeError("invalid transaction: RLP item longer than its container")
        if is_list:
            if len(ends) > max_depth:
                raise RawTxShapeError(f"invalid transaction: RLP nested deeper than {max_depth} lists")
            ends.append(item_end)
            pos += header_len
        else:
            pos = item_end


def check_raw_transaction(raw: bytes, max_bytes: int = MAX_TX_BYTES, max_depth: int = MAX_RLP_DEPTH) -> None:
    """Size and nesting bounds for a raw (legacy or EIP-2718 typed) transaction."""
    if len(raw) > max_bytes:
        raise RawTxShapeError(f"oversized data: transaction size {len(raw)}, limit {max_bytes}")
    if not raw:
        raise RawTxShapeError("invalid transaction: empty")
    body = raw[1:] if raw[0] < 0x80 else raw  # EIP-2718: type byte then the RLP payload
    check_rlp_shape(body, max_depth)
