"""``co3chain network init``, ``co3chain node start|status`` and ``co3chain validators ...``.

``network init`` writes everything a consortium needs to start: one directory per PA validator with an
encrypted keystore, a password file (0600; for dev/test networks, production operators replace it with
their own secret management) and a node config, plus the shared ``genesis.json``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click
import httpx
import tomli_w
from eth_keys import keys as eth_keys
from eth_utils import is_hex_address, to_canonical_address, to_checksum_address

from co3chain.chain.genesis import make_genesis
from co3chain.errors import Co3Error
from co3chain.keys import create_keystore
from co3chain.node.config import config_to_toml_dict, load_config
from co3chain.node.localnet import network_down_cmd, network_up_cmd
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


def _write_secret(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    os.chmod(path, 0o600)


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
    nodes: list[dict[str, Any]] = []
    for k in range(1, validators + 1):
        node_dir = out / f"node{k}"
        node_dir.mkdir(exist_ok=True)
        password = secrets.token_urlsafe(24)
        key = secrets.token_bytes(32)
        _write_secret(node_dir / "password", password)
        address = create_keystore(node_dir / "key.json", password, key)
        pub = eth_keys.PrivateKey(key).public_key.to_bytes()
        nodes.append(
            {
                "name": f"node{k}",
                "dir": node_dir,
                "address": address,
                "enode": f"{pub.hex()}@{host}:{p2p_port + k - 1}",
                "rpc": f"http://{host}:{rpc_port + k - 1}",
                "rpc_port": rpc_port + k - 1,
                "p2p_port": p2p_port + k - 1,
                "metrics_port": metrics_port + k - 1 if metrics_port else 0,
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
    )
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"genesis: {summary['genesis']} (chain id {chain_id}, {validators} validator(s))")
    for n in summary["nodes"]:
        click.echo(f"{n['name']}: {n['address']}  rpc {n['rpc']}  config {n['config']}")


# ``network up`` / ``network down`` (local multi-process networks) live in :mod:`co3chain.node.localnet`.
network.add_command(network_up_cmd, "up")
network.add_command(network_down_cmd, "down")


# -- node ------------------------------------------------------------------------------------------
@click.group()
def node() -> None:
    """Run and inspect a co3chain node."""


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
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    node_log = logging.getLogger("co3chain.node")
    if node_log.getEffectiveLevel() > logging.INFO:
        node_log.setLevel(logging.INFO)
    service = NodeService(cfg, password=password)
    uvloop.run(service.run())


def rpc_call(url: str, method: str, *params: Any, timeout: float = 10.0) -> Any:
    """One JSON-RPC call; raises :class:`Co3Error` with a readable message."""
    try:
        r = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise Co3Error(f"cannot reach node RPC at {url}: {exc}") from None
    if r.status_code != 200:
        raise Co3Error(f"node RPC at {url} answered HTTP {r.status_code}")
    try:
        body = r.json()
    except ValueError:
        raise Co3Error(f"node RPC at {url} did not answer JSON") from None
    if "error" in body:
        raise Co3Error(f"{method} failed: {body['error'].get('message')} (code {body['error'].get('code')})")
    return body.get("result")


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
