"""Single-validator producer: QBFT block format, seal, validator check and block sizing."""

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import make_genesis, parse_genesis
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import recover_seal_signers
from co3chain.node.producer import (
    INITIAL_SECONDS_PER_TX,
    MIN_BLOCK_TXS,
    ProducerError,
    SingleValidatorProducer,
)
from co3chain.node.txpool import TxPool
from tests.rpc.conftest import VALIDATOR, VALIDATOR_KEY, addr


def make(validators: list[bytes] | None = None, **kw: object) -> SingleValidatorProducer:
    genesis = parse_genesis(make_genesis(validators or [VALIDATOR], 5, {}, block_period=1))
    chain = NodeChain.open(None, genesis)
    pool = TxPool(chain)
    chain.add_import_listener(pool.on_block_imported)
    return SingleValidatorProducer(chain, pool, VALIDATOR_KEY, **kw)


def test_sealed_block_is_qbft_format() -> None:
    p = make()
    info = p.produce_one(p.chain.head.timestamp + 1)
    header = p.chain.head
    assert info.number == header.block_number == 1 and info.txs == 0
    assert header.coinbase == VALIDATOR and header.difficulty == 1
    extra = QbftExtraData.decode(header.extra_data)
    assert extra.validators == [VALIDATOR] and extra.round == 0 and extra.vote is None
    assert recover_seal_signers(header) == [VALIDATOR]


def test_refuses_when_not_the_only_validator() -> None:
    other = addr(bytes([8]) * 32)
    with pytest.raises(ProducerError, match="only validator"):
        make([VALIDATOR, other])
    with pytest.raises(ProducerError):
        make([other])


def test_block_size_follows_measured_speed() -> None:
    p = make(max_block_txs=2000)
    assert p.block_tx_cap() == int(1.0 / INITIAL_SECONDS_PER_TX)  # nothing measured yet
    p.seconds_per_tx = None
    assert p.block_tx_cap() == 2000
    p._learn(500, 2.0)  # 4 ms per tx → a 1 s budget fits 250
    assert p.block_tx_cap() == 250
    p._learn(10, 100.0)  # tiny blocks are ignored (noisy)
    assert p.block_tx_cap() == 250
    p.seconds_per_tx = 1.0
    assert p.block_tx_cap() == MIN_BLOCK_TXS
    p.seconds_per_tx = 1e-6
    assert p.block_tx_cap() == 2000


def test_run_without_empty_blocks_waits_for_transactions() -> None:
    from tests.rpc.conftest import USER_KEYS, USERS

    genesis = parse_genesis(make_genesis([VALIDATOR], 5, {USERS[0]: 10**20}, block_period=1))
    chain = NodeChain.open(None, genesis)
    pool = TxPool(chain)
    chain.add_import_listener(pool.on_block_imported)
    p = SingleValidatorProducer(chain, pool, VALIDATOR_KEY, empty_blocks=False)
    assert chain.head.timestamp == 0  # the first block is due immediately

    async def scenario() -> tuple[int, int]:
        task = asyncio.create_task(p.run())
        await asyncio.sleep(0.5)
        idle_height = chain.head.block_number
        raw = (
            Account.from_key(USER_KEYS[0])
            .sign_transaction(
                {
                    "nonce": 0,
                    "gas": 21000,
                    "gasPrice": 0,
                    "to": to_checksum_address(USERS[1]),
                    "value": 1,
                    "chainId": 5,
                }
            )
            .raw_transaction
        )
        pool.add(bytes(raw))
        while chain.head.block_number == 0:
            await asyncio.sleep(0.05)
        p.stop()
        await asyncio.wait_for(task, 10)
        return idle_height, len(chain.get_block_by_number(1).transactions)

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == (0, 1)
