"""Properties of the outcome rule, and agreement between co3chain.budget.rule and the contract.

- the Python rule never spends more than the budget, and is greedy-maximal: every approved project left
  unfunded costs more than what is left;
- ``ParticipatoryBudget.computeOutcome`` (pure) equals the Python rule on random tallies;
- on random full rounds (random costs, budgets and ballots, direct and signed), the finalized allocation
  equals the Python rule applied to the tally recomputed from ``BudgetBallotCast`` events.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from co3chain.budget.rule import MAX_PROJECTS, compute_outcome, mask_indices, rank, tally
from co3chain.budget.typed_data import sign_ballot
from tests.budget.helpers import BudgetSuite
from tests.contracts.suite_helpers import events, send

tallies = st.integers(min_value=1, max_value=MAX_PROJECTS).flatmap(
    lambda n: st.tuples(
        st.integers(min_value=0, max_value=10**6),
        st.lists(st.integers(min_value=0, max_value=6), min_size=n, max_size=n),
        st.lists(st.integers(min_value=0, max_value=10**6), min_size=n, max_size=n),
    )
)


@given(tallies)
def test_outcome_never_exceeds_budget_and_is_greedy_maximal(case: tuple[int, list[int], list[int]]) -> None:
    budget, approvals, costs = case
    out = compute_outcome(budget, approvals, costs)
    assert out.spent == sum(costs[i] for i in out.funded) <= budget
    left = budget - out.spent
    for i in range(len(costs)):
        if i not in out.funded and approvals[i] > 0:
            assert costs[i] > left
        if approvals[i] == 0:
            assert i not in out.funded
    # ranking: approvals never increase along it, ties by index
    order = rank(approvals)
    for a, b in itertools.pairwise(order):
        assert (approvals[a], -a) > (approvals[b], -b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tallies)
def test_contract_pure_rule_matches_python(suite: BudgetSuite, case: tuple[int, list[int], list[int]]) -> None:
    budget, approvals, costs = case
    mask, spent = suite.pb.functions.computeOutcome(budget, approvals, costs).call()
    out = compute_outcome(budget, approvals, costs)
    assert (mask, spent) == (out.funded_mask, out.spent)


round_cases = st.integers(min_value=1, max_value=6).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(min_value=1, max_value=50), min_size=n, max_size=n),
        st.integers(min_value=50, max_value=150),
        st.lists(st.tuples(st.integers(min_value=1, max_value=2**n - 1), st.booleans()), max_size=5),
    )
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(round_cases)
def test_finalized_rounds_follow_the_python_rule(
    suite: BudgetSuite, case: tuple[list[int], int, list[tuple[int, bool]]]
) -> None:
    costs, budget, ballots = case
    costs = [min(c, budget) for c in costs]
    pb = suite.pb
    rid, start, end = suite.create_round(costs, budget=budget)
    suite.travel(start)
    for voter, (selection, signed) in zip(suite.citizens, ballots, strict=False):
        if signed:
            sig = sign_ballot(bytes(voter.key), suite.chain_id, pb.address, round_id=rid, selection=selection, nonce=0)
            send(pb.functions.castBallotBySig(rid, selection, voter.address, 0, sig), suite.relayer)
        else:
            send(pb.functions.castBallot(rid, selection), voter)
    suite.travel(end + 1)
    receipt = send(pb.functions.finalize(rid), suite.admin)
    cast = pb.events.BudgetBallotCast().get_logs(from_block=0, argument_filters={"roundId": rid})
    approvals = tally(len(costs), [e.args.selection for e in cast])
    assert approvals == [pb.functions.getProject(rid, i).call()[3] for i in range(len(costs))]
    expected = compute_outcome(budget, approvals, costs)
    (fin,) = events(pb, receipt, "RoundFinalized")
    assert fin.args.fundedMask == expected.funded_mask
    assert fin.args.spent == expected.spent <= budget
    assert fin.args.released == budget - expected.spent
    funded_states = [i for i in range(len(costs)) if pb.functions.getProject(rid, i).call()[2] == 2]
    assert funded_states == mask_indices(expected.funded_mask)


@pytest.mark.parametrize("bad", [[-1], [1, 2]])
def test_rule_rejects_malformed_tallies(bad: list[int]) -> None:
    with pytest.raises(ValueError):
        compute_outcome(10, bad, [1])
