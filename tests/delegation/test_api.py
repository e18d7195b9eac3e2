"""Delegation through the API on eth-tester: signed delegations relayed, the indexer + relayer counting
delegated weight after a vote, a direct vote overriding it, reads, refusals, and the OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils import keccak

from co3chain.contracts.deploy import ArtifactSet
from co3chain.sdk import ApiClientError, Client
from co3chain.sdk.delegation import DelegationClient
from tests.api.conftest import CITIZENS, World, make_world, suite_artifacts  # noqa: F401


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suite_artifacts: ArtifactSet) -> Iterator[World]:  # noqa: F811
    w = make_world(tmp_path, monkeypatch, suite_artifacts)
    with w.http:
        yield w
    w.state.store.close()


def _ok(client: Client, tx_hash: str) -> None:
    assert client.wait_for_tx(tx_hash, timeout=10).status == "success"


def test_delegate_vote_count_and_override_through_the_api(world: World) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    dc = DelegationClient(anon)
    alice, bob, carol = CITIZENS[:3]
    for c in (alice, bob, carol):
        _ok(pa, pa.register_citizen(c.address, keccak(text=f"identity {c.address}"), world.now() + 10**7).txHash)
    expiry = world.now() + 3600
    _ok(anon, dc.delegate(alice, bob.address, expiry=expiry).txHash)  # alice → bob → carol
    _ok(anon, dc.delegate(bob, carol.address, expiry=expiry).txHash)
    mine = dc.of(alice.address)
    assert mine.delegations[0].delegate == bob.address and mine.chain == [bob.address, carol.address]
    assert mine.nonce == "1"

    now = world.now()
    created = pa.create_proposal(description=f"Park benches {now}", vote_start=now + 5, vote_end=now + 1000)
    _ok(pa, created.txHash)
    pid = created.proposalId
    world.travel(world.now() + 10)
    _ok(anon, anon.vote(carol, pid, 1).txHash)
    world.sync()  # indexes the vote; the relayer counts alice and bob on carol's vote
    world.sync()  # indexes the countings
    assert anon.proposal(pid).results.for_ == "3"
    view = dc.proposal(pid)
    assert view.applicable and view.totalDelegated == "2"
    assert [(v.voter, v.delegatedWeight) for v in view.voters] == [(carol.address, "2")]
    assert sorted((c.delegator, c.hops) for c in view.counted) == sorted([(alice.address, 2), (bob.address, 1)])
    status = dc.delegator(pid, alice.address)
    assert (status.countedWeight, status.representative, status.chain) == ("1", carol.address,
                                                                           [bob.address, carol.address])

    # Bob votes Against himself: his weight and alice's leave carol's For.
    _ok(anon, anon.vote(bob, pid, 0).txHash)
    world.sync()
    results = anon.proposal(pid).results
    assert (results.for_, results.against) == ("1", "2")
    assert dc.delegator(pid, alice.address).representative == bob.address
    assert dc.count(pid).delegators == []  # nothing pending

    # Revocation through the relay.
    _ok(anon, dc.undelegate(alice, expiry=world.now() + 3600).txHash)
    assert dc.of(alice.address).delegations[0].delegate is None


def test_refusals(world: World) -> None:
    anon = world.client()
    dc = DelegationClient(anon)
    alice, bob = CITIZENS[:2]
    body = dc.sign_delegation(alice, 0, bob.address, expiry=world.now() + 3600, nonce=0)
    forged = body.model_copy(update={"delegator": bob.address})
    with pytest.raises(ApiClientError) as info:
        dc.relay_delegation(forged)
    assert (info.value.status, info.value.code) == (400, "invalid_signature")
    with pytest.raises(ApiClientError) as info:  # alice is not a citizen: the contract's error before gas
        dc.relay_delegation(body)
    assert info.value.status == 422 and "NotCitizen" in info.value.message
    with pytest.raises(ApiClientError) as info:
        dc.relay_delegation(dc.sign_delegation(alice, 0, bob.address, expiry=world.now() + 3600, nonce=5))
    assert (info.value.status, info.value.code) == (409, "wrong_nonce")
    with pytest.raises(ApiClientError) as info:
        dc.proposal(12345)
    assert info.value.status == 404


def test_openapi_documents_the_delegation_routes(world: World) -> None:
    paths = world.http.get("/openapi.json").json()["paths"]
    for path in ("/v1/relay/delegation", "/v1/relay/undelegation", "/v1/delegation/citizens/{address}",
                 "/v1/delegation/proposals/{proposal_id}", "/v1/delegation/proposals/{proposal_id}/citizens/{address}",
                 "/v1/relay/delegation/count/{proposal_id}"):
        assert path in paths, path


def test_cli_delegate_show_and_proposal(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from co3chain.cli import cli
    from co3chain.delegation import cli as delegation_cli

    monkeypatch.setattr(delegation_cli, "_client", lambda _url: DelegationClient(world.client()))
    pa = world.client(world.pa_key)
    alice, bob = CITIZENS[:2]
    for c in (alice, bob):
        _ok(pa, pa.register_citizen(c.address, keccak(text=f"identity {c.address}"), world.now() + 10**7).txHash)
    runner = CliRunner()
    out = runner.invoke(cli, ["delegation", "delegate", bob.address, "--dev-key", alice.key.hex()])
    assert out.exit_code == 0, out.output
    assert f"{alice.address} delegates globally to {bob.address}" in out.output
    out = runner.invoke(cli, ["delegation", "show", alice.address])
    assert out.exit_code == 0 and f"chain      {alice.address} -> {bob.address}" in out.output
    out = runner.invoke(cli, ["delegation", "proposal", "12345"])
    assert out.exit_code == 1 and out.output.startswith("error: the API refused")
    out = runner.invoke(cli, ["delegation", "delegate", alice.address, "--dev-key", alice.key.hex()])
    assert out.exit_code == 1 and "SelfDelegation" in out.output
