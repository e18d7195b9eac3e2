"""The participatory-budget outcome rule, exactly as ParticipatoryBudget.computeOutcome applies it.

Why a second implementation: auditors recompute a round's outcome from its events without trusting the
contract, and property tests check that both implementations agree on random rounds.

Rule:
  1. rank projects by approvals, descending; ties by lower project index first;
  2. walk the ranking with ``remaining = budget``: a project with zero approvals is never funded; a project
     whose cost fits in ``remaining`` is funded (``remaining -= cost``); one that does not fit is skipped and
     the walk continues;
  3. ``spent = budget - remaining`` (never above the budget); the rest goes back to the area budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_PROJECTS = 32


@dataclass(frozen=True)
class Outcome:
    """Result of the rule: funded project indices (in ranking order), their bitmask and the total spent."""

    ranking: tuple[int, ...]
    funded: tuple[int, ...]
    funded_mask: int
    spent: int


def rank(approvals: Sequence[int]) -> tuple[int, ...]:
    """Project indices by approvals descending, ties by lower index (a stable sort on -approvals)."""
    return tuple(sorted(range(len(approvals)), key=lambda i: -approvals[i]))


def compute_outcome(budget: int, approvals: Sequence[int], costs: Sequence[int]) -> Outcome:
    """Apply the rule to one round's tally."""
    if len(approvals) != len(costs):
        raise ValueError("approvals and costs must have the same length")
    if len(approvals) > MAX_PROJECTS:
        raise ValueError(f"at most {MAX_PROJECTS} projects per round")
    if budget < 0 or any(c < 0 for c in costs) or any(a < 0 for a in approvals):
        raise ValueError("budget, costs and approvals must be non-negative")
    order = rank(approvals)
    remaining = budget
    funded: list[int] = []
    for index in order:
        if approvals[index] == 0:
            break
        if costs[index] <= remaining:
            remaining -= costs[index]
            funded.append(index)
    mask = 0
    for index in funded:
        mask |= 1 << index
    return Outcome(ranking=order, funded=tuple(funded), funded_mask=mask, spent=budget - remaining)


def tally(project_count: int, selections: Iterable[int]) -> list[int]:
    """Approvals per project from ballot bitmasks (bit i approves project i)."""
    approvals = [0] * project_count
    for selection in selections:
        if selection <= 0 or selection >> project_count:
            raise ValueError(f"selection {selection:#x} is not a non-empty subset of {project_count} projects")
        for i in range(project_count):
            if selection >> i & 1:
                approvals[i] += 1
    return approvals


def selection_mask(indices: Iterable[int]) -> int:
    """Bitmask of a set of project indices (what a ballot carries)."""
    mask = 0
    for i in indices:
        if not 0 <= i < MAX_PROJECTS:
            raise ValueError(f"project index {i} out of range")
        mask |= 1 << i
    return mask


def mask_indices(mask: int) -> list[int]:
    """Project indices set in a bitmask, ascending."""
    return [i for i in range(MAX_PROJECTS) if mask >> i & 1]
