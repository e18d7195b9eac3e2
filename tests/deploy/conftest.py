"""Fixtures for deployment tests: the artifact set, an eth-tester chain and an anvil node.

Why ``suite_artifacts`` compiles when the committed artifacts are stale: contracts are edited in parallel
with this code; deployment must be tested against the sources as they are, and the manifest's compiler and
source hashes must then match that very build.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from co3chain.contracts import compiler
from co3chain.contracts.deploy import ArtifactSet
from tests.anvil import ZERO_FEE_FLAGS, require_anvil
from tests.anvil import running_anvil as launch_anvil

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def suite_artifacts() -> ArtifactSet:
    if compiler.artifacts_are_fresh():
        return ArtifactSet.committed()
    return ArtifactSet.from_build(compiler.compile_project())


@pytest.fixture
def use_suite_artifacts(monkeypatch: pytest.MonkeyPatch, suite_artifacts: ArtifactSet) -> ArtifactSet:
    """Make code that loads the committed artifacts (the CLI) use the working-tree build instead."""
    monkeypatch.setattr(ArtifactSet, "committed", classmethod(lambda cls, *a, **k: suite_artifacts))
    return suite_artifacts


@pytest.fixture
def tester_w3() -> Web3:
    return Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))


@pytest.fixture
def funded_account(tester_w3: Web3):
    """A LocalAccount with 1,000 ETH on the eth-tester chain (not known to the tester: signs locally)."""
    acct = Account.from_key(b"\x00" * 31 + b"\x42")
    tester_w3.eth.send_transaction(
        {"from": tester_w3.eth.accounts[0], "to": acct.address, "value": Web3.to_wei(1000, "ether")}
    )
    return acct


@contextmanager
def running_anvil(*extra: str) -> Iterator[str]:
    """anvil (cancun) on a free port with ``extra`` flags; skips the test when anvil is not installed."""
    require_anvil()
    with launch_anvil(*extra) as url:
        yield url


@pytest.fixture
def anvil_url() -> Iterator[str]:
    """A fresh anvil (cancun) on a free port, stopped after the test."""
    with running_anvil() as url:
        yield url


@pytest.fixture
def zero_fee_anvil_url() -> Iterator[str]:
    """anvil configured like our permissioned chain: zero base fee and zero gas price."""
    with running_anvil(*ZERO_FEE_FLAGS) as url:
        yield url


@pytest.fixture
def artifacts_dir(tmp_path: Path, suite_artifacts: ArtifactSet) -> Path:
    """The working-tree build written as an artifacts directory (for subprocesses: $CO3CHAIN_ARTIFACTS)."""
    out = tmp_path / "artifacts"
    compiler.write_artifacts(compiler.BuildResult(dict(suite_artifacts.artifacts), suite_artifacts.build_info), out)
    return out
