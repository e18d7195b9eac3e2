"""Plain-language verdicts (terminal and HTML), compared with reviewed snapshots in tests/audit/snapshots/.

Cases: a passed audit of a Defeated proposal (the audit verdict is kept apart from the vote's outcome), a
passed audit of a Succeeded proposal, a node publishing a false result, a clean chain, a block edited after
sealing (one root cause, its consequences grouped under it, not seven errors), and today's deploy with an
EOA admin. Regenerate after a deliberate wording change with ``UPDATE_SNAPSHOTS=1`` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from co3chain.audit.chain_audit import ChainAuditOptions, audit_chain
from co3chain.audit.chainverify import ChainParams
from co3chain.audit.contracts import audit_contracts
from co3chain.audit.plain import build_verdict, human_time, render_html, render_text
from co3chain.audit.proposal import ProposalAuditOptions, audit_proposal
from co3chain.audit.report import AuditReport
from co3chain.audit.rpc import RpcClient
from tests.audit.devnet import Devnet, lying
from tests.audit.governance import GovScenario

SNAPSHOTS = Path(__file__).parent / "snapshots"


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.write_text(text + "\n", encoding="utf-8")
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"snapshot {path.name} was missing and has been written: review it and rerun")
    assert text + "\n" == path.read_text(encoding="utf-8")


def _proposal(gov: GovScenario, pid: int, transport: Any = None) -> AuditReport:
    return audit_proposal(RpcClient(transport or gov.devnet.transport), gov.manifest, pid,
                          ProposalAuditOptions(progress=False))


def _claim_succeeded(req: dict[str, Any], resp: dict[str, Any]) -> None:
    if req["method"] == "eth_call" and req["params"][0]["data"].startswith("0x3e4f49e6"):  # state(uint256)
        resp["result"] = "0x" + (3).to_bytes(32, "big").hex()


def test_defeated_proposal_passes_in_plain_words(gov: GovScenario) -> None:
    report = _proposal(gov, gov.cr_proposal)
    report.timezone = "Europe/Rome"
    verdict = report.verdict()
    assert verdict.passed and verdict.headline.startswith("Audit passed")
    assert "Defeated" in verdict.headline  # the outcome is stated, the verdict is still a pass
    check_snapshot("proposal-defeated-pass", render_text(verdict))
    page = render_html(report)
    assert "Audit passed" in page and "PASS" not in page and "voteStart" not in page.split("<details>")[0]
    assert "this is not the audit" in page
    assert "CET (UTC+01:00)" in page  # human dates in the chosen time zone


def test_tampered_result_fails_in_plain_words(gov: GovScenario) -> None:
    report = _proposal(gov, gov.token_proposal, lying(gov.devnet.transport, _claim_succeeded))
    verdict = report.verdict()
    assert not verdict.passed
    check_snapshot("proposal-tampered", render_text(verdict))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["verdict"]["headline"] == verdict.headline
    assert data["verdict"]["causes"][0]["kind"] == "outcome-mismatch"


def test_succeeded_proposal_wording() -> None:
    """The verdict builder is pure: a Succeeded proposal's report, as the proposal audit writes it."""
    report = AuditReport("proposal", {"proposalId": "7", "description": "Nuove panchine al Parco del Valentino?",
                                      "voteStart": 1_700_000_000, "voteEnd": 1_700_086_400},
                         stats={"tally": {"against": "1", "for": "3", "abstain": "1"}, "quorum": "2",
                                "declaredState": "Succeeded", "recomputedState": "Succeeded", "headersChecked": 40,
                                "provenTally": {}},
                         checked=[{"support": s} for s in ("for", "for", "for", "against", "abstain", "unrevealed")])
    check_snapshot("proposal-succeeded-pass", render_text(build_verdict(report, tz="Europe/Rome")))


@pytest.fixture(scope="module")
def small_chain() -> Iterator[Devnet]:
    d = Devnet(n_validators=4, epoch=100)
    d.produce_empty(8)
    yield d
    d.close()


def _chain(d: Devnet, transport: Any = None, **kw: Any) -> AuditReport:
    g = d.genesis
    params = ChainParams(epoch_length=g.epoch_length, block_period=g.block_period, genesis_extra_data=g.extra_data,
                         clock=lambda: 2**40)
    return audit_chain(RpcClient(transport or d.transport), g, ChainAuditOptions(progress=False, **kw), params)


def test_clean_chain_wording(small_chain: Devnet) -> None:
    check_snapshot("chain-pass", render_text(_chain(small_chain, replay=True).verdict()))


def test_an_edited_block_is_one_problem_not_seven(small_chain: Devnet) -> None:
    def edit(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getBlockByNumber" and (resp.get("result") or {}).get("number") == "0x5":
            resp["result"]["gasLimit"] = hex(int(resp["result"]["gasLimit"], 16) + 1)

    report = _chain(small_chain, lying(small_chain.transport, edit))
    assert len(report.errors) >= 6  # hash, four seals, quorum, next block's link: the machine view
    verdict = report.verdict()
    assert len(verdict.causes) == 1 and verdict.causes[0].kind == "hash-mismatch"
    assert sorted(verdict.causes[0].findings) == sorted(report.findings.index(f) for f in report.errors)
    check_snapshot("chain-edited-block", render_text(verdict))


def test_eoa_admin_wording(gov: GovScenario) -> None:
    report = audit_contracts(RpcClient(gov.devnet.transport), gov.manifest, bytecode=False)
    verdict = report.verdict()
    assert len(verdict.causes) == 1 and "deployer" in verdict.causes[0].title
    check_snapshot("powers-eoa-admin", render_text(verdict))
    page = render_html(report)
    assert "Who holds which power" in page and "the deployment, by deployer" in page


def test_human_time_zones() -> None:
    assert human_time(1_700_000_000) == "14 November 2023, 22:13:20 UTC"
    assert human_time(1_700_000_000, "Europe/Rome") == "14 November 2023, 23:13:20 CET (UTC+01:00)"
    assert human_time("2026-07-01T10:00:00Z", "Europe/Rome") == "1 July 2026, 12:00:00 CEST (UTC+02:00)"


def test_validators_sealing_a_false_state_wording(small_chain: Devnet) -> None:
    """A false state sealed at block 4: one root cause (the replay is authoritative), later blocks grouped."""
    from tests.audit.test_replay import _forge_state_root

    forged = _forge_state_root(small_chain, 4)

    def serve_forged(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getBlockByNumber" and resp.get("result"):
            resp["result"].update(forged.get(int(resp["result"]["number"], 16), {}))

    verdict = _chain(small_chain, lying(small_chain.transport, serve_forged), replay=True).verdict()
    assert [c.kind for c in verdict.causes] == ["state-root"]
    check_snapshot("chain-false-state", render_text(verdict))
