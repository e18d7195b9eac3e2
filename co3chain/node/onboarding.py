"""How one PA sets up its own node without trusting anyone: ``node init`` → ``network genesis`` → ``node join``.

Why three steps: in a consortium of PAs nobody may hold another PA's key. Each operator creates its key
on its own machine (:func:`init_node_dir`) and publishes only its *public identity* (validator address and
peer string ``pubkey@host:port``); someone assembles the genesis from the published addresses
(:func:`co3chain.chain.genesis.make_genesis`, hash compared out of band with :func:`genesis_hash`); each
operator then points its node at that genesis and at the others' peer strings (:func:`join_node`).

Node directory layout (everything relative, so the directory can be moved as a whole)::

    key.json        scrypt keystore (v3), mode 0600
    password        its password, mode 0600 — absent when the operator supplies CO3CHAIN_PASSWORD
    identity.json   public: address, node public key, peer string, chosen ports
    genesis.json    copy of the network's genesis (written by ``join``)
    config.toml     node config (written by ``join``)
    data/           chain database (created by ``node start``)
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomli_w
from eth_keys import keys as eth_keys

from co3chain.chain.genesis import Genesis, load_genesis, parse_genesis
from co3chain.errors import Co3Error
from co3chain.keys import create_keystore
from co3chain.node.config import ConfigError, config_to_toml_dict, parse_peer

IDENTITY_FILE = "identity.json"
KEYSTORE_FILE = "key.json"
PASSWORD_FILE = "password"


class OnboardingError(Co3Error):
    """A node directory cannot be created or joined to a network."""


@dataclass(frozen=True)
class NodeIdentity:
    """What a PA publishes about its node (no secret in here)."""

    address: str
    pubkey: str
    p2p_host: str  # advertised: where other PAs reach this node
    p2p_port: int
    p2p_bind: str  # local listen address
    rpc_host: str
    rpc_port: int
    metrics_port: int = 0

    @property
    def peer(self) -> str:
        host = f"[{self.p2p_host}]" if ":" in self.p2p_host else self.p2p_host
        return f"{self.pubkey}@{host}:{self.p2p_port}"

    def public(self) -> dict[str, Any]:
        """The JSON printed by ``node init --json`` and stored in ``identity.json``."""
        return {**asdict(self), "peer": self.peer}


def write_secret(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 (never overwrites)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    os.chmod(path, 0o600)


def init_node_dir(
    node_dir: Path,
    *,
    p2p_host: str = "127.0.0.1",
    p2p_port: int = 30303,
    p2p_bind: str | None = None,
    rpc_host: str = "127.0.0.1",
    rpc_port: int = 8545,
    metrics_port: int = 0,
    password: str | None = None,
    private_key: bytes | None = None,
) -> NodeIdentity:
    """Create this PA's key and node directory; returns its public identity.

    ``password`` given (e.g. from ``$CO3CHAIN_PASSWORD``): the keystore is encrypted with it and no
    password file is written. Otherwise a random password goes to ``password`` (mode 0600).
    """
    for name, port in (("p2p", p2p_port), ("rpc", rpc_port), ("metrics", metrics_port)):
        if not 0 <= port <= 65535 or (name == "p2p" and port == 0):
            raise OnboardingError(f"--{name}-port {port} out of range")
    node_dir = Path(node_dir)
    if (node_dir / KEYSTORE_FILE).exists():
        raise OnboardingError(f"{node_dir / KEYSTORE_FILE} already exists; refusing to replace a node key")
    node_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(node_dir, 0o700)
    if password is None:
        password = secrets.token_urlsafe(24)
        write_secret(node_dir / PASSWORD_FILE, password)
    key = private_key if private_key is not None else secrets.token_bytes(32)
    address = create_keystore(node_dir / KEYSTORE_FILE, password, key)
    identity = NodeIdentity(
        address=address,
        pubkey=eth_keys.PrivateKey(key).public_key.to_bytes().hex(),
        p2p_host=p2p_host,
        p2p_port=p2p_port,
        p2p_bind=p2p_bind or ("0.0.0.0" if p2p_host not in ("127.0.0.1", "localhost", "::1") else p2p_host),
        rpc_host=rpc_host,
        rpc_port=rpc_port,
        metrics_port=metrics_port,
    )
    (node_dir / IDENTITY_FILE).write_text(json.dumps(identity.public(), indent=2) + "\n", encoding="utf-8")
    return identity


def load_identity(node_dir: Path) -> NodeIdentity:
    path = Path(node_dir) / IDENTITY_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OnboardingError(f"{path} not found: run `co3chain node init --dir {node_dir}` first") from None
    except (OSError, ValueError) as exc:
        raise OnboardingError(f"cannot read {path}: {exc}") from None
    doc.pop("peer", None)
    try:
        return NodeIdentity(**doc)
    except TypeError as exc:
        raise OnboardingError(f"{path} is not a node identity: {exc}") from None


def genesis_hash(genesis: Genesis | dict[str, Any]) -> bytes:
    """Block-0 hash of a genesis (what every node stores; PAs compare it out of band)."""
    from co3chain.chain.chain import NodeChain

    g = genesis if isinstance(genesis, Genesis) else parse_genesis(genesis)
    chain = NodeChain.open(None, g)
    try:
        return bytes(chain.genesis_header.hash)
    finally:
        chain.close()


def join_node(
    node_dir: Path,
    genesis_path: Path,
    peers: list[str],
    *,
    dev: bool = False,
    empty_blocks: bool = True,
    force: bool = False,
) -> dict[str, Any]:
    """Copy the genesis into ``node_dir`` and write ``config.toml`` for it and ``peers``.

    Peers are validated now (a typo must not surface as a silent dial failure); our own peer string
    may be in the list (every PA can use the same list) and is skipped.
    """
    node_dir = Path(node_dir)
    identity = load_identity(node_dir)
    genesis = load_genesis(genesis_path)
    config_path = node_dir / "config.toml"
    if config_path.exists() and not force:
        raise OnboardingError(f"{config_path} already exists; pass --force to rewrite it")
    own = bytes.fromhex(identity.pubkey)
    peer_strings: list[str] = []
    for text in peers:
        try:
            peer = parse_peer(text)
        except ConfigError as exc:
            raise OnboardingError(f"--peer: {exc}") from None
        if peer.pubkey != own and str(peer) not in peer_strings:
            peer_strings.append(str(peer))
    target = node_dir / "genesis.json"
    if Path(genesis_path).resolve() != target.resolve():
        target.write_bytes(Path(genesis_path).read_bytes())
    doc = config_to_toml_dict(
        genesis="genesis.json",
        keystore=KEYSTORE_FILE,
        password_file=PASSWORD_FILE if (node_dir / PASSWORD_FILE).exists() else None,
        rpc_host=identity.rpc_host,
        rpc_port=identity.rpc_port,
        p2p_host=identity.p2p_bind,
        p2p_port=identity.p2p_port,
        p2p_advertise=identity.p2p_host,
        peers=peer_strings,
        metrics_port=identity.metrics_port,
        dev=dev,
        empty_blocks=empty_blocks,
    )
    config_path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    address = bytes.fromhex(identity.address[2:])
    return {
        "config": str(config_path),
        "genesisHash": "0x" + genesis_hash(genesis).hex(),
        "chainId": genesis.chain_id,
        "address": identity.address,
        "validator": address in genesis.validators,
        "peers": peer_strings,
    }
