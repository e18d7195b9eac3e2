"""Validator-set votes: the proposer's pending-vote queue and the per-epoch tally (Besu ``VoteTally``).

Protocol (shared by the node, which needs the validator set of the next block, and the auditor, which
recomputes every set from headers):

* each block carries at most one vote in extraData (``[address, 0xff]`` add / ``[address, 0x80]`` drop),
  cast by the block's proposer (its coinbase);
* a proposer's latest vote for a subject replaces its earlier one (an add cancels its drop and vice versa);
* a subject is added (dropped) once ⌊n/2⌋+1 distinct current validators have a standing add (drop) vote for
  it, ``n`` being the validator count at that moment; all votes *for* that subject are then discarded, and a
  dropped validator's own standing votes are discarded too;
* an epoch block (``number % epoch_length == 0``) discards every standing vote and its own vote is ignored;
* the change applies from the next block: ``apply_block(number, …)`` returns the set validating
  ``number + 1``.

Adding a validator to a one-validator network: ⌊1/2⌋+1 = 1, so the single validator's vote adds the new
one at once. The set of two then needs a quorum of ⌈4/3⌉ = 2 commit seals, i.e. *both* must be online:
Besu behaves identically. Start the new node and let it sync **before** voting it in; the simulation test
``test_add_second_validator`` shows the chain continuing when the new validator is online and halting
(without any unsafe fork) until it comes online otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from co3chain.consensus.qbft.extradata import Vote


class VoteLike(Protocol):
    """Anything shaped like :class:`~co3chain.consensus.qbft.extradata.Vote`."""

    @property
    def recipient(self) -> bytes: ...

    @property
    def add(self) -> bool: ...


def is_epoch_block(number: int, epoch_length: int) -> bool:
    """Epoch (checkpoint) blocks reset pending votes; block 0 is one."""
    if epoch_length <= 0:
        raise ValueError("epoch length must be positive")
    return number % epoch_length == 0


def vote_threshold(validator_count: int) -> int:
    """Votes needed to add or drop: ⌊n/2⌋+1 of the current validators."""
    return validator_count // 2 + 1


class ValidatorSetTracker:
    """Replays blocks in order and yields the validator set for the following block.

    Why a class and not a fold over headers: the node applies one block at a time on import and the RPC
    (``qbft_getValidatorsByBlockNumber``) needs the set after any block; ``copy()`` gives snapshots.
    """

    def __init__(self, validators: Sequence[bytes], epoch_length: int, last_block: int = 0) -> None:
        if not validators:
            raise ValueError("a QBFT network needs at least one validator")
        if epoch_length <= 0:
            raise ValueError("epoch length must be positive")
        self.epoch_length = epoch_length
        self.last_block = last_block
        self._validators: set[bytes] = set(validators)
        if len(self._validators) != len(validators):
            raise ValueError("duplicate validator address")
        self._adds: dict[bytes, set[bytes]] = {}
        self._drops: dict[bytes, set[bytes]] = {}

    @property
    def validators(self) -> tuple[bytes, ...]:
        """Sorted validators for block ``last_block + 1``."""
        return tuple(sorted(self._validators))

    def copy(self) -> ValidatorSetTracker:
        clone = ValidatorSetTracker(self.validators, self.epoch_length, self.last_block)
        clone._adds = {k: set(v) for k, v in self._adds.items()}
        clone._drops = {k: set(v) for k, v in self._drops.items()}
        return clone

    def tally(self) -> dict[bytes, tuple[int, int]]:
        """Standing votes per subject as ``(adds, drops)``, for RPC and dashboards."""
        subjects = set(self._adds) | set(self._drops)
        return {s: (len(self._adds.get(s, ())), len(self._drops.get(s, ()))) for s in sorted(subjects)}

    def apply_block(self, number: int, proposer: bytes, vote: VoteLike | None) -> tuple[bytes, ...]:
        """Account block ``number`` (proposed by ``proposer``) and return the validators for ``number + 1``.

        Blocks must be applied consecutively: a gap would silently skip votes, so it is an error.
        """
        if number != self.last_block + 1:
            raise ValueError(f"expected block {self.last_block + 1}, got {number}")
        self.last_block = number
        if is_epoch_block(number, self.epoch_length):
            self._adds.clear()
            self._drops.clear()
            return self.validators
        if vote is not None:
            self._count(proposer, vote.recipient, vote.add)
        return self.validators

    def _count(self, voter: bytes, subject: bytes, add: bool) -> None:
        adds = self._adds.setdefault(subject, set())
        drops = self._drops.setdefault(subject, set())
        if add:
            adds.add(voter)
            drops.discard(voter)
        else:
            drops.add(voter)
            adds.discard(voter)
        threshold = vote_threshold(len(self._validators))
        if len(adds) >= threshold:
            self._validators.add(subject)
            self._forget_subject(subject)
        elif len(drops) >= threshold and (len(self._validators) > 1 or subject not in self._validators):
            # Never drop the last validator: an empty set could not seal another block.
            self._validators.discard(subject)
            self._forget_subject(subject)
            for voters in itertools.chain(self._adds.values(), self._drops.values()):
                voters.discard(subject)

    def _forget_subject(self, subject: bytes) -> None:
        self._adds.pop(subject, None)
        self._drops.pop(subject, None)


@dataclass(frozen=True)
class HeaderVote:
    """What the auditor extracts from each header: number, proposer (coinbase) and the optional vote."""

    number: int
    proposer: bytes
    vote: VoteLike | None


def recompute_validator_sets(
    genesis_validators: Sequence[bytes], epoch_length: int, headers: Iterable[HeaderVote]
) -> Iterator[tuple[int, tuple[bytes, ...]]]:
    """Yield ``(number, validators that must seal block number)`` for each header, starting at block 1.

    The auditor compares each header's extraData validator list and commit-seal signers against these sets.
    """
    tracker = ValidatorSetTracker(genesis_validators, epoch_length)
    for header in headers:
        yield header.number, tracker.validators
        tracker.apply_block(header.number, header.proposer, header.vote)


class PendingVotes:
    """Local validator-set proposals (``qbft_proposeValidatorVote``) that the node casts when proposing.

    Only votes that would change something are cast (add for a non-validator, drop for a validator), in
    round-robin order so that several pending proposals all get blocks.
    """

    def __init__(self) -> None:
        self._proposals: dict[bytes, bool] = {}
        self._cursor = 0

    def propose(self, address: bytes, add: bool) -> None:
        if len(address) != 20:
            raise ValueError("validator address must be 20 bytes")
        self._proposals[address] = add

    def discard(self, address: bytes) -> None:
        self._proposals.pop(address, None)

    def pending(self) -> dict[bytes, bool]:
        """Address → ``True`` for add, ``False`` for drop (``qbft_getPendingVotes``)."""
        return dict(self._proposals)

    def next_vote(self, validators: Sequence[bytes], block_number: int, epoch_length: int) -> Vote | None:
        """The vote to put in block ``block_number``, or ``None`` (always ``None`` on epoch blocks)."""
        if is_epoch_block(block_number, epoch_length):
            return None
        current = set(validators)
        useful = [
            (address, add)
            for address, add in sorted(self._proposals.items())
            if add != (address in current)
        ]
        if not useful:
            return None
        address, add = useful[self._cursor % len(useful)]
        self._cursor += 1
        return Vote(address, add)
