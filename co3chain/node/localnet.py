"""``co3chain network up|down``: a local N-PA QBFT network on loopback, one OS process per validator.

Why separate processes (not threads in one interpreter): that is how PAs run it (one node per machine),
the p2p handshake, allow-list and sync paths are exercised for real, and killing one validator is a
``kill``. Layout under the network directory (``network init`` format plus run state)::

    genesis.json  network.json (summary)  deployment.json (with --deploy)
    nodeK/config.toml key.json password  data/  node.log  node.pid

``up`` creates the network when the directory has no genesis (``block period`` 1 s, round timeout 2 s,
round-timer cap 8 s: short timers suit a loopback demo), starts every node whose pid file is not alive,
waits until every node has finalized blocks, optionally deploys the CO3 suite (``--deploy``) and runs the
demo (``--demo``), and prints the RPC URLs.

Account permissioning is **on** once the suite is deployed: a consortium network admits transactions only
from allow-listed accounts (citizens act through the relayer, with EIP-712 signatures; an open network lets
any fresh key fill pools for free, since gas costs nothing here). ``up`` therefore votes the accounts the
deployment needs onto ``ConsortiumValidators`` — the development oracle signers, the PAs' development
secret-ballot trustees and every
``--allow-account`` (an API relayer, an oracle submitter) — with a majority of the local PAs' keys (the
validators, hence the deployer and the council, are always allowed), writes ``[permissions] contract`` into
every node's config and restarts the nodes together, so no two validators ever judge a proposal by
different rules. Accepted transactions survive the restart (the nodes' transaction journal). ``down`` sends SIGTERM (graceful: the node finishes its
current block), waits, then SIGKILLs what is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from co3chain.chain.genesis import DEFAULT_FIXED_BASE_FEE
from co3chain.errors import Co3Error
from co3chain.node import rpcclient

#: Defaults for a loopback network (seconds).
LOCAL_BLOCK_PERIOD = 1
LOCAL_REQUEST_TIMEOUT = 2
LOCAL_MAX_ROUND_TIMEOUT = 8

Say = Callable[[str], None]

#: How a node process is started (``--config <file>`` is appended).
NODE_COMMAND = [sys.executable, "-m", "co3chain.cli", "-v", "node", "start"]


class LocalnetError(Co3Error):
    """The local network could not be started, reached or stopped."""


@dataclass
class LocalNode:
    name: str
    dir: Path
    rpc: str
    address: str

    @property
    def pid_file(self) -> Path:
        return self.dir / "node.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / "node.log"

    @property
    def config(self) -> Path:
        return self.dir / "config.toml"

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        pid = self.pid()
        return pid is not None and _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as dead
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def rpc_call(url: str, method: str, *params: Any, timeout: float = 10.0) -> Any:
    """:func:`co3chain.node.rpcclient.rpc_call` whose failures are :class:`LocalnetError` (the local-network
    tooling waits and retries on that one error type)."""
    try:
        return rpcclient.rpc_call(url, method, *params, timeout=timeout)
    except rpcclient.RpcCallError as exc:
        raise LocalnetError(f"{url}: {exc}") from None


def tune_genesis(genesis_path: Path, *, request_timeout: int, max_round_timeout: int) -> None:
    """Set the QBFT round timer (``requesttimeoutseconds``) and its cap in a fresh genesis.json."""
    doc = json.loads(genesis_path.read_text(encoding="utf-8"))
    doc["config"]["qbft"]["requesttimeoutseconds"] = int(request_timeout)
    doc["config"].setdefault("co3chain", {})["maxRequestTimeoutSeconds"] = int(max_round_timeout)
    genesis_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def load_nodes(net_dir: Path) -> list[LocalNode]:
    """The nodes of a network directory (from ``network.json``, else from the ``nodeK`` folders)."""
    summary = net_dir / "network.json"
    if summary.exists():
        data = json.loads(summary.read_text(encoding="utf-8"))
        return [LocalNode(n["name"], Path(n["dir"]), n["rpc"], n["address"]) for n in data["nodes"]]
    from co3chain.node.config import load_config

    nodes = []
    for d in sorted(net_dir.glob("node*"), key=lambda p: int(p.name[4:]) if p.name[4:].isdigit() else 0):
        if (d / "config.toml").exists():
            cfg = load_config(d / "config.toml")
            nodes.append(LocalNode(d.name, d, f"http://{cfg.rpc.host}:{cfg.rpc.port}", ""))
    return nodes


def create_network(
    net_dir: Path,
    validators: int,
    *,
    chain_id: int = 1337,
    rpc_port: int = 8545,
    p2p_port: int = 30303,
    block_period: int = LOCAL_BLOCK_PERIOD,
    request_timeout: int = LOCAL_REQUEST_TIMEOUT,
    max_round_timeout: int = LOCAL_MAX_ROUND_TIMEOUT,
    base_fee: int = DEFAULT_FIXED_BASE_FEE,
) -> list[LocalNode]:
    """``network init`` on loopback plus the local timer tuning and ``network.json``.

    ``base_fee``: the fixed base fee of new networks (0 = free gas); validators are funded at genesis.
    """
    from co3chain.node.cli import init_network

    summary = init_network(
        net_dir, validators, chain_id, block_period=block_period, host="127.0.0.1",
        rpc_port=rpc_port, p2p_port=p2p_port, base_fee=base_fee,
    )
    tune_genesis(net_dir / "genesis.json", request_timeout=request_timeout, max_round_timeout=max_round_timeout)
    nodes = [
        LocalNode(n["name"], Path(n["config"]).parent.resolve(), n["rpc"], n["address"]) for n in summary["nodes"]
    ]
    _write_summary(net_dir, chain_id, nodes)
    return nodes


def _write_summary(net_dir: Path, chain_id: int, nodes: list[LocalNode]) -> None:
    doc = {
        "chainId": chain_id,
        "genesis": str((net_dir / "genesis.json").resolve()),
        "nodes": [{"name": n.name, "dir": str(n.dir), "rpc": n.rpc, "address": n.address} for n in nodes],
    }
    (net_dir / "network.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def add_node(net_dir: Path, *, rpc_port: int, p2p_port: int) -> LocalNode:
    """Create one more (non-validator) node that peers with every existing node.

    It syncs the chain and becomes a validator once the existing validators vote it in
    (``co3chain validators propose ADDRESS``): their pending add vote lets it connect.
    """
    import tomli_w

    from co3chain.node.config import config_to_toml_dict, load_config
    from co3chain.node.onboarding import init_node_dir

    nodes = load_nodes(net_dir)
    peers = []
    for n in nodes:
        cfg = load_config(n.config)
        key = _node_pubkey(n)
        peers.append(f"{key.hex()}@127.0.0.1:{cfg.p2p.port}")
    k = len(nodes) + 1
    node_dir = (net_dir / f"node{k}").resolve()
    if node_dir.exists():
        raise LocalnetError(f"{node_dir} already exists")
    # the same piece a PA runs on its own machine (`co3chain node init`)
    ident = init_node_dir(node_dir, p2p_host="127.0.0.1", p2p_port=p2p_port, rpc_port=rpc_port)
    address = ident.address
    doc = config_to_toml_dict(genesis="../genesis.json", rpc_host="127.0.0.1", rpc_port=rpc_port,
                              p2p_host="127.0.0.1", p2p_port=p2p_port, peers=peers)
    (node_dir / "config.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")
    node = LocalNode(f"node{k}", node_dir, f"http://127.0.0.1:{rpc_port}", address)
    chain_id = json.loads((net_dir / "genesis.json").read_text())["config"]["chainId"]
    _write_summary(net_dir, chain_id, [*nodes, node])
    return node


def _node_pubkey(node: LocalNode) -> bytes:
    identity = node.dir / "identity.json"
    if identity.exists():  # public, written by `node init`: no need to decrypt the key
        return bytes.fromhex(json.loads(identity.read_text(encoding="utf-8"))["pubkey"])
    from eth_keys import keys as eth_keys

    from co3chain.keys import load_private_key, read_password

    key = load_private_key(node.dir / "key.json", read_password(node.dir / "password"))
    return eth_keys.PrivateKey(key).public_key.to_bytes()


def start_node(node: LocalNode, extra_env: dict[str, str] | None = None) -> int:
    """Start ``co3chain node start`` for ``node`` in its own session; returns the pid."""
    if node.alive():
        raise LocalnetError(f"{node.name} is already running (pid {node.pid()})")
    log = open(node.log_file, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        proc = subprocess.Popen(
            [*NODE_COMMAND, "--config", str(node.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})},
        )
    finally:
        log.close()
    node.pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def stop_node(node: LocalNode, timeout: float = 20.0, *, hard: bool = False) -> bool:
    """SIGTERM (or SIGKILL when ``hard``), wait up to ``timeout``, then SIGKILL; ``True`` if it was running."""
    pid = node.pid()
    if pid is None or not _pid_alive(pid):
        node.pid_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL if hard else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.1)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        end = time.monotonic() + 5
        while time.monotonic() < end and _pid_alive(pid):
            time.sleep(0.05)
    node.pid_file.unlink(missing_ok=True)
    return True


def block_number(node: LocalNode, timeout: float = 5.0) -> int:
    return int(rpc_call(node.rpc, "eth_blockNumber", timeout=timeout), 16)


def wait_for_blocks(nodes: list[LocalNode], height: int, timeout: float, say: Say | None = None) -> None:
    """Wait until every node's head is at least ``height`` (raises :class:`LocalnetError` on timeout)."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        behind = []
        for n in nodes:
            if not n.alive():
                tail = n.log_file.read_text(errors="replace")[-2000:] if n.log_file.exists() else ""
                raise LocalnetError(f"{n.name} exited; last log lines:\n{tail}")
            try:
                if block_number(n) < height:
                    behind.append(n.name)
            except LocalnetError as exc:
                behind.append(n.name)
                last_error = str(exc)
        if not behind:
            return
        time.sleep(0.3)
    raise LocalnetError(f"nodes {', '.join(behind)} did not reach block {height} in {timeout:.0f}s {last_error}")


def network_up(
    net_dir: Path,
    validators: int,
    *,
    chain_id: int = 1337,
    rpc_port: int = 8545,
    p2p_port: int = 30303,
    deploy: bool = False,
    demo: bool = False,
    allow_accounts: tuple[str, ...] = (),
    timeout: float = 120.0,
    say: Say = print,
    base_fee: int = DEFAULT_FIXED_BASE_FEE,
) -> dict[str, Any]:
    """Create (if needed) and start the network; returns the summary printed by the CLI."""
    net_dir = net_dir.resolve()
    if not (net_dir / "genesis.json").exists():
        say(f"creating a {validators}-validator network in {net_dir}")
        nodes = create_network(net_dir, validators, chain_id=chain_id, rpc_port=rpc_port, p2p_port=p2p_port,
                               base_fee=base_fee)
    else:
        nodes = load_nodes(net_dir)
        if len(nodes) < validators:
            raise LocalnetError(
                f"{net_dir} holds a {len(nodes)}-node network; run `co3chain network down --dir {net_dir}` and "
                "remove the directory to create a larger one"
            )
    for n in nodes:
        if n.alive():
            say(f"{n.name} already running (pid {n.pid()})")
        else:
            start_node(n)
    say(f"waiting for {len(nodes)} nodes to finalize blocks...")
    try:
        wait_for_blocks(nodes, 0, timeout)  # every RPC answers
        start = max(block_number(n) for n in nodes)
        wait_for_blocks(nodes, start + 2, timeout)  # and new blocks are finalized (also after a restart)
    except LocalnetError:
        network_down(net_dir, say=lambda _m: None)
        raise
    summary: dict[str, Any] = {
        "dir": str(net_dir),
        "chainId": int(rpc_call(nodes[0].rpc, "eth_chainId"), 16),
        "nodes": [{"name": n.name, "rpc": n.rpc, "address": n.address, "pid": n.pid(), "log": str(n.log_file)}
                  for n in nodes],
        "validators": rpc_call(nodes[0].rpc, "qbft_getValidatorsByBlockNumber", "latest"),
    }
    if deploy or demo:
        summary.update(_deploy_and_demo(net_dir, nodes[0], deploy=deploy, demo=demo, say=say,
                                        allow_accounts=allow_accounts, timeout=timeout))
    summary["head"] = block_number(nodes[0])
    return summary


def _deploy_and_demo(net_dir: Path, node: LocalNode, *, deploy: bool, demo: bool, say: Say,
                     allow_accounts: tuple[str, ...] = (), timeout: float = 120.0) -> dict[str, Any]:
    from eth_account import Account

    from co3chain.contracts import deploy as dep
    from co3chain.contracts.cli import _web3
    from co3chain.keys import load_private_key, read_password

    officer = Account.from_key(load_private_key(node.dir / "key.json", read_password(node.dir / "password")))
    # The local PAs' keys form the council (on a real network each PA keeps its own governance key).
    council = [officer]
    for other in load_nodes(net_dir):
        key_file = other.dir / "key.json"
        if other.dir.resolve() != node.dir.resolve() and key_file.exists():
            council.append(Account.from_key(load_private_key(key_file, read_password(other.dir / "password"))))
    w3 = _web3(node.rpc)
    out: dict[str, Any] = {}
    manifest_path = net_dir / "deployment.json"
    manifest = dep.load_manifest(manifest_path) if manifest_path.exists() else None
    if deploy and manifest is None:
        from co3chain.contracts.demo import dev_oracle_accounts

        signers = [a.address for a in dev_oracle_accounts()]
        manifest = dep.deploy_suite(
            w3, officer, oracle_signers=signers, oracle_threshold=len(signers) // 2 + 1,
            validators=dep.node_validators(w3), council_members=[a.address for a in council],
            timelock_delay=dep.DEV_TIMELOCK_DELAY, voting_bounds=dep.DEV_VOTING_BOUNDS,
            recovery_delay=dep.DEV_RECOVERY_DELAY, network="co3chain-local", progress=say,
        )
        dep.save_manifest(manifest, manifest_path)
        say(f"deployed {len(manifest['contracts'])} contracts; manifest {manifest_path}")
    elif deploy:
        say(f"contracts already deployed ({manifest_path})")
    if manifest is not None:
        out["deployment"] = str(manifest_path)
        out["contracts"] = {name: c["address"] for name, c in manifest["contracts"].items()}
        out["accountPermissioning"] = enable_account_permissioning(
            net_dir, manifest, [*_needed_accounts(), *allow_accounts], say=say, timeout=timeout)
    if demo:
        from co3chain.contracts.demo import run_demo

        result = run_demo(w3, officer, manifest, progress=say, council=council)
        if result.manifest != manifest:  # deployed by the demo, or budget contracts added
            dep.save_manifest(result.manifest, manifest_path)
            out["deployment"] = str(manifest_path)
            out["contracts"] = {name: c["address"] for name, c in result.manifest["contracts"].items()}
            out["accountPermissioning"] = enable_account_permissioning(
                net_dir, result.manifest, [*_needed_accounts(), *allow_accounts], say=say, timeout=timeout)
        out["demo"] = "completed"
    return out


def _needed_accounts() -> list[str]:
    """Accounts a local deployment needs beyond the validators (which are always allowed): the development
    oracle signers (oracle submitters) and the PAs' development secret-ballot trustees, who post their own
    key-ceremony and decryption transactions. Citizens are not among them: they act through the relayer."""
    from co3chain.contracts.demo import dev_oracle_accounts, dev_trustee_accounts

    return [a.address for a in (*dev_oracle_accounts(), *dev_trustee_accounts())]


def _validator_keys(net_dir: Path) -> list[bytes]:
    from co3chain.keys import load_private_key, read_password

    return [load_private_key(n.dir / "key.json", read_password(n.dir / "password"))
            for n in load_nodes(net_dir) if (n.dir / "key.json").exists()]


def enable_account_permissioning(net_dir: Path, manifest: dict[str, Any], accounts: list[str], *,
                                 say: Say = print, timeout: float = 120.0) -> dict[str, Any]:
    """Allow ``accounts`` on the deployed ``ConsortiumValidators`` and make every node enforce it.

    Idempotent: accounts already allowed get no vote, and nodes whose config already names the contract
    are not restarted. Raises :class:`LocalnetError` when an account cannot be allowed.
    """
    import tomllib

    import tomli_w
    from eth_utils import to_checksum_address

    from co3chain.node.accounts_cli import is_allowed, set_allowed

    nodes = load_nodes(net_dir)
    url = nodes[0].rpc
    contract = to_checksum_address(manifest["contracts"]["ConsortiumValidators"]["address"])
    wanted = list(dict.fromkeys(to_checksum_address(a) for a in accounts))
    keys = _validator_keys(net_dir)
    for account in wanted:
        for key in keys:  # one vote per PA until the contract's majority applies it
            if is_allowed(url, contract, account):
                break
            set_allowed(url, contract, account, True, key, timeout=timeout)
        if not is_allowed(url, contract, account):
            raise LocalnetError(f"could not allow-list {account} on ConsortiumValidators {contract}")
    changed = []
    for n in nodes:
        doc = tomllib.loads(n.config.read_text(encoding="utf-8"))
        perms = doc.setdefault("permissions", {})
        if perms.get("contract", "").lower() != contract.lower():
            perms["contract"] = contract
            n.config.write_text(tomli_w.dumps(doc), encoding="utf-8")
            changed.append(n)
    if changed:
        say(f"account permissioning on: only allow-listed accounts send transactions ({len(wanted)} allowed "
            f"besides the validators); restarting {len(nodes)} nodes")
        running = [n for n in nodes if n.alive()]
        for n in running:
            stop_node(n)
        for n in running:
            start_node(n)
        wait_for_blocks(running, 0, timeout)
        start = max(block_number(n) for n in running)
        wait_for_blocks(running, start + 2, timeout)
    return {"contract": contract, "allowed": wanted}


def network_down(net_dir: Path, *, say: Say = print) -> int:
    """Stop every node of the network; returns how many were running."""
    net_dir = net_dir.resolve()
    if not net_dir.exists():
        raise LocalnetError(f"no network directory {net_dir}")
    stopped = 0
    for n in load_nodes(net_dir):
        if stop_node(n):
            stopped += 1
            say(f"{n.name} stopped")
    return stopped


def render_summary(summary: dict[str, Any], say: Say = print) -> None:
    say("")
    say(f"co3chain local network (chain id {summary['chainId']}) in {summary['dir']}")
    for n in summary["nodes"]:
        say(f"  {n['name']}  validator {n['address']}  rpc {n['rpc']}  pid {n['pid']}  log {n['log']}")
    say(f"  validators: {len(summary['validators'])}   head: #{summary['head']}")
    if "contracts" in summary:
        say(f"  contracts ({summary['deployment']}):")
        for name, addr in summary["contracts"].items():
            say(f"    {name:<22} {addr}")
    perm = summary.get("accountPermissioning")
    if perm:
        say(f"  account permissioning: on ({perm['contract']}); validators and {len(perm['allowed'])} allow-listed "
            "accounts send transactions, citizens act through the relayer")
        say(f"    allow another sender: co3chain accounts allow ADDRESS --deployment {summary['deployment']} ...")
    say(f"stop with: co3chain network down --dir {summary['dir']}")


# -- click commands (registered on the ``network`` group by co3chain.node.cli) ---------------------------
def _click_commands() -> tuple[Any, Any]:
    import click

    @click.command("up")
    @click.option("--validators", "-n", type=int, default=4, show_default=True, help="Number of PA validators.")
    @click.option("--dir", "net_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("run/network"),
                  show_default=True, help="Network directory (created if it has no genesis.json).")
    @click.option("--chain-id", type=int, default=1337, show_default=True)
    @click.option("--rpc-port", type=int, default=8545, show_default=True, help="RPC port of node1 (nodeK: +K-1).")
    @click.option("--p2p-port", type=int, default=30303, show_default=True, help="P2P port of node1 (nodeK: +K-1).")
    @click.option("--deploy", is_flag=True, help="Deploy the CO3 contract suite (writes deployment.json).")
    @click.option("--demo", is_flag=True, help="Run the CO3 demo story on the network.")
    @click.option("--allow-account", "allow_accounts", multiple=True, metavar="ADDRESS",
                  help="With --deploy/--demo: also allow-list this sender (an API relayer, an oracle submitter).")
    @click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for blocks.")
    @click.option("--base-fee", type=int, default=DEFAULT_FIXED_BASE_FEE, show_default=True, metavar="WEI",
                  help="Fixed base fee of a new network (validators are funded at genesis); 0 = free gas.")
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
    def up_cmd(validators: int, net_dir: Path, chain_id: int, rpc_port: int, p2p_port: int, deploy: bool,
               demo: bool, allow_accounts: tuple[str, ...], timeout: float, base_fee: int, as_json: bool) -> None:
        """Start a local N-validator QBFT network on loopback (one process per validator)."""
        if validators < 1:
            raise LocalnetError("--validators must be at least 1")
        if base_fee < 0:
            raise LocalnetError("--base-fee must not be negative")
        say = (lambda m: click.echo(m, err=True)) if as_json else click.echo
        summary = network_up(net_dir, validators, chain_id=chain_id, rpc_port=rpc_port, p2p_port=p2p_port,
                             deploy=deploy, demo=demo, allow_accounts=allow_accounts, timeout=timeout, say=say,
                             base_fee=base_fee)
        if as_json:
            click.echo(json.dumps(summary, indent=2))
        else:
            render_summary(summary, click.echo)

    @click.command("down")
    @click.option("--dir", "net_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("run/network"),
                  show_default=True, help="Network directory.")
    def down_cmd(net_dir: Path) -> None:
        """Stop every node of a local network (SIGTERM, then SIGKILL after 20 s)."""
        stopped = network_down(net_dir, say=click.echo)
        click.echo(f"{stopped} node(s) stopped" if stopped else "no node was running")

    return up_cmd, down_cmd


network_up_cmd, network_down_cmd = _click_commands()
