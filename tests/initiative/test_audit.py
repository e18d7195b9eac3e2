"""co3chain audit initiative: a clean initiative passes; a node that lies about versions or supports is caught."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from co3chain.audit.rpc import RpcClient
from co3chain.initiative.audit import SUPPORTED, VERSIONED, audit_initiative
from tests.budget.helpers import rpc_transport
from tests.initiative.conftest import CITIZENS, Chain

A, B = CITIZENS[:6], CITIZENS[6:]


@pytest.fixture
def proposed(chain: Chain) -> int:
    """Initiative 1: two versions, opened, three signed supports (50 % of 6), gone to vote."""
    iid = chain.draft(A[0], chain.content("v1"))
    from tests.contracts.suite_helpers import send

    send(chain.ci.functions.amend(iid, chain.content("Shed open on Sundays").as_tuple()), A[0])
    chain.open(A[0], iid)
    for c in A[1:4]:
        chain.support_by_sig(c, iid)
    return iid


def _rewrite(topic0: bytes, edit: Any) -> Any:
    def tamper(method: str, result: Any) -> Any:
        if method != "eth_getLogs":
            return result
        out = []
        for lg in result:
            out.extend(edit(lg) if lg["topics"][0] == "0x" + topic0.hex() else [lg])
        return out

    return tamper


def _audit(chain: Chain, iid: int, tamper: Any = None) -> Any:
    return audit_initiative(RpcClient(rpc_transport(chain.w3, tamper)), chain.manifest, iid)


def test_clean_initiative_passes(chain: Chain, proposed: int) -> None:
    report = _audit(chain, proposed)
    assert report.passed, [f.line() for f in report.findings]
    assert (report.stats["supports"], report.stats["required"], report.stats["electorateSize"]) == (3, 3, 6)
    assert report.stats["threshold"] == {"kind": "percentage", "value": 5000}
    assert report.subject["versions"] == 2 and report.subject["electorate"] == "pa 1"
    assert int(report.stats["proposalId"], 16) == chain.ci.functions.getInitiative(proposed).call()[16]
    verdict = report.verdict()
    assert verdict.passed and "went to vote" in verdict.outcome


def test_hidden_duplicated_and_foreign_supports_are_reported(chain: Chain, proposed: int) -> None:
    dropped: list[int] = []

    def drop_first(lg: dict[str, Any]) -> list[dict[str, Any]]:
        if not dropped:
            dropped.append(1)
            return []
        return [lg]

    hidden = _audit(chain, proposed, _rewrite(SUPPORTED, drop_first))
    assert {"count-mismatch"} <= hidden.kinds()
    doubled = _audit(chain, proposed, _rewrite(SUPPORTED, lambda lg: [lg, lg]))
    assert "double-support" in doubled.kinds()

    def foreign(lg: dict[str, Any]) -> list[dict[str, Any]]:
        topics = list(lg["topics"])
        topics[2] = "0x" + "00" * 12 + B[0].address[2:].lower()
        return [{**lg, "topics": topics}]

    assert "ineligible-supporter" in _audit(chain, proposed, _rewrite(SUPPORTED, foreign)).kinds()


def test_tampered_version_is_reported(chain: Chain, proposed: int) -> None:
    def retitle(lg: dict[str, Any]) -> list[dict[str, Any]]:
        data = lg["data"]
        return [{**lg, "data": data[:-64] + data[-64:].replace("53", "54", 1)}]  # 'S' -> 'T' in the title

    report = _audit(chain, proposed, _rewrite(VERSIONED, retitle))
    assert "version-mismatch" in report.kinds()


def test_expired_initiative_is_a_note_and_cli(chain: Chain, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    iid = chain.draft(A[0], chain.content())
    chain.open(A[0], iid)
    chain.support_by_sig(A[1], iid)
    chain.travel(chain.ci.functions.getInitiative(iid).call()[7] + 5)  # a block mined after the deadline
    report = _audit(chain, iid)
    assert report.passed and any(f.kind == "not-qualified" and "expired" in f.message for f in report.findings)
    assert _audit(chain, 99).kinds() == {"missing-initiative"}

    from co3chain.audit import cli as audit_cli

    monkeypatch.setattr(audit_cli, "RpcClient", lambda url, batch: RpcClient(rpc_transport(chain.w3)))
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(chain.manifest))
    ok = CliRunner().invoke(audit_cli.audit, ["initiative", str(iid), "--rpc", "http://x", "--manifest", str(manifest)])
    assert ok.exit_code == 0, ok.output
    missing = CliRunner().invoke(audit_cli.audit, ["initiative", "99", "--rpc", "http://x", "--manifest",
                                                   str(manifest)])
    assert missing.exit_code == 2 and "missing-initiative" in missing.output


def test_the_proposal_audit_names_its_initiative(chain: Chain, proposed: int) -> None:
    """``audit proposal``'s initiative link: the proposal says which initiative it came from; a node that hides
    the InitiativeProposed event of a proposal the CitizenInitiatives contract made is reported."""
    from types import SimpleNamespace

    from co3chain.audit.proposal import INITIATIVE_PROPOSED, _link_initiative
    from co3chain.audit.report import AuditReport

    pid = chain.ci.functions.getInitiative(proposed).call()[16]
    created = chain.w3.eth.get_logs({"address": chain.ci.address, "fromBlock": 0,
                                     "topics": ["0x" + INITIATIVE_PROPOSED.hex()]})[0]["blockNumber"]
    ci = bytes.fromhex(chain.ci.address[2:])
    info = SimpleNamespace(created_block=created, proposer=ci)

    def run(tamper: Any = None) -> AuditReport:
        report = AuditReport("proposal", {})
        _link_initiative(SimpleNamespace(client=RpcClient(rpc_transport(chain.w3, tamper)), report=report), ci,
                         info, pid)
        return report

    clean = run()
    assert clean.subject["initiativeId"] == proposed and clean.passed
    assert [f.kind for f in clean.findings] == ["from-initiative"]  # an information line, not an error
    hidden = run(_rewrite(INITIATIVE_PROPOSED, lambda lg: []))
    assert "initiativeId" not in hidden.subject and "missing-initiative-link" in hidden.kinds()
    assert not hidden.passed
