"""The demo's initiative step on the deployed suite: drafted, amended, opened, supported by signatures until it
goes to vote; the summary lines name the proposal and the audit command."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from rich.console import Console

from co3chain.audit.rpc import RpcClient
from co3chain.contracts.demo_initiative import initiative_step, render_initiative
from co3chain.contracts.deploy import TxSender, contracts_from_manifest, role_id
from co3chain.initiative.audit import audit_initiative
from tests.budget.helpers import rpc_transport
from tests.initiative.conftest import CITIZENS, DEPLOYER, ELECTORATE_A, Chain


def _runner(chain: Chain, lines: list[str], council: list[str]) -> Any:
    contracts = contracts_from_manifest(chain.w3, chain.manifest)
    sender = TxSender(chain.w3, DEPLOYER)

    def through_council(target: str, data: str, description: str) -> None:  # the timelock, in one step
        council.append(description)
        sender.transact({"to": target, "data": data}, description)

    citizens = CITIZENS[:5]
    return SimpleNamespace(c=contracts, sender=sender, officer=DEPLOYER, citizens=citizens,
                           names={a.address: f"citizen {i}" for i, a in enumerate(citizens)},
                           chain_id=chain.chain_id, clock=SimpleNamespace(now=chain.now), say=lines.append,
                           through_council=through_council)


def test_initiative_step_goes_to_vote_and_renders(chain: Chain) -> None:
    lines: list[str] = []
    council: list[str] = []
    runner = _runner(chain, lines, council)
    result = initiative_step(runner)
    # The deployer is not the relayer here: the step asked the council for RELAYER_ROLE first.
    assert council and chain.ci.functions.hasRole(role_id("RELAYER_ROLE"), DEPLOYER.address).call()
    assert result["electorate"] == "pa 1" and result["required"] == 3 and len(result["versions"]) == 2
    assert result["supporters"] == ["citizen 0", "citizen 1", "citizen 2"]
    pid = int(result["proposalId"], 16)
    assert chain.gov.functions.proposalElectorate(pid).call() == ELECTORATE_A
    assert result["state"] in ("Pending", "Active")
    console = Console(record=True, width=200)
    render_initiative(result, console)
    text = console.export_text()
    assert f"proposal {result['proposalId']}" in text and "co3chain audit initiative 1" in text
    report = audit_initiative(RpcClient(rpc_transport(chain.w3)), chain.manifest, result["initiativeId"])
    assert report.passed, [f.line() for f in report.findings]
