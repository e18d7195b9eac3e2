"""Electorates through the API, the Python SDK and ``co3chain electorate``: groups of the registrar's PA, sizes,
PA bindings for the council, proposals voted by a group (a non-member's relayed ballot is refused), the index."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from eth_abi import decode as abi_decode

from co3chain.cli import cli
from co3chain.electorates import group_electorate
from co3chain.sdk import ops_cli
from co3chain.sdk.client import ApiClientError
from co3chain.sdk.electorates import ElectorateClient
from tests.api.conftest import CITIZENS, OUTSIDER_PA, World
from tests.api.helpers import PARK
from tests.api.test_relay_flows import _ok, _register


def _tick(world: World) -> None:
    """Move the clock so that what was just written is in the past (sizes are read at past timepoints)."""
    world.travel(world.now() + 5)
    world.tester.mine_blocks(1)


def test_groups_sizes_and_scoped_proposal(world: World) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    el, el_anon = ElectorateClient(pa), ElectorateClient(world.client())
    alice, bob, carol = CITIZENS[:3]
    _register(world, pa, alice, bob, carol)
    assert world.manifest["electorates"]["paAccounts"] == {pa.deployment()["deployer"]: 1}

    _ok(pa, el.create_group("district", name="San Salvario").txHash)
    _ok(pa, el.create_group("district", name="Crocetta").txHash)
    for who in (alice, bob):
        _ok(pa, el.add_member(1, who.address).txHash)
    _ok(pa, el.add_member(2, carol.address).txHash)
    world.sync()
    _tick(world)
    group = el_anon.group(1)
    assert (group.paId, group.kind, group.label) == (1, "district", "group:1")
    assert group.members == [alice.address, bob.address]
    info = el_anon.electorate("group:1")
    assert info.exists and info.size == 2 and info.electorate == str(group_electorate(1))
    assert el_anon.electorate("pa:1").size == 3
    assert el_anon.electorate("consortium").size == 3
    missing = el_anon.electorate("group:9")
    assert not missing.exists and missing.size is None
    with pytest.raises(ApiClientError) as bad:
        el_anon.electorate("city:1")
    assert bad.value.status == 422 and bad.value.code == "invalid_electorate"
    mine = el_anon.citizen_electorates(alice.address)
    assert (mine.paId, mine.groupIds) == (1, [1])

    _ok(pa, el.define_union([1, 2]).txHash)
    world.sync()
    _tick(world)
    union = el_anon.electorate("union:1")
    assert union.groupIds == [1, 2] and union.size == 3
    assert "union:1" in el_anon.citizen_electorates(carol.address).electorates

    # A registrar cannot manage groups without REGISTRAR_ROLE; a PA binding is a council call, nothing sent.
    with pytest.raises(ApiClientError) as denied:
        ElectorateClient(world.client(world.outsider_key)).create_group("association", name="x")
    assert denied.value.status == 403 and denied.value.code == "missing_role"
    call = el_anon.pa_binding_council_call(OUTSIDER_PA.address, 2)
    registry = world.contract("CitizenRegistry")
    assert call.to == registry.address and call.function == "setAccountPa(address,uint256)"
    assert abi_decode(["address", "uint256"], bytes.fromhex(call.data[10:])) == (OUTSIDER_PA.address.lower(), 2)
    assert registry.functions.paOf(OUTSIDER_PA.address).call() == 0

    # The area's residents decide: proposal voted by group 1 only.
    _ok(pa, pa.create_area(PARK, "ipfs://park").txHash)
    start = world.now() + 20
    created = el.propose(description="close the road on Sundays", vote_start=start, vote_end=start + 1000,
                         electorate="group:1", area_id=1)
    _ok(pa, created.txHash)
    before = el_anon.proposal_electorate(created.proposalId)
    assert (before.label, before.size, before.quorum, before.quorumBasis) == ("group:1", None, None, "headcount")
    world.travel(start + 2)
    world.tester.mine_blocks(1)
    after = el_anon.proposal_electorate(created.proposalId)
    assert (after.size, after.quorum) == (2, "1")
    with pytest.raises(ApiClientError) as refused:
        anon.vote(carol, created.proposalId, 1)  # Carol lives in Crocetta
    assert "NoVotingWeight" in refused.value.message
    _ok(pa, anon.vote(alice, created.proposalId, 1).txHash)
    world.sync()
    rows = world.state.store.query("SELECT electorate FROM proposal_electorates WHERE proposal_id = ?",
                                   (created.proposalId,))
    assert [r["electorate"] for r in rows] == [str(group_electorate(1))]
    # An area proposal naming another PA's electorate (or the consortium) is refused before any gas is spent.
    with pytest.raises(ApiClientError) as foreign:
        el.propose(description="x", vote_start=world.now() + 50, vote_end=world.now() + 500, electorate="consortium",
                   area_id=1)
    assert "ElectorateNotAllowed" in foreign.value.message

    _ok(pa, el.remove_member(1, bob.address).txHash)
    world.sync()
    assert el_anon.group(1).members == [alice.address]


def test_electorate_cli(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops_cli, "make_client", lambda _url, key: world.client(key))
    monkeypatch.setenv("CO3_API_KEY", world.pa_key)
    pa = world.client(world.pa_key)
    alice = CITIZENS[0]
    _register(world, pa, alice)
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(cli, ["electorate", *args], catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    assert "success" in run("group", "create", "--kind", "area-residence", "--name", "park residents").output
    assert "success" in run("group", "add", "1", alice.address).output
    world.sync()
    _tick(world)
    shown = json.loads(run("--json", "group", "show", "1").output)
    assert shown["kind"] == "area-residence" and shown["members"] == [alice.address]
    assert "eligible citizens at" in run("show", "group:1").output
    assert json.loads(run("--json", "show", "pa:1").output)["size"] == 1
    bad = run("show", "town:3", ok=False)
    assert bad.exit_code != 0 and "electorate 'town:3'" in bad.output
    call = json.loads(run("--json", "bind-pa", OUTSIDER_PA.address, "2").output)
    assert call["function"] == "setAccountPa(address,uint256)"
    start = world.now() + 30
    created = json.loads(run("--json", "propose", "--electorate", "group:1", "--start", str(start), "--end",
                             str(start + 600), "--description", "residents only").output)
    assert "group:1" in run("proposal", created["proposalId"]).output
    refused = run("group", "add", "7", alice.address, ok=False)
    assert "unknown_group" in refused.output or "UnknownGroup" in refused.output
