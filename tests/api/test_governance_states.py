"""Proposal lifecycle through the consortium timelock as the API and the Python SDK show it (issue 10):
a proposal with an action is Succeeded, then Queued (with its timelock operation), then Executed; a vetoed
proposal is Canceled; a succeeded action nobody queued is Expired. The suite is deployed with the production
wiring (every admin role handed over to the timelock)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils import keccak

from co3chain.contracts.deploy import ArtifactSet
from co3chain.contracts.governance_typed_data import actions_hash
from tests.api.conftest import CITIZENS, DEPLOYER, OUTSIDER_PA, TIMELOCK_DELAY, World, make_world
from tests.api.helpers import admin_call
from tests.api.test_relay_flows import _ok, _register

DAY = 86400


@pytest.fixture
def gov_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suite_artifacts: ArtifactSet) -> Iterator[World]:
    w = make_world(tmp_path, monkeypatch, suite_artifacts, handover=True)
    with w.http:
        yield w
    w.state.store.close()


def _propose_action(world: World, numerator: int, description: str) -> tuple[int, list, int]:
    gov = world.contract("CO3Governance")
    now = world.now()
    start, end = now + 10, now + 10 + DAY
    actions = [[gov.address], [0], [bytes.fromhex(gov.encode_abi("setQuorumNumerator", args=[numerator])[2:])]]
    receipt = admin_call(world, DEPLOYER, "CO3Governance", "proposeWithActions", [0, False, start, end, 0],
                         *actions, description)
    pid = gov.events.ProposalCreated().process_receipt(receipt)[0]["args"]["proposalId"]
    return pid, actions, end


def test_queued_executed_and_expired_states_through_the_api(gov_world: World) -> None:
    world = gov_world
    pa, anon = world.client(world.pa_key), world.client()
    gov = world.contract("CO3Governance")
    assert not gov.functions.hasRole(b"\x00" * 32, DEPLOYER.address).call()  # handed over
    alice, bob = CITIZENS[:2]
    _register(world, pa, alice, bob)
    pid, actions, end = _propose_action(world, 20, "Raise the quorum to 20 %")
    idle, idle_actions, idle_end = _propose_action(world, 30, "Raise the quorum to 30 %")
    shown = anon.proposal(pid)
    assert shown.state == "Pending" and shown.actionsHash == "0x" + actions_hash(*actions).hex()
    assert shown.timelockOperation is None
    world.travel(world.now() + 20)
    for p in (pid, idle):
        _ok(anon, anon.vote(alice, p, 1).txHash)
        _ok(anon, anon.vote(bob, p, 1).txHash)
    world.travel(max(end, idle_end) + 2)
    assert anon.proposal(pid).state == "Succeeded"

    receipt = admin_call(world, OUTSIDER_PA, "CO3Governance", "queue", pid, *actions)  # anyone queues
    op = gov.events.ProposalQueued().process_receipt(receipt)[0]["args"]["operationId"]
    shown = anon.proposal(pid)
    assert shown.state == "Queued" and shown.timelockOperation == "0x" + bytes(op).hex()
    world.sync()
    assert [p.id for p in anon.proposals(status="Queued")] == [str(pid)]

    world.travel(world.now() + TIMELOCK_DELAY + 2)
    admin_call(world, OUTSIDER_PA, "CO3Governance", "execute", pid, *actions)  # anyone executes
    assert anon.proposal(pid).state == "Executed"
    assert gov.functions.quorumNumerator().call() == 20
    assert [p.id for p in anon.proposals(status="Executed")] == [str(pid)]

    grace = gov.functions.QUEUE_GRACE_PERIOD().call()
    world.travel(idle_end + grace + 2)
    world.w3.provider.make_request("evm_mine", [])
    assert anon.proposal(idle).state == "Expired"
    assert [p.id for p in anon.proposals(status="Expired")] == [str(idle)]


def test_council_veto_shows_as_canceled(gov_world: World) -> None:
    world = gov_world
    pa, anon = world.client(world.pa_key), world.client()
    _register(world, pa, CITIZENS[0])
    now = world.now()
    created = pa.create_proposal(description="An unlawful question", vote_start=now + 5, vote_end=now + DAY)
    _ok(pa, created.txHash)
    pid = int(created.proposalId)
    gov = world.contract("CO3Governance")
    reason = "unlawful"
    call = bytes.fromhex(gov.encode_abi("guardianCancel", args=[pid, reason])[2:])
    # The council is the deployer alone here (validators = [deployer]), threshold 1: one motion vetoes.
    admin_call(world, DEPLOYER, "ConsortiumCouncil", "propose", [gov.address], [0], [call], "veto")
    admin_call(world, OUTSIDER_PA, "ConsortiumCouncil", "execute", [gov.address], [0], [call], keccak(text="veto"))
    assert anon.proposal(pid).state == "Canceled"
