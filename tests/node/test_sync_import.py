"""The sync path on a batch of wire blocks: sender prefetch, seal quorum, import; stops at a bad block."""

from __future__ import annotations

import asyncio
import threading
import types

from co3chain.chain.chain import NodeChain
from co3chain.chain.storage import MemoryKV
from co3chain.chain.vm import decode_block, encode_block
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.node.sync import ChainSync, ValidatorSetIndex, import_synced
from tests.audit.devnet import USER_KEYS, Devnet, addr


def _chain_with_transfers(blocks: int = 3, per_block: int = 4) -> tuple[Devnet, list[bytes]]:
    d = Devnet(n_validators=4)
    for _ in range(blocks):
        raws = []
        for k in range(per_block):
            raws.append(d.sign(USER_KEYS[k], to=addr(USER_KEYS[-1]), value=1, gas=21_000))
        d.produce(raws)
    wire = [encode_block(d.chain.get_block_by_number(n)) for n in range(1, blocks + 1)]
    return d, wire


def test_batch_imports_and_recovers_each_sender_once() -> None:
    d, wire = _chain_with_transfers()
    follower, sets = d.follower()
    assert import_synced(follower, sets, wire) == 3
    assert follower.head.hash == d.chain.head.hash
    # a batch this small is recovered inline by the importer: each sender once
    assert follower.senders.recoveries == 12
    d.close()


def test_batch_stops_at_a_block_without_seal_quorum() -> None:
    d, wire = _chain_with_transfers()
    block = d.chain.get_block_by_number(2)
    extra = QbftExtraData.decode(block.header.extra_data)
    unsealed = block.copy(header=block.header.copy(extra_data=extra.with_seals(list(extra.seals[:2])).encode()))
    follower, sets = d.follower()
    assert import_synced(follower, sets, [wire[0], encode_block(unsealed), wire[2]]) == 1
    assert follower.head.block_number == 1
    d.close()


def _count_seal_recoveries(monkeypatch) -> list[int]:
    """Count every commit-seal recovery, through the chain's check and through the engine's."""
    from co3chain.consensus.qbft import engine, hashing

    calls = [0]
    real_signer, real_address = hashing.recover_signer, engine.recover_address

    def signer(*a):
        calls[0] += 1
        return real_signer(*a)

    def address(*a):
        calls[0] += 1
        return real_address(*a)

    monkeypatch.setattr(hashing, "recover_signer", signer)
    monkeypatch.setattr(engine, "recover_address", address)
    return calls


def test_batch_recovers_each_commit_seal_once(monkeypatch) -> None:
    d, wire = _chain_with_transfers()
    follower, sets = d.follower()
    calls = _count_seal_recoveries(monkeypatch)
    assert import_synced(follower, sets, wire) == 3
    # 4 seals per block: the sync's check and the import share one recovery
    assert calls[0] == 3 * 4
    d.close()


def test_chain_sync_checks_then_imports_with_one_recovery_per_seal(monkeypatch) -> None:
    """The node's sync task (seal quorum, then the driver's ``chain.import_block(block, True)``)."""
    d, wire = _chain_with_transfers()
    follower, sets = d.follower()

    async def import_block(block) -> bool:
        follower.import_block(block, True)
        return True

    sync = ChainSync(follower, sets, request_blocks=None, peers=list, import_block=import_block)  # type: ignore[arg-type]
    calls = _count_seal_recoveries(monkeypatch)
    for raw in wire:
        assert asyncio.run(sync._check_and_import(None, decode_block(raw))) is True  # type: ignore[arg-type]
    assert follower.head.hash == d.chain.head.hash
    assert calls[0] == 3 * 4
    d.close()


def test_chain_sync_refuses_a_seal_by_a_non_validator_and_penalizes() -> None:
    d, wire = _chain_with_transfers(blocks=1)
    block = d.chain.get_block_by_number(1)
    extra = QbftExtraData.decode(block.header.extra_data)
    # a fifth seal by someone outside the set (the quorum of 3 alone would hold)
    from eth_keys import keys

    from co3chain.consensus.qbft.hashing import commit_seal_hash

    outsider = keys.PrivateKey(b"\x42" * 32)
    seal = outsider.sign_msg_hash(commit_seal_hash(block.header, extra.round)).to_bytes()
    sealed = block.copy(header=block.header.copy(extra_data=extra.with_seals([*extra.seals, seal]).encode()))
    follower, sets = d.follower()
    penalized: list[object] = []
    peer = types.SimpleNamespace(address=b"\x07" * 20)

    async def import_block(block) -> bool:  # pragma: no cover - must not be reached
        raise AssertionError("imported a block with a non-validator seal")

    sync = ChainSync(follower, sets, request_blocks=None, peers=list, import_block=import_block,  # type: ignore[arg-type]
                     penalize=penalized.append)
    assert asyncio.run(sync._check_and_import(peer, sealed)) is False  # type: ignore[arg-type]
    assert penalized == [peer] and follower.head.block_number == 0
    d.close()


class _RecordingKV(MemoryKV):
    """Memory store that records how each write asked for durability."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def write_many(self, changes, sync: bool = True) -> None:  # type: ignore[no-untyped-def]
        self.events.append("write+fsync" if sync else "write")
        super().write_many(changes, sync)

    def sync_wal(self) -> None:
        self.events.append("fsync")


def test_batch_shares_one_fsync_and_consensus_imports_keep_theirs() -> None:
    d, wire = _chain_with_transfers(blocks=4)
    store = _RecordingKV()
    follower = NodeChain(store, d.genesis)
    follower.clock = d.chain.clock
    sets = ValidatorSetIndex(follower)
    follower.validator_provider = sets.provider
    store.events.clear()
    assert import_synced(follower, sets, wire[:3]) == 3
    assert store.events == ["write", "write", "write", "fsync"]

    # a block imported by another task (consensus) while a sync task defers its fsyncs is synced itself
    async def scenario() -> None:
        inside = asyncio.Event()
        release = asyncio.Event()

        async def sync_task() -> None:
            with follower.deferred_fsync(fsync_on_exit=False):
                inside.set()
                await release.wait()

        task = asyncio.create_task(sync_task())
        await inside.wait()
        await asyncio.to_thread(follower.import_block, decode_block(wire[3]), True)
        release.set()
        await task

    store.events.clear()
    asyncio.run(scenario())
    assert store.events == ["write+fsync"]
    assert follower.head.hash == d.chain.head.hash
    d.close()


def test_sync_task_defers_fsync_through_the_import_thread() -> None:
    """The node's sync task: the driver imports each block with ``asyncio.to_thread``; the deferral reaches
    that thread (the task's context is copied) and the batch ends with one fsync."""
    d, wire = _chain_with_transfers()
    store = _RecordingKV()
    follower = NodeChain(store, d.genesis)
    follower.clock = d.chain.clock
    sets = ValidatorSetIndex(follower)
    follower.validator_provider = sets.provider
    peer = types.SimpleNamespace(address=b"\x07" * 20)

    async def request_blocks(_peer, start: int, count: int) -> list[bytes]:
        return wire[start - 1:start - 1 + count]

    async def import_block(block) -> bool:  # as QbftDriver.import_block does it
        await asyncio.to_thread(follower.import_block, block, True)
        return True

    sync = ChainSync(follower, sets, request_blocks=request_blocks, peers=list, import_block=import_block)
    store.events.clear()
    assert asyncio.run(sync.sync_from(peer, 3)) == 3  # type: ignore[arg-type]
    assert follower.head.hash == d.chain.head.hash
    assert store.events == ["write", "write", "write", "fsync"]
    d.close()


def test_sync_task_decodes_a_batch_off_the_event_loop(monkeypatch) -> None:
    d, wire = _chain_with_transfers()
    follower, sets = d.follower()
    peer = types.SimpleNamespace(address=b"\x07" * 20)
    decoded_on: set[str] = set()
    real = ChainSync._decode

    def recording(raw: bytes):
        decoded_on.add(threading.current_thread().name)
        return real(raw)

    monkeypatch.setattr(ChainSync, "_decode", staticmethod(recording))

    async def request_blocks(_peer, start: int, count: int) -> list[bytes]:
        return wire[start - 1:start - 1 + count]

    async def import_block(block) -> bool:
        await asyncio.to_thread(follower.import_block, block, True)
        return True

    sync = ChainSync(follower, sets, request_blocks=request_blocks, peers=list, import_block=import_block)
    assert asyncio.run(sync.sync_from(peer, 3)) == 3  # type: ignore[arg-type]
    assert decoded_on and threading.main_thread().name not in decoded_on
    d.close()


def test_sync_task_learns_senders_from_the_recovery_child(monkeypatch) -> None:
    """The node's sync task feeds the batch to the recovery child and learns its answers: here the child is
    given time to answer before each import, so every sender but the first block's comes from it."""
    import co3chain.chain.recovery_process as recovery_module

    d, wire = _chain_with_transfers(blocks=4)
    follower, sets = d.follower()
    peer = types.SimpleNamespace(address=b"\x07" * 20)
    child = recovery_module.RecoveryProcess()
    monkeypatch.setattr(recovery_module, "shared_recovery", lambda: child)
    monkeypatch.setattr(recovery_module, "MIN_BATCH_TXS", 1)  # this batch is small

    async def request_blocks(_peer, start: int, count: int) -> list[bytes]:
        return wire[start - 1:start - 1 + count]

    async def import_block(block) -> bool:
        assert child.settle(60)  # test only: the node never waits for the child
        await asyncio.to_thread(follower.import_block, block, True)
        return True

    try:
        sync = ChainSync(follower, sets, request_blocks=request_blocks, peers=list, import_block=import_block)
        assert asyncio.run(sync.sync_from(peer, 4)) == 4  # type: ignore[arg-type]
        assert follower.head.hash == d.chain.head.hash
        assert follower.senders.recoveries == 4  # block 1's four senders; blocks 2-4 from the child
        assert child.jobs_answered == 3
    finally:
        child.close()
        d.close()
