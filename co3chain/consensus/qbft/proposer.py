"""Proposer selection and quorum arithmetic for QBFT (Besu ``BftProposerSelector`` / ``BftHelpers``).

Rules, as Besu applies them with ``changeEachBlock = true`` (QBFT):

* validators are ordered ascending by address (the order they have in extraData);
* if the parent block's proposer (its coinbase) is still a validator, the round-0 proposer is the next
  validator after it, and each further round moves one more step: ``sorted[(idx(parent) + 1 + round) % n]``;
* if the parent proposer is *not* a validator (it was voted out, or the parent is the genesis block whose
  coinbase is usually the zero address), the base is the first validator with an address strictly greater than
  the parent proposer (wrapping to the first), and the round offset is added to that base *without* the
  extra +1: ``sorted[(idx(successor) + round) % n]``. At genesis this makes ``sorted[round % n]`` the proposer.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence


def sorted_validators(validators: Sequence[bytes]) -> tuple[bytes, ...]:
    """Validators in canonical ascending order, rejecting duplicates and malformed addresses."""
    ordered = tuple(sorted(validators))
    if not ordered:
        raise ValueError("the validator set is empty")
    if any(len(v) != 20 for v in ordered):
        raise ValueError("validator addresses must be 20 bytes")
    if len(set(ordered)) != len(ordered):
        raise ValueError("duplicate validator address")
    return ordered


def select_proposer(validators: Sequence[bytes], parent_proposer: bytes, round_: int) -> bytes:
    """The validator that proposes in ``round_`` of the block after one proposed by ``parent_proposer``."""
    if round_ < 0:
        raise ValueError("round must be non-negative")
    ordered = sorted_validators(validators)
    n = len(ordered)
    if parent_proposer in ordered:
        return ordered[(ordered.index(parent_proposer) + 1 + round_) % n]
    successor = bisect.bisect_right(ordered, parent_proposer) % n
    return ordered[(successor + round_) % n]


def quorum_size(validator_count: int) -> int:
    """⌈2n/3⌉ distinct validators (Besu ``BftHelpers.calculateRequiredValidatorQuorum``)."""
    if validator_count <= 0:
        raise ValueError("validator count must be positive")
    return -(-2 * validator_count // 3)


def max_faulty(validator_count: int) -> int:
    """f = ⌊(n−1)/3⌋, the Byzantine validators the set tolerates; f+1 messages include an honest one."""
    return (validator_count - 1) // 3
