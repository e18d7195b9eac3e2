"""QbftEngine step by step: message handling, justification rules, round changes and buffering."""

from __future__ import annotations

import dataclasses

import pytest
from eth_utils import keccak

from co3chain.consensus.qbft import messages as m
from co3chain.consensus.qbft.engine import (
    Broadcast,
    Finalize,
    NeedBlock,
    ParentInfo,
    QbftConfig,
    QbftEngine,
    RoundStarted,
    ScheduleTimer,
    verify_commit_seals,
)
from co3chain.consensus.qbft.proposer import select_proposer
from co3chain.consensus.qbft.timers import RoundTimerExpiry
from tests.consensus.sim import FakeBlock, make_keys

PARENT_HASH = keccak(b"parent")
ZERO = b"\x00" * 20


class Host:
    def __init__(self) -> None:
        self.invalid: set[bytes] = set()

    def decode_block(self, encoded: bytes) -> FakeBlock:
        return FakeBlock.decode(encoded)

    def validate_block(self, block: FakeBlock) -> bool:  # type: ignore[override]
        return block.parent_hash == PARENT_HASH and block.payload not in self.invalid

    def with_round(self, block: FakeBlock, round_: int) -> FakeBlock:  # type: ignore[override]
        return dataclasses.replace(block, round=round_)


class Cluster:
    """n engines at height 1 with a manual, lossless FIFO 'network' and a drop filter."""

    def __init__(self, n: int, extra: int = 0) -> None:
        self.signers = [m.KeySigner(k) for k in make_keys(n + extra, seed=99)]
        self.validators = sorted(s.address for s in self.signers[:n])
        self.host = Host()
        self.engines = [QbftEngine(s, self.host, QbftConfig(request_timeout=1.0)) for s in self.signers]
        self.by_address = {e.address: e for e in self.engines}
        self.queue: list[tuple[int, m.Message]] = []
        self.finalized: dict[int, Finalize] = {}
        self.need_block: dict[int, NeedBlock] = {}
        self.drop = lambda sender, message: False  # noqa: E731
        self.now = 0.0
        for i, engine in enumerate(self.engines):
            self.apply(i, engine.start(1, ParentInfo(ZERO, self.validators), self.now))

    def index_of(self, address: bytes) -> int:
        return self.engines.index(self.by_address[address])

    def proposer(self, round_: int) -> int:
        return self.index_of(select_proposer(self.validators, ZERO, round_))

    def apply(self, i: int, actions: list) -> None:  # type: ignore[type-arg]
        for action in actions:
            if isinstance(action, Broadcast):
                self.queue.append((i, action.message))
            elif isinstance(action, Finalize):
                assert i not in self.finalized
                self.finalized[i] = action
            elif isinstance(action, NeedBlock):
                self.need_block[i] = action

    def build(self, i: int, payload: bytes = b"txs") -> FakeBlock:
        need = self.need_block.pop(i)
        block = FakeBlock(need.height, need.round, self.engines[i].address, PARENT_HASH, payload)
        self.apply(i, self.engines[i].on_block_built(block, self.now))
        return block

    def deliver_all(self) -> None:
        while self.queue:
            sender, message = self.queue.pop(0)
            if self.drop(sender, message):
                continue
            wire = m.decode_message(message.code, m.encode_message(message))
            for j, engine in enumerate(self.engines):
                if j != sender:
                    self.apply(j, engine.on_message(wire, self.now))

    def expire_all(self) -> None:
        self.now += 100
        for i, engine in enumerate(self.engines):
            self.apply(i, engine.on_timer(RoundTimerExpiry(1, engine.round), self.now))


def test_single_validator_finalizes_its_own_block() -> None:
    signer = m.KeySigner(make_keys(1)[0])
    engine = QbftEngine(signer, Host())
    actions = engine.start(1, ParentInfo(ZERO, [signer.address]), 0.0)
    assert [type(a) for a in actions] == [RoundStarted, ScheduleTimer, NeedBlock]
    timer = actions[1]
    assert isinstance(timer, ScheduleTimer) and timer.at == 4.0 and timer.expiry == RoundTimerExpiry(1, 0)
    block = FakeBlock(1, 0, signer.address, PARENT_HASH, b"x")
    out = engine.on_block_built(block, 1.0)
    kinds = [type(a.message) if isinstance(a, Broadcast) else type(a) for a in out]
    assert kinds == [m.Proposal, m.Prepare, m.Commit, Finalize]
    final = out[-1]
    assert isinstance(final, Finalize) and final.block == block and final.round == 0
    assert verify_commit_seals(block, final.commit_seals, [signer.address])
    assert engine.on_timer(RoundTimerExpiry(1, 0), 5.0) == []  # finalized: timers are stale


@pytest.mark.parametrize("n", [2, 4, 7])
def test_happy_path_all_finalize_same_block_in_round_zero(n: int) -> None:
    cluster = Cluster(n)
    p = cluster.proposer(0)
    assert list(cluster.need_block) == [p]
    block = cluster.build(p)
    cluster.deliver_all()
    assert sorted(cluster.finalized) == list(range(n))
    for final in cluster.finalized.values():
        assert final.block.hash == block.hash and final.round == 0
        assert verify_commit_seals(final.block, final.commit_seals, cluster.validators)


def test_verify_commit_seals_rejects_short_duplicate_and_foreign_seals() -> None:
    cluster = Cluster(4)
    block = FakeBlock(1, 0, cluster.validators[0], PARENT_HASH, b"b")
    digest = block.commit_seal_hash(0)
    seals = [s.sign(digest) for s in cluster.signers]
    assert verify_commit_seals(block, seals[:3], cluster.validators)
    assert not verify_commit_seals(block, seals[:2], cluster.validators)
    assert not verify_commit_seals(block, [seals[0], seals[0], seals[1]], cluster.validators)
    outsider = m.KeySigner(keccak(b"outsider")).sign(digest)
    assert not verify_commit_seals(block, [*seals[:3], outsider], cluster.validators)
    assert not verify_commit_seals(dataclasses.replace(block, round=1), seals, cluster.validators)


def _proposal_from(cluster: Cluster, author: int, block: FakeBlock, **kw) -> m.Proposal:  # type: ignore[no-untyped-def]
    return m.make_proposal(cluster.signers[author], block.height, block.round, block.encoded, **kw)


def test_bad_proposals_are_ignored() -> None:
    cluster = Cluster(4)
    p = cluster.proposer(0)
    other = (p + 1) % 4
    victim = cluster.engines[(p + 2) % 4]
    good = FakeBlock(1, 0, cluster.engines[p].address, PARENT_HASH, b"ok")
    cases = {
        "wrong author": _proposal_from(cluster, other, dataclasses.replace(good, proposer=cluster.engines[other].address)),
        "coinbase is not the author": _proposal_from(cluster, p, dataclasses.replace(good, proposer=b"\x01" * 20)),
        "block round differs": _proposal_from(cluster, p, dataclasses.replace(good, round=1)),
        "block height differs": _proposal_from(cluster, p, dataclasses.replace(good, height=2)),
        "round 0 with justification": _proposal_from(
            cluster, p, good, prepares=[m.make_prepare(cluster.signers[p], 1, 0, good.commit_seal_hash(0)).signed]
        ),
        "not a block": m.make_proposal(cluster.signers[p], 1, 0, b"\xc3\x01\x02\x03"),
    }
    cluster.host.invalid.add(b"invalid")
    cases["invalid block"] = _proposal_from(cluster, p, dataclasses.replace(good, payload=b"invalid"))
    for name, proposal in cases.items():
        assert victim.on_message(proposal, 0.0) == [], name
    actions = victim.on_message(_proposal_from(cluster, p, good), 0.0)
    assert [type(a.message) for a in actions if isinstance(a, Broadcast)] == [m.Prepare]
    # a second, different proposal for the same round (equivocation) is ignored
    assert victim.on_message(_proposal_from(cluster, p, dataclasses.replace(good, payload=b"other")), 0.0) == []


def test_commit_with_foreign_seal_does_not_count() -> None:
    cluster = Cluster(4)
    p = cluster.proposer(0)
    block = FakeBlock(1, 0, cluster.engines[p].address, PARENT_HASH, b"ok")
    victim_index = (p + 1) % 4
    victim = cluster.engines[victim_index]
    victim.on_message(_proposal_from(cluster, p, block), 0.0)
    digest = block.commit_seal_hash(0)
    forged_seal = m.KeySigner(keccak(b"x")).sign(digest)
    others = [i for i in range(4) if i != victim_index]
    for i in others:
        assert victim.on_message(m.make_commit(cluster.signers[i], 1, 0, digest, forged_seal), 0.0) == []
    assert not victim.finalized
    actions = []
    for i in others:
        actions += victim.on_message(m.make_commit(cluster.signers[i], 1, 0, digest, cluster.signers[i].sign(digest)), 0.0)
    assert any(isinstance(a, Finalize) for a in actions)


def test_timeout_sends_round_change_and_stale_timers_are_ignored() -> None:
    cluster = Cluster(4)
    engine = cluster.engines[0]
    assert engine.on_timer(RoundTimerExpiry(1, 5), 10.0) == []
    assert engine.on_timer(RoundTimerExpiry(2, 0), 10.0) == []
    actions = engine.on_timer(RoundTimerExpiry(1, 0), 10.0)
    timers = [a for a in actions if isinstance(a, ScheduleTimer)]
    assert timers == [ScheduleTimer(RoundTimerExpiry(1, 1), 12.0)]  # 1 s × 2^1
    sent = [a.message for a in actions if isinstance(a, Broadcast)]
    assert len(sent) == 1 and isinstance(sent[0], m.RoundChange)
    assert sent[0].payload == m.RoundChangePayload(1, 1, None)


def test_round_change_without_prepared_block_gets_fresh_block() -> None:
    cluster = Cluster(4)
    cluster.need_block.clear()  # round-0 proposer never builds
    cluster.expire_all()
    cluster.deliver_all()
    p1 = cluster.proposer(1)
    assert list(cluster.need_block) == [p1] and cluster.need_block[p1].round == 1
    block = cluster.build(p1, b"fresh")
    cluster.deliver_all()
    assert len(cluster.finalized) == 4
    assert all(f.block.hash == block.hash and f.round == 1 for f in cluster.finalized.values())


def test_prepared_block_is_reproposed_after_round_change() -> None:
    cluster = Cluster(4)
    cluster.drop = lambda sender, message: isinstance(message, m.Commit)
    block0 = cluster.build(cluster.proposer(0))
    cluster.deliver_all()
    assert not cluster.finalized  # everyone prepared, nobody saw commits
    cluster.drop = lambda sender, message: False
    cluster.expire_all()
    cluster.deliver_all()
    assert not cluster.need_block  # round-1 proposer re-proposed instead of building
    assert len(cluster.finalized) == 4
    for final in cluster.finalized.values():
        assert final.round == 1 and final.block.round == 1
        assert final.block.hash == block0.hash  # same block (round is not part of the on-chain hash)
        assert final.block.proposer == block0.proposer
        assert verify_commit_seals(final.block, final.commit_seals, cluster.validators)


def _prepared_round_changes(cluster: Cluster, block0: FakeBlock) -> list:  # type: ignore[type-arg]
    digest = block0.commit_seal_hash(0)
    prepares = [m.make_prepare(s, 1, 0, digest).signed for s in cluster.signers[:3]]
    metadata = m.PreparedMetadata(0, digest)
    return [
        m.make_round_change(s, 1, 1, metadata, block0.encoded, prepares) for s in cluster.signers[:3]
    ], prepares


def test_round_change_proposal_must_repropose_the_prepared_block() -> None:
    cluster = Cluster(4)
    p0, p1 = cluster.proposer(0), cluster.proposer(1)
    block0 = FakeBlock(1, 0, cluster.engines[p0].address, PARENT_HASH, b"prepared")
    round_changes, prepares = _prepared_round_changes(cluster, block0)
    justification = [rc.signed for rc in round_changes]
    victim = cluster.engines[next(i for i in range(4) if i not in (p0, p1))]
    fresh = FakeBlock(1, 1, cluster.engines[p1].address, PARENT_HASH, b"fresh")
    assert victim.on_message(_proposal_from(cluster, p1, fresh, round_changes=justification, prepares=prepares), 0) == []
    reproposed = dataclasses.replace(block0, round=1)
    assert victim.on_message(_proposal_from(cluster, p1, reproposed, round_changes=justification), 0) == []
    too_few = justification[:2]
    assert victim.on_message(_proposal_from(cluster, p1, reproposed, round_changes=too_few, prepares=prepares), 0) == []
    actions = victim.on_message(_proposal_from(cluster, p1, reproposed, round_changes=justification, prepares=prepares), 0)
    assert victim.round == 1  # a justified future-round proposal moves the node forward
    assert any(isinstance(a, Broadcast) and isinstance(a.message, m.Prepare) for a in actions)


def test_round_change_with_invalid_certificate_is_ignored() -> None:
    cluster = Cluster(4)
    block0 = FakeBlock(1, 0, cluster.validators[0], PARENT_HASH, b"prepared")
    digest = block0.commit_seal_hash(0)
    metadata = m.PreparedMetadata(0, digest)
    victim = cluster.engines[3]
    two_prepares = [m.make_prepare(s, 1, 0, digest).signed for s in cluster.signers[:2]]
    bad = [
        m.make_round_change(cluster.signers[0], 1, 1, metadata, block0.encoded, two_prepares),  # no quorum
        m.make_round_change(cluster.signers[0], 1, 1, metadata, None, ()),  # block missing
        m.make_round_change(cluster.signers[0], 1, 1, m.PreparedMetadata(1, digest), block0.encoded, ()),
        m.make_round_change(cluster.signers[0], 1, 1, None, block0.encoded, ()),  # block without metadata
    ]
    for rc in bad:
        victim.on_message(rc, 0)
    assert victim._round_changes == {}


def test_f_plus_one_round_changes_pull_a_node_forward() -> None:
    cluster = Cluster(4)  # f = 1: two validators asking for round 3 move a lagging node to round 3
    lagging = cluster.engines[3]
    lagging.on_message(m.make_round_change(cluster.signers[0], 1, 3), 0)
    assert lagging.round == 0
    actions = lagging.on_message(m.make_round_change(cluster.signers[1], 1, 5), 0)
    assert lagging.round == 3
    assert any(isinstance(a, Broadcast) and a.message.payload == m.RoundChangePayload(1, 3, None) for a in actions)


def test_future_height_messages_are_buffered_and_replayed() -> None:
    cluster = Cluster(4)
    engine = cluster.engines[0]
    block = FakeBlock(2, 0, b"\x22" * 20, PARENT_HASH, b"h2")
    digest = block.commit_seal_hash(0)
    for s in cluster.signers[1:]:
        assert engine.on_message(m.make_prepare(s, 2, 0, digest), 0) == []
    assert engine.on_message(m.make_prepare(cluster.signers[1], 50, 0, digest), 0) == []  # beyond the limit
    assert engine._future_count == 3
    engine.start(2, ParentInfo(ZERO, cluster.validators), 1.0)
    assert engine.height == 2 and engine._future_count == 0
    assert set(engine._rounds[0].prepares) == {s.address for s in cluster.signers[1:]}


def test_future_buffer_is_bounded_in_total_and_per_author() -> None:
    signers = [m.KeySigner(k) for k in make_keys(3)]
    engine = QbftEngine(signers[0], Host(), QbftConfig(max_future_messages=5, max_future_messages_per_author=3))
    engine.start(1, ParentInfo(ZERO, [s.address for s in signers]), 0)
    for i in range(20):  # a flooding validator gets only its share
        engine.on_message(m.make_prepare(signers[1], 2, 0, keccak(bytes([i]))), 0)
    assert engine._future_count == 3
    for i in range(20):
        engine.on_message(m.make_prepare(signers[2], 2, 0, keccak(bytes([i]))), 0)
    assert engine._future_count == 5


def test_messages_from_non_validators_are_ignored_and_observer_stays_passive() -> None:
    cluster = Cluster(4, extra=1)
    observer = cluster.engines[4]
    assert not observer.is_validator
    outsider_prepare = m.make_prepare(cluster.signers[4], 1, 0, keccak(b"x"))
    assert cluster.engines[0].on_message(outsider_prepare, 0) == []
    assert 0 not in cluster.engines[0]._rounds or not cluster.engines[0]._rounds[0].prepares
    cluster.build(cluster.proposer(0))
    cluster.deliver_all()
    assert len(cluster.finalized) == 5  # the observer also learns the decision
    assert all(sender != 4 for sender, _ in cluster.queue)


def test_start_rejects_going_backwards() -> None:
    cluster = Cluster(1)
    with pytest.raises(ValueError):
        cluster.engines[0].start(1, ParentInfo(ZERO, cluster.validators), 0)
    with pytest.raises(ValueError):
        QbftEngine(cluster.signers[0], Host()).start(0, ParentInfo(ZERO, cluster.validators), 0)


def test_round_zero_timer_counts_from_the_block_period() -> None:
    signer = m.KeySigner(make_keys(1)[0])
    engine = QbftEngine(signer, Host(), QbftConfig(request_timeout=4.0))
    actions = engine.start(1, ParentInfo(ZERO, [signer.address], round0_start=10.0), 1.0)
    assert ScheduleTimer(RoundTimerExpiry(1, 0), 14.0) in actions
    later = engine.on_timer(RoundTimerExpiry(1, 0), 14.0)
    assert ScheduleTimer(RoundTimerExpiry(1, 1), 22.0) in later  # later rounds count from their start
