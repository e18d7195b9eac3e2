"""Real stack (anvil + uvicorn + background indexer): concurrent relayed votes share the relayer's nonce
counter without collisions, are counted on chain, indexed in the background and streamed over SSE."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from co3chain.contracts.deploy import ArtifactSet, TxSender
from co3chain.sdk import Client
from tests.anvil import ANVIL
from tests.api.live import LiveStack, anvil, api_process, deploy_on, live_stack

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

VOTERS = [Account.from_key(keccak(text=f"live voter {i}")) for i in range(8)]


@pytest.fixture
def stack(tmp_path: Path, suite_artifacts: ArtifactSet) -> Iterator[LiveStack]:
    try:
        with live_stack(tmp_path, suite_artifacts) as s:
            yield s
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


def _wait_indexed(client: Client, block: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (client.health().indexedBlock or 0) < block:
        if time.monotonic() > deadline:
            raise AssertionError(f"indexer did not reach block {block}")
        time.sleep(0.1)


def test_concurrent_relayed_votes_are_all_counted(stack: LiveStack) -> None:
    pa = Client(stack.api_url, api_key=stack.pa_key)
    anon = Client(stack.api_url)
    with ThreadPoolExecutor(4) as pool:
        txs = list(pool.map(lambda v: pa.register_citizen(v.address, keccak(text=v.address), 2**40).txHash, VOTERS))
    assert all(anon.wait_for_tx(t).status == "success" for t in txs)
    now = int(stack.w3.eth.get_block("latest")["timestamp"])
    created = pa.create_proposal(description="Live ballot", vote_start=now + 5, vote_end=now + 3600)
    assert anon.wait_for_tx(created.txHash).status == "success"
    stack.increase_time(10)

    supports = [i % 3 for i in range(len(VOTERS))]
    with ThreadPoolExecutor(8) as pool:
        sent = list(pool.map(lambda vs: anon.vote(vs[0], created.proposalId, vs[1]).txHash, zip(VOTERS, supports, strict=True)))
    assert len(set(sent)) == len(VOTERS)
    statuses = [anon.wait_for_tx(t) for t in sent]
    assert all(s.status == "success" for s in statuses)

    proposal = anon.proposal(created.proposalId)
    assert proposal.results is not None
    assert (proposal.results.against, proposal.results.for_, proposal.results.abstain) == (
        str(supports.count(0)), str(supports.count(1)), str(supports.count(2)))

    _wait_indexed(anon, max(s.blockNumber or 0 for s in statuses))
    votes = anon.proposal_votes(created.proposalId)
    assert sorted(v.voter for v in votes) == sorted(v.address for v in VOTERS)
    events = list(anon.events(since=0, types=["proposal", "vote"], limit=1 + len(VOTERS)))
    assert [e.type for e in events] == ["proposal"] + ["vote"] * len(VOTERS)
    health = anon.health()
    assert health.status == "ok" and health.nodeReachable

    # A transaction mined as failed: /v1/tx names the contract's error (recovered by replaying it).
    gov = stack.state.chain.governance
    sender = TxSender(stack.w3, stack.deployer)
    failed = sender.send({"to": gov.address, "data": gov.encode_abi("castVote", [int(created.proposalId), 1]),
                          "gas": 200_000}, "vote by a non-citizen")
    status = anon.wait_for_tx(failed)
    assert status.status == "failed" and status.error is not None and status.error.startswith("NoVotingWeight(")


def test_cli_serve_subprocess_answers_and_relays(tmp_path: Path, suite_artifacts: ArtifactSet) -> None:
    """``co3chain api serve`` from files: health with chain head, a PA write, a live read."""
    if not ANVIL.exists():
        pytest.skip(f"anvil not installed at {ANVIL}")
    with anvil() as rpc_url:
        w3, manifest = deploy_on(rpc_url, suite_artifacts)
        with api_process(tmp_path, rpc_url, manifest) as (url, pa_key):
            anon, pa = Client(url), Client(url, api_key=pa_key)
            health = anon.health()
            assert health.chainId == w3.eth.chain_id and health.chainHead == w3.eth.block_number
            tx = pa.register_citizen(VOTERS[0].address, b"\x07" * 32, 2**40).txHash
            assert anon.wait_for_tx(tx).status == "success"
            assert anon.citizen(VOTERS[0].address).isCitizen
            assert anon.deployment()["chainId"] == w3.eth.chain_id
