"""Deterministic discrete-event simulation of a QBFT network built from real :class:`QbftEngine` instances.

Everything that is random (latency, loss, reordering, Byzantine choices) comes from one seeded
``random.Random``, and time is a float advanced by the event queue, so every run is reproducible from its
seed. Messages cross the "network" as encoded bytes and are decoded by the receiver, so the codecs and the
signature checks are exercised on every hop. Blocks are lightweight :class:`FakeBlock` objects with the same
hashing shape as QBFT headers (on-chain hash = commit-seal hash at round 0).

Nodes also run a minimal block sync (announce on finalize, fetch on seeing a later height), verified with
:func:`verify_commit_seals`, because a node that lost the commit messages of a height can only catch up
by importing the sealed block, exactly as a real node does.
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import rlp
from eth_keys import keys
from eth_utils import keccak

from co3chain.consensus.qbft.engine import (
    Action,
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
from co3chain.consensus.qbft.extradata import Vote
from co3chain.consensus.qbft.messages import (
    Commit,
    KeySigner,
    Message,
    Prepare,
    Proposal,
    decode_message,
    encode_message,
    make_commit,
    make_prepare,
    make_proposal,
)
from co3chain.consensus.qbft.timers import RoundTimerExpiry
from co3chain.consensus.qbft.votes import PendingVotes, ValidatorSetTracker

ZERO_ADDRESS = b"\x00" * 20
GENESIS_HASH = keccak(b"co3chain-sim-genesis")


# ------------------------------------------------------------------------------------------ blocks


@dataclass(frozen=True)
class FakeBlock:
    """A block reduced to what consensus cares about; ``payload`` stands for the transactions."""

    height: int
    round: int
    proposer: bytes
    parent_hash: bytes
    payload: bytes
    vote: Vote | None = None

    def _fields(self, round_: int) -> list[Any]:
        vote = [self.vote.recipient, b"\xff" if self.vote.add else b""] if self.vote else []
        return [self.height, round_, self.proposer, self.parent_hash, self.payload, vote]

    @property
    def hash(self) -> bytes:
        return keccak(rlp.encode(self._fields(0)))

    @property
    def encoded(self) -> bytes:
        return rlp.encode(self._fields(self.round))

    def commit_seal_hash(self, round_: int) -> bytes:
        return keccak(rlp.encode(self._fields(round_)))

    @classmethod
    def decode(cls, encoded: bytes) -> FakeBlock:
        try:
            height, round_, proposer, parent, payload, vote = rlp.decode(encoded, strict=True)
            parsed_vote = Vote(vote[0], vote[1] == b"\xff") if vote else None
            return cls(
                int.from_bytes(height, "big"), int.from_bytes(round_, "big"), proposer, parent, payload,
                parsed_vote,
            )
        except Exception as exc:  # any structural defect is "not a block"
            raise ValueError(f"not a fake block: {exc}") from exc


# ------------------------------------------------------------------------------------------ network


@dataclass
class NetConfig:
    min_delay: float = 0.005
    max_delay: float = 0.1
    loss: float = 0.0
    block_period: float = 1.0
    request_timeout: float = 2.0
    max_round_timeout: float = 16.0


@dataclass(order=True)
class _Event:
    at: float
    seq: int
    run: Callable[[], None] = field(compare=False)


class Network:
    """Event queue, links and nodes."""

    def __init__(self, seed: int, config: NetConfig | None = None) -> None:
        self.rng = random.Random(seed)
        self.config = config or NetConfig()
        self.now = 0.0
        self._queue: list[_Event] = []
        self._seq = 0
        self.nodes: list[SimNode] = []
        self.partition: list[set[int]] | None = None
        self.finalized: dict[int, set[bytes]] = {}  # height -> hashes finalized/imported by honest nodes

    # -- time
    def schedule(self, at: float, run: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Event(max(at, self.now), self._seq, run))

    def run_until(self, until: float, stop: Callable[[], bool] | None = None) -> None:
        while self._queue and self._queue[0].at <= until:
            event = heapq.heappop(self._queue)
            self.now = event.at
            event.run()
            if stop is not None and stop():
                return
        self.now = max(self.now, until)

    # -- links
    def connected(self, a: int, b: int) -> bool:
        if self.partition is None:
            return True
        return any(a in group and b in group for group in self.partition)

    def send(self, sender: int, receiver: int, packet: tuple[Any, ...]) -> None:
        if sender == receiver or not self.connected(sender, receiver):
            return
        if self.rng.random() < self.config.loss:
            return
        delay = self.rng.uniform(self.config.min_delay, self.config.max_delay)
        self.schedule(self.now + delay, lambda: self._deliver(sender, receiver, packet))

    def _deliver(self, sender: int, receiver: int, packet: tuple[Any, ...]) -> None:
        if not self.connected(sender, receiver):  # partitioned while in flight
            return
        self.nodes[receiver].receive(sender, packet)

    def broadcast(self, sender: int, packet: tuple[Any, ...]) -> None:
        for node in self.nodes:
            self.send(sender, node.index, packet)

    # -- bookkeeping
    def record_final(self, node: SimNode, height: int, block_hash: bytes) -> None:
        if node.honest:
            self.finalized.setdefault(height, set()).add(block_hash)

    def honest(self) -> list[SimNode]:
        return [n for n in self.nodes if n.honest]


# ------------------------------------------------------------------------------------------- nodes


class SimHost:
    """:class:`BlockHost` over the node's local chain."""

    def __init__(self, node: SimNode) -> None:
        self.node = node

    def decode_block(self, encoded: bytes) -> FakeBlock:
        return FakeBlock.decode(encoded)

    def validate_block(self, block: FakeBlock) -> bool:  # type: ignore[override]
        return (
            block.height == self.node.head_height + 1
            and block.parent_hash == self.node.head_hash
            and not block.payload.startswith(b"BAD")
        )

    def with_round(self, block: FakeBlock, round_: int) -> FakeBlock:  # type: ignore[override]
        return dataclasses.replace(block, round=round_)


class SimNode:
    """A node: engine + chain + sync + timers, driven by the network's event queue."""

    honest = True

    def __init__(self, net: Network, index: int, key: bytes, genesis_validators: list[bytes], epoch: int) -> None:
        self.net = net
        self.index = index
        self.signer = KeySigner(key)
        self.address = self.signer.address
        self.host = SimHost(self)
        cfg = net.config
        self.engine = QbftEngine(
            self.signer,
            self.host,
            QbftConfig(request_timeout=cfg.request_timeout, max_round_timeout=cfg.max_round_timeout),
        )
        self.genesis_validators = list(genesis_validators)
        self.tracker = ValidatorSetTracker(genesis_validators, epoch)
        self.validator_sets: dict[int, tuple[bytes, ...]] = {1: self.tracker.validators}
        self.chain: list[tuple[FakeBlock, tuple[bytes, ...]]] = []
        self.head_time = 0.0
        self.alive = True
        self.pending_votes = PendingVotes()
        self.rounds_seen: list[RoundStarted] = []
        self._last_sync_request = -1e9
        self._sealed_buffer: dict[int, tuple[FakeBlock, tuple[bytes, ...]]] = {}

    # -- chain
    @property
    def head_height(self) -> int:
        return len(self.chain)

    @property
    def head_hash(self) -> bytes:
        return self.chain[-1][0].hash if self.chain else GENESIS_HASH

    @property
    def head_proposer(self) -> bytes:
        return self.chain[-1][0].proposer if self.chain else ZERO_ADDRESS

    def boot(self) -> None:
        self.execute(self.engine.start(1, ParentInfo(ZERO_ADDRESS, self.tracker.validators), self.net.now))

    def import_block(self, block: FakeBlock, seals: tuple[bytes, ...]) -> None:
        self.chain.append((block, seals))
        self.head_time = self.net.now
        validators = self.tracker.apply_block(block.height, block.proposer, block.vote)
        self.validator_sets[block.height + 1] = validators
        self.net.record_final(self, block.height, block.hash)

    def start_next(self) -> None:
        parent = ParentInfo(
            self.head_proposer, self.tracker.validators, self.head_time + self.net.config.block_period
        )
        self.execute(self.engine.start(self.head_height + 1, parent, self.net.now))

    # -- actions
    def execute(self, actions: Iterable[Action]) -> None:
        for action in actions:
            self.handle_action(action)

    def handle_action(self, action: Action) -> None:
        if isinstance(action, Broadcast):
            self.send_message(action.message)
        elif isinstance(action, ScheduleTimer):
            self.net.schedule(action.at, lambda e=action.expiry: self.fire_timer(e))
        elif isinstance(action, NeedBlock):
            at = max(self.net.now, self.head_time + self.net.config.block_period)
            self.net.schedule(at, lambda a=action: self.build(a.height, a.round))
        elif isinstance(action, Finalize):
            block = action.block
            assert isinstance(block, FakeBlock)
            assert verify_commit_seals(block, action.commit_seals, self.validator_sets[block.height])
            self.import_block(block, action.commit_seals)
            self.net.broadcast(self.index, ("block", block.encoded, action.commit_seals))
            self.start_next()
        elif isinstance(action, RoundStarted):
            self.rounds_seen.append(action)

    def send_message(self, message: Message) -> None:
        self.net.broadcast(self.index, ("qbft", message.code, encode_message(message)))

    def make_block(self, height: int, round_: int, payload: bytes | None = None) -> FakeBlock:
        vote = self.pending_votes.next_vote(self.tracker.validators, height, self.tracker.epoch_length)
        return FakeBlock(
            height, round_, self.address, self.head_hash,
            payload if payload is not None else b"tx:%d:%d:%d" % (self.index, height, round_), vote,
        )

    def build(self, height: int, round_: int) -> None:
        if self.alive and self.engine.height == height and self.engine.round == round_:
            self.execute(self.engine.on_block_built(self.make_block(height, round_), self.net.now))

    def fire_timer(self, expiry: RoundTimerExpiry) -> None:
        if self.alive:
            self.execute(self.engine.on_timer(expiry, self.net.now))

    # -- network input
    def receive(self, sender: int, packet: tuple[Any, ...]) -> None:
        if not self.alive:
            return
        kind = packet[0]
        if kind == "qbft":
            message = decode_message(packet[1], packet[2])
            if message.payload.height > self.head_height + 1:
                self.request_sync(sender)
            self.execute(self.engine.on_message(message, self.net.now))
        elif kind == "block":
            self.on_sealed_block(FakeBlock.decode(packet[1]), packet[2])
        elif kind == "sync":
            for block, seals in self.chain[packet[1]:]:
                self.net.send(self.index, sender, ("block", block.encoded, seals))

    def request_sync(self, peer: int) -> None:
        if self.net.now - self._last_sync_request >= 0.5:
            self._last_sync_request = self.net.now
            self.net.send(self.index, peer, ("sync", self.head_height))

    def on_sealed_block(self, block: FakeBlock, seals: tuple[bytes, ...]) -> None:
        """Import sealed blocks in order; out-of-order arrivals wait in a small buffer."""
        if block.height <= self.head_height or block.height > self.head_height + 64:
            return
        self._sealed_buffer[block.height] = (block, seals)
        imported = False
        while self.head_height + 1 in self._sealed_buffer:
            block, seals = self._sealed_buffer.pop(self.head_height + 1)
            if block.parent_hash != self.head_hash:
                raise AssertionError(f"node {self.index}: sealed block {block.height} does not extend our chain")
            if not verify_commit_seals(block, seals, self.tracker.validators):
                break
            self.import_block(block, seals)
            imported = True
        for stale in [h for h in self._sealed_buffer if h <= self.head_height]:
            del self._sealed_buffer[stale]
        if imported:
            self.start_next()

    # -- failures
    def crash(self) -> None:
        self.alive = False

    def recover(self) -> None:
        """Restart with the chain kept (like a process restart); consensus state is rebuilt."""
        self.alive = True
        self.engine = QbftEngine(self.signer, self.host, self.engine.config)
        self.start_next()

    def restart_with_empty_data(self) -> None:
        """Restart from genesis with a wiped data directory: the node must resync, then rejoin."""
        self.chain = []
        self.head_time = 0.0
        self.tracker = ValidatorSetTracker(self.genesis_validators, self.tracker.epoch_length)
        self.validator_sets = {1: self.tracker.validators}
        self._sealed_buffer = {}
        self.alive = True
        self.engine = QbftEngine(self.signer, self.host, self.engine.config)
        self.boot()


class EquivocatingNode(SimNode):
    """Byzantine: proposes two different blocks to two halves of the network and prepares/commits both."""

    honest = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._alt_digest: dict[tuple[int, int], bytes] = {}

    def _split(self) -> tuple[list[int], list[int]]:
        others = [n.index for n in self.net.nodes if n.index != self.index]
        self.net.rng.shuffle(others)
        half = len(others) // 2
        return others[:half], others[half:]

    def send_message(self, message: Message) -> None:
        first, second = self._split()
        payload = message.payload
        key = (payload.height, payload.round)
        if isinstance(message, Proposal):
            block = FakeBlock.decode(payload.block)
            alt = dataclasses.replace(block, payload=block.payload + b":evil")
            alt_message = make_proposal(
                self.signer, payload.height, payload.round, alt.encoded, message.round_changes, message.prepares
            )
            self._alt_digest[key] = alt.commit_seal_hash(payload.round)
        elif isinstance(message, Prepare):
            alt_message = make_prepare(self.signer, payload.height, payload.round, self._alt(key))
        elif isinstance(message, Commit):
            digest = self._alt(key)
            alt_message = make_commit(self.signer, payload.height, payload.round, digest, self.signer.sign(digest))
        else:
            alt_message = message
        for receiver in first:
            self.net.send(self.index, receiver, ("qbft", message.code, encode_message(message)))
        for receiver in second:
            self.net.send(self.index, receiver, ("qbft", alt_message.code, encode_message(alt_message)))

    def _alt(self, key: tuple[int, int]) -> bytes:
        return self._alt_digest.get(key) or keccak(b"%d:%d:%f" % (key[0], key[1], self.net.rng.random()))


class InvalidProposerNode(SimNode):
    """Byzantine: every block it proposes is invalid; otherwise it follows the protocol."""

    honest = False

    def make_block(self, height: int, round_: int, payload: bytes | None = None) -> FakeBlock:
        return super().make_block(height, round_, b"BAD block from %d" % self.index)


# ------------------------------------------------------------------------------------------- setup


def make_keys(count: int, seed: int = 0) -> list[bytes]:
    """Deterministic private keys."""
    return [keccak(b"co3chain-sim-key:%d:%d" % (seed, i)) for i in range(count)]


def address_of(key: bytes) -> bytes:
    return keys.PrivateKey(key).public_key.to_canonical_address()


def build_network(
    n_validators: int,
    seed: int,
    config: NetConfig | None = None,
    node_classes: dict[int, type[SimNode]] | None = None,
    extra_nodes: int = 0,
    epoch: int = 30000,
) -> Network:
    """``n_validators`` validator nodes plus ``extra_nodes`` non-validator nodes, all booted at t = 0."""
    net = Network(seed, config)
    all_keys = make_keys(n_validators + extra_nodes)
    validators = [address_of(k) for k in all_keys[:n_validators]]
    classes = node_classes or {}
    for index, key in enumerate(all_keys):
        cls = classes.get(index, SimNode)
        net.nodes.append(cls(net, index, key, validators, epoch))
    for node in net.nodes:
        node.boot()
    return net


def assert_safety(net: Network) -> None:
    """No height has two different final blocks, and honest chains are prefixes of one another."""
    for height, hashes in net.finalized.items():
        assert len(hashes) == 1, f"fork at height {height}: {[h.hex() for h in hashes]}"
    chains = [[b.hash for b, _ in n.chain] for n in net.honest()]
    longest = max(chains, key=len)
    for chain in chains:
        assert chain == longest[: len(chain)]


def min_height(nodes: Iterable[SimNode]) -> int:
    return min(n.head_height for n in nodes)
