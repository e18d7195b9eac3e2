"""The deployed suite: LiquidDelegation is bound to governance, has no admin, and the manifest names it."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from co3chain.contracts import deploy as dep
from co3chain.contracts.deploy import ArtifactSet
from tests.deploy.conftest import funded_account, suite_artifacts, tester_w3  # noqa: F401


def test_suite_binds_delegation(tester_w3: Web3, funded_account: Any, suite_artifacts: ArtifactSet) -> None:  # noqa: F811
    oracles = [Account.from_key(keccak(text=f"delegation oracle {i}")).address for i in range(2)]
    manifest = dep.deploy_suite(tester_w3, funded_account, oracle_signers=oracles, oracle_threshold=1,
                                validators=[funded_account.address], network="eth-tester",
                                artifacts=suite_artifacts)
    c = dep.contracts_from_manifest(tester_w3, manifest, suite_artifacts)
    ld, gov = c["LiquidDelegation"], c["CO3Governance"]
    assert gov.functions.delegation().call() == ld.address
    assert ld.functions.governance().call() == gov.address
    assert manifest["governance"]["delegation"] == ld.address
    assert not any(i.get("name") == "hasRole" for i in suite_artifacts.artifact("LiquidDelegation")["abi"])
    assert [w.function for w in dep.wiring_calls({"CO3Governance": gov.address, "LiquidDelegation": ld.address})] \
        == ["bindDelegation"]
