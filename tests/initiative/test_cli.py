"""``co3chain initiative``: a citizen drafts, opens and collects supports from the command line (through the API,
signing locally); the council's threshold calldata; readable one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_abi import decode
from eth_utils import keccak

from co3chain.cli import cli
from co3chain.initiative import cli as initiative_cli
from co3chain.sdk.initiative import InitiativeClient
from tests.api.conftest import CITIZENS, World
from tests.initiative.test_api import world  # noqa: F401  (fixture: API world with 3 citizens of PA 1)


def test_initiative_cli_flow(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(initiative_cli, "_client", lambda _url: InitiativeClient(world.client()))
    run = CliRunner().invoke
    alice, bob, carol = CITIZENS[:3]
    text = tmp_path / "initiative.txt"
    text.write_text("Open the community garden shed every Sunday morning.", encoding="utf-8")
    key = lambda acct: ["--dev-key", "0x" + bytes(acct.key).hex()]  # noqa: E731

    out = run(cli, ["initiative", "draft", "--title", "Shed on Sundays", "--text-file", str(text),
                    "--electorate", "pa:1", "--voting-period", "2d", *key(alice)])
    assert out.exit_code == 0, out.output
    assert "initiative 1 drafted" in out.output
    shown = run(cli, ["initiative", "show", "1", "--json"])
    detail = json.loads(shown.output)
    assert detail["textHash"] == "0x" + keccak(text.read_bytes()).hex() and detail["votingPeriod"] == 2 * 86_400
    assert run(cli, ["initiative", "open", "1", *key(alice)]).exit_code == 0
    assert "1 of 2 supports" in run(cli, ["initiative", "support", "1", *key(bob)]).output
    last = run(cli, ["initiative", "support", "1", *key(carol)])
    assert last.exit_code == 0 and "went to vote as proposal 0x" in last.output, last.output
    world.sync()
    listing = run(cli, ["initiative", "supports", "1"]).output
    assert bob.address in listing and carol.address in listing
    assert "Proposed" in run(cli, ["initiative", "list"]).output
    assert "2 supports needed now" in run(cli, ["initiative", "threshold", "pa:1"]).output

    again = run(cli, ["initiative", "support", "1", *key(bob)])
    assert again.exit_code == 1 and again.output.count("\n") <= 2 and "wrong_status" in again.output
    bad = run(cli, ["initiative", "draft", "--title", "x", "--text-hash", "0x12", *key(alice)])
    assert bad.exit_code == 1 and "textHash" in bad.output
    both = run(cli, ["initiative", "draft", "--title", "x", *key(alice)])
    assert both.exit_code == 1 and "--text-file" in both.output


def test_threshold_calldata(world: World, tmp_path: Path) -> None:  # noqa: F811
    manifest = tmp_path / "deployment.json"
    manifest.write_text(json.dumps(world.manifest))
    run = CliRunner().invoke
    out = run(cli, ["initiative", "calldata", "--manifest", str(manifest), "--electorate", "group:7", "--kind",
                    "percentage", "--value", "250", "--window", "30d"])
    assert out.exit_code == 0, out.output
    call: dict[str, Any] = json.loads(out.output)
    assert call["target"] == world.manifest["contracts"]["CitizenInitiatives"]["address"]
    data = bytes.fromhex(call["data"][2:])
    assert data[:4] == keccak(text="setElectorateThreshold(uint256,(uint8,uint64,uint64))")[:4]
    assert decode(["uint256", "(uint8,uint64,uint64)"], data[4:]) == ((2 << 248) | 7, (1, 250, 30 * 86_400))
    assert run(cli, ["initiative", "calldata", "--manifest", str(manifest), "--clear"]).exit_code == 1
    bad = run(cli, ["initiative", "calldata", "--manifest", str(manifest), "--kind", "absolute", "--value", "3",
                    "--window", "soon"])
    assert bad.exit_code == 1 and "duration" in bad.output
