"""``co3chain node init|join|start|status``, ``co3chain network genesis|init|up|down``, ``validators``.

The multi-party flow (each PA on its own machine, only public identities exchanged)::

    co3chain node init --dir pa1 --p2p-host pa1.example.org      # each PA: own key, prints address + peer
    co3chain network genesis --chain-id N --validator 0x… … --out genesis.json   # from public addresses
    co3chain node join --dir pa1 --genesis genesis.json --peer <peer> …          # each PA
    co3chain node start --config pa1/config.toml

``network init`` is the one-machine shortcut for development: it runs the same pieces (one ``node init``
per validator, the genesis, one config per node), so a single party holds every key — never use it for a
real consortium.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
import tomli_w
from eth_utils import is_hex_address, to_canonical_address, to_checksum_address

from co3chain.chain.genesis import (
    DEFAULT_FIXED_BASE_FEE,
    DEFAULT_GAS_LIMIT,
    DEFAULT_VALIDATOR_GAS_FUNDS,
    make_genesis,
    read_genesis_json,
)
from co3chain.chain.genesis_hash import genesis_report
from co3chain.errors import Co3Error
from co3chain.keys import PASSWORD_ENV
from co3chain.node.config import config_to_toml_dict, load_config
from co3chain.node.localnet import network_down_cmd, network_up_cmd
from co3chain.node.onboarding import genesis_hash, init_node_dir, join_node
from co3chain.node.rpcclient import rpc_call
from co3chain.node.validators_cli import validators

__all__ = ["network", "node", "validators", "init_network", "node_status_dict", "rpc_call"]

log = logging.getLogger("co3chain.node")


# -- network init ----------------------------------------------------------------------------------
def _parse_alloc(items: tuple[str, ...]) -> dict[bytes, int]:
    out: dict[bytes, int] = {}
    for item in items:
        address, sep, amount = item.partition("=")
        if not sep or not is_hex_address(address.strip()):
            raise Co3Error(f"--alloc {item!r}: expected ADDRESS=WEI")
        try:
            wei = int(amount.strip(), 0)
        except ValueError:
            raise Co3Error(f"--alloc {item!r}: {amount!r} is not an integer amount of wei") from None
        if wei < 0:
            raise Co3Error(f"--alloc {item!r}: amount must not be negative")
        out[to_canonical_address(address.strip())] = wei
    return out


def init_network(
    out: Path,
    validators: int,
    chain_id: int,
    *,
    block_period: int = 1,
    alloc: dict[bytes, int] | None = None,
    host: str = "127.0.0.1",
    rpc_port: int = 8545,
    p2p_port: int = 30303,
    metrics_port: int = 0,
    dev: bool = False,
    empty_blocks: bool = True,
    validator_balance: int = 10**24,
    request_timeout: int = 10,
    base_fee: int = 0,
    gas_limit: int = DEFAULT_GAS_LIMIT,
) -> dict[str, Any]:
    """Create ``out/genesis.json`` and ``out/nodeK/{config.toml,key.json,password}``; returns a summary.

    Node K listens on ``rpc_port + K - 1`` / ``p2p_port + K - 1`` (``metrics_port + K - 1`` if set) and
    lists every other node as an allow-listed peer ``pubkey@host:port``. Validators get
    ``validator_balance`` wei so they can deploy contracts in dev networks.
    """
    if validators < 1:
        raise Co3Error("--validators must be at least 1")
    if (out / "genesis.json").exists():
        raise Co3Error(f"{out / 'genesis.json'} already exists; refusing to overwrite a network")
    out.mkdir(parents=True, exist_ok=True)
    # the same pieces as the multi-party flow: node init per PA, network genesis, one config per node
    nodes: list[dict[str, Any]] = []
    for k in range(1, validators + 1):
        node_dir = out / f"node{k}"
        ident = init_node_dir(
            node_dir,
            p2p_host=host,
            p2p_bind=host,
            p2p_port=p2p_port + k - 1,
            rpc_host=host,
            rpc_port=rpc_port + k - 1,
            metrics_port=metrics_port + k - 1 if metrics_port else 0,
        )
        nodes.append(
            {
                "name": f"node{k}",
                "dir": node_dir,
                "address": ident.address,
                "enode": ident.peer,
                "rpc": f"http://{host}:{ident.rpc_port}",
                "rpc_port": ident.rpc_port,
                "p2p_port": ident.p2p_port,
                "metrics_port": ident.metrics_port,
            }
        )
    funded: dict[bytes, int] = {to_canonical_address(n["address"]): validator_balance for n in nodes}
    funded.update(alloc or {})
    genesis = make_genesis(
        [n["address"] for n in nodes],
        chain_id,
        dict(funded.items()),
        block_period=block_period,
        request_timeout=request_timeout,
        base_fee=base_fee,
        gas_limit=gas_limit,
    )
    for n in nodes:
        doc = config_to_toml_dict(
            genesis="../genesis.json",
            rpc_host=host,
            rpc_port=n["rpc_port"],
            p2p_host=host,
            p2p_port=n["p2p_port"],
            peers=[m["enode"] for m in nodes if m is not n],
            metrics_port=n["metrics_port"],
            dev=dev,
            empty_blocks=empty_blocks,
        )
        (n["dir"] / "config.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")
    (out / "genesis.json").write_text(json.dumps(genesis, indent=2) + "\n", encoding="utf-8")
    return {
        "chainId": chain_id,
        "genesis": str(out / "genesis.json"),
        "nodes": [
            {
                "name": n["name"],
                "config": str(n["dir"] / "config.toml"),
                "address": n["address"],
                "enode": n["enode"],
                "rpc": n["rpc"],
            }
            for n in nodes
        ],
    }


_BASE_FEE_OPTION = click.option(
    "--base-fee", type=int, default=DEFAULT_FIXED_BASE_FEE, show_default=True, metavar="WEI",
    help="Fixed base fee of every block (genesis fixedBaseFee; burned). 0 = free gas (zeroBaseFee): "
    "ethers v6 then sends legacy transactions.",
)


_GAS_LIMIT_OPTION = click.option(
    "--gas-limit", type=int, default=DEFAULT_GAS_LIMIT, show_default=True, metavar="GAS",
    help="Block gas limit (genesis gasLimit): the most gas one block's transactions may use. Blocks stay "
    "bounded also by what a proposer can build within the QBFT round.",
)

#: the smallest block that still holds one plain transfer; the largest value a header field may carry
MIN_GAS_LIMIT, MAX_GAS_LIMIT = 21_000, 2**63 - 1


def _checked_gas_limit(gas_limit: int) -> int:
    if not MIN_GAS_LIMIT <= gas_limit <= MAX_GAS_LIMIT:
        raise Co3Error(f"--gas-limit must be between {MIN_GAS_LIMIT:,} and {MAX_GAS_LIMIT:,} (2^63 - 1)")
    return gas_limit


def _checked_base_fee(base_fee: int) -> int:
    if base_fee < 0:
        raise Co3Error("--base-fee must not be negative")
    return base_fee


@click.group()
def network() -> None:
    """Create a consortium network (init) and run it locally (up / down)."""


@network.command("init")
@click.option("--validators", "-n", type=int, required=True, help="Number of PA validator nodes.")
@click.option("--chain-id", type=int, required=True, help="EIP-155 chain id of the network.")
@click.option(
    "--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Output directory."
)
@click.option("--block-period", type=int, default=1, show_default=True, help="Seconds between blocks.")
@click.option("--alloc", multiple=True, metavar="ADDRESS=WEI", help="Pre-fund an account (repeatable).")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Host the nodes listen on / are reached at."
)
@click.option(
    "--rpc-port", type=int, default=8545, show_default=True, help="RPC port of node1 (nodeK: +K-1)."
)
@click.option(
    "--p2p-port", type=int, default=30303, show_default=True, help="P2P port of node1 (nodeK: +K-1)."
)
@click.option(
    "--metrics-port", type=int, default=0, show_default=True, help="Metrics port of node1 (0 = off)."
)
@click.option("--dev", is_flag=True, help="Dev mode: eth_sendTransaction with the node's validator key.")
@click.option("--no-empty-blocks", is_flag=True, help="Only seal blocks that carry transactions.")
@_BASE_FEE_OPTION
@_GAS_LIMIT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def network_init(
    validators: int,
    chain_id: int,
    out: Path,
    block_period: int,
    alloc: tuple[str, ...],
    host: str,
    rpc_port: int,
    p2p_port: int,
    metrics_port: int,
    dev: bool,
    no_empty_blocks: bool,
    base_fee: int,
    gas_limit: int,
    as_json: bool,
) -> None:
    """Generate validator keys, genesis.json and one config per node."""
    if chain_id < 1:
        raise Co3Error("--chain-id must be positive")
    if block_period < 1:
        raise Co3Error("--block-period must be at least 1 second")
    summary = init_network(
        out,
        validators,
        chain_id,
        block_period=block_period,
        alloc=_parse_alloc(alloc),
        host=host,
        rpc_port=rpc_port,
        p2p_port=p2p_port,
        metrics_port=metrics_port,
        dev=dev,
        empty_blocks=not no_empty_blocks,
        base_fee=_checked_base_fee(base_fee),
        gas_limit=_checked_gas_limit(gas_limit),
    )
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"genesis: {summary['genesis']} (chain id {chain_id}, {validators} validator(s))")
    for n in summary["nodes"]:
        click.echo(f"{n['name']}: {n['address']}  rpc {n['rpc']}  config {n['config']}")


@network.command("genesis")
@click.option("--chain-id", type=int, required=True, help="EIP-155 chain id of the network.")
@click.option(
    "--validator", "validator_addrs", multiple=True, required=True, metavar="ADDRESS",
    help="Address of an initial validator (repeatable; each PA's `node init` prints it).",
)
@click.option("--block-period", type=int, default=1, show_default=True, help="Seconds between blocks.")
@click.option(
    "--request-timeout", type=int, default=10, show_default=True,
    help="QBFT round-0 timeout in seconds (doubles every round).",
)
@click.option("--epoch", type=int, default=30000, show_default=True, help="Blocks between vote resets.")
@click.option("--alloc", multiple=True, metavar="ADDRESS=WEI", help="Pre-fund an account (repeatable).")
@_BASE_FEE_OPTION
@_GAS_LIMIT_OPTION
@click.option(
    "--validator-funds", type=int, default=DEFAULT_VALIDATOR_GAS_FUNDS, show_default=True, metavar="WEI",
    help="Gas money for each --validator not funded by --alloc (fixed base fee only; 0 = none).",
)
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("--json", "as_json", is_flag=True, help="Print {genesis, hash, validators} as JSON.")
def network_genesis(
    chain_id: int,
    validator_addrs: tuple[str, ...],
    block_period: int,
    request_timeout: int,
    epoch: int,
    alloc: tuple[str, ...],
    base_fee: int,
    gas_limit: int,
    validator_funds: int,
    out: Path,
    force: bool,
    as_json: bool,
) -> None:
    """Build the Besu-format QBFT genesis from the PAs' public addresses; print its hash."""
    if chain_id < 1:
        raise Co3Error("--chain-id must be positive")
    if block_period < 1 or request_timeout < 1 or epoch < 1:
        raise Co3Error("--block-period, --request-timeout and --epoch must be at least 1")
    for a in validator_addrs:
        if not is_hex_address(a):
            raise Co3Error(f"--validator {a!r} is not an address")
    if len({a.lower() for a in validator_addrs}) != len(validator_addrs):
        raise Co3Error("--validator lists the same address twice")
    if out.exists() and not force:
        raise Co3Error(f"{out} already exists; pass --force to overwrite it")
    base_fee = _checked_base_fee(base_fee)
    gas_limit = _checked_gas_limit(gas_limit)
    if validator_funds < 0:
        raise Co3Error("--validator-funds must not be negative")
    funded: dict[bytes, int] = {}
    if base_fee and validator_funds:  # each PA can send its own transactions (deploy, votes) from block 1
        funded = {to_canonical_address(a): validator_funds for a in validator_addrs}
    funded.update(_parse_alloc(alloc))
    genesis = make_genesis(
        list(validator_addrs), chain_id, dict(funded.items()),
        block_period=block_period, epoch=epoch, request_timeout=request_timeout, base_fee=base_fee,
        gas_limit=gas_limit,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(genesis, indent=2) + "\n", encoding="utf-8")
    digest = "0x" + genesis_hash(genesis).hex()
    validators_sorted = sorted(to_checksum_address(a) for a in validator_addrs)
    if as_json:
        click.echo(json.dumps({"genesis": str(out), "hash": digest, "chainId": chain_id,
                               "validators": validators_sorted}, indent=2))
        return
    click.echo(f"genesis: {out} (chain id {chain_id}, {len(validator_addrs)} validator(s))")
    click.echo(f"genesis hash: {digest}")
    click.echo("every PA should check this hash out of band (`co3chain node join` prints it too)")


@network.command("genesis-hash")
@click.option("--genesis", "genesis_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Any Besu genesis.json (also pre-London, pre-Shanghai, pre-Cancun, non-QBFT).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {hash, headerLayout, headerFields, stateRoot, baseFeePerGas, runnable, reason}.")
def network_genesis_hash(genesis_path: Path, as_json: bool) -> None:
    """Print the genesis block hash Besu computes for a genesis file, and whether co3chain can run it."""
    report = genesis_report(read_genesis_json(genesis_path))
    if as_json:
        click.echo(json.dumps({"genesis": str(genesis_path), **report}, indent=2))
        return
    click.echo(f"genesis hash: {report['hash']}")
    click.echo(f"header: {report['headerLayout']} layout, {report['headerFields']} fields "
               f"(state root {report['stateRoot']})")
    if report["runnable"]:
        click.echo("co3chain can run this genesis")
    else:
        click.echo(f"co3chain cannot run this genesis: {report['reason']}")


# ``network up`` / ``network down`` (local multi-process networks) live in :mod:`co3chain.node.localnet`.
network.add_command(network_up_cmd, "up")
network.add_command(network_down_cmd, "down")


# -- node ------------------------------------------------------------------------------------------
@click.group()
def node() -> None:
    """Run and inspect a co3chain node."""


@node.command("init")
@click.option("--dir", "node_dir", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--p2p-host", default="127.0.0.1", show_default=True,
              help="Advertised host other PAs dial (put in the peer string).")
@click.option("--p2p-bind", default=None,
              help="Address the p2p listener binds (default 0.0.0.0, or the p2p host when loopback).")
@click.option("--p2p-port", type=int, default=30303, show_default=True)
@click.option("--rpc-host", default="127.0.0.1", show_default=True,
              help="JSON-RPC bind address; exposing it beyond localhost is an explicit choice.")
@click.option("--rpc-port", type=int, default=8545, show_default=True)
@click.option("--metrics-port", type=int, default=0, show_default=True, help="Prometheus port (0 = off).")
@click.option("--json", "as_json", is_flag=True, help="Print the public identity as JSON.")
def node_init(
    node_dir: Path, p2p_host: str, p2p_bind: str | None, p2p_port: int, rpc_host: str, rpc_port: int,
    metrics_port: int, as_json: bool,
) -> None:
    """Create this PA's validator key and node directory; print its public identity.

    The keystore is encrypted with $CO3CHAIN_PASSWORD when set (no password file is written), else with
    a random password stored in DIR/password (mode 0600).
    """
    ident = init_node_dir(
        node_dir, p2p_host=p2p_host, p2p_bind=p2p_bind, p2p_port=p2p_port, rpc_host=rpc_host,
        rpc_port=rpc_port, metrics_port=metrics_port, password=os.environ.get(PASSWORD_ENV) or None,
    )
    if as_json:
        click.echo(json.dumps({"dir": str(node_dir), **ident.public()}, indent=2))
        return
    click.echo(f"node directory: {node_dir}")
    click.echo(f"address: {ident.address}")
    click.echo(f"peer:    {ident.peer}")
    click.echo("share the address and the peer string with the other PAs; keep key.json and password private")


@node.command("join")
@click.option("--dir", "node_dir", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--genesis", "genesis_path", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--peer", "peers", multiple=True, metavar="PUBKEY@HOST:PORT",
              help="Another PA's peer string (repeatable; our own is skipped).")
@click.option("--dev", is_flag=True, help="Dev mode: eth_sendTransaction with the node's key.")
@click.option("--force", is_flag=True, help="Rewrite an existing config.toml.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def node_join(
    node_dir: Path, genesis_path: Path, peers: tuple[str, ...], dev: bool, force: bool, as_json: bool
) -> None:
    """Write DIR/config.toml for GENESIS and the peers; print the genesis hash to compare."""
    result = join_node(node_dir, genesis_path, list(peers), dev=dev, force=force)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"config: {result['config']}")
    click.echo(f"genesis hash: {result['genesisHash']} (chain id {result['chainId']})")
    role = "an initial validator" if result["validator"] else "not a validator yet (the PAs vote it in)"
    click.echo(f"this node ({result['address']}) is {role}; {len(result['peers'])} peer(s)")
    click.echo(f"start it with: co3chain node start --config {result['config']}")


@node.command("start")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option(
    "--password-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Keystore password file (overrides the config; else $CO3CHAIN_PASSWORD).",
)
def node_start(config_path: Path, password_file: Path | None) -> None:
    """Start a node and run until SIGTERM/SIGINT."""
    import uvloop

    from co3chain.keys import read_password
    from co3chain.node.service import NodeService

    cfg = load_config(config_path)
    password = read_password(password_file) if password_file is not None else None
    check_ports_free(cfg)
    if cfg.data_dir is not None:
        from co3chain.node.datadir import ensure_data_format

        ensure_data_format(cfg.data_dir)  # an older binary never opens a newer database
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    node_log = logging.getLogger("co3chain.node")
    if node_log.getEffectiveLevel() > logging.INFO:
        node_log.setLevel(logging.INFO)
    for name in ("co3chain.p2p", "co3chain.node.sync"):  # peer refusals/drops and sync progress
        if logging.getLogger(name).getEffectiveLevel() > logging.INFO:
            logging.getLogger(name).setLevel(logging.INFO)
    service = NodeService(cfg, password=password)
    try:
        uvloop.run(service.run())
    except OSError as exc:  # a port taken between the check and the bind, a data directory not writable
        raise Co3Error(f"cannot start the node: {exc.strerror or exc}") from None


def check_ports_free(cfg: Any) -> None:
    """Fail with one line naming the port when a listener cannot bind (instead of a traceback later)."""
    import socket

    wanted = [("p2p", cfg.p2p.host, cfg.p2p.port)] if cfg.is_validator else []
    if cfg.rpc.enabled:
        wanted.append(("rpc", cfg.rpc.host, cfg.rpc.port))
    if cfg.metrics.port:
        wanted.append(("metrics", cfg.metrics.host, cfg.metrics.port))
    for name, host, port in wanted:
        if port == 0:
            continue
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise Co3Error(
                    f"{name} port {host}:{port} is not available ({exc.strerror or exc}); "
                    f"is another node running? change [{name}] port in {cfg.path}"
                ) from None


@node.command("backup")
@click.option("--dir", "node_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Node directory (with config.toml).")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Archive to write (.tar.gz).")
@click.option("--include-key", is_flag=True, help="Also archive the (encrypted) keystore; never the password.")
@click.option("--json", "as_json", is_flag=True, help="Print the backup manifest as JSON.")
def node_backup(node_dir: Path, out: Path, include_key: bool, as_json: bool) -> None:
    """Back up a node's chain database, consistent even while the node runs."""
    from co3chain.node.backup import create_backup

    say = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    manifest = create_backup(node_dir, out, include_key=include_key, progress=say)
    if as_json:
        click.echo(json.dumps({"file": str(out), **manifest}, indent=2))
        return
    click.echo(f"backup: {out}  block #{manifest['headNumber']} {manifest['headHash']}  "
               f"chain id {manifest['chainId']}  genesis {manifest['genesisHash']}")


@node.command("restore")
@click.option("--dir", "node_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Node directory to restore into (the node must be stopped).")
@click.option("--from", "archive", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Archive written by `co3chain node backup`.")
@click.option("--force", is_flag=True, help="Keep an existing data directory aside and restore anyway.")
@click.option("--json", "as_json", is_flag=True, help="Print the restored manifest as JSON.")
def node_restore(node_dir: Path, archive: Path, force: bool, as_json: bool) -> None:
    """Restore a node's chain database from a backup; the node then syncs what it missed."""
    from co3chain.node.backup import restore_backup

    say = (lambda _m: None) if as_json else (lambda m: click.echo(m, err=True))
    manifest = restore_backup(node_dir, archive, force=force, progress=say)
    if as_json:
        click.echo(json.dumps(manifest, indent=2))
        return
    click.echo(f"restored block #{manifest['headNumber']} into {node_dir}; "
               f"start it with: co3chain node start --config {node_dir / 'config.toml'}")


def node_status_dict(url: str) -> dict[str, Any]:
    latest = rpc_call(url, "eth_getBlockByNumber", "latest", False)
    pool = rpc_call(url, "txpool_status")
    return {
        "rpc": url,
        "clientVersion": rpc_call(url, "web3_clientVersion"),
        "chainId": int(rpc_call(url, "eth_chainId"), 16),
        "blockNumber": int(latest["number"], 16),
        "blockHash": latest["hash"],
        "blockTimestamp": int(latest["timestamp"], 16),
        "blockTransactions": len(latest["transactions"]),
        "proposer": latest["miner"],
        "peers": int(rpc_call(url, "net_peerCount"), 16),
        "syncing": rpc_call(url, "eth_syncing"),
        "validators": rpc_call(url, "qbft_getValidatorsByBlockNumber", "latest"),
        "txpool": {k: int(v, 16) for k, v in pool.items()},
    }


@node.command("status")
@click.option("--rpc", "url", default="http://127.0.0.1:8545", show_default=True, help="Node JSON-RPC URL.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def node_status(url: str, as_json: bool) -> None:
    """Head block, peers, validators and tx pool of a running node."""
    st = node_status_dict(url)
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    click.echo(f"node      {st['clientVersion']} at {st['rpc']}")
    click.echo(f"chain id  {st['chainId']}")
    click.echo(
        f"head      #{st['blockNumber']} {st['blockHash']} txs={st['blockTransactions']} proposer={st['proposer']}"
    )
    click.echo(f"peers     {st['peers']}   syncing {st['syncing']}")
    click.echo(f"txpool    pending={st['txpool'].get('pending', 0)} queued={st['txpool'].get('queued', 0)}")
    click.echo(
        f"validators ({len(st['validators'])}): "
        + ", ".join(to_checksum_address(v) for v in st["validators"])
    )


def main() -> None:  # pragma: no cover - `python -m co3chain.node.cli` convenience
    try:
        node(standalone_mode=True)
    except Co3Error as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
