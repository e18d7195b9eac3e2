"""``co3chain node backup`` / ``node restore``: a consistent copy of a node, taken while it runs.

Why a RocksDB *secondary* instance: the running node holds the database lock, and copying the files
under it would mix SST files and WAL of different moments. A secondary instance replays the primary's
files and WAL up to one point and then serves a frozen, consistent view; every block import is one atomic
write batch, so that view ends exactly at some block. Its key/values are copied into a fresh database,
which is opened as a chain once (genesis and head checked) before it is packed.

Archive (``.tar.gz``): ``backup.json`` (backup format, data format, chain id, genesis hash, head), the
node's ``genesis.json``, ``config.toml`` and ``identity.json``, and ``data/`` — never the password; the
encrypted keystore only with ``--include-key`` (a backup is usually stored off the machine, and a key
copy is a second place to protect).

Restore puts ``data/`` back where the config says, refuses a backup of another network (genesis hash) or
of a newer format (downgrade protection), and keeps an existing data directory aside instead of deleting
it. The restored node then syncs the blocks it missed from its peers.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from co3chain import __version__
from co3chain.errors import Co3Error
from co3chain.node.config import NodeConfig, load_config
from co3chain.node.datadir import (
    DATA_FORMAT,
    FORMAT_FILE,
    check_supported,
    read_data_format,
    write_data_format,
)

#: The RocksDB directory inside a data directory (:func:`co3chain.chain.storage.open_store`).
CHAIN_DB = "chaindb"
#: Layout of the archive itself (``backup.json`` + members); older binaries refuse newer archives.
BACKUP_FORMAT = 1
_BATCH_KEYS = 20_000

Progress = Callable[[str], None]


class BackupError(Co3Error):
    """A backup cannot be made or restored."""


def _node_config(node_dir: Path) -> NodeConfig:
    path = Path(node_dir) / "config.toml"
    if not path.exists():
        raise BackupError(f"{path} not found: --dir must be a node directory (with config.toml)")
    cfg = load_config(path)
    if cfg.data_dir is None:
        raise BackupError("the node keeps its chain in memory; nothing to back up")
    return cfg


def _copy_consistent(data_dir: Path, target: Path, progress: Progress) -> int:
    """Copy a (possibly running) RocksDB at one consistent point into a new database at ``target``."""
    from rocksdict import AccessType, Options, Rdict, WriteBatch, WriteOptions

    with tempfile.TemporaryDirectory(prefix="co3-secondary-") as secondary:
        try:
            source = Rdict(str(data_dir), Options(raw_mode=True), access_type=AccessType.secondary(secondary))
            source.try_catch_up_with_primary()
        except Exception as exc:  # rocksdict raises plain Exception
            raise BackupError(f"cannot read the database in {data_dir}: {exc}") from None
        opts = Options(raw_mode=True)
        opts.create_if_missing(True)
        dest = Rdict(str(target), opts)
        sync = WriteOptions()
        sync.sync = True
        copied = 0
        try:
            batch = WriteBatch(raw_mode=True)
            for key, value in source.items():
                batch.put(key, value)
                copied += 1
                if copied % _BATCH_KEYS == 0:
                    dest.write(batch, sync)
                    batch = WriteBatch(raw_mode=True)
                    progress(f"copied {copied} keys")
            dest.write(batch, sync)
            dest.flush()
        finally:
            dest.close()
            source.close()
    return copied


def _chain_summary(db_dir: Path, genesis_path: Path) -> dict[str, Any]:
    """Open the copy as a chain: proves it belongs to the genesis and has a readable head."""
    from co3chain.chain.chain import NodeChain
    from co3chain.chain.genesis import load_genesis

    genesis = load_genesis(genesis_path)
    chain = NodeChain.open(db_dir, genesis)
    try:
        head = chain.head
        return {
            "chainId": chain.chain_id,
            "genesisHash": "0x" + bytes(chain.genesis_header.hash).hex(),
            "headNumber": int(head.block_number),
            "headHash": "0x" + bytes(head.hash).hex(),
        }
    finally:
        chain.close()


def create_backup(node_dir: Path, out: Path, *, include_key: bool = False,
                  progress: Progress = lambda _m: None) -> dict[str, Any]:
    """Write a consistent backup of the node in ``node_dir`` to ``out`` (tar.gz); returns its manifest."""
    node_dir = Path(node_dir)
    cfg = _node_config(node_dir)
    assert cfg.data_dir is not None
    if not (cfg.data_dir / CHAIN_DB / "CURRENT").exists():
        raise BackupError(f"no database in {cfg.data_dir}: has the node ever been started?")
    data_format = read_data_format(cfg.data_dir) or DATA_FORMAT
    check_supported(data_format, f"data directory {cfg.data_dir}")
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} already exists; choose another --out")
    with tempfile.TemporaryDirectory(prefix="co3-backup-", dir=out.parent if out.parent.exists() else None) as tmp:
        copy_dir = Path(tmp) / "data"
        progress(f"reading a consistent view of {cfg.data_dir}")
        keys = _copy_consistent(cfg.data_dir / CHAIN_DB, copy_dir / CHAIN_DB, progress)
        for small in cfg.data_dir.iterdir():  # e.g. this node's pending validator votes
            if small.is_file() and small.name != FORMAT_FILE:
                shutil.copy2(small, copy_dir / small.name)
        write_data_format(copy_dir, data_format)
        summary = _chain_summary(copy_dir, cfg.genesis)
        manifest = {
            "backupFormat": BACKUP_FORMAT,
            "dataFormat": data_format,
            "createdAt": int(time.time()),
            "software": f"co3chain {__version__}",
            "keys": keys,
            "includesKey": bool(include_key and cfg.keystore is not None),
            **summary,
        }
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            _add_bytes(tar, "backup.json", json.dumps(manifest, indent=2).encode())
            tar.add(cfg.genesis, arcname="genesis.json")
            tar.add(node_dir / "config.toml", arcname="config.toml")
            if (node_dir / "identity.json").exists():
                tar.add(node_dir / "identity.json", arcname="identity.json")
            if manifest["includesKey"]:
                assert cfg.keystore is not None
                tar.add(cfg.keystore, arcname="key.json")
            tar.add(copy_dir, arcname="data")
        partial.replace(out)
    progress(f"backup of block {manifest['headNumber']} written to {out}")
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("backup.json")
            if member is None:
                raise KeyError("backup.json")
            manifest: dict[str, Any] = json.loads(member.read())
    except FileNotFoundError:
        raise BackupError(f"backup {archive} not found") from None
    except (tarfile.TarError, KeyError, ValueError, OSError) as exc:
        raise BackupError(f"{archive} is not a co3chain backup: {exc}") from None
    if int(manifest.get("backupFormat", 0)) > BACKUP_FORMAT:
        raise BackupError(
            f"{archive} is backup format {manifest['backupFormat']}; this co3chain {__version__} reads up to "
            f"{BACKUP_FORMAT}: upgrade co3chain to restore it"
        )
    check_supported(int(manifest.get("dataFormat", 0)), f"backup {archive}")
    return manifest


def restore_backup(node_dir: Path, archive: Path, *, force: bool = False,
                   progress: Progress = lambda _m: None) -> dict[str, Any]:
    """Restore ``archive`` into ``node_dir`` (the node must be stopped); returns the manifest.

    A node directory without config.toml (a fresh machine) gets the archived config, genesis and
    identity; its keystore must come from the operator (or the archive, if made with --include-key).
    An existing data directory is moved to ``data.before-restore-<time>`` only with ``force``.
    """
    node_dir = Path(node_dir)
    manifest = read_manifest(archive)
    node_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="co3-restore-", dir=node_dir) as tmp:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(tmp, filter="data")
        staged = Path(tmp)
        if not (node_dir / "config.toml").exists():
            for name in ("config.toml", "genesis.json", "identity.json", "key.json"):
                if (staged / name).exists() and not (node_dir / name).exists():
                    shutil.copy2(staged / name, node_dir / name)
            _point_config_at_local_genesis(node_dir / "config.toml")
        cfg = _node_config(node_dir)
        assert cfg.data_dir is not None
        from co3chain.chain.genesis import load_genesis
        from co3chain.node.onboarding import genesis_hash

        ours = "0x" + genesis_hash(load_genesis(cfg.genesis)).hex()
        if ours != manifest["genesisHash"]:
            raise BackupError(
                f"backup is of network {manifest['genesisHash']}, this node's genesis is {ours}; not restoring"
            )
        _lock_free(cfg.data_dir)
        if cfg.data_dir.exists() and any(cfg.data_dir.iterdir()):
            if not force:
                raise BackupError(f"{cfg.data_dir} is not empty; pass --force to keep it aside and restore")
            aside = cfg.data_dir.with_name(f"{cfg.data_dir.name}.before-restore-{int(time.time())}")
            cfg.data_dir.rename(aside)
            progress(f"previous data directory kept as {aside}")
        elif cfg.data_dir.exists():
            cfg.data_dir.rmdir()
        cfg.data_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged / "data"), cfg.data_dir)
        if not (cfg.data_dir / FORMAT_FILE).exists():
            write_data_format(cfg.data_dir, int(manifest["dataFormat"]))
    progress(f"restored block {manifest['headNumber']} into {cfg.data_dir}; start the node to catch up")
    return manifest


def _point_config_at_local_genesis(config_path: Path) -> None:
    """A config from ``network init`` names ``../genesis.json``; on a new machine the copy sits next to it."""
    import tomllib

    import tomli_w

    doc = tomllib.loads(config_path.read_text(encoding="utf-8"))
    node = doc.setdefault("node", {})
    if not (config_path.parent / node.get("genesis", "genesis.json")).exists():
        node["genesis"] = "genesis.json"
        config_path.write_text(tomli_w.dumps(doc), encoding="utf-8")


def _lock_free(data_dir: Path) -> None:
    """Refuse to restore under a running node (RocksDB's LOCK is held)."""
    if not (data_dir / CHAIN_DB / "CURRENT").exists():
        return
    from rocksdict import Options, Rdict

    try:
        db = Rdict(str(data_dir / CHAIN_DB), Options(raw_mode=True))
    except Exception:
        raise BackupError(f"{data_dir} is in use: stop the node before restoring") from None
    db.close()
