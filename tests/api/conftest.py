"""Fixtures for API tests: an eth-tester chain with the CO3 suite deployed by ``deploy_suite`` and an API
app built from an ``api.toml``-equivalent config, served through FastAPI's TestClient.

Why eth-tester: it mines each transaction instantly and lets tests move the clock (voting windows), so the
full relay path (signature → pre-flight → relayer tx → event → index) runs in-process without a node.
The indexer thread is not started: tests call ``state.indexer.sync_once()`` where a real server would poll.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import keccak
from fastapi.testclient import TestClient
from web3 import EthereumTesterProvider, Web3

from co3chain.api.app import build_state, create_app
from co3chain.api.config import new_api_key, parse_config
from co3chain.api.state import ApiState
from co3chain.contracts import compiler
from co3chain.contracts.deploy import ArtifactSet, deploy_suite
from co3chain.sdk import Client

DEPLOYER = Account.from_key(keccak(text="api test deployer"))
RELAYER = Account.from_key(keccak(text="api test relayer"))
OUTSIDER_PA = Account.from_key(keccak(text="api test pa without roles"))
ORACLE_KEYS = [keccak(text=f"api test oracle {i}") for i in range(3)]
CITIZENS = [Account.from_key(keccak(text=f"api test citizen {i}")) for i in range(4)]


@pytest.fixture(scope="session")
def suite_artifacts() -> ArtifactSet:
    if compiler.artifacts_are_fresh():
        return ArtifactSet.committed()
    return ArtifactSet.from_build(compiler.compile_project())


@dataclass
class World:
    """A deployed suite, the API app around it and clients for the PA and for anonymous callers."""

    w3: Web3
    tester: EthereumTester
    manifest: dict[str, Any]
    state: ApiState
    app: Any
    http: TestClient
    pa_key: str
    outsider_key: str
    limited_key: str

    def client(self, api_key: str | None = None) -> Client:
        return Client("http://testserver", api_key=api_key, http=self.http)

    def sync(self) -> int:
        return self.state.indexer.sync_once()

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel(self, timestamp: int) -> None:
        """Next block at ``timestamp``; one empty block mined at ``timestamp - 1``."""
        self.tester.time_travel(timestamp)

    def contract(self, name: str) -> Any:
        return self.state.chain.contracts[name]


def _fund(w3: Web3, *accounts: Any) -> None:
    for acct in accounts:
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": acct.address, "value": Web3.to_wei(100, "ether")})


#: Seconds the test consortium's timelock holds a change (governance tests warp past it).
TIMELOCK_DELAY = 60


def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts: ArtifactSet,
               max_body_bytes: int = 4096, handover: bool = False) -> World:
    """The API over a deployed suite.  ``handover=False`` (most API tests) leaves the deployer admin so tests
    can configure services and roles directly; ``handover=True`` is the production wiring (timelock admin)."""
    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    _fund(w3, DEPLOYER, RELAYER, OUTSIDER_PA)
    manifest = deploy_suite(w3, DEPLOYER, oracle_signers=[Account.from_key(k).address for k in ORACLE_KEYS],
                            oracle_threshold=2, validators=[DEPLOYER.address], relayer=RELAYER.address,
                            network="eth-tester", artifacts=artifacts, timelock_delay=TIMELOCK_DELAY,
                            voting_bounds=(0, 2**40, 1, 2**40), handover=handover)
    pa_key, pa_hash = new_api_key()
    outsider_key, outsider_hash = new_api_key()
    limited_key, limited_hash = new_api_key()
    monkeypatch.setenv("CO3_TEST_RELAYER_KEY", RELAYER.key.hex())
    monkeypatch.setenv("CO3_TEST_PA_KEY", DEPLOYER.key.hex())
    monkeypatch.setenv("CO3_TEST_OUTSIDER_KEY", OUTSIDER_PA.key.hex())
    config = parse_config({
        "api": {"db": "api.sqlite", "max_body_bytes": max_body_bytes},
        "relayer": {"private_key_env": "CO3_TEST_RELAYER_KEY"},
        "keys": [
            {"hash": pa_hash, "pa": "Comune di Test", "private_key_env": "CO3_TEST_PA_KEY", "rate": 100, "burst": 100},
            {"hash": outsider_hash, "pa": "Comune Senza Ruoli", "private_key_env": "CO3_TEST_OUTSIDER_KEY"},
            {"hash": limited_hash, "pa": "Comune Lento", "private_key_env": "CO3_TEST_OUTSIDER_KEY", "rate": 0.001,
             "burst": 1},
        ],
    }, tmp_path)
    state = build_state(config, manifest, w3=w3, artifacts=artifacts)
    state.run_indexer = False
    state.sse_poll_interval = 0.05
    app = create_app(state, max_body_bytes=config.max_body_bytes)
    http = TestClient(app)
    return World(w3, tester, manifest, state, app, http, pa_key, outsider_key, limited_key)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suite_artifacts: ArtifactSet) -> Iterator[World]:
    w = make_world(tmp_path, monkeypatch, suite_artifacts)
    with w.http:
        yield w
    w.state.store.close()
