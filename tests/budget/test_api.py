"""The budget API, SDK and deploy step end to end on eth-tester: deploy, fund, propose a round through the
API, gasless ballots through the relay, refusals with readable errors, finalize, project status, treasury."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from co3chain.api.chain import ChainContext
from co3chain.api.indexer import Indexer
from co3chain.budget.deploy import deploy_budget
from co3chain.contracts.deploy import ArtifactSet, DeployError, TxSender, role_id
from co3chain.sdk import ApiClientError
from co3chain.sdk.budget import BudgetClient
from tests.api.conftest import CITIZENS, DEPLOYER, RELAYER, World, make_world, suite_artifacts  # noqa: F401

AREA = 1
DAY = 86400


@pytest.fixture
def bworld(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           suite_artifacts: ArtifactSet) -> Iterator[World]:  # noqa: F811
    w = make_world(tmp_path, monkeypatch, suite_artifacts)
    manifest = deploy_budget(w.w3, DEPLOYER, w.manifest, executor=None, proposers=[DEPLOYER.address],
                             relayer=RELAYER.address, artifacts=suite_artifacts)
    w.manifest = manifest
    w.state.chain = ChainContext.from_manifest(w.w3, manifest, suite_artifacts)
    w.state.indexer = Indexer(w.state.chain, w.state.store)  # now with the budget contracts
    tx = TxSender(w.w3, DEPLOYER)
    c = w.state.chain.contracts
    token, treasury, registry = c["CommonsToken"], c["CommonsTreasury"], c["CitizenRegistry"]
    tx.call_fn(c["CommoningAreas"], "createArea", [DEPLOYER.address, b"\x01" * 32, "ipfs://a"], "area")  # AREA
    tx.call_fn(token, "grantRole", [role_id("MINTER_ROLE"), DEPLOYER.address], "minter")
    tx.call_fn(token, "mint", [DEPLOYER.address, 10_000], "mint")
    tx.call_fn(token, "approve", [treasury.address, 10_000], "approve")
    tx.call_fn(treasury, "deposit", [10_000], "deposit")
    tx.call_fn(treasury, "assignBudget", [AREA, 5_000], "assign")
    for i, citizen in enumerate(CITIZENS[:3]):
        tx.call_fn(registry, "register", [citizen.address, keccak(text=f"b{i}"), w.now() + 365 * DAY], "register")
    with w.http:
        yield w
    w.state.store.close()


def _round_body(w: World, payee: str) -> dict[str, Any]:
    start = w.now() + 60
    return {"areaId": str(AREA), "budget": "1000", "voteStart": start, "voteEnd": start + 2 * DAY,
            "projects": [{"cost": str(c), "payee": payee, "detailsHash": "0x" + keccak(text=f"p{i}").hex()}
                         for i, c in enumerate([700, 400, 300])]}


def test_budget_round_through_api_and_sdk(bworld: World) -> None:
    w = bworld
    pa = BudgetClient(w.client(w.pa_key))
    anon = BudgetClient(w.client())
    payee = Web3.to_checksum_address("0x" + "ab" * 20)
    body = _round_body(w, payee)

    with pytest.raises(ApiClientError) as err:
        BudgetClient(w.client(w.outsider_key)).propose_round(body)
    assert err.value.status == 403 and err.value.code == "missing_role"
    pa.propose_round(body)
    rounds = anon.rounds()
    assert rounds.total == 1 and rounds.items[0].status == "pending"
    before = anon.treasury([AREA])
    assert before.areas[0].budget == "4000" and before.areas[0].reservedByRounds == "1000"
    assert before.balance == "10000" and before.unassigned == "5000"

    w.travel(body["voteStart"] + 1)  # eth_call pre-flights run on the latest block (at t - 1)
    anon.vote(CITIZENS[0], 1, [0])
    anon.vote(CITIZENS[1], 1, [1, 2])
    with pytest.raises(ApiClientError) as err:
        anon.vote(CITIZENS[0], 1, [2])  # nonce now 1, but already voted
    assert err.value.status == 409 and err.value.code == "already_voted"
    stranger = Account.from_key(keccak(text="not a citizen"))
    with pytest.raises(ApiClientError) as err:
        anon.vote(stranger, 1, [0])
    assert err.value.status == 403 and err.value.code == "not_eligible"
    signed = anon.sign_ballot(CITIZENS[2], 1, [1])
    forged = signed.model_copy(update={"selection": "1"})
    with pytest.raises(ApiClientError) as err:
        anon.relay_ballot(forged)
    assert err.value.status == 400 and err.value.code == "invalid_signature"
    anon.relay_ballot(signed)
    status = anon.voter_status(1, CITIZENS[2].address)
    assert status.hasVoted and status.eligible and status.nonce == "1"

    detail = anon.round(1)
    assert [p.approvals for p in detail.projects] == [1, 2, 1]
    assert detail.result.provisional
    # ranking 1 (2 approvals), 0, 2: 400 fits, 700 does not (600 left), 300 fits
    assert detail.result.ranking == [1, 0, 2] and detail.result.funded == [1, 2] and detail.result.spent == "700"

    with pytest.raises(ApiClientError) as err:
        pa.finalize(1)
    assert err.value.status == 422 and "VotingNotOver" in err.value.message
    w.travel(body["voteEnd"] + 2)
    pa.finalize(1)
    final = anon.round(1)
    assert final.status == "finalized" and not final.result.provisional
    assert final.result.funded == [1, 2] and final.result.spent == "700"
    assert [p.state for p in final.projects] == ["NotFunded", "Funded", "Funded"]
    assert anon.treasury([AREA]).areas[0].budget == "4300"

    evidence = "0x" + keccak(text="works started").hex()
    pa.update_project(1, 1, "InProgress", evidence)
    assert anon.project(1, 1).state == "InProgress" and anon.project(1, 1).paid == "200"
    pa.update_project(1, 1, "Delivered", evidence)
    assert anon.project(1, 1).state == "Delivered" and anon.project(1, 1).paid == "400"
    token = w.state.chain.contracts["CommonsToken"]
    assert token.functions.balanceOf(payee).call() == 400
    with pytest.raises(ApiClientError) as err:
        pa.update_project(1, 0, "InProgress", evidence)
    assert err.value.status == 422 and "InvalidTransition" in err.value.message
    with pytest.raises(ApiClientError) as err:
        anon.round(9)
    assert err.value.status == 404

    # the index: the round's history in chain order, and the SSE feed announced each step
    w.sync()
    history = anon.history(1)
    events = [e.event for e in history.items]
    assert events[:5] == ["RoundCreated", "ProjectListed", "ProjectListed", "ProjectListed", "Reserved"]
    assert events.count("BudgetBallotCast") == 3 and events.count("Paid") == 2
    ballots = [e.data for e in history.items if e.event == "BudgetBallotCast"]
    assert [b["voter"] for b in ballots] == [c.address for c in CITIZENS[:3]]
    assert [b["selection"] for b in ballots] == ["1", "6", "2"]
    finalized = next(e for e in history.items if e.event == "RoundFinalized")
    assert finalized.data["fundedMask"] == "6" and finalized.data["spent"] == "700"
    assert finalized.data["released"] == "300" and "Released" in events
    steps = [(e.data["index"], e.data["state"], e.data["payment"]) for e in history.items
             if e.event == "ProjectStateChanged" and e.data["evidenceHash"] == evidence]
    assert steps == [(1, "InProgress", "200"), (1, "Delivered", "200")]
    paid = [e.data for e in history.items if e.event == "Paid"]
    assert [p["to"] for p in paid] == [payee, payee] and history.total == len(history.items)
    assert history.indexedBlock == w.w3.eth.block_number
    assert anon.history(1, limit=2, offset=1).items[0].event == "ProjectListed"
    feed = [json.loads(r["data"]) for r in w.state.store.feed_after(0, 500) if r["type"] == "budget"]
    assert [f["event"] for f in feed].count("BudgetBallotCast") == 3
    assert w.sync() == 0  # nothing new: the cursor holds
    with pytest.raises(ApiClientError) as err:
        anon.history(9)
    assert err.value.status == 404


def test_deploy_hands_admin_to_the_executor(bworld: World, suite_artifacts: ArtifactSet) -> None:  # noqa: F811
    w = bworld
    base = {**w.manifest, "contracts": {k: v for k, v in w.manifest["contracts"].items()
                                        if k not in ("CommonsTreasury", "ParticipatoryBudget")}}
    executor = Web3.to_checksum_address("0x" + "ee" * 20)
    manifest = deploy_budget(w.w3, DEPLOYER, base, executor=executor, artifacts=suite_artifacts)
    for name in ("CommonsTreasury", "ParticipatoryBudget"):
        contract = w.w3.eth.contract(address=manifest["contracts"][name]["address"],
                                     abi=suite_artifacts.artifact(name)["abi"])
        assert contract.functions.hasRole(b"\x00" * 32, executor).call()
        assert not contract.functions.hasRole(b"\x00" * 32, DEPLOYER.address).call()
    treasury = w.w3.eth.contract(address=manifest["contracts"]["CommonsTreasury"]["address"],
                                 abi=suite_artifacts.artifact("CommonsTreasury")["abi"])
    pb = manifest["contracts"]["ParticipatoryBudget"]["address"]
    assert treasury.functions.hasRole(role_id("PAYER_ROLE"), pb).call()
    with pytest.raises(DeployError, match="already has"):
        deploy_budget(w.w3, DEPLOYER, manifest, executor=executor, artifacts=suite_artifacts)


def test_round_scoped_to_an_electorate_through_the_api(bworld: World) -> None:
    """A PA opens a round for one electorate through the API; the round shows it and its size at the snapshot."""
    from co3chain.electorates import pa_electorate

    w = bworld
    pa = BudgetClient(w.client(w.pa_key))
    anon = BudgetClient(w.client())
    payee = Web3.to_checksum_address("0x" + "cd" * 20)
    registry = w.state.chain.contracts["CitizenRegistry"]
    pa_id = int(registry.functions.paOf(DEPLOYER.address).call())
    with pytest.raises(ApiClientError) as err:
        pa.propose_round({**_round_body(w, payee), "electorate": "district seven"})
    assert err.value.status == 422 and "pa:N" in err.value.message
    with pytest.raises(ApiClientError) as err:  # another PA's citizens cannot decide this PA's area budget
        pa.propose_round({**_round_body(w, payee), "electorate": f"pa:{pa_id + 1}"})
    assert err.value.status == 422
    body = {**_round_body(w, payee), "electorate": f"pa:{pa_id}"}
    pa.propose_round(body)
    w.travel(body["voteStart"] + 1)
    listed = anon.round(1)
    assert listed.electorate == str(pa_electorate(pa_id))
    assert listed.electorateSize == "3"  # the three citizens registered by this PA before the snapshot

