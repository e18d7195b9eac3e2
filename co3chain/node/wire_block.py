"""A proposed block from its wire items, reusing the transactions this node already decoded.

Why: a follower receives every transaction twice — once gossiped (decoded, checked and pooled at admission)
and once inside the PROPOSAL that includes it. Decoding the proposal's block with the block sedes parsed and
validated every transaction again: ~120 µs per ERC-20 transfer, twice per proposal (pre-verification and the
engine), on the event loop that carries the round timers. A transaction's hash is the keccak of its wire
bytes, so a pooled transaction with that hash *is* that transaction; only the others are decoded.

The result equals ``rlp.decode(encoded, sedes=QbftBlock)`` (same fields, same encoding, the same errors for
junk); tests/node/test_wire_block.py proves it on random blocks and corrupted bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rlp
from eth_hash.auto import keccak

from co3chain.chain.vm import QbftBlock

#: ``tx_hash -> decoded transaction | None`` (e.g. :meth:`co3chain.node.txpool.TxPool.get`)
TxLookup = Callable[[bytes], Any]

_BUILDER = QbftBlock.transaction_builder


def block_from_items(encoded: bytes, items: Any, lookup: TxLookup | None = None) -> QbftBlock:
    """The block whose RLP is ``encoded`` and whose generic RLP items are ``items``.

    ``items`` must be ``rlp.decode(encoded, strict=True)`` (as :func:`co3chain.consensus.qbft.messages.
    decode_message` keeps it on the proposal); typed transactions found by ``lookup`` are reused as they are.
    Raises ``rlp.DeserializationError``/``rlp.DecodingError`` exactly where the block sedes would.
    """
    if not (isinstance(items, list) and len(items) == 4 and isinstance(items[1], list)):
        return rlp.decode(encoded, sedes=QbftBlock)  # not a block's shape: the sedes gives the error
    shell = QbftBlock.deserialize([items[0], [], items[2], items[3]])
    txs = []
    for index, item in enumerate(items[1]):
        tx = lookup(keccak(item)) if lookup is not None and isinstance(item, bytes) else None
        if tx is None:
            try:
                tx = _BUILDER.deserialize(item)
            except rlp.DeserializationError as exc:  # as CountableList reports it
                raise rlp.exceptions.ListDeserializationError(
                    serial=items[1], element_exception=exc, index=index
                ) from exc
        txs.append(tx)
    block = QbftBlock(shell.header, transactions=txs, uncles=shell.uncles, withdrawals=shell.withdrawals)
    block._cached_rlp = bytes(encoded)  # as rlp.decode leaves it: encoding the block again is free
    return block
