"""LiquidDelegation on CO3Governance: binding, delegations (scopes, cycles, signatures), counting at the
snapshot, transitive chains, depth bound, direct-vote override, modes without delegation.

Revert assertions name the custom error, so a test fails if the contract refuses for another reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from co3chain.contracts.governance_typed_data import CountingMode, Support
from co3chain.delegation.typed_data import delegate_typed_data, sign_typed
from tests.contracts.suite_helpers import events, reverts, send
from tests.contracts.test_governance import area_domain
from tests.delegation.helpers import Env, addr, build_env

AGAINST, FOR, ABSTAIN = Support.AGAINST, Support.FOR, Support.ABSTAIN
ZERO = "0x" + "00" * 20


@pytest.fixture
def env(w3: Web3, tester: Any, accounts: list[Any], deploy: Any) -> Env:
    return build_env(w3, tester, accounts, deploy)


# ------------------------------------------------------------------------------------------------ binding


def test_binding_is_once_admin_only_and_checks_the_governance(env: Env, deploy: Any) -> None:
    g = env.g
    assert g.gov.functions.delegation().call() == env.ld.address
    other = deploy("LiquidDelegation", g.gov.address, sender=g.admin)
    with reverts("InvalidDelegation(address)", other.address):
        send(g.gov.functions.bindDelegation(other.address), g.admin)
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)"):
        send(g.gov.functions.bindDelegation(other.address), g.citizens[0])
    # Only the bound contract may add weight.
    with reverts("InvalidDelegation(address)", g.citizens[0].address):
        send(g.gov.functions.shiftDelegatedWeight(1, g.citizens[0].address, 5, 1), g.citizens[0])
    with reverts("OnlyGovernance(address)", g.citizens[0].address):
        send(env.ld.functions.onDirectVote(1, g.citizens[0].address), g.citizens[0])
    assert env.ld.functions.governance().call() == g.gov.address
    assert env.ld.functions.registry().call() == g.registry.address


# ------------------------------------------------------------------------------------------------ delegations


def test_delegate_undelegate_events_and_views(env: Env) -> None:
    a, b, c = env.citizen(), env.citizen(), env.citizen()
    receipt = env.delegate(a, 0, addr(b))
    (ev,) = events(env.ld, receipt, "DelegateChanged")
    assert (ev.args.delegator, ev.args.scope, ev.args.fromDelegate, ev.args.toDelegate) == (addr(a), 0, ZERO, addr(b))
    t1 = env.g.now()
    env.g.goto(t1 + 5)
    receipt = env.delegate(a, 0, addr(c))
    (ev,) = events(env.ld, receipt, "DelegateChanged")
    assert (ev.args.fromDelegate, ev.args.toDelegate) == (addr(b), addr(c))
    assert env.ld.functions.delegateOf(addr(a), 0).call() == addr(c)
    assert env.ld.functions.delegateAt(addr(a), 0, t1).call() == addr(b)
    env.undelegate(a, 0)
    assert env.ld.functions.delegateOf(addr(a), 0).call() == ZERO
    with reverts("NotDelegated(address,uint256)", addr(a), 0):
        env.undelegate(a, 0)


def test_direct_delegate_call_from_a_funded_citizen(env: Env) -> None:
    g = env.g
    alice, bob = g.citizens[0], g.citizens[1]
    send(env.ld.functions.delegate(g.area_id, bob.address), alice)
    assert env.ld.functions.delegateOf(alice.address, g.area_id).call() == bob.address
    assert env.ld.functions.effectiveDelegateAt(alice.address, g.area_id, g.now()).call() == bob.address
    assert env.ld.functions.effectiveDelegateAt(alice.address, 0, g.now()).call() == ZERO
    send(env.ld.functions.undelegate(g.area_id), alice)
    assert env.ld.functions.delegateOf(alice.address, g.area_id).call() == ZERO


def test_refusals_self_noncitizen_scope_cycle(env: Env) -> None:
    a, b, c = env.citizen(), env.citizen(), env.citizen()
    outsider = Web3.to_checksum_address("0x" + "42" * 20)
    with reverts("SelfDelegation(address)", addr(a)):
        env.delegate(a, 0, addr(a))
    with reverts("NotCitizen(address)", outsider):
        env.delegate(a, 0, outsider)
    with reverts("UnknownScope(uint256)", 999):
        env.delegate(a, 999, addr(b))
    env.delegate(a, 0, addr(b))
    env.delegate(b, 0, addr(c))
    with reverts("DelegationCycle(address,address)", addr(c), addr(a)):
        env.delegate(c, 0, addr(a))
    # An area delegation follows area pointers, then global ones: c → a (area) → b (global) → c is a cycle.
    with reverts("DelegationCycle(address,address)", addr(c), addr(a)):
        env.delegate(c, env.g.area_id, addr(a))


def test_signature_checks(env: Env) -> None:
    a, b = env.citizen(), env.citizen()
    g, ld = env.g, env.ld
    who = addr(a)
    expiry = g.now() + 100
    td = delegate_typed_data(g.chain_id, ld.address, delegator=who, scope=0, delegatee=addr(b), nonce=0,
                             expiry=expiry)
    sig = sign_typed(a, td)
    with reverts("InvalidSignature(address)", who):  # signed for scope 0, submitted for another
        send(ld.functions.delegateBySig(who, g.area_id, addr(b), 0, expiry, sig), g.admin)
    with reverts("InvalidAccountNonce(address,uint256)", who, 0):
        send(ld.functions.delegateBySig(who, 0, addr(b), 1, expiry, sig), g.admin)
    send(ld.functions.delegateBySig(who, 0, addr(b), 0, expiry, sig), g.admin)
    with reverts("InvalidAccountNonce(address,uint256)", who, 1):  # replay
        send(ld.functions.delegateBySig(who, 0, addr(b), 0, expiry, sig), g.admin)
    with reverts("SignatureExpired(uint256)"):
        env.delegate(a, 0, addr(b), expiry=g.now() - 1)


# ------------------------------------------------------------------------------------------------ counting


def test_delegated_vote_then_direct_override(env: Env) -> None:
    a, b = env.citizen(), env.citizen()
    env.delegate(a, 0, addr(b))
    pid, _ = env.open_proposal()
    env.vote(b, pid, FOR)
    (ev,) = env.count(pid, [addr(a), addr(b)])  # b voted: skipped
    assert (ev.args.delegator, ev.args.representative, ev.args.weight, ev.args.hops) == (addr(a), addr(b), 1, 1)
    assert env.g.votes(pid) == (0, 2, 0)
    assert env.ld.functions.delegatedWeight(pid, addr(b)).call() == 1
    assert env.count(pid, [addr(a)]) == []  # counted once
    (moved,) = env.vote(a, pid, AGAINST)
    assert (moved.args.voter, moved.args["from"], moved.args.moved, moved.args.regained) == (addr(a), addr(b), 1, 0)
    assert env.g.votes(pid) == (1, 1, 0)
    assert env.ld.functions.delegatedWeight(pid, addr(b)).call() == 0


def test_transitive_chain_and_intermediate_override(env: Env) -> None:
    a, b, c = env.citizen(), env.citizen(), env.citizen()
    env.delegate(a, 0, addr(b))
    env.delegate(b, 0, addr(c))
    pid, _ = env.open_proposal()
    env.vote(c, pid, FOR)
    counted = env.count(pid, [addr(a), addr(b)])
    assert [(e.args.delegator, e.args.hops) for e in counted] == [(addr(a), 2), (addr(b), 1)]
    assert env.g.votes(pid) == (0, 3, 0)
    assert env.ld.functions.attributedThrough(pid, addr(b)).call() == 1
    (moved,) = env.vote(b, pid, AGAINST)  # b's own weight and a's delegated weight leave c
    assert (moved.args.moved, moved.args.regained) == (2, 1)
    assert env.g.votes(pid) == (2, 1, 0)
    assert env.ld.functions.delegatedWeight(pid, addr(b)).call() == 1
    assert env.ld.functions.representativeOf(pid, addr(a)).call() == addr(b)


def test_count_before_intermediate_votes_then_fix(env: Env) -> None:
    """a → b → c → d: d votes, a counted on d; then c votes: a's weight moves to c and b's bookkeeping too."""
    a, b, c, d = (env.citizen() for _ in range(4))
    for x, y in ((a, b), (b, c), (c, d)):
        env.delegate(x, 0, addr(y))
    pid, _ = env.open_proposal()
    env.vote(d, pid, FOR)
    env.count(pid, [addr(a)])
    env.vote(c, pid, ABSTAIN)
    assert env.g.votes(pid) == (0, 1, 2)
    assert env.ld.functions.attributedThrough(pid, addr(b)).call() == 1
    env.count(pid, [addr(b)])
    assert env.g.votes(pid) == (0, 1, 3)
    env.vote(b, pid, AGAINST)  # moves b's own weight and a's from c to b
    assert env.g.votes(pid) == (2, 1, 1)


def test_area_delegation_overrides_global_for_area_proposals(env: Env) -> None:
    g = env.g
    a, b, c = env.citizen(), env.citizen(), env.citizen()
    env.delegate(a, 0, addr(b))
    env.delegate(a, g.area_id, addr(c))
    pid_area, _ = env.open_proposal(area_id=g.area_id, description="area")
    pid_all, _ = env.open_proposal(description="consortium")
    for pid in (pid_area, pid_all):
        env.vote(b, pid, FOR)
        env.vote(c, pid, AGAINST)
        env.count(pid, [addr(a)])
    assert g.votes(pid_area) == (2, 1, 0)
    assert g.votes(pid_all) == (1, 2, 0)


def test_chain_is_read_at_the_snapshot(env: Env) -> None:
    a, b, c = env.citizen(), env.citizen(), env.citizen()
    env.delegate(a, 0, addr(b))
    pid, snapshot = env.open_proposal()
    env.delegate(a, 0, addr(c))  # after the snapshot: not for this proposal
    env.vote(b, pid, FOR)
    env.vote(c, pid, AGAINST)
    env.count(pid, [addr(a)])
    assert env.g.votes(pid) == (1, 2, 0)
    assert env.ld.functions.chainAt(addr(a), 0, snapshot).call() == [addr(b)]


def test_depth_bound(env: Env) -> None:
    keys = [env.citizen() for _ in range(11)]
    for x, y in zip(keys, keys[1:], strict=False):
        env.delegate(x, 0, addr(y))
    pid, _ = env.open_proposal()
    top = keys[9]  # keys[1] is 8 hops below, keys[0] is 9 hops below
    env.vote(top, pid, FOR)
    counted = env.count(pid, [addr(k) for k in keys[:9]])
    assert sorted(e.args.hops for e in counted) == list(range(1, 9))
    assert addr(keys[0]) not in {e.args.delegator for e in counted}
    assert env.g.votes(pid) == (0, 9, 0)


def test_ineligible_delegator_is_not_counted(env: Env) -> None:
    g = env.g
    a, b = env.citizen(), env.citizen()
    env.delegate(a, 0, addr(b))
    send(g.registry.functions.revoke(addr(a), 1), g.registrar)  # a is no longer an eligible citizen
    pid, _ = env.open_proposal()
    env.vote(b, pid, FOR)
    assert env.count(pid, [addr(a)]) == []
    assert g.votes(pid) == (0, 1, 0)


def test_reputation_mode_counts_snapshot_reputation(env: Env) -> None:
    g = env.g
    a, b = env.citizen(), env.citizen()
    dom = area_domain(g.area_id)
    send(g.reputation.functions.award(addr(a), dom, 10**9), g.admin)
    send(g.reputation.functions.award(addr(b), dom, 10**9), g.admin)
    env.delegate(a, 0, addr(b))
    pid, snapshot = env.open_proposal(area_id=g.area_id, mode=CountingMode.REPUTATION_WEIGHTED)
    send(g.reputation.functions.award(addr(a), dom, 10**12), g.admin)  # after the snapshot: ignored
    env.vote(b, pid, FOR)
    (ev,) = env.count(pid, [addr(a)])
    expected = g.reputation.functions.getPastScore(addr(a), dom, snapshot).call()
    assert ev.args.weight == expected
    assert g.votes(pid)[1] == expected + g.reputation.functions.getPastScore(addr(b), dom, snapshot).call()


def test_token_and_commit_reveal_proposals_take_no_delegation(env: Env) -> None:
    a, b = env.citizen(), env.citizen()
    env.delegate(a, 0, addr(b))
    pid_token, _ = env.open_proposal(mode=CountingMode.TOKEN_WEIGHTED, description="token")
    with reverts("DelegationNotApplicable(uint256)", pid_token):
        env.count(pid_token, [addr(a)])
    pid_cr, _ = env.open_proposal(commit_reveal=True, description="secret")
    with reverts("DelegationNotApplicable(uint256)", pid_cr):
        env.count(pid_cr, [addr(a)])


def test_counting_only_while_active(env: Env) -> None:
    a, b = env.citizen(), env.citizen()
    env.delegate(a, 0, addr(b))
    pid, start, end, _ = env.g.propose(start_in=10)
    with reverts("ProposalNotActive(uint256)", pid):
        env.count(pid, [addr(a)])
    env.g.goto(start + 1)
    env.vote(b, pid, FOR)
    env.g.goto(end + 1)
    with reverts("ProposalNotActive(uint256)", pid):
        env.count(pid, [addr(a)])


def test_electorate_scopes_delegated_weight(env: Env) -> None:
    """Area 1 is managed by PA 1 ("Turin"): its proposals are voted by PA 1's citizens only. An Athens citizen's
    delegation to a Turin citizen adds nothing there (but does on a consortium-wide vote); an Athens citizen in
    the middle of a Turin chain still passes the Turin delegator's weight on (it routes, it adds none)."""
    g = env.g
    turin, turin2 = env.citizen("turin"), env.citizen("turin")
    athens = env.citizen("athens", pa=2)
    env.delegate(athens, 0, addr(turin))
    env.delegate(turin2, 0, addr(athens))  # turin2 → athens → turin
    pid_area, _ = env.open_proposal(area_id=g.area_id, description="Turin park")
    pid_all, _ = env.open_proposal(description="consortium")
    assert g.gov.functions.proposalElectorate(pid_area).call() != 0
    for pid in (pid_area, pid_all):
        env.vote(turin, pid, FOR)
    counted_area = env.count(pid_area, [addr(athens), addr(turin2)])
    assert [(e.args.delegator, e.args.hops) for e in counted_area] == [(addr(turin2), 2)]
    assert g.votes(pid_area) == (0, 2, 0)
    with reverts("NoVotingWeight(address,uint256)", addr(athens), pid_area):
        env.vote(athens, pid_area, AGAINST)
    assert len(env.count(pid_all, [addr(athens), addr(turin2)])) == 2
    assert g.votes(pid_all) == (0, 3, 0)


def test_delegated_for_counts_as_a_head_in_an_electorate_quorum(env: Env) -> None:
    """Over a sub-electorate the quorum is a head count of For + Abstain voters: counted delegators are heads, and
    a delegator who then votes Against takes its head away."""
    g = env.g
    keys = [env.citizen("q") for _ in range(3)]
    rep = keys[0]
    for k in keys[1:]:
        env.delegate(k, 0, addr(rep))
    probe, start = env.open_proposal(area_id=g.area_id, description="measure the electorate")
    size = g.registry.functions.getPastElectorateSize(g.gov.functions.proposalElectorate(probe).call(), start).call()
    numerator = next(n for n in range(1, 101) if -(-n * size // 100) == 3)  # a quorum of exactly 3 heads
    send(g.gov.functions.setQuorumNumerator(numerator), g.admin)
    pid, _ = env.open_proposal(area_id=g.area_id, description="quorum by heads")
    assert g.gov.functions.quorum(pid).call() == 3
    env.vote(rep, pid, FOR)
    assert not g.gov.functions.quorumReached(pid).call()
    env.count(pid, [addr(k) for k in keys[1:]])
    assert g.votes(pid) == (0, 3, 0)
    assert g.gov.functions.quorumReached(pid).call()  # 1 direct + 2 delegated heads
    env.vote(keys[1], pid, AGAINST)  # keys[1]'s head leaves the For side
    assert g.votes(pid) == (1, 2, 0)
    assert not g.gov.functions.quorumReached(pid).call()
    env.vote(keys[2], pid, ABSTAIN)  # keys[2]'s head moves from For to Abstain: still 2 heads
    assert g.votes(pid) == (1, 1, 1)
    assert not g.gov.functions.quorumReached(pid).call()
