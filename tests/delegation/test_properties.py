"""Property tests: the contract follows the Python model of the delegation rule (co3chain.delegation.rule).

For random delegation forests (global and area pointers, cycles attempted, undelegations), random eligibility
(citizens revoked after delegating, citizens of
another PA outside an area proposal's electorate), both delegable counting modes, and random interleavings of direct votes
and permissionless countings:

- every delegation attempt succeeds or reverts exactly as the model predicts (self, cycle, nothing to revoke);
- after every step, the on-chain tally and each voter's delegated weight equal the step-by-step model;
- once everyone is counted, the tally equals the rule's (so the order of votes and countings does not matter);
- weight is conserved: counted delegated weight == weight of the eligible non-voters whose chain reaches a
  voter within MAX_DEPTH hops, and no delegator is counted twice (cycles included).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from co3chain.contracts.governance_typed_data import CountingMode
from co3chain.delegation.rule import MAX_DEPTH, Ledger, final_delegated, first_voter
from tests.contracts.suite_helpers import reverts, send
from tests.contracts.test_governance import area_domain
from tests.delegation.helpers import Env, addr, build_env


@pytest.fixture
def env(w3: Web3, tester: Any, accounts: list[Any], deploy: Any) -> Env:
    return build_env(w3, tester, accounts, deploy)


def _effective(pointers: dict[tuple[int, int], int], i: int, area: int) -> int | None:
    if area and (i, area) in pointers:
        return pointers[(i, area)]
    return pointers.get((i, 0))


def _expect_cycle(pointers: dict[tuple[int, int], int], i: int, scope: int, j: int) -> bool:
    node: int | None = j
    for _ in range(MAX_DEPTH):
        node = _effective(pointers, node, scope) if node is not None else None
        if node == i:
            return True
    return False


@settings(max_examples=18, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_contract_follows_the_rule(env: Env, data: st.DataObject) -> None:
    g = env.g
    n = data.draw(st.integers(min_value=3, max_value=7), label="citizens")
    mode = data.draw(st.sampled_from([CountingMode.ONE_CITIZEN_ONE_VOTE, CountingMode.REPUTATION_WEIGHTED]))
    area = data.draw(st.sampled_from([0, g.area_id]), label="proposal area")
    # Random electorate membership: PA 2's citizens are outside area 1's electorate (PA 1's citizens).
    pas = data.draw(st.lists(st.sampled_from([1, 2]), min_size=n, max_size=n), label="registering PA")
    keys = [env.citizen("prop", pa=pa) for pa in pas]
    addrs = [addr(k) for k in keys]
    index = {a: i for i, a in enumerate(addrs)}
    if mode == CountingMode.REPUTATION_WEIGHTED:
        for a in addrs:
            amount = data.draw(st.integers(min_value=10**6, max_value=10**12), label="reputation")
            send(g.reputation.functions.award(a, area_domain(area), amount), g.admin)

    idx = st.integers(min_value=0, max_value=n - 1)
    scope = st.sampled_from([0, g.area_id])
    attempts = data.draw(st.lists(st.tuples(idx, scope, st.one_of(st.none(), idx)), max_size=3 * n), label="delegations")
    pointers: dict[tuple[int, int], int] = {}
    for i, s, j in attempts:
        if j is None:
            if (i, s) not in pointers:
                with reverts("NotDelegated(address,uint256)", addrs[i], s):
                    env.undelegate(keys[i], s)
            else:
                env.undelegate(keys[i], s)
                del pointers[(i, s)]
        elif i == j:
            with reverts("SelfDelegation(address)", addrs[i]):
                env.delegate(keys[i], s, addrs[j])
        elif _expect_cycle(pointers, i, s, j):
            with reverts("DelegationCycle(address,address)", addrs[i], addrs[j]):
                env.delegate(keys[i], s, addrs[j])
        else:
            env.delegate(keys[i], s, addrs[j])
            pointers[(i, s)] = j
    for i in range(n):
        for s in (0, g.area_id):
            expected = addrs[pointers[(i, s)]] if (i, s) in pointers else "0x" + "00" * 20
            assert env.ld.functions.delegateOf(addrs[i], s).call().lower() == expected.lower()

    revoked = data.draw(st.sets(idx, max_size=n // 2), label="revoked")
    for i in revoked:
        send(g.registry.functions.revoke(addrs[i], 1), g.registrar if pas[i] == 1 else g.pa2)  # its own PA's registrar

    pid, snapshot = env.open_proposal(area_id=area, mode=mode, description=f"prop-{addrs[0]}")

    def weight_of(a: str) -> int:
        if index[a] in revoked or (area != 0 and pas[index[a]] != 1):
            return 0
        if mode == CountingMode.ONE_CITIZEN_ONE_VOTE:
            return 1
        return g.reputation.functions.getPastScore(a, area_domain(area), snapshot).call()

    weights = {a: weight_of(a) for a in addrs}

    def next_of(a: str) -> str | None:
        j = _effective(pointers, index[a], area)
        return None if j is None else addrs[j]

    ledger = Ledger(next_of=next_of, weight_of=weights.__getitem__)
    ops = data.draw(st.lists(st.one_of(st.tuples(st.just("vote"), idx, st.integers(0, 2)),
                                       st.tuples(st.just("count"), st.lists(idx, max_size=n))),
                             max_size=2 * n), label="operations")
    for op in ops:
        if op[0] == "vote":
            _, i, support = op
            if addrs[i] in ledger.supports or weights[addrs[i]] == 0:
                continue
            moved = env.vote(keys[i], pid, support)
            expected_move = ledger.vote(addrs[i], support, weights[addrs[i]])
            got = [(m.args.voter, m.args["from"], m.args.moved, m.args.regained) for m in moved]
            want = [] if expected_move is None else [
                (expected_move.voter, expected_move.from_, expected_move.moved, expected_move.regained)]
            assert got == want
        else:
            batch = [addrs[i] for i in op[1]]
            counted = env.count(pid, batch)
            want_counts = [c for c in (ledger.count(a) for a in batch) if c is not None]
            assert [(c.args.delegator, c.args.representative, c.args.weight, c.args.hops) for c in counted] == [
                (c.delegator, c.representative, c.weight, c.hops) for c in want_counts]
        assert list(g.votes(pid)) == ledger.tally()

    env.count(pid, addrs)
    for a in addrs:
        ledger.count(a)
    tally = list(g.votes(pid))
    assert tally == ledger.tally()
    for voter in ledger.supports:
        assert env.ld.functions.delegatedWeight(pid, voter).call() == ledger.received.get(voter, 0)

    # The rule, independent of the order of operations.
    rule = final_delegated(addrs, next_of, ledger.supports, weights.__getitem__)
    expected = [0, 0, 0]
    for voter, support in ledger.supports.items():
        expected[support] += weights[voter] + rule.get(voter, 0)
    assert tally == expected

    # Conservation: what was counted is exactly the weight of eligible non-voters reaching a voter.
    reaching = sum(weights[a] for a in addrs if a not in ledger.supports
                   and first_voter(a, next_of, ledger.supports)[0] is not None)
    counted_total = sum(env.ld.functions.countedWeight(pid, a).call() for a in addrs if a not in ledger.supports)
    assert counted_total == reaching == sum(rule.values())
    assert sum(tally) == sum(weights[v] for v in ledger.supports) + reaching
