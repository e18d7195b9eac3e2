"""Validator add/drop voting (Besu ``VoteTally`` semantics) and the local pending-vote queue."""

from __future__ import annotations

import pytest

from co3chain.consensus.qbft.extradata import Vote
from co3chain.consensus.qbft.votes import (
    HeaderVote,
    PendingVotes,
    ValidatorSetTracker,
    is_epoch_block,
    recompute_validator_sets,
    vote_threshold,
)

A, B, C, D, E = (bytes([i]) * 20 for i in (0x10, 0x20, 0x30, 0x40, 0x50))


def test_threshold_is_floor_half_plus_one() -> None:
    assert [vote_threshold(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]


def test_single_validator_adds_second_with_one_vote() -> None:
    tracker = ValidatorSetTracker([A], epoch_length=100)
    assert tracker.apply_block(1, A, Vote(B, True)) == (A, B)


def test_add_needs_majority_of_current_validators() -> None:
    tracker = ValidatorSetTracker([A, B, C, D], epoch_length=100)
    assert tracker.apply_block(1, A, Vote(E, True)) == (A, B, C, D)
    assert tracker.apply_block(2, A, Vote(E, True)) == (A, B, C, D)  # same voter twice counts once
    assert tracker.apply_block(3, B, Vote(E, True)) == (A, B, C, D)
    assert tracker.tally() == {E: (2, 0)}
    assert tracker.apply_block(4, C, Vote(E, True)) == (A, B, C, D, E)
    assert tracker.tally() == {}


def test_later_vote_replaces_earlier_vote_of_same_proposer() -> None:
    tracker = ValidatorSetTracker([A, B, C], epoch_length=100)
    tracker.apply_block(1, A, Vote(C, False))
    tracker.apply_block(2, A, Vote(C, True))  # A changes its mind
    assert tracker.tally() == {C: (1, 0)}
    assert tracker.apply_block(3, B, Vote(C, False)) == (A, B, C)


def test_drop_removes_validator_and_its_standing_votes() -> None:
    tracker = ValidatorSetTracker([A, B, C], epoch_length=100)
    tracker.apply_block(1, C, Vote(D, True))
    tracker.apply_block(2, A, Vote(C, False))
    assert tracker.apply_block(3, B, Vote(C, False)) == (A, B)
    assert tracker.tally() == {D: (0, 0)}  # C's add vote for D is gone


def test_last_validator_is_never_dropped() -> None:
    tracker = ValidatorSetTracker([A], epoch_length=100)
    assert tracker.apply_block(1, A, Vote(A, False)) == (A,)


def test_epoch_block_resets_votes_and_ignores_its_own_vote() -> None:
    tracker = ValidatorSetTracker([A, B, C, D], epoch_length=3)
    tracker.apply_block(1, A, Vote(E, True))
    tracker.apply_block(2, B, Vote(E, True))
    assert tracker.apply_block(3, C, Vote(E, True)) == (A, B, C, D)  # epoch block
    assert tracker.tally() == {}
    assert is_epoch_block(0, 3) and is_epoch_block(6, 3) and not is_epoch_block(4, 3)


def test_blocks_must_be_applied_in_order() -> None:
    tracker = ValidatorSetTracker([A], epoch_length=10)
    with pytest.raises(ValueError, match="expected block 1"):
        tracker.apply_block(2, A, None)


def test_copy_is_independent() -> None:
    tracker = ValidatorSetTracker([A, B, C], epoch_length=100)
    snapshot = tracker.copy()
    tracker.apply_block(1, A, Vote(D, True))
    assert snapshot.tally() == {} and snapshot.last_block == 0


def test_recompute_for_auditor() -> None:
    headers = [
        HeaderVote(1, A, Vote(B, True)),
        HeaderVote(2, A, None),
        HeaderVote(3, B, Vote(C, True)),
        HeaderVote(4, A, Vote(C, True)),
        HeaderVote(5, C, None),
    ]
    sets = dict(recompute_validator_sets([A], 1000, headers))
    assert sets == {1: (A,), 2: (A, B), 3: (A, B), 4: (A, B), 5: (A, B, C)}


def test_pending_votes_only_cast_useful_votes_round_robin() -> None:
    pending = PendingVotes()
    pending.propose(D, True)
    pending.propose(E, True)
    pending.propose(A, True)  # already a validator: useless
    validators = [A, B, C]
    votes = [pending.next_vote(validators, n, 100) for n in range(1, 5)]
    assert votes == [Vote(D, True), Vote(E, True), Vote(D, True), Vote(E, True)]
    assert pending.next_vote(validators, 100, 100) is None  # epoch block carries no vote
    pending.discard(D)
    pending.discard(E)
    assert pending.next_vote(validators, 5, 100) is None
    assert pending.pending() == {A: True}
    with pytest.raises(ValueError):
        pending.propose(b"\x01", True)
