"""The citizen-initiative API on eth-tester: signed steps relayed for citizens without ETH (Python SDK), reads,
the indexer's supports, and a clear 4xx for every bad relay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from co3chain.initiative.content import Content, electorate_id
from co3chain.sdk import ApiClientError
from co3chain.sdk.initiative import InitiativeClient
from tests.api.conftest import CITIZENS, DEPLOYER, World, make_world
from tests.api.helpers import admin_call

PA = 1
ELECTORATE = electorate_id("pa", PA)
DAY = 86_400


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suite_artifacts: Any) -> Any:
    w = make_world(tmp_path, monkeypatch, suite_artifacts)
    with w.http:
        if int(w.contract("CitizenRegistry").functions.paOf(DEPLOYER.address).call()) != PA:
            admin_call(w, DEPLOYER, "CitizenRegistry", "setAccountPa", DEPLOYER.address, PA)
        for c in CITIZENS[:3]:
            admin_call(w, DEPLOYER, "CitizenRegistry", "register", c.address, keccak(text=f"id {c.address}"),
                       w.now() + 10**7)
        admin_call(w, DEPLOYER, "CitizenInitiatives", "setDefaultThreshold", (0, 2, DAY))
        w.travel(w.now() + 5)
        yield w
    w.state.store.close()


def _expect(status: int, code: str, fn: Any, *args: Any, **kw: Any) -> ApiClientError:
    with pytest.raises(ApiClientError) as info:
        fn(*args, **kw)
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


def _content(title: str = "Open the garden shed on Sundays") -> Content:
    return Content.build(text_hash=keccak(text=title), title=title, electorate=ELECTORATE, voting_period=DAY)


def test_initiative_from_draft_to_vote_through_the_api(world: World) -> None:
    api = InitiativeClient(world.client())
    alice, bob, carol = CITIZENS[:3]
    drafted = api.draft(alice, _content())
    done = api.wait(drafted.txHash, timeout=10)
    assert done.status == "success" and done.initiativeId == 1
    assert drafted.contentHash == "0x" + _content().content_hash().hex()
    amended = api.wait(api.amend(alice, 1, _content("Open the shed on Sundays and lend tools")).txHash, timeout=10)
    assert amended.status == "success"
    detail = api.initiative(1)
    assert (detail.status, detail.version, detail.electorateName, len(detail.versions)) == ("Draft", 2, "pa 1", 2)
    assert detail.description.startswith("Citizen initiative #1 v2 (text 0x")

    assert api.wait(api.open(alice, 1).txHash, timeout=10).status == "success"
    status = api.supporter_status(1, bob.address)
    assert (status.eligible, status.hasSupported, status.nonce) == (True, False, "0")
    assert api.wait(api.support(bob, 1).txHash, timeout=10).proposalId is None
    last = api.wait(api.support(carol, 1).txHash, timeout=10)
    assert last.proposalId is not None
    detail = api.initiative(1)
    assert (detail.status, detail.supportCount, detail.required, detail.proposalId) == ("Proposed", 2, 2,
                                                                                         last.proposalId)
    world.sync()
    # The proposal is a governance proposal like any other (its description comes from the indexer).
    proposal = world.client().proposal(int(last.proposalId))
    assert proposal.description == detail.description
    assert proposal.proposer == world.contract("CitizenInitiatives").address
    supports = api.supports(1)
    assert [(s.supporter, s.supportCount, s.bySignature) for s in supports.items] == [
        (bob.address, 1, True), (carol.address, 2, True)]
    assert api.initiatives().total == 1 and api.initiatives().items[0].status == "Proposed"
    feed = world.state.store.feed_after(0, 1000)
    kinds = [__import__("json").loads(r["data"])["event"] for r in feed if r["type"] == "initiative"]
    assert kinds == ["drafted", "versioned", "versioned", "opened", "supported", "supported", "qualified", "proposed"]


def test_threshold_and_nonce_reads(world: World) -> None:
    api = InitiativeClient(world.client())
    t = api.threshold(ELECTORATE)
    assert (t.kind, t.value, t.collectionWindow, t.own, t.electorateSize, t.required) == (
        "absolute", 2, DAY, False, 3, 2)
    n = api.nonce(CITIZENS[0].address)
    assert (n.nonce, n.key) == ("0", "0") and n.chainTime == world.now()
    _expect(404, "unknown_electorate", api.threshold, ELECTORATE + 77)
    _expect(404, "unknown_initiative", api.initiative, 9)
    _expect(404, "unknown_initiative", api.supports, 9)


def test_bad_relays_are_refused_before_gas_is_spent(world: World) -> None:
    api = InitiativeClient(world.client())
    alice, bob, carol, outsider = CITIZENS
    # A citizen who is not in the electorate cannot draft for it (contract pre-flight).
    _expect(403, "not_eligible", api.draft, outsider, _content())
    api.wait(api.draft(alice, _content()).txHash, timeout=10)
    # Only the author amends or opens.
    _expect(403, "not_author", api.amend, bob, 1, _content("hijacked"))
    _expect(403, "not_author", api.open, bob, 1)
    # Supports before the opening.
    _expect(409, "wrong_status", api.support, bob, 1)
    # Opening a version that is not the current one.
    _expect(409, "version_mismatch", api.open, alice, 1, "0x" + "11" * 32)
    api.wait(api.open(alice, 1).txHash, timeout=10)

    body = api.sign_support(bob, 1)
    _expect(400, "invalid_signature", api.relay_support, body.model_copy(update={"supporter": carol.address}))
    _expect(409, "wrong_nonce", api.relay_support, api.sign_support(bob, 1, nonce=5))
    _expect(400, "signature_expired", api.relay_support, api.sign_support(bob, 1, deadline=world.now() - 10))
    _expect(409, "version_mismatch", api.relay_support, api.sign_support(bob, 1, version_hash="0x" + "22" * 32))
    _expect(403, "not_eligible", api.support, outsider, 1)
    assert api.wait(api.relay_support(body).txHash, timeout=10).status == "success"
    _expect(409, "already_supported", api.support, bob, 1)
    # Malformed content is a 422 before anything is signed by the relayer.
    draft = api.sign_draft(alice, _content()).model_dump()
    draft["mode"] = 7
    with pytest.raises(ApiClientError) as info:
        world.client()._request("POST", "/v1/relay/initiative-draft", json_body=draft)
    assert info.value.status == 422
