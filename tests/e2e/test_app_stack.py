"""End to end on our own node: AR check-in → 2-of-3 oracle attestation → API/SDK; gasless votes through the
relayer; an oracle lead crash between signing and submission; a node restart under the API and the oracle.

Every process is real (node, ``co3chain api serve``, three ``co3chain oracle run``); no account involved
holds Ether (zero gas price). Each scenario uses its own citizen, event ids and proposal.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
from click.testing import CliRunner

from co3chain.audit.proposal import ProposalAuditOptions, audit_proposal
from co3chain.audit.rpc import RpcClient
from co3chain.cli import cli
from co3chain.oracle.store import SqliteQueueStore
from co3chain.sdk import ApiClientError
from tests.e2e.stack import (
    AREA_ID,
    FINAL_STATES,
    RELAYER,
    REPUTATION_REWARD,
    TOKEN_REWARD,
    Stack,
    stop_process,
    wait_for,
)
from tests.node.procs import NodeProcess
from tests.oracle.cluster import READER
from tests.oracle.helpers import checkin_body

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _node(stack: Stack) -> NodeProcess:
    assert stack.node is not None, "these scenarios run on the single-validator stack"
    return stack.node


def test_checkin_webhook_to_tokens_and_reputation_in_api_and_sdk(stack: Stack) -> None:
    citizen = stack.new_citizen("checkin")
    aid = stack.checkin(citizen, f"e2e-checkin-{citizen.address}")
    ev = stack.confirmed(aid)

    # On chain: one AttestationAccepted with the activity's rewards, carried by a submitBatch with 2 of the
    # 3 oracle signatures (the hub itself checked that they are distinct current signers).
    logs = stack.accepted_events(aid)
    assert len(logs) == 1 and logs[0]["args"]["subject"] == citizen.address
    assert (logs[0]["args"]["tokenReward"], logs[0]["args"]["reputationReward"]) == (TOKEN_REWARD, REPUTATION_REWARD)
    hub = stack.contracts["AttestationHub"]
    fn, args = hub.decode_function_input(stack.w3.eth.get_transaction(ev["tx_hash"])["input"])
    assert fn.fn_name == "submitBatch"
    mine = [i for i, a in enumerate(args["a"]) if "0x" + bytes(a["id"]).hex() == aid]
    assert len(mine) == 1 and len(args["signatures"][mine[0]]) == 2
    # Each co-signer validated and signed the event on its own (own queue, own chain reads).
    peer_states = [httpx.get(f"{p.url}/oracle/v1/events/{aid}", headers=READER, timeout=10).json()["state"]
                   for p in stack.cluster.operators[1:]]
    assert "signed" in peer_states, peer_states

    # Through the API (raw HTTP) and the SDK: tokens and reputation of the citizen, who holds no Ether.
    assert stack.w3.eth.get_balance(citizen.address) == 0
    raw = httpx.get(f"{stack.api.url}/v1/citizens/{citizen.address}", timeout=10)
    assert raw.status_code == 200, raw.text
    body = raw.json()
    assert body["balance"] == str(TOKEN_REWARD)
    # Reputation decays lazily (half-life 180 days) and reads round to the nearest point: the reward reads
    # exactly the reward in its block and for weeks after (5 * 2^(-t / 180 days) stays above 4.5 for 27 days),
    # whichever block is the head when the API answers.
    awarded = str(REPUTATION_REWARD)
    assert body["reputation"]["global"] == awarded
    assert body["reputation"]["areas"][str(AREA_ID)] == awarded
    sdk = stack.anon.citizen(citizen.address)
    assert sdk.isCitizen and sdk.balance == str(TOKEN_REWARD) and sdk.votingPower == str(TOKEN_REWARD)
    assert sdk.reputation.areas[str(AREA_ID)] == awarded
    # ... and indexed by the API's background indexer.
    stack.wait_indexed(ev["block"])
    indexed = stack.anon.citizen_attestations(citizen.address)
    assert [(a.id, a.tokenReward, a.blockNumber) for a in indexed] == [(aid, str(TOKEN_REWARD), ev["block"])]

    # The same webhook again: acknowledged as a duplicate, never rewarded twice.
    replay = stack.cluster.post_checkin(stack.sent[aid])
    assert replay.status_code == 200 and replay.json() == {"attestation_id": aid, "state": "confirmed",
                                                           "duplicate": True}
    # Same event id, different content (e.g. a forged later timestamp): refused, not a second event.
    altered = stack.cluster.post_checkin(checkin_body(
        f"e2e-checkin-{citizen.address}", key=citizen.key, timestamp=int(time.time()) - 1))
    assert altered.status_code == 409, altered.text
    assert len(stack.accepted_events(aid)) == 1
    assert stack.anon.citizen(citizen.address).balance == str(TOKEN_REWARD)


def test_sdk_signed_vote_relayed_counted_and_replay_refused(stack: Stack) -> None:
    voter, other = stack.new_citizen("voter"), stack.new_citizen("voter-against")
    pid = stack.open_proposal("ballot")
    assert stack.w3.eth.get_balance(voter.address) == 0  # gasless: the relayer pays (zero gas price anyway)

    signed = stack.anon.sign_vote(voter, pid, 1)  # signed locally with the citizen's LocalAccount
    status = stack.wait_tx(stack.anon.relay_vote(signed).txHash)
    against = stack.wait_tx(stack.anon.vote(other, pid, 0).txHash)

    proposal = stack.anon.proposal(pid)
    assert proposal.state == "Active"
    assert proposal.results is not None
    assert (proposal.results.for_, proposal.results.against, proposal.results.abstain) == ("1", "1", "0")
    assert stack.anon.voter_status(pid, voter.address).hasVoted

    # The very same signed ballot again: refused before anything is broadcast.
    relayer_nonce = stack.w3.eth.get_transaction_count(RELAYER.address)
    with pytest.raises(ApiClientError) as refused:
        stack.anon.relay_vote(signed)
    assert refused.value.status == 409, refused.value
    assert stack.w3.eth.get_transaction_count(RELAYER.address) == relayer_nonce
    after = stack.anon.proposal(pid).results
    assert after is not None and (after.for_, after.against) == ("1", "1")

    stack.wait_indexed(max(status.blockNumber or 0, against.blockNumber or 0))
    votes = {v.voter: v for v in stack.anon.proposal_votes(pid)}
    assert set(votes) == {voter.address, other.address}
    assert votes[voter.address].support == 1 and votes[voter.address].txHash == status.txHash


def test_erasure_deletes_off_chain_evidence_and_audits_still_pass(stack: Stack) -> None:
    """Issue 19: ``co3chain privacy erase`` on every operator deletes a citizen's bodies and salts; the reward
    and the vote stay on chain, and the proposal audit (which trusts only the chain) still passes."""
    citizen = stack.new_citizen("erased")
    pid = stack.open_proposal("after an erasure")
    aid = stack.checkin(citizen, f"e2e-erase-{citizen.address}")
    stack.confirmed(aid)
    stack.wait_tx(stack.anon.vote(citizen, pid, 1).txHash)
    balance = stack.balance(citizen.address)

    for op in stack.cluster.operators:
        erased = CliRunner().invoke(cli, ["privacy", "erase", "--citizen", citizen.address, "--oracle-db",
                                          str(op.db), "--yes", "--json", "--log", str(stack.workdir / "privacy.log")])
        assert erased.exit_code == 0, erased.output
        assert json.loads(erased.output)["complete"], erased.output
    store = SqliteQueueStore(str(stack.cluster.operators[0].db))
    try:
        item = store.get(aid)
        assert item is not None and item.body == b"" and item.evidence_salt is None and item.erased_at is not None
    finally:
        store.close()

    assert stack.balance(citizen.address) == balance  # what the chain holds stays
    report = audit_proposal(RpcClient(stack.w3.provider.endpoint_uri), stack.manifest, pid,
                            ProposalAuditOptions(progress=False))
    assert report.passed, [f.line() for f in report.findings]


@pytest.mark.parametrize("fault", ["after_record", "after_broadcast"])
def test_oracle_lead_crash_between_signing_and_submission(stack: Stack, fault: str) -> None:
    citizen = stack.new_citizen(f"crash-{fault}")
    lead = stack.cluster.lead
    stop_process(lead.proc)
    try:
        stack.cluster.start(lead, {"CO3CHAIN_ORACLE_FAULT": fault})
        nonce_before = stack.submitter_nonce()
        aid = stack.checkin(citizen, f"e2e-crash-{fault}-{citizen.address}")
        assert lead.proc is not None
        assert lead.proc.wait(timeout=120) == -9  # SIGKILLed by the fault hook

        if fault == "after_record":  # recorded, never broadcast: nothing reaches the chain while it is down
            _node(stack).wait_height(_node(stack).block_number() + 2, timeout=30)
            assert stack.accepted_events(aid) == [] and stack.submitter_nonce() == nonce_before
        else:  # broadcast before dying: the node mines it without the lead
            wait_for("the broadcast attestation to be mined", lambda: stack.accepted_events(aid), 60)

        stack.cluster.start(lead)  # restart without the fault
        ev = stack.confirmed(aid)
    finally:
        if lead.proc is None or lead.proc.poll() is not None:
            stack.cluster.start(lead)  # leave a healthy lead for the other scenarios
    assert len(stack.accepted_events(aid)) == 1
    assert stack.submitter_nonce() == nonce_before + 1  # exactly one submitBatch for this event
    assert stack.balance(citizen.address) == TOKEN_REWARD
    assert stack.anon.citizen(citizen.address).balance == str(TOKEN_REWARD)
    stack.wait_indexed(ev["block"])
    assert [a.id for a in stack.anon.citizen_attestations(citizen.address)] == [aid]


def test_node_restart_api_indexer_and_oracle_recover(stack: Stack) -> None:
    citizen = stack.new_citizen("restart")
    pid = stack.open_proposal("across a restart")
    height = _node(stack).block_number()
    block_hash = stack.w3.eth.get_block(height)["hash"]

    assert _node(stack).terminate() == 0  # SIGTERM: clean shutdown
    try:
        # While the node is down: the oracle still takes the webhook (durable queue, chain reads deferred)
        # and the API reports the node unreachable instead of failing.
        aid = stack.checkin(citizen, f"e2e-restart-{citizen.address}")
        health = wait_for("the API to notice the node is down", lambda: (
            h := stack.anon.health()).nodeReachable is False and h, 30)
        assert health.status == "degraded"
        assert stack.cluster.event(aid)["state"] not in FINAL_STATES
    finally:
        _node(stack).start()
    _node(stack).wait_height(height + 1, timeout=60)
    assert stack.w3.eth.get_block(height)["hash"] == block_hash  # same chain, not a fresh one

    ev = stack.confirmed(aid, timeout=180)
    assert ev["block"] > height
    assert len(stack.accepted_events(aid)) == 1
    assert stack.anon.citizen(citizen.address).balance == str(TOKEN_REWARD)
    wait_for("the API to see the node again", lambda: stack.anon.health().status == "ok", 60)
    stack.wait_indexed(ev["block"])
    assert [a.id for a in stack.anon.citizen_attestations(citizen.address)] == [aid]

    # Relayer and PA writes work after the restart (nonces re-read, not stale).
    vote = stack.wait_tx(stack.anon.vote(citizen, pid, 2).txHash)
    results = stack.anon.proposal(pid).results
    assert results is not None and results.abstain == "1"
    stack.new_citizen("after-restart")
    stack.wait_indexed(vote.blockNumber or 0)
    assert [v.voter for v in stack.anon.proposal_votes(pid)] == [citizen.address]
    # A new check-in after the restart goes through the whole pipeline again.
    again = stack.checkin(citizen, f"e2e-restart-again-{citizen.address}")
    stack.confirmed(again)
    assert stack.balance(citizen.address) == 2 * TOKEN_REWARD
