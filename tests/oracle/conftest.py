"""Fixtures for oracle tests that need a deployed reward suite (eth-tester in-process)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from co3chain.oracle.config import KeySpec, OracleConfig
from co3chain.oracle.service import OracleService
from tests.oracle.chain_helpers import abi_for, deploy_reward_suite, register_citizen, seed_area
from tests.oracle.helpers import AR, CITIZEN, SIGNER_KEYS, SIGNERS, SOCIAL, SQUARE

ADMIN_KEY = b"\x00" * 31 + b"\x01"


@pytest.fixture
def tester_w3() -> Web3:
    w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
    funder = w3.eth.accounts[0]
    for key in [ADMIN_KEY, *SIGNER_KEYS]:
        w3.eth.send_transaction({"from": funder, "to": Account.from_key(key).address,
                                 "value": w3.to_wei(100, "ether")})
    return w3


def _now(w3: Web3) -> int:
    return max(int(time.time()), int(w3.eth.get_block("latest")["timestamp"]))


@pytest.fixture
def suite(tester_w3: Web3):
    """Reward suite with a 2-of-3 hub, area 1 (the Turin square), check-in activity 1 (10 tokens),
    social-post activity 2 (3 tokens), one citizen."""
    admin = Account.from_key(ADMIN_KEY)
    s = deploy_reward_suite(tester_w3, admin, SIGNERS, 2)
    now = _now(tester_w3)
    seed_area(s, SQUARE, starts=now - 3600, ends=now + 86_400)
    s.call(s.areas, "createActivity", 1, 1, 3, 1, now - 3600, now + 86_400, 0)  # activity 2: social posts
    register_citizen(s, CITIZEN, now + 365 * 86_400)
    return s


def make_config(tmp_path, name: str, suite: Any, key_index: int, monkeypatch, *, submit: bool,
                areas: dict[int, Any] | None = None) -> OracleConfig:
    env = f"CO3_TEST_ORACLE_KEY_{key_index}"
    monkeypatch.setenv(env, SIGNER_KEYS[key_index].hex())
    return OracleConfig(db=str(tmp_path / f"{name}.db"), host="127.0.0.1", port=0, rpc_url="unused",
                        signer=KeySpec(private_key_env=env), sources=[AR, SOCIAL], addresses=suite.addresses,
                        submit=submit, areas=areas if areas is not None else {1: tmp_path / "area1.geojson"},
                        poll_interval=0.05)


@pytest.fixture
def services(tmp_path, suite, monkeypatch):
    """Lead operator (signer 0, submits) and two co-signers (signers 1, 2) wired in-process."""
    import json

    from co3chain.oracle.operator import LocalCosigner

    (tmp_path / "area1.geojson").write_text(json.dumps(SQUARE))
    peers = [OracleService(make_config(tmp_path, f"peer{i}", suite, i, monkeypatch, submit=False),
                           w3=suite.w3, abi_for=abi_for) for i in (1, 2)]
    lead = OracleService(make_config(tmp_path, "lead", suite, 0, monkeypatch, submit=True), w3=suite.w3,
                         abi_for=abi_for)
    lead.operator.cosigners = [LocalCosigner(p.operator) for p in peers]
    yield lead, peers
    for svc in [lead, *peers]:
        svc.store.close()
