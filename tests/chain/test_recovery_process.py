"""The sender recovery child process: its answers equal an independent recovery, nobody waits for it, and
a follower's import uses what it learned (or recovers inline when it has nothing)."""

from __future__ import annotations

import time

import pytest
import rlp
from eth_account import Account
from eth_hash.auto import keccak

from co3chain.chain.recovery_process import (
    BLOCK,
    TRANSACTIONS,
    RecoveryProcess,
    SenderFeed,
    block_jobs,
    recover_records,
)
from co3chain.chain.senders import SenderCache
from co3chain.chain.vm import decode_block, encode_block
from co3chain.node.sync import import_synced
from tests.audit.devnet import CHAIN_ID, USER_KEYS, Devnet, addr

KEY = Account.from_key(b"\x42" * 32)
TO = Account.from_key(b"\x43" * 32).address


def _signed(kind: str, nonce: int = 0) -> bytes:
    base = {"nonce": nonce, "gas": 50_000, "to": TO, "value": 7, "data": b"\x01\x02"}
    if kind == "legacy-155":
        tx = {**base, "gasPrice": 3, "chainId": CHAIN_ID}
    elif kind == "legacy-27":
        tx = {**base, "gasPrice": 3}
    elif kind == "access-list":
        tx = {**base, "gasPrice": 3, "chainId": CHAIN_ID, "type": 1,
              "accessList": [{"address": TO, "storageKeys": ["0x" + "00" * 31 + "01"]}]}
    else:
        tx = {**base, "maxFeePerGas": 9, "maxPriorityFeePerGas": 1, "chainId": CHAIN_ID, "type": 2}
    return bytes(KEY.sign_transaction(tx).raw_transaction)


def _unpack(record: bytes) -> tuple[bytes, bytes] | None:
    return (record[1:33], record[33:53]) if record[0] == 1 else None


@pytest.mark.parametrize("kind", ["legacy-155", "legacy-27", "access-list", "dynamic-fee"])
def test_records_equal_eth_account_recovery(kind: str) -> None:
    raw = _signed(kind)
    (record,) = recover_records(TRANSACTIONS, [raw])
    assert _unpack(record) == (keccak(raw), bytes.fromhex(Account.recover_transaction(raw)[2:]))


def test_unrecoverable_transactions_get_an_empty_record() -> None:
    fields = rlp.decode(_signed("legacy-155"))
    zero_r = rlp.encode([*fields[:7], b"", fields[8]])
    bad_v = rlp.encode([*fields[:6], b"\x1d", *fields[7:]])  # v = 29: py-evm judges it, not the child
    records = recover_records(TRANSACTIONS, [zero_r, bad_v, b"\xc0", b"\x05garbage", b""])
    assert records == [bytes(53)] * 5


def _devnet_blocks(blocks: int = 3, per_block: int = 6) -> tuple[Devnet, list[bytes]]:
    d = Devnet(n_validators=4)
    for _ in range(blocks):
        d.produce([d.sign(USER_KEYS[k], to=addr(USER_KEYS[-1]), value=1, gas=21_000) for k in range(per_block)])
    return d, [encode_block(d.chain.get_block_by_number(n)) for n in range(1, blocks + 1)]


def _wait_answered(recovery: RecoveryProcess, timeout: float = 60.0) -> None:
    """Tests only: the child's answers are waited for here so that what follows is deterministic."""
    end = time.monotonic() + timeout
    while recovery.pending():
        assert time.monotonic() < end, "the recovery process did not answer"
        time.sleep(0.01)


def test_block_records_match_the_chain_senders() -> None:
    d, wire = _devnet_blocks(blocks=1)
    block = d.chain.get_block_by_number(1)
    records = recover_records(BLOCK, wire[0])
    assert [_unpack(r) for r in records] == [(tx.hash, tx.sender) for tx in block.transactions]
    d.close()


def test_child_process_answers_by_hash_and_reports_its_cpu() -> None:
    d, wire = _devnet_blocks(blocks=2)
    recovery = RecoveryProcess()
    try:
        ids = [recovery.submit(BLOCK, raw) for raw in wire]
        _wait_answered(recovery)
        for job_id, raw in zip(ids, wire, strict=True):
            expected = [(tx.hash, tx.sender) for tx in decode_block(raw).transactions]
            assert recovery.take(job_id) == expected
        assert recovery.take(ids[0]) is None  # taken once
        assert recovery.cpu_seconds > 0
        assert recovery.jobs_answered == 2
    finally:
        recovery.close()
        d.close()
    assert not recovery.alive
    assert recovery.submit(BLOCK, wire[0]) is None  # closed: consumers recover inline


def test_a_killed_child_is_restarted_and_its_lost_jobs_never_block_anyone() -> None:
    d, wire = _devnet_blocks(blocks=1)
    recovery = RecoveryProcess()
    try:
        first = recovery.submit(BLOCK, wire[0])
        _wait_answered(recovery)
        assert recovery.take(first)
        recovery._proc.kill()  # type: ignore[union-attr]
        recovery._proc.wait()  # type: ignore[union-attr]
        again = recovery.submit(BLOCK, wire[0])  # a new child
        _wait_answered(recovery)
        assert recovery.take(again)
        assert recovery._starts == 2
    finally:
        recovery.close()
        d.close()


def test_feed_sends_within_its_window_and_teaches_the_cache() -> None:
    d, wire = _devnet_blocks(blocks=4, per_block=6)
    blocks = [decode_block(raw) for raw in wire]
    recovery = RecoveryProcess()
    cache = SenderCache()
    try:
        feed = SenderFeed(recovery, cache, block_jobs(wire, blocks), window_txs=12)
        feed.advance(0)  # block 0 is the consumer's own; blocks 1 and 2 fill the window of 12 transactions
        assert recovery.pending() == 2
        _wait_answered(recovery)
        feed.advance(1)  # learns blocks 1 and 2, sends block 3
        assert feed.learned == 12
        assert recovery.pending() == 1
        for tx in blocks[1].transactions + blocks[2].transactions:
            assert cache.sender(tx) == tx.sender
        assert cache.recoveries == 0  # every one of them came from the child
        feed.close()  # block 3's answer is no longer wanted
        assert recovery.pending() == 0
    finally:
        recovery.close()
        d.close()


def test_follower_import_uses_the_childs_senders() -> None:
    d, wire = _devnet_blocks(blocks=3, per_block=6)
    follower, sets = d.follower()
    recovery = RecoveryProcess()
    try:
        recovery.submit(BLOCK, wire[0])  # start the child before the import
        _wait_answered(recovery)
        assert import_synced(follower, sets, wire, recovery) == 3
        assert follower.head.hash == d.chain.head.hash
        # block 0's senders are the importer's own; the rest came from the child unless the importer
        # reached them first (then it recovered them itself): never both, never more than all 18
        assert 6 <= follower.senders.recoveries <= 18
    finally:
        recovery.close()
        d.close()


def test_follower_import_without_a_child_recovers_inline() -> None:
    d, wire = _devnet_blocks(blocks=2)
    follower, sets = d.follower()
    recovery = RecoveryProcess()
    recovery.close()
    assert import_synced(follower, sets, wire, recovery) == 2
    assert follower.head.hash == d.chain.head.hash
    assert follower.senders.recoveries == 12
    d.close()


def _frame(job_id: int, kind: int, payload: object) -> bytes:
    import pickle
    import struct

    body = pickle.dumps((job_id, kind, payload))
    return struct.pack(">I", len(body)) + body


def test_child_ignores_ctrl_c_and_ends_quietly_when_its_parent_is_gone() -> None:
    """Ctrl-C on a node's terminal reaches the child too: it must keep serving; a parent killed mid-job
    (its pipes closed) must not leave a traceback in the node's log."""
    import signal
    import subprocess
    import sys

    d, wire = _devnet_blocks(blocks=1)
    proc = subprocess.Popen([sys.executable, "-m", "co3chain.chain.recovery_process"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(_frame(1, BLOCK, wire[0]))
        proc.stdin.flush()
        assert len(proc.stdout.read(20)) == 20  # the answer's head: the child is up and serving
        proc.send_signal(signal.SIGINT)
        proc.stdin.write(_frame(2, BLOCK, wire[0]) * 50)  # still serving after Ctrl-C ...
        proc.stdin.flush()
        assert len(proc.stdout.read(20)) == 20
        proc.stdout.close()  # ... and then its parent is gone while it answers
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        assert proc.stderr is not None and proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
        d.close()
