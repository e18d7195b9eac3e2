"""deploy_suite on eth-tester: code at every address, roles wired, manifest complete and reproducible."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from co3chain.contracts import deploy as dep
from co3chain.contracts.compiler import CompilerError
from co3chain.contracts.deploy import ArtifactSet, DeployError

ORACLES = [Account.from_key(keccak(text=f"test oracle {i}")) for i in range(3)]
RELAYER = Account.from_key(keccak(text="test relayer")).address


def _masked(code_hex: str, immutables: dict[str, list[dict[str, int]]]) -> bytes:
    """Runtime code with the immutable slots zeroed (they are filled in by the constructor)."""
    code = bytearray(bytes.fromhex(code_hex.removeprefix("0x")))
    for refs in immutables.values():
        for ref in refs:
            code[ref["start"] : ref["start"] + ref["length"]] = b"\x00" * ref["length"]
    return bytes(code)


@pytest.fixture
def deployed(tester_w3: Web3, funded_account: Any, suite_artifacts: ArtifactSet) -> dict[str, Any]:
    lines: list[str] = []
    manifest = dep.deploy_suite(
        tester_w3,
        funded_account,
        oracle_signers=[o.address for o in ORACLES],
        oracle_threshold=2,
        validators=[funded_account.address, ORACLES[0].address],
        relayer=RELAYER,
        network="eth-tester",
        artifacts=suite_artifacts,
        progress=lines.append,
    )
    return {"manifest": manifest, "lines": lines}


def test_every_contract_deployed_with_the_compiled_code(tester_w3: Web3, deployed: dict, suite_artifacts: ArtifactSet):
    manifest = deployed["manifest"]
    assert list(manifest["contracts"]) == list(dep.SUITE)
    for name, entry in manifest["contracts"].items():
        code = bytes(tester_w3.eth.get_code(entry["address"]))
        art = suite_artifacts.artifact(name)
        assert code, name
        assert entry["codeHash"] == "0x" + keccak(code).hex()
        assert _masked(code.hex(), art["immutableReferences"]) == _masked(
            art["deployedBytecode"], art["immutableReferences"]
        ), f"{name}: runtime code differs from the artifact"
        tx = tester_w3.eth.get_transaction(entry["txHash"])
        receipt = tester_w3.eth.get_transaction_receipt(entry["txHash"])
        assert receipt["contractAddress"] == entry["address"]
        assert receipt["blockNumber"] == entry["blockNumber"]
        # The recorded constructor arguments are exactly what followed the creation code.
        assert bytes(tx["input"]) == bytes.fromhex(art["bytecode"][2:] + entry["constructorArgs"]["encoded"][2:])
    # one progress line per contract
    for name in dep.SUITE:
        assert any(line.strip().startswith(name) for line in deployed["lines"]), name


def test_constructor_args_decoded(deployed: dict):
    c = deployed["manifest"]["contracts"]
    deployer = deployed["manifest"]["deployer"]
    hub = c["AttestationHub"]["constructorArgs"]["decoded"]
    assert list(hub.values())[0] == deployer
    signer_lists = [v for v in hub.values() if isinstance(v, list)]
    assert signer_lists == [sorted((o.address for o in ORACLES), key=lambda a: int(a, 16))]
    assert 2 in hub.values()
    assert c["CitizenRegistry"]["address"] in hub.values()
    gov = list(c["CO3Governance"]["constructorArgs"]["decoded"].values())
    assert gov == [deployer, c["CitizenRegistry"]["address"], c["CommonsToken"]["address"],
                   c["Reputation"]["address"], c["CommoningAreas"]["address"], c["ConsortiumTimelock"]["address"]]
    timelock = c["ConsortiumTimelock"]["constructorArgs"]["decoded"]
    assert list(timelock.values()) == [dep.DEFAULT_TIMELOCK_DELAY, [], ["0x" + "00" * 20], deployer]
    council = list(c["ConsortiumCouncil"]["constructorArgs"]["decoded"].values())
    validators = sorted([deployer, ORACLES[0].address], key=lambda a: int(a, 16))
    assert council == [c["ConsortiumTimelock"]["address"], validators, 0]
    rep = c["Reputation"]["constructorArgs"]["decoded"]
    assert dep.DEFAULT_HALF_LIFE_SECONDS in rep.values()


def test_roles_wired(tester_w3: Web3, deployed: dict, suite_artifacts: ArtifactSet):
    manifest = deployed["manifest"]
    contracts = dep.contracts_from_manifest(tester_w3, manifest, suite_artifacts)
    hub = contracts["AttestationHub"].address
    deployer = manifest["deployer"]

    def has(contract: str, role: str, account: str) -> bool:
        return bool(contracts[contract].functions.hasRole(dep.role_id(role), account).call())

    assert has("CommonsToken", "MINTER_ROLE", hub)
    assert has("Reputation", "REWARDER_ROLE", hub)
    assert has("CitizenRegistry", "REGISTRAR_ROLE", deployer)
    assert has("CommoningAreas", "AREA_MANAGER_ROLE", deployer)
    assert has("CO3Governance", "PROPOSER_ROLE", deployer)
    assert not has("CommonsToken", "MINTER_ROLE", deployer)
    timelock = contracts["ConsortiumTimelock"].address
    for name, c in contracts.items():
        if any(i.get("name") == "hasRole" for i in c.abi):
            assert not has(name, "DEFAULT_ADMIN_ROLE", deployer), name
            assert has(name, "DEFAULT_ADMIN_ROLE", timelock), name
    # every recorded role is really held, and the relayer got RELAYER_ROLE wherever it exists
    for record in manifest["roles"]:
        assert has(record["contract"], record["role"], record["account"]), record
    relayer_contracts = [n for n, c in contracts.items() if any(i.get("name") == "RELAYER_ROLE" for i in c.abi)]
    for name in relayer_contracts:
        assert has(name, "RELAYER_ROLE", RELAYER)
        assert {"contract": name, "role": "RELAYER_ROLE"}.items() <= next(
            r for r in manifest["roles"] if r["contract"] == name and r["role"] == "RELAYER_ROLE"
        ).items()
    # the hub and validators were set from the parameters
    assert contracts["AttestationHub"].functions.threshold().call() == 2
    assert set(contracts["AttestationHub"].functions.getSigners().call()) == {o.address for o in ORACLES}
    assert set(contracts["ConsortiumValidators"].functions.getValidators().call()) == {deployer, ORACLES[0].address}
    assert contracts["CommonsToken"].functions.symbol().call() == "CO3"


def test_manifest_complete_and_matches_build_info(tester_w3: Web3, deployed: dict, suite_artifacts: ArtifactSet,
                                                 tmp_path):
    manifest = deployed["manifest"]
    for key in dep.MANIFEST_KEYS:
        assert key in manifest, key
    assert manifest["chainId"] == tester_w3.eth.chain_id
    assert manifest["network"] == "eth-tester"
    assert manifest["deployedAt"].endswith("Z")
    info = suite_artifacts.build_info
    assert manifest["compiler"]["version"] == info["compiler"]["version"]
    assert manifest["compiler"]["longVersion"] == info["compiler"]["longVersion"]
    assert manifest["compiler"]["settings"] == info["compiler"]["settings"]
    assert manifest["compiler"]["settings"]["evmVersion"] == "cancun"
    assert manifest["sources"] == info["sources"]
    for entry in manifest["contracts"].values():
        assert {"address", "txHash", "blockNumber", "constructorArgs", "codeHash", "sourceName"} <= entry.keys()
        assert entry["sourceName"] in manifest["sources"]
        assert entry["constructorArgs"]["encoded"].startswith("0x")
    # round trip through disk
    path = dep.save_manifest(manifest, tmp_path / "out" / "deployment.json")
    assert dep.load_manifest(path) == json.loads(json.dumps(manifest))


def test_bad_parameters_rejected_before_any_transaction(tester_w3: Web3, funded_account: Any,
                                                        suite_artifacts: ArtifactSet):
    nonce = tester_w3.eth.get_transaction_count(funded_account.address)
    cases = [
        ({"oracle_signers": [ORACLES[0].address], "oracle_threshold": 2}, "threshold must be between 1 and 1"),
        ({"oracle_signers": [], "oracle_threshold": 1}, "at least one oracle signer"),
        ({"oracle_signers": [ORACLES[0].address] * 2, "oracle_threshold": 1}, "distinct"),
    ]
    for kwargs, message in cases:
        with pytest.raises(DeployError, match=message):
            dep.deploy_suite(tester_w3, funded_account, validators=[funded_account.address],
                             artifacts=suite_artifacts, **kwargs)
    assert tester_w3.eth.get_transaction_count(funded_account.address) == nonce


def test_unfunded_deployer_gets_a_clear_error(tester_w3: Web3, suite_artifacts: ArtifactSet):
    poor = Account.from_key(keccak(text="nobody funded me"))
    with pytest.raises(DeployError, match="no funds"):
        dep.deploy_suite(tester_w3, poor, oracle_signers=[o.address for o in ORACLES], oracle_threshold=2,
                         validators=[poor.address], artifacts=suite_artifacts)


def test_missing_artifact_is_reported(tester_w3: Web3, funded_account: Any, suite_artifacts: ArtifactSet):
    partial = ArtifactSet({k: v for k, v in suite_artifacts.artifacts.items() if k != "AttestationHub"},
                          suite_artifacts.build_info)
    with pytest.raises(DeployError, match="AttestationHub is not among the compiled artifacts"):
        dep.deploy_suite(tester_w3, funded_account, oracle_signers=[ORACLES[0].address], oracle_threshold=1,
                         validators=[funded_account.address], artifacts=partial)


def test_revert_reason_is_decoded(tester_w3: Web3, funded_account: Any, deployed: dict, suite_artifacts: ArtifactSet):
    """A transaction that would revert names the contract's custom error."""
    contracts = dep.contracts_from_manifest(tester_w3, deployed["manifest"], suite_artifacts)
    stranger = Account.from_key(keccak(text="stranger"))
    tester_w3.eth.send_transaction({"from": tester_w3.eth.accounts[0], "to": stranger.address, "value": 10**18})
    sender = dep.TxSender(tester_w3, stranger, decoder=suite_artifacts.error_decoder())
    registry = contracts["CitizenRegistry"]
    with pytest.raises(DeployError, match="AccessControlUnauthorizedAccount"):
        sender.call_fn(registry, "register", [stranger.address, b"\x01" * 32, 2**40], "registering")


def test_load_manifest_errors(tmp_path):
    with pytest.raises(DeployError, match="not found"):
        dep.load_manifest(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DeployError, match="not valid JSON"):
        dep.load_manifest(bad)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"chainId": 1, "contracts": {}}))
    with pytest.raises(DeployError, match="lacks deployer"):
        dep.load_manifest(partial)


def test_contracts_from_manifest_checks_chain(tester_w3: Web3, deployed: dict, suite_artifacts: ArtifactSet):
    wrong = {**deployed["manifest"], "chainId": deployed["manifest"]["chainId"] + 1}
    with pytest.raises(DeployError, match="manifest is for chain"):
        dep.contracts_from_manifest(tester_w3, wrong, suite_artifacts)


def test_error_decoder():
    abi = [{"type": "error", "name": "NotASigner", "inputs": [{"name": "recovered", "type": "address"}]}]
    decoder = dep.ErrorDecoder([abi])
    addr = "0x" + "11" * 20
    data = keccak(text="NotASigner(address)")[:4] + bytes(12) + bytes.fromhex("11" * 20)
    assert decoder.decode("0x" + data.hex()) == f"NotASigner({Web3.to_checksum_address(addr)})"
    err = bytes.fromhex("08c379a0") + abi_encode(["string"], ["nope"])
    assert decoder.decode(err) == "nope"
    assert decoder.decode("0x") is None
    assert decoder.decode("0xdeadbeef").startswith("unknown error")


def test_node_helpers_on_a_node_without_qbft(tester_w3: Web3):
    assert dep.node_validators(tester_w3) == []
    assert dep.wait_for_node(tester_w3, timeout=1) == tester_w3.eth.chain_id


def test_wait_for_node_times_out():
    from web3 import HTTPProvider

    from tests.anvil import free_port

    w3 = Web3(HTTPProvider(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(DeployError, match="node did not answer within"):
        dep.wait_for_node(w3, timeout=0.5)


def test_artifacts_directory_override(monkeypatch: pytest.MonkeyPatch, artifacts_dir, suite_artifacts: ArtifactSet):
    monkeypatch.setenv(dep.ARTIFACTS_ENV, str(artifacts_dir))
    loaded = ArtifactSet.committed()
    assert sorted(loaded.artifacts) == sorted(suite_artifacts.artifacts)
    assert loaded.build_info == json.loads(json.dumps(suite_artifacts.build_info))
    monkeypatch.setenv(dep.ARTIFACTS_ENV, str(artifacts_dir / "nowhere"))
    with pytest.raises(CompilerError, match="no compiled artifacts"):
        ArtifactSet.committed()


def _final_holders(w3: Web3, contracts: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(contract, role id) -> holders, replayed from every RoleGranted/RoleRevoked event since genesis."""
    logs = []
    for name, c in contracts.items():
        if not any(i.get("name") == "RoleGranted" for i in c.abi):
            continue
        for event in ("RoleGranted", "RoleRevoked"):
            for log in getattr(c.events, event)().get_logs(from_block=0):
                logs.append((log["blockNumber"], log["logIndex"], name, event, log["args"]))
    holders: dict[tuple[str, str], set[str]] = {}
    for _, _, name, event, args in sorted(logs, key=lambda x: (x[0], x[1])):
        key = (name, "0x" + bytes(args["role"]).hex())
        if event == "RoleGranted":
            holders.setdefault(key, set()).add(args["account"])
        else:
            holders.setdefault(key, set()).discard(args["account"])
    return holders


def test_no_externally_owned_account_keeps_admin_mint_or_reward_power(tester_w3: Web3, deployed: dict,
                                                                    suite_artifacts: ArtifactSet):
    """Issue 10: after deploy, the events show DEFAULT_ADMIN_ROLE only at the timelock and MINTER/REWARDER only
    at the AttestationHub; the deployer granted and then renounced each admin role (RoleRevoked)."""
    manifest = deployed["manifest"]
    contracts = dep.contracts_from_manifest(tester_w3, manifest, suite_artifacts)
    holders = _final_holders(tester_w3, contracts)
    sovereign = {dep.role_id(r) for r in dep.SOVEREIGN_ROLES}
    checked = 0
    for (name, rid), accounts in holders.items():
        if rid not in sovereign:
            continue
        for account in accounts:
            checked += 1
            assert bytes(tester_w3.eth.get_code(account)), f"EOA {account} holds {rid} on {name}"
    assert checked >= len(dep.ADMINISTERED)
    timelock, hub = contracts["ConsortiumTimelock"].address, contracts["AttestationHub"].address
    for name, c in contracts.items():
        if any(i.get("name") == "hasRole" for i in c.abi):
            assert holders[(name, dep.DEFAULT_ADMIN_ROLE)] == {timelock}, name
    assert holders[("CommonsToken", dep.role_id("MINTER_ROLE"))] == {hub}
    assert holders[("Reputation", dep.role_id("REWARDER_ROLE"))] == {hub}
    revoked = contracts["CitizenRegistry"].events.RoleRevoked().get_logs(from_block=0)
    assert [(r["args"]["account"], r["args"]["sender"]) for r in revoked] == [(manifest["deployer"],) * 2]
    # The timelock's proposers are the council and governance; only the council cancels; anyone executes.
    council, gov = contracts["ConsortiumCouncil"].address, contracts["CO3Governance"].address
    assert holders[("ConsortiumTimelock", dep.role_id("PROPOSER_ROLE"))] == {council, gov}
    assert holders[("ConsortiumTimelock", dep.role_id("CANCELLER_ROLE"))] == {council}
    assert holders[("ConsortiumTimelock", dep.role_id("EXECUTOR_ROLE"))] == {"0x" + "00" * 20}
    assert holders[("CO3Governance", dep.role_id("GUARDIAN_ROLE"))] == {council}
    # Operational roles may stay with PA officers (here the deployer and the relayer).
    assert manifest["deployer"] in holders[("CitizenRegistry", dep.role_id("REGISTRAR_ROLE"))]
    assert dep.check_handover(tester_w3, {n: c.address for n, c in contracts.items()},
                              {n: c.abi for n, c in contracts.items()}, [manifest["deployer"], RELAYER]) == []


def test_manifest_records_executor_council_and_delay(tester_w3: Web3, deployed: dict):
    manifest = deployed["manifest"]
    c = manifest["contracts"]
    g = manifest["governance"]
    assert g["executor"] == c["ConsortiumTimelock"]["address"]
    assert g["delaySeconds"] == dep.DEFAULT_TIMELOCK_DELAY
    assert g["council"]["address"] == g["guardian"] == c["ConsortiumCouncil"]["address"]
    assert g["council"]["members"] == sorted([manifest["deployer"], ORACLES[0].address], key=lambda a: int(a, 16))
    assert g["council"]["threshold"] == 2  # ⌊2/2⌋+1
    assert g["votingBounds"] == {"minVotingDelay": 0, "maxVotingDelay": 30 * 86400, "minVotingPeriod": 3600,
                                 "maxVotingPeriod": 90 * 86400}
    assert g["handedOver"] is True
    assert [h["action"] for h in g["handover"]][-1] == "renounce"
    assert all(r["role"] != "DEFAULT_ADMIN_ROLE" or r["account"] == g["executor"] for r in manifest["roles"])


def test_deploy_parameters_for_the_council_are_checked(tester_w3: Web3, funded_account: Any,
                                                       suite_artifacts: ArtifactSet):
    kwargs = dict(oracle_signers=[o.address for o in ORACLES], oracle_threshold=2,
                  validators=[funded_account.address], artifacts=suite_artifacts)
    with pytest.raises(dep.DeployError, match="council threshold"):
        dep.deploy_suite(tester_w3, funded_account, council_threshold=2, **kwargs)
    with pytest.raises(dep.DeployError, match="voting bounds"):
        dep.deploy_suite(tester_w3, funded_account, voting_bounds=(10, 5, 1, 10), **kwargs)
