"""Finding 3: what a sender can make the pool hold is bounded, queued transactions expire, and a full
pool still admits the consortium's own (protected) accounts by evicting others."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_hash.auto import keccak

from co3chain.chain.chain import NodeChain
from co3chain.node.txpool import TxPool, TxPoolError
from tests.chain.helpers import USER_KEYS, USERS, make_test_genesis, sign_tx
from tests.node.procs import make_network, rpc

ATTACKER, ATTACKER2, RELAYER = USER_KEYS[0], USER_KEYS[1], USER_KEYS[2]


@pytest.fixture
def chain() -> NodeChain:
    return NodeChain.open(None, make_test_genesis(1))


def _tx(chain: NodeChain, key: bytes, nonce: int, data: bytes = b"") -> bytes:
    return sign_tx(key, chain, nonce=nonce, to=USERS[3], gas=21_000 + 16 * len(data) + 1000, data=data)


def test_nonce_gap_transactions_per_sender_are_capped(chain: NodeChain) -> None:
    pool = TxPool(chain, max_per_sender=64, max_queued_per_sender=4)
    for nonce in range(10, 14):
        pool.add(_tx(chain, ATTACKER, nonce))
    with pytest.raises(TxPoolError, match="too many queued"):
        pool.add(_tx(chain, ATTACKER, 20))
    # executable transactions are not limited by the queued cap
    for nonce in range(6):
        pool.add(_tx(chain, ATTACKER, nonce))
    assert pool.status() == {"pending": 6, "queued": 4}


def test_pool_capacity_counts_bytes(chain: NodeChain) -> None:
    pool = TxPool(chain, max_bytes=100_000)
    big = b"\x01" * 40_000
    pool.add(_tx(chain, ATTACKER, 0, big))
    pool.add(_tx(chain, ATTACKER, 1, big))
    with pytest.raises(TxPoolError, match="txpool is full"):
        pool.add(_tx(chain, ATTACKER2, 0, big))
    assert pool.size_bytes <= 100_000 and len(pool) == 2


def test_queued_transactions_expire(chain: NodeChain) -> None:
    now = [1000.0]
    pool = TxPool(chain, queued_lifetime=60, clock=lambda: now[0])
    pool.add(_tx(chain, ATTACKER, 5))
    pending = pool.add(_tx(chain, ATTACKER2, 0))
    now[0] += 61
    pool.expire_queued()
    assert len(pool) == 1 and pending in pool
    assert pool.size_bytes == len(_tx(chain, ATTACKER2, 0))


def test_full_pool_evicts_for_protected_senders_only(chain: NodeChain) -> None:
    relayer = USERS[2]
    pool = TxPool(chain, max_total=8, max_per_sender=8, max_queued_per_sender=8, protected=lambda a: a == relayer)
    for nonce in range(4):
        pool.add(_tx(chain, ATTACKER, nonce))          # pending
    for nonce in range(3, 7):
        pool.add(_tx(chain, ATTACKER2, nonce))         # queued (nonce gap)
    with pytest.raises(TxPoolError, match="txpool is full"):
        pool.add(_tx(chain, USER_KEYS[3], 0))          # unprotected newcomer: refused
    for nonce in range(6):
        pool.add(_tx(chain, RELAYER, nonce))           # protected: evicts queued first, then latest nonces
    assert len(pool) == 8
    content = pool.content()
    assert len(content["pending"][relayer]) == 6
    assert USERS[1] not in content["queued"]          # the nonce-gap transactions went first
    assert sorted(content["pending"][USERS[0]]) == [0, 1]  # then the attacker's latest nonces, no gap


# -- against a real node --------------------------------------------------------------------------------
def _flood_pool(url: str, chain_id: int, senders: int, per_sender: int) -> int:
    """Fresh keys (gas is free, so they need no funds) each send ``per_sender`` nonce-gap transactions."""
    refused = 0
    with httpx.Client(timeout=30) as client:
        for i in range(senders):
            acct = Account.from_key(keccak(b"attacker%d" % i))
            for nonce in range(1, per_sender + 1):
                raw = acct.sign_transaction({"chainId": chain_id, "nonce": nonce, "gas": 21_000, "gasPrice": 0,
                                             "to": "0x" + "11" * 20, "value": 0}).raw_transaction
                r = client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction",
                                           "params": ["0x" + bytes(raw).hex()]}).json()
                refused += "error" in r
    return refused


def test_full_pool_still_admits_and_mines_the_validators_transactions(tmp_path: Path) -> None:
    node, key = make_network(tmp_path)
    with node.config.open("a") as fh:
        fh.write("\n[txpool]\nmax_total = 200\n")
    node.start()
    try:
        node.wait_height(1)
        refused = _flood_pool(node.url, 1999, senders=20, per_sender=16)
        assert refused >= 120  # 320 sent, 200 fit
        status = rpc(node.url, "txpool_status")["result"]
        assert int(status["queued"], 16) == 200
        me = Account.from_key(key)
        nonce = int(rpc(node.url, "eth_getTransactionCount", me.address, "pending")["result"], 16)
        raw = me.sign_transaction({"chainId": 1999, "nonce": nonce, "gas": 21_000, "gasPrice": 0,
                                   "to": "0x" + "22" * 20, "value": 1}).raw_transaction
        sent = rpc(node.url, "eth_sendRawTransaction", "0x" + bytes(raw).hex())
        assert "result" in sent, sent
        deadline = time.time() + 20
        while time.time() < deadline:
            receipt = rpc(node.url, "eth_getTransactionReceipt", sent["result"])["result"]
            if receipt is not None:
                break
            time.sleep(0.3)
        assert receipt is not None and receipt["status"] == "0x1"
    finally:
        node.terminate()
