"""End to end on eth-tester: PA writes through the API, citizens' actions signed in the SDK and relayed,
results and indexed lists read back, and the clear 4xx for every bad input on the relay path."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from co3chain.api import models as m
from co3chain.sdk import ApiClientError, Client
from tests.api.conftest import CITIZENS, DEPLOYER, ORACLE_KEYS, World
from tests.api.helpers import PARK, admin_call, reward


def _ok(client: Client, tx_hash: str) -> None:
    status = client.wait_for_tx(tx_hash, timeout=10)
    assert status.status == "success", status


def _register(world: World, pa: Client, *citizens) -> None:
    for c in citizens:
        _ok(pa, pa.register_citizen(c.address, keccak(text=f"identity {c.address}"), world.now() + 10**7).txHash)


def _proposal(world: World, pa: Client, **kw) -> str:
    now = world.now()
    args = {"description": f"Plant trees {now}", "vote_start": now + 5, "vote_end": now + 1000, **kw}
    created = pa.create_proposal(**args)
    _ok(pa, created.txHash)
    return created.proposalId


def _expect(status: int, code: str, fn, *args, **kw) -> ApiClientError:
    with pytest.raises(ApiClientError) as info:
        fn(*args, **kw)
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


def test_vote_signed_in_sdk_is_relayed_and_counted(world: World) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    alice, bob, carol = CITIZENS[:3]
    _register(world, pa, alice, bob)
    pid = _proposal(world, pa)
    assert anon.proposal(pid).state == "Pending"
    world.travel(world.now() + 10)

    sent = anon.vote(alice, pid, 1)
    _ok(anon, sent.txHash)
    proposal = anon.proposal(pid)
    assert proposal.state == "Active"
    assert proposal.results is not None and (proposal.results.for_, proposal.results.against) == ("1", "0")

    world.sync()
    votes = anon.proposal_votes(pid)
    assert [(v.voter, v.type, v.support, v.weight) for v in votes] == [(alice.address, "cast", 1, "1")]
    assert [p.id for p in anon.proposals()] == [pid]
    assert anon.proposal(pid).description.startswith("Plant trees")

    # The same signed ballot again: its nonce is consumed.
    replay = anon.sign_vote(alice, pid, 1, nonce=0)
    err = _expect(409, "wrong_nonce", anon.relay_vote, replay)
    assert "nonce 0" in err.message
    # A fresh nonce, but alice already voted: the contract's error, before any gas is spent.
    err = _expect(409, "already_voted", anon.vote, alice, pid, 2)
    assert "AlreadyVoted" in err.message
    # Signed by bob, claimed for carol.
    forged = anon.sign_vote(bob, pid, 1).model_copy(update={"voter": carol.address})
    _expect(400, "invalid_signature", anon.relay_vote, forged)
    # Carol signs for herself but is no citizen: NoVotingWeight from the pre-flight.
    err = _expect(422, "contract_rejected", anon.vote, carol, pid, 1)
    assert "NoVotingWeight" in err.message
    # Unknown proposal.
    _expect(404, "unknown_proposal", anon.vote, alice, 12345, 1)
    _expect(404, "unknown_proposal", anon.proposal, 12345)
    assert anon.proposal(pid).results.for_ == "1"


def test_events_stream_new_proposals_and_votes(world: World) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    alice = CITIZENS[0]
    _register(world, pa, alice)
    pid = _proposal(world, pa)
    world.travel(world.now() + 10)
    _ok(anon, anon.vote(alice, pid, 0).txHash)
    world.sync()
    events = list(anon.events(since=0, limit=2))
    assert [e.type for e in events] == ["proposal", "vote"]
    assert events[0].data["proposalId"] == pid and events[1].data["support"] == 0
    assert events[1].id > events[0].id
    only_votes = list(anon.events(since=0, types=["vote"], limit=1))
    assert only_votes[0].data["voter"] == alice.address
    # A reconnecting browser sends Last-Event-ID: the stream resumes after it.
    with world.http.stream("GET", "/v1/events", params={"limit": 1},
                           headers={"Last-Event-ID": str(events[0].id)}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    assert f"id: {events[1].id}\nevent: vote\n" in text and "event: proposal" not in text


def test_commit_reveal_results_hidden_until_reveal_phase(world: World) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    alice, bob = CITIZENS[:2]
    _register(world, pa, alice, bob)
    now = world.now()
    pid = _proposal(world, pa, commit_reveal=True, vote_start=now + 5, vote_end=now + 100, reveal_end=now + 200)
    world.travel(now + 10)
    tx_a, salt_a = anon.commit(alice, pid, 1)
    tx_b, salt_b = anon.commit(bob, pid, 0)
    _ok(anon, tx_a.txHash)
    _ok(anon, tx_b.txHash)
    hidden = anon.proposal(pid)
    assert (hidden.state, hidden.resultsHidden, hidden.results) == ("Active", True, None)
    assert anon.voter_status(pid, alice.address).commitment is not None

    world.travel(now + 150)
    _expect(400, "commitment_mismatch", anon.reveal, alice.address, pid, 0, salt_a)
    _expect(409, "no_commitment", anon.reveal, CITIZENS[3].address, pid, 1, salt_a)
    _ok(anon, anon.reveal(alice.address, pid, 1, salt_a).txHash)
    revealing = anon.proposal(pid)
    assert (revealing.state, revealing.resultsHidden) == ("Revealing", False)
    assert (revealing.results.for_, revealing.results.against) == ("1", "0")
    world.sync()
    assert [v.type for v in anon.proposal_votes(pid)] == ["committed", "committed", "revealed"]


def test_delegate_spend_and_citizen_view(world: World) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    alice, bob = CITIZENS[:2]
    service = CITIZENS[3].address
    _register(world, pa, alice)
    area = pa.create_area(PARK, "ipfs://park")
    _ok(pa, area.txHash)
    now = world.now()
    _ok(pa, pa.create_activity(1, kind=0, starts_at=now - 10, ends_at=now + 10**6, token_reward=50,
                               reputation_reward=7).txHash)
    reward(world, DEPLOYER, ORACLE_KEYS, alice.address, 1)
    world.sync()

    citizen = anon.citizen(alice.address)
    assert citizen.isCitizen and citizen.balance == "50" and citizen.votingPower == "50"
    assert citizen.reputation.global_ == "7" and citizen.reputation.areas == {"1": "7"}
    assert [a.activityId for a in anon.citizen_attestations(alice.address)] == [1]

    _ok(anon, anon.delegate(alice, bob.address, expiry=world.now() + 3600).txHash)
    assert anon.citizen(alice.address).delegate == bob.address
    assert anon.citizen(bob.address).votingPower == "50"
    _expect(409, "wrong_nonce", anon.delegate, alice, bob.address, world.now() + 3600, nonce=0)

    ref = keccak(text="bus ticket")
    _expect(422, "contract_rejected", anon.spend, alice, service, 20, ref, world.now() + 3600)
    admin_call(world, DEPLOYER, "CommonsToken", "setService", service, True, True)
    _expect(400, "signature_expired", anon.spend, alice, service, 20, ref, world.now() - 1)
    _expect(409, "wrong_nonce", anon.spend, alice, service, 20, ref, world.now() + 3600, nonce=5)
    _ok(anon, anon.spend(alice, service, 20, ref, world.now() + 3600).txHash)
    assert anon.citizen(alice.address).balance == "30"


def test_tx_status_and_health(world: World) -> None:
    anon = world.client()
    _expect(404, "unknown_transaction", anon.tx, "0x" + "ab" * 32)
    health = anon.health()
    assert health.status == "ok" and health.nodeReachable and health.chainHead == world.w3.eth.block_number
    world.sync()
    health = anon.health()
    assert health.indexedBlock == world.w3.eth.block_number and health.indexerLag == 0
    assert anon.deployment()["contracts"]["CO3Governance"]["address"] == world.contract("CO3Governance").address
    assert isinstance(health, m.Health)


def test_same_signed_vote_is_not_broadcast_twice_while_pending(world: World) -> None:
    """A copy of a signed ballot that arrives before the first is mined passes the nonce check (it reads the
    latest block), so without the in-flight guard the relayer would pay for a second, failing transaction."""
    pa, anon = world.client(world.pa_key), world.client()
    alice = CITIZENS[0]
    _register(world, pa, alice)
    pid = _proposal(world, pa)
    world.travel(world.now() + 10)
    relayer = world.state.relayer.address
    ballot = anon.sign_vote(alice, pid, 1, nonce=0)

    world.tester.disable_auto_mine_transactions()
    try:
        nonce_before = world.w3.eth.get_transaction_count(relayer)
        first = anon.relay_vote(ballot)
        err = _expect(409, "already_relayed", anon.relay_vote, ballot)
        assert first.txHash in err.message
    finally:
        world.tester.enable_auto_mine_transactions()
    world.tester.mine_blocks(1)
    _ok(anon, first.txHash)
    assert world.w3.eth.get_transaction_count(relayer) == nonce_before + 1  # one transaction was sent, not two
    assert anon.proposal(pid).results.for_ == "1"
    # Once mined, the guard steps aside and the contract-level answer applies.
    _expect(409, "wrong_nonce", anon.relay_vote, ballot)


def test_status_filter_reads_live_state_only_for_candidates(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from co3chain.api.routes import read

    pa, anon = world.client(world.pa_key), world.client()
    now = world.now()
    ended = _proposal(world, pa, description="ended", vote_start=now + 5, vote_end=now + 20)
    active = _proposal(world, pa, description="active", vote_start=now + 5, vote_end=now + 5000)
    future = _proposal(world, pa, description="future", vote_start=now + 4000, vote_end=now + 9000)
    world.travel(now + 1000)
    world.sync()
    live = {p.id: p.state for p in anon.proposals()}
    assert live == {ended: "Defeated", active: "Active", future: "Pending"}

    reads: list[int] = []
    original = read.proposal_model
    monkeypatch.setattr(read, "proposal_model", lambda state, pid, row=None: reads.append(pid) or original(state, pid, row))
    # (status, expected ids, proposals read live): only those whose vote windows allow the state
    for status, expected, candidates in (("Active", [active], 1), ("Pending", [future], 1),
                                         ("Defeated", [ended], 1), ("Succeeded", [], 1),
                                         ("Canceled", [], 3)):  # a cancel the indexer has not seen yet
        reads.clear()
        assert [p.id for p in anon.proposals(status=status)] == expected, status
        assert len(reads) == candidates, (status, reads)


def test_possible_states_follow_the_contracts_time_rules() -> None:
    from co3chain.api.routes.read import STATE_PREFILTER_SLACK as S
    from co3chain.api.routes.read import possible_states

    row = {"canceled": 0, "vote_start": 1000, "vote_end": 2000, "commit_reveal": 1, "reveal_end": 3000}
    assert possible_states(row, 500) == {"Pending", "Canceled"}
    assert possible_states(row, 1500) == {"Active", "Canceled"}
    assert possible_states(row, 2500) == {"Revealing", "Canceled"}
    assert possible_states(row, 5000) == {"Succeeded", "Defeated", "Queued", "Expired", "Executed", "Canceled"}
    assert possible_states(row, 1000 + S // 2) == {"Pending", "Active", "Canceled"}  # near an edge: both
    assert possible_states({**row, "commit_reveal": 0}, 2500) == {"Succeeded", "Defeated", "Queued", "Expired", "Executed", "Canceled"}
    assert possible_states({**row, "canceled": 1}, 1500) == {"Canceled"}
