"""Node configuration file (TOML): where data lives, which key seals, which ports to open.

Relative paths are resolved against the directory of the config file, so a node directory produced by
``co3chain network init`` can be moved or copied to another machine as a whole.

Example (all keys; only ``node.genesis`` is required)::

    [node]
    data_dir = "data"
    genesis = "../genesis.json"
    dev = false                 # dev mode: eth_accounts/eth_sendTransaction with the validator key

    [validator]                 # omit for a non-validating (RPC) node
    keystore = "key.json"
    password_file = "password"  # or env CO3CHAIN_PASSWORD

    [rpc]
    host = "127.0.0.1"
    port = 8545
    max_body_bytes = 5242880
    cors_origins = []
    # apis = ["eth", "net", "web3"]   # namespaces served; default: all on a loopback host, else eth/net/web3

    [p2p]
    host = "0.0.0.0"            # bind address
    port = 30303
    advertise_host = "pa1.example.org"  # where other PAs reach this node (default: host)
    peers = ["<128-hex pubkey>@10.0.0.2:30303"]

    [metrics]
    host = "127.0.0.1"
    port = 9545                 # 0 disables the Prometheus endpoint

    [producer]
    empty_blocks = true         # seal blocks without transactions every block period
    max_block_txs = 10000       # count guard; gas and the build-time budget bound blocks first

    [txpool]
    max_per_sender = 64
    max_total = 8192
    max_bytes = 33554432        # encoded bytes of all pooled transactions
    max_queued_per_sender = 16  # nonce-gap transactions per sender
    queued_lifetime = 900       # seconds a nonce-gap transaction may wait
    protected = []              # relayer/oracle/PA accounts a full pool evicts others for

    [chain]
    engine = "revm"             # EVM: "revm" (fast, default) or "py-evm" (reference); identical blocks
    cross_check = false         # execute every block with both engines; halt on any difference

    [permissions]
    accounts = []               # allowed tx senders (empty = everyone; genesis allow-list also applies)
    contract = "0x…"            # on-chain allow-list (ConsortiumValidators); see co3chain.node.permissioning
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import is_hex_address, to_canonical_address

from co3chain.errors import Co3Error


class ConfigError(Co3Error):
    """The node config file is missing, unreadable or has an invalid value."""


@dataclass(frozen=True)
class PeerAddress:
    """An allow-listed peer ``pubkey@host:port`` (the key it must prove to hold in the handshake)."""

    pubkey: bytes
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.pubkey.hex()}@{host}:{self.port}"


#: Every JSON-RPC namespace the node has, and those served by default on a non-loopback address.
RPC_NAMESPACES = frozenset({"eth", "net", "web3", "txpool", "qbft", "admin"})
PUBLIC_RPC_APIS = frozenset({"eth", "net", "web3"})


def is_loopback_host(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RpcConfig:
    host: str = "127.0.0.1"
    port: int = 8545
    max_body_bytes: int = 5 * 1024 * 1024
    cors_origins: tuple[str, ...] = ()
    enabled: bool = True
    #: RPC execution threads, jobs in flight before "busy", per-job time limit (geth rpc.evmtimeout).
    workers: int = 2
    max_pending: int = 16
    evm_timeout: float = 5.0
    #: JSON-RPC namespaces served (``eth``, ``net``, ``web3``, ``txpool``, ``qbft``, ``admin``); ``None`` =
    #: the default of :meth:`enabled_namespaces`.
    apis: tuple[str, ...] | None = None

    def enabled_namespaces(self) -> frozenset[str] | None:
        """The namespaces this RPC interface serves; ``None`` means every method.

        Why this default: on a loopback address only the operator's own processes reach the RPC, and the
        operator's tools need ``qbft_``/``admin_``/``txpool_`` (votes, peers, pool). Bound to any other address
        the RPC faces apps or the network, where ``qbft_proposeValidatorVote`` or ``admin_addPeer`` would let
        a stranger steer this PA's node: there only ``eth``, ``net`` and ``web3`` are served unless ``apis``
        says otherwise (Besu's ``--rpc-http-api`` default). An explicit ``apis`` list always wins.
        """
        if self.apis is not None:
            return frozenset(self.apis)
        return None if is_loopback_host(self.host) else PUBLIC_RPC_APIS


@dataclass(frozen=True)
class P2PSection:
    host: str = "0.0.0.0"
    port: int = 30303
    peers: tuple[PeerAddress, ...] = ()
    #: Host other nodes dial (the bind ``host`` is often 0.0.0.0 or a private address behind NAT).
    advertise_host: str | None = None

    @property
    def advertised(self) -> str:
        return self.advertise_host or self.host


@dataclass(frozen=True)
class MetricsConfig:
    host: str = "127.0.0.1"
    port: int = 0


@dataclass(frozen=True)
class ProducerConfig:
    empty_blocks: bool = True
    #: A guard on the count only. Blocks are bounded by the block gas limit and, on a QBFT proposer, by
    #: its build-time budget and adaptive gas cap (what the validators can verify within the round). The
    #: old default of 2,000 bound first: with 1-second blocks it capped a node at 2,000 transfers/s
    #: whatever its speed (the default 100M gas limit holds ~2,900 ERC-20 transfers). 10,000 stays above
    #: what the default gas limit admits (100M / 21,000 = 4,761 plain transfers).
    max_block_txs: int = 10_000


@dataclass(frozen=True)
class ChainConfig:
    engine: str = "revm"
    cross_check: bool = False


@dataclass(frozen=True)
class TxPoolConfig:
    max_per_sender: int = 64
    max_total: int = 8192
    max_bytes: int = 32 * 1024 * 1024
    max_queued_per_sender: int = 16
    queued_lifetime: float = 900.0
    #: Accounts a full pool makes room for (validators and allow-listed accounts are protected too).
    protected: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class NodeConfig:
    """Parsed node config; every path is absolute."""

    path: Path | None
    data_dir: Path | None  # None = in memory (tests)
    genesis: Path
    keystore: Path | None = None
    password_file: Path | None = None
    dev: bool = False
    rpc: RpcConfig = field(default_factory=RpcConfig)
    p2p: P2PSection = field(default_factory=P2PSection)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    producer: ProducerConfig = field(default_factory=ProducerConfig)
    txpool: TxPoolConfig = field(default_factory=TxPoolConfig)
    chain: ChainConfig = field(default_factory=ChainConfig)
    allowed_accounts: tuple[bytes, ...] = ()
    #: ``[permissions] contract``: on-chain account allow-list (see :mod:`co3chain.node.permissioning`).
    permissioning_contract: bytes | None = None

    @property
    def is_validator(self) -> bool:
        return self.keystore is not None


_SECTIONS = {
    "node": {"data_dir", "genesis", "dev"},
    "validator": {"keystore", "password_file"},
    "rpc": {"host", "port", "max_body_bytes", "cors_origins", "enabled", "workers", "max_pending", "evm_timeout",
            "apis"},
    "p2p": {"host", "port", "peers", "advertise_host"},
    "metrics": {"host", "port"},
    "producer": {"empty_blocks", "max_block_txs"},
    "txpool": {"max_per_sender", "max_total", "max_bytes", "max_queued_per_sender", "queued_lifetime", "protected"},
    "permissions": {"accounts", "contract"},
    "chain": {"engine", "cross_check"},
}


def _addresses(values: list[Any], where: str) -> list[bytes]:
    out = []
    for a in values:
        if not isinstance(a, str) or not is_hex_address(a):
            raise ConfigError(f"{where}: {a!r} is not a hex address")
        out.append(to_canonical_address(a))
    return out


def _rpc_limits(rpc: dict[str, Any], where: str) -> dict[str, Any]:
    """``[rpc] workers / max_pending / evm_timeout`` (see :mod:`co3chain.rpc.workpool`)."""
    workers = _get(rpc, "workers", int, where, RpcConfig.workers)
    pending = _get(rpc, "max_pending", int, where, RpcConfig.max_pending)
    timeout = _get(rpc, "evm_timeout", (int, float), where, RpcConfig.evm_timeout)
    if workers < 1 or pending < workers or timeout <= 0:
        raise ConfigError(f"{where}: needs 1 <= workers <= max_pending and evm_timeout > 0")
    return {"workers": workers, "max_pending": pending, "evm_timeout": float(timeout)}


def _get(section: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str, default: Any) -> Any:
    if key not in section:
        return default
    value = section[key]
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise ConfigError(f"{where}: [{key}] must be a {name}, got {value!r}")
    return value


def _port(section: dict[str, Any], where: str, default: int, *, allow_zero: bool = True) -> int:
    port = _get(section, "port", int, where, default)
    if not (0 if allow_zero else 1) <= port <= 65535:
        raise ConfigError(f"{where}: port {port} out of range")
    return port


def parse_peer(text: str) -> PeerAddress:
    """Parse ``[enode://]<128 hex pubkey>@host:port``."""
    raw = text.strip().removeprefix("enode://")
    key_hex, sep, hostport = raw.partition("@")
    if not sep:
        raise ConfigError(f"peer {text!r} must look like <pubkey-hex>@host:port")
    key_hex = key_hex.removeprefix("0x")
    try:
        pubkey = bytes.fromhex(key_hex)
    except ValueError:
        raise ConfigError(f"peer {text!r}: public key is not hex") from None
    if len(pubkey) != 64:
        raise ConfigError(f"peer {text!r}: public key must be 64 bytes (128 hex characters)")
    if hostport.startswith("["):
        host, sep, port_text = hostport[1:].partition("]:")
    else:
        host, sep, port_text = hostport.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"peer {text!r}: missing or invalid host:port")
    return PeerAddress(pubkey, host, int(port_text))


def parse_config(data: dict[str, Any], base_dir: Path, path: Path | None = None) -> NodeConfig:
    """Validate a decoded TOML document; relative paths are resolved against ``base_dir``."""
    where = str(path) if path else "config"
    for name, value in data.items():
        if name not in _SECTIONS:
            raise ConfigError(f"{where}: unknown section [{name}]")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
        unknown = set(value) - _SECTIONS[name]
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")

    def resolve(p: str) -> Path:
        return (base_dir / p).resolve()

    node = data.get("node", {})
    genesis = _get(node, "genesis", str, f"{where} [node]", None)
    if not genesis:
        raise ConfigError(f"{where}: [node] genesis is required")
    data_dir_raw = _get(node, "data_dir", str, f"{where} [node]", "data")
    validator = data.get("validator", {})
    keystore = _get(validator, "keystore", str, f"{where} [validator]", None)
    password = _get(validator, "password_file", str, f"{where} [validator]", None)
    if password is not None and keystore is None:
        raise ConfigError(f"{where}: [validator] password_file given without keystore")

    rpc = data.get("rpc", {})
    origins = _get(rpc, "cors_origins", list, f"{where} [rpc]", [])
    if not all(isinstance(o, str) for o in origins):
        raise ConfigError(f"{where}: [rpc] cors_origins must be a list of strings")
    apis = _get(rpc, "apis", list, f"{where} [rpc]", None)
    if apis is not None:
        unknown = [a for a in apis if not isinstance(a, str) or a.lower() not in RPC_NAMESPACES]
        if unknown:
            raise ConfigError(f"{where}: [rpc] apis: unknown namespace(s) {unknown}; "
                              f"known: {', '.join(sorted(RPC_NAMESPACES))}")
        apis = tuple(sorted({a.lower() for a in apis}))
    max_body = _get(rpc, "max_body_bytes", int, f"{where} [rpc]", RpcConfig.max_body_bytes)
    if max_body < 1024:
        raise ConfigError(f"{where}: [rpc] max_body_bytes must be at least 1024")
    p2p = data.get("p2p", {})
    peers_raw = _get(p2p, "peers", list, f"{where} [p2p]", [])
    if not all(isinstance(p, str) for p in peers_raw):
        raise ConfigError(f"{where}: [p2p] peers must be a list of strings")
    metrics = data.get("metrics", {})
    producer = data.get("producer", {})
    max_txs = _get(producer, "max_block_txs", int, f"{where} [producer]", ProducerConfig.max_block_txs)
    if max_txs < 1:
        raise ConfigError(f"{where}: [producer] max_block_txs must be at least 1")
    pool = data.get("txpool", {})
    pool_cfg = TxPoolConfig(
        max_per_sender=_get(pool, "max_per_sender", int, f"{where} [txpool]", TxPoolConfig.max_per_sender),
        max_total=_get(pool, "max_total", int, f"{where} [txpool]", TxPoolConfig.max_total),
        max_bytes=_get(pool, "max_bytes", int, f"{where} [txpool]", TxPoolConfig.max_bytes),
        max_queued_per_sender=_get(
            pool, "max_queued_per_sender", int, f"{where} [txpool]", TxPoolConfig.max_queued_per_sender
        ),
        queued_lifetime=float(
            _get(pool, "queued_lifetime", (int, float), f"{where} [txpool]", TxPoolConfig.queued_lifetime)
        ),
        protected=tuple(_addresses(_get(pool, "protected", list, f"{where} [txpool]", []), f"{where} [txpool]")),
    )
    if pool_cfg.max_bytes < 128 * 1024 or pool_cfg.queued_lifetime <= 0 or pool_cfg.max_queued_per_sender < 0:
        raise ConfigError(f"{where}: [txpool] needs max_bytes >= 131072, queued_lifetime > 0, max_queued_per_sender >= 0")
    if pool_cfg.max_per_sender < 1 or pool_cfg.max_total < pool_cfg.max_per_sender:
        raise ConfigError(f"{where}: [txpool] needs 1 <= max_per_sender <= max_total")
    chain_sec = data.get("chain", {})
    engine = _get(chain_sec, "engine", str, f"{where} [chain]", ChainConfig.engine)
    if engine not in ("revm", "py-evm"):
        raise ConfigError(f'{where}: [chain] engine must be "revm" or "py-evm", got {engine!r}')
    chain_cfg = ChainConfig(
        engine=engine, cross_check=_get(chain_sec, "cross_check", bool, f"{where} [chain]", False)
    )
    perms = data.get("permissions", {})
    accounts_raw = _get(perms, "accounts", list, f"{where} [permissions]", [])
    accounts = []
    for a in accounts_raw:
        if not isinstance(a, str) or not is_hex_address(a):
            raise ConfigError(f"{where}: [permissions] accounts: {a!r} is not a hex address")
        accounts.append(to_canonical_address(a))
    contract = _get(perms, "contract", str, f"{where} [permissions]", None)
    if contract is not None and not is_hex_address(contract):
        raise ConfigError(f"{where}: [permissions] contract: {contract!r} is not a hex address")

    return NodeConfig(
        path=path,
        data_dir=resolve(data_dir_raw),
        genesis=resolve(genesis),
        keystore=resolve(keystore) if keystore else None,
        password_file=resolve(password) if password else None,
        dev=_get(node, "dev", bool, f"{where} [node]", False),
        rpc=RpcConfig(
            host=_get(rpc, "host", str, f"{where} [rpc]", RpcConfig.host),
            port=_port(rpc, f"{where} [rpc]", RpcConfig.port),
            max_body_bytes=max_body,
            cors_origins=tuple(origins),
            enabled=_get(rpc, "enabled", bool, f"{where} [rpc]", True),
            apis=apis,
            **_rpc_limits(rpc, f"{where} [rpc]"),
        ),
        p2p=P2PSection(
            host=_get(p2p, "host", str, f"{where} [p2p]", P2PSection.host),
            port=_port(p2p, f"{where} [p2p]", P2PSection.port),
            peers=tuple(parse_peer(p) for p in peers_raw),
            advertise_host=_get(p2p, "advertise_host", str, f"{where} [p2p]", None),
        ),
        metrics=MetricsConfig(
            host=_get(metrics, "host", str, f"{where} [metrics]", MetricsConfig.host),
            port=_port(metrics, f"{where} [metrics]", MetricsConfig.port),
        ),
        producer=ProducerConfig(
            empty_blocks=_get(producer, "empty_blocks", bool, f"{where} [producer]", True),
            max_block_txs=max_txs,
        ),
        txpool=pool_cfg,
        chain=chain_cfg,
        allowed_accounts=tuple(accounts),
        permissioning_contract=None if contract is None else to_canonical_address(contract),
    )


def load_config(path: Path | str) -> NodeConfig:
    """Read and validate a node config file."""
    p = Path(path).resolve()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read node config {p}: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"node config {p} is not valid TOML: {exc}") from exc
    return parse_config(data, p.parent, p)


def config_to_toml_dict(
    *,
    genesis: str,
    data_dir: str = "data",
    keystore: str | None = "key.json",
    password_file: str | None = "password",
    rpc_host: str = "127.0.0.1",
    rpc_port: int = 8545,
    p2p_host: str = "0.0.0.0",
    p2p_port: int = 30303,
    peers: list[str] | None = None,
    p2p_advertise: str | None = None,
    metrics_port: int = 0,
    dev: bool = False,
    empty_blocks: bool = True,
) -> dict[str, Any]:
    """The TOML document ``node join`` / ``network init`` write for one node (paths relative to the node dir)."""
    doc: dict[str, Any] = {"node": {"data_dir": data_dir, "genesis": genesis, "dev": dev}}
    if keystore is not None:
        doc["validator"] = {"keystore": keystore}
        if password_file is not None:
            doc["validator"]["password_file"] = password_file
    doc["rpc"] = {"host": rpc_host, "port": rpc_port}
    doc["p2p"] = {"host": p2p_host, "port": p2p_port, "peers": list(peers or [])}
    if p2p_advertise and p2p_advertise != p2p_host:
        doc["p2p"]["advertise_host"] = p2p_advertise
    doc["metrics"] = {"host": "127.0.0.1", "port": metrics_port}
    doc["producer"] = {"empty_blocks": empty_blocks}
    return doc
