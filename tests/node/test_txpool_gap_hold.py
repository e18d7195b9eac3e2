"""Gossiped transactions beyond a sender's queued (nonce-gap) limit are held, not lost, and enter the pool
once the gap fills — by gossip or by a block another validator mined. RPC admission still refuses them."""

from __future__ import annotations

import pytest

from co3chain.chain.chain import NodeChain
from co3chain.node.txpool import TxPool, TxPoolError
from tests.chain.helpers import USER_KEYS, USERS, addr, make_test_genesis, produce, sign_tx

SENDER, OTHER = USER_KEYS[0], USER_KEYS[1]


@pytest.fixture
def chain() -> NodeChain:
    return NodeChain.open(None, make_test_genesis(1))


def _tx(chain: NodeChain, key: bytes, nonce: int) -> bytes:
    return sign_tx(key, chain, nonce=nonce, to=USERS[3], gas=21_000)


def _pending_nonces(pool: TxPool, key: bytes) -> list[int]:
    sender = addr(key)
    return [tx.nonce for tx in pool.pending_transactions() if pool._by_hash[tx.hash].sender == sender]


def test_gossip_out_of_nonce_order_beyond_the_queued_limit_is_not_lost(chain: NodeChain) -> None:
    """The order a validator sees when a client spreads its nonces over the nodes: every odd nonce first
    (from one peer), then the even ones (from another). Fails on the old pool ("too many queued")."""
    pool = TxPool(chain, max_queued_per_sender=4)
    for nonce in range(1, 20, 2):  # 10 gapped transactions, limit 4: 6 are beyond it
        pool.add_holding_gaps(_tx(chain, SENDER, nonce))
    assert pool.status() == {"pending": 0, "queued": 10} and pool.held == 6  # held ones count as queued
    queued = pool.content()["queued"][addr(SENDER)]
    assert list(queued) == list(range(1, 20, 2)) and pool.content()["pending"] == {}
    for nonce in range(0, 20, 2):
        pool.add_holding_gaps(_tx(chain, SENDER, nonce))
    assert _pending_nonces(pool, SENDER) == list(range(20)) and pool.held == 0
    assert pool.status() == {"pending": 20, "queued": 0}


def test_rpc_admission_still_refuses_beyond_the_limit_and_held_ones_are_not_selectable(chain: NodeChain) -> None:
    pool = TxPool(chain, max_queued_per_sender=2)
    for nonce in (2, 3):
        pool.add(_tx(chain, SENDER, nonce))
    with pytest.raises(TxPoolError, match="too many queued"):
        pool.add(_tx(chain, SENDER, 4))
    held = pool.add_holding_gaps(_tx(chain, SENDER, 4))
    assert pool.held == 1 and held not in pool
    assert pool.get(held).hash == held  # accepted: eth_getTransactionByHash finds it (as pending, no block)
    with pytest.raises(TxPoolError, match="already known"):
        pool.add_holding_gaps(_tx(chain, SENDER, 4))
    assert pool.pending_transactions() == [] and pool.status() == {"pending": 0, "queued": 3}


def test_a_block_that_fills_the_gap_releases_held_transactions(chain: NodeChain) -> None:
    pool = TxPool(chain, max_queued_per_sender=1)
    chain.add_import_listener(pool.on_block_imported)
    pool.add_holding_gaps(_tx(chain, SENDER, 1))
    pool.add_holding_gaps(_tx(chain, SENDER, 2))  # held
    pool.add_holding_gaps(_tx(chain, SENDER, 3))  # held
    assert pool.held == 2
    produce(chain, [_tx(chain, SENDER, 0)])  # another proposer mined nonce 0
    assert _pending_nonces(pool, SENDER) == [1, 2, 3] and pool.held == 0


def test_held_transactions_are_bounded_node_wide_and_expire(chain: NodeChain) -> None:
    now = [1000.0]
    pool = TxPool(chain, max_queued_per_sender=1, gap_hold=3, queued_lifetime=60, clock=lambda: now[0])
    pool.add_holding_gaps(_tx(chain, SENDER, 1))
    for nonce in range(2, 7):  # 5 beyond the limit, room for 3: the oldest two are dropped
        pool.add_holding_gaps(_tx(chain, SENDER, nonce))
    assert pool.held == 3 and sorted(pool._held_by_sender[addr(SENDER)]) == [4, 5, 6]
    pool.add_holding_gaps(_tx(chain, OTHER, 1))
    pool.add_holding_gaps(_tx(chain, OTHER, 2))  # evicts SENDER's oldest held (4)
    assert pool.held == 3
    now[0] += 61
    pool.expire_queued()
    assert pool.held == 0 and pool._held_bytes == 0
    # per-sender bound unchanged: a nonce beyond max_per_sender is refused, held or not
    with pytest.raises(TxPoolError, match="nonce too high"):
        pool.add_holding_gaps(_tx(chain, SENDER, pool.max_per_sender + 1))


def test_release_stops_at_the_queued_limit_and_keeps_the_rest_held(chain: NodeChain) -> None:
    pool = TxPool(chain, max_queued_per_sender=2)
    for nonce in (2, 3, 5, 6, 7):  # 2, 3 queued; 5, 6, 7 held
        pool.add_holding_gaps(_tx(chain, SENDER, nonce))
    assert pool.held == 3
    pool.add_holding_gaps(_tx(chain, SENDER, 0))  # run 0; queued 2, 3: nothing released yet
    assert pool.held == 3
    pool.add_holding_gaps(_tx(chain, SENDER, 1))  # run 0..3: 5, 6 fit as queued, 7 waits
    assert pool.held == 1 and pool.status() == {"pending": 4, "queued": 3}  # 5, 6 queued; 7 held
    pool.add_holding_gaps(_tx(chain, SENDER, 4))
    assert _pending_nonces(pool, SENDER) == list(range(8)) and pool.held == 0


def test_a_validators_rpc_holds_nonce_gap_overflow_and_gossips_it(chain: NodeChain) -> None:
    """A client spreading one sender's nonces over the PAs' nodes: this node gets every other nonce by RPC
    before the rest arrives by gossip. Refused on the old code ("too many queued")."""
    from co3chain.node.qbft_driver import GossipingTxPool

    pool = TxPool(chain, max_queued_per_sender=2)
    gossiped: list[bytes] = []
    rpc = GossipingTxPool(pool, gossiped.append)
    raws = [_tx(chain, SENDER, nonce) for nonce in range(12)]
    for raw in raws[1::2]:
        rpc.add(raw)
    assert gossiped == raws[1::2] and pool.held == 4
    for raw in raws[0::2]:
        pool.add_holding_gaps(raw)  # the gossip of the other node's half
    assert _pending_nonces(pool, SENDER) == list(range(12)) and pool.held == 0


def test_held_transactions_survive_a_restart_through_the_journal(chain: NodeChain, tmp_path) -> None:
    """A held transaction was accepted (its hash went back to the client or peer): the journal keeps it
    through compaction, and the node's restore (``add_holding_gaps``, as ``NodeService._open_journal``)
    re-admits it even though it comes before the nonces that fill its gap. Both failed before: compaction
    wrote only pooled transactions, and the restore refused the overflow with "too many queued"."""
    from co3chain.node.txjournal import TxJournal

    path = tmp_path / "txpool.journal"
    pool = TxPool(chain, max_queued_per_sender=2)
    journal = TxJournal(path)
    journal.attach(pool.raw_transactions, lambda: len(pool))
    pool.journal = journal
    for nonce in (1, 2, 3, 4):  # 3 and 4 are held
        pool.add_holding_gaps(_tx(chain, SENDER, nonce))
    assert pool.held == 2
    journal.compact()
    journal.close()

    restored = TxPool(chain, max_queued_per_sender=2)
    ok, refused = TxJournal(path).restore(restored.add_holding_gaps)
    assert (ok, refused) == (4, 0) and restored.held == 2
    restored.add_holding_gaps(_tx(chain, SENDER, 0))
    assert _pending_nonces(restored, SENDER) == [0, 1, 2, 3, 4]
