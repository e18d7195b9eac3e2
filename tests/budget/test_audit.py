"""co3chain.audit.budget: a clean round passes; a node that lies about events or the outcome is caught."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from co3chain.audit.budget import BALLOT_CAST, ROUND_FINALIZED, audit_budget_round
from co3chain.audit.rpc import RpcClient
from co3chain.budget.rule import selection_mask
from co3chain.budget.typed_data import sign_ballot
from tests.budget.helpers import BudgetSuite, manifest_of, rpc_transport
from tests.contracts.suite_helpers import send


@pytest.fixture
def finished_round(suite: BudgetSuite) -> int:
    """Round with 4 projects, 4 ballots (one signed), finalized, one project delivered, one started."""
    pb = suite.pb
    rid, start, end = suite.create_round([600, 300, 250, 100], budget=1000)
    suite.travel(start)
    c = suite.citizens
    send(pb.functions.castBallot(rid, selection_mask([0, 1])), c[0])
    send(pb.functions.castBallot(rid, selection_mask([0, 2])), c[1])
    sig = sign_ballot(bytes(c[2].key), suite.chain_id, pb.address, round_id=rid, selection=0b1100, nonce=0)
    send(pb.functions.castBallotBySig(rid, 0b1100, c[2].address, 0, sig), suite.relayer)
    send(pb.functions.castBallot(rid, selection_mask([1])), c[3])
    suite.travel(end + 1)
    send(pb.functions.finalize(rid), c[0])
    send(pb.functions.startProject(rid, 0, b"\x01" * 32), suite.officer)
    send(pb.functions.deliverProject(rid, 0, b"\x02" * 32), suite.officer)
    send(pb.functions.startProject(rid, 3, b"\x03" * 32), suite.officer)
    return rid


def test_clean_round_passes(suite: BudgetSuite, finished_round: int) -> None:
    report = audit_budget_round(RpcClient(rpc_transport(suite.w3)), manifest_of(suite), finished_round)
    assert report.passed, [f.line() for f in report.findings]
    assert report.stats["approvals"] == [2, 2, 2, 1]
    assert report.stats["recordedFunded"] == [0, 1, 3]
    assert report.stats["projectStates"] == ["Delivered", "Funded", "NotFunded", "InProgress"]
    assert report.stats["paid"] == ["600", "0", "0", "50"]


def _rewrite_logs(topic0: bytes, edit: Any) -> Any:
    def tamper(method: str, result: Any) -> Any:
        if method != "eth_getLogs":
            return result
        out = []
        for lg in result:
            if lg["topics"][0] == "0x" + topic0.hex():
                out.extend(edit(lg))
            else:
                out.append(lg)
        return out

    return tamper


def test_tampered_outcome_is_reported(suite: BudgetSuite, finished_round: int) -> None:
    def fund_project_two(lg: dict[str, Any]) -> list[dict[str, Any]]:
        data = bytes.fromhex(lg["data"][2:])
        return [{**lg, "data": "0x" + ((0b0111).to_bytes(32, "big") + data[32:]).hex()}]

    client = RpcClient(rpc_transport(suite.w3, _rewrite_logs(ROUND_FINALIZED, fund_project_two)))
    report = audit_budget_round(client, manifest_of(suite), finished_round)
    assert "outcome-mismatch" in report.kinds()


def test_hidden_and_duplicated_ballots_are_reported(suite: BudgetSuite, finished_round: int) -> None:
    dropped: list[int] = []

    def drop_first(lg: dict[str, Any]) -> list[dict[str, Any]]:
        if not dropped:
            dropped.append(1)
            return []
        return [lg]

    hidden = audit_budget_round(RpcClient(rpc_transport(suite.w3, _rewrite_logs(BALLOT_CAST, drop_first))),
                                manifest_of(suite), finished_round)
    assert {"tally-mismatch", "outcome-mismatch"} <= hidden.kinds()

    doubled = audit_budget_round(RpcClient(rpc_transport(suite.w3, _rewrite_logs(BALLOT_CAST, lambda lg: [lg, lg]))),
                                 manifest_of(suite), finished_round)
    assert "double-vote" in doubled.kinds()


def test_unknown_round_and_cli(suite: BudgetSuite, finished_round: int, tmp_path: Any,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    report = audit_budget_round(RpcClient(rpc_transport(suite.w3)), manifest_of(suite), 42)
    assert report.kinds() == {"missing-round"}

    from co3chain.audit import cli as audit_cli

    monkeypatch.setattr(audit_cli, "RpcClient", lambda url, batch: RpcClient(rpc_transport(suite.w3)))
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps(manifest_of(suite)))
    ok = CliRunner().invoke(audit_cli.audit, ["budget", str(finished_round), "--rpc", "http://x", "--manifest",
                                              str(manifest)])
    assert ok.exit_code == 0, ok.output
    assert "PASS" in ok.output.upper()
    # the plain verdict a PA clerk reads names the round and what was checked (it used to read "Audit passed: .")
    assert f"Audit passed: budget round {finished_round} was decided by its" in ok.output
    assert "exactly as the published rule says" in ok.output
    missing = CliRunner().invoke(audit_cli.audit, ["budget", "42", "--rpc", "http://x", "--manifest", str(manifest)])
    assert missing.exit_code == 2 and "missing-round" in missing.output


def test_cancelled_round_is_a_note_not_a_failure(suite: BudgetSuite) -> None:
    rid, _start, _end = suite.create_round([10, 20], budget=100)
    send(suite.pb.functions.cancelRound(rid, b"\x01" * 32), suite.admin)
    report = audit_budget_round(RpcClient(rpc_transport(suite.w3)), manifest_of(suite), rid)
    assert report.passed and "round-cancelled" in {f.kind for f in report.findings}


def test_tampered_payments_are_reported(suite: BudgetSuite, finished_round: int) -> None:
    from co3chain.audit.budget import PROJECT_STATE, TREASURY_PAID

    hidden = audit_budget_round(RpcClient(rpc_transport(suite.w3, _rewrite_logs(TREASURY_PAID, lambda lg: []))),
                                manifest_of(suite), finished_round)
    assert hidden.kinds() == {"payment-mismatch"}

    def inflate(lg: dict[str, Any]) -> list[dict[str, Any]]:
        data = bytearray.fromhex(lg["data"][2:])
        if int.from_bytes(data[64:96], "big"):
            data[64:96] = (int.from_bytes(data[64:96], "big") + 1).to_bytes(32, "big")
        return [{**lg, "data": "0x" + data.hex()}]

    inflated = audit_budget_round(RpcClient(rpc_transport(suite.w3, _rewrite_logs(PROJECT_STATE, inflate))),
                                  manifest_of(suite), finished_round)
    assert "payment-mismatch" in inflated.kinds()
