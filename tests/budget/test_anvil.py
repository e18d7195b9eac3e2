"""The budget deploy step, a full round and both audits against anvil, a node we did not write, over HTTP:
``co3chain audit budget`` passes on the real round, and ``co3chain audit contracts`` matches the two new
contracts' bytecode to the sources recorded in the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from co3chain.audit.contracts import audit_contracts
from co3chain.audit.rpc import RpcClient
from co3chain.budget.deploy import deploy_budget
from co3chain.budget.typed_data import sign_ballot
from co3chain.cli import cli
from co3chain.contracts import compiler
from co3chain.contracts.deploy import ArtifactSet, TxSender, deploy_suite, role_id
from tests.anvil import ANVIL_KEY, require_anvil, running_anvil

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

#: anvil's second well-known dev key: stands for the executor here (in production a timelock contract).
EXECUTOR_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
AREA = 1


def _warp(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


def test_round_on_anvil_passes_both_audits(tmp_path: Path) -> None:
    require_anvil()
    arts = ArtifactSet.committed() if compiler.artifacts_are_fresh() else ArtifactSet.from_build(
        compiler.compile_project())
    with running_anvil() as url:
        w3 = Web3(HTTPProvider(url))
        deployer, executor = Account.from_key(ANVIL_KEY), Account.from_key(EXECUTOR_KEY)
        # Without the timelock handover: this test mints and funds directly (an EOA stands in for the executor).
        suite = deploy_suite(w3, deployer, oracle_signers=[deployer.address], oracle_threshold=1,
                             validators=[deployer.address], artifacts=arts, handover=False)
        manifest = deploy_budget(w3, deployer, suite, executor=executor.address, proposers=[deployer.address],
                                 relayer=deployer.address, artifacts=arts)
        c: dict[str, Any] = {n: w3.eth.contract(address=e["address"], abi=arts.artifact(n)["abi"])
                             for n, e in manifest["contracts"].items()}
        me, ex = TxSender(w3, deployer), TxSender(w3, executor)
        # funding: tokens reach the treasury, the executor assigns the area budget
        me.call_fn(c["CommoningAreas"], "createArea", [deployer.address, b"\x01" * 32, "ipfs://a"], "area")
        me.call_fn(c["CommonsToken"], "grantRole", [role_id("MINTER_ROLE"), deployer.address], "minter")
        me.call_fn(c["CommonsToken"], "mint", [c["CommonsTreasury"].address, 5_000], "fund treasury")
        ex.call_fn(c["CommonsTreasury"], "assignBudget", [AREA, 2_000], "assign")
        now = int(w3.eth.get_block("latest")["timestamp"])
        citizens = [Account.from_key(keccak(text=f"anvil budget citizen {i}")) for i in range(3)]
        for i, citizen in enumerate(citizens):
            me.call_fn(c["CitizenRegistry"], "register", [citizen.address, keccak(text=f"ab{i}"), now + 10**7], "reg")
        projects = [(cost, deployer.address, keccak(text=f"p{i}")) for i, cost in enumerate([900, 500, 400])]
        me.call_fn(c["ParticipatoryBudget"], "createRound",
                   [AREA, 1_000, now + 30, now + 30 + 86_400, 0, 0, b"\x00" * 32, projects], "round")
        _warp(w3, 60)
        pb = c["ParticipatoryBudget"]
        for citizen, sel in zip(citizens, [0b001, 0b110, 0b011], strict=True):
            sig = sign_ballot(citizen.key, int(w3.eth.chain_id), pb.address, round_id=1, selection=sel, nonce=0)
            me.call_fn(pb, "castBallotBySig", [1, sel, citizen.address, 0, sig], "ballot")
        _warp(w3, 86_400)
        me.call_fn(pb, "finalize", [1], "finalize")
        me.call_fn(pb, "startProject", [1, 0, b"\x01" * 32], "start")  # approvals [2,2,1]: 0 funded (900)

        manifest_file = tmp_path / "deployment.json"
        manifest_file.write_text(json.dumps(manifest))
        audited = CliRunner().invoke(cli, ["audit", "budget", "1", "--rpc", url, "--manifest", str(manifest_file),
                                           "--json", str(tmp_path / "report.json")])
        assert audited.exit_code == 0, audited.output
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["stats"]["recordedFunded"] == [0] and report["stats"]["paid"] == ["450", "0", "0"]

        # Bytecode only: the stand-in EOA executor would (rightly) fail the powers check.
        code = audit_contracts(RpcClient(url), manifest, powers=False)
        assert code.passed, [f.line() for f in code.findings]
        checked = {row.get("contract") or row.get("name") for row in code.checked}
        assert {"CommonsTreasury", "ParticipatoryBudget"} <= checked, code.checked
