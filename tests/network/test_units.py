"""Fast unit tests of the network-layer helpers: vote persistence, validator-set index, sync checks, RPC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from co3chain.chain.chain import BlockImportError, NodeChain
from co3chain.consensus.qbft.extradata import QbftExtraData, Vote
from co3chain.consensus.qbft.hashing import sign_commit_seal
from co3chain.node.sync import ValidatorSetIndex, verify_block_seals
from co3chain.node.validator_votes import PersistentVotes, VoteStoreError
from co3chain.rpc.qbft_methods import signer_metrics
from tests.chain.helpers import VALIDATOR_KEYS, addr, make_test_genesis

A, B, C = b"\xaa" * 20, b"\xbb" * 20, b"\xcc" * 20


# ------------------------------------------------------------------------------------ votes


def test_votes_persist_across_restart(tmp_path: Path) -> None:
    votes = PersistentVotes.in_data_dir(tmp_path)
    votes.propose(A, True)
    votes.propose(B, False)
    assert votes.discard(B) is True and votes.discard(B) is False
    again = PersistentVotes.in_data_dir(tmp_path)
    assert again.pending() == {A: True}
    assert json.loads((tmp_path / "validator-votes.json").read_text()) == {"0x" + A.hex(): True}


def test_votes_file_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "validator-votes.json").write_text('{"nope": 1}')
    with pytest.raises(VoteStoreError, match="bad entry"):
        PersistentVotes.in_data_dir(tmp_path)
    with pytest.raises(ValueError):
        PersistentVotes(None).propose(b"\x01", True)


def test_add_votes_wait_for_an_online_subject() -> None:
    votes = PersistentVotes(None)
    votes.propose(A, True)
    votes.propose(B, False)
    validators = [B, C]
    # A is offline: only the drop vote for B may be cast
    assert votes.next_vote(validators, 5, 30000, eligible=set()) == Vote(B, False)
    assert votes.next_vote(validators, 6, 30000, eligible=set()) == Vote(B, False)
    cast = {votes.next_vote(validators, n, 30000, eligible={A}) for n in range(7, 9)}
    assert cast == {Vote(A, True), Vote(B, False)}
    assert votes.next_vote(validators, 30000, 30000, eligible={A}) is None  # epoch block: no vote
    votes.prune_applied([A, C])  # A added, B dropped: both done
    assert votes.pending() == {}


# --------------------------------------------------------------------------- validator-set index


def _seal_and_import(chain: NodeChain, signer_keys: list[bytes], vote: Vote | None = None,
                     seal_keys: list[bytes] | None = None) -> None:
    parent = chain.head
    validators = chain.validators_for_child(parent)
    extra = QbftExtraData(validators=validators, vote=vote, round=0)
    result = chain.build_block([], addr(signer_keys[0]), parent.timestamp + 1, extra.encode())
    header = result.block.header
    seals = [sign_commit_seal(k, header, 0) for k in (seal_keys or signer_keys)]
    sealed = result.block.copy(header=header.copy(extra_data=extra.with_seals(seals).encode()))
    chain.import_block(sealed)


def test_index_follows_votes_and_guards_imports() -> None:
    genesis = make_test_genesis(1)
    chain = NodeChain.open(None, genesis)
    chain.clock = lambda: 10**10
    index = ValidatorSetIndex(chain)
    chain.validator_provider = index.provider
    k1, k2 = VALIDATOR_KEYS[0], VALIDATOR_KEYS[1]
    changes: list[tuple[bytes, ...]] = []
    index.add_listener(changes.append)
    _seal_and_import(chain, [k1])
    assert index.current == (addr(k1),)
    _seal_and_import(chain, [k1], vote=Vote(addr(k2), True))  # ⌊1/2⌋+1 = 1 vote adds at once
    two = tuple(sorted([addr(k1), addr(k2)]))
    assert index.current == two and changes == [two]
    assert index.for_child(1) == (addr(k1),)
    # the set of two needs both seals: one seal is refused, also by the sync-side check
    with pytest.raises(BlockImportError, match="quorum"):
        _seal_and_import(chain, [k1])
    _seal_and_import(chain, [k1, k2])
    block3 = chain.get_block_by_number(3)
    assert verify_block_seals(block3, index.for_child(2))
    assert not verify_block_seals(block3, [addr(k1), addr(VALIDATOR_KEYS[2]), addr(VALIDATOR_KEYS[3])])
    # a fresh index over the stored chain replays the same sets (node restart)
    again = ValidatorSetIndex(chain)
    assert again.current == two and again.for_child(1) == (addr(k1),)
    metrics = {m["address"]: m for m in signer_metrics(chain, 1, 3)}
    assert metrics["0x" + addr(k1).hex()]["proposedBlockCount"] == "0x3"
    assert metrics["0x" + addr(k2).hex()]["proposedBlockCount"] == "0x0"


# ------------------------------------------------------------------------ driver input checks


def test_driver_rejects_garbage_from_peers_and_ignores_stale_messages() -> None:
    from co3chain.consensus.qbft.messages import KeySigner, encode_message, make_prepare
    from co3chain.node.qbft_driver import DriverSettings, QbftDriver
    from co3chain.node.txpool import TxPool
    from co3chain.p2p import PeerMisbehaved

    chain = NodeChain.open(None, make_test_genesis(4))
    driver = QbftDriver(chain, TxPool(chain), VALIDATOR_KEYS[0], DriverSettings(p2p_port=0))
    assert chain.validator_provider is not None and driver.status()["isValidator"] is True
    with pytest.raises(PeerMisbehaved):
        driver._on_consensus(None, b"\x13" + b"\xc3abc")  # type: ignore[arg-type]
    with pytest.raises(PeerMisbehaved):
        driver._on_consensus(None, b"\x13")  # type: ignore[arg-type]
    with pytest.raises(PeerMisbehaved):
        driver._on_peer_txs(None, [b"\x01\x02garbage"])  # type: ignore[arg-type]
    # a well-formed message for a finished height (0 = genesis) is neither processed nor relayed
    stale = make_prepare(KeySigner(VALIDATOR_KEYS[1]), 0, 0, b"\x00" * 32)
    assert driver._on_consensus(None, bytes([stale.code]) + encode_message(stale)) is False  # type: ignore[arg-type]
    # a current-height message from a non-validator is dropped, from a validator queued and relayed
    outsider = make_prepare(KeySigner(b"\x77" * 32), 1, 0, b"\x00" * 32)
    assert driver._on_consensus(None, bytes([outsider.code]) + encode_message(outsider)) is False  # type: ignore[arg-type]
    member = make_prepare(KeySigner(VALIDATOR_KEYS[1]), 1, 0, b"\x00" * 32)
    assert driver._on_consensus(None, bytes([member.code]) + encode_message(member)) is None  # type: ignore[arg-type]
    assert driver._queue.qsize() == 1


# ------------------------------------------------------------------------------------- sync


class _FakePeer:
    def __init__(self, head: int) -> None:
        from co3chain.p2p import Status

        self.address = b"\x42" * 20
        self.node_id = b"\x42" * 64
        self.status = Status(1337, b"\x00" * 32, head, b"\x00" * 32)


def test_sync_imports_verified_blocks_and_penalizes_bad_seals() -> None:
    import asyncio

    from co3chain.chain.vm import encode_block
    from co3chain.node.sync import ChainSync

    genesis = make_test_genesis(1)
    source = NodeChain.open(None, genesis)
    for _ in range(4):
        _seal_and_import(source, [VALIDATOR_KEYS[0]])
    # block 5 sealed by an outsider: a peer serving it is lying
    parent = source.head
    extra = QbftExtraData(validators=source.validators_for_child(parent), round=0)
    built = source.build_block([], addr(VALIDATOR_KEYS[0]), parent.timestamp + 1, extra.encode())
    forged_header = built.block.header.copy(
        extra_data=extra.with_seals([sign_commit_seal(VALIDATOR_KEYS[3], built.block.header, 0)]).encode()
    )
    forged = encode_block(built.block.copy(header=forged_header))

    target = NodeChain.open(None, genesis)
    index = ValidatorSetIndex(target)
    target.validator_provider = index.provider
    penalized: list[object] = []

    async def request_blocks(peer: object, start: int, count: int) -> list[bytes]:
        out = [encode_block(source.get_block_by_number(n)) for n in range(start, min(start + count, 5))]
        return out + ([forged] if start + count > 5 else [])

    async def import_block(block: object) -> bool:
        target.import_block(block)  # type: ignore[arg-type]
        return True

    async def scenario() -> int:
        sync = ChainSync(target, index, request_blocks, lambda: [], import_block, batch_size=3,
                         penalize=penalized.append)
        return await sync.sync_from(_FakePeer(5), 5)  # type: ignore[arg-type]

    assert asyncio.run(scenario()) == 4
    assert target.head.block_number == 4 and target.head.hash == source.head.hash
    assert len(penalized) == 1  # the forged block 5 was refused and its sender reported
