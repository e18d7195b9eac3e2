"""The QBFT state machine for one validator: messages and timer events in, actions out, time injected.

Host integration contract
=========================

The engine never touches the network, the clock, the chain or a thread. The node (the *host*) feeds it
events and executes the actions it returns, in order. Every entry point returns ``list[Action]``.

Entry points
------------
* ``QbftEngine(signer, host, config)``: ``signer`` is a :class:`~co3chain.consensus.qbft.messages.Signer`
  (the validator key; for a non-validator node any key — the engine stays passive when its address is not in
  the validator set); ``host`` implements :class:`BlockHost`.
* ``start(height, ParentInfo(parent_proposer, validators, round0_start), now)`` — call after importing
  block ``height - 1`` (and at boot with the head + 1). ``validators`` is the set that must seal ``height``
  (``ValidatorSetTracker.apply_block`` of the parent); ``parent_proposer`` is the parent's coinbase
  (genesis: its coinbase, usually the zero address); ``round0_start`` is parent timestamp + block period
  in the host clock (the round-0 timer counts from then). Buffered messages for ``height`` are replayed.
* ``on_message(message, now)`` — a decoded :mod:`~co3chain.consensus.qbft.messages` message from a peer
  (decode with ``messages.decode_message(code, body)``; a ``MalformedMessageError`` is the peer's fault).
  Never loop the node's own broadcasts back; duplicates are harmless but wasted work.
* ``on_timer(expiry, now)`` — when a scheduled :class:`ScheduleTimer` fires. Stale timers are ignored, so
  the host need not cancel them.
* ``on_block_built(block, now)`` — answer to :class:`NeedBlock`. Late answers (round moved on) are ignored.

Actions
-------
* :class:`Broadcast` ``(message)`` — send ``encode_message(message)`` with code ``message.code`` to all
  validator peers (gossip is fine: receivers de-duplicate per author/round).
* :class:`ScheduleTimer` ``(expiry, at)`` — call ``on_timer(expiry, now)`` at time ``at`` (same clock as
  ``now``; seconds). Several may be outstanding; only the latest matters.
* :class:`NeedBlock` ``(height, round)`` — this node proposes: build a block on the parent with
  ``coinbase = own address``, extraData round = ``round``, the next pending validator vote, timestamp
  ``max(parent.timestamp + blockperiod, now)`` (waiting until that time is allowed; the round timer keeps
  running), then call ``on_block_built``.
* :class:`Finalize` ``(block, round, commit_seals)`` — a quorum committed ``block`` in ``round``: write
  ``commit_seals`` (65-byte seals, validators' order irrelevant) into extraData, import the block, update the
  validator set, then call ``start(height + 1, …)``. Emitted at most once per height.
* :class:`RoundStarted` ``(height, round, proposer, timeout)`` — informational (logs, metrics, RPC).

Sync: a node that missed a commit quorum keeps receiving messages for later heights (buffered, bounded).
The host should treat them as a hint to fetch sealed blocks from peers, check them with
:func:`verify_commit_seals` against the validator set, import, and ``start`` the next height.

Protocol notes (Besu ``qbft-core`` behaviour unless stated)
-----------------------------------------------------------
* digest of a block in round r = ``block.commit_seal_hash(r)``; the commit seal signs the digest.
* The proposer also sends PREPARE; prepared = quorum of matching PREPAREs plus the proposal; committed =
  quorum of matching COMMITs (with valid seals) plus the proposal.
* Round r > 0 proposals carry a quorum of ROUND_CHANGE payloads for r; if any reports a prepared round, the
  block must be the one prepared in the highest reported round (``commit_seal_hash(preparedRound)`` equals
  the reported digest) and carry that round's prepare quorum; the re-proposed block keeps its original
  coinbase (only the extraData round changes, via ``BlockHost.with_round``).
* COMMITs for an earlier round of the current height still finalize (any commit quorum is final), which
  spares a node a sync when it timed out just before the commits arrived (Besu drops them).
* Early round change (QBFT paper, Besu ``Xqbft-enable-early-round-change``): f+1 validators asking for
  higher rounds move the node to the lowest of those f+1 rounds. Timeouts are capped (:mod:`timers`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from co3chain.consensus.qbft.messages import (
    MAX_ROUND,
    Commit,
    MalformedMessageError,
    Message,
    Prepare,
    PreparedMetadata,
    PreparePayload,
    Proposal,
    RoundChange,
    RoundChangePayload,
    SignedPayload,
    Signer,
    make_commit,
    make_prepare,
    make_proposal,
    make_round_change,
    recover_address,
)
from co3chain.consensus.qbft.proposer import max_faulty, quorum_size, select_proposer, sorted_validators
from co3chain.consensus.qbft.timers import DEFAULT_MAX_ROUND_TIMEOUT, RoundTimerExpiry, round_timeout

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------ host interface


class Block(Protocol):
    """What the engine needs to know about a block; the node wraps py-evm blocks, tests use fakes."""

    @property
    def height(self) -> int: ...

    @property
    def round(self) -> int:
        """Round stored in the block's extraData."""
        ...

    @property
    def proposer(self) -> bytes:
        """The header coinbase."""
        ...

    @property
    def hash(self) -> bytes:
        """On-chain hash (extraData round 0, no seals): the same for every round."""
        ...

    @property
    def encoded(self) -> bytes:
        """The block as one RLP list item (header, transactions, …), as carried in PROPOSAL."""
        ...

    def commit_seal_hash(self, round_: int) -> bytes:
        """Hash of the header with extraData round ``round_`` and no seals (what commit seals sign)."""
        ...


class BlockHost(Protocol):
    """Node callbacks the engine needs to judge and re-propose blocks."""

    def decode_block(self, encoded: bytes) -> Block:
        """Parse a proposed block; raise ``ValueError`` if it is not a block."""
        ...

    def validate_block(self, block: Block) -> bool:
        """Full validity on top of the local parent (header rules, timestamp, execution)."""
        ...

    def with_round(self, block: Block, round_: int) -> Block:
        """The same block with extraData round ``round_`` (used to re-propose a prepared block)."""
        ...


@dataclass(frozen=True)
class ParentInfo:
    """What the engine needs about the parent of the height it works on."""

    proposer: bytes
    """The parent's coinbase (genesis: its coinbase, usually the zero address)."""
    validators: Sequence[bytes]
    """Validators that must seal the new height (the set after applying the parent's vote)."""
    round0_start: float | None = None
    """When round 0 may produce a block (parent timestamp + block period, host clock); the round-0 timer
    runs from then, so a block period longer than ``request_timeout`` does not force a round change."""


@dataclass(frozen=True)
class QbftConfig:
    """Engine tuning; the defaults suit a consortium LAN/WAN."""

    request_timeout: float = 4.0
    """``requesttimeoutseconds`` from genesis: round-0 timer."""
    max_round_timeout: float = DEFAULT_MAX_ROUND_TIMEOUT
    """Cap of the exponentially growing round timer."""
    future_round_limit: int = 10
    """PREPARE/COMMIT for rounds up to current + this are kept; later ones are dropped."""
    future_height_limit: int = 10
    """Messages for heights up to current + this are buffered for replay on ``start``."""
    max_future_messages: int = 2000
    """Total bound on buffered future-height messages."""
    max_future_messages_per_author: int = 200
    """Per-author bound, so one faulty validator cannot fill the buffer and crowd out the others."""
    round_changes_kept_per_author: int = 4
    """ROUND_CHANGE messages kept per author (its highest rounds)."""
    early_round_change: bool = True
    """Jump to higher rounds on f+1 ROUND_CHANGEs instead of waiting for the local timer."""


# ------------------------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Broadcast:
    message: Message


@dataclass(frozen=True)
class ScheduleTimer:
    expiry: RoundTimerExpiry
    at: float


@dataclass(frozen=True)
class NeedBlock:
    height: int
    round: int


@dataclass(frozen=True)
class Finalize:
    block: Block
    round: int
    commit_seals: tuple[bytes, ...]
    #: the validator whose seal is ``commit_seals[i]``: each seal was recovered once, on its COMMIT, so the
    #: host need not recover it again before importing the block
    signers: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class RoundStarted:
    height: int
    round: int
    proposer: bytes
    timeout: float


Action = Broadcast | ScheduleTimer | NeedBlock | Finalize | RoundStarted


# ---------------------------------------------------------------------------------------- finality


def verify_commit_seals(block: Block, commit_seals: Sequence[bytes], validators: Sequence[bytes]) -> bool:
    """True if ``commit_seals`` hold a quorum of distinct validators' seals over the block's round.

    For sync/import of blocks the node did not see being committed.
    """
    members = set(validators)
    digest = block.commit_seal_hash(block.round)
    signers: set[bytes] = set()
    for seal in commit_seals:
        try:
            signer = recover_address(digest, seal)
        except MalformedMessageError:
            return False
        if signer not in members or signer in signers:
            return False
        signers.add(signer)
    return len(signers) >= quorum_size(len(members))


# ------------------------------------------------------------------------------------ round state


@dataclass
class _RoundState:
    proposal: Proposal | None = None
    block: Block | None = None
    digest: bytes | None = None
    prepares: dict[bytes, SignedPayload[PreparePayload]] = field(default_factory=dict)
    commits: dict[bytes, bytes] = field(default_factory=dict)  # author -> digest
    seals: dict[bytes, bytes] = field(default_factory=dict)  # author -> commit seal
    prepared: bool = False


@dataclass(frozen=True)
class _PreparedCertificate:
    round: int
    block: Block
    prepares: tuple[SignedPayload[PreparePayload], ...]


# ------------------------------------------------------------------------------------------ engine


class QbftEngine:
    """One validator's QBFT consensus for successive heights (see the module docstring)."""

    def __init__(self, signer: Signer, host: BlockHost, config: QbftConfig | None = None) -> None:
        self.signer = signer
        self.address = signer.address
        self.host = host
        self.config = config or QbftConfig()
        self.height: int | None = None
        self.round = 0
        self.finalized = False
        self.validators: tuple[bytes, ...] = ()
        self._parent_proposer = b""
        self._round0_start: float | None = None
        self._quorum = 0
        self._f = 0
        self._rounds: dict[int, _RoundState] = {}
        self._round_changes: dict[int, dict[bytes, RoundChange]] = {}
        self._certificate: _PreparedCertificate | None = None
        self._awaiting_block: int | None = None
        self._justification: dict[int, tuple[SignedPayload[RoundChangePayload], ...]] = {}
        self._proposed_rounds: set[int] = set()
        self._future: dict[int, list[Message]] = {}
        self._future_count = 0
        self._future_by_author: dict[bytes, int] = {}
        self._now = 0.0

    # ---------------------------------------------------------------------------- public API

    @property
    def is_validator(self) -> bool:
        return self.address in self.validators

    def proposer_for(self, round_: int) -> bytes:
        return select_proposer(self.validators, self._parent_proposer, round_)

    def start(self, height: int, parent: ParentInfo, now: float) -> list[Action]:
        """Begin consensus on ``height`` (abandoning any earlier height) and replay buffered messages."""
        if height < 1:
            raise ValueError("consensus heights start at 1 (0 is genesis)")
        if self.height is not None and height <= self.height:
            raise ValueError(f"cannot restart at height {height}: already at {self.height}")
        self._now = now
        self.height = height
        self.validators = sorted_validators(parent.validators)
        self._parent_proposer = parent.proposer
        self._round0_start = parent.round0_start
        self._quorum = quorum_size(len(self.validators))
        self._f = max_faulty(len(self.validators))
        self.round = 0
        self.finalized = False
        self._rounds = {}
        self._round_changes = {}
        self._certificate = None
        self._awaiting_block = None
        self._justification = {}
        self._proposed_rounds = set()
        actions = self._enter_round(0, send_round_change=False)
        replay = self._future.pop(height, [])
        for stale in [h for h in self._future if h < height]:
            del self._future[stale]
        self._future_count = sum(len(v) for v in self._future.values())
        self._future_by_author = {}
        for buffered in self._future.values():
            for message in buffered:
                self._future_by_author[message.author] = self._future_by_author.get(message.author, 0) + 1
        for message in replay:
            actions.extend(self._dispatch(message))
        return actions

    def on_message(self, message: Message, now: float) -> list[Action]:
        """Handle one decoded message from a peer."""
        self._now = now
        height = message.payload.height
        if self.height is None or height > self.height:
            self._buffer_future(message)
            return []
        if height < self.height or self.finalized:
            return []
        return self._dispatch(message)

    def on_timer(self, expiry: RoundTimerExpiry, now: float) -> list[Action]:
        """Round timer fired: move to the next round and ask for it (ROUND_CHANGE)."""
        self._now = now
        if self.finalized or expiry.height != self.height or expiry.round != self.round:
            return []
        if self.round >= MAX_ROUND:
            return []
        return self._enter_round(self.round + 1, send_round_change=True)

    def on_block_built(self, block: Block, now: float) -> list[Action]:
        """The host built the block asked for by :class:`NeedBlock`; propose it."""
        self._now = now
        if (
            self.finalized
            or self._awaiting_block is None
            or block.height != self.height
            or block.round != self.round
            or self._awaiting_block != self.round
        ):
            return []
        self._awaiting_block = None
        return self._propose(block, self._justification.pop(self.round, ()), ())

    # -------------------------------------------------------------------------- round control

    def _enter_round(self, round_: int, *, send_round_change: bool) -> list[Action]:
        assert self.height is not None
        self.round = round_
        self._awaiting_block = None
        timeout = round_timeout(self.config.request_timeout, round_, self.config.max_round_timeout)
        proposer = self.proposer_for(round_)
        starts_at = self._now
        if round_ == 0 and self._round0_start is not None:
            starts_at = max(starts_at, self._round0_start)
        actions: list[Action] = [
            RoundStarted(self.height, round_, proposer, timeout),
            ScheduleTimer(RoundTimerExpiry(self.height, round_), starts_at + timeout),
        ]
        for old in [r for r in self._round_changes if r < round_]:
            del self._round_changes[old]
        if send_round_change and self.is_validator:
            cert = self._certificate
            rc = make_round_change(
                self.signer,
                self.height,
                round_,
                PreparedMetadata(cert.round, cert.block.commit_seal_hash(cert.round)) if cert else None,
                cert.block.encoded if cert else None,
                cert.prepares if cert else (),
            )
            actions.append(Broadcast(rc))
            self._store_round_change(rc)
        if round_ == 0:
            if proposer == self.address:
                self._awaiting_block = 0
                actions.append(NeedBlock(self.height, 0))
        else:
            actions.extend(self._maybe_propose_after_round_change())
        state = self._rounds.get(round_)
        if state is not None:
            actions.extend(self._check_prepared(round_, state))
        return actions

    def _maybe_propose_after_round_change(self) -> list[Action]:
        """As the proposer of the current round > 0, propose once a quorum asked for this round."""
        round_ = self.round
        if (
            round_ == 0
            or self.proposer_for(round_) != self.address
            or round_ in self._proposed_rounds
            or self._awaiting_block == round_
        ):
            return []
        round_changes = self._round_changes.get(round_, {})
        if len(round_changes) < self._quorum:
            return []
        justification = tuple(rc.signed for rc in round_changes.values())
        best = self._best_prepared(list(round_changes.values()))
        if best is not None and best.prepared_block is not None:
            block = self.host.with_round(self.host.decode_block(best.prepared_block), round_)
            return self._propose(block, justification, best.prepares)
        assert self.height is not None
        self._awaiting_block = round_
        self._justification[round_] = justification
        return [NeedBlock(self.height, round_)]

    @staticmethod
    def _best_prepared(round_changes: Sequence[RoundChange]) -> RoundChange | None:
        prepared = [rc for rc in round_changes if rc.payload.prepared is not None]
        if not prepared:
            return None
        return max(prepared, key=lambda rc: rc.payload.prepared.round)  # type: ignore[union-attr]

    def _propose(
        self,
        block: Block,
        round_changes: Sequence[SignedPayload[RoundChangePayload]],
        prepares: Sequence[SignedPayload[PreparePayload]],
    ) -> list[Action]:
        assert self.height is not None
        self._proposed_rounds.add(self.round)
        proposal = make_proposal(self.signer, self.height, self.round, block.encoded, round_changes, prepares)
        actions: list[Action] = [Broadcast(proposal)]
        actions.extend(self._accept_proposal(self.round, proposal, block))
        return actions

    # ------------------------------------------------------------------------------ dispatch

    def _dispatch(self, message: Message) -> list[Action]:
        if message.author not in self.validators:
            log.debug("dropping %s from non-validator %s", type(message).__name__, message.author.hex())
            return []
        if isinstance(message, Proposal):
            return self._on_proposal(message)
        if isinstance(message, Prepare):
            return self._on_prepare(message)
        if isinstance(message, Commit):
            return self._on_commit(message)
        return self._on_round_change(message)

    def _buffer_future(self, message: Message) -> None:
        height = message.payload.height
        if self.height is not None and height > self.height + self.config.future_height_limit:
            return
        if self._future_count >= self.config.max_future_messages:
            return
        author_count = self._future_by_author.get(message.author, 0)
        if author_count >= self.config.max_future_messages_per_author:
            return
        self._future.setdefault(height, []).append(message)
        self._future_count += 1
        self._future_by_author[message.author] = author_count + 1

    def _state(self, round_: int) -> _RoundState:
        state = self._rounds.get(round_)
        if state is None:
            state = self._rounds[round_] = _RoundState()
        return state

    # ------------------------------------------------------------------------------ PROPOSAL

    def _on_proposal(self, proposal: Proposal) -> list[Action]:
        round_ = proposal.payload.round
        if round_ < self.round or proposal.author != self.proposer_for(round_):
            return []
        existing = self._rounds.get(round_)
        if existing is not None and existing.proposal is not None:
            return []  # first proposal per round wins; a second one is equivocation or a duplicate
        try:
            block = self.host.decode_block(proposal.payload.block)
        except ValueError as exc:
            log.debug("undecodable proposed block: %s", exc)
            return []
        if block.height != self.height or block.round != round_:
            return []
        if not self._justification_valid(proposal, block) or not self.host.validate_block(block):
            return []
        actions: list[Action] = []
        if round_ > self.round:
            actions.extend(self._enter_round(round_, send_round_change=False))
            if self.finalized:
                return actions
            existing = self._rounds.get(round_)
            if existing is not None and existing.proposal is not None:
                return actions
        actions.extend(self._accept_proposal(round_, proposal, block))
        return actions

    def _justification_valid(self, proposal: Proposal, block: Block) -> bool:
        round_ = proposal.payload.round
        if round_ == 0:
            return not proposal.round_changes and not proposal.prepares and block.proposer == proposal.author
        round_changes = proposal.round_changes
        authors = {rc.author for rc in round_changes}
        if len(authors) != len(round_changes) or len(authors) < self._quorum:
            return False
        if not authors <= set(self.validators):
            return False
        by_prepared_round: dict[int, bytes] = {}
        for rc in round_changes:
            payload = rc.payload
            if payload.height != self.height or payload.round != round_:
                return False
            if payload.prepared is not None:
                if payload.prepared.round >= round_:
                    return False
                seen = by_prepared_round.setdefault(payload.prepared.round, payload.prepared.digest)
                if seen != payload.prepared.digest:
                    return False  # two different blocks prepared in one round: impossible for honest quorums
        if not by_prepared_round:
            return not proposal.prepares and block.proposer == proposal.author
        prepared_round = max(by_prepared_round)
        digest = by_prepared_round[prepared_round]
        if block.commit_seal_hash(prepared_round) != digest:
            return False
        return self._prepare_certificate_valid(proposal.prepares, prepared_round, digest)

    def _prepare_certificate_valid(
        self, prepares: Sequence[SignedPayload[PreparePayload]], round_: int, digest: bytes
    ) -> bool:
        authors = {p.author for p in prepares}
        if len(authors) != len(prepares) or len(authors) < self._quorum:
            return False
        if not authors <= set(self.validators):
            return False
        return all(
            p.payload.height == self.height and p.payload.round == round_ and p.payload.digest == digest
            for p in prepares
        )

    def _accept_proposal(self, round_: int, proposal: Proposal, block: Block) -> list[Action]:
        assert self.height is not None
        state = self._state(round_)
        state.proposal = proposal
        state.block = block
        state.digest = block.commit_seal_hash(round_)
        actions: list[Action] = []
        if self.is_validator and self.address not in state.prepares:
            prepare = make_prepare(self.signer, self.height, round_, state.digest)
            state.prepares[self.address] = prepare.signed
            actions.append(Broadcast(prepare))
        actions.extend(self._check_prepared(round_, state))
        actions.extend(self._check_committed(round_, state))
        return actions

    # ------------------------------------------------------------------------------- PREPARE

    def _on_prepare(self, prepare: Prepare) -> list[Action]:
        round_ = prepare.payload.round
        if round_ < self.round or round_ > self.round + self.config.future_round_limit:
            return []
        state = self._state(round_)
        state.prepares.setdefault(prepare.author, prepare.signed)
        return self._check_prepared(round_, state)

    def _check_prepared(self, round_: int, state: _RoundState) -> list[Action]:
        if state.prepared or state.proposal is None or round_ != self.round or self.finalized:
            return []
        matching = tuple(p for p in state.prepares.values() if p.payload.digest == state.digest)
        if len(matching) < self._quorum:
            return []
        assert state.block is not None and state.digest is not None and self.height is not None
        state.prepared = True
        if self._certificate is None or self._certificate.round < round_:
            self._certificate = _PreparedCertificate(round_, state.block, matching)
        actions: list[Action] = []
        if self.is_validator and self.address not in state.commits:
            seal = self.signer.sign(state.digest)
            commit = make_commit(self.signer, self.height, round_, state.digest, seal)
            state.commits[self.address] = state.digest
            state.seals[self.address] = seal
            actions.append(Broadcast(commit))
        actions.extend(self._check_committed(round_, state))
        return actions

    # -------------------------------------------------------------------------------- COMMIT

    def _on_commit(self, commit: Commit) -> list[Action]:
        payload = commit.payload
        if payload.round > self.round + self.config.future_round_limit:
            return []
        state = self._state(payload.round)
        if commit.author in state.commits:
            return []
        try:
            if recover_address(payload.digest, payload.commit_seal) != commit.author:
                return []
        except MalformedMessageError:
            return []
        state.commits[commit.author] = payload.digest
        state.seals[commit.author] = payload.commit_seal
        return self._check_committed(payload.round, state)

    def _check_committed(self, round_: int, state: _RoundState) -> list[Action]:
        if self.finalized or state.proposal is None or state.block is None:
            return []
        authors = sorted(a for a, digest in state.commits.items() if digest == state.digest)
        if len(authors) < self._quorum:
            return []
        self.finalized = True
        self._awaiting_block = None
        return [Finalize(state.block, round_, tuple(state.seals[a] for a in authors), tuple(authors))]

    # -------------------------------------------------------------------------- ROUND_CHANGE

    def _on_round_change(self, rc: RoundChange) -> list[Action]:
        round_ = rc.payload.round
        if round_ == 0 or round_ < self.round or round_ >= MAX_ROUND:
            return []
        if rc.author in self._round_changes.get(round_, {}):
            return []
        if not self._round_change_valid(rc):
            return []
        self._store_round_change(rc)
        actions: list[Action] = []
        if self.config.early_round_change:
            target = self._early_round_change_target()
            if target is not None:
                actions.extend(self._enter_round(target, send_round_change=True))
        if len(self._round_changes.get(round_, {})) >= self._quorum and round_ > self.round:
            actions.extend(self._enter_round(round_, send_round_change=False))
        elif round_ == self.round:
            actions.extend(self._maybe_propose_after_round_change())
        return actions

    def _round_change_valid(self, rc: RoundChange) -> bool:
        prepared = rc.payload.prepared
        if prepared is None:
            return rc.prepared_block is None and not rc.prepares
        if prepared.round >= rc.payload.round or rc.prepared_block is None:
            return False
        try:
            block = self.host.decode_block(rc.prepared_block)
        except ValueError:
            return False
        if block.height != self.height or block.commit_seal_hash(prepared.round) != prepared.digest:
            return False
        return self._prepare_certificate_valid(rc.prepares, prepared.round, prepared.digest)

    def _store_round_change(self, rc: RoundChange) -> None:
        self._round_changes.setdefault(rc.payload.round, {}).setdefault(rc.author, rc)
        rounds = sorted((r for r, by in self._round_changes.items() if rc.author in by), reverse=True)
        for old in rounds[self.config.round_changes_kept_per_author :]:
            del self._round_changes[old][rc.author]
            if not self._round_changes[old]:
                del self._round_changes[old]

    def _early_round_change_target(self) -> int | None:
        """The lowest round among the f+1 authors asking for the highest rounds above ours."""
        highest: dict[bytes, int] = {}
        for round_, by_author in self._round_changes.items():
            if round_ <= self.round:
                continue
            for author in by_author:
                if author != self.address:
                    highest[author] = max(highest.get(author, 0), round_)
        if len(highest) < self._f + 1:
            return None
        return sorted(highest.values(), reverse=True)[self._f]
