"""block_from_items equals the block sedes: same block, same bytes, same refusals (random blocks, corruption)."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from co3chain.chain.vm import QbftBlock, QbftBlockHeader
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.node.wire_block import block_from_items

_ACCOUNTS = [Account.from_key((i + 101).to_bytes(32, "big")) for i in range(4)]


def _raw_tx(kind: int, index: int) -> bytes:
    acct = _ACCOUNTS[index % len(_ACCOUNTS)]
    tx: dict[str, Any] = {"nonce": index, "to": bytes.fromhex("ab" * 20), "value": index, "gas": 60_000,
                          "data": bytes([index % 256]) * (index % 5), "chainId": 1337}
    if kind == 0:
        tx["gasPrice"] = 10**9
    elif kind == 1:
        tx.update(type=1, gasPrice=10**9, accessList=[{"address": "0x" + "cd" * 20, "storageKeys": ["0x" + "00" * 32]}])
    else:
        tx.update(type=2, maxFeePerGas=10**9, maxPriorityFeePerGas=index)
    return bytes(acct.sign_transaction(tx).raw_transaction)


_RAW = [_raw_tx(kind, i) for i in range(12) for kind in (0, 1, 2)]
_DECODE = QbftBlock.transaction_builder.decode


def _block(raws: list[bytes], number: int) -> bytes:
    extra = QbftExtraData(validators=[b"\x01" * 20, b"\x02" * 20], round=number % 3)
    header = QbftBlockHeader(
        difficulty=1, block_number=number, gas_limit=30_000_000, timestamp=1_700_000_000 + number,
        coinbase=b"\x01" * 20, parent_hash=b"\x11" * 32, extra_data=extra.encode(), mix_hash=b"\x63" * 32,
        base_fee_per_gas=7, withdrawals_root=b"\x56" * 32, blob_gas_used=0, excess_blob_gas=0,
        parent_beacon_block_root=b"\x00" * 32,
    )
    return rlp.encode(QbftBlock(header, transactions=[_DECODE(r) for r in raws], uncles=[], withdrawals=[]))


def _verdict(decode: Any) -> Any:
    try:
        block = decode()
    except (rlp.DecodingError, rlp.DeserializationError):
        return "refused"
    except Exception as exc:  # e.g. py-evm's UnrecognizedTransactionType: the same one on both paths
        return type(exc).__name__
    return (block, rlp.encode(block), block.hash, [tx.hash for tx in block.transactions])


pools = st.lists(st.sampled_from(_RAW), max_size=len(_RAW), unique=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raws=st.lists(st.sampled_from(_RAW), max_size=20), pooled=pools, number=st.integers(1, 10**6))
def test_equals_the_block_sedes(raws: list[bytes], pooled: list[bytes], number: int) -> None:
    encoded = _block(raws, number)
    pool = {tx.hash: tx for tx in map(_DECODE, pooled)}
    block = block_from_items(encoded, rlp.decode(encoded), pool.get)
    assert _verdict(lambda: block) == _verdict(lambda: rlp.decode(encoded, sedes=QbftBlock))
    for tx in block.transactions:  # pooled typed transactions are reused, not decoded again
        if getattr(tx, "type_id", None) is not None:
            assert tx is pool.get(tx.hash, tx)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raws=st.lists(st.sampled_from(_RAW), min_size=1, max_size=6), pooled=pools,
       position=st.integers(0, 10**5), value=st.integers(0, 255))
def test_corrupted_blocks_get_the_same_verdict(raws: list[bytes], pooled: list[bytes], position: int,
                                               value: int) -> None:
    data = bytearray(_block(raws, 5))
    data[position % len(data)] = value
    encoded = bytes(data)
    try:
        items = rlp.decode(encoded, strict=True)
    except rlp.DecodingError:
        return  # not RLP at all: the message codec refuses it before a block is built
    pool = {tx.hash: tx for tx in map(_DECODE, pooled)}
    assert _verdict(lambda: block_from_items(encoded, items, pool.get)) == _verdict(
        lambda: rlp.decode(encoded, sedes=QbftBlock)
    )


@pytest.mark.parametrize("items", [[], [b"", [], [], []], [[], [], []], [[], b"", [], []]])
def test_wrong_shapes_are_refused_like_the_sedes(items: list[Any]) -> None:
    encoded = rlp.encode(items)
    assert _verdict(lambda: block_from_items(encoded, items)) == "refused"
