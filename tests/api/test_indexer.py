"""The indexer resumes from its last committed block after a restart, never duplicates rows, and keeps
running (backing off, reporting in /v1/health) while the node is unreachable."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient
from web3 import HTTPProvider, Web3

from co3chain.api.app import create_app
from co3chain.api.chain import ChainContext
from co3chain.api.config import IndexerSettings
from co3chain.api.indexer import Indexer
from co3chain.api.state import ApiState
from co3chain.api.store import ApiStore
from co3chain.sdk import Client
from tests.api.conftest import CITIZENS, World


def _ok(client: Client, tx_hash: str) -> None:
    assert client.wait_for_tx(tx_hash, timeout=10).status == "success"


def _counts(store: ApiStore) -> tuple[int, int, int]:
    return tuple(store.query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"] for t in ("proposals", "votes", "feed"))


def test_restart_resumes_from_last_indexed_block(world: World, tmp_path) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    _ok(pa, pa.register_citizen(CITIZENS[0].address, b"\x01" * 32, world.now() + 10**6).txHash)
    now = world.now()
    first = pa.create_proposal(description="first", vote_start=now + 5, vote_end=now + 100)
    _ok(pa, first.txHash)
    # AccountPaSet (deploy binds the officer to PA 1), CitizenRegistered + CitizenPaSet,
    # ProposalCreated + ProposalElectorate
    assert world.sync() == 5
    last = world.state.store.last_block()
    assert last == world.w3.eth.block_number
    before = _counts(world.state.store)
    assert before == (1, 0, 1)

    # "Restart": a new store and indexer on the same database file.
    store = ApiStore(world.state.store.path)
    restarted = Indexer(world.state.chain, store)
    assert restarted.next_block() == last + 1
    assert restarted.sync_once() == 0
    assert _counts(store) == before

    second = pa.create_proposal(description="second", vote_start=world.now() + 5, vote_end=world.now() + 100)
    _ok(pa, second.txHash)
    world.travel(now + 10)
    _ok(anon, anon.vote(CITIZENS[0], first.proposalId, 1).txHash)
    assert restarted.sync_once() == 3  # ProposalCreated + ProposalElectorate, VoteCast
    assert _counts(store) == (2, 1, 3)
    kinds = [r["type"] for r in store.feed_after(0)]
    assert kinds == ["proposal", "proposal", "vote"]
    store.close()


def test_unreachable_node_backs_off_and_health_says_so(world: World, suite_artifacts) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    dead = Web3(HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 2}))
    chain = ChainContext.from_manifest(dead, world.manifest, suite_artifacts)
    store = ApiStore(":memory:")
    indexer = Indexer(chain, store, IndexerSettings(poll_interval=0.5, max_backoff=4.0))
    delays = [indexer.step() for _ in range(4)]
    assert delays == [1.0, 2.0, 4.0, 4.0]
    assert not indexer.status.node_reachable and "Connection" in (indexer.status.last_error or "")

    state = ApiState(chain=chain, store=store, indexer=indexer, relayer=None, run_indexer=False)
    with TestClient(create_app(state)) as http:
        health = http.get("/v1/health")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "degraded" and body["nodeReachable"] is False and body["chainHead"] is None
        citizen = http.get(f"/v1/citizens/{CITIZENS[0].address}")
        assert citizen.status_code == 503 and citizen.json()["error"]["code"] == "node_unavailable"
        relay = http.post("/v1/relay/reveal", json={"proposalId": "1", "voter": CITIZENS[0].address, "support": 1,
                                                    "salt": "0x" + "00" * 32})
        assert relay.status_code == 503

    # The node is back: the same indexer object recovers on its next round.
    indexer.chain = world.state.chain
    assert indexer.step() == 0.5
    assert indexer.status.node_reachable and indexer.status.failures == 0


def test_manifest_for_another_chain_is_refused(world: World, suite_artifacts) -> None:
    wrong = {**world.manifest, "chainId": world.state.chain.chain_id + 1}
    chain = ChainContext.from_manifest(world.w3, wrong, suite_artifacts)
    indexer = Indexer(chain, ApiStore(":memory:"))
    assert indexer.step() > 0
    assert "manifest is for chain" in (indexer.status.last_error or "")
    assert indexer.store.last_block() is None
