"""``co3chain audit`` end to end over HTTP: exit 0 and reports on a clean node, exit 2 behind a lying proxy,
exit 1 with one readable line when the audit cannot run."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from co3chain.cli import cli
from tests.audit.devnet import Devnet, lying_proxy, serve
from tests.audit.governance import GovScenario


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["audit", *args], catch_exceptions=False)


def test_chain_cli_clean_and_lying(tmp_path: Path) -> None:
    d = Devnet(n_validators=4, epoch=5)
    try:
        d.produce_empty(7)
        genesis = tmp_path / "genesis.json"
        genesis.write_text(json.dumps(d.genesis_dict))
        with serve(d) as url:
            res = _invoke("chain", "--rpc", url, "--genesis", str(genesis), "--json", str(tmp_path / "c.json"),
                          "--html", str(tmp_path / "c.html"), "--no-progress")
            assert res.exit_code == 0, res.output
            assert "chain audit PASS" in res.output
            assert json.loads((tmp_path / "c.json").read_text())["stats"]["blocksVerified"] == 7

            def drop_seals(req: dict[str, Any], resp: dict[str, Any]) -> None:
                if req["method"] == "eth_getBlockByNumber" and req["params"][0] == "0x3":
                    from co3chain.consensus.qbft.extradata import QbftExtraData

                    extra = QbftExtraData.decode(bytes.fromhex(resp["result"]["extraData"][2:]))
                    resp["result"]["extraData"] = "0x" + extra.with_seals(extra.seals[:1]).encode().hex()

            with lying_proxy(url, drop_seals) as bad:
                res = _invoke("chain", "--rpc", bad, "--genesis", str(genesis), "--html", str(tmp_path / "bad.html"))
            assert res.exit_code == 2, res.output
            assert "insufficient-seals: block 3" in res.output
            assert "Audit failed" in (tmp_path / "bad.html").read_text()
    finally:
        d.close()


def test_cli_unreachable_node_is_one_line(tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.json"
    d = Devnet(n_validators=1)
    genesis.write_text(json.dumps(d.genesis_dict))
    d.close()
    res = CliRunner().invoke(cli, ["audit", "chain", "--rpc", "http://127.0.0.1:9", "--genesis", str(genesis)])
    assert res.exit_code == 1
    assert res.output.strip().startswith("error: cannot reach http://127.0.0.1:9")
    assert len(res.output.strip().splitlines()) == 1


def test_proposal_and_contracts_cli(gov: GovScenario, tmp_path: Path) -> None:
    manifest = tmp_path / "deployment.json"
    manifest.write_text(json.dumps(gov.manifest))
    with serve(gov.devnet) as url:
        res = _invoke("proposal", hex(gov.token_proposal), "--rpc", url, "--manifest", str(manifest),
                      "--json", str(tmp_path / "p.json"), "--no-progress")
        assert res.exit_code == 0, res.output
        data = json.loads((tmp_path / "p.json").read_text())
        assert data["passed"] and data["stats"]["tally"]["for"] == "240"
        res = _invoke("contracts", "--rpc", url, "--manifest", str(manifest), "--html", str(tmp_path / "k.html"))
        # Every contract fully matches its sources, but today's deploy leaves the deployer EOA as admin: exit 2.
        assert res.exit_code == 2, res.output
        assert "bytecode" not in res.output and "eoa-power" in res.output
        assert "CO3Governance.registry" in (tmp_path / "k.html").read_text()
        res = _invoke("powers", "--rpc", url, "--manifest", str(manifest), "--json", str(tmp_path / "w.json"))
        assert res.exit_code == 2, res.output
        powers = json.loads((tmp_path / "w.json").read_text())
        assert powers["audit"] == "powers" and any(p["role"] == "MINTER_ROLE" for p in powers["stats"]["powers"])

        def wrong_state(req: dict[str, Any], resp: dict[str, Any]) -> None:
            if req["method"] == "eth_call" and req["params"][0]["data"].startswith("0x3e4f49e6"):  # state(uint256)
                resp["result"] = "0x" + (3).to_bytes(32, "big").hex()  # claim Succeeded

        with lying_proxy(url, wrong_state) as bad:
            res = _invoke("proposal", str(gov.token_proposal), "--rpc", bad, "--manifest", str(manifest))
        assert res.exit_code == 2, res.output
        assert "outcome-mismatch" in res.output


def test_bad_proposal_id() -> None:
    res = CliRunner().invoke(cli, ["audit", "proposal", "xyz", "--rpc", "http://x", "--manifest", __file__])
    assert res.exit_code != 0 and "not a decimal or 0x-hex proposal id" in res.output


def test_chain_cli_replay_with_checkpoint_and_genesis_check(gov: GovScenario, tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(gov.devnet.genesis_dict))
    cp = tmp_path / "replay.checkpoint"
    with serve(gov.devnet) as url:
        res = _invoke("chain", "--rpc", url, "--genesis", str(genesis), "--replay", "--checkpoint", str(cp), "--to", "10",
                      "--no-progress", "--timezone", "Europe/Rome")
        assert res.exit_code == 0, res.output
        assert res.output.startswith("Audit passed: all 10 blocks from the genesis to block 10")
        assert json.loads(cp.read_text())["block"] == 10
        res = _invoke("chain", "--rpc", url, "--genesis", str(genesis), "--replay", "--checkpoint", str(cp),
                      "--json", str(tmp_path / "r.json"), "--no-progress")
        assert res.exit_code == 0, res.output
        stats = json.loads((tmp_path / "r.json").read_text())["stats"]
        assert stats["replayResumedFrom"] == 10 and stats["replayedBlocks"] == gov.devnet.chain.head.block_number - 10
        forged = copy.deepcopy(gov.devnet.genesis_dict)
        forged["alloc"]["a7" * 20] = {"balance": hex(10**27)}
        genesis.write_text(json.dumps(forged))
        res = _invoke("chain", "--rpc", url, "--genesis", str(genesis), "--no-progress")
        assert res.exit_code == 2, res.output
        assert "Audit failed: the chain does not start from the genesis file you hold: alloc differs" in res.output
    res = _invoke("chain", "--rpc", "http://127.0.0.1:9", "--genesis", str(genesis), "--checkpoint", str(cp))
    assert res.exit_code == 2 and "--checkpoint needs --replay" in res.output
    res = _invoke("chain", "--rpc", "http://127.0.0.1:9", "--genesis", str(genesis), "--timezone", "Mars/Olympus")
    assert res.exit_code == 2 and "is not a time zone name" in res.output


def test_chain_cli_replay_engine_choice(gov: GovScenario, tmp_path: Path) -> None:
    """``--replay-engine revm`` replays with the node's engine (faster) and says so; both engines pass."""
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(gov.devnet.genesis_dict))
    with serve(gov.devnet) as url:
        for engine in ("revm", "py-evm"):
            out = tmp_path / f"{engine}.json"
            res = _invoke("chain", "--rpc", url, "--genesis", str(genesis), "--replay", "--replay-engine", engine,
                          "--json", str(out), "--no-progress")
            assert res.exit_code == 0, res.output
            stats = json.loads(out.read_text())["stats"]
            assert stats["replayEngine"] == engine
            assert stats["replayedBlocks"] == gov.devnet.chain.head.block_number
    res = _invoke("chain", "--rpc", "http://127.0.0.1:9", "--genesis", str(genesis), "--replay",
                  "--replay-engine", "evmone")
    assert res.exit_code == 2 and "evmone" in res.output
