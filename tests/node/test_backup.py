"""Backup/restore and data-format (downgrade) protection, in process, on a node directory made by the CLI."""

from __future__ import annotations

import io
import json
import socket
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import load_genesis
from co3chain.cli import cli
from co3chain.node.backup import BackupError, create_backup, read_manifest, restore_backup
from co3chain.node.datadir import DATA_FORMAT, DataFormatError, ensure_data_format, write_data_format


def _run(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture()
def node_dir(tmp_path: Path) -> Path:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        p2p = s.getsockname()[1]
    ident = json.loads(_run("node", "init", "--dir", str(tmp_path / "n"), "--rpc-port", "0", "--p2p-port", str(p2p),
                            "--json"))
    _run("network", "genesis", "--chain-id", "9", "--validator", ident["address"], "--out", str(tmp_path / "g.json"))
    _run("node", "join", "--dir", str(tmp_path / "n"), "--genesis", str(tmp_path / "g.json"))
    d = tmp_path / "n"
    chain = NodeChain.open(d / "data", load_genesis(d / "genesis.json"))
    chain.close()
    ensure_data_format(d / "data")
    return d


def test_backup_restore_round_trip_into_a_fresh_directory(node_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar.gz"
    manifest = create_backup(node_dir, archive)
    assert manifest["dataFormat"] == DATA_FORMAT and manifest["headNumber"] == 0
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "password" not in names and "key.json" not in names and "data/FORMAT" in names
    with pytest.raises(BackupError, match="already exists"):
        create_backup(node_dir, archive)
    fresh = tmp_path / "fresh"
    restored = restore_backup(fresh, archive)
    assert restored["genesisHash"] == manifest["genesisHash"]
    assert (fresh / "config.toml").exists() and (fresh / "identity.json").exists()
    chain = NodeChain.open(fresh / "data", load_genesis(fresh / "genesis.json"))
    try:
        assert "0x" + bytes(chain.genesis_header.hash).hex() == manifest["genesisHash"]
    finally:
        chain.close()


def test_restore_refuses_a_non_empty_data_dir_without_force(node_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar.gz"
    create_backup(node_dir, archive)
    with pytest.raises(BackupError, match="--force"):
        restore_backup(node_dir, archive)
    restore_backup(node_dir, archive, force=True)
    assert list(node_dir.glob("data.before-restore-*"))


def test_restore_refuses_another_network(node_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar.gz"
    create_backup(node_dir, archive)
    other = tmp_path / "other"
    _run("node", "init", "--dir", str(other), "--p2p-port", "30001")
    _run("network", "genesis", "--chain-id", "10", "--validator", "0x" + "12" * 20, "--out", str(tmp_path / "g2"))
    _run("node", "join", "--dir", str(other), "--genesis", str(tmp_path / "g2"))
    with pytest.raises(BackupError, match="another|not restoring"):
        restore_backup(other, archive)


def _rewrite_manifest(archive: Path, out: Path, **changes: object) -> None:
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name == "backup.json":
                doc = json.loads(data.read())  # type: ignore[union-attr]
                doc.update(changes)
                raw = json.dumps(doc).encode()
                member.size = len(raw)
                dst.addfile(member, io.BytesIO(raw))
            else:
                dst.addfile(member, data)


@pytest.mark.parametrize(("field", "needle"), [("dataFormat", "data format"), ("backupFormat", "backup format")])
def test_newer_backup_is_refused(node_dir: Path, tmp_path: Path, field: str, needle: str) -> None:
    archive = tmp_path / "b.tar.gz"
    create_backup(node_dir, archive)
    newer = tmp_path / "newer.tar.gz"
    _rewrite_manifest(archive, newer, **{field: 99})
    with pytest.raises((BackupError, DataFormatError), match=needle):
        read_manifest(newer)


def test_older_binary_refuses_a_newer_data_directory(node_dir: Path) -> None:
    write_data_format(node_dir / "data", DATA_FORMAT + 1)
    res = CliRunner().invoke(cli, ["node", "start", "--config", str(node_dir / "config.toml")])
    assert res.exit_code == 1 and "data format" in res.output and "upgrade co3chain" in res.output
    assert res.output.count("\n") == 1


def test_backup_cli_one_line_errors(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["node", "backup", "--dir", str(tmp_path), "--out", str(tmp_path / "x.tgz")])
    assert res.exit_code == 1 and "config.toml" in res.output
    (tmp_path / "junk.tgz").write_bytes(b"not a tar")
    res = CliRunner().invoke(cli, ["node", "restore", "--dir", str(tmp_path / "d"), "--from", str(tmp_path / "junk.tgz")])
    assert res.exit_code == 1 and "not a co3chain backup" in res.output


def test_restore_of_a_network_init_node_on_a_new_machine(tmp_path: Path) -> None:
    """``network init`` configs name ``../genesis.json``: a restore elsewhere points them at the copy."""
    from co3chain.node.cli import init_network

    init_network(tmp_path / "net", 1, 4242, rpc_port=0, p2p_port=30555)
    d = tmp_path / "net" / "node1"
    NodeChain.open(d / "data", load_genesis(tmp_path / "net" / "genesis.json")).close()
    archive = tmp_path / "n1.tgz"
    manifest = create_backup(d, archive)
    fresh = tmp_path / "elsewhere" / "node1"
    restore_backup(fresh, archive)
    from co3chain.node.config import load_config

    cfg = load_config(fresh / "config.toml")
    assert cfg.genesis == (fresh / "genesis.json").resolve()
    chain = NodeChain.open(cfg.data_dir, load_genesis(cfg.genesis))
    try:
        assert "0x" + bytes(chain.genesis_header.hash).hex() == manifest["genesisHash"]
    finally:
        chain.close()
