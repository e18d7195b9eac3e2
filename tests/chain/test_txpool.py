"""TxPool: admission errors and codes, nonce ordering, pending/queued, replacement, limits, eviction."""

from __future__ import annotations

import pytest
from eth_account import Account

from co3chain.chain.chain import NodeChain
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.node.txpool import TxPool, TxPoolError
from tests.chain.helpers import (
    USER_KEYS,
    USERS,
    VALIDATOR_KEYS,
    decode_tx,
    make_test_genesis,
    seal_block,
    sign_tx,
)

A, B, C = USER_KEYS[0], USER_KEYS[1], USER_KEYS[2]


@pytest.fixture
def chain() -> NodeChain:
    return NodeChain.open(None, make_test_genesis(1))


@pytest.fixture
def pool(chain: NodeChain) -> TxPool:
    return TxPool(chain)


def _tx(chain: NodeChain, key: bytes, nonce: int, **kw) -> bytes:
    kw.setdefault("to", USERS[3])
    kw.setdefault("gas", 21000)
    return sign_tx(key, chain, nonce=nonce, **kw)


def _err(pool: TxPool, raw: bytes) -> TxPoolError:
    with pytest.raises(TxPoolError) as ei:
        pool.add(raw)
    return ei.value


def test_accepts_legacy_2930_1559_with_zero_price(chain: NodeChain, pool: TxPool) -> None:
    h0 = pool.add(_tx(chain, A, 0))
    h1 = pool.add(_tx(chain, A, 1, gasPrice=0, accessList=[], gas=30000))
    h2 = pool.add(_tx(chain, A, 2, maxFeePerGas=0, maxPriorityFeePerGas=0))
    assert [t.hash for t in pool.select_for_block(10**9)] == [h0, h1, h2]
    assert pool.status() == {"pending": 3, "queued": 0}
    assert pool.get(h1).type_id == 1 and h2 in pool and len(pool) == 3
    assert pool.pending_nonce(USERS[0]) == 3


@pytest.mark.parametrize(
    ("build", "code", "needle"),
    [
        (lambda c: b"\x05garbage", -32602, "invalid transaction"),
        (lambda c: b"", -32602, "invalid transaction"),
        (lambda c: _tx(c, A, 0, gas=20000), -32000, "intrinsic gas too low"),
        (lambda c: _tx(c, A, 0, gas=c.head.gas_limit + 1), -32000, "exceeds block gas limit"),
        (lambda c: _tx(c, b"\x77" * 32, 0, value=1), -32000, "insufficient funds for gas * price + value"),
        (lambda c: _tx(c, A, 0, gasPrice=10**18, gas=21000, value=10**24), -32000, "insufficient funds"),
        (lambda c: _tx(c, A, 0, chainId=1), -32000, "invalid chain id"),
        (
            lambda c: bytes(
                Account.sign_transaction(
                    {"nonce": 0, "gasPrice": 0, "gas": 21000, "to": "0x" + "11" * 20, "value": 0}, A
                ).raw_transaction
            ),
            -32000,
            "invalid chain id",
        ),
        (lambda c: _tx(c, A, 64), -32000, "nonce too high"),
    ],
)
def test_admission_errors(chain: NodeChain, pool: TxPool, build, code: int, needle: str) -> None:
    e = _err(pool, build(chain))
    assert e.code == code and needle in e.message
    assert len(pool) == 0


def test_nonce_too_low_and_known(chain: NodeChain, pool: TxPool) -> None:
    raw = _tx(chain, A, 0)
    pool.add(raw)
    assert _err(pool, raw).message == "already known"
    # mine nonce 0, then nonce 0 is too low
    block = chain.build_block(
        pool.select_for_block(10**9),
        USERS[0],
        chain.head.timestamp + 1,
        QbftExtraData(validators=chain.validators_for_child(chain.head)).encode(),
    ).block
    chain.import_block(seal_block(block, VALIDATOR_KEYS[:1]))
    pool.on_block_imported(block)
    assert len(pool) == 0
    e = _err(pool, _tx(chain, A, 0, value=1))
    assert e.code == -32000 and e.message.startswith("nonce too low")


def test_allowlist(chain: NodeChain) -> None:
    pool = TxPool(chain, allowlist=lambda a: a == USERS[0])
    pool.add(_tx(chain, A, 0))
    assert _err(pool, _tx(chain, B, 0)).message == "sender not allow-listed"


def test_pending_queued_split_and_gap_fill(chain: NodeChain, pool: TxPool) -> None:
    pool.add(_tx(chain, A, 2))
    pool.add(_tx(chain, A, 3))
    assert pool.status() == {"pending": 0, "queued": 2}
    assert pool.select_for_block(10**9) == []
    assert pool.pending_nonce(USERS[0]) == 0
    pool.add(_tx(chain, A, 0))
    assert pool.status() == {"pending": 1, "queued": 2}
    pool.add(_tx(chain, A, 1))
    assert pool.status() == {"pending": 4, "queued": 0}
    assert [t.nonce for t in pool.select_for_block(10**9)] == [0, 1, 2, 3]
    content = pool.content()
    assert sorted(content["pending"][USERS[0]]) == [0, 1, 2, 3] and content["queued"] == {}


def test_ordering_across_senders(chain: NodeChain, pool: TxPool) -> None:
    a0 = pool.add(_tx(chain, A, 0))
    b0 = pool.add(_tx(chain, B, 0, gasPrice=5))
    a1 = pool.add(_tx(chain, A, 1, gasPrice=9))  # high tip but behind a0 in A's nonce order
    c0 = pool.add(_tx(chain, C, 0))
    order = [t.hash for t in pool.select_for_block(10**9)]
    assert order == [b0, a0, a1, c0]
    # gas limit: only what fits (21000 each)
    assert [t.hash for t in pool.select_for_block(3 * 21000)] == [b0, a0, a1]
    assert [t.hash for t in pool.select_for_block(10**9, max_txs=2)] == [b0, a0]


def test_gas_limit_skips_big_tx_but_keeps_others(chain: NodeChain, pool: TxPool) -> None:
    big = pool.add(_tx(chain, A, 0, gas=500_000, gasPrice=3))
    small = pool.add(_tx(chain, B, 0))
    assert [t.hash for t in pool.select_for_block(100_000)] == [small]
    assert [t.hash for t in pool.select_for_block(600_000)] == [big, small]


def test_replacement_rules(chain: NodeChain, pool: TxPool) -> None:
    pool.add(_tx(chain, A, 0, gasPrice=100))
    assert (
        _err(pool, _tx(chain, A, 0, gasPrice=100, value=1)).message == "replacement transaction underpriced"
    )
    assert _err(pool, _tx(chain, A, 0, gasPrice=109)).message == "replacement transaction underpriced"
    new = pool.add(_tx(chain, A, 0, gasPrice=110))
    assert [t.hash for t in pool.select_for_block(10**9)] == [new] and len(pool) == 1
    # 1559: both fee cap and tip must rise by 10 %
    pool.add(_tx(chain, B, 0, maxFeePerGas=100, maxPriorityFeePerGas=100))
    assert "underpriced" in _err(pool, _tx(chain, B, 0, maxFeePerGas=200, maxPriorityFeePerGas=105)).message
    pool.add(_tx(chain, B, 0, maxFeePerGas=200, maxPriorityFeePerGas=110))
    # the tip must rise too, even from zero
    pool.add(_tx(chain, B, 1, maxFeePerGas=100, maxPriorityFeePerGas=0))
    assert "underpriced" in _err(pool, _tx(chain, B, 1, maxFeePerGas=500, maxPriorityFeePerGas=0)).message
    pool.add(_tx(chain, B, 1, maxFeePerGas=500, maxPriorityFeePerGas=1))
    # zero price: an equal-price resubmission is not a replacement
    pool.add(_tx(chain, C, 0))
    assert "underpriced" in _err(pool, _tx(chain, C, 0, value=1)).message
    pool.add(_tx(chain, C, 0, gasPrice=1))
    assert len(pool) == 4


def test_limits(chain: NodeChain) -> None:
    pool = TxPool(chain, max_per_sender=3, max_total=4)
    for n in range(3):
        pool.add(_tx(chain, A, n))
    e = _err(pool, _tx(chain, A, 3))
    assert e.code == -32000 and "nonce too high" in e.message  # beyond the per-sender window
    pool.add(_tx(chain, B, 0))
    e = _err(pool, _tx(chain, C, 0))
    assert e.code == -32000 and e.message == "txpool is full"
    # a replacement is still possible when full
    pool.add(_tx(chain, B, 0, gasPrice=10))
    assert len(pool) == 4


def test_per_sender_limit_with_queued(chain: NodeChain) -> None:
    pool = TxPool(chain, max_per_sender=3)
    pool.add(_tx(chain, A, 0))
    pool.add(_tx(chain, A, 2))
    pool.add(_tx(chain, A, 1))
    assert pool.status() == {"pending": 3, "queued": 0}
    assert "nonce too high" in _err(pool, _tx(chain, A, 3)).message
    pool.add(_tx(chain, A, 1, gasPrice=1, value=1))  # replacing inside the window is fine
    assert len(pool) == 3


def test_on_block_imported_evicts_included_and_stale(chain: NodeChain, pool: TxPool) -> None:
    a0 = _tx(chain, A, 0)
    pool.add(a0)
    pool.add(_tx(chain, A, 1))
    pool.add(_tx(chain, B, 0))
    # a block built elsewhere includes A's nonce 0 and 1 (a different nonce-1 tx)
    other_a1 = decode_tx(chain, _tx(chain, A, 1, value=7))
    extra = QbftExtraData(validators=chain.validators_for_child(chain.head)).encode()
    res = chain.build_block([decode_tx(chain, a0), other_a1], USERS[0], chain.head.timestamp + 1, extra)
    chain.add_import_listener(pool.on_block_imported)
    chain.import_block(seal_block(res.block, VALIDATOR_KEYS[:1]))
    assert len(pool) == 1 and pool.status() == {"pending": 1, "queued": 0}
    assert pool.pending_nonce(USERS[0]) == 2
    assert [t.sender for t in pool.select_for_block(10**9)] == [USERS[1]]


def test_drop_rejected(chain: NodeChain, pool: TxPool) -> None:
    h = pool.add(_tx(chain, A, 0))
    pool.drop_rejected([(pool.get(h), "whatever")])
    assert len(pool) == 0 and pool.status() == {"pending": 0, "queued": 0}


def test_select_excludes_what_the_open_block_already_holds(chain: NodeChain, pool: TxPool) -> None:
    a0, a1, b0 = _tx(chain, A, 0), _tx(chain, A, 1), _tx(chain, B, 0)
    for raw in (a0, a1, b0):
        pool.add(raw)
    h = {raw: decode_tx(chain, raw).hash for raw in (a0, a1, b0)}
    chosen = pool.select_for_block(10**9, exclude={h[a0]})
    assert [t.hash for t in chosen] == [h[b0], h[a1]] or [t.hash for t in chosen] == [h[a1], h[b0]]
    # excluded transactions count neither against max_txs nor against gas
    assert len(pool.select_for_block(21000, 1, exclude={h[a0], h[b0]})) == 1
    assert pool.select_for_block(10**9, exclude=set(h.values())) == []


def test_select_resumes_after_the_open_blocks_nonces(chain: NodeChain, pool: TxPool) -> None:
    a0, a1, a2, b0 = _tx(chain, A, 0), _tx(chain, A, 1), _tx(chain, A, 2), _tx(chain, B, 0)
    for raw in (a0, a1, a2, b0):
        pool.add(raw)
    h = {raw: decode_tx(chain, raw).hash for raw in (a0, a1, a2, b0)}
    chosen = pool.select_for_block(10**9, next_nonces={USERS[0]: 2, USERS[1]: 1})
    assert [t.hash for t in chosen] == [h[a2]]
    assert {t.hash for t in pool.select_for_block(10**9, next_nonces={USERS[0]: 1})} == {h[a1], h[a2], h[b0]}


def test_account_reads_follow_the_head(chain: NodeChain, pool: TxPool) -> None:
    """The pool reads a sender's (nonce, balance) once per head: a new head must be seen at once."""
    balance = chain.state_at().get_balance(USERS[0])
    pool.add(_tx(chain, A, 0, value=1))  # A's account is now read (and kept) for this head
    spend = decode_tx(chain, _tx(chain, A, 0, value=balance - 10**6, gas=21000))
    extra = QbftExtraData(validators=chain.validators_for_child(chain.head)).encode()
    res = chain.build_block([spend], USERS[0], chain.head.timestamp + 1, extra)
    chain.add_import_listener(pool.on_block_imported)
    chain.import_block(seal_block(res.block, VALIDATOR_KEYS[:1]))
    assert _err(pool, _tx(chain, A, 0, value=2)).message.startswith("nonce too low")
    e = _err(pool, _tx(chain, A, 1, value=2 * 10**6))
    assert e.code == -32000 and e.message == "insufficient funds for gas * price + value"
    assert pool.add(_tx(chain, A, 1, value=10**5))
