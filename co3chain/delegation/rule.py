"""The liquid-delegation counting rule of ``LiquidDelegation`` as pure Python.

Why a model in Python: the property tests check the contract against it (random delegation forests, vote
orders, electorates), and the audit replays a proposal's events through it, so a miscount on chain — or an
event that does not follow the rule — shows up as a difference.

Two views of the same rule:

- :func:`final_delegated` is the rule itself: once every delegator has been counted after the last vote on its
  chain, each direct voter carries the snapshot weight of every eligible non-voting citizen whose chain (at
  the snapshot, at most ``MAX_DEPTH`` hops) first reaches it.
- :class:`Ledger` mirrors the contract step by step (a vote, a counting) including the moves a late direct
  vote causes; its final tallies equal the rule's whatever the order of votes and countings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

#: ``LiquidDelegation.MAX_DEPTH``: longest chain followed, in hops.
MAX_DEPTH = 8

#: A proposal's chain step: the delegate a citizen follows at the snapshot for the proposal's area (None if none).
NextFn = Callable[[str], "str | None"]


def first_voter(start: str, next_of: NextFn, voted: Iterable[str] | Mapping[str, object],
                max_depth: int = MAX_DEPTH) -> tuple[str | None, list[str]]:
    """The first direct voter on ``start``'s chain within ``max_depth`` hops and the non-voters before it.

    A chain that ends, comes back to ``start`` or runs out of hops reaches nobody: ``(None, [])``.
    """
    node: str | None = start
    path: list[str] = []
    for _ in range(max_depth):
        node = next_of(node) if node is not None else None
        if node is None or node == start:
            return None, []
        if node in voted:
            return node, path
        path.append(node)
    return None, []


def final_delegated(citizens: Iterable[str], next_of: NextFn, voted: Iterable[str] | Mapping[str, object],
                    weight_of: Callable[[str], int], max_depth: int = MAX_DEPTH) -> dict[str, int]:
    """Delegated weight on each direct voter when every citizen's delegation is counted (the rule)."""
    voted_set = set(voted)
    out: dict[str, int] = defaultdict(int)
    for citizen in citizens:
        if citizen in voted_set:
            continue
        weight = weight_of(citizen)
        if weight == 0:
            continue
        rep, _ = first_voter(citizen, next_of, voted_set, max_depth)
        if rep is not None:
            out[rep] += weight
    return dict(out)


@dataclass(frozen=True)
class Counted:
    """``DelegatedWeightCounted``: ``delegator``'s ``weight`` joined ``representative``'s vote, ``hops`` away."""

    delegator: str
    representative: str
    weight: int
    hops: int


@dataclass(frozen=True)
class Moved:
    """``DelegatedWeightMoved``: ``voter`` voted; ``moved`` left ``from_``'s vote, ``regained`` joined its own."""

    voter: str
    from_: str
    moved: int
    regained: int
    was_counted: bool


@dataclass
class Ledger:
    """The contract's per-proposal bookkeeping, replayed in Python (see ``LiquidDelegation``)."""

    next_of: NextFn
    weight_of: Callable[[str], int]
    max_depth: int = MAX_DEPTH
    supports: dict[str, int] = field(default_factory=dict)  # direct voter -> support (0, 1, 2)
    own: dict[str, int] = field(default_factory=dict)  # direct voter -> own weight (VoteCast)
    counted: dict[str, int] = field(default_factory=dict)
    through: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    received: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def vote(self, voter: str, support: int, weight: int) -> Moved | None:
        """A direct open vote; returns the move it causes (None when nothing had been counted through it)."""
        if voter in self.supports:
            raise ValueError(f"{voter} already voted")
        self.supports[voter] = support
        self.own[voter] = weight
        own = self.counted.get(voter, 0)
        regained = self.through.get(voter, 0)
        moved = own + regained
        if moved == 0:
            return None
        rep, path = first_voter(voter, self.next_of, self.supports, self.max_depth)
        if rep is None:
            raise AssertionError(f"weight counted through {voter} but no voter above it")
        for node in path:
            self.through[node] -= moved
        self.received[rep] -= moved
        self.received[voter] += regained
        return Moved(voter, rep, moved, regained, own != 0)

    def count(self, delegator: str) -> Counted | None:
        """``countDelegations`` for one delegator; None when it is skipped (the contract skips it too)."""
        if delegator in self.counted or delegator in self.supports:
            return None
        rep, path = first_voter(delegator, self.next_of, self.supports, self.max_depth)
        if rep is None:
            return None
        weight = self.weight_of(delegator)
        if weight == 0:
            return None
        self.counted[delegator] = weight
        for node in path:
            self.through[node] += weight
        self.received[rep] += weight
        return Counted(delegator, rep, weight, len(path) + 1)

    def tally(self) -> list[int]:
        """[against, for, abstain]: own weights of direct voters plus the delegated weight they carry."""
        out = [0, 0, 0]
        for voter, support in self.supports.items():
            out[support] += self.own[voter] + self.received.get(voter, 0)
        return out

    def delegated(self) -> dict[str, int]:
        """Delegated weight each direct voter carries now (non-zero entries)."""
        return {v: w for v, w in self.received.items() if w}
