"""Node config parsing: defaults, relative paths, and a clear error for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w

from co3chain.node.config import ConfigError, config_to_toml_dict, load_config, parse_config, parse_peer

PUB = "ab" * 64


def write(tmp_path: Path, doc: dict) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(tomli_w.dumps(doc))
    return p


def test_generated_config_roundtrip(tmp_path: Path) -> None:
    doc = config_to_toml_dict(
        genesis="../genesis.json", rpc_port=9000, peers=[f"{PUB}@10.0.0.2:30304"], metrics_port=9100
    )
    cfg = load_config(write(tmp_path, doc))
    assert cfg.genesis == (tmp_path.parent / "genesis.json").resolve()
    assert cfg.data_dir == (tmp_path / "data").resolve()
    assert (
        cfg.keystore == (tmp_path / "key.json").resolve()
        and cfg.password_file == (tmp_path / "password").resolve()
    )
    assert cfg.is_validator and cfg.rpc.port == 9000 and cfg.metrics.port == 9100
    assert cfg.p2p.peers[0].host == "10.0.0.2" and cfg.p2p.peers[0].port == 30304
    assert str(cfg.p2p.peers[0]) == f"{PUB}@10.0.0.2:30304"
    assert cfg.producer.empty_blocks is True and cfg.txpool.max_per_sender == 64


def test_minimal_config_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, {"node": {"genesis": "g.json"}}))
    assert not cfg.is_validator and cfg.rpc.host == "127.0.0.1" and cfg.rpc.port == 8545
    assert cfg.metrics.port == 0 and cfg.dev is False and cfg.allowed_accounts == ()


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({}, "genesis is required"),
        ({"node": {"genesis": "g", "colour": 1}}, "unknown key(s) in [node]: colour"),
        ({"node": {"genesis": "g"}, "extra": {}}, "unknown section [extra]"),
        ({"node": {"genesis": "g"}, "rpc": {"port": "80"}}, "[port] must be a int"),
        ({"node": {"genesis": "g"}, "rpc": {"port": 70000}}, "out of range"),
        ({"node": {"genesis": "g"}, "rpc": {"port": True}}, "must be a int"),
        ({"node": {"genesis": "g"}, "p2p": {"peers": ["nobody"]}}, "must look like"),
        ({"node": {"genesis": "g"}, "p2p": {"peers": ["abcd@h:1"]}}, "64 bytes"),
        ({"node": {"genesis": "g"}, "p2p": {"peers": [f"{PUB}@host"]}}, "host:port"),
        ({"node": {"genesis": "g"}, "permissions": {"accounts": ["0x12"]}}, "not a hex address"),
        ({"node": {"genesis": "g"}, "validator": {"password_file": "p"}}, "without keystore"),
        ({"node": {"genesis": "g"}, "producer": {"max_block_txs": 0}}, "at least 1"),
        (
            {"node": {"genesis": "g"}, "txpool": {"max_per_sender": 10, "max_total": 5}},
            "max_per_sender <= max_total",
        ),
    ],
)
def test_bad_config(tmp_path: Path, doc: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=None) as exc:
        parse_config(doc, tmp_path)
    assert needle in str(exc.value)


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read node config"):
        load_config(tmp_path / "missing.toml")
    p = tmp_path / "bad.toml"
    p.write_text("[node\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


def test_parse_peer_forms() -> None:
    assert parse_peer(f"enode://{PUB}@[::1]:30303").host == "::1"
    assert parse_peer(f"0x{PUB}@example.org:1").port == 1
    with pytest.raises(ConfigError):
        parse_peer(f"{PUB}@example.org:0")


def test_shipped_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "node" / "consortium.example.toml"
    cfg = load_config(example)
    assert cfg.is_validator and len(cfg.p2p.peers) == 2 and cfg.metrics.port == 9545
