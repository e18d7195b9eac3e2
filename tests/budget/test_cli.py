"""``co3chain budget ...`` against the API of tests/budget/test_api.py's world (the SDK over FastAPI's client)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_abi import decode
from eth_utils import keccak

from co3chain.budget import cli as budget_cli
from co3chain.cli import cli
from co3chain.sdk.budget import BudgetClient
from tests.api.conftest import CITIZENS, World, suite_artifacts  # noqa: F401
from tests.budget.test_api import AREA, _round_body, bworld  # noqa: F401


def test_budget_cli_flow(bworld: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    w = bworld
    monkeypatch.setattr(budget_cli, "_budget_client", lambda _url, key=None: BudgetClient(w.client(key)))
    run = CliRunner().invoke
    round_file = tmp_path / "round.json"
    body = _round_body(w, "0x" + "ab" * 20)
    round_file.write_text(json.dumps(body))

    no_key = run(cli, ["budget", "propose", str(round_file)], env={"CO3_API_KEY": ""})
    assert no_key.exit_code == 1 and "api-key" in no_key.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**body, "projects": []}))
    refused = run(cli, ["budget", "propose", str(bad), "--api-key", w.pa_key])
    assert refused.exit_code == 1 and "not a valid round" in refused.output
    ok = run(cli, ["budget", "propose", str(round_file), "--api-key", w.pa_key])
    assert ok.exit_code == 0, ok.output

    w.travel(body["voteStart"] + 1)
    voted = run(cli, ["budget", "vote", "1", "0", "2", "--dev-key", CITIZENS[0].key.hex()])
    assert voted.exit_code == 0 and CITIZENS[0].address in voted.output, voted.output
    again = run(cli, ["budget", "vote", "1", "1", "--dev-key", CITIZENS[0].key.hex()])
    assert again.exit_code == 1 and "already_voted" in again.output

    shown = run(cli, ["budget", "show", "1"])
    assert shown.exit_code == 0 and "provisional result: funded [0, 2], spent 1000" in shown.output, shown.output
    listed = run(cli, ["budget", "rounds", "--json"])
    assert json.loads(listed.output)["items"][0]["ballots"] == 1
    treasury = run(cli, ["budget", "treasury", "--area", str(AREA)])
    assert "budget           4000" in treasury.output, treasury.output

    w.travel(body["voteEnd"] + 2)
    assert run(cli, ["budget", "finalize", "1", "--api-key", w.pa_key]).exit_code == 0
    evidence = "0x" + keccak(text="site opened").hex()
    moved = run(cli, ["budget", "status", "1", "0", "--set", "InProgress", "--evidence", evidence, "--api-key",
                      w.pa_key])
    assert moved.exit_code == 0, moved.output
    status = run(cli, ["budget", "status", "1", "0", "--json"])
    assert json.loads(status.output)["state"] == "InProgress" and json.loads(status.output)["paid"] == "350"
    missing = run(cli, ["budget", "status", "7", "0"])
    assert missing.exit_code == 1 and "404" in missing.output

    w.sync()
    history = run(cli, ["budget", "history", "1"])
    assert history.exit_code == 0, history.output
    assert "BudgetBallotCast" in history.output and f"voter={CITIZENS[0].address}" in history.output
    assert "state=InProgress" in history.output and f"evidenceHash={evidence}" in history.output
    as_json = json.loads(run(cli, ["budget", "history", "1", "--json"]).output)
    assert [e["event"] for e in as_json["items"]][-2:] == ["ProjectStateChanged", "Paid"]


def test_calldata_and_deploy_refusals(bworld: World, tmp_path: Path) -> None:  # noqa: F811
    manifest = tmp_path / "deployment.json"
    manifest.write_text(json.dumps(bworld.manifest))
    out = CliRunner().invoke(cli, ["budget", "calldata", "assign", "--manifest", str(manifest), "--area", "3",
                                   "--amount", "500"])
    assert out.exit_code == 0, out.output
    plan = json.loads(out.output)
    assert plan["target"] == bworld.manifest["contracts"]["CommonsTreasury"]["address"]
    data = bytes.fromhex(plan["data"][2:])
    assert data[:4] == keccak(text="assignBudget(uint256,uint256)")[:4]
    assert decode(["uint256", "uint256"], data[4:]) == (3, 500)
    no_admin = CliRunner().invoke(cli, ["budget", "deploy", "--manifest", str(manifest), "--dev-key", "0x01"])
    assert no_admin.exit_code == 1 and "--executor" in no_admin.output
