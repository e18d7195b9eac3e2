"""CitizenInitiatives in the deployed suite (production wiring): administered by the timelock, proposer on the
governance, relayer wired, default threshold from the deploy parameters, no externally owned account in power."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import keccak
from web3 import EthereumTesterProvider, Web3

from co3chain.contracts import deploy as dep
from co3chain.contracts.deploy import ArtifactSet, DeployError, check_handover

DEPLOYER = Account.from_key(keccak(text="initiative deploy test deployer"))
RELAYER = Account.from_key(keccak(text="initiative deploy test relayer")).address


def test_production_deploy_wires_initiatives(suite_artifacts: ArtifactSet) -> None:
    w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": DEPLOYER.address, "value": 10**21})
    manifest = dep.deploy_suite(w3, DEPLOYER, oracle_signers=[RELAYER], oracle_threshold=1,
                                validators=[DEPLOYER.address], relayer=RELAYER, artifacts=suite_artifacts,
                                initiative_threshold=(0, 25, 7 * 86_400))
    contracts = dep.contracts_from_manifest(w3, manifest, suite_artifacts)
    ci, gov = contracts["CitizenInitiatives"], contracts["CO3Governance"]
    timelock = contracts["ConsortiumTimelock"].address
    assert ci.functions.governance().call() == gov.address
    assert ci.functions.electorates().call() == contracts["CitizenRegistry"].address
    assert gov.functions.hasRole(dep.role_id("PROPOSER_ROLE"), ci.address).call()
    assert ci.functions.hasRole(dep.role_id("RELAYER_ROLE"), RELAYER).call()
    assert ci.functions.hasRole(dep.role_id("DEFAULT_ADMIN_ROLE"), timelock).call()
    assert not ci.functions.hasRole(dep.role_id("DEFAULT_ADMIN_ROLE"), DEPLOYER.address).call()
    assert ci.functions.thresholdOf(0).call() == [(0, 25, 7 * 86_400), False]
    assert manifest["governance"]["initiativeThreshold"] == {"kind": 0, "value": 25, "collectionWindow": 604_800}
    assert manifest["contracts"]["CitizenInitiatives"]["constructorArgs"]["decoded"]["admin"] == DEPLOYER.address
    abis = {n: suite_artifacts.artifact(n)["abi"] for n in dep.SUITE}
    addresses = {n: e["address"] for n, e in manifest["contracts"].items()}
    assert check_handover(w3, addresses, abis, [DEPLOYER.address, RELAYER]) == []
    grants = {(r["contract"], r["role"], r["account"]) for r in manifest["roles"]}
    assert ("CO3Governance", "PROPOSER_ROLE", ci.address) in grants


def test_bad_initiative_threshold_is_refused_before_any_transaction() -> None:
    params = dep.SuiteParams(deployer=DEPLOYER.address, oracle_signers=[RELAYER], oracle_threshold=1,
                             validators=[DEPLOYER.address], initiative_threshold=(1, 20_000, 86_400))
    with pytest.raises(DeployError, match="initiative threshold"):
        params.validate()
