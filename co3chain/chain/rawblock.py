"""Transaction hashes and size of a stored block straight from its RLP, without decoding transactions.

Why: ``eth_getBlockByNumber(n, false)`` (block explorers, ``audit chain``, sync checks) only needs the
header, the transaction hashes and the encoded size. Decoding every transaction into a py-evm object and
re-encoding it to hash it cost about 15 ms for a block of 250 transfers; slicing the stored encoding and
hashing the slices costs well under 1 ms.

A block body lists each transaction as in the wire format: a legacy transaction is an RLP list (its hash is
the keccak of that list's encoding); a typed transaction (EIP-2718) is a byte string ``type || payload``
(its hash is the keccak of the string's content).
"""

from __future__ import annotations

from typing import Any

import rlp
from eth_hash.auto import keccak

from co3chain.chain.rlpwrite import length_prefix, rlp_list, rlp_string


class RawBlockError(ValueError):
    """The bytes are not a well-formed RLP block."""


def _span(data: bytes, pos: int) -> tuple[int, int, bool]:
    """(payload start, item end, is list) of the RLP item at ``pos``."""
    if pos >= len(data):
        raise RawBlockError("truncated RLP")
    b = data[pos]
    if b < 0x80:
        return pos, pos + 1, False
    if b < 0xB8:
        start, length, is_list = pos + 1, b - 0x80, False
    elif b < 0xC0:
        n = b - 0xB7
        start, length, is_list = pos + 1 + n, int.from_bytes(data[pos + 1 : pos + 1 + n], "big"), False
    elif b < 0xF8:
        start, length, is_list = pos + 1, b - 0xC0, True
    else:
        n = b - 0xF7
        start, length, is_list = pos + 1 + n, int.from_bytes(data[pos + 1 : pos + 1 + n], "big"), True
    end = start + length
    if end > len(data):
        raise RawBlockError("RLP item runs past the end of the data")
    return start, end, is_list


def _items(data: bytes, start: int, end: int) -> list[tuple[int, int, int, bool]]:
    """(item start, payload start, item end, is list) of each element of the list payload ``[start, end)``."""
    out = []
    pos = start
    while pos < end:
        payload, item_end, is_list = _span(data, pos)
        out.append((pos, payload, item_end, is_list))
        pos = item_end
    if pos != end:
        raise RawBlockError("RLP list payload does not end on an item boundary")
    return out


def block_raw_transactions(raw_block: bytes) -> list[bytes]:
    """The signed transactions (``eth_sendRawTransaction`` form) of the RLP-encoded block ``raw_block``
    (``[header, txs, ...]``), in order: a legacy one is its list encoding, a typed one the byte string's
    content (type byte first). Each one's hash is the keccak of these bytes."""
    payload, end, is_list = _span(raw_block, 0)
    if not is_list or end != len(raw_block):
        raise RawBlockError("a block is one RLP list")
    fields = _items(raw_block, payload, end)
    if len(fields) < 2 or not fields[1][3]:
        raise RawBlockError("a block's second field is its transaction list")
    _, txs_payload, txs_end, _ = fields[1]
    return [
        raw_block[item_start:item_end] if item_is_list else raw_block[item_payload:item_end]
        for item_start, item_payload, item_end, item_is_list in _items(raw_block, txs_payload, txs_end)
    ]


def block_tx_hashes(raw_block: bytes) -> list[bytes]:
    """Hashes of the transactions of the RLP-encoded block ``raw_block`` (``[header, txs, ...]``), in order."""
    return [keccak(raw) for raw in block_raw_transactions(raw_block)]


def replace_header(raw_block: bytes, header_rlp: bytes) -> bytes:
    """The RLP-encoded block ``raw_block`` with its first field (the header) replaced by ``header_rlp``.

    Why: a final block's stored form changes only in its header's extraData (another round or quorum of
    commit seals, :mod:`co3chain.node.seal_book`); decoding every transaction of a 1,000-transfer block to
    encode it again with the new header cost ~60 ms of a validator's GIL per block. The rest of the
    encoding is copied as it is (``tests/chain/test_rawblock.py`` proves it equal to ``rlp.encode``).
    """
    payload, end, is_list = _span(raw_block, 0)
    if not is_list or end != len(raw_block):
        raise RawBlockError("a block is one RLP list")
    fields = _items(raw_block, payload, end)
    if not fields or not fields[0][3]:
        raise RawBlockError("a block's first field is its header")
    return rlp_list(bytes(header_rlp) + raw_block[fields[0][2]:end])


def decode_wire_block(raw_block: bytes) -> Any:
    """:func:`co3chain.chain.vm.decode_block`, with each legacy transaction's own encoding kept on it.

    Why: py-evm hashes a legacy transaction as ``keccak(rlp.encode(tx))``, and a transaction decoded as
    part of a block has no cached encoding, so its first ``.hash`` (the sender cache, the builder, the
    transaction index) re-encodes it — about a third of what decoding it cost. The encoding is the slice
    of ``raw_block`` the transaction was decoded from: pyrlp decodes strictly (no long prefix for a short
    item, no integer with a leading zero, no single byte as a string), so only canonical bytes decode and
    the slice is what ``rlp.encode`` would give (``tests/chain/test_rawblock.py`` checks it on random
    transactions). Typed transactions cache their hash already. Raises what ``decode_block`` raises, or
    :class:`RawBlockError`.
    """
    from co3chain.chain.vm import decode_block  # vm imports the chain's modules; keep this one a leaf

    block = _decode_direct(raw_block)
    if block is not None:
        return block
    block = decode_block(raw_block)
    payload, end, _ = _span(raw_block, 0)
    fields = _items(raw_block, payload, end)
    _, txs_payload, txs_end, _ = fields[1]
    items = _items(raw_block, txs_payload, txs_end)
    if len(items) != len(block.transactions):
        raise RawBlockError("transaction count differs from the decoded block")
    for tx, (item_start, _payload, item_end, item_is_list) in zip(block.transactions, items, strict=True):
        if item_is_list and getattr(tx, "_cached_rlp", b"") is None:
            tx._cached_rlp = raw_block[item_start:item_end]
    return block


def transaction_item(tx: Any) -> bytes:
    """A transaction as one item of a block body (see the module docstring): a legacy transaction's own RLP
    list, a typed transaction's ``type || payload`` wrapped as a byte string.

    Why: pyrlp keeps a legacy transaction's encoding once it was made (admission's decoder stores the input
    bytes there) but ``rlp.encode(block)`` serializes every transaction again, field by field."""
    if isinstance(tx, rlp.Serializable):
        cached = getattr(tx, "_cached_rlp", None)
        return cached if cached else rlp.encode(tx, cache=True)
    return rlp_string(tx.encode())


#: field layouts :func:`encode_block_body` splices (pre-Shanghai and Shanghai-and-later blocks)
_BLOCK_LAYOUTS = (("header", "transactions", "uncles"), ("header", "transactions", "uncles", "withdrawals"))


def encode_block_body(block: Any) -> bytes:
    """``rlp.encode(block)`` of a header-transactions-uncles-withdrawals block, reusing each transaction's
    encoding (:func:`transaction_item`). Proven equal to ``rlp.encode`` in ``tests/chain/test_rawblock.py``."""
    if type(block)._meta.field_names not in _BLOCK_LAYOUTS:  # some other block type: pyrlp knows it
        return rlp.encode(block)
    parts = [rlp.encode(block.header), rlp_list(b"".join(transaction_item(tx) for tx in block.transactions)),
             rlp.encode(block.uncles, sedes=type(block)._meta.sedes[2]) if block.uncles else b"\xc0"]
    if len(type(block)._meta.field_names) > 3:  # Shanghai and later: the withdrawals list
        withdrawals = block.withdrawals
        parts.append(rlp.encode(list(withdrawals), sedes=type(block)._meta.sedes[3]) if withdrawals
                     else b"\xc0")
    return rlp_list(b"".join(parts))


_TX_DECODER: Any = None


def _tx_decoder() -> Any:
    global _TX_DECODER
    if _TX_DECODER is None:
        from co3chain.chain.txdecode import TxDecoder
        from co3chain.chain.vm import QbftBlock

        _TX_DECODER = TxDecoder(QbftBlock.transaction_builder)
    return _TX_DECODER


def _canonical_prefix(data: bytes, item_start: int, payload: int, end: int, offset: int) -> bool:
    """Whether the RLP header ``data[item_start:payload]`` is the shortest one for its length (what pyrlp's
    strict decoder demands)."""
    return data[item_start:payload] == length_prefix(end - payload, offset)


def _decode_direct(raw_block: bytes) -> Any:
    """The block of ``raw_block`` built without pyrlp's generic layers, or ``None`` to let pyrlp decide.

    Why: pyrlp decodes a 200-transaction block item by item, then builds every transaction through the
    ``rlp.Serializable`` machinery (~25 µs per transaction, most of a follower's decode step). The
    transactions go through :class:`co3chain.chain.txdecode.TxDecoder` (admission's direct decoder, proven
    equal to py-evm's), the header through pyrlp. Taken only for the shape every block of this chain has
    (header, transactions, no uncles, no withdrawals) with canonical list prefixes; anything else (or a
    transaction the direct decoder leaves to py-evm) returns ``None`` and pyrlp decodes or refuses the whole
    block as before. Proven equal to :func:`co3chain.chain.vm.decode_block` on random and mutated blocks
    (``tests/chain/test_rawblock.py``).
    """
    from co3chain.chain.vm import QbftBlock, QbftBlockHeader

    try:
        raw_block = bytes(raw_block)
        payload, end, is_list = _span(raw_block, 0)
        if not is_list or end != len(raw_block) or not _canonical_prefix(raw_block, 0, payload, end, 0xC0):
            return None
        fields = _items(raw_block, payload, end)
        if len(fields) != 4:
            return None
        (h_start, _, h_end, h_list), (t_start, t_payload, t_end, t_list) = fields[0], fields[1]
        if not h_list or not t_list or not _canonical_prefix(raw_block, t_start, t_payload, t_end, 0xC0):
            return None
        for start, _payload, stop, _is_list in fields[2:]:
            if raw_block[start:stop] != b"\xc0":  # uncles and withdrawals: none on this chain
                return None
        decoder = _tx_decoder()
        txs = []
        for item_start, item_payload, item_end, item_is_list in _items(raw_block, t_payload, t_end):
            if item_is_list:
                raw_tx = raw_block[item_start:item_end]
            else:  # typed: a byte string of at least 2 bytes (type byte + list), so always prefixed
                if item_payload == item_start or not _canonical_prefix(
                    raw_block, item_start, item_payload, item_end, 0x80
                ):
                    return None
                raw_tx = raw_block[item_payload:item_end]
                if raw_tx[0] >= 0xC0:  # a legacy list wrapped in a string: py-evm refuses it
                    return None
            decoded = decoder.decode(raw_tx)
            if decoded is None:
                return None
            txs.append(decoded.tx)
        header = rlp.decode(raw_block[h_start:h_end], sedes=QbftBlockHeader)
    except (RawBlockError, rlp.exceptions.RLPException, IndexError, ValueError):
        return None
    header._cached_rlp = None  # as inside a block decoded by pyrlp (only the block keeps its bytes)
    block = QbftBlock(header=header, transactions=txs, uncles=(), withdrawals=())
    block._cached_rlp = raw_block
    return block
