"""Proposer rotation (Besu ``BftProposerSelector`` rules), quorum arithmetic and capped round timeouts."""

from __future__ import annotations

import pytest

from co3chain.consensus.qbft.proposer import max_faulty, quorum_size, select_proposer, sorted_validators
from co3chain.consensus.qbft.timers import round_timeout

A, B, C, D = (bytes([i]) * 20 for i in (0x10, 0x20, 0x30, 0x40))
VALIDATORS = [C, A, D, B]  # unsorted on purpose


def test_rotation_after_existing_proposer() -> None:
    assert select_proposer(VALIDATORS, A, 0) == B
    assert select_proposer(VALIDATORS, B, 0) == C
    assert select_proposer(VALIDATORS, D, 0) == A  # wraps around
    assert [select_proposer(VALIDATORS, B, r) for r in range(5)] == [C, D, A, B, C]


def test_consecutive_blocks_rotate_through_every_validator() -> None:
    proposer, seen = A, []
    for _ in range(8):
        proposer = select_proposer(VALIDATORS, proposer, 0)
        seen.append(proposer)
    assert seen == [B, C, D, A, B, C, D, A]


def test_genesis_zero_coinbase_starts_at_first_validator() -> None:
    zero = b"\x00" * 20
    assert select_proposer(VALIDATORS, zero, 0) == A
    assert select_proposer(VALIDATORS, zero, 1) == B
    assert select_proposer(VALIDATORS, zero, 6) == C


def test_parent_proposer_removed_uses_next_higher_address_without_extra_step() -> None:
    between_b_and_c = bytes([0x25]) * 20
    assert select_proposer(VALIDATORS, between_b_and_c, 0) == C
    assert select_proposer(VALIDATORS, between_b_and_c, 1) == D
    above_all = b"\xff" * 20
    assert select_proposer(VALIDATORS, above_all, 0) == A


def test_single_validator_always_proposes() -> None:
    assert {select_proposer([A], A, r) for r in range(5)} == {A}


@pytest.mark.parametrize(
    ("n", "quorum", "f"), [(1, 1, 0), (2, 2, 0), (3, 2, 0), (4, 3, 1), (5, 4, 1), (6, 4, 1), (7, 5, 2), (10, 7, 3)]
)
def test_quorum_and_fault_tolerance(n: int, quorum: int, f: int) -> None:
    assert quorum_size(n) == quorum
    assert max_faulty(n) == f


def test_validator_set_rules() -> None:
    assert sorted_validators(VALIDATORS) == (A, B, C, D)
    with pytest.raises(ValueError, match="duplicate"):
        sorted_validators([A, A])
    with pytest.raises(ValueError, match="empty"):
        sorted_validators([])
    with pytest.raises(ValueError, match="20 bytes"):
        sorted_validators([b"\x01"])
    with pytest.raises(ValueError):
        select_proposer(VALIDATORS, A, -1)


def test_round_timeout_doubles_then_caps() -> None:
    assert [round_timeout(4, r, 60) for r in range(6)] == [4, 8, 16, 32, 60, 60]
    assert round_timeout(4, 10_000, 60) == 60  # no overflow for absurd rounds
    assert round_timeout(90, 0, 60) == 90  # a base above the cap is never shortened
    with pytest.raises(ValueError):
        round_timeout(0, 1)
    with pytest.raises(ValueError):
        round_timeout(1, -1)
