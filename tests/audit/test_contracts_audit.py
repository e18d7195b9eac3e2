"""Contracts audit: the deployed suite fully matches its sources (metadata included); a contract deployed
from modified sources, and sources that differ from the manifest, are caught."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address
from web3 import Web3

from co3chain.audit.contracts import audit_contracts
from co3chain.audit.rpc import RpcClient
from co3chain.contracts import compiler
from co3chain.contracts.deploy import SUITE
from tests.audit.devnet import USER_KEYS, addr, lying
from tests.audit.governance import GovScenario, transact


def _source_tree(tmp: Path, edit: tuple[str, str, str] | None = None) -> Path:
    """A copy of contracts/ (node_modules linked) with one optional textual edit (file, old, new)."""
    root = tmp / "src"
    shutil.copytree(compiler.REPO_ROOT / "contracts", root / "contracts")
    (root / "node_modules").symlink_to(compiler.REPO_ROOT / "node_modules")
    if edit:
        path = root / "contracts" / edit[0]
        text = path.read_text()
        assert edit[1] in text
        path.write_text(text.replace(edit[1], edit[2], 1))
    return root


def _redeploy_registry(gov: GovScenario, root: Path) -> dict[str, Any]:
    """Deploy CitizenRegistry compiled from ``root`` and return a manifest pointing at it."""
    art = compiler.compile_units(["contracts/CitizenRegistry.sol"], root).artifacts["CitizenRegistry"]
    w3: Web3 = gov.w3
    deployer = to_checksum_address(addr(USER_KEYS[0]))
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    receipt = transact(w3, factory.constructor(deployer), USER_KEYS[0])
    manifest = copy.deepcopy(gov.manifest)
    entry = manifest["contracts"]["CitizenRegistry"]
    entry.update(address=receipt["contractAddress"], txHash="0x" + bytes(receipt["transactionHash"]).hex(),
                 blockNumber=receipt["blockNumber"])
    return manifest


def test_clean_suite_full_match(gov: GovScenario) -> None:
    report = audit_contracts(RpcClient(gov.devnet.transport), gov.manifest, powers=False)
    assert report.passed, [f.line() for f in report.findings]
    assert report.stats["fullMatches"] == len(gov.manifest["contracts"]) == len(SUITE)  # every contract of the suite
    items = {i["contract"]: i for i in report.checked}
    g = items["CO3Governance"]
    assert g["match"] == "full" and g["codeHashProven"]
    registry = gov.manifest["contracts"]["CitizenRegistry"]["address"].lower()
    assert g["immutables"]["CO3Governance.registry"] == "0x" + "00" * 12 + registry[2:]
    assert g["constructorArgs"]["registry_"].lower() == registry
    assert g["constructorArgs"]["admin"].lower() == gov.manifest["deployer"].lower()
    assert g["constructorArgsEncoded"] == gov.manifest["contracts"]["CO3Governance"]["constructorArgs"]["encoded"]
    assert g["metadata"]["solc"] == compiler.solc_version()
    assert g["metadata"]["ipfs"].startswith("Qm")


def test_code_changed_is_bytecode_mismatch(gov: GovScenario, tmp_path: Path) -> None:
    root = _source_tree(tmp_path, ("CitizenRegistry.sol", "function isCitizen(address account) public view returns (bool) {",
                                   "function isCitizen(address account) public view returns (bool) {\n        if (account == address(0x1234)) return true;"))
    manifest = _redeploy_registry(gov, root)
    report = audit_contracts(RpcClient(gov.devnet.transport), manifest, powers=False)
    assert report.kinds() == {"bytecode-mismatch", "creation-code-mismatch"}
    assert {f.message.split(":")[0] for f in report.errors} == {"CitizenRegistry"}


def test_comment_changed_is_metadata_mismatch(gov: GovScenario, tmp_path: Path) -> None:
    """Same executable code, different source text: not a full match (the metadata hash differs)."""
    root = _source_tree(tmp_path, ("CitizenRegistry.sol", "pragma solidity", "// audited copy\npragma solidity"))
    manifest = _redeploy_registry(gov, root)
    report = audit_contracts(RpcClient(gov.devnet.transport), manifest, powers=False)
    assert "metadata-mismatch" in report.kinds()
    assert "bytecode-mismatch" not in report.kinds()


def test_sources_differing_from_manifest_are_refused(gov: GovScenario, tmp_path: Path) -> None:
    root = _source_tree(tmp_path, ("Reputation.sol", "pragma solidity", "// edited\npragma solidity"))
    report = audit_contracts(RpcClient(gov.devnet.transport), gov.manifest, root, powers=False)
    assert report.kinds() == {"source-hash"}
    assert "contracts/Reputation.sol" in report.errors[0].message


def test_node_lying_about_code_is_caught(gov: GovScenario) -> None:
    target = gov.manifest["contracts"]["CommoningAreas"]["address"].lower()
    honest = gov.devnet.transport(
        {"jsonrpc": "2.0", "id": 1, "method": "eth_getCode",
         "params": [gov.manifest["contracts"]["CommonsToken"]["address"], "latest"]})["result"]

    def lie(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getCode" and req["params"][0].lower() == target:
            resp["result"] = honest  # serve another contract's (valid-looking) code

    report = audit_contracts(RpcClient(lying(gov.devnet.transport, lie)), gov.manifest, powers=False)
    assert {"code-proof", "bytecode-mismatch"} <= report.kinds()


@pytest.mark.parametrize("bad", ["0x00", "0x" + "ff" * 20])
def test_manifest_address_without_code(gov: GovScenario, bad: str) -> None:
    manifest = copy.deepcopy(gov.manifest)
    manifest["contracts"]["Reputation"]["address"] = bad
    report = audit_contracts(RpcClient(gov.devnet.transport), manifest, powers=False)
    assert report.kinds() & {"manifest", "no-code"}
