"""``network init``, ``node status`` and ``validators list`` through the click commands."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner

from co3chain.chain.genesis import load_genesis
from co3chain.cli import cli
from co3chain.keys import load_private_key, read_password
from co3chain.node.config import load_config
from tests.rpc.conftest import VALIDATOR, start_node

DEAD = "0x000000000000000000000000000000000000dEaD"


def test_network_init_writes_a_consistent_network(tmp_path: Path) -> None:
    out = tmp_path / "net"
    res = CliRunner().invoke(
        cli,
        [
            "network",
            "init",
            "--validators",
            "3",
            "--chain-id",
            "2024",
            "--out",
            str(out),
            "--block-period",
            "2",
            "--alloc",
            f"{DEAD}=12345",
            "--rpc-port",
            "9100",
            "--metrics-port",
            "9200",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    genesis = load_genesis(out / "genesis.json")
    assert genesis.chain_id == 2024 and genesis.block_period == 2
    addresses = sorted(bytes.fromhex(n["address"][2:]) for n in summary["nodes"])
    assert genesis.validators == addresses
    assert genesis.alloc[bytes.fromhex(DEAD[2:].lower())].balance == 12345
    for k, n in enumerate(summary["nodes"], start=1):
        d = out / f"node{k}"
        for secret in ("key.json", "password"):
            assert stat.S_IMODE((d / secret).stat().st_mode) == 0o600
        cfg = load_config(d / "config.toml")
        assert cfg.genesis == (out / "genesis.json").resolve()
        assert cfg.rpc.port == 9100 + k - 1 and cfg.metrics.port == 9200 + k - 1
        assert len(cfg.p2p.peers) == 2 and all(p.port != cfg.p2p.port for p in cfg.p2p.peers)
        key = load_private_key(cfg.keystore, read_password(cfg.password_file))
        from eth_keys import keys

        assert "0x" + keys.PrivateKey(key).public_key.to_canonical_address().hex() == n["address"].lower()
        assert n["enode"].startswith(keys.PrivateKey(key).public_key.to_bytes().hex())
    # refuses to overwrite an existing network
    again = CliRunner().invoke(cli, ["network", "init", "-n", "1", "--chain-id", "1", "--out", str(out)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_network_init_and_genesis_set_the_block_gas_limit(tmp_path: Path) -> None:
    """An operator chooses the block gas limit at genesis (Besu's ``gasLimit``); the node builds under it."""
    from co3chain.chain.chain import NodeChain

    r = CliRunner().invoke(cli, ["network", "init", "-n", "1", "--chain-id", "9", "--out", str(tmp_path / "n"),
                                 "--gas-limit", "1000000000"])
    assert r.exit_code == 0, r.output
    genesis = load_genesis(tmp_path / "n" / "genesis.json")
    assert genesis.gas_limit == 1_000_000_000
    assert NodeChain.open(None, genesis).head.gas_limit == 1_000_000_000
    r = CliRunner().invoke(cli, ["network", "genesis", "--chain-id", "9", "--validator", "0x" + "11" * 20,
                                 "--gas-limit", "30000000", "--out", str(tmp_path / "g.json")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "g.json").read_text())["gasLimit"] == hex(30_000_000)
    r = CliRunner().invoke(cli, ["network", "init", "-n", "1", "--chain-id", "9", "--out", str(tmp_path / "m"),
                                 "--gas-limit", "0"])
    assert r.exit_code == 1 and "--gas-limit must be between" in r.output


def test_network_init_rejects_bad_input(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli,
        ["network", "init", "-n", "1", "--chain-id", "1", "--out", str(tmp_path / "a"), "--alloc", "nope"],
    )
    assert r.exit_code == 1 and "ADDRESS=WEI" in r.output
    r = CliRunner().invoke(
        cli, ["network", "init", "-n", "0", "--chain-id", "1", "--out", str(tmp_path / "b")]
    )
    assert r.exit_code == 1 and "at least 1" in r.output


def test_node_status_and_validators_list() -> None:
    node, stop = start_node()
    try:
        node.seal()
        res = CliRunner().invoke(cli, ["node", "status", "--rpc", node.url, "--json"])
        assert res.exit_code == 0, res.output
        st = json.loads(res.output)
        assert st["blockNumber"] == 1 and st["chainId"] == node.chain.chain_id
        assert st["validators"] == ["0x" + VALIDATOR.hex()] and st["txpool"] == {"pending": 0, "queued": 0}
        human = CliRunner().invoke(cli, ["node", "status", "--rpc", node.url])
        assert "head      #1" in human.output
        vals = CliRunner().invoke(cli, ["validators", "list", "--rpc", node.url, "--block", "0"])
        assert vals.output.strip().lower() == "0x" + VALIDATOR.hex()
        vote = CliRunner().invoke(cli, ["validators", "propose", DEAD, "--rpc", node.url])
        assert vote.exit_code == 1 and "does not exist" in vote.output
    finally:
        stop()


def test_node_status_unreachable() -> None:
    res = CliRunner().invoke(cli, ["node", "status", "--rpc", "http://127.0.0.1:9"])
    assert res.exit_code == 1 and "cannot reach node RPC" in res.output
