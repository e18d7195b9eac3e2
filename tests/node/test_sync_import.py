"""The sync path on a batch of wire blocks: sender prefetch, seal quorum, import; stops at a bad block."""

from __future__ import annotations

import threading

from co3chain.chain.chain import NodeChain
from co3chain.chain.vm import encode_block
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.node.sync import ValidatorSetIndex, import_synced, prime_senders
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


def _follower(d: Devnet) -> tuple[NodeChain, ValidatorSetIndex]:
    follower = NodeChain.open(None, d.genesis)
    follower.clock = d.chain.clock
    sets = ValidatorSetIndex(follower)
    follower.validator_provider = sets.provider
    return follower, sets


def test_batch_imports_and_recovers_each_sender_once() -> None:
    d, wire = _chain_with_transfers()
    follower, sets = _follower(d)
    assert import_synced(follower, sets, wire) == 3
    assert follower.head.hash == d.chain.head.hash
    # prefetch and import share the cache: each sender once, except where both reach the same block at the
    # same moment (at most the block being imported is recovered twice)
    assert 12 <= follower.senders.recoveries <= 16
    d.close()


def test_batch_stops_at_a_block_without_seal_quorum() -> None:
    d, wire = _chain_with_transfers()
    block = d.chain.get_block_by_number(2)
    extra = QbftExtraData.decode(block.header.extra_data)
    unsealed = block.copy(header=block.header.copy(extra_data=extra.with_seals(list(extra.seals[:2])).encode()))
    follower, sets = _follower(d)
    assert import_synced(follower, sets, [wire[0], encode_block(unsealed), wire[2]]) == 1
    assert follower.head.block_number == 1
    d.close()


def test_prefetch_stops_when_asked() -> None:
    d, wire = _chain_with_transfers()
    follower, _ = _follower(d)
    stop = threading.Event()
    stop.set()
    blocks = [d.chain.get_block_by_number(n) for n in (1, 2, 3)]
    assert prime_senders(follower, blocks, stop) == 0
    stop.clear()
    assert prime_senders(follower, [*blocks, None], stop) == 12
    assert prime_senders(follower, blocks, stop, lambda: 1) == 4  # blocks 0 and 1 are the importer's
    d.close()
