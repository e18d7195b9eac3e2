"""The transaction index key staged for every imported transaction is ``tx.hash``, however the transaction
was made (direct block decoder, pyrlp's decoder, built in memory, decoded alone)."""

from __future__ import annotations

from typing import Any

import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.chain.chain import stored_tx_hash
from co3chain.chain.rawblock import decode_wire_block
from co3chain.chain.vm import QbftBlock, decode_block
from tests.chain.test_rawblock import _BUILDER, _GENESIS_CHAIN, _any_transaction


def _expected(tx: Any) -> bytes:
    """py-evm's hash of a fresh copy (nothing cached on it)."""
    fresh = _BUILDER.decode(tx.encode()) if tx.type_id is not None else rlp.decode(rlp.encode(tx), sedes=type(tx))
    return fresh.hash


@settings(max_examples=200, deadline=None)
@given(st.lists(_any_transaction(), min_size=1, max_size=6))
def test_stored_tx_hash_equals_tx_hash_for_every_way_a_transaction_is_made(txs: list[Any]) -> None:
    raw = rlp.encode(QbftBlock(_GENESIS_CHAIN.genesis_header, transactions=txs, uncles=[], withdrawals=[]))
    for block in (decode_wire_block(raw), decode_block(raw)):
        for tx in block.transactions:
            first = stored_tx_hash(tx)  # before anything else reads or caches on the object
            assert first == tx.hash == _expected(tx) == stored_tx_hash(tx)
    for tx in txs:  # the objects the strategy built (legacy: no encoding kept yet)
        assert stored_tx_hash(tx) == tx.hash == _expected(tx)


def test_a_legacy_transaction_without_a_kept_encoding_is_hashed_by_py_evm() -> None:
    tx = _BUILDER.new_transaction(1, 2, 21000, b"\x11" * 20, 3, b"", 27, 5, 6)
    assert tx._cached_rlp is None or tx._cached_rlp == rlp.encode(tx)
    assert stored_tx_hash(tx) == tx.hash
