"""BlockBuilder: a block filled over several calls is the block built in one go; stale parents are refused."""

from __future__ import annotations

import pytest

from co3chain.chain.chain import NodeChain, StaleBlockError
from co3chain.consensus.qbft.extradata import QbftExtraData
from tests.chain.helpers import (
    PROBE_ADDR,
    USER_KEYS,
    USERS,
    VALIDATOR_KEYS,
    addr,
    decode_tx,
    make_test_genesis,
    produce,
    seal_block,
    sign_tx,
)


def _workload(chain: NodeChain) -> list:
    raws = [sign_tx(USER_KEYS[0], chain, nonce=n, to=USERS[1], value=n + 1, gas=21000) for n in range(4)]
    raws.append(sign_tx(USER_KEYS[1], chain, nonce=0, to=PROBE_ADDR, data=(5).to_bytes(32, "big")))
    raws.append(sign_tx(USER_KEYS[2], chain, nonce=7, to=USERS[1], gas=21000))  # bad nonce: rejected
    return [decode_tx(chain, r) for r in raws]


def _extra(chain: NodeChain) -> bytes:
    return QbftExtraData(validators=chain.validators_for_child(chain.head)).encode()


def test_incremental_fill_matches_one_shot_build() -> None:
    genesis = make_test_genesis(1)
    one, inc = NodeChain.open(None, genesis), NodeChain.open(None, genesis)
    txs = _workload(one)
    coinbase, ts = addr(VALIDATOR_KEYS[0]), one.head.timestamp + 1
    whole = one.build_block(txs, coinbase, ts, _extra(one))

    builder = inc.open_block(coinbase, ts, _extra(inc))
    assert builder.add(txs[:2]) == 2
    builder.commit_state()  # tries folded mid-block: the final roots must not change
    assert builder.uncommitted == 0
    assert builder.add(txs[2:3]) == 1
    builder.commit_state()
    assert builder.add(txs[3:]) == 3 and builder.uncommitted == 2  # the rejected one is not a change
    parts = inc.finish_block(builder)

    assert parts.block.header == whole.block.header  # same roots, gas, bloom: same hash
    assert len(parts.included) == 5 and [t.hash for t, _ in parts.rejected] == [txs[-1].hash]
    inc.import_block(seal_block(parts.block, VALIDATOR_KEYS[:1]))
    assert inc.state_at().get_storage(PROBE_ADDR, 0) == 5
    assert builder.exec_seconds > 0 and builder.seen == {t.hash for t in txs}


def test_deadline_leaves_transactions_unprocessed() -> None:
    chain = NodeChain.open(None, make_test_genesis(1))
    txs = _workload(chain)
    builder = chain.open_block(addr(VALIDATOR_KEYS[0]), chain.head.timestamp + 1, _extra(chain))
    assert builder.add(txs, deadline=0.0) == 0  # a monotonic time long past
    assert not builder.included and not builder.rejected and not builder.seen
    assert not chain.finish_block(builder).block.transactions
    with pytest.raises(RuntimeError, match="already finished"):
        builder.add(txs)


def test_finish_refuses_a_block_whose_parent_is_no_longer_head() -> None:
    chain = NodeChain.open(None, make_test_genesis(1))
    builder = chain.open_block(addr(VALIDATOR_KEYS[0]), chain.head.timestamp + 1, _extra(chain))
    builder.add(_workload(chain)[:1])
    produce(chain, [])  # another block became the head meanwhile
    with pytest.raises(StaleBlockError, match="no longer the head"):
        chain.finish_block(builder)
    assert chain.head.block_number == 1 and chain.state_at().get_nonce(USERS[0]) == 0


def test_with_header_shares_transactions_and_encodes_like_copy() -> None:
    import rlp

    chain = NodeChain.open(None, make_test_genesis(1))
    block = chain.build_block(_workload(chain)[:3], addr(VALIDATOR_KEYS[0]), 1, _extra(chain)).block
    header = block.header.copy(extra_data=QbftExtraData(validators=[addr(VALIDATOR_KEYS[0])], round=2).encode())
    moved = block.with_header(header)
    assert rlp.encode(moved) == rlp.encode(block.copy(header=header))
    assert moved.transactions is block.transactions and moved.header is header


def test_rejected_transaction_leaves_no_state_change_behind() -> None:
    """An access-list transaction whose gas limit covers 21,000 but not its access list's intrinsic gas is
    refused by py-evm only after it bumped the sender's nonce; the builder must roll that back (found by the
    execution-specification differential test: the block's state root had a nonce no transaction explains)."""
    from co3chain.chain.chain import NodeChain
    from co3chain.consensus.qbft.extradata import QbftExtraData
    from tests.chain.helpers import USER_KEYS, USERS, addr, decode_tx, make_test_genesis, sign_tx

    for engine in ("revm", "py-evm"):
        chain = NodeChain.open(None, make_test_genesis(), engine=engine)
        raw = sign_tx(USER_KEYS[0], chain, nonce=0, gas=25_000, to=b"\x00" * 19 + b"\x07",
                      maxFeePerGas=0, maxPriorityFeePerGas=0,
                      accessList=[{"address": "0x" + "11" * 20, "storageKeys": ["0x" + "00" * 32]}])
        vals = chain.validators_for_child(chain.head)
        res = chain.build_block([decode_tx(chain, raw)], vals[0], chain.head.timestamp + 1,
                                QbftExtraData(validators=vals).encode())
        assert len(res.rejected) == 1 and not res.included, engine
        assert res.block.header.state_root == chain.head.state_root, f"{engine}: rejected tx changed the state"
        chain.close()
    assert USERS and addr


def test_strict_builder_skips_the_pool_bookkeeping_and_builds_the_same_block() -> None:
    """A strict builder (import, proposal check) keeps no ``seen`` set (no pool offers it transactions,
    and each entry costs a transaction hash) and builds the very block a producer's builder builds."""
    from co3chain.chain.builder import BlockBuilder

    genesis = make_test_genesis(1)
    one, two = NodeChain.open(None, genesis), NodeChain.open(None, genesis)
    txs = _workload(one)[:-1]  # all valid: a strict builder raises on the bad nonce
    coinbase, ts = addr(VALIDATOR_KEYS[0]), one.head.timestamp + 1
    producer = one.open_block(coinbase, ts, _extra(one))
    assert producer.add(txs) == len(txs) and producer.seen == {t.hash for t in txs}
    strict = BlockBuilder(two, two.head, producer.header.copy(gas_used=0, bloom=0), strict=True)
    assert strict.add(txs) == len(txs) and strict.seen == set()
    assert strict.finish(_extra(two)).header == producer.finish(_extra(one)).header
