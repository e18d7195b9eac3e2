"""Single-validator producer: QBFT block format, seal, validator check, execution during the period."""

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import make_genesis, parse_genesis
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import recover_seal_signers
from co3chain.node.producer import ProducerError, SingleValidatorProducer
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


def _transfer(key: bytes, nonce: int, chain_id: int = 5) -> bytes:
    from tests.rpc.conftest import USERS

    tx = {"nonce": nonce, "gas": 21000, "gasPrice": 0, "to": to_checksum_address(USERS[1]), "value": 1,
          "chainId": chain_id}
    return bytes(Account.from_key(key).sign_transaction(tx).raw_transaction)


def _funded_producer(**kw: object) -> tuple[SingleValidatorProducer, list[float]]:
    """A producer on a fake clock (``now[0]``) whose genesis funds the test users; the genesis is at t=0."""
    from tests.rpc.conftest import USERS

    genesis = parse_genesis(make_genesis([VALIDATOR], 5, {u: 10**20 for u in USERS}, block_period=1))
    chain = NodeChain.open(None, genesis)
    pool = TxPool(chain)
    chain.add_import_listener(pool.on_block_imported)
    now = [0.2]
    return SingleValidatorProducer(chain, pool, VALIDATOR_KEY, clock=lambda: now[0], **kw), now


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def test_transactions_execute_during_the_period_and_seal_at_the_slot() -> None:
    from tests.rpc.conftest import USER_KEYS

    p, now = _funded_producer()

    async def scenario() -> None:
        task = asyncio.create_task(p.run())
        for nonce in range(3):
            p.txpool.add(_transfer(USER_KEYS[0], nonce))
        # executed into the open block well before the slot; nothing sealed yet
        await _until(lambda: p.open is not None and len(p.open.included) == 3)
        assert p.chain.head.block_number == 0 and p.status()["openBlockTxs"] == 3
        p.txpool.add(_transfer(USER_KEYS[1], 0))  # a late arrival joins the same block
        await _until(lambda: len(p.open.included) == 4)
        now[0] = 1.0  # the slot
        await _until(lambda: p.chain.head.block_number == 1)
        p.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(asyncio.wait_for(scenario(), 30))
    block = p.chain.get_block_by_number(1)
    assert len(block.transactions) == 4 and block.header.timestamp == 1
    assert recover_seal_signers(block.header) == [VALIDATOR]
    assert len(p.txpool) == 0 and p.open is None and p.last is not None and p.last.txs == 4


def test_block_holds_at_most_max_block_txs() -> None:
    from tests.rpc.conftest import USER_KEYS

    p, _ = _funded_producer(max_block_txs=2)
    for nonce in range(3):
        p.txpool.add(_transfer(USER_KEYS[0], nonce))
    assert p.produce_one(1).txs == 2
    assert p.produce_one(2).txs == 1
    assert p.chain.state_at().get_nonce(addr(USER_KEYS[0])) == 3


def test_replacement_of_an_executed_transaction_is_not_offered_again() -> None:
    from tests.rpc.conftest import USER_KEYS

    p, _ = _funded_producer()
    p.txpool.add(_transfer(USER_KEYS[0], 0))
    builder = p.open_block(1)
    p.filler.fill(builder)
    assert len(builder.included) == 1
    # a replacement for the already executed nonce arrives (higher price): the block's offer resumes
    # after nonce 0 for this sender, and the import evicts the replacement as stale
    replacement = Account.from_key(USER_KEYS[0]).sign_transaction(
        {"nonce": 0, "gas": 21000, "gasPrice": 10, "to": to_checksum_address(VALIDATOR), "value": 2, "chainId": 5}
    )
    p.txpool.add(bytes(replacement.raw_transaction))
    assert p.filler.fill(builder) == 0
    info = p.seal(builder, None)
    assert info.txs == 1 and info.rejected == 0 and len(p.txpool) == 0


def test_rejected_transaction_is_dropped_from_the_pool() -> None:
    from tests.rpc.conftest import USER_KEYS

    p, _ = _funded_producer()
    p.txpool.add(_transfer(USER_KEYS[0], 0))
    builder = p.open_block(1)
    # the sender's funds go elsewhere first (an RPC-side race the pool cannot see): its transfer now fails
    builder._state.set_balance(addr(USER_KEYS[0]), 0)
    info = p.seal(builder, None)
    assert info.txs == 0 and info.rejected == 1 and len(p.txpool) == 0
