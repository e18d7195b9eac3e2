"""The proposer's gas cap (:class:`BuildBudget`) and how :class:`BlockFiller` applies it."""

from __future__ import annotations

import pytest

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import make_genesis, parse_genesis
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.node.block_filler import BlockFiller
from co3chain.node.build_budget import MIN_CAP_GAS, MIN_SAMPLE_GAS, BuildBudget
from co3chain.node.txpool import TxPool
from tests.node.test_producer import _transfer
from tests.rpc.conftest import USER_KEYS, USERS, VALIDATOR

LIMIT = 30_000_000


def test_no_measurement_no_cap_beyond_the_gas_limit() -> None:
    b = BuildBudget(2.0)
    assert b.gas_cap(LIMIT) == LIMIT and b.seconds_per_gas is None


def test_cap_is_what_fits_in_the_verify_share_of_the_round() -> None:
    b = BuildBudget(2.0, verify_share=0.5)  # 1 s of verification allowed
    b.observe_verify(0.5, 5_000_000)  # 0.1 µs per gas -> 10 Mgas per second
    assert b.gas_cap(LIMIT) == 10_000_000
    assert b.gas_cap(4_000_000) == 4_000_000  # never above the block gas limit


def test_slower_sample_tightens_at_once_faster_one_relaxes_slowly() -> None:
    b = BuildBudget(2.0, verify_share=0.5)
    b.observe_verify(0.5, 5_000_000)
    b.observe_verify(2.0, 5_000_000)  # 4x slower (the machine got busy): cap drops 4x immediately
    assert b.gas_cap(LIMIT) == 2_500_000
    b.observe_verify(0.5, 5_000_000)  # one quick block does not restore the old cap
    assert 2_500_000 < b.gas_cap(LIMIT) < 5_000_000


def test_slowest_of_building_and_verifying_bounds_the_block() -> None:
    b = BuildBudget(2.0, verify_share=0.5)
    b.observe_verify(0.1, 10_000_000)
    b.observe_build(1.0, 10_000_000)  # own builds 10x slower than verification (e.g. pool contention)
    assert b.gas_cap(LIMIT) == 10_000_000


def test_light_blocks_are_not_samples_and_cap_has_a_floor() -> None:
    b = BuildBudget(2.0)
    b.observe_verify(5.0, MIN_SAMPLE_GAS - 1)  # fixed costs dominate tiny blocks: ignored
    assert b.samples == 0 and b.gas_cap(LIMIT) == LIMIT
    b.observe_verify(100.0, MIN_SAMPLE_GAS)  # absurdly slow: the chain still moves
    assert b.gas_cap(LIMIT) == MIN_CAP_GAS


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        BuildBudget(0)
    with pytest.raises(ValueError):
        BuildBudget(2.0, verify_share=1.5)


def test_filler_stops_at_the_gas_cap_and_leaves_the_rest_in_the_pool() -> None:
    genesis = parse_genesis(make_genesis([VALIDATOR], 5, {u: 10**20 for u in USERS}, block_period=1))
    chain = NodeChain.open(None, genesis)
    pool = TxPool(chain)
    chain.add_import_listener(pool.on_block_imported)
    for nonce in range(10):
        pool.add(_transfer(USER_KEYS[0], nonce))
    cap = 4 * 21_000 + 20_000  # room for 4 transfers, not 5
    filler = BlockFiller(chain, pool, VALIDATOR, max_txs=100, gas_cap=lambda _limit: cap)
    builder = filler.open(1, QbftExtraData(validators=[VALIDATOR]).encode())
    filler.fill(builder)
    assert len(builder.included) == 4 and filler.gas_room(builder) < 21_000
    result = filler.finish(builder, None)
    assert result.block.header.gas_used == 4 * 21_000 and not result.rejected
    assert builder.exec_seconds > 0 and builder.commit_seconds > 0
