"""Electorates (issue 11 §1): registrars bound to their PA, checkpointed electoral groups, electorate sizes that
exclude expired citizens, and proposals whose eligibility and quorum are computed over their electorate in every
counting mode (an Athens citizen cannot decide a Turin area; a non-resident's ballot is refused)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from co3chain.contracts.governance_typed_data import CountingMode
from co3chain.electorates import (
    AREA_RESIDENCE,
    ASSOCIATION,
    DISTRICT,
    group_electorate,
    pa_electorate,
    proposal_id_for,
    union_electorate,
)
from tests.contracts.suite_helpers import events, latest_time, reverts, role, send
from tests.contracts.test_governance import DAY, YEAR, Gov, area_domain, build_gov

REGISTRAR = role("REGISTRAR_ROLE")
OCOV, TOKEN, REPUTATION = (CountingMode.ONE_CITIZEN_ONE_VOTE, CountingMode.TOKEN_WEIGHTED,
                           CountingMode.REPUTATION_WEIGHTED)
AGAINST, FOR = 0, 1


@pytest.fixture
def g(w3: Web3, tester: Any, accounts: list[Any], deploy: Any) -> Gov:
    env = build_gov(w3, tester, accounts, deploy)
    # pa2 is PA 2's registrar ("Athens"); the registrar and the area manager act for PA 1 ("Turin").
    send(env.registry.functions.grantRole(REGISTRAR, env.pa2.address), env.admin)
    return env


def _key(tag: str) -> bytes:
    return bytes(Web3.keccak(text=f"electorate-test-{tag}"))


def _athenian(g: Gov, tag: str = "a", expires_in: int = YEAR) -> tuple[bytes, str]:
    key = _key(tag)
    address = Account.from_key(key).address
    send(g.registry.functions.register(address, Web3.keccak(text=f"athens-{tag}"), g.now() + expires_in), g.pa2)
    return key, address


def _group(g: Gov, kind: int, sender: Any = None, name: str = "g") -> int:
    receipt = send(g.registry.functions.createGroup(kind, Web3.keccak(text=name)), sender or g.registrar)
    return int(events(g.registry, receipt, "GroupCreated")[0].args.groupId)


def _add(g: Gov, group_id: int, *citizens: Any) -> None:
    for c in citizens:
        send(g.registry.functions.addToGroup(group_id, getattr(c, "address", c)), g.registrar)


def _propose_for(g: Gov, electorate: int, *, area_id: int | None = None, mode: int = OCOV, start_in: int = 100,
                 sender: Any = None) -> tuple[int, int, int]:
    area_id = g.area_id if area_id is None else area_id
    start = g.now() + start_in
    end = start + DAY
    sender = sender or g.pa
    receipt = send(g.gov.functions.proposeFor(area_id, electorate, (mode, False, start, end, 0), [], [], [],
                                              f"for {electorate}"), sender)
    (ev,) = events(g.gov, receipt, "ProposalElectorate")
    assert ev.args.electorate == electorate
    pid = int(ev.args.proposalId)
    assert pid == proposal_id_for(sender.address, area_id, electorate, int(mode), False, start, end, 0,
                                  f"for {electorate}")
    return pid, start, end


# ---------------------------------------------------------------------------------------------- registry


def test_registrars_act_only_for_their_own_pa(g: Gov, accounts: list[Any]) -> None:
    reg, turin, athens = g.registry, g.registrar, g.pa2
    alice = g.citizens[0]  # registered by Turin (PA 1) in build_gov
    assert reg.functions.citizenPa(alice.address).call() == 1
    assert reg.functions.paOf(turin.address).call() == 1
    assert reg.functions.paOf(athens.address).call() == 2
    with reverts("NotOwnPa(address,uint256)", athens.address, 1):
        reg.functions.renew(alice.address, g.now() + 2 * YEAR).transact({"from": athens.address})
    with reverts("NotOwnPa(address,uint256)", athens.address, 1):
        reg.functions.revoke(alice.address, 0).transact({"from": athens.address})
    athens_group = _group(g, DISTRICT, athens)
    with reverts("NotOwnPa(address,uint256)", athens.address, 1):
        reg.functions.addToGroup(athens_group, alice.address).transact({"from": athens.address})
    with reverts("NotOwnPa(address,uint256)", turin.address, 2):
        reg.functions.addToGroup(athens_group, alice.address).transact({"from": turin.address})
    # A registrar bound to no PA cannot register anyone; only the admin binds accounts.
    loose = accounts[4]  # the relayer account
    send(reg.functions.grantRole(REGISTRAR, loose.address), g.admin)
    with reverts("RegistrarWithoutPa(address)", loose.address):
        reg.functions.register(Account.from_key(_key("x")).address, Web3.keccak(text="x"), g.now() + YEAR).transact(
            {"from": loose.address})
    with reverts("AccessControlUnauthorizedAccount(address,bytes32)", turin.address, b"\x00" * 32):
        reg.functions.setAccountPa(loose.address, 1).transact({"from": turin.address})
    with reverts("InvalidPa(uint256)", 2**32):
        reg.functions.setAccountPa(loose.address, 2**32).transact({"from": g.admin.address})
    receipt = send(reg.functions.setAccountPa(loose.address, 3), g.admin)
    assert events(reg, receipt, "AccountPaSet")[0].args.paId == 3
    assert reg.functions.electorateExists(pa_electorate(3)).call()
    assert not reg.functions.electorateExists(pa_electorate(4)).call()


def test_group_membership_and_sizes_are_checkpointed(g: Gov) -> None:
    reg = g.registry
    alice, bob, carol = g.citizens[:3]
    district = _group(g, DISTRICT, name="San Salvario")
    other = _group(g, DISTRICT, name="Crocetta")
    e = group_electorate(district)
    assert reg.functions.electorateExists(e).call()
    assert not reg.functions.electorateExists(group_electorate(99)).call()
    _add(g, district, alice)
    t1 = g.now()
    g.tester.time_travel(t1 + 10)
    _add(g, district, bob)
    t2 = g.now()
    g.tester.time_travel(t2 + 10)
    send(reg.functions.removeFromGroup(district, alice.address), g.registrar)
    t3 = g.now()
    g.tester.time_travel(t3 + 10)
    g.tester.mine_blocks(1)
    assert [reg.functions.getPastElectorateSize(e, t).call() for t in (t1, t2, t3)] == [1, 2, 1]
    assert reg.functions.isEligibleVoterAt(alice.address, e, t1).call()
    assert not reg.functions.isEligibleVoterAt(bob.address, e, t1).call()
    assert not reg.functions.isEligibleVoterAt(alice.address, e, t3).call()
    assert not reg.functions.isEligibleVoterAt(carol.address, e, t3).call()
    assert reg.functions.isEligibleVoterAt(carol.address, 0, t3).call()
    assert reg.functions.isEligibleVoterAt(carol.address, pa_electorate(1), t3).call()
    assert not reg.functions.isEligibleVoterAt(carol.address, pa_electorate(2), t3).call()
    assert reg.functions.getPastElectorateSize(pa_electorate(1), t3).call() == len(g.citizens)
    # Exclusive kinds: one district per citizen; associations overlap freely.
    with reverts("ExclusiveKindTaken(address,uint256)", bob.address, district):
        reg.functions.addToGroup(other, bob.address).transact({"from": g.registrar.address})
    with reverts("AlreadyInGroup(address,uint256)", bob.address, district):
        reg.functions.addToGroup(district, bob.address).transact({"from": g.registrar.address})
    with reverts("NotInGroup(address,uint256)", carol.address, district):
        reg.functions.removeFromGroup(district, carol.address).transact({"from": g.registrar.address})
    clubs = [_group(g, ASSOCIATION, name=f"club {i}") for i in range(7)]
    for club in clubs:
        _add(g, club, bob)
    assert len(reg.functions.groupsOf(bob.address).call()) == 8
    ninth = _group(g, AREA_RESIDENCE, name="park residents")
    with reverts("TooManyGroups(address)", bob.address):
        reg.functions.addToGroup(ninth, bob.address).transact({"from": g.registrar.address})
    with reverts("InvalidGroupKind(uint8)", 3):
        reg.functions.createGroup(3, b"\x00" * 32).transact({"from": g.registrar.address})
    with reverts("UnknownGroup(uint256)", 999):
        reg.functions.addToGroup(999, bob.address).transact({"from": g.registrar.address})


def test_group_sizes_exclude_expired_and_revoked_citizens(g: Gov) -> None:
    reg = g.registry
    alice = g.citizens[0]
    short = Account.from_key(_key("short")).address
    send(reg.functions.register(short, Web3.keccak(text="short"), g.now() + DAY), g.registrar)
    group = _group(g, DISTRICT)
    e = group_electorate(group)
    _add(g, group, alice, short)
    before = g.now()
    g.tester.time_travel(before + 3 * DAY)
    g.tester.mine_blocks(1)
    after = g.now() - 1
    assert reg.functions.getPastElectorateSize(e, before).call() == 2
    assert reg.functions.getPastElectorateSize(e, after).call() == 1  # `short` expired, never revoked
    assert reg.functions.getPastElectorateSize(pa_electorate(1), after).call() == len(g.citizens)
    # An expired citizen cannot join a group; a revoked one leaves all its groups.
    late = _group(g, ASSOCIATION)
    with reverts("CitizenNotActive(address)", short):
        reg.functions.addToGroup(late, short).transact({"from": g.registrar.address})
    receipt = send(reg.functions.revoke(alice.address, 0), g.registrar)
    assert [ev.args.groupId for ev in events(reg, receipt, "GroupMemberRemoved")] == [group]
    assert reg.functions.groupsOf(alice.address).call() == []
    t = g.now()
    g.tester.time_travel(t + 10)
    g.tester.mine_blocks(1)
    assert reg.functions.getPastElectorateSize(e, t).call() == 0
    assert reg.functions.getPastElectorateSize(e, before).call() == 2  # the past never changes
    with reverts("UnknownElectorate(uint256)", group_electorate(42)):
        reg.functions.getPastElectorateSize(group_electorate(42), t).call()


def test_union_of_districts_is_a_sum(g: Gov) -> None:
    reg = g.registry
    a, b, c = g.citizens[:3]
    d1, d2, club = _group(g, DISTRICT, name="d1"), _group(g, DISTRICT, name="d2"), _group(g, ASSOCIATION)
    _add(g, d1, a)
    _add(g, d2, b, c)
    athens_district = _group(g, DISTRICT, g.pa2, name="Plaka")
    with reverts("InvalidElectorateDefinition()"):
        reg.functions.defineElectorate([d2, d1]).transact({"from": g.registrar.address})  # not ascending
    with reverts("InvalidElectorateDefinition()"):
        reg.functions.defineElectorate([club, d1]).transact({"from": g.registrar.address})  # association
    with reverts("InvalidElectorateDefinition()"):
        reg.functions.defineElectorate([d1, athens_district]).transact({"from": g.registrar.address})
    with reverts("NotOwnPa(address,uint256)", g.pa2.address, 1):
        reg.functions.defineElectorate([d1, d2]).transact({"from": g.pa2.address})
    receipt = send(reg.functions.defineElectorate([d1, d2]), g.pa)  # the area manager acts for PA 1 too
    e = int(events(reg, receipt, "ElectorateDefined")[0].args.electorate)
    assert e == union_electorate(1)
    assert reg.functions.electorateGroups(e).call() == [d1, d2]
    assert reg.functions.electoratePa(e).call() == 1
    t = g.now()
    g.tester.time_travel(t + 5)
    g.tester.mine_blocks(1)
    assert reg.functions.getPastElectorateSize(e, t).call() == 3
    assert all(reg.functions.isEligibleVoterAt(x.address, e, t).call() for x in (a, b, c))
    assert not reg.functions.isEligibleVoterAt(g.citizens[3].address, e, t).call()


# ---------------------------------------------------------------------------------------------- governance


def test_area_proposal_defaults_to_the_managing_pa_so_athens_cannot_decide_turin(g: Gov) -> None:
    key, athenian = _athenian(g)
    pid, start, end, _ = g.propose(area_id=g.area_id, start_in=10)
    assert g.gov.functions.proposalElectorate(pid).call() == pa_electorate(1)
    g.goto(start + 1)
    with reverts("NoVotingWeight(address,uint256)", athenian, pid):
        g.vote_by_sig(key, pid, FOR)
    for c in g.citizens[:2]:
        send(g.gov.functions.castVote(pid, FOR), c)
    assert g.gov.functions.quorum(pid).call() == 1  # ceil(10 % of Turin's 5 citizens), not of 6
    # A consortium-wide proposal still counts everyone, Athenians included.
    pid0, start0, _, _ = g.propose(start_in=10)
    assert g.gov.functions.proposalElectorate(pid0).call() == 0
    g.goto(start0 + 1)
    g.vote_by_sig(key, pid0, FOR)


def test_propose_for_checks_the_electorate(g: Gov) -> None:
    athens_group = _group(g, DISTRICT, g.pa2)
    window = (int(OCOV), False, g.now() + 100, g.now() + 100 + DAY, 0)

    def refused(area_id: int, electorate: int, sender: Any) -> None:
        with reverts("ElectorateNotAllowed(uint256,uint256)", area_id, electorate):
            g.gov.functions.proposeFor(area_id, electorate, window, [], [], [], "x").transact(
                {"from": sender.address})

    refused(g.area_id, group_electorate(athens_group), g.pa)  # another PA's group for a Turin area
    refused(g.area_id, pa_electorate(2), g.pa2)  # even by a consortium proposer
    refused(g.area_id, 0, g.pa)  # an area is never decided by the whole consortium
    refused(0, group_electorate(77), g.pa2)  # undefined electorate
    # Actions only on consortium-wide proposals; there any defined electorate may vote on them.
    call = g.gov.encode_abi("setQuorumNumerator", args=[20])
    with reverts("ActionsNeedConsortiumProposal(uint256)", g.area_id):
        g.gov.functions.proposeFor(g.area_id, pa_electorate(1), window, [g.gov.address], [0],
                                   [bytes.fromhex(call[2:])], "x").transact({"from": g.pa.address})
    receipt = send(g.gov.functions.proposeFor(0, pa_electorate(2), window, [g.gov.address], [0],
                                              [bytes.fromhex(call[2:])], "with actions"), g.pa2)
    pid = int(events(g.gov, receipt, "ProposalActions")[0].args.proposalId)
    assert g.gov.functions.proposalElectorate(pid).call() == pa_electorate(2)
    assert pid == proposal_id_for(g.pa2.address, 0, pa_electorate(2), 0, False, window[2], window[3], 0,
                                  "with actions", [g.gov.address], [0], [bytes.fromhex(call[2:])])
    # An area manager bound to no PA cannot propose on its area: nobody's electorate would fit.
    send(g.registry.functions.setAccountPa(g.pa.address, 0), g.admin)
    with reverts("ElectorateNotAllowed(uint256,uint256)", g.area_id, 0):
        g.gov.functions.propose(g.area_id, 0, False, window[2], window[3], 0, "y").transact({"from": g.pa.address})


def test_non_resident_refused_and_quorum_counts_residents(g: Gov) -> None:
    residents = _group(g, AREA_RESIDENCE, name="residents of the park")
    _add(g, residents, *g.citizens[:3])
    pid, start, end = _propose_for(g, group_electorate(residents))
    g.goto(start + 1)
    outsider = g.citizens[3]
    with reverts("NoVotingWeight(address,uint256)", outsider.address, pid):
        g.gov.functions.castVote(pid, FOR).transact({"from": outsider.address})
    assert g.gov.functions.getVotes(pid, outsider.address).call() == 0
    send(g.gov.functions.setQuorumNumerator(100), g.admin)  # later changes do not apply to this proposal
    assert g.gov.functions.quorum(pid).call() == 1  # ceil(10 % of 3 residents)
    send(g.gov.functions.castVote(pid, AGAINST), g.citizens[0])
    g.goto(end + 1)
    assert g.gov.functions.state(pid).call() == 4  # Defeated: no For/Abstain voter, quorum not reached
    assert not g.gov.functions.quorumReached(pid).call()


@pytest.mark.parametrize("mode", [TOKEN, REPUTATION])
def test_weighted_modes_count_only_members_and_heads_for_quorum(g: Gov, mode: CountingMode) -> None:
    a, b, c, outsider = g.citizens[:4]
    for n, who in enumerate((a, b, c, outsider)):
        amount = (n + 1) * 10**6
        if mode == TOKEN:
            send(g.token.functions.mint(who.address, amount), g.admin)
        else:
            send(g.reputation.functions.award(who.address, area_domain(g.area_id), amount), g.admin)
    district = _group(g, DISTRICT)
    _add(g, district, a, b, c)
    send(g.gov.functions.setQuorumNumerator(60), g.admin)
    pid, start, end = _propose_for(g, group_electorate(district), mode=mode)
    g.goto(start + 1)
    with reverts("NoVotingWeight(address,uint256)", outsider.address, pid):
        g.gov.functions.castVote(pid, FOR).transact({"from": outsider.address})
    assert g.gov.functions.quorum(pid).call() == 2  # ceil(60 % of 3 members): heads, not weight
    send(g.gov.functions.castVote(pid, FOR), c)  # the heaviest member alone
    assert not g.gov.functions.quorumReached(pid).call()
    send(g.gov.functions.castVote(pid, 2), a)  # an abstention adds a head
    assert g.gov.functions.quorumReached(pid).call()
    send(g.gov.functions.castVote(pid, AGAINST), b)
    _, for_, _ = g.votes(pid)
    assert for_ == g.gov.functions.getVotes(pid, c.address).call() > 0
    g.goto(end + 1)
    assert g.gov.functions.state(pid).call() == 3  # Succeeded: quorum of heads, For weight > Against weight


def test_membership_after_the_snapshot_does_not_count(g: Gov) -> None:
    group = _group(g, ASSOCIATION)
    _add(g, group, g.citizens[0])
    pid, start, _ = _propose_for(g, group_electorate(group), start_in=50)
    g.goto(start + 1)
    _add(g, group, g.citizens[1])  # joins after the snapshot
    with reverts("NoVotingWeight(address,uint256)", g.citizens[1].address, pid):
        g.gov.functions.castVote(pid, FOR).transact({"from": g.citizens[1].address})
    send(g.gov.functions.castVote(pid, FOR), g.citizens[0])
    assert latest_time(g.w3) > start
