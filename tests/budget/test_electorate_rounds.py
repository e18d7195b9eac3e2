"""Participatory-budget rounds scoped to an electorate (issue 11 §1): only members at the snapshot vote, an area
round's electorate belongs to the managing PA, and the turnout base is the electorate's size."""

from __future__ import annotations

from web3 import Web3

from co3chain.electorates import DISTRICT, group_electorate, pa_electorate
from tests.budget.helpers import AREA, DAY, BudgetSuite
from tests.contracts.suite_helpers import events, reverts, send


def _spec(suite: BudgetSuite, area: int = AREA) -> tuple:
    start = suite.now() + 10
    return (area, 100, start, start + 2 * DAY, 0, 0, b"\x11" * 32)


def _projects(suite: BudgetSuite) -> list:
    return [(c, suite.payee.address, Web3.keccak(text=f"p{i}")) for i, c in enumerate((40, 60))]


def test_round_for_a_district_admits_only_its_members(suite: BudgetSuite) -> None:
    pb, registry = suite.pb, suite.registry
    receipt = send(registry.functions.createGroup(DISTRICT, Web3.keccak(text="Borgo Po")), suite.registrar)
    group = int(events(registry, receipt, "GroupCreated")[0].args.groupId)
    member, other = suite.citizens[0], suite.citizens[1]
    send(registry.functions.addToGroup(group, member.address), suite.registrar)
    spec = _spec(suite)
    receipt = send(pb.functions.createRoundFor(group_electorate(group), spec, _projects(suite)), suite.officer)
    (scoped,) = events(pb, receipt, "RoundElectorate")
    rid = int(scoped.args.roundId)
    assert scoped.args.electorate == group_electorate(group)
    assert pb.functions.roundElectorate(rid).call() == group_electorate(group)
    suite.travel(spec[2] + 1)
    assert pb.functions.electorateSize(rid).call() == 1
    assert pb.functions.isEligible(member.address, rid).call()
    assert not pb.functions.isEligible(other.address, rid).call()
    with reverts("NotEligible(address,uint256)", other.address, rid):
        send(pb.functions.castBallot(rid, 1), other)
    send(pb.functions.castBallot(rid, 1), member)
    # Joining after the snapshot does not admit anyone.
    send(registry.functions.addToGroup(group, other.address), suite.registrar)
    assert not pb.functions.isEligible(other.address, rid).call()


def test_area_round_defaults_to_the_managing_pa_and_refuses_foreign_electorates(suite: BudgetSuite) -> None:
    pb, registry = suite.pb, suite.registry
    spec = _spec(suite)
    send(pb.functions.createRound(*spec[:6], spec[6], _projects(suite)), suite.officer)
    rid = int(pb.functions.roundCount().call())
    assert pb.functions.roundElectorate(rid).call() == pa_electorate(1)
    # PA 2's group, the consortium or an undefined electorate cannot vote on PA 1's area budget.
    send(registry.functions.setAccountPa(suite.relayer.address, 2), suite.admin)
    send(registry.functions.grantRole(Web3.keccak(text="REGISTRAR_ROLE"), suite.relayer.address), suite.admin)
    receipt = send(registry.functions.createGroup(DISTRICT, b"\x00" * 32), suite.relayer)
    foreign = group_electorate(int(events(registry, receipt, "GroupCreated")[0].args.groupId))
    for electorate in (foreign, 0, pa_electorate(2), group_electorate(99)):
        with reverts("ElectorateNotAllowed(uint256,uint256)", AREA, electorate):
            send(pb.functions.createRoundFor(electorate, _spec(suite), _projects(suite)), suite.officer)
    # A consortium round (area 0) may use any defined electorate, but not an undefined one.
    with reverts("ElectorateNotAllowed(uint256,uint256)", 0, group_electorate(99)):
        send(pb.functions.createRoundFor(group_electorate(99), _spec(suite, 0), _projects(suite)), suite.officer)
    # An area manager bound to no PA cannot open an area round: no electorate would be its own.
    send(registry.functions.setAccountPa(suite.officer.address, 0), suite.admin)
    with reverts("ElectorateNotAllowed(uint256,uint256)", AREA, 0):
        send(pb.functions.createRound(*spec[:6], spec[6], _projects(suite)), suite.officer)
