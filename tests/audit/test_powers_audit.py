"""Powers audit: who holds each role (from RoleGranted/RoleRevoked), contract or EOA, and the decision behind
every parameter change.

Today's deploy leaves the deployer EOA as admin of every contract: flagged (exit 2). After the admin powers
are handed to an OpenZeppelin TimelockController and the deployer renounced, the audit passes and a quorum
change executed through the timelock names the operation, when and by whom it was scheduled, and the delay.
A node hiding a RoleGranted log is contradicted by ``hasRole``.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from co3chain.audit.contracts import audit_contracts
from co3chain.audit.powers import ROLE_GRANTED
from co3chain.audit.rpc import RpcClient
from co3chain.contracts import compiler
from co3chain.contracts.deploy import ArtifactSet, deploy_suite
from tests.audit.devnet import USER_KEYS, VALIDATOR_KEYS, Devnet, DevnetProvider, addr, lying
from tests.audit.governance import GovScenario, transact

ADMIN = b"\x00" * 32
ACCESS_CONTROLLED = ["AttestationHub", "CO3Governance", "CitizenRegistry", "CommoningAreas", "CommonsToken", "Reputation",
                     "ConsortiumTimelock", "SecretBallot", "KeyRecovery", "CitizenInitiatives"]


def test_todays_deploy_leaves_an_eoa_admin_and_is_flagged(gov: GovScenario) -> None:
    report = audit_contracts(RpcClient(gov.devnet.transport), gov.manifest, bytecode=False)
    assert report.kinds() == {"eoa-power"}
    flagged = {(f.details["contract"], f.details["role"]) for f in report.errors}
    assert flagged == {(c, "DEFAULT_ADMIN_ROLE") for c in ACCESS_CONTROLLED} | {("CommonsToken", "MINTER_ROLE")}
    assert all(f.details["holderName"] == "deployer" for f in report.errors)
    holders = {(p["contract"], p["role"], p["holderName"]): p["holderKind"] for p in report.stats["powers"]}
    assert holders[("CommonsToken", "MINTER_ROLE", "AttestationHub")] == "contract"
    assert holders[("Reputation", "REWARDER_ROLE", "AttestationHub")] == "contract"
    assert holders[("CitizenRegistry", "REGISTRAR_ROLE", "deployer")] == "EOA"  # operational: listed, not flagged
    changes = report.stats["parameterChanges"]
    assert {c["event"] for c in changes} >= {"RoleGranted", "QuorumNumeratorUpdated", "SignerSetUpdated", "ValidatorAdded"}
    deploy = [c for c in changes if c["authorisedBy"]["kind"] == "deployment"]
    later = [c for c in changes if c["authorisedBy"]["kind"] == "direct"]
    assert [(c["contract"], c["args"]["role"]) for c in later] == [("CommonsToken", "MINTER_ROLE")]
    assert later[0]["authorisedBy"]["senderKind"] == "EOA" and len(deploy) == len(changes) - 1
    assert any(f.kind == "direct-change" and f.message.startswith("1 of") for f in report.findings)


def test_a_hidden_role_grant_is_found_in_the_sealed_receipts(gov: GovScenario) -> None:
    minter = "0x" + keccak(text="MINTER_ROLE").hex()
    deployer = "0x" + "00" * 12 + gov.manifest["deployer"][2:].lower()

    def hide(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getLogs" and isinstance(resp.get("result"), list):
            resp["result"] = [lg for lg in resp["result"] if not (
                lg["topics"][0] == "0x" + ROLE_GRANTED.hex() and lg["topics"][1] == minter and lg["topics"][2] == deployer)]

    grants = RpcClient(gov.devnet.transport).call("eth_getLogs", {
        "address": gov.manifest["contracts"]["CommonsToken"]["address"], "fromBlock": "0x0", "toBlock": "latest",
        "topics": ["0x" + ROLE_GRANTED.hex(), minter, deployer]})
    later_grant = int(grants[-1]["blockNumber"], 16)  # the scenario's later MINTER_ROLE grant (after the deploy)
    report = audit_contracts(RpcClient(lying(gov.devnet.transport, hide)), gov.manifest, bytecode=False)
    hidden = [f for f in report.errors if f.kind == "role-events"]
    assert len(hidden) == 1 and hidden[0].block == later_grant
    assert "hid RoleGranted on CommonsToken (MINTER_ROLE deployer" in hidden[0].message
    # The recovered grant still counts: the deployer is flagged as a minter.
    assert any(f.kind == "eoa-power" and f.details["role"] == "MINTER_ROLE" for f in report.errors)

    def hide_everywhere(req: dict[str, Any], resp: dict[str, Any]) -> None:
        hide(req, resp)
        if req["method"] == "eth_getBlockReceipts" and isinstance(resp.get("result"), list):
            for r in resp["result"]:
                r["logs"] = [lg for lg in r["logs"] if lg["topics"][:3] != ["0x" + ROLE_GRANTED.hex(), minter, deployer]]

    report = audit_contracts(RpcClient(lying(gov.devnet.transport, hide_everywhere)), gov.manifest, bytecode=False)
    messages = [f.message for f in report.errors if f.kind == "role-events"]
    assert any("receipts do not verify" in m for m in messages)  # the doctored receipts fail the sealed root
    assert any("hasRole says" in m and minter in m for m in messages)  # and the contract state contradicts


def _timelock_artifact(tmp: Path) -> dict[str, Any]:
    root = tmp / "tl"
    (root / "contracts").mkdir(parents=True)
    (root / "node_modules").symlink_to(compiler.REPO_ROOT / "node_modules")
    (root / "contracts" / "Executor.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.20;\n"
        'import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";\n'
        "contract Executor is TimelockController {\n"
        "    constructor(uint256 d, address[] memory p, address[] memory e) TimelockController(d, p, e, address(0)) {}\n"
        "}\n"
        "/// A stand-in for the PA council: records its decision, then schedules the call in the timelock.\n"
        "contract MiniCouncil {\n"
        "    event Approved(address target, bytes data);\n"
        "    function decide(TimelockController t, address target, bytes calldata data, bytes32 salt, uint256 delay)"
        " external {\n"
        "        emit Approved(target, data);\n"
        "        t.schedule(target, 0, data, bytes32(0), salt, delay);\n"
        "    }\n"
        "}\n")
    return compiler.compile_units(["contracts/Executor.sol"], root).artifacts


def test_production_deploy_leaves_no_eoa_power(suite_artifacts: ArtifactSet) -> None:
    """``deploy_suite``'s own handover (issue 10): every admin, mint and reward power ends with contracts."""
    d = Devnet(n_validators=4)
    try:
        w3 = Web3(DevnetProvider(d))
        manifest = deploy_suite(w3, Account.from_key(USER_KEYS[0]),
                                oracle_signers=[to_checksum_address(addr(USER_KEYS[11]))], oracle_threshold=1,
                                validators=[to_checksum_address(addr(k)) for k in VALIDATOR_KEYS[:4]],
                                artifacts=suite_artifacts)
        report = audit_contracts(RpcClient(d.transport), manifest, bytecode=False)
        assert not [f for f in report.errors if f.kind == "eoa-power"], [f.line() for f in report.errors]
        admins = {(p["contract"], p["holderName"]) for p in report.stats["powers"] if p["role"] == "DEFAULT_ADMIN_ROLE"}
        assert {c for c, _ in admins} >= set(ACCESS_CONTROLLED)
        assert {holder for _, holder in admins} == {"ConsortiumTimelock"}
    finally:
        d.close()


@pytest.fixture(scope="module")
def handed_over(suite_artifacts: ArtifactSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A suite whose admin powers belong to a TimelockController, with one quorum change through it."""
    d = Devnet(n_validators=4)
    w3 = Web3(DevnetProvider(d))
    deployer, council, anyone = USER_KEYS[0], USER_KEYS[8], USER_KEYS[9]
    manifest = deploy_suite(w3, Account.from_key(deployer), oracle_signers=[to_checksum_address(addr(USER_KEYS[11]))],
                            oracle_threshold=1, validators=[to_checksum_address(addr(k)) for k in VALIDATOR_KEYS[:4]],
                            artifacts=suite_artifacts, handover=False)  # handed over below, to a stand-in
    arts = _timelock_artifact(tmp_path_factory.mktemp("timelock"))
    art, council_art = arts["Executor"], arts["MiniCouncil"]
    made = transact(w3, w3.eth.contract(abi=council_art["abi"], bytecode=council_art["bytecode"]).constructor(), council)
    council_contract = w3.eth.contract(address=made["contractAddress"], abi=council_art["abi"])
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    delay = 5
    receipt = transact(w3, factory.constructor(delay, [council_contract.address], ["0x" + "00" * 20]), deployer)
    timelock = w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])
    me = to_checksum_address(addr(deployer))
    for name in ACCESS_CONTROLLED:
        c = w3.eth.contract(address=manifest["contracts"][name]["address"], abi=suite_artifacts.artifact(name)["abi"])
        transact(w3, c.functions.grantRole(ADMIN, timelock.address), deployer)
        transact(w3, c.functions.renounceRole(ADMIN, me), deployer)
    gov = w3.eth.contract(address=manifest["contracts"]["CO3Governance"]["address"],
                          abi=suite_artifacts.artifact("CO3Governance")["abi"])
    data = gov.encode_abi("setQuorumNumerator", [20])
    salt = b"\x01" * 32
    scheduled = transact(w3, council_contract.functions.decide(timelock.address, gov.address, data, salt, delay), council)
    d.time_travel(d.now + delay + 1)
    executed = transact(w3, timelock.functions.execute(gov.address, 0, data, b"\x00" * 32, salt), anyone)
    manifest = copy.deepcopy(manifest)
    manifest["executor"] = {"address": timelock.address, "delaySeconds": delay}
    manifest["council"] = council_contract.address
    yield {"devnet": d, "manifest": manifest, "timelock": timelock.address, "scheduled": scheduled,
           "executed": executed, "council": bytes.fromhex(council_contract.address[2:].lower()),
           "member": addr(council), "anyone": addr(anyone),
           "operation": timelock.functions.hashOperation(gov.address, 0, data, b"\x00" * 32, salt).call()}
    d.close()
    shutil.rmtree(tmp_path_factory.getbasetemp() / "timelock0", ignore_errors=True)


def test_admin_handed_to_a_timelock_passes_and_names_the_decision(handed_over: dict[str, Any]) -> None:
    d, manifest = handed_over["devnet"], handed_over["manifest"]
    report = audit_contracts(RpcClient(d.transport), manifest, bytecode=False)
    assert report.passed, [f.line() for f in report.errors]
    admins = {p["contract"]: p for p in report.stats["powers"] if p["role"] == "DEFAULT_ADMIN_ROLE"}
    assert set(admins) == set(ACCESS_CONTROLLED)
    assert all(p["holderKind"] == "contract" and p["holderName"] == "executor" for p in admins.values())
    assert report.stats["eoaPowers"] == 0
    (quorum,) = [c for c in report.stats["parameterChanges"] if c["event"] == "QuorumNumeratorUpdated"
                 and c["block"] == handed_over["executed"]["blockNumber"]]
    assert quorum["args"] == {"oldNumerator": "10", "newNumerator": "20"}
    decision = quorum["authorisedBy"]
    assert decision["kind"] == "timelock" and decision["timelock"].startswith("executor (")
    assert decision["operation"] == "0x" + bytes(handed_over["operation"]).hex()
    assert decision["scheduledBlock"] == handed_over["scheduled"]["blockNumber"]
    assert decision["scheduledTransaction"] == "0x" + bytes(handed_over["scheduled"]["transactionHash"]).hex()
    assert decision["scheduledBy"] == "0x" + handed_over["member"].hex()  # the council member who sent it
    assert decision["scheduledVia"] == "council (0x" + handed_over["council"].hex() + ")"
    (approved,) = decision["decisionEvents"]
    assert approved["contract"] == "council (0x" + handed_over["council"].hex() + ")"
    assert approved["event"] == "0x" + keccak(text="Approved(address,bytes)").hex()
    assert decision["delaySeconds"] == 5
    assert decision["executedBy"] == "0x" + handed_over["anyone"].hex()
    renounced = [c for c in report.stats["parameterChanges"] if c["event"] == "RoleRevoked"]
    assert len(renounced) == len(ACCESS_CONTROLLED)
